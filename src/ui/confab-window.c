/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-window"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "confab-window.h"
#include "confab-tooltip.h"

struct _ConfabWindow
{
  AdwApplicationWindow  parent_instance;

  /* Template widgets */
  ConfabChatView       *chat_view;
  GtkListView          *conversation_list;
  AdwLeaflet           *leaflet;
  GtkStack             *main_stack;
  GtkSearchEntry       *search_entry;
  AdwStatusPage        *sidebar_empty;
  GtkStack             *sidebar_stack;
  AdwStatusPage        *store_error_page;
  AdwToastOverlay      *toast_overlay;

  /* Borrowed */
  ConfabApplication    *application;

  /* Owned */
  GListStore           *conversations;
  GtkFilterListModel   *filtered;
  GtkCustomFilter      *filter;
  GtkSingleSelection   *selection;
  GHashTable           *search_hits;   /* conversation ids matching the search, or NULL */
  GSignalGroup         *session_signals;
  GHashTable           *deleted;       /* id → ConfabConversation whose deletion can be undone */
};

G_DEFINE_FINAL_TYPE (ConfabWindow, confab_window, ADW_TYPE_APPLICATION_WINDOW)

static ConfabStore *
get_store (ConfabWindow *self)
{
  return confab_application_get_store (self->application);
}

static gboolean
find_conversation (ConfabWindow        *self,
                   gint64               id,
                   ConfabConversation **out,
                   guint               *position)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->conversations));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(ConfabConversation) conversation =
        g_list_model_get_item (G_LIST_MODEL (self->conversations), i);

      if (confab_conversation_get_id (conversation) == id)
        {
          if (out != NULL)
            *out = g_steal_pointer (&conversation);
          if (position != NULL)
            *position = i;
          return TRUE;
        }
    }

  return FALSE;
}

static void
update_sidebar_page (ConfabWindow *self)
{
  gboolean empty = g_list_model_get_n_items (G_LIST_MODEL (self->filtered)) == 0;
  gboolean searching = self->search_hits != NULL;

  adw_status_page_set_title (self->sidebar_empty,
                             searching ? _("No Results") : _("No Conversations Yet"));
  adw_status_page_set_description (self->sidebar_empty,
                                   searching ? _("Try other words.")
                                             : _("Your chats will be listed here."));
  adw_status_page_set_icon_name (self->sidebar_empty,
                                 searching ? "system-search-symbolic"
                                           : "user-available-symbolic");
  gtk_stack_set_visible_child_name (self->sidebar_stack, empty ? "empty" : "list");
}

/* Keeps the list in order of activity: the conversation moves to the top. */
static void
move_to_top (ConfabWindow       *self,
             ConfabConversation *conversation)
{
  guint position;
  ConfabConversation *current = confab_chat_view_get_conversation (self->chat_view);

  if (g_list_store_find (self->conversations, conversation, &position))
    {
      if (position == 0)
        return;
      g_object_ref (conversation);
      g_list_store_remove (self->conversations, position);
      g_list_store_insert (self->conversations, 0, conversation);
      g_object_unref (conversation);
    }
  else
    {
      g_list_store_insert (self->conversations, 0, conversation);
    }

  if (current == conversation)
    gtk_single_selection_set_selected (self->selection, 0);

  update_sidebar_page (self);
}

static void
update_title (ConfabWindow *self)
{
  ConfabConversation *conversation = confab_chat_view_get_conversation (self->chat_view);
  const char *title = conversation ? confab_conversation_get_title (conversation) : NULL;

  if (title != NULL && *title != '\0')
    {
      /* Translators: the window title, "<conversation title> – Confab" */
      g_autofree char *full = g_strdup_printf (_("%s – Confab"), title);
      gtk_window_set_title (GTK_WINDOW (self), full);
    }
  else
    {
      gtk_window_set_title (GTK_WINDOW (self), _("Confab"));
    }
}

static ConfabConversation *
new_conversation_from_defaults (ConfabWindow *self)
{
  GSettings *settings = confab_application_get_settings (self->application);
  ConfabConversation *conversation = confab_conversation_new ();
  g_autofree char *model = g_settings_get_string (settings, "model");
  g_autofree char *system_message = g_settings_get_string (settings, "system-message");

  confab_conversation_set_model (conversation, model);
  confab_conversation_set_temperature (conversation,
                                       g_settings_get_double (settings, "temperature"));
  confab_conversation_set_system_message (conversation, system_message);
  confab_conversation_set_messages_loaded (conversation, TRUE);

  return conversation;
}

