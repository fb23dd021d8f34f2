/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-openai-provider"

#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "confab-decoders.h"
#include "confab-http-stream.h"
#include "confab-json.h"
#include "confab-openai-provider.h"

/* The HTTP side (timeouts, errors, limits, the read loop) is in
 * confab-http-stream.c; this file maps Chat Completions onto it. */

struct _ConfabOpenaiProvider
{
  GObject          parent_instance;

  /* Owned */
  ConfabHttpConfig config;
};

static void confab_openai_provider_iface_init (ConfabProviderInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ConfabOpenaiProvider, confab_openai_provider, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (CONFAB_TYPE_PROVIDER,
                                                      confab_openai_provider_iface_init))

/* Only the properties every HTTP provider has: see confab-http-stream.h. */
static GParamSpec *properties[CONFAB_HTTP_N_PROPS];

/* A whole chat completion, from a server that ignored "stream". FALSE when
 * it is not one at all. */
static gboolean
decode_completion (ConfabStreamResult *result,
                   JsonNode           *root)
{
  JsonObject *object;
  JsonObject *error;
  JsonObject *usage;
  JsonArray *choices;
  const char *model;
  gint64 value;

  if (!JSON_NODE_HOLDS_OBJECT (root))
    return FALSE;

  object = json_node_get_object (root);

  if ((error = confab_json_get_object (object, "error")) != NULL)
    {
      g_autofree char *code = confab_json_dup_scalar (error, "code");
      const char *message = confab_json_get_string (error, "message");

      if (code == NULL)
        code = confab_json_dup_scalar (error, "type");

      confab_stream_result_set_error (result, message != NULL ? message : "", code);
      return TRUE;
    }

  choices = confab_json_get_array (object, "choices");
  if (choices == NULL)
    return FALSE;

  if ((model = confab_json_get_string (object, "model")) != NULL)
    {
      g_free (result->model);
      result->model = g_strdup (model);
    }

  if (json_array_get_length (choices) > 0 &&
      JSON_NODE_HOLDS_OBJECT (json_array_get_element (choices, 0)))
    {
      JsonObject *choice = json_node_get_object (json_array_get_element (choices, 0));
      JsonObject *message = confab_json_get_object (choice, "message");
      JsonArray *parts = confab_json_get_array (message, "content");
      const char *text;

      if ((text = confab_json_get_string (message, "content")) != NULL)
        g_string_append (result->content, text);

      for (guint i = 0; parts != NULL && i < json_array_get_length (parts); i++)
        {
          JsonNode *part = json_array_get_element (parts, i);

          if (JSON_NODE_HOLDS_OBJECT (part) &&
              g_strcmp0 (confab_json_get_string (json_node_get_object (part), "type"), "text") == 0 &&
              (text = confab_json_get_string (json_node_get_object (part), "text")) != NULL)
            g_string_append (result->content, text);
        }

      if ((text = confab_json_get_string (message, "reasoning_content")) != NULL ||
          (text = confab_json_get_string (message, "reasoning")) != NULL)
        g_string_append (result->reasoning, text);

      if ((text = confab_json_get_string (message, "refusal")) != NULL)
        g_string_append (result->refusal, text);

      if ((text = confab_json_get_string (choice, "finish_reason")) != NULL)
        {
          g_free (result->finish_reason);
          result->finish_reason = g_strdup (text);
        }
    }

  if ((usage = confab_json_get_object (object, "usage")) != NULL)
    {
      if (confab_json_get_int (usage, "prompt_tokens", &value))
        result->prompt_tokens = value;
      if (confab_json_get_int (usage, "completion_tokens", &value))
        result->completion_tokens = value;
      if (confab_json_get_int (usage, "total_tokens", &value))
        result->total_tokens = value;
    }

  /* The whole reply came: it is finished even without a finish reason. */
  result->done = TRUE;

  return TRUE;
}

/* What the server said in an error body: OpenAI's {"error":{"message"}},
 * vLLM's older top-level {"message"}, FastAPI's {"detail"}. */
