/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-chat-view"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <string.h>

#include "confab-chat-view.h"
#include "confab-chat-view-private.h"
#include "confab-config.h"
#include "confab-message-row.h"

/* Messages loaded at a time; older ones come in as the person scrolls up,
 * or at once while those loaded do not fill the view. GtkListView builds a
 * row for every loaded message near the view, so the first page is what
 * opening a conversation costs (20 rows: 10 ms of making rows more than 12,
 * and the first frame with text 75-98 ms after the call instead of 85-110). */
#define PAGE_SIZE 12
/* Within this many pixels of the end, the view counts as at the bottom. */
#define BOTTOM_SLACK 48.0

struct _ConfabChatView
{
  GtkWidget           parent_instance;

  /* Template widgets (every direct child is bound, even if unused here:
   * gtk_widget_dispose_template () unparents only bound children) */
  GtkWidget          *attachment_box;
  GtkLabel           *attachment_label;
  GtkWidget          *composer_box;
  GtkScrolledWindow  *composer_scroller;
  GtkTextView        *composer;
  GtkStack           *content_stack;
  AdwHeaderBar       *header_bar;
  GtkListView        *message_list;
  GtkEntry           *model_entry;
  GtkWidget          *placeholder;
  GtkScrolledWindow  *scroller;
  GtkPopover         *settings_popover;
  GtkStack           *send_stack;
  GtkLabel           *status_label;
  GtkTextView        *system_view;
  GtkSpinButton      *temperature_spin;
  AdwWindowTitle     *window_title;

  /* Owned */
  GString            *attachment;      /* pasted text too large for the composer */
  GNetworkMonitor    *network_monitor;
  GHashTable         *insecure_ok;     /* base URLs the person agreed to send a key to */
  ConfabChatSession  *session;
  ConfabConversation *conversation;
  GSignalGroup       *session_signals;
  GSignalGroup       *conversation_signals;

  GdkFrameClock      *layout_clock;
  double              last_value;
  guint               page_size;
  guint               fill_id;         /* loading older messages into a view not full */
  guint               setting_value : 1;
  guint               loading_older : 1;
  guint               older_failed : 1;  /* loading older messages failed: no more filling */
  guint               stick_to_bottom : 1;
  guint               folded : 1;
};

G_DEFINE_FINAL_TYPE (ConfabChatView, confab_chat_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_FOLDED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static ConfabStore *
get_store (ConfabChatView *self)
{
  return self->session ? confab_chat_session_get_store (self->session) : NULL;
}

static void
show_toast (ConfabChatView *self,
            const char     *message)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);

  if (overlay != NULL)
    adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), adw_toast_new (message));
  else
    g_warning ("%s", message);
}

static void
update_busy (ConfabChatView *self)
{
  gboolean busy = self->session != NULL && self->conversation != NULL &&
                  confab_chat_session_is_busy (self->session, self->conversation);

  gtk_stack_set_visible_child_name (self->send_stack, busy ? "stop" : "send");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "chat.stop", busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "chat.send",
                                 !busy && self->session != NULL);
}

static void
update_content_page (ConfabChatView *self)
{
  gboolean empty = self->conversation == NULL ||
                   g_list_model_get_n_items (G_LIST_MODEL (self->conversation)) == 0;

  gtk_stack_set_visible_child_name (self->content_stack, empty ? "empty" : "messages");
}

static void
update_header (ConfabChatView *self)
{
  const char *title = NULL;
  const char *model = NULL;

  if (self->conversation != NULL)
    {
      title = confab_conversation_get_title (self->conversation);
      model = confab_conversation_get_model (self->conversation);
    }

  adw_window_title_set_title (ADW_WINDOW_TITLE (self->window_title),
                              (title && *title) ? title : _("New Chat"));
  adw_window_title_set_subtitle (ADW_WINDOW_TITLE (self->window_title), model ? model : "");
}

static gboolean
view_is_full (ConfabChatView *self)
{
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (self->scroller);

  return gtk_adjustment_get_page_size (adjustment) <= 0 ||
         gtk_adjustment_get_upper (adjustment) > gtk_adjustment_get_page_size (adjustment);
}

