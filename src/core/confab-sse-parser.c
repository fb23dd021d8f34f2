/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-sse-parser"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "confab-sse-parser.h"

#define DEFAULT_MAX_LINE_LENGTH (8 * 1024 * 1024)

struct _ConfabSseParser
{
  ConfabSseEventFunc func;
  gpointer           user_data;

  /* The part of a line that arrived in an earlier feed. Complete lines that
   * lie inside one feed are handled in place, without a copy. */
  GString           *line;
  /* The event being built: its data lines joined with "\n", and its name. */
  GString           *data;
  GString           *event_type;

  gsize              max_line_length;
  guint64            n_comments;

  guint              has_data : 1;
  guint              skip_lf : 1;     /* the last feed ended with CR */
  guint              first_line : 1;  /* no line seen yet: a BOM may lead it */
  guint              failed : 1;      /* a line was too long; the stream is broken */
};

G_DEFINE_QUARK (confab-sse-error-quark, confab_sse_error)

/**
 * confab_sse_parser_new:
 * @func: (scope notified): called for each event
 * @user_data: passed to @func
 *
 * Returns: (transfer full): a new parser
 */
ConfabSseParser *
confab_sse_parser_new (ConfabSseEventFunc func,
                       gpointer           user_data)
{
  ConfabSseParser *self;

  g_return_val_if_fail (func != NULL, NULL);

  self = g_new0 (ConfabSseParser, 1);
  self->func = func;
  self->user_data = user_data;
  self->line = g_string_new (NULL);
  self->data = g_string_new (NULL);
  self->event_type = g_string_new (NULL);
  self->max_line_length = DEFAULT_MAX_LINE_LENGTH;
  self->first_line = TRUE;

  return self;
}

void
confab_sse_parser_free (ConfabSseParser *self)
{
  if (self == NULL)
    return;

  g_string_free (self->line, TRUE);
  g_string_free (self->data, TRUE);
  g_string_free (self->event_type, TRUE);
  g_free (self);
}

void
confab_sse_parser_set_max_line_length (ConfabSseParser *self,
                                       gsize            max_len)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (max_len > 0);

  self->max_line_length = max_len;
}

guint64
confab_sse_parser_get_n_comments (ConfabSseParser *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_comments;
}

static void
reset_event (ConfabSseParser *self)
{
  g_string_truncate (self->data, 0);
  g_string_truncate (self->event_type, 0);
  self->has_data = FALSE;
}

static void
dispatch (ConfabSseParser *self)
{
  /* An event without a data line is not an event (WHATWG: empty data buffer). */
  if (!self->has_data)
    {
      reset_event (self);
      return;
    }

  /* Every data line was appended with a "\n" after it; the last one goes. */
  g_assert (self->data->len > 0);
  g_string_truncate (self->data, self->data->len - 1);

  self->func (self->event_type->len > 0 ? self->event_type->str : "message",
              self->data->str,
              self->data->len,
              self->user_data);

  reset_event (self);
}

static gboolean
field_is (const char *field,
          gsize       field_len,
          const char *name)
{
  gsize name_len = strlen (name);

  return field_len == name_len && memcmp (field, name, name_len) == 0;
}

static void
process_line (ConfabSseParser *self,
              const char      *line,
              gsize            len)
{
  const char *colon;
  const char *value;
  gsize field_len;
  gsize value_len;

  /* A UTF-8 byte order mark may start the stream; it is not part of a field. */
  if (self->first_line)
    {
      self->first_line = FALSE;
      if (len >= 3 && memcmp (line, "\xEF\xBB\xBF", 3) == 0)
        {
          line += 3;
          len -= 3;
        }
    }

  if (len == 0)
    {
      dispatch (self);
      return;
    }

  if (line[0] == ':')
    {
      self->n_comments++;
      return;
    }

  colon = memchr (line, ':', len);
  if (colon != NULL)
    {
      field_len = colon - line;
      value = colon + 1;
      value_len = len - field_len - 1;
      if (value_len > 0 && value[0] == ' ')
        {
          value++;
          value_len--;
        }
    }
  else
    {
      field_len = len;
      value = "";
      value_len = 0;
    }

  if (field_is (line, field_len, "data"))
    {
      g_string_append_len (self->data, value, value_len);
      g_string_append_c (self->data, '\n');
      self->has_data = TRUE;
    }
  else if (field_is (line, field_len, "event"))
    {
      g_string_truncate (self->event_type, 0);
      g_string_append_len (self->event_type, value, value_len);
    }
  else if (field_is (line, field_len, "error"))
    {
      /* Older llama.cpp servers send `error: {json}` on its own; it is not
       * part of the event being built, so it goes out now. */
      g_autofree char *copy = g_strndup (value, value_len);

      self->func ("error", copy, value_len, self->user_data);
    }
  /* "id", "retry" and unknown fields are ignored. */
}

