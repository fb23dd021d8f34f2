/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "confab-test-util.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>

#include "confab-chat-session.h"
#include "confab-config.h"
#include "confab-openai-provider.h"
#include "confab-secrets.h"
#include "confab-test-server.h"

/*
 * Nothing lost, nothing leaked: Confab's core under faults. A process killed
 * with SIGKILL mid-reply, an API key that must reach the server and nowhere
 * else, replies and lines over the size bounds, a huge message, and a server
 * that goes quiet.
 */

/* Helpers */

static char *
make_temp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("confab-faults-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

/* Resident memory of this process, in bytes. The allocator first gives back
 * what is free, so that memory freed before a measure (the test's own
 * scaffolding) cannot hide what the code under test takes after it. */
static gsize
rss_bytes (void)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  guint64 size_pages = 0, resident_pages = 0;

#ifdef __GLIBC__
  malloc_trim (0);
#endif

  g_file_get_contents ("/proc/self/statm", &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sscanf (contents, "%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT,
                           &size_pages, &resident_pages), ==, 2);

  return (gsize) (resident_pages * (guint64) sysconf (_SC_PAGESIZE));
}

static gboolean
set_flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* "data: {chunk with @content}\n\n", as a Chat Completions server streams it. */
static void
append_content_event (GString    *body,
                      const char *content)
{
  g_autofree char *event = confab_test_content_event (content);

  g_string_append (body, event);
}

/* The same for literal, JSON-safe text. */
#define SSE_CONTENT(text) \
  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" text "\"}}]}\n\n"
#define SSE_STOP \
  "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
#define SSE_DONE "data: [DONE]\n\n"

static void
append_finish_events (GString *body)
{
  g_string_append (body, SSE_STOP SSE_DONE);
}

/* A second connection to the database, as the next start of Confab would
 * open it: the truth on disk. */
static GPtrArray *
messages_on_disk (const char *db_path,
                  gint64      conversation_id)
{
  g_autoptr(ConfabStore) store = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *messages;

  store = confab_store_new (db_path, &error);
  g_assert_no_error (error);
  messages = confab_store_load_messages (store, conversation_id, 0, 1000, &error);
  g_assert_no_error (error);

  return messages;
}

/* A turn run in this process, against a store in a temp dir. */

typedef struct
{
  char                 *dir;
  char                 *db_path;
  ConfabStore          *store;
  ConfabOpenaiProvider *provider;
  ConfabChatSession    *session;
  ConfabConversation   *conversation;
  ConfabMessage        *finished;
  gboolean              turn_done;
} Chat;

static void
chat_turn_finished_cb (ConfabChatSession  *session,
                       ConfabConversation *conversation,
                       ConfabMessage      *assistant,
                       Chat               *chat)
{
  g_set_object (&chat->finished, assistant);
  chat->turn_done = TRUE;
}

static void
chat_store_failed_cb (ConfabChatSession *session,
                      GError            *error,
                      Chat              *chat)
{
  g_error ("A write to the database failed: %s", error->message);
}

static Chat *
chat_new (const char *base_url,
          const char *api_key)
{
  Chat *chat = g_new0 (Chat, 1);
  g_autoptr(GError) error = NULL;

  chat->dir = make_temp_dir ();
  chat->db_path = g_build_filename (chat->dir, "confab.db", NULL);
  chat->store = confab_store_new (chat->db_path, &error);
  g_assert_no_error (error);

  chat->provider = confab_openai_provider_new (base_url, api_key);
  chat->session = confab_chat_session_new (chat->store);
  confab_chat_session_set_provider (chat->session, CONFAB_PROVIDER (chat->provider));
  g_signal_connect (chat->session, "turn-finished", G_CALLBACK (chat_turn_finished_cb), chat);
  g_signal_connect (chat->session, "store-failed", G_CALLBACK (chat_store_failed_cb), chat);

  chat->conversation = confab_conversation_new ();
  confab_conversation_set_model (chat->conversation, "fault-model");
  confab_conversation_set_messages_loaded (chat->conversation, TRUE);

  return chat;
}

static void
chat_free (Chat *chat)
{
  g_clear_object (&chat->finished);
  g_clear_object (&chat->conversation);
  g_clear_object (&chat->session);
  g_clear_object (&chat->provider);
  g_clear_object (&chat->store);
  confab_test_remove_tree (chat->dir);
  g_free (chat->db_path);
  g_free (chat->dir);
  g_free (chat);
}

/* Sends @text and runs the turn to its end. */
static ConfabMessage *
chat_run_turn (Chat       *chat,
               const char *text,
               guint       timeout_ms)
{
  g_autoptr(GError) error = NULL;

  chat->turn_done = FALSE;
  confab_chat_session_send (chat->session, chat->conversation, text, &error);
  g_assert_no_error (error);
  confab_test_wait_for (&chat->turn_done, timeout_ms);

  return chat->finished;
}

/* A first small turn, so that what a process loads once (GIO modules, the
 * proxy resolver, SQLite's first pages) is not counted against the bounds. */
