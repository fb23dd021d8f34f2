/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-markdown"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <md4c.h>

#include "confab-markdown.h"

#define REPLACEMENT_CHAR "\xEF\xBF\xBD"

/* GitHub's dialect, but raw HTML stays text. */
#define PARSER_FLAGS (MD_DIALECT_GITHUB | MD_FLAG_NOHTML)

struct _ConfabMarkdownBlock
{
  ConfabMarkdownBlockKind   kind;
  ConfabMarkdownListMarker  marker;

  char                     *markup;     /* text blocks */
  char                     *code;       /* code blocks */
  char                     *language;   /* code blocks, never NULL there */
  char                    **cells;      /* tables: n_rows × n_columns markup */
  ConfabMarkdownAlign      *aligns;     /* tables: n_columns */

  gsize                     offset;
  guint                     level;
  guint                     list_depth;
  guint                     quote_depth;
  guint                     number;
  guint                     n_rows;
  guint                     n_columns;
  guint                     n_header_rows;

  guint                     fenced : 1;
  guint                     has_links : 1;
  guint                     has_offset : 1;
};

struct _ConfabMarkdownDoc
{
  gatomicrefcount  ref_count;
  GPtrArray       *blocks;
  gsize            stable_length;
  guint            n_stable_blocks;
  guint            next_number;
};

/* A top-level block, or an item of a top-level list: the units the text can
 * be split into while it grows. */
typedef struct
{
  const char   *first_text;   /* first piece of source text seen inside it */
  guint         first_block;  /* index of its first block */
  guint         number;       /* ordered list items */
  MD_BLOCKTYPE  type;
  char          fence_char;
  guint         ordered : 1;
} Unit;

typedef struct
{
  guint start;
  guint index;
  char  delimiter;
  guint ordered : 1;
} ListFrame;

typedef struct
{
  const char          *text;
  gsize                len;

  GPtrArray           *blocks;
  GArray              *units;
  GArray              *lists;        /* ListFrame */
  GString             *containers;   /* 'q' for quotes, 'l' for lists, innermost last */
  GString             *spans;        /* the closing tag of each open span, one letter */

  /* The block receiving text, and its text so far. */
  ConfabMarkdownBlock *cur;
  GString             *buf;

  /* Tables */
  ConfabMarkdownBlock *table;
  GPtrArray           *cells;
  GArray              *aligns;
  GString             *cell;
  guint                row_cells;

  guint                depth;        /* open blocks, the document excluded */
  guint                quote_depth;
  guint                link_depth;
  guint                first_number;

  guint                item_fresh : 1;   /* cur is a list item holding only its marker */
  guint                merge_quote : 1;  /* the last block is a quote paragraph to extend */
  guint                first_number_used : 1;
} Parser;

static inline gboolean
is_break (char c)
{
  return c == '\n' || c == '\r';
}

/* Pango markup escaping that also cleans up what GMarkup would reject. */
void
confab_markdown_escape_append (GString    *out,
                               const char *text,
                               gsize       len)
{
  const char *p = text;
  const char *end = text + len;
  const char *run = p;

  g_return_if_fail (out != NULL);
  g_return_if_fail (text != NULL || len == 0);

  while (p < end)
    {
      guchar c = (guchar) *p;
      const char *rep = NULL;
      gsize step = 1;

      if (c < 0x80)
        {
          switch (c)
            {
            case '&': rep = "&amp;"; break;
            case '<': rep = "&lt;"; break;
            case '>': rep = "&gt;"; break;
            case '"': rep = "&quot;"; break;
            case '\'': rep = "&#39;"; break;
            case '\t':
            case '\n':
              break;
            case '\r':
              rep = "";
              break;
            default:
              if (c < 0x20 || c == 0x7f)
                rep = REPLACEMENT_CHAR;
              break;
            }
        }
      else
        {
          gunichar ch = g_utf8_get_char_validated (p, end - p);

          if (ch == (gunichar) -1 || ch == (gunichar) -2)
            rep = REPLACEMENT_CHAR;
          else
            {
              step = g_utf8_next_char (p) - p;
              /* C1 controls and non-characters upset some consumers. */
              if (ch < 0xa0 || ch == 0xfffe || ch == 0xffff)
                rep = REPLACEMENT_CHAR;
            }
        }

      if (rep != NULL)
        {
          g_string_append_len (out, run, p - run);
          g_string_append (out, rep);
          p += step;
          run = p;
        }
      else
        p += step;
    }

  g_string_append_len (out, run, p - run);
}

static char *
make_valid (const char *text,
            gsize       len)
{
  const char *end;

  if (g_utf8_validate (text, len, &end) && memchr (text, '\0', len) == NULL)
    return g_strndup (text, len);

  return g_utf8_make_valid (text, len);
}

gboolean
confab_markdown_uri_is_safe (const char *uri)
{
  g_return_val_if_fail (uri != NULL, FALSE);

  return g_ascii_strncasecmp (uri, "http://", 7) == 0 ||
         g_ascii_strncasecmp (uri, "https://", 8) == 0 ||
         g_ascii_strncasecmp (uri, "mailto:", 7) == 0;
}

static char *
attribute_dup (const MD_ATTRIBUTE *attr)
{
  if (attr == NULL || attr->text == NULL || attr->size == 0)
    return g_strdup ("");

  return make_valid (attr->text, attr->size);
}

/* Blocks */

