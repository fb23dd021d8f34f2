/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-store"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "confab-store.h"

/*
 * The schema, one migration per version: migrations[i] takes a database from
 * user_version i to i + 1. Each runs in its own transaction together with the
 * new user_version, so a database is always at exactly one version. Append
 * only: a released migration never changes.
 */
static const char * const migrations[] = {
  /* 0 → 1: the first schema, conversations and their messages. */
  "CREATE TABLE conversations ("
  "  id             INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  title          TEXT,"
  "  title_locked   INTEGER NOT NULL DEFAULT 0,"
  "  model          TEXT,"
  "  temperature    REAL NOT NULL DEFAULT 1.0,"
  "  system_message TEXT,"
  "  created_at     INTEGER NOT NULL,"
  "  updated_at     INTEGER NOT NULL"
  ");"
  "CREATE TABLE messages ("
  "  id                INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  conversation_id   INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,"
  "  role              TEXT NOT NULL,"
  "  content           TEXT NOT NULL DEFAULT '',"
  "  reasoning         TEXT,"
  "  state             INTEGER NOT NULL DEFAULT 0,"
  "  error             TEXT,"
  "  model             TEXT,"
  "  finish_reason     TEXT,"
  "  prompt_tokens     INTEGER NOT NULL DEFAULT -1,"
  "  completion_tokens INTEGER NOT NULL DEFAULT -1,"
  "  created_at        INTEGER NOT NULL,"
  "  updated_at        INTEGER NOT NULL"
  ");"
  "CREATE INDEX messages_by_conversation ON messages (conversation_id, id);",

  /* 1 → 2: soft deletion, message branches (parent_id), error kinds, a
   * maintained message count for the sidebar, and full-text search.
   *
   * parent_id is the message this one follows (the previous one, until edits
   * and regenerations make branches). It is deliberately not a foreign key:
   * a whole conversation is purged at once, and a constraint would cost an
   * index lookup per deleted row for nothing.
   *
   * The FTS tables use external content (no second copy of the text). A
   * message is indexed only while its state is not streaming (1): the
   * checkpoints of a reply being streamed rewrite the row about once a second
   * with up to hundreds of KB, and tokenizing all of it each time would be
   * wasted work; the text is indexed once, when the state leaves streaming.
   * The triggers keep exactly this invariant: the index holds a message's
   * current content if and only if its state is not 1. */
  "ALTER TABLE conversations ADD COLUMN deleted_at INTEGER;"
  "ALTER TABLE conversations ADD COLUMN message_count INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE messages ADD COLUMN parent_id INTEGER;"
  "ALTER TABLE messages ADD COLUMN error_kind TEXT;"
  "UPDATE conversations SET message_count ="
  "  (SELECT count(*) FROM messages m WHERE m.conversation_id = conversations.id);"
  "UPDATE messages SET parent_id ="
  "  (SELECT max(p.id) FROM messages p"
  "   WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id);"
  "CREATE INDEX conversations_by_activity ON conversations (updated_at DESC, id DESC)"
  "  WHERE deleted_at IS NULL;"
  "CREATE INDEX messages_streaming ON messages (state) WHERE state = 1;"
  "CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN"
  "  UPDATE conversations SET message_count = message_count + 1"
  "  WHERE id = new.conversation_id;"
  "END;"
  "CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN"
  "  UPDATE conversations SET message_count = message_count - 1"
  "  WHERE id = old.conversation_id;"
  "END;"
  "CREATE VIRTUAL TABLE messages_fts USING fts5 ("
  "  content, content = 'messages', content_rowid = 'id',"
  "  tokenize = 'unicode61 remove_diacritics 2');"
  "CREATE VIRTUAL TABLE conversations_fts USING fts5 ("
  "  title, content = 'conversations', content_rowid = 'id',"
  "  tokenize = 'unicode61 remove_diacritics 2');"
  "INSERT INTO messages_fts (rowid, content)"
  "  SELECT id, content FROM messages WHERE state != 1;"
  "INSERT INTO conversations_fts (rowid, title) SELECT id, title FROM conversations;"
  "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages"
  "  WHEN new.state != 1 BEGIN"
  "  INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);"
  "END;"
  /* One trigger, so that the old text leaves the index before the new one
   * enters it (separate triggers would run in an unspecified order). */
  "CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, state ON messages"
  "  WHEN old.state != 1 OR new.state != 1 BEGIN"
  "  INSERT INTO messages_fts (messages_fts, rowid, content)"
  "    SELECT 'delete', old.id, old.content"
  "    WHERE old.state != 1 AND (new.state = 1 OR new.content IS NOT old.content);"
  "  INSERT INTO messages_fts (rowid, content)"
  "    SELECT new.id, new.content"
  "    WHERE new.state != 1 AND (old.state = 1 OR new.content IS NOT old.content);"
  "END;"
  "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages"
  "  WHEN old.state != 1 BEGIN"
  "  INSERT INTO messages_fts (messages_fts, rowid, content)"
  "    VALUES ('delete', old.id, old.content);"
  "END;"
  "CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN"
  "  INSERT INTO conversations_fts (rowid, title) VALUES (new.id, new.title);"
  "END;"
  "CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title ON conversations"
  "  WHEN new.title IS NOT old.title BEGIN"
  "  INSERT INTO conversations_fts (conversations_fts, rowid, title)"
  "    VALUES ('delete', old.id, old.title);"
  "  INSERT INTO conversations_fts (rowid, title) VALUES (new.id, new.title);"
  "END;"
  "CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN"
  "  INSERT INTO conversations_fts (conversations_fts, rowid, title)"
  "    VALUES ('delete', old.id, old.title);"
  "END;",
};

#define CURRENT_VERSION ((int) G_N_ELEMENTS (migrations))

/* Search terms beyond this many are ignored. */
#define MAX_SEARCH_TERMS 32

typedef enum
{
  STMT_BEGIN,
  STMT_COMMIT,
  STMT_ROLLBACK,
  STMT_LIST_CONVERSATIONS,
  STMT_INSERT_CONVERSATION,
  STMT_UPDATE_CONVERSATION,
  STMT_SET_DELETED,
  STMT_PURGE_DELETED,
  STMT_INSERT_MESSAGE,
  STMT_TOUCH_CONVERSATION,
  STMT_UPDATE_MESSAGE,
  STMT_LOAD_MESSAGES,
  STMT_SEARCH,
  N_STATEMENTS
} StatementId;

