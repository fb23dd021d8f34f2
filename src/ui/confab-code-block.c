/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-code-block"

#include "config.h"

#include <string.h>

#include <adwaita.h>
#include <glib/gi18n.h>
#include <gtksourceview/gtksource.h>

#include "confab-code-block-private.h"
#include "confab-scrolling.h"
#include "confab-tooltip.h"

#define COPIED_FEEDBACK_SECONDS 2

/* Code longer than this shows in a GtkSourceView, which takes more text by
 * inserting it and lays out and draws only the lines that show; shorter code
 * is one label, its markup made again whenever the code grows. */
#define MAX_LABEL_LINES 400
#define MAX_GROWING_LABEL_LINES 60
/* Code with a longer line (minified, say) is not highlighted: the time
 * GtkSourceView takes over a line grows with its square (JavaScript: 20 ms
 * at 1 KB, 450 ms at 4 KB, and past 2 s it gives up with a critical warning;
 * C and Python: 1.4 ms at 1 KB, 45 ms at 8 KB). Lines of code are rarely
 * over 200 bytes. */
#define MAX_HIGHLIGHTED_LINE 500

struct _ConfabCodeBlock
{
  GtkWidget        parent_instance;

  /* Children */
  GtkWidget       *header;
  GtkWidget       *language_label;
  GtkWidget       *copy_button;
  GtkWidget       *scroller;
  /* What shows the code: one of the two */
  GtkWidget       *view;        /* a GtkSourceView on buffer */
  GtkWidget       *label;       /* the code as highlighted markup */

  /* Owned */
  GtkSourceBuffer *buffer;      /* with a view, or while growing: highlights
                                 * the code as it comes */
  char            *language;
  GtkSourceLanguage *source_language;  /* the language's rules, or NULL */
  char            *code;
  gsize            shown_len;   /* code[0..shown_len) shows */
  guint            n_lines;     /* of the code shown */
  guint            copied_id;

  guint            growing : 1;
  guint            long_line : 1;   /* a line over MAX_HIGHLIGHTED_LINE */
};

G_DEFINE_FINAL_TYPE (ConfabCodeBlock, confab_code_block, GTK_TYPE_WIDGET)

/* Fence names that are not GtkSourceView language ids. */
static const struct
{
  const char *alias;
  const char *id;
} language_aliases[] = {
  { "bash", "sh" },
  { "c#", "c-sharp" },
  { "c++", "cpp" },
  { "cc", "cpp" },
  { "console", "sh" },
  { "cs", "c-sharp" },
  { "csharp", "c-sharp" },
  { "cxx", "cpp" },
  { "dockerfile", "docker" },
  { "f#", "fsharp" },
  { "golang", "go" },
  { "h", "c" },
  { "hpp", "cpp" },
  { "javascript", "js" },
  { "jsonc", "json" },
  { "kt", "kotlin" },
  { "make", "makefile" },
  { "md", "markdown" },
  { "mjs", "js" },
  { "objective-c", "objc" },
  { "patch", "diff" },
  { "pl", "perl" },
  { "plaintext", NULL },
  { "proto", "proto" },
  { "ps1", "powershell" },
  { "py", "python3" },
  { "python", "python3" },
  { "py3", "python3" },
  { "python2", "python" },
  { "rb", "ruby" },
  { "rs", "rust" },
  { "shell", "sh" },
  { "shellsession", "sh" },
  { "svg", "xml" },
  { "tex", "latex" },
  { "text", NULL },
  { "ts", "typescript" },
  { "tsx", "typescript-jsx" },
  { "txt", NULL },
  { "vb", "vbnet" },
  { "yml", "yaml" },
  { "zsh", "sh" },
};

