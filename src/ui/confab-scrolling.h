/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

void confab_scrolling_pass_vertical (GtkWidget *scrolled_window);

G_END_DECLS
