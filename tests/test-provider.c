/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ConfabOpenaiProvider against a real SoupServer on 127.0.0.1 in the same
 * process. Streaming handlers pause the message and append chunks from
 * timeouts on the main loop, so the client really receives the reply in
 * pieces; other handlers serve whole bodies. Every wait iterates the main
 * loop until the event, with a timeout that fails the test.
 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "confab-message.h"
#include "confab-openai-provider.h"
#include "confab-test-util.h"

/* ------------------------------------------------------------------------ */
/* Waiting                                                                  */
/* ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------ */
/* The server                                                               */
/* ------------------------------------------------------------------------ */

typedef struct _TestServer TestServer;
typedef void (*ServeFunc) (TestServer        *ts,
                           SoupServerMessage *msg,
                           gpointer           data);

typedef enum
{
  END_COMPLETE,    /* finish the body normally */
  END_DISCONNECT,  /* drop the TCP connection after the last piece */
  END_HANG,        /* send nothing more, ever */
} EndMode;

typedef struct
{
  TestServer        *ts;
  SoupServerMessage *msg;
  GPtrArray         *pieces;      /* GBytes */
  guint              next;
  guint              n_written;
  guint              interval_ms;
  EndMode            end;
  guint              timeout_id;
  gboolean           finished;
} Streamer;

struct _TestServer
{
  SoupServer *server;
  char       *base_url;
  guint       port;

  ServeFunc   serve;
  gpointer    serve_data;

  guint       n_requests;
  char       *method;
  char       *path;
  char       *authorization;
  char       *content_type;
  char       *accept;
  GBytes     *request_body;

  GPtrArray  *streamers;
  gboolean    aborted;
};

static void
request_aborted_cb (SoupServer        *server,
                    SoupServerMessage *msg,
                    TestServer        *ts)
{
  ts->aborted = TRUE;
}

static void
server_handler (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  TestServer *ts = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  ts->n_requests++;
  g_free (ts->method);
  ts->method = g_strdup (soup_server_message_get_method (msg));
  g_free (ts->path);
  ts->path = g_strdup (path);
  g_free (ts->authorization);
  ts->authorization = g_strdup (soup_message_headers_get_one (headers, "Authorization"));
  g_free (ts->content_type);
  ts->content_type = g_strdup (soup_message_headers_get_content_type (headers, NULL));
  g_free (ts->accept);
  ts->accept = g_strdup (soup_message_headers_get_one (headers, "Accept"));
  g_clear_pointer (&ts->request_body, g_bytes_unref);
  ts->request_body = soup_message_body_flatten (soup_server_message_get_request_body (msg));

  g_assert_nonnull (ts->serve);
  ts->serve (ts, msg, ts->serve_data);
}

static TestServer *
test_server_new_full (gboolean         https,
                      GTlsCertificate *certificate)
{
  TestServer *ts = g_new0 (TestServer, 1);
  g_autoptr(GError) error = NULL;
  g_autoslist(GUri) uris = NULL;

  ts->server = soup_server_new ("tls-certificate", certificate, NULL);
  g_signal_connect (ts->server, "request-aborted", G_CALLBACK (request_aborted_cb), ts);
  soup_server_add_handler (ts->server, NULL, server_handler, ts, NULL);

  soup_server_listen_local (ts->server, 0,
                            SOUP_SERVER_LISTEN_IPV4_ONLY |
                            (https ? SOUP_SERVER_LISTEN_HTTPS : 0),
                            &error);
  g_assert_no_error (error);

  uris = soup_server_get_uris (ts->server);
  g_assert_nonnull (uris);
  ts->port = (guint) g_uri_get_port (uris->data);
  g_assert_cmpuint (ts->port, >, 0);
  ts->base_url = g_strdup_printf ("%s://127.0.0.1:%u/v1", https ? "https" : "http", ts->port);
  ts->streamers = g_ptr_array_new ();

  return ts;
}

static TestServer *
test_server_new (void)
{
  return test_server_new_full (FALSE, NULL);
}

static void
streamer_free (Streamer *s)
{
  g_clear_handle_id (&s->timeout_id, g_source_remove);
  g_signal_handlers_disconnect_by_data (s->msg, s);
  g_clear_object (&s->msg);
  g_ptr_array_unref (s->pieces);
  g_free (s);
}

static void
test_server_free (TestServer *ts)
{
  soup_server_disconnect (ts->server);
  for (guint i = 0; i < ts->streamers->len; i++)
    streamer_free (g_ptr_array_index (ts->streamers, i));
  g_ptr_array_unref (ts->streamers);
  g_assert_finalize_object (ts->server);
  g_free (ts->base_url);
  g_free (ts->method);
  g_free (ts->path);
  g_free (ts->authorization);
  g_free (ts->content_type);
  g_free (ts->accept);
  g_clear_pointer (&ts->request_body, g_bytes_unref);
  g_free (ts);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestServer, test_server_free)

/* A canned, whole response. */
typedef struct
{
  guint        status;
  const char  *content_type;
  const char  *body;
  const char **headers;      /* name, value, …, NULL */
} Canned;

static void
serve_canned (TestServer        *ts,
              SoupServerMessage *msg,
              gpointer           data)
{
  const Canned *canned = data;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  for (guint i = 0; canned->headers != NULL && canned->headers[i] != NULL; i += 2)
    soup_message_headers_replace (headers, canned->headers[i], canned->headers[i + 1]);

  soup_server_message_set_status (msg, canned->status, NULL);
  if (canned->body != NULL)
    soup_server_message_set_response (msg, canned->content_type, SOUP_MEMORY_COPY,
                                      canned->body, strlen (canned->body));
}

/* A reply streamed in pieces with chunked encoding. */
typedef struct
{
  GPtrArray *pieces;       /* GBytes */
  guint      interval_ms;
  EndMode    end;
  const char *content_type;
} StreamSpec;

static gboolean streamer_tick_cb (gpointer user_data);

/* Drops the connection with a TCP reset, as a crashing server or a proxy
 * would: the client's next read fails. */
static void
streamer_reset (Streamer *s)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GIOStream) connection = NULL;
  struct linger linger = { 1, 0 };

  if (s->finished)
    return;

  s->finished = TRUE;
  g_clear_handle_id (&s->timeout_id, g_source_remove);
  socket = g_object_ref (soup_server_message_get_socket (s->msg));
  g_assert_cmpint (setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_LINGER,
                               &linger, sizeof linger), ==, 0);
  connection = soup_server_message_steal_connection (s->msg);
  g_assert_nonnull (connection);
  g_socket_close (socket, NULL);
}