static ConfabMarkdownBlock *
block_new (Parser                  *p,
           ConfabMarkdownBlockKind  kind)
{
  ConfabMarkdownBlock *block = g_new0 (ConfabMarkdownBlock, 1);

  block->kind = kind;
  block->list_depth = p->lists->len;
  block->quote_depth = p->quote_depth;

  return block;
}

void
confab_markdown_block_free (ConfabMarkdownBlock *block)
{
  if (block == NULL)
    return;

  g_free (block->markup);
  g_free (block->code);
  g_free (block->language);
  g_strfreev (block->cells);
  g_free (block->aligns);
  g_free (block);
}

ConfabMarkdownBlock *
confab_markdown_block_copy (const ConfabMarkdownBlock *block)
{
  ConfabMarkdownBlock *copy;

  g_return_val_if_fail (block != NULL, NULL);

  copy = g_memdup2 (block, sizeof *block);
  copy->markup = g_strdup (block->markup);
  copy->code = g_strdup (block->code);
  copy->language = g_strdup (block->language);
  copy->cells = g_strdupv (block->cells);
  if (block->aligns != NULL)
    copy->aligns = g_memdup2 (block->aligns, sizeof (ConfabMarkdownAlign) * block->n_columns);

  return copy;
}

static void
push_block (Parser              *p,
            ConfabMarkdownBlock *block)
{
  if (!block->has_offset)
    {
      /* Blocks without text of their own (rules, empty items) take the
       * position of what came before them. */
      if (p->blocks->len > 0)
        {
          const ConfabMarkdownBlock *prev = g_ptr_array_index (p->blocks, p->blocks->len - 1);
          block->offset = prev->offset;
        }
      block->has_offset = TRUE;
    }

  g_ptr_array_add (p->blocks, block);
}

static void
close_spans (Parser  *p,
             GString *out);

static void
finish_cur (Parser *p)
{
  ConfabMarkdownBlock *block = p->cur;

  p->item_fresh = FALSE;
  p->merge_quote = FALSE;

  if (block == NULL)
    return;

  p->cur = NULL;

  if (block->kind == CONFAB_MARKDOWN_BLOCK_CODE)
    {
      block->code = make_valid (p->buf->str, p->buf->len);
    }
  else
    {
      close_spans (p, p->buf);
      block->markup = g_strndup (p->buf->str, p->buf->len);
    }

  g_string_truncate (p->buf, 0);
  push_block (p, block);
}

static void
open_text_block (Parser                  *p,
                 ConfabMarkdownBlockKind  kind)
{
  finish_cur (p);
  p->cur = block_new (p, kind);
  g_string_truncate (p->buf, 0);
}

static gboolean
innermost_is_quote (Parser *p)
{
  return p->containers->len > 0 && p->containers->str[p->containers->len - 1] == 'q';
}

/* Text that arrives outside any block we opened, e.g. a tight list item's
 * text after a nested list. */
static void
ensure_text_block (Parser *p)
{
  if (p->cur != NULL)
    return;

  open_text_block (p, innermost_is_quote (p) ? CONFAB_MARKDOWN_BLOCK_QUOTE
                                            : CONFAB_MARKDOWN_BLOCK_PARAGRAPH);
}

static void
start_unit (Parser       *p,
            MD_BLOCKTYPE  type,
            void         *detail)
{
  Unit unit = { 0, };

  unit.type = type;
  unit.first_block = p->blocks->len;

  if (type == MD_BLOCK_CODE)
    unit.fence_char = ((MD_BLOCK_CODE_DETAIL *) detail)->fence_char;

  g_array_append_val (p->units, unit);
}

static void
note_text (Parser     *p,
           const char *text,
           gsize       size)
{
  ConfabMarkdownBlock *target;
  const char *line;
  Unit *unit;

  if (size == 0 || text < p->text || text >= p->text + p->len)
    return;

  if (p->units->len > 0)
    {
      unit = &g_array_index (p->units, Unit, p->units->len - 1);
      if (unit->first_text == NULL)
        unit->first_text = text;
    }

  target = p->cell != NULL ? p->table : p->cur;
  if (target != NULL && !target->has_offset)
    {
      line = text;
      while (line > p->text && !is_break (line[-1]))
        line--;
      /* A fence is the line before the first line of code. */
      if (target->kind == CONFAB_MARKDOWN_BLOCK_CODE && target->fenced && line > p->text)
        {
          line--;
          if (line > p->text && line[0] == '\n' && line[-1] == '\r')
            line--;
          while (line > p->text && !is_break (line[-1]))
            line--;
        }
      target->offset = line - p->text;
      target->has_offset = TRUE;
    }
}

/* Tables */

static void
table_finish_row (Parser *p)
{
  while (p->row_cells < p->table->n_columns)
    {
      g_ptr_array_add (p->cells, g_strdup (""));
      p->row_cells++;
    }
}

static void
table_finish (Parser *p)
{
  ConfabMarkdownBlock *table = p->table;

  if (table == NULL)
    return;

  p->table = NULL;
  if (p->cell != NULL)
    g_string_free (g_steal_pointer (&p->cell), TRUE);

  table->n_rows = table->n_columns > 0 ? p->cells->len / table->n_columns : 0;
  g_ptr_array_add (p->cells, NULL);
  /* Leaves p->cells empty, ready for the next table. */
  table->cells = (char **) g_ptr_array_steal (p->cells, NULL);

  while (p->aligns->len < table->n_columns)
    {
      ConfabMarkdownAlign align = CONFAB_MARKDOWN_ALIGN_DEFAULT;
      g_array_append_val (p->aligns, align);
    }
  table->aligns = g_memdup2 (p->aligns->data, sizeof (ConfabMarkdownAlign) * table->n_columns);
  g_array_set_size (p->aligns, 0);

  push_block (p, table);
}