static gboolean
has_older (ConfabChatView *self)
{
  return self->conversation != NULL && confab_conversation_get_id (self->conversation) != 0 &&
         g_list_model_get_n_items (G_LIST_MODEL (self->conversation)) <
         confab_conversation_get_message_count (self->conversation);
}

static void load_older (ConfabChatView *self);

static gboolean
fill_cb (gpointer user_data)
{
  ConfabChatView *self = user_data;

  self->fill_id = 0;
  if (!view_is_full (self) && has_older (self))
    load_older (self);

  return G_SOURCE_REMOVE;
}

/* After the window's layout. Follow the bottom: while stuck to the bottom,
 * the end shows. Moving the list there makes GTK lay out again in the same
 * frame, so no frame shows where the list went by itself: a reply that grew
 * from less than a screen to many at once kept its top in place, and showed
 * it for a frame. */
static void
layout_cb (ConfabChatView *self)
{
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (self->scroller);
  double target = gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment);

  /* Messages that do not fill the view leave nothing to scroll up to the
   * top edge: older ones come in, a page at a time, each once the window
   * is laid out with the last. */
  if (self->fill_id == 0 && !self->older_failed && !view_is_full (self) && has_older (self))
    self->fill_id = g_idle_add (fill_cb, self);

  if (!self->stick_to_bottom || gtk_adjustment_get_value (adjustment) >= target)
    return;

  self->setting_value = TRUE;
  gtk_adjustment_set_value (adjustment, target);
  self->setting_value = FALSE;
  self->last_value = gtk_adjustment_get_value (adjustment);
}

static void
queue_scroll_to_bottom (ConfabChatView *self)
{
  if (self->layout_clock != NULL)
    gdk_frame_clock_request_phase (self->layout_clock, GDK_FRAME_CLOCK_PHASE_LAYOUT);
}

/* When the database fails, says so, and stops filling the view (one
 * message about it, not one a frame); the top edge still tries again. */
static void
load_older (ConfabChatView *self)
{
  g_autoptr(GPtrArray) page = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ConfabMessage) first = NULL;
  ConfabStore *store = get_store (self);
  guint loaded;

  if (self->conversation == NULL || store == NULL || self->loading_older)
    return;
  if (confab_conversation_get_id (self->conversation) == 0)
    return;

  loaded = g_list_model_get_n_items (G_LIST_MODEL (self->conversation));
  if (loaded > 0 && loaded >= confab_conversation_get_message_count (self->conversation))
    return;

  first = loaded > 0 ? g_list_model_get_item (G_LIST_MODEL (self->conversation), 0) : NULL;

  self->loading_older = TRUE;
  page = confab_store_load_messages (store,
                                     confab_conversation_get_id (self->conversation),
                                     first ? confab_message_get_id (first) : 0,
                                     self->page_size, &error);
  self->loading_older = FALSE;

  if (page == NULL)
    {
      show_toast (self, error->message);
      self->older_failed = TRUE;
      return;
    }

  /* The count was a summary: trust what the database holds. */
  if (page->len < self->page_size)
    confab_conversation_set_message_count (self->conversation, loaded + page->len);

  confab_conversation_prepend_messages (self->conversation, page);
}

static void
edge_reached_cb (ConfabChatView  *self,
                 GtkPositionType  position)
{
  if (position == GTK_POS_TOP)
    load_older (self);
}

static void
vadjustment_changed_cb (ConfabChatView *self)
{
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (self->scroller);
  double bottom = gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment);

  /* Growth while stuck to the bottom keeps following the reply. */
  if (self->stick_to_bottom && gtk_adjustment_get_value (adjustment) < bottom)
    queue_scroll_to_bottom (self);
}

/* Our own scrolling only moves down. A move up came from the person (wheel,
 * scrollbar, keys): stop following until they come back to the bottom. */
static void
vadjustment_value_cb (ConfabChatView *self)
{
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (self->scroller);
  double bottom = gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment);
  double value = gtk_adjustment_get_value (adjustment);

  if (self->setting_value)
    return;

  if (value >= bottom - BOTTOM_SLACK)
    self->stick_to_bottom = TRUE;
  else if (value < self->last_value - 1)
    self->stick_to_bottom = FALSE;

  self->last_value = value;
}

