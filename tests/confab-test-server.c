/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "confab-test-server.h"
#include "confab-test-util.h"

typedef struct
{
  guint          status;
  char          *content_type;
  GBytes        *body;
  gsize          piece_size;
  guint          first_delay_ms;
  guint          interval_ms;
  ConfabTestEnd  end;
  GPtrArray     *headers;
} Reply;

typedef struct
{
  ConfabTestServer  *server;
  SoupServerMessage *message;
  Reply             *reply;
  gsize              appended;    /* body bytes handed to libsoup */
  gsize              written;     /* of which written to the socket */
  guint              source;
  gulong             wrote_id;
  gulong             finished_id;
  guint              finished : 1;
} Sending;

struct _ConfabTestServer
{
  SoupServer *soup;
  char       *base_url;
  GQueue      replies;
  GPtrArray  *requests;
  GPtrArray  *authorizations;   /* char *, "" for none */
  GArray     *progress;         /* ConfabTestProgress of the latest reply */
  GPtrArray  *sendings;
  void      (*on_request) (gpointer);
  gpointer    on_request_data;
};

static void
reply_free (Reply *reply)
{
  g_free (reply->content_type);
  g_bytes_unref (reply->body);
  g_ptr_array_unref (reply->headers);
  g_free (reply);
}

static void
sending_free (Sending *sending)
{
  g_clear_handle_id (&sending->source, g_source_remove);
  g_clear_signal_handler (&sending->wrote_id, sending->message);
  g_clear_signal_handler (&sending->finished_id, sending->message);
  g_object_unref (sending->message);
  reply_free (sending->reply);
  g_free (sending);
}

static void
sending_done (Sending *sending)
{
  sending->source = 0;
  g_ptr_array_remove (sending->server->sendings, sending);
}

/* A piece goes out only once the last one was written: a client that stops
 * reading stops the sending, and the server never buffers the rest. */
static gboolean
send_piece_cb (gpointer user_data)
{
  Sending *sending = user_data;
  SoupMessageBody *body = soup_server_message_get_response_body (sending->message);
  gsize total = g_bytes_get_size (sending->reply->body);
  const char *data = g_bytes_get_data (sending->reply->body, NULL);
  gsize piece = sending->reply->piece_size ? sending->reply->piece_size : total;

  if (sending->finished)
    {
      sending_done (sending);
      return G_SOURCE_REMOVE;
    }

  if (sending->written < sending->appended)
    return G_SOURCE_CONTINUE;

  if (sending->appended < total)
    {
      gsize n = MIN (piece, total - sending->appended);

      soup_message_body_append (body, SOUP_MEMORY_COPY, data + sending->appended, n);
      sending->appended += n;
      soup_server_message_unpause (sending->message);
      return G_SOURCE_CONTINUE;
    }

  switch (sending->reply->end)
    {
    case CONFAB_TEST_END_DROP:
      {
        GIOStream *stream = soup_server_message_steal_connection (sending->message);

        g_io_stream_close (stream, NULL, NULL);
        g_object_unref (stream);
      }
      break;

    case CONFAB_TEST_END_HANG:
      break;

    case CONFAB_TEST_END_COMPLETE:
    default:
      soup_message_body_complete (body);
      soup_server_message_unpause (sending->message);
      break;
    }

  sending_done (sending);
  return G_SOURCE_REMOVE;
}

static gboolean
send_first_piece_cb (gpointer user_data)
{
  Sending *sending = user_data;

  /* This source ends here; the sending may end with the first piece. */
  sending->source = 0;
  if (send_piece_cb (sending) == G_SOURCE_CONTINUE)
    sending->source = g_timeout_add (MAX (sending->reply->interval_ms, 1), send_piece_cb, sending);

  return G_SOURCE_REMOVE;
}

static void
wrote_body_data_cb (SoupServerMessage *message,
                    guint              chunk_size,
                    Sending           *sending)
{
  ConfabTestProgress progress;

  sending->written += chunk_size;
  progress.time = g_get_monotonic_time ();
  progress.bytes = sending->written;
  g_array_append_val (sending->server->progress, progress);
}

