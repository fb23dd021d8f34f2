/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for ConfabSseParser. The first two bytes choose where the
 * rest is split between two feeds, the third how long a line may be. The
 * events of the split feed must equal those of feeding everything at once:
 * where a read boundary falls must never change what comes out.
 */
#define G_LOG_DOMAIN "fuzz-sse-parser"

#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "confab-sse-parser.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct
{
  GString  *log;
  gboolean  failed;
} Sink;

static void
event_cb (const char *event_type,
          const char *data,
          gsize       data_len,
          gpointer    user_data)
{
  GString *log = user_data;

  if (event_type == NULL || data == NULL || data[data_len] != '\0')
    abort ();

  g_string_append (log, event_type);
  g_string_append_c (log, '\0');
  g_string_append_printf (log, "%" G_GSIZE_FORMAT ":", data_len);
  g_string_append_len (log, data, data_len);
  g_string_append_c (log, '\0');
}

static void
run (const char *input,
     gsize       len,
     gsize       split,
     gsize       max_line,
     Sink       *sink)
{
  ConfabSseParser *parser = confab_sse_parser_new (event_cb, sink->log);
  GError *error = NULL;

  if (max_line > 0)
    confab_sse_parser_set_max_line_length (parser, max_line);

  if (!confab_sse_parser_feed (parser, input, split, &error) ||
      !confab_sse_parser_feed (parser, input + split, len - split, &error))
    {
      if (!g_error_matches (error, CONFAB_SSE_ERROR, CONFAB_SSE_ERROR_LINE_TOO_LONG))
        abort ();
      sink->failed = TRUE;
      g_clear_error (&error);
    }
  confab_sse_parser_finish (parser);
  confab_sse_parser_free (parser);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const char *input;
  gsize len;
  gsize split;
  gsize max_line;
  Sink whole = { NULL, FALSE };
  Sink pieces = { NULL, FALSE };

  if (size < 3)
    return 0;

  input = (const char *) data + 3;
  len = size - 3;
  split = ((gsize) data[0] << 8 | data[1]) % (len + 1);
  max_line = data[2] & 1 ? 1 + data[2] / 2 : 0;

  whole.log = g_string_new (NULL);
  pieces.log = g_string_new (NULL);

  run (input, len, len, max_line, &whole);
  run (input, len, split, max_line, &pieces);

  if (whole.failed != pieces.failed ||
      whole.log->len != pieces.log->len ||
      memcmp (whole.log->str, pieces.log->str, whole.log->len) != 0)
    abort ();

  g_string_free (whole.log, TRUE);
  g_string_free (pieces.log, TRUE);

  return 0;
}
