/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include "confab-test-util.h"

#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "confab-store.h"

#define CURRENT_VERSION 2

/* The exact first schema (version 1), as a released Confab wrote it. */
static const char v1_schema[] =
  "CREATE TABLE conversations ("
  "  id             INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  title          TEXT,"
  "  title_locked   INTEGER NOT NULL DEFAULT 0,"
  "  model          TEXT,"
  "  temperature    REAL NOT NULL DEFAULT 1.0,"
  "  system_message TEXT,"
  "  created_at     INTEGER NOT NULL,"
  "  updated_at     INTEGER NOT NULL"
  ");"
  "CREATE TABLE messages ("
  "  id                INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  conversation_id   INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,"
  "  role              TEXT NOT NULL,"
  "  content           TEXT NOT NULL DEFAULT '',"
  "  reasoning         TEXT,"
  "  state             INTEGER NOT NULL DEFAULT 0,"
  "  error             TEXT,"
  "  model             TEXT,"
  "  finish_reason     TEXT,"
  "  prompt_tokens     INTEGER NOT NULL DEFAULT -1,"
  "  completion_tokens INTEGER NOT NULL DEFAULT -1,"
  "  created_at        INTEGER NOT NULL,"
  "  updated_at        INTEGER NOT NULL"
  ");"
  "CREATE INDEX messages_by_conversation ON messages (conversation_id, id);";

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("confab-store-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->path = g_build_filename (fixture->dir, "confab.db", NULL);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  confab_test_remove_tree (fixture->dir);
  g_assert_false (g_file_test (fixture->dir, G_FILE_TEST_EXISTS));
  g_free (fixture->dir);
  g_free (fixture->path);
}

/* Helpers */

static ConfabStore *
open_store (const char *path)
{
  g_autoptr(GError) error = NULL;
  ConfabStore *store = confab_store_new (path, &error);

  g_assert_no_error (error);
  g_assert_true (CONFAB_IS_STORE (store));
  g_assert_cmpstr (confab_store_get_path (store), ==, path);

  return store;
}

static ConfabConversation *
add_conversation (ConfabStore *store,
                  const char  *title)
{
  g_autoptr(GError) error = NULL;
  ConfabConversation *conversation = confab_conversation_new ();

  confab_conversation_set_title (conversation, title);
  g_assert_true (confab_store_insert_conversation (store, conversation, &error));
  g_assert_no_error (error);
  g_assert_cmpint (confab_conversation_get_id (conversation), >, 0);

  return conversation;
}

static ConfabMessage *
add_message (ConfabStore        *store,
             gint64              conversation_id,
             ConfabRole          role,
             const char         *content,
             ConfabMessageState  state)
{
  g_autoptr(GError) error = NULL;
  ConfabMessage *message = confab_message_new (role, content);

  confab_message_set_conversation_id (message, conversation_id);
  confab_message_set_state (message, state);
  g_assert_true (confab_store_insert_message (store, message, &error));
  g_assert_no_error (error);
  g_assert_cmpint (confab_message_get_id (message), >, 0);

  return message;
}

static void
assert_message_equal (ConfabMessage *a,
                      ConfabMessage *b)
{
  gint64 pa, ca, pb, cb;

  g_assert_cmpint (confab_message_get_id (a), ==, confab_message_get_id (b));
  g_assert_cmpint (confab_message_get_conversation_id (a), ==,
                   confab_message_get_conversation_id (b));
  g_assert_cmpint (confab_message_get_role (a), ==, confab_message_get_role (b));
  g_assert_cmpuint (confab_message_get_content_length (a), ==,
                    confab_message_get_content_length (b));
  g_assert_cmpstr (confab_message_get_content (a), ==, confab_message_get_content (b));
  g_assert_cmpstr (confab_message_get_reasoning (a), ==, confab_message_get_reasoning (b));
  g_assert_cmpint (confab_message_get_state (a), ==, confab_message_get_state (b));
  g_assert_cmpstr (confab_message_get_error (a), ==, confab_message_get_error (b));
  g_assert_cmpstr (confab_message_get_error_kind (a), ==, confab_message_get_error_kind (b));
  g_assert_cmpstr (confab_message_get_model (a), ==, confab_message_get_model (b));
  g_assert_cmpstr (confab_message_get_finish_reason (a), ==,
                   confab_message_get_finish_reason (b));
  confab_message_get_usage (a, &pa, &ca);
  confab_message_get_usage (b, &pb, &cb);
  g_assert_cmpint (pa, ==, pb);
  g_assert_cmpint (ca, ==, cb);
  g_assert_cmpint (confab_message_get_created_at (a), ==, confab_message_get_created_at (b));
}

static ConfabConversation *
find_conversation (GPtrArray *conversations,
                   gint64     id)
{
  for (guint i = 0; i < conversations->len; i++)
    {
      ConfabConversation *conversation = g_ptr_array_index (conversations, i);

      if (confab_conversation_get_id (conversation) == id)
        return conversation;
    }

  return NULL;
}

static GPtrArray *
list_conversations (ConfabStore *store)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *conversations = confab_store_list_conversations (store, &error);

  g_assert_no_error (error);
  g_assert_nonnull (conversations);

  return conversations;
}

static GPtrArray *
load_messages (ConfabStore *store,
               gint64       conversation_id,
               gint64       before_id,
               guint        limit)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *messages = confab_store_load_messages (store, conversation_id, before_id,
                                                    limit, &error);

  g_assert_no_error (error);
  g_assert_nonnull (messages);

  return messages;
}

static GArray *
search (ConfabStore *store,
        const char  *query)
{
  g_autoptr(GError) error = NULL;
  GArray *ids = confab_store_search (store, query, &error);

  g_assert_no_error (error);
  g_assert_nonnull (ids);

  return ids;
}

static void
assert_search (ConfabStore *store,
               const char  *query,
               guint        n_expected,
               ...)
{
  g_autoptr(GArray) ids = search (store, query);
  va_list args;

  g_test_message ("search %s: %u results", query, ids->len);
  g_assert_cmpuint (ids->len, ==, n_expected);

  va_start (args, n_expected);
  for (guint i = 0; i < n_expected; i++)
    g_assert_cmpint (g_array_index (ids, gint64, i), ==, va_arg (args, gint64));
  va_end (args);
}

static GBytes *
read_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize len = 0;

  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);

  return g_bytes_new_take (contents, len);
}

static void
write_file (const char *path,
            const void *data,
            gsize       len)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, data, len, &error);
  g_assert_no_error (error);
}

static sqlite3 *
raw_open (const char *path)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                   ==, SQLITE_OK);

  return db;
}

static void
raw_exec (sqlite3    *db,
          const char *sql)
{
  char *message = NULL;
  int rc = sqlite3_exec (db, sql, NULL, NULL, &message);

  g_assert_cmpstr (message, ==, NULL);
  g_assert_cmpint (rc, ==, SQLITE_OK);
}

static gint64
raw_int (sqlite3    *db,
         const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  gint64 value;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);

  return value;
}

static void
raw_close (sqlite3 *db)
{
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
}

/* The full-text index agrees with the messages and titles (only valid when
 * no message is streaming, since those are not indexed on purpose). */
