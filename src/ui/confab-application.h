/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "confab-chat-session.h"
#include "confab-secrets.h"
#include "confab-store.h"

G_BEGIN_DECLS

#define CONFAB_TYPE_APPLICATION (confab_application_get_type ())

G_DECLARE_FINAL_TYPE (ConfabApplication, confab_application, CONFAB, APPLICATION, AdwApplication)

ConfabApplication *confab_application_new             (void);
GSettings         *confab_application_get_settings    (ConfabApplication *self);
ConfabSecrets     *confab_application_get_secrets     (ConfabApplication *self);
/* NULL when the database could not be opened; see get_store_error. */
ConfabStore       *confab_application_get_store       (ConfabApplication *self);
const GError      *confab_application_get_store_error (ConfabApplication *self);
/* Tries to open the database again (after it was moved aside). */
gboolean           confab_application_reopen_store    (ConfabApplication *self,
                                                       GError           **error);
ConfabChatSession *confab_application_get_session     (ConfabApplication *self);

G_END_DECLS
