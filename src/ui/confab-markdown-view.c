/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-markdown-view"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "confab-code-block.h"
#include "confab-markdown.h"
#include "confab-markdown-view-private.h"

#define BLOCK_SPACING 10
#define CELL_MAX_WIDTH_CHARS 40
/* A wrapping GtkLabel without width-chars finds its minimum width by laying
 * its text out at the narrowest width, which with WORD_CHAR wrapping is one
 * line per character: 4× the cost of a whole re-layout of a long streaming
 * paragraph. A minimum of this many characters avoids that. */
#define LABEL_MIN_WIDTH_CHARS 20
/* Blocks go into boxes of this many, in order: GTK measures, allocates and
 * snapshots every child of a box on each frame, and a box that did not
 * change costs one cached child instead of PAGE_SIZE. A new block goes into
 * the last page and leaves the others untouched, so a frame of a long reply
 * costs about as much as one of a short reply. */
#define PAGE_SIZE 32
/* Pages further than this outside the scrolled window are not drawn. */
#define DRAW_MARGIN 256
/* Time all views together may spend making widgets in one frame. What does not
 * fit is made in the next frames, so neither a long reply that arrived at once
 * nor opening a conversation of long messages stalls the window. The widgets
 * made cost about as much again when the frame lays them out and draws them. */
#define FRAME_BUDGET_USEC 6000
/* A code block (a GtkTextView) lays its text out in an idle of its own after
 * the frame, below the frame clock's priority: while frames follow each other
 * without a pause, those idles wait, and then GLib runs all of them in one go.
 * So a few code blocks are made per frame at most, and no more until their
 * idles have run: an idle of a priority just below theirs says so. */
#define FRAME_MAX_CODE_BLOCKS 2
#define CODE_BLOCKS_LAID_OUT_PRIORITY (GDK_PRIORITY_REDRAW + 10)

static gpointer budget_clock;      /* the frame clock and frame the budget belongs to */
static gint64 budget_frame = -1;
static gint64 budget_deadline;
static guint  budget_made;         /* widgets made in that frame, by all views */
static guint  budget_code_blocks;  /* of which code blocks */
static guint  code_blocks_laid_out_id;

typedef struct
{
  GtkWidget           *widget;  /* in page index / PAGE_SIZE */
  GtkWidget           *grid;    /* tables: the grid inside widget */
  ConfabMarkdownBlock *block;   /* what widget shows */
} Child;

struct _ConfabMarkdownView
{
  GtkWidget  parent_instance;

  GString   *text;
  GArray    *children;        /* Child, in order */

  /* The scrolled window's, while the view is in one: what it shows decides
   * which pages are drawn. */
  GtkAdjustment *vadjustment;

  /* While streaming, children[0..n_frozen) show text[0..frozen_len) and
   * are never touched again; next_number continues an ordered list cut at
   * frozen_len. */
  gsize      frozen_len;
  guint      n_frozen;
  guint      next_number;

  /* A parse whose widgets are being made over several frames: its blocks
   * [0..doc_done) have them. Dropped when the text or the mode changes. */
  ConfabMarkdownDoc *doc;
  guint      doc_done;
  guint      doc_changed;     /* how many of those checked had to change */

  guint      tick_id;
  guint      render_count;
  guint      parse_count;
  guint      first_drawn;     /* pages the last snapshot drew */
  guint      n_drawn;
  guint      n_fixed_at_end;

  guint      streaming : 1;
  guint      dirty : 1;
  guint      culled : 1;      /* the last snapshot left pages out */
  guint      ending : 1;      /* streaming ended: the next render checks frozen blocks */
};

G_DEFINE_FINAL_TYPE (ConfabMarkdownView, confab_markdown_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_TEXT,
  PROP_STREAMING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
child_clear (gpointer data)
{
  Child *child = data;

  g_clear_pointer (&child->block, confab_markdown_block_free);
}

/* Widgets */

static gboolean
activate_link_cb (GtkLabel   *label,
                  const char *uri,
                  gpointer    user_data)
{
  /* TRUE stops the default handler: only web and mail links open. */
  return uri == NULL || !confab_markdown_uri_is_safe (uri);
}

static void
set_label_min_width (GtkWidget *label)
{
  glong n_chars = g_utf8_strlen (gtk_label_get_text (GTK_LABEL (label)), -1);

  gtk_label_set_width_chars (GTK_LABEL (label), (int) MIN (n_chars, LABEL_MIN_WIDTH_CHARS));
}

static GtkWidget *
create_label (const char *markup,
              gboolean    has_links)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_markup (GTK_LABEL (label), markup != NULL ? markup : "");
  set_label_min_width (label);
  /* GtkLabel shows a link's title (here its URI) only with tooltips on. */
  gtk_widget_set_has_tooltip (label, has_links);
  g_signal_connect (label, "activate-link", G_CALLBACK (activate_link_cb), NULL);

  return label;
}

