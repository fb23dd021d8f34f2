/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

#include "confab-types.h"

G_BEGIN_DECLS

#define CONFAB_TYPE_MESSAGE (confab_message_get_type ())

G_DECLARE_FINAL_TYPE (ConfabMessage, confab_message, CONFAB, MESSAGE, GObject)

/*
 * ConfabMessage: one message of a conversation. Properties notify when they
 * change; while a reply streams, "content" notifies on every append, so views
 * should coalesce (render at most once per frame).
 */
ConfabMessage      *confab_message_new                 (ConfabRole          role,
                                                        const char         *content);
gint64              confab_message_get_id              (ConfabMessage      *self);
void                confab_message_set_id              (ConfabMessage      *self,
                                                        gint64              id);
gint64              confab_message_get_conversation_id (ConfabMessage      *self);
void                confab_message_set_conversation_id (ConfabMessage      *self,
                                                        gint64              conversation_id);
ConfabRole          confab_message_get_role            (ConfabMessage      *self);
const char         *confab_message_get_content         (ConfabMessage      *self);
gsize               confab_message_get_content_length  (ConfabMessage      *self);
void                confab_message_set_content         (ConfabMessage      *self,
                                                        const char         *content);
void                confab_message_append_content      (ConfabMessage      *self,
                                                        const char         *text,
                                                        gssize              len);
const char         *confab_message_get_reasoning       (ConfabMessage      *self);
void                confab_message_set_reasoning       (ConfabMessage      *self,
                                                        const char         *reasoning);
void                confab_message_append_reasoning    (ConfabMessage      *self,
                                                        const char         *text,
                                                        gssize              len);
ConfabMessageState  confab_message_get_state           (ConfabMessage      *self);
void                confab_message_set_state           (ConfabMessage      *self,
                                                        ConfabMessageState  state);
const char         *confab_message_get_error           (ConfabMessage      *self);
void                confab_message_set_error           (ConfabMessage      *self,
                                                        const char         *error);
/* A machine-readable kind for the error ("auth", "rate-limit", …), so the
 * view can offer the matching action. May be NULL. */
const char         *confab_message_get_error_kind      (ConfabMessage      *self);
void                confab_message_set_error_kind      (ConfabMessage      *self,
                                                        const char         *error_kind);
const char         *confab_message_get_model           (ConfabMessage      *self);
void                confab_message_set_model           (ConfabMessage      *self,
                                                        const char         *model);
const char         *confab_message_get_finish_reason   (ConfabMessage      *self);
void                confab_message_set_finish_reason   (ConfabMessage      *self,
                                                        const char         *finish_reason);
/* -1 when unknown. */
void                confab_message_get_usage           (ConfabMessage      *self,
                                                        gint64             *prompt_tokens,
                                                        gint64             *completion_tokens);
void                confab_message_set_usage           (ConfabMessage      *self,
                                                        gint64              prompt_tokens,
                                                        gint64              completion_tokens);
/* While a failed request waits to be tried again: when (g_get_real_time ()
 * microseconds), and which attempt comes next; 0 when no retry is pending.
 * Not stored: a pending retry ends with the process. */
gint64              confab_message_get_retry_at        (ConfabMessage      *self);
guint               confab_message_get_retry_attempt   (ConfabMessage      *self);
void                confab_message_set_retry           (ConfabMessage      *self,
                                                        gint64              retry_at,
                                                        guint               attempt);
/* Unix time in microseconds (g_get_real_time ()). */
gint64              confab_message_get_created_at      (ConfabMessage      *self);
void                confab_message_set_created_at      (ConfabMessage      *self,
                                                        gint64              created_at);

G_END_DECLS
