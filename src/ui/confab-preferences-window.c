/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-preferences"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "confab-config.h"
#include "confab-preferences-window.h"

/*
 * ConfabPreferencesWindow: the server, its key, and the defaults new chats
 * start with. Everything but the key lives in GSettings; the key goes to
 * ConfabSecrets, filed under the base URL in effect.
 *
 * Text rows apply on their apply button (or Enter), the temperature is bound
 * to its setting, and the system message is saved shortly after typing stops
 * and when the window goes away.
 */

#define SYSTEM_MESSAGE_SAVE_DELAY_MS 500

struct _ConfabPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  /* Template widgets */
  GtkWidget            *insecure_note;
  GtkLabel             *key_note;
  AdwEntryRow          *key_row;
  AdwComboRow          *kind_row;
  GtkWidget            *keyring_note;
  AdwEntryRow          *model_row;
  GtkMenuButton        *models_button;
  GtkListBox           *models_list;
  GtkPopover           *models_popover;
  GtkSearchEntry       *models_search;
  GtkSpinner           *models_spinner;
  AdwActionRow         *models_status_row;
  AdwPreferencesGroup  *server_group;
  GtkTextView          *system_message_view;
  GtkAdjustment        *temperature_adjustment;
  AdwEntryRow          *url_row;

  /* Owned */
  GSettings            *settings;
  ConfabSecrets        *secrets;
  GCancellable         *lookup_cancellable;
  GCancellable         *fetch_cancellable;
  char                 *base_url;        /* the effective one */
  char                 *stored_key;      /* for base_url; wiped when dropped */
  GStrv                 models;          /* as last fetched, or NULL */
  guint                 system_message_source;

  guint                 updating_system_message : 1;
};

