/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define CONFAB_TYPE_CODE_BLOCK (confab_code_block_get_type ())

G_DECLARE_FINAL_TYPE (ConfabCodeBlock, confab_code_block, CONFAB, CODE_BLOCK, GtkWidget)

GtkWidget  *confab_code_block_new          (void);
/* Cheap when nothing changed; when @code extends the current code, only the
 * new suffix is inserted into the buffer. */
void        confab_code_block_set_code     (ConfabCodeBlock *self,
                                            const char      *language,
                                            const char      *code);
const char *confab_code_block_get_code     (ConfabCodeBlock *self);
void        confab_code_block_set_growing  (ConfabCodeBlock *self,
                                            gboolean         growing);
gboolean    confab_code_block_get_growing  (ConfabCodeBlock *self);
/* The GtkSourceView showing the code, or NULL when a label shows it */
GtkWidget  *confab_code_block_get_text_view (ConfabCodeBlock *self);
const char *confab_code_block_get_language (ConfabCodeBlock *self);
/* The GtkSourceView language highlighting the code, or NULL */
const char *confab_code_block_get_language_id (ConfabCodeBlock *self);
/* Reads a language's highlighting rules ahead of its first code block. */
void        confab_code_block_prepare_language (const char *name);
/* Highlights the code of a block to be made soon, ahead of its making. */
void        confab_code_block_prepare_code (const char *language,
                                            const char *code);
/* Copies the code to the clipboard, as the Copy button does. */
void        confab_code_block_copy         (ConfabCodeBlock *self);

G_END_DECLS
