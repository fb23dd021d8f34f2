/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-http-stream"

#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "confab-http-stream.h"
#include "confab-json.h"
#include "confab-sse-parser.h"

#define READ_CHUNK_SIZE        (16 * 1024)
#define ERROR_BODY_MAX         (64 * 1024)
#define SERVER_MESSAGE_MAX     500  /* characters of the server's own words we quote */
#define DRAIN_TIMEOUT_US       (2 * G_USEC_PER_SEC)
#define DEFAULT_IDLE_TIMEOUT    120
#define DEFAULT_CONNECT_TIMEOUT 30
#define DEFAULT_MAX_REPLY_SIZE  (G_GUINT64_CONSTANT (32) * 1024 * 1024)
#define DEFAULT_MAX_LINE_LENGTH (G_GUINT64_CONSTANT (8) * 1024 * 1024)

/* One request in flight: the task data of its GTask. Every async step holds
 * a reference on the task, so this lives until the last callback ran. */

typedef enum
{
  REQUEST_KIND_CHAT,
  REQUEST_KIND_MODELS,
} RequestKind;

typedef enum
{
  PHASE_CONNECTING,   /* resolving, connecting, TLS: the connect timeout runs */
  PHASE_WAITING,      /* request written, no response head yet: the idle timeout runs */
  PHASE_READING,      /* reading the body: the idle timeout runs, reset by every byte */
} Phase;

typedef struct
{
  RequestKind                 kind;
  Phase                       phase;

  /* Owned */
  SoupSession                *session;
  SoupMessage                *msg;
  GInputStream               *stream;
  GCancellable               *cancellable;           /* ours: the caller's, or a timeout */
  GCancellable               *caller_cancellable;
  gulong                      cancelled_id;
  GSource                    *deadline;
  ConfabSseParser            *parser;
  GByteArray                 *body;                  /* error body, JSON reply, model list */
  char                       *host;                  /* "host" or "host:port", for messages */
  char                       *model;
  char                       *api_key;               /* only to keep it out of messages */

  /* Borrowed: static, or kept alive by the caller until the callback */
  const ConfabHttpWireFormat *format;
  ConfabStreamResult         *result;
  ConfabStreamProgressFunc    progress;
  gpointer                    progress_data;

  gint64                      connect_timeout_us;
  gint64                      idle_timeout_us;
  guint                       idle_timeout_s;
  guint                       connect_timeout_s;
  guint64                     max_reply_size;
  guint64                     n_read;
  guint64                     n_events;

  guint                       timed_out : 1;
  guint                       is_sse : 1;
  guint                       declared_sse : 1;
  guint                       changed : 1;
  guint                       stop : 1;              /* the end or an error was decoded */
  guint                       line_too_long : 1;
  guint                       drain : 1;             /* the body ended: keep the connection */
} Request;

static void
request_free (gpointer data)
{
  Request *req = data;

  if (req->caller_cancellable != NULL && req->cancelled_id != 0)
    g_cancellable_disconnect (req->caller_cancellable, req->cancelled_id);
  g_clear_object (&req->caller_cancellable);

  if (req->deadline != NULL)
    {
      g_source_destroy (req->deadline);
      g_clear_pointer (&req->deadline, g_source_unref);
    }

  if (req->msg != NULL)
    g_signal_handlers_disconnect_by_data (req->msg, req);

  g_clear_object (&req->stream);
  g_clear_object (&req->msg);
  g_clear_object (&req->session);
  g_clear_object (&req->cancellable);
  g_clear_pointer (&req->parser, confab_sse_parser_free);
  g_clear_pointer (&req->body, g_byte_array_unref);
  g_clear_pointer (&req->host, g_free);
  g_clear_pointer (&req->model, g_free);
  if (req->api_key != NULL)
    memset (req->api_key, 0, strlen (req->api_key));
  g_clear_pointer (&req->api_key, g_free);
  g_free (req);
}

/* The deadline: one source per request whose ready time moves forward on
 * every sign of life. SoupSession's own "timeout" would also cut a stream
 * that is merely slow, so it is off and this does the job. */

static gboolean
deadline_dispatch (GSource     *source,
                   GSourceFunc  callback,
                   gpointer     user_data)
{
  g_source_set_ready_time (source, -1);

  return callback != NULL ? callback (user_data) : G_SOURCE_CONTINUE;
}

static GSourceFuncs deadline_funcs = {
  .dispatch = deadline_dispatch,
};

static gboolean
deadline_cb (gpointer user_data)
{
  Request *req = user_data;

  req->timed_out = TRUE;
  g_cancellable_cancel (req->cancellable);

  return G_SOURCE_CONTINUE;
}

static void
request_set_deadline (Request *req,
                      gint64   timeout_us)
{
  if (req->deadline == NULL)
    return;

  if (timeout_us <= 0)
    g_source_set_ready_time (req->deadline, -1);
  else
    g_source_set_ready_time (req->deadline, g_get_monotonic_time () + timeout_us);
}

static void
caller_cancelled_cb (GCancellable *cancellable,
                     gpointer      user_data)
{
  Request *req = user_data;

  g_cancellable_cancel (req->cancellable);
}

static void
wrote_headers_cb (SoupMessage *msg,
                  gpointer     user_data)
{
  Request *req = user_data;

  /* Connected (and through TLS): from now on, silence is what counts. */
  if (req->phase == PHASE_CONNECTING)
    {
      req->phase = PHASE_WAITING;
      request_set_deadline (req, req->idle_timeout_us);
    }
}


/* The server's own words, trimmed and bounded, or NULL. */
static char *
tidy_server_text (const char *text)
{
  g_autofree char *valid = NULL;
  char *stripped;
  glong n_chars;

  if (text == NULL)
    return NULL;

  valid = g_utf8_make_valid (text, -1);
  stripped = g_strstrip (valid);
  if (*stripped == '\0')
    return NULL;

  n_chars = g_utf8_strlen (stripped, -1);
  if (n_chars > SERVER_MESSAGE_MAX)
    {
      g_autofree char *cut = g_utf8_substring (stripped, 0, SERVER_MESSAGE_MAX);

      return g_strconcat (cut, "…", NULL);
    }

  return g_strdup (stripped);
}

