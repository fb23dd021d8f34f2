/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * Reading JSON from servers, the one way Confab does it: parse only what is
 * one object of reasonable depth, check every member's type, and never trust
 * the shape. Every getter takes a NULL object and returns "missing".
 */

/* The root object of @data, or NULL when @data is not exactly one JSON
 * object nested at most 256 deep (json-glib parses recursively: deeper input
 * overflows the stack; and it takes two values in a row, leaking the first).
 * Returns: (transfer full) (nullable) */
JsonNode   *confab_json_parse_object (const char *data,
                                      gsize       len);
const char *confab_json_get_string   (JsonObject *object,
                                      const char *member);
JsonObject *confab_json_get_object   (JsonObject *object,
                                      const char *member);
JsonArray  *confab_json_get_array    (JsonObject *object,
                                      const char *member);
/* An integral number (doubles are truncated). */
gboolean    confab_json_get_int      (JsonObject *object,
                                      const char *member,
                                      gint64     *value);
/* A count: a non-negative integral number, else -1. */
gint64      confab_json_get_count    (JsonObject *object,
                                      const char *member);
/* A string, or an integer as text (error codes come as either), valid UTF-8.
 * Returns: (transfer full) (nullable) */
char       *confab_json_dup_scalar   (JsonObject *object,
                                      const char *member);

G_END_DECLS
