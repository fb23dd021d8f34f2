/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <string.h>

#include "confab-chat-session.h"
#include "confab-openai-provider.h"
#include "confab-test-server.h"
#include "confab-test-util.h"

typedef struct
{
  char               *dir;
  char               *db_path;
  ConfabStore        *store;
  ConfabChatSession  *session;
  ConfabTestServer   *server;
  ConfabConversation *conversation;
  ConfabMessage      *finished;
  gboolean            turn_done;
  gboolean            user_stored_before_request;
} Fixture;

static void
turn_finished_cb (ConfabChatSession  *session,
                  ConfabConversation *conversation,
                  ConfabMessage      *assistant,
                  Fixture            *fixture)
{
  g_set_object (&fixture->finished, assistant);
  fixture->turn_done = TRUE;
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConfabOpenaiProvider) provider = NULL;

  fixture->dir = g_dir_make_tmp ("confab-session-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->db_path = g_build_filename (fixture->dir, "confab.db", NULL);
  fixture->store = confab_store_new (fixture->db_path, &error);
  g_assert_no_error (error);

  fixture->server = confab_test_server_new ();
  provider = confab_openai_provider_new (confab_test_server_get_base_url (fixture->server),
                                         "sk-test-session-key");
  fixture->session = confab_chat_session_new (fixture->store);
  confab_chat_session_set_provider (fixture->session, CONFAB_PROVIDER (provider));
  g_signal_connect (fixture->session, "turn-finished", G_CALLBACK (turn_finished_cb), fixture);

  fixture->conversation = confab_conversation_new ();
  confab_conversation_set_model (fixture->conversation, "test-model");
  confab_conversation_set_temperature (fixture->conversation, 0.3);
  confab_conversation_set_system_message (fixture->conversation, "Be brief.");
  confab_conversation_set_messages_loaded (fixture->conversation, TRUE);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_object (&fixture->finished);
  g_clear_object (&fixture->conversation);
  g_clear_object (&fixture->session);
  g_clear_object (&fixture->store);
  confab_test_server_free (fixture->server);

  for (guint i = 0; i < 3; i++)
    {
      static const char *suffixes[] = { "", "-wal", "-shm" };
      g_autofree char *path = g_strconcat (fixture->db_path, suffixes[i], NULL);
      g_remove (path);
    }
  g_rmdir (fixture->dir);
  g_free (fixture->db_path);
  g_free (fixture->dir);
}

/* What a second connection to the database sees: the truth on disk. */
static GPtrArray *
messages_on_disk (Fixture *fixture)
{
  g_autoptr(ConfabStore) other = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *messages;

  other = confab_store_new (fixture->db_path, &error);
  g_assert_no_error (error);
  messages = confab_store_load_messages (other,
                                         confab_conversation_get_id (fixture->conversation),
                                         0, 1000, &error);
  g_assert_no_error (error);
  return messages;
}

static void
send (Fixture    *fixture,
      const char *text)
{
  g_autoptr(GError) error = NULL;

  fixture->turn_done = FALSE;
  confab_chat_session_send (fixture->session, fixture->conversation, text, &error);
  g_assert_no_error (error);
  g_assert_true (confab_chat_session_is_busy (fixture->session, fixture->conversation));
}

static void
check_user_stored_cb (gpointer user_data)
{
  Fixture *fixture = user_data;
  g_autoptr(GPtrArray) messages = messages_on_disk (fixture);

  fixture->user_stored_before_request =
    messages->len >= 1 &&
    g_strcmp0 (confab_message_get_content (g_ptr_array_index (messages, 0)), "Hello there") == 0;
}

