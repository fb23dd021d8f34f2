/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <adwaita.h>
#include <gtksourceview/gtksource.h>

#include "confab-code-block-private.h"
#include "confab-markdown.h"
#include "confab-markdown-view-private.h"
#include "confab-test-util.h"

#define CSS_RESOURCE "/io/github/confab/Confab/confab-markdown.css"

/* Warnings and messages logged while we render: each one fails the test. */
static guint n_bad_logs;

static GLogWriterOutput
log_writer (GLogLevelFlags   log_level,
            const GLogField *fields,
            gsize            n_fields,
            gpointer         user_data)
{
  if (log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL |
                   G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE))
    n_bad_logs++;

  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

static void
assert_no_logs (void)
{
  g_assert_cmpuint (n_bad_logs, ==, 0);
}

static char *
read_fixture (const char *name,
              gsize      *len)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", name, NULL);
  char *contents = NULL;

  g_file_get_contents (path, &contents, len, &error);
  g_assert_no_error (error);

  return contents;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* Every .md file in fixtures/markdown, sorted, as "markdown/NAME.md". */
static GPtrArray *
list_markdown_fixtures (void)
{
  g_autofree char *dir_path = g_test_build_filename (G_TEST_DIST, "fixtures", "markdown", NULL);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".md"))
      g_ptr_array_add (names, g_strconcat ("markdown/", name, NULL));

  g_ptr_array_sort (names, compare_names);
  g_assert_cmpuint (names->len, >=, 8);

  return names;
}

/* The content (.expected) of every SSE vector. */
static GPtrArray *
list_sse_expected (void)
{
  g_autofree char *dir_path = g_test_build_filename (G_TEST_DIST, "fixtures", NULL);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".sse"))
      {
        g_autofree char *base = g_strndup (name, strlen (name) - 4);
        g_autofree char *expected = g_strconcat (base, ".expected", NULL);
        g_autofree char *path = g_build_filename (dir_path, expected, NULL);

        g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
        g_ptr_array_add (names, g_steal_pointer (&expected));
      }

  g_ptr_array_sort (names, compare_names);
  g_assert_cmpuint (names->len, >=, 10);

  return names;
}

/* Markup checks */

/* pango_parse_markup() knows no <a>: GtkLabel handles it. Turn links into
 * spans, checking on the way that each title is markup for the href. */