static const char * const statement_sql[N_STATEMENTS] = {
  [STMT_BEGIN] = "BEGIN IMMEDIATE",
  [STMT_COMMIT] = "COMMIT",
  [STMT_ROLLBACK] = "ROLLBACK",
  [STMT_LIST_CONVERSATIONS] =
    "SELECT id, title, title_locked, model, temperature, system_message,"
    "       created_at, updated_at, message_count"
    " FROM conversations INDEXED BY conversations_by_activity"
    " WHERE deleted_at IS NULL"
    " ORDER BY updated_at DESC, id DESC",
  [STMT_INSERT_CONVERSATION] =
    "INSERT INTO conversations (title, title_locked, model, temperature, system_message,"
    "                           created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
  [STMT_UPDATE_CONVERSATION] =
    "UPDATE conversations SET title = ?2, title_locked = ?3, model = ?4, temperature = ?5,"
    "                         system_message = ?6, updated_at = ?7"
    " WHERE id = ?1",
  [STMT_SET_DELETED] =
    "UPDATE conversations SET deleted_at = ?2 WHERE id = ?1",
  [STMT_PURGE_DELETED] =
    "DELETE FROM conversations WHERE deleted_at IS NOT NULL",
  [STMT_INSERT_MESSAGE] =
    "INSERT INTO messages (conversation_id, parent_id, role, content, reasoning, state,"
    "                      error, error_kind, model, finish_reason, prompt_tokens,"
    "                      completion_tokens, created_at, updated_at)"
    " VALUES (?1, (SELECT max(id) FROM messages WHERE conversation_id = ?1),"
    "         ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
  [STMT_TOUCH_CONVERSATION] =
    "UPDATE conversations SET updated_at = max(updated_at, ?2) WHERE id = ?1",
  [STMT_UPDATE_MESSAGE] =
    "UPDATE messages SET content = ?2, reasoning = ?3, state = ?4, error = ?5,"
    "                    error_kind = ?6, model = ?7, finish_reason = ?8,"
    "                    prompt_tokens = ?9, completion_tokens = ?10, updated_at = ?11"
    " WHERE id = ?1",
  [STMT_LOAD_MESSAGES] =
    "SELECT id, conversation_id, role, content, reasoning, state, error, error_kind, model,"
    "       finish_reason, prompt_tokens, completion_tokens, created_at"
    " FROM messages"
    " WHERE conversation_id = ?1 AND id < ?2"
    " ORDER BY id DESC"
    " LIMIT ?3",
  /* Title matches first, then the best bm25 score (lower is better), then
   * the most recent activity. */
  [STMT_SEARCH] =
    "SELECT s.cid FROM ("
    "    SELECT rowid AS cid, 1 AS in_title, bm25 (conversations_fts) AS score"
    "    FROM conversations_fts WHERE conversations_fts MATCH ?1"
    "  UNION ALL"
    "    SELECT m.conversation_id, 0, bm25 (messages_fts)"
    "    FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
    "    WHERE messages_fts MATCH ?1"
    "  ) AS s"
    "  JOIN conversations c ON c.id = s.cid"
    " WHERE c.deleted_at IS NULL"
    " GROUP BY s.cid"
    " ORDER BY max (s.in_title) DESC, min (s.score), c.updated_at DESC",
};

struct _ConfabStore
{
  GObject       parent_instance;

  /* Owned */
  char         *path;
  sqlite3      *db;
  sqlite3_stmt *statements[N_STATEMENTS];
};

G_DEFINE_FINAL_TYPE (ConfabStore, confab_store, G_TYPE_OBJECT)

G_DEFINE_QUARK (confab-store-error-quark, confab_store_error)

/* A cached statement borrowed for one use: reset (which also ends its read
 * transaction) and unbound when it goes out of scope. */
typedef sqlite3_stmt *StmtRef;

static void
stmt_ref_release (StmtRef stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (StmtRef, stmt_ref_release, NULL)

static void
set_db_error (ConfabStore       *self,
              ConfabStoreError   code,
              GError           **error)
{
  g_autofree char *display = g_filename_display_name (self->path);
  const char *detail = self->db != NULL ? sqlite3_errmsg (self->db) : "";

  switch (code)
    {
    case CONFAB_STORE_ERROR_OPEN:
      g_set_error (error, CONFAB_STORE_ERROR, code,
                   _("Could not open the conversation database “%s”: %s"),
                   display, detail);
      break;

    case CONFAB_STORE_ERROR_CORRUPT:
      g_set_error (error, CONFAB_STORE_ERROR, code,
                   _("The file “%s” is damaged or is not a Confab database: %s"),
                   display, detail);
      break;

    case CONFAB_STORE_ERROR_TOO_NEW:
    case CONFAB_STORE_ERROR_FAILED:
    default:
      g_set_error (error, CONFAB_STORE_ERROR, CONFAB_STORE_ERROR_FAILED,
                   _("Could not read or write the conversation database “%s”: %s"),
                   display, detail);
      break;
    }
}

/* While opening, a failure is about the file rather than a statement. */
static ConfabStoreError
open_error_code (int rc)
{
  switch (rc & 0xff)
    {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return CONFAB_STORE_ERROR_CORRUPT;

    default:
      return CONFAB_STORE_ERROR_OPEN;
    }
}

static sqlite3_stmt *
get_statement (ConfabStore  *self,
               StatementId   id,
               GError      **error)
{
  g_assert (id < N_STATEMENTS);

  if (self->statements[id] == NULL &&
      sqlite3_prepare_v3 (self->db, statement_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                          &self->statements[id], NULL) != SQLITE_OK)
    {
      set_db_error (self, CONFAB_STORE_ERROR_FAILED, error);
      return NULL;
    }

  return self->statements[id];
}

/* Runs a cached statement that returns no rows. */
static gboolean
run_statement (ConfabStore  *self,
               StatementId   id,
               GError      **error)
{
  g_auto (StmtRef) stmt = get_statement (self, id, error);

  if (stmt == NULL)
    return FALSE;

  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      set_db_error (self, CONFAB_STORE_ERROR_FAILED, error);
      return FALSE;
    }

  return TRUE;
}