static void
items_changed_cb (ConfabChatView *self,
                  guint           position,
                  guint           removed,
                  guint           added)
{
  update_content_page (self);

  /* A new message at the end brings the view down. */
  if (added > 0 && position + added == g_list_model_get_n_items (G_LIST_MODEL (self->conversation)))
    {
      self->stick_to_bottom = TRUE;
      queue_scroll_to_bottom (self);
    }
}

static void
turn_changed_cb (ConfabChatView     *self,
                 ConfabConversation *conversation,
                 ConfabMessage      *assistant)
{
  if (conversation == self->conversation)
    update_busy (self);
}

/* Past this many characters the composer stops growing with its text: its
 * natural height would make GTK lay out all of a huge paste at once. */
#define COMPOSER_LARGE_TEXT 20000
/* A single insertion larger than this (a paste, a drop) is kept beside the
 * composer as pasted text instead of in it: GtkTextView lays out a text of
 * megabytes for seconds. It is sent with the message. */
#define ATTACH_THRESHOLD (256 * 1024)

static void
composer_changed_cb (ConfabChatView *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->composer);
  int n_chars = gtk_text_buffer_get_char_count (buffer);
  gboolean large = n_chars > COMPOSER_LARGE_TEXT;

  gtk_widget_set_visible (self->placeholder, n_chars == 0);

  if (large == gtk_scrolled_window_get_propagate_natural_height (self->composer_scroller))
    {
      gtk_scrolled_window_set_propagate_natural_height (self->composer_scroller, !large);
      gtk_scrolled_window_set_min_content_height (self->composer_scroller, large ? 240 : -1);
      /* Unwrapped, and scrolling sideways: neither the width nor the height
       * then depends on laying out every line. */
      gtk_text_view_set_wrap_mode (self->composer, large ? GTK_WRAP_NONE : GTK_WRAP_WORD_CHAR);
      gtk_scrolled_window_set_policy (self->composer_scroller,
                                      large ? GTK_POLICY_AUTOMATIC : GTK_POLICY_NEVER,
                                      GTK_POLICY_AUTOMATIC);
    }
}

/* The base URL and key of the session's provider, when it has such properties. */
static void
dup_provider_target (ConfabChatView  *self,
                     char           **base_url,
                     char           **key)
{
  ConfabProvider *provider = self->session ? confab_chat_session_get_provider (self->session) : NULL;

  *base_url = NULL;
  *key = NULL;

  if (provider != NULL &&
      g_object_class_find_property (G_OBJECT_GET_CLASS (provider), "base-url") != NULL &&
      g_object_class_find_property (G_OBJECT_GET_CLASS (provider), "api-key") != NULL)
    g_object_get (provider, "base-url", base_url, "api-key", key, NULL);
}

static gboolean
is_loopback_url (const char *base_url)
{
  g_autoptr(GUri) uri = base_url ? g_uri_parse (base_url, G_URI_FLAGS_NONE, NULL) : NULL;
  g_autoptr(GInetAddress) address = NULL;
  const char *host = uri ? g_uri_get_host (uri) : NULL;

  if (host == NULL)
    return FALSE;
  if (g_ascii_strcasecmp (host, "localhost") == 0)
    return TRUE;

  address = g_inet_address_new_from_string (host);
  return address != NULL && g_inet_address_get_is_loopback (address);
}

/* Offline matters only for servers beyond this machine. */
static gboolean
is_offline (ConfabChatView *self)
{
  g_autofree char *base_url = NULL;
  g_autofree char *key = NULL;

  if (self->network_monitor == NULL ||
      g_network_monitor_get_network_available (self->network_monitor))
    return FALSE;

  dup_provider_target (self, &base_url, &key);
  if (key != NULL)
    memset (key, 0, strlen (key));

  return !is_loopback_url (base_url);
}