static GtkSourceLanguage *
find_language (const char *name)
{
  GtkSourceLanguageManager *manager;
  GtkSourceLanguage *language;
  g_autofree char *lower = NULL;
  g_autofree char *filename = NULL;

  if (name == NULL || name[0] == '\0' || !g_utf8_validate (name, -1, NULL))
    return NULL;

  manager = gtk_source_language_manager_get_default ();
  lower = g_ascii_strdown (name, -1);

  for (guint i = 0; i < G_N_ELEMENTS (language_aliases); i++)
    {
      if (strcmp (lower, language_aliases[i].alias) == 0)
        {
          if (language_aliases[i].id == NULL)
            return NULL;
          return gtk_source_language_manager_get_language (manager, language_aliases[i].id);
        }
    }

  language = gtk_source_language_manager_get_language (manager, lower);
  if (language != NULL)
    return language;

  /* Otherwise the fence name is often the file extension: "go", "java". */
  if (strpbrk (lower, "/\\") != NULL)
    return NULL;
  filename = g_strconcat ("file.", lower, NULL);

  return gtk_source_language_manager_guess_language (manager, filename, NULL);
}

/* GtkSourceView reads and compiles a language's highlighting rules when the
 * first buffer asks for it, and forgets them with the last such buffer:
 * 12-150 ms (C, JavaScript, HTML) each time a conversation with code opens
 * or a code block is built again. One idle buffer per language used keeps
 * them; there are as many as languages used, a few dozen at most. */
static GHashTable *kept_languages;

/* A buffer that highlights @language (or nothing with %NULL), for code
 * that is only read */
static GtkSourceBuffer *
new_highlighting_buffer (GtkSourceLanguage *language)
{
  GtkSourceBuffer *buffer = gtk_source_buffer_new (NULL);

  gtk_text_buffer_set_enable_undo (GTK_TEXT_BUFFER (buffer), FALSE);
  gtk_source_buffer_set_highlight_matching_brackets (buffer, FALSE);
  gtk_source_buffer_set_highlight_syntax (buffer, TRUE);
  gtk_source_buffer_set_language (buffer, language);

  return buffer;
}

static GtkSourceBuffer *
keep_language (GtkSourceLanguage *language)
{
  GtkSourceBuffer *buffer;
  const char *id;

  if (language == NULL)
    return NULL;

  id = gtk_source_language_get_id (language);
  if (kept_languages == NULL)
    kept_languages = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  else if ((buffer = g_hash_table_lookup (kept_languages, id)) != NULL)
    return buffer;

  /* It also highlights the code of finished blocks, which show it as a
   * label: they take the markup and leave the buffer empty. */
  buffer = new_highlighting_buffer (language);
  g_hash_table_insert (kept_languages, g_strdup (id), buffer);

  return buffer;
}

/**
 * confab_code_block_prepare_language:
 * @name: a fence's language name ("py", "c++", …)
 *
 * Reads the highlighting rules of @name now, so that the first code block
 * in that language costs no more than the next ones.
 */
void
confab_code_block_prepare_language (const char *name)
{
  g_return_if_fail (name != NULL);

  gtk_source_init ();
  keep_language (find_language (name));
}

static GtkSourceStyleScheme *
current_scheme (void)
{
  GtkSourceStyleSchemeManager *manager = gtk_source_style_scheme_manager_get_default ();
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  GtkSourceStyleScheme *scheme;

  scheme = gtk_source_style_scheme_manager_get_scheme (manager, dark ? "Adwaita-dark" : "Adwaita");
  if (scheme == NULL)
    scheme = gtk_source_style_scheme_manager_get_scheme (manager, dark ? "classic-dark" : "classic");

  return scheme;
}

/* A label showing code takes the colours a GtkSourceView would have from
 * the scheme's "text" style, so that a block looks the same in either. */
