/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "confab-provider.h"

G_BEGIN_DECLS

/* Removes @path and everything below it (what a test made in a temporary
 * folder); links are removed, not followed; folders made unreadable by a
 * test are made readable first. */
void  confab_test_remove_tree  (const char     *path);
/* Iterates the default main context until *@flag; fails the test, naming
 * @what, after @timeout_s seconds. */
void  confab_test_wait_until   (const gboolean *flag,
                                guint           timeout_s,
                                const char     *what);
/* The contents of tests/fixtures/@name; fails the test when it is missing. */
char *confab_test_read_fixture (const char     *name,
                                gsize          *len);

/* "data: {…}\n\n": a Chat Completions chunk whose delta is @text, any text,
 * as a server streams it. */
char *confab_test_content_event (const char *text);

/* One request to a provider, and what came of it. */
typedef struct
{
  gboolean            done;
  gboolean            ok;
  GError             *error;
  guint               n_progress;
  GCancellable       *cancel_on_progress;   /* cancelled at the first progress */
  void              (*on_progress) (ConfabStreamResult *result,
                                    gpointer            data);
  gpointer            on_progress_data;
  ConfabStreamResult *result;
  GStrv               models;
} ConfabTestCall;

void  confab_test_call_clear   (ConfabTestCall          *call);
/* @provider is any ConfabProvider. */
void  confab_test_start_chat   (gpointer                 provider,
                                const ConfabChatRequest *request,
                                ConfabTestCall          *call,
                                GCancellable            *cancellable);
void  confab_test_run_chat     (gpointer                 provider,
                                const ConfabChatRequest *request,
                                ConfabTestCall          *call,
                                GCancellable            *cancellable,
                                guint                    timeout_s);
void  confab_test_run_models   (gpointer                 provider,
                                ConfabTestCall          *call);

G_END_DECLS
