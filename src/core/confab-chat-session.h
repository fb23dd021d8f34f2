/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "confab-conversation.h"
#include "confab-provider.h"
#include "confab-store.h"

G_BEGIN_DECLS

#define CONFAB_TYPE_CHAT_SESSION (confab_chat_session_get_type ())

G_DECLARE_FINAL_TYPE (ConfabChatSession, confab_chat_session, CONFAB, CHAT_SESSION, GObject)

/*
 * ConfabChatSession: the one place that runs a turn. It stores the user's
 * message before any byte goes out, creates the assistant message, streams
 * the reply into it, checkpoints the partial text about once a second, and
 * finalizes it (complete, stopped, interrupted or error) in the store.
 *
 * Signals:
 *  - "turn-finished" (ConfabConversation *, ConfabMessage *assistant)
 *  - "store-failed" (GError *): a write to the database failed mid-turn.
 */
ConfabChatSession *confab_chat_session_new          (ConfabStore         *store);
ConfabStore       *confab_chat_session_get_store    (ConfabChatSession   *self);
ConfabProvider    *confab_chat_session_get_provider (ConfabChatSession   *self);
void               confab_chat_session_set_provider (ConfabChatSession   *self,
                                                     ConfabProvider      *provider);
/* Stores @text as the user's message and starts the reply. Fails, with
 * nothing stored, when the message cannot be stored or a turn of this
 * conversation is already running. Once the user's message is stored it
 * returns TRUE: a later failure shows as the reply's error. */
gboolean           confab_chat_session_send         (ConfabChatSession   *self,
                                                     ConfabConversation  *conversation,
                                                     const char          *text,
                                                     GError             **error);
/* Streams a new reply in place of @assistant (a failed or stopped one). */
gboolean           confab_chat_session_retry        (ConfabChatSession   *self,
                                                     ConfabConversation  *conversation,
                                                     ConfabMessage       *assistant,
                                                     GError             **error);
/* Asks the model to go on with a reply that was cut off (interrupted or
 * stopped); the new text is appended to @assistant. */
gboolean           confab_chat_session_continue     (ConfabChatSession   *self,
                                                     ConfabConversation  *conversation,
                                                     ConfabMessage       *assistant,
                                                     GError             **error);
/* Closes the request; the partial reply is kept and marked stopped. */
void               confab_chat_session_stop         (ConfabChatSession   *self,
                                                     ConfabConversation  *conversation);
gboolean           confab_chat_session_is_busy      (ConfabChatSession   *self,
                                                     ConfabConversation  *conversation);

G_END_DECLS