static void
set_label_markup (GtkWidget  *label,
                  const char *markup,
                  gboolean    has_links)
{
  gtk_label_set_markup (GTK_LABEL (label), markup != NULL ? markup : "");
  set_label_min_width (label);
  gtk_widget_set_has_tooltip (label, has_links);
}

static int
indent_for (const ConfabMarkdownBlock *block)
{
  ConfabMarkdownBlockKind kind = confab_markdown_block_get_kind (block);
  guint list_depth = confab_markdown_block_get_list_depth (block);
  guint quote_depth = confab_markdown_block_get_quote_depth (block);
  int indent = 0;

  if (list_depth > 0)
    {
      indent = 8 + 22 * (MIN (list_depth, 8) - 1);
      /* Text that continues an item lines up after the marker. */
      if (kind != CONFAB_MARKDOWN_BLOCK_LIST_ITEM)
        indent += 16;
    }

  if (quote_depth > 1)
    indent += 12 * (MIN (quote_depth, 8) - 1);

  /* Quoted blocks other than labels have no border: indent them instead. */
  if (quote_depth > 0 &&
      (kind == CONFAB_MARKDOWN_BLOCK_CODE ||
       kind == CONFAB_MARKDOWN_BLOCK_TABLE ||
       kind == CONFAB_MARKDOWN_BLOCK_RULE))
    indent += 15;

  return indent;
}

static float
xalign_for (ConfabMarkdownAlign align)
{
  switch (align)
    {
    case CONFAB_MARKDOWN_ALIGN_CENTER: return 0.5f;
    case CONFAB_MARKDOWN_ALIGN_RIGHT: return 1.0f;
    case CONFAB_MARKDOWN_ALIGN_LEFT:
    case CONFAB_MARKDOWN_ALIGN_DEFAULT:
    default:
      return 0.0f;
    }
}

/* The scrolled window measures the table's height at its minimum width, so
 * a cell's minimum width must be its natural width: short cells do not wrap,
 * long ones wrap at CELL_MAX_WIDTH_CHARS. */
static void
set_cell_width (GtkWidget *cell)
{
  const char *text = gtk_label_get_text (GTK_LABEL (cell));
  gboolean wrap = FALSE;

  for (const char *line = text; line != NULL && *line != '\0'; )
    {
      const char *end = strchr (line, '\n');

      if (g_utf8_strlen (line, end != NULL ? end - line : -1) > CELL_MAX_WIDTH_CHARS)
        wrap = TRUE;
      line = end != NULL ? end + 1 : NULL;
    }

  gtk_label_set_wrap (GTK_LABEL (cell), wrap);
  gtk_label_set_width_chars (GTK_LABEL (cell), wrap ? CELL_MAX_WIDTH_CHARS : -1);
  gtk_label_set_max_width_chars (GTK_LABEL (cell), wrap ? CELL_MAX_WIDTH_CHARS : -1);
}

static GtkWidget *
create_cell (const ConfabMarkdownBlock *block,
             guint                      row,
             guint                      column)
{
  GtkWidget *cell;

  cell = create_label (confab_markdown_block_get_cell (block, row, column),
                       confab_markdown_block_get_has_links (block));
  set_cell_width (cell);
  gtk_label_set_xalign (GTK_LABEL (cell), xalign_for (confab_markdown_block_get_alignment (block, column)));
  gtk_widget_add_css_class (cell, "md-table-cell");
  if (row < confab_markdown_block_get_n_header_rows (block))
    gtk_widget_add_css_class (cell, "md-table-header");

  return cell;
}

