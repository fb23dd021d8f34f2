/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CONFAB_DEFAULT_BASE_URL "https://api.openai.com/v1"

/* The base URL to talk to: the "base-url" setting, else OPENAI_BASE_URL from the
 * environment, else CONFAB_DEFAULT_BASE_URL. Trailing slashes are removed.
 * @from_env: (out) (optional): TRUE when the environment supplied it. */
char       *confab_config_dup_base_url     (GSettings  *settings,
                                            gboolean   *from_env);
/* OPENAI_API_KEY from the environment, or NULL when unset or empty. */
const char *confab_config_get_env_api_key  (void);
/* TRUE for http:// URLs whose host is not a loopback address: a key sent
 * there travels in clear text. */
gboolean    confab_config_is_insecure_url  (const char *base_url);

G_END_DECLS
