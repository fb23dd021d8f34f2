/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CONFAB_TYPE_SECRETS (confab_secrets_get_type ())

G_DECLARE_FINAL_TYPE (ConfabSecrets, confab_secrets, CONFAB, SECRETS, GObject)

/*
 * ConfabSecrets: API keys in the Secret Service (libsecret), one per server
 * base URL. When no keyring answers, a key is kept in memory for this run
 * only, "keyring-available" turns FALSE, and nothing is ever written to a file.
 *
 * Signals:
 *  - "changed" (const char *base_url): a key was stored or cleared.
 */
ConfabSecrets *confab_secrets_new                    (void);
gboolean       confab_secrets_get_keyring_available  (ConfabSecrets        *self);

/* Finishes with the key, or NULL (and no error) when none is stored. */
void           confab_secrets_lookup_async           (ConfabSecrets        *self,
                                                      const char           *base_url,
                                                      GCancellable         *cancellable,
                                                      GAsyncReadyCallback   callback,
                                                      gpointer              user_data);
char          *confab_secrets_lookup_finish          (ConfabSecrets        *self,
                                                      GAsyncResult         *result,
                                                      GError              **error);
/* An empty or NULL @key clears the stored key. */
void           confab_secrets_store_async            (ConfabSecrets        *self,
                                                      const char           *base_url,
                                                      const char           *key,
                                                      GCancellable         *cancellable,
                                                      GAsyncReadyCallback   callback,
                                                      gpointer              user_data);
gboolean       confab_secrets_store_finish           (ConfabSecrets        *self,
                                                      GAsyncResult         *result,
                                                      GError              **error);

G_END_DECLS