static gboolean
streamer_disconnect_cb (gpointer user_data)
{
  Streamer *s = user_data;

  s->timeout_id = 0;
  streamer_reset (s);

  return G_SOURCE_REMOVE;
}

static void
streamer_wrote_chunk_cb (SoupServerMessage *msg,
                         Streamer          *s)
{
  s->n_written++;

  /* Everything is on the wire: now cut the connection. */
  if (s->end == END_DISCONNECT && s->n_written == s->pieces->len && s->timeout_id == 0)
    s->timeout_id = g_idle_add (streamer_disconnect_cb, s);
}

static void
streamer_finished_cb (SoupServerMessage *msg,
                      Streamer          *s)
{
  s->finished = TRUE;
  g_clear_handle_id (&s->timeout_id, g_source_remove);
}

static gboolean
streamer_tick_cb (gpointer user_data)
{
  Streamer *s = user_data;
  SoupMessageBody *body;

  if (s->finished)
    {
      s->timeout_id = 0;
      return G_SOURCE_REMOVE;
    }

  body = soup_server_message_get_response_body (s->msg);

  if (s->next < s->pieces->len)
    {
      soup_message_body_append_bytes (body, g_ptr_array_index (s->pieces, s->next));
      s->next++;
      soup_server_message_unpause (s->msg);

      if (s->next < s->pieces->len || s->end == END_COMPLETE)
        return G_SOURCE_CONTINUE;

      /* END_HANG: silence; END_DISCONNECT: wait for wrote-chunk. */
      s->timeout_id = 0;
      return G_SOURCE_REMOVE;
    }

  s->timeout_id = 0;
  soup_message_body_complete (body);
  soup_server_message_unpause (s->msg);

  return G_SOURCE_REMOVE;
}

static void
serve_stream (TestServer        *ts,
              SoupServerMessage *msg,
              gpointer           data)
{
  const StreamSpec *spec = data;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  Streamer *s = g_new0 (Streamer, 1);

  s->ts = ts;
  s->msg = g_object_ref (msg);
  s->pieces = g_ptr_array_ref (spec->pieces);
  s->interval_ms = spec->interval_ms;
  s->end = spec->end;
  g_ptr_array_add (ts->streamers, s);

  g_signal_connect (msg, "wrote-chunk", G_CALLBACK (streamer_wrote_chunk_cb), s);
  g_signal_connect (msg, "finished", G_CALLBACK (streamer_finished_cb), s);
  g_signal_connect (msg, "disconnected", G_CALLBACK (streamer_finished_cb), s);

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_set_content_type (headers,
                                         spec->content_type != NULL ? spec->content_type
                                                                    : "text/event-stream",
                                         NULL);
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  soup_server_message_pause (msg);

  s->timeout_id = g_timeout_add (MAX (s->interval_ms, 1), streamer_tick_cb, s);
}

static GPtrArray *
pieces_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
}

static void
pieces_add (GPtrArray  *pieces,
            const char *text)
{
  g_ptr_array_add (pieces, g_bytes_new (text, strlen (text)));
}

/* @data cut into @n pieces of unequal sizes. */
static GPtrArray *
pieces_split (const char *data,
              gsize       len,
              guint       n)
{
  GPtrArray *pieces = pieces_new ();
  gsize offset = 0;

  for (guint i = 0; i < n && offset < len; i++)
    {
      gsize size = i + 1 == n ? len - offset : MAX (1, (len / n) + (i % 3) * 7 - 7);

      size = MIN (size, len - offset);
      g_ptr_array_add (pieces, g_bytes_new (data + offset, size));
      offset += size;
    }

  return pieces;
}


static const char finish_event[] =
  "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";

/* ------------------------------------------------------------------------ */
/* The client                                                               */
/* ------------------------------------------------------------------------ */

typedef ConfabTestCall Call;

static void
run_simple_chat (ConfabOpenaiProvider *provider,
                 const char           *model,
                 Call                 *call)
{
  ConfabChatRequest request = { model, -1, NULL, NULL };

  confab_test_run_chat (provider, &request, call, NULL, 20);
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */
/* ------------------------------------------------------------------------ */

static void
serve_small_stream (TestServer        *ts,
                    SoupServerMessage *msg,
                    gpointer           data)
{
  g_autofree char *event = confab_test_content_event ("Hi");
  g_autofree char *body = g_strconcat (event, finish_event, "data: [DONE]\n\n", NULL);

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/event-stream", SOUP_MEMORY_COPY,
                                    body, strlen (body));
}

static JsonObject *
parse_request_body (TestServer *ts,
                    JsonNode  **root_out)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  gsize len;
  const char *data;

  g_assert_nonnull (ts->request_body);
  data = g_bytes_get_data (ts->request_body, &len);
  json_parser_load_from_data (parser, data, (gssize) len, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  *root_out = json_node_ref (json_parser_get_root (parser));

  return json_node_get_object (*root_out);
}

static void
assert_message (JsonArray  *messages,
                guint       index,
                const char *role,
                const char *content)
{
  JsonObject *message;

  g_assert_cmpuint (index, <, json_array_get_length (messages));
  message = json_array_get_object_element (messages, index);
  g_assert_nonnull (message);
  g_assert_cmpstr (json_object_get_string_member (message, "role"), ==, role);
  g_assert_cmpstr (json_object_get_string_member (message, "content"), ==, content);
}

