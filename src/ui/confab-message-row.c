/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-message-row"

#include "config.h"

#include <glib/gi18n.h>

#include "confab-markdown-view.h"
#include "confab-message-row.h"
#include "confab-tooltip.h"

/* A message longer than this is shown in part (a 5 MB paste would otherwise
 * become hundreds of MB of laid-out text, and a long paste with no blank line
 * is one paragraph that takes seconds to lay out); Copy still copies all of
 * it. What people paste is capped lower than what models write. */
#define USER_DISPLAY_LIMIT      (4 * 1024)
#define ASSISTANT_DISPLAY_LIMIT (256 * 1024)

struct _ConfabMessageRow
{
  GtkWidget           parent_instance;

  /* Template widgets */
  GtkWidget          *bubble;
  GtkLabel           *caption_label;
  GtkBox             *content_box;
  GtkButton          *copy_button;
  GtkLabel           *role_label;
  GtkSpinner         *spinner;

  /* Made when first needed: most messages have neither (a row costs a
   * third of the widgets without them, and rows are made when a
   * conversation opens). */
  GtkExpander        *reasoning_expander;
  GtkLabel           *reasoning_label;
  GtkWidget          *error_box;
  GtkLabel           *error_label;
  GtkWidget          *preferences_button;
  GtkWidget          *cancel_button;
  GtkWidget          *continue_button;
  GtkWidget          *retry_button;

  /* Owned */
  ConfabMessage      *message;
  GSignalGroup       *message_signals;

  /* Borrowed: a child of content_box */
  ConfabMarkdownView *content_view;

  guint               countdown_source;
  gsize               shown_length;   /* of the content handed to content_view */
  gboolean            shown_partial;  /* the content is longer than what is shown */
};

G_DEFINE_FINAL_TYPE (ConfabMessageRow, confab_message_row, GTK_TYPE_WIDGET)

static gsize
display_limit (ConfabMessage *message)
{
  return confab_message_get_role (message) == CONFAB_ROLE_USER ? USER_DISPLAY_LIMIT
                                                                : ASSISTANT_DISPLAY_LIMIT;
}

/* @action_name takes a message id when @with_id */
static GtkWidget *
add_action_button (GtkWidget  *box,
                   const char *label,
                   const char *action_name,
                   gboolean    with_id)
{
  GtkWidget *button = gtk_button_new_with_mnemonic (label);

  if (with_id)
    gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "x", (gint64) 0);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action_name);
  gtk_widget_set_visible (button, FALSE);
  gtk_box_append (GTK_BOX (box), button);

  return button;
}

/* The box that says what went wrong, with what can be done about it */
static void
ensure_error_box (ConfabMessageRow *self)
{
  GtkWidget *message_box;
  GtkWidget *buttons;
  GtkWidget *icon;

  if (self->error_box != NULL)
    return;

  self->error_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_add_css_class (self->error_box, "error-box");
  gtk_widget_add_css_class (self->error_box, "card");
  gtk_widget_set_visible (self->error_box, FALSE);
  gtk_box_insert_child_after (GTK_BOX (self->bubble), self->error_box, GTK_WIDGET (self->spinner));

  message_box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  gtk_box_append (GTK_BOX (self->error_box), message_box);

  icon = gtk_image_new_from_icon_name ("dialog-warning-symbolic");
  gtk_widget_set_valign (icon, GTK_ALIGN_START);
  gtk_box_append (GTK_BOX (message_box), icon);

  self->error_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->error_label, 0.0);
  gtk_label_set_wrap (self->error_label, TRUE);
  gtk_label_set_wrap_mode (self->error_label, PANGO_WRAP_WORD_CHAR);
  gtk_label_set_selectable (self->error_label, TRUE);
  gtk_widget_set_hexpand (GTK_WIDGET (self->error_label), TRUE);
  gtk_box_append (GTK_BOX (message_box), GTK_WIDGET (self->error_label));

  buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_halign (buttons, GTK_ALIGN_END);
  gtk_box_append (GTK_BOX (self->error_box), buttons);

  self->preferences_button = add_action_button (buttons, _("Open _Preferences"), "app.preferences", FALSE);
  self->cancel_button = add_action_button (buttons, _("_Cancel"), "chat.stop", FALSE);
  self->continue_button = add_action_button (buttons, _("C_ontinue"), "chat.continue", TRUE);
  confab_tooltip_set (self->continue_button, _("Ask for the rest of this reply"));
  self->retry_button = add_action_button (buttons, _("_Retry"), "chat.retry", TRUE);
  gtk_widget_add_css_class (self->retry_button, "suggested-action");
  gtk_widget_set_visible (self->retry_button, TRUE);
}

