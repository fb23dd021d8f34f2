/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The Markdown parsing layer: md4c events in, a flat list of blocks out.
 *
 * No GTK here, so it can be tested and fuzzed without a display. Text-bearing
 * blocks carry Pango markup in which every piece of source text is escaped;
 * only <b>, <i>, <s>, <tt> and <a href="…" title="…"> (http, https and mailto
 * only) are ever produced. Raw HTML and entities are shown as typed.
 *
 * Blocks are flat: nesting is carried as attributes (list depth, quote depth).
 * A list item is one block whose markup already starts with its marker
 * ("• ", "3. ", "☐ "…); further paragraphs of the same item are paragraph
 * blocks with the same list depth.
 */

typedef enum
{
  CONFAB_MARKDOWN_BLOCK_PARAGRAPH,
  CONFAB_MARKDOWN_BLOCK_HEADING,
  CONFAB_MARKDOWN_BLOCK_CODE,
  CONFAB_MARKDOWN_BLOCK_QUOTE,
  CONFAB_MARKDOWN_BLOCK_LIST_ITEM,
  CONFAB_MARKDOWN_BLOCK_TABLE,
  CONFAB_MARKDOWN_BLOCK_RULE,
} ConfabMarkdownBlockKind;

typedef enum
{
  CONFAB_MARKDOWN_LIST_NONE,
  CONFAB_MARKDOWN_LIST_BULLET,
  CONFAB_MARKDOWN_LIST_ORDERED,
  CONFAB_MARKDOWN_LIST_TASK_UNCHECKED,
  CONFAB_MARKDOWN_LIST_TASK_CHECKED,
} ConfabMarkdownListMarker;

typedef enum
{
  CONFAB_MARKDOWN_ALIGN_DEFAULT,
  CONFAB_MARKDOWN_ALIGN_LEFT,
  CONFAB_MARKDOWN_ALIGN_CENTER,
  CONFAB_MARKDOWN_ALIGN_RIGHT,
} ConfabMarkdownAlign;

typedef struct _ConfabMarkdownDoc   ConfabMarkdownDoc;
typedef struct _ConfabMarkdownBlock ConfabMarkdownBlock;

ConfabMarkdownDoc *confab_markdown_parse              (const char *text,
                                                       gsize       len);
/* Like confab_markdown_parse(), for a tail cut off a longer document at a list
 * item: when @text starts with an ordered list, its items are numbered from
 * @first_number (0: as written). See confab_markdown_doc_get_next_number(). */
ConfabMarkdownDoc *confab_markdown_parse_continued    (const char *text,
                                                       gsize       len,
                                                       guint       first_number);
gsize              confab_markdown_stable_length      (const char *text,
                                                       gsize       len);

ConfabMarkdownDoc *confab_markdown_doc_ref            (ConfabMarkdownDoc *doc);
void               confab_markdown_doc_unref          (ConfabMarkdownDoc *doc);
guint              confab_markdown_doc_get_n_blocks   (ConfabMarkdownDoc *doc);
const ConfabMarkdownBlock *
                   confab_markdown_doc_get_block      (ConfabMarkdownDoc *doc,
                                                       guint              index);
/* The stable prefix of the parsed text: the finished top-level blocks (or
 * top-level list items) that text appended later cannot change. */
gsize              confab_markdown_doc_get_stable_length   (ConfabMarkdownDoc *doc);
/* How many of the blocks lie in the stable prefix. */
guint              confab_markdown_doc_get_n_stable_blocks (ConfabMarkdownDoc *doc);
/* When the stable prefix ends inside an ordered list, the number of the item
 * that follows it (to pass to confab_markdown_parse_continued()); else 0. */
guint              confab_markdown_doc_get_next_number     (ConfabMarkdownDoc *doc);
/* Whether the text had a link reference definition ("[x]: /url"): such a
 * definition may change blocks before it, so a split parse may differ. */
gboolean           confab_markdown_doc_has_references      (ConfabMarkdownDoc *doc);

ConfabMarkdownBlockKind  confab_markdown_block_get_kind        (const ConfabMarkdownBlock *block);
gsize                    confab_markdown_block_get_offset      (const ConfabMarkdownBlock *block);
const char              *confab_markdown_block_get_markup      (const ConfabMarkdownBlock *block);
guint                    confab_markdown_block_get_level       (const ConfabMarkdownBlock *block);
guint                    confab_markdown_block_get_list_depth  (const ConfabMarkdownBlock *block);
guint                    confab_markdown_block_get_quote_depth (const ConfabMarkdownBlock *block);
ConfabMarkdownListMarker confab_markdown_block_get_list_marker (const ConfabMarkdownBlock *block);
guint                    confab_markdown_block_get_number      (const ConfabMarkdownBlock *block);
const char              *confab_markdown_block_get_code        (const ConfabMarkdownBlock *block);
const char              *confab_markdown_block_get_language    (const ConfabMarkdownBlock *block);
gboolean                 confab_markdown_block_get_fenced      (const ConfabMarkdownBlock *block);
guint                    confab_markdown_block_get_n_rows      (const ConfabMarkdownBlock *block);
guint                    confab_markdown_block_get_n_columns   (const ConfabMarkdownBlock *block);
guint                    confab_markdown_block_get_n_header_rows (const ConfabMarkdownBlock *block);
const char              *confab_markdown_block_get_cell        (const ConfabMarkdownBlock *block,
                                                                guint                      row,
                                                                guint                      column);
ConfabMarkdownAlign      confab_markdown_block_get_alignment   (const ConfabMarkdownBlock *block,
                                                                guint                      column);
gboolean                 confab_markdown_block_get_has_links   (const ConfabMarkdownBlock *block);
/* Same rendering: everything but the source offset is equal. */
gboolean                 confab_markdown_block_equal           (const ConfabMarkdownBlock *a,
                                                                const ConfabMarkdownBlock *b);
ConfabMarkdownBlock     *confab_markdown_block_copy            (const ConfabMarkdownBlock *block);
void                     confab_markdown_block_free            (ConfabMarkdownBlock       *block);

/* Escapes @len bytes of @text for Pango markup, appending to @out: invalid
 * UTF-8 and control characters other than tab and newline become U+FFFD. */
void                     confab_markdown_escape_append         (GString    *out,
                                                                const char *text,
                                                                gsize       len);
/* Whether @uri may be a link target: http, https or mailto. */
gboolean                 confab_markdown_uri_is_safe           (const char *uri);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConfabMarkdownDoc, confab_markdown_doc_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConfabMarkdownBlock, confab_markdown_block_free)

G_END_DECLS