static void
test_request_body (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *base = g_strconcat (ts->base_url, "/", NULL);
  ConfabMessage *failed;
  ConfabChatRequest request = { "gpt-test", 0.5, "Be brief.", messages };
  JsonObject *body;
  JsonObject *options;
  JsonArray *sent;
  Call call = { 0 };

  ts->serve = serve_small_stream;

  g_ptr_array_add (messages, confab_message_new (CONFAB_ROLE_USER, "Hello"));
  g_ptr_array_add (messages, confab_message_new (CONFAB_ROLE_ASSISTANT, "Hi there"));
  failed = confab_message_new (CONFAB_ROLE_ASSISTANT, "");
  confab_message_set_state (failed, CONFAB_MESSAGE_STATE_ERROR);
  g_ptr_array_add (messages, failed);
  g_ptr_array_add (messages,
                   confab_message_new (CONFAB_ROLE_USER, "Say “ünïcode” \"quoted\"\n"));

  /* A trailing slash on the base is not doubled. */
  provider = confab_openai_provider_new (base, "sk-test-secret");
  confab_test_run_chat (provider, &request, &call, NULL, 20);

  g_assert_no_error (call.error);
  g_assert_true (call.ok);
  g_assert_cmpstr (call.result->content->str, ==, "Hi");
  g_assert_cmpstr (call.result->finish_reason, ==, "stop");
  g_assert_cmpuint (call.result->http_status, ==, 200);

  g_assert_cmpuint (ts->n_requests, ==, 1);
  g_assert_cmpstr (ts->method, ==, "POST");
  g_assert_cmpstr (ts->path, ==, "/v1/chat/completions");
  g_assert_cmpstr (ts->authorization, ==, "Bearer sk-test-secret");
  g_assert_cmpstr (ts->content_type, ==, "application/json");
  g_assert_cmpstr (ts->accept, ==, "text/event-stream");

  body = parse_request_body (ts, &root);
  g_assert_cmpstr (json_object_get_string_member (body, "model"), ==, "gpt-test");
  g_assert_true (json_object_get_boolean_member (body, "stream"));
  options = json_object_get_object_member (body, "stream_options");
  g_assert_nonnull (options);
  g_assert_true (json_object_get_boolean_member (options, "include_usage"));
  g_assert_true (json_object_has_member (body, "temperature"));
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (body, "temperature"), 0.5, 1e-9);

  sent = json_object_get_array_member (body, "messages");
  g_assert_nonnull (sent);
  g_assert_cmpuint (json_array_get_length (sent), ==, 4);
  assert_message (sent, 0, "system", "Be brief.");
  assert_message (sent, 1, "user", "Hello");
  assert_message (sent, 2, "assistant", "Hi there");
  assert_message (sent, 3, "user", "Say “ünïcode” \"quoted\"\n");

  confab_test_call_clear (&call);
}

static void
test_request_no_key (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(JsonNode) root = NULL;
  ConfabChatRequest request = { "llama3", -1, "", messages };
  JsonObject *body;
  JsonArray *sent;
  Call call = { 0 };

  ts->serve = serve_small_stream;
  g_ptr_array_add (messages, confab_message_new (CONFAB_ROLE_USER, "Hello"));

  provider = confab_openai_provider_new (ts->base_url, NULL);
  confab_test_run_chat (provider, &request, &call, NULL, 20);
  g_assert_no_error (call.error);
  g_assert_true (call.ok);

  g_assert_null (ts->authorization);
  body = parse_request_body (ts, &root);
  g_assert_false (json_object_has_member (body, "temperature"));
  sent = json_object_get_array_member (body, "messages");
  g_assert_cmpuint (json_array_get_length (sent), ==, 1);
  assert_message (sent, 0, "user", "Hello");

  /* An empty key is no key either. */
  confab_test_call_clear (&call);
  g_object_set (provider, "api-key", "", NULL);
  confab_test_run_chat (provider, &request, &call, NULL, 20);
  g_assert_true (call.ok);
  g_assert_null (ts->authorization);
  g_assert_cmpuint (ts->n_requests, ==, 2);

  confab_test_call_clear (&call);
}

static void
test_properties (void)
{
  g_autoptr(ConfabOpenaiProvider) provider = confab_openai_provider_new ("http://x/v1", "k");
  g_autofree char *base_url = NULL;
  guint idle, connect;
  guint64 max_reply, max_line;

  g_object_get (provider,
                "base-url", &base_url,
                "idle-timeout", &idle,
                "connect-timeout", &connect,
                "max-reply-size", &max_reply,
                "max-line-length", &max_line,
                NULL);
  g_assert_cmpstr (base_url, ==, "http://x/v1");
  g_assert_cmpuint (idle, ==, 120);
  g_assert_cmpuint (connect, ==, 30);
  g_assert_cmpuint (max_reply, ==, 32 * 1024 * 1024);
  g_assert_cmpuint (max_line, ==, 8 * 1024 * 1024);
  g_assert_true (CONFAB_IS_PROVIDER (provider));
}

static void
test_stream_fixture (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autofree char *sse = NULL;
  g_autofree char *expected = NULL;
  g_autoptr(GPtrArray) pieces = NULL;
  StreamSpec spec = { 0 };
  gsize len;
  Call call = { 0 };

  sse = confab_test_read_fixture ("openai-python-text-usage.sse", &len);
  expected = confab_test_read_fixture ("openai-python-text-usage.expected", NULL);
  pieces = pieces_split (sse, len, 9);
  spec.pieces = pieces;
  spec.interval_ms = 15;
  spec.end = END_COMPLETE;
  ts->serve = serve_stream;
  ts->serve_data = &spec;

  provider = confab_openai_provider_new (ts->base_url, "sk-test");
  run_simple_chat (provider, "gpt-4o", &call);

  g_assert_no_error (call.error);
  g_assert_true (call.ok);
  g_assert_cmpstr (call.result->content->str, ==, expected);
  g_assert_cmpstr (call.result->finish_reason, ==, "stop");
  g_assert_cmpint (call.result->prompt_tokens, ==, 14);
  g_assert_cmpint (call.result->completion_tokens, ==, 30);
  g_assert_cmpint (call.result->total_tokens, ==, 44);
  g_assert_true (call.result->done);
  g_assert_cmpuint (call.result->http_status, ==, 200);
  g_assert_cmpuint (call.n_progress, >, 1);

  confab_test_call_clear (&call);
}

typedef struct
{
  guint               status;
  const char         *content_type;
  const char         *body;
  const char         *headers[9];
  ConfabProviderError code;
  const char         *needle;        /* must appear in the message */
  const char         *needle2;       /* may be NULL */
  gint64              retry_after_ms; /* -1: none expected; -2: a date, checked loosely */
} ErrorCase;