static void
test_send_streams_and_stores (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autoptr(GPtrArray) stored = NULL;
  g_autoptr(JsonNode) request = NULL;
  g_autofree char *expected = confab_test_read_fixture ("openai-python-text-usage.expected", NULL);
  ConfabMessage *assistant;
  JsonArray *messages;
  JsonObject *body;
  gint64 prompt, completion;

  confab_test_server_set_on_request (fixture->server, check_user_stored_cb, fixture);
  confab_test_server_queue_fixture (fixture->server, "openai-python-text-usage.sse", 64, 5);

  send (fixture, "Hello there");
  confab_test_wait_for (&fixture->turn_done, 10000);

  /* The user's message was on disk before any byte went out. */
  g_assert_true (fixture->user_stored_before_request);

  assistant = fixture->finished;
  g_assert_cmpstr (confab_message_get_content (assistant), ==, expected);
  g_assert_cmpint (confab_message_get_state (assistant), ==, CONFAB_MESSAGE_STATE_COMPLETE);
  g_assert_cmpstr (confab_message_get_finish_reason (assistant), ==, "stop");
  confab_message_get_usage (assistant, &prompt, &completion);
  g_assert_cmpint (prompt, ==, 14);
  g_assert_cmpint (completion, ==, 30);
  g_assert_cmpstr (confab_conversation_get_title (fixture->conversation), ==, "Hello there");
  g_assert_false (confab_chat_session_is_busy (fixture->session, fixture->conversation));

  /* The request: the conversation's own parameters, system message first. */
  request = json_from_string (g_ptr_array_index (confab_test_server_get_requests (fixture->server), 0),
                              NULL);
  body = json_node_get_object (request);
  g_assert_cmpstr (json_object_get_string_member (body, "model"), ==, "test-model");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (body, "temperature"), 0.3, 1e-9);
  g_assert_true (json_object_get_boolean_member (body, "stream"));
  messages = json_object_get_array_member (body, "messages");
  g_assert_cmpuint (json_array_get_length (messages), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 0), "role"),
                   ==, "system");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 0), "content"),
                   ==, "Be brief.");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 1), "content"),
                   ==, "Hello there");

  /* And all of it is on disk. */
  stored = messages_on_disk (fixture);
  g_assert_cmpuint (stored->len, ==, 2);
  g_assert_cmpstr (confab_message_get_content (g_ptr_array_index (stored, 1)), ==, expected);
  g_assert_cmpint (confab_message_get_state (g_ptr_array_index (stored, 1)), ==,
                   CONFAB_MESSAGE_STATE_COMPLETE);
  g_assert_cmpstr (confab_message_get_finish_reason (g_ptr_array_index (stored, 1)), ==, "stop");
}

static void
test_history_is_sent (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(JsonNode) request = NULL;
  JsonArray *messages;

  confab_test_server_queue_fixture (fixture->server, "pydantic-ai-vllm-crusoe-usage.sse", 0, 0);
  confab_test_server_queue_fixture (fixture->server, "openai-python-text-usage.sse", 0, 0);

  send (fixture, "Count to five");
  confab_test_wait_for (&fixture->turn_done, 10000);
  send (fixture, "Again");
  confab_test_wait_for (&fixture->turn_done, 10000);

  request = json_from_string (g_ptr_array_index (confab_test_server_get_requests (fixture->server), 1),
                              NULL);
  messages = json_object_get_array_member (json_node_get_object (request), "messages");
  g_assert_cmpuint (json_array_get_length (messages), ==, 4);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 2), "role"),
                   ==, "assistant");
  g_assert_nonnull (strstr (json_object_get_string_member (json_array_get_object_element (messages, 2),
                                                           "content"), "1, 2, 3, 4, 5"));
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 3), "content"),
                   ==, "Again");
}

/* Reads the reply straight from the file, as another process would, without
 * the recovery a ConfabStore runs on open. */
