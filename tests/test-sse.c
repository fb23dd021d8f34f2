/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The streaming wire layer: ConfabSseParser, ConfabStreamResult and the
 * OpenAI and Anthropic decoders. Every capture in tests/fixtures is fed whole,
 * one byte at a time and in random pieces; the three must agree with each
 * other and with the capture's .expected files.
 */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "confab-decoders.h"
#include "confab-sse-parser.h"
#include "confab-stream-result.h"

/* ------------------------------------------------------------------------ */
/* Parser unit tests                                                        */
/* ------------------------------------------------------------------------ */

typedef struct
{
  GPtrArray *events;   /* "type|data" */
} Collector;

static void
collect_cb (const char *event_type,
            const char *data,
            gsize       data_len,
            gpointer    user_data)
{
  Collector *c = user_data;

  g_assert_nonnull (event_type);
  g_assert_nonnull (data);
  g_assert_cmpint (data[data_len], ==, '\0');
  g_ptr_array_add (c->events, g_strdup_printf ("%s|%s", event_type, data));
}

/* Parses @input fed in pieces of @piece_len bytes (0: whole), then finishes.
 * Returns the events, or NULL with @error set if feeding failed. */
static GPtrArray *
parse_in_pieces (const char  *input,
                 gsize        len,
                 gsize        piece_len,
                 guint64     *n_comments,
                 gsize        max_line,
                 GError     **error)
{
  g_autoptr(ConfabSseParser) parser = NULL;
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
  Collector c = { events };
  gsize off = 0;

  parser = confab_sse_parser_new (collect_cb, &c);
  if (max_line > 0)
    confab_sse_parser_set_max_line_length (parser, max_line);

  if (piece_len == 0)
    piece_len = MAX (len, 1);

  while (off < len)
    {
      gsize n = MIN (piece_len, len - off);

      if (!confab_sse_parser_feed (parser, input + off, n, error))
        return NULL;
      off += n;
    }
  confab_sse_parser_finish (parser);

  if (n_comments != NULL)
    *n_comments = confab_sse_parser_get_n_comments (parser);

  return g_steal_pointer (&events);
}

static void
assert_events (GPtrArray         *events,
               const char * const *expected)
{
  guint n = g_strv_length ((char **) expected);

  for (guint i = 0; i < MIN (n, events->len); i++)
    g_assert_cmpstr (g_ptr_array_index (events, i), ==, expected[i]);
  g_assert_cmpuint (events->len, ==, n);
}

/* Checks @input gives @expected whole and in 1-, 2-, 3- and 5-byte pieces. */
static void
check_parse (const char         *input,
             const char * const *expected,
             guint64             expected_comments)
{
  static const gsize pieces[] = { 0, 1, 2, 3, 5 };
  gsize len = strlen (input);

  for (guint i = 0; i < G_N_ELEMENTS (pieces); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) events = NULL;
      guint64 n_comments = 0;

      events = parse_in_pieces (input, len, pieces[i], &n_comments, 0, &error);
      g_assert_no_error (error);
      assert_events (events, expected);
      g_assert_cmpuint (n_comments, ==, expected_comments);
    }
}

static void
test_parser_cr_only (void)
{
  check_parse ("data: a\rdata: b\r\rdata: c\r\r",
               (const char *[]) { "message|a\nb", "message|c", NULL }, 0);
}

static void
test_parser_lf_and_crlf (void)
{
  check_parse ("data: a\n\ndata: b\r\n\r\ndata: c\r\n\n",
               (const char *[]) { "message|a", "message|b", "message|c", NULL }, 0);
  /* A CRLF pair is one line end, not a line end and a blank line. */
  check_parse ("event: x\r\ndata: a\r\ndata: b\r\n\r\n",
               (const char *[]) { "x|a\nb", NULL }, 0);
  check_parse ("data: a\r\n\ndata: b\n\r\r\n",
               (const char *[]) { "message|a", "message|b", NULL }, 0);
}

static void
test_parser_crlf_split (void)
{
  g_autoptr(ConfabSseParser) parser = NULL;
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
  Collector c = { events };

  parser = confab_sse_parser_new (collect_cb, &c);

  /* If the LF after the CR were taken as a second line end, "a" would be
   * dispatched alone at the blank line it seems to make. */
  g_assert_true (confab_sse_parser_feed (parser, "data: a\r", 8, NULL));
  g_assert_true (confab_sse_parser_feed (parser, "\ndata: b\r", 9, NULL));
  g_assert_true (confab_sse_parser_feed (parser, "\n", 1, NULL));
  g_assert_cmpuint (events->len, ==, 0);
  g_assert_true (confab_sse_parser_feed (parser, "\r", 1, NULL));
  g_assert_true (confab_sse_parser_feed (parser, "\n", 1, NULL));
  assert_events (events, (const char *[]) { "message|a\nb", NULL });

  /* A CR at the end of a feed followed by something else is a line end. */
  g_assert_true (confab_sse_parser_feed (parser, "data: c\r", 8, NULL));
  g_assert_true (confab_sse_parser_feed (parser, "\r", 1, NULL));
  assert_events (events, (const char *[]) { "message|a\nb", "message|c", NULL });
}

static void
test_parser_multiline_data (void)
{
  check_parse ("data: one\ndata: two\ndata:three\n\n",
               (const char *[]) { "message|one\ntwo\nthree", NULL }, 0);
  check_parse ("data: x\ndata:\ndata: y\n\n",
               (const char *[]) { "message|x\n\ny", NULL }, 0);
}

static void
test_parser_comments (void)
{
  check_parse (": ping - 2025-01-01\n:\n: OPENROUTER PROCESSING\r\ndata: a\n: between\n\n",
               (const char *[]) { "message|a", NULL }, 4);
  /* Comments alone dispatch nothing. */
  check_parse (": one\n\n: two\n\n", (const char *[]) { NULL }, 2);
}

static void
test_parser_no_colon (void)
{
  /* "data" alone is a data line with an empty value. */
  check_parse ("data\n\n", (const char *[]) { "message|", NULL }, 0);
  check_parse ("data\ndata\n\n", (const char *[]) { "message|\n", NULL }, 0);
  /* An unknown field without a colon is ignored. */
  check_parse ("bogus\ndata: a\n\n", (const char *[]) { "message|a", NULL }, 0);
}

static void
test_parser_no_space (void)
{
  check_parse ("data:a\n\n", (const char *[]) { "message|a", NULL }, 0);
  /* Only one space is dropped. */
  check_parse ("data:  a \n\n", (const char *[]) { "message| a ", NULL }, 0);
  check_parse ("event:foo\ndata:x\n\n", (const char *[]) { "foo|x", NULL }, 0);
  check_parse ("event: foo\ndata: x\n\n", (const char *[]) { "foo|x", NULL }, 0);
  /* A field name is case-sensitive and must match whole. */
  check_parse ("Data: a\ndatax: b\ndata: c\n\n", (const char *[]) { "message|c", NULL }, 0);
  /* The colon inside a value is part of it. */
  check_parse ("data: {\"a\":1}\n\n", (const char *[]) { "message|{\"a\":1}", NULL }, 0);
}

static void
test_parser_event_type (void)
{
  /* The name applies to one event only; an empty one means "message". */
  check_parse ("event: a\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\n",
               (const char *[]) { "a|1", "message|2", "message|3", NULL }, 0);
  /* The last event line wins. */
  check_parse ("event: a\nevent: b\ndata: 1\n\n", (const char *[]) { "b|1", NULL }, 0);
}

static void
test_parser_eof_dispatch (void)
{
  check_parse ("data: [DONE]\n", (const char *[]) { "message|[DONE]", NULL }, 0);
  /* A last line without its line end still counts. */
  check_parse ("data: a\n\ndata: [DONE]", (const char *[]) { "message|a", "message|[DONE]", NULL },
               0);
  check_parse ("data: [DONE]\r", (const char *[]) { "message|[DONE]", NULL }, 0);
}