/* Spans */

static GString *
span_target (Parser *p)
{
  if (p->cell != NULL)
    return p->cell;

  ensure_text_block (p);
  p->item_fresh = FALSE;

  if (p->cur->kind == CONFAB_MARKDOWN_BLOCK_CODE)
    return NULL;

  return p->buf;
}

static void
append_link_open (Parser                   *p,
                  GString                  *out,
                  const MD_ATTRIBUTE       *href)
{
  g_autofree char *uri = attribute_dup (href);
  g_autoptr(GString) escaped = g_string_new (NULL);
  char tag = 0;

  /* GFM's "www." autolinks come without a scheme. */
  if (g_ascii_strncasecmp (uri, "www.", 4) == 0)
    {
      char *full = g_strconcat ("http://", uri, NULL);
      g_free (uri);
      uri = full;
    }

  if (p->link_depth == 0 && confab_markdown_uri_is_safe (uri))
    {
      g_string_append (out, "<a href=\"");
      confab_markdown_escape_append (out, uri, strlen (uri));
      /* GtkLabel shows the title as a tooltip, parsed as markup: the URI
       * is escaped once for that and once for the attribute. */
      g_string_append (out, "\" title=\"");
      confab_markdown_escape_append (escaped, uri, strlen (uri));
      confab_markdown_escape_append (out, escaped->str, escaped->len);
      g_string_append (out, "\">");
      tag = 'a';
      p->link_depth++;

      if (p->cell != NULL && p->table != NULL)
        p->table->has_links = TRUE;
      else if (p->cur != NULL)
        p->cur->has_links = TRUE;
    }

  g_string_append_c (p->spans, tag ? tag : '-');
}

static void
append_close_tag (GString *out,
                  char     tag)
{
  switch (tag)
    {
    case 'b': g_string_append (out, "</b>"); break;
    case 'i': g_string_append (out, "</i>"); break;
    case 's': g_string_append (out, "</s>"); break;
    case 't': g_string_append (out, "</tt>"); break;
    case 'u': g_string_append (out, "</u>"); break;
    case 'a': g_string_append (out, "</a>"); break;
    default: break;
    }
}

static void
close_spans (Parser  *p,
             GString *out)
{
  while (p->spans->len > 0)
    {
      char tag = p->spans->str[p->spans->len - 1];

      append_close_tag (out, tag);
      if (tag == 'a')
        p->link_depth--;
      g_string_truncate (p->spans, p->spans->len - 1);
    }
}

static int
enter_span_cb (MD_SPANTYPE  type,
               void        *detail,
               void        *user_data)
{
  Parser *p = user_data;
  GString *out = span_target (p);
  char tag = 0;

  if (out == NULL)
    {
      g_string_append_c (p->spans, '-');
      return 0;
    }

  switch (type)
    {
    case MD_SPAN_EM: tag = 'i'; break;
    case MD_SPAN_STRONG: tag = 'b'; break;
    case MD_SPAN_DEL: tag = 's'; break;
    case MD_SPAN_CODE: tag = 't'; break;
    case MD_SPAN_U: tag = 'u'; break;
    case MD_SPAN_A:
      append_link_open (p, out, &((MD_SPAN_A_DETAIL *) detail)->href);
      return 0;
    case MD_SPAN_IMG:
      /* No images in a chat bubble: the alt text links to the picture. */
      append_link_open (p, out, &((MD_SPAN_IMG_DETAIL *) detail)->src);
      return 0;
    case MD_SPAN_LATEXMATH:
    case MD_SPAN_LATEXMATH_DISPLAY:
    case MD_SPAN_WIKILINK:
    default:
      break;
    }

  switch (tag)
    {
    case 'i': g_string_append (out, "<i>"); break;
    case 'b': g_string_append (out, "<b>"); break;
    case 's': g_string_append (out, "<s>"); break;
    case 't': g_string_append (out, "<tt>"); break;
    case 'u': g_string_append (out, "<u>"); break;
    default: tag = '-'; break;
    }

  g_string_append_c (p->spans, tag);

  return 0;
}

static int
leave_span_cb (MD_SPANTYPE  type,
               void        *detail,
               void        *user_data)
{
  Parser *p = user_data;
  GString *out;
  char tag;

  if (p->spans->len == 0)
    return 0;

  out = p->cell != NULL ? p->cell : p->buf;
  tag = p->spans->str[p->spans->len - 1];
  g_string_truncate (p->spans, p->spans->len - 1);

  append_close_tag (out, tag);
  if (tag == 'a')
    p->link_depth--;

  return 0;
}

static int
text_cb (MD_TEXTTYPE    type,
         const MD_CHAR *text,
         MD_SIZE        size,
         void          *user_data)
{
  Parser *p = user_data;
  GString *out;
  gboolean code;

  if (p->table != NULL && p->cell == NULL)
    return 0;

  if (p->cell == NULL)
    {
      ensure_text_block (p);
      p->item_fresh = FALSE;
    }

  note_text (p, text, size);

  out = p->cell != NULL ? p->cell : p->buf;
  code = p->cell == NULL && p->cur->kind == CONFAB_MARKDOWN_BLOCK_CODE;

  switch (type)
    {
    case MD_TEXT_NULLCHAR:
      g_string_append (out, REPLACEMENT_CHAR);
      break;

    case MD_TEXT_BR:
      g_string_append_c (out, p->cell != NULL ? ' ' : '\n');
      break;

    case MD_TEXT_SOFTBR:
      /* A soft break is a space, as in CommonMark; a newline would also
       * start the next line under a list item's marker. */
      g_string_append_c (out, code ? '\n' : ' ');
      break;

    case MD_TEXT_NORMAL:
    case MD_TEXT_ENTITY:
    case MD_TEXT_CODE:
    case MD_TEXT_HTML:
    case MD_TEXT_LATEXMATH:
    default:
      if (text == NULL)
        break;
      if (code)
        g_string_append_len (out, text, size);
      else
        confab_markdown_escape_append (out, text, size);
      break;
    }

  return 0;
}

