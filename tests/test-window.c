/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "confab-test-util.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "confab-application.h"
#include "confab-chat-view-private.h"
#include "confab-markdown-view-private.h"
#include "confab-message-row.h"
#include "confab-test-server.h"
#include "confab-window.h"

/* A network monitor the test turns on and off. */
#define TEST_TYPE_MONITOR (test_monitor_get_type ())
G_DECLARE_FINAL_TYPE (TestMonitor, test_monitor, TEST, MONITOR, GObject)

struct _TestMonitor
{
  GObject  parent_instance;
  gboolean available;
};

static void test_monitor_iface_init (GNetworkMonitorInterface *iface);
static void test_monitor_initable_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestMonitor, test_monitor, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, test_monitor_initable_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_NETWORK_MONITOR, test_monitor_iface_init))

static gboolean
test_monitor_initable_init_func (GInitable     *initable,
                                 GCancellable  *cancellable,
                                 GError       **error)
{
  return TRUE;
}

static void
test_monitor_initable_init (GInitableIface *iface)
{
  iface->init = test_monitor_initable_init_func;
}

enum { MONITOR_PROP_0, MONITOR_PROP_AVAILABLE, MONITOR_PROP_METERED, MONITOR_PROP_CONNECTIVITY };

static void
test_monitor_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  TestMonitor *self = TEST_MONITOR (object);

  switch (prop_id)
    {
    case MONITOR_PROP_AVAILABLE:
      g_value_set_boolean (value, self->available);
      break;
    case MONITOR_PROP_METERED:
      g_value_set_boolean (value, FALSE);
      break;
    case MONITOR_PROP_CONNECTIVITY:
      g_value_set_enum (value, self->available ? G_NETWORK_CONNECTIVITY_FULL
                                               : G_NETWORK_CONNECTIVITY_LOCAL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
test_monitor_class_init (TestMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = test_monitor_get_property;
  g_object_class_override_property (object_class, MONITOR_PROP_AVAILABLE, "network-available");
  g_object_class_override_property (object_class, MONITOR_PROP_METERED, "network-metered");
  g_object_class_override_property (object_class, MONITOR_PROP_CONNECTIVITY, "connectivity");
}

static void
test_monitor_iface_init (GNetworkMonitorInterface *iface)
{
}

static void
test_monitor_init (TestMonitor *self)
{
  self->available = TRUE;
}

static void
test_monitor_set_available (TestMonitor *self,
                            gboolean     available)
{
  self->available = available;
  g_object_notify (G_OBJECT (self), "network-available");
}

/* GLib reads XDG_DATA_HOME once per process: one for all tests, emptied between them. */
static char *data_home;

typedef struct
{
  char              *data_home;
  ConfabTestServer  *server;
  ConfabApplication *app;
  ConfabWindow      *window;
  gboolean           turn_done;
} Fixture;

static void
turn_finished_cb (ConfabChatSession  *session,
                  ConfabConversation *conversation,
                  ConfabMessage      *assistant,
                  Fixture            *fixture)
{
  fixture->turn_done = TRUE;
}

static void
start_app_with_url (Fixture    *fixture,
                    const char *base_url);

static void
start_app (Fixture *fixture)
{
  start_app_with_url (fixture, NULL);
}

static void
start_app_with_url (Fixture    *fixture,
                    const char *base_url)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);

  g_settings_set_string (settings, "base-url",
                         base_url ? base_url : confab_test_server_get_base_url (fixture->server));
  g_settings_set_string (settings, "model", "window-test-model");

  static guint n_starts;
  g_autofree char *app_id = g_strdup_printf ("%s.Test%u", APP_ID, ++n_starts);

  fixture->app = confab_application_new ();
  /* Each start is a new application object; an unused id keeps them apart on the bus. */
  g_application_set_application_id (G_APPLICATION (fixture->app), app_id);
  g_application_set_flags (G_APPLICATION (fixture->app), G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (fixture->app), NULL, &error);
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (fixture->app));

  fixture->window = CONFAB_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (fixture->app)));
  g_assert_nonnull (fixture->window);

  if (confab_application_get_session (fixture->app) != NULL)
    g_signal_connect (confab_application_get_session (fixture->app), "turn-finished",
                      G_CALLBACK (turn_finished_cb), fixture);

  /* Let it map and settle. */
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
}

static void
stop_app (Fixture *fixture)
{
  if (fixture->window != NULL)
    gtk_window_destroy (GTK_WINDOW (fixture->window));
  fixture->window = NULL;
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&fixture->app);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *confab_dir = g_build_filename (data_home, "confab", NULL);

  confab_test_remove_tree (confab_dir);
  fixture->data_home = g_strdup (data_home);
  fixture->server = confab_test_server_new ();
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  stop_app (fixture);
  confab_test_server_free (fixture->server);
  g_free (fixture->data_home);
}

/* The end of a Chat Completions stream */
#define STOP_EVENTS \
  "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"

/* Appends a chunk whose text is @format, formatted */
G_GNUC_PRINTF (2, 3)
static void
append_content (GString    *reply,
                const char *format,
                ...)
{
  g_autofree char *text = NULL;
  g_autofree char *event = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);

  event = confab_test_content_event (text);
  g_string_append (reply, event);
}

/* Every label text below @widget, joined by newlines. */
static void
collect_text (GtkWidget *widget,
              GString   *out)
{
  if (!gtk_widget_get_visible (widget))
    return;

  if (GTK_IS_LABEL (widget))
    g_string_append_printf (out, "%s\n", gtk_label_get_text (GTK_LABEL (widget)));
  else if (GTK_IS_TEXT_VIEW (widget))
    {
      GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (widget));
      GtkTextIter start, end;
      g_autofree char *text = NULL;

      gtk_text_buffer_get_bounds (buffer, &start, &end);
      text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
      g_string_append_printf (out, "%s\n", text);
    }

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_text (child, out);
}