static void
assert_fts_consistent (const char *path)
{
  sqlite3 *db = raw_open (path);

  raw_exec (db, "INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')");
  raw_exec (db, "INSERT INTO conversations_fts (conversations_fts) VALUES ('integrity-check')");
  raw_close (db);
}

static void
assert_mode (const char *path,
             guint       mode)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 0777, ==, mode);
}

/* Tests */

static void
test_round_trip (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(ConfabStore) store = open_store (fixture->path);
  g_autoptr(ConfabConversation) full = confab_conversation_new ();
  g_autoptr(ConfabConversation) empty = NULL;
  g_autoptr(ConfabConversation) bare = NULL;
  g_autoptr(ConfabMessage) m1 = NULL;
  g_autoptr(ConfabMessage) m2 = NULL;
  g_autoptr(ConfabMessage) m3 = NULL;
  g_autoptr(GPtrArray) conversations = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GString) huge = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  ConfabConversation *found;

  confab_conversation_set_title (full, "Ünïcödé “title” 日本語 🎉");
  confab_conversation_set_title_locked (full, TRUE);
  confab_conversation_set_model (full, "gpt-4o-mini");
  confab_conversation_set_temperature (full, 0.25);
  confab_conversation_set_system_message (full, "Be brief.\nÉlégant.");
  confab_conversation_set_created_at (full, 1700000000000000);
  confab_conversation_set_updated_at (full, 1700000000000001);
  g_assert_true (confab_store_insert_conversation (store, full, &error));
  g_assert_no_error (error);
  g_assert_cmpint (confab_conversation_get_id (full), >, 0);

  empty = confab_conversation_new ();
  confab_conversation_set_title (empty, "");
  confab_conversation_set_model (empty, "");
  confab_conversation_set_system_message (empty, "");
  g_assert_true (confab_store_insert_conversation (store, empty, &error));
  g_assert_no_error (error);

  bare = confab_conversation_new ();
  confab_conversation_set_title (bare, NULL);
  confab_conversation_set_model (bare, NULL);
  confab_conversation_set_system_message (bare, NULL);
  g_assert_true (confab_store_insert_conversation (store, bare, &error));
  g_assert_no_error (error);
  g_assert_cmpint (confab_conversation_get_id (bare), >, confab_conversation_get_id (empty));
  g_assert_cmpint (confab_conversation_get_id (empty), >, confab_conversation_get_id (full));

  /* Every field set, unicode everywhere. */
  m1 = confab_message_new (CONFAB_ROLE_USER, "Привет, 世界! \"quotes\" 'single' \\ NUL-free 🎉");
  confab_message_set_conversation_id (m1, confab_conversation_get_id (full));
  confab_message_set_reasoning (m1, "thinking… ∑");
  confab_message_set_state (m1, CONFAB_MESSAGE_STATE_ERROR);
  confab_message_set_error (m1, "Server said “no”");
  confab_message_set_error_kind (m1, "rate-limit");
  confab_message_set_model (m1, "model/ü");
  confab_message_set_finish_reason (m1, "length");
  confab_message_set_usage (m1, 12, 34);
  confab_message_set_created_at (m1, 1700000000000123);
  g_assert_true (confab_store_insert_message (store, m1, &error));
  g_assert_no_error (error);

  /* Empty strings and NULLs. */
  m2 = confab_message_new (CONFAB_ROLE_ASSISTANT, "");
  confab_message_set_conversation_id (m2, confab_conversation_get_id (full));
  confab_message_set_error (m2, "");
  confab_message_set_error_kind (m2, NULL);
  confab_message_set_model (m2, NULL);
  confab_message_set_finish_reason (m2, "");
  g_assert_true (confab_store_insert_message (store, m2, &error));
  g_assert_no_error (error);

  /* 1 MB of text. */
  while (huge->len < 1024 * 1024)
    g_string_append (huge, "Lorem ipsum dolor — «sit» amet 🎉 ");
  m3 = confab_message_new (CONFAB_ROLE_SYSTEM, huge->str);
  confab_message_set_conversation_id (m3, confab_conversation_get_id (full));
  g_assert_true (confab_store_insert_message (store, m3, &error));
  g_assert_no_error (error);

  g_assert_cmpint (confab_message_get_id (m1), <, confab_message_get_id (m2));
  g_assert_cmpint (confab_message_get_id (m2), <, confab_message_get_id (m3));

  /* Inserting a message is activity. */
  conversations = list_conversations (store);
  found = find_conversation (conversations, confab_conversation_get_id (full));
  g_assert_nonnull (found);
  g_assert_cmpint (confab_conversation_get_updated_at (found), >, 1700000000000001);
  g_clear_pointer (&conversations, g_ptr_array_unref);

  g_assert_finalize_object (g_steal_pointer (&store));
  store = open_store (fixture->path);

  conversations = list_conversations (store);
  g_assert_cmpuint (conversations->len, ==, 3);

  found = find_conversation (conversations, confab_conversation_get_id (full));
  g_assert_nonnull (found);
  g_assert_cmpstr (confab_conversation_get_title (found), ==, "Ünïcödé “title” 日本語 🎉");
  g_assert_true (confab_conversation_get_title_locked (found));
  g_assert_cmpstr (confab_conversation_get_model (found), ==, "gpt-4o-mini");
  g_assert_cmpfloat (confab_conversation_get_temperature (found), ==, 0.25);
  g_assert_cmpstr (confab_conversation_get_system_message (found), ==, "Be brief.\nÉlégant.");
  g_assert_cmpint (confab_conversation_get_created_at (found), ==, 1700000000000000);
  g_assert_cmpuint (confab_conversation_get_message_count (found), ==, 3);
  g_assert_false (confab_conversation_get_messages_loaded (found));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (found)), ==, 0);

  found = find_conversation (conversations, confab_conversation_get_id (empty));
  g_assert_nonnull (found);
  g_assert_cmpstr (confab_conversation_get_title (found), ==, confab_conversation_get_title (empty));
  g_assert_cmpstr (confab_conversation_get_model (found), ==, confab_conversation_get_model (empty));
  g_assert_cmpstr (confab_conversation_get_system_message (found), ==,
                   confab_conversation_get_system_message (empty));
  g_assert_false (confab_conversation_get_title_locked (found));
  g_assert_cmpuint (confab_conversation_get_message_count (found), ==, 0);

  found = find_conversation (conversations, confab_conversation_get_id (bare));
  g_assert_nonnull (found);
  g_assert_null (confab_conversation_get_title (found));
  g_assert_null (confab_conversation_get_model (found));
  g_assert_null (confab_conversation_get_system_message (found));

  messages = load_messages (store, confab_conversation_get_id (full), 0, 10);
  g_assert_cmpuint (messages->len, ==, 3);
  assert_message_equal (g_ptr_array_index (messages, 0), m1);
  assert_message_equal (g_ptr_array_index (messages, 1), m2);
  assert_message_equal (g_ptr_array_index (messages, 2), m3);
  g_assert_cmpuint (confab_message_get_content_length (g_ptr_array_index (messages, 2)), >=,
                    1024 * 1024);
  g_clear_pointer (&messages, g_ptr_array_unref);

  /* Updating a conversation changes what it says, and only that. */
  confab_conversation_set_title (full, "Renamed");
  confab_conversation_set_title_locked (full, FALSE);
  confab_conversation_set_model (full, NULL);
  confab_conversation_set_temperature (full, 1.5);
  confab_conversation_set_system_message (full, NULL);
  confab_conversation_set_updated_at (full, 1800000000000000);
  g_assert_true (confab_store_update_conversation (store, full, &error));
  g_assert_no_error (error);

  /* Updating a message writes every field but the id and time. */
  confab_message_set_content (m1, "edited 🎉");
  confab_message_set_reasoning (m1, "");
  confab_message_set_state (m1, CONFAB_MESSAGE_STATE_COMPLETE);
  confab_message_set_error (m1, NULL);
  confab_message_set_error_kind (m1, NULL);
  confab_message_set_model (m1, "other");
  confab_message_set_finish_reason (m1, "stop");
  confab_message_set_usage (m1, -1, 99);
  g_assert_true (confab_store_update_message (store, m1, &error));
  g_assert_no_error (error);

  g_clear_pointer (&conversations, g_ptr_array_unref);
  g_assert_finalize_object (g_steal_pointer (&store));
  store = open_store (fixture->path);

  conversations = list_conversations (store);
  g_assert_cmpint (confab_conversation_get_id (g_ptr_array_index (conversations, 0)), ==,
                   confab_conversation_get_id (full));
  found = g_ptr_array_index (conversations, 0);
  g_assert_cmpstr (confab_conversation_get_title (found), ==, "Renamed");
  g_assert_false (confab_conversation_get_title_locked (found));
  g_assert_null (confab_conversation_get_model (found));
  g_assert_cmpfloat (confab_conversation_get_temperature (found), ==, 1.5);
  g_assert_null (confab_conversation_get_system_message (found));
  g_assert_cmpint (confab_conversation_get_updated_at (found), ==, 1800000000000000);

  messages = load_messages (store, confab_conversation_get_id (full), 0, 1);
  g_assert_cmpuint (messages->len, ==, 1);
  assert_message_equal (g_ptr_array_index (messages, 0), m3);
  g_clear_pointer (&messages, g_ptr_array_unref);
  messages = load_messages (store, confab_conversation_get_id (full),
                            confab_message_get_id (m2), 10);
  g_assert_cmpuint (messages->len, ==, 1);
  assert_message_equal (g_ptr_array_index (messages, 0), m1);

  g_assert_finalize_object (g_steal_pointer (&store));
  assert_fts_consistent (fixture->path);
}

