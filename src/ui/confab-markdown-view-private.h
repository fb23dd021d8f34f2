/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "confab-markdown-view.h"

G_BEGIN_DECLS

/* For tests and benchmarks. */

/* How many times the view has rendered (parsed and updated its widgets). */
guint confab_markdown_view_get_render_count  (ConfabMarkdownView *self);
/* How many times it has parsed its text: once per change of the text,
 * however many frames making the widgets takes. */
guint confab_markdown_view_get_parse_count   (ConfabMarkdownView *self);
/* The pages of blocks the last snapshot drew: *@n_drawn of *@n_pages, from
 * *@first on. In a scrolled window only those near what it shows are drawn. */
void  confab_markdown_view_get_drawn_pages   (ConfabMarkdownView *self,
                                              guint              *first,
                                              guint              *n_drawn,
                                              guint              *n_pages);
/* The pages built and kept (those with widgets, not hidden to be thrown
 * away): *@n_built, the first of them *@first_page (G_MAXUINT: none),
 * holding *@n_made block widgets. */
void  confab_markdown_view_get_built         (ConfabMarkdownView *self,
                                              guint              *first_page,
                                              guint              *n_built,
                                              guint              *n_made);
/* How many blocks a page holds (the last page of a view may hold fewer). */
guint confab_markdown_view_get_blocks_per_page (void);
/* Whether the scrolled window shows part of a page not built whole yet
 * (the view shows room for it without its text). */
gboolean confab_markdown_view_shows_unbuilt  (ConfabMarkdownView *self);
/* Throws every page away, and their heights: they are estimated again,
 * and built again where they show. */
void  confab_markdown_view_forget_pages      (ConfabMarkdownView *self);
/* Nothing left to render, build, throw away or scroll back into place. */
gboolean confab_markdown_view_is_settled     (ConfabMarkdownView *self);
gboolean confab_markdown_view_is_parsing     (ConfabMarkdownView *self);
guint confab_markdown_view_get_n_dropped_parses (ConfabMarkdownView *self);
/* How many block widgets are frozen, and the length of the text they show. */
guint confab_markdown_view_get_n_frozen      (ConfabMarkdownView *self);
gsize confab_markdown_view_get_frozen_length (ConfabMarkdownView *self);
/* How many block widgets the final render after streaming had to replace
 * or update: 0 when the frozen blocks were right. */
guint confab_markdown_view_get_n_fixed_at_end (ConfabMarkdownView *self);

G_END_DECLS