static const char *
bullet_for_depth (guint depth)
{
  switch (depth)
    {
    case 0:
    case 1: return "•";
    case 2: return "◦";
    default: return "▪";
    }
}

static int
enter_block_cb (MD_BLOCKTYPE  type,
                void         *detail,
                void         *user_data)
{
  Parser *p = user_data;
  guint depth_before;

  if (type == MD_BLOCK_DOC)
    return 0;

  depth_before = p->depth++;

  if (p->table != NULL)
    {
      switch (type)
        {
        case MD_BLOCK_TR:
          p->row_cells = 0;
          break;

        case MD_BLOCK_TH:
        case MD_BLOCK_TD:
          if (p->aligns->len == p->row_cells && p->row_cells < p->table->n_columns)
            {
              ConfabMarkdownAlign align = (ConfabMarkdownAlign) ((MD_BLOCK_TD_DETAIL *) detail)->align;
              g_array_append_val (p->aligns, align);
            }
          if (p->cell != NULL)
            g_string_truncate (p->cell, 0);
          else
            p->cell = g_string_new (NULL);
          break;

        case MD_BLOCK_THEAD:
        case MD_BLOCK_TBODY:
        default:
          break;
        }
      return 0;
    }

  if ((depth_before == 0 && type != MD_BLOCK_UL && type != MD_BLOCK_OL) ||
      (depth_before == 1 && type == MD_BLOCK_LI))
    {
      finish_cur (p);
      start_unit (p, type, detail);
    }

  switch (type)
    {
    case MD_BLOCK_QUOTE:
      finish_cur (p);
      g_string_append_c (p->containers, 'q');
      p->quote_depth++;
      break;

    case MD_BLOCK_UL:
    case MD_BLOCK_OL:
      {
        ListFrame frame = { 0, };

        finish_cur (p);
        if (type == MD_BLOCK_OL)
          {
            const MD_BLOCK_OL_DETAIL *ol = detail;

            frame.ordered = TRUE;
            frame.start = ol->start;
            frame.delimiter = ol->mark_delimiter;
            if (depth_before == 0 && p->first_number > 0 && !p->first_number_used)
              frame.start = p->first_number;
          }
        g_array_append_val (p->lists, frame);
        g_string_append_c (p->containers, 'l');
      }
      break;

    case MD_BLOCK_LI:
      {
        const MD_BLOCK_LI_DETAIL *li = detail;
        ListFrame *frame;
        guint number = 0;

        finish_cur (p);
        p->cur = block_new (p, CONFAB_MARKDOWN_BLOCK_LIST_ITEM);
        g_string_truncate (p->buf, 0);

        if (p->lists->len > 0)
          {
            frame = &g_array_index (p->lists, ListFrame, p->lists->len - 1);
            number = frame->start + frame->index++;
            p->cur->marker = frame->ordered ? CONFAB_MARKDOWN_LIST_ORDERED
                                            : CONFAB_MARKDOWN_LIST_BULLET;
            if (frame->ordered)
              {
                p->cur->number = number;
                g_string_append_printf (p->buf, "%u%c ", number,
                                        frame->delimiter ? frame->delimiter : '.');
              }

            if (depth_before == 1)
              {
                Unit *unit = &g_array_index (p->units, Unit, p->units->len - 1);
                unit->ordered = frame->ordered;
                unit->number = number;
              }
          }

        if (li->is_task)
          {
            gboolean checked = li->task_mark == 'x' || li->task_mark == 'X';

            p->cur->marker = checked ? CONFAB_MARKDOWN_LIST_TASK_CHECKED
                                     : CONFAB_MARKDOWN_LIST_TASK_UNCHECKED;
            g_string_append (p->buf, checked ? "☑ " : "☐ ");
          }
        else if (p->cur->marker == CONFAB_MARKDOWN_LIST_BULLET)
          {
            g_string_append (p->buf, bullet_for_depth (p->lists->len));
            g_string_append_c (p->buf, ' ');
          }

        p->item_fresh = TRUE;
      }
      break;

    case MD_BLOCK_P:
    case MD_BLOCK_HTML:
      if (p->cur != NULL && p->item_fresh)
        {
          /* The first paragraph of a (loose) list item is the item. */
          p->item_fresh = FALSE;
          break;
        }
      if (p->merge_quote && innermost_is_quote (p) && p->blocks->len > 0)
        {
          /* Paragraphs of one quote share a label, so the border runs on. */
          ConfabMarkdownBlock *last = g_ptr_array_steal_index (p->blocks, p->blocks->len - 1);

          p->merge_quote = FALSE;
          p->cur = last;
          g_string_assign (p->buf, last->markup);
          g_string_append (p->buf, "\n\n");
          g_clear_pointer (&last->markup, g_free);
          break;
        }
      open_text_block (p, innermost_is_quote (p) ? CONFAB_MARKDOWN_BLOCK_QUOTE
                                                : CONFAB_MARKDOWN_BLOCK_PARAGRAPH);
      break;

    case MD_BLOCK_H:
      if (p->cur != NULL && p->item_fresh)
        {
          p->item_fresh = FALSE;
          break;
        }
      open_text_block (p, CONFAB_MARKDOWN_BLOCK_HEADING);
      p->cur->level = CLAMP (((MD_BLOCK_H_DETAIL *) detail)->level, 1, 6);
      break;

    case MD_BLOCK_CODE:
      {
        const MD_BLOCK_CODE_DETAIL *code = detail;

        open_text_block (p, CONFAB_MARKDOWN_BLOCK_CODE);
        p->cur->fenced = code->fence_char != 0;
        p->cur->language = attribute_dup (&code->lang);
      }
      break;

    case MD_BLOCK_TABLE:
      {
        const MD_BLOCK_TABLE_DETAIL *table = detail;

        finish_cur (p);
        p->table = block_new (p, CONFAB_MARKDOWN_BLOCK_TABLE);
        p->table->n_columns = MIN (table->col_count, 1024);
        p->table->n_header_rows = table->head_row_count;
        p->row_cells = 0;
        g_array_set_size (p->aligns, 0);
      }
      break;

    case MD_BLOCK_HR:
      finish_cur (p);
      push_block (p, block_new (p, CONFAB_MARKDOWN_BLOCK_RULE));
      break;

    case MD_BLOCK_DOC:
    case MD_BLOCK_THEAD:
    case MD_BLOCK_TBODY:
    case MD_BLOCK_TR:
    case MD_BLOCK_TH:
    case MD_BLOCK_TD:
    default:
      break;
    }

  if (depth_before == 0)
    p->first_number_used = TRUE;

  return 0;
}