/* A careless server may echo the key back in an error; such text can end up
 * on screen, in the database or in a bug report. */
static char *
redact_key (char       *text,
            const char *api_key)
{
  g_autoptr(GString) string = NULL;

  if (text == NULL || api_key == NULL || strlen (api_key) < 4 || strstr (text, api_key) == NULL)
    return text;

  string = g_string_new (text);
  g_free (text);
  g_string_replace (string, api_key, "[redacted]", 0);

  return g_string_free (g_steal_pointer (&string), FALSE);
}

/* What the server said in an error body: the wire format finds it in JSON;
 * a plain-text body is quoted as it is. */
static char *
extract_server_message (const ConfabHttpWireFormat *format,
                        const guint8               *data,
                        gsize                       len)
{
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  if (data == NULL || len == 0)
    return NULL;

  root = confab_json_parse_object ((const char *) data, len);
  if (root != NULL)
    return format->error_message != NULL ? tidy_server_text (format->error_message (root))
                                          : NULL;

  text = g_strndup ((const char *) data, len);

  /* An HTML error page says nothing a person needs to read here. */
  if (g_str_has_prefix (g_strchug (text), "<"))
    return NULL;

  return tidy_server_text (text);
}

/* Go-style durations as OpenAI sends them: "1s", "6m0s", "12ms", "1h2m3.5s". */
static gboolean
parse_duration_ms (const char *text,
                   gint64     *ms)
{
  /* Longer names first: "ms" before "m". */
  static const struct {
    const char *name;
    double      ms;
  } units[] = {
    { "ms", 1 }, { "us", 1e-3 }, { "µs", 1e-3 }, { "μs", 1e-3 }, { "ns", 1e-6 },
    { "h", 3600000 }, { "m", 60000 }, { "s", 1000 },
  };
  const char *p = text;
  double total = 0;

  if (text == NULL)
    return FALSE;

  while (g_ascii_isspace (*p))
    p++;
  if (*p == '\0')
    return FALSE;

  while (*p != '\0' && !g_ascii_isspace (*p))
    {
      char *end = NULL;
      double value;
      double scale = 0;

      if (!g_ascii_isdigit (*p) && *p != '.')
        return FALSE;

      value = g_ascii_strtod (p, &end);
      if (end == p || !isfinite (value))
        return FALSE;
      p = end;

      for (guint i = 0; i < G_N_ELEMENTS (units); i++)
        {
          if (g_str_has_prefix (p, units[i].name))
            {
              scale = units[i].ms;
              p += strlen (units[i].name);
              break;
            }
        }

      /* A bare number is seconds. */
      if (scale == 0 && (*p == '\0' || g_ascii_isspace (*p)))
        scale = 1000;
      if (scale == 0)
        return FALSE;

      total += value * scale;
    }

  /* No one waits longer than a day: clamp what could overflow. */
  *ms = (gint64) ceil (MIN (total, 86400000.0));

  return TRUE;
}

static gboolean
parse_retry_after_header (const char *value,
                          gint64     *ms)
{
  g_autoptr(GDateTime) date = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_autofree char *copy = NULL;
  guint64 seconds;

  if (value == NULL)
    return FALSE;

  copy = g_strstrip (g_strdup (value));
  if (g_ascii_string_to_unsigned (copy, 10, 0, 86400 * 365, &seconds, NULL))
    {
      *ms = (gint64) seconds * 1000;
      return TRUE;
    }

  date = soup_date_time_new_from_http_string (copy);
  if (date == NULL)
    return FALSE;

  now = g_date_time_new_now_utc ();
  *ms = MAX (0, g_date_time_difference (date, now) / 1000);

  return TRUE;
}

/* When to try again, in milliseconds, or -1. Retry-After wins; otherwise
 * OpenAI's x-ratelimit-reset-* of the limit that ran out (or the later one). */
static gint64
parse_retry_after (SoupMessageHeaders *headers)
{
  static const char * const kinds[] = { "requests", "tokens" };
  gint64 best = -1;
  gint64 best_exhausted = -1;
  g_autofree char *value = NULL;
  guint64 plain_ms;
  gint64 ms;

  if (parse_retry_after_header (soup_message_headers_get_one (headers, "Retry-After"), &ms))
    return ms;

  /* OpenAI's SDKs also honour a "retry-after-ms" header: plain milliseconds. */
  value = g_strdup (soup_message_headers_get_one (headers, "retry-after-ms"));
  if (value != NULL &&
      g_ascii_string_to_unsigned (g_strstrip (value), 10, 0, G_GINT64_CONSTANT (86400000),
                                  &plain_ms, NULL))
    return (gint64) plain_ms;

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_autofree char *reset_name = g_strdup_printf ("x-ratelimit-reset-%s", kinds[i]);
      g_autofree char *remaining_name = g_strdup_printf ("x-ratelimit-remaining-%s", kinds[i]);
      g_autofree char *remaining = NULL;

      if (!parse_duration_ms (soup_message_headers_get_one (headers, reset_name), &ms))
        continue;

      best = MAX (best, ms);

      remaining = g_strdup (soup_message_headers_get_one (headers, remaining_name));
      if (remaining != NULL && strcmp (g_strstrip (remaining), "0") == 0)
        best_exhausted = MAX (best_exhausted, ms);
    }

  return best_exhausted >= 0 ? best_exhausted : best;
}

static char *
format_wait (gint64 ms)
{
  guint64 seconds = ((guint64) MAX (ms, 0) + 999) / 1000;

  if (seconds < 60)
    return g_strdup_printf (ngettext ("%u second", "%u seconds", (gulong) seconds),
                            (guint) seconds);
  if (seconds < 3600)
    {
      guint minutes = (guint) ((seconds + 59) / 60);

      return g_strdup_printf (ngettext ("%u minute", "%u minutes", minutes), minutes);
    }
  else
    {
      guint hours = (guint) ((seconds + 3599) / 3600);

      return g_strdup_printf (ngettext ("%u hour", "%u hours", hours), hours);
    }
}