void
confab_window_show_conversation (ConfabWindow       *self,
                                 ConfabConversation *conversation)
{
  ConfabConversation *previous;
  guint position;

  g_return_if_fail (CONFAB_IS_WINDOW (self));
  g_return_if_fail (CONFAB_IS_CONVERSATION (conversation));

  previous = confab_chat_view_get_conversation (self->chat_view);
  if (previous != NULL)
    g_signal_handlers_disconnect_by_func (previous, update_title, self);

  confab_chat_view_set_conversation (self->chat_view, conversation);
  g_signal_connect_object (conversation, "notify::title",
                           G_CALLBACK (update_title), self, G_CONNECT_SWAPPED);
  update_title (self);

  /* Select its row, if it has one among those the search shows. */
  position = GTK_INVALID_LIST_POSITION;
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->filtered)); i++)
    {
      g_autoptr(ConfabConversation) item = g_list_model_get_item (G_LIST_MODEL (self->filtered), i);

      if (item == conversation)
        {
          position = i;
          break;
        }
    }
  gtk_single_selection_set_selected (self->selection, position);

  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
  confab_chat_view_focus_composer (self->chat_view);
}

static void
new_chat_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  ConfabWindow *self = CONFAB_WINDOW (widget);
  ConfabConversation *current = confab_chat_view_get_conversation (self->chat_view);
  g_autoptr(ConfabConversation) conversation = NULL;

  /* An untouched new chat is already what was asked for. */
  if (current != NULL && confab_conversation_get_id (current) == 0)
    {
      adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
      confab_chat_view_focus_composer (self->chat_view);
      return;
    }

  conversation = new_conversation_from_defaults (self);
  confab_window_show_conversation (self, conversation);
}

static void
search_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  ConfabWindow *self = CONFAB_WINDOW (widget);

  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

static void
toggle_sidebar_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  ConfabWindow *self = CONFAB_WINDOW (widget);

  if (!adw_leaflet_get_folded (self->leaflet))
    return;

  if (adw_leaflet_get_visible_child (self->leaflet) == GTK_WIDGET (self->chat_view))
    adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
  else
    adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
}

static void
rename_response_cb (AdwMessageDialog *dialog,
                    const char       *response,
                    gpointer          user_data)
{
  ConfabWindow *self = CONFAB_WINDOW (user_data);
  ConfabConversation *conversation = g_object_get_data (G_OBJECT (dialog), "conversation");
  GtkEditable *entry = g_object_get_data (G_OBJECT (dialog), "entry");
  g_autoptr(GError) error = NULL;
  g_autofree char *title = NULL;

  if (g_strcmp0 (response, "rename") != 0)
    return;

  title = g_strstrip (g_strdup (gtk_editable_get_text (entry)));
  if (*title == '\0')
    return;

  confab_conversation_set_title (conversation, title);
  confab_conversation_set_title_locked (conversation, TRUE);
  if (!confab_store_update_conversation (get_store (self), conversation, &error))
    confab_window_add_toast (self, adw_toast_new (error->message));
}