static char *
links_to_spans (const char *markup)
{
  g_autoptr(GRegex) regex = g_regex_new ("<a href=\"([^\"]*)\" title=\"([^\"]*)\">", 0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *replaced = NULL;

  g_regex_match (regex, markup, 0, &match);
  while (g_match_info_matches (match))
    {
      g_autofree char *href = g_match_info_fetch (match, 1);
      g_autofree char *title = g_match_info_fetch (match, 2);
      g_autofree char *span = g_strconcat ("<span>", href, "</span>", NULL);
      g_autofree char *title_span = g_strconcat ("<span>", title, "</span>", NULL);
      g_autofree char *uri = NULL;
      g_autofree char *title_markup = NULL;
      g_autofree char *tooltip = NULL;
      g_autoptr(GError) error = NULL;

      /* The URI, unescaped once, is safe... */
      g_assert_true (pango_parse_markup (span, -1, 0, NULL, &uri, NULL, &error));
      g_assert_no_error (error);
      g_assert_true (confab_markdown_uri_is_safe (uri));
      /* ...and the title, unescaped once, is markup showing that URI. */
      g_assert_true (pango_parse_markup (title_span, -1, 0, NULL, &title_markup, NULL, &error));
      g_assert_no_error (error);
      g_assert_true (pango_parse_markup (title_markup, -1, 0, NULL, &tooltip, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (tooltip, ==, uri);

      g_match_info_next (match, NULL);
    }

  replaced = g_regex_replace (regex, markup, -1, 0, "<span>", 0, NULL);
  g_string_assign (out, replaced);
  g_string_replace (out, "</a>", "</span>", 0);

  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Asserts @markup is valid and returns its text. */
static char *
markup_text (const char *markup)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *spans = links_to_spans (markup);
  char *text = NULL;

  if (!pango_parse_markup (spans, -1, 0, NULL, &text, NULL, &error))
    g_error ("Bad markup %s: %s", markup, error->message);

  return text;
}

static void
assert_doc_markup_valid (ConfabMarkdownDoc *doc)
{
  for (guint i = 0; i < confab_markdown_doc_get_n_blocks (doc); i++)
    {
      const ConfabMarkdownBlock *block = confab_markdown_doc_get_block (doc, i);

      switch (confab_markdown_block_get_kind (block))
        {
        case CONFAB_MARKDOWN_BLOCK_PARAGRAPH:
        case CONFAB_MARKDOWN_BLOCK_HEADING:
        case CONFAB_MARKDOWN_BLOCK_QUOTE:
        case CONFAB_MARKDOWN_BLOCK_LIST_ITEM:
          g_free (markup_text (confab_markdown_block_get_markup (block)));
          break;

        case CONFAB_MARKDOWN_BLOCK_CODE:
          g_assert_true (g_utf8_validate (confab_markdown_block_get_code (block), -1, NULL));
          g_assert_true (g_utf8_validate (confab_markdown_block_get_language (block), -1, NULL));
          break;

        case CONFAB_MARKDOWN_BLOCK_TABLE:
          for (guint r = 0; r < confab_markdown_block_get_n_rows (block); r++)
            for (guint c = 0; c < confab_markdown_block_get_n_columns (block); c++)
              g_free (markup_text (confab_markdown_block_get_cell (block, r, c)));
          break;

        case CONFAB_MARKDOWN_BLOCK_RULE:
        default:
          g_assert_null (confab_markdown_block_get_markup (block));
          break;
        }
    }
}

/* Parsing layer */

typedef struct
{
  ConfabMarkdownBlockKind kind;
  const char             *content;  /* markup, or code */
} ExpectedBlock;

static ConfabMarkdownDoc *
parse_fixture (const char *name)
{
  g_autofree char *text = NULL;
  gsize len;

  text = read_fixture (name, &len);
  return confab_markdown_parse (text, len);
}

static void
assert_blocks (ConfabMarkdownDoc   *doc,
               const ExpectedBlock *expected,
               guint                n_expected)
{
  g_assert_cmpuint (confab_markdown_doc_get_n_blocks (doc), ==, n_expected);

  for (guint i = 0; i < n_expected; i++)
    {
      const ConfabMarkdownBlock *block = confab_markdown_doc_get_block (doc, i);

      g_assert_cmpint (confab_markdown_block_get_kind (block), ==, expected[i].kind);
      if (expected[i].kind == CONFAB_MARKDOWN_BLOCK_CODE)
        g_assert_cmpstr (confab_markdown_block_get_code (block), ==, expected[i].content);
      else if (expected[i].content != NULL)
        g_assert_cmpstr (confab_markdown_block_get_markup (block), ==, expected[i].content);
    }

  assert_doc_markup_valid (doc);
}

#define P CONFAB_MARKDOWN_BLOCK_PARAGRAPH
#define H CONFAB_MARKDOWN_BLOCK_HEADING
#define CODE CONFAB_MARKDOWN_BLOCK_CODE
#define QUOTE CONFAB_MARKDOWN_BLOCK_QUOTE
#define LI CONFAB_MARKDOWN_BLOCK_LIST_ITEM
#define TABLE CONFAB_MARKDOWN_BLOCK_TABLE
#define RULE CONFAB_MARKDOWN_BLOCK_RULE

static void
test_parse_basics (void)
{
  g_autoptr(ConfabMarkdownDoc) doc = parse_fixture ("markdown/basics.md");
  static const ExpectedBlock expected[] = {
    { H, "Heading one" },
    { H, "Heading <i>two</i>" },
    { H, "Three" },
    { H, "Four" },
    { H, "Five" },
    { H, "Six" },
    { P, "Plain text with <i>emphasis</i>, <i>also emphasis</i>, <b>strong</b>, "
         "<b>also strong</b>, <s>struck</s> and <tt>inline code</tt>, and <i><b>both</b></i>." },
    { P, "Links: <a href=\"https://example.com/a?b=1&amp;c=2\" "
         "title=\"https://example.com/a?b=1&amp;amp;c=2\">https</a>, "
         "<a href=\"http://example.org\" title=\"http://example.org\">http</a>, "
         "<a href=\"mailto:someone@example.com\" title=\"mailto:someone@example.com\">mail</a>, "
         "script, relative, file, "
         "<a href=\"https://autolink.example\" title=\"https://autolink.example\">https://autolink.example</a>, "
         "<a href=\"http://www.example.net\" title=\"http://www.example.net\">www.example.net</a> "
         "and plain <a href=\"https://bare.example/path\" title=\"https://bare.example/path\">"
         "https://bare.example/path</a>." },
    { P, "Hard break at the end of this line\nand a backslash escaped *star*." },
  };

  assert_blocks (doc, expected, G_N_ELEMENTS (expected));

  for (guint i = 0; i < 6; i++)
    g_assert_cmpuint (confab_markdown_block_get_level (confab_markdown_doc_get_block (doc, i)), ==, i + 1);

  g_assert_true (confab_markdown_block_get_has_links (confab_markdown_doc_get_block (doc, 7)));
  g_assert_false (confab_markdown_block_get_has_links (confab_markdown_doc_get_block (doc, 6)));
  g_assert_cmpuint (confab_markdown_block_get_offset (confab_markdown_doc_get_block (doc, 0)), ==, 0);
  g_assert_cmpuint (confab_markdown_block_get_offset (confab_markdown_doc_get_block (doc, 1)), ==, 15);
}

static void
test_parse_quotes (void)
{
  g_autoptr(ConfabMarkdownDoc) doc = parse_fixture ("markdown/quotes.md");
  static const ExpectedBlock expected[] = {
    { QUOTE, "A quote with <b>bold</b> over two lines.\n\nIts second paragraph." },
    { QUOTE, "Another quote" },
    { QUOTE, "nested deeper" },
    { LI, "• a list in a quote" },
    { LI, "• second item" },
    { P, "After the quotes." },
  };
  static const guint quote_depths[] = { 1, 1, 2, 1, 1, 0 };

  assert_blocks (doc, expected, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (quote_depths); i++)
    g_assert_cmpuint (confab_markdown_block_get_quote_depth (confab_markdown_doc_get_block (doc, i)),
                      ==, quote_depths[i]);
}

static void
test_parse_lists (void)
{
  g_autoptr(ConfabMarkdownDoc) doc = parse_fixture ("markdown/lists.md");
  static const struct {
    ExpectedBlock            block;
    guint                    depth;
    ConfabMarkdownListMarker marker;
    guint                    number;
  } expected[] = {
    { { LI, "• Apples" }, 1, CONFAB_MARKDOWN_LIST_BULLET, 0 },
    { { LI, "• Pears" }, 1, CONFAB_MARKDOWN_LIST_BULLET, 0 },
    { { LI, "◦ Conference" }, 2, CONFAB_MARKDOWN_LIST_BULLET, 0 },
    { { LI, "◦ Williams" }, 2, CONFAB_MARKDOWN_LIST_BULLET, 0 },
    { { LI, "1. ripe" }, 3, CONFAB_MARKDOWN_LIST_ORDERED, 1 },
    { { LI, "2. unripe" }, 3, CONFAB_MARKDOWN_LIST_ORDERED, 2 },
    { { LI, "☐ unchecked task" }, 1, CONFAB_MARKDOWN_LIST_TASK_UNCHECKED, 0 },
    { { LI, "☑ checked task" }, 1, CONFAB_MARKDOWN_LIST_TASK_CHECKED, 0 },
    { { LI, "1. First" }, 1, CONFAB_MARKDOWN_LIST_ORDERED, 1 },
    { { LI, "2. Second (written as 1.)" }, 1, CONFAB_MARKDOWN_LIST_ORDERED, 2 },
    { { LI, "3. Third" }, 1, CONFAB_MARKDOWN_LIST_ORDERED, 3 },
    { { LI, "7) Seven" }, 1, CONFAB_MARKDOWN_LIST_ORDERED, 7 },
    { { LI, "8) Eight" }, 1, CONFAB_MARKDOWN_LIST_ORDERED, 8 },
    { { LI, "• Loose item" }, 1, CONFAB_MARKDOWN_LIST_BULLET, 0 },
    { { P, "with a second paragraph" }, 1, CONFAB_MARKDOWN_LIST_NONE, 0 },
    { { LI, "• Another loose item" }, 1, CONFAB_MARKDOWN_LIST_BULLET, 0 },
  };

  g_assert_cmpuint (confab_markdown_doc_get_n_blocks (doc), ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      const ConfabMarkdownBlock *block = confab_markdown_doc_get_block (doc, i);

      g_assert_cmpint (confab_markdown_block_get_kind (block), ==, expected[i].block.kind);
      g_assert_cmpstr (confab_markdown_block_get_markup (block), ==, expected[i].block.content);
      g_assert_cmpuint (confab_markdown_block_get_list_depth (block), ==, expected[i].depth);
      g_assert_cmpint (confab_markdown_block_get_list_marker (block), ==, expected[i].marker);
      g_assert_cmpuint (confab_markdown_block_get_number (block), ==, expected[i].number);
    }
  assert_doc_markup_valid (doc);
}

static void
test_parse_table (void)
{
  g_autoptr(ConfabMarkdownDoc) doc = parse_fixture ("markdown/table.md");
  static const char *cells[4][3] = {
    { "Fruit", "Count", "Price" },
    { "Apple", "3", "$1.20" },
    { "<b>Pear</b>", "<tt>12</tt>",
      "<a href=\"https://shop.example\" title=\"https://shop.example\">shop</a>" },
    { "Kiwi | gold", "1", "" },
  };
  const ConfabMarkdownBlock *table;
  static const ExpectedBlock expected[] = {
    { P, "Prices:" },
    { TABLE, NULL },
    { P, "Done." },
  };

  assert_blocks (doc, expected, G_N_ELEMENTS (expected));

  table = confab_markdown_doc_get_block (doc, 1);
  g_assert_cmpuint (confab_markdown_block_get_n_rows (table), ==, 4);
  g_assert_cmpuint (confab_markdown_block_get_n_columns (table), ==, 3);
  g_assert_cmpuint (confab_markdown_block_get_n_header_rows (table), ==, 1);
  g_assert_cmpint (confab_markdown_block_get_alignment (table, 0), ==, CONFAB_MARKDOWN_ALIGN_LEFT);
  g_assert_cmpint (confab_markdown_block_get_alignment (table, 1), ==, CONFAB_MARKDOWN_ALIGN_CENTER);
  g_assert_cmpint (confab_markdown_block_get_alignment (table, 2), ==, CONFAB_MARKDOWN_ALIGN_RIGHT);
  g_assert_true (confab_markdown_block_get_has_links (table));

  for (guint r = 0; r < 4; r++)
    for (guint c = 0; c < 3; c++)
      g_assert_cmpstr (confab_markdown_block_get_cell (table, r, c), ==, cells[r][c]);
}

static void
test_parse_code (void)
{
  g_autoptr(ConfabMarkdownDoc) doc = parse_fixture ("markdown/code.md");
  static const ExpectedBlock expected[] = {
    { P, "Some Python:" },
    { CODE, "def greet(name):\n    return f\"Hello, {name}!\"\n" },
    { CODE, "#include <stdio.h>\nint main (void) { return 0; }\n" },
    { P, "Indented:" },
    { CODE, "$ make\n$ make install\n" },
    { RULE, NULL },
    { RULE, NULL },
    { LI, "1. Step one:" },
    { CODE, "echo \"in a list\"\n" },
    { LI, "2. Step two" },
  };
  static const char *languages[] = { NULL, "python", "c", NULL, "", NULL, NULL, NULL, "sh", NULL };

  assert_blocks (doc, expected, G_N_ELEMENTS (expected));

  for (guint i = 0; i < G_N_ELEMENTS (languages); i++)
    g_assert_cmpstr (confab_markdown_block_get_language (confab_markdown_doc_get_block (doc, i)),
                     ==, languages[i]);

  g_assert_true (confab_markdown_block_get_fenced (confab_markdown_doc_get_block (doc, 1)));
  g_assert_true (confab_markdown_block_get_fenced (confab_markdown_doc_get_block (doc, 2)));
  g_assert_false (confab_markdown_block_get_fenced (confab_markdown_doc_get_block (doc, 4)));
  g_assert_cmpuint (confab_markdown_block_get_list_depth (confab_markdown_doc_get_block (doc, 8)), ==, 1);
  /* A fenced block starts at its fence. */
  g_assert_cmpuint (confab_markdown_block_get_offset (confab_markdown_doc_get_block (doc, 1)), ==, 14);
}

static void
test_parse_unclosed_fence (void)
{
  g_autofree char *text = NULL;
  g_autoptr(ConfabMarkdownDoc) doc = NULL;
  static const ExpectedBlock expected[] = {
    { P, "Here is the start:" },
    { CODE, "fn main() {\n    println!(\"never closed\");\n" },
  };
  gsize len;

  text = read_fixture ("markdown/unclosed-fence.md", &len);
  doc = confab_markdown_parse (text, len);
  assert_blocks (doc, expected, G_N_ELEMENTS (expected));
  g_assert_cmpstr (confab_markdown_block_get_language (confab_markdown_doc_get_block (doc, 1)), ==, "rust");

  /* The open fence is never finished: the stable prefix ends before it. */
  g_assert_cmpuint (confab_markdown_stable_length (text, len), ==, strstr (text, "```") - text);
  g_assert_cmpuint (confab_markdown_doc_get_n_stable_blocks (doc), ==, 1);
}

static void
test_parse_escaping (void)
{
  g_autoptr(ConfabMarkdownDoc) doc = parse_fixture ("markdown/escaping.md");
  static const char *texts[] = {
    "A reply containing <span foreground=\"red\">x</span> here.",
    "Tom & Jerry; an unbalanced <b> tag; &amp; stays as typed; &lt; too.",
    "Code span: a < b && c > d and <i>.",
    NULL,
    "say \"hi\" & <wave>",
    "Quote marks ' and \" and a NUL-free tab\there.",
  };
  const ConfabMarkdownBlock *code;
  const ConfabMarkdownBlock *link;

  g_assert_cmpuint (confab_markdown_doc_get_n_blocks (doc), ==, G_N_ELEMENTS (texts));
  assert_doc_markup_valid (doc);

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      const ConfabMarkdownBlock *block = confab_markdown_doc_get_block (doc, i);
      g_autofree char *text = NULL;

      if (texts[i] == NULL)
        continue;

      text = markup_text (confab_markdown_block_get_markup (block));
      g_assert_cmpstr (text, ==, texts[i]);
    }

  code = confab_markdown_doc_get_block (doc, 3);
  g_assert_cmpint (confab_markdown_block_get_kind (code), ==, CONFAB_MARKDOWN_BLOCK_CODE);
  g_assert_cmpstr (confab_markdown_block_get_code (code), ==,
                   "<b>&amp;</b> <script>alert(\"x\")</script>\n");

  link = confab_markdown_doc_get_block (doc, 4);
  g_assert_true (g_str_has_prefix (confab_markdown_block_get_markup (link),
                                   "<a href=\"https://example.com/?q=&quot;x&quot;&amp;y=&#39;z&#39;"
                                   "&amp;lt=&lt;1&gt;\""));
}

/* Garbage must come out as valid markup, never as a crash. */
static void
test_parse_garbage (void)
{
  static const char *pieces[] = {
    "*", "**", "_", "`", "```", "~~~", "~~", "[", "]", "(", ")", "<", ">", "&", "&amp;",
    "&#0;", "&#x110000;", "\"", "'", "|", "-", "1.", "#", "> ", "\n", "\n\n", "    ",
    "\t", "\\", "!", "[x](", "javascript:", "http://", "<a href=\"x\">", "</a>",
    "\xff", "\xc3", "\xe2\x82", "\xed\xa0\x80", "\x01", "\x7f", "\xc2\x85", "\r",
    "\xef\xbf\xbe", "é", "👍", "www.", "@", ".com", "- [ ] ", "|---|", "---",
  };

  for (guint round = 0; round < 3000; round++)
    {
      g_autoptr(GString) text = g_string_new (NULL);
      g_autoptr(ConfabMarkdownDoc) doc = NULL;
      guint n = g_test_rand_int_range (1, 40);

      for (guint i = 0; i < n; i++)
        {
          if (g_test_rand_int_range (0, 10) == 0)
            g_string_append_c (text, (char) g_test_rand_int_range (0, 256));
          else
            g_string_append (text, pieces[g_test_rand_int_range (0, G_N_ELEMENTS (pieces))]);
        }

      doc = confab_markdown_parse (text->str, text->len);
      assert_doc_markup_valid (doc);
      g_assert_cmpuint (confab_markdown_doc_get_stable_length (doc), <=, text->len);
      g_assert_cmpuint (confab_markdown_doc_get_n_stable_blocks (doc), <=,
                        confab_markdown_doc_get_n_blocks (doc));
    }

  /* Text with NULs, and a length that stops short of the string. */
  {
    static const char with_nul[] = "a\0b *c\0* `\0`";
    g_autoptr(ConfabMarkdownDoc) doc = confab_markdown_parse (with_nul, sizeof with_nul - 1);
    g_autoptr(ConfabMarkdownDoc) part = confab_markdown_parse ("[l](http://x \"t\") more", 15);

    assert_doc_markup_valid (doc);
    assert_doc_markup_valid (part);
  }
}

static void
test_parse_stable_length (void)
{
  static const struct {
    const char *text;
    gsize       stable;
  } cases[] = {
    { "", 0 },
    { "one paragraph", 0 },
    /* The line that starts the last unit must be complete. */
    { "first\n\nsecond", 0 },
    { "first\n\nsecond\n", 7 },
    { "first\n\nsecond\n\nthird is still grow", 7 },
    { "first\n\n- a\n-", 7 },
    { "- a\n- b\n", 4 },
    /* A fence is open until closed. */
    { "text\n\n```\ncode\n\nmore code\n", 6 },
    { "text\n\n```\ncode\n```\n\nafter\n", 20 },
    /* A table needs its delimiter row. */
    { "para\n\n| a | b |\n|-", 0 },
    { "para\n\n| a | b |\n|---|---|\n", 6 },
    /* Text that only looks like another block is not a place to cut. */
    { "a\n\n# heading\n", 3 },
    { "- a\n\n  ```\n```py\nx\n", 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gsize stable = confab_markdown_stable_length (cases[i].text, strlen (cases[i].text));

      g_test_message ("case %u: %s", i, cases[i].text);
      g_assert_cmpuint (stable, ==, cases[i].stable);
    }
}

/* Streaming at the parser level: every prefix, cut where the doc says,
 * must add up to the whole. */
static void
test_parse_split_equivalence (void)
{
  g_autoptr(GPtrArray) names = list_markdown_fixtures ();
  g_autoptr(GPtrArray) sse = list_sse_expected ();

  g_ptr_array_extend_and_steal (names, g_steal_pointer (&sse));

  for (guint n = 0; n < names->len; n++)
    {
      g_autofree char *text = NULL;
      g_autoptr(ConfabMarkdownDoc) whole = NULL;
      g_autoptr(GPtrArray) blocks = g_ptr_array_new_with_free_func ((GDestroyNotify) confab_markdown_block_free);
      gsize len;
      gsize frozen = 0;
      guint next = 0;
      gsize step;

      if (strstr (names->pdata[n], "references") != NULL)
        continue;

      text = read_fixture (names->pdata[n], &len);
      whole = confab_markdown_parse (text, len);
      step = MAX (1, len / 400);

      for (gsize end = 1; end <= len; end += step)
        {
          g_autoptr(ConfabMarkdownDoc) doc = NULL;
          gsize stable;

          doc = confab_markdown_parse_continued (text + frozen, end - frozen, next);
          stable = confab_markdown_doc_get_stable_length (doc);
          if (stable == 0)
            continue;

          for (guint i = 0; i < confab_markdown_doc_get_n_stable_blocks (doc); i++)
            g_ptr_array_add (blocks, confab_markdown_block_copy (confab_markdown_doc_get_block (doc, i)));
          frozen += stable;
          next = confab_markdown_doc_get_next_number (doc);
        }

      {
        g_autoptr(ConfabMarkdownDoc) tail = confab_markdown_parse_continued (text + frozen, len - frozen, next);

        for (guint i = 0; i < confab_markdown_doc_get_n_blocks (tail); i++)
          g_ptr_array_add (blocks, confab_markdown_block_copy (confab_markdown_doc_get_block (tail, i)));
      }

      g_test_message ("%s: %u blocks", (char *) names->pdata[n], blocks->len);
      g_assert_cmpuint (blocks->len, ==, confab_markdown_doc_get_n_blocks (whole));
      for (guint i = 0; i < blocks->len; i++)
        g_assert_true (confab_markdown_block_equal (blocks->pdata[i], confab_markdown_doc_get_block (whole, i)));
    }
}

/* Widgets */

static void
collect_blocks (GPtrArray *blocks,
                GtkWidget *parent)
{
  for (GtkWidget *child = gtk_widget_get_first_child (parent);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (GTK_IS_BOX (child) && gtk_widget_has_css_class (child, "md-page"))
        collect_blocks (blocks, child);
      else
        g_ptr_array_add (blocks, child);
    }
}

/* The block widgets of @view in order, looking through the pages (boxes of
 * the view) that hold them. */
static GPtrArray *
list_blocks (ConfabMarkdownView *view)
{
  GPtrArray *blocks = g_ptr_array_new ();

  collect_blocks (blocks, GTK_WIDGET (view));
  return blocks;
}

static GtkWidget *
first_block (ConfabMarkdownView *view)
{
  g_autoptr(GPtrArray) blocks = list_blocks (view);

  return blocks->len > 0 ? blocks->pdata[0] : NULL;
}

static GtkWidget *
last_block (ConfabMarkdownView *view)
{
  g_autoptr(GPtrArray) blocks = list_blocks (view);

  return blocks->len > 0 ? blocks->pdata[blocks->len - 1] : NULL;
}

static GtkWidget *
find_descendant (GtkWidget *widget,
                 GType      type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return widget;

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_descendant (child, type);
      if (found != NULL)
        return found;
    }

  return NULL;
}

static void
append_escaped (GString    *out,
                const char *text)
{
  g_autoptr(GString) escaped = g_string_new (text);

  g_string_replace (escaped, "\\", "\\\\", 0);
  g_string_replace (escaped, "\n", "\\n", 0);
  g_string_append (out, escaped->str);
}

/* The label showing a code block's code, when one does */
static GtkWidget *
code_label (GtkWidget *widget)
{
  if (GTK_IS_LABEL (widget) && gtk_widget_has_css_class (widget, "md-code-text"))
    return widget;

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = code_label (child);
      if (found != NULL)
        return found;
    }

  return NULL;
}

/* The code a code block shows, in its view or its label */
static char *
buffer_text (GtkWidget *code_block)
{
  GtkWidget *view = confab_code_block_get_text_view (CONFAB_CODE_BLOCK (code_block));
  GtkTextBuffer *buffer;
  GtkTextIter start, end;

  if (view == NULL)
    {
      GtkWidget *label = code_label (code_block);

      g_assert_nonnull (label);
      g_assert_null (find_descendant (code_block, GTK_TYPE_TEXT_VIEW));
      g_assert_true (gtk_label_get_selectable (GTK_LABEL (label)));
      g_assert_false (gtk_label_get_wrap (GTK_LABEL (label)));
      g_assert_true (gtk_widget_has_css_class (label, "monospace"));
      return g_strdup (gtk_label_get_text (GTK_LABEL (label)));
    }

  g_assert_true (find_descendant (code_block, GTK_TYPE_TEXT_VIEW) == view);
  buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (view));
  gtk_text_buffer_get_bounds (buffer, &start, &end);

  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static void
serialize_label (GString   *out,
                 GtkWidget *label)
{
  static const char *classes[] = {
    "md-paragraph", "md-list-item", "md-quote", "md-heading",
    "title-1", "title-2", "title-3", "title-4", "heading",
  };
  gboolean first = TRUE;

  g_string_append (out, "label[");
  for (guint i = 0; i < G_N_ELEMENTS (classes); i++)
    if (gtk_widget_has_css_class (label, classes[i]))
      {
        g_string_append_printf (out, "%s%s", first ? "" : " ", classes[i]);
        first = FALSE;
      }
  g_string_append_printf (out, "] indent=%d: ", gtk_widget_get_margin_start (label));
  append_escaped (out, gtk_label_get_text (GTK_LABEL (label)));
}

static void
serialize_table (GString   *out,
                 GtkWidget *scroller)
{
  GtkWidget *grid = find_descendant (scroller, GTK_TYPE_GRID);
  int n_rows = 0;
  int n_columns = 0;

  g_assert_nonnull (grid);
  g_assert_true (gtk_scrolled_window_get_propagate_natural_height (GTK_SCROLLED_WINDOW (scroller)));

  for (GtkWidget *cell = gtk_widget_get_first_child (grid);
       cell != NULL;
       cell = gtk_widget_get_next_sibling (cell))
    {
      int column, row;

      gtk_grid_query_child (GTK_GRID (grid), cell, &column, &row, NULL, NULL);
      n_rows = MAX (n_rows, row + 1);
      n_columns = MAX (n_columns, column + 1);
    }

  g_string_append_printf (out, "table[%dx%d]", n_rows, n_columns);
  for (int row = 0; row < n_rows; row++)
    {
      g_string_append (out, row == 0 ? ": " : " / ");
      for (int column = 0; column < n_columns; column++)
        {
          GtkWidget *cell = gtk_grid_get_child_at (GTK_GRID (grid), column, row);

          g_assert_true (GTK_IS_LABEL (cell));
          if (column > 0)
            g_string_append (out, " | ");
          append_escaped (out, gtk_label_get_text (GTK_LABEL (cell)));
          if (gtk_widget_has_css_class (cell, "md-table-header"))
            g_string_append (out, "*");
          if (gtk_label_get_xalign (GTK_LABEL (cell)) > 0.9f)
            g_string_append (out, ">");
          else if (gtk_label_get_xalign (GTK_LABEL (cell)) > 0.4f)
            g_string_append (out, "^");
        }
    }
}

/* Kind and text of every block widget, one line each. Blocks sit in pages
 * (boxes of the view): a page is looked through, as a person sees no
 * difference. */
static void
serialize_blocks (GString            *out,
                  ConfabMarkdownView *view)
{
  g_autoptr(GPtrArray) blocks = list_blocks (view);

  for (guint i = 0; i < blocks->len; i++)
    {
      GtkWidget *child = blocks->pdata[i];

      if (GTK_IS_LABEL (child))
        {
          g_assert_true (gtk_label_get_wrap (GTK_LABEL (child)));
          g_assert_cmpint (gtk_label_get_wrap_mode (GTK_LABEL (child)), ==, PANGO_WRAP_WORD_CHAR);
          g_assert_true (gtk_label_get_selectable (GTK_LABEL (child)));
          g_assert_true (gtk_label_get_use_markup (GTK_LABEL (child)));
          g_assert_cmpfloat (gtk_label_get_xalign (GTK_LABEL (child)), ==, 0.0f);
          serialize_label (out, child);
        }
      else if (CONFAB_IS_CODE_BLOCK (child))
        {
          g_autofree char *code = buffer_text (child);

          g_string_append_printf (out, "code[%s] indent=%d: ",
                                  confab_code_block_get_language (CONFAB_CODE_BLOCK (child)),
                                  gtk_widget_get_margin_start (child));
          append_escaped (out, code);
        }
      else if (GTK_IS_SCROLLED_WINDOW (child))
        serialize_table (out, child);
      else if (GTK_IS_SEPARATOR (child))
        g_string_append (out, "rule");
      else
        g_error ("Unexpected block widget %s", G_OBJECT_TYPE_NAME (child));

      g_string_append_c (out, '\n');
    }
}

static char *
serialize_view (ConfabMarkdownView *view)
{
  GString *out = g_string_new (NULL);

  serialize_blocks (out, view);

  return g_string_free (out, FALSE);
}

static ConfabMarkdownView *
new_view (void)
{
  return g_object_ref_sink (CONFAB_MARKDOWN_VIEW (confab_markdown_view_new ()));
}

static char *
render_whole (const char *text)
{
  g_autoptr(ConfabMarkdownView) view = new_view ();
  char *tree;

  confab_markdown_view_set_text (view, text);
  confab_markdown_view_flush (view);
  tree = serialize_view (view);

  return tree;
}

static void
test_view_fixture (gconstpointer data)
{
  const char *name = data;
  g_autofree char *text = NULL;
  g_autofree char *tree_name = NULL;
  g_autofree char *tree_path = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *tree = NULL;
  g_autoptr(ConfabMarkdownView) view = NULL;
  gsize len;

  text = read_fixture (name, &len);
  tree_name = g_strdup_printf ("%.*s.tree", (int) strlen (name) - 3, name);
  tree_path = g_test_build_filename (G_TEST_DIST, "fixtures", tree_name, NULL);

  view = new_view ();
  confab_markdown_view_set_text (view, text);
  g_assert_null (first_block (view));
  g_assert_cmpstr (confab_markdown_view_get_text (view), ==, text);
  confab_markdown_view_flush (view);
  tree = serialize_view (view);

  if (!g_file_get_contents (tree_path, &expected, NULL, NULL))
    {
      g_test_message ("No %s; the view shows:\n%s", tree_path, tree);
      g_test_fail ();
      return;
    }

  g_assert_cmpstr (tree, ==, expected);
  assert_no_logs ();

  g_assert_finalize_object (g_steal_pointer (&view));
}

static void
test_view_escaping (void)
{
  g_autoptr(ConfabMarkdownView) view = new_view ();
  static const char *texts[] = {
    "A reply containing <span foreground=\"red\">x</span> here.",
    "Tom & Jerry; an unbalanced <b> tag; &amp; stays as typed; &lt; too.",
    "Code span: a < b && c > d and <i>.",
    NULL,
    "say \"hi\" & <wave>",
    "Quote marks ' and \" and a NUL-free tab\there.",
  };
  g_autofree char *text = read_fixture ("markdown/escaping.md", NULL);
  g_autoptr(GPtrArray) blocks = NULL;
  guint i;

  confab_markdown_view_set_text (view, text);
  confab_markdown_view_flush (view);
  blocks = list_blocks (view);

  for (i = 0; i < blocks->len; i++)
    {
      GtkWidget *child = blocks->pdata[i];

      g_assert_cmpuint (i, <, G_N_ELEMENTS (texts));
      if (texts[i] == NULL)
        {
          g_autofree char *code = buffer_text (child);

          g_assert_true (CONFAB_IS_CODE_BLOCK (child));
          g_assert_cmpstr (code, ==, "<b>&amp;</b> <script>alert(\"x\")</script>");
          continue;
        }

      g_assert_true (GTK_IS_LABEL (child));
      g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (child)), ==, texts[i]);
    }
  g_assert_cmpuint (i, ==, G_N_ELEMENTS (texts));

  assert_no_logs ();
}

