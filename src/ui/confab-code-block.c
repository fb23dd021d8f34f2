/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-code-block"

#include "config.h"

#include <string.h>

#include <adwaita.h>
#include <glib/gi18n.h>
#include <gtksourceview/gtksource.h>

#include "confab-code-block.h"
#include "confab-scrolling.h"

#define COPIED_FEEDBACK_SECONDS 2

struct _ConfabCodeBlock
{
  GtkWidget        parent_instance;

  /* Children */
  GtkWidget       *header;
  GtkWidget       *language_label;
  GtkWidget       *copy_button;
  GtkWidget       *scroller;
  GtkWidget       *view;

  /* Owned */
  GtkSourceBuffer *buffer;
  char            *language;
  char            *code;
  gsize            shown_len;   /* the buffer holds code[0..shown_len) */
  guint            copied_id;
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

static void
keep_language (GtkSourceLanguage *language)
{
  GtkSourceBuffer *buffer;

  if (language == NULL)
    return;

  if (kept_languages == NULL)
    kept_languages = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  else if (g_hash_table_contains (kept_languages, gtk_source_language_get_id (language)))
    return;

  buffer = gtk_source_buffer_new (NULL);
  gtk_source_buffer_set_highlight_syntax (buffer, TRUE);
  gtk_source_buffer_set_language (buffer, language);
  g_hash_table_insert (kept_languages, g_strdup (gtk_source_language_get_id (language)), buffer);
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

static void
update_style_scheme (ConfabCodeBlock *self)
{
  GtkSourceStyleSchemeManager *manager = gtk_source_style_scheme_manager_get_default ();
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  GtkSourceStyleScheme *scheme;

  scheme = gtk_source_style_scheme_manager_get_scheme (manager, dark ? "Adwaita-dark" : "Adwaita");
  if (scheme == NULL)
    scheme = gtk_source_style_scheme_manager_get_scheme (manager, dark ? "classic-dark" : "classic");

  gtk_source_buffer_set_style_scheme (self->buffer, scheme);
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
  gtk_widget_set_tooltip_text (self->copy_button, _("Copy"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->copy_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Copy code"),
                                  -1);
  gtk_widget_set_valign (self->copy_button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (self->copy_button, "flat");
  gtk_widget_add_css_class (self->copy_button, "md-code-copy");
  g_signal_connect_object (self->copy_button, "clicked",
                           G_CALLBACK (copy_clicked_cb), self, G_CONNECT_SWAPPED);
  gtk_box_append (GTK_BOX (self->header), self->copy_button);

  self->buffer = gtk_source_buffer_new (NULL);
  gtk_text_buffer_set_enable_undo (GTK_TEXT_BUFFER (self->buffer), FALSE);
  gtk_source_buffer_set_highlight_matching_brackets (self->buffer, FALSE);
  gtk_source_buffer_set_highlight_syntax (self->buffer, TRUE);

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

  self->scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (self->scroller),
                                  GTK_POLICY_AUTOMATIC, GTK_POLICY_NEVER);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (self->scroller), TRUE);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (self->scroller), self->view);
  gtk_widget_set_parent (self->scroller, GTK_WIDGET (self));

  confab_scrolling_pass_vertical (self->scroller);

  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (update_style_scheme), self, G_CONNECT_SWAPPED);
  update_style_scheme (self);
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
      gtk_source_buffer_set_language (self->buffer, find_language (language));
      keep_language (gtk_source_buffer_get_language (self->buffer));
    }

  if (strcmp (code, self->code) == 0)
    return;

  g_return_if_fail (g_utf8_validate (code, -1, NULL));

  len = strlen (code);
  shown_len = len;
  if (shown_len > 0 && code[shown_len - 1] == '\n')
    shown_len--;

  if (shown_len >= self->shown_len && memcmp (code, self->code, self->shown_len) == 0)
    {
      GtkTextIter end;

      if (shown_len > self->shown_len)
        {
          gtk_text_buffer_get_end_iter (GTK_TEXT_BUFFER (self->buffer), &end);
          gtk_text_buffer_insert (GTK_TEXT_BUFFER (self->buffer), &end,
                                  code + self->shown_len, shown_len - self->shown_len);
        }
    }
  else
    {
      gtk_text_buffer_set_text (GTK_TEXT_BUFFER (self->buffer), code, shown_len);
    }

  g_free (self->code);
  self->code = g_strndup (code, len);
  self->shown_len = shown_len;
}

const char *
confab_code_block_get_code (ConfabCodeBlock *self)
{
  g_return_val_if_fail (CONFAB_IS_CODE_BLOCK (self), NULL);

  return self->code;
}

const char *
confab_code_block_get_language (ConfabCodeBlock *self)
{
  g_return_val_if_fail (CONFAB_IS_CODE_BLOCK (self), NULL);

  return self->language;
}
