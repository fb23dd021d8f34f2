/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "confab-secrets.h"

G_BEGIN_DECLS

#define CONFAB_TYPE_PREFERENCES_WINDOW (confab_preferences_window_get_type ())

G_DECLARE_FINAL_TYPE (ConfabPreferencesWindow, confab_preferences_window,
                      CONFAB, PREFERENCES_WINDOW, AdwPreferencesWindow)

GtkWidget *confab_preferences_window_new (GtkWindow     *parent,
                                          GSettings     *settings,
                                          ConfabSecrets *secrets);

G_END_DECLS
