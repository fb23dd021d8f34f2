/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define CONFAB_TYPE_MARKDOWN_VIEW (confab_markdown_view_get_type ())

G_DECLARE_FINAL_TYPE (ConfabMarkdownView, confab_markdown_view, CONFAB, MARKDOWN_VIEW, GtkWidget)

/*
 * ConfabMarkdownView: Markdown text shown as widgets, one per block.
 *
 * set_text() and append_text() only record the text and schedule one update
 * on the next frame. While streaming, finished blocks are frozen (their
 * widgets are kept as they are) and each update parses and rebuilds only the
 * tail; so call set_streaming (TRUE) before a reply streams in and
 * set_streaming (FALSE) when it ends, which renders the whole text as final.
 * Without streaming, each update parses the whole text (widgets of unchanged
 * blocks are still kept).
 */

GtkWidget  *confab_markdown_view_new           (void);
void        confab_markdown_view_set_text      (ConfabMarkdownView *self,
                                                const char         *text);
void        confab_markdown_view_append_text   (ConfabMarkdownView *self,
                                                const char         *text,
                                                gssize              len);
const char *confab_markdown_view_get_text      (ConfabMarkdownView *self);
void        confab_markdown_view_set_streaming (ConfabMarkdownView *self,
                                                gboolean            streaming);
gboolean    confab_markdown_view_get_streaming (ConfabMarkdownView *self);
void        confab_markdown_view_set_full_width (ConfabMarkdownView *self,
                                                 gboolean            full_width);
gboolean    confab_markdown_view_get_full_width (ConfabMarkdownView *self);
void        confab_markdown_view_flush         (ConfabMarkdownView *self);
/* Loads a reply's fonts ahead of the first one, a part at a time */
gboolean    confab_markdown_view_warm_up       (guint               part);

G_END_DECLS