static void
finished_cb (SoupServerMessage *message,
             Sending           *sending)
{
  sending->finished = TRUE;
}

static void
handler_cb (SoupServer        *soup,
            SoupServerMessage *message,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  ConfabTestServer *self = user_data;
  SoupMessageBody *request_body = soup_server_message_get_request_body (message);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (message);
  const char *authorization = soup_message_headers_get_one (soup_server_message_get_request_headers (message),
                                                            "Authorization");
  g_autoptr(GBytes) request = soup_message_body_flatten (request_body);
  Reply *reply;
  Sending *sending;

  g_ptr_array_add (self->requests,
                   g_strndup (g_bytes_get_data (request, NULL), g_bytes_get_size (request)));
  g_ptr_array_add (self->authorizations, g_strdup (authorization ? authorization : ""));

  if (self->on_request != NULL)
    self->on_request (self->on_request_data);

  reply = g_queue_pop_head (&self->replies);
  if (reply == NULL)
    {
      soup_server_message_set_status (message, 500, NULL);
      soup_server_message_set_response (message, "text/plain", SOUP_MEMORY_STATIC,
                                        "no reply queued", 15);
      return;
    }

  soup_server_message_set_status (message, reply->status, NULL);
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  soup_message_headers_set_content_type (headers, reply->content_type, NULL);
  for (guint i = 0; i + 1 < reply->headers->len; i += 2)
    soup_message_headers_replace (headers,
                                  g_ptr_array_index (reply->headers, i),
                                  g_ptr_array_index (reply->headers, i + 1));

  g_array_set_size (self->progress, 0);

  sending = g_new0 (Sending, 1);
  sending->server = self;
  sending->message = g_object_ref (message);
  sending->reply = reply;
  sending->wrote_id = g_signal_connect (message, "wrote-body-data",
                                        G_CALLBACK (wrote_body_data_cb), sending);
  sending->finished_id = g_signal_connect (message, "finished",
                                           G_CALLBACK (finished_cb), sending);
  g_ptr_array_add (self->sendings, sending);

  /* With no interval, everything at once, then the end. */
  if (reply->interval_ms == 0)
    reply->piece_size = 0;

  soup_server_message_pause (message);
  sending->source = g_timeout_add (reply->first_delay_ms, send_first_piece_cb, sending);
}

static void
models_cb (SoupServer        *soup,
           SoupServerMessage *message,
           const char        *path,
           GHashTable        *query,
           gpointer           user_data)
{
  static const char body[] =
    "{\"object\":\"list\",\"data\":[{\"id\":\"test-model-b\",\"object\":\"model\"},"
    "{\"id\":\"test-model-a\",\"object\":\"model\"}]}";

  soup_server_message_set_status (message, 200, NULL);
  soup_server_message_set_response (message, "application/json", SOUP_MEMORY_STATIC,
                                    body, strlen (body));
}

