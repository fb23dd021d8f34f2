/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-message"

#include "config.h"

#include <string.h>

#include "confab-message.h"

struct _ConfabMessage
{
  GObject             parent_instance;

  gint64              id;
  gint64              conversation_id;
  ConfabRole          role;
  ConfabMessageState  state;
  GString            *content;
  GString            *reasoning;
  char               *error;
  char               *error_kind;
  char               *model;
  char               *finish_reason;
  gint64              prompt_tokens;
  gint64              completion_tokens;
  gint64              created_at;
  gint64              retry_at;
  guint               retry_attempt;
};

G_DEFINE_FINAL_TYPE (ConfabMessage, confab_message, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_ROLE,
  PROP_CONTENT,
  PROP_REASONING,
  PROP_STATE,
  PROP_ERROR,
  PROP_ERROR_KIND,
  PROP_MODEL,
  PROP_FINISH_REASON,
  PROP_USAGE,
  PROP_RETRY_AT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Replaces *@field with a copy of @value; TRUE when it changed. */
static gboolean
replace_string (char       **field,
                const char  *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;

  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

static void
confab_message_finalize (GObject *object)
{
  ConfabMessage *self = (ConfabMessage *)object;

  g_string_free (self->content, TRUE);
  g_string_free (self->reasoning, TRUE);
  g_clear_pointer (&self->error, g_free);
  g_clear_pointer (&self->error_kind, g_free);
  g_clear_pointer (&self->model, g_free);
  g_clear_pointer (&self->finish_reason, g_free);

  G_OBJECT_CLASS (confab_message_parent_class)->finalize (object);
}

static void
confab_message_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  ConfabMessage *self = CONFAB_MESSAGE (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_int64 (value, self->id);
      break;

    case PROP_ROLE:
      g_value_set_int (value, self->role);
      break;

    case PROP_CONTENT:
      g_value_set_string (value, self->content->str);
      break;

    case PROP_REASONING:
      g_value_set_string (value, self->reasoning->str);
      break;

    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;

    case PROP_ERROR:
      g_value_set_string (value, self->error);
      break;

    case PROP_ERROR_KIND:
      g_value_set_string (value, self->error_kind);
      break;

    case PROP_MODEL:
      g_value_set_string (value, self->model);
      break;

    case PROP_FINISH_REASON:
      g_value_set_string (value, self->finish_reason);
      break;

    case PROP_USAGE:
      g_value_set_int64 (value, self->completion_tokens);
      break;

    case PROP_RETRY_AT:
      g_value_set_int64 (value, self->retry_at);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
confab_message_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  ConfabMessage *self = CONFAB_MESSAGE (object);

  switch (prop_id)
    {
    case PROP_ROLE:
      self->role = g_value_get_int (value);
      break;

    case PROP_CONTENT:
      confab_message_set_content (self, g_value_get_string (value));
      break;

    case PROP_REASONING:
      confab_message_set_reasoning (self, g_value_get_string (value));
      break;

    case PROP_STATE:
      confab_message_set_state (self, g_value_get_int (value));
      break;

    case PROP_ERROR:
      confab_message_set_error (self, g_value_get_string (value));
      break;

    case PROP_MODEL:
      confab_message_set_model (self, g_value_get_string (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
confab_message_class_init (ConfabMessageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = confab_message_finalize;
  object_class->get_property = confab_message_get_property;
  object_class->set_property = confab_message_set_property;

  properties[PROP_ID] =
    g_param_spec_int64 ("id", NULL, NULL,
                        0, G_MAXINT64, 0,
                        (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_ROLE] =
    g_param_spec_int ("role", NULL, NULL,
                      CONFAB_ROLE_SYSTEM, CONFAB_ROLE_ASSISTANT, CONFAB_ROLE_USER,
                      (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));
  properties[PROP_CONTENT] =
    g_param_spec_string ("content", NULL, NULL, "",
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_REASONING] =
    g_param_spec_string ("reasoning", NULL, NULL, "",
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL,
                      CONFAB_MESSAGE_STATE_COMPLETE, CONFAB_MESSAGE_STATE_ERROR,
                      CONFAB_MESSAGE_STATE_COMPLETE,
                      (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_ERROR] =
    g_param_spec_string ("error", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_ERROR_KIND] =
    g_param_spec_string ("error-kind", NULL, NULL, NULL,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_MODEL] =
    g_param_spec_string ("model", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_FINISH_REASON] =
    g_param_spec_string ("finish-reason", NULL, NULL, NULL,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /* Notifies when either token count changed; the value is the completion count. */
  properties[PROP_USAGE] =
    g_param_spec_int64 ("usage", NULL, NULL,
                        -1, G_MAXINT64, -1,
                        (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  properties[PROP_RETRY_AT] =
    g_param_spec_int64 ("retry-at", NULL, NULL,
                        0, G_MAXINT64, 0,
                        (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
confab_message_init (ConfabMessage *self)
{
  self->content = g_string_new (NULL);
  self->reasoning = g_string_new (NULL);
  self->prompt_tokens = -1;
  self->completion_tokens = -1;
  self->created_at = g_get_real_time ();
}

/**
 * confab_message_new:
 * @role: who speaks
 * @content: (nullable): the text
 *
 * Returns: (transfer full): a new message, not yet stored
 */
ConfabMessage *
confab_message_new (ConfabRole  role,
                    const char *content)
{
  ConfabMessage *self = g_object_new (CONFAB_TYPE_MESSAGE, "role", role, NULL);

  if (content != NULL)
    g_string_assign (self->content, content);

  return self;
}

gint64
confab_message_get_id (ConfabMessage *self)
{
  g_return_val_if_fail (CONFAB_IS_MESSAGE (self), 0);
  return self->id;
}

void
confab_message_set_id (ConfabMessage *self,
                       gint64         id)
{
  g_return_if_fail (CONFAB_IS_MESSAGE (self));

  if (self->id != id)
    {
      self->id = id;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ID]);
    }
}

gint64
confab_message_get_conversation_id (ConfabMessage *self)
{
  g_return_val_if_fail (CONFAB_IS_MESSAGE (self), 0);
  return self->conversation_id;
}

void
confab_message_set_conversation_id (ConfabMessage *self,
                                    gint64         conversation_id)
{
  g_return_if_fail (CONFAB_IS_MESSAGE (self));
  self->conversation_id = conversation_id;
}

ConfabRole
confab_message_get_role (ConfabMessage *self)
{
  g_return_val_if_fail (CONFAB_IS_MESSAGE (self), CONFAB_ROLE_USER);
  return self->role;
}

const char *
confab_message_get_content (ConfabMessage *self)
{
  g_return_val_if_fail (CONFAB_IS_MESSAGE (self), NULL);
  return self->content->str;
}

gsize
confab_message_get_content_length (ConfabMessage *self)
{
  g_return_val_if_fail (CONFAB_IS_MESSAGE (self), 0);
  return self->content->len;
}

void
confab_message_set_content (ConfabMessage *self,
                            const char    *content)
{
  g_return_if_fail (CONFAB_IS_MESSAGE (self));

  if (content == NULL)
    content = "";

  if (strcmp (self->content->str, content) == 0)
    return;

  g_string_assign (self->content, content);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONTENT]);
}

void
confab_message_append_content (ConfabMessage *self,
                               const char    *text,
                               gssize         len)
{
  g_return_if_fail (CONFAB_IS_MESSAGE (self));

  if (text == NULL || len == 0 || (len < 0 && *text == '\0'))
    return;

  g_string_append_len (self->content, text, len);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONTENT]);
}

const char *
confab_message_get_reasoning (ConfabMessage *self)
{
  g_return_val_if_fail (CONFAB_IS_MESSAGE (self), NULL);
  return self->reasoning->str;
}

void
confab_message_set_reasoning (ConfabMessage *self,
                              const char    *reasoning)
{
  g_return_if_fail (CONFAB_IS_MESSAGE (self));

  if (reasoning == NULL)
    reasoning = "";

  if (strcmp (self->reasoning->str, reasoning) == 0)
    return;

  g_string_assign (self->reasoning, reasoning);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REASONING]);
}

void
confab_message_append_reasoning (ConfabMessage *self,
                                 const char    *text,
                                 gssize         len)
{
  g_return_if_fail (CONFAB_IS_MESSAGE (self));

  if (text == NULL || len == 0 || (len < 0 && *text == '\0'))
    return;

  g_string_append_len (self->reasoning, text, len);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REASONING]);
}

ConfabMessageState
confab_message_get_state (ConfabMessage *self)
{
  g_return_val_if_fail (CONFAB_IS_MESSAGE (self), CONFAB_MESSAGE_STATE_COMPLETE);
  return self->state;
}

void
confab_message_set_state (ConfabMessage      *self,
                          ConfabMessageState  state)
{
  g_return_if_fail (CONFAB_IS_MESSAGE (self));

  if (self->state != state)
    {
      self->state = state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }
}

const char *
confab_message_get_error (ConfabMessage *self)
{
  g_return_val_if_fail (CONFAB_IS_MESSAGE (self), NULL);
  return self->error;
}

void
confab_message_set_error (ConfabMessage *self,
                          const char    *error)
{
  g_return_if_fail (CONFAB_IS_MESSAGE (self));

  if (replace_string (&self->error, error))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR]);
}

const char *
confab_message_get_error_kind (ConfabMessage *self)
{
  g_return_val_if_fail (CONFAB_IS_MESSAGE (self), NULL);
  return self->error_kind;
}

void
confab_message_set_error_kind (ConfabMessage *self,
                               const char    *error_kind)
{
  g_return_if_fail (CONFAB_IS_MESSAGE (self));

  if (replace_string (&self->error_kind, error_kind))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR_KIND]);
}