static gboolean
partial_on_disk (Fixture *fixture)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gboolean found = FALSE;

  g_assert_cmpint (sqlite3_open_v2 (fixture->db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db,
                                       "SELECT length(content), state FROM messages "
                                       "WHERE role = 'assistant' ORDER BY id DESC LIMIT 1",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    found = sqlite3_column_int (stmt, 0) > 0 &&
            sqlite3_column_int (stmt, 1) == CONFAB_MESSAGE_STATE_STREAMING;
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  return found;
}

typedef struct
{
  Fixture  *fixture;
  gboolean  seen;
} PartialWatch;

static gboolean
watch_partial_cb (gpointer user_data)
{
  PartialWatch *watch = user_data;

  if (partial_on_disk (watch->fixture))
    {
      watch->seen = TRUE;
      return G_SOURCE_REMOVE;
    }

  return G_SOURCE_CONTINUE;
}

static void
test_checkpoint_while_streaming (Fixture       *fixture,
                                 gconstpointer  data)
{
  PartialWatch watch = { fixture, FALSE };

  /* One piece, then the server keeps the stream open and quiet. */
  confab_test_server_queue (fixture->server, 200, "text/event-stream",
                            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Partial words\"}}]}\n\n",
                            0, 0, CONFAB_TEST_END_HANG, NULL);
  send (fixture, "Tell me a long story");

  /* The partial reply reaches the disk by the checkpoint, while it streams. */
  g_timeout_add (100, watch_partial_cb, &watch);
  confab_test_wait_for (&watch.seen, 5000);

  confab_chat_session_stop (fixture->session, fixture->conversation);
  confab_test_wait_for (&fixture->turn_done, 5000);
  g_assert_cmpint (confab_message_get_state (fixture->finished), ==, CONFAB_MESSAGE_STATE_STOPPED);
}

typedef struct
{
  Fixture  *fixture;
  gboolean  stopped;
} StopOnContent;

static void
stop_on_content_cb (ConfabMessage *message,
                    GParamSpec    *pspec,
                    StopOnContent *stop)
{
  if (!stop->stopped)
    {
      stop->stopped = TRUE;
      confab_chat_session_stop (stop->fixture->session, stop->fixture->conversation);
    }
}

static void
test_stop_keeps_partial (Fixture       *fixture,
                         gconstpointer  data)
{
  StopOnContent stop = { fixture, FALSE };
  g_autoptr(GPtrArray) stored = NULL;
  ConfabMessage *assistant;

  confab_test_server_queue_fixture (fixture->server, "pydantic-ai-groq-think-tags-uescape.sse",
                                    512, 20);
  send (fixture, "Think hard");

  assistant = confab_conversation_get_last_message (fixture->conversation);
  g_signal_connect (assistant, "notify::content", G_CALLBACK (stop_on_content_cb), &stop);
  confab_test_wait_for (&fixture->turn_done, 10000);

  g_assert_true (stop.stopped);
  g_assert_cmpint (confab_message_get_state (assistant), ==, CONFAB_MESSAGE_STATE_STOPPED);
  g_assert_cmpuint (confab_message_get_content_length (assistant), >, 0);

  stored = messages_on_disk (fixture);
  g_assert_cmpint (confab_message_get_state (g_ptr_array_index (stored, 1)), ==,
                   CONFAB_MESSAGE_STATE_STOPPED);
  g_assert_cmpstr (confab_message_get_content (g_ptr_array_index (stored, 1)), ==,
                   confab_message_get_content (assistant));
}

static void
test_error_then_retry (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) stored = NULL;
  ConfabMessage *assistant;
  gint64 id;

  confab_test_server_queue (fixture->server, 401, "application/json",
                            "{\"error\":{\"message\":\"Incorrect API key provided\",\"type\":\"invalid_request_error\"}}",
                            0, 0, CONFAB_TEST_END_COMPLETE, NULL);
  send (fixture, "Hello");
  confab_test_wait_for (&fixture->turn_done, 10000);

  assistant = fixture->finished;
  id = confab_message_get_id (assistant);
  g_assert_cmpint (confab_message_get_state (assistant), ==, CONFAB_MESSAGE_STATE_ERROR);
  g_assert_cmpstr (confab_message_get_error_kind (assistant), ==, "auth");
  g_assert_nonnull (strstr (confab_message_get_error (assistant), "Incorrect API key provided"));

  stored = messages_on_disk (fixture);
  g_assert_cmpint (confab_message_get_state (g_ptr_array_index (stored, 1)), ==,
                   CONFAB_MESSAGE_STATE_ERROR);
  g_assert_cmpstr (confab_message_get_error_kind (g_ptr_array_index (stored, 1)), ==, "auth");
  g_clear_pointer (&stored, g_ptr_array_unref);

  /* Retry streams into the same message. */
  confab_test_server_queue_fixture (fixture->server, "openai-python-text-usage.sse", 0, 0);
  fixture->turn_done = FALSE;
  confab_chat_session_retry (fixture->session, fixture->conversation, assistant, &error);
  g_assert_no_error (error);
  confab_test_wait_for (&fixture->turn_done, 10000);

  g_assert_true (fixture->finished == assistant);
  g_assert_cmpint (confab_message_get_id (assistant), ==, id);
  g_assert_cmpint (confab_message_get_state (assistant), ==, CONFAB_MESSAGE_STATE_COMPLETE);
  g_assert_null (confab_message_get_error (assistant));

  stored = messages_on_disk (fixture);
  g_assert_cmpuint (stored->len, ==, 2);
  g_assert_cmpint (confab_message_get_state (g_ptr_array_index (stored, 1)), ==,
                   CONFAB_MESSAGE_STATE_COMPLETE);

  /* The failed attempt sent just the user's message; so did the retry. */
  {
    g_autoptr(JsonNode) request =
      json_from_string (g_ptr_array_index (confab_test_server_get_requests (fixture->server), 1), NULL);
    JsonArray *messages = json_object_get_array_member (json_node_get_object (request), "messages");

    g_assert_cmpuint (json_array_get_length (messages), ==, 2);
  }
}