static void
update_label_colors (GtkSourceStyleScheme *scheme)
{
  static GtkCssProvider *provider;
  static char *provider_scheme;
  const char *id = scheme != NULL ? gtk_source_style_scheme_get_id (scheme) : "";
  GdkDisplay *display = gdk_display_get_default ();
  g_autoptr(GString) css = NULL;
  g_autofree char *foreground = NULL;
  g_autofree char *background = NULL;
  gboolean foreground_set = FALSE;
  gboolean background_set = FALSE;
  GtkSourceStyle *style;

  if (display == NULL || g_strcmp0 (provider_scheme, id) == 0)
    return;

  g_free (provider_scheme);
  provider_scheme = g_strdup (id);

  css = g_string_new ("codeblock label.md-code-text {");
  style = scheme != NULL ? gtk_source_style_scheme_get_style (scheme, "text") : NULL;

  if (style != NULL)
    g_object_get (style,
                  "foreground", &foreground, "foreground-set", &foreground_set,
                  "background", &background, "background-set", &background_set,
                  NULL);
  if (foreground_set && foreground != NULL)
    g_string_append_printf (css, " color: %s;", foreground);
  if (background_set && background != NULL)
    g_string_append_printf (css, " background-color: %s;", background);
  g_string_append (css, " }");

  if (provider == NULL)
    {
      provider = gtk_css_provider_new ();
      gtk_style_context_add_provider_for_display (display, GTK_STYLE_PROVIDER (provider),
                                                  GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
    }
  gtk_css_provider_load_from_data (provider, css->str, (gssize) css->len);
}

/* What a highlighting tag sets, of what a label can show */
typedef struct
{
  gconstpointer scheme;   /* the scheme it was read in; compared only */
  GdkRGBA foreground;
  GdkRGBA background;
  int     weight;
  int     style;          /* PangoStyle */
  guint   foreground_set : 1;
  guint   background_set : 1;
  guint   weight_set : 1;
  guint   style_set : 1;
  guint   underline : 1;
  guint   underline_set : 1;
  guint   strikethrough : 1;
  guint   strikethrough_set : 1;
} Look;

/* A tag's look, kept on the tag for the scheme it was read in */
static const Look *
tag_look (GtkTextTag           *tag,
          GtkSourceStyleScheme *scheme)
{
  static GQuark look_quark;
  Look *look;
  GdkRGBA *foreground = NULL;
  GdkRGBA *background = NULL;
  gboolean foreground_set, background_set, weight_set, style_set, underline_set, strikethrough_set;
  gboolean strikethrough;
  PangoUnderline underline;
  PangoStyle style;

  if (look_quark == 0)
    look_quark = g_quark_from_static_string ("confab-code-block-look");
  look = g_object_get_qdata (G_OBJECT (tag), look_quark);
  if (look != NULL && look->scheme == scheme)
    return look;

  look = g_new0 (Look, 1);
  look->scheme = scheme;
  g_object_set_qdata_full (G_OBJECT (tag), look_quark, look, g_free);

  g_object_get (tag,
                "foreground-set", &foreground_set, "foreground-rgba", &foreground,
                "background-set", &background_set, "background-rgba", &background,
                "weight-set", &weight_set, "weight", &look->weight,
                "style-set", &style_set, "style", &style,
                "underline-set", &underline_set, "underline", &underline,
                "strikethrough-set", &strikethrough_set, "strikethrough", &strikethrough,
                NULL);

  look->foreground_set = foreground_set && foreground != NULL;
  if (look->foreground_set)
    look->foreground = *foreground;
  look->background_set = background_set && background != NULL;
  if (look->background_set)
    look->background = *background;
  look->weight_set = weight_set;
  look->style_set = style_set;
  look->style = style;
  look->underline_set = underline_set;
  look->underline = underline != PANGO_UNDERLINE_NONE;
  look->strikethrough_set = strikethrough_set;
  look->strikethrough = strikethrough;

  g_clear_pointer (&foreground, gdk_rgba_free);
  g_clear_pointer (&background, gdk_rgba_free);

  return look;
}

/* What @tag sets, over @look */
static void
look_add (Look       *look,
          const Look *tag)
{
  if (tag->foreground_set)
    look->foreground = tag->foreground;
  if (tag->background_set)
    look->background = tag->background;
  if (tag->weight_set)
    look->weight = tag->weight;
  if (tag->style_set)
    look->style = tag->style;
  if (tag->underline_set)
    look->underline = tag->underline;
  if (tag->strikethrough_set)
    look->strikethrough = tag->strikethrough;

  look->foreground_set |= tag->foreground_set;
  look->background_set |= tag->background_set;
  look->weight_set |= tag->weight_set;
  look->style_set |= tag->style_set;
  look->underline_set |= tag->underline_set;
  look->strikethrough_set |= tag->strikethrough_set;
}

static void
append_color (GString       *out,
              const char    *name,
              const char    *alpha_name,
              const GdkRGBA *color)
{
  g_string_append_printf (out, " %s=\"#%02x%02x%02x\"", name,
                          (guint) (CLAMP (color->red, 0, 1) * 255 + 0.5),
                          (guint) (CLAMP (color->green, 0, 1) * 255 + 0.5),
                          (guint) (CLAMP (color->blue, 0, 1) * 255 + 0.5));
  if (color->alpha < 1)
    g_string_append_printf (out, " %s=\"%u\"", alpha_name,
                            (guint) CLAMP (color->alpha * 65535, 1, 65535));
}

/* The attributes of a <span> showing @look */
static void
append_look (GString    *out,
             const Look *look)
{
  if (look->foreground_set)
    append_color (out, "foreground", "fgalpha", &look->foreground);
  if (look->background_set)
    append_color (out, "background", "bgalpha", &look->background);
  if (look->weight_set)
    g_string_append_printf (out, " weight=\"%d\"", look->weight);
  if (look->style_set)
    g_string_append (out, look->style == PANGO_STYLE_ITALIC ? " style=\"italic\""
                          : look->style == PANGO_STYLE_OBLIQUE ? " style=\"oblique\""
                          : " style=\"normal\"");
  if (look->underline_set && look->underline)
    g_string_append (out, " underline=\"single\"");
  if (look->strikethrough_set && look->strikethrough)
    g_string_append (out, " strikethrough=\"true\"");
}

/* The buffer's text as Pango markup, coloured as its highlighting has it;
 * where tags overlap, the one of higher priority wins, as in a view. */
static char *
highlighted_markup (GtkSourceBuffer *buffer)
{
  GtkTextBuffer *text_buffer = GTK_TEXT_BUFFER (buffer);
  GtkSourceStyleScheme *scheme = gtk_source_buffer_get_style_scheme (buffer);
  g_autoptr(GString) attributes = g_string_new (NULL);
  GString *markup = g_string_new (NULL);
  GtkTextIter iter, end;

  gtk_text_buffer_get_bounds (text_buffer, &iter, &end);
  gtk_source_buffer_ensure_highlight (buffer, &iter, &end);

  while (!gtk_text_iter_is_end (&iter))
    {
      GtkTextIter next = iter;
      g_autoptr(GSList) tags = gtk_text_iter_get_tags (&iter);
      g_autofree char *text = NULL;
      g_autofree char *escaped = NULL;
      Look look = { 0, };

      gtk_text_iter_forward_to_tag_toggle (&next, NULL);
      text = gtk_text_iter_get_slice (&iter, &next);
      escaped = g_markup_escape_text (text, -1);

      /* In ascending priority: each tag overrides what it sets. */
      for (GSList *l = tags; l != NULL; l = l->next)
        look_add (&look, tag_look (l->data, scheme));

      g_string_truncate (attributes, 0);
      append_look (attributes, &look);
      if (attributes->len > 0)
        g_string_append_printf (markup, "<span%s>%s</span>", attributes->str, escaped);
      else
        g_string_append (markup, escaped);

      iter = next;
    }

  return g_string_free (markup, FALSE);
}

/* The language the block's buffer highlights with */
static GtkSourceLanguage *
buffer_language (ConfabCodeBlock *self)
{
  return self->long_line ? NULL : self->source_language;
}

/* Counts the lines of code[0..len), and sees whether one is too long to
 * highlight. */
static guint
count_lines (const char *code,
             gsize       len,
             gboolean   *long_line)
{
  const char *end = code + len;
  guint n_lines = 0;

  *long_line = FALSE;

  for (const char *line = code; line <= end; )
    {
      const char *newline = memchr (line, '\n', end - line);

      if ((newline != NULL ? newline : end) - line > MAX_HIGHLIGHTED_LINE)
        *long_line = TRUE;
      n_lines++;
      line = (newline != NULL ? newline : end) + 1;
    }

  return n_lines;
}

static void
scan_lines (ConfabCodeBlock *self)
{
  gboolean long_line;

  self->n_lines = count_lines (self->code, self->shown_len, &long_line);
  self->long_line = long_line;
}

/* @code's length as shown: one final newline is not */
static gsize
shown_length (const char *code)
{
  gsize len = strlen (code);

  return len > 0 && code[len - 1] == '\n' ? len - 1 : len;
}

/* Markup highlighted ahead, between frames, for finished blocks about to be
 * made (see confab_code_block_prepare_code ()), the latest last */
typedef struct
{
  GtkSourceLanguage    *language;
  GtkSourceStyleScheme *scheme;
  char                 *code;    /* as shown */
  char                 *markup;
} Prepared;

#define MAX_PREPARED 8

static GQueue prepared_markup = G_QUEUE_INIT;
static guint n_prepared_taken;

static void
prepared_free (Prepared *prepared)
{
  g_free (prepared->code);
  g_free (prepared->markup);
  g_free (prepared);
}

/* The markup prepared for code[0..len) in @language, taken from the
 * prepared; NULL if none. */
static char *
take_prepared (GtkSourceLanguage *language,
               const char        *code,
               gsize              len)
{
  GtkSourceStyleScheme *scheme = current_scheme ();

  for (GList *l = prepared_markup.head; l != NULL; l = l->next)
    {
      Prepared *prepared = l->data;

      if (prepared->language == language && prepared->scheme == scheme &&
          strlen (prepared->code) == len && memcmp (prepared->code, code, len) == 0)
        {
          char *markup = g_steal_pointer (&prepared->markup);

          g_queue_delete_link (&prepared_markup, l);
          prepared_free (prepared);
          n_prepared_taken++;
          return markup;
        }
    }

  return NULL;
}

/* code[0..len) as markup, highlighted in @language's kept buffer */
static char *
highlight (GtkSourceLanguage *language,
           const char        *code,
           gsize              len)
{
  GtkSourceBuffer *buffer = keep_language (language);
  char *markup;

  if (buffer == NULL)
    return g_markup_escape_text (code, (gssize) len);

  markup = take_prepared (language, code, len);
  if (markup != NULL)
    return markup;

  gtk_source_buffer_set_style_scheme (buffer, current_scheme ());
  gtk_text_buffer_set_text (GTK_TEXT_BUFFER (buffer), code, (int) len);
  markup = highlighted_markup (buffer);
  gtk_text_buffer_set_text (GTK_TEXT_BUFFER (buffer), "", 0);

  return markup;
}

/* Highlights code[0..shown_len) in the language's kept buffer */
static char *
markup_for_code (ConfabCodeBlock *self)
{
  return highlight (buffer_language (self), self->code, self->shown_len);
}

static gboolean
wants_view (ConfabCodeBlock *self)
{
  return self->n_lines > (self->growing ? MAX_GROWING_LABEL_LINES : MAX_LABEL_LINES);
}

static void
ensure_buffer (ConfabCodeBlock *self)
{
  if (self->buffer != NULL)
    return;

  self->buffer = new_highlighting_buffer (buffer_language (self));
  gtk_source_buffer_set_style_scheme (self->buffer, current_scheme ());
  gtk_text_buffer_set_text (GTK_TEXT_BUFFER (self->buffer), self->code, (int) self->shown_len);
}

static void
show_view (ConfabCodeBlock *self)
{
  ensure_buffer (self);

  self->view = gtk_source_view_new_with_buffer (self->buffer);
  gtk_text_view_set_editable (GTK_TEXT_VIEW (self->view), FALSE);
  gtk_text_view_set_cursor_visible (GTK_TEXT_VIEW (self->view), FALSE);
  gtk_text_view_set_monospace (GTK_TEXT_VIEW (self->view), TRUE);
  gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (self->view), GTK_WRAP_NONE);
  gtk_text_view_set_left_margin (GTK_TEXT_VIEW (self->view), 12);
  gtk_text_view_set_right_margin (GTK_TEXT_VIEW (self->view), 12);
  gtk_text_view_set_top_margin (GTK_TEXT_VIEW (self->view), 8);
  gtk_text_view_set_bottom_margin (GTK_TEXT_VIEW (self->view), 10);
  gtk_widget_add_css_class (self->view, "md-code-view");
  /* Drops the label, if any */
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (self->scroller), self->view);
  self->label = NULL;
}

