/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Removes @path and everything below it (what a test made in a temporary
 * folder); links are removed, not followed; folders made unreadable by a
 * test are made readable first. */
void confab_test_remove_tree (const char *path);

G_END_DECLS
