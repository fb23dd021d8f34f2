/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "confab-stream-result.h"

G_BEGIN_DECLS

/*
 * Decoders map one SSE event of a wire format onto a ConfabStreamResult.
 * Pure functions: no I/O, no state beyond @result. They never fail on
 * unknown or missing fields; they skip what they do not understand.
 *
 * Each returns TRUE when @result changed in a way a viewer would see
 * (text, reasoning, refusal, usage, finish reason, an error, or done).
 */

/* OpenAI Chat Completions chunks (and every compatible server). Only choice 0
 * is taken. `[DONE]` sets done. An `error` object, or an event of type
 * "error", sets the error fields. Mistral's array content is understood. */
gboolean confab_openai_decode_event    (ConfabStreamResult *result,
                                        const char         *event_type,
                                        const char         *data,
                                        gsize               data_len);

/* Anthropic Messages API stream events. message_stop sets done. */
gboolean confab_anthropic_decode_event (ConfabStreamResult *result,
                                        const char         *event_type,
                                        const char         *data,
                                        gsize               data_len);

G_END_DECLS