G_DEFINE_FINAL_TYPE (ConfabPreferencesWindow, confab_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

enum {
  PROP_0,
  PROP_SETTINGS,
  PROP_SECRETS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void confab_preferences_window_lookup_key   (ConfabPreferencesWindow *self);
static void confab_preferences_window_fetch_models (ConfabPreferencesWindow *self);

/* One outstanding request. @self is borrowed: dispose cancels @cancellable
 * before the window can go away, so a callback that finds @cancellable
 * cancelled must not look at @self at all. */
typedef struct
{
  ConfabPreferencesWindow *self;
  GCancellable            *cancellable;
  GObject                 *source;
} Pending;

static Pending *
pending_new (ConfabPreferencesWindow *self,
             GCancellable            *cancellable,
             gpointer                 source)
{
  Pending *pending = g_new0 (Pending, 1);

  pending->self = self;
  pending->cancellable = g_object_ref (cancellable);
  pending->source = source != NULL ? g_object_ref (source) : NULL;

  return pending;
}

static void
pending_free (Pending *pending)
{
  g_clear_object (&pending->cancellable);
  g_clear_object (&pending->source);
  g_free (pending);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Pending, pending_free)

static gboolean
pending_is_stale (Pending      *pending,
                  const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
         g_cancellable_is_cancelled (pending->cancellable);
}

/* Overwrites a key with zeroes before freeing it. */
static void
wipe_free (char *str)
{
  volatile char *p;

  if (str == NULL)
    return;

  for (p = str; *p != '\0'; p++)
    *p = '\0';

  g_free (str);
}

static void
confab_preferences_window_toast (ConfabPreferencesWindow *self,
                                 const char              *text)
{
  g_autofree char *escaped = g_markup_escape_text (text, -1);

  /* Toast titles are Pango markup in libadwaita 1.2. */
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (escaped));
}

/* Sets an editable's text unless it already holds it, so the cursor and the
 * apply button of a row being edited are left alone. */
static void
set_editable_text (GtkEditable *editable,
                   const char  *text)
{
  if (g_strcmp0 (gtk_editable_get_text (editable), text) != 0)
    gtk_editable_set_text (editable, text);
}

/* Whether @text is an http(s) URL with a host. */
static gboolean
is_valid_server_url (const char *text)
{
  g_autoptr(GUri) uri = NULL;
  const char *scheme;
  const char *host;

  uri = g_uri_parse (text, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL)
    return FALSE;

  scheme = g_uri_get_scheme (uri);
  if (scheme == NULL ||
      (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0))
    return FALSE;

  host = g_uri_get_host (uri);

  return host != NULL && host[0] != '\0';
}

/* Key notes */

static void
confab_preferences_window_update_key_notes (ConfabPreferencesWindow *self)
{
  gboolean keyring = confab_secrets_get_keyring_available (self->secrets);
  gboolean stored = self->stored_key != NULL;
  g_autofree char *env_note = NULL;
  const char *note = NULL;

  gtk_widget_set_visible (self->keyring_note, !keyring);
  gtk_widget_set_visible (self->insecure_note, confab_config_is_insecure_url (self->base_url));

  if (stored && keyring)
    note = _("Stored in the system keyring.");
  else if (!stored && confab_config_get_env_api_key (self->settings) != NULL)
    /* Translators: %s is the name of an environment variable, such as OPENAI_API_KEY */
    note = env_note = g_strdup_printf (_("Using %s from the environment."),
                                       confab_config_get_env_api_key_name (self->settings));
  else if (!stored)
    note = _("No key is stored for this server. Servers on this computer usually need none.");

  gtk_label_set_label (self->key_note, note != NULL ? note : "");
  gtk_widget_set_visible (GTK_WIDGET (self->key_note), note != NULL);
}

static void
confab_preferences_window_update_server_description (ConfabPreferencesWindow *self)
{
  g_autofree char *setting = g_settings_get_string (self->settings, "base-url");
  g_autofree char *description = NULL;
  g_autofree char *escaped = NULL;
  gboolean from_env = FALSE;
  g_autofree char *effective = confab_config_dup_base_url (self->settings, &from_env);

  g_strstrip (setting);

  if (setting[0] != '\0')
    description = g_strdup (confab_config_is_anthropic (self->settings)
                            ? _("Anthropic’s Messages API.")
                            : _("Any server with an OpenAI-compatible API: OpenAI, Ollama, "
                                "llama.cpp, LM Studio, vLLM and others."));
  else if (from_env)
    /* Translators: the first %s is the name of an environment variable, the second a URL */
    description = g_strdup_printf (_("Using %s from the environment: %s"),
                                   confab_config_get_env_base_url_name (self->settings),
                                   effective);
  else
    /* Translators: %s is a URL */
    description = g_strdup_printf (_("Using %s"), effective);

  /* The description is Pango markup in libadwaita 1.2, and URLs hold '&'. */
  escaped = g_markup_escape_text (description, -1);
  adw_preferences_group_set_description (self->server_group, escaped);
}

/* Model list */

typedef enum
{
  STATUS_INFO,
  STATUS_WARNING,
  STATUS_ERROR,
} StatusKind;

/* The row under the model: progress, the outcome of the last fetch, or
 * nothing (@text NULL). */
static void
confab_preferences_window_set_models_status (ConfabPreferencesWindow *self,
                                             const char              *text,
                                             StatusKind               kind)
{
  GtkWidget *row = GTK_WIDGET (self->models_status_row);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->models_status_row),
                                 text != NULL ? text : "");
  gtk_widget_set_visible (row, text != NULL);
  adw_action_row_set_icon_name (self->models_status_row,
                                kind != STATUS_INFO ? "dialog-warning-symbolic" : NULL);

  gtk_widget_remove_css_class (row, "dim-label");
  gtk_widget_remove_css_class (row, "warning");
  gtk_widget_remove_css_class (row, "error");
  gtk_widget_add_css_class (row, kind == STATUS_ERROR ? "error"
                                 : kind == STATUS_WARNING ? "warning"
                                 : "dim-label");
}

static void
confab_preferences_window_set_fetching (ConfabPreferencesWindow *self,
                                        gboolean                 fetching)
{
  gtk_widget_set_visible (GTK_WIDGET (self->models_spinner), fetching);
  gtk_spinner_set_spinning (self->models_spinner, fetching);
}