static void
show_label (ConfabCodeBlock *self,
            const char      *markup)
{
  update_label_colors (current_scheme ());

  if (self->label == NULL)
    {
      self->label = gtk_label_new (NULL);
      gtk_label_set_selectable (GTK_LABEL (self->label), TRUE);
      gtk_label_set_xalign (GTK_LABEL (self->label), 0.0);
      gtk_label_set_yalign (GTK_LABEL (self->label), 0.0);
      gtk_widget_add_css_class (self->label, "md-code-text");
      gtk_widget_add_css_class (self->label, "monospace");
      /* Drops the view, if any */
      gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (self->scroller), self->label);
      self->view = NULL;
    }

  gtk_label_set_markup (GTK_LABEL (self->label), markup);
}

/* Long code shows in a GtkSourceView. Otherwise a label shows the code
 * highlighted: a tenth of the widgets, made and laid out in a fraction of
 * the time. While the code grows, a buffer of the block's own highlights
 * only what is new (GtkSourceView's engine picks up where it stopped) and
 * the label takes the markup of the whole; finished, the block keeps the
 * markup and lets the buffer go. Code made finished is highlighted once, in
 * the buffer kept for its language. @code_changed: whether the label has
 * to show other code. */
static void
update_form (ConfabCodeBlock *self,
             gboolean         code_changed)
{
  g_autofree char *markup = NULL;

  if (wants_view (self))
    {
      if (self->view == NULL)
        show_view (self);
      return;
    }

  if (self->growing)
    ensure_buffer (self);

  if (code_changed || self->label == NULL)
    {
      /* The buffer, when there is one, holds the code highlighted. */
      if (self->buffer != NULL)
        markup = highlighted_markup (self->buffer);
      else
        markup = markup_for_code (self);
      show_label (self, markup);
    }

  if (!self->growing)
    g_clear_object (&self->buffer);
}

