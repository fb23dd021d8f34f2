/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-application"

#include "config.h"

#include <glib/gi18n.h>
#include <gtksourceview/gtksource.h>
#include <string.h>

#include "confab-application.h"
#include "confab-code-block.h"
#include "confab-config.h"
#include "confab-markdown-view.h"
#include "confab-preferences-window.h"
#include "confab-window.h"

struct _ConfabApplication
{
  AdwApplication     parent_instance;

  GSettings         *settings;
  ConfabSecrets     *secrets;
  ConfabStore       *store;
  GError            *store_error;
  ConfabChatSession *session;
  GCancellable      *key_lookup;
};

G_DEFINE_FINAL_TYPE (ConfabApplication, confab_application, ADW_TYPE_APPLICATION)

enum {
  PROP_0,
  PROP_STORE,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
install_provider (ConfabApplication *self,
                  const char        *base_url,
                  const char        *key)
{
  g_autoptr(ConfabProvider) provider = confab_config_create_provider (self->settings, base_url, key);

  if (self->session != NULL)
    confab_chat_session_set_provider (self->session, provider);
}

static void
key_lookup_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(ConfabApplication) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *key = NULL;
  g_autofree char *base_url = NULL;

  key = confab_secrets_lookup_finish (CONFAB_SECRETS (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (error != NULL)
    g_message ("Could not read the API key from the keyring: %s", error->message);

  base_url = confab_config_dup_base_url (self->settings, NULL);
  install_provider (self, base_url, key);

  if (key != NULL)
    memset (key, 0, strlen (key));
}

/* Builds the provider anew from the settings and the keyring. */
static void
reload_provider (ConfabApplication *self)
{
  g_autofree char *base_url = confab_config_dup_base_url (self->settings, NULL);

  g_cancellable_cancel (self->key_lookup);
  g_clear_object (&self->key_lookup);
  self->key_lookup = g_cancellable_new ();

  /* Usable at once with the environment's key; the keyring's replaces it. */
  install_provider (self, base_url, NULL);

  confab_secrets_lookup_async (self->secrets, base_url, self->key_lookup,
                               key_lookup_cb, g_object_ref (self));
}

/* GtkSourceView reads all of its language and style files the first time a
 * code block asks for one, and a language's highlighting rules the first time
 * a block in it appears; Pango loads each font the first time text uses it:
 * do that while idle, a piece at a time, not when a conversation opens or the
 * first reply comes in. Only languages models write often and that take
 * little time (10–30 ms each; JavaScript, JSON or HTML take 70–150 ms, too
 * long a pause to take unasked). */
static const char *warm_up_languages[] = { "python", "sh", "c" };

static gboolean
warm_up_cb (gpointer user_data)
{
  guint *next = user_data;

  if (*next == 0)
    gtk_source_style_scheme_manager_get_scheme (gtk_source_style_scheme_manager_get_default (),
                                                "Adwaita");
  if (*next < G_N_ELEMENTS (warm_up_languages))
    {
      confab_code_block_prepare_language (warm_up_languages[*next]);
      ++*next;
      return G_SOURCE_CONTINUE;
    }

  /* Then the fonts of a reply */
  if (confab_markdown_view_warm_up (*next - G_N_ELEMENTS (warm_up_languages)))
    {
      ++*next;
      return G_SOURCE_CONTINUE;
    }

  return G_SOURCE_REMOVE;
}

static void
open_store (ConfabApplication *self)
{
  g_autofree char *path = confab_store_dup_default_path ();
  g_autoptr(GError) purge_error = NULL;

  g_clear_error (&self->store_error);
  g_clear_object (&self->store);
  g_clear_object (&self->session);

  self->store = confab_store_new (path, &self->store_error);
  if (self->store == NULL)
    {
      g_warning ("%s", self->store_error->message);
      return;
    }

  /* Deletions not undone before the last quit are final now. */
  if (!confab_store_purge_deleted (self->store, &purge_error))
    g_warning ("%s", purge_error->message);

  self->session = confab_chat_session_new (self->store);
  reload_provider (self);
}

static void
preferences_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  ConfabApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  GtkWidget *preferences;

  preferences = confab_preferences_window_new (parent, self->settings, self->secrets);
  gtk_window_present (GTK_WINDOW (preferences));
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  ConfabApplication *self = user_data;
  static const char *developers[] = { "The Confab developers", NULL };
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));

  adw_show_about_window (parent,
                         "application-name", _("Confab"),
                         "application-icon", APP_ID,
                         "developer-name", _("The Confab developers"),
                         "version", PACKAGE_VERSION,
                         "comments", _("A fast, native chat client for large language models"),
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "developers", developers,
                         "translator-credits", _("translator-credits"),
                         NULL);
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  ConfabApplication *self = user_data;
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (self));

  /* Close windows so each can save what it holds, then quit. */
  for (GList *l = windows; l != NULL; )
    {
      GtkWindow *window = l->data;

      l = l->next;
      gtk_window_close (window);
    }

  g_application_quit (G_APPLICATION (self));
}