static void
test_interrupted_keeps_partial (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autoptr(GPtrArray) stored = NULL;

  confab_test_server_queue (fixture->server, 200, "text/event-stream",
                            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Half a\"}}]}\n\n"
                            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" sentence\"}}]}\n\n",
                            40, 10, CONFAB_TEST_END_DROP, NULL);
  send (fixture, "Hi");
  confab_test_wait_for (&fixture->turn_done, 10000);

  g_assert_cmpint (confab_message_get_state (fixture->finished), ==,
                   CONFAB_MESSAGE_STATE_INTERRUPTED);
  g_assert_cmpstr (confab_message_get_content (fixture->finished), ==, "Half a sentence");
  g_assert_nonnull (confab_message_get_error (fixture->finished));

  stored = messages_on_disk (fixture);
  g_assert_cmpint (confab_message_get_state (g_ptr_array_index (stored, 1)), ==,
                   CONFAB_MESSAGE_STATE_INTERRUPTED);
  g_assert_cmpstr (confab_message_get_content (g_ptr_array_index (stored, 1)), ==, "Half a sentence");
}

static void
test_continue_appends (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) stored = NULL;
  g_autoptr(JsonNode) request = NULL;
  ConfabMessage *assistant;
  JsonArray *messages;

  confab_test_server_queue (fixture->server, 200, "text/event-stream",
                            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"The first half\"}}]}\n\n",
                            0, 0, CONFAB_TEST_END_DROP, NULL);
  send (fixture, "Write two halves");
  confab_test_wait_for (&fixture->turn_done, 10000);
  assistant = fixture->finished;
  g_assert_cmpint (confab_message_get_state (assistant), ==, CONFAB_MESSAGE_STATE_INTERRUPTED);

  confab_test_server_queue (fixture->server, 200, "text/event-stream",
                            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" and the second half.\"},\"finish_reason\":\"stop\"}]}\n\n"
                            "data: [DONE]\n\n",
                            0, 0, CONFAB_TEST_END_COMPLETE, NULL);
  fixture->turn_done = FALSE;
  confab_chat_session_continue (fixture->session, fixture->conversation, assistant, &error);
  g_assert_no_error (error);
  confab_test_wait_for (&fixture->turn_done, 10000);

  g_assert_cmpint (confab_message_get_state (assistant), ==, CONFAB_MESSAGE_STATE_COMPLETE);
  g_assert_cmpstr (confab_message_get_content (assistant), ==, "The first half and the second half.");

  /* The model saw its own partial reply, then was asked to go on. */
  request = json_from_string (g_ptr_array_index (confab_test_server_get_requests (fixture->server), 1),
                              NULL);
  messages = json_object_get_array_member (json_node_get_object (request), "messages");
  g_assert_cmpuint (json_array_get_length (messages), ==, 4);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 2), "role"),
                   ==, "assistant");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 2), "content"),
                   ==, "The first half");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 3), "role"),
                   ==, "user");

  stored = messages_on_disk (fixture);
  g_assert_cmpuint (stored->len, ==, 2);
  g_assert_cmpstr (confab_message_get_content (g_ptr_array_index (stored, 1)), ==,
                   "The first half and the second half.");
}

