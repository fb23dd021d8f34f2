/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-provider"

#include "config.h"

#include "confab-provider.h"

G_DEFINE_INTERFACE (ConfabProvider, confab_provider, G_TYPE_OBJECT)

G_DEFINE_QUARK (confab-provider-error-quark, confab_provider_error)

static void
confab_provider_default_init (ConfabProviderInterface *iface)
{
}

/**
 * confab_provider_stream_chat_async:
 * @self: a #ConfabProvider
 * @request: what to ask; borrowed for the duration of the call only
 * @result: (transfer none): where the reply goes; the caller keeps it alive
 *   until @callback runs
 * @progress: (nullable): called on the main context whenever @result changed
 * @progress_data: data for @progress
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the stream ended, failed or was cancelled
 * @user_data: data for @callback
 *
 * Streams a reply into @result. Whatever arrived before a failure stays in
 * @result.
 */
void
confab_provider_stream_chat_async (ConfabProvider           *self,
                                   const ConfabChatRequest  *request,
                                   ConfabStreamResult       *result,
                                   ConfabStreamProgressFunc  progress,
                                   gpointer                  progress_data,
                                   GCancellable             *cancellable,
                                   GAsyncReadyCallback       callback,
                                   gpointer                  user_data)
{
  g_return_if_fail (CONFAB_IS_PROVIDER (self));
  g_return_if_fail (request != NULL);
  g_return_if_fail (result != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  CONFAB_PROVIDER_GET_IFACE (self)->stream_chat_async (self, request, result,
                                                       progress, progress_data,
                                                       cancellable, callback, user_data);
}

/**
 * confab_provider_stream_chat_finish:
 * @self: a #ConfabProvider
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #CONFAB_PROVIDER_ERROR or %G_IO_ERROR_CANCELLED
 *
 * Returns: %TRUE when the stream ended by the protocol's own rules
 */
gboolean
confab_provider_stream_chat_finish (ConfabProvider  *self,
                                    GAsyncResult    *result,
                                    GError         **error)
{
  g_return_val_if_fail (CONFAB_IS_PROVIDER (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);

  return CONFAB_PROVIDER_GET_IFACE (self)->stream_chat_finish (self, result, error);
}

/**
 * confab_provider_list_models_async:
 * @self: a #ConfabProvider
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the list
 * @user_data: data for @callback
 *
 * Asks the server which models it offers.
 */
void
confab_provider_list_models_async (ConfabProvider      *self,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_return_if_fail (CONFAB_IS_PROVIDER (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  CONFAB_PROVIDER_GET_IFACE (self)->list_models_async (self, cancellable, callback, user_data);
}

/**
 * confab_provider_list_models_finish:
 * @self: a #ConfabProvider
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the model ids, sorted and without duplicates,
 *   or %NULL on error
 */
GStrv
confab_provider_list_models_finish (ConfabProvider  *self,
                                    GAsyncResult    *result,
                                    GError         **error)
{
  g_return_val_if_fail (CONFAB_IS_PROVIDER (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);

  return CONFAB_PROVIDER_GET_IFACE (self)->list_models_finish (self, result, error);
}