static void
test_parser_no_data_not_dispatched (void)
{
  check_parse ("event: ping\n\n", (const char *[]) { NULL }, 0);
  check_parse ("id: 1\nretry: 100\n\n", (const char *[]) { NULL }, 0);
  /* A name left with no data does not leak into the next event. */
  check_parse ("event: ping\n\ndata: x\n\n", (const char *[]) { "message|x", NULL }, 0);
  /* Nor at EOF. */
  check_parse ("event: ping\n", (const char *[]) { NULL }, 0);
  check_parse ("", (const char *[]) { NULL }, 0);
  check_parse ("\n\n\r\n\r", (const char *[]) { NULL }, 0);
}

static void
test_parser_id_retry_ignored (void)
{
  check_parse ("id: 7\nretry: 3000\ndata: a\nid\n\n", (const char *[]) { "message|a", NULL }, 0);
}

static void
test_parser_bom (void)
{
  check_parse ("\xEF\xBB\xBF" "data: a\n\n", (const char *[]) { "message|a", NULL }, 0);
  /* Only at the very start. */
  check_parse ("data: a\n\n\xEF\xBB\xBF" "data: b\n\n", (const char *[]) { "message|a", NULL }, 0);
}

static void
test_parser_max_line_length (void)
{
  static const gsize pieces[] = { 0, 1, 4 };
  const char *ok = "data: 0123\n\n";             /* the longest line is 10 bytes */
  const char *too_long = "data: ok\n\ndata: 01234\n\n";

  for (guint i = 0; i < G_N_ELEMENTS (pieces); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) events = NULL;
      g_autoptr(GPtrArray) no_events = NULL;

      events = parse_in_pieces (ok, strlen (ok), pieces[i], NULL, 10, &error);
      g_assert_no_error (error);
      assert_events (events, (const char *[]) { "message|0123", NULL });

      no_events = parse_in_pieces (too_long, strlen (too_long), pieces[i], NULL, 10, &error);
      g_assert_error (error, CONFAB_SSE_ERROR, CONFAB_SSE_ERROR_LINE_TOO_LONG);
      g_assert_null (no_events);
    }
}

static void
test_parser_max_line_sticky (void)
{
  g_autoptr(ConfabSseParser) parser = NULL;
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  Collector c = { events };

  parser = confab_sse_parser_new (collect_cb, &c);
  confab_sse_parser_set_max_line_length (parser, 8);

  /* A long line with no line end yet is caught before it is complete. */
  g_assert_true (confab_sse_parser_feed (parser, "data: 12", 8, &error));
  g_assert_no_error (error);
  g_assert_false (confab_sse_parser_feed (parser, "3", 1, &error));
  g_assert_error (error, CONFAB_SSE_ERROR, CONFAB_SSE_ERROR_LINE_TOO_LONG);
  g_clear_error (&error);

  /* The stream is broken: later input is refused, nothing is dispatched. */
  g_assert_false (confab_sse_parser_feed (parser, "\n\ndata: a\n\n", 11, &error));
  g_assert_error (error, CONFAB_SSE_ERROR, CONFAB_SSE_ERROR_LINE_TOO_LONG);
  g_clear_error (&error);
  confab_sse_parser_finish (parser);
  g_assert_cmpuint (events->len, ==, 0);

  /* finish() makes it ready for a new stream. */
  g_assert_true (confab_sse_parser_feed (parser, "data: a\n\n", 9, &error));
  g_assert_no_error (error);
  assert_events (events, (const char *[]) { "message|a", NULL });
}

static void
test_parser_default_max_line (void)
{
  /* 8 MiB is allowed by default; a line a little longer is not. */
  gsize len = 8 * 1024 * 1024 + 16;
  g_autofree char *big = g_malloc (len);
  g_autoptr(ConfabSseParser) parser = NULL;
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  Collector c = { events };

  memcpy (big, "data: ", 6);
  memset (big + 6, 'x', len - 6);

  parser = confab_sse_parser_new (collect_cb, &c);
  g_assert_true (confab_sse_parser_feed (parser, big, 8 * 1024 * 1024, &error));
  g_assert_no_error (error);
  g_assert_false (confab_sse_parser_feed (parser, big + 8 * 1024 * 1024, 16, &error));
  g_assert_error (error, CONFAB_SSE_ERROR, CONFAB_SSE_ERROR_LINE_TOO_LONG);
}

static void
test_parser_unicode_separators (void)
{
  /* U+2028, U+2029 and U+0085 are not line ends in SSE, and JSON may carry
   * them raw inside strings. */
  const char *input = "data: {\"t\":\"a\xE2\x80\xA8" "b\xE2\x80\xA9" "c\xC2\x85" "d\"}\n\n";
  g_autoptr(JsonParser) json = json_parser_new ();
  g_autoptr(GPtrArray) events = NULL;
  const char *data;

  check_parse (input,
               (const char *[]) {
                 "message|{\"t\":\"a\xE2\x80\xA8" "b\xE2\x80\xA9" "c\xC2\x85" "d\"}", NULL },
               0);

  events = parse_in_pieces (input, strlen (input), 1, NULL, 0, NULL);
  data = (const char *) g_ptr_array_index (events, 0) + strlen ("message|");
  g_assert_true (json_parser_load_from_data (json, data, -1, NULL));
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (json_parser_get_root (json)),
                                                  "t"),
                   ==, "a\xE2\x80\xA8" "b\xE2\x80\xA9" "c\xC2\x85" "d");
}

static void
test_parser_utf8_split (void)
{
  const char *input = "data: \xF0\x9F\x98\x8A!\n\n";
  gsize len = strlen (input);

  /* Split at every byte of the code point in turn. */
  for (gsize split = 6; split <= 10; split++)
    {
      g_autoptr(ConfabSseParser) parser = NULL;
      g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
      Collector c = { events };
      const char *data;

      parser = confab_sse_parser_new (collect_cb, &c);
      g_assert_true (confab_sse_parser_feed (parser, input, split, NULL));
      g_assert_true (confab_sse_parser_feed (parser, input + split, len - split, NULL));
      assert_events (events, (const char *[]) { "message|\xF0\x9F\x98\x8A!", NULL });

      data = g_ptr_array_index (events, 0);
      g_assert_true (g_utf8_validate (data, -1, NULL));
      g_assert_cmpuint (g_utf8_get_char (data + strlen ("message|")), ==, 0x1F60A);
    }
}

static void
test_parser_llama_error_line (void)
{
  /* Old llama.cpp: an `error:` line goes out at once as an "error" event,
   * without disturbing the event being built around it. */
  check_parse ("data: a\nerror: {\"code\":500,\"message\":\"boom\"}\ndata: b\n\n",
               (const char *[]) {
                 "error|{\"code\":500,\"message\":\"boom\"}",
                 "message|a\nb",
                 NULL },
               0);
  check_parse ("error:x\r\n", (const char *[]) { "error|x", NULL }, 0);
}

static void
test_parser_llama_error_decoded (void)
{
  const char *input = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n"
                      "error: {\"code\":500,\"message\":\"Context size exceeded\","
                      "\"type\":\"server_error\"}\n";
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(ConfabStreamResult) result = confab_stream_result_new ();

  events = parse_in_pieces (input, strlen (input), 0, NULL, 0, NULL);
  g_assert_cmpuint (events->len, ==, 2);

  for (guint i = 0; i < events->len; i++)
    {
      const char *ev = g_ptr_array_index (events, i);
      const char *bar = strchr (ev, '|');
      g_autofree char *type = g_strndup (ev, bar - ev);

      confab_openai_decode_event (result, type, bar + 1, strlen (bar + 1));
    }

  g_assert_cmpstr (result->content->str, ==, "Hi");
  g_assert_cmpstr (result->error_message, ==, "Context size exceeded");
  g_assert_cmpstr (result->error_code, ==, "500");
}

typedef struct
{
  guint  n;
  gsize  total;
} Counter;