static int
leave_block_cb (MD_BLOCKTYPE  type,
                void         *detail,
                void         *user_data)
{
  Parser *p = user_data;

  if (type == MD_BLOCK_DOC)
    return 0;

  if (p->depth > 0)
    p->depth--;

  if (p->table != NULL)
    {
      switch (type)
        {
        case MD_BLOCK_TH:
        case MD_BLOCK_TD:
          if (p->cell != NULL)
            {
              GString *cell = g_steal_pointer (&p->cell);

              /* Spans never cross cells; close any left open anyway. */
              close_spans (p, cell);
              if (p->row_cells < p->table->n_columns)
                {
                  g_ptr_array_add (p->cells, g_string_free (cell, FALSE));
                  p->row_cells++;
                }
              else
                g_string_free (cell, TRUE);
            }
          break;

        case MD_BLOCK_TR:
          table_finish_row (p);
          break;

        case MD_BLOCK_TABLE:
          table_finish (p);
          break;

        default:
          break;
        }
      return 0;
    }

  switch (type)
    {
    case MD_BLOCK_QUOTE:
      finish_cur (p);
      if (p->containers->len > 0)
        g_string_truncate (p->containers, p->containers->len - 1);
      if (p->quote_depth > 0)
        p->quote_depth--;
      break;

    case MD_BLOCK_UL:
    case MD_BLOCK_OL:
      finish_cur (p);
      if (p->containers->len > 0)
        g_string_truncate (p->containers, p->containers->len - 1);
      if (p->lists->len > 0)
        g_array_set_size (p->lists, p->lists->len - 1);
      break;

    case MD_BLOCK_P:
    case MD_BLOCK_HTML:
      if (p->cur != NULL && p->cur->kind == CONFAB_MARKDOWN_BLOCK_QUOTE && innermost_is_quote (p))
        {
          finish_cur (p);
          p->merge_quote = TRUE;
        }
      else if (!p->item_fresh)
        finish_cur (p);
      break;

    case MD_BLOCK_LI:
    case MD_BLOCK_H:
    case MD_BLOCK_CODE:
    case MD_BLOCK_HR:
      finish_cur (p);
      break;

    case MD_BLOCK_DOC:
    case MD_BLOCK_TABLE:
    case MD_BLOCK_THEAD:
    case MD_BLOCK_TBODY:
    case MD_BLOCK_TR:
    case MD_BLOCK_TH:
    case MD_BLOCK_TD:
    default:
      break;
    }

  return 0;
}

/* Stable length */

static gsize
line_start (const char *text,
            gsize       pos)
{
  while (pos > 0 && !is_break (text[pos - 1]))
    pos--;
  return pos;
}

/* The start of the line before the one starting at @start (> 0). */
static gsize
prev_line_start (const char *text,
                 gsize       start)
{
  gsize pos = start;

  if (pos > 0 && text[pos - 1] == '\n')
    pos--;
  if (pos > 0 && text[pos - 1] == '\r')
    pos--;

  return line_start (text, pos);
}

static const char *
find_break (const char *from,
            const char *end)
{
  for (; from < end; from++)
    if (is_break (*from))
      return from;
  return NULL;
}

static const char *
next_line (const char *brk,
           const char *end)
{
  if (brk[0] == '\r' && brk + 1 < end && brk[1] == '\n')
    return brk + 2;
  return brk + 1;
}

static gboolean
is_table_delimiter_row (const char *line,
                        const char *end)
{
  gboolean dash = FALSE;

  for (; line < end && !is_break (*line); line++)
    {
      if (*line == '-')
        dash = TRUE;
      else if (*line != '|' && *line != ':' && *line != ' ' && *line != '\t')
        return FALSE;
    }

  return dash;
}

