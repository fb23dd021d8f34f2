/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "confab-message.h"

G_BEGIN_DECLS

#define CONFAB_TYPE_CONVERSATION (confab_conversation_get_type ())

G_DECLARE_FINAL_TYPE (ConfabConversation, confab_conversation, CONFAB, CONVERSATION, GObject)

/*
 * ConfabConversation: a saved chat with its own parameters, and a GListModel
 * of the ConfabMessages that are loaded (oldest first). A conversation from
 * the sidebar's summary list has no messages loaded until the store loads them.
 */
ConfabConversation *confab_conversation_new                 (void);
gint64              confab_conversation_get_id              (ConfabConversation *self);
void                confab_conversation_set_id              (ConfabConversation *self,
                                                             gint64              id);
const char         *confab_conversation_get_title           (ConfabConversation *self);
void                confab_conversation_set_title           (ConfabConversation *self,
                                                             const char         *title);
/* TRUE once the person renamed it: the title no longer follows the first message. */
gboolean            confab_conversation_get_title_locked    (ConfabConversation *self);
void                confab_conversation_set_title_locked    (ConfabConversation *self,
                                                             gboolean            locked);
const char         *confab_conversation_get_model           (ConfabConversation *self);
void                confab_conversation_set_model           (ConfabConversation *self,
                                                             const char         *model);
double              confab_conversation_get_temperature     (ConfabConversation *self);
void                confab_conversation_set_temperature     (ConfabConversation *self,
                                                             double              temperature);
const char         *confab_conversation_get_system_message  (ConfabConversation *self);
void                confab_conversation_set_system_message  (ConfabConversation *self,
                                                             const char         *system_message);
/* Unix time in microseconds. */
gint64              confab_conversation_get_created_at      (ConfabConversation *self);
void                confab_conversation_set_created_at      (ConfabConversation *self,
                                                             gint64              created_at);
gint64              confab_conversation_get_updated_at      (ConfabConversation *self);
void                confab_conversation_set_updated_at      (ConfabConversation *self,
                                                             gint64              updated_at);
/* Messages stored in the database, whether loaded or not. */
guint               confab_conversation_get_message_count   (ConfabConversation *self);
void                confab_conversation_set_message_count   (ConfabConversation *self,
                                                             guint               count);

/* The loaded messages, oldest first (also this object's GListModel). */
void                confab_conversation_append_message      (ConfabConversation *self,
                                                             ConfabMessage      *message);
/* Insert older messages (oldest first) before the loaded ones. */
void                confab_conversation_prepend_messages    (ConfabConversation *self,
                                                             GPtrArray          *messages);
void                confab_conversation_remove_message      (ConfabConversation *self,
                                                             ConfabMessage      *message);
gboolean            confab_conversation_get_messages_loaded (ConfabConversation *self);
void                confab_conversation_set_messages_loaded (ConfabConversation *self,
                                                             gboolean            loaded);
ConfabMessage      *confab_conversation_get_last_message    (ConfabConversation *self);

G_END_DECLS