static void
test_view_links (void)
{
  g_autoptr(ConfabMarkdownView) view = new_view ();
  GtkWidget *label;
  gboolean handled = FALSE;

  confab_markdown_view_set_text (view,
                                 "[web](https://example.com/a&b) [bad](javascript:alert(1))\n\n"
                                 "no links here");
  confab_markdown_view_flush (view);

  label = first_block (view);
  g_assert_true (GTK_IS_LABEL (label));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (label)), ==, "web bad");
  /* The URI shows as a tooltip (the link's title). */
  g_assert_true (gtk_widget_get_has_tooltip (label));
  g_assert_nonnull (strstr (gtk_label_get_label (GTK_LABEL (label)), "title=\"https://example.com/a&amp;amp;b\""));
  g_assert_null (strstr (gtk_label_get_label (GTK_LABEL (label)), "javascript"));

  /* Whatever reaches the label, only web and mail links may open. */
  g_signal_emit_by_name (label, "activate-link", "javascript:alert(1)", &handled);
  g_assert_true (handled);
  handled = FALSE;
  g_signal_emit_by_name (label, "activate-link", "file:///etc/passwd", &handled);
  g_assert_true (handled);

  label = last_block (view);
  g_assert_true (GTK_IS_LABEL (label));
  g_assert_false (gtk_widget_get_has_tooltip (label));

  g_assert_true (confab_markdown_uri_is_safe ("HTTPS://x"));
  g_assert_true (confab_markdown_uri_is_safe ("mailto:a@b"));
  g_assert_false (confab_markdown_uri_is_safe ("ftp://x"));
  g_assert_false (confab_markdown_uri_is_safe (" javascript:x"));

  assert_no_logs ();
}

/* A text is parsed as a continuation of what was frozen (nothing, here)
 * when it can hold no link reference definition, and whole when it can
 * ("]:"); both show a long text the same. */
static void
test_view_parse_paths (void)
{
  g_autoptr(GPtrArray) names = list_markdown_fixtures ();
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GString) with_reference = NULL;
  g_autoptr(ConfabMarkdownView) continued = new_view ();
  g_autoptr(ConfabMarkdownView) whole = new_view ();
  g_autofree char *continued_tree = NULL;
  g_autofree char *whole_tree = NULL;
  guint parses;

  while (text->len < 100 * 1024)
    for (guint i = 0; i < names->len; i++)
      {
        g_autofree char *fixture = NULL;

        /* An open fence would take in all that follows. */
        if (strstr (names->pdata[i], "references") != NULL ||
            strstr (names->pdata[i], "unclosed") != NULL)
          continue;
        fixture = read_fixture (names->pdata[i], NULL);
        if (strstr (fixture, "]:") != NULL)
          continue;
        g_string_append_printf (text, "%s\n\n---\n\n", fixture);
      }
  g_assert_null (strstr (text->str, "]:"));
  with_reference = g_string_new (text->str);
  g_string_append (with_reference, "\n[unused]: https://example.com\n");

  parses = confab_markdown_view_get_parse_count (continued);
  confab_markdown_view_set_text (continued, text->str);
  confab_markdown_view_flush (continued);
  g_assert_cmpuint (confab_markdown_view_get_parse_count (continued) - parses, ==, 1);
  continued_tree = serialize_view (continued);

  parses = confab_markdown_view_get_parse_count (whole);
  confab_markdown_view_set_text (whole, with_reference->str);
  confab_markdown_view_flush (whole);
  g_assert_cmpuint (confab_markdown_view_get_parse_count (whole) - parses, ==, 1);
  whole_tree = serialize_view (whole);

  g_assert_cmpstr (continued_tree, ==, whole_tree);
  assert_no_logs ();
}

static void
test_view_edit_rebuilds (void)
{
  g_autoptr(ConfabMarkdownView) view = new_view ();
  g_autofree char *tree = NULL;

  confab_markdown_view_set_streaming (view, TRUE);
  confab_markdown_view_set_text (view, "first paragraph\n\nsecond paragraph\n\nthird");
  confab_markdown_view_flush (view);
  g_assert_cmpuint (confab_markdown_view_get_n_frozen (view), >, 0);

  /* Not an extension: everything is rendered anew. */
  confab_markdown_view_set_text (view, "# Other\n\nfirst paragraph");
  confab_markdown_view_flush (view);
  tree = serialize_view (view);
  g_assert_cmpstr (tree, ==,
                   "label[md-heading title-1] indent=0: Other\n"
                   "label[md-paragraph] indent=0: first paragraph\n");

  /* Shorter text is an edit too. */
  confab_markdown_view_set_text (view, "# Oth");
  confab_markdown_view_flush (view);
  g_clear_pointer (&tree, g_free);
  tree = serialize_view (view);
  g_assert_cmpstr (tree, ==, "label[md-heading title-1] indent=0: Oth\n");

  /* Same text: nothing to do. */
  confab_markdown_view_set_text (view, "# Oth");
  confab_markdown_view_flush (view);
  g_assert_cmpuint (confab_markdown_view_get_render_count (view), ==, 3);

  confab_markdown_view_set_text (view, NULL);
  confab_markdown_view_flush (view);
  g_assert_null (first_block (view));
  g_assert_cmpstr (confab_markdown_view_get_text (view), ==, "");

  assert_no_logs ();
}

/* Streaming */

static gsize
utf8_safe_cut (const char *text,
               gsize       len,
               gsize       cut)
{
  while (cut < len && ((guchar) text[cut] & 0xc0) == 0x80)
    cut++;
  return cut;
}

/* While streaming, only the last block, when it is code, is growing;
 * finished, none is, and short code shows in a label. */