static void
dark_changed_cb (ConfabCodeBlock *self)
{
  if (self->buffer != NULL)
    gtk_source_buffer_set_style_scheme (self->buffer, current_scheme ());
  if (self->label != NULL)
    update_form (self, TRUE);
}

static gboolean
copied_timeout_cb (gpointer user_data)
{
  ConfabCodeBlock *self = user_data;

  self->copied_id = 0;
  gtk_button_set_icon_name (GTK_BUTTON (self->copy_button), "edit-copy-symbolic");
  gtk_widget_set_tooltip_text (self->copy_button, _("Copy"));

  return G_SOURCE_REMOVE;
}

/**
 * confab_code_block_copy:
 * @self: a #ConfabCodeBlock
 *
 * Puts the code, as shown, on the clipboard and shows a checkmark briefly.
 */
void
confab_code_block_copy (ConfabCodeBlock *self)
{
  g_autofree char *text = NULL;

  g_return_if_fail (CONFAB_IS_CODE_BLOCK (self));

  text = g_strndup (self->code, self->shown_len);
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), text);

  gtk_button_set_icon_name (GTK_BUTTON (self->copy_button), "object-select-symbolic");
  gtk_widget_set_tooltip_text (self->copy_button, _("Copied"));
  g_clear_handle_id (&self->copied_id, g_source_remove);
  self->copied_id = g_timeout_add_seconds (COPIED_FEEDBACK_SECONDS, copied_timeout_cb, self);
}