/* The model's reasoning, folded away */
static void
ensure_reasoning (ConfabMessageRow *self)
{
  if (self->reasoning_expander != NULL)
    return;

  self->reasoning_expander = GTK_EXPANDER (gtk_expander_new (_("Thinking")));
  gtk_widget_add_css_class (GTK_WIDGET (self->reasoning_expander), "reasoning");
  gtk_box_insert_child_after (GTK_BOX (self->bubble), GTK_WIDGET (self->reasoning_expander),
                              GTK_WIDGET (self->role_label));

  self->reasoning_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->reasoning_label, 0.0);
  gtk_label_set_wrap (self->reasoning_label, TRUE);
  gtk_label_set_wrap_mode (self->reasoning_label, PANGO_WRAP_WORD_CHAR);
  gtk_label_set_selectable (self->reasoning_label, TRUE);
  gtk_widget_set_margin_top (GTK_WIDGET (self->reasoning_label), 6);
  gtk_widget_add_css_class (GTK_WIDGET (self->reasoning_label), "dim-label");
  gtk_expander_set_child (self->reasoning_expander, GTK_WIDGET (self->reasoning_label));
}

static char *
format_time (gint64 usec)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_local (usec / G_USEC_PER_SEC);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();

  if (time == NULL)
    return g_strdup ("");

  if (g_date_time_get_year (time) == g_date_time_get_year (now) &&
      g_date_time_get_day_of_year (time) == g_date_time_get_day_of_year (now))
    return g_date_time_format (time, "%H:%M");

  /* Translators: a date and time, see g_date_time_format () */
  return g_date_time_format (time, _("%b %-d, %H:%M"));
}

static void
update_caption (ConfabMessageRow *self)
{
  ConfabMessage *message = self->message;
  g_autoptr(GString) caption = g_string_new (NULL);
  g_autofree char *time = NULL;
  gint64 prompt, completion;
  const char *model;

  if (message == NULL)
    return;

  time = format_time (confab_message_get_created_at (message));
  g_string_append (caption, time);

  if (confab_message_get_role (message) == CONFAB_ROLE_ASSISTANT)
    {
      model = confab_message_get_model (message);
      if (model != NULL && *model != '\0')
        g_string_append_printf (caption, " · %s", model);

      confab_message_get_usage (message, &prompt, &completion);
      if (completion >= 0)
        {
          g_autofree char *sent = g_strdup_printf ("%" G_GINT64_FORMAT, MAX (prompt, 0));
          g_autofree char *received = g_strdup_printf ("%" G_GINT64_FORMAT, completion);

          /* Translators: token counts of a reply: sent, then received */
          g_string_append_printf (caption, _(" · %s → %s tokens"), sent, received);
        }

      if (g_strcmp0 (confab_message_get_finish_reason (message), "length") == 0)
        g_string_append (caption, _(" · cut off at the length limit"));
      else if (g_strcmp0 (confab_message_get_finish_reason (message), "content_filter") == 0)
        g_string_append (caption, _(" · stopped by the content filter"));
    }

  if (confab_message_get_content_length (message) > display_limit (message))
    {
      g_autofree char *size = g_format_size (confab_message_get_content_length (message));

      /* Translators: %s is a size such as "5.2 MB" */
      g_string_append_printf (caption, _(" · %s, shown in part (Copy copies all)"), size);
    }

  switch (confab_message_get_state (message))
    {
    case CONFAB_MESSAGE_STATE_STOPPED:
      g_string_append (caption, _(" · Stopped"));
      break;
    case CONFAB_MESSAGE_STATE_INTERRUPTED:
      g_string_append (caption, _(" · Interrupted"));
      break;
    case CONFAB_MESSAGE_STATE_COMPLETE:
    case CONFAB_MESSAGE_STATE_STREAMING:
    case CONFAB_MESSAGE_STATE_ERROR:
    default:
      break;
    }

  gtk_label_set_text (self->caption_label, caption->str);
}

