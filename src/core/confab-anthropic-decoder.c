/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-anthropic-decoder"

#include "config.h"

#include <math.h>

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "confab-decoders.h"
#include "confab-json.h"

/*
 * Anthropic Messages API stream events (see shared/PROTOCOL.md). The event's
 * kind is the JSON "type" member, or the SSE event name when the JSON has
 * none. stop_reason is kept as Anthropic names it ("end_turn", "max_tokens",
 * …). Once message_stop or an error is seen, every later event is ignored.
 */

#define MAX_RAW_ERROR_LENGTH 1024


static gboolean
append_text (GString    *str,
             const char *text)
{
  if (text == NULL || *text == '\0')
    return FALSE;

  if (g_utf8_validate (text, -1, NULL))
    {
      g_string_append (str, text);
    }
  else
    {
      g_autofree char *valid = g_utf8_make_valid (text, -1);
      g_string_append (str, valid);
    }

  return TRUE;
}

static gboolean
set_count (gint64 *field,
           gint64  value)
{
  if (value < 0 || *field == value)
    return FALSE;

  *field = value;
  return TRUE;
}

static gboolean
read_usage (ConfabStreamResult *result,
            JsonObject         *usage)
{
  gboolean changed = FALSE;

  if (usage == NULL)
    return FALSE;

  changed |= set_count (&result->prompt_tokens, confab_json_get_count (usage, "input_tokens"));
  changed |= set_count (&result->completion_tokens, confab_json_get_count (usage, "output_tokens"));
  if (result->prompt_tokens >= 0 && result->completion_tokens >= 0)
    changed |= set_count (&result->total_tokens,
                          result->prompt_tokens + result->completion_tokens);

  return changed;
}

static gboolean
decode_error (ConfabStreamResult *result,
              JsonObject         *obj,
              const char         *data,
              gsize               data_len)
{
  JsonObject *err = confab_json_get_object (obj, "error");
  g_autofree char *message = NULL;
  g_autofree char *code = NULL;
  const char *str;

  if (err == NULL)
    err = obj;

  if (err != NULL)
    {
      if ((str = confab_json_get_string (err, "message")) != NULL)
        message = g_utf8_make_valid (str, -1);
      if ((str = confab_json_get_string (err, "type")) != NULL && g_strcmp0 (str, "error") != 0)
        code = g_utf8_make_valid (str, -1);
    }
  else if (data != NULL)
    {
      /* Not JSON: the text itself is the best description there is. */
      g_autofree char *trimmed = g_strndup (data, MIN (data_len, MAX_RAW_ERROR_LENGTH));

      g_strstrip (trimmed);
      message = g_utf8_make_valid (trimmed, -1);
    }

  confab_stream_result_set_error (result, message, code);
  return TRUE;
}

static gboolean
decode_content_block_delta (ConfabStreamResult *result,
                            JsonObject         *obj)
{
  JsonObject *delta = confab_json_get_object (obj, "delta");
  const char *type = confab_json_get_string (delta, "type");

  if (g_strcmp0 (type, "text_delta") == 0)
    return append_text (result->content, confab_json_get_string (delta, "text"));
  if (g_strcmp0 (type, "thinking_delta") == 0)
    return append_text (result->reasoning, confab_json_get_string (delta, "thinking"));

  /* signature_delta, input_json_delta, citations_delta, … */
  return FALSE;
}

/**
 * confab_anthropic_decode_event:
 * @result: where the stream's facts go
 * @event_type: (nullable): the SSE event name
 * @data: (array length=data_len): the event's data
 * @data_len: the length of @data
 *
 * Decodes one Messages API stream event onto @result.
 *
 * Returns: %TRUE if @result changed in a way a viewer would see
 */
gboolean
confab_anthropic_decode_event (ConfabStreamResult *result,
                               const char         *event_type,
                               const char         *data,
                               gsize               data_len)
{
  g_autoptr(JsonNode) root = NULL;
  JsonObject *obj = NULL;
  const char *type;

  g_return_val_if_fail (result != NULL, FALSE);
  g_return_val_if_fail (data != NULL || data_len == 0, FALSE);

  if (result->done || result->error_message != NULL)
    return FALSE;

  root = confab_json_parse_object (data, data_len);
  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
    obj = json_node_get_object (root);

  type = confab_json_get_string (obj, "type");
  if (type == NULL)
    type = event_type;

  if (g_strcmp0 (type, "error") == 0 || g_strcmp0 (event_type, "error") == 0)
    return decode_error (result, obj, data, data_len);

  if (obj == NULL || type == NULL)
    return FALSE;

  if (g_str_equal (type, "content_block_delta"))
    {
      return decode_content_block_delta (result, obj);
    }
  else if (g_str_equal (type, "message_start"))
    {
      JsonObject *message = confab_json_get_object (obj, "message");
      const char *model = confab_json_get_string (message, "model");

      if (model != NULL && *model != '\0' && g_strcmp0 (model, result->model) != 0)
        {
          g_free (result->model);
          result->model = g_utf8_make_valid (model, -1);
        }

      return read_usage (result, confab_json_get_object (message, "usage"));
    }
  else if (g_str_equal (type, "message_delta"))
    {
      const char *stop_reason = confab_json_get_string (confab_json_get_object (obj, "delta"),
                                                   "stop_reason");
      gboolean changed = read_usage (result, confab_json_get_object (obj, "usage"));

      if (stop_reason != NULL && *stop_reason != '\0' && result->finish_reason == NULL)
        {
          result->finish_reason = g_utf8_make_valid (stop_reason, -1);
          changed = TRUE;
        }

      return changed;
    }
  else if (g_str_equal (type, "message_stop"))
    {
      result->done = TRUE;
      return TRUE;
    }

  /* ping, content_block_start, content_block_stop and anything new */
  return FALSE;
}
