/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-types"

#include "config.h"

#include <string.h>

#include "confab-types.h"

const char *
confab_role_to_string (ConfabRole role)
{
  switch (role)
    {
    case CONFAB_ROLE_SYSTEM:
      return "system";
    case CONFAB_ROLE_ASSISTANT:
      return "assistant";
    case CONFAB_ROLE_USER:
    default:
      return "user";
    }
}

ConfabRole
confab_role_from_string (const char *str)
{
  if (g_strcmp0 (str, "system") == 0)
    return CONFAB_ROLE_SYSTEM;
  if (g_strcmp0 (str, "assistant") == 0)
    return CONFAB_ROLE_ASSISTANT;
  return CONFAB_ROLE_USER;
}
