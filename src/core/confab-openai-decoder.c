/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-openai-decoder"

#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "confab-decoders.h"
#include "confab-json.h"

/*
 * OpenAI Chat Completions stream chunks, and the dialects of the servers that
 * copy them (see shared/PROTOCOL.md):
 *
 * - Only the choice with index 0 is shown; with n > 1 the chunks of the other
 *   choices are interleaved and skipped.
 * - delta.content is a string, null, or (Mistral) an array of parts, where
 *   "text" parts are content and "thinking" parts are reasoning.
 * - delta.reasoning_content (DeepSeek, llama.cpp, Z.ai) or delta.reasoning
 *   (Ollama, OpenRouter, Groq) is reasoning. A server that sends both with
 *   the same text has reasoning_content taken, so the text is not doubled.
 * - The first non-null finish_reason is kept: OpenRouter repeats it, and a
 *   later one never tells more.
 * - usage comes in a `choices: []` chunk, in the finishing chunk, or in
 *   x_groq.usage.
 * - An `error` member (beside choices or not), an event of type "error", or
 *   vLLM's old top-level `{"object":"error"}` records an error. The choices of
 *   a chunk that carries an error are not taken: the text stops at the error.
 *   Once an error is recorded or `[DONE]` is seen, every later event is
 *   ignored.
 */

/* An error text from the server is shown as it is, but not without end. */
#define MAX_RAW_ERROR_LENGTH 1024


/* Appends text from the wire; bytes that are not UTF-8 are replaced so that
 * nothing downstream (GTK, SQLite) sees them. */
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
  gint64 total;

  changed |= set_count (&result->prompt_tokens, confab_json_get_count (usage, "prompt_tokens"));
  changed |= set_count (&result->completion_tokens,
                        confab_json_get_count (usage, "completion_tokens"));

  total = confab_json_get_count (usage, "total_tokens");
  if (total < 0 && result->prompt_tokens >= 0 && result->completion_tokens >= 0)
    total = result->prompt_tokens + result->completion_tokens;
  changed |= set_count (&result->total_tokens, total);

  return changed;
}

static void
set_error_from_object (ConfabStreamResult *result,
                       JsonObject         *err)
{
  g_autofree char *message = NULL;
  g_autofree char *code = NULL;
  const char *str;

  str = confab_json_get_string (err, "message");
  if (str != NULL)
    message = g_utf8_make_valid (str, -1);

  code = confab_json_dup_scalar (err, "code");
  if (code == NULL)
    code = confab_json_dup_scalar (err, "type");

  confab_stream_result_set_error (result, message, code);
}

/* Records the error an event carries, if it carries one. */
static gboolean
take_error (ConfabStreamResult *result,
            JsonObject         *obj)
{
  JsonNode *node = json_object_get_member (obj, "error");

  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    {
      set_error_from_object (result, json_node_get_object (node));
      return TRUE;
    }

  if (node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
      json_node_get_value_type (node) == G_TYPE_STRING)
    {
      g_autofree char *message = g_utf8_make_valid (json_node_get_string (node), -1);

      confab_stream_result_set_error (result, message, NULL);
      return TRUE;
    }

  /* vLLM before 0.10.1 */
  if (g_strcmp0 (confab_json_get_string (obj, "object"), "error") == 0)
    {
      set_error_from_object (result, obj);
      return TRUE;
    }

  return FALSE;
}

/* An event of type "error", or llama.cpp's `error:` line: whatever it holds
 * is an error, even text that is not JSON. */
static gboolean
decode_error_event (ConfabStreamResult *result,
                    JsonNode           *root,
                    const char         *data,
                    gsize               data_len)
{
  g_autofree char *raw = NULL;

  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
    {
      JsonObject *obj = json_node_get_object (root);

      if (!take_error (result, obj))
        set_error_from_object (result, obj);
      return TRUE;
    }

  if (data != NULL)
    {
      g_autofree char *trimmed = g_strndup (data, MIN (data_len, MAX_RAW_ERROR_LENGTH));

      g_strstrip (trimmed);
      raw = g_utf8_make_valid (trimmed, -1);
    }

  confab_stream_result_set_error (result, raw, NULL);
  return TRUE;
}

static gboolean
is_done_marker (const char *data,
                gsize       data_len)
{
  while (data_len > 0 && g_ascii_isspace (data[0]))
    {
      data++;
      data_len--;
    }
  while (data_len > 0 && g_ascii_isspace (data[data_len - 1]))
    data_len--;

  return data_len == 6 && memcmp (data, "[DONE]", 6) == 0;
}