static void
assert_growing_code (ConfabMarkdownView *view,
                     gboolean            streaming)
{
  g_autoptr(GPtrArray) blocks = list_blocks (view);

  for (guint i = 0; i < blocks->len; i++)
    {
      GtkWidget *child = blocks->pdata[i];
      gboolean growing = streaming && i == blocks->len - 1;

      if (!CONFAB_IS_CODE_BLOCK (child))
        continue;
      if (!growing)
        {
          g_assert_false (confab_code_block_get_growing (CONFAB_CODE_BLOCK (child)));
          g_assert_null (confab_code_block_get_text_view (CONFAB_CODE_BLOCK (child)));
        }
      else
        g_assert_true ((confab_code_block_get_text_view (CONFAB_CODE_BLOCK (child)) == NULL) !=
                       (code_label (child) == NULL));
    }
}

static void
stream_and_compare (const char *name,
                    const char *text,
                    gsize       len)
{
  g_autoptr(ConfabMarkdownView) view = new_view ();
  g_autofree char *expected = render_whole (text);
  g_autofree char *streamed = NULL;
  gsize pos = 0;

  confab_markdown_view_set_streaming (view, TRUE);
  g_assert_true (confab_markdown_view_get_streaming (view));

  while (pos < len)
    {
      g_autofree char *prefix = NULL;
      gsize step = g_test_rand_int_range (1, MAX (2, MIN (64, len / 8 + 2)));

      pos = utf8_safe_cut (text, len, MIN (len, pos + step));
      prefix = g_strndup (text, pos);
      confab_markdown_view_set_text (view, prefix);
      if (g_test_rand_int_range (0, 3) == 0)
        {
          confab_markdown_view_flush (view);
          assert_growing_code (view, TRUE);
        }
    }

  confab_markdown_view_flush (view);
  assert_growing_code (view, TRUE);
  if (strstr (name, "unclosed-fence") != NULL)
    {
      g_autoptr(GPtrArray) blocks = list_blocks (view);
      GtkWidget *last = blocks->pdata[blocks->len - 1];

      g_assert_true (CONFAB_IS_CODE_BLOCK (last));
      g_assert_true (confab_code_block_get_growing (CONFAB_CODE_BLOCK (last)));
    }
  confab_markdown_view_set_streaming (view, FALSE);
  confab_markdown_view_flush (view);
  assert_growing_code (view, FALSE);
  streamed = serialize_view (view);

  g_test_message ("%s: %u frozen widgets fixed at the end", name,
                  confab_markdown_view_get_n_fixed_at_end (view));
  g_assert_cmpstr (streamed, ==, expected);

  /* The frozen blocks were already right, unless a link reference defined
   * at the end changed text before it. */
  if (strstr (name, "references") == NULL)
    g_assert_cmpuint (confab_markdown_view_get_n_fixed_at_end (view), ==, 0);

  assert_no_logs ();
}

static void
test_view_streaming (void)
{
  g_autoptr(GPtrArray) names = list_markdown_fixtures ();
  g_autoptr(GPtrArray) sse = list_sse_expected ();

  g_ptr_array_extend_and_steal (names, g_steal_pointer (&sse));

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *text = NULL;
      gsize len;

      text = read_fixture (names->pdata[i], &len);
      g_assert_true (g_utf8_validate (text, len, NULL));
      stream_and_compare (names->pdata[i], text, len);
    }
}

static void
test_view_streaming_references (void)
{
  g_autoptr(ConfabMarkdownView) view = new_view ();
  g_autofree char *text = read_fixture ("markdown/references.md", NULL);
  g_autofree char *expected = render_whole (text);
  g_autofree char *tree = NULL;
  const char *def = strstr (text, "[docs]:");

  /* Streamed up to the definition, the reference is plain text... */
  confab_markdown_view_set_streaming (view, TRUE);
  for (gsize i = 1; text + i <= def; i++)
    {
      g_autofree char *prefix = g_strndup (text, i);

      confab_markdown_view_set_text (view, prefix);
      confab_markdown_view_flush (view);
    }
  confab_markdown_view_set_text (view, text);
  confab_markdown_view_flush (view);
  g_assert_cmpuint (confab_markdown_view_get_n_frozen (view), >, 0);

  /* ...and the final render fixes the frozen paragraph. */
  confab_markdown_view_set_streaming (view, FALSE);
  confab_markdown_view_flush (view);
  tree = serialize_view (view);
  g_assert_cmpstr (tree, ==, expected);
  g_assert_cmpuint (confab_markdown_view_get_n_fixed_at_end (view), ==, 1);
  g_assert_true (gtk_widget_get_has_tooltip (first_block (view)));

  assert_no_logs ();
}

/* The @n-th block widget of @view, looking through pages */
static GtkWidget *
nth_block (ConfabMarkdownView *view,
           guint               n)
{
  g_autoptr(GPtrArray) blocks = list_blocks (view);

  return n < blocks->len ? blocks->pdata[n] : NULL;
}

static void
test_view_frozen_kept (void)
{
  g_autoptr(ConfabMarkdownView) view = new_view ();
  g_autoptr(GString) text = g_string_new (NULL);
  GtkWidget *first;
  GtkWidget *second;
  gsize frozen_len;
  guint renders;

  confab_markdown_view_set_streaming (view, TRUE);

  for (guint i = 0; i < 50; i++)
    g_string_append_printf (text, "Paragraph %u with *some* text.\n\n", i);
  g_string_append (text, "```c\nint x;\n```\n\n- item a\n- item b\n");
  confab_markdown_view_set_text (view, text->str);
  confab_markdown_view_flush (view);

  first = nth_block (view, 0);
  second = nth_block (view, 1);
  g_assert_true (GTK_IS_LABEL (first));
  g_assert_cmpuint (confab_markdown_view_get_n_frozen (view), >=, 50);
  frozen_len = confab_markdown_view_get_frozen_length (view);
  g_assert_cmpuint (frozen_len, >, 0);

  renders = confab_markdown_view_get_render_count (view);
  for (guint i = 0; i < 200; i++)
    {
      g_string_append_printf (text, "- item %u\n", i);
      confab_markdown_view_set_text (view, text->str);
      if (i % 7 == 0)
        confab_markdown_view_flush (view);
    }
  g_string_append (text, "\nThe end.");
  confab_markdown_view_set_text (view, text->str);
  confab_markdown_view_flush (view);
  g_assert_cmpuint (confab_markdown_view_get_render_count (view), ==, renders + 30);

  /* The same widgets, and the frozen text grew: only the tail is parsed. */
  g_assert_true (nth_block (view, 0) == first);
  g_assert_true (nth_block (view, 1) == second);
  g_assert_cmpuint (confab_markdown_view_get_frozen_length (view), >, frozen_len);
  g_assert_cmpuint (confab_markdown_view_get_frozen_length (view), >, text->len - 100);

  confab_markdown_view_set_streaming (view, FALSE);
  confab_markdown_view_flush (view);
  g_assert_true (nth_block (view, 0) == first);
  g_assert_cmpuint (confab_markdown_view_get_n_fixed_at_end (view), ==, 0);

  assert_no_logs ();
}

/* Frames */

typedef struct
{
  guint n_frames;
} FrameCounter;

static gboolean
count_frame_cb (GtkWidget     *widget,
                GdkFrameClock *clock,
                gpointer       user_data)
{
  FrameCounter *counter = user_data;

  counter->n_frames++;
  return G_SOURCE_CONTINUE;
}

static gboolean
timeout_cb (gpointer user_data)
{
  g_error ("Timed out waiting for %s", (const char *) user_data);
  return G_SOURCE_REMOVE;
}

static void
test_view_one_render_per_frame (void)
{
  GtkWidget *window = gtk_window_new ();
  ConfabMarkdownView *view = CONFAB_MARKDOWN_VIEW (confab_markdown_view_new ());
  g_autoptr(GString) text = g_string_new (NULL);
  FrameCounter counter = { 0, };
  guint timeout_id;
  guint tick_id;
  guint renders;
  guint frames;

  gtk_window_set_default_size (GTK_WINDOW (window), 600, 400);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (view));
  confab_markdown_view_set_streaming (view, TRUE);
  gtk_window_present (GTK_WINDOW (window));

  timeout_id = g_timeout_add_seconds (10, timeout_cb, (gpointer) "the window to map");
  while (!gtk_widget_get_mapped (GTK_WIDGET (view)))
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (timeout_id);

  /* Keep frames coming, and count them. */
  tick_id = gtk_widget_add_tick_callback (window, count_frame_cb, &counter, NULL);

  renders = confab_markdown_view_get_render_count (view);
  for (guint i = 0; i < 1000; i++)
    {
      g_string_append_printf (text, "word%u ", i);
      if (i % 100 == 99)
        g_string_append (text, "\n\n");
      confab_markdown_view_set_text (view, text->str);
    }
  /* Nothing happens until the frame. */
  g_assert_cmpuint (confab_markdown_view_get_render_count (view), ==, renders);

  timeout_id = g_timeout_add_seconds (10, timeout_cb, (gpointer) "a render");
  while (confab_markdown_view_get_render_count (view) == renders)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (timeout_id);
  g_assert_cmpuint (confab_markdown_view_get_render_count (view), ==, renders + 1);

  /* More frames without new text render nothing. */
  frames = counter.n_frames;
  timeout_id = g_timeout_add_seconds (10, timeout_cb, (gpointer) "three frames");
  while (counter.n_frames < frames + 3)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (timeout_id);
  g_assert_cmpuint (confab_markdown_view_get_render_count (view), ==, renders + 1);

  /* And the one render showed all of the text, once its blocks are made
   * (a few a frame). */
  g_assert_cmpuint (confab_markdown_view_get_n_frozen (view), ==, 9);
  timeout_id = g_timeout_add_seconds (10, timeout_cb, (gpointer) "the blocks");
  while (!confab_markdown_view_is_settled (view))
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (timeout_id);
  g_assert_cmpuint (confab_markdown_view_get_render_count (view), ==, renders + 1);
  {
    GtkWidget *last = last_block (view);
    g_assert_true (g_str_has_suffix (gtk_label_get_text (GTK_LABEL (last)), "word999"));
  }

  gtk_widget_remove_tick_callback (window, tick_id);
  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;

  assert_no_logs ();
}

static guint
count_direct_children (GtkWidget *widget)
{
  guint n = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    n++;

  return n;
}

/* Long texts keep their blocks in pages (boxes of the view) of equal size,
 * in order, so that a frame's layout does not go through every block; the
 * text shows the same, through edits that replace and remove blocks too. */
static void
assert_pages_sane (ConfabMarkdownView *view)
{
  g_autoptr(GPtrArray) blocks = list_blocks (view);
  GtkWidget *first_page = gtk_widget_get_first_child (GTK_WIDGET (view));
  guint page_size = first_page != NULL ? count_direct_children (first_page) : 0;
  guint n_pages = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (view));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      guint n = count_direct_children (child);

      g_assert_true (GTK_IS_BOX (child));
      g_assert_true (gtk_widget_has_css_class (child, "md-page"));
      /* No empty page is left behind; only the last one is not full. */
      g_assert_cmpuint (n, >, 0);
      if (gtk_widget_get_next_sibling (child) != NULL)
        g_assert_cmpuint (n, ==, page_size);
      else
        g_assert_cmpuint (n, <=, page_size);
      n_pages++;
    }

  if (n_pages > 1)
    g_assert_cmpuint (page_size, ==, confab_markdown_view_get_blocks_per_page ());
  if (blocks->len > 0)
    g_assert_cmpuint (n_pages, ==, (blocks->len + page_size - 1) / page_size);
  else
    g_assert_cmpuint (n_pages, ==, 0);
}

static void
test_view_pages (void)
{
  g_autoptr(ConfabMarkdownView) view = new_view ();
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *expected = NULL;
  g_autofree char *tree = NULL;
  g_autoptr(GPtrArray) blocks = NULL;
  GtkWidget *first;

  for (guint i = 0; i < 400; i++)
    g_string_append_printf (text, "Paragraph %u uses [a link][ref].\n\n", i);

  /* Streamed: frozen blocks go into pages. */
  confab_markdown_view_set_streaming (view, TRUE);
  for (gsize cut = 64; cut < text->len; cut += 97)
    {
      g_autofree char *prefix = g_strndup (text->str, cut);

      confab_markdown_view_set_text (view, prefix);
      confab_markdown_view_flush (view);
    }
  confab_markdown_view_set_text (view, text->str);
  confab_markdown_view_flush (view);
  first = first_block (view);
  g_assert_true (gtk_widget_get_parent (first) != GTK_WIDGET (view));
  g_assert_true (gtk_widget_has_css_class (gtk_widget_get_parent (first), "md-page"));
  assert_pages_sane (view);

  /* A definition at the end changes every paged paragraph. */
  g_string_append (text, "[ref]: https://example.com/ref\n");
  confab_markdown_view_set_text (view, text->str);
  confab_markdown_view_set_streaming (view, FALSE);
  confab_markdown_view_flush (view);
  g_assert_cmpuint (confab_markdown_view_get_n_fixed_at_end (view), >=, 390);
  expected = render_whole (text->str);
  tree = serialize_view (view);
  g_assert_cmpstr (tree, ==, expected);
  g_assert_true (gtk_widget_get_has_tooltip (first_block (view)));
  assert_pages_sane (view);

  /* An edit near the start, and one that drops most blocks. */
  text->str[strlen ("Paragraph ")] = 'X';
  confab_markdown_view_set_text (view, text->str);
  confab_markdown_view_flush (view);
  g_clear_pointer (&expected, g_free);
  g_clear_pointer (&tree, g_free);
  expected = render_whole (text->str);
  tree = serialize_view (view);
  g_assert_cmpstr (tree, ==, expected);
  assert_pages_sane (view);

  g_string_truncate (text, 300);
  confab_markdown_view_set_text (view, text->str);
  confab_markdown_view_flush (view);
  g_clear_pointer (&expected, g_free);
  g_clear_pointer (&tree, g_free);
  expected = render_whole (text->str);
  tree = serialize_view (view);
  g_assert_cmpstr (tree, ==, expected);
  assert_pages_sane (view);
  blocks = list_blocks (view);
  g_assert_cmpuint (blocks->len, <, 20);

  assert_no_logs ();
  g_assert_finalize_object (g_steal_pointer (&view));
}