static void
update_table (GtkWidget                 *grid,
              const ConfabMarkdownBlock *old,
              const ConfabMarkdownBlock *block)
{
  guint n_columns = confab_markdown_block_get_n_columns (block);
  guint old_rows = old != NULL ? confab_markdown_block_get_n_rows (old) : 0;
  guint n_rows = confab_markdown_block_get_n_rows (block);

  for (guint row = 0; row < n_rows; row++)
    {
      for (guint column = 0; column < n_columns; column++)
        {
          if (row < old_rows)
            {
              const char *markup = confab_markdown_block_get_cell (block, row, column);
              GtkWidget *cell;

              if (strcmp (markup, confab_markdown_block_get_cell (old, row, column)) == 0)
                continue;
              cell = gtk_grid_get_child_at (GTK_GRID (grid), column, row);
              if (cell != NULL)
                {
                  set_label_markup (cell, markup, confab_markdown_block_get_has_links (block));
                  set_cell_width (cell);
                  continue;
                }
            }

          gtk_grid_attach (GTK_GRID (grid), create_cell (block, row, column), column, row, 1, 1);
        }
    }

  for (guint row = n_rows; row < old_rows; row++)
    {
      for (guint column = 0; column < n_columns; column++)
        {
          GtkWidget *cell = gtk_grid_get_child_at (GTK_GRID (grid), column, row);

          if (cell != NULL)
            gtk_grid_remove (GTK_GRID (grid), cell);
        }
    }
}

static GtkWidget *
create_table (const ConfabMarkdownBlock  *block,
              GtkWidget                 **grid_out)
{
  GtkWidget *scroller;
  GtkWidget *grid;

  grid = gtk_grid_new ();
  gtk_widget_set_halign (grid, GTK_ALIGN_START);
  gtk_widget_add_css_class (grid, "md-table");
  update_table (grid, NULL, block);

  scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller),
                                  GTK_POLICY_AUTOMATIC, GTK_POLICY_NEVER);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scroller), TRUE);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), grid);
  gtk_widget_add_css_class (scroller, "md-table-scroller");

  *grid_out = grid;

  return scroller;
}

static const char *
heading_class (guint level)
{
  switch (level)
    {
    case 1: return "title-1";
    case 2: return "title-2";
    case 3: return "title-3";
    case 4: return "title-4";
    default: return "heading";
    }
}

static void
create_widget (Child                     *child,
               const ConfabMarkdownBlock *block)
{
  GtkWidget *widget = NULL;

  child->grid = NULL;

  switch (confab_markdown_block_get_kind (block))
    {
    case CONFAB_MARKDOWN_BLOCK_PARAGRAPH:
    case CONFAB_MARKDOWN_BLOCK_HEADING:
    case CONFAB_MARKDOWN_BLOCK_QUOTE:
    case CONFAB_MARKDOWN_BLOCK_LIST_ITEM:
      widget = create_label (confab_markdown_block_get_markup (block),
                             confab_markdown_block_get_has_links (block));
      switch (confab_markdown_block_get_kind (block))
        {
        case CONFAB_MARKDOWN_BLOCK_HEADING:
          gtk_widget_add_css_class (widget, "md-heading");
          gtk_widget_add_css_class (widget, heading_class (confab_markdown_block_get_level (block)));
          break;
        case CONFAB_MARKDOWN_BLOCK_LIST_ITEM:
          gtk_widget_add_css_class (widget, "md-list-item");
          break;
        case CONFAB_MARKDOWN_BLOCK_QUOTE:
        case CONFAB_MARKDOWN_BLOCK_PARAGRAPH:
        default:
          gtk_widget_add_css_class (widget, "md-paragraph");
          break;
        }
      if (confab_markdown_block_get_quote_depth (block) > 0)
        gtk_widget_add_css_class (widget, "md-quote");
      break;

    case CONFAB_MARKDOWN_BLOCK_CODE:
      widget = confab_code_block_new ();
      confab_code_block_set_code (CONFAB_CODE_BLOCK (widget),
                                  confab_markdown_block_get_language (block),
                                  confab_markdown_block_get_code (block));
      break;

    case CONFAB_MARKDOWN_BLOCK_TABLE:
      widget = create_table (block, &child->grid);
      break;

    case CONFAB_MARKDOWN_BLOCK_RULE:
    default:
      widget = gtk_separator_new (GTK_ORIENTATION_HORIZONTAL);
      gtk_widget_add_css_class (widget, "md-rule");
      break;
    }

  gtk_widget_set_margin_start (widget, indent_for (block));
  child->widget = widget;
}

static gboolean
same_table_shape (const ConfabMarkdownBlock *a,
                  const ConfabMarkdownBlock *b)
{
  guint n_columns = confab_markdown_block_get_n_columns (a);

  if (n_columns != confab_markdown_block_get_n_columns (b) ||
      confab_markdown_block_get_n_header_rows (a) != confab_markdown_block_get_n_header_rows (b) ||
      confab_markdown_block_get_has_links (a) != confab_markdown_block_get_has_links (b))
    return FALSE;

  for (guint i = 0; i < n_columns; i++)
    if (confab_markdown_block_get_alignment (a, i) != confab_markdown_block_get_alignment (b, i))
      return FALSE;

  return TRUE;
}