static void
chat_warm_up (Chat        *chat,
              ConfabTestServer *server)
{
  g_autoptr(GString) body = g_string_new (NULL);
  g_autoptr(GBytes) bytes = NULL;
  ConfabMessage *assistant;

  append_content_event (body, "Warm.");
  append_finish_events (body);
  bytes = g_string_free_to_bytes (g_steal_pointer (&body));
  confab_test_server_queue_bytes (server, 200, "text/event-stream", bytes, 0, 0, 1);

  assistant = chat_run_turn (chat, "Warm up", 10000);
  g_assert_cmpint (confab_message_get_state (assistant), ==, CONFAB_MESSAGE_STATE_COMPLETE);
  g_assert_cmpstr (confab_message_get_content (assistant), ==, "Warm.");

  /* The server counts body bytes exactly, chunk framing left out. */
  g_assert_cmpuint (confab_test_server_bytes_sent_at (server, G_MAXINT64), ==, g_bytes_get_size (bytes));
}

/* 1. Crash safety: SIGKILL at random points of a streaming reply. */

#define KILL_ROUNDS          15
/* The first rounds kill within this many ms of "sent", well before the first
 * byte, which the server sends KILL_FIRST_DELAY_MS after the request. */
#define KILL_EARLY_ROUNDS    3
#define KILL_EARLY_MAX_MS    100
#define KILL_MAX_MS          3000
#define KILL_PIECES          400
#define KILL_PIECE_CHARS     50
#define KILL_INTERVAL_MS     10
#define KILL_FIRST_DELAY_MS  300
/*
 * How old the stored reply may be at the kill. The session checkpoints the
 * partial reply once a second (CHECKPOINT_INTERVAL_MS), so what was on disk
 * at the kill covers at least what had arrived one second before it. The
 * other half second is for a loaded 2-core machine: the child's checkpoint
 * timer firing late, the child reading the socket late, the SQLite commit
 * taking its time. A session that saved only at the end of the turn (never,
 * here) or one that checkpointed every few seconds fails this.
 */
#define KILL_MARGIN_US       (1500 * G_USEC_PER_SEC / 1000)

#define KILL_USER_TEXT \
  "Tell me a long story, please: ünïcödé ✓ and \"quotes\"\n\ton two lines."

typedef struct
{
  GString *content;      /* the whole reply's text */
  GBytes  *body;         /* the SSE body */
  gsize    event_size;   /* bytes of one content event (all are the same size) */
} KillReply;

static void
kill_reply_init (KillReply *reply)
{
  g_autoptr(GString) body = g_string_new (NULL);

  reply->content = g_string_new (NULL);
  reply->event_size = 0;

  for (guint i = 0; i < KILL_PIECES; i++)
    {
      g_autoptr(GString) piece = g_string_new (NULL);
      gsize before = body->len;

      /* Text that says where it is, so a prefix is a real prefix. */
      g_string_append_printf (piece, "%04u:", i);
      while (piece->len < KILL_PIECE_CHARS)
        g_string_append_c (piece, 'a' + (char) ((i * 7 + piece->len) % 26));

      g_string_append (reply->content, piece->str);
      append_content_event (body, piece->str);

      if (i == 0)
        reply->event_size = body->len - before;
      g_assert_cmpuint (body->len - before, ==, reply->event_size);
    }
  append_finish_events (body);

  reply->body = g_string_free_to_bytes (g_steal_pointer (&body));
}

static void
kill_reply_clear (KillReply *reply)
{
  g_string_free (reply->content, TRUE);
  g_bytes_unref (reply->body);
}

/* Characters of the reply the server had sent by @time. */
static gsize
kill_content_sent_at (ConfabTestServer *server,
                      const KillReply  *reply,
                      gint64            time)
{
  gsize events = confab_test_server_bytes_sent_at (server, time) / reply->event_size;

  return MIN (events, KILL_PIECES) * KILL_PIECE_CHARS;
}

typedef struct
{
  char     *line;
  gboolean  done;
} LineRead;

static void
read_line_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  LineRead *read = user_data;
  g_autoptr(GError) error = NULL;

  read->line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (object), result,
                                                          NULL, &error);
  g_assert_no_error (error);
  read->done = TRUE;
}

static void
wait_check_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_subprocess_wait_finish (G_SUBPROCESS (object), result, &error);
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

typedef struct
{
  guint  before_first_byte;
  guint  mid_stream;
  guint  after_completion;
  gint64 largest_age_us;
  gsize  largest_gap_chars;
} KillStats;

/* What raw SQLite sees in the file the child left, before any ConfabStore
 * touched it: an intact database with the turn as the child last wrote it. */
static void
check_raw_database (const char *db_path,
                    char      **assistant_content,
                    int        *assistant_state)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  guint n_rows = 0;

  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);

  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "ok");
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);

  g_assert_cmpint (sqlite3_prepare_v2 (db,
                                       "SELECT role, content, state FROM messages ORDER BY id",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *role = (const char *) sqlite3_column_text (stmt, 0);
      const char *content = (const char *) sqlite3_column_text (stmt, 1);

      n_rows++;
      if (n_rows == 1)
        {
          g_assert_cmpstr (role, ==, "user");
          g_assert_cmpstr (content, ==, KILL_USER_TEXT);
        }
      else
        {
          g_assert_cmpstr (role, ==, "assistant");
          *assistant_content = g_strdup (content != NULL ? content : "");
          *assistant_state = sqlite3_column_int (stmt, 2);
        }
    }
  sqlite3_finalize (stmt);
  g_assert_cmpuint (n_rows, ==, 2);

  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
}