static const char *
find_error_message (JsonNode *root)
{
  JsonObject *object;
  JsonObject *error;
  JsonArray *detail;
  const char *message;

  if (!JSON_NODE_HOLDS_OBJECT (root))
    return NULL;

  object = json_node_get_object (root);
  error = confab_json_get_object (object, "error");

  if ((message = confab_json_get_string (error, "message")) != NULL ||
      (message = confab_json_get_string (object, "error")) != NULL ||
      (message = confab_json_get_string (object, "message")) != NULL ||
      (message = confab_json_get_string (object, "detail")) != NULL)
    return message;

  detail = confab_json_get_array (object, "detail");
  if (detail != NULL && json_array_get_length (detail) > 0)
    {
      JsonNode *first = json_array_get_element (detail, 0);

      if (JSON_NODE_HOLDS_OBJECT (first))
        return confab_json_get_string (json_node_get_object (first), "msg");
    }

  return NULL;
}

static const ConfabHttpWireFormat openai_format = {
  .decode_event = confab_openai_decode_event,
  .decode_reply = decode_completion,
  .error_message = find_error_message,
};

static GBytes *
build_chat_body (const ConfabChatRequest *request)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = NULL;
  g_autoptr(JsonNode) root = NULL;
  char *data;
  gsize len;

  json_builder_begin_object (builder);

  json_builder_set_member_name (builder, "model");
  json_builder_add_string_value (builder, request->model != NULL ? request->model : "");

  json_builder_set_member_name (builder, "messages");
  json_builder_begin_array (builder);

  if (request->system_message != NULL && *request->system_message != '\0')
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "role");
      json_builder_add_string_value (builder, confab_role_to_string (CONFAB_ROLE_SYSTEM));
      json_builder_set_member_name (builder, "content");
      json_builder_add_string_value (builder, request->system_message);
      json_builder_end_object (builder);
    }

  for (guint i = 0; request->messages != NULL && i < request->messages->len; i++)
    {
      ConfabMessage *message = g_ptr_array_index (request->messages, i);
      const char *content = confab_message_get_content (message);
      ConfabRole role = confab_message_get_role (message);

      if (content == NULL)
        content = "";

      /* An assistant reply that failed before saying anything is not part of
       * the conversation, and several servers reject empty assistant turns. */
      if (role == CONFAB_ROLE_ASSISTANT && *content == '\0' &&
          confab_message_get_state (message) != CONFAB_MESSAGE_STATE_COMPLETE)
        continue;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "role");
      json_builder_add_string_value (builder, confab_role_to_string (role));
      json_builder_set_member_name (builder, "content");
      json_builder_add_string_value (builder, content);
      json_builder_end_object (builder);
    }

  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "stream");
  json_builder_add_boolean_value (builder, TRUE);

  json_builder_set_member_name (builder, "stream_options");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "include_usage");
  json_builder_add_boolean_value (builder, TRUE);
  json_builder_end_object (builder);

  if (request->temperature >= 0)
    {
      json_builder_set_member_name (builder, "temperature");
      json_builder_add_double_value (builder, request->temperature);
    }

  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  generator = json_generator_new ();
  json_generator_set_root (generator, root);
  data = json_generator_to_data (generator, &len);

  return g_bytes_new_take (data, len);
}

/* ConfabProvider */

/* A message for {base}{path} with the key as a bearer token, or NULL when
 * @task already returned the error. */
static SoupMessage *
message_new (ConfabOpenaiProvider *self,
             const char           *method,
             const char           *path,
             GTask                *task)
{
  g_autoptr(SoupMessage) msg = NULL;
  GError *error = NULL;

  msg = confab_http_message_new (&self->config, method, path, NULL, &error);
  if (msg == NULL)
    {
      g_task_return_error (task, error);
      return NULL;
    }

  /* The key goes in a header only; it is never logged. */
  if (self->config.api_key != NULL && *self->config.api_key != '\0')
    {
      g_autofree char *authorization = g_strconcat ("Bearer ", self->config.api_key, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (msg),
                                    "Authorization", authorization);
      memset (authorization, 0, strlen (authorization));
    }

  return g_steal_pointer (&msg);
}