static void
confab_preferences_window_clear_models (ConfabPreferencesWindow *self)
{
  GtkWidget *child;

  g_clear_pointer (&self->models, g_strfreev);

  /* gtk_list_box_remove_all () is GTK 4.12. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->models_list))) != NULL)
    gtk_list_box_remove (self->models_list, child);

  gtk_widget_set_sensitive (GTK_WIDGET (self->models_button), FALSE);
}

static const char *
model_row_get_id (GtkListBoxRow *row)
{
  return g_object_get_data (G_OBJECT (row), "confab-model-id");
}

/* Says how many models the server offers, and whether the chosen one is
 * among them: a model name the server does not know is the usual reason a
 * chat fails right after switching servers. */
static void
confab_preferences_window_update_models_status (ConfabPreferencesWindow *self)
{
  g_autofree char *model = NULL;
  g_autofree char *text = NULL;
  StatusKind kind = STATUS_INFO;
  guint n;

  if (self->models == NULL)
    return;

  n = g_strv_length (self->models);
  if (n == 0)
    {
      confab_preferences_window_set_models_status (self, _("The server lists no models."),
                                                   STATUS_WARNING);
      return;
    }

  model = g_settings_get_string (self->settings, "model");

  if (model[0] != '\0' && !g_strv_contains ((const char * const *) self->models, model))
    {
      /* Translators: %u is a number of models, %s a model name */
      text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                           "%u model available; the server does not list “%s”",
                                           "%u models available; the server does not list “%s”",
                                           n),
                              n, model);
      kind = STATUS_WARNING;
    }
  else
    {
      text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                           "%u model available",
                                           "%u models available",
                                           n),
                              n);
    }

  confab_preferences_window_set_models_status (self, text, kind);
}

/* Marks the chosen model in the list. */
static void
confab_preferences_window_update_model_checks (ConfabPreferencesWindow *self)
{
  g_autofree char *model = g_settings_get_string (self->settings, "model");

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->models_list));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *check;

      if (!GTK_IS_LIST_BOX_ROW (child))
        continue;

      check = g_object_get_data (G_OBJECT (child), "confab-check");
      if (check != NULL)
        gtk_widget_set_opacity (check,
                                g_strcmp0 (model_row_get_id (GTK_LIST_BOX_ROW (child)), model) == 0);
    }
}

static void
confab_preferences_window_set_models (ConfabPreferencesWindow *self,
                                      const char * const      *models)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  confab_preferences_window_clear_models (self);

  for (guint i = 0; models != NULL && models[i] != NULL; i++)
    {
      GtkWidget *row;
      GtkWidget *box;
      GtkWidget *label;
      GtkWidget *check;

      if (models[i][0] == '\0')
        continue;

      g_strv_builder_add (builder, models[i]);

      label = gtk_label_new (models[i]);
      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
      gtk_widget_set_hexpand (label, TRUE);
      gtk_widget_set_tooltip_text (label, models[i]);

      /* Shown through its opacity so that every row keeps the same width. */
      check = gtk_image_new_from_icon_name ("object-select-symbolic");
      gtk_accessible_update_property (GTK_ACCESSIBLE (check),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, _("Chosen"),
                                      -1);

      box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
      gtk_box_append (GTK_BOX (box), label);
      gtk_box_append (GTK_BOX (box), check);

      row = gtk_list_box_row_new ();
      gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
      g_object_set_data_full (G_OBJECT (row), "confab-model-id", g_strdup (models[i]), g_free);
      g_object_set_data (G_OBJECT (row), "confab-check", check);
      gtk_list_box_append (self->models_list, row);
    }

  self->models = g_strv_builder_end (builder);

  gtk_widget_set_sensitive (GTK_WIDGET (self->models_button), self->models[0] != NULL);
  confab_preferences_window_update_model_checks (self);
  confab_preferences_window_update_models_status (self);
}

static gboolean
models_list_filter_func (GtkListBoxRow *row,
                         gpointer       user_data)
{
  ConfabPreferencesWindow *self = user_data;
  const char *query = gtk_editable_get_text (GTK_EDITABLE (self->models_search));
  const char *id = model_row_get_id (row);
  g_autofree char *query_folded = NULL;
  g_autofree char *id_folded = NULL;

  if (query == NULL || query[0] == '\0')
    return TRUE;

  if (id == NULL)
    return FALSE;

  query_folded = g_utf8_casefold (query, -1);
  id_folded = g_utf8_casefold (id, -1);

  return strstr (id_folded, query_folded) != NULL;
}