static void
kill_round (const char      *child_path,
            const KillReply *reply,
            guint            round,
            KillStats       *stats)
{
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *db_path = g_build_filename (dir, "confab.db", NULL);
  g_autofree char *raw_content = NULL;
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GDataInputStream) output = NULL;
  g_autoptr(ConfabStore) store = NULL;
  g_autoptr(GPtrArray) conversations = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  ConfabTestServer *server = confab_test_server_new ();
  LineRead read = { NULL, FALSE };
  ConfabMessage *user, *assistant;
  const char *content;
  gboolean waited = FALSE;
  gboolean exited = FALSE;
  gint64 conversation_id = 0;
  gint64 kill_time;
  gint64 age = 0;
  gsize sent, stored;
  int raw_state = -1;
  guint delay_ms;

  confab_test_server_queue_bytes (server, 200, "text/event-stream", reply->body,
                      reply->event_size, KILL_FIRST_DELAY_MS, KILL_INTERVAL_MS);

  child = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                            child_path, db_path, confab_test_server_get_base_url (server), KILL_USER_TEXT, NULL);
  g_assert_no_error (error);

  /* The child says "sent <id>" once the user's message is stored and the
   * request is on its way. */
  output = g_data_input_stream_new (g_subprocess_get_stdout_pipe (child));
  g_data_input_stream_read_line_async (output, G_PRIORITY_DEFAULT, NULL, read_line_cb, &read);
  confab_test_wait_for (&read.done, 15000);
  g_assert_nonnull (read.line);
  g_assert_true (g_str_has_prefix (read.line, "sent "));
  g_assert_true (g_ascii_string_to_signed (read.line + 5, 10, 1, G_MAXINT64,
                                           &conversation_id, NULL));
  g_free (read.line);

  /* The kill point: a test input, not a synchronisation. */
  if (round < KILL_EARLY_ROUNDS)
    delay_ms = (guint) g_test_rand_int_range (0, KILL_EARLY_MAX_MS);
  else
    delay_ms = (guint) g_test_rand_int_range (0, KILL_MAX_MS);
  g_timeout_add (delay_ms, set_flag_cb, &waited);
  confab_test_wait_for (&waited, delay_ms + 5000);

  kill_time = g_get_monotonic_time ();
  g_subprocess_send_signal (child, SIGKILL);
  g_subprocess_wait_async (child, NULL, wait_check_cb, &exited);
  confab_test_wait_for (&exited, 10000);
  g_assert_true (g_subprocess_get_if_signaled (child));
  g_assert_cmpint (g_subprocess_get_term_sig (child), ==, SIGKILL);

  /* The next start: raw SQLite first, then Confab's own store. */
  check_raw_database (db_path, &raw_content, &raw_state);

  store = confab_store_new (db_path, &error);
  g_assert_no_error (error);

  conversations = confab_store_list_conversations (store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (conversations->len, ==, 1);
  g_assert_cmpint (confab_conversation_get_id (g_ptr_array_index (conversations, 0)), ==,
                   conversation_id);

  messages = confab_store_load_messages (store, conversation_id, 0, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 2);

  user = g_ptr_array_index (messages, 0);
  g_assert_cmpint (confab_message_get_role (user), ==, CONFAB_ROLE_USER);
  g_assert_cmpstr (confab_message_get_content (user), ==, KILL_USER_TEXT);

  assistant = g_ptr_array_index (messages, 1);
  content = confab_message_get_content (assistant);
  if (content == NULL)
    content = "";
  stored = strlen (content);
  g_assert_cmpint (confab_message_get_role (assistant), ==, CONFAB_ROLE_ASSISTANT);
  g_assert_cmpstr (content, ==, raw_content);

  /* Only a prefix of what the server said, never anything else. */
  g_assert_cmpuint (stored, <=, reply->content->len);
  g_assert_cmpint (memcmp (content, reply->content->str, stored), ==, 0);

  sent = kill_content_sent_at (server, reply, kill_time);
  if (raw_state == CONFAB_MESSAGE_STATE_COMPLETE)
    {
      /* The whole reply arrived before the kill. */
      g_assert_cmpuint (sent, ==, reply->content->len);
      g_assert_cmpstr (content, ==, reply->content->str);
      g_assert_cmpint (confab_message_get_state (assistant), ==, CONFAB_MESSAGE_STATE_COMPLETE);
      stats->after_completion++;
    }
  else
    {
      /* Killed mid-reply: the child left it streaming, and the next start
       * marks it interrupted. */
      g_assert_cmpint (raw_state, ==, CONFAB_MESSAGE_STATE_STREAMING);
      g_assert_cmpint (confab_message_get_state (assistant), ==,
                       CONFAB_MESSAGE_STATE_INTERRUPTED);

      if (sent == 0)
        stats->before_first_byte++;
      else
        stats->mid_stream++;
    }

  /* How old the stored text is: since when the server had sent a character
   * that is not on disk. */
  for (guint i = 0; i < confab_test_server_get_progress (server)->len; i++)
    {
      const ConfabTestProgress *progress = &g_array_index (confab_test_server_get_progress (server),
                                                            ConfabTestProgress, i);

      if (progress->time > kill_time)
        break;
      if (MIN (progress->bytes / reply->event_size, KILL_PIECES) * KILL_PIECE_CHARS > stored)
        {
          age = kill_time - progress->time;
          break;
        }
    }

  g_test_message ("round %u: killed %u ms after sent; %" G_GSIZE_FORMAT " characters sent, "
                  "%" G_GSIZE_FORMAT " stored, the stored text %.3f s old",
                  round, delay_ms, sent, stored, age / (double) G_USEC_PER_SEC);

  g_assert_cmpint (age, <=, KILL_MARGIN_US);
  g_assert_cmpuint (stored, >=, kill_content_sent_at (server, reply, kill_time - KILL_MARGIN_US));

  stats->largest_age_us = MAX (stats->largest_age_us, age);
  stats->largest_gap_chars = MAX (stats->largest_gap_chars, sent > stored ? sent - stored : 0);

  g_clear_object (&store);
  confab_test_server_free (server);
  confab_test_remove_tree (dir);
}