static void
rename_conversation_action (GtkWidget  *widget,
                            const char *action_name,
                            GVariant   *parameter)
{
  ConfabWindow *self = CONFAB_WINDOW (widget);
  g_autoptr(ConfabConversation) conversation = NULL;
  GtkWidget *dialog;
  GtkWidget *entry;

  if (!find_conversation (self, g_variant_get_int64 (parameter), &conversation, NULL))
    return;

  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Rename Conversation"), NULL);
  entry = gtk_entry_new ();
  gtk_editable_set_text (GTK_EDITABLE (entry), confab_conversation_get_title (conversation));
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Conversation title"),
                                  -1);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "rename", _("_Rename"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "rename",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "rename");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "conversation",
                          g_object_ref (conversation), g_object_unref);
  g_object_set_data (G_OBJECT (dialog), "entry", entry);
  g_signal_connect_object (dialog, "response", G_CALLBACK (rename_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (entry);
}

static void
undo_delete_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  ConfabWindow *self = CONFAB_WINDOW (widget);
  gint64 id = g_variant_get_int64 (parameter);
  g_autoptr(ConfabConversation) conversation = NULL;
  g_autoptr(GError) error = NULL;
  guint n, position;

  if (!g_hash_table_steal_extended (self->deleted, &id, NULL, (gpointer *) &conversation))
    return;

  if (!confab_store_set_conversation_deleted (get_store (self), id, FALSE, &error))
    {
      confab_window_add_toast (self, adw_toast_new (error->message));
      return;
    }

  /* Back in its place by activity. */
  n = g_list_model_get_n_items (G_LIST_MODEL (self->conversations));
  for (position = 0; position < n; position++)
    {
      g_autoptr(ConfabConversation) item =
        g_list_model_get_item (G_LIST_MODEL (self->conversations), position);

      if (confab_conversation_get_updated_at (item) <
          confab_conversation_get_updated_at (conversation))
        break;
    }
  g_list_store_insert (self->conversations, position, conversation);
  update_sidebar_page (self);
  confab_window_show_conversation (self, conversation);
}

/* Once its toast is gone, a deletion can no longer be undone in this run; the
 * store purges it at the next start. */
static void
delete_toast_dismissed_cb (AdwToast     *toast,
                           ConfabWindow *self)
{
  GVariant *target = adw_toast_get_action_target_value (toast);
  gint64 id;

  if (target == NULL)
    return;

  id = g_variant_get_int64 (target);
  g_hash_table_remove (self->deleted, &id);
}

static void
delete_conversation_action (GtkWidget  *widget,
                            const char *action_name,
                            GVariant   *parameter)
{
  ConfabWindow *self = CONFAB_WINDOW (widget);
  g_autoptr(ConfabConversation) conversation = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *title = NULL;
  AdwToast *toast;
  guint position;
  gint64 id;

  if (!find_conversation (self, g_variant_get_int64 (parameter), &conversation, &position))
    return;

  if (confab_chat_view_get_conversation (self->chat_view) == conversation &&
      confab_chat_session_is_busy (confab_application_get_session (self->application),
                                   conversation))
    confab_chat_session_stop (confab_application_get_session (self->application), conversation);

  if (!confab_store_set_conversation_deleted (get_store (self),
                                              confab_conversation_get_id (conversation),
                                              TRUE, &error))
    {
      confab_window_add_toast (self, adw_toast_new (error->message));
      return;
    }

  g_list_store_remove (self->conversations, position);
  update_sidebar_page (self);

  if (confab_chat_view_get_conversation (self->chat_view) == conversation)
    {
      g_autoptr(ConfabConversation) fresh = new_conversation_from_defaults (self);
      confab_window_show_conversation (self, fresh);
    }

  /* Translators: %s is a conversation title */
  title = g_strdup_printf (_("“%s” deleted"), confab_conversation_get_title (conversation));
  toast = adw_toast_new (title);
  adw_toast_set_button_label (toast, _("_Undo"));
  adw_toast_set_action_name (toast, "win.undo-delete");
  adw_toast_set_action_target_value (toast, g_variant_new_int64 (confab_conversation_get_id (conversation)));
  adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  g_signal_connect_object (toast, "dismissed", G_CALLBACK (delete_toast_dismissed_cb), self, 0);

  id = confab_conversation_get_id (conversation);
  g_hash_table_insert (self->deleted, g_memdup2 (&id, sizeof id), g_steal_pointer (&conversation));

  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
load_conversations (ConfabWindow *self)
{
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GError) error = NULL;
  ConfabStore *store = get_store (self);

  g_list_store_remove_all (self->conversations);

  if (store == NULL)
    return;

  list = confab_store_list_conversations (store, &error);
  if (list == NULL)
    {
      confab_window_add_toast (self, adw_toast_new (error->message));
      return;
    }

  g_list_store_splice (self->conversations, 0, 0, list->pdata, list->len);
  update_sidebar_page (self);
}

static void
turn_started_cb (ConfabWindow       *self,
                 ConfabConversation *conversation,
                 ConfabMessage      *assistant)
{
  move_to_top (self, conversation);
}

static void
store_failed_cb (ConfabWindow *self,
                 GError       *error)
{
  confab_window_add_toast (self, adw_toast_new (error->message));
}

