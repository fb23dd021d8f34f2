/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-stream-result"

#include "config.h"

#include <glib/gi18n.h>

#include "confab-stream-result.h"

/**
 * confab_stream_result_new:
 *
 * Returns: (transfer full): an empty result with every count unknown (-1).
 */
ConfabStreamResult *
confab_stream_result_new (void)
{
  ConfabStreamResult *self = g_new0 (ConfabStreamResult, 1);

  self->content = g_string_new (NULL);
  self->reasoning = g_string_new (NULL);
  self->refusal = g_string_new (NULL);
  self->prompt_tokens = -1;
  self->completion_tokens = -1;
  self->total_tokens = -1;
  self->retry_after_ms = -1;

  return self;
}

void
confab_stream_result_free (ConfabStreamResult *self)
{
  if (self == NULL)
    return;

  g_string_free (self->content, TRUE);
  g_string_free (self->reasoning, TRUE);
  g_string_free (self->refusal, TRUE);
  g_free (self->finish_reason);
  g_free (self->model);
  g_free (self->error_message);
  g_free (self->error_code);
  g_free (self);
}

/**
 * confab_stream_result_reset:
 * @self: a #ConfabStreamResult
 *
 * Forgets everything, as before a new request (a retry).
 */
void
confab_stream_result_reset (ConfabStreamResult *self)
{
  g_return_if_fail (self != NULL);

  g_string_truncate (self->content, 0);
  g_string_truncate (self->reasoning, 0);
  g_string_truncate (self->refusal, 0);
  g_clear_pointer (&self->finish_reason, g_free);
  g_clear_pointer (&self->model, g_free);
  g_clear_pointer (&self->error_message, g_free);
  g_clear_pointer (&self->error_code, g_free);
  self->prompt_tokens = -1;
  self->completion_tokens = -1;
  self->total_tokens = -1;
  self->http_status = 0;
  self->retry_after_ms = -1;
  self->done = FALSE;
}

/**
 * confab_stream_result_set_error:
 * @self: a #ConfabStreamResult
 * @message: (nullable): the error text the server sent
 * @code: (nullable): its type or code
 *
 * Records an error reported inside the stream, replacing an earlier one. A
 * missing or empty @message is replaced by a generic one, so that
 * @error_message is never NULL afterwards.
 */
void
confab_stream_result_set_error (ConfabStreamResult *self,
                                const char         *message,
                                const char         *code)
{
  g_return_if_fail (self != NULL);

  g_free (self->error_message);
  if (message != NULL && *message != '\0')
    self->error_message = g_strdup (message);
  else
    self->error_message = g_strdup (_("The server reported an error"));

  g_free (self->error_code);
  self->error_code = (code != NULL && *code != '\0') ? g_strdup (code) : NULL;
}

gboolean
confab_stream_result_is_finished (const ConfabStreamResult *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->done || self->finish_reason != NULL;
}