static void
test_http_errors (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) later = g_date_time_add_seconds (now, 90);
  g_autofree char *later_text = g_date_time_format (later, "%a, %d %b %Y %H:%M:%S GMT");
  const ErrorCase cases[] = {
    { 401, "application/json",
      "{\"error\":{\"message\":\"Incorrect API key provided: sk-te***\","
      "\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}",
      { NULL }, CONFAB_PROVIDER_ERROR_UNAUTHORIZED, "Incorrect API key provided", "API key", -1 },
    { 401, "application/json",
      "{\"error\":{\"message\":\"Key sk-test-secret is not valid\"}}",
      { NULL }, CONFAB_PROVIDER_ERROR_UNAUTHORIZED, "Key [redacted] is not valid", NULL, -1 },
    { 403, "application/json",
      "{\"error\":{\"message\":\"Country, region, or territory not supported\","
      "\"type\":\"request_forbidden\",\"code\":\"unsupported_country_region_territory\"}}",
      { NULL }, CONFAB_PROVIDER_ERROR_FORBIDDEN, "Country, region, or territory not supported",
      NULL, -1 },
    { 404, "application/json",
      "{\"error\":{\"message\":\"The model `gpt-missing` does not exist\","
      "\"type\":\"invalid_request_error\",\"code\":\"model_not_found\"}}",
      { NULL }, CONFAB_PROVIDER_ERROR_NOT_FOUND, "The model `gpt-missing` does not exist",
      "“gpt-missing”", -1 },
    { 429, "application/json",
      "{\"error\":{\"message\":\"Rate limit reached for requests\",\"type\":\"requests\"}}",
      { "Retry-After", "7", NULL }, CONFAB_PROVIDER_ERROR_RATE_LIMITED,
      "Rate limit reached for requests", "7 seconds", 7000 },
    { 429, "application/json", "{\"error\":{\"message\":\"Slow down\"}}",
      { "Retry-After", later_text, NULL }, CONFAB_PROVIDER_ERROR_RATE_LIMITED,
      "Slow down", "minute", -2 },
    { 429, "application/json", "{\"error\":{\"message\":\"Tokens per minute exceeded\"}}",
      { "x-ratelimit-remaining-requests", "12", "x-ratelimit-reset-requests", "1s",
        "x-ratelimit-remaining-tokens", "0", "x-ratelimit-reset-tokens", "6m0s", NULL },
      CONFAB_PROVIDER_ERROR_RATE_LIMITED, "Tokens per minute exceeded", "6 minutes", 360000 },
    { 429, "application/json", "{\"error\":{\"message\":\"Quota\"}}",
      { "x-ratelimit-reset-requests", "12ms", "x-ratelimit-reset-tokens", "1h2m3.5s", NULL },
      CONFAB_PROVIDER_ERROR_RATE_LIMITED, "Quota", "2 hours", 3723500 },
    { 429, "text/plain", "Too many requests, calm down",
      { NULL }, CONFAB_PROVIDER_ERROR_RATE_LIMITED, "Too many requests, calm down",
      "Try again later", -1 },
    { 500, "application/json",
      "{\"error\":{\"message\":\"The server had an error while processing your request.\","
      "\"type\":\"server_error\"}}",
      { NULL }, CONFAB_PROVIDER_ERROR_SERVER,
      "The server had an error while processing your request.", "500", -1 },
    { 502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>",
      { NULL }, CONFAB_PROVIDER_ERROR_SERVER, "502", NULL, -1 },
    { 503, "application/json", "{\"object\":\"error\",\"message\":\"Engine is overloaded\"}",
      { "Retry-After", "30", NULL }, CONFAB_PROVIDER_ERROR_SERVER, "Engine is overloaded",
      "30 seconds", 30000 },
    { 400, "application/json",
      "{\"error\":{\"message\":\"Unsupported parameter: 'max_tokens' is not supported with "
      "this model.\",\"type\":\"invalid_request_error\",\"param\":\"max_tokens\","
      "\"code\":\"unsupported_parameter\"}}",
      { NULL }, CONFAB_PROVIDER_ERROR_BAD_REQUEST, "Unsupported parameter: 'max_tokens'",
      NULL, -1 },
    { 422, "application/json",
      "{\"detail\":[{\"loc\":[\"body\",\"model\"],\"msg\":\"field required\"}]}",
      { NULL }, CONFAB_PROVIDER_ERROR_BAD_REQUEST, "field required", "422", -1 },
    { 400, "application/json", "{\"detail\":\"Invalid temperature\"}",
      { NULL }, CONFAB_PROVIDER_ERROR_BAD_REQUEST, "Invalid temperature", NULL, -1 },
  };

  provider = confab_openai_provider_new (ts->base_url, "sk-test-secret");
  ts->serve = serve_canned;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const ErrorCase *c = &cases[i];
      Canned canned = { c->status, c->content_type, c->body, (const char **) c->headers };
      Call call = { 0 };

      g_test_message ("HTTP %u: %s", c->status, c->needle);
      ts->serve_data = &canned;
      run_simple_chat (provider, "gpt-missing", &call);

      g_assert_false (call.ok);
      g_assert_error (call.error, CONFAB_PROVIDER_ERROR, (int) c->code);
      g_assert_nonnull (strstr (call.error->message, c->needle));
      if (c->needle2 != NULL)
        g_assert_nonnull (strstr (call.error->message, c->needle2));
      /* The key never shows up in a message. */
      g_assert_null (strstr (call.error->message, "sk-test-secret"));
      g_assert_cmpuint (call.result->http_status, ==, c->status);

      if (c->retry_after_ms == -2)
        {
          g_assert_cmpint (call.result->retry_after_ms, >, 80000);
          g_assert_cmpint (call.result->retry_after_ms, <=, 91000);
        }
      else
        g_assert_cmpint (call.result->retry_after_ms, ==, c->retry_after_ms);

      confab_test_call_clear (&call);
    }

  g_assert_cmpuint (ts->n_requests, ==, G_N_ELEMENTS (cases));
}

/* An error body nested far deeper than any real one must not reach
 * json-glib's recursive parser (it would overflow the stack). */
static void
test_deeply_nested_error_body (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autoptr(GString) body = g_string_new ("{\"error\":");
  Canned canned = { 500, "application/json", NULL, NULL };
  Call call = { 0 };

  for (guint i = 0; i < 60000; i++)
    g_string_append_c (body, '[');
  canned.body = body->str;

  provider = confab_openai_provider_new (ts->base_url, NULL);
  ts->serve = serve_canned;
  ts->serve_data = &canned;
  run_simple_chat (provider, "gpt-test", &call);

  g_assert_false (call.ok);
  g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_SERVER);
  g_assert_cmpuint (call.result->http_status, ==, 500);
  confab_test_call_clear (&call);
}

static void
test_stream_error (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autofree char *sse = NULL;
  g_autofree char *expected = NULL;
  g_autoptr(GPtrArray) pieces = NULL;
  StreamSpec spec = { 0 };
  gsize len;
  Call call = { 0 };

  sse = confab_test_read_fixture ("coder-aibridge-openai-error-midstream.sse", &len);
  expected = confab_test_read_fixture ("coder-aibridge-openai-error-midstream.expected", NULL);
  pieces = pieces_split (sse, len, 4);
  spec.pieces = pieces;
  spec.interval_ms = 10;
  spec.end = END_COMPLETE;
  ts->serve = serve_stream;
  ts->serve_data = &spec;

  provider = confab_openai_provider_new (ts->base_url, NULL);
  run_simple_chat (provider, "gpt-4.1", &call);

  g_assert_false (call.ok);
  g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_STREAM);
  g_assert_nonnull (strstr (call.error->message,
                            "The server had an error while processing your request"));
  g_assert_cmpstr (call.result->content->str, ==, expected);
  g_assert_nonnull (call.result->error_message);

  confab_test_call_clear (&call);
}

