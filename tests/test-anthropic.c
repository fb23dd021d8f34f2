/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ConfabAnthropicProvider against a real SoupServer on 127.0.0.1 in the same
 * process. The server keeps what the last request carried and answers with
 * one scripted reply, whole or in pieces from timeouts on the main loop, so
 * the client really receives a stream. Every wait iterates the main loop
 * until the event, with a timeout that fails the test.
 */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "confab-anthropic-provider.h"
#include "confab-test-util.h"
#include "confab-message.h"

#define TEXT_FIXTURE     "coder-aibridge-anthropic-text-ping-padded"
#define THINKING_FIXTURE "pydantic-ai-anthropic-thinking-signature"
#define ERROR_FIXTURE    "coder-aibridge-anthropic-error-event"

/* ------------------------------------------------------------------------ */
/* The server                                                               */
/* ------------------------------------------------------------------------ */

typedef struct
{
  SoupServer         *server;
  char               *base_url;

  /* The last request */
  guint               n_requests;
  char               *method;
  char               *path;
  char               *query;
  SoupMessageHeaders *headers;
  GBytes             *body;

  /* The reply: @reply whole, or in pieces of @piece_size every @interval_ms */
  guint               status;
  const char         *content_type;
  char               *reply;
  const char        **reply_headers;   /* name, value, …, NULL */
  gsize               piece_size;
  guint               interval_ms;

  /* A reply being streamed */
  SoupServerMessage  *streaming;
  gsize               offset;
  guint               tick_id;
  gboolean            aborted;
} Server;

static void
stop_streaming (Server *s)
{
  g_clear_handle_id (&s->tick_id, g_source_remove);
  if (s->streaming != NULL)
    g_signal_handlers_disconnect_by_data (s->streaming, s);
  g_clear_object (&s->streaming);
}

static void
streaming_ended_cb (SoupServerMessage *msg,
                    Server            *s)
{
  stop_streaming (s);
}

static gboolean
tick_cb (gpointer user_data)
{
  Server *s = user_data;
  SoupMessageBody *body = soup_server_message_get_response_body (s->streaming);
  gsize len = strlen (s->reply);

  if (s->offset < len)
    {
      gsize n = MIN (s->piece_size, len - s->offset);

      soup_message_body_append (body, SOUP_MEMORY_COPY, s->reply + s->offset, n);
      s->offset += n;
      soup_server_message_unpause (s->streaming);

      return G_SOURCE_CONTINUE;
    }

  soup_message_body_complete (body);
  soup_server_message_unpause (s->streaming);
  s->tick_id = 0;
  stop_streaming (s);

  return G_SOURCE_REMOVE;
}

static void
handler_cb (SoupServer        *server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  Server *s = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  GUri *uri = soup_server_message_get_uri (msg);

  s->n_requests++;
  g_free (s->method);
  s->method = g_strdup (soup_server_message_get_method (msg));
  g_free (s->path);
  s->path = g_strdup (path);
  g_free (s->query);
  s->query = g_strdup (g_uri_get_query (uri));
  g_clear_pointer (&s->headers, soup_message_headers_unref);
  s->headers = soup_message_headers_ref (soup_server_message_get_request_headers (msg));
  g_clear_pointer (&s->body, g_bytes_unref);
  s->body = soup_message_body_flatten (soup_server_message_get_request_body (msg));

  g_assert_nonnull (s->reply);
  for (guint i = 0; s->reply_headers != NULL && s->reply_headers[i] != NULL; i += 2)
    soup_message_headers_replace (headers, s->reply_headers[i], s->reply_headers[i + 1]);
  soup_server_message_set_status (msg, s->status, NULL);

  if (s->piece_size == 0)
    {
      soup_server_message_set_response (msg, s->content_type, SOUP_MEMORY_COPY,
                                        s->reply, strlen (s->reply));
      return;
    }

  g_assert_null (s->streaming);
  s->streaming = g_object_ref (msg);
  s->offset = 0;
  g_signal_connect (msg, "finished", G_CALLBACK (streaming_ended_cb), s);
  g_signal_connect (msg, "disconnected", G_CALLBACK (streaming_ended_cb), s);
  soup_message_headers_set_content_type (headers, s->content_type, NULL);
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  soup_server_message_pause (msg);
  s->tick_id = g_timeout_add (s->interval_ms, tick_cb, s);
}

