/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "confab-chat-view.h"

G_BEGIN_DECLS

/* The monitor that says whether the machine is online; tests give their own. */
void confab_chat_view_set_network_monitor (ConfabChatView  *self,
                                           GNetworkMonitor *monitor);

/* How many messages are loaded at a time (tests make it small). */
void confab_chat_view_set_page_size      (ConfabChatView  *self,
                                          guint            page_size);

G_END_DECLS