/* Updates the child's widget for @block if it can take it in place. */
static gboolean
update_widget (Child                     *child,
               const ConfabMarkdownBlock *block)
{
  const ConfabMarkdownBlock *old = child->block;
  ConfabMarkdownBlockKind kind = confab_markdown_block_get_kind (block);

  if (kind != confab_markdown_block_get_kind (old) ||
      confab_markdown_block_get_level (old) != confab_markdown_block_get_level (block) ||
      confab_markdown_block_get_list_depth (old) != confab_markdown_block_get_list_depth (block) ||
      confab_markdown_block_get_quote_depth (old) != confab_markdown_block_get_quote_depth (block))
    return FALSE;

  switch (kind)
    {
    case CONFAB_MARKDOWN_BLOCK_PARAGRAPH:
    case CONFAB_MARKDOWN_BLOCK_HEADING:
    case CONFAB_MARKDOWN_BLOCK_QUOTE:
    case CONFAB_MARKDOWN_BLOCK_LIST_ITEM:
      if (g_strcmp0 (confab_markdown_block_get_markup (old), confab_markdown_block_get_markup (block)) != 0 ||
          confab_markdown_block_get_has_links (old) != confab_markdown_block_get_has_links (block))
        set_label_markup (child->widget,
                          confab_markdown_block_get_markup (block),
                          confab_markdown_block_get_has_links (block));
      return TRUE;

    case CONFAB_MARKDOWN_BLOCK_CODE:
      confab_code_block_set_code (CONFAB_CODE_BLOCK (child->widget),
                                  confab_markdown_block_get_language (block),
                                  confab_markdown_block_get_code (block));
      return TRUE;

    case CONFAB_MARKDOWN_BLOCK_TABLE:
      if (child->grid == NULL || !same_table_shape (old, block))
        return FALSE;
      update_table (child->grid, old, block);
      return TRUE;

    case CONFAB_MARKDOWN_BLOCK_RULE:
    default:
      return TRUE;
    }
}

static void
start_frame_budget (GdkFrameClock *frame_clock)
{
  gint64 frame = gdk_frame_clock_get_frame_counter (frame_clock);

  /* Each window has a clock of its own, counting from its own start. */
  if (frame != budget_frame || (gpointer) frame_clock != budget_clock)
    {
      budget_clock = frame_clock;
      budget_frame = frame;
      budget_deadline = g_get_monotonic_time () + FRAME_BUDGET_USEC;
      budget_made = 0;
      budget_code_blocks = 0;
    }
}

/* Whether a view may make the widget of @block in this frame. At least one
 * widget is made per frame among all views, so that rendering moves on. */
static gboolean
budget_allows (const ConfabMarkdownBlock *block)
{
  if (budget_made == 0)
    return TRUE;

  if (confab_markdown_block_get_kind (block) == CONFAB_MARKDOWN_BLOCK_CODE &&
      (budget_code_blocks >= FRAME_MAX_CODE_BLOCKS || code_blocks_laid_out_id != 0))
    return FALSE;

  return g_get_monotonic_time () < budget_deadline;
}

static gboolean
code_blocks_laid_out_cb (gpointer user_data)
{
  code_blocks_laid_out_id = 0;
  return G_SOURCE_REMOVE;
}

static void
budget_spend (const ConfabMarkdownBlock *block)
{
  budget_made++;
  if (confab_markdown_block_get_kind (block) == CONFAB_MARKDOWN_BLOCK_CODE)
    {
      budget_code_blocks++;
      if (code_blocks_laid_out_id == 0)
        code_blocks_laid_out_id = g_idle_add_full (CODE_BLOCKS_LAID_OUT_PRIORITY,
                                                   code_blocks_laid_out_cb, NULL, NULL);
    }
}

/* Block widgets are children of pages, the view's children. */
static void
replace_block_widget (ConfabMarkdownView *self,
                      GtkWidget          *old_widget,
                      GtkWidget          *new_widget)
{
  GtkWidget *parent = gtk_widget_get_parent (old_widget);

  gtk_box_insert_child_after (GTK_BOX (parent), new_widget, old_widget);
  gtk_box_remove (GTK_BOX (parent), old_widget);
}