static void
count_cb (const char *event_type,
          const char *data,
          gsize       data_len,
          gpointer    user_data)
{
  Counter *c = user_data;

  c->n++;
  c->total += data_len;
}

static void
test_parser_linear (void)
{
  /* One 4 MiB line fed a byte at a time, then many tiny events. A parser
   * that looks at its whole buffer on each feed does ~8e12 steps here and
   * runs into the test's timeout; a linear one takes milliseconds. */
  gsize big = 4 * 1024 * 1024;
  g_autoptr(ConfabSseParser) parser = NULL;
  Counter c = { 0 };
  g_autofree char *x = g_malloc (big);

  memset (x, 'x', big);
  parser = confab_sse_parser_new (count_cb, &c);
  g_assert_true (confab_sse_parser_feed (parser, "data: ", 6, NULL));
  for (gsize i = 0; i < big; i++)
    g_assert_true (confab_sse_parser_feed (parser, x + i, 1, NULL));
  g_assert_true (confab_sse_parser_feed (parser, "\n\n", 2, NULL));
  g_assert_cmpuint (c.n, ==, 1);
  g_assert_cmpuint (c.total, ==, big);

  for (guint i = 0; i < 200000; i++)
    g_assert_true (confab_sse_parser_feed (parser, "data:a\n\n", 8, NULL));
  g_assert_cmpuint (c.n, ==, 200001);
}

static void
test_parser_embedded_nul (void)
{
  g_autoptr(ConfabSseParser) parser = NULL;
  Counter c = { 0 };

  /* A NUL is just a byte: the data length tells where the data ends. */
  parser = confab_sse_parser_new (count_cb, &c);
  g_assert_true (confab_sse_parser_feed (parser, "data: a\0b\n\n", 11, NULL));
  g_assert_cmpuint (c.n, ==, 1);
  g_assert_cmpuint (c.total, ==, 3);
}

/* ------------------------------------------------------------------------ */
/* ConfabStreamResult                                                       */
/* ------------------------------------------------------------------------ */

static void
test_result_basics (void)
{
  g_autoptr(ConfabStreamResult) result = confab_stream_result_new ();

  g_assert_cmpstr (result->content->str, ==, "");
  g_assert_cmpstr (result->reasoning->str, ==, "");
  g_assert_cmpstr (result->refusal->str, ==, "");
  g_assert_null (result->finish_reason);
  g_assert_null (result->model);
  g_assert_null (result->error_message);
  g_assert_null (result->error_code);
  g_assert_cmpint (result->prompt_tokens, ==, -1);
  g_assert_cmpint (result->completion_tokens, ==, -1);
  g_assert_cmpint (result->total_tokens, ==, -1);
  g_assert_cmpint (result->retry_after_ms, ==, -1);
  g_assert_cmpuint (result->http_status, ==, 0);
  g_assert_false (result->done);
  g_assert_false (confab_stream_result_is_finished (result));

  result->finish_reason = g_strdup ("stop");
  g_assert_true (confab_stream_result_is_finished (result));
  g_clear_pointer (&result->finish_reason, g_free);
  result->done = TRUE;
  g_assert_true (confab_stream_result_is_finished (result));

  confab_stream_result_set_error (result, "Overloaded", "overloaded_error");
  g_assert_cmpstr (result->error_message, ==, "Overloaded");
  g_assert_cmpstr (result->error_code, ==, "overloaded_error");
  /* A missing message still leaves something to show. */
  confab_stream_result_set_error (result, NULL, NULL);
  g_assert_nonnull (result->error_message);
  g_assert_cmpstr (result->error_message, !=, "");
  g_assert_null (result->error_code);

  g_string_append (result->content, "c");
  g_string_append (result->reasoning, "r");
  g_string_append (result->refusal, "n");
  result->model = g_strdup ("m");
  result->finish_reason = g_strdup ("length");
  result->prompt_tokens = 1;
  result->completion_tokens = 2;
  result->total_tokens = 3;
  result->http_status = 200;
  result->retry_after_ms = 1000;
  confab_stream_result_set_error (result, "x", "y");

  confab_stream_result_reset (result);
  g_assert_cmpstr (result->content->str, ==, "");
  g_assert_cmpstr (result->reasoning->str, ==, "");
  g_assert_cmpstr (result->refusal->str, ==, "");
  g_assert_null (result->finish_reason);
  g_assert_null (result->model);
  g_assert_null (result->error_message);
  g_assert_null (result->error_code);
  g_assert_cmpint (result->prompt_tokens, ==, -1);
  g_assert_cmpint (result->completion_tokens, ==, -1);
  g_assert_cmpint (result->total_tokens, ==, -1);
  g_assert_cmpint (result->retry_after_ms, ==, -1);
  g_assert_cmpuint (result->http_status, ==, 0);
  g_assert_false (result->done);
  g_assert_false (confab_stream_result_is_finished (result));
}

/* ------------------------------------------------------------------------ */
/* OpenAI decoder unit tests                                                */
/* ------------------------------------------------------------------------ */

static gboolean
oa (ConfabStreamResult *result,
    const char         *data)
{
  return confab_openai_decode_event (result, "message", data, strlen (data));
}

static void
assert_result_empty (ConfabStreamResult *result)
{
  g_assert_cmpstr (result->content->str, ==, "");
  g_assert_cmpstr (result->reasoning->str, ==, "");
  g_assert_cmpstr (result->refusal->str, ==, "");
  g_assert_null (result->finish_reason);
  g_assert_null (result->error_message);
  g_assert_cmpint (result->prompt_tokens, ==, -1);
  g_assert_cmpint (result->completion_tokens, ==, -1);
  g_assert_cmpint (result->total_tokens, ==, -1);
  g_assert_false (result->done);
}

static void
test_openai_content (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  g_assert_false (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
                         "\"content\":\"\"}}]}"));
  g_assert_true (oa (r, "{\"model\":\"m1\",\"choices\":[{\"index\":0,"
                        "\"delta\":{\"content\":\"Hel\"}}]}"));
  g_assert_true (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo \\u003cb\\u003e "
                        "\\ud83d\\ude0a\"}}]}"));
  g_assert_cmpstr (r->content->str, ==, "Hello <b> \xF0\x9F\x98\x8A");
  g_assert_cmpstr (r->model, ==, "m1");
  g_assert_false (confab_stream_result_is_finished (r));
}

static void
test_openai_content_null (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  g_assert_false (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":null}}]}"));
  g_assert_false (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{}}]}"));
  g_assert_false (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":42}}]}"));
  g_assert_false (oa (r, "{\"choices\":[{\"index\":0,\"delta\":null}]}"));
  g_assert_false (oa (r, "{\"choices\":[{\"index\":0,\"delta\":\"text\"}]}"));
  assert_result_empty (r);
}

static void
test_openai_refusal (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  g_assert_true (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":null,"
                        "\"refusal\":\"No.\"}}]}"));
  g_assert_cmpstr (r->refusal->str, ==, "No.");
  g_assert_cmpstr (r->content->str, ==, "");
}

static void
test_openai_usage_in_empty_choices (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  g_assert_true (oa (r, "{\"choices\":[],\"usage\":{\"prompt_tokens\":14,"
                        "\"completion_tokens\":30,\"total_tokens\":44}}"));
  g_assert_cmpint (r->prompt_tokens, ==, 14);
  g_assert_cmpint (r->completion_tokens, ==, 30);
  g_assert_cmpint (r->total_tokens, ==, 44);
  g_assert_null (r->finish_reason);

  /* usage: null on every chunk (DeepSeek) changes nothing. */
  g_assert_false (oa (r, "{\"choices\":[],\"usage\":null}"));
  g_assert_cmpint (r->total_tokens, ==, 44);
}