static void
test_busy_refuses_second_send (Fixture       *fixture,
                               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) stored = NULL;

  confab_test_server_queue_fixture (fixture->server, "openai-python-text-usage.sse", 32, 10);
  send (fixture, "First");

  g_assert_false (confab_chat_session_send (fixture->session, fixture->conversation, "Second",
                                            &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);

  confab_test_wait_for (&fixture->turn_done, 10000);
  stored = messages_on_disk (fixture);
  g_assert_cmpuint (stored->len, ==, 2);
  g_assert_cmpuint (confab_test_server_get_requests (fixture->server)->len, ==, 1);
}

static void
retry_at_cb (ConfabMessage *message,
             GParamSpec    *pspec,
             gint64        *seen)
{
  if (confab_message_get_retry_at (message) != 0)
    *seen = confab_message_get_retry_at (message) - g_get_real_time ();
}

static void
test_rate_limit_retries_after (Fixture       *fixture,
                               gconstpointer  data)
{
  gint64 wait_us = -1;
  ConfabMessage *assistant;

  confab_test_server_queue (fixture->server, 429, "application/json",
                            "{\"error\":{\"message\":\"Rate limit reached\"}}",
                            0, 0, CONFAB_TEST_END_COMPLETE, "Retry-After", "1", NULL);
  confab_test_server_queue_fixture (fixture->server, "openai-python-text-usage.sse", 0, 0);

  send (fixture, "Hello");
  assistant = confab_conversation_get_last_message (fixture->conversation);
  g_signal_connect (assistant, "notify::retry-at", G_CALLBACK (retry_at_cb), &wait_us);
  confab_test_wait_for (&fixture->turn_done, 10000);

  /* It waited about what the server asked, showing it, then succeeded. */
  g_assert_cmpint (wait_us, >, 500 * 1000);
  g_assert_cmpint (wait_us, <=, 1000 * 1000);
  g_assert_cmpuint (confab_test_server_get_requests (fixture->server)->len, ==, 2);
  g_assert_cmpint (confab_message_get_state (assistant), ==, CONFAB_MESSAGE_STATE_COMPLETE);
  g_assert_cmpint (confab_message_get_retry_at (assistant), ==, 0);
  g_assert_null (confab_message_get_error (assistant));
}

