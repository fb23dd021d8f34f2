/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-json"

#include "config.h"

#include <math.h>

#include "confab-json.h"

/* json-glib parses recursively, so very deep nesting (about 100000 levels,
 * a few hundred KB) overflows the stack; and it takes two values in a row,
 * leaking the first. An event is one object a few levels deep: check that
 * shape in one pass before parsing. */
#define MAX_JSON_DEPTH 256

static gboolean
is_one_shallow_object (const char *data,
                       gsize       len)
{
  gsize i = 0;
  guint depth = 0;
  gboolean in_string = FALSE;
  gboolean closed = FALSE;

  while (i < len && g_ascii_isspace (data[i]))
    i++;
  if (i == len || data[i] != '{')
    return FALSE;

  for (; i < len && !closed; i++)
    {
      char c = data[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }

      switch (c)
        {
        case '"':
          in_string = TRUE;
          break;
        case '{':
        case '[':
          if (++depth > MAX_JSON_DEPTH)
            return FALSE;
          break;
        case '}':
        case ']':
          closed = (--depth == 0);
          break;
        default:
          break;
        }
    }

  if (!closed)
    return FALSE;

  for (; i < len; i++)
    if (!g_ascii_isspace (data[i]))
      return FALSE;

  return TRUE;
}

JsonNode *
confab_json_parse_object (const char *data,
                          gsize       len)
{
  g_autoptr(JsonParser) parser = NULL;

  if (data == NULL || len == 0 || len > G_MAXSSIZE)
    return NULL;

  if (!is_one_shallow_object (data, len))
    return NULL;

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, (gssize) len, NULL))
    return NULL;

  return json_parser_steal_root (parser);
}

static JsonNode *
get_member (JsonObject *object,
            const char *member)
{
  if (object == NULL)
    return NULL;

  return json_object_get_member (object, member);
}

const char *
confab_json_get_string (JsonObject *object,
                        const char *member)
{
  JsonNode *node = get_member (object, member);

  if (node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
      json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);

  return NULL;
}

JsonObject *
confab_json_get_object (JsonObject *object,
                        const char *member)
{
  JsonNode *node = get_member (object, member);

  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    return json_node_get_object (node);

  return NULL;
}

JsonArray *
confab_json_get_array (JsonObject *object,
                       const char *member)
{
  JsonNode *node = get_member (object, member);

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    return json_node_get_array (node);

  return NULL;
}

gboolean
confab_json_get_int (JsonObject *object,
                     const char *member,
                     gint64     *value)
{
  JsonNode *node = get_member (object, member);
  GType type;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;

  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64)
    {
      *value = json_node_get_int (node);
      return TRUE;
    }
  if (type == G_TYPE_DOUBLE)
    {
      double v = json_node_get_double (node);

      if (!isfinite (v) || v < -9.0e18 || v > 9.0e18)
        return FALSE;
      *value = (gint64) v;
      return TRUE;
    }

  return FALSE;
}

gint64
confab_json_get_count (JsonObject *object,
                       const char *member)
{
  JsonNode *node = get_member (object, member);
  GType type;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return -1;

  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64)
    {
      gint64 v = json_node_get_int (node);
      return v >= 0 ? v : -1;
    }
  if (type == G_TYPE_DOUBLE)
    {
      double v = json_node_get_double (node);
      if (isfinite (v) && v >= 0 && v < 9.0e18 && v == floor (v))
        return (gint64) v;
    }

  return -1;
}

char *
confab_json_dup_scalar (JsonObject *object,
                        const char *member)
{
  JsonNode *node = get_member (object, member);
  GType type;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;

  type = json_node_get_value_type (node);
  if (type == G_TYPE_STRING)
    return g_utf8_make_valid (json_node_get_string (node), -1);
  if (type == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));

  return NULL;
}