/* Shows the chat, or the page that explains why the database can't be opened. */
static void
sync_store_state (ConfabWindow *self)
{
  const GError *error = confab_application_get_store_error (self->application);
  g_autoptr(ConfabConversation) fresh = NULL;

  g_signal_group_set_target (self->session_signals,
                             confab_application_get_session (self->application));
  confab_chat_view_set_session (self->chat_view,
                                confab_application_get_session (self->application));

  if (error != NULL)
    {
      adw_status_page_set_description (self->store_error_page, error->message);
      gtk_stack_set_visible_child_name (self->main_stack, "store-error");
      return;
    }

  gtk_stack_set_visible_child_name (self->main_stack, "chat");
  load_conversations (self);

  fresh = new_conversation_from_defaults (self);
  confab_window_show_conversation (self, fresh);
}

static void
move_store_aside_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  ConfabWindow *self = CONFAB_WINDOW (widget);
  g_autofree char *path = confab_store_dup_default_path ();
  g_autofree char *moved = NULL;
  g_autofree char *message = NULL;
  g_autoptr(GError) error = NULL;

  moved = confab_store_move_aside (path, &error);
  if (moved == NULL)
    {
      adw_status_page_set_description (self->store_error_page, error->message);
      return;
    }

  confab_application_reopen_store (self->application, NULL);
  sync_store_state (self);

  /* Translators: %s is a file path */
  message = g_strdup_printf (_("The unreadable file was kept as %s"), moved);
  confab_window_add_toast (self, adw_toast_new (message));
}

static void
selection_changed_cb (ConfabWindow *self)
{
  ConfabConversation *conversation = gtk_single_selection_get_selected_item (self->selection);

  if (conversation != NULL &&
      conversation != confab_chat_view_get_conversation (self->chat_view))
    confab_window_show_conversation (self, conversation);
}

static void
list_activate_cb (ConfabWindow *self,
                  guint         position)
{
  g_autoptr(ConfabConversation) conversation =
    g_list_model_get_item (G_LIST_MODEL (self->filtered), position);

  if (conversation != NULL)
    confab_window_show_conversation (self, conversation);
}

static gboolean
filter_func (gpointer item,
             gpointer user_data)
{
  ConfabWindow *self = user_data;
  gint64 id = confab_conversation_get_id (item);

  if (self->search_hits == NULL)
    return TRUE;

  return g_hash_table_contains (self->search_hits, &id);
}

static void
search_changed_cb (ConfabWindow *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) ids = NULL;
  g_autofree char *needle = NULL;
  guint n;

  g_clear_pointer (&self->search_hits, g_hash_table_unref);

  if (text != NULL && *text != '\0' && get_store (self) != NULL)
    {
      self->search_hits = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

      ids = confab_store_search (get_store (self), text, &error);
      if (ids == NULL)
        g_debug ("Search failed: %s", error->message);
      for (guint i = 0; ids != NULL && i < ids->len; i++)
        g_hash_table_add (self->search_hits,
                          g_memdup2 (&g_array_index (ids, gint64, i), sizeof (gint64)));

      /* Titles match by substring too, as people type them. */
      needle = g_utf8_casefold (text, -1);
      n = g_list_model_get_n_items (G_LIST_MODEL (self->conversations));
      for (guint i = 0; i < n; i++)
        {
          g_autoptr(ConfabConversation) item =
            g_list_model_get_item (G_LIST_MODEL (self->conversations), i);
          const char *title = confab_conversation_get_title (item);
          g_autofree char *folded = g_utf8_casefold (title ? title : "", -1);
          gint64 id = confab_conversation_get_id (item);

          if (strstr (folded, needle) != NULL)
            g_hash_table_add (self->search_hits, g_memdup2 (&id, sizeof id));
        }
    }

  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  update_sidebar_page (self);
}

static void
stop_search_cb (ConfabWindow *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
  confab_chat_view_focus_composer (self->chat_view);
}

/* Sidebar rows: the title, and a menu to rename or delete. */
static void
row_setup_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *item,
              gpointer                  user_data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *label = gtk_label_new (NULL);
  GtkWidget *menu = gtk_menu_button_new ();

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (label, TRUE);
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (menu), "view-more-symbolic");
  gtk_widget_add_css_class (menu, "flat");
  gtk_widget_set_valign (menu, GTK_ALIGN_CENTER);
  confab_tooltip_set (menu, _("Conversation Menu"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (menu),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Conversation Menu"),
                                  -1);
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), menu);
  gtk_list_item_set_child (item, box);
}