/* @sentence, then the server's own words when there are any. */
static char *
add_server_message (const char *sentence,
                    const char *server_message)
{
  if (server_message == NULL || *server_message == '\0')
    return g_strdup (sentence);

  /* Translators: the first %s is a complete sentence, the second the
   * server's own error message, untranslated. */
  return g_strdup_printf (_("%s The server said: “%s”"), sentence, server_message);
}

static gboolean
result_has_text (const ConfabStreamResult *result)
{
  return result != NULL &&
         ((result->content != NULL && result->content->len > 0) ||
          (result->reasoning != NULL && result->reasoning->len > 0) ||
          (result->refusal != NULL && result->refusal->len > 0));
}

static char *
describe_tls_problem (GTlsCertificateFlags flags)
{
  if (flags & G_TLS_CERTIFICATE_UNKNOWN_CA)
    return g_strdup (_("its certificate is not signed by a trusted authority"));
  if (flags & G_TLS_CERTIFICATE_BAD_IDENTITY)
    return g_strdup (_("its certificate belongs to a different host name"));
  if (flags & (G_TLS_CERTIFICATE_EXPIRED | G_TLS_CERTIFICATE_NOT_ACTIVATED))
    return g_strdup (_("its certificate has expired or is not valid yet"));
  if (flags & G_TLS_CERTIFICATE_REVOKED)
    return g_strdup (_("its certificate has been revoked"));
  if (flags & G_TLS_CERTIFICATE_INSECURE)
    return g_strdup (_("its certificate uses an insecure algorithm"));

  return NULL;
}

static GError *
timeout_error (Request *req)
{
  if (req->phase == PHASE_CONNECTING)
    return g_error_new (CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_TIMEOUT,
                        ngettext ("Could not connect to %s within %u second. "
                                  "Check the server address and your network connection.",
                                  "Could not connect to %s within %u seconds. "
                                  "Check the server address and your network connection.",
                                  req->connect_timeout_s),
                        req->host, req->connect_timeout_s);

  return g_error_new (CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_TIMEOUT,
                      ngettext ("The server %s sent nothing for %u second, so Confab "
                                "stopped waiting for the reply.",
                                "The server %s sent nothing for %u seconds, so Confab "
                                "stopped waiting for the reply.",
                                req->idle_timeout_s),
                      req->host, req->idle_timeout_s);
}

/* A GIO, resolver, TLS or libsoup error, in the terms of ConfabProviderError. */
static GError *
translate_error (Request      *req,
                 const GError *error)
{
  GTlsCertificateFlags tls_flags = 0;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      if (req->timed_out &&
          !g_cancellable_is_cancelled (req->caller_cancellable))
        return timeout_error (req);

      return g_error_copy (error);
    }

  if (req->msg != NULL)
    tls_flags = soup_message_get_tls_peer_certificate_errors (req->msg);

  if (error->domain == G_RESOLVER_ERROR)
    return g_error_new (CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_HOST_NOT_FOUND,
                        _("The server name “%s” could not be found. "
                          "Check the server address and your network connection."),
                        req->host);

  if (error->domain == G_TLS_ERROR || tls_flags != 0)
    {
      g_autofree char *reason = describe_tls_problem (tls_flags);

      if (reason == NULL)
        reason = g_strdup (error->message);

      /* Translators: %s is a host name, the second %s a reason such as
       * "its certificate is not signed by a trusted authority". */
      return g_error_new (CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_TLS,
                          _("Could not make a secure connection to %s: %s."),
                          req->host, reason);
    }

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return g_error_new (CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_CONNECTION_REFUSED,
                        _("Could not connect to %s: connection refused. "
                          "Is the server running?"),
                        req->host);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return timeout_error (req);

  if (req->phase == PHASE_READING && req->kind == REQUEST_KIND_CHAT &&
      result_has_text (req->result))
    return g_error_new (CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_INTERRUPTED,
                        _("The reply was interrupted: the connection to %s was lost (%s)."),
                        req->host, error->message);

  if (error->domain == SOUP_SESSION_ERROR && req->phase != PHASE_READING)
    return g_error_new (CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_INVALID_RESPONSE,
                        _("The server %s sent an answer Confab does not understand (%s)."),
                        req->host, error->message);

  return g_error_new (CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_NETWORK,
                      _("The connection to %s failed: %s."),
                      req->host, error->message);
}

