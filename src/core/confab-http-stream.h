/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "confab-provider.h"

G_BEGIN_DECLS

/*
 * The HTTP half of every ConfabProvider, whatever its wire format. Private to
 * src/core: ConfabOpenaiProvider and ConfabAnthropicProvider use it, nothing
 * else should.
 *
 * It owns the SoupSession and the settings both providers share (and their
 * GObject properties), and runs one request: the connect and idle timeouts,
 * status checks and their translated sentences, Retry-After and rate-limit
 * headers, the read loop with the SSE parser and its size bounds,
 * cancellation, and keeping the API key out of every message. A provider
 * builds the SoupMessage (its path, headers and body) and names its wire
 * format; the answer comes back through the provider's own GTask.
 */

/* How a provider's server speaks. */
typedef struct
{
  /* One SSE event onto the result: confab_openai_decode_event, … */
  gboolean     (*decode_event)  (ConfabStreamResult *result,
                                 const char         *event_type,
                                 const char         *data,
                                 gsize               data_len);
  /* A whole JSON reply, from a server that ignored "stream": FALSE when
   * @root is no such reply. May be NULL: then only streams are read. */
  gboolean     (*decode_reply)  (ConfabStreamResult *result,
                                 JsonNode           *root);
  /* The server's own words in a JSON error body, borrowed from @root, or
   * NULL. Plain-text bodies are quoted without asking. */
  const char  *(*error_message) (JsonNode           *root);
} ConfabHttpWireFormat;

/* What a provider is set to, kept in its instance struct. */
typedef struct
{
  SoupSession *session;
  char        *base_url;
  char        *api_key;          /* NULL or empty: none */
  guint        idle_timeout;     /* seconds */
  guint        connect_timeout;  /* seconds */
  guint64      max_reply_size;
  guint64      max_line_length;
} ConfabHttpConfig;

/* The properties every HTTP provider has, numbered from 1 in its own enum;
 * a provider's own come after CONFAB_HTTP_N_PROPS. */
enum
{
  CONFAB_HTTP_PROP_BASE_URL = 1,
  CONFAB_HTTP_PROP_API_KEY,
  CONFAB_HTTP_PROP_IDLE_TIMEOUT,
  CONFAB_HTTP_PROP_CONNECT_TIMEOUT,
  CONFAB_HTTP_PROP_MAX_REPLY_SIZE,
  CONFAB_HTTP_PROP_MAX_LINE_LENGTH,
  CONFAB_HTTP_N_PROPS
};

void         confab_http_config_init               (ConfabHttpConfig   *config,
                                                    const char         *default_base_url);
void         confab_http_config_clear              (ConfabHttpConfig   *config);
/* Fills @properties[CONFAB_HTTP_PROP_BASE_URL … CONFAB_HTTP_N_PROPS - 1]. */
void         confab_http_config_install_properties (GParamSpec        **properties,
                                                    const char         *default_base_url);
/* FALSE when @prop_id is not one of the shared properties. */
gboolean     confab_http_config_get_property       (const ConfabHttpConfig *config,
                                                    guint               prop_id,
                                                    GValue             *value);
/* Notifies @object when the value changed. A NULL base URL restores the
 * default. FALSE when @prop_id is not one of the shared properties. */
gboolean     confab_http_config_set_property       (ConfabHttpConfig   *config,
                                                    GObject            *object,
                                                    guint               prop_id,
                                                    const GValue       *value,
                                                    GParamSpec         *pspec);

/* A message for {base}{path}, keeping a query string the base may carry and
 * adding @query (nullable). NULL and CONFAB_PROVIDER_ERROR_NO_URL when the
 * base is missing or not an http(s) address. */
SoupMessage *confab_http_message_new               (const ConfabHttpConfig *config,
                                                    const char         *method,
                                                    const char         *path,
                                                    const char         *query,
                                                    GError            **error);

/*
 * Sends @msg and streams the reply into @result through @format, then
 * returns a boolean through @task (transfer full), as
 * confab_provider_stream_chat_async() describes. The task's cancellable is
 * the caller's. @model (nullable) names the model in a "not found" message.
 */
void         confab_http_stream_chat               (const ConfabHttpConfig     *config,
                                                    SoupMessage                *msg,
                                                    const ConfabHttpWireFormat *format,
                                                    const char                 *model,
                                                    ConfabStreamResult         *result,
                                                    ConfabStreamProgressFunc    progress,
                                                    gpointer                    progress_data,
                                                    GTask                      *task);

/* Sends @msg and returns the sorted, unique model ids of its JSON answer
 * (data[].id, models[].id or .name, or a plain array) as a GStrv through
 * @task (transfer full). */
void         confab_http_fetch_models              (const ConfabHttpConfig     *config,
                                                    SoupMessage                *msg,
                                                    const ConfabHttpWireFormat *format,
                                                    GTask                      *task);

/* The stream_chat_finish and list_models_finish of every HTTP provider: the
 * answers of the two functions above. */
gboolean     confab_http_stream_chat_finish        (ConfabProvider     *provider,
                                                    GAsyncResult       *result,
                                                    GError            **error);
GStrv        confab_http_fetch_models_finish       (ConfabProvider     *provider,
                                                    GAsyncResult       *result,
                                                    GError            **error);


G_END_DECLS
