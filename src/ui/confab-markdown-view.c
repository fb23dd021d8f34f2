/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-markdown-view"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "confab-code-block.h"
#include "confab-markdown.h"
#include "confab-markdown-view-private.h"
#include "confab-scrolling.h"

#define BLOCK_SPACING 10
#define CELL_MAX_WIDTH_CHARS 40
/* A wrapping GtkLabel without width-chars finds its minimum width by laying
 * its text out at the narrowest width, which with WORD_CHAR wrapping is one
 * line per character: 4× the cost of a whole re-layout of a long streaming
 * paragraph. A minimum of this many characters avoids that. */
#define LABEL_MIN_WIDTH_CHARS 20
/* Blocks go into pages of this many, in order. A page is what is built and
 * thrown away as one: only the pages near what the scrolled window shows
 * have widgets (a reply of 200 KB is 8,000 widgets; a screenful is a few
 * hundred). The others keep the height they had when last built, or an
 * estimate from their text until they are built once. A page that shows is
 * built whole, so the fewer blocks in one, the less is made that does not
 * show: opening a conversation whose last message is long took 63-73 ms to
 * show its text with pages of 8, 88-130 with pages of 32 (and 4 were no
 * better than 8). */
#define PAGE_SIZE 8
/* Pages this far (in screens) above or below what shows are built; pages
 * further than KEEP_SCREENS are thrown away. */
#define BUILD_SCREENS 1
#define KEEP_SCREENS  3
/* Built pages further than this outside the scrolled window are not drawn. */
#define DRAW_MARGIN 256
/* Time all views together may spend on new widgets in one frame: making
 * them, and (estimated, see estimate_cost_usec ()) styling and laying them
 * out later in the frame. What does not fit is made in the next frames, so
 * neither a long reply that arrived at once nor opening a conversation of
 * long messages stalls the window. Only that time counts: the rest of the
 * frame (parsing a streaming reply's open end, laying out what changed) is
 * to be done anyway, and counting it starved the new blocks of a reply
 * streaming in, which then showed late. */
#define FRAME_BUDGET_USEC 4000
/* And as much again for pages that show of a text not drawn yet (a
 * conversation opening, a row scrolled into sight, a reply that arrived
 * whole before its row was made): a longer frame is better than a message
 * with nothing in it. A reply that streams in shows as it comes, and what
 * is new in it may wait a frame. */
#define FRAME_ON_SCREEN_USEC 4000
/* Pages that do not show (the margins kept ready for scrolling) get less: a
 * reply that arrived at once built the screen above it in frames of 10-17 ms,
 * the estimates of the widgets' later cost falling short. */
#define FRAME_MARGIN_BUDGET_USEC 1500
/* A code block shown in a GtkSourceView (one still growing, or a very long
 * one) lays its text out in an idle of its own after the frame, below the
 * frame clock's priority: while frames follow each other without a pause,
 * those idles wait, and then GLib runs all of them in one go. So a few code
 * blocks are made per frame at most, and no more until the idles of those
 * with a view have run: an idle of a priority just below theirs says so. */
#define FRAME_MAX_CODE_BLOCKS 2
#define CODE_BLOCKS_LAID_OUT_PRIORITY (GDK_PRIORITY_REDRAW + 10)

/* A text to parse longer than this is parsed in a thread (md4c and the
 * markup take 2.5-5 ms for 200 KB, a reply that arrived at once): the
 * window keeps drawing what it showed until the blocks are ready. */
#define THREAD_PARSE_MIN (32 * 1024)

/* Widgets of pages far from what shows are thrown away between frames, in
 * an idle below them, this long at a time: finalizing widgets costs about as
 * much as making them (a whole page at once was a stall of its own), and in
 * a frame it made a reply streaming in at 40 KB/s 0.5-1 ms slower. */
#define DESTROY_SLICE_USEC 1000
#define DESTROY_PRIORITY G_PRIORITY_DEFAULT_IDLE

/* Highlighting is most of what making a code block costs (1-2.5 ms): the
 * next few code blocks to make, in the order the last frame made blocks in
 * from where its budget ran out, are highlighted between frames, one at a
 * time, in an idle below them. */
#define PREPARE_AHEAD 4
#define PREPARE_PRIORITY G_PRIORITY_DEFAULT_IDLE

static gpointer budget_clock;      /* the frame clock and frame the budget belongs to */
static gint64 budget_frame = -1;
static gint64 budget_spent_usec;   /* making widgets */
static gint64 budget_after_usec;   /* what the widgets made will cost after */
static guint  budget_made;         /* widgets made in that frame, by all views */
static guint  budget_code_blocks;  /* of which code blocks */
static guint  code_blocks_laid_out_id;

typedef struct
{
  GtkWidget           *widget;  /* in its page's box; NULL while not made */
  GtkWidget           *grid;    /* tables: the grid inside widget */
  ConfabMarkdownBlock *block;   /* what widget shows */
  gboolean             prepared; /* code: highlighted for its making */
} Child;

typedef struct
{
  GtkWidget *box;      /* NULL while the page is not built */
  int        y;        /* where the last allocation put it */
  int        shown;    /* and the height it had there */
  int        height;   /* its height at width once built whole; else -1 */
  int        width;
  int        estimate; /* from its text, at estimate_width (-1: none) */
  int        estimate_width;
  int        adjust;   /* added to the estimate: see absorb_above () */
} Page;

struct _ConfabMarkdownView
{
  GtkWidget  parent_instance;

  GString   *text;
  GArray    *children;        /* Child, in order */
  GArray    *pages;           /* Page; page k holds children[k * PAGE_SIZE…] */

  /* The scrolled window's, while the view is in one: what it shows decides
   * which pages are built and drawn. */
  GtkAdjustment *vadjustment;
  GdkFrameClock *layout_clock;

  /* While streaming, children[0..n_frozen) show text[0..frozen_len) and
   * are never touched again; next_number continues an ordered list cut at
   * frozen_len. */
  gsize      frozen_len;
  guint      n_frozen;
  guint      next_number;

  /* What shows at the scrolled window's top edge, to keep it there when
   * pages above it change height (built for the first time, say). */
  int        anchor_page;     /* -1: none */
  double     anchor_offset;   /* its top, from the window's top edge */
  /* How far the window was scrolled since (from outside the frame's
   * layout: in it, the value changes as the list around keeps what shows
   * in place, or follows the bottom), and the value last seen */
  double     scrolled;
  double     scroll_value;
  gboolean   in_layout;
  double     correction;      /* to add to the value after this layout */

  /* What the scrolled window showed at the last layout or drawing */
  graphene_rect_t shown;
  double     shown_value;
  gboolean   shown_known;

  /* Font sizes for estimates, in pixels */
  int        char_width;
  int        line_height;
  int        mono_line_height;
  int        last_width;

  guint      tick_id;
  guint      destroy_id;      /* throwing hidden pages away */
  guint      prepare_id;      /* highlighting code blocks to make */
  guint     *pending;         /* pages to build next, in order */
  guint      n_pending;
  guint      render_count;
  guint      parse_count;
  guint      first_drawn;     /* pages the last snapshot drew */
  guint      n_drawn;
  guint      n_fixed_at_end;
  int        growing_pos;     /* the code block being streamed into, or -1 */

  /* A parse in a thread, cancelled when its text is replaced or wanted
   * at once: a cancelled task returns no result, even one already made. */
  GCancellable *parse_cancellable;
  guint      n_dropped_parses;

  guint      streaming : 1;
  guint      dirty : 1;
  guint      parsing : 1;
  guint      full_width : 1;
  /* The text is new to the window: no whole page of it was drawn yet, and
   * it did not stream in (see FRAME_ON_SCREEN_USEC) */
  guint      fresh : 1;
  guint      culled : 1;      /* the last snapshot left pages out */
  guint      ending : 1;      /* streaming ended: the next render checks frozen blocks */
  guint      remeasure : 1;   /* allocated at a new width with a stale height */
};