static void
collect_rows (GtkWidget *widget,
              GPtrArray *rows)
{
  if (CONFAB_IS_MESSAGE_ROW (widget) && confab_message_row_get_message (CONFAB_MESSAGE_ROW (widget)))
    g_ptr_array_add (rows, widget);

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_rows (child, rows);
}

static gboolean
views_settled (GtkWidget *widget)
{
  /* Views not on screen (rows kept for later) do nothing until they are. */
  if (!gtk_widget_get_mapped (widget))
    return TRUE;

  if (CONFAB_IS_MARKDOWN_VIEW (widget) && !confab_markdown_view_is_settled (CONFAB_MARKDOWN_VIEW (widget)))
    return FALSE;

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (!views_settled (child))
      return FALSE;

  return TRUE;
}

/* Runs frames until the rows have rendered what their messages hold: two
 * frames in a row in which no Markdown view had anything left to do (the
 * second one lets the list follow what the first laid out). */
static void
settle (Fixture *fixture)
{
  GtkWidget *list = GTK_WIDGET (confab_chat_view_get_message_list (confab_window_get_chat_view (fixture->window)));
  GdkFrameClock *clock = gtk_widget_get_frame_clock (list);
  gint64 end = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;
  guint quiet = 0;

  g_assert_nonnull (clock);

  while (quiet < 2)
    {
      gint64 frame = gdk_frame_clock_get_frame_counter (clock);

      gtk_widget_queue_draw (list);
      while (gdk_frame_clock_get_frame_counter (clock) == frame)
        {
          g_main_context_iteration (NULL, TRUE);
          g_assert_cmpint (g_get_monotonic_time (), <, end);
        }
      quiet = views_settled (list) ? quiet + 1 : 0;
    }
}

static char *
shown_text (Fixture *fixture)
{
  g_autoptr(GString) text = g_string_new (NULL);
  GtkListView *list = confab_chat_view_get_message_list (confab_window_get_chat_view (fixture->window));

  settle (fixture);
  collect_text (GTK_WIDGET (list), text);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* Presses a key in the composer through its own key handling. */
static gboolean
press_key (Fixture         *fixture,
           guint            keyval,
           GdkModifierType  state)
{
  GtkWidget *composer = GTK_WIDGET (confab_chat_view_get_composer (confab_window_get_chat_view (fixture->window)));
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (composer);
  gboolean handled = FALSE;

  for (guint i = 0; i < g_list_model_get_n_items (controllers) && !handled; i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_EVENT_CONTROLLER_KEY (controller) &&
          gtk_event_controller_get_propagation_phase (controller) == GTK_PHASE_CAPTURE)
        g_signal_emit_by_name (controller, "key-pressed", keyval, 0, state, &handled);
    }

  return handled;
}

static void
type_text (Fixture    *fixture,
           const char *text)
{
  GtkTextView *composer = confab_chat_view_get_composer (confab_window_get_chat_view (fixture->window));

  gtk_text_buffer_set_text (gtk_text_view_get_buffer (composer), text, -1);
}

static char *
composer_text (Fixture *fixture)
{
  GtkTextView *composer = confab_chat_view_get_composer (confab_window_get_chat_view (fixture->window));
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (composer);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static void
test_start_state (Fixture       *fixture,
                  gconstpointer  data)
{
  ConfabChatView *chat_view;

  start_app (fixture);
  chat_view = confab_window_get_chat_view (fixture->window);

  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (fixture->window)), ==, "Confab");
  g_assert_nonnull (confab_chat_view_get_conversation (chat_view));
  g_assert_cmpint (confab_conversation_get_id (confab_chat_view_get_conversation (chat_view)), ==, 0);
  g_assert_cmpstr (confab_conversation_get_model (confab_chat_view_get_conversation (chat_view)),
                   ==, "window-test-model");
  /* A person can type at once. */
  g_assert_true (gtk_window_get_focus (GTK_WINDOW (fixture->window)) ==
                 GTK_WIDGET (confab_chat_view_get_composer (chat_view)));
  g_assert_cmpuint (g_list_model_get_n_items (confab_window_get_conversations (fixture->window)), ==, 0);
}

static void
test_send_and_restart (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *expected = NULL;
  g_autofree char *text = NULL;
  g_autofree char *after = NULL;
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures",
                                                 "pydantic-ai-deepseek-reasoning-content-emoji.expected",
                                                 NULL);
  g_autoptr(GPtrArray) rows = g_ptr_array_new ();
  GListModel *conversations;
  ConfabConversation *conversation;

  g_file_get_contents (path, &expected, NULL, NULL);
  g_assert_nonnull (expected);

  start_app (fixture);
  confab_test_server_queue_fixture (fixture->server,
                                    "pydantic-ai-deepseek-reasoning-content-emoji.sse", 200, 5);

  /* Shift+Enter is a new line, not a send. */
  type_text (fixture, "Hello from the window test");
  g_assert_false (press_key (fixture, GDK_KEY_Return, GDK_SHIFT_MASK));
  g_assert_cmpuint (confab_test_server_get_requests (fixture->server)->len, ==, 0);

  g_assert_true (press_key (fixture, GDK_KEY_Return, 0));
  text = composer_text (fixture);
  g_assert_cmpstr (text, ==, "");
  confab_test_wait_for (&fixture->turn_done, 10000);

  /* Shown: both messages, the reply's text, and the title. */
  after = shown_text (fixture);
  g_assert_nonnull (strstr (after, "Hello from the window test"));
  g_assert_nonnull (strstr (after, "Hello there! 😊 How can I help you today?"));
  collect_rows (GTK_WIDGET (confab_chat_view_get_message_list (confab_window_get_chat_view (fixture->window))),
                rows);
  g_assert_cmpuint (rows->len, ==, 2);
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (fixture->window)), ==,
                   "Hello from the window test – Confab");

  conversations = confab_window_get_conversations (fixture->window);
  g_assert_cmpuint (g_list_model_get_n_items (conversations), ==, 1);

  /* After a restart it is all there again. */
  stop_app (fixture);
  start_app (fixture);

  conversations = confab_window_get_conversations (fixture->window);
  g_assert_cmpuint (g_list_model_get_n_items (conversations), ==, 1);
  conversation = g_list_model_get_item (conversations, 0);
  g_assert_cmpstr (confab_conversation_get_title (conversation), ==, "Hello from the window test");
  confab_window_show_conversation (fixture->window, conversation);
  g_object_unref (conversation);

  g_free (after);
  after = shown_text (fixture);
  g_assert_nonnull (strstr (after, "Hello from the window test"));
  g_assert_nonnull (strstr (after, expected));
}