static gboolean
begin_transaction (ConfabStore  *self,
                   GError      **error)
{
  return run_statement (self, STMT_BEGIN, error);
}

static void
rollback_transaction (ConfabStore *self)
{
  if (!sqlite3_get_autocommit (self->db))
    run_statement (self, STMT_ROLLBACK, NULL);
}

static gboolean
commit_transaction (ConfabStore  *self,
                    GError      **error)
{
  if (!run_statement (self, STMT_COMMIT, error))
    {
      rollback_transaction (self);
      return FALSE;
    }

  return TRUE;
}

/* Runs one-off SQL (pragmas, migrations) that is not worth caching. */
static gboolean
exec_sql (ConfabStore       *self,
          const char        *sql,
          ConfabStoreError   code,
          GError           **error)
{
  int rc = sqlite3_exec (self->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    {
      set_db_error (self, code == CONFAB_STORE_ERROR_OPEN ? open_error_code (rc) : code, error);
      return FALSE;
    }

  return TRUE;
}

/* Reads the single integer row of a pragma or query. */
static gboolean
query_int (ConfabStore  *self,
           const char   *sql,
           gint64       *value,
           GError      **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        {
          *value = sqlite3_column_int64 (stmt, 0);
          rc = SQLITE_OK;
        }
    }

  if (rc != SQLITE_OK)
    set_db_error (self, open_error_code (rc), error);

  sqlite3_finalize (stmt);
  return rc == SQLITE_OK;
}

static gboolean
check_integrity (ConfabStore  *self,
                 GError      **error)
{
  sqlite3_stmt *stmt = NULL;
  const char *result;
  int rc;

  rc = sqlite3_prepare_v2 (self->db, "PRAGMA quick_check (1)", -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step (stmt);

  if (rc != SQLITE_ROW)
    {
      set_db_error (self, open_error_code (rc), error);
      sqlite3_finalize (stmt);
      return FALSE;
    }

  result = (const char *)sqlite3_column_text (stmt, 0);
  if (g_strcmp0 (result, "ok") != 0)
    {
      g_autofree char *display = g_filename_display_name (self->path);

      g_set_error (error, CONFAB_STORE_ERROR, CONFAB_STORE_ERROR_CORRUPT,
                   _("The file “%s” is damaged or is not a Confab database: %s"),
                   display, result != NULL ? result : "");
      sqlite3_finalize (stmt);
      return FALSE;
    }

  sqlite3_finalize (stmt);
  return TRUE;
}

static void
set_file_error (const char  *path,
                int          saved_errno,
                GError     **error)
{
  g_autofree char *display = g_filename_display_name (path);

  g_set_error (error, CONFAB_STORE_ERROR, CONFAB_STORE_ERROR_OPEN,
               _("Could not open the conversation database “%s”: %s"),
               display, g_strerror (saved_errno));
}

/* Makes the folder (0700) and an empty file (0600) if they do not exist yet,
 * so that the file, and the -wal and -shm files SQLite gives the same mode,
 * never exist with a wider mode, whatever the umask. */
static gboolean
prepare_location (const char  *path,
                  GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  GStatBuf st;
  int fd;

  if (!g_file_test (dir, G_FILE_TEST_EXISTS))
    {
      if (g_mkdir_with_parents (dir, 0700) != 0)
        {
          set_file_error (path, errno, error);
          return FALSE;
        }
      g_chmod (dir, 0700);
    }
  else if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      set_file_error (path, ENOTDIR, error);
      return FALSE;
    }

  if (g_stat (path, &st) == 0)
    {
      if (S_ISDIR (st.st_mode))
        {
          set_file_error (path, EISDIR, error);
          return FALSE;
        }
      return TRUE;
    }

  if (errno != ENOENT)
    {
      set_file_error (path, errno, error);
      return FALSE;
    }

  fd = g_open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      /* Someone else made it in between: open theirs. */
      if (errno == EEXIST)
        return TRUE;
      set_file_error (path, errno, error);
      return FALSE;
    }

  if (fchmod (fd, 0600) != 0)
    g_debug ("Could not set the mode of %s: %s", path, g_strerror (errno));
  close (fd);

  return TRUE;
}

/* Copies the file, before a migration, to "<path>.backup-v<version>" (or
 * ".2", ".3"… after it when that exists: an older backup is never replaced).
 * The copy is created private (0600). */
static gboolean
backup_file (ConfabStore  *self,
             int           version,
             GError      **error)
{
  g_autoptr(GFile) source = g_file_new_for_path (self->path);
  g_autoptr(GFileInputStream) in = NULL;
  g_autoptr(GFileOutputStream) out = NULL;
  g_autoptr(GFile) target = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *display = g_filename_display_name (self->path);
  g_autofree char *target_path = NULL;
  gint64 checkpoint_busy = 0;

  /* Bring everything committed into the main file, so that it is all copied. */
  if (!query_int (self, "PRAGMA wal_checkpoint (TRUNCATE)", &checkpoint_busy, error))
    return FALSE;
  if (checkpoint_busy != 0)
    {
      g_set_error (error, CONFAB_STORE_ERROR, CONFAB_STORE_ERROR_OPEN,
                   _("Could not update the conversation database “%s”: "
                     "it is in use by another program"),
                   display);
      return FALSE;
    }

  for (guint i = 1; out == NULL && i < 100; i++)
    {
      g_clear_object (&target);
      g_clear_pointer (&target_path, g_free);
      g_clear_error (&local_error);

      if (i == 1)
        target_path = g_strdup_printf ("%s.backup-v%d", self->path, version);
      else
        target_path = g_strdup_printf ("%s.backup-v%d.%u", self->path, version, i);

      target = g_file_new_for_path (target_path);
      out = g_file_create (target, G_FILE_CREATE_PRIVATE, NULL, &local_error);
      if (out == NULL && !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_EXISTS))
        break;
    }

  if (out != NULL)
    {
      g_chmod (target_path, 0600);
      in = g_file_read (source, NULL, &local_error);
    }

  if (in == NULL ||
      g_output_stream_splice (G_OUTPUT_STREAM (out), G_INPUT_STREAM (in),
                              (G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE |
                               G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET),
                              NULL, &local_error) < 0)
    {
      g_set_error (error, CONFAB_STORE_ERROR, CONFAB_STORE_ERROR_OPEN,
                   _("Could not make a backup of the conversation database “%s” "
                     "before updating it: %s"),
                   display,
                   local_error != NULL ? local_error->message : g_strerror (EEXIST));
      return FALSE;
    }

  g_debug ("Backed up %s to %s before migrating from version %d",
           self->path, target_path, version);

  return TRUE;
}

