/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * ConfabStreamResult: what a streamed reply has said so far. The decoders of
 * every wire format append to it; the provider fills in the HTTP facts. It is
 * owned by the caller of the provider, so whatever arrived before a failure is
 * still there afterwards.
 */
typedef struct _ConfabStreamResult
{
  GString *content;
  GString *reasoning;
  GString *refusal;

  char    *finish_reason;      /* "stop", "length", …; NULL until known */
  char    *model;              /* as reported by the server */

  gint64   prompt_tokens;      /* -1 when unknown */
  gint64   completion_tokens;  /* -1 when unknown */
  gint64   total_tokens;       /* -1 when unknown */

  char    *error_message;      /* an error reported inside the stream */
  char    *error_code;         /* its type or code, as text; may be NULL */

  guint    http_status;        /* 0 until the response head arrived */
  gint64   retry_after_ms;     /* from Retry-After / x-ratelimit-reset-*; -1 if none */

  guint    done : 1;           /* saw `[DONE]` (OpenAI) or `message_stop` (Anthropic) */
} ConfabStreamResult;

ConfabStreamResult *confab_stream_result_new      (void);
void                confab_stream_result_free     (ConfabStreamResult *self);
void                confab_stream_result_reset    (ConfabStreamResult *self);
void                confab_stream_result_set_error (ConfabStreamResult *self,
                                                    const char         *message,
                                                    const char         *code);
/* TRUE when the stream ended by the protocol's own rules (a finish reason or [DONE]). */
gboolean            confab_stream_result_is_finished (const ConfabStreamResult *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConfabStreamResult, confab_stream_result_free)

G_END_DECLS
