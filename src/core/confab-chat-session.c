/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-chat-session"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "confab-chat-session.h"

/* How often a streaming reply is written to disk. A kill loses at most this much. */
#define CHECKPOINT_INTERVAL_MS 1000
/* How many characters of the first user message a title takes. */
#define TITLE_MAX_CHARS 60
/* Automatic attempts at one reply, the first included. */
#define MAX_ATTEMPTS 3
/* The first backoff; it doubles with each attempt, plus up to half again of jitter. */
#define BACKOFF_BASE_MS 1000
/* A server that asks for a longer wait gets a person's decision, not a timer. */
#define MAX_AUTO_WAIT_MS (5 * 60 * 1000)

typedef struct
{
  gatomicrefcount     ref_count;
  ConfabChatSession  *session;       /* borrowed; NULL once the session let go of the turn */
  ConfabConversation *conversation;
  ConfabMessage      *assistant;
  ConfabProvider     *provider;
  ConfabStreamResult *result;
  GCancellable       *cancellable;
  GPtrArray          *history;       /* ConfabMessage sent with the request */
  GError             *last_error;    /* of the attempt that is waiting to be retried */
  gsize               content_seen;
  gsize               reasoning_seen;
  guint               checkpoint_source;
  guint               retry_source;
  guint               attempt;        /* 1 for the first request */
  guint               dirty : 1;
} Turn;

struct _ConfabChatSession
{
  GObject         parent_instance;

  ConfabStore    *store;
  ConfabProvider *provider;

  /* ConfabConversation → Turn */
  GHashTable     *turns;
};

G_DEFINE_FINAL_TYPE (ConfabChatSession, confab_chat_session, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PROVIDER,
  N_PROPS
};