static const GActionEntry app_actions[] = {
  { "preferences", preferences_action },
  { "about", about_action },
  { "quit", quit_action },
};

static void
confab_application_startup (GApplication *application)
{
  ConfabApplication *self = CONFAB_APPLICATION (application);
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *preferences_accels[] = { "<Control>comma", NULL };
  static const char *new_chat_accels[] = { "<Control>n", NULL };
  static const char *search_accels[] = { "<Control>k", "<Control>f", NULL };
  static const char *sidebar_accels[] = { "F9", NULL };

  g_autoptr(GtkCssProvider) markdown_css = gtk_css_provider_new ();

  G_APPLICATION_CLASS (confab_application_parent_class)->startup (application);

  /* GtkSourceView adds its icons to the icon theme when it starts, which
   * makes GTK load the theme again: let that happen now, before the first
   * icon is drawn, not when the first code block appears. */
  gtk_source_init ();

  /* style.css is loaded by AdwApplication; the Markdown blocks bring their own. */
  gtk_css_provider_load_from_resource (markdown_css, "/io/github/confab/Confab/confab-markdown.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (markdown_css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences",
                                         preferences_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.new-chat",
                                         new_chat_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.search", search_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.toggle-sidebar",
                                         sidebar_accels);

  self->settings = g_settings_new (APP_ID);
  self->secrets = confab_secrets_new ();

  g_signal_connect_object (self->settings, "changed::base-url",
                           G_CALLBACK (reload_provider), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::provider",
                           G_CALLBACK (reload_provider), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->secrets, "changed",
                           G_CALLBACK (reload_provider), self, G_CONNECT_SWAPPED);

  open_store (self);

  g_idle_add_full (G_PRIORITY_LOW, warm_up_cb, g_new0 (guint, 1), g_free);
}

static void
confab_application_activate (GApplication *application)
{
  ConfabApplication *self = CONFAB_APPLICATION (application);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (confab_window_new (self));

  gtk_window_present (window);
}

static void
confab_application_shutdown (GApplication *application)
{
  ConfabApplication *self = CONFAB_APPLICATION (application);

  g_cancellable_cancel (self->key_lookup);

  G_APPLICATION_CLASS (confab_application_parent_class)->shutdown (application);
}

static void
confab_application_finalize (GObject *object)
{
  ConfabApplication *self = (ConfabApplication *)object;

  g_clear_object (&self->key_lookup);
  g_clear_object (&self->session);
  g_clear_object (&self->store);
  g_clear_error (&self->store_error);
  g_clear_object (&self->secrets);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (confab_application_parent_class)->finalize (object);
}

static void
confab_application_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  ConfabApplication *self = CONFAB_APPLICATION (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;

    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
confab_application_class_init (ConfabApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = confab_application_finalize;
  object_class->get_property = confab_application_get_property;

  app_class->startup = confab_application_startup;
  app_class->activate = confab_application_activate;
  app_class->shutdown = confab_application_shutdown;

  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL,
                         CONFAB_TYPE_STORE,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL,
                         CONFAB_TYPE_CHAT_SESSION,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
confab_application_init (ConfabApplication *self)
{
}

ConfabApplication *
confab_application_new (void)
{
  return g_object_new (CONFAB_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       "resource-base-path", "/io/github/confab/Confab",
                       NULL);
}

GSettings *
confab_application_get_settings (ConfabApplication *self)
{
  g_return_val_if_fail (CONFAB_IS_APPLICATION (self), NULL);
  return self->settings;
}

ConfabSecrets *
confab_application_get_secrets (ConfabApplication *self)
{
  g_return_val_if_fail (CONFAB_IS_APPLICATION (self), NULL);
  return self->secrets;
}

ConfabStore *
confab_application_get_store (ConfabApplication *self)
{
  g_return_val_if_fail (CONFAB_IS_APPLICATION (self), NULL);
  return self->store;
}

const GError *
confab_application_get_store_error (ConfabApplication *self)
{
  g_return_val_if_fail (CONFAB_IS_APPLICATION (self), NULL);
  return self->store_error;
}

gboolean
confab_application_reopen_store (ConfabApplication  *self,
                                 GError            **error)
{
  g_return_val_if_fail (CONFAB_IS_APPLICATION (self), FALSE);

  open_store (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STORE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION]);

  if (self->store_error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->store_error));
      return FALSE;
    }

  return TRUE;
}

ConfabChatSession *
confab_application_get_session (ConfabApplication *self)
{
  g_return_val_if_fail (CONFAB_IS_APPLICATION (self), NULL);
  return self->session;
}
