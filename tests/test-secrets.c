/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ConfabSecrets against a real gnome-keyring-daemon (tests/keyring-session.sh
 * starts one, with its own D-Bus session and a throwaway HOME), and without
 * any Secret Service at all (a subprocess whose session bus address points at
 * a socket that does not exist).
 */
#include "config.h"

#include "confab-test-util.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>
#include <libsecret/secret.h>

#include "confab-secrets.h"

#define TIMEOUT_SECONDS 30

/* The schema ConfabSecrets uses, spelled out again so that the test checks
 * what really is in the Secret Service rather than trusting the code. */
static const SecretSchema api_key_schema = {
  "io.github.confab.Confab.ApiKey",
  SECRET_SCHEMA_NONE,
  {
    { "base-url", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
};

/* Same attribute, another schema name: must not see Confab's items. */
static const SecretSchema other_schema = {
  "io.github.confab.Confab.SomethingElse",
  SECRET_SCHEMA_NONE,
  {
    { "base-url", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
};

#define URL_A "http://127.0.0.1:8080/v1"
#define URL_B "https://api.example.invalid/v1"

typedef struct
{
  guint      changed_count;
  char      *last_changed_url;
  guint      notify_count;
} Counters;

static void
changed_cb (ConfabSecrets *secrets,
            const char    *base_url,
            Counters      *counters)
{
  counters->changed_count++;
  g_free (counters->last_changed_url);
  counters->last_changed_url = g_strdup (base_url);
}

static void
notify_cb (GObject    *object,
           GParamSpec *pspec,
           Counters   *counters)
{
  counters->notify_count++;
}

static void
counters_clear (Counters *counters)
{
  g_clear_pointer (&counters->last_changed_url, g_free);
}

static gboolean
timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

static void
result_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  GAsyncResult **out = user_data;

  g_assert_null (*out);
  *out = g_object_ref (result);
}

/* Iterates the main loop until the async call delivers its result. */
static GAsyncResult *
wait_for_result (GAsyncResult **slot)
{
  gboolean timed_out = FALSE;
  guint timeout_id;

  timeout_id = g_timeout_add_seconds (TIMEOUT_SECONDS, timeout_cb, &timed_out);

  while (*slot == NULL && !timed_out)
    g_main_context_iteration (NULL, TRUE);

  g_assert_false (timed_out);
  g_source_remove (timeout_id);

  return g_steal_pointer (slot);
}

static char *
lookup (ConfabSecrets  *secrets,
        const char     *base_url,
        GCancellable   *cancellable,
        GError        **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;

  confab_secrets_lookup_async (secrets, base_url, cancellable, result_cb, &slot);
  result = wait_for_result (&slot);

  return confab_secrets_lookup_finish (secrets, result, error);
}

static gboolean
store (ConfabSecrets  *secrets,
       const char     *base_url,
       const char     *key,
       GError        **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;

  confab_secrets_store_async (secrets, base_url, key, NULL, result_cb, &slot);
  result = wait_for_result (&slot);

  return confab_secrets_store_finish (secrets, result, error);
}

static void
assert_lookup (ConfabSecrets *secrets,
               const char    *base_url,
               const char    *expected)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *key = NULL;

  key = lookup (secrets, base_url, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (key, ==, expected);
}

static void
assert_store (ConfabSecrets *secrets,
              Counters      *counters,
              const char    *base_url,
              const char    *key)
{
  g_autoptr(GError) error = NULL;
  guint before = counters->changed_count;
  gboolean ok;

  ok = store (secrets, base_url, key, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpuint (counters->changed_count, ==, before + 1);
  g_assert_cmpstr (counters->last_changed_url, ==, base_url);
}

/* What the Secret Service itself holds for @base_url, asked through libsecret
 * directly. */
static char *
keyring_lookup (const SecretSchema *schema,
                const char         *base_url)
{
  g_autoptr(GError) error = NULL;
  char *password;
  char *copy;

  password = secret_password_lookup_sync (schema, NULL, &error,
                                          "base-url", base_url,
                                          NULL);
  g_assert_no_error (error);

  copy = g_strdup (password);
  secret_password_free (password);

  return copy;
}

static GList *
keyring_search (const char *base_url)
{
  g_autoptr(GHashTable) attributes = NULL;
  g_autoptr(GError) error = NULL;
  GList *items;

  attributes = secret_attributes_build (&api_key_schema, "base-url", base_url, NULL);
  items = secret_service_search_sync (NULL, &api_key_schema, attributes,
                                      SECRET_SEARCH_ALL | SECRET_SEARCH_UNLOCK,
                                      NULL, &error);
  g_assert_no_error (error);

  return items;
}

static void
test_keyring (void)
{
  g_autoptr(ConfabSecrets) secrets = NULL;
  g_autoptr(GCancellable) cancellable = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SecretService) service = NULL;
  g_autoptr(SecretCollection) login = NULL;
  g_autofree char *key = NULL;
  g_autofree char *direct = NULL;
  g_autofree char *expected_label = NULL;
  Counters counters = { 0 };
  GList *items;
  SecretItem *item;

  /* Only ever against the throwaway keyring of keyring-session.sh: never the
   * keyring of whoever runs the binary by hand. */
  if (g_strcmp0 (g_getenv ("CONFAB_TEST_KEYRING"), "1") != 0)
    {
      g_test_skip ("needs its own keyring: run through tests/keyring-session.sh");
      return;
    }

  secrets = confab_secrets_new ();
  g_signal_connect (secrets, "changed", G_CALLBACK (changed_cb), &counters);
  g_signal_connect (secrets, "notify::keyring-available", G_CALLBACK (notify_cb), &counters);
  g_assert_true (confab_secrets_get_keyring_available (secrets));

  /* Nothing stored yet. */
  assert_lookup (secrets, URL_A, NULL);
  g_assert_true (confab_secrets_get_keyring_available (secrets));
  g_assert_cmpuint (counters.changed_count, ==, 0);

  /* Store, and find it through ConfabSecrets and through libsecret. */
  assert_store (secrets, &counters, URL_A, "sk-first-key");
  assert_lookup (secrets, URL_A, "sk-first-key");
  direct = keyring_lookup (&api_key_schema, URL_A);
  g_assert_cmpstr (direct, ==, "sk-first-key");
  g_clear_pointer (&direct, g_free);

  /* The schema name is part of the match. */
  direct = keyring_lookup (&other_schema, URL_A);
  g_assert_null (direct);

  /* One item, in the default collection (the "login" keyring here), with a
   * label a person can read in Seahorse. */
  service = secret_service_get_sync (SECRET_SERVICE_NONE, NULL, &error);
  g_assert_no_error (error);
  login = secret_collection_for_alias_sync (service, SECRET_COLLECTION_DEFAULT,
                                            SECRET_COLLECTION_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (login);
  items = keyring_search (URL_A);
  g_assert_cmpuint (g_list_length (items), ==, 1);
  item = items->data;
  g_assert_true (g_str_has_prefix (g_dbus_proxy_get_object_path (G_DBUS_PROXY (item)),
                                   g_dbus_proxy_get_object_path (G_DBUS_PROXY (login))));
  expected_label = g_strdup_printf ("Confab API key for %s", URL_A);
  key = secret_item_get_label (item);
  g_assert_cmpstr (key, ==, expected_label);
  g_clear_pointer (&key, g_free);
  g_list_free_full (items, g_object_unref);

  /* Another server has no key. */
  assert_lookup (secrets, URL_B, NULL);
  direct = keyring_lookup (&api_key_schema, URL_B);
  g_assert_null (direct);

  /* Storing again replaces the key instead of adding a second item. */
  assert_store (secrets, &counters, URL_A, "sk-second key \xc3\xa9");
  assert_lookup (secrets, URL_A, "sk-second key \xc3\xa9");
  direct = keyring_lookup (&api_key_schema, URL_A);
  g_assert_cmpstr (direct, ==, "sk-second key \xc3\xa9");
  g_clear_pointer (&direct, g_free);
  items = keyring_search (URL_A);
  g_assert_cmpuint (g_list_length (items), ==, 1);
  g_list_free_full (items, g_object_unref);

  /* Keys of different servers are apart. */
  assert_store (secrets, &counters, URL_B, "sk-other-server");
  assert_lookup (secrets, URL_B, "sk-other-server");
  assert_lookup (secrets, URL_A, "sk-second key \xc3\xa9");

  /* A cancelled call reports the cancellation, and is no keyring failure. */
  cancellable = g_cancellable_new ();
  g_cancellable_cancel (cancellable);
  key = lookup (secrets, URL_A, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (key);
  g_clear_error (&error);
  g_assert_true (confab_secrets_get_keyring_available (secrets));

  /* NULL clears. */
  assert_store (secrets, &counters, URL_A, NULL);
  assert_lookup (secrets, URL_A, NULL);
  direct = keyring_lookup (&api_key_schema, URL_A);
  g_assert_null (direct);
  items = keyring_search (URL_A);
  g_assert_cmpuint (g_list_length (items), ==, 0);
  assert_lookup (secrets, URL_B, "sk-other-server");

  /* So does "". Clearing what is not there is no error either. */
  assert_store (secrets, &counters, URL_B, "");
  assert_lookup (secrets, URL_B, NULL);
  direct = keyring_lookup (&api_key_schema, URL_B);
  g_assert_null (direct);
  assert_store (secrets, &counters, URL_B, NULL);

  /* The keyring worked all along. */
  g_assert_true (confab_secrets_get_keyring_available (secrets));
  g_assert_cmpuint (counters.notify_count, ==, 0);
  g_assert_cmpuint (counters.changed_count, ==, 6);

  counters_clear (&counters);
  g_assert_finalize_object (g_steal_pointer (&secrets));
}

static gboolean
contains_bytes (const char *haystack,
                gsize       len,
                const char *needle)
{
  gsize needle_len = strlen (needle);

  for (gsize i = 0; needle_len <= len && i <= len - needle_len; i++)
    {
      if (memcmp (haystack + i, needle, needle_len) == 0)
        return TRUE;
    }

  return FALSE;
}

/* Runs last: it leaves the default collection locked, and only a prompt, which
 * keyring-session.sh makes impossible, could unlock it again. */
static void
test_keyring_locked (void)
{
  g_autoptr(ConfabSecrets) secrets = NULL;
  g_autoptr(SecretService) service = NULL;
  g_autoptr(SecretCollection) login = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *direct = NULL;
  GList *collections = NULL;
  Counters counters = { 0 };
  int n_locked;

  if (g_strcmp0 (g_getenv ("CONFAB_TEST_KEYRING"), "1") != 0)
    {
      g_test_skip ("needs its own keyring: run through tests/keyring-session.sh");
      return;
    }

  service = secret_service_get_sync (SECRET_SERVICE_NONE, NULL, &error);
  g_assert_no_error (error);
  login = secret_collection_for_alias_sync (service, SECRET_COLLECTION_DEFAULT,
                                            SECRET_COLLECTION_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (login);
  collections = g_list_append (NULL, login);
  n_locked = secret_service_lock_sync (service, collections, NULL, NULL, &error);
  g_list_free (collections);
  g_assert_no_error (error);
  g_assert_cmpint (n_locked, ==, 1);

  secrets = confab_secrets_new ();
  g_signal_connect (secrets, "changed", G_CALLBACK (changed_cb), &counters);
  g_signal_connect (secrets, "notify::keyring-available", G_CALLBACK (notify_cb), &counters);
  g_assert_true (confab_secrets_get_keyring_available (secrets));

  /* Storing needs an unlock, the unlock needs a prompt, and the prompt cannot
   * be shown: the key stays in memory, and the store still succeeds. */
  assert_store (secrets, &counters, URL_A, "sk-while-locked");
  g_assert_false (confab_secrets_get_keyring_available (secrets));
  g_assert_cmpuint (counters.notify_count, ==, 1);
  assert_lookup (secrets, URL_A, "sk-while-locked");
  assert_lookup (secrets, URL_B, NULL);

  /* It did not reach the keyring. */
  g_assert_true (secret_collection_get_locked (login));
  direct = keyring_lookup (&api_key_schema, URL_A);
  g_assert_null (direct);

  counters_clear (&counters);
  g_assert_finalize_object (g_steal_pointer (&secrets));
}

/* Every regular file below @path whose contents hold @needle. */
static void
find_files_containing (const char  *path,
                       const char  *needle,
                       GPtrArray   *found,
                       guint       *n_files)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  dir = g_dir_open (path, 0, NULL);
  if (dir == NULL)
    return;

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      g_autofree char *contents = NULL;
      gsize len = 0;

      if (g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        continue;

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        {
          find_files_containing (child, needle, found, n_files);
          continue;
        }

      if (!g_file_test (child, G_FILE_TEST_IS_REGULAR))
        continue;

      (*n_files)++;
      if (g_file_get_contents (child, &contents, &len, NULL) &&
          contains_bytes (contents, len, needle))
        g_ptr_array_add (found, g_strdup (child));
    }
}

static void
assert_no_file_contains (const char *root,
                         const char *needle)
{
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  guint n_files = 0;

  find_files_containing (root, needle, found, &n_files);
  for (guint i = 0; i < found->len; i++)
    g_test_message ("a key was written to %s", (const char *)found->pdata[i]);
  g_assert_cmpuint (found->len, ==, 0);
}

static void
no_keyring_subprocess (void)
{
  g_autoptr(ConfabSecrets) secrets = NULL;
  g_autoptr(GCancellable) cancellable = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) found = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *bus = NULL;
  g_autofree char *canary = NULL;
  g_autofree char *key = NULL;
  Counters counters = { 0 };
  const char *subdirs[] = { "data", "config", "cache", "runtime" };
  const char *xdg_vars[] = {
    "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"
  };
  const char *keys[] = { "sk-memory-one", "sk-memory-two", "sk-memory-three" };
  guint n_files = 0;

  /* Before anything touches D-Bus or the XDG directories. */
  tmp = g_dir_make_tmp ("confab-test-secrets-XXXXXX", &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *dir = g_build_filename (tmp, subdirs[i], NULL);
      g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
    }
  g_setenv ("HOME", tmp, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *dir = g_build_filename (tmp, subdirs[i], NULL);
      g_setenv (xdg_vars[i], dir, TRUE);
    }
  bus = g_strdup_printf ("unix:path=%s/no-such-bus-socket", tmp);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", bus, TRUE);

  /* There really is no Secret Service here. */
  key = secret_password_lookup_sync (&api_key_schema, NULL, &error, "base-url", URL_A, NULL);
  g_assert_nonnull (error);
  g_assert_null (key);
  g_clear_error (&error);

  secrets = confab_secrets_new ();
  g_signal_connect (secrets, "changed", G_CALLBACK (changed_cb), &counters);
  g_signal_connect (secrets, "notify::keyring-available", G_CALLBACK (notify_cb), &counters);

  /* The first call finds out, says so once, and is still no error. */
  assert_lookup (secrets, URL_A, NULL);
  g_assert_false (confab_secrets_get_keyring_available (secrets));
  g_assert_cmpuint (counters.notify_count, ==, 1);

  assert_store (secrets, &counters, URL_A, keys[0]);
  assert_lookup (secrets, URL_A, keys[0]);
  assert_lookup (secrets, URL_B, NULL);

  assert_store (secrets, &counters, URL_A, keys[1]);
  assert_lookup (secrets, URL_A, keys[1]);

  assert_store (secrets, &counters, URL_A, NULL);
  assert_lookup (secrets, URL_A, NULL);

  assert_store (secrets, &counters, URL_B, keys[2]);
  assert_lookup (secrets, URL_B, keys[2]);

  /* Cancellation is reported in memory mode too. */
  cancellable = g_cancellable_new ();
  g_cancellable_cancel (cancellable);
  key = lookup (secrets, URL_B, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (key);
  g_clear_error (&error);

  g_assert_false (confab_secrets_get_keyring_available (secrets));
  g_assert_cmpuint (counters.notify_count, ==, 1);
  g_assert_cmpuint (counters.changed_count, ==, 4);

  /* The walk below does read files: it finds a marker planted for it. */
  canary = g_build_filename (tmp, "data", "canary.txt", NULL);
  g_file_set_contents (canary, "walk-canary-marker", -1, &error);
  g_assert_no_error (error);
  found = g_ptr_array_new_with_free_func (g_free);
  find_files_containing (tmp, "walk-canary-marker", found, &n_files);
  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpstr (found->pdata[0], ==, canary);
  g_assert_cmpuint (n_files, >=, 1);

  /* No key reached a file in HOME or the XDG directories. */
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    assert_no_file_contains (tmp, keys[i]);

  counters_clear (&counters);
  g_assert_finalize_object (g_steal_pointer (&secrets));
  confab_test_remove_tree (tmp);
}

static void
test_no_keyring (void)
{
  if (g_test_subprocess ())
    {
      no_keyring_subprocess ();
      return;
    }

  /* A process of its own: this one may have connected to a session bus. */
  g_test_trap_subprocess (NULL, TIMEOUT_SECONDS * 4 * G_USEC_PER_SEC,
                          G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/secrets/keyring", test_keyring);
  g_test_add_func ("/secrets/no-keyring", test_no_keyring);
  /* Last: it leaves the test keyring locked. */
  g_test_add_func ("/secrets/keyring-locked", test_keyring_locked);

  return g_test_run ();
}