static void
test_openai_usage_in_finish_chunk (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  g_assert_true (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},"
                        "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,"
                        "\"total_tokens\":56,\"completion_tokens\":46}}"));
  g_assert_cmpstr (r->finish_reason, ==, "stop");
  g_assert_true (confab_stream_result_is_finished (r));
  g_assert_cmpint (r->prompt_tokens, ==, 10);
  g_assert_cmpint (r->completion_tokens, ==, 46);
  g_assert_cmpint (r->total_tokens, ==, 56);
}

static void
test_openai_usage_total_missing (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  g_assert_true (oa (r, "{\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}"));
  g_assert_cmpint (r->total_tokens, ==, 7);

  /* Negative, fractional and textual counts are not counts. */
  g_assert_false (oa (r, "{\"usage\":{\"prompt_tokens\":-5,\"completion_tokens\":4.5,"
                         "\"total_tokens\":\"7\"}}"));
  g_assert_cmpint (r->prompt_tokens, ==, 3);
  g_assert_cmpint (r->completion_tokens, ==, 4);
  g_assert_cmpint (r->total_tokens, ==, 7);
}

static void
test_openai_x_groq_usage (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  g_assert_true (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
                        "\"x_groq\":{\"id\":\"req\",\"usage\":{\"queue_time\":0.05,"
                        "\"prompt_tokens\":21,\"completion_tokens\":988,"
                        "\"total_tokens\":1009}}}"));
  g_assert_cmpint (r->prompt_tokens, ==, 21);
  g_assert_cmpint (r->completion_tokens, ==, 988);
  g_assert_cmpint (r->total_tokens, ==, 1009);
}

static void
test_openai_error_integer_code (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  g_assert_true (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}"));
  g_assert_true (oa (r, "{\"error\":{\"code\":429,\"message\":\"Slow down\"}}"));
  g_assert_cmpstr (r->error_message, ==, "Slow down");
  g_assert_cmpstr (r->error_code, ==, "429");

  /* Nothing after an error is taken, not even [DONE]. */
  g_assert_false (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}"));
  g_assert_false (oa (r, "[DONE]"));
  g_assert_cmpstr (r->content->str, ==, "a");
  g_assert_false (r->done);
}

static void
test_openai_error_string_code (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  g_assert_true (oa (r, "{\"error\":{\"message\":\"Bad\",\"type\":\"invalid_request_error\","
                        "\"code\":\"tool_use_failed\"}}"));
  g_assert_cmpstr (r->error_message, ==, "Bad");
  g_assert_cmpstr (r->error_code, ==, "tool_use_failed");

  confab_stream_result_reset (r);
  g_assert_true (oa (r, "{\"error\":{\"message\":\"Oops\",\"type\":\"server_error\","
                        "\"code\":null}}"));
  g_assert_cmpstr (r->error_code, ==, "server_error");

  confab_stream_result_reset (r);
  g_assert_true (oa (r, "{\"error\":\"plain text\"}"));
  g_assert_cmpstr (r->error_message, ==, "plain text");

  /* An error member without a message still records an error. */
  confab_stream_result_reset (r);
  g_assert_true (oa (r, "{\"error\":{}}"));
  g_assert_nonnull (r->error_message);

  /* error: null is no error. */
  confab_stream_result_reset (r);
  g_assert_true (oa (r, "{\"error\":null,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}"));
  g_assert_null (r->error_message);
  g_assert_cmpstr (r->content->str, ==, "x");
}

static void
test_openai_error_beside_choices (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  /* OpenRouter: the error wins; the chunk's text is not shown, its usage is. */
  g_assert_true (oa (r, "{\"error\":{\"code\":400,\"message\":\"Token limit reached\"},"
                        "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"zz\"}}],"
                        "\"usage\":{\"prompt_tokens\":43,\"completion_tokens\":10,"
                        "\"total_tokens\":53}}"));
  g_assert_cmpstr (r->error_message, ==, "Token limit reached");
  g_assert_cmpstr (r->error_code, ==, "400");
  g_assert_cmpstr (r->content->str, ==, "");
  g_assert_cmpint (r->total_tokens, ==, 53);
}

static void
test_openai_error_event (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();
  const char *data = "{\"error\":{\"message\":\"Tool choice is required\","
                     "\"type\":\"invalid_request_error\",\"code\":\"tool_use_failed\","
                     "\"status_code\":400}}";

  g_assert_true (confab_openai_decode_event (r, "error", data, strlen (data)));
  g_assert_cmpstr (r->error_message, ==, "Tool choice is required");
  g_assert_cmpstr (r->error_code, ==, "tool_use_failed");

  /* The error object itself, as llama.cpp's `error:` line has it. */
  confab_stream_result_reset (r);
  data = "{\"code\":500,\"message\":\"boom\",\"type\":\"server_error\"}";
  g_assert_true (confab_openai_decode_event (r, "error", data, strlen (data)));
  g_assert_cmpstr (r->error_message, ==, "boom");
  g_assert_cmpstr (r->error_code, ==, "500");

  /* Not JSON at all: the text is the message. */
  confab_stream_result_reset (r);
  data = "  upstream went away \n";
  g_assert_true (confab_openai_decode_event (r, "error", data, strlen (data)));
  g_assert_cmpstr (r->error_message, ==, "upstream went away");
  g_assert_null (r->error_code);

  /* Empty: still an error. */
  confab_stream_result_reset (r);
  g_assert_true (confab_openai_decode_event (r, "error", "", 0));
  g_assert_nonnull (r->error_message);
}

static void
test_openai_vllm_object_error (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  g_assert_true (oa (r, "{\"object\":\"error\",\"message\":\"maximum context length is 4096\","
                        "\"type\":\"BadRequestError\",\"param\":null,\"code\":400}"));
  g_assert_cmpstr (r->error_message, ==, "maximum context length is 4096");
  g_assert_cmpstr (r->error_code, ==, "400");
}

static void
test_openai_reasoning (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  g_assert_true (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"a\","
                        "\"content\":null}}]}"));
  g_assert_true (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"b\"}}]}"));
  /* Both with the same text (newer vLLM): taken once. */
  g_assert_true (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"c\","
                        "\"reasoning_content\":\"c\"}}]}"));
  /* A null one does not hide the other. */
  g_assert_true (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":null,"
                        "\"reasoning\":\"d\"}}]}"));
  g_assert_false (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":null,"
                         "\"content\":\"\"}}]}"));
  g_assert_true (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":null,"
                        "\"content\":\"x\"}}]}"));
  g_assert_cmpstr (r->reasoning->str, ==, "abcd");
  g_assert_cmpstr (r->content->str, ==, "x");
}

static void
test_openai_mistral_array (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  g_assert_true (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":[{\"type\":\"thinking\","
                        "\"thinking\":[{\"type\":\"text\",\"text\":\"Hmm\"}]}]}}]}"));
  g_assert_true (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":["
                        "{\"type\":\"text\",\"text\":\"2 + 2\"},"
                        "{\"type\":\"image_url\",\"image_url\":\"x\"},"
                        "{\"type\":\"reference\",\"text\":\"no\"},"
                        "42, null, \"str\", {\"text\":\"untyped\"},"
                        "{\"type\":\"text\",\"text\":\" = 4\"}]}}]}"));
  g_assert_false (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":[]}}]}"));
  g_assert_false (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":["
                         "{\"type\":\"thinking\",\"thinking\":42}]}}]}"));
  g_assert_cmpstr (r->content->str, ==, "2 + 2 = 4");
  g_assert_cmpstr (r->reasoning->str, ==, "Hmm");
}

static void
test_openai_choice_index (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  g_assert_false (oa (r, "{\"choices\":[{\"index\":1,\"delta\":{\"content\":\"one\"},"
                         "\"finish_reason\":\"length\"}]}"));
  g_assert_true (oa (r, "{\"choices\":[{\"index\":2,\"delta\":{\"content\":\"two\"}},"
                        "{\"index\":0,\"delta\":{\"content\":\"zero\"}}]}"));
  /* Without an index, the first element is choice 0. */
  g_assert_true (oa (r, "{\"choices\":[{\"delta\":{\"content\":\"!\"}},"
                        "{\"delta\":{\"content\":\"?\"}}]}"));
  g_assert_false (oa (r, "{\"choices\":[{\"index\":\"0\",\"delta\":{\"content\":\"s\"}}]}"));
  g_assert_cmpstr (r->content->str, ==, "zero!");
  g_assert_null (r->finish_reason);
}