G_DEFINE_FINAL_TYPE (ConfabMarkdownView, confab_markdown_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_TEXT,
  PROP_STREAMING,
  PROP_FULL_WIDTH,
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
  confab_scrolling_pass_vertical (scroller);

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

/* @growing: the block is the code block a reply streams into. */
static void
create_widget (Child                     *child,
               const ConfabMarkdownBlock *block,
               gboolean                   growing)
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
      confab_code_block_set_growing (CONFAB_CODE_BLOCK (widget), growing);
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

/* In a view that is given the full width of its place whatever it asks (an
 * assistant's message), a label's natural width is its minimum: GtkLabel
 * then lays its text out once less to measure it (unwrapped, for a natural
 * width nothing uses; 30-50 % of a new paragraph's layout). */
static void
set_label_widths (ConfabMarkdownView *self,
                  Child              *child)
{
  GtkLabel *label;

  if (child->widget == NULL || !GTK_IS_LABEL (child->widget))
    return;

  label = GTK_LABEL (child->widget);
  gtk_label_set_max_width_chars (label, self->full_width ? gtk_label_get_width_chars (label) : -1);
}

static gint64 estimate_cost_usec (const Child *child,
                                  gint64      *making_usec);

static void
start_frame_budget (GdkFrameClock *frame_clock)
{
  gint64 frame = gdk_frame_clock_get_frame_counter (frame_clock);

  /* Each window has a clock of its own, counting from its own start. */
  if (frame != budget_frame || (gpointer) frame_clock != budget_clock)
    {
      budget_clock = frame_clock;
      budget_frame = frame;
      budget_spent_usec = 0;
      budget_after_usec = 0;
      budget_made = 0;
      budget_code_blocks = 0;
    }
}

/* Whether a view may make the widget of @child in this frame, within
 * @budget_usec for all views: only if what it is estimated to cost fits in
 * what is left; without @whole, a paragraph, heading or list item while
 * anything is left, for new text on screen, which had better show a frame
 * sooner (with @whole, a reply streaming in at 40 KB/s left blocks for the
 * next frame in 25-32 % of its frames, 20-25 % without). A code block or a
 * table always waits for room: one costs 1-5 ms to make (a table of 20
 * cells 1.2 ms on average, 4 at most), and made last in a streaming frame
 * it took the frame past 20 ms of CPU. At least one widget is made per
 * frame among all views, so that rendering moves on. */
static gboolean
budget_allows (const Child *child,
               gint64       budget_usec,
               gboolean     whole)
{
  ConfabMarkdownBlockKind kind = confab_markdown_block_get_kind (child->block);
  gint64 making, after;

  if (budget_made == 0)
    return TRUE;

  if (kind == CONFAB_MARKDOWN_BLOCK_CODE &&
      (budget_code_blocks >= FRAME_MAX_CODE_BLOCKS || code_blocks_laid_out_id != 0))
    return FALSE;

  if (!whole && kind != CONFAB_MARKDOWN_BLOCK_CODE && kind != CONFAB_MARKDOWN_BLOCK_TABLE)
    return budget_spent_usec + budget_after_usec < budget_usec;

  after = estimate_cost_usec (child, &making);
  return budget_spent_usec + budget_after_usec + making + after <= budget_usec;
}

static gboolean
code_blocks_laid_out_cb (gpointer user_data)
{
  code_blocks_laid_out_id = 0;
  return G_SOURCE_REMOVE;
}

/* What the new widget of @block will cost this frame after its making, in
 * microseconds: its first style, and for a label its text laid out three
 * times (at its minimum width, unwrapped, and at the width it gets).
 * Measuring it as it is made would count that in the budget, but not save
 * it: the first style sets the text attributes again and the layout is
 * redone. With @making_usec, what making it costs (a code block's
 * highlighting, unless prepared; a table's cells). Measured on a slow
 * machine (2 cores, software drawing, a window computing its size twice a
 * frame with round trips to the X server); a faster one could make more in
 * a frame than it does. */
static gint64
estimate_cost_usec (const Child *child,
                    gint64      *making_usec)
{
  const ConfabMarkdownBlock *block = child->block;
  const char *text;
  gint64 making, after;

  switch (confab_markdown_block_get_kind (block))
    {
    case CONFAB_MARKDOWN_BLOCK_CODE:
      text = confab_markdown_block_get_code (block);
      making = 400 + (child->prepared ? 0 : 2 * (gint64) strlen (text != NULL ? text : ""));
      after = 300 + 2 * (gint64) strlen (text != NULL ? text : "");
      break;

    case CONFAB_MARKDOWN_BLOCK_TABLE:
      {
        guint n_rows = confab_markdown_block_get_n_rows (block);
        guint n_columns = confab_markdown_block_get_n_columns (block);

        making = 50 + 60 * (gint64) n_rows * n_columns;
        after = 100;
        for (guint row = 0; row < n_rows; row++)
          for (guint column = 0; column < n_columns; column++)
            after += 75 + 2 * (gint64) strlen (confab_markdown_block_get_cell (block, row, column));
      }
      break;

    case CONFAB_MARKDOWN_BLOCK_RULE:
      making = after = 20;
      break;

    case CONFAB_MARKDOWN_BLOCK_PARAGRAPH:
    case CONFAB_MARKDOWN_BLOCK_HEADING:
    case CONFAB_MARKDOWN_BLOCK_QUOTE:
    case CONFAB_MARKDOWN_BLOCK_LIST_ITEM:
    default:
      text = confab_markdown_block_get_markup (block);
      making = 30 + (gint64) strlen (text != NULL ? text : "") / 4;
      after = 150 + 2 * (gint64) strlen (text != NULL ? text : "");
      break;
    }

  if (making_usec != NULL)
    *making_usec = making;
  return after;
}

static void
budget_spend (const Child *child,
              gint64       spent_usec)
{
  const ConfabMarkdownBlock *block = child->block;
  GtkWidget *widget = child->widget;

  budget_made++;
  budget_spent_usec += spent_usec;
  budget_after_usec += estimate_cost_usec (child, NULL);
  if (confab_markdown_block_get_kind (block) == CONFAB_MARKDOWN_BLOCK_CODE)
    {
      budget_code_blocks++;
      if (confab_code_block_get_text_view (CONFAB_CODE_BLOCK (widget)) != NULL &&
          code_blocks_laid_out_id == 0)
        code_blocks_laid_out_id = g_idle_add_full (CODE_BLOCKS_LAID_OUT_PRIORITY,
                                                   code_blocks_laid_out_cb, NULL, NULL);
    }
}

/* Pages */

static inline Page *
get_page (ConfabMarkdownView *self,
          guint               index)
{
  return &g_array_index (self->pages, Page, index);
}

static inline Child *
get_child (ConfabMarkdownView *self,
           guint               pos)
{
  return &g_array_index (self->children, Child, pos);
}

/* One past the last block of page @index */
static guint
page_end (ConfabMarkdownView *self,
          guint               index)
{
  return MIN ((index + 1) * PAGE_SIZE, self->children->len);
}

static void
forget_page_height (ConfabMarkdownView *self,
                    guint               index)
{
  if (index < self->pages->len)
    {
      get_page (self, index)->height = -1;
      get_page (self, index)->estimate_width = -1;
    }
}

/* Throws the widgets of page @index away, from its last block back (what
 * is left of a page is always its first blocks), until @deadline (0: all).
 * Returns whether the page is gone. */
static gboolean
destroy_page (ConfabMarkdownView *self,
              guint               index,
              gint64              deadline)
{
  Page *page = get_page (self, index);

  if (page->box == NULL)
    return TRUE;

  /* Hidden, it takes the room it had while its widgets go, and they go
   * without the window laying itself out again for each. */
  gtk_widget_set_visible (page->box, FALSE);

  for (guint pos = page_end (self, index); pos > index * PAGE_SIZE; pos--)
    {
      Child *child = get_child (self, pos - 1);

      if (child->widget == NULL)
        continue;
      if (deadline != 0 && g_get_monotonic_time () >= deadline)
        return FALSE;

      gtk_box_remove (GTK_BOX (page->box), child->widget);
      child->widget = NULL;
      child->grid = NULL;
    }

  gtk_widget_unparent (page->box);
  page->box = NULL;

  return TRUE;
}

/* Throws away the pages hidden to go (a page wanted again meanwhile is
 * shown again, see update_pages ()). */
static gboolean
destroy_cb (gpointer user_data)
{
  ConfabMarkdownView *self = user_data;
  gint64 deadline = g_get_monotonic_time () + DESTROY_SLICE_USEC;

  for (guint i = 0; i < self->pages->len; i++)
    {
      GtkWidget *box = get_page (self, i)->box;

      if (box != NULL && !gtk_widget_get_visible (box) && !destroy_page (self, i, deadline))
        return G_SOURCE_CONTINUE;
    }

  self->destroy_id = 0;
  return G_SOURCE_REMOVE;
}

/* Hides page @index, to be thrown away between frames. */
static void
drop_page (ConfabMarkdownView *self,
           guint               index)
{
  Page *page = get_page (self, index);

  gtk_widget_set_visible (page->box, FALSE);
  if (self->destroy_id == 0)
    self->destroy_id = g_idle_add_full (DESTROY_PRIORITY, destroy_cb, self, NULL);
}

static void
build_page (ConfabMarkdownView *self,
            guint               index)
{
  Page *page = get_page (self, index);
  GtkWidget *next = NULL;

  g_assert (page->box == NULL);

  /* The view's children are the built pages, in order. */
  for (guint i = index + 1; i < self->pages->len && next == NULL; i++)
    next = get_page (self, i)->box;

  page->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, BLOCK_SPACING);
  gtk_widget_add_css_class (page->box, "md-page");
  gtk_widget_insert_before (page->box, GTK_WIDGET (self), next);
}