static gboolean
migrate (ConfabStore  *self,
         int           from_version,
         GError      **error)
{
  for (int version = from_version; version < CURRENT_VERSION; version++)
    {
      g_autofree char *set_version = NULL;

      if (!begin_transaction (self, error))
        return FALSE;

      set_version = g_strdup_printf ("PRAGMA user_version = %d", version + 1);

      if (!exec_sql (self, migrations[version], CONFAB_STORE_ERROR_FAILED, error) ||
          !exec_sql (self, set_version, CONFAB_STORE_ERROR_FAILED, error) ||
          !commit_transaction (self, error))
        {
          rollback_transaction (self);
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
confab_store_open (ConfabStore  *self,
                   GError      **error)
{
  g_autofree char *display = g_filename_display_name (self->path);
  gint64 version = 0;
  gint64 n_objects = 0;
  int rc;

  if (!prepare_location (self->path, error))
    return FALSE;

  rc = sqlite3_open_v2 (self->path, &self->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc != SQLITE_OK)
    {
      set_db_error (self, open_error_code (rc), error);
      return FALSE;
    }

  /* Until the file is known to be ours and readable, closing it must not
   * write to it (a checkpoint on close would). */
  sqlite3_db_config (self->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
  sqlite3_busy_timeout (self->db, 5000);

  if (sqlite3_db_readonly (self->db, "main") == 1)
    {
      g_set_error (error, CONFAB_STORE_ERROR, CONFAB_STORE_ERROR_OPEN,
                   _("Could not open the conversation database “%s”: it cannot be written"),
                   display);
      return FALSE;
    }

  /* Reads only: a file that is not a database fails here, untouched. */
  if (!query_int (self, "PRAGMA user_version", &version, error))
    return FALSE;

  if (version > CURRENT_VERSION || version < 0)
    {
      g_autofree char *version_str = g_strdup_printf ("%" G_GINT64_FORMAT, version);

      g_set_error (error, CONFAB_STORE_ERROR, CONFAB_STORE_ERROR_TOO_NEW,
                   _("The conversation database “%s” was made by a newer version of Confab "
                     "(format %s; this version knows formats up to %d). "
                     "Update Confab to open it."),
                   display, version_str, CURRENT_VERSION);
      return FALSE;
    }

  if (!query_int (self, "SELECT count(*) FROM sqlite_schema", &n_objects, error))
    return FALSE;

  if (version == 0 && n_objects > 0)
    {
      g_set_error (error, CONFAB_STORE_ERROR, CONFAB_STORE_ERROR_CORRUPT,
                   _("The file “%s” is a database, but not a Confab one"),
                   display);
      return FALSE;
    }

  if (n_objects > 0 && !check_integrity (self, error))
    return FALSE;

  if (version > 0 && version < CURRENT_VERSION && !backup_file (self, (int) version, error))
    return FALSE;

  /* WAL with synchronous=NORMAL: a commit is in the -wal file (in the
   * kernel's page cache) when it returns, so it survives Confab being killed
   * at any point; only an OS crash or power cut may lose the last commits,
   * and never corrupts the file. */
  if (!exec_sql (self, "PRAGMA journal_mode = WAL", CONFAB_STORE_ERROR_OPEN, error) ||
      !exec_sql (self,
                 "PRAGMA synchronous = NORMAL;"
                 "PRAGMA foreign_keys = ON;"
                 "PRAGMA journal_size_limit = 8388608;",
                 CONFAB_STORE_ERROR_OPEN, error))
    return FALSE;

  if (version < CURRENT_VERSION && !migrate (self, (int) version, error))
    return FALSE;

  /* Confab was killed while these streamed: what arrived is all there is.
   * (The state change also indexes their text for search.) */
  {
    g_autofree char *sql =
      g_strdup_printf ("UPDATE messages SET state = %d, updated_at = %" G_GINT64_FORMAT
                       " WHERE state = %d",
                       CONFAB_MESSAGE_STATE_INTERRUPTED, g_get_real_time (),
                       CONFAB_MESSAGE_STATE_STREAMING);

    if (!exec_sql (self, sql, CONFAB_STORE_ERROR_FAILED, error))
      return FALSE;
  }

  sqlite3_db_config (self->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL);

  return TRUE;
}

static void
confab_store_finalize (GObject *object)
{
  ConfabStore *self = (ConfabStore *)object;

  for (guint i = 0; i < N_STATEMENTS; i++)
    g_clear_pointer (&self->statements[i], sqlite3_finalize);

  if (self->db != NULL)
    {
      if (sqlite3_close (self->db) != SQLITE_OK)
        g_warning ("Could not close %s: %s", self->path, sqlite3_errmsg (self->db));
      self->db = NULL;
    }

  g_clear_pointer (&self->path, g_free);

  G_OBJECT_CLASS (confab_store_parent_class)->finalize (object);
}

static void
confab_store_class_init (ConfabStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = confab_store_finalize;
}

static void
confab_store_init (ConfabStore *self)
{
}

/**
 * confab_store_dup_default_path:
 *
 * Returns: (transfer full): $XDG_DATA_HOME/confab/confab.db
 */
char *
confab_store_dup_default_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "confab", "confab.db", NULL);
}

/**
 * confab_store_new:
 * @path: the database file; made (with its folder) if missing
 * @error: return location for a #CONFAB_STORE_ERROR
 *
 * Opens the database, migrating it to the current schema (after copying the
 * file to "<path>.backup-v<old version>"). A file that cannot be read fails
 * with %CONFAB_STORE_ERROR_OPEN, %CONFAB_STORE_ERROR_CORRUPT or
 * %CONFAB_STORE_ERROR_TOO_NEW and is left as it was.
 *
 * Returns: (transfer full) (nullable): the store
 */
ConfabStore *
confab_store_new (const char  *path,
                  GError     **error)
{
  g_autoptr(ConfabStore) self = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (CONFAB_TYPE_STORE, NULL);
  self->path = g_strdup (path);

  if (!confab_store_open (self, error))
    return NULL;

  return g_steal_pointer (&self);
}

const char *
confab_store_get_path (ConfabStore *self)
{
  g_return_val_if_fail (CONFAB_IS_STORE (self), NULL);

  return self->path;
}

/**
 * confab_store_list_conversations:
 * @self: a #ConfabStore
 * @error: return location for an error
 *
 * Summaries for the sidebar, newest activity first, with their message count
 * and no messages loaded. Conversations marked deleted are left out.
 *
 * Returns: (transfer full) (element-type ConfabConversation) (nullable):
 */
GPtrArray *
confab_store_list_conversations (ConfabStore  *self,
                                 GError      **error)
{
  g_autoptr(GPtrArray) conversations = NULL;
  g_auto (StmtRef) stmt = NULL;
  int rc;

  g_return_val_if_fail (CONFAB_IS_STORE (self), NULL);

  stmt = get_statement (self, STMT_LIST_CONVERSATIONS, error);
  if (stmt == NULL)
    return NULL;

  conversations = g_ptr_array_new_with_free_func (g_object_unref);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      ConfabConversation *conversation = confab_conversation_new ();
      gint64 count = sqlite3_column_int64 (stmt, 8);

      confab_conversation_set_id (conversation, sqlite3_column_int64 (stmt, 0));
      confab_conversation_set_title (conversation,
                                     (const char *)sqlite3_column_text (stmt, 1));
      confab_conversation_set_title_locked (conversation, sqlite3_column_int (stmt, 2) != 0);
      confab_conversation_set_model (conversation,
                                     (const char *)sqlite3_column_text (stmt, 3));
      confab_conversation_set_temperature (conversation, sqlite3_column_double (stmt, 4));
      confab_conversation_set_system_message (conversation,
                                              (const char *)sqlite3_column_text (stmt, 5));
      confab_conversation_set_created_at (conversation, sqlite3_column_int64 (stmt, 6));
      confab_conversation_set_updated_at (conversation, sqlite3_column_int64 (stmt, 7));
      confab_conversation_set_message_count (conversation, (guint) CLAMP (count, 0, G_MAXUINT));
      confab_conversation_set_messages_loaded (conversation, FALSE);

      g_ptr_array_add (conversations, conversation);
    }

  if (rc != SQLITE_DONE)
    {
      set_db_error (self, CONFAB_STORE_ERROR_FAILED, error);
      return NULL;
    }

  return g_steal_pointer (&conversations);
}

/* Turns what a person typed into an FTS5 query that cannot be a syntax error:
 * each whitespace-separated word becomes a quoted phrase (quotes doubled), the
 * last one a prefix, all of them required. Words with no letter or digit
 * could never match a token and are dropped. Returns NULL when nothing is left. */
static char *
build_match_query (const char *text)
{
  g_autoptr(GString) query = g_string_new (NULL);
  g_auto(GStrv) words = NULL;
  guint n_terms = 0;

  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    return NULL;

  words = g_strsplit_set (text, " \t\n\r\f\v", -1);

  for (guint i = 0; words[i] != NULL && n_terms < MAX_SEARCH_TERMS; i++)
    {
      gboolean has_alnum = FALSE;

      for (const char *p = words[i]; *p != '\0'; p = g_utf8_next_char (p))
        {
          if (g_unichar_isalnum (g_utf8_get_char (p)))
            {
              has_alnum = TRUE;
              break;
            }
        }

      if (!has_alnum)
        continue;

      if (query->len > 0)
        g_string_append_c (query, ' ');

      g_string_append_c (query, '"');
      for (const char *p = words[i]; *p != '\0'; p++)
        {
          if (*p == '"')
            g_string_append_c (query, '"');
          g_string_append_c (query, *p);
        }
      g_string_append_c (query, '"');
      n_terms++;
    }

  if (n_terms == 0)
    return NULL;

  /* The last word may still be being typed. */
  g_string_append_c (query, '*');

  return g_string_free (g_steal_pointer (&query), FALSE);
}

/**
 * confab_store_search:
 * @self: a #ConfabStore
 * @query: what the person typed (any text)
 * @error: return location for an error
 *
 * Returns: (transfer full) (element-type gint64) (nullable): ids of the
 *   conversations (not marked deleted) whose title or messages match every
 *   word of @query, best first; empty for an empty query
 */
GArray *
confab_store_search (ConfabStore  *self,
                     const char   *query,
                     GError      **error)
{
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree char *match = NULL;
  g_auto (StmtRef) stmt = NULL;
  int rc;

  g_return_val_if_fail (CONFAB_IS_STORE (self), NULL);

  match = build_match_query (query);
  if (match == NULL)
    return g_steal_pointer (&ids);

  stmt = get_statement (self, STMT_SEARCH, error);
  if (stmt == NULL)
    return NULL;

  if (sqlite3_bind_text (stmt, 1, match, -1, SQLITE_STATIC) != SQLITE_OK)
    {
      set_db_error (self, CONFAB_STORE_ERROR_FAILED, error);
      return NULL;
    }

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);

      g_array_append_val (ids, id);
    }

  if (rc != SQLITE_DONE)
    {
      set_db_error (self, CONFAB_STORE_ERROR_FAILED, error);
      return NULL;
    }

  return g_steal_pointer (&ids);
}