enum {
  TURN_STARTED,
  TURN_FINISHED,
  STORE_FAILED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static Turn *
turn_ref (Turn *turn)
{
  g_atomic_ref_count_inc (&turn->ref_count);
  return turn;
}

static void
turn_unref (Turn *turn)
{
  if (!g_atomic_ref_count_dec (&turn->ref_count))
    return;

  g_clear_object (&turn->conversation);
  g_clear_object (&turn->assistant);
  g_clear_object (&turn->provider);
  g_clear_object (&turn->cancellable);
  g_clear_error (&turn->last_error);
  g_clear_pointer (&turn->history, g_ptr_array_unref);
  g_clear_pointer (&turn->result, confab_stream_result_free);
  g_free (turn);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Turn, turn_unref)

/* The session lets go of a turn: stop its request and its timer. The request's
 * callback still holds a reference and finds turn->session NULL. */
static void
turn_detach (Turn *turn)
{
  turn->session = NULL;
  g_cancellable_cancel (turn->cancellable);
  g_clear_handle_id (&turn->checkpoint_source, g_source_remove);
  g_clear_handle_id (&turn->retry_source, g_source_remove);
  confab_message_set_retry (turn->assistant, 0, 0);
  turn_unref (turn);
}

static void
report_store_error (ConfabChatSession *self,
                    const GError      *error)
{
  g_warning ("Could not write to the database: %s", error->message);
  g_signal_emit (self, signals[STORE_FAILED], 0, error);
}

static void
save_message (ConfabChatSession *self,
              ConfabMessage     *message)
{
  g_autoptr(GError) error = NULL;

  if (!confab_store_update_message (self->store, message, &error))
    report_store_error (self, error);
}

static gboolean
checkpoint_cb (gpointer user_data)
{
  Turn *turn = user_data;

  if (turn->dirty && turn->session != NULL)
    {
      turn->dirty = FALSE;
      save_message (turn->session, turn->assistant);
    }

  return G_SOURCE_CONTINUE;
}

/* Copies what is new in the result into the assistant message. */
static void
turn_progress_cb (ConfabStreamResult *result,
                  gpointer            user_data)
{
  Turn *turn = user_data;

  if (result->content->len > turn->content_seen)
    {
      confab_message_append_content (turn->assistant,
                                     result->content->str + turn->content_seen,
                                     result->content->len - turn->content_seen);
      turn->content_seen = result->content->len;
      turn->dirty = TRUE;
    }

  if (result->reasoning->len > turn->reasoning_seen)
    {
      confab_message_append_reasoning (turn->assistant,
                                       result->reasoning->str + turn->reasoning_seen,
                                       result->reasoning->len - turn->reasoning_seen);
      turn->reasoning_seen = result->reasoning->len;
      turn->dirty = TRUE;
    }

  if (result->model != NULL)
    confab_message_set_model (turn->assistant, result->model);

  if (result->prompt_tokens >= 0 || result->completion_tokens >= 0)
    confab_message_set_usage (turn->assistant, result->prompt_tokens, result->completion_tokens);
}

static const char *
error_kind_for (const GError *error)
{
  if (error->domain != CONFAB_PROVIDER_ERROR)
    return "network";

  switch ((ConfabProviderError) error->code)
    {
    case CONFAB_PROVIDER_ERROR_UNAUTHORIZED:
      return "auth";
    case CONFAB_PROVIDER_ERROR_FORBIDDEN:
      return "forbidden";
    case CONFAB_PROVIDER_ERROR_NOT_FOUND:
      return "not-found";
    case CONFAB_PROVIDER_ERROR_RATE_LIMITED:
      return "rate-limit";
    case CONFAB_PROVIDER_ERROR_SERVER:
      return "server";
    case CONFAB_PROVIDER_ERROR_BAD_REQUEST:
      return "bad-request";
    case CONFAB_PROVIDER_ERROR_TIMEOUT:
      return "timeout";
    case CONFAB_PROVIDER_ERROR_INTERRUPTED:
      return "interrupted";
    case CONFAB_PROVIDER_ERROR_STREAM:
      return "stream";
    case CONFAB_PROVIDER_ERROR_TOO_LARGE:
      return "too-large";
    case CONFAB_PROVIDER_ERROR_NO_URL:
      return "no-url";
    case CONFAB_PROVIDER_ERROR_TLS:
      return "tls";
    case CONFAB_PROVIDER_ERROR_CONNECTION_REFUSED:
    case CONFAB_PROVIDER_ERROR_HOST_NOT_FOUND:
    case CONFAB_PROVIDER_ERROR_NETWORK:
    case CONFAB_PROVIDER_ERROR_INVALID_RESPONSE:
    default:
      return "network";
    }
}

/* Ends the turn: the message gets its final state, on screen and on disk. */
static void
turn_finalize (Turn         *turn,
               gboolean      ok,
               const GError *error)
{
  g_autoptr(ConfabChatSession) self = g_object_ref (turn->session);
  g_autoptr(ConfabConversation) conversation = g_object_ref (turn->conversation);
  g_autoptr(ConfabMessage) assistant = g_object_ref (turn->assistant);
  g_autoptr(GError) store_error = NULL;
  ConfabStreamResult *result = turn->result;

  confab_message_set_retry (assistant, 0, 0);
  confab_message_set_finish_reason (assistant, result->finish_reason);

  if (ok)
    {
      /* A refusal is what the model said in place of an answer: show it. */
      if (confab_message_get_content_length (assistant) == 0 && result->refusal->len > 0)
        confab_message_set_content (assistant, result->refusal->str);
      confab_message_set_error (assistant, NULL);
      confab_message_set_error_kind (assistant, NULL);
      confab_message_set_state (assistant, CONFAB_MESSAGE_STATE_COMPLETE);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      confab_message_set_state (assistant, CONFAB_MESSAGE_STATE_STOPPED);
    }
  else
    {
      gboolean partial = confab_message_get_content_length (assistant) > 0;

      confab_message_set_error (assistant, error->message);
      confab_message_set_error_kind (assistant, error_kind_for (error));
      confab_message_set_state (assistant,
                                partial ? CONFAB_MESSAGE_STATE_INTERRUPTED
                                        : CONFAB_MESSAGE_STATE_ERROR);
    }

  save_message (self, assistant);

  confab_conversation_set_updated_at (conversation, g_get_real_time ());
  if (!confab_store_update_conversation (self->store, conversation, &store_error))
    report_store_error (self, store_error);

  g_hash_table_remove (self->turns, conversation);

  g_signal_emit (self, signals[TURN_FINISHED], 0, conversation, assistant);
}

/* Rate limits, overloaded servers and dropped connections pass; a bad key
 * or an unknown model do not. Only a reply that has not begun is retried. */
static gboolean
is_retryable (const Turn   *turn,
              const GError *error)
{
  if (turn->content_seen > 0 || turn->reasoning_seen > 0)
    return FALSE;

  if (error == NULL || error->domain != CONFAB_PROVIDER_ERROR)
    return FALSE;

  switch ((ConfabProviderError) error->code)
    {
    case CONFAB_PROVIDER_ERROR_RATE_LIMITED:
    case CONFAB_PROVIDER_ERROR_NETWORK:
    case CONFAB_PROVIDER_ERROR_TIMEOUT:
    case CONFAB_PROVIDER_ERROR_INTERRUPTED:
      return TRUE;

    case CONFAB_PROVIDER_ERROR_SERVER:
      return turn->result->http_status == 0 ||
             turn->result->http_status == 500 || turn->result->http_status == 502 ||
             turn->result->http_status == 503 || turn->result->http_status == 504;

    case CONFAB_PROVIDER_ERROR_UNAUTHORIZED:
    case CONFAB_PROVIDER_ERROR_FORBIDDEN:
    case CONFAB_PROVIDER_ERROR_NOT_FOUND:
    case CONFAB_PROVIDER_ERROR_BAD_REQUEST:
    case CONFAB_PROVIDER_ERROR_CONNECTION_REFUSED:
    case CONFAB_PROVIDER_ERROR_HOST_NOT_FOUND:
    case CONFAB_PROVIDER_ERROR_TLS:
    case CONFAB_PROVIDER_ERROR_STREAM:
    case CONFAB_PROVIDER_ERROR_TOO_LARGE:
    case CONFAB_PROVIDER_ERROR_INVALID_RESPONSE:
    case CONFAB_PROVIDER_ERROR_NO_URL:
    default:
      return FALSE;
    }
}

/* How long to wait before @attempt: what the server asked for, else
 * exponential backoff with jitter. -1 when the server asks too much. */
static gint64
retry_delay_ms (const Turn *turn,
                guint       attempt)
{
  gint64 backoff;

  if (turn->result->retry_after_ms >= 0)
    return turn->result->retry_after_ms <= MAX_AUTO_WAIT_MS ? turn->result->retry_after_ms : -1;

  backoff = (gint64) BACKOFF_BASE_MS << (attempt - 2);
  return backoff + g_random_int_range (0, (gint32) (backoff / 2) + 1);
}

static void turn_request (Turn *turn);

static gboolean
retry_cb (gpointer user_data)
{
  Turn *turn = user_data;

  turn->retry_source = 0;
  turn_request (turn);

  return G_SOURCE_REMOVE;
}

static void
turn_finished_cb (GObject      *object,
                  GAsyncResult *async_result,
                  gpointer      user_data)
{
  g_autoptr(Turn) turn = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = confab_provider_stream_chat_finish (CONFAB_PROVIDER (object), async_result, &error);

  if (turn->session == NULL)
    return;

  turn_progress_cb (turn->result, turn);

  if (!ok && turn->attempt < MAX_ATTEMPTS && is_retryable (turn, error))
    {
      gint64 delay = retry_delay_ms (turn, turn->attempt + 1);

      if (delay >= 0)
        {
          g_clear_error (&turn->last_error);
          turn->last_error = g_error_copy (error);
          turn->retry_source = g_timeout_add ((guint) delay, retry_cb, turn);

          /* The message shows why it waits, and for how long. Last, since a
           * handler may stop the turn right away. */
          confab_message_set_error (turn->assistant, error->message);
          confab_message_set_error_kind (turn->assistant, error_kind_for (error));
          confab_message_set_retry (turn->assistant,
                                    g_get_real_time () + delay * 1000,
                                    turn->attempt + 1);
          return;
        }
    }

  turn_finalize (turn, ok, error);
}

/* The messages to send: everything before @assistant that said something. */
static GPtrArray *
collect_history (ConfabChatSession   *self,
                 ConfabConversation  *conversation,
                 ConfabMessage       *assistant,
                 GError             **error)
{
  g_autoptr(GPtrArray) source = NULL;
  GPtrArray *history;
  guint n_loaded = g_list_model_get_n_items (G_LIST_MODEL (conversation));

  /* Only part of a long conversation may be loaded: then read it from disk. */
  if (n_loaded < confab_conversation_get_message_count (conversation))
    {
      source = confab_store_load_messages (self->store,
                                           confab_conversation_get_id (conversation),
                                           confab_message_get_id (assistant),
                                           G_MAXUINT, error);
      if (source == NULL)
        return NULL;
    }
  else
    {
      source = g_ptr_array_new_with_free_func (g_object_unref);
      for (guint i = 0; i < n_loaded; i++)
        {
          ConfabMessage *message = g_list_model_get_item (G_LIST_MODEL (conversation), i);

          if (message == assistant)
            {
              g_object_unref (message);
              break;
            }
          g_ptr_array_add (source, message);
        }
    }

  history = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < source->len; i++)
    {
      ConfabMessage *message = g_ptr_array_index (source, i);

      if (confab_message_get_role (message) == CONFAB_ROLE_SYSTEM)
        continue;
      if (confab_message_get_content_length (message) == 0)
        continue;
      g_ptr_array_add (history, g_object_ref (message));
    }

