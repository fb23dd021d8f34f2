/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-secrets"

#include "config.h"

#include <glib/gi18n.h>
#include <libsecret/secret.h>

#include "confab-secrets.h"

/*
 * Keys live in the Secret Service, one item per base URL in the default
 * collection. Whenever the Secret Service fails us (no session bus, no
 * service, a locked collection nobody unlocks, any other error), this object
 * switches to a table in memory for the rest of the run and says so through
 * "keyring-available". It never writes a key anywhere else and never logs one.
 */

struct _ConfabSecrets
{
  GObject     parent_instance;

  /* Owned: base URL → key, used once the keyring has failed. Values are
   * wiped before they are freed. */
  GHashTable *memory;

  guint       keyring_available : 1;
};

G_DEFINE_FINAL_TYPE (ConfabSecrets, confab_secrets, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_KEYRING_AVAILABLE,
  N_PROPS
};

enum {
  CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static const SecretSchema confab_api_key_schema = {
  "io.github.confab.Confab.ApiKey",
  SECRET_SCHEMA_NONE,
  {
    { "base-url", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
};

/* Overwrites a string with zeroes and frees it. The volatile pointer keeps
 * the compiler from dropping the writes as dead stores before the free. */
static void
wipe_free (gpointer data)
{
  char *str = data;
  volatile char *p;

  if (str == NULL)
    return;

  for (p = str; *p != '\0'; p++)
    *p = '\0';

  g_free (str);
}

typedef struct
{
  char *base_url;
  char *key;      /* NULL when clearing */
} Request;

static void
request_free (gpointer data)
{
  Request *request = data;

  g_free (request->base_url);
  wipe_free (request->key);
  g_free (request);
}

static Request *
request_new (const char *base_url,
             const char *key)
{
  Request *request = g_new0 (Request, 1);

  request->base_url = g_strdup (base_url);
  request->key = (key != NULL && key[0] != '\0') ? g_strdup (key) : NULL;

  return request;
}

/* TRUE when @error comes from the caller's own cancellable, which is not a
 * keyring failure and must reach the caller as it is. */
static gboolean
task_was_cancelled (GTask        *task,
                    const GError *error)
{
  GCancellable *cancellable = g_task_get_cancellable (task);

  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
         cancellable != NULL &&
         g_cancellable_is_cancelled (cancellable);
}

static void
confab_secrets_fall_back (ConfabSecrets *self,
                          const GError  *error)
{
  if (!self->keyring_available)
    return;

  /* The message text comes from D-Bus or libsecret and never holds a key. */
  g_message ("Could not use the Secret Service (%s); API keys are kept in memory "
             "for this run only",
             error != NULL ? error->message : "unknown error");

  self->keyring_available = FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_KEYRING_AVAILABLE]);
}

static void
confab_secrets_memory_apply (ConfabSecrets *self,
                             Request       *request)
{
  if (request->key != NULL)
    g_hash_table_replace (self->memory,
                          g_strdup (request->base_url),
                          g_strdup (request->key));
  else
    g_hash_table_remove (self->memory, request->base_url);
}

static char *
confab_secrets_memory_dup (ConfabSecrets *self,
                           const char    *base_url)
{
  return g_strdup (g_hash_table_lookup (self->memory, base_url));
}

static void
confab_secrets_dispose (GObject *object)
{
  ConfabSecrets *self = (ConfabSecrets *)object;

  g_hash_table_remove_all (self->memory);

  G_OBJECT_CLASS (confab_secrets_parent_class)->dispose (object);
}

static void
confab_secrets_finalize (GObject *object)
{
  ConfabSecrets *self = (ConfabSecrets *)object;

  g_clear_pointer (&self->memory, g_hash_table_unref);

  G_OBJECT_CLASS (confab_secrets_parent_class)->finalize (object);
}

static void
confab_secrets_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  ConfabSecrets *self = CONFAB_SECRETS (object);

