/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the Markdown parsing layer. The input is Markdown text.
 * Every block's markup must be well-formed, valid UTF-8 markup (all model text
 * escaped), and the stable prefix must lie within the text; parsing the tail
 * after the stable prefix must not crash either.
 */
#define G_LOG_DOMAIN "fuzz-markdown"

#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "confab-markdown.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Pango markup is XML: check that it parses as such inside a root element. */
static void
check_markup (const char *markup)
{
  static const GMarkupParser parser = { 0 };
  g_autoptr(GMarkupParseContext) context = NULL;
  gboolean ok;

  if (markup == NULL)
    return;

  if (!g_utf8_validate (markup, -1, NULL))
    abort ();

  context = g_markup_parse_context_new (&parser, 0, NULL, NULL);
  ok = g_markup_parse_context_parse (context, "<markup>", -1, NULL) &&
       g_markup_parse_context_parse (context, markup, -1, NULL) &&
       g_markup_parse_context_parse (context, "</markup>", -1, NULL) &&
       g_markup_parse_context_end_parse (context, NULL);
  if (!ok)
    abort ();
}

static void
check_doc (ConfabMarkdownDoc *doc)
{
  for (guint i = 0; i < confab_markdown_doc_get_n_blocks (doc); i++)
    {
      const ConfabMarkdownBlock *block = confab_markdown_doc_get_block (doc, i);

      check_markup (confab_markdown_block_get_markup (block));

      if (confab_markdown_block_get_kind (block) == CONFAB_MARKDOWN_BLOCK_TABLE)
        for (guint row = 0; row < confab_markdown_block_get_n_rows (block); row++)
          for (guint column = 0; column < confab_markdown_block_get_n_columns (block); column++)
            check_markup (confab_markdown_block_get_cell (block, row, column));

      if (confab_markdown_block_get_kind (block) == CONFAB_MARKDOWN_BLOCK_CODE &&
          !g_utf8_validate (confab_markdown_block_get_code (block), -1, NULL))
        abort ();
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  ConfabMarkdownDoc *doc;
  gsize stable;

  doc = confab_markdown_parse ((const char *) data, size);
  check_doc (doc);

  stable = confab_markdown_doc_get_stable_length (doc);
  if (stable > size || confab_markdown_doc_get_n_stable_blocks (doc) > confab_markdown_doc_get_n_blocks (doc))
    abort ();

  /* What a streaming view does next: parse the tail after the frozen part. */
  if (stable > 0 && stable < size)
    {
      ConfabMarkdownDoc *tail;

      tail = confab_markdown_parse_continued ((const char *) data + stable, size - stable,
                                              confab_markdown_doc_get_next_number (doc));
      check_doc (tail);
      confab_markdown_doc_unref (tail);
    }

  confab_markdown_doc_unref (doc);
  return 0;
}