  return history;
}

/* One attempt at the reply: a fresh request with the same history. */
static void
turn_request (Turn *turn)
{
  ConfabChatRequest request = { 0 };

  turn->attempt++;
  turn->content_seen = 0;
  turn->reasoning_seen = 0;
  confab_stream_result_reset (turn->result);
  confab_message_set_retry (turn->assistant, 0, 0);
  confab_message_set_error (turn->assistant, NULL);
  confab_message_set_error_kind (turn->assistant, NULL);

  request.model = confab_conversation_get_model (turn->conversation);
  request.temperature = confab_conversation_get_temperature (turn->conversation);
  request.system_message = confab_conversation_get_system_message (turn->conversation);
  request.messages = turn->history;

  confab_provider_stream_chat_async (turn->provider,
                                     &request,
                                     turn->result,
                                     turn_progress_cb,
                                     turn,
                                     turn->cancellable,
                                     turn_finished_cb,
                                     turn_ref (turn));
}

/* To continue a cut-off reply, the model sees it as its own last turn and is
 * asked to go on; what comes back is appended to the same message. */
static void
add_continue_request (GPtrArray     *history,
                      ConfabMessage *assistant)
{
  g_autoptr(ConfabMessage) partial = NULL;
  g_autoptr(ConfabMessage) request = NULL;

  partial = confab_message_new (CONFAB_ROLE_ASSISTANT, confab_message_get_content (assistant));
  confab_message_set_state (partial, CONFAB_MESSAGE_STATE_COMPLETE);
  request = confab_message_new (CONFAB_ROLE_USER,
                                "Your previous reply was cut off. Continue it exactly where it "
                                "stopped, without repeating anything.");
  g_ptr_array_add (history, g_steal_pointer (&partial));
  g_ptr_array_add (history, g_steal_pointer (&request));
}