/* How much of the content to show: all of it, or display_limit() bytes cut
 * at a character boundary. */
static gsize
display_length (ConfabMessage *message)
{
  const char *content = confab_message_get_content (message);
  gsize length = confab_message_get_content_length (message);
  const char *end;

  if (length <= display_limit (message))
    return length;

  end = content + display_limit (message);
  while (end > content && (*end & 0xC0) == 0x80)
    end--;

  return end - content;
}

static void
update_content (ConfabMessageRow *self)
{
  const char *content = self->message ? confab_message_get_content (self->message) : "";
  gsize full_length = self->message ? confab_message_get_content_length (self->message) : 0;
  gsize length = self->message ? display_length (self->message) : 0;
  gboolean was_partial = self->shown_partial;

  /* A streaming reply only grows: hand on the new part, not the whole text. */
  if (self->message != NULL &&
      confab_message_get_state (self->message) == CONFAB_MESSAGE_STATE_STREAMING &&
      self->shown_length > 0 && length >= self->shown_length)
    {
      if (length > self->shown_length)
        confab_markdown_view_append_text (self->content_view,
                                          content + self->shown_length,
                                          length - self->shown_length);
    }
  else if (length < full_length)
    {
      g_autofree char *part = g_strndup (content, length);
      confab_markdown_view_set_text (self->content_view, part);
    }
  else
    confab_markdown_view_set_text (self->content_view, content);
  self->shown_length = length;
  self->shown_partial = length < full_length;

  if (was_partial != self->shown_partial)
    update_caption (self);

  gtk_widget_set_visible (GTK_WIDGET (self->content_box), *content != '\0');
  gtk_widget_set_visible (GTK_WIDGET (self->spinner),
                          self->message != NULL && *content == '\0' &&
                          confab_message_get_state (self->message) == CONFAB_MESSAGE_STATE_STREAMING);
}

static void
update_reasoning (ConfabMessageRow *self)
{
  const char *reasoning = self->message ? confab_message_get_reasoning (self->message) : "";

  if (*reasoning == '\0')
    {
      if (self->reasoning_expander != NULL)
        gtk_widget_set_visible (GTK_WIDGET (self->reasoning_expander), FALSE);
      return;
    }

  ensure_reasoning (self);
  gtk_label_set_text (self->reasoning_label, reasoning);
  gtk_widget_set_visible (GTK_WIDGET (self->reasoning_expander), TRUE);
}

static gboolean
countdown_cb (gpointer user_data);

/* A failed request waits to be tried again: say why, and for how long. */
static gboolean
update_retry (ConfabMessageRow *self)
{
  gint64 retry_at = self->message ? confab_message_get_retry_at (self->message) : 0;
  g_autofree char *text = NULL;
  gint64 seconds;

  if (retry_at == 0)
    {
      g_clear_handle_id (&self->countdown_source, g_source_remove);
      if (self->error_box != NULL)
        {
          gtk_widget_set_visible (self->cancel_button, FALSE);
          gtk_widget_set_visible (self->retry_button, TRUE);
        }
      return FALSE;
    }

  ensure_error_box (self);

  seconds = MAX (0, (retry_at - g_get_real_time () + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);
  text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                       "%s\nTrying again in %d second (attempt %u of 3)…",
                                       "%s\nTrying again in %d seconds (attempt %u of 3)…",
                                       (gulong) seconds),
                          confab_message_get_error (self->message) ?: "",
                          (int) seconds,
                          confab_message_get_retry_attempt (self->message));
  gtk_label_set_text (self->error_label, text);
  gtk_widget_set_visible (self->cancel_button, TRUE);
  gtk_widget_set_visible (self->continue_button, FALSE);
  gtk_widget_set_visible (self->retry_button, FALSE);
  gtk_widget_set_visible (self->error_box, TRUE);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), FALSE);

  if (self->countdown_source == 0)
    self->countdown_source = g_timeout_add_seconds (1, countdown_cb, self);

  return TRUE;
}