static void
test_bad_ids (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(ConfabStore) store = open_store (fixture->path);
  g_autoptr(ConfabConversation) conversation = add_conversation (store, "Real");
  g_autoptr(ConfabConversation) ghost = confab_conversation_new ();
  g_autoptr(ConfabMessage) orphan = confab_message_new (CONFAB_ROLE_USER, "hello");
  g_autoptr(ConfabMessage) unsaved = confab_message_new (CONFAB_ROLE_USER, "hello");
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;

  /* No such conversation: the foreign key refuses, nothing is stored. */
  confab_message_set_conversation_id (orphan, 987654);
  g_assert_false (confab_store_insert_message (store, orphan, &error));
  g_assert_error (error, CONFAB_STORE_ERROR, CONFAB_STORE_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, fixture->path));
  g_assert_cmpint (confab_message_get_id (orphan), ==, 0);
  g_clear_error (&error);

  confab_message_set_id (unsaved, 424242);
  g_assert_false (confab_store_update_message (store, unsaved, &error));
  g_assert_error (error, CONFAB_STORE_ERROR, CONFAB_STORE_ERROR_FAILED);
  g_clear_error (&error);

  confab_conversation_set_id (ghost, 424242);
  g_assert_false (confab_store_update_conversation (store, ghost, &error));
  g_assert_error (error, CONFAB_STORE_ERROR, CONFAB_STORE_ERROR_FAILED);
  g_clear_error (&error);

  g_assert_false (confab_store_set_conversation_deleted (store, 424242, TRUE, &error));
  g_assert_error (error, CONFAB_STORE_ERROR, CONFAB_STORE_ERROR_FAILED);
  g_clear_error (&error);

  /* The store still works after failures (no transaction left open). */
  g_object_unref (add_message (store, confab_conversation_get_id (conversation),
                               CONFAB_ROLE_USER, "still fine", CONFAB_MESSAGE_STATE_COMPLETE));
  messages = load_messages (store, confab_conversation_get_id (conversation), 0, 10);
  g_assert_cmpuint (messages->len, ==, 1);
  g_clear_pointer (&messages, g_ptr_array_unref);

  messages = load_messages (store, 987654, 0, 10);
  g_assert_cmpuint (messages->len, ==, 0);
}

static void
test_streaming_checkpoints (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(ConfabStore) store = open_store (fixture->path);
  g_autoptr(ConfabConversation) conversation = add_conversation (store, "Streaming");
  g_autoptr(ConfabMessage) question = NULL;
  g_autoptr(ConfabMessage) reply = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GString) expected = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  gint64 cid = confab_conversation_get_id (conversation);

  question = add_message (store, cid, CONFAB_ROLE_USER, "Tell me a story",
                          CONFAB_MESSAGE_STATE_COMPLETE);
  reply = add_message (store, cid, CONFAB_ROLE_ASSISTANT, "",
                       CONFAB_MESSAGE_STATE_STREAMING);

  for (guint i = 0; i < 50; i++)
    {
      g_autofree char *chunk = g_strdup_printf ("chunk%u zebra%u %s ", i, i,
                                                "Once upon a time, there was a store. ");

      g_string_append (expected, chunk);
      confab_message_append_content (reply, chunk, -1);
      confab_message_append_reasoning (reply, "r", 1);
      confab_message_set_usage (reply, 10, i);
      g_assert_true (confab_store_update_message (store, reply, &error));
      g_assert_no_error (error);
    }

  /* A streaming reply is not in the full-text index yet (checkpoints stay
   * cheap), the finished question is. */
  assert_search (store, "zebra49", 0);
  assert_search (store, "story", 1, cid);

  /* Killed mid-reply: nothing is closed properly, the file is reopened. */
  g_assert_finalize_object (g_steal_pointer (&store));
  store = open_store (fixture->path);

  messages = load_messages (store, cid, 0, 10);
  g_assert_cmpuint (messages->len, ==, 2);
  g_assert_cmpstr (confab_message_get_content (g_ptr_array_index (messages, 1)), ==,
                   expected->str);
  g_assert_cmpuint (strlen (confab_message_get_reasoning (g_ptr_array_index (messages, 1))),
                    ==, 50);
  g_assert_cmpint (confab_message_get_state (g_ptr_array_index (messages, 1)), ==,
                   CONFAB_MESSAGE_STATE_INTERRUPTED);
  g_assert_cmpint (confab_message_get_state (g_ptr_array_index (messages, 0)), ==,
                   CONFAB_MESSAGE_STATE_COMPLETE);

  /* Leaving the streaming state indexed the text. */
  assert_search (store, "zebra49", 1, cid);
  assert_search (store, "zebra0", 1, cid);

  g_assert_finalize_object (g_steal_pointer (&store));
  assert_fts_consistent (fixture->path);
}