static gboolean
start_turn (ConfabChatSession   *self,
            ConfabConversation  *conversation,
            ConfabMessage       *assistant,
            gboolean             continuing,
            GError             **error)
{
  Turn *turn;

  turn = g_new0 (Turn, 1);
  g_atomic_ref_count_init (&turn->ref_count);
  turn->session = self;
  turn->conversation = g_object_ref (conversation);
  turn->assistant = g_object_ref (assistant);
  turn->provider = g_object_ref (self->provider);
  turn->cancellable = g_cancellable_new ();
  turn->result = confab_stream_result_new ();
  turn->history = collect_history (self, conversation, assistant, error);

  if (turn->history == NULL)
    {
      turn_unref (turn);
      return FALSE;
    }

  if (continuing)
    add_continue_request (turn->history, assistant);

  g_hash_table_insert (self->turns, g_object_ref (conversation), turn);
  turn->checkpoint_source = g_timeout_add (CHECKPOINT_INTERVAL_MS, checkpoint_cb, turn);

  g_signal_emit (self, signals[TURN_STARTED], 0, conversation, assistant);

  turn_request (turn);

  return TRUE;
}

static char *
title_from_text (const char *text)
{
  g_autofree char *line = NULL;
  const char *end;
  glong n_chars;

  text += strspn (text, " \t\r\n");
  end = strpbrk (text, "\r\n");
  line = end ? g_strndup (text, end - text) : g_strdup (text);
  g_strstrip (line);

  n_chars = g_utf8_strlen (line, -1);
  if (n_chars <= TITLE_MAX_CHARS)
    return g_steal_pointer (&line);

  {
    g_autofree char *head = g_utf8_substring (line, 0, TITLE_MAX_CHARS - 1);
    return g_strconcat (head, "…", NULL);
  }
}