static void
copy_clicked_cb (ConfabCodeBlock *self)
{
  confab_code_block_copy (self);
}

static void
confab_code_block_dispose (GObject *object)
{
  ConfabCodeBlock *self = CONFAB_CODE_BLOCK (object);
  GtkWidget *child;

  g_clear_handle_id (&self->copied_id, g_source_remove);

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (confab_code_block_parent_class)->dispose (object);
}

static void
confab_code_block_finalize (GObject *object)
{
  ConfabCodeBlock *self = CONFAB_CODE_BLOCK (object);

  g_clear_object (&self->buffer);
  g_free (self->language);
  g_free (self->code);

  G_OBJECT_CLASS (confab_code_block_parent_class)->finalize (object);
}

static void
confab_code_block_class_init (ConfabCodeBlockClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = confab_code_block_dispose;
  object_class->finalize = confab_code_block_finalize;

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "codeblock");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);

  gtk_source_init ();
}

static void
confab_code_block_init (ConfabCodeBlock *self)
{
  GtkBoxLayout *layout;

  layout = GTK_BOX_LAYOUT (gtk_widget_get_layout_manager (GTK_WIDGET (self)));
  gtk_orientable_set_orientation (GTK_ORIENTABLE (layout), GTK_ORIENTATION_VERTICAL);
  gtk_widget_add_css_class (GTK_WIDGET (self), "md-code-block");
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);

  self->language = g_strdup ("");
  self->code = g_strdup ("");
  scan_lines (self);

  self->header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_add_css_class (self->header, "md-code-header");
  gtk_widget_set_parent (self->header, GTK_WIDGET (self));

  self->language_label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->language_label), 0.0);
  gtk_label_set_ellipsize (GTK_LABEL (self->language_label), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (self->language_label, TRUE);
  gtk_widget_add_css_class (self->language_label, "dim-label");
  gtk_widget_add_css_class (self->language_label, "caption");
  gtk_box_append (GTK_BOX (self->header), self->language_label);

  self->copy_button = gtk_button_new_from_icon_name ("edit-copy-symbolic");
  confab_tooltip_set (self->copy_button, _("Copy"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->copy_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Copy code"),
                                  -1);
  gtk_widget_set_valign (self->copy_button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (self->copy_button, "flat");
  gtk_widget_add_css_class (self->copy_button, "md-code-copy");
  g_signal_connect_object (self->copy_button, "clicked",
                           G_CALLBACK (copy_clicked_cb), self, G_CONNECT_SWAPPED);
  gtk_box_append (GTK_BOX (self->header), self->copy_button);

  self->scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (self->scroller),
                                  GTK_POLICY_AUTOMATIC, GTK_POLICY_NEVER);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (self->scroller), TRUE);
  gtk_widget_set_parent (self->scroller, GTK_WIDGET (self));

  confab_scrolling_pass_vertical (self->scroller);

  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (dark_changed_cb), self, G_CONNECT_SWAPPED);

  update_form (self, TRUE);
}