static void
update_status (ConfabChatView *self)
{
  gboolean offline = is_offline (self);

  gtk_label_set_text (self->status_label,
                      offline ? _("You are offline. What you type stays here until you can send it.")
                              : "");
  gtk_widget_set_visible (GTK_WIDGET (self->status_label), offline);
}

static void
update_attachment (ConfabChatView *self)
{
  gboolean attached = self->attachment != NULL;

  gtk_widget_set_visible (self->attachment_box, attached);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "chat.remove-attachment", attached);

  if (attached)
    {
      g_autofree char *size = g_format_size (self->attachment->len);
      /* Translators: %s is a size such as "5.0 MB" */
      g_autofree char *label = g_strdup_printf (_("Pasted text · %s"), size);

      gtk_label_set_text (self->attachment_label, label);
    }
}

/* What the composer holds: its text, and the pasted text beside it. */
static char *
dup_composer_text (ConfabChatView *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->composer);
  g_autofree char *typed = NULL;
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  typed = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);

  if (self->attachment == NULL)
    return g_steal_pointer (&typed);
  if (*typed == '\0')
    return g_strndup (self->attachment->str, self->attachment->len);

  return g_strconcat (typed, "\n\n", self->attachment->str, NULL);
}

static void
remove_attachment_action (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *parameter)
{
  ConfabChatView *self = CONFAB_CHAT_VIEW (widget);

  if (self->attachment != NULL)
    g_string_free (g_steal_pointer (&self->attachment), TRUE);
  update_attachment (self);
  confab_chat_view_focus_composer (self);
}

static void
composer_insert_text_cb (GtkTextBuffer  *buffer,
                         GtkTextIter    *location,
                         const char     *text,
                         int             len,
                         ConfabChatView *self)
{
  if (len < ATTACH_THRESHOLD)
    return;

  g_signal_stop_emission_by_name (buffer, "insert-text");

  if (self->attachment == NULL)
    self->attachment = g_string_new (NULL);
  else
    g_string_append (self->attachment, "\n\n");
  g_string_append_len (self->attachment, text, len);
  update_attachment (self);
}

static void
do_send (ConfabChatView *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->composer);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = dup_composer_text (self);

  /* The text leaves the composer only once it is safely stored. */
  if (!confab_chat_session_send (self->session, self->conversation, text, &error))
    {
      show_toast (self, error->message);
      update_busy (self);
      return;
    }

  gtk_text_buffer_set_text (buffer, "", 0);
  if (self->attachment != NULL)
    g_string_free (g_steal_pointer (&self->attachment), TRUE);
  update_attachment (self);
  update_header (self);
  update_busy (self);
}

static void
insecure_response_cb (AdwMessageDialog *dialog,
                      const char       *response,
                      ConfabChatView   *self)
{
  const char *base_url = g_object_get_data (G_OBJECT (dialog), "base-url");

  if (g_strcmp0 (response, "send") != 0)
    return;

  g_hash_table_add (self->insecure_ok, g_strdup (base_url));
  if (self->session != NULL && self->conversation != NULL)
    do_send (self);
}

static void
send_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  ConfabChatView *self = CONFAB_CHAT_VIEW (widget);
  g_autofree char *text = NULL;
  g_autofree char *stripped = NULL;
  g_autofree char *base_url = NULL;
  g_autofree char *key = NULL;
  gboolean has_key;

  if (self->session == NULL || self->conversation == NULL)
    return;

  text = dup_composer_text (self);
  stripped = g_strstrip (g_strdup (text));
  if (*stripped == '\0')
    return;

  if (is_offline (self))
    {
      show_toast (self, _("You are offline. Your message was not sent and is still in the box."));
      return;
    }

  dup_provider_target (self, &base_url, &key);
  has_key = key != NULL && *key != '\0';
  if (key != NULL)
    memset (key, 0, strlen (key));

  /* A key sent over plain HTTP to another machine can be read on the way. */
  if (has_key && confab_config_is_insecure_url (base_url) &&
      !g_hash_table_contains (self->insecure_ok, base_url))
    {
      GtkWidget *dialog;
      GtkRoot *root = gtk_widget_get_root (widget);

      dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                       _("Send Your API Key Unencrypted?"), NULL);
      adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                      _("The server %s uses plain HTTP. Anyone on the network "
                                        "between you and it could read your API key and your "
                                        "messages."),
                                      base_url);
      adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                        "cancel", _("_Cancel"),
                                        "send", _("_Send Anyway"),
                                        NULL);
      adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "send",
                                                  ADW_RESPONSE_DESTRUCTIVE);
      adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
      adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
      g_object_set_data_full (G_OBJECT (dialog), "base-url", g_strdup (base_url), g_free);
      g_signal_connect_object (dialog, "response", G_CALLBACK (insecure_response_cb), self, 0);
      gtk_window_present (GTK_WINDOW (dialog));
      return;
    }

  do_send (self);
}

