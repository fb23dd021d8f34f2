/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-config"

#include "config.h"

#include <string.h>

#include "confab-anthropic-provider.h"
#include "confab-config.h"
#include "confab-openai-provider.h"

static char *
strip_trailing_slashes (const char *url)
{
  char *copy = g_strstrip (g_strdup (url));
  gsize len = strlen (copy);

  while (len > 0 && copy[len - 1] == '/')
    copy[--len] = '\0';

  return copy;
}

gboolean
confab_config_is_anthropic (GSettings *settings)
{
  g_autofree char *kind = settings ? g_settings_get_string (settings, "provider") : NULL;

  return g_strcmp0 (kind, "anthropic") == 0;
}

const char *
confab_config_get_default_base_url (GSettings *settings)
{
  return confab_config_is_anthropic (settings) ? CONFAB_DEFAULT_ANTHROPIC_BASE_URL
                                               : CONFAB_DEFAULT_BASE_URL;
}

const char *
confab_config_get_env_base_url_name (GSettings *settings)
{
  return confab_config_is_anthropic (settings) ? "ANTHROPIC_BASE_URL" : "OPENAI_BASE_URL";
}

const char *
confab_config_get_env_api_key_name (GSettings *settings)
{
  return confab_config_is_anthropic (settings) ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY";
}

char *
confab_config_dup_base_url (GSettings *settings,
                            gboolean  *from_env)
{
  g_autofree char *stored = NULL;
  const char *env;

  if (from_env != NULL)
    *from_env = FALSE;

  if (settings != NULL)
    stored = g_settings_get_string (settings, "base-url");

  if (stored != NULL && *g_strstrip (stored) != '\0')
    return strip_trailing_slashes (stored);

  env = g_getenv (confab_config_get_env_base_url_name (settings));
  if (env != NULL && *env != '\0')
    {
      if (from_env != NULL)
        *from_env = TRUE;
      return strip_trailing_slashes (env);
    }

  return g_strdup (confab_config_get_default_base_url (settings));
}

const char *
confab_config_get_env_api_key (GSettings *settings)
{
  const char *env = g_getenv (confab_config_get_env_api_key_name (settings));

  return (env != NULL && *env != '\0') ? env : NULL;
}

ConfabProvider *
confab_config_create_provider (GSettings  *settings,
                               const char *base_url,
                               const char *key)
{
  if (key == NULL || *key == '\0')
    key = confab_config_get_env_api_key (settings);

  if (confab_config_is_anthropic (settings))
    return CONFAB_PROVIDER (confab_anthropic_provider_new (base_url, key));

  return CONFAB_PROVIDER (confab_openai_provider_new (base_url, key));
}

gboolean
confab_config_is_insecure_url (const char *base_url)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GInetAddress) address = NULL;
  const char *host;

  if (base_url == NULL)
    return FALSE;

  uri = g_uri_parse (base_url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_ascii_strcasecmp (g_uri_get_scheme (uri), "http") != 0)
    return FALSE;

  host = g_uri_get_host (uri);
  if (host == NULL || g_ascii_strcasecmp (host, "localhost") == 0)
    return FALSE;

  address = g_inet_address_new_from_string (host);
  if (address != NULL && g_inet_address_get_is_loopback (address))
    return FALSE;

  return TRUE;
}