static void
test_openai_finish_first_kept (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  g_assert_false (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":null}]}"));
  g_assert_false (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"\"}]}"));
  g_assert_true (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}"));
  g_assert_false (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}"));
  g_assert_cmpstr (r->finish_reason, ==, "length");
}

static void
test_openai_done (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  g_assert_true (confab_openai_decode_event (r, "message", " [DONE]\n", 8));
  g_assert_true (r->done);
  g_assert_true (confab_stream_result_is_finished (r));
  /* Everything after [DONE] is ignored. */
  g_assert_false (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"late\"}}],"
                         "\"usage\":{\"prompt_tokens\":1}}"));
  g_assert_false (oa (r, "{\"error\":{\"message\":\"late\"}}"));
  g_assert_cmpstr (r->content->str, ==, "");
  g_assert_null (r->error_message);
  g_assert_cmpint (r->prompt_tokens, ==, -1);

  /* Not [DONE]. */
  confab_stream_result_reset (r);
  g_assert_false (oa (r, "[DONE"));
  g_assert_false (oa (r, "[DONE]x"));
  g_assert_false (r->done);
}

static void
test_openai_garbage (void)
{
  static const char * const inputs[] = {
    "", " ", "{", "{not json", "}", "\"a", "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x",
    "nul", "[1,2", "\xff\xfe", "{\"a\":1}}", "{\"a\":1} {\"b\":2}",
  };
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    g_assert_false (oa (r, inputs[i]));
  /* Bytes after a NUL are data too. */
  g_assert_false (confab_openai_decode_event (r, "message", "{}\0{", 4));
  g_assert_false (confab_openai_decode_event (r, "message", NULL, 0));
  assert_result_empty (r);
}

static void
test_openai_not_object (void)
{
  static const char * const inputs[] = {
    "[]", "[{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}]", "42", "-1.5e300",
    "\"text\"", "null", "true",
  };
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    g_assert_false (oa (r, inputs[i]));
  assert_result_empty (r);
}

static void
test_openai_missing_choices (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  g_assert_false (oa (r, "{}"));
  g_assert_false (oa (r, "{\"id\":\"x\",\"object\":\"chat.completion.chunk\"}"));
  g_assert_false (oa (r, "{\"choices\":null}"));
  assert_result_empty (r);
}

static void
test_openai_choices_not_array (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  g_assert_false (oa (r, "{\"choices\":{\"index\":0,\"delta\":{\"content\":\"x\"}}}"));
  g_assert_false (oa (r, "{\"choices\":\"x\"}"));
  g_assert_false (oa (r, "{\"choices\":7}"));
  g_assert_false (oa (r, "{\"choices\":[1,null,\"s\",[{\"index\":0}]]}"));
  g_assert_false (oa (r, "{\"usage\":[1,2],\"x_groq\":5,\"model\":3}"));
  assert_result_empty (r);
  g_assert_null (r->model);
}

static char *
nested (const char *before,
        guint       depth,
        const char *after)
{
  GString *s = g_string_new (before);

  for (guint i = 0; i < depth; i++)
    g_string_append_c (s, '[');
  for (guint i = 0; i < depth; i++)
    g_string_append_c (s, ']');
  g_string_append (s, after);

  return g_string_free (s, FALSE);
}

static void
test_openai_deep_nesting (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();
  g_autofree char *shallow = NULL;
  g_autofree char *deep = NULL;

  /* Some nesting is fine. */
  shallow = nested ("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}],\"e\":", 100, "}");
  g_assert_true (oa (r, shallow));
  g_assert_cmpstr (r->content->str, ==, "x");

  /* 300000 levels overflow json-glib's recursive parser: refused unparsed. */
  deep = nested ("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"y\"}}],\"e\":", 300000,
                 "}");
  g_assert_false (oa (r, deep));
  g_assert_false (confab_anthropic_decode_event (r, "message", deep, strlen (deep)));
  g_assert_cmpstr (r->content->str, ==, "x");

  /* As an error event it is still an error, shown as (the start of) its text. */
  g_assert_true (confab_openai_decode_event (r, "error", deep, strlen (deep)));
  g_assert_nonnull (r->error_message);
  g_assert_cmpuint (strlen (r->error_message), <=, 1024);

  confab_stream_result_reset (r);
  g_assert_true (confab_anthropic_decode_event (r, "error", deep, strlen (deep)));
  g_assert_nonnull (r->error_message);
}

static void
test_openai_two_values (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  /* json-glib would take the second and leak the first; neither is taken. */
  g_assert_false (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]} "
                         "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}"));
  g_assert_false (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}x"));
  /* Braces and quotes inside strings do not confuse the check. */
  g_assert_true (oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"}]\\\"{[\"}}]}\r\n"));
  g_assert_cmpstr (r->content->str, ==, "}]\"{[");
}

static void
test_openai_invalid_utf8 (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  /* Whatever json-glib lets through, the result holds valid UTF-8 only. */
  oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\xff" "b\"}}]}");
  oa (r, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\udc00x\"}}]}");
  g_assert_true (g_utf8_validate (r->content->str, r->content->len, NULL));
}

/* ------------------------------------------------------------------------ */
/* Anthropic decoder unit tests                                             */
/* ------------------------------------------------------------------------ */

static gboolean
an (ConfabStreamResult *result,
    const char         *event_type,
    const char         *data)
{
  return confab_anthropic_decode_event (result, event_type, data, strlen (data));
}

static void
test_anthropic_stream (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  g_assert_true (an (r, "message_start",
                     "{\"type\":\"message_start\",\"message\":{\"model\":\"claude-x\","
                     "\"usage\":{\"input_tokens\":18,\"output_tokens\":1}}   }"));
  g_assert_cmpstr (r->model, ==, "claude-x");
  g_assert_cmpint (r->prompt_tokens, ==, 18);
  g_assert_false (an (r, "content_block_start",
                      "{\"type\":\"content_block_start\",\"index\":0,"
                      "\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}"));
  g_assert_false (an (r, "ping", "{\"type\": \"ping\"}"));
  g_assert_true (an (r, "content_block_delta",
                     "{\"type\":\"content_block_delta\",\"index\":0,"
                     "\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Hmm\"}}"));
  g_assert_false (an (r, "content_block_delta",
                      "{\"type\":\"content_block_delta\",\"index\":0,"
                      "\"delta\":{\"type\":\"signature_delta\",\"signature\":\"abc\"}}"));
  g_assert_false (an (r, "content_block_delta",
                      "{\"type\":\"content_block_delta\",\"index\":1,"
                      "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\"}}"));
  g_assert_true (an (r, "content_block_delta",
                     "{\"type\":\"content_block_delta\",\"index\":2,"
                     "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi \\ud83d\\ude0a\"}}  "));
  g_assert_false (an (r, "content_block_delta",
                      "{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\"}}"));
  g_assert_false (an (r, "content_block_delta",
                      "{\"type\":\"content_block_delta\",\"delta\":\"x\"}"));
  g_assert_false (an (r, "future_event", "{\"type\":\"future_event\",\"x\":1}"));
  g_assert_true (an (r, "message_delta",
                     "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
                     "\"stop_sequence\":null},\"usage\":{\"output_tokens\":240}}"));
  g_assert_cmpstr (r->finish_reason, ==, "end_turn");
  g_assert_cmpint (r->completion_tokens, ==, 240);
  g_assert_cmpint (r->total_tokens, ==, 258);
  g_assert_false (r->done);
  g_assert_true (an (r, "message_stop", "{\"type\":\"message_stop\"}"));
  g_assert_true (r->done);
  g_assert_false (an (r, "content_block_delta",
                      "{\"type\":\"content_block_delta\","
                      "\"delta\":{\"type\":\"text_delta\",\"text\":\"late\"}}"));
  g_assert_cmpstr (r->content->str, ==, "Hi \xF0\x9F\x98\x8A");
  g_assert_cmpstr (r->reasoning->str, ==, "Hmm");
}

