/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "confab-conversation.h"
#include "confab-message.h"

G_BEGIN_DECLS

#define CONFAB_STORE_ERROR (confab_store_error_quark ())

typedef enum
{
  CONFAB_STORE_ERROR_OPEN,      /* the file cannot be opened or created */
  CONFAB_STORE_ERROR_CORRUPT,   /* it is not a database, or fails its integrity check */
  CONFAB_STORE_ERROR_TOO_NEW,   /* written by a newer Confab */
  CONFAB_STORE_ERROR_FAILED,    /* a statement failed */
} ConfabStoreError;

#define CONFAB_TYPE_STORE (confab_store_get_type ())

G_DECLARE_FINAL_TYPE (ConfabStore, confab_store, CONFAB, STORE, GObject)

/*
 * ConfabStore: every conversation and message, in one SQLite file (WAL, 0600,
 * schema versioned with PRAGMA user_version and migrated forward, with a copy
 * of the file taken before any migration). It never deletes or resets a file
 * it cannot read: it fails with a message that names it.
 *
 * On open, messages left in the streaming state (Confab was killed mid-reply)
 * become interrupted.
 */
GQuark              confab_store_error_quark            (void);
/* The default location: $XDG_DATA_HOME/confab/confab.db. */
char               *confab_store_dup_default_path       (void);
ConfabStore        *confab_store_new                    (const char          *path,
                                                         GError             **error);
const char         *confab_store_get_path               (ConfabStore         *self);

/* Summaries for the sidebar, newest activity first; no messages are loaded.
 * Conversations marked deleted are left out.
 * Returns: (transfer full) (element-type ConfabConversation) */
GPtrArray          *confab_store_list_conversations     (ConfabStore         *self,
                                                         GError             **error);
/* Ids of conversations whose title or messages match @query (FTS5), best first. */
GArray             *confab_store_search                 (ConfabStore         *self,
                                                         const char          *query,
                                                         GError             **error);
/* Sets the id of @conversation. */
gboolean            confab_store_insert_conversation    (ConfabStore         *self,
                                                         ConfabConversation  *conversation,
                                                         GError             **error);
/* Title, title-locked, model, temperature, system message, updated-at. */
gboolean            confab_store_update_conversation    (ConfabStore         *self,
                                                         ConfabConversation  *conversation,
                                                         GError             **error);
/* Deletion is a mark first, so that it can be undone; purge removes for good. */
gboolean            confab_store_set_conversation_deleted (ConfabStore       *self,
                                                         gint64               conversation_id,
                                                         gboolean             deleted,
                                                         GError             **error);
gboolean            confab_store_purge_deleted          (ConfabStore         *self,
                                                         GError             **error);

/* @message must have its conversation id set. Sets its id, and bumps the
 * conversation's updated-at. Committed to disk when it returns. */
gboolean            confab_store_insert_message         (ConfabStore         *self,
                                                         ConfabMessage       *message,
                                                         GError             **error);
/* Content, reasoning, state, error, model, finish reason, usage. */
gboolean            confab_store_update_message         (ConfabStore         *self,
                                                         ConfabMessage       *message,
                                                         GError             **error);
/* Up to @limit messages of a conversation older than @before_id (0: the newest),
 * returned oldest first.
 * Returns: (transfer full) (element-type ConfabMessage) */
GPtrArray          *confab_store_load_messages          (ConfabStore         *self,
                                                         gint64               conversation_id,
                                                         gint64               before_id,
                                                         guint                limit,
                                                         GError             **error);

/* Renames an unreadable file to "<path>.broken-<timestamp>" (never deletes it).
 * Returns: (transfer full): the new path */
char               *confab_store_move_aside             (const char          *path,
                                                         GError             **error);

G_END_DECLS