/* Items of one list sit closer than paragraphs: a list item that follows
 * another has the class md-list-next (see confab-markdown.css). CSS cannot
 * say it: the item before may be the last of the page before, in another
 * box. */
static void
update_list_spacing (ConfabMarkdownView *self,
                     guint               pos)
{
  Child *child;

  if (pos >= self->children->len)
    return;

  child = get_child (self, pos);
  if (child->widget == NULL ||
      confab_markdown_block_get_kind (child->block) != CONFAB_MARKDOWN_BLOCK_LIST_ITEM)
    return;

  if (pos > 0 &&
      confab_markdown_block_get_kind (get_child (self, pos - 1)->block) == CONFAB_MARKDOWN_BLOCK_LIST_ITEM)
    gtk_widget_add_css_class (child->widget, "md-list-next");
  else
    gtk_widget_remove_css_class (child->widget, "md-list-next");
}

/* Makes the widget of children[@pos], whose page is built and whose
 * previous blocks in that page have theirs. */
static void
make_block_widget (ConfabMarkdownView *self,
                   guint               pos)
{
  Child *child = get_child (self, pos);
  Page *page = get_page (self, pos / PAGE_SIZE);
  GtkWidget *previous = pos % PAGE_SIZE > 0 ? get_child (self, pos - 1)->widget : NULL;

  g_assert (page->box != NULL && child->widget == NULL);
  g_assert (pos % PAGE_SIZE == 0 || previous != NULL);

  create_widget (child, child->block, (int) pos == self->growing_pos);
  child->prepared = FALSE;
  set_label_widths (self, child);
  gtk_box_insert_child_after (GTK_BOX (page->box), child->widget, previous);
  update_list_spacing (self, pos);
}

/* As many pages as the blocks fill; pages past them go. */
static void
sync_pages (ConfabMarkdownView *self)
{
  guint n_pages = (self->children->len + PAGE_SIZE - 1) / PAGE_SIZE;
  guint old_n_pages = self->pages->len;

  for (guint i = n_pages; i < old_n_pages; i++)
    {
      Page *page = get_page (self, i);

      if (page->box != NULL)
        gtk_widget_unparent (page->box);
    }

  g_array_set_size (self->pages, n_pages);
  for (guint i = old_n_pages; i < n_pages; i++)
    {
      Page *page = get_page (self, i);

      page->box = NULL;
      page->y = -1;
      page->shown = 0;
      page->height = -1;
      page->width = 0;
      page->estimate = 0;
      page->estimate_width = -1;
      page->adjust = 0;
    }
}

/* Estimates: the height of text not built yet, from its length */

static void
ensure_metrics (ConfabMarkdownView *self)
{
  /* The same for every view, and slow to ask Pango for (0.4 ms) */
  static int char_width, line_height, mono_line_height;
  PangoContext *context;
  PangoFontMetrics *metrics;
  PangoFontDescription *mono;

  if (self->line_height > 0)
    return;

  if (line_height > 0)
    {
      self->char_width = char_width;
      self->line_height = line_height;
      self->mono_line_height = mono_line_height;
      return;
    }

  context = gtk_widget_get_pango_context (GTK_WIDGET (self));
  metrics = pango_context_get_metrics (context, NULL, NULL);
  self->char_width = MAX (1, PANGO_PIXELS (pango_font_metrics_get_approximate_char_width (metrics)));
  self->line_height = MAX (1, PANGO_PIXELS (pango_font_metrics_get_height (metrics)));
  pango_font_metrics_unref (metrics);

  mono = pango_font_description_copy (pango_context_get_font_description (context));
  pango_font_description_set_family (mono, "monospace");
  metrics = pango_context_get_metrics (context, mono, NULL);
  self->mono_line_height = MAX (1, PANGO_PIXELS (pango_font_metrics_get_height (metrics)));
  pango_font_metrics_unref (metrics);
  pango_font_description_free (mono);

  char_width = self->char_width;
  line_height = self->line_height;
  mono_line_height = self->mono_line_height;
}

/* Characters of text in @markup, and its line breaks */
static void
count_markup (const char *markup,
              gsize      *n_chars,
              gsize      *n_breaks)
{
  *n_chars = 0;
  *n_breaks = 0;

  for (const char *p = markup; p != NULL && *p != '\0'; p++)
    {
      if (*p == '<')
        {
          p = strchr (p, '>');
          if (p == NULL)
            break;
        }
      else if (*p == '\n')
        (*n_breaks)++;
      else if ((*p & 0xC0) != 0x80 && *p != ';')
        (*n_chars)++;
    }
}

static int
estimate_block (ConfabMarkdownView        *self,
                const ConfabMarkdownBlock *block,
                int                        width)
{
  ConfabMarkdownBlockKind kind = confab_markdown_block_get_kind (block);
  gsize n_chars, n_breaks;

  switch (kind)
    {
    case CONFAB_MARKDOWN_BLOCK_CODE:
      {
        const char *code = confab_markdown_block_get_code (block);
        gsize n_lines = 0;

        for (const char *p = code; p != NULL && *p != '\0'; p++)
          if (*p == '\n')
            n_lines++;
        /* The header with the language and Copy, the margins */
        return MAX (n_lines, 1) * self->mono_line_height + 56;
      }

    case CONFAB_MARKDOWN_BLOCK_TABLE:
      return confab_markdown_block_get_n_rows (block) * (self->line_height + 12) + 4;

    case CONFAB_MARKDOWN_BLOCK_RULE:
      return 10;

    case CONFAB_MARKDOWN_BLOCK_PARAGRAPH:
    case CONFAB_MARKDOWN_BLOCK_HEADING:
    case CONFAB_MARKDOWN_BLOCK_QUOTE:
    case CONFAB_MARKDOWN_BLOCK_LIST_ITEM:
    default:
      {
        int per_line = MAX (10, (width - indent_for (block)) / self->char_width);
        int height;

        count_markup (confab_markdown_block_get_markup (block), &n_chars, &n_breaks);
        height = (int) ((n_chars + per_line - 1) / per_line + n_breaks) * self->line_height;
        if (kind == CONFAB_MARKDOWN_BLOCK_HEADING)
          height = height * 3 / 2 + 4;
        return MAX (height, self->line_height);
      }
    }
}