static void
test_error_shows_retry (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autofree char *shown = NULL;

  start_app (fixture);
  confab_test_server_queue (fixture->server, 401, "application/json",
                            "{\"error\":{\"message\":\"Incorrect API key provided\"}}",
                            0, 0, CONFAB_TEST_END_COMPLETE, NULL);

  type_text (fixture, "Hi");
  g_assert_true (press_key (fixture, GDK_KEY_Return, 0));
  confab_test_wait_for (&fixture->turn_done, 10000);

  shown = shown_text (fixture);
  g_assert_nonnull (strstr (shown, "Incorrect API key provided"));
  g_assert_nonnull (strstr (shown, "Retry"));
  g_assert_nonnull (strstr (shown, "Preferences"));
}

static void
test_stop_with_escape (Fixture       *fixture,
                       gconstpointer  data)
{
  ConfabChatView *chat_view;
  ConfabMessage *assistant;
  g_autofree char *shown = NULL;

  start_app (fixture);
  confab_test_server_queue (fixture->server, 200, "text/event-stream",
                            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Once upon a time\"}}]}\n\n",
                            0, 0, CONFAB_TEST_END_HANG, NULL);
  type_text (fixture, "Tell me a story");
  g_assert_true (press_key (fixture, GDK_KEY_Return, 0));

  chat_view = confab_window_get_chat_view (fixture->window);
  assistant = confab_conversation_get_last_message (confab_chat_view_get_conversation (chat_view));
  while (confab_message_get_content_length (assistant) == 0)
    g_main_context_iteration (NULL, TRUE);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (chat_view), "chat.stop", NULL));
  confab_test_wait_for (&fixture->turn_done, 10000);

  g_assert_cmpint (confab_message_get_state (assistant), ==, CONFAB_MESSAGE_STATE_STOPPED);
  shown = shown_text (fixture);
  g_assert_nonnull (strstr (shown, "Once upon a time"));
  g_assert_nonnull (strstr (shown, "Stopped"));
}

static void
test_unreadable_database (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autofree char *dir = g_build_filename (fixture->data_home, "confab", NULL);
  g_autofree char *path = g_build_filename (dir, "confab.db", NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  const char *junk = "this is not a database, but it is somebody's file";
  gsize len;

  g_mkdir_with_parents (dir, 0700);
  g_file_set_contents (path, junk, -1, NULL);

  g_test_expect_message ("confab-application", G_LOG_LEVEL_WARNING, "*is damaged*");
  start_app (fixture);
  g_test_assert_expected_messages ();
  g_assert_null (confab_application_get_store (fixture->app));

  /* The window says what is wrong and names the file. */
  collect_text (GTK_WIDGET (fixture->window), text);
  g_assert_nonnull (strstr (text->str, path));

  /* The file was not touched. */
  g_file_get_contents (path, &before, &len, NULL);
  g_assert_cmpstr (before, ==, junk);

  /* Moving it aside keeps it, and starts fresh. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->window), "win.move-store-aside", NULL));
  g_assert_nonnull (confab_application_get_store (fixture->app));
  {
    g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
    const char *name;
    gboolean kept = FALSE;

    while ((name = g_dir_read_name (listing)) != NULL)
      if (g_str_has_prefix (name, "confab.db.broken-"))
        {
          g_autofree char *moved = g_build_filename (dir, name, NULL);
          g_file_get_contents (moved, &after, NULL, NULL);
          kept = g_strcmp0 (after, junk) == 0;
        }
    g_assert_true (kept);
  }
}

static gboolean
label_shows (GtkWidget  *widget,
             const char *needle)
{
  g_autoptr(GString) text = g_string_new (NULL);

  collect_text (widget, text);
  return strstr (text->str, needle) != NULL;
}

static void
test_offline (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(TestMonitor) monitor = g_object_new (TEST_TYPE_MONITOR, NULL);
  g_autofree char *kept = NULL;
  ConfabChatView *chat_view;

  /* A server beyond this machine; nothing is ever sent to it here. */
  start_app_with_url (fixture, "https://confab-test.invalid/v1");
  chat_view = confab_window_get_chat_view (fixture->window);
  confab_chat_view_set_network_monitor (chat_view, G_NETWORK_MONITOR (monitor));
  g_assert_false (label_shows (GTK_WIDGET (chat_view), "You are offline"));

  test_monitor_set_available (monitor, FALSE);
  g_assert_true (label_shows (GTK_WIDGET (chat_view), "You are offline"));

  type_text (fixture, "Typed while offline");
  g_assert_true (press_key (fixture, GDK_KEY_Return, 0));
  kept = composer_text (fixture);
  g_assert_cmpstr (kept, ==, "Typed while offline");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (confab_chat_view_get_conversation (chat_view))),
                    ==, 0);

  test_monitor_set_available (monitor, TRUE);
  g_assert_false (label_shows (GTK_WIDGET (chat_view), "You are offline"));
  confab_chat_view_set_network_monitor (chat_view, NULL);
}

static AdwMessageDialog *
find_message_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();  /* borrowed */

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window) && gtk_widget_get_visible (GTK_WIDGET (window)))
        return ADW_MESSAGE_DIALOG (window);
    }

  return NULL;
}