static void
row_title_cb (ConfabConversation *conversation,
              GParamSpec         *pspec,
              GtkLabel           *label)
{
  const char *title = confab_conversation_get_title (conversation);

  gtk_label_set_text (label, (title && *title) ? title : _("New Chat"));
}

static void
row_bind_cb (GtkSignalListItemFactory *factory,
             GtkListItem              *item,
             gpointer                  user_data)
{
  ConfabConversation *conversation = gtk_list_item_get_item (item);
  GtkWidget *box = gtk_list_item_get_child (item);
  GtkWidget *label = gtk_widget_get_first_child (box);
  GtkWidget *menu_button = gtk_widget_get_last_child (box);
  g_autoptr(GMenu) menu = g_menu_new ();
  g_autoptr(GMenuItem) rename = NULL;
  g_autoptr(GMenuItem) delete = NULL;
  gint64 id = confab_conversation_get_id (conversation);

  rename = g_menu_item_new (_("_Rename…"), NULL);
  g_menu_item_set_action_and_target_value (rename, "win.rename-conversation",
                                           g_variant_new_int64 (id));
  delete = g_menu_item_new (_("_Delete"), NULL);
  g_menu_item_set_action_and_target_value (delete, "win.delete-conversation",
                                           g_variant_new_int64 (id));
  g_menu_append_item (menu, rename);
  g_menu_append_item (menu, delete);
  gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (menu_button), G_MENU_MODEL (menu));

  row_title_cb (conversation, NULL, GTK_LABEL (label));
  g_signal_connect_object (conversation, "notify::title",
                           G_CALLBACK (row_title_cb), label, 0);
}

static void
row_unbind_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *item,
               gpointer                  user_data)
{
  ConfabConversation *conversation = gtk_list_item_get_item (item);
  GtkWidget *label = gtk_widget_get_first_child (gtk_list_item_get_child (item));

  g_signal_handlers_disconnect_by_func (conversation, row_title_cb, label);
}

static gboolean
close_request_cb (ConfabWindow *self)
{
  GSettings *settings = confab_application_get_settings (self->application);
  int width, height;

  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  g_settings_set_int (settings, "window-width", width);
  g_settings_set_int (settings, "window-height", height);
  g_settings_set_boolean (settings, "window-maximized",
                          gtk_window_is_maximized (GTK_WINDOW (self)));

  return FALSE;
}

/* After construction: GtkWindow's "application" is not a construct property. */
static void
confab_window_setup (ConfabWindow *self)
{
  GSettings *settings;

  self->application = CONFAB_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
  settings = confab_application_get_settings (self->application);

  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (settings, "window-width"),
                               g_settings_get_int (settings, "window-height"));
  if (g_settings_get_boolean (settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  g_signal_connect_object (self->application, "notify::session",
                           G_CALLBACK (sync_store_state), self, G_CONNECT_SWAPPED);
  sync_store_state (self);
}

static void
confab_window_dispose (GObject *object)
{
  ConfabWindow *self = (ConfabWindow *)object;

  g_signal_group_set_target (self->session_signals, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), CONFAB_TYPE_WINDOW);

  G_OBJECT_CLASS (confab_window_parent_class)->dispose (object);
}

static void
confab_window_finalize (GObject *object)
{
  ConfabWindow *self = (ConfabWindow *)object;

  g_clear_pointer (&self->search_hits, g_hash_table_unref);
  g_clear_pointer (&self->deleted, g_hash_table_unref);
  g_clear_object (&self->session_signals);
  g_clear_object (&self->selection);
  g_clear_object (&self->conversations);

  G_OBJECT_CLASS (confab_window_parent_class)->finalize (object);
}