static void
test_anthropic_type_sources (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  /* The SSE name alone … */
  g_assert_true (an (r, "content_block_delta",
                     "{\"delta\":{\"type\":\"text_delta\",\"text\":\"a\"}}"));
  /* … or the JSON type alone. */
  g_assert_true (an (r, "message", "{\"type\":\"content_block_delta\","
                                   "\"delta\":{\"type\":\"text_delta\",\"text\":\"b\"}}"));
  g_assert_true (an (r, NULL, "{\"type\":\"content_block_delta\","
                              "\"delta\":{\"type\":\"text_delta\",\"text\":\"c\"}}"));
  g_assert_false (an (r, NULL, "{\"delta\":{\"type\":\"text_delta\",\"text\":\"d\"}}"));
  g_assert_cmpstr (r->content->str, ==, "abc");
}

static void
test_anthropic_error (void)
{
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  g_assert_true (an (r, "error", "{\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", "
                                 "\"message\": \"Overloaded\"}}"));
  g_assert_cmpstr (r->error_message, ==, "Overloaded");
  g_assert_cmpstr (r->error_code, ==, "overloaded_error");
  g_assert_false (an (r, "message_stop", "{\"type\":\"message_stop\"}"));
  g_assert_false (r->done);

  /* By JSON type alone. */
  confab_stream_result_reset (r);
  g_assert_true (an (r, "message", "{\"type\":\"error\",\"error\":{\"type\":\"api_error\","
                                   "\"message\":\"Internal\"}}"));
  g_assert_cmpstr (r->error_code, ==, "api_error");

  /* Not JSON. */
  confab_stream_result_reset (r);
  g_assert_true (an (r, "error", "Service Unavailable"));
  g_assert_cmpstr (r->error_message, ==, "Service Unavailable");
  g_assert_null (r->error_code);

  /* JSON that is not an object. */
  confab_stream_result_reset (r);
  g_assert_true (an (r, "error", "[1]"));
  g_assert_nonnull (r->error_message);
}

static void
test_anthropic_garbage (void)
{
  static const char * const inputs[] = {
    "", "{", "[]", "42", "null", "\"message_stop\"", "{\"type\":7}", "{\"type\":null}",
    "{\"type\":\"message_start\"}", "{\"type\":\"message_start\",\"message\":[]}",
    "{\"type\":\"message_start\",\"message\":{\"usage\":\"x\",\"model\":5}}",
    "{\"type\":\"message_delta\",\"delta\":null,\"usage\":null}",
    ("{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":null},"
     "\"usage\":{\"output_tokens\":-3}}"),
    "{\"type\":\"content_block_delta\"}",
  };
  g_autoptr(ConfabStreamResult) r = confab_stream_result_new ();

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_assert_false (an (r, "message", inputs[i]));
      g_assert_false (an (r, NULL, inputs[i]));
    }
  g_assert_false (an (r, "message_stop", "not json"));
  g_assert_false (confab_anthropic_decode_event (r, NULL, NULL, 0));
  assert_result_empty (r);
  g_assert_null (r->model);
}

/* ------------------------------------------------------------------------ */
/* The captured vectors                                                     */
/* ------------------------------------------------------------------------ */

typedef enum
{
  DECODER_OPENAI,
  DECODER_ANTHROPIC,
  DECODER_NONE,        /* SSE layer only (Gemini's native JSON) */
} DecoderKind;

typedef struct
{
  DecoderKind         kind;
  ConfabStreamResult *result;
  GPtrArray          *types;
  GPtrArray          *datas;
  guint               n_changed;
  guint64             n_comments;
} Run;

static void
run_clear (Run *run)
{
  g_clear_pointer (&run->result, confab_stream_result_free);
  g_clear_pointer (&run->types, g_ptr_array_unref);
  g_clear_pointer (&run->datas, g_ptr_array_unref);
}

static void
run_event_cb (const char *event_type,
              const char *data,
              gsize       data_len,
              gpointer    user_data)
{
  Run *run = user_data;
  gboolean changed = FALSE;

  g_ptr_array_add (run->types, g_strdup (event_type));
  g_ptr_array_add (run->datas, g_strndup (data, data_len));

  if (run->kind == DECODER_OPENAI)
    changed = confab_openai_decode_event (run->result, event_type, data, data_len);
  else if (run->kind == DECODER_ANTHROPIC)
    changed = confab_anthropic_decode_event (run->result, event_type, data, data_len);

  if (changed)
    run->n_changed++;
}

/* Feeds @contents in pieces whose sizes come from @rand (NULL: whole when
 * @one_byte is FALSE, else one byte at a time). */
static void
run_vector (Run        *run,
            DecoderKind kind,
            const char *contents,
            gsize       len,
            gboolean    one_byte,
            GRand      *rand)
{
  g_autoptr(ConfabSseParser) parser = NULL;
  g_autoptr(GError) error = NULL;
  gsize off = 0;

  memset (run, 0, sizeof *run);
  run->kind = kind;
  run->result = confab_stream_result_new ();
  run->types = g_ptr_array_new_with_free_func (g_free);
  run->datas = g_ptr_array_new_with_free_func (g_free);

  parser = confab_sse_parser_new (run_event_cb, run);

  while (off < len)
    {
      gsize n;

      if (rand != NULL)
        {
          /* Mostly small pieces, sometimes big ones, as reads really come. */
          if (g_rand_int_range (rand, 0, 8) == 0)
            n = g_rand_int_range (rand, 1, 8193);
          else
            n = g_rand_int_range (rand, 1, 40);
        }
      else
        n = one_byte ? 1 : len;

      n = MIN (n, len - off);
      g_assert_true (confab_sse_parser_feed (parser, contents + off, n, &error));
      g_assert_no_error (error);
      off += n;
    }
  confab_sse_parser_finish (parser);
  run->n_comments = confab_sse_parser_get_n_comments (parser);
}

static void
assert_runs_equal (const Run *a,
                   const Run *b)
{
  const ConfabStreamResult *x = a->result;
  const ConfabStreamResult *y = b->result;

  g_assert_cmpuint (a->types->len, ==, b->types->len);
  for (guint i = 0; i < a->types->len; i++)
    {
      g_assert_cmpstr (g_ptr_array_index (a->types, i), ==, g_ptr_array_index (b->types, i));
      g_assert_cmpstr (g_ptr_array_index (a->datas, i), ==, g_ptr_array_index (b->datas, i));
    }
  g_assert_cmpuint (a->n_comments, ==, b->n_comments);
  g_assert_cmpuint (a->n_changed, ==, b->n_changed);

  g_assert_cmpstr (x->content->str, ==, y->content->str);
  g_assert_cmpstr (x->reasoning->str, ==, y->reasoning->str);
  g_assert_cmpstr (x->refusal->str, ==, y->refusal->str);
  g_assert_cmpstr (x->finish_reason, ==, y->finish_reason);
  g_assert_cmpstr (x->model, ==, y->model);
  g_assert_cmpint (x->prompt_tokens, ==, y->prompt_tokens);
  g_assert_cmpint (x->completion_tokens, ==, y->completion_tokens);
  g_assert_cmpint (x->total_tokens, ==, y->total_tokens);
  g_assert_cmpstr (x->error_message, ==, y->error_message);
  g_assert_cmpstr (x->error_code, ==, y->error_code);
  g_assert_cmpint (x->done, ==, y->done);
}

/* The facts the vectors README states about each capture, and those read off
 * the captures themselves (usage numbers, models). */