/* The estimate of blocks [@start, @end) */
static int
estimate_blocks (ConfabMarkdownView *self,
                 guint               start,
                 guint               end,
                 int                 width)
{
  int height = 0;

  ensure_metrics (self);

  for (guint pos = start; pos < end; pos++)
    height += estimate_block (self, get_child (self, pos)->block, width) + BLOCK_SPACING;

  return MAX (0, height - BLOCK_SPACING);
}

static gboolean
page_complete (ConfabMarkdownView *self,
               guint               index)
{
  guint end = page_end (self, index);

  return get_page (self, index)->box != NULL &&
         (end == index * PAGE_SIZE || get_child (self, end - 1)->widget != NULL);
}

/* The height page @index takes at @width: measured when built, as last
 * built when not, estimated when never built. */
static int
page_height (ConfabMarkdownView *self,
             guint               index,
             int                 width,
             int                *box_height)
{
  Page *page = get_page (self, index);
  guint start = index * PAGE_SIZE;
  guint end = page_end (self, index);

  *box_height = 0;

  /* A page being thrown away is hidden: it takes the room it had. */
  if (page->box != NULL && gtk_widget_get_visible (page->box))
    {
      gtk_widget_measure (page->box, GTK_ORIENTATION_VERTICAL, width, NULL, box_height, NULL, NULL);
      if (page_complete (self, index))
        return *box_height;
    }

  /* Not built, or not whole (being built, or thrown away) */
  if (page->height >= 0 && page->width == width)
    return page->height;

  if (page->estimate_width != width)
    {
      page->estimate = estimate_blocks (self, start, end, width);
      page->estimate_width = width;
      page->adjust = 0;
    }

  /* Built at another width: as the estimate scales, from now on. */
  if (page->height >= 0 && page->width > 0)
    {
      int then = estimate_blocks (self, start, end, page->width);

      if (then > 0)
        page->height = (int) ((gint64) page->height * page->estimate / then);
      page->width = width;

      return page->height;
    }

  /* Being built for the first time: the blocks made, then the estimate of
   * the others */
  if (page->box != NULL && gtk_widget_get_visible (page->box))
    {
      guint made = start;

      while (made < end && get_child (self, made)->widget != NULL)
        made++;

      return *box_height + (made > start ? BLOCK_SPACING : 0) + estimate_blocks (self, made, end, width);
    }

  return MAX (0, page->estimate + page->adjust);
}

/* Page @index, above what shows, changed height by @delta at @width (built
 * where an estimate stood, say): the pages never built above it take as
 * much the other way, the nearest first, each down to half its estimate at
 * most. Then what shows does not move, the view keeps its height, and the
 * frame has nothing new to draw: the frames building the screen above a
 * 200 KB reply after it arrived, in a window following its end, took 5-6 ms
 * of CPU instead of 7-9, and 1 ms to paint instead of 3, when each moved
 * everything and the whole window was drawn again. The estimates were off
 * anyway: the difference goes up to the pages never built, and shows when
 * one of them is built where it shows (the view then scrolls to keep what
 * shows still, see keep_content_still ()). Returns the change of their
 * heights. */
static int
absorb_above (ConfabMarkdownView *self,
              guint               index,
              int                 delta,
              int                 width)
{
  int taken = 0;

  for (guint j = index; j-- > 0 && taken != -delta;)
    {
      Page *page = get_page (self, j);
      int height, change;

      if (page->box != NULL || page->height >= 0 || page->estimate_width != width)
        continue;

      height = page->estimate + page->adjust;
      change = -delta - taken;
      if (change < 0)
        change = MAX (change, MIN (0, page->estimate / 2 - height));
      page->adjust += change;
      page->shown += change;
      taken += change;
    }

  return taken;
}

/* Whether page @index, where the last allocation put it, is above what
 * shows: the window may have scrolled since. */
static gboolean
page_above_shown (ConfabMarkdownView *self,
                  guint               index)
{
  Page *page = get_page (self, index);
  double top;

  if (self->vadjustment == NULL || !self->shown_known || page->y < 0)
    return FALSE;

  top = self->shown.origin.y + gtk_adjustment_get_value (self->vadjustment) - self->shown_value;
  return page->y + page->shown <= top;
}

/* The height of all pages at @width, as the next allocation will have it;
 * at the width of the last one, a page above what showed there that
 * changed height has those never built above it take the difference. */
static int
content_height (ConfabMarkdownView *self,
                int                 width)
{
  int height = 0;

  for (guint i = 0; i < self->pages->len; i++)
    {
      Page *page = get_page (self, i);
      int box_height;
      int page_h = page_height (self, i, width, &box_height);

      if (page_h != page->shown && width == self->last_width && page_above_shown (self, i))
        {
          height += absorb_above (self, i, page_h - page->shown, width);
          page->shown = page_h;
        }
      height += page_h + (i > 0 ? BLOCK_SPACING : 0);
    }

  return height;
}

/* What the scrolled window shows, in the view's coordinates, as the
 * current allocations have it; remembered for get_shown(). */
static gboolean
compute_shown (ConfabMarkdownView *self,
               graphene_rect_t    *shown)
{
  GtkWidget *scroller;

  if (self->vadjustment == NULL || self->last_width <= 0)
    return FALSE;

  scroller = gtk_widget_get_ancestor (GTK_WIDGET (self), GTK_TYPE_SCROLLED_WINDOW);
  if (scroller == NULL || !gtk_widget_compute_bounds (scroller, GTK_WIDGET (self), shown))
    return FALSE;

  self->shown = *shown;
  self->shown_value = gtk_adjustment_get_value (self->vadjustment);
  self->shown_known = TRUE;

  return TRUE;
}

/* Whether the scrolled window shows its end, which it then follows (see
 * the chat view). */
static gboolean
window_at_end (ConfabMarkdownView *self)
{
  double bottom = gtk_adjustment_get_upper (self->vadjustment) -
                  gtk_adjustment_get_page_size (self->vadjustment);

  return gtk_adjustment_get_value (self->vadjustment) >= bottom - 2;
}

/* The same before this frame's layout: a view that only moved is neither
 * allocated nor drawn again, so what shows is what it was when last
 * computed, moved by as much as the window scrolled since. */
static gboolean
get_shown (ConfabMarkdownView *self,
           graphene_rect_t    *shown)
{
  if (self->vadjustment == NULL || !self->shown_known)
    return FALSE;

  *shown = self->shown;
  shown->origin.y += gtk_adjustment_get_value (self->vadjustment) - self->shown_value;

  /* A window following its end keeps the view's bottom where it was on
   * screen when the view grows or shrinks: what will show is as far from
   * the new end as it was from the old. A reply that arrived at once had
   * its first frame build the top of the view, scrolled away by then. */
  if (window_at_end (self))
    shown->origin.y += content_height (self, self->last_width) - gtk_widget_get_height (GTK_WIDGET (self));

  return TRUE;
}

static gboolean
contains_focus (ConfabMarkdownView *self,
                GtkWidget          *box)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *focus = root != NULL ? gtk_root_get_focus (root) : NULL;

  return focus != NULL && (focus == box || gtk_widget_is_ancestor (focus, box));
}

static gboolean
prepare_cb (gpointer user_data)
{
  ConfabMarkdownView *self = user_data;
  guint ahead = 0;

  for (guint k = 0; k < self->n_pending && ahead < PREPARE_AHEAD; k++)
    {
      guint index = self->pending[k];

      if (index >= self->pages->len)
        continue;

      for (guint pos = index * PAGE_SIZE; pos < page_end (self, index) && ahead < PREPARE_AHEAD; pos++)
        {
          Child *child = get_child (self, pos);

          if (child->widget != NULL || (int) pos == self->growing_pos ||
              confab_markdown_block_get_kind (child->block) != CONFAB_MARKDOWN_BLOCK_CODE)
            continue;

          ahead++;
          if (child->prepared)
            continue;

          confab_code_block_prepare_code (confab_markdown_block_get_language (child->block),
                                          confab_markdown_block_get_code (child->block));
          child->prepared = TRUE;
          return G_SOURCE_CONTINUE;
        }
    }

  self->prepare_id = 0;
  return G_SOURCE_REMOVE;
}