static void
confab_window_class_init (ConfabWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = confab_window_dispose;
  object_class->finalize = confab_window_finalize;

  g_type_ensure (CONFAB_TYPE_CHAT_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/confab/Confab/confab-window.ui");
  gtk_widget_class_bind_template_child (widget_class, ConfabWindow, chat_view);
  gtk_widget_class_bind_template_child (widget_class, ConfabWindow, conversation_list);
  gtk_widget_class_bind_template_child (widget_class, ConfabWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, ConfabWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, ConfabWindow, search_entry);
  gtk_widget_class_bind_template_child (widget_class, ConfabWindow, sidebar_empty);
  gtk_widget_class_bind_template_child (widget_class, ConfabWindow, sidebar_stack);
  gtk_widget_class_bind_template_child (widget_class, ConfabWindow, store_error_page);
  gtk_widget_class_bind_template_child (widget_class, ConfabWindow, toast_overlay);

  gtk_widget_class_install_action (widget_class, "win.new-chat", NULL, new_chat_action);
  gtk_widget_class_install_action (widget_class, "win.search", NULL, search_action);
  gtk_widget_class_install_action (widget_class, "win.toggle-sidebar", NULL,
                                   toggle_sidebar_action);
  gtk_widget_class_install_action (widget_class, "win.rename-conversation", "x",
                                   rename_conversation_action);
  gtk_widget_class_install_action (widget_class, "win.delete-conversation", "x",
                                   delete_conversation_action);
  gtk_widget_class_install_action (widget_class, "win.undo-delete", "x", undo_delete_action);
  gtk_widget_class_install_action (widget_class, "win.move-store-aside", NULL,
                                   move_store_aside_action);
}

static void
confab_window_init (ConfabWindow *self)
{
  GtkListItemFactory *factory;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->conversations = g_list_store_new (CONFAB_TYPE_CONVERSATION);
  self->deleted = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_object_unref);
  self->filter = gtk_custom_filter_new (filter_func, self, NULL);
  self->filtered = gtk_filter_list_model_new (g_object_ref (G_LIST_MODEL (self->conversations)),
                                              GTK_FILTER (self->filter));
  self->selection = gtk_single_selection_new (G_LIST_MODEL (self->filtered));
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  gtk_single_selection_set_selected (self->selection, GTK_INVALID_LIST_POSITION);

  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (row_setup_cb), self);
  g_signal_connect (factory, "bind", G_CALLBACK (row_bind_cb), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (row_unbind_cb), self);
  gtk_list_view_set_factory (self->conversation_list, factory);
  g_object_unref (factory);
  gtk_list_view_set_model (self->conversation_list, GTK_SELECTION_MODEL (self->selection));

  g_signal_connect_object (self->selection, "notify::selected",
                           G_CALLBACK (selection_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->conversation_list, "activate",
                           G_CALLBACK (list_activate_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->search_entry, "search-changed",
                           G_CALLBACK (search_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->search_entry, "stop-search",
                           G_CALLBACK (stop_search_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect (self, "close-request", G_CALLBACK (close_request_cb), NULL);

  self->session_signals = g_signal_group_new (CONFAB_TYPE_CHAT_SESSION);
  g_signal_group_connect_object (self->session_signals, "turn-started",
                                 G_CALLBACK (turn_started_cb), self, G_CONNECT_SWAPPED);
  g_signal_group_connect_object (self->session_signals, "turn-finished",
                                 G_CALLBACK (turn_started_cb), self, G_CONNECT_SWAPPED);
  g_signal_group_connect_object (self->session_signals, "store-failed",
                                 G_CALLBACK (store_failed_cb), self, G_CONNECT_SWAPPED);
}

ConfabWindow *
confab_window_new (ConfabApplication *application)
{
  ConfabWindow *self;

  g_return_val_if_fail (CONFAB_IS_APPLICATION (application), NULL);

  self = g_object_new (CONFAB_TYPE_WINDOW, "application", application, NULL);
  confab_window_setup (self);

  return self;
}

ConfabChatView *
confab_window_get_chat_view (ConfabWindow *self)
{
  g_return_val_if_fail (CONFAB_IS_WINDOW (self), NULL);
  return self->chat_view;
}

GListModel *
confab_window_get_conversations (ConfabWindow *self)
{
  g_return_val_if_fail (CONFAB_IS_WINDOW (self), NULL);
  return G_LIST_MODEL (self->conversations);
}

void
confab_window_add_toast (ConfabWindow *self,
                         AdwToast     *toast)
{
  g_return_if_fail (CONFAB_IS_WINDOW (self));
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}
