/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "confab-message.h"
#include "confab-stream-result.h"

G_BEGIN_DECLS

#define CONFAB_PROVIDER_ERROR (confab_provider_error_quark ())

/* What went wrong with a request, in the terms a person can act on. The
 * GError's message is a complete, translated sentence that includes the
 * server's own message where there was one. */
typedef enum
{
  CONFAB_PROVIDER_ERROR_UNAUTHORIZED,       /* 401 */
  CONFAB_PROVIDER_ERROR_FORBIDDEN,          /* 403 */
  CONFAB_PROVIDER_ERROR_NOT_FOUND,          /* 404: names the model */
  CONFAB_PROVIDER_ERROR_RATE_LIMITED,       /* 429; retry_after_ms in the result */
  CONFAB_PROVIDER_ERROR_SERVER,             /* 5xx */
  CONFAB_PROVIDER_ERROR_BAD_REQUEST,        /* any other 4xx */
  CONFAB_PROVIDER_ERROR_CONNECTION_REFUSED,
  CONFAB_PROVIDER_ERROR_HOST_NOT_FOUND,
  CONFAB_PROVIDER_ERROR_TLS,                /* names the host */
  CONFAB_PROVIDER_ERROR_NETWORK,            /* reset, unreachable, … */
  CONFAB_PROVIDER_ERROR_TIMEOUT,            /* connect timeout, or silence mid-stream */
  CONFAB_PROVIDER_ERROR_INTERRUPTED,        /* ended without [DONE] or a finish reason */
  CONFAB_PROVIDER_ERROR_STREAM,             /* an error reported inside the stream */
  CONFAB_PROVIDER_ERROR_TOO_LARGE,          /* reply over 32 MB or a line over 8 MB */
  CONFAB_PROVIDER_ERROR_INVALID_RESPONSE,   /* not a stream Confab understands */
  CONFAB_PROVIDER_ERROR_NO_URL,             /* no or a malformed base URL */
} ConfabProviderError;

/* One request. The strings and messages are borrowed for the call's duration;
 * implementations copy what they need before returning. */
typedef struct _ConfabChatRequest
{
  const char *model;
  double      temperature;      /* < 0: not sent */
  const char *system_message;   /* NULL or empty: not sent */
  GPtrArray  *messages;         /* ConfabMessage, oldest first; user and assistant */
} ConfabChatRequest;

/* Called on the main context whenever the result changed. */
typedef void (*ConfabStreamProgressFunc) (ConfabStreamResult *result,
                                          gpointer            user_data);

#define CONFAB_TYPE_PROVIDER (confab_provider_get_type ())

G_DECLARE_INTERFACE (ConfabProvider, confab_provider, CONFAB, PROVIDER, GObject)

struct _ConfabProviderInterface
{
  GTypeInterface parent_iface;

  void      (*stream_chat_async)  (ConfabProvider            *self,
                                   const ConfabChatRequest   *request,
                                   ConfabStreamResult        *result,
                                   ConfabStreamProgressFunc   progress,
                                   gpointer                   progress_data,
                                   GCancellable              *cancellable,
                                   GAsyncReadyCallback        callback,
                                   gpointer                   user_data);
  gboolean  (*stream_chat_finish) (ConfabProvider            *self,
                                   GAsyncResult              *result,
                                   GError                   **error);
  void      (*list_models_async)  (ConfabProvider            *self,
                                   GCancellable              *cancellable,
                                   GAsyncReadyCallback        callback,
                                   gpointer                   user_data);
  GStrv     (*list_models_finish) (ConfabProvider            *self,
                                   GAsyncResult              *result,
                                   GError                   **error);
};

GQuark    confab_provider_error_quark        (void);

/*
 * Streams a reply into @result (owned by the caller, which must keep it alive
 * until the callback). @progress runs whenever it changed. Finishes TRUE when
 * the stream ended by the protocol's rules; otherwise with a
 * CONFAB_PROVIDER_ERROR (or G_IO_ERROR_CANCELLED), and @result keeps whatever
 * arrived before.
 */
void      confab_provider_stream_chat_async  (ConfabProvider            *self,
                                              const ConfabChatRequest   *request,
                                              ConfabStreamResult        *result,
                                              ConfabStreamProgressFunc   progress,
                                              gpointer                   progress_data,
                                              GCancellable              *cancellable,
                                              GAsyncReadyCallback        callback,
                                              gpointer                   user_data);
gboolean  confab_provider_stream_chat_finish (ConfabProvider            *self,
                                              GAsyncResult              *result,
                                              GError                   **error);
/* The model ids the server offers, sorted. */
void      confab_provider_list_models_async  (ConfabProvider            *self,
                                              GCancellable              *cancellable,
                                              GAsyncReadyCallback        callback,
                                              gpointer                   user_data);
GStrv     confab_provider_list_models_finish (ConfabProvider            *self,
                                              GAsyncResult              *result,
                                              GError                   **error);

G_END_DECLS
