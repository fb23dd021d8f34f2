/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the Anthropic decoder. The first byte chooses the SSE
 * event name; the rest is the event's data, decoded twice into one result
 * (the second time the result already holds what the first left). The
 * result must stay valid UTF-8 whatever the input.
 */
#define G_LOG_DOMAIN "fuzz-anthropic-decoder"

#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "confab-decoders.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char * const event_types[] = {
  "message", "error", NULL, "message_start", "content_block_delta", "message_delta",
  "message_stop", "ping",
};

static void
check (const ConfabStreamResult *result)
{
  if (!g_utf8_validate (result->content->str, result->content->len, NULL) ||
      !g_utf8_validate (result->reasoning->str, result->reasoning->len, NULL) ||
      !g_utf8_validate (result->refusal->str, result->refusal->len, NULL) ||
      (result->error_message != NULL && !g_utf8_validate (result->error_message, -1, NULL)) ||
      (result->error_code != NULL && !g_utf8_validate (result->error_code, -1, NULL)) ||
      (result->finish_reason != NULL && !g_utf8_validate (result->finish_reason, -1, NULL)) ||
      (result->model != NULL && !g_utf8_validate (result->model, -1, NULL)))
    abort ();

  if (result->prompt_tokens < -1 || result->completion_tokens < -1 || result->total_tokens < -1)
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  ConfabStreamResult *result;
  const char *event_type;

  if (size < 1)
    return 0;

  event_type = event_types[data[0] % G_N_ELEMENTS (event_types)];
  result = confab_stream_result_new ();

  confab_anthropic_decode_event (result, event_type, (const char *) data + 1, size - 1);
  check (result);
  confab_anthropic_decode_event (result, event_type, (const char *) data + 1, size - 1);
  check (result);

  confab_stream_result_free (result);
  return 0;
}
