/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "confab-chat-session.h"

G_BEGIN_DECLS

#define CONFAB_TYPE_CHAT_VIEW (confab_chat_view_get_type ())

G_DECLARE_FINAL_TYPE (ConfabChatView, confab_chat_view, CONFAB, CHAT_VIEW, GtkWidget)

/*
 * ConfabChatView: one conversation — its messages in a recycling list that
 * follows a streaming reply unless the person scrolled up, and the composer.
 * Actions: chat.send, chat.stop, chat.retry (int64 message id).
 */
void                confab_chat_view_set_session      (ConfabChatView     *self,
                                                       ConfabChatSession  *session);
ConfabConversation *confab_chat_view_get_conversation (ConfabChatView     *self);
void                confab_chat_view_set_conversation (ConfabChatView     *self,
                                                       ConfabConversation *conversation);
void                confab_chat_view_focus_composer   (ConfabChatView     *self);
GtkTextView        *confab_chat_view_get_composer     (ConfabChatView     *self);
GtkListView        *confab_chat_view_get_message_list (ConfabChatView     *self);

G_END_DECLS