static void
reset_after_text_cb (ConfabStreamResult *result,
                     gpointer            data)
{
  TestServer *ts = data;

  /* Everything sent so far has arrived: now the connection breaks. */
  if (strcmp (result->content->str, "Once upon a time") == 0)
    {
      g_assert_cmpuint (ts->streamers->len, ==, 1);
      streamer_reset (g_ptr_array_index (ts->streamers, 0));
    }
}

static void
test_disconnect (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autoptr(GPtrArray) pieces = pieces_new ();
  g_autofree char *first = confab_test_content_event ("Once upon");
  g_autofree char *second = confab_test_content_event (" a time");
  ConfabChatRequest request = { "m", -1, NULL, NULL };
  StreamSpec spec = { pieces, 10, END_HANG, NULL };
  Call call = { 0 };

  pieces_add (pieces, first);
  pieces_add (pieces, second);
  ts->serve = serve_stream;
  ts->serve_data = &spec;

  provider = confab_openai_provider_new (ts->base_url, NULL);
  call.on_progress = reset_after_text_cb;
  call.on_progress_data = ts;
  confab_test_run_chat (provider, &request, &call, NULL, 20);

  g_assert_false (call.ok);
  g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_INTERRUPTED);
  g_assert_nonnull (strstr (call.error->message, "connection"));
  g_assert_cmpstr (call.result->content->str, ==, "Once upon a time");
  g_assert_null (call.result->finish_reason);

  confab_test_call_clear (&call);
}

static void
test_disconnect_before_content (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autoptr(GPtrArray) pieces = pieces_new ();
  StreamSpec spec = { pieces, 10, END_DISCONNECT, NULL };
  Call call = { 0 };

  pieces_add (pieces, ": warming up\n\n");
  ts->serve = serve_stream;
  ts->serve_data = &spec;

  provider = confab_openai_provider_new (ts->base_url, NULL);
  run_simple_chat (provider, "m", &call);

  g_assert_false (call.ok);
  g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_NETWORK);
  g_assert_cmpstr (call.result->content->str, ==, "");

  confab_test_call_clear (&call);
}

static void
test_eof_unfinished (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autoptr(GPtrArray) pieces = pieces_new ();
  g_autofree char *first = confab_test_content_event ("Half");
  g_autofree char *second = confab_test_content_event (" a reply");
  StreamSpec spec = { pieces, 10, END_COMPLETE, NULL };
  Call call = { 0 };

  pieces_add (pieces, first);
  pieces_add (pieces, second);
  ts->serve = serve_stream;
  ts->serve_data = &spec;

  provider = confab_openai_provider_new (ts->base_url, NULL);
  run_simple_chat (provider, "m", &call);

  g_assert_false (call.ok);
  g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_INTERRUPTED);
  g_assert_cmpstr (call.result->content->str, ==, "Half a reply");
  g_assert_false (call.result->done);

  confab_test_call_clear (&call);
}

static void
test_done_without_blank_line (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autoptr(GPtrArray) pieces = pieces_new ();
  g_autofree char *first = confab_test_content_event ("llama");
  StreamSpec spec = { pieces, 10, END_COMPLETE, NULL };
  Call call = { 0 };

  /* llama.cpp style: no blank line after [DONE], then EOF. */
  pieces_add (pieces, first);
  pieces_add (pieces, "data: [DONE]");
  ts->serve = serve_stream;
  ts->serve_data = &spec;

  provider = confab_openai_provider_new (ts->base_url, NULL);
  run_simple_chat (provider, "m", &call);

  g_assert_no_error (call.error);
  g_assert_true (call.ok);
  g_assert_cmpstr (call.result->content->str, ==, "llama");
  g_assert_true (call.result->done);

  confab_test_call_clear (&call);
}

static void
test_cancel (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autoptr(GPtrArray) pieces = pieces_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *first = confab_test_content_event ("First words");
  ConfabChatRequest request = { "m", -1, NULL, NULL };
  StreamSpec spec = { pieces, 50, END_COMPLETE, NULL };
  Call call = { 0 };

  pieces_add (pieces, first);
  for (guint i = 0; i < 200; i++)
    {
      g_autofree char *more = confab_test_content_event (" more");

      pieces_add (pieces, more);
    }
  ts->serve = serve_stream;
  ts->serve_data = &spec;

  provider = confab_openai_provider_new (ts->base_url, NULL);
  call.cancel_on_progress = g_object_ref (cancellable);
  confab_test_run_chat (provider, &request, &call, cancellable, 20);

  g_assert_false (call.ok);
  g_assert_error (call.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (g_str_has_prefix (call.result->content->str, "First words"));
  g_assert_cmpuint (call.n_progress, ==, 1);

  /* The server sees the connection go away. */
  confab_test_wait_until (&ts->aborted, 20, "the server to see the connection close");

  confab_test_call_clear (&call);
}

static void
test_cancel_before_start (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  ConfabChatRequest request = { "m", -1, NULL, NULL };
  Call call = { 0 };

  ts->serve = serve_small_stream;
  g_cancellable_cancel (cancellable);
  provider = confab_openai_provider_new (ts->base_url, NULL);
  confab_test_run_chat (provider, &request, &call, cancellable, 20);

  g_assert_false (call.ok);
  g_assert_error (call.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (ts->n_requests, ==, 0);

  confab_test_call_clear (&call);
}

static void
test_connection_refused (void)
{
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *base = NULL;
  g_autofree char *host = NULL;
  guint port;
  Call call = { 0 };

  /* A port that was free a moment ago and has nobody listening. */
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (socket, NULL);

  base = g_strdup_printf ("http://127.0.0.1:%u/v1", port);
  host = g_strdup_printf ("127.0.0.1:%u", port);
  provider = confab_openai_provider_new (base, NULL);
  run_simple_chat (provider, "m", &call);

  g_assert_false (call.ok);
  g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_CONNECTION_REFUSED);
  g_assert_nonnull (strstr (call.error->message, host));
  g_assert_cmpuint (call.result->http_status, ==, 0);

  confab_test_call_clear (&call);
}

static void
test_host_not_found (void)
{
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  Call call = { 0 };

  /* .invalid is reserved (RFC 2606): resolvers answer "no such name". */
  provider = confab_openai_provider_new ("http://confab-test.invalid/v1", NULL);
  run_simple_chat (provider, "m", &call);

  g_assert_false (call.ok);
  g_assert_nonnull (call.error);
  if (!g_error_matches (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_HOST_NOT_FOUND))
    {
      g_autofree char *why = g_strdup_printf ("No working resolver here: %s",
                                              call.error->message);

      g_test_skip (why);
      confab_test_call_clear (&call);
      return;
    }
  g_assert_nonnull (strstr (call.error->message, "“confab-test.invalid”"));

  confab_test_call_clear (&call);
}

static void
test_no_url (void)
{
  const char *bases[] = { NULL, "", "   ", "not a url", "ftp://example.com/v1", "http://" };

  for (guint i = 0; i < G_N_ELEMENTS (bases); i++)
    {
      g_autoptr(ConfabOpenaiProvider) provider = confab_openai_provider_new (bases[i], NULL);
      Call call = { 0 };

      run_simple_chat (provider, "m", &call);
      g_assert_false (call.ok);
      g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_NO_URL);
      confab_test_call_clear (&call);

      confab_test_run_models (provider, &call);
      g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_NO_URL);
      confab_test_call_clear (&call);
    }
}