/* Whether the line at @start can only be paragraph text, whatever came
 * before it. md4c reads some lines by their context (a fence right after an
 * open fence in a list item is text, for one), so a paragraph that starts
 * like another block is not a safe place to cut. */
static gboolean
line_is_plain_start (const char *text,
                     gsize       start,
                     gsize       len)
{
  const char *p = text + start;
  const char *end = text + len;
  char c = *p;

  switch (c)
    {
    case ' ': case '\t': case '>': case '|': case '[': case '<': case '#': case '=':
    case '\0': case '\n': case '\r':
      return FALSE;

    case '`':
    case '~':
      return !(p + 2 < end && p[1] == c && p[2] == c);

    case '*':
    case '_':
    case '-':
    case '+':
      if (p + 1 >= end || p[1] == ' ' || p[1] == '\t' || is_break (p[1]))
        return FALSE;
      for (const char *q = p; q < end && !is_break (*q); q++)
        if (*q != c && *q != ' ' && *q != '\t')
          return TRUE;
      return FALSE;

    default:
      if (g_ascii_isdigit (c))
        {
          while (p < end && g_ascii_isdigit (*p))
            p++;
          return !(p < end && (*p == '.' || *p == ')'));
        }
      return TRUE;
    }
}

/* Where unit @index starts, if appended text cannot change the units before
 * it any more; G_MAXSIZE if we cannot tell. */
static gsize
unit_stable_start (Parser *p,
                   guint   index)
{
  const Unit *unit = &g_array_index (p->units, Unit, index);
  const char *end = p->text + p->len;
  const char *brk;
  gsize start;
  char c;

  if (unit->first_text == NULL)
    return G_MAXSIZE;

  start = line_start (p->text, unit->first_text - p->text);

  if (unit->type == MD_BLOCK_CODE)
    {
      /* The fence is the line before the first line of code. */
      if (unit->fence_char == 0 || start == 0)
        return G_MAXSIZE;
      start = prev_line_start (p->text, start);
      return p->text[start] == unit->fence_char ? start : G_MAXSIZE;
    }

  /* The line that starts the unit must be whole: its end decides what
   * it is ("-" might still become "---"). */
  brk = find_break (unit->first_text, end);
  if (brk == NULL)
    return G_MAXSIZE;

  c = p->text[start];

  switch ((int) unit->type)
    {
    case MD_BLOCK_LI:
      if (strchr ("-+*0123456789", c) == NULL || c == '\0')
        return G_MAXSIZE;
      /* md4c sees "[ ]" task marks or not depending on the items before. */
      {
        const char *q = p->text + start + 1;

        while (q < brk && g_ascii_isdigit (*q))
          q++;
        if (q < brk && (*q == '.' || *q == ')'))
          q++;
        while (q < brk && (*q == ' ' || *q == '\t'))
          q++;
        if (q < brk && *q == '[')
          return G_MAXSIZE;
      }
      break;

    case MD_BLOCK_QUOTE:
      if (c != '>')
        return G_MAXSIZE;
      /* A quote line right before would mean we missed the first line. */
      if (start > 0)
        {
          gsize prev = prev_line_start (p->text, start);
          while (prev < start && p->text[prev] == ' ')
            prev++;
          if (p->text[prev] == '>')
            return G_MAXSIZE;
        }
      break;

    case MD_BLOCK_TABLE:
      if (c == ' ' || c == '\t')
        return G_MAXSIZE;
      /* The delimiter row is what makes a table: it must be whole too. */
      {
        const char *second = next_line (brk, end);
        if (second >= end || find_break (second, end) == NULL ||
            !is_table_delimiter_row (second, end))
          return G_MAXSIZE;
      }
      break;

    case MD_BLOCK_H:
      if (c == '#')
        break;
      G_GNUC_FALLTHROUGH;
    case MD_BLOCK_P:
      if (!line_is_plain_start (p->text, start, p->len))
        return G_MAXSIZE;
      break;

    default:
      return G_MAXSIZE;
    }

  return start;
}

static void
compute_stable (Parser            *p,
                ConfabMarkdownDoc *doc)
{
  for (guint i = p->units->len; i > 1; i--)
    {
      const Unit *unit = &g_array_index (p->units, Unit, i - 1);
      gsize start = unit_stable_start (p, i - 1);

      if (start == G_MAXSIZE || start == 0)
        continue;

      doc->stable_length = start;
      doc->n_stable_blocks = MIN (unit->first_block, doc->blocks->len);
      doc->next_number = unit->type == MD_BLOCK_LI && unit->ordered ? unit->number : 0;
      return;
    }
}

/* Parsing */

static ConfabMarkdownDoc *
doc_new (void)
{
  ConfabMarkdownDoc *doc = g_new0 (ConfabMarkdownDoc, 1);

  g_atomic_ref_count_init (&doc->ref_count);
  doc->blocks = g_ptr_array_new_with_free_func ((GDestroyNotify) confab_markdown_block_free);

  return doc;
}

static void
fallback_paragraph (ConfabMarkdownDoc *doc,
                    const char        *text,
                    gsize              len)
{
  ConfabMarkdownBlock *block = g_new0 (ConfabMarkdownBlock, 1);
  GString *markup = g_string_sized_new (len + 16);

  confab_markdown_escape_append (markup, text, len);
  block->kind = CONFAB_MARKDOWN_BLOCK_PARAGRAPH;
  block->markup = g_string_free (markup, FALSE);
  block->has_offset = TRUE;

  g_ptr_array_set_size (doc->blocks, 0);
  g_ptr_array_add (doc->blocks, block);
  doc->stable_length = 0;
  doc->n_stable_blocks = 0;
  doc->next_number = 0;
}

