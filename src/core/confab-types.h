/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum
{
  CONFAB_ROLE_SYSTEM,
  CONFAB_ROLE_USER,
  CONFAB_ROLE_ASSISTANT,
} ConfabRole;

/* How far a message got. Stored as an integer in the database: append only. */
typedef enum
{
  CONFAB_MESSAGE_STATE_COMPLETE,
  CONFAB_MESSAGE_STATE_STREAMING,
  CONFAB_MESSAGE_STATE_STOPPED,      /* the person pressed Stop */
  CONFAB_MESSAGE_STATE_INTERRUPTED,  /* the stream ended early, or Confab was killed */
  CONFAB_MESSAGE_STATE_ERROR,        /* the server or the network failed the request */
} ConfabMessageState;

const char *confab_role_to_string   (ConfabRole   role);
ConfabRole  confab_role_from_string (const char  *str);

G_END_DECLS