static void
request_aborted_cb (SoupServer        *server,
                    SoupServerMessage *msg,
                    Server            *s)
{
  s->aborted = TRUE;
}

static Server *
server_new (void)
{
  Server *s = g_new0 (Server, 1);
  g_autoptr(GError) error = NULL;
  g_autoslist(GUri) uris = NULL;

  s->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (s->server, NULL, handler_cb, s, NULL);
  g_signal_connect (s->server, "request-aborted", G_CALLBACK (request_aborted_cb), s);
  soup_server_listen_local (s->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);

  uris = soup_server_get_uris (s->server);
  g_assert_nonnull (uris);
  s->base_url = g_strdup_printf ("http://127.0.0.1:%d/v1", g_uri_get_port (uris->data));

  return s;
}

static void
server_free (Server *s)
{
  stop_streaming (s);
  soup_server_disconnect (s->server);
  g_assert_finalize_object (s->server);
  g_free (s->base_url);
  g_free (s->method);
  g_free (s->path);
  g_free (s->query);
  g_clear_pointer (&s->headers, soup_message_headers_unref);
  g_clear_pointer (&s->body, g_bytes_unref);
  g_free (s->reply);
  g_free (s);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Server, server_free)

static void
server_set_reply (Server     *s,
                  guint       status,
                  const char *content_type,
                  const char *reply,
                  gsize       piece_size,
                  guint       interval_ms)
{
  s->status = status;
  s->content_type = content_type;
  g_free (s->reply);
  s->reply = g_strdup (reply);
  s->piece_size = piece_size;
  s->interval_ms = interval_ms;
}

static const char *
server_get_header (Server     *s,
                   const char *name)
{
  g_assert_nonnull (s->headers);

  return soup_message_headers_get_one (s->headers, name);
}

/* ------------------------------------------------------------------------ */
/* The client                                                               */
/* ------------------------------------------------------------------------ */

typedef ConfabTestCall Call;

static void
run_simple_chat (ConfabAnthropicProvider *provider,
                 const char              *model,
                 Call                    *call)
{
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_object_unref);
  ConfabChatRequest request = { model, -1, NULL, messages };

  g_ptr_array_add (messages, confab_message_new (CONFAB_ROLE_USER, "Hello"));
  confab_test_run_chat (provider, &request, call, NULL, 20);
}

static JsonObject *
parse_request_body (Server    *s,
                    JsonNode **root_out)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  const char *data;
  gsize len;

  g_assert_nonnull (s->body);
  data = g_bytes_get_data (s->body, &len);
  json_parser_load_from_data (parser, data, (gssize) len, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  *root_out = json_node_ref (json_parser_get_root (parser));

  return json_node_get_object (*root_out);
}