static gboolean
countdown_cb (gpointer user_data)
{
  ConfabMessageRow *self = user_data;

  if (update_retry (self))
    return G_SOURCE_CONTINUE;

  self->countdown_source = 0;
  return G_SOURCE_REMOVE;
}

static void
update_state (ConfabMessageRow *self)
{
  ConfabMessageState state;
  const char *error;
  const char *kind;
  gboolean failed;
  gboolean show_error;

  if (self->message == NULL)
    return;

  state = confab_message_get_state (self->message);
  error = confab_message_get_error (self->message);
  kind = confab_message_get_error_kind (self->message);
  failed = state == CONFAB_MESSAGE_STATE_ERROR || state == CONFAB_MESSAGE_STATE_INTERRUPTED;
  show_error = confab_message_get_role (self->message) == CONFAB_ROLE_ASSISTANT &&
               (failed || state == CONFAB_MESSAGE_STATE_STOPPED);

  confab_markdown_view_set_streaming (self->content_view,
                                      state == CONFAB_MESSAGE_STATE_STREAMING);
  gtk_widget_set_visible (GTK_WIDGET (self->copy_button),
                          state != CONFAB_MESSAGE_STATE_STREAMING);

  if (!show_error && confab_message_get_retry_at (self->message) == 0)
    {
      if (self->error_box != NULL)
        gtk_widget_set_visible (self->error_box, FALSE);
      update_content (self);
      update_caption (self);
      update_retry (self);
      return;
    }

  if (state == CONFAB_MESSAGE_STATE_INTERRUPTED && (error == NULL || *error == '\0'))
    error = _("The reply was interrupted before it finished. The text so far is kept.");

  ensure_error_box (self);
  gtk_widget_set_visible (self->error_box, show_error);
  gtk_label_set_text (self->error_label,
                      state == CONFAB_MESSAGE_STATE_STOPPED ? _("You stopped this reply.")
                                                            : (error ? error : ""));
  gtk_widget_set_visible (self->preferences_button,
                          g_strcmp0 (kind, "auth") == 0 || g_strcmp0 (kind, "no-url") == 0 ||
                          g_strcmp0 (kind, "not-found") == 0);
  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->retry_button), "x",
                                    confab_message_get_id (self->message));
  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->continue_button), "x",
                                    confab_message_get_id (self->message));
  gtk_widget_set_visible (self->continue_button,
                          (state == CONFAB_MESSAGE_STATE_INTERRUPTED ||
                           state == CONFAB_MESSAGE_STATE_STOPPED) &&
                          confab_message_get_content_length (self->message) > 0);

  update_content (self);
  update_caption (self);
  update_retry (self);
}

static void
copy_clicked_cb (ConfabMessageRow *self)
{
  if (self->message != NULL)
    gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)),
                            confab_message_get_content (self->message));
}

static void
confab_message_row_dispose (GObject *object)
{
  ConfabMessageRow *self = (ConfabMessageRow *)object;

  if (self->message_signals != NULL)
    g_signal_group_set_target (self->message_signals, NULL);
  g_clear_object (&self->message);
  g_clear_handle_id (&self->countdown_source, g_source_remove);

  gtk_widget_dispose_template (GTK_WIDGET (self), CONFAB_TYPE_MESSAGE_ROW);
  g_clear_object (&self->message_signals);

  G_OBJECT_CLASS (confab_message_row_parent_class)->dispose (object);
}

static void
confab_message_row_class_init (ConfabMessageRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = confab_message_row_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/confab/Confab/confab-message-row.ui");
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "messagerow");

  gtk_widget_class_bind_template_child (widget_class, ConfabMessageRow, bubble);
  gtk_widget_class_bind_template_child (widget_class, ConfabMessageRow, caption_label);
  gtk_widget_class_bind_template_child (widget_class, ConfabMessageRow, content_box);
  gtk_widget_class_bind_template_child (widget_class, ConfabMessageRow, copy_button);
  gtk_widget_class_bind_template_child (widget_class, ConfabMessageRow, role_label);
  gtk_widget_class_bind_template_child (widget_class, ConfabMessageRow, spinner);
}