static void
confab_openai_provider_stream_chat_async (ConfabProvider           *provider,
                                          const ConfabChatRequest  *request,
                                          ConfabStreamResult       *result,
                                          ConfabStreamProgressFunc  progress,
                                          gpointer                  progress_data,
                                          GCancellable             *cancellable,
                                          GAsyncReadyCallback       callback,
                                          gpointer                  user_data)
{
  ConfabOpenaiProvider *self = CONFAB_OPENAI_PROVIDER (provider);
  g_autoptr(GTask) task = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, confab_openai_provider_stream_chat_async);

  msg = message_new (self, SOUP_METHOD_POST, "/chat/completions", task);
  if (msg == NULL)
    return;

  body = build_chat_body (request);
  soup_message_set_request_body_from_bytes (msg, "application/json", body);

  confab_http_stream_chat (&self->config, msg, &openai_format, request->model,
                           result, progress, progress_data, g_steal_pointer (&task));
}

static void
confab_openai_provider_list_models_async (ConfabProvider      *provider,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  ConfabOpenaiProvider *self = CONFAB_OPENAI_PROVIDER (provider);
  g_autoptr(GTask) task = NULL;
  g_autoptr(SoupMessage) msg = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, confab_openai_provider_list_models_async);

  msg = message_new (self, SOUP_METHOD_GET, "/models", task);
  if (msg == NULL)
    return;

  confab_http_fetch_models (&self->config, msg, &openai_format, g_steal_pointer (&task));
}

static void
confab_openai_provider_iface_init (ConfabProviderInterface *iface)
{
  iface->stream_chat_async = confab_openai_provider_stream_chat_async;
  iface->stream_chat_finish = confab_http_stream_chat_finish;
  iface->list_models_async = confab_openai_provider_list_models_async;
  iface->list_models_finish = confab_http_fetch_models_finish;
}

/* GObject */

static void
confab_openai_provider_finalize (GObject *object)
{
  ConfabOpenaiProvider *self = (ConfabOpenaiProvider *) object;

  confab_http_config_clear (&self->config);

  G_OBJECT_CLASS (confab_openai_provider_parent_class)->finalize (object);
}

static void
confab_openai_provider_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  ConfabOpenaiProvider *self = CONFAB_OPENAI_PROVIDER (object);

  if (!confab_http_config_get_property (&self->config, prop_id, value))
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
confab_openai_provider_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  ConfabOpenaiProvider *self = CONFAB_OPENAI_PROVIDER (object);

  if (!confab_http_config_set_property (&self->config, object, prop_id, value, pspec))
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
confab_openai_provider_class_init (ConfabOpenaiProviderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = confab_openai_provider_finalize;
  object_class->get_property = confab_openai_provider_get_property;
  object_class->set_property = confab_openai_provider_set_property;

  /* No default server: every compatible one is as likely. */
  confab_http_config_install_properties (properties, NULL);
  g_object_class_install_properties (object_class, CONFAB_HTTP_N_PROPS, properties);
}

static void
confab_openai_provider_init (ConfabOpenaiProvider *self)
{
  confab_http_config_init (&self->config, NULL);
}

/**
 * confab_openai_provider_new:
 * @base_url: (nullable): the API base, such as "https://api.openai.com/v1"
 * @api_key: (nullable): the key, or %NULL for servers that need none
 *
 * Returns: (transfer full): a new #ConfabOpenaiProvider
 */
ConfabOpenaiProvider *
confab_openai_provider_new (const char *base_url,
                            const char *api_key)
{
  return g_object_new (CONFAB_TYPE_OPENAI_PROVIDER,
                       "base-url", base_url,
                       "api-key", api_key,
                       NULL);
}