static void
test_streaming_interrupted (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(ConfabStore) store = open_store (fixture->path);
  g_autoptr(ConfabConversation) conversation = add_conversation (store, "Killed");
  g_autoptr(ConfabMessage) done = NULL;
  g_autoptr(ConfabMessage) partial = NULL;
  g_autoptr(ConfabMessage) finished = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  gint64 cid = confab_conversation_get_id (conversation);

  done = add_message (store, cid, CONFAB_ROLE_USER, "question", CONFAB_MESSAGE_STATE_COMPLETE);
  finished = add_message (store, cid, CONFAB_ROLE_ASSISTANT, "half",
                          CONFAB_MESSAGE_STATE_STREAMING);
  partial = add_message (store, cid, CONFAB_ROLE_ASSISTANT, "partial answer",
                         CONFAB_MESSAGE_STATE_STREAMING);

  /* This one finishes normally: it is indexed on the state change. */
  confab_message_set_content (finished, "half and whole penguin");
  confab_message_set_state (finished, CONFAB_MESSAGE_STATE_COMPLETE);
  confab_message_set_finish_reason (finished, "stop");
  g_assert_true (confab_store_update_message (store, finished, &error));
  g_assert_no_error (error);
  assert_search (store, "penguin", 1, cid);

  /* A finished message edited again is re-indexed with its new text. */
  confab_message_set_content (finished, "walrus");
  g_assert_true (confab_store_update_message (store, finished, &error));
  g_assert_no_error (error);
  assert_search (store, "penguin", 0);
  assert_search (store, "walrus", 1, cid);
  assert_search (store, "partial", 0);

  g_assert_finalize_object (g_steal_pointer (&store));
  store = open_store (fixture->path);

  messages = load_messages (store, cid, 0, 10);
  g_assert_cmpuint (messages->len, ==, 3);
  g_assert_cmpint (confab_message_get_state (g_ptr_array_index (messages, 0)), ==,
                   CONFAB_MESSAGE_STATE_COMPLETE);
  g_assert_cmpint (confab_message_get_state (g_ptr_array_index (messages, 1)), ==,
                   CONFAB_MESSAGE_STATE_COMPLETE);
  g_assert_cmpint (confab_message_get_state (g_ptr_array_index (messages, 2)), ==,
                   CONFAB_MESSAGE_STATE_INTERRUPTED);
  g_assert_cmpstr (confab_message_get_content (g_ptr_array_index (messages, 2)), ==,
                   "partial answer");
  assert_search (store, "partial", 1, cid);

  g_assert_finalize_object (g_steal_pointer (&store));
  assert_fts_consistent (fixture->path);
}

static void
test_paging (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(ConfabStore) store = open_store (fixture->path);
  g_autoptr(ConfabConversation) conversation = add_conversation (store, "Long");
  g_autoptr(ConfabConversation) other = add_conversation (store, "Other");
  g_autoptr(GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 cid = confab_conversation_get_id (conversation);
  gint64 before = 0;
  guint n_pages = 0;
  guint total = 0;

  for (guint i = 0; i < 1000; i++)
    {
      g_autofree char *content = g_strdup_printf ("message %u", i);
      g_autoptr(ConfabMessage) message =
        add_message (store, cid, i % 2 ? CONFAB_ROLE_ASSISTANT : CONFAB_ROLE_USER,
                     content, CONFAB_MESSAGE_STATE_COMPLETE);
      gint64 id = confab_message_get_id (message);

      g_array_append_val (ids, id);

      /* Another conversation's messages in between must not show up. */
      if (i % 7 == 0)
        g_object_unref (add_message (store, confab_conversation_get_id (other),
                                     CONFAB_ROLE_USER, "noise", CONFAB_MESSAGE_STATE_COMPLETE));
    }

  for (;;)
    {
      g_autoptr(GPtrArray) page = load_messages (store, cid, before, 100);
      gint64 previous = 0;

      if (page->len == 0)
        break;

      g_assert_cmpuint (page->len, ==, 100);
      n_pages++;

      for (guint i = 0; i < page->len; i++)
        {
          ConfabMessage *message = g_ptr_array_index (page, i);
          gint64 id = confab_message_get_id (message);
          guint index = 999 - total - (page->len - 1 - i);
          g_autofree char *expected = g_strdup_printf ("message %u", index);

          /* Oldest first within the page, no duplicate across pages. */
          g_assert_cmpint (id, >, previous);
          previous = id;
          g_assert_false (g_hash_table_contains (seen, &id));
          g_hash_table_add (seen, &g_array_index (ids, gint64, index));
          g_assert_cmpint (id, ==, g_array_index (ids, gint64, index));
          g_assert_cmpint (confab_message_get_conversation_id (message), ==, cid);
          g_assert_cmpstr (confab_message_get_content (message), ==, expected);
        }

      /* Each page is entirely older than the one before. */
      if (before != 0)
        g_assert_cmpint (previous, <, before);

      total += page->len;
      before = confab_message_get_id (g_ptr_array_index (page, 0));
    }

  g_assert_cmpuint (n_pages, ==, 10);
  g_assert_cmpuint (total, ==, 1000);
  g_assert_cmpuint (g_hash_table_size (seen), ==, 1000);
}

static void
test_list_order (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(ConfabStore) store = open_store (fixture->path);
  g_autoptr(ConfabConversation) a = confab_conversation_new ();
  g_autoptr(ConfabConversation) b = confab_conversation_new ();
  g_autoptr(ConfabConversation) c = confab_conversation_new ();
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GError) error = NULL;
  ConfabConversation *expected[3];

  /* Old activity times, in an order unlike their ids. */
  confab_conversation_set_title (a, "A");
  confab_conversation_set_updated_at (a, 2000);
  confab_conversation_set_title (b, "B");
  confab_conversation_set_updated_at (b, 3000);
  confab_conversation_set_title (c, "C");
  confab_conversation_set_updated_at (c, 1000);
  g_assert_true (confab_store_insert_conversation (store, a, &error));
  g_assert_true (confab_store_insert_conversation (store, b, &error));
  g_assert_true (confab_store_insert_conversation (store, c, &error));
  g_assert_no_error (error);

  list = list_conversations (store);
  expected[0] = b, expected[1] = a, expected[2] = c;
  g_assert_cmpuint (list->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (confab_conversation_get_id (g_ptr_array_index (list, i)), ==,
                     confab_conversation_get_id (expected[i]));
  g_clear_pointer (&list, g_ptr_array_unref);

  /* A new message in C makes it the most recent. */
  g_object_unref (add_message (store, confab_conversation_get_id (c), CONFAB_ROLE_USER, "hi",
                               CONFAB_MESSAGE_STATE_COMPLETE));
  g_object_unref (add_message (store, confab_conversation_get_id (c), CONFAB_ROLE_ASSISTANT,
                               "hello", CONFAB_MESSAGE_STATE_COMPLETE));
  list = list_conversations (store);
  expected[0] = c, expected[1] = b, expected[2] = a;
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (confab_conversation_get_id (g_ptr_array_index (list, i)), ==,
                     confab_conversation_get_id (expected[i]));
  g_assert_cmpuint (confab_conversation_get_message_count (g_ptr_array_index (list, 0)), ==, 2);
  g_assert_cmpuint (confab_conversation_get_message_count (g_ptr_array_index (list, 1)), ==, 0);
  g_clear_pointer (&list, g_ptr_array_unref);

  /* Renaming with a newer updated-at moves A up. */
  confab_conversation_set_updated_at (a, g_get_real_time () + G_USEC_PER_SEC * 60);
  g_assert_true (confab_store_update_conversation (store, a, &error));
  g_assert_no_error (error);
  list = list_conversations (store);
  g_assert_cmpint (confab_conversation_get_id (g_ptr_array_index (list, 0)), ==,
                   confab_conversation_get_id (a));
}

static void
test_delete_undo_purge (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(ConfabStore) store = open_store (fixture->path);
  g_autoptr(ConfabConversation) doomed = add_conversation (store, "Doomed platypus");
  g_autoptr(ConfabConversation) kept = add_conversation (store, "Kept");
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  gint64 doomed_id = confab_conversation_get_id (doomed);
  gint64 kept_id = confab_conversation_get_id (kept);
  sqlite3 *db;

  for (guint i = 0; i < 20; i++)
    {
      g_object_unref (add_message (store, doomed_id, CONFAB_ROLE_USER, "ocelot words",
                                   CONFAB_MESSAGE_STATE_COMPLETE));
      g_object_unref (add_message (store, kept_id, CONFAB_ROLE_USER, "ocelot words too",
                                   CONFAB_MESSAGE_STATE_COMPLETE));
    }
  assert_search (store, "ocelot", 2, doomed_id, kept_id);  /* shorter text ranks higher */

  /* Marked: gone from the list and from search, messages still there. */
  g_assert_true (confab_store_set_conversation_deleted (store, doomed_id, TRUE, &error));
  g_assert_no_error (error);
  list = list_conversations (store);
  g_assert_cmpuint (list->len, ==, 1);
  g_assert_cmpint (confab_conversation_get_id (g_ptr_array_index (list, 0)), ==, kept_id);
  g_clear_pointer (&list, g_ptr_array_unref);
  assert_search (store, "ocelot", 1, kept_id);
  assert_search (store, "platypus", 0);
  messages = load_messages (store, doomed_id, 0, 100);
  g_assert_cmpuint (messages->len, ==, 20);
  g_clear_pointer (&messages, g_ptr_array_unref);

  /* Undo. */
  g_assert_true (confab_store_set_conversation_deleted (store, doomed_id, FALSE, &error));
  g_assert_no_error (error);
  list = list_conversations (store);
  g_assert_cmpuint (list->len, ==, 2);
  g_clear_pointer (&list, g_ptr_array_unref);
  assert_search (store, "platypus", 1, doomed_id);

  /* Deleted again, the mark survives a restart. */
  g_assert_true (confab_store_set_conversation_deleted (store, doomed_id, TRUE, &error));
  g_assert_no_error (error);
  g_assert_finalize_object (g_steal_pointer (&store));
  store = open_store (fixture->path);
  list = list_conversations (store);
  g_assert_cmpuint (list->len, ==, 1);
  g_assert_cmpint (confab_conversation_get_id (g_ptr_array_index (list, 0)), ==, kept_id);
  g_clear_pointer (&list, g_ptr_array_unref);

  /* Purge: the conversation and its messages are gone for good. */
  g_assert_true (confab_store_purge_deleted (store, &error));
  g_assert_no_error (error);
  messages = load_messages (store, doomed_id, 0, 100);
  g_assert_cmpuint (messages->len, ==, 0);
  g_clear_pointer (&messages, g_ptr_array_unref);
  messages = load_messages (store, kept_id, 0, 100);
  g_assert_cmpuint (messages->len, ==, 20);
  g_clear_pointer (&messages, g_ptr_array_unref);
  assert_search (store, "ocelot", 1, kept_id);

  g_assert_false (confab_store_set_conversation_deleted (store, doomed_id, FALSE, &error));
  g_assert_error (error, CONFAB_STORE_ERROR, CONFAB_STORE_ERROR_FAILED);
  g_clear_error (&error);

  g_assert_finalize_object (g_steal_pointer (&store));

  db = raw_open (fixture->path);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM conversations"), ==, 1);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM messages"), ==, 20);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM messages WHERE conversation_id NOT IN "
                                "(SELECT id FROM conversations)"), ==, 0);
  raw_close (db);
  assert_fts_consistent (fixture->path);
}