static void
confab_chat_session_dispose (GObject *object)
{
  ConfabChatSession *self = (ConfabChatSession *)object;

  /* Confab is closing with replies still streaming: keep what arrived. */
  if (self->turns != NULL)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, self->turns);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          Turn *turn = value;

          confab_message_set_state (turn->assistant, CONFAB_MESSAGE_STATE_INTERRUPTED);
          confab_message_set_error (turn->assistant,
                                    _("Confab was closed before the reply finished."));
          confab_message_set_error_kind (turn->assistant, "interrupted");
          save_message (self, turn->assistant);
        }

      g_hash_table_remove_all (self->turns);
    }

  G_OBJECT_CLASS (confab_chat_session_parent_class)->dispose (object);
}

static void
confab_chat_session_finalize (GObject *object)
{
  ConfabChatSession *self = (ConfabChatSession *)object;

  g_clear_pointer (&self->turns, g_hash_table_unref);
  g_clear_object (&self->store);
  g_clear_object (&self->provider);

  G_OBJECT_CLASS (confab_chat_session_parent_class)->finalize (object);
}

static void
confab_chat_session_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  ConfabChatSession *self = CONFAB_CHAT_SESSION (object);

  switch (prop_id)
    {
    case PROP_PROVIDER:
      g_value_set_object (value, self->provider);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
confab_chat_session_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  ConfabChatSession *self = CONFAB_CHAT_SESSION (object);

  switch (prop_id)
    {
    case PROP_PROVIDER:
      confab_chat_session_set_provider (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
confab_chat_session_class_init (ConfabChatSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = confab_chat_session_dispose;
  object_class->finalize = confab_chat_session_finalize;
  object_class->get_property = confab_chat_session_get_property;
  object_class->set_property = confab_chat_session_set_property;

  properties[PROP_PROVIDER] =
    g_param_spec_object ("provider", NULL, NULL,
                         CONFAB_TYPE_PROVIDER,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[TURN_STARTED] =
    g_signal_new ("turn-started",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, CONFAB_TYPE_CONVERSATION, CONFAB_TYPE_MESSAGE);

  signals[TURN_FINISHED] =
    g_signal_new ("turn-finished",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, CONFAB_TYPE_CONVERSATION, CONFAB_TYPE_MESSAGE);

  signals[STORE_FAILED] =
    g_signal_new ("store-failed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
confab_chat_session_init (ConfabChatSession *self)
{
  self->turns = g_hash_table_new_full (NULL, NULL, g_object_unref, (GDestroyNotify) turn_detach);
}

/**
 * confab_chat_session_new:
 * @store: where conversations are kept
 *
 * Returns: (transfer full): a new session with no provider yet
 */
ConfabChatSession *
confab_chat_session_new (ConfabStore *store)
{
  ConfabChatSession *self;

  g_return_val_if_fail (CONFAB_IS_STORE (store), NULL);

  self = g_object_new (CONFAB_TYPE_CHAT_SESSION, NULL);
  self->store = g_object_ref (store);

  return self;
}

ConfabStore *
confab_chat_session_get_store (ConfabChatSession *self)
{
  g_return_val_if_fail (CONFAB_IS_CHAT_SESSION (self), NULL);
  return self->store;
}

ConfabProvider *
confab_chat_session_get_provider (ConfabChatSession *self)
{
  g_return_val_if_fail (CONFAB_IS_CHAT_SESSION (self), NULL);
  return self->provider;
}

/* Turns already running keep the provider they started with. */
void
confab_chat_session_set_provider (ConfabChatSession *self,
                                  ConfabProvider    *provider)
{
  g_return_if_fail (CONFAB_IS_CHAT_SESSION (self));
  g_return_if_fail (!provider || CONFAB_IS_PROVIDER (provider));

  if (g_set_object (&self->provider, provider))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROVIDER]);
}

gboolean
confab_chat_session_is_busy (ConfabChatSession  *self,
                             ConfabConversation *conversation)
{
  g_return_val_if_fail (CONFAB_IS_CHAT_SESSION (self), FALSE);
  g_return_val_if_fail (CONFAB_IS_CONVERSATION (conversation), FALSE);

  return g_hash_table_contains (self->turns, conversation);
}

static gboolean
check_ready (ConfabChatSession   *self,
             ConfabConversation  *conversation,
             GError             **error)
{
  if (g_hash_table_contains (self->turns, conversation))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                           _("A reply is still being written in this conversation."));
      return FALSE;
    }

  if (self->provider == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                           _("No server is set up. Open Preferences to choose one."));
      return FALSE;
    }

  return TRUE;
}

gboolean
confab_chat_session_send (ConfabChatSession   *self,
                          ConfabConversation  *conversation,
                          const char          *text,
                          GError             **error)
{
  g_autoptr(ConfabMessage) user = NULL;
  g_autoptr(ConfabMessage) assistant = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (CONFAB_IS_CHAT_SESSION (self), FALSE);
  g_return_val_if_fail (CONFAB_IS_CONVERSATION (conversation), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  if (!check_ready (self, conversation, error))
    return FALSE;

  if (!confab_conversation_get_title_locked (conversation) &&
      (confab_conversation_get_title (conversation) == NULL ||
       *confab_conversation_get_title (conversation) == '\0'))
    {
      g_autofree char *title = title_from_text (text);
      confab_conversation_set_title (conversation, title);
    }

  /* A new chat reaches the database with its first message, not before. */
  if (confab_conversation_get_id (conversation) == 0 &&
      !confab_store_insert_conversation (self->store, conversation, error))
    return FALSE;

  user = confab_message_new (CONFAB_ROLE_USER, text);
  confab_message_set_conversation_id (user, confab_conversation_get_id (conversation));
  if (!confab_store_insert_message (self->store, user, error))
    return FALSE;
  confab_conversation_append_message (conversation, user);

  /* From here on the send has happened: the user's message is on disk and the
   * composer may let go of it. Whatever fails later shows on the reply. */
  assistant = confab_message_new (CONFAB_ROLE_ASSISTANT, NULL);
  confab_message_set_conversation_id (assistant, confab_conversation_get_id (conversation));
  confab_message_set_model (assistant, confab_conversation_get_model (conversation));
  confab_message_set_state (assistant, CONFAB_MESSAGE_STATE_STREAMING);
  confab_conversation_set_updated_at (conversation, g_get_real_time ());

  if (!confab_store_insert_message (self->store, assistant, &local_error))
    {
      confab_message_set_state (assistant, CONFAB_MESSAGE_STATE_ERROR);
      confab_message_set_error (assistant, local_error->message);
      confab_message_set_error_kind (assistant, "store");
      confab_conversation_append_message (conversation, assistant);
      confab_conversation_set_message_count (conversation,
                                             confab_conversation_get_message_count (conversation) + 1);
      report_store_error (self, local_error);
      return TRUE;
    }

  confab_conversation_append_message (conversation, assistant);
  confab_conversation_set_message_count (conversation,
                                         confab_conversation_get_message_count (conversation) + 2);

  if (!start_turn (self, conversation, assistant, FALSE, &local_error))
    {
      g_autoptr(GError) store_error = NULL;

      confab_message_set_state (assistant, CONFAB_MESSAGE_STATE_ERROR);
      confab_message_set_error (assistant, local_error->message);
      if (!confab_store_update_message (self->store, assistant, &store_error))
        report_store_error (self, store_error);
    }

  return TRUE;
}

gboolean
confab_chat_session_retry (ConfabChatSession   *self,
                           ConfabConversation  *conversation,
                           ConfabMessage       *assistant,
                           GError             **error)
{
  g_return_val_if_fail (CONFAB_IS_CHAT_SESSION (self), FALSE);
  g_return_val_if_fail (CONFAB_IS_CONVERSATION (conversation), FALSE);
  g_return_val_if_fail (CONFAB_IS_MESSAGE (assistant), FALSE);
  g_return_val_if_fail (confab_message_get_role (assistant) == CONFAB_ROLE_ASSISTANT, FALSE);

  if (!check_ready (self, conversation, error))
    return FALSE;

  confab_message_set_content (assistant, NULL);
  confab_message_set_reasoning (assistant, NULL);
  confab_message_set_error (assistant, NULL);
  confab_message_set_error_kind (assistant, NULL);
  confab_message_set_finish_reason (assistant, NULL);
  confab_message_set_usage (assistant, -1, -1);
  confab_message_set_model (assistant, confab_conversation_get_model (conversation));
  confab_message_set_state (assistant, CONFAB_MESSAGE_STATE_STREAMING);
  if (!confab_store_update_message (self->store, assistant, error))
    return FALSE;

  return start_turn (self, conversation, assistant, FALSE, error);
}

gboolean
confab_chat_session_continue (ConfabChatSession   *self,
                              ConfabConversation  *conversation,
                              ConfabMessage       *assistant,
                              GError             **error)
{
  g_return_val_if_fail (CONFAB_IS_CHAT_SESSION (self), FALSE);
  g_return_val_if_fail (CONFAB_IS_CONVERSATION (conversation), FALSE);
  g_return_val_if_fail (CONFAB_IS_MESSAGE (assistant), FALSE);
  g_return_val_if_fail (confab_message_get_role (assistant) == CONFAB_ROLE_ASSISTANT, FALSE);

  if (confab_message_get_content_length (assistant) == 0)
    return confab_chat_session_retry (self, conversation, assistant, error);

  if (!check_ready (self, conversation, error))
    return FALSE;

  confab_message_set_error (assistant, NULL);
  confab_message_set_error_kind (assistant, NULL);
  confab_message_set_finish_reason (assistant, NULL);
  confab_message_set_state (assistant, CONFAB_MESSAGE_STATE_STREAMING);
  if (!confab_store_update_message (self->store, assistant, error))
    return FALSE;

  return start_turn (self, conversation, assistant, TRUE, error);
}

void
confab_chat_session_stop (ConfabChatSession  *self,
                          ConfabConversation *conversation)
{
  Turn *turn;

  g_return_if_fail (CONFAB_IS_CHAT_SESSION (self));
  g_return_if_fail (CONFAB_IS_CONVERSATION (conversation));

  turn = g_hash_table_lookup (self->turns, conversation);
  if (turn == NULL)
    return;

  /* Waiting to try again: end with the error that made it wait. */
  if (turn->retry_source != 0)
    {
      g_clear_handle_id (&turn->retry_source, g_source_remove);
      turn_finalize (turn, FALSE, turn->last_error);
      return;
    }

  g_cancellable_cancel (turn->cancellable);
}