/* An HTTP status of 400 or more, with the body the server sent. */
static GError *
http_error (Request *req,
            guint    status,
            gint64   retry_after_ms)
{
  g_autofree char *server_message = NULL;
  g_autofree char *sentence = NULL;
  g_autofree char *text = NULL;
  ConfabProviderError code;

  if (req->body != NULL)
    server_message = redact_key (extract_server_message (req->format, req->body->data,
                                                         req->body->len),
                                 req->api_key);

  switch (status)
    {
    case SOUP_STATUS_UNAUTHORIZED:
      code = CONFAB_PROVIDER_ERROR_UNAUTHORIZED;
      sentence = g_strdup (_("The server rejected the API key. "
                             "Check the key in the preferences."));
      break;

    case SOUP_STATUS_FORBIDDEN:
      code = CONFAB_PROVIDER_ERROR_FORBIDDEN;
      sentence = g_strdup (_("The server refused access. The API key may lack the permission "
                             "for this model, or the service may not be offered where you are."));
      break;

    case SOUP_STATUS_NOT_FOUND:
      code = CONFAB_PROVIDER_ERROR_NOT_FOUND;
      if (req->kind == REQUEST_KIND_MODELS)
        sentence = g_strdup_printf (_("The server %s has no list of models. "
                                      "Type the model name instead."),
                                    req->host);
      else
        sentence = g_strdup_printf (_("The model “%s” was not found on the server. "
                                      "Check the model name and the server address."),
                                    req->model != NULL ? req->model : "");
      break;

    case 429:  /* Too Many Requests; libsoup has no name for it */
      code = CONFAB_PROVIDER_ERROR_RATE_LIMITED;
      if (retry_after_ms >= 0)
        {
          g_autofree char *wait = format_wait (retry_after_ms);

          /* Translators: %s is a duration such as "7 seconds". */
          sentence = g_strdup_printf (_("The server is limiting requests: too many were sent, "
                                        "or the quota is used up. Try again in %s."),
                                      wait);
        }
      else
        sentence = g_strdup (_("The server is limiting requests: too many were sent, "
                               "or the quota is used up. Try again later."));
      break;

    case SOUP_STATUS_PAYMENT_REQUIRED:
      code = CONFAB_PROVIDER_ERROR_BAD_REQUEST;
      sentence = g_strdup (_("The server asks for payment: the account may be out of credit."));
      break;

    case SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE:
      code = CONFAB_PROVIDER_ERROR_BAD_REQUEST;
      sentence = g_strdup (_("The conversation is too long for the server."));
      break;

    case SOUP_STATUS_BAD_GATEWAY:
    case SOUP_STATUS_SERVICE_UNAVAILABLE:
    case SOUP_STATUS_GATEWAY_TIMEOUT:
    case 529:  /* Anthropic's "overloaded_error" */
      code = CONFAB_PROVIDER_ERROR_SERVER;
      if (retry_after_ms >= 0)
        {
          g_autofree char *wait = format_wait (retry_after_ms);

          sentence = g_strdup_printf (_("The server is overloaded or unavailable (HTTP %u). "
                                        "Try again in %s."),
                                      status, wait);
        }
      else
        sentence = g_strdup_printf (_("The server is overloaded or unavailable (HTTP %u). "
                                      "Try again later."),
                                    status);
      break;

    default:
      if (status >= 500)
        {
          code = CONFAB_PROVIDER_ERROR_SERVER;
          sentence = g_strdup_printf (_("The server had an internal error (HTTP %u). "
                                        "Try again later."),
                                      status);
        }
      else
        {
          code = CONFAB_PROVIDER_ERROR_BAD_REQUEST;
          sentence = g_strdup_printf (_("The server did not accept the request (HTTP %u)."),
                                      status);
        }
      break;
    }

  text = add_server_message (sentence, server_message);

  return g_error_new_literal (CONFAB_PROVIDER_ERROR, code, text);
}

static void
request_drain_cb (GObject      *object,
                  GAsyncResult *res,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *req = g_task_get_task_data (task);

  g_input_stream_close_finish (G_INPUT_STREAM (object), res, NULL);
  request_set_deadline (req, -1);
}

/* Ends the work of a request that has its answer. A body that was read to
 * its end (or to [DONE], after which only the chunked terminator should
 * follow) is closed, which lets libsoup keep the connection for another GET
 * (it opens a fresh one for every POST); closing reads what is left, so it
 * gets a short deadline. Any other body is dropped, which makes libsoup
 * close a connection that is still busy: the server sees the request end. */
static void
request_stop (GTask *task)
{
  Request *req = g_task_get_task_data (task);

  if (req->drain && req->stream != NULL &&
      !g_cancellable_is_cancelled (req->cancellable))
    {
      request_set_deadline (req, MIN (req->idle_timeout_us, DRAIN_TIMEOUT_US));
      g_input_stream_close_async (req->stream,
                                  G_PRIORITY_DEFAULT,
                                  req->cancellable,
                                  request_drain_cb,
                                  g_object_ref (task));
      return;
    }

  request_set_deadline (req, -1);
  g_cancellable_cancel (req->cancellable);
  g_clear_object (&req->stream);
}

static void
request_return_error (GTask  *task,
                      GError *error)
{
  request_stop (task);
  g_task_return_error (task, error);
}

static void
request_return_translated (GTask        *task,
                           const GError *error)
{
  Request *req = g_task_get_task_data (task);

  request_return_error (task, translate_error (req, error));
}

/* Body reading */

static void request_read_next (GTask *task);

static void
notify_progress (Request *req)
{
  if (req->changed && req->progress != NULL)
    {
      req->changed = FALSE;
      req->progress (req->result, req->progress_data);
    }
  req->changed = FALSE;
}

static void
sse_event_cb (const char *event_type,
              const char *data,
              gsize       data_len,
              gpointer    user_data)
{
  Request *req = user_data;

  /* Whatever follows [DONE] or an error is not part of the reply. */
  if (req->stop)
    return;

  req->n_events++;

  if (req->format->decode_event (req->result, event_type, data, data_len))
    req->changed = TRUE;

  if (req->result->done || req->result->error_message != NULL)
    req->stop = TRUE;
}

static GError *
too_large_error (Request *req)
{
  g_autofree char *size = NULL;

  if (req->line_too_long)
    return g_error_new (CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_TOO_LARGE,
                        _("The server sent a line longer than Confab accepts, so it stopped "
                          "reading the reply."));

  return g_error_new (CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_TOO_LARGE,
                      _("The reply is larger than %s, the most Confab accepts, so it stopped "
                        "reading it."),
                      (size = g_format_size (req->max_reply_size)));
}

static GError *
stream_error (Request *req)
{
  g_autofree char *server_message = NULL;

  req->result->error_message = redact_key (req->result->error_message, req->api_key);
  server_message = tidy_server_text (req->result->error_message);
  g_autofree char *text = NULL;

  text = add_server_message (_("The server reported an error while writing the reply."),
                             server_message);

  return g_error_new_literal (CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_STREAM, text);
}

