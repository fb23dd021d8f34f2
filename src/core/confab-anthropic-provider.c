/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-anthropic-provider"

#include "config.h"

#include <json-glib/json-glib.h>

#include "confab-anthropic-provider.h"
#include "confab-decoders.h"
#include "confab-http-stream.h"
#include "confab-json.h"

/* The HTTP side (timeouts, errors, limits, the read loop) is in
 * confab-http-stream.c; this file maps the Messages API onto it. */

#define DEFAULT_BASE_URL    "https://api.anthropic.com/v1"
#define DEFAULT_MAX_TOKENS  4096
#define ANTHROPIC_VERSION   "2023-06-01"
/* GET /models pages its answer, 20 models by default; 1000 is its maximum. */
#define MODELS_QUERY        "limit=1000"

struct _ConfabAnthropicProvider
{
  GObject          parent_instance;

  /* Owned */
  ConfabHttpConfig config;

  guint            max_tokens;
};

static void confab_anthropic_provider_iface_init (ConfabProviderInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ConfabAnthropicProvider, confab_anthropic_provider, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (CONFAB_TYPE_PROVIDER,
                                                      confab_anthropic_provider_iface_init))

/* The shared ones (see confab-http-stream.h) first, then ours. */
enum {
  PROP_MAX_TOKENS = CONFAB_HTTP_N_PROPS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Anthropic's {"type":"error","error":{"type","message"}}; a proxy in front
 * of it may put the message at the top level instead. */
static const char *
find_error_message (JsonNode *root)
{
  JsonObject *object;
  const char *message;

  if (!JSON_NODE_HOLDS_OBJECT (root))
    return NULL;

  object = json_node_get_object (root);
  message = confab_json_get_string (confab_json_get_object (object, "error"),
                                         "message");

  return message != NULL ? message : confab_json_get_string (object, "message");
}

static const ConfabHttpWireFormat anthropic_format = {
  .decode_event = confab_anthropic_decode_event,
  .decode_reply = NULL,  /* the Messages API streams when asked to */
  .error_message = find_error_message,
};

/* The request body */

static gboolean
is_blank (const char *text)
{
  for (const char *p = text; p != NULL && *p != '\0'; p = g_utf8_next_char (p))
    {
      if (!g_unichar_isspace (g_utf8_get_char (p)))
        return FALSE;
    }

  return TRUE;
}

static void
add_turn (JsonBuilder *builder,
          ConfabRole   role,
          GString     *text)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, confab_role_to_string (role));
  json_builder_set_member_name (builder, "content");
  json_builder_add_string_value (builder, text->str);
  json_builder_end_object (builder);
}

/* The Messages API wants user and assistant turns that alternate, starting
 * with the user, none of them empty: empty messages are skipped, leading
 * assistant ones dropped, and consecutive ones of one role joined. */
static void
add_turns (JsonBuilder *builder,
           GPtrArray   *messages)
{
  g_autoptr(GString) text = NULL;
  ConfabRole role = CONFAB_ROLE_USER;

  for (guint i = 0; messages != NULL && i < messages->len; i++)
    {
      ConfabMessage *message = g_ptr_array_index (messages, i);
      ConfabRole message_role = confab_message_get_role (message);
      const char *content = confab_message_get_content (message);

      if ((message_role != CONFAB_ROLE_USER && message_role != CONFAB_ROLE_ASSISTANT) ||
          is_blank (content))
        continue;

      if (text == NULL && message_role == CONFAB_ROLE_ASSISTANT)
        continue;

      if (text != NULL && message_role == role)
        {
          g_string_append (text, "\n\n");
          g_string_append (text, content);
          continue;
        }

      if (text != NULL)
        {
          add_turn (builder, role, text);
          g_string_assign (text, content);
        }
      else
        text = g_string_new (content);
      role = message_role;
    }

  if (text == NULL)
    return;

  /* Anthropic rejects a last assistant turn (a reply to continue) that ends
   * in white space. */
  if (role == CONFAB_ROLE_ASSISTANT)
    while (text->len > 0 && g_ascii_isspace (text->str[text->len - 1]))
      g_string_truncate (text, text->len - 1);

  add_turn (builder, role, text);
}

static GBytes *
build_messages_body (ConfabAnthropicProvider *self,
                     const ConfabChatRequest *request)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = NULL;
  g_autoptr(JsonNode) root = NULL;
  char *data;
  gsize len;

  json_builder_begin_object (builder);

  json_builder_set_member_name (builder, "model");
  json_builder_add_string_value (builder, request->model != NULL ? request->model : "");

  json_builder_set_member_name (builder, "max_tokens");
  json_builder_add_int_value (builder, self->max_tokens);

  /* A top-level string: Anthropic has no system role in "messages". */
  if (request->system_message != NULL && !is_blank (request->system_message))
    {
      json_builder_set_member_name (builder, "system");
      json_builder_add_string_value (builder, request->system_message);
    }

  json_builder_set_member_name (builder, "messages");
  json_builder_begin_array (builder);
  add_turns (builder, request->messages);
  json_builder_end_array (builder);

  /* Anthropic takes 0–1, not OpenAI's 0–2: a conversation's temperature
   * (shared by every kind of server) is clamped rather than refused. */
  if (request->temperature >= 0)
    {
      json_builder_set_member_name (builder, "temperature");
      json_builder_add_double_value (builder, MIN (request->temperature, 1.0));
    }

  json_builder_set_member_name (builder, "stream");
  json_builder_add_boolean_value (builder, TRUE);

  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  generator = json_generator_new ();
  json_generator_set_root (generator, root);
  data = json_generator_to_data (generator, &len);

  return g_bytes_new_take (data, len);
}