static void
assert_turn (JsonArray  *turns,
             guint       index,
             const char *role,
             const char *content)
{
  JsonObject *turn;

  g_assert_cmpuint (index, <, json_array_get_length (turns));
  turn = json_array_get_object_element (turns, index);
  g_assert_nonnull (turn);
  g_assert_cmpstr (json_object_get_string_member (turn, "role"), ==, role);
  g_assert_cmpstr (json_object_get_string_member (turn, "content"), ==, content);
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */
/* ------------------------------------------------------------------------ */

static const char small_stream[] =
  "event: message_start\n"
  "data: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-test\","
  "\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n"
  "event: content_block_delta\n"
  "data: {\"type\":\"content_block_delta\",\"index\":0,"
  "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
  "event: message_delta\n"
  "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},"
  "\"usage\":{\"output_tokens\":2}}\n\n"
  "event: message_stop\n"
  "data: {\"type\":\"message_stop\"}\n\n";

static void
test_properties (void)
{
  g_autoptr(ConfabAnthropicProvider) provider = confab_anthropic_provider_new (NULL, "k");
  g_autofree char *base_url = NULL;
  g_autofree char *key = NULL;
  g_autofree char *other = NULL;
  guint idle, connect, max_tokens;
  guint64 max_reply, max_line;

  g_assert_true (CONFAB_IS_PROVIDER (provider));
  g_object_get (provider,
                "base-url", &base_url,
                "api-key", &key,
                "idle-timeout", &idle,
                "connect-timeout", &connect,
                "max-reply-size", &max_reply,
                "max-line-length", &max_line,
                "max-tokens", &max_tokens,
                NULL);
  g_assert_cmpstr (base_url, ==, "https://api.anthropic.com/v1");
  g_assert_cmpstr (key, ==, "k");
  g_assert_cmpuint (idle, ==, 120);
  g_assert_cmpuint (connect, ==, 30);
  g_assert_cmpuint (max_reply, ==, 32 * 1024 * 1024);
  g_assert_cmpuint (max_line, ==, 8 * 1024 * 1024);
  g_assert_cmpuint (max_tokens, ==, 4096);

  /* Another base, then NULL: back to Anthropic's own. */
  g_object_set (provider, "base-url", "http://proxy.test/v1", "max-tokens", 100, NULL);
  g_object_get (provider, "base-url", &other, "max-tokens", &max_tokens, NULL);
  g_assert_cmpstr (other, ==, "http://proxy.test/v1");
  g_assert_cmpuint (max_tokens, ==, 100);
  g_clear_pointer (&other, g_free);
  g_object_set (provider, "base-url", NULL, NULL);
  g_object_get (provider, "base-url", &other, NULL);
  g_assert_cmpstr (other, ==, "https://api.anthropic.com/v1");
}

static void
test_stream_text (void)
{
  g_autoptr(Server) s = server_new ();
  g_autoptr(ConfabAnthropicProvider) provider = NULL;
  g_autofree char *sse = confab_test_read_fixture (TEXT_FIXTURE ".sse", NULL);
  g_autofree char *expected = confab_test_read_fixture (TEXT_FIXTURE ".expected", NULL);
  Call call = { 0 };

  server_set_reply (s, 200, "text/event-stream", sse, 173, 2);
  provider = confab_anthropic_provider_new (s->base_url, "sk-ant-test");
  run_simple_chat (provider, "claude-sonnet-4-20250514", &call);

  g_assert_no_error (call.error);
  g_assert_true (call.ok);
  g_assert_cmpstr (call.result->content->str, ==, expected);
  g_assert_cmpstr (call.result->reasoning->str, ==, "");
  g_assert_cmpstr (call.result->finish_reason, ==, "end_turn");
  g_assert_cmpstr (call.result->model, ==, "claude-sonnet-4-20250514");
  g_assert_cmpint (call.result->prompt_tokens, ==, 18);
  g_assert_cmpint (call.result->completion_tokens, ==, 240);
  g_assert_cmpint (call.result->total_tokens, ==, 258);
  g_assert_true (call.result->done);
  g_assert_cmpuint (call.result->http_status, ==, 200);
  g_assert_cmpuint (call.n_progress, >, 1);

  confab_test_call_clear (&call);
}

static void
test_stream_thinking (void)
{
  g_autoptr(Server) s = server_new ();
  g_autoptr(ConfabAnthropicProvider) provider = NULL;
  g_autofree char *sse = confab_test_read_fixture (THINKING_FIXTURE ".sse", NULL);
  g_autofree char *expected = confab_test_read_fixture (THINKING_FIXTURE ".expected", NULL);
  g_autofree char *reasoning = confab_test_read_fixture (THINKING_FIXTURE ".expected.reasoning", NULL);
  Call call = { 0 };

  server_set_reply (s, 200, "text/event-stream", sse, 409, 1);
  provider = confab_anthropic_provider_new (s->base_url, "sk-ant-test");
  run_simple_chat (provider, "claude-sonnet-4-20250514", &call);

  g_assert_no_error (call.error);
  g_assert_true (call.ok);
  g_assert_cmpstr (call.result->reasoning->str, ==, reasoning);
  g_assert_cmpstr (call.result->content->str, ==, expected);
  g_assert_cmpstr (call.result->finish_reason, ==, "end_turn");
  g_assert_cmpint (call.result->completion_tokens, ==, 282);
  g_assert_true (call.result->done);

  confab_test_call_clear (&call);
}

static void
test_request (void)
{
  g_autoptr(Server) s = server_new ();
  g_autoptr(ConfabAnthropicProvider) provider = NULL;
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *base = g_strconcat (s->base_url, "/", NULL);
  ConfabChatRequest request = { "claude-test", 1.7, "Be brief.", messages };
  ConfabMessage *failed;
  JsonObject *body;
  JsonArray *turns;
  Call call = { 0 };

  /* Not the conversation's start: a greeting the app showed first. */
  g_ptr_array_add (messages, confab_message_new (CONFAB_ROLE_ASSISTANT, "How can I help?"));
  g_ptr_array_add (messages, confab_message_new (CONFAB_ROLE_USER, "Hello"));
  g_ptr_array_add (messages, confab_message_new (CONFAB_ROLE_USER, "Are you there?"));
  failed = confab_message_new (CONFAB_ROLE_ASSISTANT, "");
  confab_message_set_state (failed, CONFAB_MESSAGE_STATE_ERROR);
  g_ptr_array_add (messages, failed);
  g_ptr_array_add (messages, confab_message_new (CONFAB_ROLE_ASSISTANT, "Yes."));
  g_ptr_array_add (messages, confab_message_new (CONFAB_ROLE_USER, " \n\t"));
  g_ptr_array_add (messages, confab_message_new (CONFAB_ROLE_SYSTEM, "Not a turn"));
  g_ptr_array_add (messages, confab_message_new (CONFAB_ROLE_ASSISTANT, "Still here."));
  g_ptr_array_add (messages, confab_message_new (CONFAB_ROLE_USER, "Say “ünïcode” \"q\"\n"));

  server_set_reply (s, 200, "text/event-stream", small_stream, 0, 0);
  /* A trailing slash on the base is not doubled. */
  provider = confab_anthropic_provider_new (base, "sk-ant-secret");
  g_object_set (provider, "max-tokens", 1234, NULL);
  confab_test_run_chat (provider, &request, &call, NULL, 20);

  g_assert_no_error (call.error);
  g_assert_true (call.ok);
  g_assert_cmpstr (call.result->content->str, ==, "Hi");
  g_assert_cmpstr (call.result->finish_reason, ==, "max_tokens");
  g_assert_cmpint (call.result->total_tokens, ==, 7);

  g_assert_cmpuint (s->n_requests, ==, 1);
  g_assert_cmpstr (s->method, ==, "POST");
  g_assert_cmpstr (s->path, ==, "/v1/messages");
  g_assert_cmpstr (server_get_header (s, "x-api-key"), ==, "sk-ant-secret");
  g_assert_null (server_get_header (s, "Authorization"));
  g_assert_cmpstr (server_get_header (s, "anthropic-version"), ==, "2023-06-01");
  g_assert_cmpstr (soup_message_headers_get_content_type (s->headers, NULL), ==,
                   "application/json");
  g_assert_cmpstr (server_get_header (s, "Accept"), ==, "text/event-stream");

  body = parse_request_body (s, &root);
  g_assert_cmpstr (json_object_get_string_member (body, "model"), ==, "claude-test");
  g_assert_cmpint (json_object_get_int_member (body, "max_tokens"), ==, 1234);
  g_assert_true (json_object_get_boolean_member (body, "stream"));
  g_assert_cmpstr (json_object_get_string_member (body, "system"), ==, "Be brief.");
  /* 1.7 is fine for OpenAI; Anthropic's range ends at 1. */
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (body, "temperature"),
                                  1.0, 1e-9);
  g_assert_false (json_object_has_member (body, "stream_options"));

  turns = json_object_get_array_member (body, "messages");
  g_assert_nonnull (turns);
  g_assert_cmpuint (json_array_get_length (turns), ==, 3);
  assert_turn (turns, 0, "user", "Hello\n\nAre you there?");
  assert_turn (turns, 1, "assistant", "Yes.\n\nStill here.");
  assert_turn (turns, 2, "user", "Say “ünïcode” \"q\"\n");

  confab_test_call_clear (&call);
}