static int
compare_ids (gconstpointer a,
             gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static GStrv
parse_model_list (const guint8 *data,
                  gsize         len)
{
  g_autoptr(JsonNode) root = confab_json_parse_object ((const char *) data, len);
  g_autoptr(GPtrArray) ids = NULL;
  g_autoptr(GStrvBuilder) builder = NULL;
  JsonArray *list = NULL;

  if (root == NULL)
    return NULL;

  if (JSON_NODE_HOLDS_OBJECT (root))
    {
      JsonObject *object = json_node_get_object (root);

      if ((list = confab_json_get_array (object, "data")) == NULL)
        list = confab_json_get_array (object, "models");
    }
  else if (JSON_NODE_HOLDS_ARRAY (root))
    list = json_node_get_array (root);

  if (list == NULL)
    return NULL;

  ids = g_ptr_array_new ();
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonNode *element = json_array_get_element (list, i);
      const char *id = NULL;

      if (JSON_NODE_HOLDS_OBJECT (element))
        {
          JsonObject *model = json_node_get_object (element);

          if ((id = confab_json_get_string (model, "id")) == NULL)
            id = confab_json_get_string (model, "name");
        }
      else if (JSON_NODE_HOLDS_VALUE (element) &&
               json_node_get_value_type (element) == G_TYPE_STRING)
        id = json_node_get_string (element);

      if (id != NULL && *id != '\0' && g_utf8_validate (id, -1, NULL))
        g_ptr_array_add (ids, (gpointer) id);
    }

  g_ptr_array_sort (ids, compare_ids);

  builder = g_strv_builder_new ();
  for (guint i = 0; i < ids->len; i++)
    {
      if (i > 0 && g_strcmp0 (ids->pdata[i - 1], ids->pdata[i]) == 0)
        continue;
      g_strv_builder_add (builder, ids->pdata[i]);
    }

  return g_strv_builder_end (builder);
}

/* A reply to a request that asked for a stream but came whole, as some
 * servers do. FALSE when it is not a reply at all. */
static gboolean
decode_whole_reply (Request *req)
{
  g_autoptr(JsonNode) root = NULL;

  if (req->format->decode_reply == NULL)
    return FALSE;

  root = confab_json_parse_object ((const char *) req->body->data, req->body->len);

  return root != NULL && req->format->decode_reply (req->result, root);
}

static void
request_finish_error_body (GTask *task)
{
  Request *req = g_task_get_task_data (task);
  guint status = soup_message_get_status (req->msg);
  gint64 retry_after_ms;

  retry_after_ms = parse_retry_after (soup_message_get_response_headers (req->msg));
  if (req->result != NULL)
    req->result->retry_after_ms = retry_after_ms;

  request_return_error (task, http_error (req, status, retry_after_ms));
}

static void
request_finish_at_eof (GTask *task)
{
  Request *req = g_task_get_task_data (task);
  guint status = soup_message_get_status (req->msg);

  if (status >= 400)
    {
      request_finish_error_body (task);
      return;
    }

  if (req->kind == REQUEST_KIND_MODELS)
    {
      g_auto(GStrv) models = parse_model_list (req->body->data, req->body->len);

      if (models == NULL)
        {
          request_return_error (task,
                                g_error_new (CONFAB_PROVIDER_ERROR,
                                             CONFAB_PROVIDER_ERROR_INVALID_RESPONSE,
                                             _("The server %s sent a list of models Confab "
                                               "cannot read."),
                                             req->host));
          return;
        }

      request_stop (task);
      g_task_return_pointer (task, g_steal_pointer (&models), (GDestroyNotify) g_strfreev);
      return;
    }

  if (req->is_sse)
    {
      confab_sse_parser_finish (req->parser);
    }
  else if (!decode_whole_reply (req))
    {
      request_return_error (task,
                            g_error_new (CONFAB_PROVIDER_ERROR,
                                         CONFAB_PROVIDER_ERROR_INVALID_RESPONSE,
                                         _("The server %s sent a reply Confab cannot read."),
                                         req->host));
      return;
    }
  else
    {
      req->changed = TRUE;
    }

  notify_progress (req);

  if (req->result->error_message != NULL)
    request_return_error (task, stream_error (req));
  else if (confab_stream_result_is_finished (req->result))
    {
      request_stop (task);
      g_task_return_boolean (task, TRUE);
    }
  else if (req->n_events == 0 && !req->declared_sse)
    request_return_error (task,
                          g_error_new (CONFAB_PROVIDER_ERROR,
                                       CONFAB_PROVIDER_ERROR_INVALID_RESPONSE,
                                       _("The server %s sent a reply Confab cannot read: "
                                         "it is not a stream of chat completion events."),
                                       req->host));
  /* libsoup 3.2 reports a connection reset or closed in the middle of a
   * chunked body as a normal end, so this is also how a lost connection
   * looks: the words must fit both. */
  else if (!result_has_text (req->result))
    request_return_error (task,
                          g_error_new (CONFAB_PROVIDER_ERROR,
                                       CONFAB_PROVIDER_ERROR_NETWORK,
                                       _("The connection to %s ended before any of the "
                                         "reply arrived."),
                                       req->host));
  else
    request_return_error (task,
                          g_error_new (CONFAB_PROVIDER_ERROR,
                                       CONFAB_PROVIDER_ERROR_INTERRUPTED,
                                       _("The reply was interrupted: the connection to %s "
                                         "ended before the reply was complete."),
                                       req->host));
}

static gboolean
looks_like_sse (const guint8 *data,
                gsize         size)
{
  gsize i = 0;

  while (i < size && g_ascii_isspace (data[i]))
    i++;

  return i < size && (data[i] == ':' ||
                      (size - i >= 5 && memcmp (data + i, "data:", 5) == 0) ||
                      (size - i >= 6 && memcmp (data + i, "event:", 6) == 0));
}