/* Mistral: [{"type":"text","text"}, {"type":"thinking","thinking":[…]}] */
static gboolean
append_content_parts (ConfabStreamResult *result,
                      JsonArray          *parts,
                      gboolean            as_reasoning)
{
  gboolean changed = FALSE;
  guint n = json_array_get_length (parts);

  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (parts, i);
      JsonObject *part;
      const char *type;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;

      part = json_node_get_object (node);
      type = confab_json_get_string (part, "type");

      if (g_strcmp0 (type, "text") == 0)
        {
          const char *text = confab_json_get_string (part, "text");

          changed |= append_text (as_reasoning ? result->reasoning : result->content, text);
        }
      else if (g_strcmp0 (type, "thinking") == 0 && !as_reasoning)
        {
          JsonArray *thinking = confab_json_get_array (part, "thinking");

          if (thinking != NULL)
            changed |= append_content_parts (result, thinking, TRUE);
          else
            changed |= append_text (result->reasoning, confab_json_get_string (part, "thinking"));
        }
    }

  return changed;
}

static gboolean
decode_choice (ConfabStreamResult *result,
               JsonObject         *choice)
{
  gboolean changed = FALSE;
  JsonObject *delta = confab_json_get_object (choice, "delta");
  const char *finish_reason;

  if (delta != NULL)
    {
      JsonArray *parts = confab_json_get_array (delta, "content");
      const char *reasoning;

      if (parts != NULL)
        changed |= append_content_parts (result, parts, FALSE);
      else
        changed |= append_text (result->content, confab_json_get_string (delta, "content"));

      reasoning = confab_json_get_string (delta, "reasoning_content");
      if (reasoning == NULL)
        reasoning = confab_json_get_string (delta, "reasoning");
      changed |= append_text (result->reasoning, reasoning);

      changed |= append_text (result->refusal, confab_json_get_string (delta, "refusal"));
    }

  finish_reason = confab_json_get_string (choice, "finish_reason");
  if (finish_reason != NULL && *finish_reason != '\0' && result->finish_reason == NULL)
    {
      result->finish_reason = g_utf8_make_valid (finish_reason, -1);
      changed = TRUE;
    }

  return changed;
}

/**
 * confab_openai_decode_event:
 * @result: where the stream's facts go
 * @event_type: (nullable): the SSE event name; "message" when it had none
 * @data: (array length=data_len): the event's data
 * @data_len: the length of @data
 *
 * Decodes one Chat Completions stream event onto @result.
 *
 * Returns: %TRUE if @result changed in a way a viewer would see
 */
gboolean
confab_openai_decode_event (ConfabStreamResult *result,
                            const char         *event_type,
                            const char         *data,
                            gsize               data_len)
{
  g_autoptr(JsonNode) root = NULL;
  JsonObject *obj;
  JsonObject *usage;
  JsonObject *x_groq;
  JsonArray *choices;
  const char *model;
  gboolean changed = FALSE;

  g_return_val_if_fail (result != NULL, FALSE);
  g_return_val_if_fail (data != NULL || data_len == 0, FALSE);

  if (result->done || result->error_message != NULL)
    return FALSE;

  if (is_done_marker (data, data_len))
    {
      result->done = TRUE;
      return TRUE;
    }

  root = confab_json_parse_object (data, data_len);

  if (g_strcmp0 (event_type, "error") == 0)
    return decode_error_event (result, root, data, data_len);

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return FALSE;

  obj = json_node_get_object (root);

  model = confab_json_get_string (obj, "model");
  if (model != NULL && *model != '\0' && g_strcmp0 (model, result->model) != 0)
    {
      g_free (result->model);
      result->model = g_utf8_make_valid (model, -1);
    }

  usage = confab_json_get_object (obj, "usage");
  if (usage != NULL)
    changed |= read_usage (result, usage);

  x_groq = confab_json_get_object (obj, "x_groq");
  if (x_groq != NULL && (usage = confab_json_get_object (x_groq, "usage")) != NULL)
    changed |= read_usage (result, usage);

  if (take_error (result, obj))
    return TRUE;

  choices = confab_json_get_array (obj, "choices");
  if (choices != NULL)
    {
      guint n = json_array_get_length (choices);

      for (guint i = 0; i < n; i++)
        {
          JsonNode *node = json_array_get_element (choices, i);
          JsonObject *choice;
          JsonNode *index;

          if (!JSON_NODE_HOLDS_OBJECT (node))
            continue;

          choice = json_node_get_object (node);

          /* A choice without an index is taken by its place in the array. */
          index = json_object_get_member (choice, "index");
          if (index != NULL && JSON_NODE_HOLDS_VALUE (index))
            {
              if (json_node_get_value_type (index) != G_TYPE_INT64 ||
                  json_node_get_int (index) != 0)
                continue;
            }
          else if (i != 0)
            {
              continue;
            }

          changed |= decode_choice (result, choice);
        }
    }

  return changed;
}