static void
test_plain_http_key_asks_first (Fixture       *fixture,
                                gconstpointer  data)
{
  AdwMessageDialog *dialog;
  g_autofree char *kept = NULL;
  ConfabChatView *chat_view;

  g_setenv ("OPENAI_API_KEY", "sk-window-test-not-a-real-key", TRUE);
  start_app_with_url (fixture, "http://confab-test.invalid/v1");
  chat_view = confab_window_get_chat_view (fixture->window);

  type_text (fixture, "Is this safe?");
  g_assert_true (press_key (fixture, GDK_KEY_Return, 0));

  dialog = find_message_dialog ();
  g_assert_nonnull (dialog);
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "plain HTTP"));

  /* Cancel: nothing is stored or sent, the text stays. */
  adw_message_dialog_response (dialog, "cancel");
  kept = composer_text (fixture);
  g_assert_cmpstr (kept, ==, "Is this safe?");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (confab_chat_view_get_conversation (chat_view))),
                    ==, 0);
  gtk_window_destroy (GTK_WINDOW (dialog));
  g_setenv ("OPENAI_API_KEY", "", TRUE);
}

static GtkWindow *
find_toplevel (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();  /* borrowed */

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (window, type) && gtk_widget_get_visible (GTK_WIDGET (window)))
        return GTK_WINDOW (window);
    }

  return NULL;
}

typedef struct
{
  GtkWidget  *root;
  const char *needle;
  gboolean    found;
} TextWatch;

static gboolean
text_watch_cb (gpointer user_data)
{
  TextWatch *watch = user_data;

  watch->found = label_shows (watch->root, watch->needle);
  return watch->found ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static void
test_preferences (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *env_url = NULL;
  GtkWindow *preferences;
  TextWatch watch = { NULL, NULL, FALSE };

  /* No URL stored: the environment's is used, and the window says so. */
  start_app_with_url (fixture, "");
  env_url = g_strdup (confab_test_server_get_base_url (fixture->server));
  g_setenv ("OPENAI_BASE_URL", env_url, TRUE);

  g_action_group_activate_action (G_ACTION_GROUP (fixture->app), "preferences", NULL);
  preferences = find_toplevel (g_type_from_name ("ConfabPreferencesWindow"));
  g_assert_nonnull (preferences);
  g_assert_true (label_shows (GTK_WIDGET (preferences), "OPENAI_BASE_URL"));

  /* The model list comes from the server. */
  watch.root = GTK_WIDGET (preferences);
  watch.needle = "2 models available";
  g_timeout_add (50, text_watch_cb, &watch);
  confab_test_wait_for (&watch.found, 10000);

  gtk_window_destroy (preferences);
  g_setenv ("OPENAI_BASE_URL", "", TRUE);
}

static void
test_rename_delete_undo (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(ConfabConversation) conversation = NULL;
  AdwMessageDialog *dialog;
  GListModel *conversations;
  gint64 id;

  start_app (fixture);
  confab_test_server_queue_fixture (fixture->server, "openai-python-text-usage.sse", 0, 0);
  type_text (fixture, "A chat to rename");
  g_assert_true (press_key (fixture, GDK_KEY_Return, 0));
  confab_test_wait_for (&fixture->turn_done, 10000);

  conversations = confab_window_get_conversations (fixture->window);
  conversation = g_list_model_get_item (conversations, 0);
  id = confab_conversation_get_id (conversation);

  /* Rename through the dialog. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->window), "win.rename-conversation",
                                             "x", id));
  dialog = find_message_dialog ();
  g_assert_nonnull (dialog);
  gtk_editable_set_text (GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog)), "Renamed chat");
  adw_message_dialog_response (dialog, "rename");
  gtk_window_destroy (GTK_WINDOW (dialog));
  g_assert_cmpstr (confab_conversation_get_title (conversation), ==, "Renamed chat");
  g_assert_true (confab_conversation_get_title_locked (conversation));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (fixture->window)), ==, "Renamed chat – Confab");

  /* Delete, then undo. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->window), "win.delete-conversation",
                                             "x", id));
  g_assert_cmpuint (g_list_model_get_n_items (conversations), ==, 0);
  g_assert_cmpint (confab_conversation_get_id (confab_chat_view_get_conversation (confab_window_get_chat_view (fixture->window))),
                   ==, 0);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->window), "win.undo-delete", "x", id));
  g_assert_cmpuint (g_list_model_get_n_items (conversations), ==, 1);
  g_assert_true (confab_chat_view_get_conversation (confab_window_get_chat_view (fixture->window)) ==
                 conversation);

  /* The name and the undone deletion survive a restart. */
  stop_app (fixture);
  start_app (fixture);
  conversations = confab_window_get_conversations (fixture->window);
  g_assert_cmpuint (g_list_model_get_n_items (conversations), ==, 1);
  g_clear_object (&conversation);
  conversation = g_list_model_get_item (conversations, 0);
  g_assert_cmpstr (confab_conversation_get_title (conversation), ==, "Renamed chat");

  /* A deletion not undone is final at the next start. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->window), "win.delete-conversation",
                                             "x", id));
  stop_app (fixture);
  start_app (fixture);
  g_assert_cmpuint (g_list_model_get_n_items (confab_window_get_conversations (fixture->window)), ==, 0);
}

typedef struct
{
  ConfabConversation *conversation;
  guint               more_than;
  gboolean            done;
} CountWatch;

static void
count_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  CountWatch *watch)
{
  watch->done = g_list_model_get_n_items (model) > watch->more_than;
}

/* Writes a conversation titled @title of @n_messages messages, "@prefix 0"
 * onwards, yours and replies in turn, straight to the app's database. */
static void
store_conversation (Fixture    *fixture,
                    const char *title,
                    const char *prefix,
                    guint       n_messages)
{
  g_autofree char *path = g_build_filename (fixture->data_home, "confab", "confab.db", NULL);
  g_autoptr(ConfabConversation) stored = confab_conversation_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(ConfabStore) store = confab_store_new (path, &error);

  g_assert_no_error (error);
  confab_conversation_set_title (stored, title);
  confab_store_insert_conversation (store, stored, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < n_messages; i++)
    {
      g_autofree char *text = g_strdup_printf ("%s %u", prefix, i);
      g_autoptr(ConfabMessage) message =
        confab_message_new (i % 2 ? CONFAB_ROLE_ASSISTANT : CONFAB_ROLE_USER, text);

      confab_message_set_conversation_id (message, confab_conversation_get_id (stored));
      confab_store_insert_message (store, message, &error);
      g_assert_no_error (error);
    }
}

static void
test_long_conversation_pages (Fixture       *fixture,
                              gconstpointer  data)
{
  ConfabConversation *conversation;
  GtkAdjustment *adjustment;
  GtkWidget *scroller;
  CountWatch watch = { 0 };
  guint loaded;

  /* A conversation of 500 messages, written straight to the database. */
  store_conversation (fixture, "Long", "Message number", 500);

  start_app (fixture);
  conversation = g_list_model_get_item (confab_window_get_conversations (fixture->window), 0);
  g_assert_cmpuint (confab_conversation_get_message_count (conversation), ==, 500);
  confab_window_show_conversation (fixture->window, conversation);
  g_object_unref (conversation);

  /* Only the newest page is loaded, and the newest message is shown. */
  loaded = g_list_model_get_n_items (G_LIST_MODEL (conversation));
  g_assert_cmpuint (loaded, >, 0);
  g_assert_cmpuint (loaded, <, 100);
  {
    g_autofree char *shown = shown_text (fixture);
    g_assert_nonnull (strstr (shown, "Message number 499"));
    g_assert_null (strstr (shown, "Message number 0\n"));
  }

  /* Reaching the top brings older ones in. */
  watch.conversation = conversation;
  watch.more_than = loaded;
  g_signal_connect (conversation, "items-changed", G_CALLBACK (count_changed_cb), &watch);
  scroller = gtk_widget_get_parent (GTK_WIDGET (confab_chat_view_get_message_list (confab_window_get_chat_view (fixture->window))));
  adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller));
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_lower (adjustment) + 1);
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_lower (adjustment));
  confab_test_wait_for (&watch.done, 5000);
  g_signal_handlers_disconnect_by_func (conversation, count_changed_cb, &watch);

  /* The oldest loaded message is right before the ones loaded first. */
  {
    g_autoptr(ConfabMessage) first = g_list_model_get_item (G_LIST_MODEL (conversation), 0);
    guint now = g_list_model_get_n_items (G_LIST_MODEL (conversation));
    g_autofree char *expected = g_strdup_printf ("Message number %u", 500 - now);

    g_assert_cmpstr (confab_message_get_content (first), ==, expected);
  }
}