static void
test_search (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(ConfabStore) store = open_store (fixture->path);
  g_autoptr(ConfabConversation) paris = add_conversation (store, "Paris trip");
  g_autoptr(ConfabConversation) cooking = add_conversation (store, "Cooking");
  g_autoptr(ConfabConversation) london = add_conversation (store, "Tower of London");
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GError) error = NULL;
  const char *hostile[] = {
    "\"", "*", "AND (", "-", "(", ")", "\"\"\"", "NEAR(", "a OR b", "x AND", "NOT",
    "^", "+", ":", "col:val", "{a b}", "\"unterminated", "tower\"*", "' OR 1=1 --",
    "\\", "%", "_", "🎉", "\xff\xfe invalid utf-8",
  };
  gint64 paris_id = confab_conversation_get_id (paris);
  gint64 cooking_id = confab_conversation_get_id (cooking);
  gint64 london_id = confab_conversation_get_id (london);

  g_object_unref (add_message (store, paris_id, CONFAB_ROLE_USER,
                               "How tall is the Eiffel tower?", CONFAB_MESSAGE_STATE_COMPLETE));
  g_object_unref (add_message (store, paris_id, CONFAB_ROLE_ASSISTANT,
                               "About 330 metres (1,083 ft) — \"tall\" indeed.",
                               CONFAB_MESSAGE_STATE_COMPLETE));
  g_object_unref (add_message (store, cooking_id, CONFAB_ROLE_USER,
                               "A café au lait recipe, s'il vous plaît",
                               CONFAB_MESSAGE_STATE_COMPLETE));
  g_object_unref (add_message (store, london_id, CONFAB_ROLE_USER,
                               "ravens and crowns", CONFAB_MESSAGE_STATE_COMPLETE));

  assert_search (store, "eiffel", 1, paris_id);
  assert_search (store, "EIFFEL Tall", 1, paris_id);
  assert_search (store, "eiff", 1, paris_id);           /* prefix of the last word */
  assert_search (store, "cafe", 1, cooking_id);         /* diacritics folded */
  assert_search (store, "café", 1, cooking_id);
  assert_search (store, "paris", 1, paris_id);          /* title */
  assert_search (store, "\"eiffel", 1, paris_id);       /* stray quote */
  assert_search (store, "eiffel -", 1, paris_id);
  assert_search (store, "eiffel london", 0);            /* all words required */
  assert_search (store, "330", 1, paris_id);
  assert_search (store, "nothing-like-this", 0);
  /* A title match ranks above a match in the messages. */
  assert_search (store, "tower", 2, london_id, paris_id);

  assert_search (store, "", 0);
  assert_search (store, "   \t\n", 0);
  ids = confab_store_search (store, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ids->len, ==, 0);
  g_clear_pointer (&ids, g_array_unref);

  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      ids = confab_store_search (store, hostile[i], &error);
      g_assert_no_error (error);
      g_assert_nonnull (ids);
      g_clear_pointer (&ids, g_array_unref);
    }
  assert_search (store, "AND (", 1, london_id);         /* "and" is a word in a message */
  assert_search (store, "\"", 0);
  assert_search (store, "*", 0);
  assert_search (store, "-", 0);

  /* Renaming updates the title index. */
  confab_conversation_set_title (cooking, "Breakfast drinks");
  g_assert_true (confab_store_update_conversation (store, cooking, &error));
  g_assert_no_error (error);
  assert_search (store, "breakfast", 1, cooking_id);
  assert_search (store, "cooking", 0);

  g_assert_finalize_object (g_steal_pointer (&store));
  assert_fts_consistent (fixture->path);
}