/* The frame's budget ran out with the pages order[0..n_pending) to build
 * (the first one part built, maybe): their code blocks are highlighted
 * before the next frame. */
static void
prepare_pending (ConfabMarkdownView *self,
                 const guint        *order,
                 guint               n_pending)
{
  g_free (self->pending);
  self->pending = g_memdup2 (order, n_pending * sizeof (guint));
  self->n_pending = n_pending;

  if (self->prepare_id == 0)
    self->prepare_id = g_idle_add_full (PREPARE_PRIORITY, prepare_cb, self, NULL);
}

/* Builds the pages near what shows and hides those far from it, to be
 * thrown away between frames; with @limited, within the frame's budget.
 * Returns whether more is to be made. */
static gboolean
update_pages (ConfabMarkdownView *self,
              gboolean            limited)
{
  graphene_rect_t shown;
  g_autofree guint *order = NULL;
  guint n_wanted = 0;
  guint n_near = 0;           /* order[0..n_near) show */
  gboolean geometry;

  if (self->pages->len == 0)
    return FALSE;

  order = g_new (guint, self->pages->len);
  geometry = limited && get_shown (self, &shown);

  if (geometry)
    {
      double screen = MAX (shown.size.height, 100);
      double build_top = shown.origin.y - BUILD_SCREENS * screen;
      double build_bottom = shown.origin.y + shown.size.height + BUILD_SCREENS * screen;
      double keep_top = shown.origin.y - KEEP_SCREENS * screen;
      double keep_bottom = shown.origin.y + shown.size.height + KEEP_SCREENS * screen;
      int y = 0;

      /* Where each page is now, as the next allocation will put it */
      for (guint i = 0; i < self->pages->len; i++)
        {
          Page *page = get_page (self, i);
          int box_height;
          int height = page_height (self, i, self->last_width, &box_height);

          if (y + height >= keep_top && y <= keep_bottom)
            {
              if (y + height >= build_top && y <= build_bottom)
                {
                  /* Those on screen first, then the margins; while a reply
                   * streams in, the last of those on screen first: the
                   * window follows its end, and when more comes in a frame
                   * than is made in one, the pages above scroll away. */
                  if (y + height >= shown.origin.y && y <= shown.origin.y + shown.size.height)
                    {
                      guint at = self->streaming ? 0 : n_near;

                      memmove (order + at + 1, order + at, (n_wanted - at) * sizeof (guint));
                      order[at] = i;
                      n_near++;
                    }
                  else
                    order[n_wanted] = i;
                  n_wanted++;
                }
            }
          else if (page->box != NULL && gtk_widget_get_visible (page->box) &&
                   !contains_focus (self, page->box))
            drop_page (self, i);

          y += height + BLOCK_SPACING;
        }
    }
  else if (limited && self->vadjustment != NULL)
    {
      /* In a scrolled window, not placed yet: nothing until it is (its
       * allocation asks for a tick). A list makes rows beyond what shows,
       * and their views, building pages without knowing whether they
       * show, took the first frames from the row on screen. */
    }
  else
    {
      for (guint i = 0; i < self->pages->len; i++)
        order[n_wanted++] = i;
    }

  for (guint j = 0; j < n_wanted; j++)
    {
      guint index = order[j];
      Page *page = get_page (self, index);
      /* What shows of a text not drawn yet or streaming in */
      gboolean new_on_screen = j < n_near && (self->fresh || self->streaming);
      gint64 budget = j >= n_near ? FRAME_MARGIN_BUDGET_USEC
                                  : FRAME_BUDGET_USEC + (self->fresh ? FRAME_ON_SCREEN_USEC : 0);

      if (page->box == NULL)
        {
          gint64 start;

          if (limited && !budget_allows (get_child (self, index * PAGE_SIZE), budget, !new_on_screen))
            {
              prepare_pending (self, order + j, n_wanted - j);
              return TRUE;
            }
          start = g_get_monotonic_time ();
          build_page (self, index);
          budget_spent_usec += g_get_monotonic_time () - start;
        }
      /* Being thrown away, and wanted again */
      gtk_widget_set_visible (page->box, TRUE);

      for (guint pos = index * PAGE_SIZE; pos < page_end (self, index); pos++)
        {
          Child *child = get_child (self, pos);
          gint64 start;

          if (child->widget != NULL)
            continue;
          if (limited && !budget_allows (child, budget, !new_on_screen))
            {
              prepare_pending (self, order + j, n_wanted - j);
              return TRUE;
            }
          start = g_get_monotonic_time ();
          make_block_widget (self, pos);
          if (limited)
            budget_spend (child, g_get_monotonic_time () - start);
        }
    }

  return FALSE;
}

/* Blocks */

/* Makes children[start..] hold the blocks of @doc; block widgets already
 * made are updated or replaced, new blocks get theirs when their page is
 * built. Returns how many of children[start..start + n_checked) changed. */
static guint
update_children (ConfabMarkdownView *self,
                 guint               start,
                 ConfabMarkdownDoc  *doc,
                 guint               n_checked)
{
  guint n_blocks = confab_markdown_doc_get_n_blocks (doc);
  guint old_len = self->children->len;
  guint n_changed = 0;
  gboolean changed = FALSE;

  for (guint i = 0; i < n_blocks; i++)
    {
      const ConfabMarkdownBlock *block = confab_markdown_doc_get_block (doc, i);
      guint pos = start + i;

      if (pos < self->children->len)
        {
          Child *child = get_child (self, pos);

          if (confab_markdown_block_equal (child->block, block))
            continue;

          if (i < n_checked)
            n_changed++;

          if (child->widget != NULL && !update_widget (child, block))
            {
              GtkWidget *old_widget = child->widget;

              create_widget (child, block, (int) pos == self->growing_pos);
              gtk_box_insert_child_after (GTK_BOX (gtk_widget_get_parent (old_widget)),
                                          child->widget, old_widget);
              gtk_box_remove (GTK_BOX (gtk_widget_get_parent (old_widget)), old_widget);
            }
          set_label_widths (self, child);

          confab_markdown_block_free (child->block);
          child->block = confab_markdown_block_copy (block);
          child->prepared = FALSE;
          update_list_spacing (self, pos);
          update_list_spacing (self, pos + 1);
          forget_page_height (self, pos / PAGE_SIZE);
          changed = TRUE;
        }
      else
        {
          Child child = { 0, };

          child.block = confab_markdown_block_copy (block);
          g_array_append_val (self->children, child);
          changed = TRUE;
        }
    }

  for (guint pos = start + n_blocks; pos < self->children->len; pos++)
    {
      Child *child = get_child (self, pos);

      if (pos - start < n_checked)
        n_changed++;
      if (child->widget != NULL)
        gtk_box_remove (GTK_BOX (gtk_widget_get_parent (child->widget)), child->widget);
      changed = TRUE;
    }

  if (self->children->len > start + n_blocks)
    g_array_set_size (self->children, start + n_blocks);

  /* The pages that gained or lost blocks */
  for (guint i = MIN (old_len, self->children->len) / PAGE_SIZE; i < self->pages->len; i++)
    forget_page_height (self, i);
  sync_pages (self);

  /* Pages not built change height without a widget saying so. */
  if (changed)
    gtk_widget_queue_resize (GTK_WIDGET (self));

  return n_changed;
}

/* Where the open code block of @doc (parsed from block @start on while
 * streaming) goes: its last block, when that is code not yet stable. */