static void
request_read_cb (GObject      *object,
                 GAsyncResult *res,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *req = g_task_get_task_data (task);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  guint status = soup_message_get_status (req->msg);
  const guint8 *data;
  gsize size;
  gsize allowed;
  gboolean too_large = FALSE;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), res, &error);

  if (bytes == NULL)
    {
      /* An error page cut short still says what it can. */
      if (status >= 400 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        request_finish_error_body (task);
      else
        request_return_translated (task, error);
      return;
    }

  data = g_bytes_get_data (bytes, &size);
  if (size == 0)
    {
      req->drain = TRUE;
      request_finish_at_eof (task);
      return;
    }

  request_set_deadline (req, req->idle_timeout_us);

  if (status >= 400)
    {
      allowed = MIN (size, ERROR_BODY_MAX - req->body->len);
      g_byte_array_append (req->body, data, allowed);
      if (req->body->len >= ERROR_BODY_MAX)
        request_finish_error_body (task);
      else
        request_read_next (task);
      return;
    }

  /* A stream labelled as JSON is still a stream. */
  if (req->kind == REQUEST_KIND_CHAT && !req->is_sse && req->n_read == 0 &&
      req->body->len == 0 && looks_like_sse (data, size))
    req->is_sse = TRUE;

  allowed = size;
  if (req->n_read + size > req->max_reply_size)
    {
      allowed = (gsize) (req->max_reply_size - req->n_read);
      too_large = TRUE;
    }
  req->n_read += allowed;

  if (req->is_sse)
    {
      g_autoptr(GError) parse_error = NULL;

      if (!confab_sse_parser_feed (req->parser, (const char *) data, allowed, &parse_error))
        {
          req->line_too_long = TRUE;
          too_large = TRUE;
        }
      notify_progress (req);
    }
  else
    {
      g_byte_array_append (req->body, data, allowed);
    }

  /* What the stream said before the limit counts: an error, or its end. */
  if (req->stop && req->result->error_message != NULL)
    request_return_error (task, stream_error (req));
  else if (req->stop)
    {
      req->drain = TRUE;
      request_stop (task);
      g_task_return_boolean (task, TRUE);
    }
  else if (too_large)
    request_return_error (task, too_large_error (req));
  else
    request_read_next (task);
}

/* Not below GTK's redraw: with continuous frames (a spinner under a slow
 * display) reads would never run. A flooding server can hold off painting
 * while data is already waiting, for as long as it floods; the view's
 * per-frame budget keeps what follows smooth. */
#define READ_PRIORITY G_PRIORITY_DEFAULT

static void
request_read_next (GTask *task)
{
  Request *req = g_task_get_task_data (task);

  g_input_stream_read_bytes_async (req->stream,
                                   READ_CHUNK_SIZE,
                                   READ_PRIORITY,
                                   req->cancellable,
                                   request_read_cb,
                                   g_object_ref (task));
}

static void
request_send_cb (GObject      *object,
                 GAsyncResult *res,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *req = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  SoupMessageHeaders *headers;
  const char *content_type;
  guint status;

  req->stream = soup_session_send_finish (SOUP_SESSION (object), res, &error);
  if (req->stream == NULL)
    {
      request_return_translated (task, error);
      return;
    }

  req->phase = PHASE_READING;
  request_set_deadline (req, req->idle_timeout_us);

  status = soup_message_get_status (req->msg);
  headers = soup_message_get_response_headers (req->msg);
  content_type = soup_message_headers_get_content_type (headers, NULL);

  g_debug ("%s %s: HTTP %u, %s",
           soup_message_get_method (req->msg), req->host, status,
           content_type != NULL ? content_type : "no content type");

  if (req->result != NULL)
    req->result->http_status = status;

  req->body = g_byte_array_new ();

  if (status >= 400)
    {
      request_read_next (task);
      return;
    }

  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      request_return_error (task,
                            g_error_new (CONFAB_PROVIDER_ERROR,
                                         CONFAB_PROVIDER_ERROR_INVALID_RESPONSE,
                                         _("The server %s answered with an unexpected "
                                           "status (HTTP %u)."),
                                         req->host, status));
      return;
    }

  if (req->kind == REQUEST_KIND_CHAT)
    {
      req->declared_sse = content_type != NULL &&
                          g_ascii_strcasecmp (content_type, "text/event-stream") == 0;
      /* Some servers ignore "stream": a JSON reply is a whole completion. */
      req->is_sse = content_type == NULL ||
                    (g_ascii_strcasecmp (content_type, "application/json") != 0);
    }

  request_read_next (task);
}

/* Request set-up */

static char *
format_host (GUri *uri)
{
  const char *host = g_uri_get_host (uri);
  int port = g_uri_get_port (uri);

  /* Name the port only when it is not the scheme's own. */
  if ((port == 80 && g_ascii_strcasecmp (g_uri_get_scheme (uri), "http") == 0) ||
      (port == 443 && g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0))
    port = -1;

  if (port > 0 && strchr (host, ':') != NULL)
    return g_strdup_printf ("[%s]:%d", host, port);
  if (port > 0)
    return g_strdup_printf ("%s:%d", host, port);

  return g_strdup (host);
}

/* {base}{path}, keeping a query string the base may carry. */
static GUri *
build_uri (const char  *base_url,
           const char  *path,
           const char  *query,
           GError     **error)
{
  g_autoptr(GUri) base = NULL;
  g_autoptr(GString) full_path = NULL;
  g_autofree char *trimmed = NULL;
  g_autofree char *full_query = NULL;
  const char *scheme;

  trimmed = g_strstrip (g_strdup (base_url != NULL ? base_url : ""));
  if (*trimmed == '\0')
    {
      g_set_error_literal (error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_NO_URL,
                           _("No server address is set. Enter one in the preferences."));
      return NULL;
    }

  base = g_uri_parse (trimmed, SOUP_HTTP_URI_FLAGS, NULL);
  scheme = base != NULL ? g_uri_get_scheme (base) : NULL;
  if (base == NULL || scheme == NULL ||
      (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0) ||
      g_uri_get_host (base) == NULL || *g_uri_get_host (base) == '\0')
    {
      g_set_error (error, CONFAB_PROVIDER_ERROR, CONFAB_PROVIDER_ERROR_NO_URL,
                   _("The server address “%s” is not a valid web address. It should look "
                     "like https://api.example.com/v1."),
                   trimmed);
      return NULL;
    }

  full_path = g_string_new (g_uri_get_path (base));
  while (full_path->len > 0 && full_path->str[full_path->len - 1] == '/')
    g_string_truncate (full_path, full_path->len - 1);
  g_string_append (full_path, path);

  if (g_uri_get_query (base) != NULL && query != NULL)
    full_query = g_strconcat (g_uri_get_query (base), "&", query, NULL);
  else
    full_query = g_strdup (query != NULL ? query : g_uri_get_query (base));

  return g_uri_build (g_uri_get_flags (base),
                      g_uri_get_scheme (base),
                      g_uri_get_userinfo (base),
                      g_uri_get_host (base),
                      g_uri_get_port (base),
                      full_path->str,
                      full_query,
                      NULL);
}