typedef struct
{
  const char *name;
  const char *finish;          /* NULL: none */
  gint64      prompt, completion, total;
  const char *error_code;      /* NULL: no error; "" : an error without a code */
  gboolean    done;
  gint64      n_comments;      /* -1: not checked */
  const char *model;
  const char *content_prefix;
} VectorFacts;

static const VectorFacts vector_facts[] = {
  { "openai-python-text-usage", "stop", 14, 30, 44, NULL, TRUE, 0, "gpt-4o-2024-08-06", NULL },
  { "openai-python-finish-length", "length", 79, 1, 80, NULL, TRUE, 0, "gpt-4o-2024-08-06",
    "{\"" },
  { "openai-python-refusal-content-null", "stop", 79, 11, 90, NULL, TRUE, 0, "gpt-4o-2024-08-06",
    NULL },
  { "openai-python-n3-interleaved-choices", "stop", 79, 42, 121, NULL, TRUE, 0,
    "gpt-4o-2024-08-06", NULL },
  { "coder-aibridge-openai-error-midstream", NULL, -1, -1, -1, "server_error", FALSE, 0,
    "gpt-4.1-2025-04-14", "The question \"" },
  { "coder-aibridge-copilot-no-object-field", "stop", 25989, 85, 26074, NULL, TRUE, 0,
    "claude-haiku-4.5", NULL },
  { "coder-aibridge-anthropic-text-ping-padded", "end_turn", 18, 240, 258, NULL, TRUE, 0,
    "claude-sonnet-4-20250514", NULL },
  { "coder-aibridge-anthropic-error-event", NULL, 18, 1, 19, "api_error", FALSE, 0,
    "claude-sonnet-4-20250514", NULL },
  { "pydantic-ai-anthropic-thinking-signature", "end_turn", 43, 282, 325, NULL, TRUE, 0,
    "claude-sonnet-4-20250514", NULL },
  { "pydantic-ai-openrouter-keepalive-reasoning", "stop", 43, 36, 79, NULL, TRUE, 4,
    "anthropic/claude-sonnet-4.5", "2 + 2 = 4" },
  { "pydantic-ai-openrouter-error-in-chunk", "length", 43, 10, 53, "400", FALSE, 17,
    "minimax/minimax-m2:free", NULL },
  { "pydantic-ai-deepseek-reasoning-content-emoji", "stop", 6, 212, 218, NULL, TRUE, 0,
    "deepseek-reasoner", "Hello there! \xF0\x9F\x98\x8A How can I help you today?" },
  { "pydantic-ai-groq-event-error-midstream", NULL, -1, -1, -1, "tool_use_failed", FALSE, 0,
    "openai/gpt-oss-120b", "maybe" },
  { "pydantic-ai-groq-think-tags-uescape", "stop", 21, 988, 1009, NULL, TRUE, 0,
    "deepseek-r1-distill-llama-70b", "<think>" },
  { "pydantic-ai-vllm-crusoe-usage", "stop", 46, 14, 60, NULL, TRUE, 0,
    "meta-llama/Llama-3.3-70B-Instruct", "1, 2, 3, 4, 5" },
  { "pydantic-ai-zai-glm-no-finish-key", "stop", 13, 564, 577, NULL, TRUE, 0, "glm-4.7", "4" },
  { "vercel-ai-mistral-content-array-thinking", "stop", 10, 46, 56, NULL, TRUE, 0,
    "magistral-medium-2507", "2 + 2 = 4" },
  { "inference-gateway-ollama-think-inline", "length", 17, 40, 57, NULL, TRUE, 0,
    "deepseek-r1:1.5b", "<think>" },
};

static const char *gemini_vectors[] = { "pydantic-ai-gemini-native-crlf" };

static char *
read_optional (const char *path)
{
  char *contents = NULL;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return g_strdup ("");
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  return contents;
}

static DecoderKind
decoder_for (const char *name)
{
  if (strstr (name, "gemini-native") != NULL)
    return DECODER_NONE;
  if (strstr (name, "anthropic") != NULL)
    return DECODER_ANTHROPIC;
  return DECODER_OPENAI;
}

static void
check_gemini (const Run  *run,
              const char *expected)
{
  g_autoptr(GString) text = g_string_new (NULL);

  g_assert_cmpuint (run->datas->len, ==, 3);
  for (guint i = 0; i < run->datas->len; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *obj;
      JsonArray *candidates;
      JsonArray *parts;

      g_assert_cmpstr (g_ptr_array_index (run->types, i), ==, "message");
      g_assert_true (json_parser_load_from_data (parser, g_ptr_array_index (run->datas, i), -1,
                                                 NULL));
      g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
      obj = json_node_get_object (json_parser_get_root (parser));
      candidates = json_object_get_array_member (obj, "candidates");
      g_assert_nonnull (candidates);
      obj = json_array_get_object_element (candidates, 0);
      parts = json_object_get_array_member (json_object_get_object_member (obj, "content"),
                                            "parts");
      for (guint j = 0; j < json_array_get_length (parts); j++)
        {
          JsonObject *part = json_array_get_object_element (parts, j);

          if (json_object_has_member (part, "text"))
            g_string_append (text, json_object_get_string_member (part, "text"));
        }
    }

  g_assert_cmpstr (text->str, ==, expected);
  g_assert_true (g_str_has_suffix (text->str, "\n"));
}

static void
check_facts (const char *name,
             const Run  *run)
{
  const ConfabStreamResult *r = run->result;

  for (guint i = 0; i < G_N_ELEMENTS (vector_facts); i++)
    {
      const VectorFacts *f = &vector_facts[i];

      if (!g_str_equal (f->name, name))
        continue;

      g_assert_cmpstr (r->finish_reason, ==, f->finish);
      g_assert_cmpint (r->prompt_tokens, ==, f->prompt);
      g_assert_cmpint (r->completion_tokens, ==, f->completion);
      g_assert_cmpint (r->total_tokens, ==, f->total);
      if (f->error_code != NULL)
        {
          g_assert_nonnull (r->error_message);
          g_assert_cmpstr (r->error_message, !=, "");
          if (*f->error_code != '\0')
            g_assert_cmpstr (r->error_code, ==, f->error_code);
        }
      else
        {
          g_assert_null (r->error_message);
          g_assert_null (r->error_code);
        }
      g_assert_cmpint (r->done, ==, f->done);
      g_assert_cmpint (confab_stream_result_is_finished (r), ==,
                       f->done || f->finish != NULL);
      if (f->n_comments >= 0)
        g_assert_cmpuint (run->n_comments, ==, (guint64) f->n_comments);
      g_assert_cmpstr (r->model, ==, f->model);
      if (f->content_prefix != NULL)
        g_assert_true (g_str_has_prefix (r->content->str, f->content_prefix));
      return;
    }

  g_test_message ("%s: no facts listed beyond its .expected files", name);
}

static const char *
or_none (const char *s)
{
  return s != NULL ? s : "none";
}