static void
test_request_minimal (void)
{
  g_autoptr(Server) s = server_new ();
  g_autoptr(ConfabAnthropicProvider) provider = NULL;
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(JsonNode) root = NULL;
  ConfabChatRequest request = { "claude-test", -1, "", messages };
  JsonObject *body;
  JsonArray *turns;
  Call call = { 0 };

  /* Continuing a cut-off reply: the last turn is the assistant's own. */
  g_ptr_array_add (messages, confab_message_new (CONFAB_ROLE_USER, "Tell a story"));
  g_ptr_array_add (messages, confab_message_new (CONFAB_ROLE_ASSISTANT, "Once upon a \n"));

  server_set_reply (s, 200, "text/event-stream", small_stream, 0, 0);
  provider = confab_anthropic_provider_new (s->base_url, NULL);
  confab_test_run_chat (provider, &request, &call, NULL, 20);
  g_assert_no_error (call.error);
  g_assert_true (call.ok);

  g_assert_null (server_get_header (s, "x-api-key"));
  g_assert_null (server_get_header (s, "Authorization"));
  g_assert_cmpstr (server_get_header (s, "anthropic-version"), ==, "2023-06-01");

  body = parse_request_body (s, &root);
  g_assert_false (json_object_has_member (body, "system"));
  g_assert_false (json_object_has_member (body, "temperature"));
  g_assert_cmpint (json_object_get_int_member (body, "max_tokens"), ==, 4096);
  turns = json_object_get_array_member (body, "messages");
  g_assert_cmpuint (json_array_get_length (turns), ==, 2);
  assert_turn (turns, 0, "user", "Tell a story");
  assert_turn (turns, 1, "assistant", "Once upon a");
  confab_test_call_clear (&call);

  /* A temperature in range goes as it is; an empty key is no key. */
  request.temperature = 0.3;
  g_object_set (provider, "api-key", "", NULL);
  confab_test_run_chat (provider, &request, &call, NULL, 20);
  g_assert_true (call.ok);
  g_assert_null (server_get_header (s, "x-api-key"));
  g_clear_pointer (&root, json_node_unref);
  body = parse_request_body (s, &root);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (body, "temperature"),
                                  0.3, 1e-9);
  g_assert_cmpuint (s->n_requests, ==, 2);

  confab_test_call_clear (&call);
}