static void
test_kill_loop (void)
{
  g_autofree char *child_path = g_test_build_filename (G_TEST_BUILT, "fault-child", NULL);
  KillStats stats = { 0 };
  KillReply reply;

  g_assert_true (g_file_test (child_path, G_FILE_TEST_IS_EXECUTABLE));

  kill_reply_init (&reply);

  for (guint round = 0; round < KILL_ROUNDS; round++)
    kill_round (child_path, &reply, round, &stats);

  g_test_message ("kill loop: %u kills before the first byte, %u mid-stream, %u after "
                  "completion; largest gap %.3f s (%" G_GSIZE_FORMAT " characters)",
                  stats.before_first_byte, stats.mid_stream, stats.after_completion,
                  stats.largest_age_us / (double) G_USEC_PER_SEC, stats.largest_gap_chars);

  /* Both kinds of kill points were really tried. */
  g_assert_cmpuint (stats.before_first_byte, >=, 1);
  g_assert_cmpuint (stats.mid_stream, >=, 1);

  kill_reply_clear (&reply);
}

/* 2. Keys never leak. */

#define LEAK_KEY "sk-confab-leak-canary-0123456789abcdef"
/* As OpenAI answers a wrong key: it quotes the key back. */
#define LEAK_ERROR_BODY \
  "{\"error\":{\"message\":\"Incorrect API key provided: " LEAK_KEY ". You can find " \
  "your API key in your account.\",\"type\":\"invalid_request_error\"," \
  "\"code\":\"invalid_api_key\"}}"

static GLogWriterOutput
file_writer_cb (GLogLevelFlags   log_level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  FILE *file = user_data;
  g_autofree char *line = g_log_writer_format_fields (log_level, fields, n_fields, FALSE);

  fprintf (file, "%s\n", line);
  fflush (file);

  /* Failures still show where a person reads them. */
  if (log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    return g_log_writer_default (log_level, fields, n_fields, NULL);

  return G_LOG_WRITER_HANDLED;
}

static void
secrets_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* Binary-safe: database files hold NUL bytes. */
static gboolean
contains_bytes (const char *data,
                gsize       length,
                const char *needle)
{
  gsize needle_length = strlen (needle);
  const char *p = data;
  const char *end = data + length;

  while (p != NULL && (gsize) (end - p) >= needle_length)
    {
      if (memcmp (p, needle, needle_length) == 0)
        return TRUE;
      p = memchr (p + 1, needle[0], (gsize) (end - p - 1));
    }

  return FALSE;
}

/* Every file under @path: none holds the key. Returns the number of files. */
static guint
check_tree_clean (const char *path,
                  GHashTable *seen)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) error = NULL;
  const char *name;
  guint n_files = 0;

  dir = g_dir_open (path, 0, &error);
  g_assert_no_error (error);

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      g_autofree char *contents = NULL;
      gsize length = 0;

      if (g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        continue;

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        {
          n_files += check_tree_clean (child, seen);
          continue;
        }

      g_file_get_contents (child, &contents, &length, &error);
      g_assert_no_error (error);
      if (contains_bytes (contents, length, LEAK_KEY))
        g_error ("The API key was written to %s", child);

      g_hash_table_add (seen, g_strdup (name));
      n_files++;
    }

  return n_files;
}

static void
assert_private (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
}