static GtkAdjustment *
message_adjustment (Fixture *fixture)
{
  GtkWidget *list = GTK_WIDGET (confab_chat_view_get_message_list (confab_window_get_chat_view (fixture->window)));

  return gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (gtk_widget_get_parent (list)));
}

typedef struct
{
  GtkAdjustment *adjustment;
  gboolean       full;
} FillWatch;

static void
fill_changed_cb (GtkAdjustment *adjustment,
                 FillWatch     *watch)
{
  watch->full = gtk_adjustment_get_page_size (adjustment) > 0 &&
                gtk_adjustment_get_upper (adjustment) > gtk_adjustment_get_page_size (adjustment);
}

/* Messages that do not fill the view leave nothing to scroll up to the top
 * edge, where older ones are loaded: they come in until the view is full. */
static void
test_few_messages_fill_the_view (Fixture       *fixture,
                                 gconstpointer  data)
{
  ConfabConversation *conversation;
  FillWatch watch = { 0 };
  guint loaded;

  store_conversation (fixture, "Short ones", "Short", 200);

  start_app (fixture);
  confab_chat_view_set_page_size (confab_window_get_chat_view (fixture->window), 2);
  watch.adjustment = message_adjustment (fixture);
  g_signal_connect (watch.adjustment, "changed", G_CALLBACK (fill_changed_cb), &watch);

  conversation = g_list_model_get_item (confab_window_get_conversations (fixture->window), 0);
  confab_window_show_conversation (fixture->window, conversation);
  g_object_unref (conversation);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (conversation)), ==, 2);

  confab_test_wait_until (&watch.full, 10, "the view to fill with messages");
  g_signal_handlers_disconnect_by_func (watch.adjustment, fill_changed_cb, &watch);

  /* Enough to fill it, not all of them; the newest last, none missing. */
  loaded = g_list_model_get_n_items (G_LIST_MODEL (conversation));
  g_assert_cmpuint (loaded, >, 2);
  g_assert_cmpuint (loaded, <, 200);
  for (guint i = 0; i < loaded; i++)
    {
      g_autoptr(ConfabMessage) message = g_list_model_get_item (G_LIST_MODEL (conversation), i);
      g_autofree char *expected = g_strdup_printf ("Short %u", 200 - loaded + i);

      g_assert_cmpstr (confab_message_get_content (message), ==, expected);
    }
}

static double
distance_from_bottom (GtkAdjustment *adjustment)
{
  return gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment) -
         gtk_adjustment_get_value (adjustment);
}