static void
test_idle_timeout (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autoptr(GPtrArray) pieces = pieces_new ();
  g_autofree char *first = confab_test_content_event ("Then silence");
  StreamSpec spec = { pieces, 10, END_HANG, NULL };
  Call call = { 0 };
  gint64 start;
  gint64 elapsed_ms;

  pieces_add (pieces, first);
  ts->serve = serve_stream;
  ts->serve_data = &spec;

  provider = confab_openai_provider_new (ts->base_url, NULL);
  g_object_set (provider, "idle-timeout", 1, NULL);

  start = g_get_monotonic_time ();
  run_simple_chat (provider, "m", &call);
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;

  g_assert_false (call.ok);
  g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_TIMEOUT);
  g_assert_cmpstr (call.result->content->str, ==, "Then silence");
  g_assert_cmpint (elapsed_ms, >=, 900);
  g_assert_cmpint (elapsed_ms, <, 5000);

  confab_test_call_clear (&call);
}

/* A server that accepts connections (the kernel does) but never answers. */
static void
test_no_response_timeout (void)
{
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *base = NULL;
  Call call = { 0 };

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  g_socket_listen (socket, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);

  base = g_strdup_printf ("http://127.0.0.1:%u/v1",
                          g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  provider = confab_openai_provider_new (base, NULL);
  g_object_set (provider, "idle-timeout", 2, "connect-timeout", 1, NULL);
  run_simple_chat (provider, "m", &call);

  /* Connected at once: the idle timeout, not the connect timeout, ran out. */
  g_assert_false (call.ok);
  g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_TIMEOUT);
  g_assert_nonnull (strstr (call.error->message, "2 seconds"));
  g_socket_close (socket, NULL);

  confab_test_call_clear (&call);
}

/* A listening socket whose queue is full: the kernel drops further SYNs,
 * so connecting hangs as it does to a host that does not answer. */
static void
test_connect_timeout (void)
{
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GPtrArray) fillers = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *base = NULL;
  gboolean queue_full = FALSE;
  gint64 start;
  Call call = { 0 };

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  g_socket_set_listen_backlog (socket, 0);
  g_socket_listen (socket, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);

  /* Fill the accept queue with connections nobody accepts, until one hangs. */
  for (guint i = 0; i < 8 && !queue_full; i++)
    {
      g_autoptr(GSocket) filler = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                                G_SOCKET_PROTOCOL_TCP, &error);
      g_autoptr(GError) connect_error = NULL;

      g_assert_no_error (error);
      g_socket_set_blocking (filler, FALSE);
      if (!g_socket_connect (filler, bound, NULL, &connect_error) &&
          g_error_matches (connect_error, G_IO_ERROR, G_IO_ERROR_PENDING) &&
          !g_socket_condition_timed_wait (filler, G_IO_OUT, 200 * 1000, NULL, NULL))
        queue_full = TRUE;
      g_ptr_array_add (fillers, g_steal_pointer (&filler));
    }

  if (!queue_full)
    {
      g_test_skip ("Could not make a connection attempt hang here");
      return;
    }

  base = g_strdup_printf ("http://127.0.0.1:%u/v1",
                          g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  provider = confab_openai_provider_new (base, NULL);
  g_object_set (provider, "idle-timeout", 30, "connect-timeout", 1, NULL);
  start = g_get_monotonic_time ();
  run_simple_chat (provider, "m", &call);

  g_assert_false (call.ok);
  g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_TIMEOUT);
  g_assert_nonnull (strstr (call.error->message, "Could not connect"));
  g_assert_cmpint ((g_get_monotonic_time () - start) / 1000, <, 5000);
  g_socket_close (socket, NULL);

  confab_test_call_clear (&call);
}

static void
test_keepalive (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autoptr(GPtrArray) pieces = pieces_new ();
  g_autofree char *content = confab_test_content_event ("Worth the wait");
  StreamSpec spec = { pieces, 300, END_COMPLETE, NULL };
  Call call = { 0 };
  gint64 start;

  /* 2.7 s of comments only, with the idle timeout at 1 s. */
  for (guint i = 0; i < 9; i++)
    pieces_add (pieces, ": OPENROUTER PROCESSING\n\n");
  pieces_add (pieces, content);
  pieces_add (pieces, finish_event);
  pieces_add (pieces, "data: [DONE]\n\n");
  ts->serve = serve_stream;
  ts->serve_data = &spec;

  provider = confab_openai_provider_new (ts->base_url, NULL);
  g_object_set (provider, "idle-timeout", 1, NULL);
  start = g_get_monotonic_time ();
  run_simple_chat (provider, "m", &call);

  g_assert_no_error (call.error);
  g_assert_true (call.ok);
  g_assert_cmpstr (call.result->content->str, ==, "Worth the wait");
  g_assert_cmpint ((g_get_monotonic_time () - start) / 1000, >=, 2500);

  confab_test_call_clear (&call);
}