/* Blocks are only ever removed from the end. */
static void
remove_block_widget (ConfabMarkdownView *self,
                     GtkWidget          *widget)
{
  GtkWidget *parent = gtk_widget_get_parent (widget);

  gtk_box_remove (GTK_BOX (parent), widget);
  if (gtk_widget_get_first_child (parent) == NULL)
    gtk_widget_unparent (parent);
}

/* Adds the widget of children[children->len], the next block. */
static void
append_block_widget (ConfabMarkdownView *self,
                     GtkWidget          *widget)
{
  GtkWidget *page = gtk_widget_get_last_child (GTK_WIDGET (self));

  if (page == NULL || self->children->len % PAGE_SIZE == 0)
    {
      page = gtk_box_new (GTK_ORIENTATION_VERTICAL, BLOCK_SPACING);
      gtk_widget_add_css_class (page, "md-page");
      gtk_widget_set_parent (page, GTK_WIDGET (self));
    }

  gtk_box_append (GTK_BOX (page), widget);
}

/* Makes children[start..] show the blocks of @doc, from its block @first on
 * (those before it were done by an earlier call). Returns how many of
 * children[start..start + n_checked) had to change, and sets *@done to the
 * number of blocks that have their widgets. With @limited, it stops making
 * new widgets once the frame's budget is spent (after at least one per frame
 * among all views, so that rendering always moves on). */
static guint
update_children (ConfabMarkdownView *self,
                 guint               start,
                 ConfabMarkdownDoc  *doc,
                 guint               first,
                 guint               n_checked,
                 gboolean            limited,
                 guint              *done)
{
  guint n_blocks = confab_markdown_doc_get_n_blocks (doc);
  guint n_changed = 0;

  for (guint i = first; i < n_blocks; i++)
    {
      const ConfabMarkdownBlock *block = confab_markdown_doc_get_block (doc, i);
      guint pos = start + i;

      if (pos < self->children->len)
        {
          Child *child = &g_array_index (self->children, Child, pos);

          if (confab_markdown_block_equal (child->block, block))
            continue;

          if (i < n_checked)
            n_changed++;

          if (!update_widget (child, block))
            {
              GtkWidget *old_widget = child->widget;

              create_widget (child, block);
              replace_block_widget (self, old_widget, child->widget);
            }

          confab_markdown_block_free (child->block);
          child->block = confab_markdown_block_copy (block);
        }
      else
        {
          Child child = { 0, };

          if (limited && !budget_allows (block))
            {
              *done = i;
              return n_changed;
            }

          create_widget (&child, block);
          child.block = confab_markdown_block_copy (block);
          append_block_widget (self, child.widget);
          g_array_append_val (self->children, child);
          if (limited)
            budget_spend (block);
        }
    }

  for (guint pos = start + n_blocks; pos < self->children->len; pos++)
    {
      Child *child = &g_array_index (self->children, Child, pos);

      if (pos - start < n_checked)
        n_changed++;
      remove_block_widget (self, child->widget);
    }

  if (self->children->len > start + n_blocks)
    g_array_set_size (self->children, start + n_blocks);

  *done = n_blocks;
  return n_changed;
}

static void
reset_frozen (ConfabMarkdownView *self)
{
  self->frozen_len = 0;
  self->n_frozen = 0;
  self->next_number = 0;
}

static void
drop_doc (ConfabMarkdownView *self)
{
  g_clear_pointer (&self->doc, confab_markdown_doc_unref);
  self->doc_done = 0;
  self->doc_changed = 0;
}

/* Blocks are frozen once they have their widgets. */
static void
freeze_stable (ConfabMarkdownView *self)
{
  if (confab_markdown_doc_get_stable_length (self->doc) == 0)
    return;

  self->n_frozen += confab_markdown_doc_get_n_stable_blocks (self->doc);
  self->frozen_len += confab_markdown_doc_get_stable_length (self->doc);
  self->next_number = confab_markdown_doc_get_next_number (self->doc);
}

/* Renders the text; with @limited, within the frame's budget, leaving the view
 * dirty when there is more to make. The text is parsed once however many
 * frames making its widgets takes. */