static void
test_follows_bottom_unless_scrolled_up (Fixture       *fixture,
                                        gconstpointer  data)
{
  g_autoptr(GString) reply = g_string_new (NULL);
  GtkAdjustment *adjustment;
  ConfabMessage *assistant;
  double held;
  gsize length;

  /* A long reply, streamed slowly (300 paragraphs over several seconds); the
   * stream stays open after it, so it is still streaming whenever we look. */
  for (guint i = 0; i < 300; i++)
    append_content (reply, "Paragraph %u of a long reply.\n\n", i);
  g_string_append (reply, STOP_EVENTS);

  start_app (fixture);
  confab_test_server_queue (fixture->server, 200, "text/event-stream", reply->str,
                            200, 40, CONFAB_TEST_END_HANG, NULL);
  type_text (fixture, "Write a lot");
  g_assert_true (press_key (fixture, GDK_KEY_Return, 0));

  adjustment = message_adjustment (fixture);
  assistant = confab_conversation_get_last_message (confab_chat_view_get_conversation (confab_window_get_chat_view (fixture->window)));

  /* While it streams and overflows the view, the view stays at the bottom. */
  while ((gtk_adjustment_get_page_size (adjustment) == 0 ||
          gtk_adjustment_get_upper (adjustment) < 3 * gtk_adjustment_get_page_size (adjustment)) &&
         confab_message_get_state (assistant) == CONFAB_MESSAGE_STATE_STREAMING)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (confab_message_get_state (assistant), ==, CONFAB_MESSAGE_STATE_STREAMING);
  settle (fixture);
  g_assert_cmpfloat (distance_from_bottom (adjustment), <, 60);

  /* The person scrolls up: the view stays where they put it as text arrives. */
  gtk_adjustment_set_value (adjustment, 0);
  held = gtk_adjustment_get_value (adjustment);
  length = confab_message_get_content_length (assistant);
  {
    gint64 end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

    while (confab_message_get_content_length (assistant) <= length)
      {
        g_main_context_iteration (NULL, TRUE);
        g_assert_cmpint (g_get_monotonic_time (), <, end);
      }
  }
  settle (fixture);
  g_assert_cmpuint (confab_message_get_content_length (assistant), >, length);
  g_assert_cmpfloat (gtk_adjustment_get_value (adjustment), <, held + 60);
  g_assert_cmpfloat (distance_from_bottom (adjustment), >, gtk_adjustment_get_page_size (adjustment));

  confab_chat_session_stop (confab_application_get_session (fixture->app),
                            confab_chat_view_get_conversation (confab_window_get_chat_view (fixture->window)));
  confab_test_wait_for (&fixture->turn_done, 10000);
}

/* After a frame, the first paragraph in the top half of what @scroller
 * shows once everything from the top edge to it is made (NULL if nothing
 * qualifies), and where it is */
static GtkWidget *
find_top_label (ConfabMarkdownView *view,
                GtkWidget          *scroller,
                double             *y)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (scroller);
  gint64 frame = gdk_frame_clock_get_frame_counter (clock);
  double previous_bottom = -1;

  while (gdk_frame_clock_get_frame_counter (clock) == frame)
    g_main_context_iteration (NULL, TRUE);

  for (GtkWidget *page = gtk_widget_get_first_child (GTK_WIDGET (view));
       page != NULL;
       page = gtk_widget_get_next_sibling (page))
    {
      graphene_rect_t bounds;
      guint n_blocks = 0;

      /* Pages built out of sight, or being thrown away, are hidden. */
      if (!gtk_widget_get_visible (page) ||
          !gtk_widget_compute_bounds (page, scroller, &bounds) ||
          bounds.origin.y + bounds.size.height < 0)
        continue;
      if (bounds.origin.y >= gtk_widget_get_height (scroller) / 2.0)
        break;

      for (GtkWidget *block = gtk_widget_get_first_child (page); block; block = gtk_widget_get_next_sibling (block))
        n_blocks++;
      if ((previous_bottom < 0 && bounds.origin.y > 0) ||
          (previous_bottom >= 0 && bounds.origin.y > previous_bottom + 20) ||
          n_blocks < confab_markdown_view_get_blocks_per_page ())
        return NULL;
      previous_bottom = bounds.origin.y + bounds.size.height;

      for (GtkWidget *block = gtk_widget_get_first_child (page); block; block = gtk_widget_get_next_sibling (block))
        if (GTK_IS_LABEL (block) && gtk_widget_get_prev_sibling (block) != NULL &&
            gtk_widget_compute_bounds (block, scroller, &bounds) &&
            bounds.origin.y >= 0 && bounds.origin.y < gtk_widget_get_height (scroller) / 2.0)
          {
            *y = bounds.origin.y;
            return g_object_ref (block);
          }
    }

  return NULL;
}

/* The view of @message, in the row the list made for it */
static ConfabMarkdownView *
view_of_message (Fixture       *fixture,
                 ConfabMessage *message)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new ();

  collect_rows (GTK_WIDGET (confab_chat_view_get_message_list (confab_window_get_chat_view (fixture->window))),
                rows);
  for (guint i = 0; i < rows->len; i++)
    if (confab_message_row_get_message (rows->pdata[i]) == message)
      return confab_message_row_get_content_view (rows->pdata[i]);

  return NULL;
}

static void
wait_view_settled (ConfabMarkdownView *view)
{
  gint64 end = g_get_monotonic_time () + 30 * G_TIME_SPAN_SECOND;

  do
    {
      g_main_context_iteration (NULL, TRUE);
      g_assert_cmpint (g_get_monotonic_time (), <, end);
    }
  while (!confab_markdown_view_is_settled (view));
}

typedef struct
{
  GtkAdjustment      *adjustment;
  ConfabMarkdownView *view;   /* the reply's, once its row is made */
  double              max_distance;
  guint               first_built;
  guint               n_built_far;   /* pages built far from the end */
  guint               n_frames;
} FrameWatch;

/* Each frame painted: how far from the bottom the list was, and the first
 * page of the reply built */
static void
watch_frame_cb (GdkFrameClock *clock,
                FrameWatch    *watch)
{
  guint first_built, n_built, n_made, first_drawn, n_drawn, n_pages;

  watch->n_frames++;
  watch->max_distance = MAX (watch->max_distance, distance_from_bottom (watch->adjustment));

  if (watch->view == NULL)
    return;

  confab_markdown_view_get_built (watch->view, &first_built, &n_built, &n_made);
  confab_markdown_view_get_drawn_pages (watch->view, &first_drawn, &n_drawn, &n_pages);
  /* A page built before the first one built so far, more than 128 blocks
   * from the end */
  if (n_built > 0 && first_built < watch->first_built &&
      (n_pages - first_built) * confab_markdown_view_get_blocks_per_page () > 128)
    watch->n_built_far++;
  watch->first_built = first_built;
}

/* A long reply in the window: only the pages of it near what shows are
 * built into widgets, at the end and then, scrolled, at the start. */