/**
 * confab_code_block_prepare_code:
 * @language: (nullable): the fence's language name
 * @code: (nullable): the code of a finished block, valid UTF-8
 *
 * Highlights @code now, for a block to be made with it soon: the block
 * takes the markup instead of highlighting, most of what making one costs
 * (1-2.5 ms in a frame). For code that the block would show in a view, or
 * would not highlight, it does nothing. The few latest are kept.
 */
void
confab_code_block_prepare_code (const char *language,
                                const char *code)
{
  GtkSourceLanguage *source_language;
  Prepared *prepared;
  gboolean long_line;
  gsize len;

  g_return_if_fail (code == NULL || g_utf8_validate (code, -1, NULL));

  if (language == NULL || code == NULL)
    return;

  len = shown_length (code);
  if (count_lines (code, len, &long_line) > MAX_LABEL_LINES || long_line)
    return;

  source_language = find_language (language);
  if (source_language == NULL)
    return;

  prepared = g_new0 (Prepared, 1);
  prepared->markup = highlight (source_language, code, len);
  prepared->language = source_language;
  prepared->scheme = current_scheme ();
  prepared->code = g_strndup (code, len);
  g_queue_push_tail (&prepared_markup, prepared);

  if (prepared_markup.length > MAX_PREPARED)
    prepared_free (g_queue_pop_head (&prepared_markup));
}

void
confab_code_block_get_prepared (guint *n_waiting,
                                guint *n_taken)
{
  *n_waiting = prepared_markup.length;
  *n_taken = n_prepared_taken;
}

/**
 * confab_code_block_new:
 *
 * Returns: (transfer floating): an empty code block
 */
GtkWidget *
confab_code_block_new (void)
{
  return g_object_new (CONFAB_TYPE_CODE_BLOCK, NULL);
}

/**
 * confab_code_block_set_code:
 * @self: a #ConfabCodeBlock
 * @language: (nullable): the fence's language name ("py", "c++", …)
 * @code: (nullable): the code, valid UTF-8; one final newline is not shown
 *
 * Cheap when nothing changed. When @code extends the current code (a reply
 * streaming in), only the new text is inserted.
 */