static void
frame_painted_cb (GdkFrameClock *clock,
                  gpointer       user_data)
{
  *(gboolean *) user_data = TRUE;
}

/* Waits for the window of @widget to paint a new frame. */
static void
wait_for_frame (GtkWidget *widget)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (widget);
  gboolean painted = FALSE;
  gulong id = g_signal_connect (clock, "after-paint", G_CALLBACK (frame_painted_cb), &painted);

  gtk_widget_queue_draw (widget);
  confab_test_wait_until (&painted, 10, "a frame");
  g_signal_handler_disconnect (clock, id);
}

/* Shows @view in @scroller, the child of @window (600×400), and waits for
 * it to map. */
static void
show_scrolled (GtkWidget          *window,
               GtkWidget          *scroller,
               ConfabMarkdownView *view)
{
  guint timeout_id;

  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), GTK_WIDGET (view));
  gtk_window_set_child (GTK_WINDOW (window), scroller);
  gtk_window_set_default_size (GTK_WINDOW (window), 600, 400);
  gtk_window_present (GTK_WINDOW (window));
  timeout_id = g_timeout_add_seconds (10, timeout_cb, (gpointer) "the window to map");
  while (!gtk_widget_get_mapped (GTK_WIDGET (view)))
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (timeout_id);
}

static void
wait_settled (ConfabMarkdownView *view)
{
  guint timeout_id = g_timeout_add_seconds (60, timeout_cb, (gpointer) "the view to settle");

  do
    g_main_context_iteration (NULL, TRUE);
  while (!confab_markdown_view_is_settled (view));
  g_source_remove (timeout_id);
}

/* While a reply streams in and more comes in a frame than the frame's budget
 * makes, the pages that show are built from the last one up: the window
 * follows the reply's end, and the pages above it scroll away. */
static void
test_view_streaming_end_first (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *scroller = gtk_scrolled_window_new ();
  ConfabMarkdownView *view = CONFAB_MARKDOWN_VIEW (confab_markdown_view_new ());
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller));
  g_autoptr(GString) text = g_string_new (NULL);
  guint page_size;
  guint first_built, n_built, n_made;
  guint first_drawn, n_drawn, n_pages;

  page_size = confab_markdown_view_get_blocks_per_page ();

  /* Two pages of long paragraphs (each estimated to cost more than a
   * quarter of a frame's budget) and one more, alone on the last page:
   * at the end, the last paragraphs of the second page and the third
   * page show. */
  for (guint i = 0; i < 2 * page_size + 1; i++)
    {
      g_string_append_printf (text, "Paragraph %u:", i);
      for (guint j = 0; j < 60; j++)
        g_string_append (text, " streaming");
      g_string_append (text, ".\n\n");
    }

  show_scrolled (window, scroller, view);
  confab_markdown_view_set_streaming (view, TRUE);
  confab_markdown_view_append_text (view, text->str, -1);
  wait_settled (view);
  confab_markdown_view_get_drawn_pages (view, &first_drawn, &n_drawn, &n_pages);
  g_assert_cmpuint (n_pages, ==, 3);
  confab_markdown_view_get_built (view, &first_built, &n_built, &n_made);
  g_assert_cmpuint (first_built, ==, 0);
  g_assert_cmpuint (first_built + n_built, <, n_pages);

  /* Down to the end, as the chat follows a reply: the first frame makes
   * the last page, not the top of the second one. */
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment));
  wait_for_frame (GTK_WIDGET (view));
  confab_markdown_view_get_built (view, &first_built, &n_built, &n_made);
  g_assert_cmpuint (n_built, >=, 1);
  g_assert_cmpuint (first_built + n_built, ==, n_pages);

  gtk_window_destroy (GTK_WINDOW (window));
  assert_no_logs ();
}

/* Keeps the scrolled window at its end after each layout, as the chat view
 * does while it follows a reply. */
static void
follow_end_cb (GdkFrameClock *clock,
               GtkAdjustment *adjustment)
{
  gtk_adjustment_set_value (adjustment,
                            gtk_adjustment_get_upper (adjustment) -
                            gtk_adjustment_get_page_size (adjustment));
}

/* A window that shows its end follows it: when the text grows by pages at
 * once (a reply that arrived whole), the first frame builds the end, which
 * is what shows after that frame's layout, not the top. */
static void
test_view_grown_at_end (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *scroller = gtk_scrolled_window_new ();
  ConfabMarkdownView *view = CONFAB_MARKDOWN_VIEW (confab_markdown_view_new ());
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller));
  g_autoptr(GString) text = g_string_new (NULL);
  guint page_size = confab_markdown_view_get_blocks_per_page ();
  guint first_built, n_built, n_made;
  guint first_drawn, n_drawn, n_pages;
  GdkFrameClock *clock;
  gulong id;

  show_scrolled (window, scroller, view);
  confab_markdown_view_set_text (view, "A short start.");
  wait_settled (view);
  clock = gtk_widget_get_frame_clock (GTK_WIDGET (view));
  id = g_signal_connect_after (clock, "layout", G_CALLBACK (follow_end_cb), adjustment);

  /* Paragraphs of a line or two: many screens */
  for (guint i = 0; i < 128; i++)
    {
      g_string_append_printf (text, "Paragraph %u:", i);
      for (guint j = 0; j < 12; j++)
        g_string_append (text, " arrived");
      g_string_append (text, ".\n\n");
    }
  confab_markdown_view_set_text (view, text->str);
  wait_for_frame (GTK_WIDGET (view));

  confab_markdown_view_get_drawn_pages (view, &first_drawn, &n_drawn, &n_pages);
  g_assert_cmpuint (n_pages, ==, (128 + page_size - 1) / page_size);
  confab_markdown_view_get_built (view, &first_built, &n_built, &n_made);
  g_assert_cmpuint (n_built, >=, 1);
  g_assert_cmpuint (first_built, >, 0);
  g_assert_cmpuint (first_built + n_built, ==, n_pages);

  /* And it settles there, its end showing */
  wait_settled (view);
  g_assert_cmpfloat (gtk_adjustment_get_value (adjustment), >, 0);
  confab_markdown_view_get_drawn_pages (view, &first_drawn, &n_drawn, &n_pages);
  g_assert_cmpuint (first_drawn + n_drawn, ==, n_pages);

  g_signal_handler_disconnect (clock, id);
  gtk_window_destroy (GTK_WINDOW (window));
  assert_no_logs ();
}

/* Items of one list sit as close together across the end of a page (a box
 * of its own) as within one. */
static void
test_view_list_across_pages (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *scroller = gtk_scrolled_window_new ();
  ConfabMarkdownView *view = CONFAB_MARKDOWN_VIEW (confab_markdown_view_new ());
  g_autoptr(GString) text = g_string_new ("A list:\n\n");
  g_autoptr(GPtrArray) blocks = NULL;
  guint page_size = confab_markdown_view_get_blocks_per_page ();
  double step = -1;

  for (guint i = 0; i < 2 * page_size; i++)
    g_string_append_printf (text, "- item %u\n", i);

  show_scrolled (window, scroller, view);
  confab_markdown_view_set_text (view, text->str);
  wait_settled (view);
  wait_for_frame (window);

  blocks = list_blocks (view);
  g_assert_cmpuint (blocks->len, ==, 2 * page_size + 1);
  for (guint i = 2; i < blocks->len; i++)
    {
      graphene_rect_t a, b;

      g_assert_true (gtk_widget_compute_bounds (blocks->pdata[i - 1], GTK_WIDGET (view), &a));
      g_assert_true (gtk_widget_compute_bounds (blocks->pdata[i], GTK_WIDGET (view), &b));
      if (step < 0)
        step = b.origin.y - a.origin.y;
      g_assert_cmpfloat_with_epsilon (b.origin.y - a.origin.y, step, 0.5);
    }
  /* Closer than the paragraph before them */
  {
    graphene_rect_t a, b;

    g_assert_true (gtk_widget_compute_bounds (blocks->pdata[0], GTK_WIDGET (view), &a));
    g_assert_true (gtk_widget_compute_bounds (blocks->pdata[1], GTK_WIDGET (view), &b));
    g_assert_cmpfloat (step, <, b.origin.y - a.origin.y);
  }

  gtk_window_destroy (GTK_WINDOW (window));
  assert_no_logs ();
}

/* Pages built above what shows take the room of their estimates: pages
 * not built further up take the difference, so what shows does not move
 * and the view keeps its height. A window following the end of a reply
 * that arrived at once builds the screen above it after what shows: here
 * tables, each too costly for the budget of a frame's margin but as the
 * frame's first widget, so they come in frames after. */
static void
test_view_built_above_in_place (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *scroller = gtk_scrolled_window_new ();
  ConfabMarkdownView *view = CONFAB_MARKDOWN_VIEW (confab_markdown_view_new ());
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller));
  g_autoptr(GString) text = g_string_new (NULL);
  guint first_built, n_built, n_made, n_shown;
  GdkFrameClock *clock;
  guint timeout_id;
  gulong id;
  int height;

  show_scrolled (window, scroller, view);
  confab_markdown_view_set_text (view, "A short start.");
  wait_settled (view);
  clock = gtk_widget_get_frame_clock (GTK_WIDGET (view));
  id = g_signal_connect_after (clock, "layout", G_CALLBACK (follow_end_cb), adjustment);

  /* Headings and tables, whose estimates are off, then two pages of short
   * paragraphs: a little more than a screen */
  for (guint i = 0; i < 40; i++)
    {
      g_string_append_printf (text, "## Table %u\n\n| a | b | c |\n|---|---|---|\n", i);
      for (guint row = 0; row < 5; row++)
        g_string_append_printf (text, "| %u | cell %u | x |\n", i, row);
      g_string_append (text, "\n");
    }
  for (guint i = 0; i < 2 * confab_markdown_view_get_blocks_per_page (); i++)
    g_string_append_printf (text, "Paragraph %u.\n\n", i);
  confab_markdown_view_set_text (view, text->str);

  /* What shows first */
  timeout_id = g_timeout_add_seconds (10, timeout_cb, (gpointer) "what shows to be built");
  do
    wait_for_frame (GTK_WIDGET (view));
  while (confab_markdown_view_get_render_count (view) == 0 ||
         confab_markdown_view_shows_unbuilt (view));
  g_source_remove (timeout_id);
  confab_markdown_view_get_built (view, &first_built, &n_built, &n_shown);
  height = gtk_widget_get_height (GTK_WIDGET (view));

  /* Then the screen above it (nothing is below), frame by frame */
  timeout_id = g_timeout_add_seconds (10, timeout_cb, (gpointer) "the view to settle");
  while (!confab_markdown_view_is_settled (view))
    {
      wait_for_frame (GTK_WIDGET (view));
      g_assert_cmpint (gtk_widget_get_height (GTK_WIDGET (view)), ==, height);
    }
  g_source_remove (timeout_id);
  confab_markdown_view_get_built (view, &first_built, &n_built, &n_made);
  g_assert_cmpuint (n_made, >, n_shown);

  g_signal_handler_disconnect (clock, id);
  gtk_window_destroy (GTK_WINDOW (window));
  assert_no_logs ();
}

/* The first paragraph in the top half of what the scrolled window shows,
 * once everything between the window's top edge and it is made (whole
 * pages, one after the other, the paragraph not the first of its page), and
 * where it is; NULL while that is not so. */
static GtkWidget *
find_shown_block (ConfabMarkdownView *view,
                  GtkWidget          *scroller,
                  double             *y)
{
  double half = gtk_widget_get_height (scroller) / 2.0;
  double previous_bottom = -1;

  for (GtkWidget *page = gtk_widget_get_first_child (GTK_WIDGET (view));
       page != NULL;
       page = gtk_widget_get_next_sibling (page))
    {
      graphene_rect_t bounds;

      if (!gtk_widget_compute_bounds (page, scroller, &bounds) ||
          bounds.origin.y + bounds.size.height < 0)
        continue;
      if (bounds.origin.y >= half)
        break;

      /* The top edge, then pages that follow each other, all made */
      if ((previous_bottom < 0 && bounds.origin.y > 0) ||
          (previous_bottom >= 0 && bounds.origin.y > previous_bottom + 20) ||
          count_direct_children (page) < confab_markdown_view_get_blocks_per_page ())
        return NULL;
      previous_bottom = bounds.origin.y + bounds.size.height;

      for (GtkWidget *block = gtk_widget_get_first_child (page);
           block != NULL;
           block = gtk_widget_get_next_sibling (block))
        {
          if (GTK_IS_LABEL (block) &&
              gtk_widget_get_prev_sibling (block) != NULL &&
              gtk_widget_compute_bounds (block, scroller, &bounds) &&
              bounds.origin.y >= 0 && bounds.origin.y < half)
            {
              *y = bounds.origin.y;
              return block;
            }
        }
    }

  return NULL;
}

/* Blocks built at most (of these short blocks, some ten to a screen): near
 * what shows, a screen and a screen above and below it; kept, three screens
 * above and below. */
#define MAX_BUILT_NEAR 96
#define MAX_BUILT_KEPT 128

/* A long text given at once (1,200 paragraphs) in a scrolled window is parsed
 * once; only the pages near what shows are built, over several frames within
 * a budget per frame, and only those on screen are drawn. Scrolled, the
 * pages there are built and those far away thrown away, and what shows stays
 * where it is while pages above it are built in place of their estimates.
 * Flushed, it is as if made at once. */