static void
stop_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  ConfabChatView *self = CONFAB_CHAT_VIEW (widget);

  if (self->session != NULL && self->conversation != NULL)
    confab_chat_session_stop (self->session, self->conversation);
}

static ConfabMessage *
find_message (ConfabChatView *self,
              gint64          id)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->conversation));

  /* Newest first: the message acted on is almost always near the end. */
  for (guint i = n; i > 0; i--)
    {
      g_autoptr(ConfabMessage) message = g_list_model_get_item (G_LIST_MODEL (self->conversation),
                                                                i - 1);

      if (confab_message_get_id (message) == id)
        return g_steal_pointer (&message);
    }

  return NULL;
}

static void
retry_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  ConfabChatView *self = CONFAB_CHAT_VIEW (widget);
  g_autoptr(ConfabMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (self->session == NULL || self->conversation == NULL)
    return;

  message = find_message (self, g_variant_get_int64 (parameter));
  if (message == NULL)
    return;

  if (g_strcmp0 (action_name, "chat.continue") == 0)
    ok = confab_chat_session_continue (self->session, self->conversation, message, &error);
  else
    ok = confab_chat_session_retry (self->session, self->conversation, message, &error);

  if (!ok)
    show_toast (self, error->message);

  self->stick_to_bottom = TRUE;
  queue_scroll_to_bottom (self);
  update_busy (self);
}

static gboolean
composer_key_pressed_cb (ConfabChatView        *self,
                         guint                  keyval,
                         guint                  keycode,
                         GdkModifierType        state,
                         GtkEventControllerKey *controller)
{
  if ((keyval == GDK_KEY_Return || keyval == GDK_KEY_KP_Enter || keyval == GDK_KEY_ISO_Enter) &&
      (state & (GDK_SHIFT_MASK | GDK_CONTROL_MASK | GDK_ALT_MASK)) == 0)
    {
      gtk_widget_activate_action (GTK_WIDGET (self), "chat.send", NULL);
      return TRUE;
    }

  return FALSE;
}

/* The conversation's own settings, applied when the popover closes. */
static void
settings_popover_show_cb (ConfabChatView *self)
{
  const char *system_message;

  if (self->conversation == NULL)
    return;

  system_message = confab_conversation_get_system_message (self->conversation);
  gtk_editable_set_text (GTK_EDITABLE (self->model_entry),
                         confab_conversation_get_model (self->conversation) ?: "");
  gtk_spin_button_set_value (self->temperature_spin,
                             confab_conversation_get_temperature (self->conversation));
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->system_view),
                            system_message ? system_message : "", -1);
}

static void
settings_popover_closed_cb (ConfabChatView *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->system_view);
  g_autoptr(GError) error = NULL;
  g_autofree char *system_message = NULL;
  g_autofree char *model = NULL;
  GtkTextIter start, end;

  if (self->conversation == NULL)
    return;

  gtk_spin_button_update (self->temperature_spin);
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  system_message = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  model = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->model_entry))));

  if (*model != '\0')
    confab_conversation_set_model (self->conversation, model);
  confab_conversation_set_temperature (self->conversation,
                                       gtk_spin_button_get_value (self->temperature_spin));
  confab_conversation_set_system_message (self->conversation, system_message);

  if (confab_conversation_get_id (self->conversation) != 0 &&
      !confab_store_update_conversation (get_store (self), self->conversation, &error))
    show_toast (self, error->message);

  update_header (self);
}

