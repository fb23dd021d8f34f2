/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "confab-provider.h"

G_BEGIN_DECLS

#define CONFAB_DEFAULT_BASE_URL           "https://api.openai.com/v1"
#define CONFAB_DEFAULT_ANTHROPIC_BASE_URL "https://api.anthropic.com/v1"

/*
 * The endpoint in use, from the settings ("provider", "base-url") and, as the
 * official SDKs do, the environment: OPENAI_BASE_URL / OPENAI_API_KEY for
 * OpenAI-compatible servers, ANTHROPIC_BASE_URL / ANTHROPIC_API_KEY for
 * Anthropic. @settings may be NULL: then an OpenAI-compatible server.
 */

/* TRUE when the "provider" setting is "anthropic". */
gboolean        confab_config_is_anthropic          (GSettings  *settings);
const char     *confab_config_get_default_base_url  (GSettings  *settings);
/* The names of the environment variables that apply, e.g. "OPENAI_API_KEY". */
const char     *confab_config_get_env_base_url_name (GSettings  *settings);
const char     *confab_config_get_env_api_key_name  (GSettings  *settings);
/* The base URL to talk to: the "base-url" setting, else the environment's,
 * else the default. Trailing slashes are removed.
 * @from_env: (out) (optional): TRUE when the environment supplied it. */
char           *confab_config_dup_base_url          (GSettings  *settings,
                                                     gboolean   *from_env);
/* The key from the environment, or NULL when unset or empty. */
const char     *confab_config_get_env_api_key       (GSettings  *settings);
/* A provider of the configured kind. A NULL or empty @key falls back to the
 * environment's. Returns: (transfer full) */
ConfabProvider *confab_config_create_provider       (GSettings  *settings,
                                                     const char *base_url,
                                                     const char *key);
/* TRUE for http:// URLs whose host is not a loopback address: a key sent
 * there travels in clear text. */
gboolean        confab_config_is_insecure_url       (const char *base_url);

G_END_DECLS