/* ConfabProvider */

/* A message for {base}{path} with Anthropic's headers, or NULL when @task
 * already returned the error. */
static SoupMessage *
message_new (ConfabAnthropicProvider *self,
             const char              *method,
             const char              *path,
             const char              *query,
             GTask                   *task)
{
  SoupMessage *msg;
  SoupMessageHeaders *headers;
  GError *error = NULL;

  msg = confab_http_message_new (&self->config, method, path, query, &error);
  if (msg == NULL)
    {
      g_task_return_error (task, error);
      return NULL;
    }

  headers = soup_message_get_request_headers (msg);
  soup_message_headers_replace (headers, "anthropic-version", ANTHROPIC_VERSION);

  /* The key goes in a header only; it is never logged. */
  if (self->config.api_key != NULL && *self->config.api_key != '\0')
    soup_message_headers_replace (headers, "x-api-key", self->config.api_key);

  return msg;
}

static void
confab_anthropic_provider_stream_chat_async (ConfabProvider           *provider,
                                             const ConfabChatRequest  *request,
                                             ConfabStreamResult       *result,
                                             ConfabStreamProgressFunc  progress,
                                             gpointer                  progress_data,
                                             GCancellable             *cancellable,
                                             GAsyncReadyCallback       callback,
                                             gpointer                  user_data)
{
  ConfabAnthropicProvider *self = CONFAB_ANTHROPIC_PROVIDER (provider);
  g_autoptr(GTask) task = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, confab_anthropic_provider_stream_chat_async);

  msg = message_new (self, SOUP_METHOD_POST, "/messages", NULL, task);
  if (msg == NULL)
    return;

  body = build_messages_body (self, request);
  soup_message_set_request_body_from_bytes (msg, "application/json", body);

  confab_http_stream_chat (&self->config, msg, &anthropic_format, request->model,
                           result, progress, progress_data, g_steal_pointer (&task));
}

static void
confab_anthropic_provider_list_models_async (ConfabProvider      *provider,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data)
{
  ConfabAnthropicProvider *self = CONFAB_ANTHROPIC_PROVIDER (provider);
  g_autoptr(GTask) task = NULL;
  g_autoptr(SoupMessage) msg = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, confab_anthropic_provider_list_models_async);

  msg = message_new (self, SOUP_METHOD_GET, "/models", MODELS_QUERY, task);
  if (msg == NULL)
    return;

  confab_http_fetch_models (&self->config, msg, &anthropic_format, g_steal_pointer (&task));
}

static void
confab_anthropic_provider_iface_init (ConfabProviderInterface *iface)
{
  iface->stream_chat_async = confab_anthropic_provider_stream_chat_async;
  iface->stream_chat_finish = confab_http_stream_chat_finish;
  iface->list_models_async = confab_anthropic_provider_list_models_async;
  iface->list_models_finish = confab_http_fetch_models_finish;
}

/* GObject */

static void
confab_anthropic_provider_finalize (GObject *object)
{
  ConfabAnthropicProvider *self = (ConfabAnthropicProvider *) object;

  confab_http_config_clear (&self->config);

  G_OBJECT_CLASS (confab_anthropic_provider_parent_class)->finalize (object);
}

static void
confab_anthropic_provider_get_property (GObject    *object,
                                        guint       prop_id,
                                        GValue     *value,
                                        GParamSpec *pspec)
{
  ConfabAnthropicProvider *self = CONFAB_ANTHROPIC_PROVIDER (object);

  if (prop_id == PROP_MAX_TOKENS)
    g_value_set_uint (value, self->max_tokens);
  else if (!confab_http_config_get_property (&self->config, prop_id, value))
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
confab_anthropic_provider_set_property (GObject      *object,
                                        guint         prop_id,
                                        const GValue *value,
                                        GParamSpec   *pspec)
{
  ConfabAnthropicProvider *self = CONFAB_ANTHROPIC_PROVIDER (object);

  if (prop_id == PROP_MAX_TOKENS)
    {
      if (self->max_tokens != g_value_get_uint (value))
        {
          self->max_tokens = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
    }
  else if (!confab_http_config_set_property (&self->config, object, prop_id, value, pspec))
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
confab_anthropic_provider_class_init (ConfabAnthropicProviderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = confab_anthropic_provider_finalize;
  object_class->get_property = confab_anthropic_provider_get_property;
  object_class->set_property = confab_anthropic_provider_set_property;

  confab_http_config_install_properties (properties, DEFAULT_BASE_URL);

  properties[PROP_MAX_TOKENS] =
    g_param_spec_uint ("max-tokens", NULL, NULL,
                       1, G_MAXINT32, DEFAULT_MAX_TOKENS,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
confab_anthropic_provider_init (ConfabAnthropicProvider *self)
{
  confab_http_config_init (&self->config, DEFAULT_BASE_URL);
  self->max_tokens = DEFAULT_MAX_TOKENS;
}

/**
 * confab_anthropic_provider_new:
 * @base_url: (nullable): the API base; %NULL for https://api.anthropic.com/v1
 * @api_key: (nullable): the key
 *
 * Returns: (transfer full): a new #ConfabAnthropicProvider
 */
ConfabAnthropicProvider *
confab_anthropic_provider_new (const char *base_url,
                               const char *api_key)
{
  return g_object_new (CONFAB_TYPE_ANTHROPIC_PROVIDER,
                       "base-url", base_url,
                       "api-key", api_key,
                       NULL);
}