static void
test_view_long_text_over_frames (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *scroller = gtk_scrolled_window_new ();
  ConfabMarkdownView *view = CONFAB_MARKDOWN_VIEW (confab_markdown_view_new ());
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller));
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *whole = NULL;
  g_autofree char *tree = NULL;
  g_autofree char *anchor_text = NULL;
  GtkWidget *anchor;
  double anchor_y, y;
  guint n_built_above = 0;
  guint timeout_id;
  guint renders;
  guint parses;
  guint n_blocks;
  guint first_built, n_built, n_made;
  guint first_drawn, n_drawn, n_pages;

  for (guint i = 0; i < 1200; i++)
    {
      g_string_append_printf (text, "Paragraph %u with *some* `inline` words.\n\n", i);
      if (i % 7 == 3)
        g_string_append_printf (text, "A longer paragraph %u, long enough to wrap over a few lines "
                                "in a window this narrow, so that estimates and real heights "
                                "differ from one page to the next.\n\n", i);
      if (i % 13 == 5)
        g_string_append_printf (text, "# Title %u\n\n", i);
      if (i % 17 == 8)
        g_string_append_printf (text, "| a | b |\n|---|---|\n| %u | x |\n| y | z |\n\n", i);
      if (i % 100 == 99)
        g_string_append_printf (text, "```c\nint block_%u (void) { return %u; }\n```\n\n", i, i);
    }
  whole = render_whole (text->str);
  {
    g_autoptr(ConfabMarkdownView) reference = new_view ();
    confab_markdown_view_set_text (reference, text->str);
    confab_markdown_view_flush (reference);
    g_autoptr(GPtrArray) blocks = list_blocks (reference);

    n_blocks = blocks->len;
  }

  /* Scrolled, as in a chat: the window must not grow to the text's height. */
  show_scrolled (window, scroller, view);

  renders = confab_markdown_view_get_render_count (view);
  parses = confab_markdown_view_get_parse_count (view);
  confab_markdown_view_set_text (view, text->str);

  /* Parsed in a thread (the text is long): the view changes when that is
   * done. Then the first frame made some blocks, far from all. */
  timeout_id = g_timeout_add_seconds (10, timeout_cb, (gpointer) "a render");
  while (confab_markdown_view_get_render_count (view) == renders)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (timeout_id);
  confab_markdown_view_get_built (view, &first_built, &n_built, &n_made);
  g_assert_cmpuint (n_made, ==, 0);

  wait_for_frame (GTK_WIDGET (view));
  confab_markdown_view_get_built (view, &first_built, &n_built, &n_made);
  g_assert_cmpuint (n_made, >, 0);
  g_assert_cmpuint (n_made, <, n_blocks / 10);

  /* At the top: the first pages are built, the others are not. */
  wait_settled (view);
  g_assert_cmpuint (confab_markdown_view_get_parse_count (view), ==, parses + 1);
  confab_markdown_view_get_built (view, &first_built, &n_built, &n_made);
  confab_markdown_view_get_drawn_pages (view, &first_drawn, &n_drawn, &n_pages);
  g_assert_cmpuint (n_pages, >, 20);
  g_assert_cmpuint (first_built, ==, 0);
  g_assert_cmpuint (n_built, >=, 1);
  g_assert_cmpuint (n_made, <=, MAX_BUILT_NEAR);
  g_assert_cmpuint (n_made, <, n_blocks / 10);
  wait_for_frame (GTK_WIDGET (view));
  confab_markdown_view_get_drawn_pages (view, &first_drawn, &n_drawn, &n_pages);
  g_assert_cmpuint (first_drawn, ==, 0);
  g_assert_cmpuint (n_drawn, >, 0);
  g_assert_cmpuint (n_drawn, <=, n_built);

  /* At the end: the last pages, and the first ones are gone. */
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment));
  wait_settled (view);
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment));
  wait_settled (view);
  confab_markdown_view_get_built (view, &first_built, &n_built, &n_made);
  g_assert_cmpuint (n_built, >=, 1);
  g_assert_cmpuint (n_made, <=, MAX_BUILT_NEAR);
  g_assert_cmpuint (first_built + n_built, ==, n_pages);
  g_assert_cmpuint (n_made, <, n_blocks / 10);
  /* The pages hidden to go were thrown away between frames: the view holds
   * the pages built and nothing else. */
  {
    guint n_children = 0;

    for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (view));
         child != NULL;
         child = gtk_widget_get_next_sibling (child))
      n_children++;
    g_assert_cmpuint (n_children, ==, n_built);
  }
  wait_for_frame (GTK_WIDGET (view));
  confab_markdown_view_get_drawn_pages (view, &first_drawn, &n_drawn, &n_pages);
  g_assert_cmpuint (n_drawn, >, 0);
  g_assert_cmpuint (first_drawn + n_drawn, ==, n_pages);

  /* In the middle, never built: once something shows, it stays where it is
   * while the pages around it are built. */
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment) / 2);
  for (guint step = 0; step < 12; step++)
    {
      graphene_rect_t bounds;
      guint first_before = G_MAXUINT;

      /* Up by a quarter of a screen at a time, into pages never built */
      if (step > 0)
        {
          confab_markdown_view_get_built (view, &first_before, &n_built, &n_made);
          gtk_adjustment_set_value (adjustment, gtk_adjustment_get_value (adjustment) -
                                                gtk_adjustment_get_page_size (adjustment) / 4);
        }
      /* What shows, once it held still for a frame (no scrolling back
       * under way) */
      wait_for_frame (window);
      timeout_id = g_timeout_add_seconds (10, timeout_cb, (gpointer) "a block in the middle");
      {
        GtkWidget *previous = NULL;
        double previous_y = 0;

        while ((anchor = find_shown_block (view, scroller, &anchor_y)) == NULL ||
               anchor != previous || anchor_y != previous_y)
          {
            previous = anchor;
            previous_y = anchor_y;
            wait_for_frame (window);
          }
      }
      g_source_remove (timeout_id);
      g_object_ref (anchor);
      g_free (anchor_text);
      anchor_text = g_strdup (gtk_label_get_text (GTK_LABEL (anchor)));

      wait_settled (view);
      confab_markdown_view_get_built (view, &first_built, &n_built, &n_made);
      g_assert_cmpuint (n_built, >=, 1);
      g_assert_cmpuint (n_made, <=, MAX_BUILT_KEPT);
      if (first_built < first_before)
        n_built_above++;

      g_assert_true (gtk_widget_get_parent (anchor) != NULL);
      g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (anchor)), ==, anchor_text);
      g_assert_true (gtk_widget_compute_bounds (anchor, scroller, &bounds));
      y = bounds.origin.y;
      g_assert_cmpfloat_with_epsilon (y, anchor_y, 1.5);
      g_object_unref (anchor);
    }
  /* Pages above what showed were built on the way. */
  g_assert_cmpuint (n_built_above, >, 0);

  /* All pages back to estimates and built again: what shows at the top
   * stays where it was. */
  wait_settled (view);
  anchor = find_shown_block (view, scroller, &anchor_y);
  g_assert_nonnull (anchor);
  g_free (anchor_text);
  anchor_text = g_strdup (gtk_label_get_text (GTK_LABEL (anchor)));
  confab_markdown_view_forget_pages (view);
  wait_settled (view);
  {
    g_autoptr(GPtrArray) blocks = list_blocks (view);
    graphene_rect_t bounds;

    anchor = NULL;
    for (guint i = 0; i < blocks->len && anchor == NULL; i++)
      if (GTK_IS_LABEL (blocks->pdata[i]) &&
          g_strcmp0 (gtk_label_get_text (blocks->pdata[i]), anchor_text) == 0)
        anchor = blocks->pdata[i];
    g_assert_nonnull (anchor);
    g_assert_true (gtk_widget_compute_bounds (anchor, scroller, &bounds));
    g_assert_cmpfloat_with_epsilon (bounds.origin.y, anchor_y, 1.5);
  }

  /* All of it, at once, is the text. */
  confab_markdown_view_flush (view);
  tree = serialize_view (view);
  g_assert_cmpstr (tree, ==, whole);

  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;

  assert_no_logs ();
}

/* The wheel over a code block or a table scrolls the conversation, not the
 * block (which only scrolls sideways). */
static void
wait_parses_dropped (ConfabMarkdownView *view,
                     guint               n)
{
  guint timeout_id = g_timeout_add_seconds (10, timeout_cb, (gpointer) "a parse in a thread to end");

  while (confab_markdown_view_get_n_dropped_parses (view) < n)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (timeout_id);
}

static void
wait_parsing (ConfabMarkdownView *view)
{
  guint timeout_id = g_timeout_add_seconds (10, timeout_cb, (gpointer) "a parse in a thread");

  while (!confab_markdown_view_is_parsing (view))
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (timeout_id);
}

/* A long text is parsed in a thread. The view then shows it as a parse on
 * the spot would; a result that comes after the text was replaced, or after
 * a flush, changes nothing; and a view destroyed meanwhile goes when the
 * thread is done. */
static void
test_view_thread_parse (void)
{
  const char *short_text = "A short *text* in its place.";
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *expected_long = NULL;
  g_autofree char *expected_short = NULL;
  g_autofree char *tree = NULL;
  GtkWidget *window = gtk_window_new ();
  GtkWidget *scroller = gtk_scrolled_window_new ();
  ConfabMarkdownView *view = CONFAB_MARKDOWN_VIEW (confab_markdown_view_new ());
  guint timeout_id;
  guint renders;

  for (guint i = 0; text->len < 100 * 1024; i++)
    g_string_append_printf (text, "Paragraph %u with **bold** text.\n\n- item %u\n- item\n\n", i, i);
  expected_long = render_whole (text->str);
  expected_short = render_whole (short_text);

  show_scrolled (window, scroller, view);

  /* In a thread, then as parsed on the spot */
  confab_markdown_view_set_text (view, text->str);
  wait_parsing (view);
  wait_settled (view);
  confab_markdown_view_flush (view);
  tree = serialize_view (view);
  g_assert_cmpstr (tree, ==, expected_long);
  g_assert_cmpuint (confab_markdown_view_get_n_dropped_parses (view), ==, 0);

  /* Replaced while parsing: the long text never shows. */
  confab_markdown_view_set_text (view, "");
  wait_settled (view);
  confab_markdown_view_set_text (view, text->str);
  wait_parsing (view);
  renders = confab_markdown_view_get_render_count (view);
  confab_markdown_view_set_text (view, short_text);
  wait_parses_dropped (view, 1);
  wait_settled (view);
  g_assert_cmpuint (confab_markdown_view_get_render_count (view), ==, renders + 1);
  g_clear_pointer (&tree, g_free);
  tree = serialize_view (view);
  g_assert_cmpstr (tree, ==, expected_short);

  /* Flushed while parsing: all of it at once, and the late result is
   * dropped. */
  confab_markdown_view_set_text (view, text->str);
  wait_parsing (view);
  confab_markdown_view_flush (view);
  g_clear_pointer (&tree, g_free);
  tree = serialize_view (view);
  g_assert_cmpstr (tree, ==, expected_long);
  renders = confab_markdown_view_get_render_count (view);
  wait_parses_dropped (view, 2);
  wait_settled (view);
  g_assert_cmpuint (confab_markdown_view_get_render_count (view), ==, renders);

  /* Destroyed while parsing */
  confab_markdown_view_set_text (view, short_text);
  wait_settled (view);
  confab_markdown_view_set_text (view, text->str);
  wait_parsing (view);
  g_object_add_weak_pointer (G_OBJECT (view), (gpointer *) &view);
  gtk_window_destroy (GTK_WINDOW (window));
  timeout_id = g_timeout_add_seconds (10, timeout_cb, (gpointer) "the view to go");
  while (view != NULL)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (timeout_id);
  assert_no_logs ();
}

/* A view given its full width whatever it asks reports its labels'
 * minimum width as their natural width (GtkLabel then does not lay the text
 * out unwrapped); one that is not reports the width of the text. */
static void
test_view_full_width (void)
{
  g_autoptr(ConfabMarkdownView) view = new_view ();
  GtkWidget *label;
  int min, nat;

  confab_markdown_view_set_text (view, "A paragraph long enough to be wider than twenty characters.\n\n"
                                       "# A heading, also long enough");
  confab_markdown_view_flush (view);

  label = first_block (view);
  g_assert_true (GTK_IS_LABEL (label));
  gtk_widget_measure (label, GTK_ORIENTATION_HORIZONTAL, -1, &min, &nat, NULL, NULL);
  g_assert_cmpint (nat, >, 2 * min);

  /* Turned on for the labels there */
  confab_markdown_view_set_full_width (view, TRUE);
  gtk_widget_measure (label, GTK_ORIENTATION_HORIZONTAL, -1, &min, &nat, NULL, NULL);
  g_assert_cmpint (nat, ==, min);
  gtk_widget_measure (last_block (view), GTK_ORIENTATION_HORIZONTAL, -1, &min, &nat, NULL, NULL);
  g_assert_cmpint (nat, ==, min);

  /* and for those made after */
  confab_markdown_view_set_text (view, "Another paragraph, as long as the first one was, or more.");
  confab_markdown_view_flush (view);
  gtk_widget_measure (first_block (view), GTK_ORIENTATION_HORIZONTAL, -1, &min, &nat, NULL, NULL);
  g_assert_cmpint (nat, ==, min);

  confab_markdown_view_set_full_width (view, FALSE);
  gtk_widget_measure (first_block (view), GTK_ORIENTATION_HORIZONTAL, -1, &min, &nat, NULL, NULL);
  g_assert_cmpint (nat, >, 2 * min);
  assert_no_logs ();
}