static void
confab_preferences_window_choose_model (ConfabPreferencesWindow *self,
                                        const char              *model)
{
  if (model == NULL || model[0] == '\0')
    return;

  gtk_editable_set_text (GTK_EDITABLE (self->model_row), model);
  g_settings_set_string (self->settings, "model", model);
}

static void
models_list_row_activated_cb (ConfabPreferencesWindow *self,
                              GtkListBoxRow           *row)
{
  confab_preferences_window_choose_model (self, model_row_get_id (row));
  gtk_popover_popdown (self->models_popover);
}

static void
models_search_changed_cb (ConfabPreferencesWindow *self)
{
  gtk_list_box_invalidate_filter (self->models_list);
}

/* Enter in the search entry picks the first model that matches. */
static void
models_search_activate_cb (ConfabPreferencesWindow *self)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->models_list));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (GTK_IS_LIST_BOX_ROW (child) && gtk_widget_get_child_visible (child))
        {
          models_list_row_activated_cb (self, GTK_LIST_BOX_ROW (child));
          return;
        }
    }
}

static void
models_popover_show_cb (ConfabPreferencesWindow *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->models_search), "");
  confab_preferences_window_update_model_checks (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->models_search));
}

static void
list_models_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(Pending) pending = user_data;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) models = NULL;
  ConfabPreferencesWindow *self;

  models = confab_provider_list_models_finish (CONFAB_PROVIDER (object), result, &error);

  /* Checked first: the window may be gone. */
  if (pending_is_stale (pending, error))
    return;

  self = pending->self;
  g_clear_object (&self->fetch_cancellable);
  confab_preferences_window_set_fetching (self, FALSE);

  if (error != NULL)
    {
      confab_preferences_window_clear_models (self);
      confab_preferences_window_set_models_status (self, error->message, STATUS_ERROR);
      return;
    }

  confab_preferences_window_set_models (self, (const char * const *) models);
}

static void
confab_preferences_window_fetch_models (ConfabPreferencesWindow *self)
{
  g_autoptr(ConfabProvider) provider = NULL;

  g_assert (CONFAB_IS_PREFERENCES_WINDOW (self));

  g_cancellable_cancel (self->fetch_cancellable);
  g_clear_object (&self->fetch_cancellable);
  self->fetch_cancellable = g_cancellable_new ();

  provider = confab_config_create_provider (self->settings, self->base_url, self->stored_key);

  confab_preferences_window_set_fetching (self, TRUE);
  confab_preferences_window_set_models_status (self, _("Fetching models…"), STATUS_INFO);

  confab_provider_list_models_async (CONFAB_PROVIDER (provider),
                                     self->fetch_cancellable,
                                     list_models_cb,
                                     pending_new (self, self->fetch_cancellable, provider));
}

static void
refresh_models_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *param)
{
  confab_preferences_window_fetch_models (CONFAB_PREFERENCES_WINDOW (widget));
}

/* API key */

static void
lookup_key_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(Pending) pending = user_data;
  g_autoptr(GError) error = NULL;
  char *key;
  ConfabPreferencesWindow *self;

  key = confab_secrets_lookup_finish (CONFAB_SECRETS (object), result, &error);

  if (pending_is_stale (pending, error))
    {
      wipe_free (key);
      return;
    }

  self = pending->self;
  g_clear_object (&self->lookup_cancellable);

  if (error != NULL)
    g_debug ("Could not look up the API key: %s", error->message);

  wipe_free (self->stored_key);
  self->stored_key = (key != NULL && key[0] != '\0') ? key : NULL;
  if (self->stored_key == NULL)
    wipe_free (key);

  set_editable_text (GTK_EDITABLE (self->key_row),
                     self->stored_key != NULL ? self->stored_key : "");
  confab_preferences_window_update_key_notes (self);

  /* The key may decide whether the server answers at all. */
  confab_preferences_window_fetch_models (self);
}

static void
confab_preferences_window_lookup_key (ConfabPreferencesWindow *self)
{
  g_assert (CONFAB_IS_PREFERENCES_WINDOW (self));

  g_cancellable_cancel (self->lookup_cancellable);
  g_clear_object (&self->lookup_cancellable);
  self->lookup_cancellable = g_cancellable_new ();

  confab_secrets_lookup_async (self->secrets,
                               self->base_url,
                               self->lookup_cancellable,
                               lookup_key_cb,
                               pending_new (self, self->lookup_cancellable, NULL));
}