void
confab_code_block_set_code (ConfabCodeBlock *self,
                            const char      *language,
                            const char      *code)
{
  g_autofree char *old_code = NULL;
  gboolean language_changed = FALSE;
  gsize old_len;
  gsize len;
  gsize shown_len;

  g_return_if_fail (CONFAB_IS_CODE_BLOCK (self));

  if (language == NULL)
    language = "";
  if (code == NULL)
    code = "";

  if (strcmp (language, self->language) != 0)
    {
      g_free (self->language);
      self->language = g_strdup (language);
      gtk_label_set_text (GTK_LABEL (self->language_label), language);
      self->source_language = find_language (language);
      keep_language (self->source_language);
      if (self->buffer != NULL)
        gtk_source_buffer_set_language (self->buffer, buffer_language (self));
      language_changed = TRUE;
    }

  if (strcmp (code, self->code) == 0)
    {
      if (language_changed)
        update_form (self, TRUE);
      return;
    }

  g_return_if_fail (g_utf8_validate (code, -1, NULL));

  len = strlen (code);
  shown_len = shown_length (code);

  old_code = g_steal_pointer (&self->code);
  old_len = self->shown_len;
  self->code = g_strndup (code, len);
  self->shown_len = shown_len;
  scan_lines (self);

  if (self->buffer != NULL)
    {
      /* Without a language, the buffer's engine stops: turning highlighting
       * off would still analyse a long line. */
      gtk_source_buffer_set_language (self->buffer, buffer_language (self));

      if (shown_len >= old_len && memcmp (code, old_code, old_len) == 0)
        {
          GtkTextIter end;

          if (shown_len > old_len)
            {
              gtk_text_buffer_get_end_iter (GTK_TEXT_BUFFER (self->buffer), &end);
              gtk_text_buffer_insert (GTK_TEXT_BUFFER (self->buffer), &end,
                                      code + old_len, (int) (shown_len - old_len));
            }
        }
      else
        {
          gtk_text_buffer_set_text (GTK_TEXT_BUFFER (self->buffer), code, (int) shown_len);
        }
    }

  update_form (self, TRUE);
}

/**
 * confab_code_block_set_growing:
 * @self: a #ConfabCodeBlock
 * @growing: whether the code may still grow
 *
 * A growing block (the last of a reply streaming in) takes more code
 * cheaply, by inserting it; when it stops growing, it shows its code as the
 * blocks made finished do.
 */
void
confab_code_block_set_growing (ConfabCodeBlock *self,
                               gboolean         growing)
{
  g_return_if_fail (CONFAB_IS_CODE_BLOCK (self));

  growing = !!growing;
  if (self->growing == growing)
    return;

  self->growing = growing;
  update_form (self, FALSE);
}

gboolean
confab_code_block_get_growing (ConfabCodeBlock *self)
{
  g_return_val_if_fail (CONFAB_IS_CODE_BLOCK (self), FALSE);

  return self->growing;
}

/**
 * confab_code_block_get_text_view:
 * @self: a #ConfabCodeBlock
 *
 * Returns: (transfer none) (nullable): the GtkSourceView showing the code,
 *   or %NULL when a label shows it
 */
GtkWidget *
confab_code_block_get_text_view (ConfabCodeBlock *self)
{
  g_return_val_if_fail (CONFAB_IS_CODE_BLOCK (self), NULL);

  return self->view;
}

const char *
confab_code_block_get_code (ConfabCodeBlock *self)
{
  g_return_val_if_fail (CONFAB_IS_CODE_BLOCK (self), NULL);

  return self->code;
}

/**
 * confab_code_block_get_language_id:
 * @self: a #ConfabCodeBlock
 *
 * Returns: (nullable): the id of the GtkSourceView language highlighting
 *   the code ("python3" for "py"), or %NULL when none does
 */
const char *
confab_code_block_get_language_id (ConfabCodeBlock *self)
{
  g_return_val_if_fail (CONFAB_IS_CODE_BLOCK (self), NULL);

  return self->source_language ? gtk_source_language_get_id (self->source_language) : NULL;
}

const char *
confab_code_block_get_language (ConfabCodeBlock *self)
{
  g_return_val_if_fail (CONFAB_IS_CODE_BLOCK (self), NULL);

  return self->language;
}