static int
growing_code_block (ConfabMarkdownView *self,
                    guint               start,
                    ConfabMarkdownDoc  *doc)
{
  guint n_blocks = confab_markdown_doc_get_n_blocks (doc);
  const ConfabMarkdownBlock *last;

  if (n_blocks == 0 || confab_markdown_doc_get_n_stable_blocks (doc) >= n_blocks)
    return -1;

  last = confab_markdown_doc_get_block (doc, n_blocks - 1);
  if (confab_markdown_block_get_kind (last) != CONFAB_MARKDOWN_BLOCK_CODE)
    return -1;

  return (int) (start + n_blocks - 1);
}

/* The code block at growing_pos (-1: none) is the one growing now; the one
 * at @old stops growing. Widgets made since were made so. */
static void
update_growing (ConfabMarkdownView *self,
                int                 old)
{
  int pos = self->growing_pos;

  if (old == pos)
    return;

  if (old >= 0 && (guint) old < self->children->len)
    {
      GtkWidget *widget = get_child (self, old)->widget;

      if (widget != NULL && CONFAB_IS_CODE_BLOCK (widget))
        confab_code_block_set_growing (CONFAB_CODE_BLOCK (widget), FALSE);
    }
  if (pos >= 0 && (guint) pos < self->children->len)
    {
      GtkWidget *widget = get_child (self, pos)->widget;

      if (widget != NULL && CONFAB_IS_CODE_BLOCK (widget))
        confab_code_block_set_growing (CONFAB_CODE_BLOCK (widget), TRUE);
    }
}

static void
reset_frozen (ConfabMarkdownView *self)
{
  self->frozen_len = 0;
  self->n_frozen = 0;
  self->next_number = 0;
}

/* What a render parses: the text whole, or the tail after the frozen
 * blocks. While streaming, only the open tail: finished blocks are frozen.
 * At the end, the text whole, unless no link reference definition can be in
 * it ("]:" is in every one): then the frozen blocks are final already, and
 * only the tail is parsed (5 ms less at the end of a 200 KB reply). */
typedef struct
{
  char     *text;       /* a copy of what is parsed, for a thread */
  gsize     start;
  gsize     len;
  gboolean  whole;
  gboolean  streaming;
  guint     next_number;
} ParseJob;

static void
parse_job_free (gpointer data)
{
  ParseJob *job = data;

  g_free (job->text);
  g_free (job);
}

static ParseJob *
parse_job_new (ConfabMarkdownView *self)
{
  ParseJob *job = g_new0 (ParseJob, 1);

  job->streaming = self->streaming;
  job->whole = !self->streaming && strstr (self->text->str, "]:") != NULL;
  job->next_number = self->next_number;
  job->start = job->whole ? 0 : self->frozen_len;
  job->len = self->text->len - job->start;

  return job;
}

static ConfabMarkdownDoc *
parse_job_run (ParseJob   *job,
               const char *text)
{
  if (job->whole)
    return confab_markdown_parse (text, job->len);

  return confab_markdown_parse_continued (text, job->len, job->next_number);
}

/* Updates the blocks from what @job parsed. Equal blocks keep their
 * widgets. */
static void
apply_doc (ConfabMarkdownView *self,
           ParseJob           *job,
           ConfabMarkdownDoc  *doc)
{
  int growing_was = self->growing_pos;
  guint n_changed;

  self->render_count++;
  self->parse_count++;

  if (!job->whole)
    {
      self->growing_pos = job->streaming ? growing_code_block (self, self->n_frozen, doc) : -1;
      update_children (self, self->n_frozen, doc, 0);
      update_growing (self, growing_was);

      if (job->streaming)
        {
          if (confab_markdown_doc_get_stable_length (doc) > 0)
            {
              self->n_frozen += confab_markdown_doc_get_n_stable_blocks (doc);
              self->frozen_len += confab_markdown_doc_get_stable_length (doc);
              self->next_number = confab_markdown_doc_get_next_number (doc);
            }
          return;
        }

      /* The whole text, as final */
      if (self->ending)
        self->n_fixed_at_end = 0;
      self->ending = FALSE;
      reset_frozen (self);
      return;
    }

  self->growing_pos = -1;
  n_changed = update_children (self, 0, doc, self->n_frozen);
  update_growing (self, growing_was);
  if (self->ending)
    self->n_fixed_at_end = n_changed;
  self->ending = FALSE;
  reset_frozen (self);
}

static void
parse_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  ParseJob *job = task_data;

  g_task_return_pointer (task, parse_job_run (job, job->text),
                         (GDestroyNotify) confab_markdown_doc_unref);
}

static void ensure_tick (ConfabMarkdownView *self);

static void
parse_done_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  ConfabMarkdownView *self = CONFAB_MARKDOWN_VIEW (object);
  ParseJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(ConfabMarkdownDoc) doc = g_task_propagate_pointer (G_TASK (result), NULL);

  /* Disposed, flushed, or the text replaced: a newer render follows. */
  if (doc == NULL)
    {
      self->n_dropped_parses++;
      return;
    }

  self->parsing = FALSE;
  g_clear_object (&self->parse_cancellable);
  apply_doc (self, job, doc);
  ensure_tick (self);
}

/* Parses the text and updates the blocks: now, or with @may_thread and a
 * long text to parse, in a thread (the blocks change when it is done). */
static void
render (ConfabMarkdownView *self,
        gboolean            may_thread)
{
  g_autoptr(ConfabMarkdownDoc) doc = NULL;
  ParseJob *job = parse_job_new (self);

  self->dirty = FALSE;

  if (may_thread && job->len >= THREAD_PARSE_MIN)
    {
      g_autoptr(GTask) task = NULL;

      job->text = g_strndup (self->text->str + job->start, job->len);
      self->parsing = TRUE;
      self->parse_cancellable = g_cancellable_new ();

      task = g_task_new (self, self->parse_cancellable, parse_done_cb, NULL);
      g_task_set_source_tag (task, render);
      g_task_set_return_on_cancel (task, TRUE);
      g_task_set_task_data (task, job, parse_job_free);
      g_task_run_in_thread (task, parse_thread);
      return;
    }

  doc = parse_job_run (job, self->text->str + job->start);
  apply_doc (self, job, doc);
  parse_job_free (job);
}

/* Drops a parse under way: its text is gone, or it is wanted now. */
static void
cancel_parse (ConfabMarkdownView *self)
{
  if (!self->parsing)
    return;

  self->parsing = FALSE;
  self->dirty = TRUE;
  g_cancellable_cancel (self->parse_cancellable);
  g_clear_object (&self->parse_cancellable);
}

static gboolean
tick_cb (GtkWidget     *widget,
         GdkFrameClock *frame_clock,
         gpointer       user_data)
{
  ConfabMarkdownView *self = CONFAB_MARKDOWN_VIEW (widget);

  self->tick_id = 0;
  start_frame_budget (frame_clock);

  if (self->dirty && !self->parsing)
    render (self, TRUE);

  /* More to make: the next frame goes on. */
  if (update_pages (self, TRUE))
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
  self->dirty = TRUE;
  ensure_tick (self);
}

/* Layout: the built pages, and the room of the others */

static void
confab_markdown_view_measure (GtkWidget      *widget,
                              GtkOrientation  orientation,
                              int             for_size,
                              int            *minimum,
                              int            *natural,
                              int            *minimum_baseline,
                              int            *natural_baseline)
{
  ConfabMarkdownView *self = CONFAB_MARKDOWN_VIEW (widget);

  *minimum = *natural = 0;

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      for (guint i = 0; i < self->pages->len; i++)
        {
          Page *page = get_page (self, i);
          int min, nat;

          if (page->box == NULL)
            continue;
          gtk_widget_measure (page->box, orientation, -1, &min, &nat, NULL, NULL);
          *minimum = MAX (*minimum, min);
          *natural = MAX (*natural, nat);
        }
      return;
    }

  if (for_size < 0)
    for_size = self->last_width > 0 ? self->last_width : 600;

  *minimum = *natural = content_height (self, for_size);
}