static void
test_view_scroll_passes_blocks (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *scroller = gtk_scrolled_window_new ();
  ConfabMarkdownView *view = CONFAB_MARKDOWN_VIEW (confab_markdown_view_new ());
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller));
  g_autoptr(GString) text = g_string_new (NULL);
  GtkWidget *inners[2];

  for (guint i = 0; i < 40; i++)
    g_string_append_printf (text, "Paragraph %u.\n\n", i);
  g_string_append (text, "```c\nint x;\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n");
  for (guint i = 0; i < 40; i++)
    g_string_append_printf (text, "Paragraph %u.\n\n", i);

  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), GTK_WIDGET (view));
  gtk_window_set_child (GTK_WINDOW (window), scroller);
  gtk_window_set_default_size (GTK_WINDOW (window), 600, 300);
  gtk_window_present (GTK_WINDOW (window));
  confab_markdown_view_set_text (view, text->str);
  confab_markdown_view_flush (view);
  wait_for_frame (window);

  /* The code block's scrolled window, and the table's */
  inners[0] = find_descendant (find_descendant (GTK_WIDGET (view), CONFAB_TYPE_CODE_BLOCK),
                               GTK_TYPE_SCROLLED_WINDOW);
  inners[1] = gtk_widget_get_ancestor (find_descendant (GTK_WIDGET (view), GTK_TYPE_GRID),
                                       GTK_TYPE_SCROLLED_WINDOW);
  g_assert_true (inners[1] != scroller);

  for (guint k = 0; k < G_N_ELEMENTS (inners); k++)
    {
      GtkWidget *inner = inners[k];
      GtkEventController *controller = NULL;
      g_autoptr(GListModel) controllers = NULL;
      gboolean handled = FALSE;
      double before;

      g_assert_true (GTK_IS_SCROLLED_WINDOW (inner));

      controllers = gtk_widget_observe_controllers (inner);
      for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
        {
          g_autoptr(GtkEventController) c = g_list_model_get_item (controllers, i);

          if (g_strcmp0 (gtk_event_controller_get_name (c), "confab-pass-vertical") == 0)
            {
              g_assert_true (GTK_IS_EVENT_CONTROLLER_SCROLL (c));
              g_assert_cmpint (gtk_event_controller_get_propagation_phase (c), ==, GTK_PHASE_CAPTURE);
              controller = c;
            }
        }
      g_assert_nonnull (controller);

      /* Down two clicks: the page around moves, the block keeps the event. */
      gtk_adjustment_set_value (adjustment, 100);
      before = gtk_adjustment_get_value (adjustment);
      g_signal_emit_by_name (controller, "scroll", 0.0, 2.0, &handled);
      g_assert_true (handled);
      g_assert_cmpfloat (gtk_adjustment_get_value (adjustment), >, before);

      /* Sideways: left to the block. */
      before = gtk_adjustment_get_value (adjustment);
      handled = TRUE;
      g_signal_emit_by_name (controller, "scroll", 3.0, 0.0, &handled);
      g_assert_false (handled);
      g_assert_cmpfloat (gtk_adjustment_get_value (adjustment), ==, before);
    }

  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;

  assert_no_logs ();
}

/* Code blocks */

typedef struct
{
  GString *inserted;
  guint    n_inserts;
} InsertLog;

static void
insert_text_cb (GtkTextBuffer *buffer,
                GtkTextIter   *location,
                const char    *text,
                int            len,
                InsertLog     *log)
{
  g_string_append_len (log->inserted, text, len);
  log->n_inserts++;
}

static void
clipboard_read_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  char **text = user_data;
  g_autoptr(GError) error = NULL;

  *text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (source), result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (*text);
}

static char *
numbered_lines (guint n)
{
  GString *code = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    g_string_append_printf (code, "x%u = %u\n", i, i);

  return g_string_free (code, FALSE);
}

/* A code block shows its code highlighted in a label; long code, in a
 * GtkSourceView that takes more by inserting only the new text. */
static void
test_code_block (void)
{
  ConfabCodeBlock *block = g_object_ref_sink (CONFAB_CODE_BLOCK (confab_code_block_new ()));
  GtkWidget *scroller = find_descendant (GTK_WIDGET (block), GTK_TYPE_SCROLLED_WINDOW);
  GtkWidget *button = find_descendant (GTK_WIDGET (block), GTK_TYPE_BUTTON);
  g_autofree char *long_code = numbered_lines (100);
  g_autofree char *longer_code = g_strconcat (long_code, "def f():\n    return 1\n", NULL);
  GtkWidget *view;
  GtkWidget *label;
  GtkSourceBuffer *buffer;
  InsertLog log = { g_string_new (NULL), 0 };
  g_autofree char *text = NULL;
  char *copied = NULL;
  GtkPolicyType hpolicy, vpolicy;
  guint timeout_id;

  gtk_scrolled_window_get_policy (GTK_SCROLLED_WINDOW (scroller), &hpolicy, &vpolicy);
  g_assert_cmpint (hpolicy, ==, GTK_POLICY_AUTOMATIC);
  g_assert_cmpint (vpolicy, ==, GTK_POLICY_NEVER);
  g_assert_true (gtk_scrolled_window_get_propagate_natural_height (GTK_SCROLLED_WINDOW (scroller)));
  g_assert_cmpstr (gtk_button_get_icon_name (GTK_BUTTON (button)), ==, "edit-copy-symbolic");
  g_assert_cmpstr (gtk_widget_get_tooltip_text (button), ==, "Copy");

  /* Short code: a label, highlighted (a keyword in a colour of its own) */
  g_assert_false (confab_code_block_get_growing (block));
  confab_code_block_set_code (block, "py", "def f():\n");
  g_assert_null (confab_code_block_get_text_view (block));
  label = code_label (GTK_WIDGET (block));
  g_assert_nonnull (label);
  text = buffer_text (GTK_WIDGET (block));
  g_assert_cmpstr (text, ==, "def f():");
  g_assert_true (g_str_has_prefix (gtk_label_get_label (GTK_LABEL (label)), "<span foreground=\"#"));
  g_assert_nonnull (strstr (gtk_label_get_label (GTK_LABEL (label)), ">def</span>"));

  /* Growing, it stays a label while short, made again as it grows */
  confab_code_block_set_growing (block, TRUE);
  confab_code_block_set_code (block, "py", "def f():\n    return 1\n");
  g_assert_null (confab_code_block_get_text_view (block));
  g_assert_true (code_label (GTK_WIDGET (block)) == label);
  g_clear_pointer (&text, g_free);
  text = buffer_text (GTK_WIDGET (block));
  g_assert_cmpstr (text, ==, "def f():\n    return 1");
  g_assert_nonnull (strstr (gtk_label_get_label (GTK_LABEL (label)), ">return</span>"));

  /* Long and growing: a view, that takes new text by inserting it */
  confab_code_block_set_code (block, "py", long_code);
  view = confab_code_block_get_text_view (block);
  g_assert_nonnull (view);
  g_assert_null (code_label (GTK_WIDGET (block)));
  buffer = GTK_SOURCE_BUFFER (gtk_text_view_get_buffer (GTK_TEXT_VIEW (view)));
  g_assert_false (gtk_text_view_get_editable (GTK_TEXT_VIEW (view)));
  g_assert_true (gtk_text_view_get_monospace (GTK_TEXT_VIEW (view)));
  g_assert_cmpint (gtk_text_view_get_wrap_mode (GTK_TEXT_VIEW (view)), ==, GTK_WRAP_NONE);
  g_assert_cmpstr (gtk_source_language_get_id (gtk_source_buffer_get_language (buffer)), ==, "python3");

  g_signal_connect (buffer, "insert-text", G_CALLBACK (insert_text_cb), &log);
  confab_code_block_set_code (block, "py", longer_code);
  g_assert_cmpstr (log.inserted->str, ==, "\ndef f():\n    return 1");
  g_assert_cmpuint (log.n_inserts, ==, 1);

  /* The same code again touches nothing. */
  confab_code_block_set_code (block, "py", longer_code);
  g_assert_cmpuint (log.n_inserts, ==, 1);

  /* Finished, under 400 lines: a label shows the same code, highlighted as
   * the view had it. */
  confab_code_block_set_growing (block, FALSE);
  g_assert_null (confab_code_block_get_text_view (block));
  label = code_label (GTK_WIDGET (block));
  g_assert_nonnull (label);
  g_clear_pointer (&text, g_free);
  text = buffer_text (GTK_WIDGET (block));
  g_assert_true (g_str_has_suffix (text, "x99 = 99\ndef f():\n    return 1"));
  g_assert_nonnull (strstr (gtk_label_get_label (GTK_LABEL (label)), ">def</span>"));

  /* Something else replaces it. */
  confab_code_block_set_code (block, "py", "x = 2\n");
  g_clear_pointer (&text, g_free);
  text = buffer_text (GTK_WIDGET (block));
  g_assert_cmpstr (text, ==, "x = 2");
  g_assert_cmpstr (confab_code_block_get_code (block), ==, "x = 2\n");

  /* Copy puts the shown code on the clipboard and says so. */
  confab_code_block_copy (block);
  g_assert_cmpstr (gtk_button_get_icon_name (GTK_BUTTON (button)), ==, "object-select-symbolic");
  gdk_clipboard_read_text_async (gtk_widget_get_clipboard (GTK_WIDGET (block)), NULL,
                                 clipboard_read_cb, &copied);
  timeout_id = g_timeout_add_seconds (10, timeout_cb, (gpointer) "the clipboard");
  while (copied == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (timeout_id);
  g_assert_cmpstr (copied, ==, "x = 2");
  g_free (copied);

  g_string_free (log.inserted, TRUE);
  g_assert_finalize_object (block);
  assert_no_logs ();
}

/* Code that is not highlighted shows as it is, markup and all; very long
 * code stays in a view, which lays out only the lines that show. */
static void
test_code_block_plain (void)
{
  ConfabCodeBlock *block = g_object_ref_sink (CONFAB_CODE_BLOCK (confab_code_block_new ()));
  g_autoptr(GString) long_code = g_string_new (NULL);
  g_autofree char *text = NULL;

  confab_code_block_set_code (block, "text", "<span foreground=\"red\">x</span> & <b>\n");
  text = buffer_text (GTK_WIDGET (block));
  g_assert_cmpstr (text, ==, "<span foreground=\"red\">x</span> & <b>");
  g_assert_cmpstr (gtk_label_get_label (GTK_LABEL (code_label (GTK_WIDGET (block)))), ==,
                   "&lt;span foreground=&quot;red&quot;&gt;x&lt;/span&gt; &amp; &lt;b&gt;");

  for (guint i = 0; i < 1000; i++)
    g_string_append_printf (long_code, "line %u\n", i);
  /* Finished code over 400 lines stays in a view. */
  confab_code_block_set_code (block, "text", long_code->str);
  g_assert_nonnull (confab_code_block_get_text_view (block));
  g_clear_pointer (&text, g_free);
  text = buffer_text (GTK_WIDGET (block));
  g_assert_cmpuint (strlen (text), ==, long_code->len - 1);

  confab_code_block_set_code (block, "c", "int x;\n");
  g_assert_null (confab_code_block_get_text_view (block));
  g_clear_pointer (&text, g_free);
  text = buffer_text (GTK_WIDGET (block));
  g_assert_cmpstr (text, ==, "int x;");

  g_assert_finalize_object (block);
  assert_no_logs ();
}

/* A line of 100 KB (minified code) shows in one label, scrolled sideways,
 * drawn without complaint. */
static void
test_code_block_long_line (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *block = confab_code_block_new ();
  GtkWidget *scroller = find_descendant (block, GTK_TYPE_SCROLLED_WINDOW);
  g_autoptr(GString) line = g_string_new (NULL);
  GtkAdjustment *hadjustment;

  while (line->len < 100 * 1024)
    g_string_append (line, "var a=function(b){return b*2};");
  g_string_append_c (line, '\n');

  confab_code_block_set_code (CONFAB_CODE_BLOCK (block), "js", line->str);
  gtk_window_set_child (GTK_WINDOW (window), block);
  gtk_window_set_default_size (GTK_WINDOW (window), 600, 300);
  gtk_window_present (GTK_WINDOW (window));
  wait_for_frame (block);
  wait_for_frame (block);

  g_assert_null (confab_code_block_get_text_view (CONFAB_CODE_BLOCK (block)));
  hadjustment = gtk_scrolled_window_get_hadjustment (GTK_SCROLLED_WINDOW (scroller));
  g_assert_cmpfloat (gtk_adjustment_get_upper (hadjustment), >, 100000);
  g_assert_cmpfloat (gtk_adjustment_get_page_size (hadjustment), <, 700);
  gtk_adjustment_set_value (hadjustment, gtk_adjustment_get_upper (hadjustment));
  wait_for_frame (block);

  /* The same line streaming in: highlighted until it grows too long */
  confab_code_block_set_code (CONFAB_CODE_BLOCK (block), "js", "");
  confab_code_block_set_growing (CONFAB_CODE_BLOCK (block), TRUE);
  for (gsize end = 1024; end < line->len; end += 32 * 1024)
    {
      g_autofree char *part = g_strndup (line->str, end);

      confab_code_block_set_code (CONFAB_CODE_BLOCK (block), "js", part);
      wait_for_frame (block);
    }
  confab_code_block_set_code (CONFAB_CODE_BLOCK (block), "js", line->str);
  confab_code_block_set_growing (CONFAB_CODE_BLOCK (block), FALSE);
  wait_for_frame (block);
  g_assert_null (strstr (gtk_label_get_label (GTK_LABEL (code_label (block))), "<span"));

  gtk_window_destroy (GTK_WINDOW (window));
  assert_no_logs ();
}

static void
test_code_block_languages (void)
{
  static const struct {
    const char *fence;
    const char *id;
  } cases[] = {
    { "js", "js" }, { "javascript", "js" }, { "ts", "typescript" }, { "py", "python3" },
    { "Python", "python3" }, { "sh", "sh" }, { "bash", "sh" }, { "shell", "sh" },
    { "c++", "cpp" }, { "cpp", "cpp" }, { "rs", "rust" }, { "rust", "rust" },
    { "yml", "yaml" }, { "md", "markdown" }, { "c", "c" }, { "go", "go" }, { "java", "java" },
    { "json", "json" }, { "html", "html" }, { "diff", "diff" }, { "cs", "c-sharp" },
    { "rb", "ruby" }, { "toml", "toml" }, { "sql", "sql" }, { "kt", "kotlin" },
    { "", NULL }, { "text", NULL }, { "no-such-language", NULL }, { "../../etc", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      ConfabCodeBlock *block = g_object_ref_sink (CONFAB_CODE_BLOCK (confab_code_block_new ()));

      confab_code_block_set_code (block, cases[i].fence, "x\n");
      g_test_message ("%s", cases[i].fence);
      g_assert_cmpstr (confab_code_block_get_language_id (block), ==, cases[i].id);
      g_assert_cmpstr (confab_code_block_get_language (block), ==, cases[i].fence);

      g_assert_finalize_object (block);
    }

  assert_no_logs ();
}

static void
test_code_block_dark (void)
{
  AdwStyleManager *manager = adw_style_manager_get_default ();
  ConfabCodeBlock *growing = g_object_ref_sink (CONFAB_CODE_BLOCK (confab_code_block_new ()));
  ConfabCodeBlock *finished = g_object_ref_sink (CONFAB_CODE_BLOCK (confab_code_block_new ()));
  g_autofree char *long_code = numbered_lines (100);
  GtkSourceBuffer *buffer;
  GtkLabel *label;
  g_autofree char *light = NULL;

  confab_code_block_set_growing (growing, TRUE);
  confab_code_block_set_code (growing, "py", long_code);
  buffer = GTK_SOURCE_BUFFER (gtk_text_view_get_buffer (GTK_TEXT_VIEW (confab_code_block_get_text_view (growing))));
  confab_code_block_set_code (finished, "c", "int main (void) { return 0; }\n");
  label = GTK_LABEL (code_label (GTK_WIDGET (finished)));

  adw_style_manager_set_color_scheme (manager, ADW_COLOR_SCHEME_FORCE_LIGHT);
  light = g_strdup (gtk_label_get_label (label));

  adw_style_manager_set_color_scheme (manager, ADW_COLOR_SCHEME_FORCE_DARK);
  g_assert_true (adw_style_manager_get_dark (manager));
  g_assert_cmpstr (gtk_source_style_scheme_get_id (gtk_source_buffer_get_style_scheme (buffer)),
                   ==, "Adwaita-dark");
  /* The label's colours change with the scheme. */
  g_assert_true (GTK_LABEL (code_label (GTK_WIDGET (finished))) == label);
  g_assert_cmpstr (gtk_label_get_text (label), ==, "int main (void) { return 0; }");
  g_assert_cmpstr (gtk_label_get_label (label), !=, light);

  adw_style_manager_set_color_scheme (manager, ADW_COLOR_SCHEME_FORCE_LIGHT);
  g_assert_cmpstr (gtk_source_style_scheme_get_id (gtk_source_buffer_get_style_scheme (buffer)),
                   ==, "Adwaita");
  g_assert_cmpstr (gtk_label_get_label (label), ==, light);

  adw_style_manager_set_color_scheme (manager, ADW_COLOR_SCHEME_DEFAULT);
  g_assert_finalize_object (growing);
  g_assert_finalize_object (finished);
  assert_no_logs ();
}

/* The markup a code block made with @code shows */
static char *
made_markup (const char *language,
             const char *code)
{
  ConfabCodeBlock *block = g_object_ref_sink (CONFAB_CODE_BLOCK (confab_code_block_new ()));
  char *markup;

  confab_code_block_set_code (block, language, code);
  markup = g_strdup (gtk_label_get_label (GTK_LABEL (code_label (GTK_WIDGET (block)))));
  g_assert_finalize_object (block);

  return markup;
}

/* Code highlighted ahead of its block's making is what the block shows, in
 * the colours of the style at the making; code that would not be
 * highlighted is not; only the latest few wait. */
static void
test_code_block_prepared (void)
{
  AdwStyleManager *manager = adw_style_manager_get_default ();
  const char *code = "int main (void) { return 0; }\n";
  g_autofree char *light = NULL;
  g_autofree char *dark = NULL;
  g_autofree char *markup = NULL;
  g_autofree char *long_code = numbered_lines (500);
  g_autoptr(GString) long_line = g_string_new (NULL);
  guint n_waiting, n_taken, waiting, taken;

  adw_style_manager_set_color_scheme (manager, ADW_COLOR_SCHEME_FORCE_DARK);
  dark = made_markup ("c", code);
  adw_style_manager_set_color_scheme (manager, ADW_COLOR_SCHEME_FORCE_LIGHT);
  light = made_markup ("c", code);
  g_assert_cmpstr (light, !=, dark);
  g_assert_nonnull (strstr (light, "<span"));

  confab_code_block_get_prepared (&n_waiting, &n_taken);
  confab_code_block_prepare_code ("c", code);
  confab_code_block_get_prepared (&waiting, &taken);
  g_assert_cmpuint (waiting, ==, n_waiting + 1);
  markup = made_markup ("c", code);
  g_assert_cmpstr (markup, ==, light);
  confab_code_block_get_prepared (&waiting, &taken);
  g_assert_cmpuint (waiting, ==, n_waiting);
  g_assert_cmpuint (taken, ==, n_taken + 1);

  /* Prepared in light colours, made in dark ones */
  confab_code_block_prepare_code ("c", code);
  adw_style_manager_set_color_scheme (manager, ADW_COLOR_SCHEME_FORCE_DARK);
  g_clear_pointer (&markup, g_free);
  markup = made_markup ("c", code);
  g_assert_cmpstr (markup, ==, dark);
  confab_code_block_get_prepared (&waiting, &taken);
  g_assert_cmpuint (taken, ==, n_taken + 1);
  adw_style_manager_set_color_scheme (manager, ADW_COLOR_SCHEME_FORCE_LIGHT);

  /* Not highlighted: no language, code for a view, a line too long */
  while (long_line->len < 4096)
    g_string_append (long_line, "var a=function(b){return b*2};");
  confab_code_block_get_prepared (&n_waiting, &n_taken);
  confab_code_block_prepare_code ("text", code);
  confab_code_block_prepare_code (NULL, code);
  confab_code_block_prepare_code ("c", long_code);
  confab_code_block_prepare_code ("js", long_line->str);
  confab_code_block_get_prepared (&waiting, &taken);
  g_assert_cmpuint (waiting, ==, n_waiting);

  /* The latest few wait, the oldest go. */
  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *numbered = g_strdup_printf ("int f%u (void);\n", i);

      confab_code_block_prepare_code ("c", numbered);
    }
  confab_code_block_get_prepared (&n_waiting, &n_taken);
  g_assert_cmpuint (n_waiting, <=, 8);
  g_clear_pointer (&markup, g_free);
  markup = made_markup ("c", "int f0 (void);\n");
  confab_code_block_get_prepared (&waiting, &taken);
  g_assert_cmpuint (taken, ==, n_taken);
  g_clear_pointer (&markup, g_free);
  markup = made_markup ("c", "int f19 (void);\n");
  confab_code_block_get_prepared (&waiting, &taken);
  g_assert_cmpuint (taken, ==, n_taken + 1);

  adw_style_manager_set_color_scheme (manager, ADW_COLOR_SCHEME_DEFAULT);
  assert_no_logs ();
}

/* A reply of many code blocks that arrived at once is made over frames;
 * between them the next code blocks are highlighted, and the blocks made
 * later take that: once settled, nothing prepared is left waiting, and
 * each block shows its code as one made at once does. */
static void
test_view_code_prepared (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *scroller = gtk_scrolled_window_new ();
  ConfabMarkdownView *view = CONFAB_MARKDOWN_VIEW (confab_markdown_view_new ());
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GPtrArray) blocks = NULL;
  guint n_waiting, n_taken, waiting, taken;
  guint n_code = 0;

  for (guint i = 0; i < 24; i++)
    {
      g_string_append_printf (text, "Function %u:\n\n```c\n", i);
      for (guint j = 0; j < 4; j++)
        g_string_append_printf (text, "int f%u_%u (int x) { return x * %u; }\n", i, j, j);
      g_string_append (text, "```\n\n");
    }

  confab_code_block_get_prepared (&n_waiting, &n_taken);
  show_scrolled (window, scroller, view);
  confab_markdown_view_set_text (view, text->str);
  wait_settled (view);

  confab_code_block_get_prepared (&waiting, &taken);
  g_assert_cmpuint (taken, >, n_taken);
  g_assert_cmpuint (waiting, ==, n_waiting);

  blocks = list_blocks (view);
  for (guint i = 0; i < blocks->len; i++)
    {
      ConfabCodeBlock *block;
      g_autofree char *markup = NULL;

      if (!CONFAB_IS_CODE_BLOCK (blocks->pdata[i]))
        continue;
      block = blocks->pdata[i];
      markup = made_markup ("c", confab_code_block_get_code (block));
      g_assert_cmpstr (gtk_label_get_label (GTK_LABEL (code_label (GTK_WIDGET (block)))), ==, markup);
      n_code++;
    }
  g_assert_cmpuint (n_code, >, 4);

  gtk_window_destroy (GTK_WINDOW (window));
  assert_no_logs ();
}