SoupMessage *
confab_http_message_new (const ConfabHttpConfig  *config,
                         const char              *method,
                         const char              *path,
                         const char              *query,
                         GError                 **error)
{
  g_autoptr(GUri) uri = NULL;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (method != NULL, NULL);
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  uri = build_uri (config->base_url, path, query, error);
  if (uri == NULL)
    return NULL;

  return soup_message_new_from_uri (method, uri);
}

static Request *
request_new (const ConfabHttpConfig     *config,
             SoupMessage                *msg,
             const ConfabHttpWireFormat *format,
             RequestKind                 kind,
             GTask                      *task)
{
  GCancellable *cancellable = g_task_get_cancellable (task);
  Request *req;

  req = g_new0 (Request, 1);
  req->kind = kind;
  req->phase = PHASE_CONNECTING;
  req->format = format;
  req->session = g_object_ref (config->session);
  req->msg = g_object_ref (msg);
  req->host = format_host (soup_message_get_uri (msg));
  req->connect_timeout_s = config->connect_timeout;
  req->idle_timeout_s = config->idle_timeout;
  req->connect_timeout_us = (gint64) config->connect_timeout * G_USEC_PER_SEC;
  req->idle_timeout_us = (gint64) config->idle_timeout * G_USEC_PER_SEC;
  req->max_reply_size = config->max_reply_size;
  req->cancellable = g_cancellable_new ();
  /* Kept only to take it out of whatever the server says. */
  if (config->api_key != NULL && *config->api_key != '\0')
    req->api_key = g_strdup (config->api_key);
  g_task_set_task_data (task, req, request_free);

  g_signal_connect (req->msg, "wrote-headers", G_CALLBACK (wrote_headers_cb), req);

  req->deadline = g_source_new (&deadline_funcs, sizeof (GSource));
  g_source_set_static_name (req->deadline, "[confab] request deadline");
  g_source_set_callback (req->deadline, deadline_cb, req, NULL);
  g_source_attach (req->deadline, g_task_get_context (task));
  request_set_deadline (req, req->connect_timeout_us);

  if (cancellable != NULL)
    {
      req->caller_cancellable = g_object_ref (cancellable);
      req->cancelled_id = g_cancellable_connect (cancellable,
                                                 G_CALLBACK (caller_cancelled_cb),
                                                 req, NULL);
    }

  return req;
}

/* Takes @task over: every step holds a reference of its own. */
static void
request_send (GTask *task)
{
  Request *req = g_task_get_task_data (task);

  /* The key is in a header the provider set; it is never logged. */
  g_debug ("%s %s%s (key %s)",
           soup_message_get_method (req->msg),
           req->host,
           g_uri_get_path (soup_message_get_uri (req->msg)),
           req->api_key != NULL ? "[redacted]" : "none");

  soup_session_send_async (req->session,
                           req->msg,
                           G_PRIORITY_DEFAULT,
                           req->cancellable,
                           request_send_cb,
                           task);
}

/**
 * confab_http_stream_chat:
 * @config: the provider's settings
 * @msg: the request, ready to send
 * @format: (not nullable): the wire format; static
 * @model: (nullable): the model asked for, named if it is not found
 * @result: (transfer none): where the reply goes; the caller keeps it alive
 * @progress: (nullable): called whenever @result changed
 * @progress_data: data for @progress
 * @task: (transfer full): the provider's task, with the caller's cancellable
 *
 * Runs one streamed chat request and returns a boolean through @task.
 */
void
confab_http_stream_chat (const ConfabHttpConfig     *config,
                         SoupMessage                *msg,
                         const ConfabHttpWireFormat *format,
                         const char                 *model,
                         ConfabStreamResult         *result,
                         ConfabStreamProgressFunc    progress,
                         gpointer                    progress_data,
                         GTask                      *task)
{
  Request *req;

  g_return_if_fail (config != NULL);
  g_return_if_fail (SOUP_IS_MESSAGE (msg));
  g_return_if_fail (format != NULL && format->decode_event != NULL);
  g_return_if_fail (result != NULL);
  g_return_if_fail (G_IS_TASK (task));

  soup_message_headers_replace (soup_message_get_request_headers (msg),
                                "Accept", "text/event-stream");

  req = request_new (config, msg, format, REQUEST_KIND_CHAT, task);
  req->result = result;
  req->progress = progress;
  req->progress_data = progress_data;
  req->model = g_strdup (model);
  req->parser = confab_sse_parser_new (sse_event_cb, req);
  confab_sse_parser_set_max_line_length (req->parser,
                                         (gsize) MIN (config->max_line_length, G_MAXSIZE));

  request_send (task);
}

/**
 * confab_http_fetch_models:
 * @config: the provider's settings
 * @msg: the request, ready to send
 * @format: (not nullable): the wire format, for error bodies; static
 * @task: (transfer full): the provider's task, with the caller's cancellable
 *
 * Runs one request for the model list and returns a GStrv through @task.
 */
void
confab_http_fetch_models (const ConfabHttpConfig     *config,
                          SoupMessage                *msg,
                          const ConfabHttpWireFormat *format,
                          GTask                      *task)
{
  g_return_if_fail (config != NULL);
  g_return_if_fail (SOUP_IS_MESSAGE (msg));
  g_return_if_fail (format != NULL);
  g_return_if_fail (G_IS_TASK (task));

  soup_message_headers_replace (soup_message_get_request_headers (msg),
                                "Accept", "application/json");

  request_new (config, msg, format, REQUEST_KIND_MODELS, task);
  request_send (task);
}

gboolean
confab_http_stream_chat_finish (ConfabProvider  *provider,
                                GAsyncResult    *result,
                                GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, provider), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