/* Binds title, title_locked, model, temperature and system_message to the
 * parameters @first to @first + 4. */
static gboolean
bind_conversation_fields (sqlite3_stmt       *stmt,
                          int                 first,
                          ConfabConversation *conversation)
{
  return sqlite3_bind_text (stmt, first, confab_conversation_get_title (conversation), -1,
                            SQLITE_STATIC) == SQLITE_OK &&
         sqlite3_bind_int (stmt, first + 1,
                           confab_conversation_get_title_locked (conversation)) == SQLITE_OK &&
         sqlite3_bind_text (stmt, first + 2, confab_conversation_get_model (conversation), -1,
                            SQLITE_STATIC) == SQLITE_OK &&
         sqlite3_bind_double (stmt, first + 3,
                              confab_conversation_get_temperature (conversation)) == SQLITE_OK &&
         sqlite3_bind_text (stmt, first + 4,
                            confab_conversation_get_system_message (conversation), -1,
                            SQLITE_STATIC) == SQLITE_OK;
}

/**
 * confab_store_insert_conversation:
 * @self: a #ConfabStore
 * @conversation: a conversation not stored yet
 * @error: return location for an error
 *
 * Stores @conversation and sets its id.
 *
 * Returns: %TRUE on success
 */
gboolean
confab_store_insert_conversation (ConfabStore         *self,
                                  ConfabConversation  *conversation,
                                  GError             **error)
{
  g_auto (StmtRef) stmt = NULL;
  gint64 created_at;
  gint64 updated_at;

  g_return_val_if_fail (CONFAB_IS_STORE (self), FALSE);
  g_return_val_if_fail (CONFAB_IS_CONVERSATION (conversation), FALSE);

  created_at = confab_conversation_get_created_at (conversation);
  if (created_at <= 0)
    {
      created_at = g_get_real_time ();
      confab_conversation_set_created_at (conversation, created_at);
    }

  updated_at = confab_conversation_get_updated_at (conversation);
  if (updated_at <= 0)
    {
      updated_at = created_at;
      confab_conversation_set_updated_at (conversation, updated_at);
    }

  stmt = get_statement (self, STMT_INSERT_CONVERSATION, error);
  if (stmt == NULL)
    return FALSE;

  if (!bind_conversation_fields (stmt, 1, conversation) ||
      sqlite3_bind_int64 (stmt, 6, created_at) != SQLITE_OK ||
      sqlite3_bind_int64 (stmt, 7, updated_at) != SQLITE_OK ||
      sqlite3_step (stmt) != SQLITE_DONE)
    {
      set_db_error (self, CONFAB_STORE_ERROR_FAILED, error);
      return FALSE;
    }

  confab_conversation_set_id (conversation, sqlite3_last_insert_rowid (self->db));

  return TRUE;
}