static void
test_stream_error (void)
{
  g_autoptr(Server) s = server_new ();
  g_autoptr(ConfabAnthropicProvider) provider = NULL;
  g_autofree char *sse = confab_test_read_fixture (ERROR_FIXTURE ".sse", NULL);
  g_autofree char *expected = confab_test_read_fixture (ERROR_FIXTURE ".expected", NULL);
  Call call = { 0 };

  server_set_reply (s, 200, "text/event-stream", sse, 101, 2);
  provider = confab_anthropic_provider_new (s->base_url, "sk-ant-test");
  run_simple_chat (provider, "claude-sonnet-4-20250514", &call);

  g_assert_false (call.ok);
  g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_STREAM);
  g_assert_nonnull (strstr (call.error->message, "“Overloaded”"));
  g_assert_cmpstr (call.result->error_message, ==, "Overloaded");
  g_assert_cmpstr (call.result->error_code, ==, "api_error");
  g_assert_cmpstr (call.result->content->str, ==, expected);
  g_assert_false (call.result->done);

  confab_test_call_clear (&call);
}

/* A stream cut before message_stop is not a whole reply. */
static void
test_stream_cut (void)
{
  g_autoptr(Server) s = server_new ();
  g_autoptr(ConfabAnthropicProvider) provider = NULL;
  g_autofree char *sse = confab_test_read_fixture (TEXT_FIXTURE ".sse", NULL);
  char *cut = strstr (sse, "event: content_block_stop");
  Call call = { 0 };

  g_assert_nonnull (cut);
  *cut = '\0';
  server_set_reply (s, 200, "text/event-stream", sse, 512, 1);
  provider = confab_anthropic_provider_new (s->base_url, NULL);
  run_simple_chat (provider, "claude-test", &call);

  g_assert_false (call.ok);
  g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_INTERRUPTED);
  g_assert_true (g_str_has_prefix (call.result->content->str, "This is a famous"));
  g_assert_null (call.result->finish_reason);
  g_assert_false (call.result->done);

  confab_test_call_clear (&call);
}