static void
test_server_error_gives_up (Fixture       *fixture,
                            gconstpointer  data)
{
  for (guint i = 0; i < 4; i++)
    confab_test_server_queue (fixture->server, 503, "application/json",
                              "{\"error\":{\"message\":\"Overloaded\"}}",
                              0, 0, CONFAB_TEST_END_COMPLETE, "Retry-After", "0", NULL);

  send (fixture, "Hello");
  confab_test_wait_for (&fixture->turn_done, 10000);

  g_assert_cmpuint (confab_test_server_get_requests (fixture->server)->len, ==, 3);
  g_assert_cmpint (confab_message_get_state (fixture->finished), ==, CONFAB_MESSAGE_STATE_ERROR);
  g_assert_cmpstr (confab_message_get_error_kind (fixture->finished), ==, "server");
  g_assert_nonnull (strstr (confab_message_get_error (fixture->finished), "Overloaded"));
}

static void
test_bad_request_not_retried (Fixture       *fixture,
                              gconstpointer  data)
{
  confab_test_server_queue (fixture->server, 400, "application/json",
                            "{\"error\":{\"message\":\"Unsupported parameter\"}}",
                            0, 0, CONFAB_TEST_END_COMPLETE, NULL);
  confab_test_server_queue_fixture (fixture->server, "openai-python-text-usage.sse", 0, 0);

  send (fixture, "Hello");
  confab_test_wait_for (&fixture->turn_done, 10000);

  g_assert_cmpuint (confab_test_server_get_requests (fixture->server)->len, ==, 1);
  g_assert_cmpint (confab_message_get_state (fixture->finished), ==, CONFAB_MESSAGE_STATE_ERROR);
}

static void
stop_when_waiting_cb (ConfabMessage *message,
                      GParamSpec    *pspec,
                      Fixture       *fixture)
{
  if (confab_message_get_retry_at (message) != 0)
    confab_chat_session_stop (fixture->session, fixture->conversation);
}

static void
test_stop_while_waiting (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(GPtrArray) stored = NULL;
  ConfabMessage *assistant;

  confab_test_server_queue (fixture->server, 429, "application/json",
                            "{\"error\":{\"message\":\"Slow down\"}}",
                            0, 0, CONFAB_TEST_END_COMPLETE, "Retry-After", "30", NULL);

  send (fixture, "Hello");
  assistant = confab_conversation_get_last_message (fixture->conversation);
  g_signal_connect (assistant, "notify::retry-at", G_CALLBACK (stop_when_waiting_cb), fixture);
  confab_test_wait_for (&fixture->turn_done, 10000);

  g_assert_cmpuint (confab_test_server_get_requests (fixture->server)->len, ==, 1);
  g_assert_cmpint (confab_message_get_state (assistant), ==, CONFAB_MESSAGE_STATE_ERROR);
  g_assert_cmpstr (confab_message_get_error_kind (assistant), ==, "rate-limit");
  g_assert_cmpint (confab_message_get_retry_at (assistant), ==, 0);
  g_assert_false (confab_chat_session_is_busy (fixture->session, fixture->conversation));

  stored = messages_on_disk (fixture);
  g_assert_cmpint (confab_message_get_state (g_ptr_array_index (stored, 1)), ==,
                   CONFAB_MESSAGE_STATE_ERROR);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) \
  g_test_add ("/session/" name, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("send-streams-and-stores", test_send_streams_and_stores);
  ADD ("history-is-sent", test_history_is_sent);
  ADD ("checkpoint-while-streaming", test_checkpoint_while_streaming);
  ADD ("stop-keeps-partial", test_stop_keeps_partial);
  ADD ("error-then-retry", test_error_then_retry);
  ADD ("interrupted-keeps-partial", test_interrupted_keeps_partial);
  ADD ("continue-appends", test_continue_appends);
  ADD ("busy-refuses-second-send", test_busy_refuses_second_send);
  ADD ("rate-limit-retries-after", test_rate_limit_retries_after);
  ADD ("server-error-gives-up", test_server_error_gives_up);
  ADD ("bad-request-not-retried", test_bad_request_not_retried);
  ADD ("stop-while-waiting", test_stop_while_waiting);

#undef ADD

  return g_test_run ();
}