typedef struct
{
  ConfabPreferencesWindow *self;      /* Owned */
  gboolean                 clearing;
} StoreData;

static void
store_data_free (StoreData *data)
{
  g_clear_object (&data->self);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoreData, store_data_free)

static void
store_key_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  /* Holds a reference rather than a cancellable: a key being saved is not
   * dropped because the window was closed right after pressing Enter. */
  g_autoptr(StoreData) data = user_data;
  g_autoptr(GError) error = NULL;

  if (!confab_secrets_store_finish (CONFAB_SECRETS (object), result, &error))
    {
      g_autofree char *text = NULL;

      /* Translators: %s is an error message */
      text = g_strdup_printf (_("Could not save the API key: %s"), error->message);
      confab_preferences_window_toast (data->self, text);
      return;
    }

  /* "changed" on the secrets object brings the new key in. */
  if (data->clearing)
    confab_preferences_window_toast (data->self, _("API key removed"));
  else if (!confab_secrets_get_keyring_available (CONFAB_SECRETS (object)))
    confab_preferences_window_toast (data->self, _("API key kept for this session"));
  else
    confab_preferences_window_toast (data->self, _("API key saved"));
}

static void
key_row_apply_cb (ConfabPreferencesWindow *self)
{
  g_autofree char *key = g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->key_row)));
  gsize len = strlen (key);
  StoreData *data;

  /* A pasted key often carries a newline or spaces around it. */
  g_strstrip (key);

  data = g_new0 (StoreData, 1);
  data->self = g_object_ref (self);
  data->clearing = key[0] == '\0';

  confab_secrets_store_async (self->secrets, self->base_url, key, NULL, store_key_cb, data);

  /* Wipe our copy of what was typed, stripped bytes included. */
  memset (key, 0, len);
}

static void
secrets_changed_cb (ConfabPreferencesWindow *self,
                    const char              *base_url)
{
  if (g_strcmp0 (base_url, self->base_url) == 0)
    confab_preferences_window_lookup_key (self);
}

static void
secrets_keyring_available_cb (ConfabPreferencesWindow *self)
{
  confab_preferences_window_update_key_notes (self);
}

/* Server URL */

static void
confab_preferences_window_reload_base_url (ConfabPreferencesWindow *self,
                                           gboolean                 force)
{
  g_autofree char *setting = g_settings_get_string (self->settings, "base-url");
  g_autofree char *effective = confab_config_dup_base_url (self->settings, NULL);

  if (!gtk_widget_has_css_class (GTK_WIDGET (self->url_row), "error"))
    set_editable_text (GTK_EDITABLE (self->url_row), g_strstrip (setting));

  confab_preferences_window_update_server_description (self);

  if (!force && g_strcmp0 (effective, self->base_url) == 0)
    return;

  g_free (self->base_url);
  self->base_url = g_steal_pointer (&effective);

  /* The key shown belongs to the old server until the lookup answers. */
  wipe_free (self->stored_key);
  self->stored_key = NULL;
  gtk_editable_set_text (GTK_EDITABLE (self->key_row), "");

  g_cancellable_cancel (self->fetch_cancellable);
  g_clear_object (&self->fetch_cancellable);
  confab_preferences_window_set_fetching (self, FALSE);
  confab_preferences_window_clear_models (self);
  confab_preferences_window_set_models_status (self, NULL, STATUS_INFO);

  confab_preferences_window_update_key_notes (self);
  confab_preferences_window_lookup_key (self);
}

static void
settings_base_url_changed_cb (ConfabPreferencesWindow *self)
{
  confab_preferences_window_reload_base_url (self, FALSE);
}

/* The kind of server: 0 OpenAI-compatible, 1 Anthropic, as in the combo row. */
static void
kind_row_selected_cb (ConfabPreferencesWindow *self)
{
  gboolean anthropic = adw_combo_row_get_selected (self->kind_row) == 1;

  if (anthropic == confab_config_is_anthropic (self->settings))
    return;

  /* A URL typed for one kind means nothing to the other: start from its default. */
  g_settings_delay (self->settings);
  g_settings_set_string (self->settings, "provider", anthropic ? "anthropic" : "openai");
  g_settings_set_string (self->settings, "base-url", "");
  g_settings_apply (self->settings);
}