typedef struct
{
  guint                status;
  const char          *body;
  const char          *headers[3];
  ConfabProviderError  code;
  const char          *needle;         /* the server's words, in the message */
  const char          *needle2;        /* Confab's own, or NULL */
  gint64               retry_after_ms;
} ErrorCase;

static void
test_http_errors (void)
{
  g_autoptr(Server) s = server_new ();
  g_autoptr(ConfabAnthropicProvider) provider = NULL;
  const ErrorCase cases[] = {
    { 401, "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\","
      "\"message\":\"invalid x-api-key\"}}",
      { NULL }, CONFAB_PROVIDER_ERROR_UNAUTHORIZED, "invalid x-api-key", "API key", -1 },
    { 529, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
      "\"message\":\"Overloaded\"}}",
      { NULL }, CONFAB_PROVIDER_ERROR_SERVER, "“Overloaded”", "529", -1 },
    { 429, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
      "\"message\":\"Number of request tokens has exceeded your per-minute rate limit\"}}",
      { "retry-after", "7", NULL }, CONFAB_PROVIDER_ERROR_RATE_LIMITED,
      "per-minute rate limit", "7 seconds", 7000 },
    { 404, "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\","
      "\"message\":\"model: claude-nope\"}}",
      { NULL }, CONFAB_PROVIDER_ERROR_NOT_FOUND, "model: claude-nope", "“claude-nope”", -1 },
    { 400, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
      "\"message\":\"messages: roles must alternate\"}}",
      { NULL }, CONFAB_PROVIDER_ERROR_BAD_REQUEST, "roles must alternate", "400", -1 },
    /* A careless proxy that quotes the key back. */
    { 403, "{\"type\":\"error\",\"error\":{\"type\":\"permission_error\","
      "\"message\":\"Key sk-ant-secret may not use this model\"}}",
      { NULL }, CONFAB_PROVIDER_ERROR_FORBIDDEN, "Key [redacted] may not", NULL, -1 },
  };

  provider = confab_anthropic_provider_new (s->base_url, "sk-ant-secret");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const ErrorCase *c = &cases[i];
      Call call = { 0 };

      g_test_message ("HTTP %u: %s", c->status, c->needle);
      server_set_reply (s, c->status, "application/json", c->body, 0, 0);
      s->reply_headers = (const char **) c->headers;
      run_simple_chat (provider, "claude-nope", &call);

      g_assert_false (call.ok);
      g_assert_error (call.error, CONFAB_PROVIDER_ERROR, (int) c->code);
      g_assert_nonnull (strstr (call.error->message, c->needle));
      if (c->needle2 != NULL)
        g_assert_nonnull (strstr (call.error->message, c->needle2));
      g_assert_null (strstr (call.error->message, "sk-ant-secret"));
      g_assert_cmpuint (call.result->http_status, ==, c->status);
      g_assert_cmpint (call.result->retry_after_ms, ==, c->retry_after_ms);

      confab_test_call_clear (&call);
    }

  g_assert_cmpuint (s->n_requests, ==, G_N_ELEMENTS (cases));
}