static void
test_too_large (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autoptr(GPtrArray) pieces = pieces_new ();
  g_autofree char *filler = g_strnfill (1000, 'x');
  g_autofree char *event = confab_test_content_event (filler);
  StreamSpec spec = { pieces, 2, END_COMPLETE, NULL };
  Call call = { 0 };

  /* About 1 MB in pieces of 64 events. */
  for (guint i = 0; i < 16; i++)
    {
      g_autoptr(GString) piece = g_string_new (NULL);

      for (guint j = 0; j < 64; j++)
        g_string_append (piece, event);
      g_ptr_array_add (pieces, g_string_free_to_bytes (g_steal_pointer (&piece)));
    }
  ts->serve = serve_stream;
  ts->serve_data = &spec;

  provider = confab_openai_provider_new (ts->base_url, NULL);
  g_object_set (provider, "max-reply-size", (guint64) 100 * 1024, NULL);
  run_simple_chat (provider, "m", &call);

  g_assert_false (call.ok);
  g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_TOO_LARGE);
  g_assert_cmpuint (call.result->content->len, >, 0);
  g_assert_cmpuint (call.result->content->len, <=, 100 * 1024);

  /* Confab stopped the transfer rather than reading the rest. */
  confab_test_wait_until (&ts->aborted, 20, "the server to see the connection close");

  confab_test_call_clear (&call);
}

static void
test_line_too_long (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autoptr(GPtrArray) pieces = pieces_new ();
  g_autofree char *first = confab_test_content_event ("short");
  g_autofree char *filler = g_strnfill (10000, 'y');
  g_autofree char *huge = confab_test_content_event (filler);
  StreamSpec spec = { pieces, 10, END_COMPLETE, NULL };
  Call call = { 0 };

  pieces_add (pieces, first);
  pieces_add (pieces, huge);
  pieces_add (pieces, "data: [DONE]\n\n");
  ts->serve = serve_stream;
  ts->serve_data = &spec;

  provider = confab_openai_provider_new (ts->base_url, NULL);
  g_object_set (provider, "max-line-length", (guint64) 1024, NULL);
  run_simple_chat (provider, "m", &call);

  g_assert_false (call.ok);
  g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_TOO_LARGE);
  g_assert_cmpstr (call.result->content->str, ==, "short");

  confab_test_call_clear (&call);
}

static void
test_json_response (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  Canned canned = {
    200, "application/json",
    "{\"id\":\"x\",\"object\":\"chat.completion\",\"model\":\"qwen3\",\"choices\":[{\"index\":0,"
    "\"message\":{\"role\":\"assistant\",\"content\":\"Hello whole!\","
    "\"reasoning_content\":\"Let me think.\"},\"finish_reason\":\"length\"}],"
    "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}",
    NULL
  };
  Call call = { 0 };

  ts->serve = serve_canned;
  ts->serve_data = &canned;

  provider = confab_openai_provider_new (ts->base_url, NULL);
  run_simple_chat (provider, "qwen3", &call);

  g_assert_no_error (call.error);
  g_assert_true (call.ok);
  g_assert_cmpstr (call.result->content->str, ==, "Hello whole!");
  g_assert_cmpstr (call.result->reasoning->str, ==, "Let me think.");
  g_assert_cmpstr (call.result->finish_reason, ==, "length");
  g_assert_cmpstr (call.result->model, ==, "qwen3");
  g_assert_cmpint (call.result->prompt_tokens, ==, 5);
  g_assert_cmpint (call.result->completion_tokens, ==, 3);
  g_assert_cmpint (call.result->total_tokens, ==, 8);
  g_assert_cmpuint (call.n_progress, ==, 1);

  confab_test_call_clear (&call);
}

/* A stream served with the wrong content type is still read as a stream. */
static void
test_stream_labelled_json (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autoptr(GPtrArray) pieces = pieces_new ();
  g_autofree char *first = confab_test_content_event ("mislabelled");
  StreamSpec spec = { pieces, 10, END_COMPLETE, "application/json" };
  Call call = { 0 };

  pieces_add (pieces, first);
  pieces_add (pieces, finish_event);
  pieces_add (pieces, "data: [DONE]\n\n");
  ts->serve = serve_stream;
  ts->serve_data = &spec;

  provider = confab_openai_provider_new (ts->base_url, NULL);
  run_simple_chat (provider, "m", &call);

  g_assert_no_error (call.error);
  g_assert_true (call.ok);
  g_assert_cmpstr (call.result->content->str, ==, "mislabelled");
  g_assert_cmpstr (call.result->finish_reason, ==, "stop");

  confab_test_call_clear (&call);
}

static void
test_invalid_response (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  Canned html = { 200, "text/html", "<html><body>Captive portal</body></html>", NULL };
  Canned json = { 200, "application/json", "{\"hello\":\"world\"}", NULL };
  Call call = { 0 };

  ts->serve = serve_canned;
  provider = confab_openai_provider_new (ts->base_url, NULL);

  ts->serve_data = &html;
  run_simple_chat (provider, "m", &call);
  g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_INVALID_RESPONSE);
  confab_test_call_clear (&call);

  ts->serve_data = &json;
  run_simple_chat (provider, "m", &call);
  g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_INVALID_RESPONSE);
  confab_test_call_clear (&call);
}

static void
test_list_models (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  Canned canned = {
    200, "application/json",
    "{\"object\":\"list\",\"data\":[{\"id\":\"zeta-1\",\"object\":\"model\"},"
    "{\"id\":\"alpha\",\"object\":\"model\",\"owned_by\":\"x\"},{\"id\":\"mid\"},"
    "{\"id\":\"alpha\"},{\"object\":\"model\"},{\"id\":42}]}",
    NULL
  };
  const char * const expected[] = { "alpha", "mid", "zeta-1", NULL };
  Call call = { 0 };

  ts->serve = serve_canned;
  ts->serve_data = &canned;

  provider = confab_openai_provider_new (ts->base_url, "sk-models");
  confab_test_run_models (provider, &call);

  g_assert_no_error (call.error);
  g_assert_nonnull (call.models);
  g_assert_cmpstrv (call.models, expected);
  g_assert_cmpstr (ts->method, ==, "GET");
  g_assert_cmpstr (ts->path, ==, "/v1/models");
  g_assert_cmpstr (ts->authorization, ==, "Bearer sk-models");

  confab_test_call_clear (&call);
}