static void
test_vector (gconstpointer user_data)
{
  const char *path = user_data;
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *name = g_strndup (base, strlen (base) - strlen (".sse"));
  g_autofree char *stem = g_strndup (path, strlen (path) - strlen (".sse"));
  g_autofree char *contents = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *expected_reasoning = NULL;
  g_autofree char *expected_refusal = NULL;
  g_autofree char *p = NULL;
  DecoderKind kind = decoder_for (name);
  gsize len = 0;
  Run whole;
  Run bytes;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  p = g_strconcat (stem, ".expected", NULL);
  g_assert_true (g_file_get_contents (p, &expected, NULL, NULL));
  g_clear_pointer (&p, g_free);
  p = g_strconcat (stem, ".expected.reasoning", NULL);
  expected_reasoning = read_optional (p);
  g_clear_pointer (&p, g_free);
  p = g_strconcat (stem, ".expected.refusal", NULL);
  expected_refusal = read_optional (p);

  run_vector (&whole, kind, contents, len, FALSE, NULL);
  run_vector (&bytes, kind, contents, len, TRUE, NULL);
  assert_runs_equal (&whole, &bytes);

  for (guint i = 0; i < 6; i++)
    {
      guint32 seed = g_test_rand_int ();
      g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
      Run pieces;

      g_test_message ("%s: random pieces, seed %u", name, seed);
      run_vector (&pieces, kind, contents, len, FALSE, rand);
      assert_runs_equal (&whole, &pieces);
      run_clear (&pieces);
    }

  g_assert_cmpuint (whole.types->len, >, 0);

  if (kind == DECODER_NONE)
    {
      check_gemini (&whole, expected);
    }
  else
    {
      g_assert_cmpstr (whole.result->content->str, ==, expected);
      g_assert_cmpstr (whole.result->reasoning->str, ==, expected_reasoning);
      g_assert_cmpstr (whole.result->refusal->str, ==, expected_refusal);
      g_assert_true (g_utf8_validate (whole.result->content->str, -1, NULL));
      g_assert_cmpuint (whole.n_changed, >, 0);
      check_facts (name, &whole);

      g_test_message ("%s: content %" G_GSIZE_FORMAT " reasoning %" G_GSIZE_FORMAT
                      " refusal %" G_GSIZE_FORMAT " finish %s usage %" G_GINT64_FORMAT
                      "/%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT " error %s (%s) done %d"
                      " comments %" G_GUINT64_FORMAT,
                      name, whole.result->content->len, whole.result->reasoning->len,
                      whole.result->refusal->len, or_none (whole.result->finish_reason),
                      whole.result->prompt_tokens, whole.result->completion_tokens,
                      whole.result->total_tokens, or_none (whole.result->error_message),
                      or_none (whole.result->error_code), whole.result->done, whole.n_comments);
    }

  run_clear (&whole);
  run_clear (&bytes);
}

static char *
fixtures_dir (void)
{
  return g_test_build_filename (G_TEST_DIST, "fixtures", NULL);
}

static gint
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

static GPtrArray *
list_vectors (void)
{
  g_autofree char *dir_path = fixtures_dir ();
  g_autoptr(GDir) dir = NULL;
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  dir = g_dir_open (dir_path, 0, NULL);
  if (dir == NULL)
    return names;

  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".sse"))
      g_ptr_array_add (names, g_strndup (name, strlen (name) - strlen (".sse")));

  g_ptr_array_sort (names, compare_strings);
  return names;
}

static void
test_vectors_present (void)
{
  g_autoptr(GPtrArray) names = list_vectors ();

  /* Every vector the facts table names is there (and so was tested). */
  for (guint i = 0; i < G_N_ELEMENTS (vector_facts); i++)
    g_assert_true (g_ptr_array_find_with_equal_func (names, vector_facts[i].name,
                                                     g_str_equal, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (gemini_vectors); i++)
    g_assert_true (g_ptr_array_find_with_equal_func (names, gemini_vectors[i],
                                                     g_str_equal, NULL));
  g_assert_cmpuint (names->len, >=, G_N_ELEMENTS (vector_facts) + G_N_ELEMENTS (gemini_vectors));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GPtrArray) names = NULL;
  g_autofree char *dir_path = NULL;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/sse/parser/cr-only", test_parser_cr_only);
  g_test_add_func ("/sse/parser/lf-and-crlf", test_parser_lf_and_crlf);
  g_test_add_func ("/sse/parser/crlf-split", test_parser_crlf_split);
  g_test_add_func ("/sse/parser/multiline-data", test_parser_multiline_data);
  g_test_add_func ("/sse/parser/comments", test_parser_comments);
  g_test_add_func ("/sse/parser/no-colon", test_parser_no_colon);
  g_test_add_func ("/sse/parser/no-space", test_parser_no_space);
  g_test_add_func ("/sse/parser/event-type", test_parser_event_type);
  g_test_add_func ("/sse/parser/eof-dispatch", test_parser_eof_dispatch);
  g_test_add_func ("/sse/parser/no-data-not-dispatched", test_parser_no_data_not_dispatched);
  g_test_add_func ("/sse/parser/id-retry-ignored", test_parser_id_retry_ignored);
  g_test_add_func ("/sse/parser/bom", test_parser_bom);
  g_test_add_func ("/sse/parser/max-line-length", test_parser_max_line_length);
  g_test_add_func ("/sse/parser/max-line-sticky", test_parser_max_line_sticky);
  g_test_add_func ("/sse/parser/default-max-line", test_parser_default_max_line);
  g_test_add_func ("/sse/parser/unicode-separators", test_parser_unicode_separators);
  g_test_add_func ("/sse/parser/utf8-split", test_parser_utf8_split);
  g_test_add_func ("/sse/parser/llama-error-line", test_parser_llama_error_line);
  g_test_add_func ("/sse/parser/llama-error-decoded", test_parser_llama_error_decoded);
  g_test_add_func ("/sse/parser/linear", test_parser_linear);
  g_test_add_func ("/sse/parser/embedded-nul", test_parser_embedded_nul);

  g_test_add_func ("/sse/result/basics", test_result_basics);

  g_test_add_func ("/sse/openai/content", test_openai_content);
  g_test_add_func ("/sse/openai/content-null", test_openai_content_null);
  g_test_add_func ("/sse/openai/refusal", test_openai_refusal);
  g_test_add_func ("/sse/openai/usage-empty-choices", test_openai_usage_in_empty_choices);
  g_test_add_func ("/sse/openai/usage-finish-chunk", test_openai_usage_in_finish_chunk);
  g_test_add_func ("/sse/openai/usage-total-missing", test_openai_usage_total_missing);
  g_test_add_func ("/sse/openai/usage-x-groq", test_openai_x_groq_usage);
  g_test_add_func ("/sse/openai/error-integer-code", test_openai_error_integer_code);
  g_test_add_func ("/sse/openai/error-string-code", test_openai_error_string_code);
  g_test_add_func ("/sse/openai/error-beside-choices", test_openai_error_beside_choices);
  g_test_add_func ("/sse/openai/error-event", test_openai_error_event);
  g_test_add_func ("/sse/openai/vllm-object-error", test_openai_vllm_object_error);
  g_test_add_func ("/sse/openai/reasoning", test_openai_reasoning);
  g_test_add_func ("/sse/openai/mistral-array", test_openai_mistral_array);
  g_test_add_func ("/sse/openai/choice-index", test_openai_choice_index);
  g_test_add_func ("/sse/openai/finish-first-kept", test_openai_finish_first_kept);
  g_test_add_func ("/sse/openai/done", test_openai_done);
  g_test_add_func ("/sse/openai/garbage", test_openai_garbage);
  g_test_add_func ("/sse/openai/not-object", test_openai_not_object);
  g_test_add_func ("/sse/openai/missing-choices", test_openai_missing_choices);
  g_test_add_func ("/sse/openai/choices-not-array", test_openai_choices_not_array);
  g_test_add_func ("/sse/openai/invalid-utf8", test_openai_invalid_utf8);
  g_test_add_func ("/sse/openai/deep-nesting", test_openai_deep_nesting);
  g_test_add_func ("/sse/openai/two-values", test_openai_two_values);

  g_test_add_func ("/sse/anthropic/stream", test_anthropic_stream);
  g_test_add_func ("/sse/anthropic/type-sources", test_anthropic_type_sources);
  g_test_add_func ("/sse/anthropic/error", test_anthropic_error);
  g_test_add_func ("/sse/anthropic/garbage", test_anthropic_garbage);

  g_test_add_func ("/sse/vectors/present", test_vectors_present);

  /* One test per capture, found by listing the directory, so a new capture
   * is tested as soon as it is added. */
  dir_path = fixtures_dir ();
  names = list_vectors ();
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *test_path = g_strconcat ("/sse/vector/", name, NULL);
      g_autofree char *file = g_strconcat (name, ".sse", NULL);

      g_test_add_data_func_full (test_path, g_build_filename (dir_path, file, NULL),
                                 test_vector, g_free);
    }

  return g_test_run ();
}