static void
settings_provider_changed_cb (ConfabPreferencesWindow *self)
{
  adw_combo_row_set_selected (self->kind_row, confab_config_is_anthropic (self->settings) ? 1 : 0);
  confab_preferences_window_reload_base_url (self, FALSE);
}

static void
url_row_changed_cb (ConfabPreferencesWindow *self)
{
  gtk_widget_remove_css_class (GTK_WIDGET (self->url_row), "error");
}

static void
confab_preferences_window_apply_url (ConfabPreferencesWindow *self,
                                     const char              *text)
{
  g_autofree char *url = g_strstrip (g_strdup (text));

  if (url[0] != '\0' && !is_valid_server_url (url))
    {
      gtk_widget_add_css_class (GTK_WIDGET (self->url_row), "error");
      confab_preferences_window_toast (self, _("That is not a valid server URL"));
      return;
    }

  gtk_widget_remove_css_class (GTK_WIDGET (self->url_row), "error");
  set_editable_text (GTK_EDITABLE (self->url_row), url);
  g_settings_set_string (self->settings, "base-url", url);
}

static void
url_row_apply_cb (ConfabPreferencesWindow *self)
{
  confab_preferences_window_apply_url (self, gtk_editable_get_text (GTK_EDITABLE (self->url_row)));
}

static void
use_preset_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *param)
{
  ConfabPreferencesWindow *self = CONFAB_PREFERENCES_WINDOW (widget);

  confab_preferences_window_apply_url (self, g_variant_get_string (param, NULL));
}

/* Model */

static void
settings_model_changed_cb (ConfabPreferencesWindow *self)
{
  g_autofree char *model = g_settings_get_string (self->settings, "model");

  set_editable_text (GTK_EDITABLE (self->model_row), model);
  confab_preferences_window_update_model_checks (self);
  confab_preferences_window_update_models_status (self);
}

static void
model_row_apply_cb (ConfabPreferencesWindow *self)
{
  g_autofree char *model = g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->model_row)));

  g_strstrip (model);

  if (model[0] == '\0')
    {
      /* A chat needs a model: put the current one back. */
      settings_model_changed_cb (self);
      return;
    }

  set_editable_text (GTK_EDITABLE (self->model_row), model);
  g_settings_set_string (self->settings, "model", model);
}

/* System message */

static void
confab_preferences_window_save_system_message (ConfabPreferencesWindow *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->system_message_view);
  g_autofree char *stored = g_settings_get_string (self->settings, "system-message");
  g_autofree char *text = NULL;
  GtkTextIter start, end;

  g_clear_handle_id (&self->system_message_source, g_source_remove);

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);

  if (g_strcmp0 (text, stored) != 0)
    g_settings_set_string (self->settings, "system-message", text);
}

static gboolean
save_system_message_timeout_cb (gpointer user_data)
{
  ConfabPreferencesWindow *self = user_data;

  self->system_message_source = 0;
  confab_preferences_window_save_system_message (self);

  return G_SOURCE_REMOVE;
}

static void
system_message_buffer_changed_cb (ConfabPreferencesWindow *self)
{
  if (self->updating_system_message)
    return;

  g_clear_handle_id (&self->system_message_source, g_source_remove);
  self->system_message_source = g_timeout_add (SYSTEM_MESSAGE_SAVE_DELAY_MS,
                                               save_system_message_timeout_cb,
                                               self);
}

static void
settings_system_message_changed_cb (ConfabPreferencesWindow *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->system_message_view);
  g_autofree char *stored = g_settings_get_string (self->settings, "system-message");
  g_autofree char *text = NULL;
  GtkTextIter start, end;

  /* Typing not saved yet wins over the setting. */
  if (self->system_message_source != 0)
    return;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  if (g_strcmp0 (text, stored) == 0)
    return;

  self->updating_system_message = TRUE;
  gtk_text_buffer_set_text (buffer, stored, -1);
  self->updating_system_message = FALSE;
}

