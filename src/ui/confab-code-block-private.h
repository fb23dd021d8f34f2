/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "confab-code-block.h"

G_BEGIN_DECLS

/* For tests. */

/* Markup prepared with confab_code_block_prepare_code (): how much waits
 * for its block (*@n_waiting), and how much blocks took so far (*@n_taken). */
void confab_code_block_get_prepared (guint *n_waiting,
                                     guint *n_taken);

G_END_DECLS