/**
 * confab_markdown_parse_continued:
 * @text: (array length=len): Markdown, need not be NUL-terminated
 * @len: its length in bytes
 * @first_number: the number of the first item when @text starts with an
 *   ordered list, or 0 to use the number written there
 *
 * Never fails: on a parser error the document is one paragraph of the text.
 *
 * Returns: (transfer full): the blocks
 */
ConfabMarkdownDoc *
confab_markdown_parse_continued (const char *text,
                                 gsize       len,
                                 guint       first_number)
{
  ConfabMarkdownDoc *doc = doc_new ();
  g_autofree char *copy = NULL;
  MD_PARSER parser = { 0, };
  Parser p = { 0, };
  int ret;

  g_return_val_if_fail (text != NULL || len == 0, doc);

  if (len == 0)
    return doc;

  if (len > G_MAXUINT32 / 2)
    {
      fallback_paragraph (doc, text, len);
      return doc;
    }

  parser.flags = PARSER_FLAGS;
  parser.enter_block = enter_block_cb;
  parser.leave_block = leave_block_cb;
  parser.enter_span = enter_span_cb;
  parser.leave_span = leave_span_cb;
  parser.text = text_cb;

  /* md4c 0.4.8 may look at the byte after the end (an unclosed link
   * title followed by ")" there makes it report text past the end), so it
   * always gets a NUL-terminated copy. */
  copy = g_malloc (len + 1);
  memcpy (copy, text, len);
  copy[len] = '\0';

  p.text = copy;
  p.len = len;
  p.blocks = doc->blocks;
  p.units = g_array_new (FALSE, TRUE, sizeof (Unit));
  p.lists = g_array_new (FALSE, TRUE, sizeof (ListFrame));
  p.containers = g_string_new (NULL);
  p.spans = g_string_new (NULL);
  p.buf = g_string_new (NULL);
  p.cells = g_ptr_array_new_with_free_func (g_free);
  p.aligns = g_array_new (FALSE, TRUE, sizeof (ConfabMarkdownAlign));
  p.first_number = first_number;

  ret = md_parse (copy, (MD_SIZE) len, &parser, &p);

  if (ret == 0)
    {
      table_finish (&p);
      finish_cur (&p);
      compute_stable (&p, doc);
    }
  else
    {
      g_clear_pointer (&p.table, confab_markdown_block_free);
      g_clear_pointer (&p.cur, confab_markdown_block_free);
      fallback_paragraph (doc, text, len);
    }

  if (p.cell != NULL)
    g_string_free (p.cell, TRUE);
  g_array_unref (p.units);
  g_array_unref (p.lists);
  g_string_free (p.containers, TRUE);
  g_string_free (p.spans, TRUE);
  g_string_free (p.buf, TRUE);
  g_ptr_array_unref (p.cells);
  g_array_unref (p.aligns);

  return doc;
}

/**
 * confab_markdown_parse:
 * @text: (array length=len): Markdown, need not be NUL-terminated
 * @len: its length in bytes
 *
 * Returns: (transfer full): the blocks of @text
 */
ConfabMarkdownDoc *
confab_markdown_parse (const char *text,
                       gsize       len)
{
  return confab_markdown_parse_continued (text, len, 0);
}

/**
 * confab_markdown_stable_length:
 * @text: (array length=len): Markdown that is still growing
 * @len: its length in bytes
 *
 * The length of the prefix made of finished top-level blocks (and finished
 * items of a top-level list): text appended later cannot change how that
 * prefix renders, except for link reference definitions, which may refer
 * back. An unclosed code fence is never finished.
 *
 * Returns: a byte offset at a line start, or 0
 */
gsize
confab_markdown_stable_length (const char *text,
                               gsize       len)
{
  g_autoptr(ConfabMarkdownDoc) doc = confab_markdown_parse (text, len);

  return doc->stable_length;
}

ConfabMarkdownDoc *
confab_markdown_doc_ref (ConfabMarkdownDoc *doc)
{
  g_return_val_if_fail (doc != NULL, NULL);

  g_atomic_ref_count_inc (&doc->ref_count);
  return doc;
}

void
confab_markdown_doc_unref (ConfabMarkdownDoc *doc)
{
  g_return_if_fail (doc != NULL);

  if (g_atomic_ref_count_dec (&doc->ref_count))
    {
      g_ptr_array_unref (doc->blocks);
      g_free (doc);
    }
}

guint
confab_markdown_doc_get_n_blocks (ConfabMarkdownDoc *doc)
{
  g_return_val_if_fail (doc != NULL, 0);

  return doc->blocks->len;
}

const ConfabMarkdownBlock *
confab_markdown_doc_get_block (ConfabMarkdownDoc *doc,
                               guint              index)
{
  g_return_val_if_fail (doc != NULL, NULL);
  g_return_val_if_fail (index < doc->blocks->len, NULL);

  return g_ptr_array_index (doc->blocks, index);
}

gsize
confab_markdown_doc_get_stable_length (ConfabMarkdownDoc *doc)
{
  g_return_val_if_fail (doc != NULL, 0);

  return doc->stable_length;
}

guint
confab_markdown_doc_get_n_stable_blocks (ConfabMarkdownDoc *doc)
{
  g_return_val_if_fail (doc != NULL, 0);

  return doc->n_stable_blocks;
}