static void
render (ConfabMarkdownView *self,
        gboolean            limited)
{
  guint start = self->streaming ? self->n_frozen : 0;
  guint n_checked = self->streaming ? 0 : self->n_frozen;

  self->dirty = FALSE;
  self->render_count++;

  /* While streaming, only the open tail; at the end, the final text whole:
   * frozen blocks were right unless a link reference defined late changed
   * them, and equal blocks keep their widgets either way. */
  if (self->doc == NULL)
    self->parse_count++;

  if (self->doc == NULL && self->streaming)
    self->doc = confab_markdown_parse_continued (self->text->str + self->frozen_len,
                                                 self->text->len - self->frozen_len,
                                                 self->next_number);
  else if (self->doc == NULL)
    self->doc = confab_markdown_parse (self->text->str, self->text->len);

  self->doc_changed += update_children (self, start, self->doc, self->doc_done,
                                        n_checked, limited, &self->doc_done);

  if (self->doc_done < confab_markdown_doc_get_n_blocks (self->doc))
    {
      self->dirty = TRUE;

      /* The finished blocks have their widgets: freeze them, so that the
       * next frames parse only what follows them. */
      if (self->streaming &&
          confab_markdown_doc_get_stable_length (self->doc) > 0 &&
          self->doc_done >= confab_markdown_doc_get_n_stable_blocks (self->doc))
        {
          freeze_stable (self);
          drop_doc (self);
        }
      return;
    }

  if (!self->streaming)
    {
      if (self->ending)
        self->n_fixed_at_end = self->doc_changed;
      self->ending = FALSE;
      reset_frozen (self);
    }
  else
    freeze_stable (self);

  drop_doc (self);
}

static void ensure_tick (ConfabMarkdownView *self);

static gboolean
tick_cb (GtkWidget     *widget,
         GdkFrameClock *frame_clock,
         gpointer       user_data)
{
  ConfabMarkdownView *self = CONFAB_MARKDOWN_VIEW (widget);

  self->tick_id = 0;
  start_frame_budget (frame_clock);

  if (self->dirty)
    render (self, TRUE);

  /* More to make: the next frame goes on. */
  if (self->dirty)
    ensure_tick (self);

  return G_SOURCE_REMOVE;
}

static void
ensure_tick (ConfabMarkdownView *self)
{
  if (self->tick_id == 0)
    self->tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (self), tick_cb, NULL, NULL);
}

static void
schedule_render (ConfabMarkdownView *self)
{
  drop_doc (self);
  self->dirty = TRUE;
  ensure_tick (self);
}

/* Drawing: a reply of thousands of blocks is one tall widget, of which a
 * screenful shows. Only the pages near what the scrolled window shows are
 * drawn, and the view is drawn again when that changes. */

static void
scrolled_cb (ConfabMarkdownView *self)
{
  if (self->culled)
    gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
confab_markdown_view_root (GtkWidget *widget)
{
  ConfabMarkdownView *self = CONFAB_MARKDOWN_VIEW (widget);
  GtkWidget *scroller;

  GTK_WIDGET_CLASS (confab_markdown_view_parent_class)->root (widget);

  scroller = gtk_widget_get_ancestor (widget, GTK_TYPE_SCROLLED_WINDOW);
  if (scroller == NULL)
    return;

  self->vadjustment = g_object_ref (gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller)));
  g_signal_connect_object (self->vadjustment, "value-changed",
                           G_CALLBACK (scrolled_cb), self, G_CONNECT_SWAPPED);
  /* The page size: the window grew or shrank. */
  g_signal_connect_object (self->vadjustment, "changed",
                           G_CALLBACK (scrolled_cb), self, G_CONNECT_SWAPPED);
}

static void
confab_markdown_view_unroot (GtkWidget *widget)
{
  ConfabMarkdownView *self = CONFAB_MARKDOWN_VIEW (widget);

  if (self->vadjustment != NULL)
    {
      g_signal_handlers_disconnect_by_func (self->vadjustment, scrolled_cb, self);
      g_clear_object (&self->vadjustment);
    }

  GTK_WIDGET_CLASS (confab_markdown_view_parent_class)->unroot (widget);
}

static void
confab_markdown_view_snapshot (GtkWidget   *widget,
                               GtkSnapshot *snapshot)
{
  ConfabMarkdownView *self = CONFAB_MARKDOWN_VIEW (widget);
  GtkWidget *scroller = NULL;
  graphene_rect_t shown;
  gboolean cull = FALSE;

  /* The scrolled window's area, in the view's coordinates. */
  if (self->vadjustment != NULL)
    scroller = gtk_widget_get_ancestor (widget, GTK_TYPE_SCROLLED_WINDOW);
  if (scroller != NULL)
    cull = gtk_widget_compute_bounds (scroller, widget, &shown);

  self->culled = FALSE;
  self->first_drawn = 0;
  self->n_drawn = 0;

  for (GtkWidget *page = gtk_widget_get_first_child (widget);
       page != NULL;
       page = gtk_widget_get_next_sibling (page))
    {
      graphene_rect_t bounds;

      if (cull && gtk_widget_compute_bounds (page, widget, &bounds) &&
          (bounds.origin.y + bounds.size.height < shown.origin.y - DRAW_MARGIN ||
           bounds.origin.y > shown.origin.y + shown.size.height + DRAW_MARGIN))
        {
          self->culled = TRUE;
          if (self->n_drawn == 0)
            self->first_drawn++;
          continue;
        }

      gtk_widget_snapshot_child (widget, page, snapshot);
      self->n_drawn++;
    }
}