static void
layout_cb (GdkFrameClock      *frame_clock,
           ConfabMarkdownView *self)
{
  double correction = self->correction;

  if (self->remeasure)
    {
      self->remeasure = FALSE;
      gtk_widget_queue_resize (GTK_WIDGET (self));
    }

  self->correction = 0;
  if (correction != 0 && self->vadjustment != NULL)
    gtk_adjustment_set_value (self->vadjustment,
                              gtk_adjustment_get_value (self->vadjustment) + correction);
}

/* Pages above the scrolled window's top edge that change height (built for
 * the first time, say, where an estimate stood) would move what shows: the
 * window scrolls by as much, after this layout. @moved: how far they moved
 * the page at the top edge down in the view. */
static void
keep_content_still (ConfabMarkdownView *self,
                    int                 moved)
{
  graphene_rect_t shown;
  int anchor = -1;

  if (!compute_shown (self, &shown) ||
      shown.origin.y < 0 || shown.origin.y >= gtk_widget_get_height (GTK_WIDGET (self)))
    {
      self->anchor_page = -1;
      return;
    }

  if (self->anchor_page >= 0 && (guint) self->anchor_page < self->pages->len && !window_at_end (self))
    {
      double expected = self->anchor_offset - self->scrolled;
      double actual = get_page (self, self->anchor_page)->y - shown.origin.y;

      /* Only what the pages above moved it by: the list around the view
       * places it in its own way as the window scrolls, and keeps an edge of
       * the view where it was (then nothing moved on screen). */
      double correction = CLAMP (actual - expected, MIN (0, moved), MAX (0, moved));

      if (ABS (correction) >= 1)
        self->correction += correction;
    }

  for (guint i = 0; i < self->pages->len && anchor < 0; i++)
    {
      Page *page = get_page (self, i);

      if (page->y + page->shown > shown.origin.y)
        anchor = i;
    }

  self->anchor_page = anchor;
  self->scrolled = 0;
  if (anchor >= 0)
    self->anchor_offset = get_page (self, anchor)->y - shown.origin.y - self->correction;

  /* Usually in this frame's layout already, whose end applies it. */
  if (self->correction != 0 && self->layout_clock != NULL)
    gdk_frame_clock_request_phase (self->layout_clock, GDK_FRAME_CLOCK_PHASE_LAYOUT);
}

static void
confab_markdown_view_size_allocate (GtkWidget *widget,
                                    int        width,
                                    int        height,
                                    int        baseline)
{
  ConfabMarkdownView *self = CONFAB_MARKDOWN_VIEW (widget);
  gboolean missing = FALSE;
  gboolean width_changed;
  int anchor_y = -1;
  int y = 0;

  /* Pages above what shows that changed since the view was measured
   * settle it with those above them first. */
  if (width == self->last_width)
    content_height (self, width);

  width_changed = width != self->last_width;
  self->last_width = width;
  if (self->anchor_page >= 0 && (guint) self->anchor_page < self->pages->len)
    anchor_y = get_page (self, self->anchor_page)->y;

  for (guint i = 0; i < self->pages->len; i++)
    {
      Page *page = get_page (self, i);
      int box_height;
      int page_h = page_height (self, i, width, &box_height);

      if (page->box != NULL)
        gtk_widget_allocate (page->box, width, box_height, -1,
                             gsk_transform_translate (NULL, &GRAPHENE_POINT_INIT (0, y)));
      if (page_complete (self, i))
        {
          page->height = page_h;
          page->width = width;
        }
      else
        missing = TRUE;

      page->y = y;
      page->shown = page_h;
      y += page_h + BLOCK_SPACING;
    }

  keep_content_still (self, anchor_y >= 0 ? get_page (self, self->anchor_page)->y - anchor_y : 0);

  /* Given a new width with a height that is not its own there, the view
   * asks to be measured again once this layout is done. GTK keeps the
   * heights a widget gave for a few widths, and the view's height at a width
   * other than its own changes as pages are built without asking: a window
   * made as narrow as it goes got a height measured there long before, and
   * showed the empty room left at the view's end until scrolled. */
  if (width_changed && self->pages->len > 0 && y - BLOCK_SPACING != height)
    {
      self->remeasure = TRUE;
      if (self->layout_clock != NULL)
        gdk_frame_clock_request_phase (self->layout_clock, GDK_FRAME_CLOCK_PHASE_LAYOUT);
    }

  /* What shows may have changed: build or throw away pages. */
  if (self->vadjustment != NULL || missing)
    ensure_tick (self);
}

/* Drawing: only the built pages near what the scrolled window shows are
 * drawn, and the view is drawn again when that changes. */

static void
scrolled_cb (ConfabMarkdownView *self)
{
  double value = gtk_adjustment_get_value (self->vadjustment);

  if (!self->in_layout)
    self->scrolled += value - self->scroll_value;
  self->scroll_value = value;

  /* Drawn again, it learns where it is now. */
  if (self->culled || self->pages->len > 1)
    gtk_widget_queue_draw (GTK_WIDGET (self));
  if (self->pages->len > 1)
    ensure_tick (self);
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
  self->scroll_value = gtk_adjustment_get_value (self->vadjustment);
  self->scrolled = 0;
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
  self->anchor_page = -1;
  self->correction = 0;
  self->shown_known = FALSE;

  GTK_WIDGET_CLASS (confab_markdown_view_parent_class)->unroot (widget);
}

static void
layout_starts_cb (ConfabMarkdownView *self)
{
  self->in_layout = TRUE;
}

static void
layout_ends_cb (ConfabMarkdownView *self)
{
  self->in_layout = FALSE;
}

static void
confab_markdown_view_realize (GtkWidget *widget)
{
  ConfabMarkdownView *self = CONFAB_MARKDOWN_VIEW (widget);

  GTK_WIDGET_CLASS (confab_markdown_view_parent_class)->realize (widget);

  /* After the window's own layout, to scroll back what moved */
  self->layout_clock = gtk_widget_get_frame_clock (widget);
  if (self->layout_clock != NULL)
    {
      g_signal_connect_object (self->layout_clock, "layout", G_CALLBACK (layout_cb),
                               self, G_CONNECT_AFTER);
      /* From the end of the update phase (where ticks scroll, kinetic
       * scrolling among them) to the end of the frame, the frame lays out
       * (and draws). */
      g_signal_connect_object (self->layout_clock, "update", G_CALLBACK (layout_starts_cb),
                               self, G_CONNECT_SWAPPED | G_CONNECT_AFTER);
      g_signal_connect_object (self->layout_clock, "after-paint", G_CALLBACK (layout_ends_cb),
                               self, G_CONNECT_SWAPPED);
    }
}

static void
confab_markdown_view_unrealize (GtkWidget *widget)
{
  ConfabMarkdownView *self = CONFAB_MARKDOWN_VIEW (widget);

  if (self->layout_clock != NULL)
    {
      g_signal_handlers_disconnect_by_func (self->layout_clock, layout_cb, self);
      g_signal_handlers_disconnect_by_func (self->layout_clock, layout_starts_cb, self);
      g_signal_handlers_disconnect_by_func (self->layout_clock, layout_ends_cb, self);
      self->layout_clock = NULL;
      self->in_layout = FALSE;
    }
  self->correction = 0;

  GTK_WIDGET_CLASS (confab_markdown_view_parent_class)->unrealize (widget);
}