static void
test_cancel (void)
{
  g_autoptr(Server) s = server_new ();
  g_autoptr(ConfabAnthropicProvider) provider = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GString) sse = g_string_new (NULL);
  ConfabChatRequest request = { "claude-test", -1, NULL, messages };
  gsize first_len;
  Call call = { 0 };

  g_string_append (sse,
                   "event: content_block_delta\n"
                   "data: {\"type\":\"content_block_delta\",\"index\":0,"
                   "\"delta\":{\"type\":\"text_delta\",\"text\":\"First words\"}}\n\n");
  first_len = sse->len;
  for (guint i = 0; i < 200; i++)
    g_string_append (sse,
                     "event: content_block_delta\n"
                     "data: {\"type\":\"content_block_delta\",\"index\":0,"
                     "\"delta\":{\"type\":\"text_delta\",\"text\":\" more\"}}\n\n");

  /* One event every 50 ms: ten seconds in all, unless cancelled. */
  g_ptr_array_add (messages, confab_message_new (CONFAB_ROLE_USER, "Talk"));
  server_set_reply (s, 200, "text/event-stream", sse->str, first_len, 50);
  provider = confab_anthropic_provider_new (s->base_url, NULL);
  call.cancel_on_progress = g_object_ref (cancellable);
  confab_test_run_chat (provider, &request, &call, cancellable, 20);

  g_assert_false (call.ok);
  g_assert_error (call.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (g_str_has_prefix (call.result->content->str, "First words"));
  g_assert_cmpuint (call.result->content->len, <, 100);
  g_assert_cmpuint (call.n_progress, ==, 1);

  /* The server sees the connection go away. */
  confab_test_wait_until (&s->aborted, 20, "the server to see the connection close");

  confab_test_call_clear (&call);
}

static void
test_list_models (void)
{
  g_autoptr(Server) s = server_new ();
  g_autoptr(ConfabAnthropicProvider) provider = NULL;
  const char * const expected[] = { "claude-haiku-test", "claude-sonnet-test", NULL };
  g_autofree char *base = NULL;
  Call call = { 0 };

  server_set_reply (s, 200, "application/json",
                    "{\"data\":[{\"type\":\"model\",\"id\":\"claude-sonnet-test\","
                    "\"display_name\":\"Claude Sonnet\",\"created_at\":\"2025-02-19T00:00:00Z\"},"
                    "{\"type\":\"model\",\"id\":\"claude-haiku-test\"}],"
                    "\"has_more\":false,\"first_id\":\"claude-sonnet-test\","
                    "\"last_id\":\"claude-haiku-test\"}",
                    0, 0);
  provider = confab_anthropic_provider_new (s->base_url, "sk-ant-models");
  confab_test_run_models (provider, &call);

  g_assert_no_error (call.error);
  g_assert_cmpstrv (call.models, expected);
  g_assert_cmpstr (s->method, ==, "GET");
  g_assert_cmpstr (s->path, ==, "/v1/models");
  g_assert_cmpstr (s->query, ==, "limit=1000");
  g_assert_cmpstr (server_get_header (s, "x-api-key"), ==, "sk-ant-models");
  g_assert_null (server_get_header (s, "Authorization"));
  g_assert_cmpstr (server_get_header (s, "anthropic-version"), ==, "2023-06-01");
  confab_test_call_clear (&call);

  /* A query the base carries (as some gateways want) is kept. */
  base = g_strconcat (s->base_url, "?tenant=a", NULL);
  g_object_set (provider, "base-url", base, NULL);
  confab_test_run_models (provider, &call);
  g_assert_cmpstrv (call.models, expected);
  g_assert_cmpstr (s->path, ==, "/v1/models");
  g_assert_cmpstr (s->query, ==, "tenant=a&limit=1000");
  confab_test_call_clear (&call);

  /* A refused key, in Anthropic's words. */
  server_set_reply (s, 401, "application/json",
                    "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\","
                    "\"message\":\"invalid x-api-key\"}}",
                    0, 0);
  confab_test_run_models (provider, &call);
  g_assert_null (call.models);
  g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_UNAUTHORIZED);
  g_assert_nonnull (strstr (call.error->message, "invalid x-api-key"));
  confab_test_call_clear (&call);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/anthropic/properties", test_properties);
  g_test_add_func ("/anthropic/stream-text", test_stream_text);
  g_test_add_func ("/anthropic/stream-thinking", test_stream_thinking);
  g_test_add_func ("/anthropic/request", test_request);
  g_test_add_func ("/anthropic/request-minimal", test_request_minimal);
  g_test_add_func ("/anthropic/stream-error", test_stream_error);
  g_test_add_func ("/anthropic/stream-cut", test_stream_cut);
  g_test_add_func ("/anthropic/http-errors", test_http_errors);
  g_test_add_func ("/anthropic/cancel", test_cancel);
  g_test_add_func ("/anthropic/list-models", test_list_models);

  return g_test_run ();
}