static void
make_v1_database (const char *path,
                  gint64     *cid,
                  gint64     *mid1,
                  gint64     *mid2)
{
  sqlite3 *db = raw_open (path);

  raw_exec (db, v1_schema);
  raw_exec (db,
            "INSERT INTO conversations (title, title_locked, model, temperature,"
            "                           system_message, created_at, updated_at)"
            " VALUES ('Old times', 1, 'llama3', 0.5, 'You are old.', 100, 200)");
  *cid = sqlite3_last_insert_rowid (db);
  raw_exec (db,
            "INSERT INTO messages (conversation_id, role, content, reasoning, state, error,"
            "                      model, finish_reason, prompt_tokens, completion_tokens,"
            "                      created_at, updated_at)"
            " VALUES (1, 'user', 'Remember the gramophone?', NULL, 0, NULL, NULL, NULL,"
            "         -1, -1, 150, 150)");
  *mid1 = sqlite3_last_insert_rowid (db);
  raw_exec (db,
            "INSERT INTO messages (conversation_id, role, content, reasoning, state, error,"
            "                      model, finish_reason, prompt_tokens, completion_tokens,"
            "                      created_at, updated_at)"
            " VALUES (1, 'assistant', 'Vaguely, a phonograph', 'hmm', 1, NULL, 'llama3', NULL,"
            "         7, 3, 160, 170)");
  *mid2 = sqlite3_last_insert_rowid (db);
  raw_exec (db, "PRAGMA user_version = 1");
  raw_close (db);
}

static void
test_migration_v1 (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(ConfabStore) store = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) backup = NULL;
  g_autofree char *backup_path = g_strconcat (fixture->path, ".backup-v1", NULL);
  ConfabConversation *conversation;
  ConfabMessage *message;
  gint64 cid, mid1, mid2, prompt, completion;
  sqlite3 *db;

  make_v1_database (fixture->path, &cid, &mid1, &mid2);
  before = read_file (fixture->path);

  store = open_store (fixture->path);

  list = list_conversations (store);
  g_assert_cmpuint (list->len, ==, 1);
  conversation = g_ptr_array_index (list, 0);
  g_assert_cmpint (confab_conversation_get_id (conversation), ==, cid);
  g_assert_cmpstr (confab_conversation_get_title (conversation), ==, "Old times");
  g_assert_true (confab_conversation_get_title_locked (conversation));
  g_assert_cmpstr (confab_conversation_get_model (conversation), ==, "llama3");
  g_assert_cmpfloat (confab_conversation_get_temperature (conversation), ==, 0.5);
  g_assert_cmpstr (confab_conversation_get_system_message (conversation), ==, "You are old.");
  g_assert_cmpint (confab_conversation_get_created_at (conversation), ==, 100);
  g_assert_cmpint (confab_conversation_get_updated_at (conversation), ==, 200);
  g_assert_cmpuint (confab_conversation_get_message_count (conversation), ==, 2);

  messages = load_messages (store, cid, 0, 10);
  g_assert_cmpuint (messages->len, ==, 2);
  message = g_ptr_array_index (messages, 0);
  g_assert_cmpint (confab_message_get_id (message), ==, mid1);
  g_assert_cmpint (confab_message_get_role (message), ==, CONFAB_ROLE_USER);
  g_assert_cmpstr (confab_message_get_content (message), ==, "Remember the gramophone?");
  g_assert_null (confab_message_get_error_kind (message));
  g_assert_cmpint (confab_message_get_created_at (message), ==, 150);
  message = g_ptr_array_index (messages, 1);
  g_assert_cmpint (confab_message_get_id (message), ==, mid2);
  g_assert_cmpint (confab_message_get_role (message), ==, CONFAB_ROLE_ASSISTANT);
  g_assert_cmpstr (confab_message_get_content (message), ==, "Vaguely, a phonograph");
  g_assert_cmpstr (confab_message_get_reasoning (message), ==, "hmm");
  g_assert_cmpstr (confab_message_get_model (message), ==, "llama3");
  /* It was streaming when that Confab was killed. */
  g_assert_cmpint (confab_message_get_state (message), ==, CONFAB_MESSAGE_STATE_INTERRUPTED);
  confab_message_get_usage (message, &prompt, &completion);
  g_assert_cmpint (prompt, ==, 7);
  g_assert_cmpint (completion, ==, 3);

  /* The new full-text index covers the old text. */
  assert_search (store, "gramophone", 1, cid);
  assert_search (store, "phonograph", 1, cid);
  assert_search (store, "old times", 1, cid);

  /* New rows work in the migrated schema. */
  g_object_unref (add_message (store, cid, CONFAB_ROLE_USER, "new one",
                               CONFAB_MESSAGE_STATE_COMPLETE));

  g_assert_finalize_object (g_steal_pointer (&store));

  db = raw_open (fixture->path);
  g_assert_cmpint (raw_int (db, "PRAGMA user_version"), ==, CURRENT_VERSION);
  g_assert_cmpint (raw_int (db, "SELECT parent_id IS NULL FROM messages WHERE id = 1"), ==, 1);
  g_assert_cmpint (raw_int (db, "SELECT parent_id FROM messages WHERE id = 2"), ==, mid1);
  g_assert_cmpint (raw_int (db, "SELECT parent_id FROM messages WHERE id = 3"), ==, mid2);
  g_assert_cmpint (raw_int (db, "SELECT message_count FROM conversations"), ==, 3);
  raw_close (db);
  assert_fts_consistent (fixture->path);

  /* The backup is the file as it was: still version 1, private. */
  g_assert_true (g_file_test (backup_path, G_FILE_TEST_IS_REGULAR));
  assert_mode (backup_path, 0600);
  backup = read_file (backup_path);
  g_assert_true (g_bytes_equal (before, backup));
  db = raw_open (backup_path);
  g_assert_cmpint (raw_int (db, "PRAGMA user_version"), ==, 1);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM pragma_table_info ('messages')"
                                " WHERE name = 'parent_id'"), ==, 0);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM messages"), ==, 2);
  raw_close (db);

  /* Opening again migrates nothing and makes no other backup. */
  store = open_store (fixture->path);
  g_assert_finalize_object (g_steal_pointer (&store));
  {
    g_autofree char *second = g_strconcat (fixture->path, ".backup-v1.2", NULL);
    g_assert_false (g_file_test (second, G_FILE_TEST_EXISTS));
  }
}