typedef enum
{
  ROW_CONVERSATION,
  ROW_MESSAGE,
} RowKind;

/* After an UPDATE by id: fails when there was no such row. */
static gboolean
check_row_changed (ConfabStore  *self,
                   RowKind       kind,
                   gint64        id,
                   GError      **error)
{
  g_autofree char *display = NULL;
  g_autofree char *id_str = NULL;

  if (sqlite3_changes (self->db) > 0)
    return TRUE;

  display = g_filename_display_name (self->path);
  id_str = g_strdup_printf ("%" G_GINT64_FORMAT, id);

  if (kind == ROW_CONVERSATION)
    g_set_error (error, CONFAB_STORE_ERROR, CONFAB_STORE_ERROR_FAILED,
                 _("The conversation database “%s” has no conversation number %s"),
                 display, id_str);
  else
    g_set_error (error, CONFAB_STORE_ERROR, CONFAB_STORE_ERROR_FAILED,
                 _("The conversation database “%s” has no message number %s"),
                 display, id_str);

  return FALSE;
}

/**
 * confab_store_update_conversation:
 * @self: a #ConfabStore
 * @conversation: a stored conversation
 * @error: return location for an error
 *
 * Writes the title, title lock, model, temperature, system message and
 * updated-at time of @conversation.
 *
 * Returns: %TRUE on success
 */
gboolean
confab_store_update_conversation (ConfabStore         *self,
                                  ConfabConversation  *conversation,
                                  GError             **error)
{
  g_auto (StmtRef) stmt = NULL;
  gint64 id;

  g_return_val_if_fail (CONFAB_IS_STORE (self), FALSE);
  g_return_val_if_fail (CONFAB_IS_CONVERSATION (conversation), FALSE);

  id = confab_conversation_get_id (conversation);

  stmt = get_statement (self, STMT_UPDATE_CONVERSATION, error);
  if (stmt == NULL)
    return FALSE;

  if (sqlite3_bind_int64 (stmt, 1, id) != SQLITE_OK ||
      !bind_conversation_fields (stmt, 2, conversation) ||
      sqlite3_bind_int64 (stmt, 7,
                          confab_conversation_get_updated_at (conversation)) != SQLITE_OK ||
      sqlite3_step (stmt) != SQLITE_DONE)
    {
      set_db_error (self, CONFAB_STORE_ERROR_FAILED, error);
      return FALSE;
    }

  return check_row_changed (self, ROW_CONVERSATION, id, error);
}

/**
 * confab_store_set_conversation_deleted:
 * @self: a #ConfabStore
 * @conversation_id: a stored conversation
 * @deleted: whether it is marked deleted
 * @error: return location for an error
 *
 * Marks a conversation deleted (it leaves the list and search results) or
 * takes the mark off again. Nothing is removed until
 * confab_store_purge_deleted().
 *
 * Returns: %TRUE on success
 */
gboolean
confab_store_set_conversation_deleted (ConfabStore  *self,
                                       gint64        conversation_id,
                                       gboolean      deleted,
                                       GError      **error)
{
  g_auto (StmtRef) stmt = NULL;
  int rc;

  g_return_val_if_fail (CONFAB_IS_STORE (self), FALSE);

  stmt = get_statement (self, STMT_SET_DELETED, error);
  if (stmt == NULL)
    return FALSE;

  rc = sqlite3_bind_int64 (stmt, 1, conversation_id);
  if (rc == SQLITE_OK)
    rc = deleted
      ? sqlite3_bind_int64 (stmt, 2, g_get_real_time ())
      : sqlite3_bind_null (stmt, 2);

  if (rc != SQLITE_OK || sqlite3_step (stmt) != SQLITE_DONE)
    {
      set_db_error (self, CONFAB_STORE_ERROR_FAILED, error);
      return FALSE;
    }

  return check_row_changed (self, ROW_CONVERSATION, conversation_id, error);
}

/**
 * confab_store_purge_deleted:
 * @self: a #ConfabStore
 * @error: return location for an error
 *
 * Removes for good the conversations marked deleted, with their messages.
 *
 * Returns: %TRUE on success
 */