static void
factory_setup_cb (GtkSignalListItemFactory *factory,
                  GtkListItem              *item,
                  gpointer                  user_data)
{
  gtk_list_item_set_activatable (item, FALSE);
  gtk_list_item_set_selectable (item, FALSE);
  gtk_list_item_set_child (item, GTK_WIDGET (confab_message_row_new ()));
}

static void
factory_bind_cb (GtkSignalListItemFactory *factory,
                 GtkListItem              *item,
                 gpointer                  user_data)
{
  confab_message_row_set_message (CONFAB_MESSAGE_ROW (gtk_list_item_get_child (item)),
                                  gtk_list_item_get_item (item));
}

static void
factory_unbind_cb (GtkSignalListItemFactory *factory,
                   GtkListItem              *item,
                   gpointer                  user_data)
{
  confab_message_row_set_message (CONFAB_MESSAGE_ROW (gtk_list_item_get_child (item)), NULL);
}

static void
confab_chat_view_dispose (GObject *object)
{
  ConfabChatView *self = (ConfabChatView *)object;

  if (self->session_signals != NULL)
    g_signal_group_set_target (self->session_signals, NULL);
  if (self->conversation_signals != NULL)
    g_signal_group_set_target (self->conversation_signals, NULL);
  if (self->message_list != NULL)
    gtk_list_view_set_model (self->message_list, NULL);
  g_clear_handle_id (&self->fill_id, g_source_remove);

  gtk_widget_dispose_template (GTK_WIDGET (self), CONFAB_TYPE_CHAT_VIEW);

  g_clear_object (&self->session_signals);
  g_clear_object (&self->conversation_signals);
  g_clear_object (&self->conversation);
  g_clear_object (&self->session);
  g_clear_object (&self->network_monitor);
  g_clear_pointer (&self->insecure_ok, g_hash_table_unref);
  if (self->attachment != NULL)
    g_string_free (g_steal_pointer (&self->attachment), TRUE);

  G_OBJECT_CLASS (confab_chat_view_parent_class)->dispose (object);
}

