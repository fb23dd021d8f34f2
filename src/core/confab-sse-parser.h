/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * ConfabSseParser: bytes in, Server-Sent Events out (WHATWG framing).
 *
 * Pure and incremental: no I/O. Feed it whatever pieces arrive; lines may end
 * in CRLF, LF or CR, and a CRLF pair or a UTF-8 code point may be split
 * between two calls. Comment lines (":" …) are counted, not dispatched.
 * confab_sse_parser_finish() dispatches an event still pending at EOF.
 *
 * The non-standard `error: {json}` line that older llama.cpp servers send is
 * dispatched at once as an event of type "error" with that value as its data.
 */
typedef struct _ConfabSseParser ConfabSseParser;

/* @event_type is "message" when the event named none. @data is NUL-terminated. */
typedef void (*ConfabSseEventFunc) (const char *event_type,
                                    const char *data,
                                    gsize       data_len,
                                    gpointer    user_data);

#define CONFAB_SSE_ERROR (confab_sse_error_quark ())

typedef enum
{
  CONFAB_SSE_ERROR_LINE_TOO_LONG,
} ConfabSseError;

GQuark           confab_sse_error_quark      (void);
ConfabSseParser *confab_sse_parser_new       (ConfabSseEventFunc  func,
                                              gpointer            user_data);
void             confab_sse_parser_free      (ConfabSseParser    *self);
/* Default 8 MiB. A longer line makes feed() fail with LINE_TOO_LONG. */
void             confab_sse_parser_set_max_line_length (ConfabSseParser *self,
                                                        gsize            max_len);
gboolean         confab_sse_parser_feed      (ConfabSseParser    *self,
                                              const char         *data,
                                              gsize               len,
                                              GError            **error);
void             confab_sse_parser_finish    (ConfabSseParser    *self);
guint64          confab_sse_parser_get_n_comments (ConfabSseParser *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConfabSseParser, confab_sse_parser_free)

G_END_DECLS