/* GObject */

static void
confab_preferences_window_constructed (GObject *object)
{
  ConfabPreferencesWindow *self = CONFAB_PREFERENCES_WINDOW (object);
  GtkTextBuffer *buffer;

  G_OBJECT_CLASS (confab_preferences_window_parent_class)->constructed (object);

  g_assert (G_IS_SETTINGS (self->settings));
  g_assert (CONFAB_IS_SECRETS (self->secrets));

  g_signal_connect_object (self->settings, "changed::base-url",
                           G_CALLBACK (settings_base_url_changed_cb), self, G_CONNECT_SWAPPED);
  adw_combo_row_set_selected (self->kind_row, confab_config_is_anthropic (self->settings) ? 1 : 0);
  g_signal_connect_object (self->kind_row, "notify::selected",
                           G_CALLBACK (kind_row_selected_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::provider",
                           G_CALLBACK (settings_provider_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::model",
                           G_CALLBACK (settings_model_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::system-message",
                           G_CALLBACK (settings_system_message_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_settings_bind (self->settings, "temperature",
                   self->temperature_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);

  g_signal_connect_object (self->secrets, "changed",
                           G_CALLBACK (secrets_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->secrets, "notify::keyring-available",
                           G_CALLBACK (secrets_keyring_available_cb), self, G_CONNECT_SWAPPED);

  settings_model_changed_cb (self);

  buffer = gtk_text_view_get_buffer (self->system_message_view);
  settings_system_message_changed_cb (self);
  g_signal_connect_object (buffer, "changed",
                           G_CALLBACK (system_message_buffer_changed_cb), self,
                           G_CONNECT_SWAPPED);

  /* Looks the key up, which then fetches the models. */
  confab_preferences_window_reload_base_url (self, TRUE);
}

static void
confab_preferences_window_show (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (confab_preferences_window_parent_class)->show (widget);

  /* GtkWindow focuses the first entry, which selects the whole server URL
   * for the first key press to replace. Start with nothing focused. */
  gtk_window_set_focus (GTK_WINDOW (widget), NULL);
}

static void
confab_preferences_window_dispose (GObject *object)
{
  ConfabPreferencesWindow *self = CONFAB_PREFERENCES_WINDOW (object);

  /* Typing from the last half second is saved, not lost. */
  if (self->system_message_source != 0 && self->settings != NULL)
    confab_preferences_window_save_system_message (self);
  g_clear_handle_id (&self->system_message_source, g_source_remove);

  g_cancellable_cancel (self->lookup_cancellable);
  g_clear_object (&self->lookup_cancellable);
  g_cancellable_cancel (self->fetch_cancellable);
  g_clear_object (&self->fetch_cancellable);

  if (self->settings != NULL)
    g_settings_unbind (self->temperature_adjustment, "value");

  gtk_widget_dispose_template (GTK_WIDGET (self), CONFAB_TYPE_PREFERENCES_WINDOW);

  g_clear_object (&self->settings);
  g_clear_object (&self->secrets);

  G_OBJECT_CLASS (confab_preferences_window_parent_class)->dispose (object);
}

static void
confab_preferences_window_finalize (GObject *object)
{
  ConfabPreferencesWindow *self = CONFAB_PREFERENCES_WINDOW (object);

  g_clear_pointer (&self->base_url, g_free);
  g_clear_pointer (&self->stored_key, wipe_free);
  g_clear_pointer (&self->models, g_strfreev);

  G_OBJECT_CLASS (confab_preferences_window_parent_class)->finalize (object);
}

static void
confab_preferences_window_get_property (GObject    *object,
                                        guint       prop_id,
                                        GValue     *value,
                                        GParamSpec *pspec)
{
  ConfabPreferencesWindow *self = CONFAB_PREFERENCES_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;

    case PROP_SECRETS:
      g_value_set_object (value, self->secrets);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
confab_preferences_window_set_property (GObject      *object,
                                        guint         prop_id,
                                        const GValue *value,
                                        GParamSpec   *pspec)
{
  ConfabPreferencesWindow *self = CONFAB_PREFERENCES_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;

    case PROP_SECRETS:
      self->secrets = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
confab_preferences_window_class_init (ConfabPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = confab_preferences_window_constructed;
  object_class->dispose = confab_preferences_window_dispose;
  object_class->finalize = confab_preferences_window_finalize;
  object_class->get_property = confab_preferences_window_get_property;
  object_class->set_property = confab_preferences_window_set_property;

  widget_class->show = confab_preferences_window_show;

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL,
                         G_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  properties[PROP_SECRETS] =
    g_param_spec_object ("secrets", NULL, NULL,
                         CONFAB_TYPE_SECRETS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/confab/Confab/confab-preferences-window.ui");

  gtk_widget_class_bind_template_child (widget_class, ConfabPreferencesWindow, insecure_note);
  gtk_widget_class_bind_template_child (widget_class, ConfabPreferencesWindow, key_note);
  gtk_widget_class_bind_template_child (widget_class, ConfabPreferencesWindow, key_row);
  gtk_widget_class_bind_template_child (widget_class, ConfabPreferencesWindow, kind_row);
  gtk_widget_class_bind_template_child (widget_class, ConfabPreferencesWindow, keyring_note);
  gtk_widget_class_bind_template_child (widget_class, ConfabPreferencesWindow, model_row);
  gtk_widget_class_bind_template_child (widget_class, ConfabPreferencesWindow, models_button);
  gtk_widget_class_bind_template_child (widget_class, ConfabPreferencesWindow, models_list);
  gtk_widget_class_bind_template_child (widget_class, ConfabPreferencesWindow, models_popover);
  gtk_widget_class_bind_template_child (widget_class, ConfabPreferencesWindow, models_search);
  gtk_widget_class_bind_template_child (widget_class, ConfabPreferencesWindow, models_spinner);
  gtk_widget_class_bind_template_child (widget_class, ConfabPreferencesWindow, models_status_row);
  gtk_widget_class_bind_template_child (widget_class, ConfabPreferencesWindow, server_group);
  gtk_widget_class_bind_template_child (widget_class, ConfabPreferencesWindow, system_message_view);
  gtk_widget_class_bind_template_child (widget_class, ConfabPreferencesWindow, temperature_adjustment);
  gtk_widget_class_bind_template_child (widget_class, ConfabPreferencesWindow, url_row);

  gtk_widget_class_bind_template_callback (widget_class, key_row_apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, model_row_apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, models_list_row_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, models_popover_show_cb);
  gtk_widget_class_bind_template_callback (widget_class, models_search_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, models_search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, url_row_apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, url_row_changed_cb);

  gtk_widget_class_install_action (widget_class, "prefs.refresh-models", NULL,
                                   refresh_models_action);
  gtk_widget_class_install_action (widget_class, "prefs.use-preset", "s",
                                   use_preset_action);
}

static void
confab_preferences_window_init (ConfabPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  gtk_list_box_set_filter_func (self->models_list, models_list_filter_func, self, NULL);
  gtk_list_box_set_placeholder (self->models_list,
                                g_object_new (GTK_TYPE_LABEL,
                                              "label", _("No matching models"),
                                              "margin-top", 12,
                                              "margin-bottom", 12,
                                              "css-classes", (const char *[]) { "dim-label", NULL },
                                              NULL));
  gtk_search_entry_set_key_capture_widget (self->models_search, GTK_WIDGET (self->models_popover));
}

/**
 * confab_preferences_window_new:
 * @parent: (nullable): the window to be transient for
 * @settings: the application's settings
 * @secrets: where API keys are kept
 *
 * Creates the preferences window. It looks up the key and fetches the list
 * of models from the server as soon as it exists.
 *
 * Returns: (transfer none): a new #ConfabPreferencesWindow, owned by GTK
 *   until it is closed
 */
GtkWidget *
confab_preferences_window_new (GtkWindow     *parent,
                               GSettings     *settings,
                               ConfabSecrets *secrets)
{
  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);
  g_return_val_if_fail (CONFAB_IS_SECRETS (secrets), NULL);

  return g_object_new (CONFAB_TYPE_PREFERENCES_WINDOW,
                       "settings", settings,
                       "secrets", secrets,
                       "transient-for", parent,
                       "modal", parent != NULL,
                       NULL);
}