static void
keys_never_leak_subprocess (void)
{
  g_autofree char *root = make_temp_dir ();
  g_autofree char *config_dir = g_build_filename (root, "config", NULL);
  g_autofree char *data_dir = g_build_filename (root, "data", NULL);
  g_autofree char *log_path = g_build_filename (root, "confab.log", NULL);
  g_autofree char *base_url = NULL;
  g_autofree char *db_path = NULL;
  g_autofree char *wal_path = NULL;
  g_autofree char *shm_path = NULL;
  g_autofree char *key = NULL;
  g_autofree char *log = NULL;
  g_autoptr(GSettings) settings = NULL;
  g_autoptr(ConfabSecrets) secrets = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) body = g_string_new (NULL);
  g_autoptr(GBytes) ok_body = NULL;
  g_autoptr(GBytes) error_body = NULL;
  ConfabTestServer *server = confab_test_server_new ();
  ConfabMessage *assistant;
  gboolean from_env = TRUE;
  Chat *chat;
  FILE *log_file;

  /* Before anything reads them: GSettings in a keyfile under our config
   * dir, the database under our data dir, no Secret Service at all. */
  g_assert_cmpint (g_mkdir_with_parents (config_dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (data_dir, 0700), ==, 0);
  g_setenv ("XDG_CONFIG_HOME", config_dir, TRUE);
  g_setenv ("XDG_DATA_HOME", data_dir, TRUE);
  g_setenv ("GSETTINGS_BACKEND", "keyfile", TRUE);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent", TRUE);
  g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
  g_assert_cmpstr (g_get_user_config_dir (), ==, config_dir);
  g_assert_cmpstr (g_get_user_data_dir (), ==, data_dir);

  log_file = fopen (log_path, "w");
  g_assert_nonnull (log_file);
  g_log_set_writer_func (file_writer_cb, log_file, NULL);

  /* The server address lives in settings, as the preferences keep it. */
  settings = g_settings_new (APP_ID);
  g_settings_set_string (settings, "base-url", confab_test_server_get_base_url (server));
  g_settings_sync ();
  base_url = confab_config_dup_base_url (settings, &from_env);
  g_assert_cmpstr (base_url, ==, confab_test_server_get_base_url (server));
  g_assert_false (from_env);

  /* The key: no keyring answers, so it stays in memory. */
  secrets = confab_secrets_new ();
  confab_secrets_store_async (secrets, base_url, LEAK_KEY, NULL, secrets_done_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (confab_secrets_store_finish (secrets, result, &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_false (confab_secrets_get_keyring_available (secrets));

  confab_secrets_lookup_async (secrets, base_url, NULL, secrets_done_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  key = confab_secrets_lookup_finish (secrets, result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (key, ==, LEAK_KEY);

  /* A good turn, then one the server refuses, quoting the key back. */
  append_content_event (body, "Hello from the leak test.");
  append_finish_events (body);
  ok_body = g_string_free_to_bytes (g_steal_pointer (&body));
  confab_test_server_queue_bytes (server, 200, "text/event-stream", ok_body, 16, 0, 1);
  error_body = g_bytes_new_static (LEAK_ERROR_BODY, strlen (LEAK_ERROR_BODY));
  confab_test_server_queue_bytes (server, 401, "application/json", error_body, 0, 0, 1);

  db_path = confab_store_dup_default_path ();
  g_assert_true (g_str_has_prefix (db_path, data_dir));

  chat = g_new0 (Chat, 1);
  chat->dir = g_path_get_dirname (db_path);
  chat->db_path = g_strdup (db_path);
  chat->store = confab_store_new (db_path, &error);
  g_assert_no_error (error);
  chat->provider = confab_openai_provider_new (base_url, key);
  chat->session = confab_chat_session_new (chat->store);
  confab_chat_session_set_provider (chat->session, CONFAB_PROVIDER (chat->provider));
  g_signal_connect (chat->session, "turn-finished", G_CALLBACK (chat_turn_finished_cb), chat);
  g_signal_connect (chat->session, "store-failed", G_CALLBACK (chat_store_failed_cb), chat);
  chat->conversation = confab_conversation_new ();
  confab_conversation_set_model (chat->conversation, "leak-model");
  confab_conversation_set_messages_loaded (chat->conversation, TRUE);

  assistant = chat_run_turn (chat, "First question", 10000);
  g_assert_cmpint (confab_message_get_state (assistant), ==, CONFAB_MESSAGE_STATE_COMPLETE);
  g_assert_cmpstr (confab_message_get_content (assistant), ==, "Hello from the leak test.");

  assistant = chat_run_turn (chat, "Second question", 10000);
  g_assert_cmpint (confab_message_get_state (assistant), ==, CONFAB_MESSAGE_STATE_ERROR);
  g_assert_cmpstr (confab_message_get_error_kind (assistant), ==, "auth");
  /* The server's words are quoted, all but the key. */
  g_assert_nonnull (strstr (confab_message_get_error (assistant), "Incorrect API key provided"));
  g_assert_nonnull (strstr (confab_message_get_error (assistant), "You can find your API key"));
  g_assert_null (strstr (confab_message_get_error (assistant), LEAK_KEY));

  /* The key did travel: where it belongs, so this test could fail. */
  g_assert_cmpuint (confab_test_server_get_authorizations (server)->len, ==, 2);
  for (guint i = 0; i < confab_test_server_get_authorizations (server)->len; i++)
    g_assert_cmpstr (g_ptr_array_index (confab_test_server_get_authorizations (server), i), ==,
                     "Bearer " LEAK_KEY);

  /* The quoted error is on disk: the scan below reads the text that would
   * have held the key. */
  {
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;

    g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT error FROM messages WHERE error IS NOT NULL",
                                         -1, &stmt, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_nonnull (strstr ((const char *) sqlite3_column_text (stmt, 0),
                              "Incorrect API key provided"));
    sqlite3_finalize (stmt);
    sqlite3_close (db);
  }

  /* The database and its journal are the user's alone. */
  wal_path = g_strconcat (db_path, "-wal", NULL);
  shm_path = g_strconcat (db_path, "-shm", NULL);
  assert_private (db_path);
  assert_private (wal_path);
  if (g_file_test (shm_path, G_FILE_TEST_EXISTS))
    assert_private (shm_path);

  /* Every file, with the database still open (its -wal holds the latest
   * writes), and the log we were writing. */
  fflush (log_file);
  g_assert_cmpuint (check_tree_clean (root, seen), >=, 4);
  g_assert_true (g_hash_table_contains (seen, "confab.db"));
  g_assert_true (g_hash_table_contains (seen, "confab.db-wal"));
  g_assert_true (g_hash_table_contains (seen, "keyfile"));
  g_assert_true (g_hash_table_contains (seen, "confab.log"));

  /* The debug log was really captured, requests included. */
  g_file_get_contents (log_path, &log, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (log, "/v1/chat/completions"));

  /* Once more after Confab let go of everything. */
  g_clear_object (&chat->finished);
  g_clear_object (&chat->conversation);
  g_clear_object (&chat->session);
  g_clear_object (&chat->provider);
  g_clear_object (&chat->store);
  g_clear_object (&secrets);
  g_clear_object (&settings);
  g_hash_table_remove_all (seen);
  fflush (log_file);
  check_tree_clean (root, seen);
  g_assert_true (g_hash_table_contains (seen, "confab.db"));

  g_free (chat->db_path);
  g_free (chat->dir);
  g_free (chat);
  confab_test_server_free (server);
  confab_test_remove_tree (root);
}

static void
test_keys_never_leak (void)
{
  if (g_test_subprocess ())
    {
      keys_never_leak_subprocess ();
      return;
    }

  /* In a process of its own: the environment must be set before GSettings
   * and GLib's user dirs are first used. */
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* 3. Bounds. */

#define MAX_REPLY_SIZE   (256 * 1024)
#define BIG_REPLY_SIZE   (2 * 1024 * 1024)
#define MAX_LINE_LENGTH  (64 * 1024)
#define LONG_LINE_SIZE   (1024 * 1024)
/* What a turn may add to the process beyond the bound: the request, libsoup's
 * buffers, SQLite's page cache and the allocator's slack. Reading a 2 MB
 * reply whole takes about three times more (the result, the message and the
 * checkpointed copies). */
#define RSS_SLACK        (3 * 1024 * 1024)

/* AddressSanitizer keeps freed memory in quarantine: resident memory then
 * says nothing about what Confab holds, so the bound is checked without it. */
#if defined(__SANITIZE_ADDRESS__)
# define CHECK_RSS 0
#elif defined(__has_feature)
# if __has_feature(address_sanitizer)
#  define CHECK_RSS 0
# endif
#endif
#ifndef CHECK_RSS
# define CHECK_RSS 1
#endif

static void
test_reply_too_large (void)
{
  g_autoptr(GString) body = g_string_new (NULL);
  g_autoptr(GString) content = g_string_new (NULL);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GPtrArray) stored = NULL;
  ConfabTestServer *server = confab_test_server_new ();
  ConfabMessage *assistant;
  gsize before, after;
  Chat *chat;

  for (guint i = 0; body->len < BIG_REPLY_SIZE; i++)
    {
      g_autofree char *piece = g_strdup_printf ("%06u %0990u\n", i, i);

      g_string_append (content, piece);
      append_content_event (body, piece);
    }
  append_finish_events (body);
  bytes = g_string_free_to_bytes (g_steal_pointer (&body));
  chat = chat_new (confab_test_server_get_base_url (server), NULL);
  chat_warm_up (chat, server);
  confab_test_server_queue_bytes (server, 200, "text/event-stream", bytes, 16 * 1024, 0, 1);
  g_object_set (chat->provider, "max-reply-size", (guint64) MAX_REPLY_SIZE, NULL);

  before = rss_bytes ();
  assistant = chat_run_turn (chat, "Say a lot", 30000);
  after = rss_bytes ();
  g_test_message ("RSS grew by %" G_GSIZE_FORMAT " kB for a reply bound to %u kB",
                  (after - MIN (before, after)) / 1024, MAX_REPLY_SIZE / 1024);

  g_assert_cmpstr (confab_message_get_error_kind (assistant), ==, "too-large");
  g_assert_nonnull (confab_message_get_error (assistant));
  g_assert_cmpstr (confab_message_get_error (assistant), !=, "");
  g_assert_cmpint (confab_message_get_state (assistant), ==, CONFAB_MESSAGE_STATE_INTERRUPTED);

  /* What came within the bound is kept, and it is what the server said. */
  g_assert_cmpuint (confab_message_get_content_length (assistant), >, MAX_REPLY_SIZE / 2);
  g_assert_cmpuint (confab_message_get_content_length (assistant), <=, MAX_REPLY_SIZE);
  g_assert_cmpint (memcmp (confab_message_get_content (assistant), content->str,
                           confab_message_get_content_length (assistant)), ==, 0);

  stored = messages_on_disk (chat->db_path, confab_conversation_get_id (chat->conversation));
  g_assert_cmpuint (stored->len, ==, 4);
  g_assert_cmpint (confab_message_get_state (g_ptr_array_index (stored, 3)), ==,
                   CONFAB_MESSAGE_STATE_INTERRUPTED);
  g_assert_cmpstr (confab_message_get_error_kind (g_ptr_array_index (stored, 3)), ==, "too-large");
  g_assert_cmpstr (confab_message_get_content (g_ptr_array_index (stored, 3)), ==,
                   confab_message_get_content (assistant));

  /* The client stopped reading: the server never got the whole reply out. */
  g_assert_cmpuint (confab_test_server_bytes_sent_at (server, G_MAXINT64), <, g_bytes_get_size (bytes));

  if (CHECK_RSS)
    g_assert_cmpuint (after, <=, before + MAX_REPLY_SIZE + RSS_SLACK);

  chat_free (chat);
  confab_test_server_free (server);
}

static void
test_line_too_long (void)
{
  g_autoptr(GString) body = g_string_new (NULL);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GPtrArray) stored = NULL;
  g_autofree char *huge = g_malloc (LONG_LINE_SIZE + 1);
  ConfabTestServer *server = confab_test_server_new ();
  ConfabMessage *assistant;
  gsize before, after;
  Chat *chat;

  memset (huge, 'x', LONG_LINE_SIZE);
  huge[LONG_LINE_SIZE] = '\0';

  append_content_event (body, "Before ");
  append_content_event (body, "the flood.");
  append_content_event (body, huge);
  append_content_event (body, " After.");
  append_finish_events (body);
  bytes = g_string_free_to_bytes (g_steal_pointer (&body));
  g_clear_pointer (&huge, g_free);
  chat = chat_new (confab_test_server_get_base_url (server), NULL);
  chat_warm_up (chat, server);
  confab_test_server_queue_bytes (server, 200, "text/event-stream", bytes, 16 * 1024, 0, 1);
  g_object_set (chat->provider, "max-line-length", (guint64) MAX_LINE_LENGTH, NULL);

  before = rss_bytes ();
  assistant = chat_run_turn (chat, "Say one long line", 30000);
  after = rss_bytes ();
  g_test_message ("RSS grew by %" G_GSIZE_FORMAT " kB for lines bound to %u kB",
                  (after - MIN (before, after)) / 1024, MAX_LINE_LENGTH / 1024);

  g_assert_cmpstr (confab_message_get_error_kind (assistant), ==, "too-large");
  g_assert_nonnull (confab_message_get_error (assistant));
  g_assert_cmpstr (confab_message_get_error (assistant), !=, "");
  g_assert_cmpint (confab_message_get_state (assistant), ==, CONFAB_MESSAGE_STATE_INTERRUPTED);
  g_assert_cmpstr (confab_message_get_content (assistant), ==, "Before the flood.");

  stored = messages_on_disk (chat->db_path, confab_conversation_get_id (chat->conversation));
  g_assert_cmpuint (stored->len, ==, 4);
  g_assert_cmpint (confab_message_get_state (g_ptr_array_index (stored, 3)), ==,
                   CONFAB_MESSAGE_STATE_INTERRUPTED);
  g_assert_cmpstr (confab_message_get_content (g_ptr_array_index (stored, 3)), ==,
                   "Before the flood.");

  g_assert_cmpuint (confab_test_server_bytes_sent_at (server, G_MAXINT64), <, g_bytes_get_size (bytes));
  if (CHECK_RSS)
    g_assert_cmpuint (after, <=, before + MAX_LINE_LENGTH + RSS_SLACK);

  chat_free (chat);
  confab_test_server_free (server);
}

#define HUGE_MESSAGE_SIZE (5 * 1024 * 1024)

/* Text of every kind JSON and SQLite must carry unchanged. */
static char *
generate_huge_text (void)
{
  static const char * const words[] = {
    "the", "quick", "brown", "fox", "naïve", "café", "日本語", "中文", "🙂", "👩‍💻",
    "\"quoted\"", "back\\slash", "tab\there", "new\nline", "crlf\r\n", "<html>", "{json}",
    "'single'", "100%", "%s", "\u00a0nbsp", "\u2028sep", "a\001control",
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240601);
  GString *text = g_string_sized_new (HUGE_MESSAGE_SIZE + 64);

  while (text->len < HUGE_MESSAGE_SIZE)
    {
      g_string_append (text, words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))]);
      g_string_append_c (text, ' ');
    }

  g_assert_true (g_utf8_validate (text->str, text->len, NULL));
  return g_string_free (text, FALSE);
}

static void
test_huge_user_message (void)
{
  g_autofree char *text = generate_huge_text ();
  g_autoptr(GPtrArray) stored = NULL;
  g_autoptr(JsonNode) request = NULL;
  g_autoptr(GError) error = NULL;
  ConfabTestServer *server = confab_test_server_new ();
  ConfabMessage *assistant;
  JsonArray *messages;
  JsonObject *last;
  const char *sent;
  Chat *chat;

  confab_test_server_queue (server, 200, "text/event-stream",
                            SSE_CONTENT ("That is ") SSE_CONTENT ("a lot.") SSE_STOP SSE_DONE,
                            40, 5, CONFAB_TEST_END_COMPLETE, NULL);

  chat = chat_new (confab_test_server_get_base_url (server), NULL);
  assistant = chat_run_turn (chat, text, 60000);

  /* The reply streamed. */
  g_assert_cmpint (confab_message_get_state (assistant), ==, CONFAB_MESSAGE_STATE_COMPLETE);
  g_assert_cmpstr (confab_message_get_content (assistant), ==, "That is a lot.");

  /* The server got the message whole. */
  g_assert_cmpuint (confab_test_server_get_requests (server)->len, ==, 1);
  request = json_from_string (g_ptr_array_index (confab_test_server_get_requests (server), 0),
                              &error);
  g_assert_no_error (error);
  messages = json_object_get_array_member (json_node_get_object (request), "messages");
  g_assert_cmpuint (json_array_get_length (messages), ==, 1);
  last = json_array_get_object_element (messages, 0);
  g_assert_cmpstr (json_object_get_string_member (last, "role"), ==, "user");
  sent = json_object_get_string_member (last, "content");
  g_assert_cmpuint (strlen (sent), ==, strlen (text));
  g_assert_true (strcmp (sent, text) == 0);

  /* And so did the disk. */
  stored = messages_on_disk (chat->db_path, confab_conversation_get_id (chat->conversation));
  g_assert_cmpuint (stored->len, ==, 2);
  g_assert_cmpuint (confab_message_get_content_length (g_ptr_array_index (stored, 0)), ==,
                    strlen (text));
  g_assert_true (strcmp (confab_message_get_content (g_ptr_array_index (stored, 0)), text) == 0);
  g_assert_cmpstr (confab_message_get_content (g_ptr_array_index (stored, 1)), ==,
                   "That is a lot.");

  chat_free (chat);
  confab_test_server_free (server);
}

/* 4. Silence. */

static void
test_silence_interrupts (void)
{
  g_autoptr(GPtrArray) stored = NULL;
  ConfabTestServer *server = confab_test_server_new ();
  ConfabMessage *assistant;
  gint64 start, elapsed;
  Chat *chat;

  confab_test_server_queue (server, 200, "text/event-stream",
                            SSE_CONTENT ("Still here,") SSE_CONTENT (" then"),
                            0, 0, CONFAB_TEST_END_HANG, NULL);

  chat = chat_new (confab_test_server_get_base_url (server), NULL);
  g_object_set (chat->provider, "idle-timeout", 1u, NULL);

  start = g_get_monotonic_time ();
  assistant = chat_run_turn (chat, "Are you there?", 10000);
  elapsed = g_get_monotonic_time () - start;

  g_assert_cmpint (confab_message_get_state (assistant), ==, CONFAB_MESSAGE_STATE_INTERRUPTED);
  g_assert_cmpstr (confab_message_get_error_kind (assistant), ==, "timeout");
  g_assert_nonnull (confab_message_get_error (assistant));
  g_assert_cmpstr (confab_message_get_content (assistant), ==, "Still here, then");

  /* It waited out the second of silence, once: a reply that began is not
   * asked for again. */
  g_assert_cmpint (elapsed, >=, 900 * 1000);
  g_assert_cmpuint (confab_test_server_get_requests (server)->len, ==, 1);

  stored = messages_on_disk (chat->db_path, confab_conversation_get_id (chat->conversation));
  g_assert_cmpint (confab_message_get_state (g_ptr_array_index (stored, 1)), ==,
                   CONFAB_MESSAGE_STATE_INTERRUPTED);
  g_assert_cmpstr (confab_message_get_error_kind (g_ptr_array_index (stored, 1)), ==, "timeout");
  g_assert_cmpstr (confab_message_get_content (g_ptr_array_index (stored, 1)), ==,
                   "Still here, then");

  chat_free (chat);
  confab_test_server_free (server);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/faults/kill-loop", test_kill_loop);
  g_test_add_func ("/faults/keys-never-leak", test_keys_never_leak);
  g_test_add_func ("/faults/reply-too-large", test_reply_too_large);
  g_test_add_func ("/faults/line-too-long", test_line_too_long);
  g_test_add_func ("/faults/huge-user-message", test_huge_user_message);
  g_test_add_func ("/faults/silence-interrupts", test_silence_interrupts);

  return g_test_run ();
}