static void
test_long_reply_builds_what_shows (Fixture       *fixture,
                                   gconstpointer  data)
{
  FrameWatch watch = { 0, };
  GdkFrameClock *clock;
  gulong watch_id;
  g_autoptr(GString) reply = g_string_new (NULL);
  g_autofree char *shown = NULL;
  ConfabMarkdownView *view;
  ConfabMessage *assistant;
  GtkAdjustment *adjustment;
  guint first_built, n_built, n_made, first_drawn, n_drawn, n_pages;

  /* Headings and tables among the paragraphs: their estimates are off. */
  for (guint i = 0; i < 1500; i++)
    {
      append_content (reply, "Paragraph %u of a long reply.\n\n", i);
      if (i % 13 == 5)
        append_content (reply, "# Title %u\n\n", i);
      if (i % 17 == 8)
        append_content (reply, "| a | b |\n|---|---|\n| %u | x |\n\n", i);
    }
  g_string_append (reply, STOP_EVENTS);

  /* In two halves, 300 ms apart: each grows the reply by 20 screens at
   * once. From Enter on, every frame shows the end of the list, and no page
   * of the reply far from its end is built on the way. */
  start_app (fixture);
  confab_test_server_queue (fixture->server, 200, "text/event-stream", reply->str,
                            reply->len / 2 + 1, 300, CONFAB_TEST_END_COMPLETE, NULL);
  type_text (fixture, "Write a lot");

  watch.adjustment = message_adjustment (fixture);
  watch.first_built = G_MAXUINT;
  clock = gtk_widget_get_frame_clock (GTK_WIDGET (fixture->window));
  watch_id = g_signal_connect (clock, "after-paint", G_CALLBACK (watch_frame_cb), &watch);

  g_assert_true (press_key (fixture, GDK_KEY_Return, 0));
  assistant = confab_conversation_get_last_message (confab_chat_view_get_conversation (confab_window_get_chat_view (fixture->window)));
  {
    gint64 end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

    while ((watch.view = view_of_message (fixture, assistant)) == NULL)
      {
        g_main_context_iteration (NULL, TRUE);
        g_assert_cmpint (g_get_monotonic_time (), <, end);
      }
  }
  confab_test_wait_for (&fixture->turn_done, 10000);

  g_assert_cmpint (confab_message_get_state (assistant), ==, CONFAB_MESSAGE_STATE_COMPLETE);
  view = watch.view;
  /* A reply fills the column; your message is as wide as its text. */
  g_assert_true (confab_markdown_view_get_full_width (view));
  {
    ConfabConversation *conversation = confab_chat_view_get_conversation (confab_window_get_chat_view (fixture->window));
    g_autoptr(ConfabMessage) question = g_list_model_get_item (G_LIST_MODEL (conversation), 0);
    ConfabMarkdownView *mine = view_of_message (fixture, question);

    g_assert_nonnull (mine);
    g_assert_false (confab_markdown_view_get_full_width (mine));
  }

  /* At the end: the last pages */
  wait_view_settled (view);
  g_signal_handler_disconnect (clock, watch_id);
  g_assert_cmpuint (watch.n_frames, >, 0);
  g_assert_cmpfloat (watch.max_distance, <, 1);
  g_assert_cmpuint (watch.n_built_far, ==, 0);
  confab_markdown_view_get_built (view, &first_built, &n_built, &n_made);
  confab_markdown_view_get_drawn_pages (view, &first_drawn, &n_drawn, &n_pages);
  g_assert_cmpuint (n_pages, >=, 40);
  g_assert_cmpuint (n_built, >=, 1);
  g_assert_cmpuint (first_built + n_built, ==, n_pages);
  g_assert_cmpuint (n_made, <=, 4 * 32);
  shown = shown_text (fixture);
  g_assert_nonnull (strstr (shown, "Paragraph 1499 of a long reply."));
  g_assert_null (strstr (shown, "Paragraph 0 of a long reply."));

  /* At the start: the first pages, the last ones thrown away */
  adjustment = message_adjustment (fixture);
  gtk_adjustment_set_value (adjustment, 0);
  wait_view_settled (view);
  gtk_adjustment_set_value (adjustment, 0);
  wait_view_settled (view);
  confab_markdown_view_get_built (view, &first_built, &n_built, &n_made);
  g_assert_cmpuint (first_built, ==, 0);
  g_assert_cmpuint (n_made, <=, 4 * 32);
  g_assert_cmpuint (first_built + n_built, <, n_pages);
  g_free (shown);
  shown = shown_text (fixture);
  g_assert_nonnull (strstr (shown, "Paragraph 0 of a long reply."));

  /* Scrolled into the middle, then up a quarter of a screen at a time into
   * pages never built: what shows near the top stays where it is while the
   * pages above it are built in place of their estimates. */
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment) / 2);
  wait_view_settled (view);
  {
    GtkWidget *scroller = gtk_widget_get_ancestor (GTK_WIDGET (view), GTK_TYPE_SCROLLED_WINDOW);
    guint n_built_above = 0;

    for (guint step = 0; step < 12; step++)
      {
        g_autoptr(GtkWidget) anchor = NULL;
        g_autoptr(GPtrArray) labels = g_ptr_array_new ();
        guint first_before, n_before;
        graphene_rect_t bounds;
        double anchor_y = 0;

        confab_markdown_view_get_built (view, &first_before, &n_before, &n_made);
        gtk_adjustment_set_value (adjustment, gtk_adjustment_get_value (adjustment) -
                                              gtk_adjustment_get_page_size (adjustment) / 4);
        anchor = find_top_label (view, scroller, &anchor_y);
        wait_view_settled (view);
        confab_markdown_view_get_built (view, &first_built, &n_built, &n_made);
        if (first_built < first_before)
          n_built_above++;
        if (anchor == NULL)
          continue;

        g_assert_nonnull (gtk_widget_get_parent (anchor));
        g_assert_true (gtk_widget_compute_bounds (anchor, scroller, &bounds));
        g_assert_cmpfloat_with_epsilon (bounds.origin.y, anchor_y, 1.5);
      }
    g_assert_cmpuint (n_built_above, >, 0);
  }

  /* As narrow as the window goes, then wider: at a new width the view
   * ends with its height there, not one GTK kept from a measure made
   * there before its pages changed (the window showed the empty room left
   * at the view's end). */
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment) -
                                        gtk_adjustment_get_page_size (adjustment) - 750);
  wait_view_settled (view);
  for (guint k = 0; k < 2; k++)
    {
      int window_width = gtk_widget_get_width (GTK_WIDGET (fixture->window));
      int width = gtk_widget_get_width (GTK_WIDGET (view));
      gint64 end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
      int height;

      gtk_window_set_default_size (GTK_WINDOW (fixture->window),
                                   k == 0 ? 100 : window_width + 300,
                                   gtk_widget_get_height (GTK_WIDGET (fixture->window)));
      while (gtk_widget_get_width (GTK_WIDGET (view)) == width)
        {
          g_main_context_iteration (NULL, TRUE);
          g_assert_cmpint (g_get_monotonic_time (), <, end);
        }
      wait_view_settled (view);
      /* Its height there, asked anew */
      gtk_widget_queue_resize (GTK_WIDGET (view));
      gtk_widget_measure (GTK_WIDGET (view), GTK_ORIENTATION_VERTICAL,
                          gtk_widget_get_width (GTK_WIDGET (view)), &height, NULL, NULL, NULL);
      g_assert_cmpint (gtk_widget_get_height (GTK_WIDGET (view)), ==, height);
    }
}