const char *
confab_message_get_model (ConfabMessage *self)
{
  g_return_val_if_fail (CONFAB_IS_MESSAGE (self), NULL);
  return self->model;
}

void
confab_message_set_model (ConfabMessage *self,
                          const char    *model)
{
  g_return_if_fail (CONFAB_IS_MESSAGE (self));

  if (replace_string (&self->model, model))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL]);
}

const char *
confab_message_get_finish_reason (ConfabMessage *self)
{
  g_return_val_if_fail (CONFAB_IS_MESSAGE (self), NULL);
  return self->finish_reason;
}

void
confab_message_set_finish_reason (ConfabMessage *self,
                                  const char    *finish_reason)
{
  g_return_if_fail (CONFAB_IS_MESSAGE (self));

  if (replace_string (&self->finish_reason, finish_reason))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FINISH_REASON]);
}

void
confab_message_get_usage (ConfabMessage *self,
                          gint64        *prompt_tokens,
                          gint64        *completion_tokens)
{
  g_return_if_fail (CONFAB_IS_MESSAGE (self));

  if (prompt_tokens != NULL)
    *prompt_tokens = self->prompt_tokens;
  if (completion_tokens != NULL)
    *completion_tokens = self->completion_tokens;
}

void
confab_message_set_usage (ConfabMessage *self,
                          gint64         prompt_tokens,
                          gint64         completion_tokens)
{
  g_return_if_fail (CONFAB_IS_MESSAGE (self));

  if (self->prompt_tokens == prompt_tokens && self->completion_tokens == completion_tokens)
    return;

  self->prompt_tokens = prompt_tokens;
  self->completion_tokens = completion_tokens;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_USAGE]);
}

gint64
confab_message_get_retry_at (ConfabMessage *self)
{
  g_return_val_if_fail (CONFAB_IS_MESSAGE (self), 0);
  return self->retry_at;
}

guint
confab_message_get_retry_attempt (ConfabMessage *self)
{
  g_return_val_if_fail (CONFAB_IS_MESSAGE (self), 0);
  return self->retry_attempt;
}

void
confab_message_set_retry (ConfabMessage *self,
                          gint64         retry_at,
                          guint          attempt)
{
  g_return_if_fail (CONFAB_IS_MESSAGE (self));

  if (self->retry_at == retry_at && self->retry_attempt == attempt)
    return;

  self->retry_at = retry_at;
  self->retry_attempt = attempt;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RETRY_AT]);
}

gint64
confab_message_get_created_at (ConfabMessage *self)
{
  g_return_val_if_fail (CONFAB_IS_MESSAGE (self), 0);
  return self->created_at;
}

void
confab_message_set_created_at (ConfabMessage *self,
                               gint64         created_at)
{
  g_return_if_fail (CONFAB_IS_MESSAGE (self));
  self->created_at = created_at;
}
