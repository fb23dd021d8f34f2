/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "confab-test-util.h"

void
confab_test_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR) || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_remove (path);
      return;
    }

  g_chmod (path, 0700);
  dir = g_dir_open (path, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      confab_test_remove_tree (child);
    }
  g_rmdir (path);
}

static gboolean
wait_timeout_cb (gpointer user_data)
{
  g_error ("Timed out waiting for %s", (const char *) user_data);

  return G_SOURCE_REMOVE;
}

void
confab_test_wait_until (const gboolean *flag,
                        guint           timeout_s,
                        const char     *what)
{
  guint id = g_timeout_add_seconds (timeout_s, wait_timeout_cb, (gpointer) what);

  while (!*flag)
    g_main_context_iteration (NULL, TRUE);

  g_source_remove (id);
}

char *
confab_test_read_fixture (const char *name,
                          gsize      *len)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", name, NULL);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, len, &error);
  g_assert_no_error (error);

  return contents;
}

void
confab_test_call_clear (ConfabTestCall *call)
{
  g_clear_error (&call->error);
  g_clear_pointer (&call->result, confab_stream_result_free);
  g_clear_pointer (&call->models, g_strfreev);
  g_clear_object (&call->cancel_on_progress);
  memset (call, 0, sizeof *call);
}

static void
progress_cb (ConfabStreamResult *result,
             gpointer            user_data)
{
  ConfabTestCall *call = user_data;

  g_assert_true (result == call->result);
  call->n_progress++;

  if (call->cancel_on_progress != NULL && call->n_progress == 1)
    g_cancellable_cancel (call->cancel_on_progress);

  if (call->on_progress != NULL)
    call->on_progress (result, call->on_progress_data);
}

static void
chat_done_cb (GObject      *source,
              GAsyncResult *res,
              gpointer      user_data)
{
  ConfabTestCall *call = user_data;

  g_assert_false (call->done);
  call->ok = confab_provider_stream_chat_finish (CONFAB_PROVIDER (source), res, &call->error);
  if (call->error != NULL)
    g_test_message ("Failed as expected? %s", call->error->message);
  call->done = TRUE;
}

static void
models_done_cb (GObject      *source,
                GAsyncResult *res,
                gpointer      user_data)
{
  ConfabTestCall *call = user_data;

  g_assert_false (call->done);
  call->models = confab_provider_list_models_finish (CONFAB_PROVIDER (source), res,
                                                     &call->error);
  call->ok = call->models != NULL;
  if (call->error != NULL)
    g_test_message ("Failed as expected? %s", call->error->message);
  call->done = TRUE;
}

void
confab_test_start_chat (gpointer                 provider,
                        const ConfabChatRequest *request,
                        ConfabTestCall          *call,
                        GCancellable            *cancellable)
{
  g_assert_true (CONFAB_IS_PROVIDER (provider));

  call->result = confab_stream_result_new ();
  confab_provider_stream_chat_async (CONFAB_PROVIDER (provider), request, call->result,
                                     progress_cb, call, cancellable, chat_done_cb, call);
}

void
confab_test_run_chat (gpointer                 provider,
                      const ConfabChatRequest *request,
                      ConfabTestCall          *call,
                      GCancellable            *cancellable,
                      guint                    timeout_s)
{
  confab_test_start_chat (provider, request, call, cancellable);
  confab_test_wait_until (&call->done, timeout_s, "the chat request");
}

void
confab_test_run_models (gpointer        provider,
                        ConfabTestCall *call)
{
  g_assert_true (CONFAB_IS_PROVIDER (provider));

  confab_provider_list_models_async (CONFAB_PROVIDER (provider), NULL, models_done_cb, call);
  confab_test_wait_until (&call->done, 20, "the model list");
}

char *
confab_test_content_event (const char *text)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "object");
  json_builder_add_string_value (builder, "chat.completion.chunk");
  json_builder_set_member_name (builder, "choices");
  json_builder_begin_array (builder);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "index");
  json_builder_add_int_value (builder, 0);
  json_builder_set_member_name (builder, "delta");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "content");
  json_builder_add_string_value (builder, text);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json = json_generator_to_data (generator, NULL);

  return g_strdup_printf ("data: %s\n\n", json);
}