static void
confab_markdown_view_snapshot (GtkWidget   *widget,
                               GtkSnapshot *snapshot)
{
  ConfabMarkdownView *self = CONFAB_MARKDOWN_VIEW (widget);
  graphene_rect_t shown;
  gboolean cull = compute_shown (self, &shown);

  self->culled = FALSE;
  self->first_drawn = 0;
  self->n_drawn = 0;

  for (guint i = 0; i < self->pages->len; i++)
    {
      Page *page = get_page (self, i);

      if (page->box == NULL ||
          (cull &&
           (page->y + page->shown < shown.origin.y - DRAW_MARGIN ||
            page->y > shown.origin.y + shown.size.height + DRAW_MARGIN)))
        {
          self->culled = TRUE;
          if (self->n_drawn == 0)
            self->first_drawn++;
          continue;
        }

      gtk_widget_snapshot_child (widget, page->box, snapshot);
      self->n_drawn++;
      if (page_complete (self, i))
        self->fresh = FALSE;
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
  g_clear_handle_id (&self->destroy_id, g_source_remove);
  g_clear_handle_id (&self->prepare_id, g_source_remove);
  g_clear_pointer (&self->pending, g_free);
  cancel_parse (self);

  g_array_set_size (self->children, 0);
  g_array_set_size (self->pages, 0);
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
  g_array_unref (self->pages);

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

    case PROP_FULL_WIDTH:
      g_value_set_boolean (value, self->full_width);
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

    case PROP_FULL_WIDTH:
      confab_markdown_view_set_full_width (self, g_value_get_boolean (value));
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

  properties[PROP_FULL_WIDTH] =
    g_param_spec_boolean ("full-width", NULL, NULL,
                          FALSE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  widget_class->measure = confab_markdown_view_measure;
  widget_class->size_allocate = confab_markdown_view_size_allocate;
  widget_class->realize = confab_markdown_view_realize;
  widget_class->unrealize = confab_markdown_view_unrealize;
  widget_class->root = confab_markdown_view_root;
  widget_class->unroot = confab_markdown_view_unroot;
  widget_class->snapshot = confab_markdown_view_snapshot;

  gtk_widget_class_set_css_name (widget_class, "markdownview");
}

static void
confab_markdown_view_init (ConfabMarkdownView *self)
{
  self->text = g_string_new (NULL);
  self->children = g_array_new (FALSE, TRUE, sizeof (Child));
  self->growing_pos = -1;
  self->pages = g_array_new (FALSE, TRUE, sizeof (Page));
  self->anchor_page = -1;
  self->fresh = TRUE;

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
      cancel_parse (self);
      g_string_assign (self->text, text);
      reset_frozen (self);
      self->fresh = TRUE;
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
  if (streaming)
    self->fresh = FALSE;

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
 * confab_markdown_view_set_full_width:
 * @self: a #ConfabMarkdownView
 * @full_width: whether the view is always given the full width of its place
 *
 * Says that the view's natural width is not used (it fills its place, as an
 * assistant's message does, not the width of its text, as yours does). Its
 * text is then measured with less work.
 */
void
confab_markdown_view_set_full_width (ConfabMarkdownView *self,
                                     gboolean            full_width)
{
  g_return_if_fail (CONFAB_IS_MARKDOWN_VIEW (self));

  full_width = !!full_width;
  if (self->full_width == full_width)
    return;

  self->full_width = full_width;
  for (guint pos = 0; pos < self->children->len; pos++)
    set_label_widths (self, get_child (self, pos));

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FULL_WIDTH]);
}

gboolean
confab_markdown_view_get_full_width (ConfabMarkdownView *self)
{
  g_return_val_if_fail (CONFAB_IS_MARKDOWN_VIEW (self), FALSE);

  return self->full_width;
}

/**
 * confab_markdown_view_flush:
 * @self: a #ConfabMarkdownView
 *
 * Renders a pending update now, all of it, instead of on the next frames,
 * and builds every page, near what shows or not (until the next frame
 * throws the far ones away again).
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

  cancel_parse (self);
  if (self->dirty)
    render (self, FALSE);
  update_pages (self, FALSE);
}

/**
 * confab_markdown_view_warm_up:
 * @part: which part of the sample, from 0
 *
 * Lays out a little of every kind of block, out of sight: the first text in
 * each font (bold, italic, monospace, each heading size) loads the font and
 * builds its shaping plans, 15-25 ms in all, which would otherwise fall on
 * the frames that show the first reply. For idle moments after start, a
 * part (a few milliseconds) at a time.
 *
 * Returns: whether there are parts after @part
 */
gboolean
confab_markdown_view_warm_up (guint part)
{
  static const char *parts[] = {
    "# One\n\n## Two\n",
    "### Three\n\n#### Four\n",
    "Text with **bold**, *italic*, ~~struck~~, `code` and a [link](https://example.com).\n\n"
    "> A quote\n\n1. First\n   - [x] done\n",
    "| A | B |\n|---|--:|\n| **x** | `1` |\n",
    "```python\ndef f(x):\n    return \"x\"  # 1\n```\n",
  };
  g_autoptr(ConfabMarkdownView) view = NULL;

  if (part >= G_N_ELEMENTS (parts))
    return FALSE;

  view = g_object_ref_sink (CONFAB_MARKDOWN_VIEW (confab_markdown_view_new ()));
  confab_markdown_view_set_text (view, parts[part]);
  confab_markdown_view_flush (view);
  gtk_widget_measure (GTK_WIDGET (view), GTK_ORIENTATION_VERTICAL, 600, NULL, NULL, NULL, NULL);

  return part + 1 < G_N_ELEMENTS (parts);
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
  g_return_if_fail (CONFAB_IS_MARKDOWN_VIEW (self));

  *first = self->first_drawn;
  *n_drawn = self->n_drawn;
  *n_pages = self->pages->len;
}

void
confab_markdown_view_get_built (ConfabMarkdownView *self,
                                guint              *first_page,
                                guint              *n_built,
                                guint              *n_made)
{
  g_return_if_fail (CONFAB_IS_MARKDOWN_VIEW (self));

  *first_page = G_MAXUINT;
  *n_built = 0;
  *n_made = 0;

  for (guint i = 0; i < self->pages->len; i++)
    {
      GtkWidget *box = get_page (self, i)->box;

      if (box == NULL || !gtk_widget_get_visible (box))
        continue;
      *first_page = MIN (*first_page, i);
      (*n_built)++;
      for (guint pos = i * PAGE_SIZE; pos < page_end (self, i); pos++)
        if (get_child (self, pos)->widget != NULL)
          (*n_made)++;
    }
}

guint
confab_markdown_view_get_blocks_per_page (void)
{
  return PAGE_SIZE;
}

gboolean
confab_markdown_view_shows_unbuilt (ConfabMarkdownView *self)
{
  graphene_rect_t shown;

  g_return_val_if_fail (CONFAB_IS_MARKDOWN_VIEW (self), FALSE);

  if (!compute_shown (self, &shown))
    return FALSE;

  for (guint i = 0; i < self->pages->len; i++)
    {
      Page *page = get_page (self, i);

      if (page->y + page->shown > shown.origin.y &&
          page->y < shown.origin.y + shown.size.height &&
          !page_complete (self, i))
        return TRUE;
    }

  return FALSE;
}

void
confab_markdown_view_forget_pages (ConfabMarkdownView *self)
{
  g_return_if_fail (CONFAB_IS_MARKDOWN_VIEW (self));

  for (guint i = 0; i < self->pages->len; i++)
    {
      destroy_page (self, i, 0);
      forget_page_height (self, i);
    }

  gtk_widget_queue_resize (GTK_WIDGET (self));
  ensure_tick (self);
}

gboolean
confab_markdown_view_is_settled (ConfabMarkdownView *self)
{
  g_return_val_if_fail (CONFAB_IS_MARKDOWN_VIEW (self), FALSE);

  return !self->dirty && !self->parsing && self->tick_id == 0 && self->destroy_id == 0 &&
         self->prepare_id == 0 && self->correction == 0;
}

/* Whether a parse runs in a thread */
gboolean
confab_markdown_view_is_parsing (ConfabMarkdownView *self)
{
  g_return_val_if_fail (CONFAB_IS_MARKDOWN_VIEW (self), FALSE);

  return self->parsing;
}

/* Parses in a thread whose result came after the text changed */
guint
confab_markdown_view_get_n_dropped_parses (ConfabMarkdownView *self)
{
  g_return_val_if_fail (CONFAB_IS_MARKDOWN_VIEW (self), 0);

  return self->n_dropped_parses;
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