guint
confab_markdown_doc_get_next_number (ConfabMarkdownDoc *doc)
{
  g_return_val_if_fail (doc != NULL, 0);

  return doc->next_number;
}

ConfabMarkdownBlockKind
confab_markdown_block_get_kind (const ConfabMarkdownBlock *block)
{
  g_return_val_if_fail (block != NULL, CONFAB_MARKDOWN_BLOCK_PARAGRAPH);
  return block->kind;
}

gsize
confab_markdown_block_get_offset (const ConfabMarkdownBlock *block)
{
  g_return_val_if_fail (block != NULL, 0);
  return block->offset;
}

/* Returns: (nullable): the markup of a text block, NULL for code, tables and rules */
const char *
confab_markdown_block_get_markup (const ConfabMarkdownBlock *block)
{
  g_return_val_if_fail (block != NULL, NULL);
  return block->markup;
}

guint
confab_markdown_block_get_level (const ConfabMarkdownBlock *block)
{
  g_return_val_if_fail (block != NULL, 0);
  return block->level;
}

guint
confab_markdown_block_get_list_depth (const ConfabMarkdownBlock *block)
{
  g_return_val_if_fail (block != NULL, 0);
  return block->list_depth;
}

guint
confab_markdown_block_get_quote_depth (const ConfabMarkdownBlock *block)
{
  g_return_val_if_fail (block != NULL, 0);
  return block->quote_depth;
}

ConfabMarkdownListMarker
confab_markdown_block_get_list_marker (const ConfabMarkdownBlock *block)
{
  g_return_val_if_fail (block != NULL, CONFAB_MARKDOWN_LIST_NONE);
  return block->marker;
}

guint
confab_markdown_block_get_number (const ConfabMarkdownBlock *block)
{
  g_return_val_if_fail (block != NULL, 0);
  return block->number;
}

/* Returns: (nullable): the code, with its final newline, of a code block */
const char *
confab_markdown_block_get_code (const ConfabMarkdownBlock *block)
{
  g_return_val_if_fail (block != NULL, NULL);
  return block->code;
}

/* Returns: (nullable): the fence's language ("" if none) of a code block */
const char *
confab_markdown_block_get_language (const ConfabMarkdownBlock *block)
{
  g_return_val_if_fail (block != NULL, NULL);
  return block->language;
}

gboolean
confab_markdown_block_get_fenced (const ConfabMarkdownBlock *block)
{
  g_return_val_if_fail (block != NULL, FALSE);
  return block->fenced;
}

guint
confab_markdown_block_get_n_rows (const ConfabMarkdownBlock *block)
{
  g_return_val_if_fail (block != NULL, 0);
  return block->n_rows;
}

guint
confab_markdown_block_get_n_columns (const ConfabMarkdownBlock *block)
{
  g_return_val_if_fail (block != NULL, 0);
  return block->n_columns;
}

guint
confab_markdown_block_get_n_header_rows (const ConfabMarkdownBlock *block)
{
  g_return_val_if_fail (block != NULL, 0);
  return block->n_header_rows;
}

const char *
confab_markdown_block_get_cell (const ConfabMarkdownBlock *block,
                                guint                      row,
                                guint                      column)
{
  g_return_val_if_fail (block != NULL, NULL);
  g_return_val_if_fail (row < block->n_rows, NULL);
  g_return_val_if_fail (column < block->n_columns, NULL);

  return block->cells[row * block->n_columns + column];
}

ConfabMarkdownAlign
confab_markdown_block_get_alignment (const ConfabMarkdownBlock *block,
                                     guint                      column)
{
  g_return_val_if_fail (block != NULL, CONFAB_MARKDOWN_ALIGN_DEFAULT);
  g_return_val_if_fail (column < block->n_columns, CONFAB_MARKDOWN_ALIGN_DEFAULT);

  return block->aligns[column];
}

gboolean
confab_markdown_block_get_has_links (const ConfabMarkdownBlock *block)
{
  g_return_val_if_fail (block != NULL, FALSE);
  return block->has_links;
}

gboolean
confab_markdown_block_equal (const ConfabMarkdownBlock *a,
                             const ConfabMarkdownBlock *b)
{
  g_return_val_if_fail (a != NULL, FALSE);
  g_return_val_if_fail (b != NULL, FALSE);

  if (a->kind != b->kind ||
      a->marker != b->marker ||
      a->level != b->level ||
      a->list_depth != b->list_depth ||
      a->quote_depth != b->quote_depth ||
      a->number != b->number ||
      a->n_rows != b->n_rows ||
      a->n_columns != b->n_columns ||
      a->n_header_rows != b->n_header_rows ||
      a->fenced != b->fenced ||
      a->has_links != b->has_links)
    return FALSE;

  if (g_strcmp0 (a->markup, b->markup) != 0 ||
      g_strcmp0 (a->code, b->code) != 0 ||
      g_strcmp0 (a->language, b->language) != 0)
    return FALSE;

  if (a->kind == CONFAB_MARKDOWN_BLOCK_TABLE)
    {
      guint n = a->n_rows * a->n_columns;

      if (a->n_columns > 0 &&
          memcmp (a->aligns, b->aligns, sizeof (ConfabMarkdownAlign) * a->n_columns) != 0)
        return FALSE;
      for (guint i = 0; i < n; i++)
        if (strcmp (a->cells[i], b->cells[i]) != 0)
          return FALSE;
    }

  return TRUE;
}