static void
test_anthropic_chat (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  g_autofree char *expected = NULL;
  g_autofree char *shown = NULL;
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures",
                                                 "coder-aibridge-anthropic-text-ping-padded.expected",
                                                 NULL);
  g_autoptr(JsonNode) request = NULL;

  g_file_get_contents (path, &expected, NULL, NULL);
  g_assert_nonnull (expected);

  g_settings_set_string (settings, "provider", "anthropic");
  start_app (fixture);
  confab_test_server_queue_fixture (fixture->server, "coder-aibridge-anthropic-text-ping-padded.sse",
                                    300, 5);

  type_text (fixture, "Hello Claude");
  g_assert_true (press_key (fixture, GDK_KEY_Return, 0));
  confab_test_wait_for (&fixture->turn_done, 10000);

  /* It went to the Messages API, in its shape. */
  request = json_from_string (g_ptr_array_index (confab_test_server_get_requests (fixture->server), 0),
                              NULL);
  g_assert_true (json_object_has_member (json_node_get_object (request), "max_tokens"));

  shown = shown_text (fixture);
  g_assert_nonnull (strstr (shown, "Hello Claude"));
  {
    ConfabConversation *conversation = confab_chat_view_get_conversation (confab_window_get_chat_view (fixture->window));
    ConfabMessage *reply = confab_conversation_get_last_message (conversation);

    g_assert_cmpstr (confab_message_get_content (reply), ==, expected);
    g_assert_cmpint (confab_message_get_state (reply), ==, CONFAB_MESSAGE_STATE_COMPLETE);
  }

  g_settings_reset (settings, "provider");
}

static void
test_huge_paste_is_sent (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(JsonNode) request = NULL;
  g_autofree char *shown = NULL;
  JsonArray *messages;
  const char *sent;

  while (text->len < 5 * 1024 * 1024)
    g_string_append (text, "A pasted line of a long log, with ünïcödé and \"quotes\".\n");

  start_app (fixture);
  confab_test_server_queue_fixture (fixture->server, "openai-python-text-usage.sse", 0, 0);

  /* Pasted: it waits beside the composer, not in it, and says its size. */
  type_text (fixture, text->str);
  {
    g_autofree char *in_composer = composer_text (fixture);
    g_assert_cmpstr (in_composer, ==, "");
  }
  g_assert_true (label_shows (GTK_WIDGET (confab_window_get_chat_view (fixture->window)), "Pasted text"));

  g_assert_true (press_key (fixture, GDK_KEY_Return, 0));
  confab_test_wait_for (&fixture->turn_done, 30000);
  g_assert_false (label_shows (GTK_WIDGET (confab_window_get_chat_view (fixture->window)), "Pasted text"));

  /* All of it went out. */
  request = json_from_string (g_ptr_array_index (confab_test_server_get_requests (fixture->server), 0),
                              NULL);
  messages = json_object_get_array_member (json_node_get_object (request), "messages");
  sent = json_object_get_string_member (json_array_get_object_element (messages,
                                                                       json_array_get_length (messages) - 1),
                                        "content");
  g_assert_cmpuint (strlen (sent), ==, text->len);
  g_assert_true (strcmp (sent, text->str) == 0);

  /* Shown in part, and it says so. */
  shown = shown_text (fixture);
  g_assert_nonnull (strstr (shown, "shown in part"));
  g_assert_cmpuint (strlen (shown), <, 1024 * 1024);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);

  data_home = g_dir_make_tmp ("confab-window-XXXXXX", NULL);
  g_assert_nonnull (data_home);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);

#define ADD(name, func) \
  g_test_add ("/window/" name, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("start-state", test_start_state);
  ADD ("send-and-restart", test_send_and_restart);
  ADD ("error-shows-retry", test_error_shows_retry);
  ADD ("stop", test_stop_with_escape);
  ADD ("unreadable-database", test_unreadable_database);
  ADD ("offline", test_offline);
  ADD ("plain-http-key-asks-first", test_plain_http_key_asks_first);
  ADD ("preferences", test_preferences);
  ADD ("rename-delete-undo", test_rename_delete_undo);
  ADD ("long-conversation-pages", test_long_conversation_pages);
  ADD ("few-messages-fill-the-view", test_few_messages_fill_the_view);
  ADD ("follows-bottom-unless-scrolled-up", test_follows_bottom_unless_scrolled_up);
  ADD ("long-reply-builds-what-shows", test_long_reply_builds_what_shows);
  ADD ("anthropic-chat", test_anthropic_chat);
  ADD ("huge-paste-is-sent", test_huge_paste_is_sent);

#undef ADD

  status = g_test_run ();
  confab_test_remove_tree (data_home);
  g_free (data_home);

  return status;
}