static gboolean
fail_line_too_long (ConfabSseParser  *self,
                    GError          **error)
{
  self->failed = TRUE;
  g_string_truncate (self->line, 0);
  reset_event (self);
  {
    g_autofree char *size = g_format_size_full (self->max_line_length, G_FORMAT_SIZE_IEC_UNITS);

    /* Translators: %s is a size such as "8.0 MiB" */
    g_set_error (error,
                 CONFAB_SSE_ERROR,
                 CONFAB_SSE_ERROR_LINE_TOO_LONG,
                 _("The server sent a line longer than %s"),
                 size);
  }
  return FALSE;
}

/**
 * confab_sse_parser_feed:
 * @self: a #ConfabSseParser
 * @data: (array length=len): the next bytes of the stream
 * @len: the number of bytes in @data
 * @error: return location for a #GError
 *
 * Parses @data, calling the event function for each event it completes.
 * Work done is proportional to @len: bytes are looked at once.
 *
 * Returns: %FALSE if a line was longer than the maximum; the parser then
 *   refuses all further input.
 */
gboolean
confab_sse_parser_feed (ConfabSseParser  *self,
                        const char       *data,
                        gsize             len,
                        GError          **error)
{
  const char *p;
  const char *end;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  if (self->failed)
    return fail_line_too_long (self, error);

  if (len == 0)
    return TRUE;

  p = data;
  end = data + len;

  /* A CR ended the last feed; an LF here belongs to it. */
  if (self->skip_lf)
    {
      self->skip_lf = FALSE;
      if (*p == '\n')
        p++;
    }

  while (p < end)
    {
      const char *eol = p;
      gsize seg_len;

      while (eol < end && *eol != '\n' && *eol != '\r')
        eol++;

      seg_len = eol - p;
      if (seg_len > self->max_line_length - self->line->len)
        return fail_line_too_long (self, error);

      if (eol == end)
        {
          g_string_append_len (self->line, p, seg_len);
          break;
        }

      if (self->line->len == 0)
        {
          process_line (self, p, seg_len);
        }
      else
        {
          g_string_append_len (self->line, p, seg_len);
          process_line (self, self->line->str, self->line->len);
          g_string_truncate (self->line, 0);
        }

      if (*eol == '\r')
        {
          if (eol + 1 == end)
            self->skip_lf = TRUE;
          else if (eol[1] == '\n')
            eol++;
        }

      p = eol + 1;
    }

  return TRUE;
}

/**
 * confab_sse_parser_finish:
 * @self: a #ConfabSseParser
 *
 * Tells the parser the stream ended. A last line without a line end is
 * taken as a line, and an event still pending (data seen, no blank line
 * yet) is dispatched, since some servers end the body right after
 * `data: [DONE]`. The parser is then ready for a new stream.
 */
void
confab_sse_parser_finish (ConfabSseParser *self)
{
  g_return_if_fail (self != NULL);

  if (!self->failed)
    {
      if (self->line->len > 0)
        process_line (self, self->line->str, self->line->len);

      dispatch (self);
    }

  g_string_truncate (self->line, 0);
  reset_event (self);
  self->skip_lf = FALSE;
  self->first_line = TRUE;
  self->failed = FALSE;
}