static void
confab_chat_view_realize (GtkWidget *widget)
{
  ConfabChatView *self = CONFAB_CHAT_VIEW (widget);

  GTK_WIDGET_CLASS (confab_chat_view_parent_class)->realize (widget);

  /* After the window's own layout handler */
  self->layout_clock = gtk_widget_get_frame_clock (widget);
  g_signal_connect_object (self->layout_clock, "layout", G_CALLBACK (layout_cb),
                           self, G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  queue_scroll_to_bottom (self);
}

static void
confab_chat_view_unrealize (GtkWidget *widget)
{
  ConfabChatView *self = CONFAB_CHAT_VIEW (widget);

  g_signal_handlers_disconnect_by_func (self->layout_clock, layout_cb, self);
  self->layout_clock = NULL;

  GTK_WIDGET_CLASS (confab_chat_view_parent_class)->unrealize (widget);
}

static void
confab_chat_view_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  ConfabChatView *self = CONFAB_CHAT_VIEW (object);

  switch (prop_id)
    {
    case PROP_FOLDED:
      g_value_set_boolean (value, self->folded);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
confab_chat_view_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  ConfabChatView *self = CONFAB_CHAT_VIEW (object);

  switch (prop_id)
    {
    case PROP_FOLDED:
      if (self->folded != g_value_get_boolean (value))
        {
          self->folded = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
confab_chat_view_class_init (ConfabChatViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = confab_chat_view_dispose;
  object_class->get_property = confab_chat_view_get_property;
  object_class->set_property = confab_chat_view_set_property;

  widget_class->realize = confab_chat_view_realize;
  widget_class->unrealize = confab_chat_view_unrealize;

  /* TRUE when the window is narrow and the sidebar is a page of its own. */
  properties[PROP_FOLDED] =
    g_param_spec_boolean ("folded", NULL, NULL, FALSE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/confab/Confab/confab-chat-view.ui");
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "chatview");

  gtk_widget_class_bind_template_child (widget_class, ConfabChatView, attachment_box);
  gtk_widget_class_bind_template_child (widget_class, ConfabChatView, attachment_label);
  gtk_widget_class_bind_template_child (widget_class, ConfabChatView, composer_box);
  gtk_widget_class_bind_template_child (widget_class, ConfabChatView, composer_scroller);
  gtk_widget_class_bind_template_child (widget_class, ConfabChatView, composer);
  gtk_widget_class_bind_template_child (widget_class, ConfabChatView, content_stack);
  gtk_widget_class_bind_template_child (widget_class, ConfabChatView, header_bar);
  gtk_widget_class_bind_template_child (widget_class, ConfabChatView, message_list);
  gtk_widget_class_bind_template_child (widget_class, ConfabChatView, model_entry);
  gtk_widget_class_bind_template_child (widget_class, ConfabChatView, placeholder);
  gtk_widget_class_bind_template_child (widget_class, ConfabChatView, scroller);
  gtk_widget_class_bind_template_child (widget_class, ConfabChatView, settings_popover);
  gtk_widget_class_bind_template_child (widget_class, ConfabChatView, send_stack);
  gtk_widget_class_bind_template_child (widget_class, ConfabChatView, status_label);
  gtk_widget_class_bind_template_child (widget_class, ConfabChatView, system_view);
  gtk_widget_class_bind_template_child (widget_class, ConfabChatView, temperature_spin);
  gtk_widget_class_bind_template_child (widget_class, ConfabChatView, window_title);

  gtk_widget_class_install_action (widget_class, "chat.send", NULL, send_action);
  gtk_widget_class_install_action (widget_class, "chat.stop", NULL, stop_action);
  gtk_widget_class_install_action (widget_class, "chat.retry", "x", retry_action);
  gtk_widget_class_install_action (widget_class, "chat.continue", "x", retry_action);
  gtk_widget_class_install_action (widget_class, "chat.remove-attachment", NULL,
                                   remove_attachment_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "chat.stop", NULL);
}

static void
confab_chat_view_init (ConfabChatView *self)
{
  GtkListItemFactory *factory;
  GtkEventController *keys;
  GtkAdjustment *vadjustment;

  gtk_orientable_set_orientation (GTK_ORIENTABLE (gtk_widget_get_layout_manager (GTK_WIDGET (self))),
                                  GTK_ORIENTATION_VERTICAL);
  gtk_widget_init_template (GTK_WIDGET (self));

  self->stick_to_bottom = TRUE;
  self->page_size = PAGE_SIZE;

  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (factory_setup_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (factory_bind_cb), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (factory_unbind_cb), NULL);
  gtk_list_view_set_factory (self->message_list, factory);
  g_object_unref (factory);

  keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect_object (keys, "key-pressed",
                           G_CALLBACK (composer_key_pressed_cb), self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self->composer), keys);

  g_signal_connect_object (gtk_text_view_get_buffer (self->composer), "changed",
                           G_CALLBACK (composer_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (gtk_text_view_get_buffer (self->composer), "insert-text",
                           G_CALLBACK (composer_insert_text_cb), self, 0);

  vadjustment = gtk_scrolled_window_get_vadjustment (self->scroller);
  g_signal_connect_object (vadjustment, "changed",
                           G_CALLBACK (vadjustment_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (vadjustment, "value-changed",
                           G_CALLBACK (vadjustment_value_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->scroller, "edge-reached",
                           G_CALLBACK (edge_reached_cb), self, G_CONNECT_SWAPPED);

  g_signal_connect_object (self->settings_popover, "show",
                           G_CALLBACK (settings_popover_show_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings_popover, "closed",
                           G_CALLBACK (settings_popover_closed_cb), self, G_CONNECT_SWAPPED);

  self->session_signals = g_signal_group_new (CONFAB_TYPE_CHAT_SESSION);
  g_signal_group_connect_object (self->session_signals, "turn-started",
                                 G_CALLBACK (turn_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_group_connect_object (self->session_signals, "turn-finished",
                                 G_CALLBACK (turn_changed_cb), self, G_CONNECT_SWAPPED);

  self->conversation_signals = g_signal_group_new (CONFAB_TYPE_CONVERSATION);
  g_signal_group_connect_object (self->conversation_signals, "items-changed",
                                 G_CALLBACK (items_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_group_connect_object (self->conversation_signals, "notify::title",
                                 G_CALLBACK (update_header), self, G_CONNECT_SWAPPED);
  g_signal_group_connect_object (self->conversation_signals, "notify::model",
                                 G_CALLBACK (update_header), self, G_CONNECT_SWAPPED);

  self->insecure_ok = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  update_attachment (self);
  confab_chat_view_set_network_monitor (self, g_network_monitor_get_default ());

  update_busy (self);
  update_content_page (self);
}

void
confab_chat_view_set_page_size (ConfabChatView *self,
                                guint           page_size)
{
  g_return_if_fail (CONFAB_IS_CHAT_VIEW (self));
  g_return_if_fail (page_size > 0);

  self->page_size = page_size;
}

void
confab_chat_view_set_network_monitor (ConfabChatView  *self,
                                      GNetworkMonitor *monitor)
{
  g_return_if_fail (CONFAB_IS_CHAT_VIEW (self));

  if (self->network_monitor != NULL)
    g_signal_handlers_disconnect_by_func (self->network_monitor, update_status, self);

  if (g_set_object (&self->network_monitor, monitor) && monitor != NULL)
    g_signal_connect_object (monitor, "notify::network-available",
                             G_CALLBACK (update_status), self, G_CONNECT_SWAPPED);

  update_status (self);
}

void
confab_chat_view_set_session (ConfabChatView    *self,
                              ConfabChatSession *session)
{
  g_return_if_fail (CONFAB_IS_CHAT_VIEW (self));
  g_return_if_fail (!session || CONFAB_IS_CHAT_SESSION (session));

  if (g_set_object (&self->session, session))
    {
      if (self->session_signals != NULL)
        g_signal_group_set_target (self->session_signals, session);
      if (session != NULL)
        g_signal_connect_object (session, "notify::provider",
                                 G_CALLBACK (update_status), self, G_CONNECT_SWAPPED);
      update_busy (self);
      update_status (self);
    }
}

ConfabConversation *
confab_chat_view_get_conversation (ConfabChatView *self)
{
  g_return_val_if_fail (CONFAB_IS_CHAT_VIEW (self), NULL);
  return self->conversation;
}

void
confab_chat_view_set_conversation (ConfabChatView     *self,
                                   ConfabConversation *conversation)
{
  g_autoptr(GtkNoSelection) selection = NULL;

  g_return_if_fail (CONFAB_IS_CHAT_VIEW (self));
  g_return_if_fail (!conversation || CONFAB_IS_CONVERSATION (conversation));

  if (!g_set_object (&self->conversation, conversation))
    return;
  self->older_failed = FALSE;

  /* A conversation from the sidebar brings its newest page of messages. */
  if (conversation != NULL && !confab_conversation_get_messages_loaded (conversation))
    {
      confab_conversation_set_messages_loaded (conversation, TRUE);
      load_older (self);
    }

  g_signal_group_set_target (self->conversation_signals, conversation);

  if (conversation != NULL)
    selection = gtk_no_selection_new (g_object_ref (G_LIST_MODEL (conversation)));
  gtk_list_view_set_model (self->message_list, GTK_SELECTION_MODEL (selection));

  self->stick_to_bottom = TRUE;
  queue_scroll_to_bottom (self);

  update_header (self);
  update_content_page (self);
  update_busy (self);
}

void
confab_chat_view_focus_composer (ConfabChatView *self)
{
  g_return_if_fail (CONFAB_IS_CHAT_VIEW (self));
  gtk_widget_grab_focus (GTK_WIDGET (self->composer));
}

GtkTextView *
confab_chat_view_get_composer (ConfabChatView *self)
{
  g_return_val_if_fail (CONFAB_IS_CHAT_VIEW (self), NULL);
  return self->composer;
}

GtkListView *
confab_chat_view_get_message_list (ConfabChatView *self)
{
  g_return_val_if_fail (CONFAB_IS_CHAT_VIEW (self), NULL);
  return self->message_list;
}