static void
test_list_models_errors (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  Canned not_found = { 404, "text/plain", "404 page not found", NULL };
  Canned unauthorized = {
    401, "application/json", "{\"error\":{\"message\":\"Invalid token\"}}", NULL
  };
  Canned garbage = { 200, "application/json", "[[[", NULL };
  g_autofree char *host = g_strdup_printf ("127.0.0.1:%u", ts->port);
  Call call = { 0 };

  ts->serve = serve_canned;
  provider = confab_openai_provider_new (ts->base_url, NULL);

  ts->serve_data = &not_found;
  confab_test_run_models (provider, &call);
  g_assert_null (call.models);
  g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (call.error->message, "no list of models"));
  g_assert_nonnull (strstr (call.error->message, host));
  g_assert_nonnull (strstr (call.error->message, "404 page not found"));
  confab_test_call_clear (&call);

  ts->serve_data = &unauthorized;
  confab_test_run_models (provider, &call);
  g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_UNAUTHORIZED);
  g_assert_nonnull (strstr (call.error->message, "Invalid token"));
  confab_test_call_clear (&call);

  ts->serve_data = &garbage;
  confab_test_run_models (provider, &call);
  g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_INVALID_RESPONSE);
  confab_test_call_clear (&call);
}

static void
weak_notify_cb (gpointer  data,
                GObject  *where_the_object_was)
{
  *(gboolean *) data = TRUE;
}

/* The caller lets go of the provider while a request runs. */
static void
test_drop_provider (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autoptr(GPtrArray) pieces = pieces_new ();
  g_autofree char *first = confab_test_content_event ("still");
  g_autofree char *second = confab_test_content_event (" here");
  ConfabOpenaiProvider *provider;
  ConfabChatRequest request = { "m", -1, NULL, NULL };
  StreamSpec spec = { pieces, 20, END_COMPLETE, NULL };
  gboolean finalized = FALSE;
  Call call = { 0 };

  pieces_add (pieces, first);
  pieces_add (pieces, second);
  pieces_add (pieces, finish_event);
  pieces_add (pieces, "data: [DONE]\n\n");
  ts->serve = serve_stream;
  ts->serve_data = &spec;

  provider = confab_openai_provider_new (ts->base_url, NULL);
  g_object_weak_ref (G_OBJECT (provider), weak_notify_cb, &finalized);
  confab_test_start_chat (provider, &request, &call, NULL);
  g_object_unref (provider);
  g_assert_false (finalized);

  confab_test_wait_until (&call.done, 20, "the chat request");
  g_assert_no_error (call.error);
  g_assert_true (call.ok);
  g_assert_cmpstr (call.result->content->str, ==, "still here");

  confab_test_wait_until (&finalized, 20, "the provider to go away");

  confab_test_call_clear (&call);
}

static void
test_tls (void)
{
  g_autoptr(TestServer) ts = NULL;
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *openssl = g_find_program_in_path ("openssl");
  g_autofree char *dir = NULL;
  g_autofree char *cert_path = NULL;
  g_autofree char *key_path = NULL;
  g_autofree char *host = NULL;
  int status = 0;
  Call call = { 0 };

  if (openssl == NULL)
    {
      g_test_skip ("openssl is not installed: no certificate to test TLS with");
      return;
    }

  if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    {
      g_test_skip ("No TLS backend (glib-networking) is installed");
      return;
    }

  dir = g_dir_make_tmp ("confab-tls-XXXXXX", &error);
  g_assert_no_error (error);
  cert_path = g_build_filename (dir, "cert.pem", NULL);
  key_path = g_build_filename (dir, "key.pem", NULL);

  {
    const char *argv[] = {
      openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
      "-nodes", "-keyout", key_path, "-out", cert_path, "-days", "1",
      "-subj", "/CN=confab.test", NULL
    };

    g_spawn_sync (NULL, (char **) argv, NULL,
                  G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                  NULL, NULL, NULL, NULL, &status, &error);
    g_assert_no_error (error);
    g_spawn_check_wait_status (status, &error);
    g_assert_no_error (error);
  }

  certificate = g_tls_certificate_new_from_files (cert_path, key_path, &error);
  g_assert_no_error (error);

  ts = test_server_new_full (TRUE, certificate);
  ts->serve = serve_small_stream;

  provider = confab_openai_provider_new (ts->base_url, NULL);
  run_simple_chat (provider, "m", &call);

  g_assert_false (call.ok);
  g_assert_error (call.error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_TLS);
  host = g_strdup_printf ("127.0.0.1:%u", ts->port);
  g_assert_nonnull (strstr (call.error->message, host));
  g_assert_cmpuint (ts->n_requests, ==, 0);

  confab_test_call_clear (&call);
  g_unlink (cert_path);
  g_unlink (key_path);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/provider/properties", test_properties);
  g_test_add_func ("/provider/request-body", test_request_body);
  g_test_add_func ("/provider/request-no-key", test_request_no_key);
  g_test_add_func ("/provider/stream-fixture", test_stream_fixture);
  g_test_add_func ("/provider/http-errors", test_http_errors);
  g_test_add_func ("/provider/deeply-nested-error-body", test_deeply_nested_error_body);
  g_test_add_func ("/provider/stream-error", test_stream_error);
  g_test_add_func ("/provider/disconnect", test_disconnect);
  g_test_add_func ("/provider/disconnect-before-content", test_disconnect_before_content);
  g_test_add_func ("/provider/eof-unfinished", test_eof_unfinished);
  g_test_add_func ("/provider/done-without-blank-line", test_done_without_blank_line);
  g_test_add_func ("/provider/cancel", test_cancel);
  g_test_add_func ("/provider/cancel-before-start", test_cancel_before_start);
  g_test_add_func ("/provider/connection-refused", test_connection_refused);
  g_test_add_func ("/provider/host-not-found", test_host_not_found);
  g_test_add_func ("/provider/no-url", test_no_url);
  g_test_add_func ("/provider/idle-timeout", test_idle_timeout);
  g_test_add_func ("/provider/no-response-timeout", test_no_response_timeout);
  g_test_add_func ("/provider/connect-timeout", test_connect_timeout);
  g_test_add_func ("/provider/keepalive", test_keepalive);
  g_test_add_func ("/provider/too-large", test_too_large);
  g_test_add_func ("/provider/line-too-long", test_line_too_long);
  g_test_add_func ("/provider/json-response", test_json_response);
  g_test_add_func ("/provider/stream-labelled-json", test_stream_labelled_json);
  g_test_add_func ("/provider/invalid-response", test_invalid_response);
  g_test_add_func ("/provider/list-models", test_list_models);
  g_test_add_func ("/provider/list-models-errors", test_list_models_errors);
  g_test_add_func ("/provider/drop-provider", test_drop_provider);
  g_test_add_func ("/provider/tls", test_tls);

  return g_test_run ();
}