static void
test_migration_keeps_old_backup (Fixture       *fixture,
                                 gconstpointer  data)
{
  g_autoptr(ConfabStore) store = NULL;
  g_autoptr(GBytes) old = NULL;
  g_autofree char *backup_path = g_strconcat (fixture->path, ".backup-v1", NULL);
  g_autofree char *second_path = g_strconcat (fixture->path, ".backup-v1.2", NULL);
  gint64 cid, mid1, mid2;

  /* A backup from an earlier attempt is never overwritten. */
  write_file (backup_path, "earlier backup", 14);
  make_v1_database (fixture->path, &cid, &mid1, &mid2);

  store = open_store (fixture->path);
  g_assert_finalize_object (g_steal_pointer (&store));

  old = read_file (backup_path);
  g_assert_cmpmem (g_bytes_get_data (old, NULL), g_bytes_get_size (old), "earlier backup", 14);
  g_assert_true (g_file_test (second_path, G_FILE_TEST_IS_REGULAR));
  assert_mode (second_path, 0600);
}

static void
assert_open_fails (const char       *path,
                   ConfabStoreError  code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConfabStore) store = confab_store_new (path, &error);

  g_assert_null (store);
  g_assert_error (error, CONFAB_STORE_ERROR, (int) code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, path));
}

static void
test_too_new (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;
  sqlite3 *db = raw_open (fixture->path);

  raw_exec (db, "CREATE TABLE future (x); INSERT INTO future VALUES ('from the future');"
                "PRAGMA user_version = 999");
  raw_close (db);
  before = read_file (fixture->path);

  assert_open_fails (fixture->path, CONFAB_STORE_ERROR_TOO_NEW);

  after = read_file (fixture->path);
  g_assert_true (g_bytes_equal (before, after));
}

static void
test_corrupt_random (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;
  guint8 junk[8192];

  for (guint i = 0; i < sizeof junk; i++)
    junk[i] = (guint8) g_rand_int_range (rand, 0, 256);
  write_file (fixture->path, junk, sizeof junk);
  before = read_file (fixture->path);

  assert_open_fails (fixture->path, CONFAB_STORE_ERROR_CORRUPT);
  /* Twice: nothing about the first attempt changed the file. */
  assert_open_fails (fixture->path, CONFAB_STORE_ERROR_CORRUPT);

  after = read_file (fixture->path);
  g_assert_true (g_bytes_equal (before, after));
}

static void
test_corrupt_pages (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(ConfabStore) store = open_store (fixture->path);
  g_autoptr(ConfabConversation) conversation = add_conversation (store, "Soon damaged");
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;

  for (guint i = 0; i < 200; i++)
    g_object_unref (add_message (store, confab_conversation_get_id (conversation),
                                 CONFAB_ROLE_USER, "some text to fill a few pages of the file",
                                 CONFAB_MESSAGE_STATE_COMPLETE));
  g_assert_finalize_object (g_steal_pointer (&store));

  /* Keep the header page, scribble over every other one. */
  g_assert_true (g_file_get_contents (fixture->path, &contents, &len, NULL));
  g_assert_cmpuint (len, >, 3 * 4096);
  for (gsize i = 4096; i < len; i++)
    contents[i] = (char) (i * 131 + 7);
  write_file (fixture->path, contents, len);
  before = read_file (fixture->path);

  assert_open_fails (fixture->path, CONFAB_STORE_ERROR_CORRUPT);

  after = read_file (fixture->path);
  g_assert_true (g_bytes_equal (before, after));
}

static void
test_foreign_database (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;
  sqlite3 *db = raw_open (fixture->path);

  /* Some other program's database, at version 0. */
  raw_exec (db, "CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT);"
                "INSERT INTO photos (name) VALUES ('cat.jpg')");
  raw_close (db);
  before = read_file (fixture->path);

  assert_open_fails (fixture->path, CONFAB_STORE_ERROR_CORRUPT);

  after = read_file (fixture->path);
  g_assert_true (g_bytes_equal (before, after));
}

static void
test_unopenable (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *file = g_build_filename (fixture->dir, "plain-file", NULL);
  g_autofree char *under_file = g_build_filename (file, "confab.db", NULL);
  g_autofree char *deep_under_file = g_build_filename (file, "sub", "confab.db", NULL);
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;

  write_file (file, "not a folder", 12);
  before = read_file (file);

  /* The parent is a regular file. */
  assert_open_fails (under_file, CONFAB_STORE_ERROR_OPEN);
  assert_open_fails (deep_under_file, CONFAB_STORE_ERROR_OPEN);
  after = read_file (file);
  g_assert_true (g_bytes_equal (before, after));

  /* A folder where the file should be. */
  g_assert_cmpint (g_mkdir (fixture->path, 0700), ==, 0);
  assert_open_fails (fixture->path, CONFAB_STORE_ERROR_OPEN);
  g_assert_true (g_file_test (fixture->path, G_FILE_TEST_IS_DIR));
}

static void
test_unreadable_mode (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(ConfabStore) store = NULL;
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;

  if (geteuid () == 0)
    {
      g_test_skip ("root ignores file modes");
      return;
    }

  store = open_store (fixture->path);
  g_object_unref (add_conversation (store, "Locked away"));
  g_assert_finalize_object (g_steal_pointer (&store));
  before = read_file (fixture->path);

  g_assert_cmpint (g_chmod (fixture->path, 0000), ==, 0);
  assert_open_fails (fixture->path, CONFAB_STORE_ERROR_OPEN);
  g_assert_cmpint (g_chmod (fixture->path, 0600), ==, 0);

  after = read_file (fixture->path);
  g_assert_true (g_bytes_equal (before, after));

  /* Readable but not writable is no good either. */
  g_assert_cmpint (g_chmod (fixture->path, 0400), ==, 0);
  assert_open_fails (fixture->path, CONFAB_STORE_ERROR_OPEN);
  g_assert_cmpint (g_chmod (fixture->path, 0600), ==, 0);
}

