/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#ifdef __linux__
# include <sys/prctl.h>
#endif

#include "confab-chat-session.h"
#include "confab-openai-provider.h"

/*
 * The process test-faults kills: Confab's core running one turn as the app
 * would. It stores a conversation in the database at argv[1], sends argv[3]
 * (or a default message) to the server at argv[2], says
 * "sent <conversation-id>" on stdout once the send returned, and streams the
 * reply until it is killed. It says "finished <state>" if the turn ends first.
 */

#define DEFAULT_TEXT "Tell me a long story, please: ünïcödé ✓ and \"quotes\"\non two lines."

static void
turn_finished_cb (ConfabChatSession  *session,
                  ConfabConversation *conversation,
                  ConfabMessage      *assistant,
                  gpointer            user_data)
{
  printf ("finished %d\n", (int) confab_message_get_state (assistant));
  fflush (stdout);
}

static void
store_failed_cb (ConfabChatSession *session,
                 GError            *error,
                 gpointer           user_data)
{
  g_printerr ("fault-child: store failed: %s\n", error->message);
  exit (2);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(ConfabStore) store = NULL;
  g_autoptr(ConfabOpenaiProvider) provider = NULL;
  g_autoptr(ConfabChatSession) session = NULL;
  g_autoptr(ConfabConversation) conversation = NULL;
  g_autoptr(GError) error = NULL;

#ifdef __linux__
  /* A test that failed before killing this process must not leave it
   * behind, holding the test's output open. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () == 1)
    return 1;
#endif

  if (argc < 3)
    {
      g_printerr ("Usage: %s DATABASE BASE-URL [TEXT]\n", argv[0]);
      return 1;
    }

  store = confab_store_new (argv[1], &error);
  if (store == NULL)
    {
      g_printerr ("fault-child: %s\n", error->message);
      return 2;
    }

  provider = confab_openai_provider_new (argv[2], "sk-fault-child");
  session = confab_chat_session_new (store);
  confab_chat_session_set_provider (session, CONFAB_PROVIDER (provider));
  g_signal_connect (session, "turn-finished", G_CALLBACK (turn_finished_cb), NULL);
  g_signal_connect (session, "store-failed", G_CALLBACK (store_failed_cb), NULL);

  conversation = confab_conversation_new ();
  confab_conversation_set_model (conversation, "fault-model");
  confab_conversation_set_messages_loaded (conversation, TRUE);

  if (!confab_chat_session_send (session, conversation, argc > 3 ? argv[3] : DEFAULT_TEXT,
                                 &error))
    {
      g_printerr ("fault-child: could not send: %s\n", error->message);
      return 2;
    }

  printf ("sent %" G_GINT64_FORMAT "\n", confab_conversation_get_id (conversation));
  fflush (stdout);

  /* Until the parent kills this process. */
  loop = g_main_loop_new (NULL, FALSE);
  g_main_loop_run (loop);

  return 0;
}