  switch (prop_id)
    {
    case PROP_KEYRING_AVAILABLE:
      g_value_set_boolean (value, self->keyring_available);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
confab_secrets_class_init (ConfabSecretsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = confab_secrets_dispose;
  object_class->finalize = confab_secrets_finalize;
  object_class->get_property = confab_secrets_get_property;

  /**
   * ConfabSecrets:keyring-available:
   *
   * Whether keys go to the Secret Service. It turns %FALSE, for the rest of
   * the run, the first time the Secret Service fails; from then on keys are
   * kept in memory only and are lost when the application quits.
   */
  properties[PROP_KEYRING_AVAILABLE] =
    g_param_spec_boolean ("keyring-available", NULL, NULL,
                          TRUE,
                          (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * ConfabSecrets::changed:
   * @self: a #ConfabSecrets
   * @base_url: the server whose key was stored or cleared
   */
  signals[CHANGED] =
    g_signal_new ("changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
confab_secrets_init (ConfabSecrets *self)
{
  self->memory = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, wipe_free);
  self->keyring_available = TRUE;
}

/**
 * confab_secrets_new:
 *
 * Returns: (transfer full): a new #ConfabSecrets
 */
ConfabSecrets *
confab_secrets_new (void)
{
  return g_object_new (CONFAB_TYPE_SECRETS, NULL);
}

/**
 * confab_secrets_get_keyring_available:
 * @self: a #ConfabSecrets
 *
 * Returns: %FALSE once the Secret Service has failed and keys are kept in
 *   memory for this run only
 */
gboolean
confab_secrets_get_keyring_available (ConfabSecrets *self)
{
  g_return_val_if_fail (CONFAB_IS_SECRETS (self), FALSE);

  return self->keyring_available;
}

static void
confab_secrets_lookup_cb (GObject      *object,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  ConfabSecrets *self = g_task_get_source_object (task);
  const char *base_url = g_task_get_task_data (task);
  char *password;

  password = secret_password_lookup_finish (result, &error);

  if (error != NULL)
    {
      if (task_was_cancelled (task, error))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }

      confab_secrets_fall_back (self, error);
      g_task_return_pointer (task, confab_secrets_memory_dup (self, base_url), wipe_free);
      return;
    }

  /* libsecret's copy lives in memory it wipes itself; hand out a plain one. */
  g_task_return_pointer (task, g_strdup (password), wipe_free);
  secret_password_free (password);
}

/**
 * confab_secrets_lookup_async:
 * @self: a #ConfabSecrets
 * @base_url: the server base URL the key belongs to
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the key is known
 * @user_data: data for @callback
 *
 * Looks up the API key stored for @base_url.
 */
void
confab_secrets_lookup_async (ConfabSecrets       *self,
                             const char          *base_url,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (CONFAB_IS_SECRETS (self));
  g_return_if_fail (base_url != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, confab_secrets_lookup_async);
  g_task_set_task_data (task, g_strdup (base_url), g_free);

  if (!self->keyring_available)
    {
      if (!g_task_return_error_if_cancelled (task))
        g_task_return_pointer (task, confab_secrets_memory_dup (self, base_url), wipe_free);
      return;
    }

  secret_password_lookup (&confab_api_key_schema,
                          cancellable,
                          confab_secrets_lookup_cb,
                          g_steal_pointer (&task),
                          "base-url", base_url,
                          NULL);
}

/**
 * confab_secrets_lookup_finish:
 * @self: a #ConfabSecrets
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the key, or %NULL with no error set
 *   when none is stored. Wipe it (overwrite it with zeroes) before freeing it
 *   where that is easy.
 */
char *
confab_secrets_lookup_finish (ConfabSecrets  *self,
                              GAsyncResult   *result,
                              GError        **error)
{
  g_return_val_if_fail (CONFAB_IS_SECRETS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == confab_secrets_lookup_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Ends a store or clear that succeeded, in the keyring or in memory. */
static void
confab_secrets_store_done (GTask *task)
{
  ConfabSecrets *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);

  g_signal_emit (self, signals[CHANGED], 0, request->base_url);
  g_task_return_boolean (task, TRUE);
}

static void
confab_secrets_store_in_memory (GTask *task)
{
  ConfabSecrets *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);

  confab_secrets_memory_apply (self, request);
  confab_secrets_store_done (task);
}

static void
confab_secrets_store_cb (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  ConfabSecrets *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);

  if (request->key != NULL)
    {
      /* A dismissed prompt can end a store with neither success nor error:
       * the key is not in the keyring, so it is a failure all the same. */
      if (!secret_password_store_finish (result, &error) && error == NULL)
        g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_FAILED,
                             "The Secret Service did not store the key");
    }
  else
    {
      /* FALSE without an error only means there was nothing to clear. */
      secret_password_clear_finish (result, &error);
    }

  if (error != NULL)
    {
      if (task_was_cancelled (task, error))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }

      confab_secrets_fall_back (self, error);
      confab_secrets_store_in_memory (task);
      return;
    }

  confab_secrets_store_done (task);
}

static gboolean
confab_secrets_store_idle_cb (gpointer user_data)
{
  GTask *task = user_data;

  if (!g_task_return_error_if_cancelled (task))
    confab_secrets_store_in_memory (task);

  return G_SOURCE_REMOVE;
}

/**
 * confab_secrets_store_async:
 * @self: a #ConfabSecrets
 * @base_url: the server base URL the key belongs to
 * @key: (nullable): the API key; %NULL or "" clears the stored key
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the key is stored
 * @user_data: data for @callback
 *
 * Stores (replacing any earlier one) or clears the API key for @base_url, and
 * emits #ConfabSecrets::changed once it is done.
 */
void
confab_secrets_store_async (ConfabSecrets       *self,
                            const char          *base_url,
                            const char          *key,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Request *request;

  g_return_if_fail (CONFAB_IS_SECRETS (self));
  g_return_if_fail (base_url != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, confab_secrets_store_async);
  request = request_new (base_url, key);
  g_task_set_task_data (task, request, request_free);

  if (!self->keyring_available)
    {
      g_autoptr(GSource) source = g_idle_source_new ();

      /* "changed" is emitted from the main loop, never from inside this call. */
      g_source_set_priority (source, g_task_get_priority (task));
      g_source_set_callback (source, confab_secrets_store_idle_cb,
                             g_object_ref (task), g_object_unref);
      g_source_attach (source, g_task_get_context (task));
      return;
    }

  if (request->key != NULL)
    {
      g_autofree char *label = g_strdup_printf (_("Confab API key for %s"), base_url);

      secret_password_store (&confab_api_key_schema,
                             SECRET_COLLECTION_DEFAULT,
                             label,
                             request->key,
                             cancellable,
                             confab_secrets_store_cb,
                             g_steal_pointer (&task),
                             "base-url", base_url,
                             NULL);
    }
  else
    {
      secret_password_clear (&confab_api_key_schema,
                             cancellable,
                             confab_secrets_store_cb,
                             g_steal_pointer (&task),
                             "base-url", base_url,
                             NULL);
    }
}

/**
 * confab_secrets_store_finish:
 * @self: a #ConfabSecrets
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: %TRUE when the key was stored or cleared (in the keyring, or in
 *   memory when there is none); %FALSE only when the call was cancelled
 */
gboolean
confab_secrets_store_finish (ConfabSecrets  *self,
                             GAsyncResult   *result,
                             GError        **error)
{
  g_return_val_if_fail (CONFAB_IS_SECRETS (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == confab_secrets_store_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