static void
confab_message_row_init (ConfabMessageRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->content_view = CONFAB_MARKDOWN_VIEW (confab_markdown_view_new ());
  gtk_box_append (self->content_box, GTK_WIDGET (self->content_view));
  confab_tooltip_set (GTK_WIDGET (self->copy_button), _("Copy Message"));

  g_signal_connect_object (self->copy_button, "clicked",
                           G_CALLBACK (copy_clicked_cb), self, G_CONNECT_SWAPPED);

  self->message_signals = g_signal_group_new (CONFAB_TYPE_MESSAGE);
  g_signal_group_connect_object (self->message_signals, "notify::content",
                                 G_CALLBACK (update_content), self, G_CONNECT_SWAPPED);
  g_signal_group_connect_object (self->message_signals, "notify::reasoning",
                                 G_CALLBACK (update_reasoning), self, G_CONNECT_SWAPPED);
  g_signal_group_connect_object (self->message_signals, "notify::state",
                                 G_CALLBACK (update_state), self, G_CONNECT_SWAPPED);
  g_signal_group_connect_object (self->message_signals, "notify::error",
                                 G_CALLBACK (update_state), self, G_CONNECT_SWAPPED);
  g_signal_group_connect_object (self->message_signals, "notify::model",
                                 G_CALLBACK (update_caption), self, G_CONNECT_SWAPPED);
  g_signal_group_connect_object (self->message_signals, "notify::usage",
                                 G_CALLBACK (update_caption), self, G_CONNECT_SWAPPED);
  g_signal_group_connect_object (self->message_signals, "notify::id",
                                 G_CALLBACK (update_state), self, G_CONNECT_SWAPPED);
  g_signal_group_connect_object (self->message_signals, "notify::retry-at",
                                 G_CALLBACK (update_state), self, G_CONNECT_SWAPPED);
}

ConfabMessageRow *
confab_message_row_new (void)
{
  return g_object_new (CONFAB_TYPE_MESSAGE_ROW, NULL);
}

ConfabMessage *
confab_message_row_get_message (ConfabMessageRow *self)
{
  g_return_val_if_fail (CONFAB_IS_MESSAGE_ROW (self), NULL);
  return self->message;
}

ConfabMarkdownView *
confab_message_row_get_content_view (ConfabMessageRow *self)
{
  g_return_val_if_fail (CONFAB_IS_MESSAGE_ROW (self), NULL);
  return self->content_view;
}

void
confab_message_row_set_message (ConfabMessageRow *self,
                                ConfabMessage    *message)
{
  gboolean user;

  g_return_if_fail (CONFAB_IS_MESSAGE_ROW (self));
  g_return_if_fail (!message || CONFAB_IS_MESSAGE (message));

  if (!g_set_object (&self->message, message))
    return;

  g_signal_group_set_target (self->message_signals, message);

  if (message == NULL)
    {
      g_clear_handle_id (&self->countdown_source, g_source_remove);
      /* A recycled row keeps no text of a message it no longer shows. */
      confab_markdown_view_set_streaming (self->content_view, FALSE);
      confab_markdown_view_set_text (self->content_view, "");
      self->shown_length = 0;
      self->shown_partial = FALSE;
      return;
    }

  user = confab_message_get_role (message) == CONFAB_ROLE_USER;
  gtk_label_set_text (self->role_label, user ? _("You") : _("Assistant"));
  /* Yours is as wide as its text; a reply fills the column. */
  confab_markdown_view_set_full_width (self->content_view, !user);
  if (user)
    {
      gtk_widget_add_css_class (self->bubble, "user");
      gtk_widget_remove_css_class (self->bubble, "assistant");
      gtk_widget_set_halign (self->bubble, GTK_ALIGN_END);
    }
  else
    {
      gtk_widget_add_css_class (self->bubble, "assistant");
      gtk_widget_remove_css_class (self->bubble, "user");
      gtk_widget_set_halign (self->bubble, GTK_ALIGN_FILL);
    }

  if (self->reasoning_expander != NULL)
    gtk_expander_set_expanded (self->reasoning_expander, FALSE);
  update_reasoning (self);
  update_state (self);
}
