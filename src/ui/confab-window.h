/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "confab-application.h"
#include "confab-chat-view.h"

G_BEGIN_DECLS

#define CONFAB_TYPE_WINDOW (confab_window_get_type ())

G_DECLARE_FINAL_TYPE (ConfabWindow, confab_window, CONFAB, WINDOW, AdwApplicationWindow)

ConfabWindow   *confab_window_new                (ConfabApplication *application);
ConfabChatView *confab_window_get_chat_view      (ConfabWindow      *self);
/* The sidebar's conversations (all of them, before the search filter). */
GListModel     *confab_window_get_conversations  (ConfabWindow      *self);
void            confab_window_show_conversation  (ConfabWindow      *self,
                                                  ConfabConversation *conversation);
void            confab_window_add_toast          (ConfabWindow      *self,
                                                  AdwToast          *toast);

G_END_DECLS
