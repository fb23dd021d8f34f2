/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-conversation"

#include "config.h"

#include "confab-conversation.h"

struct _ConfabConversation
{
  GObject    parent_instance;

  gint64     id;
  char      *title;
  char      *model;
  char      *system_message;
  double     temperature;
  gint64     created_at;
  gint64     updated_at;
  guint      message_count;

  /* Owned: ConfabMessage, oldest first */
  GPtrArray *messages;

  guint      title_locked : 1;
  guint      messages_loaded : 1;
};

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ConfabConversation, confab_conversation, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

enum {
  PROP_0,
  PROP_ID,
  PROP_TITLE,
  PROP_MODEL,
  PROP_TEMPERATURE,
  PROP_SYSTEM_MESSAGE,
  PROP_UPDATED_AT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static GType
confab_conversation_get_item_type (GListModel *model)
{
  return CONFAB_TYPE_MESSAGE;
}

static guint
confab_conversation_get_n_items (GListModel *model)
{
  return CONFAB_CONVERSATION (model)->messages->len;
}

static gpointer
confab_conversation_get_item (GListModel *model,
                              guint       position)
{
  ConfabConversation *self = CONFAB_CONVERSATION (model);

  if (position >= self->messages->len)
    return NULL;

  return g_object_ref (g_ptr_array_index (self->messages, position));
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = confab_conversation_get_item_type;
  iface->get_n_items = confab_conversation_get_n_items;
  iface->get_item = confab_conversation_get_item;
}

static void
confab_conversation_finalize (GObject *object)
{
  ConfabConversation *self = (ConfabConversation *)object;

  g_clear_pointer (&self->title, g_free);
  g_clear_pointer (&self->model, g_free);
  g_clear_pointer (&self->system_message, g_free);
  g_clear_pointer (&self->messages, g_ptr_array_unref);

  G_OBJECT_CLASS (confab_conversation_parent_class)->finalize (object);
}

static void
confab_conversation_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  ConfabConversation *self = CONFAB_CONVERSATION (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_int64 (value, self->id);
      break;

    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;

    case PROP_MODEL:
      g_value_set_string (value, self->model);
      break;

    case PROP_TEMPERATURE:
      g_value_set_double (value, self->temperature);
      break;

    case PROP_SYSTEM_MESSAGE:
      g_value_set_string (value, self->system_message);
      break;

    case PROP_UPDATED_AT:
      g_value_set_int64 (value, self->updated_at);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
confab_conversation_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  ConfabConversation *self = CONFAB_CONVERSATION (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      confab_conversation_set_title (self, g_value_get_string (value));
      break;

    case PROP_MODEL:
      confab_conversation_set_model (self, g_value_get_string (value));
      break;

    case PROP_TEMPERATURE:
      confab_conversation_set_temperature (self, g_value_get_double (value));
      break;

    case PROP_SYSTEM_MESSAGE:
      confab_conversation_set_system_message (self, g_value_get_string (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
confab_conversation_class_init (ConfabConversationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = confab_conversation_finalize;
  object_class->get_property = confab_conversation_get_property;
  object_class->set_property = confab_conversation_set_property;

  properties[PROP_ID] =
    g_param_spec_int64 ("id", NULL, NULL,
                        0, G_MAXINT64, 0,
                        (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_MODEL] =
    g_param_spec_string ("model", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_TEMPERATURE] =
    g_param_spec_double ("temperature", NULL, NULL,
                         0.0, 2.0, 1.0,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_SYSTEM_MESSAGE] =
    g_param_spec_string ("system-message", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_UPDATED_AT] =
    g_param_spec_int64 ("updated-at", NULL, NULL,
                        0, G_MAXINT64, 0,
                        (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
confab_conversation_init (ConfabConversation *self)
{
  self->messages = g_ptr_array_new_with_free_func (g_object_unref);
  self->temperature = 1.0;
  self->created_at = self->updated_at = g_get_real_time ();
}

ConfabConversation *
confab_conversation_new (void)
{
  return g_object_new (CONFAB_TYPE_CONVERSATION, NULL);
}

gint64
confab_conversation_get_id (ConfabConversation *self)
{
  g_return_val_if_fail (CONFAB_IS_CONVERSATION (self), 0);
  return self->id;
}

void
confab_conversation_set_id (ConfabConversation *self,
                            gint64              id)
{
  g_return_if_fail (CONFAB_IS_CONVERSATION (self));

  if (self->id != id)
    {
      self->id = id;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ID]);
    }
}

const char *
confab_conversation_get_title (ConfabConversation *self)
{
  g_return_val_if_fail (CONFAB_IS_CONVERSATION (self), NULL);
  return self->title;
}

void
confab_conversation_set_title (ConfabConversation *self,
                               const char         *title)
{
  g_return_if_fail (CONFAB_IS_CONVERSATION (self));

  if (g_strcmp0 (self->title, title) == 0)
    return;

  g_free (self->title);
  self->title = g_strdup (title);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

gboolean
confab_conversation_get_title_locked (ConfabConversation *self)
{
  g_return_val_if_fail (CONFAB_IS_CONVERSATION (self), FALSE);
  return self->title_locked;
}

void
confab_conversation_set_title_locked (ConfabConversation *self,
                                      gboolean            locked)
{
  g_return_if_fail (CONFAB_IS_CONVERSATION (self));
  self->title_locked = !!locked;
}

const char *
confab_conversation_get_model (ConfabConversation *self)
{
  g_return_val_if_fail (CONFAB_IS_CONVERSATION (self), NULL);
  return self->model;
}

void
confab_conversation_set_model (ConfabConversation *self,
                               const char         *model)
{
  g_return_if_fail (CONFAB_IS_CONVERSATION (self));

  if (g_strcmp0 (self->model, model) == 0)
    return;

  g_free (self->model);
  self->model = g_strdup (model);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL]);
}

double
confab_conversation_get_temperature (ConfabConversation *self)
{
  g_return_val_if_fail (CONFAB_IS_CONVERSATION (self), 1.0);
  return self->temperature;
}

void
confab_conversation_set_temperature (ConfabConversation *self,
                                     double              temperature)
{
  g_return_if_fail (CONFAB_IS_CONVERSATION (self));

  temperature = CLAMP (temperature, 0.0, 2.0);
  if (self->temperature == temperature)
    return;

  self->temperature = temperature;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TEMPERATURE]);
}

const char *
confab_conversation_get_system_message (ConfabConversation *self)
{
  g_return_val_if_fail (CONFAB_IS_CONVERSATION (self), NULL);
  return self->system_message;
}

void
confab_conversation_set_system_message (ConfabConversation *self,
                                        const char         *system_message)
{
  g_return_if_fail (CONFAB_IS_CONVERSATION (self));

  if (g_strcmp0 (self->system_message, system_message) == 0)
    return;

  g_free (self->system_message);
  self->system_message = g_strdup (system_message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SYSTEM_MESSAGE]);
}

gint64
confab_conversation_get_created_at (ConfabConversation *self)
{
  g_return_val_if_fail (CONFAB_IS_CONVERSATION (self), 0);
  return self->created_at;
}

void
confab_conversation_set_created_at (ConfabConversation *self,
                                    gint64              created_at)
{
  g_return_if_fail (CONFAB_IS_CONVERSATION (self));
  self->created_at = created_at;
}

gint64
confab_conversation_get_updated_at (ConfabConversation *self)
{
  g_return_val_if_fail (CONFAB_IS_CONVERSATION (self), 0);
  return self->updated_at;
}

void
confab_conversation_set_updated_at (ConfabConversation *self,
                                    gint64              updated_at)
{
  g_return_if_fail (CONFAB_IS_CONVERSATION (self));

  if (self->updated_at != updated_at)
    {
      self->updated_at = updated_at;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UPDATED_AT]);
    }
}

guint
confab_conversation_get_message_count (ConfabConversation *self)
{
  g_return_val_if_fail (CONFAB_IS_CONVERSATION (self), 0);
  return self->message_count;
}

void
confab_conversation_set_message_count (ConfabConversation *self,
                                       guint               count)
{
  g_return_if_fail (CONFAB_IS_CONVERSATION (self));
  self->message_count = count;
}

void
confab_conversation_append_message (ConfabConversation *self,
                                    ConfabMessage      *message)
{
  g_return_if_fail (CONFAB_IS_CONVERSATION (self));
  g_return_if_fail (CONFAB_IS_MESSAGE (message));

  g_ptr_array_add (self->messages, g_object_ref (message));
  g_list_model_items_changed (G_LIST_MODEL (self), self->messages->len - 1, 0, 1);
}

void
confab_conversation_prepend_messages (ConfabConversation *self,
                                      GPtrArray          *messages)
{
  g_return_if_fail (CONFAB_IS_CONVERSATION (self));
  g_return_if_fail (messages != NULL);

  if (messages->len == 0)
    return;

  for (guint i = 0; i < messages->len; i++)
    g_ptr_array_insert (self->messages, i, g_object_ref (g_ptr_array_index (messages, i)));

  g_list_model_items_changed (G_LIST_MODEL (self), 0, 0, messages->len);
}

void
confab_conversation_remove_message (ConfabConversation *self,
                                    ConfabMessage      *message)
{
  guint position;

  g_return_if_fail (CONFAB_IS_CONVERSATION (self));
  g_return_if_fail (CONFAB_IS_MESSAGE (message));

  if (g_ptr_array_find (self->messages, message, &position))
    {
      g_ptr_array_remove_index (self->messages, position);
      g_list_model_items_changed (G_LIST_MODEL (self), position, 1, 0);
    }
}

gboolean
confab_conversation_get_messages_loaded (ConfabConversation *self)
{
  g_return_val_if_fail (CONFAB_IS_CONVERSATION (self), FALSE);
  return self->messages_loaded;
}

void
confab_conversation_set_messages_loaded (ConfabConversation *self,
                                         gboolean            loaded)
{
  g_return_if_fail (CONFAB_IS_CONVERSATION (self));
  self->messages_loaded = !!loaded;
}

ConfabMessage *
confab_conversation_get_last_message (ConfabConversation *self)
{
  g_return_val_if_fail (CONFAB_IS_CONVERSATION (self), NULL);

  if (self->messages->len == 0)
    return NULL;

  return g_ptr_array_index (self->messages, self->messages->len - 1);
}