static void
test_move_aside (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(ConfabStore) store = NULL;
  g_autoptr(GBytes) moved = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *wal = g_strconcat (fixture->path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (fixture->path, "-shm", NULL);
  g_autofree char *new_path = NULL;
  g_autofree char *new_wal = NULL;
  g_autofree char *second_path = NULL;
  g_autofree char *base = NULL;
  g_autofree char *prefix = g_strconcat (fixture->path, ".broken-", NULL);
  g_autoptr(GRegex) pattern = g_regex_new ("^confab\\.db\\.broken-[0-9]{8}-[0-9]{6}(\\.[0-9]+)?$",
                                           0, 0, NULL);

  write_file (fixture->path, "garbage, not a database", 23);
  write_file (wal, "stale wal", 9);
  write_file (shm, "stale shm", 9);
  assert_open_fails (fixture->path, CONFAB_STORE_ERROR_CORRUPT);

  new_path = confab_store_move_aside (fixture->path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (new_path);
  g_assert_true (g_str_has_prefix (new_path, prefix));
  base = g_path_get_basename (new_path);
  g_assert_true (g_regex_match (pattern, base, 0, NULL));

  /* Nothing lost, nothing left behind. */
  g_assert_false (g_file_test (fixture->path, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (shm, G_FILE_TEST_EXISTS));
  moved = read_file (new_path);
  g_assert_cmpmem (g_bytes_get_data (moved, NULL), g_bytes_get_size (moved),
                   "garbage, not a database", 23);
  new_wal = g_strconcat (new_path, "-wal", NULL);
  g_assert_true (g_file_test (new_wal, G_FILE_TEST_IS_REGULAR));

  /* The original path is free for a new database. */
  store = open_store (fixture->path);
  g_object_unref (add_conversation (store, "Fresh start"));
  g_assert_finalize_object (g_steal_pointer (&store));

  /* A second broken file the same second gets its own name. */
  write_file (fixture->path, "more garbage", 12);
  second_path = confab_store_move_aside (fixture->path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (second_path, !=, new_path);
  g_assert_true (g_file_test (new_path, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (second_path, G_FILE_TEST_IS_REGULAR));

  /* Nothing to move. */
  g_clear_pointer (&second_path, g_free);
  second_path = confab_store_move_aside (fixture->path, &error);
  g_assert_null (second_path);
  g_assert_error (error, CONFAB_STORE_ERROR, CONFAB_STORE_ERROR_FAILED);
}

static void
test_file_modes (void)
{
  g_autoptr(ConfabStore) store = NULL;
  g_autoptr(ConfabConversation) conversation = NULL;
  g_autofree char *path = confab_store_dup_default_path ();
  g_autofree char *expected = g_build_filename (g_get_user_data_dir (), "confab", "confab.db",
                                                NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (path, "-shm", NULL);
  mode_t old_umask;

  /* G_TEST_OPTION_ISOLATE_DIRS: a temporary data folder for this test. */
  g_assert_cmpstr (path, ==, expected);
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));

  /* The modes do not depend on the umask. */
  old_umask = umask (0);
  store = open_store (path);
  conversation = add_conversation (store, "Private");
  g_object_unref (add_message (store, confab_conversation_get_id (conversation),
                               CONFAB_ROLE_USER, "secret", CONFAB_MESSAGE_STATE_COMPLETE));
  umask (old_umask);

  assert_mode (dir, 0700);
  assert_mode (path, 0600);
  g_assert_true (g_file_test (wal, G_FILE_TEST_EXISTS));
  assert_mode (wal, 0600);
  assert_mode (shm, 0600);

  g_assert_finalize_object (g_steal_pointer (&store));
  confab_test_remove_tree (dir);
}

static void
test_query_plans (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(ConfabStore) store = open_store (fixture->path);
  sqlite3 *db;
  struct {
    const char *sql;
    const char *must;
  } plans[] = {
    { "SELECT id FROM messages WHERE conversation_id = 1 AND id < 100 ORDER BY id DESC LIMIT 50",
      "messages_by_conversation" },
    { "SELECT id FROM conversations WHERE deleted_at IS NULL ORDER BY updated_at DESC, id DESC",
      "conversations_by_activity" },
    { "UPDATE messages SET state = 3 WHERE state = 1", "messages_streaming" },
  };

  g_assert_finalize_object (g_steal_pointer (&store));
  db = raw_open (fixture->path);

  for (guint i = 0; i < G_N_ELEMENTS (plans); i++)
    {
      g_autofree char *sql = g_strconcat ("EXPLAIN QUERY PLAN ", plans[i].sql, NULL);
      g_autoptr(GString) plan = g_string_new (NULL);
      sqlite3_stmt *stmt = NULL;

      g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        g_string_append_printf (plan, "%s\n", sqlite3_column_text (stmt, 3));
      sqlite3_finalize (stmt);

      g_test_message ("%s:\n%s", plans[i].sql, plan->str);
      g_assert_nonnull (strstr (plan->str, plans[i].must));
      g_assert_null (strstr (plan->str, "TEMP B-TREE"));
    }

  raw_close (db);
}

static void
test_bench (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(ConfabStore) store = open_store (fixture->path);
  g_autoptr(ConfabConversation) conversation = add_conversation (store, "Bench");
  g_autoptr(GPtrArray) page = NULL;
  g_autoptr(GPtrArray) list = NULL;
  gint64 cid = confab_conversation_get_id (conversation);
  gint64 start;
  gint64 elapsed;

  start = g_get_monotonic_time ();
  for (guint i = 0; i < 5000; i++)
    {
      g_autofree char *content =
        g_strdup_printf ("Message %u: a reply of ordinary length, with a few sentences in it, "
                         "so that the row is not trivially small. It talks about things.", i);

      g_object_unref (add_message (store, cid, i % 2 ? CONFAB_ROLE_ASSISTANT : CONFAB_ROLE_USER,
                                   content, CONFAB_MESSAGE_STATE_COMPLETE));
    }
  elapsed = g_get_monotonic_time () - start;
  g_test_message ("insert 5000 messages (one transaction each): %.1f ms (%.1f µs each)",
                  elapsed / 1000.0, elapsed / 5000.0);

  start = g_get_monotonic_time ();
  page = load_messages (store, cid, 0, 50);
  elapsed = g_get_monotonic_time () - start;
  g_assert_cmpuint (page->len, ==, 50);
  g_assert_cmpstr (confab_message_get_content (g_ptr_array_index (page, 49)), ==,
                   "Message 4999: a reply of ordinary length, with a few sentences in it, "
                   "so that the row is not trivially small. It talks about things.");
  g_test_message ("load newest 50 of 5000 messages: %.3f ms", elapsed / 1000.0);

  for (guint i = 0; i < 2000; i++)
    {
      g_autofree char *title = g_strdup_printf ("Conversation %u", i);
      g_autoptr(ConfabConversation) other = add_conversation (store, title);

      g_object_unref (add_message (store, confab_conversation_get_id (other),
                                   CONFAB_ROLE_USER, title, CONFAB_MESSAGE_STATE_COMPLETE));
    }

  start = g_get_monotonic_time ();
  list = list_conversations (store);
  elapsed = g_get_monotonic_time () - start;
  g_assert_cmpuint (list->len, ==, 2001);
  g_test_message ("list 2001 conversations: %.3f ms", elapsed / 1000.0);

  g_assert_finalize_object (g_steal_pointer (&store));

  start = g_get_monotonic_time ();
  store = open_store (fixture->path);
  elapsed = g_get_monotonic_time () - start;
  g_test_message ("open (with quick_check) a database of 7000 messages: %.3f ms",
                  elapsed / 1000.0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(name, func) \
  g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/store/round-trip", test_round_trip);
  ADD ("/store/bad-ids", test_bad_ids);
  ADD ("/store/streaming-checkpoints", test_streaming_checkpoints);
  ADD ("/store/streaming-interrupted", test_streaming_interrupted);
  ADD ("/store/paging", test_paging);
  ADD ("/store/list-order", test_list_order);
  ADD ("/store/delete-undo-purge", test_delete_undo_purge);
  ADD ("/store/search", test_search);
  ADD ("/store/migration-v1", test_migration_v1);
  ADD ("/store/migration-keeps-old-backup", test_migration_keeps_old_backup);
  ADD ("/store/too-new", test_too_new);
  ADD ("/store/corrupt-random", test_corrupt_random);
  ADD ("/store/corrupt-pages", test_corrupt_pages);
  ADD ("/store/foreign-database", test_foreign_database);
  ADD ("/store/unopenable", test_unopenable);
  ADD ("/store/unreadable-mode", test_unreadable_mode);
  ADD ("/store/move-aside", test_move_aside);
  ADD ("/store/query-plans", test_query_plans);
  ADD ("/store/bench", test_bench);
  g_test_add_func ("/store/file-modes", test_file_modes);

#undef ADD

  return g_test_run ();
}