/* GObject */

static void
confab_markdown_view_dispose (GObject *object)
{
  ConfabMarkdownView *self = CONFAB_MARKDOWN_VIEW (object);
  GtkWidget *child;

  if (self->tick_id != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->tick_id);
      self->tick_id = 0;
    }

  drop_doc (self);
  g_array_set_size (self->children, 0);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (confab_markdown_view_parent_class)->dispose (object);
}

static void
confab_markdown_view_finalize (GObject *object)
{
  ConfabMarkdownView *self = CONFAB_MARKDOWN_VIEW (object);

  g_string_free (self->text, TRUE);
  g_array_unref (self->children);

  G_OBJECT_CLASS (confab_markdown_view_parent_class)->finalize (object);
}

static void
confab_markdown_view_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  ConfabMarkdownView *self = CONFAB_MARKDOWN_VIEW (object);

  switch (prop_id)
    {
    case PROP_TEXT:
      g_value_set_string (value, self->text->str);
      break;

    case PROP_STREAMING:
      g_value_set_boolean (value, self->streaming);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
confab_markdown_view_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  ConfabMarkdownView *self = CONFAB_MARKDOWN_VIEW (object);

  switch (prop_id)
    {
    case PROP_TEXT:
      confab_markdown_view_set_text (self, g_value_get_string (value));
      break;

    case PROP_STREAMING:
      confab_markdown_view_set_streaming (self, g_value_get_boolean (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
confab_markdown_view_class_init (ConfabMarkdownViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = confab_markdown_view_dispose;
  object_class->finalize = confab_markdown_view_finalize;
  object_class->get_property = confab_markdown_view_get_property;
  object_class->set_property = confab_markdown_view_set_property;

  /* No notify on every streamed chunk: read it with get_text(). */
  properties[PROP_TEXT] =
    g_param_spec_string ("text", NULL, NULL,
                         "",
                         (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  properties[PROP_STREAMING] =
    g_param_spec_boolean ("streaming", NULL, NULL,
                          FALSE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  widget_class->root = confab_markdown_view_root;
  widget_class->unroot = confab_markdown_view_unroot;
  widget_class->snapshot = confab_markdown_view_snapshot;

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "markdownview");
}

static void
confab_markdown_view_init (ConfabMarkdownView *self)
{
  GtkLayoutManager *layout = gtk_widget_get_layout_manager (GTK_WIDGET (self));

  gtk_orientable_set_orientation (GTK_ORIENTABLE (layout), GTK_ORIENTATION_VERTICAL);
  gtk_box_layout_set_spacing (GTK_BOX_LAYOUT (layout), BLOCK_SPACING);

  self->text = g_string_new (NULL);
  self->children = g_array_new (FALSE, TRUE, sizeof (Child));

  g_array_set_clear_func (self->children, child_clear);
}

/* API */

/**
 * confab_markdown_view_new:
 *
 * Returns: (transfer floating): an empty view
 */
GtkWidget *
confab_markdown_view_new (void)
{
  return g_object_new (CONFAB_TYPE_MARKDOWN_VIEW, NULL);
}

/**
 * confab_markdown_view_set_text:
 * @self: a #ConfabMarkdownView
 * @text: (nullable): the whole text, Markdown
 *
 * Records @text and schedules an update on the next frame. When @text
 * extends the current text (a reply streaming in), only the new part is
 * copied; otherwise (an edit) every block is rendered anew.
 */
void
confab_markdown_view_set_text (ConfabMarkdownView *self,
                               const char         *text)
{
  gsize old_len;

  g_return_if_fail (CONFAB_IS_MARKDOWN_VIEW (self));

  if (text == NULL)
    text = "";

  if (text == self->text->str)
    return;

  old_len = self->text->len;

  /* strncmp stops at the end of a shorter @text, so it never reads past. */
  if (strncmp (text, self->text->str, old_len) == 0)
    {
      const char *rest = text + old_len;

      if (*rest == '\0')
        return;
      g_string_append (self->text, rest);
    }
  else
    {
      g_string_assign (self->text, text);
      reset_frozen (self);
    }

  schedule_render (self);
}

/**
 * confab_markdown_view_append_text:
 * @self: a #ConfabMarkdownView
 * @text: (array length=len): Markdown to add at the end
 * @len: length of @text, or -1 if it is NUL-terminated
 *
 * Like set_text() with the current text and @text joined, without the
 * comparison.
 */
void
confab_markdown_view_append_text (ConfabMarkdownView *self,
                                  const char         *text,
                                  gssize              len)
{
  g_return_if_fail (CONFAB_IS_MARKDOWN_VIEW (self));
  g_return_if_fail (text != NULL || len == 0);

  if (len < 0)
    len = strlen (text);
  if (len == 0)
    return;

  g_string_append_len (self->text, text, len);
  schedule_render (self);
}

/**
 * confab_markdown_view_get_text:
 * @self: a #ConfabMarkdownView
 *
 * Returns: (transfer none): the text
 */
const char *
confab_markdown_view_get_text (ConfabMarkdownView *self)
{
  g_return_val_if_fail (CONFAB_IS_MARKDOWN_VIEW (self), NULL);

  return self->text->str;
}

/**
 * confab_markdown_view_set_streaming:
 * @self: a #ConfabMarkdownView
 * @streaming: whether the text is still growing
 *
 * While streaming, finished blocks are frozen and only the tail is parsed
 * and rebuilt. Turning it off schedules a final render.
 */
void
confab_markdown_view_set_streaming (ConfabMarkdownView *self,
                                    gboolean            streaming)
{
  g_return_if_fail (CONFAB_IS_MARKDOWN_VIEW (self));

  streaming = !!streaming;
  if (self->streaming == streaming)
    return;

  self->streaming = streaming;
  drop_doc (self);

  if (!streaming)
    {
      self->ending = TRUE;
      schedule_render (self);
    }

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STREAMING]);
}

gboolean
confab_markdown_view_get_streaming (ConfabMarkdownView *self)
{
  g_return_val_if_fail (CONFAB_IS_MARKDOWN_VIEW (self), FALSE);

  return self->streaming;
}

/**
 * confab_markdown_view_flush:
 * @self: a #ConfabMarkdownView
 *
 * Renders a pending update now, all of it, instead of on the next frames.
 */
void
confab_markdown_view_flush (ConfabMarkdownView *self)
{
  g_return_if_fail (CONFAB_IS_MARKDOWN_VIEW (self));

  if (self->tick_id != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->tick_id);
      self->tick_id = 0;
    }

  if (self->dirty)
    render (self, FALSE);
}

guint
confab_markdown_view_get_render_count (ConfabMarkdownView *self)
{
  g_return_val_if_fail (CONFAB_IS_MARKDOWN_VIEW (self), 0);

  return self->render_count;
}

guint
confab_markdown_view_get_parse_count (ConfabMarkdownView *self)
{
  g_return_val_if_fail (CONFAB_IS_MARKDOWN_VIEW (self), 0);

  return self->parse_count;
}

void
confab_markdown_view_get_drawn_pages (ConfabMarkdownView *self,
                                      guint              *first,
                                      guint              *n_drawn,
                                      guint              *n_pages)
{
  guint n = 0;

  g_return_if_fail (CONFAB_IS_MARKDOWN_VIEW (self));

  for (GtkWidget *page = gtk_widget_get_first_child (GTK_WIDGET (self));
       page != NULL;
       page = gtk_widget_get_next_sibling (page))
    n++;

  *first = self->first_drawn;
  *n_drawn = self->n_drawn;
  *n_pages = n;
}

guint
confab_markdown_view_get_n_frozen (ConfabMarkdownView *self)
{
  g_return_val_if_fail (CONFAB_IS_MARKDOWN_VIEW (self), 0);

  return self->n_frozen;
}

gsize
confab_markdown_view_get_frozen_length (ConfabMarkdownView *self)
{
  g_return_val_if_fail (CONFAB_IS_MARKDOWN_VIEW (self), 0);

  return self->frozen_len;
}

guint
confab_markdown_view_get_n_fixed_at_end (ConfabMarkdownView *self)
{
  g_return_val_if_fail (CONFAB_IS_MARKDOWN_VIEW (self), 0);

  return self->n_fixed_at_end;
}