/* Laying out the warm-up sample, part by part, logs nothing and ends. */
static void
test_view_warm_up (void)
{
  guint part = 0;

  while (confab_markdown_view_warm_up (part))
    {
      part++;
      g_assert_cmpuint (part, <, 100);
    }
  g_assert_cmpuint (part, >=, 4);
  g_assert_false (confab_markdown_view_warm_up (part + 1));
  assert_no_logs ();
}

static void
load_css (void)
{
  g_autoptr(GtkCssProvider) provider = NULL;

  if (!g_resources_get_info (CSS_RESOURCE, 0, NULL, NULL, NULL))
    return;

  provider = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (provider, CSS_RESOURCE);
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GPtrArray) fixtures = NULL;

  g_log_set_writer_func (log_writer, NULL, NULL);
  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  adw_init ();
  load_css ();

  g_test_add_func ("/markdown/parse/basics", test_parse_basics);
  g_test_add_func ("/markdown/parse/quotes", test_parse_quotes);
  g_test_add_func ("/markdown/parse/lists", test_parse_lists);
  g_test_add_func ("/markdown/parse/table", test_parse_table);
  g_test_add_func ("/markdown/parse/code", test_parse_code);
  g_test_add_func ("/markdown/parse/unclosed-fence", test_parse_unclosed_fence);
  g_test_add_func ("/markdown/parse/escaping", test_parse_escaping);
  g_test_add_func ("/markdown/parse/garbage", test_parse_garbage);
  g_test_add_func ("/markdown/parse/stable-length", test_parse_stable_length);
  g_test_add_func ("/markdown/parse/split-equivalence", test_parse_split_equivalence);

  fixtures = list_markdown_fixtures ();
  for (guint i = 0; i < fixtures->len; i++)
    {
      const char *name = fixtures->pdata[i];
      g_autofree char *path = g_strdup_printf ("/markdown/view/fixture/%s", name + strlen ("markdown/"));

      g_test_add_data_func (path, name, test_view_fixture);
    }

  g_test_add_func ("/markdown/view/escaping", test_view_escaping);
  g_test_add_func ("/markdown/view/links", test_view_links);
  g_test_add_func ("/markdown/view/edit-rebuilds", test_view_edit_rebuilds);
  g_test_add_func ("/markdown/view/parse-paths", test_view_parse_paths);
  g_test_add_func ("/markdown/view/streaming", test_view_streaming);
  g_test_add_func ("/markdown/view/streaming-references", test_view_streaming_references);
  g_test_add_func ("/markdown/view/frozen-kept", test_view_frozen_kept);
  g_test_add_func ("/markdown/view/one-render-per-frame", test_view_one_render_per_frame);
  g_test_add_func ("/markdown/view/long-text-over-frames", test_view_long_text_over_frames);
  g_test_add_func ("/markdown/view/streaming-end-first", test_view_streaming_end_first);
  g_test_add_func ("/markdown/view/grown-at-end", test_view_grown_at_end);
  g_test_add_func ("/markdown/view/built-above-in-place", test_view_built_above_in_place);
  g_test_add_func ("/markdown/view/list-across-pages", test_view_list_across_pages);
  g_test_add_func ("/markdown/view/scroll-passes-blocks", test_view_scroll_passes_blocks);
  g_test_add_func ("/markdown/view/thread-parse", test_view_thread_parse);
  g_test_add_func ("/markdown/view/full-width", test_view_full_width);
  g_test_add_func ("/markdown/view/pages", test_view_pages);
  g_test_add_func ("/markdown/view/warm-up", test_view_warm_up);
  g_test_add_func ("/markdown/code-block/basics", test_code_block);
  g_test_add_func ("/markdown/code-block/plain", test_code_block_plain);
  g_test_add_func ("/markdown/code-block/long-line", test_code_block_long_line);
  g_test_add_func ("/markdown/code-block/languages", test_code_block_languages);
  g_test_add_func ("/markdown/code-block/dark", test_code_block_dark);
  g_test_add_func ("/markdown/code-block/prepared", test_code_block_prepared);
  g_test_add_func ("/markdown/view/code-prepared", test_view_code_prepared);

  return g_test_run ();
}