GStrv
confab_http_fetch_models_finish (ConfabProvider  *provider,
                                 GAsyncResult    *result,
                                 GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, provider), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Settings and their properties */

/**
 * confab_http_config_init:
 * @config: a provider's settings, zeroed
 * @default_base_url: (nullable): the base URL until one is set
 *
 * Sets the defaults and creates the session.
 */
void
confab_http_config_init (ConfabHttpConfig *config,
                         const char       *default_base_url)
{
  config->base_url = g_strdup (default_base_url);
  config->api_key = NULL;
  config->idle_timeout = DEFAULT_IDLE_TIMEOUT;
  config->connect_timeout = DEFAULT_CONNECT_TIMEOUT;
  config->max_reply_size = DEFAULT_MAX_REPLY_SIZE;
  config->max_line_length = DEFAULT_MAX_LINE_LENGTH;

  /* No I/O timeout from libsoup: a reply may stream for many minutes; the
   * request's own deadline watches for silence instead. Several
   * conversations may stream from one server at once. */
  config->session = soup_session_new_with_options ("timeout", 0,
                                                   "max-conns", 32,
                                                   "max-conns-per-host", 16,
                                                   "user-agent", "Confab/" PACKAGE_VERSION,
                                                   NULL);
}

static void
clear_secret (char **field)
{
  if (*field != NULL)
    memset (*field, 0, strlen (*field));
  g_clear_pointer (field, g_free);
}

void
confab_http_config_clear (ConfabHttpConfig *config)
{
  g_clear_object (&config->session);
  g_clear_pointer (&config->base_url, g_free);
  clear_secret (&config->api_key);
}

void
confab_http_config_install_properties (GParamSpec **properties,
                                       const char  *default_base_url)
{
  properties[CONFAB_HTTP_PROP_BASE_URL] =
    g_param_spec_string ("base-url", NULL, NULL,
                         default_base_url,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[CONFAB_HTTP_PROP_API_KEY] =
    g_param_spec_string ("api-key", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[CONFAB_HTTP_PROP_IDLE_TIMEOUT] =
    g_param_spec_uint ("idle-timeout", NULL, NULL,
                       0, G_MAXUINT / 1000, DEFAULT_IDLE_TIMEOUT,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[CONFAB_HTTP_PROP_CONNECT_TIMEOUT] =
    g_param_spec_uint ("connect-timeout", NULL, NULL,
                       0, G_MAXUINT / 1000, DEFAULT_CONNECT_TIMEOUT,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[CONFAB_HTTP_PROP_MAX_REPLY_SIZE] =
    g_param_spec_uint64 ("max-reply-size", NULL, NULL,
                         1, G_MAXUINT64, DEFAULT_MAX_REPLY_SIZE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[CONFAB_HTTP_PROP_MAX_LINE_LENGTH] =
    g_param_spec_uint64 ("max-line-length", NULL, NULL,
                         1, G_MAXUINT64, DEFAULT_MAX_LINE_LENGTH,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
}

gboolean
confab_http_config_get_property (const ConfabHttpConfig *config,
                                 guint                   prop_id,
                                 GValue                 *value)
{
  switch (prop_id)
    {
    case CONFAB_HTTP_PROP_BASE_URL:
      g_value_set_string (value, config->base_url);
      return TRUE;

    case CONFAB_HTTP_PROP_API_KEY:
      g_value_set_string (value, config->api_key);
      return TRUE;

    case CONFAB_HTTP_PROP_IDLE_TIMEOUT:
      g_value_set_uint (value, config->idle_timeout);
      return TRUE;

    case CONFAB_HTTP_PROP_CONNECT_TIMEOUT:
      g_value_set_uint (value, config->connect_timeout);
      return TRUE;

    case CONFAB_HTTP_PROP_MAX_REPLY_SIZE:
      g_value_set_uint64 (value, config->max_reply_size);
      return TRUE;

    case CONFAB_HTTP_PROP_MAX_LINE_LENGTH:
      g_value_set_uint64 (value, config->max_line_length);
      return TRUE;

    default:
      return FALSE;
    }
}

static gboolean
set_string (char       **field,
            const char  *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;

  clear_secret (field);
  *field = g_strdup (value);

  return TRUE;
}

static gboolean
set_uint64 (guint64 *field,
            guint64  value)
{
  if (*field == value)
    return FALSE;

  *field = value;

  return TRUE;
}

static gboolean
set_uint (guint *field,
          guint  value)
{
  if (*field == value)
    return FALSE;

  *field = value;

  return TRUE;
}

gboolean
confab_http_config_set_property (ConfabHttpConfig *config,
                                 GObject          *object,
                                 guint             prop_id,
                                 const GValue     *value,
                                 GParamSpec       *pspec)
{
  const char *text;
  gboolean changed;

  switch (prop_id)
    {
    case CONFAB_HTTP_PROP_BASE_URL:
      text = g_value_get_string (value);
      if (text == NULL)
        text = G_PARAM_SPEC_STRING (pspec)->default_value;
      changed = set_string (&config->base_url, text);
      break;

    case CONFAB_HTTP_PROP_API_KEY:
      changed = set_string (&config->api_key, g_value_get_string (value));
      break;

    case CONFAB_HTTP_PROP_IDLE_TIMEOUT:
      changed = set_uint (&config->idle_timeout, g_value_get_uint (value));
      break;

    case CONFAB_HTTP_PROP_CONNECT_TIMEOUT:
      changed = set_uint (&config->connect_timeout, g_value_get_uint (value));
      break;

    case CONFAB_HTTP_PROP_MAX_REPLY_SIZE:
      changed = set_uint64 (&config->max_reply_size, g_value_get_uint64 (value));
      break;

    case CONFAB_HTTP_PROP_MAX_LINE_LENGTH:
      changed = set_uint64 (&config->max_line_length, g_value_get_uint64 (value));
      break;

    default:
      return FALSE;
    }

  if (changed)
    g_object_notify_by_pspec (object, pspec);

  return TRUE;
}