gboolean
confab_store_purge_deleted (ConfabStore  *self,
                            GError      **error)
{
  g_return_val_if_fail (CONFAB_IS_STORE (self), FALSE);

  return run_statement (self, STMT_PURGE_DELETED, error);
}

/**
 * confab_store_insert_message:
 * @self: a #ConfabStore
 * @message: a message with its conversation id set
 * @error: return location for an error
 *
 * Stores @message, sets its id and bumps the activity time of its
 * conversation, in one transaction committed when this returns.
 *
 * Returns: %TRUE on success
 */
gboolean
confab_store_insert_message (ConfabStore    *self,
                             ConfabMessage  *message,
                             GError        **error)
{
  gint64 conversation_id;
  gint64 prompt_tokens;
  gint64 completion_tokens;
  gint64 now = g_get_real_time ();
  gint64 created_at;
  gint64 id;

  g_return_val_if_fail (CONFAB_IS_STORE (self), FALSE);
  g_return_val_if_fail (CONFAB_IS_MESSAGE (message), FALSE);
  g_return_val_if_fail (confab_message_get_conversation_id (message) > 0, FALSE);

  conversation_id = confab_message_get_conversation_id (message);
  confab_message_get_usage (message, &prompt_tokens, &completion_tokens);

  created_at = confab_message_get_created_at (message);
  if (created_at <= 0)
    {
      created_at = now;
      confab_message_set_created_at (message, created_at);
    }

  if (!begin_transaction (self, error))
    return FALSE;

  {
    g_auto (StmtRef) stmt = get_statement (self, STMT_INSERT_MESSAGE, error);

    if (stmt == NULL)
      goto failed;

    if (sqlite3_bind_int64 (stmt, 1, conversation_id) != SQLITE_OK ||
        sqlite3_bind_text (stmt, 2, confab_role_to_string (confab_message_get_role (message)), -1,
                           SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text (stmt, 3, confab_message_get_content (message),
                           (int) MIN (confab_message_get_content_length (message), G_MAXINT),
                           SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text (stmt, 4, confab_message_get_reasoning (message), -1,
                           SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int (stmt, 5, confab_message_get_state (message)) != SQLITE_OK ||
        sqlite3_bind_text (stmt, 6, confab_message_get_error (message), -1,
                           SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text (stmt, 7, confab_message_get_error_kind (message), -1,
                           SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text (stmt, 8, confab_message_get_model (message), -1,
                           SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text (stmt, 9, confab_message_get_finish_reason (message), -1,
                           SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64 (stmt, 10, prompt_tokens) != SQLITE_OK ||
        sqlite3_bind_int64 (stmt, 11, completion_tokens) != SQLITE_OK ||
        sqlite3_bind_int64 (stmt, 12, created_at) != SQLITE_OK ||
        sqlite3_bind_int64 (stmt, 13, now) != SQLITE_OK ||
        sqlite3_step (stmt) != SQLITE_DONE)
      {
        set_db_error (self, CONFAB_STORE_ERROR_FAILED, error);
        goto failed;
      }

    id = sqlite3_last_insert_rowid (self->db);
  }

  {
    g_auto (StmtRef) stmt = get_statement (self, STMT_TOUCH_CONVERSATION, error);

    if (stmt == NULL)
      goto failed;

    if (sqlite3_bind_int64 (stmt, 1, conversation_id) != SQLITE_OK ||
        sqlite3_bind_int64 (stmt, 2, now) != SQLITE_OK ||
        sqlite3_step (stmt) != SQLITE_DONE)
      {
        set_db_error (self, CONFAB_STORE_ERROR_FAILED, error);
        goto failed;
      }
  }

  if (!commit_transaction (self, error))
    return FALSE;

  confab_message_set_id (message, id);

  return TRUE;

failed:
  rollback_transaction (self);
  return FALSE;
}

/**
 * confab_store_update_message:
 * @self: a #ConfabStore
 * @message: a stored message
 * @error: return location for an error
 *
 * Writes the content, reasoning, state, error and its kind, model, finish
 * reason and usage of @message; committed when this returns. Cheap enough to
 * call about once a second while a reply streams: its text is only indexed
 * for search once the state leaves streaming.
 *
 * Returns: %TRUE on success
 */
gboolean
confab_store_update_message (ConfabStore    *self,
                             ConfabMessage  *message,
                             GError        **error)
{
  g_auto (StmtRef) stmt = NULL;
  gint64 prompt_tokens;
  gint64 completion_tokens;
  gint64 id;

  g_return_val_if_fail (CONFAB_IS_STORE (self), FALSE);
  g_return_val_if_fail (CONFAB_IS_MESSAGE (message), FALSE);

  id = confab_message_get_id (message);
  confab_message_get_usage (message, &prompt_tokens, &completion_tokens);

  stmt = get_statement (self, STMT_UPDATE_MESSAGE, error);
  if (stmt == NULL)
    return FALSE;

  if (sqlite3_bind_int64 (stmt, 1, id) != SQLITE_OK ||
      sqlite3_bind_text (stmt, 2, confab_message_get_content (message),
                         (int) MIN (confab_message_get_content_length (message), G_MAXINT),
                         SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_text (stmt, 3, confab_message_get_reasoning (message), -1,
                         SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_int (stmt, 4, confab_message_get_state (message)) != SQLITE_OK ||
      sqlite3_bind_text (stmt, 5, confab_message_get_error (message), -1,
                         SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_text (stmt, 6, confab_message_get_error_kind (message), -1,
                         SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_text (stmt, 7, confab_message_get_model (message), -1,
                         SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_text (stmt, 8, confab_message_get_finish_reason (message), -1,
                         SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_int64 (stmt, 9, prompt_tokens) != SQLITE_OK ||
      sqlite3_bind_int64 (stmt, 10, completion_tokens) != SQLITE_OK ||
      sqlite3_bind_int64 (stmt, 11, g_get_real_time ()) != SQLITE_OK ||
      sqlite3_step (stmt) != SQLITE_DONE)
    {
      set_db_error (self, CONFAB_STORE_ERROR_FAILED, error);
      return FALSE;
    }

  return check_row_changed (self, ROW_MESSAGE, id, error);
}

static ConfabMessage *
message_from_row (sqlite3_stmt *stmt)
{
  ConfabMessage *message;
  ConfabRole role;
  int state = sqlite3_column_int (stmt, 5);

  role = confab_role_from_string ((const char *)sqlite3_column_text (stmt, 2));
  message = confab_message_new (role, (const char *)sqlite3_column_text (stmt, 3));
  confab_message_set_id (message, sqlite3_column_int64 (stmt, 0));
  confab_message_set_conversation_id (message, sqlite3_column_int64 (stmt, 1));
  confab_message_set_reasoning (message, (const char *)sqlite3_column_text (stmt, 4));

  /* A state from a newer Confab that this one does not know. */
  if (state < CONFAB_MESSAGE_STATE_COMPLETE || state > CONFAB_MESSAGE_STATE_ERROR)
    state = CONFAB_MESSAGE_STATE_COMPLETE;
  confab_message_set_state (message, state);

  confab_message_set_error (message, (const char *)sqlite3_column_text (stmt, 6));
  confab_message_set_error_kind (message, (const char *)sqlite3_column_text (stmt, 7));
  confab_message_set_model (message, (const char *)sqlite3_column_text (stmt, 8));
  confab_message_set_finish_reason (message, (const char *)sqlite3_column_text (stmt, 9));
  confab_message_set_usage (message,
                            sqlite3_column_int64 (stmt, 10),
                            sqlite3_column_int64 (stmt, 11));
  confab_message_set_created_at (message, sqlite3_column_int64 (stmt, 12));

  return message;
}

/**
 * confab_store_load_messages:
 * @self: a #ConfabStore
 * @conversation_id: a stored conversation
 * @before_id: only messages with a smaller id, or 0 for the newest
 * @limit: how many at most
 * @error: return location for an error
 *
 * The newest @limit messages of a conversation older than @before_id, for
 * loading a long conversation page by page going back.
 *
 * Returns: (transfer full) (element-type ConfabMessage) (nullable): the
 *   messages, oldest first
 */
GPtrArray *
confab_store_load_messages (ConfabStore  *self,
                            gint64        conversation_id,
                            gint64        before_id,
                            guint         limit,
                            GError      **error)
{
  g_autoptr(GPtrArray) messages = NULL;
  g_auto (StmtRef) stmt = NULL;
  int rc;

  g_return_val_if_fail (CONFAB_IS_STORE (self), NULL);

  stmt = get_statement (self, STMT_LOAD_MESSAGES, error);
  if (stmt == NULL)
    return NULL;

  if (sqlite3_bind_int64 (stmt, 1, conversation_id) != SQLITE_OK ||
      sqlite3_bind_int64 (stmt, 2, before_id > 0 ? before_id : G_MAXINT64) != SQLITE_OK ||
      sqlite3_bind_int64 (stmt, 3, limit) != SQLITE_OK)
    {
      set_db_error (self, CONFAB_STORE_ERROR_FAILED, error);
      return NULL;
    }

  messages = g_ptr_array_new_full (MIN (limit, 256), g_object_unref);

  /* Newest first from the index, turned around below. */
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (messages, message_from_row (stmt));

  if (rc != SQLITE_DONE)
    {
      set_db_error (self, CONFAB_STORE_ERROR_FAILED, error);
      return NULL;
    }

  for (guint i = 0, j = messages->len; i + 1 < j; i++, j--)
    {
      gpointer tmp = messages->pdata[i];

      messages->pdata[i] = messages->pdata[j - 1];
      messages->pdata[j - 1] = tmp;
    }

  return g_steal_pointer (&messages);
}

/* Renames @from to @to unless @to exists; FALSE with errno set otherwise. */
static gboolean
rename_no_replace (const char *from,
                   const char *to)
{
  if (g_file_test (to, G_FILE_TEST_EXISTS))
    {
      errno = EEXIST;
      return FALSE;
    }

  return g_rename (from, to) == 0;
}

/**
 * confab_store_move_aside:
 * @path: a database file that could not be opened
 * @error: return location for an error
 *
 * Renames the file (with its -wal, -shm and -journal files, which belong to
 * it) to "<path>.broken-YYYYMMDD-HHMMSS", so that a new database can be made
 * at @path while the old one is kept for recovery. Never deletes anything.
 *
 * Returns: (transfer full) (nullable): the new path
 */
char *
confab_store_move_aside (const char  *path,
                         GError     **error)
{
  static const char * const companions[] = { "-wal", "-shm", "-journal" };
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  g_autofree char *display = NULL;
  g_autofree char *new_path = NULL;
  int saved_errno = 0;

  g_return_val_if_fail (path != NULL, NULL);

  display = g_filename_display_name (path);

  for (guint i = 1; i < 100; i++)
    {
      g_free (new_path);
      if (i == 1)
        new_path = g_strdup_printf ("%s.broken-%s", path, stamp);
      else
        new_path = g_strdup_printf ("%s.broken-%s.%u", path, stamp, i);

      if (rename_no_replace (path, new_path))
        break;

      saved_errno = errno;
      g_clear_pointer (&new_path, g_free);
      if (saved_errno != EEXIST)
        break;
    }

  if (new_path == NULL)
    {
      g_set_error (error, CONFAB_STORE_ERROR, CONFAB_STORE_ERROR_FAILED,
                   _("Could not move the conversation database “%s” aside: %s"),
                   display, g_strerror (saved_errno));
      return NULL;
    }

  /* A -wal file left behind would be applied to the next database made at
   * @path, so they move with it. */
  for (guint i = 0; i < G_N_ELEMENTS (companions); i++)
    {
      g_autofree char *from = g_strconcat (path, companions[i], NULL);
      g_autofree char *to = g_strconcat (new_path, companions[i], NULL);

      if (!g_file_test (from, G_FILE_TEST_EXISTS))
        continue;

      if (!rename_no_replace (from, to))
        {
          g_autofree char *from_display = g_filename_display_name (from);

          saved_errno = errno;
          g_set_error (error, CONFAB_STORE_ERROR, CONFAB_STORE_ERROR_FAILED,
                       _("Could not move the conversation database “%s” aside: %s"),
                       from_display, g_strerror (saved_errno));
          return NULL;
        }
    }

  return g_steal_pointer (&new_path);
}