ConfabTestServer *
confab_test_server_new (void)
{
  ConfabTestServer *self = g_new0 (ConfabTestServer, 1);
  g_autoptr(GError) error = NULL;
  GSList *uris;

  self->soup = soup_server_new (NULL, NULL);
  self->requests = g_ptr_array_new_with_free_func (g_free);
  self->authorizations = g_ptr_array_new_with_free_func (g_free);
  self->progress = g_array_new (FALSE, FALSE, sizeof (ConfabTestProgress));
  self->sendings = g_ptr_array_new_with_free_func ((GDestroyNotify) sending_free);
  g_queue_init (&self->replies);

  soup_server_add_handler (self->soup, "/v1/chat/completions", handler_cb, self, NULL);
  soup_server_add_handler (self->soup, "/v1/messages", handler_cb, self, NULL);
  soup_server_add_handler (self->soup, "/v1/models", models_cb, self, NULL);
  soup_server_listen_local (self->soup, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);

  uris = soup_server_get_uris (self->soup);
  g_assert_nonnull (uris);
  self->base_url = g_strdup_printf ("http://127.0.0.1:%d/v1", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  return self;
}

void
confab_test_server_free (ConfabTestServer *self)
{
  /* The sendings first: their timers point into them. */
  g_ptr_array_set_size (self->sendings, 0);
  soup_server_disconnect (self->soup);
  g_object_unref (self->soup);
  g_queue_clear_full (&self->replies, (GDestroyNotify) reply_free);
  g_ptr_array_unref (self->requests);
  g_ptr_array_unref (self->authorizations);
  g_array_unref (self->progress);
  g_ptr_array_unref (self->sendings);
  g_free (self->base_url);
  g_free (self);
}

const char *
confab_test_server_get_base_url (ConfabTestServer *self)
{
  return self->base_url;
}

static Reply *
queue_reply (ConfabTestServer *self,
             guint             status,
             const char       *content_type,
             GBytes           *body,
             gsize             piece_size,
             guint             first_delay_ms,
             guint             interval_ms,
             ConfabTestEnd     end)
{
  Reply *reply = g_new0 (Reply, 1);

  reply->status = status;
  reply->content_type = g_strdup (content_type);
  reply->body = g_bytes_ref (body);
  reply->piece_size = piece_size;
  reply->first_delay_ms = first_delay_ms;
  reply->interval_ms = interval_ms;
  reply->end = end;
  reply->headers = g_ptr_array_new_with_free_func (g_free);
  g_queue_push_tail (&self->replies, reply);

  return reply;
}

void
confab_test_server_queue (ConfabTestServer *self,
                          guint             status,
                          const char       *content_type,
                          const char       *body,
                          gsize             piece_size,
                          guint             interval_ms,
                          ConfabTestEnd     end,
                          ...)
{
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
  Reply *reply = queue_reply (self, status, content_type, bytes, piece_size,
                              interval_ms, interval_ms, end);
  const char *name;
  va_list args;

  va_start (args, end);
  while ((name = va_arg (args, const char *)) != NULL)
    {
      g_ptr_array_add (reply->headers, g_strdup (name));
      g_ptr_array_add (reply->headers, g_strdup (va_arg (args, const char *)));
    }
  va_end (args);
}

void
confab_test_server_queue_bytes (ConfabTestServer *self,
                                guint             status,
                                const char       *content_type,
                                GBytes           *body,
                                gsize             piece_size,
                                guint             first_delay_ms,
                                guint             interval_ms)
{
  queue_reply (self, status, content_type, body, piece_size,
               first_delay_ms, MAX (interval_ms, 1), CONFAB_TEST_END_COMPLETE);
}

void
confab_test_server_queue_fixture (ConfabTestServer *self,
                                  const char       *name,
                                  gsize             piece_size,
                                  guint             interval_ms)
{
  g_autofree char *contents = confab_test_read_fixture (name, NULL);

  confab_test_server_queue (self, 200, "text/event-stream", contents,
                            piece_size, interval_ms, CONFAB_TEST_END_COMPLETE, NULL);
}

GPtrArray *
confab_test_server_get_requests (ConfabTestServer *self)
{
  return self->requests;
}

GPtrArray *
confab_test_server_get_authorizations (ConfabTestServer *self)
{
  return self->authorizations;
}

GArray *
confab_test_server_get_progress (ConfabTestServer *self)
{
  return self->progress;
}

gsize
confab_test_server_bytes_sent_at (ConfabTestServer *self,
                                  gint64            time)
{
  gsize bytes = 0;

  for (guint i = 0; i < self->progress->len; i++)
    {
      const ConfabTestProgress *progress = &g_array_index (self->progress, ConfabTestProgress, i);

      if (progress->time > time)
        break;
      bytes = progress->bytes;
    }

  return bytes;
}

void
confab_test_server_set_on_request (ConfabTestServer *self,
                                   void            (*func) (gpointer user_data),
                                   gpointer          user_data)
{
  self->on_request = func;
  self->on_request_data = user_data;
}

static gboolean
timeout_cb (gpointer user_data)
{
  g_error ("Timed out waiting for an event that never came");
  return G_SOURCE_REMOVE;
}

void
confab_test_wait_for (gboolean *flag,
                      guint     timeout_ms)
{
  guint timeout = g_timeout_add (timeout_ms, timeout_cb, NULL);

  while (!*flag)
    g_main_context_iteration (NULL, TRUE);

  g_source_remove (timeout);
}
