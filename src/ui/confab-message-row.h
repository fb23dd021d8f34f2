/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "confab-markdown-view.h"
#include "confab-message.h"

G_BEGIN_DECLS

#define CONFAB_TYPE_MESSAGE_ROW (confab_message_row_get_type ())

G_DECLARE_FINAL_TYPE (ConfabMessageRow, confab_message_row, CONFAB, MESSAGE_ROW, GtkWidget)

/*
 * ConfabMessageRow: one message in the list — its rendered text, the model's
 * thinking (collapsed), a quiet caption (time, model, tokens, state), copy,
 * and for a failed reply the error in plain words with Retry. Rows are
 * recycled: set_message (NULL) lets go of the message.
 */
ConfabMessageRow *confab_message_row_new         (void);
ConfabMessage    *confab_message_row_get_message (ConfabMessageRow *self);
void              confab_message_row_set_message (ConfabMessageRow *self,
                                                  ConfabMessage    *message);
/* The view that shows the message's text */
ConfabMarkdownView *confab_message_row_get_content_view (ConfabMessageRow *self);

G_END_DECLS
