/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bench-confab: how fast Confab starts, opens a long conversation and shows
 * a long streamed reply, measured on the real application and window.
 *
 * It prints one line per figure with its target and PASS/MISS, and always
 * exits 0: it measures, it does not gate CI. See README.md beside it.
 */
#include "config.h"

#include "confab-test-util.h"

#include <adwaita.h>
#ifdef GDK_WINDOWING_X11
#include <gdk/x11/gdkx.h>
#endif
#include <glib/gstdio.h>
#include <glib-unix.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "confab-application.h"
#include "confab-markdown-view-private.h"
#include "confab-message-row.h"
#include "confab-test-server.h"
#include "confab-window.h"

/* The streamed reply: 200 KB of Markdown in 40-byte deltas, one SSE event
 * each, every event padded to EVENT_SIZE bytes so that pieces of that size
 * are whole events. */
#define STREAM_SIZE   (200 * 1024)
#define DELTA_SIZE    40
#define EVENT_SIZE    320

/* The long conversation. */
#define N_MESSAGES    5000
#define LONG_EVERY    10
#define LONG_SIZE     (10 * 1024)

/* A frame budget at 60 Hz. */
#define STALL_TARGET_MS 16.0

/* Where each run's time starts: main () entry, on two clocks. */
static gint64 main_monotonic_us;
static double exec_to_main_ms = -1;

static char *data_home;

/* Main loop instrumentation */

static gint64
thread_cpu_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

/* Busy time of one main loop iteration: from poll returning to the next
 * poll. GLib skips the poll when a source of higher priority than every
 * file descriptor is ready, so such iterations count with the next one:
 * all that time, input was not looked at. */
static gint64  poll_returned_at;
static gint64  poll_returned_cpu_ns;  /* the main thread's CPU time then */
static gboolean stalls_recording;
static gint64  stall_max_us;
static gint64  stall_max_at;      /* when that iteration started */
static guint   stall_n_over;      /* iterations over STALL_TARGET_MS */
/* The same in the main thread's CPU time: without the time it waited (for
 * the X server, say) or was not running (another process, or on a shared
 * machine another guest, had the core). */
static gint64  stall_max_cpu_ns;
static guint   stall_n_over_cpu;
/* The next busy time alone, left out of the above (the Enter key's). */
static gboolean stall_next_wanted;
static gboolean stall_next_taken;
static gint64  stall_next_us;

/* With BENCH_CONFAB_MARKS=1, moments and stalls as "mark WHAT START_US
 * LENGTH_US" (g_get_monotonic_time ()) on stderr, to cut a
 * `perf record -k CLOCK_MONOTONIC` profile to them. */
static void
mark (const char *what,
      gint64      at,
      gint64      length)
{
  if (g_getenv ("BENCH_CONFAB_MARKS") != NULL)
    g_printerr ("mark %s %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n", what, at, length);
}

static int
bench_poll (GPollFD *fds,
            guint    n_fds,
            int      timeout)
{
  gint64 now = g_get_monotonic_time ();
  int ret;

  if (stall_next_wanted && poll_returned_at != 0)
    {
      stall_next_us = now - poll_returned_at;
      stall_next_wanted = FALSE;
      stall_next_taken = TRUE;
    }
  else if (stalls_recording && poll_returned_at != 0)
    {
      gint64 busy = now - poll_returned_at;
      gint64 busy_cpu = thread_cpu_ns () - poll_returned_cpu_ns;

      stall_max_cpu_ns = MAX (stall_max_cpu_ns, busy_cpu);
      if (busy_cpu > STALL_TARGET_MS * 1000000)
        stall_n_over_cpu++;

      if (busy > stall_max_us)
        {
          stall_max_us = busy;
          stall_max_at = poll_returned_at;
        }
      if (busy > STALL_TARGET_MS * 1000)
        stall_n_over++;
      if (busy > STALL_TARGET_MS * 1000)
        mark ("stall", poll_returned_at, busy);
    }

  ret = g_poll (fds, n_fds, timeout);
  poll_returned_at = g_get_monotonic_time ();
  poll_returned_cpu_ns = thread_cpu_ns ();

  return ret;
}

static void
stalls_reset (void)
{
  stall_max_us = 0;
  stall_max_at = 0;
  stall_n_over = 0;
  stall_max_cpu_ns = 0;
  stall_n_over_cpu = 0;
}

typedef struct
{
  gint64 max_us;
  gint64 max_at;
  guint  n_over;
  gint64 max_cpu_ns;
  guint  n_over_cpu;
} Stalls;

static Stalls
stalls_take (void)
{
  Stalls s = { stall_max_us, stall_max_at, stall_n_over, stall_max_cpu_ns, stall_n_over_cpu };

  stalls_reset ();
  return s;
}


static double
ms_since (gint64 start_us)
{
  return (g_get_monotonic_time () - start_us) / 1000.0;
}

static double
ms_between (gint64 start_us,
            gint64 end_us)
{
  return (end_us - start_us) / 1000.0;
}

/* VmRSS of this process, in MiB; -1 when unknown. */
static double
rss_mib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  line = strstr (status, "\nVmRSS:");
  if (line == NULL)
    return -1;

  return g_ascii_strtod (line + strlen ("\nVmRSS:"), NULL) / 1024.0;
}

/* Time from the start of the process to main (), from /proc/self/stat
 * (field 22, clock ticks since boot) against CLOCK_BOOTTIME. */
static double
read_exec_to_main_ms (void)
{
  g_autofree char *stat = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after_comm;
  struct timespec now;
  double start_s, now_s;
  long ticks = sysconf (_SC_CLK_TCK);

  clock_gettime (CLOCK_BOOTTIME, &now);
  if (!g_file_get_contents ("/proc/self/stat", &stat, NULL, NULL) || ticks <= 0)
    return -1;

  /* The command name may hold spaces: fields restart after its ')'. */
  after_comm = strrchr (stat, ')');
  if (after_comm == NULL)
    return -1;
  fields = g_strsplit (after_comm + 2, " ", -1);
  /* state is field 3, so starttime (22) is index 19 here. */
  if (g_strv_length (fields) < 20)
    return -1;

  start_s = g_ascii_strtod (fields[19], NULL) / ticks;
  now_s = now.tv_sec + now.tv_nsec / 1e9;

  return (now_s - start_s) * 1000.0;
}

/* The machine's load when a run starts: figures from a busy machine are slower. */
static char *
dup_loadavg (void)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) fields = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return g_strdup ("?");
  fields = g_strsplit (text, " ", 4);
  if (g_strv_length (fields) < 3)
    return g_strdup ("?");

  return g_strdup_printf ("%s %s %s", fields[0], fields[1], fields[2]);
}

/* Output */

/* One figure: NAN when it could not be measured. @verdict is -1 when
 * there is no target, else whether the figure meets @target. */
static void
report (const char *mode,
        const char *what,
        double      value,
        const char *unit,
        const char *target,
        int         verdict)
{
  g_autofree char *shown = isnan (value) ? g_strdup ("n/a") : g_strdup_printf ("%.1f", value);
  const char *word = verdict < 0 ? "" : verdict ? "PASS" : "MISS";

  if (isnan (value))
    word = target != NULL ? "MISS (not measured)" : "";

  if (target == NULL)
    g_print ("%-7s %-54s %10s %-4s\n", mode, what, shown, unit);
  else
    g_print ("%-7s %-54s %10s %-4s  target %-10s %s\n", mode, what, shown, unit, target, word);
}

static void
note (const char *mode,
      const char *format,
      ...) G_GNUC_PRINTF (2, 3);

static void
note (const char *mode,
      const char *format,
      ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);

  g_print ("%-7s # %s\n", mode, text);
}

/* Content */

/* Markdown of about @size bytes with headings, lists, code, tables and
 * quotes, ASCII only; @seed varies it. */
static char *
make_markdown (gsize size,
               guint seed)
{
  GString *out = g_string_new (NULL);
  guint n = seed;

  while (out->len < size)
    {
      n++;
      g_string_append_printf (out, "## Part %u: notes on the %s\n\n", n,
                              (n % 3) == 0 ? "parser" : (n % 3) == 1 ? "renderer" : "store");
      g_string_append_printf (out,
                              "This part explains how the **%s** stage works and why it keeps "
                              "its state small. Each call to `step_%u ()` reads one token, and "
                              "the [reference](https://example.com/docs/%u) has the details. "
                              "The cost of a step does not depend on what came before.\n\n",
                              (n % 2) ? "incremental" : "batched", n, n);
      g_string_append (out, "- keep the hot path free of allocations\n"
                            "- measure before changing anything\n"
                            "- prefer *plain* data structures over clever ones\n"
                            "  - nested item with `code` inside\n\n");

      if (n % 2 == 0)
        {
          g_string_append_printf (out, "```c\n/* step %u */\nstatic int\nstep_%u (Parser *p)\n{\n", n, n);
          for (guint i = 0; i < 12; i++)
            g_string_append_printf (out, "  if (p->buf[p->pos + %u] == '\\n')\n    p->lines++;\n", i);
          g_string_append (out, "  return p->pos++;\n}\n```\n\n");
        }
      else
        {
          g_string_append_printf (out, "```python\ndef step_%u(parser):\n", n);
          for (guint i = 0; i < 12; i++)
            g_string_append_printf (out, "    total += parser.read(%u)  # chunk %u\n", i * 16, i);
          g_string_append (out, "    return total\n```\n\n");
        }

      g_string_append (out, "| Stage | Input | Output | Cost |\n"
                            "|:------|:-----:|-------:|------|\n");
      for (guint i = 0; i < 4; i++)
        g_string_append_printf (out, "| stage %u | %u bytes | %u blocks | O(1) |\n",
                                i, (n * 37 + i * 11) % 4096, (n + i) % 64);
      g_string_append_c (out, '\n');

      g_string_append (out, "1. read the input\n2. parse what is new\n3. render the tail\n\n");
      if (n % 4 == 0)
        g_string_append (out, "> A quoted remark about streaming: render at most once per frame.\n\n");
    }

  return g_string_free (out, FALSE);
}

static char *
make_short_message (guint i,
                    gboolean user)
{
  static const char *const words[] = {
    "buffer", "frame", "widget", "thread", "parser", "model", "token", "layout",
    "cache", "stream", "reply", "label",
  };
  GString *out = g_string_new (NULL);
  guint n_words = user ? 8 + (i * 7) % 40 : 30 + (i * 13) % 120;

  if (user)
    g_string_append_printf (out, "Question %u: ", i);
  for (guint w = 0; w < n_words; w++)
    {
      g_string_append (out, words[(i + w * 5) % G_N_ELEMENTS (words)]);
      g_string_append_c (out, (w % 11 == 10) ? '.' : ' ');
    }
  if (user)
    g_string_append_c (out, '?');
  else
    g_string_append_printf (out, "\n\nUse `frame_%u ()` for that.", i);

  return g_string_free (out, FALSE);
}

static void
append_json_string (GString    *out,
                    const char *text,
                    gsize       len)
{
  for (gsize i = 0; i < len; i++)
    {
      char c = text[i];

      if (c == '"' || c == '\\')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, c);
        }
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if ((guchar) c < 0x20)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, c);
    }
}

static void
append_event (GString    *body,
              const char *json)
{
  gsize start = body->len;

  g_string_append (body, "data: ");
  g_string_append (body, json);
  g_assert (body->len - start <= EVENT_SIZE - 2);
  /* Spaces after the JSON are allowed, and make every event the same size. */
  while (body->len - start < EVENT_SIZE - 2)
    g_string_append_c (body, ' ');
  g_string_append (body, "\n\n");
}

#define CHUNK_HEAD "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\"," \
                   "\"created\":1700000000,\"model\":\"bench-model\",\"choices\":[{\"index\":0,"

/* The reply as Chat Completions SSE, one event per DELTA_SIZE bytes. */
static char *
make_sse_body (const char *content)
{
  GString *body = g_string_new (NULL);
  g_autoptr(GString) json = g_string_new (NULL);
  gsize len = strlen (content);

  append_event (body, CHUNK_HEAD "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
                      "\"finish_reason\":null}]}");

  for (gsize offset = 0; offset < len; offset += DELTA_SIZE)
    {
      g_string_assign (json, CHUNK_HEAD "\"delta\":{\"content\":\"");
      append_json_string (json, content + offset, MIN (DELTA_SIZE, len - offset));
      g_string_append (json, "\"},\"finish_reason\":null}]}");
      append_event (body, json->str);
    }

  append_event (body, CHUNK_HEAD "\"delta\":{},\"finish_reason\":\"stop\"}]}");
  g_string_append (body, "data: [DONE]\n\n");

  return g_string_free (body, FALSE);
}

/* The loopback server, in a process of its own */

/* Its writes would otherwise run on our main thread and count as our stalls
 * and CPU time; a real server is elsewhere too. */
static gboolean
serve_stdin_cb (int          fd,
                GIOCondition condition,
                gpointer     user_data)
{
  char buf[64];

  if ((condition & G_IO_IN) && read (fd, buf, sizeof buf) > 0)
    return G_SOURCE_CONTINUE;

  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static gboolean
serve_timeout_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static int
serve_main (const char *kind)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autofree char *content = make_markdown (STREAM_SIZE, 0);
  g_autofree char *body = NULL;
  gboolean paced = g_strcmp0 (kind, "paced") == 0;
  ConfabTestServer *server;

  /* Exactly STREAM_SIZE bytes: the windows below are fractions of it. */
  content[STREAM_SIZE] = '\0';
  body = make_sse_body (content);

  server = confab_test_server_new ();
  /* Flood: all of it written at once. Paced: one event a millisecond. */
  confab_test_server_queue (server, 200, "text/event-stream", body,
                            paced ? EVENT_SIZE : 0, paced ? 1 : 0,
                            CONFAB_TEST_END_COMPLETE, NULL);

  g_print ("%s\n", confab_test_server_get_base_url (server));
  fflush (stdout);

  /* Ends when the benchmark closes our stdin, or after ten minutes. */
  g_unix_fd_add (STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR, serve_stdin_cb, loop);
  g_timeout_add_seconds (600, serve_timeout_cb, loop);
  g_main_loop_run (loop);

  confab_test_server_free (server);
  return 0;
}

typedef struct
{
  GSubprocess *process;
  char        *base_url;
} Server;

static gboolean
server_start (Server     *server,
              const char *kind)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) lines = NULL;
  const char *argv[] = { "/proc/self/exe", "--serve", kind, NULL };

  server->process = g_subprocess_newv (argv,
                                       G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                       G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                                       &error);
  if (server->process == NULL)
    {
      g_printerr ("bench-confab: cannot start the loopback server: %s\n", error->message);
      return FALSE;
    }

  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server->process));
  server->base_url = g_data_input_stream_read_line (lines, NULL, NULL, &error);
  if (server->base_url == NULL || !g_str_has_prefix (server->base_url, "http://127.0.0.1:"))
    {
      g_printerr ("bench-confab: the loopback server did not start\n");
      return FALSE;
    }

  return TRUE;
}

static void
server_stop (Server *server)
{
  if (server->process != NULL)
    {
      g_output_stream_close (g_subprocess_get_stdin_pipe (server->process), NULL, NULL);
      g_subprocess_wait (server->process, NULL, NULL);
    }
  g_clear_object (&server->process);
  g_clear_pointer (&server->base_url, g_free);
}

/* Waiting */

static gboolean
set_flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates until *@flag, for at most @timeout_ms. Returns *@flag. */
static gboolean
wait_for (const gboolean *flag,
          guint           timeout_ms)
{
  gboolean expired = FALSE;
  guint id = g_timeout_add (timeout_ms, set_flag_cb, &expired);

  while (!*flag && !expired)
    g_main_context_iteration (NULL, TRUE);

  if (!expired)
    g_source_remove (id);

  return *flag;
}

static void
run_for (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, set_flag_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

/* The application and its window */

typedef struct
{
  ConfabApplication *app;
  ConfabWindow      *window;
  GdkFrameClock     *clock;
  gulong             after_paint_id;
  gulong             before_paint_id;

  gint64             map_at;          /* GtkWidget::map */
  gint64             surface_mapped_at;  /* GdkSurface:mapped (the X server's MapNotify) */
  gint64             first_frame_at;  /* first after-paint once mapped */

  guint              n_frames;
  gint64             last_frame_at;
  /* Main-thread CPU and wall time of the last frame, before-paint to
   * after-paint, and the CPU of all frames so far. */
  gint64             frame_started_cpu_ns;
  gint64             frame_started_at;
  gint64             last_frame_cpu_ns;
  gint64             last_frame_wall_us;
  gint64             frame_cpu_total_ns;
  /* When each phase of the frame under way ended (0: not run). */
  gint64             update_done_at;
  gint64             layout_done_at;
  gint64             paint_done_at;
  gboolean           frame_seen;      /* cleared by whoever waits for the next frame */

  /* Called after each paint, if set. */
  void             (*on_paint) (gpointer data);
  gpointer           on_paint_data;
} App;

static App app;

static void
before_paint_cb (GdkFrameClock *clock,
                 gpointer       user_data)
{
  app.frame_started_cpu_ns = thread_cpu_ns ();
  app.frame_started_at = g_get_monotonic_time ();
  app.update_done_at = app.layout_done_at = app.paint_done_at = 0;
}

static void
phase_done_cb (GdkFrameClock *clock,
               gpointer       user_data)
{
  gint64 *done_at = user_data;

  *done_at = g_get_monotonic_time ();
}

/* The frame's phases as "mark frame START UPDATE_US LAYOUT_US PAINT_US
 * REST_US CPU_US": tick callbacks, size requests and allocation, snapshot
 * and rendering, the rest (after-paint), and the main thread's CPU time in
 * all of them. A phase not run counts 0. */
static void
mark_frame (gint64 now)
{
  gint64 at = app.frame_started_at;
  gint64 update = 0, layout = 0, paint = 0;

  if (g_getenv ("BENCH_CONFAB_MARKS") == NULL)
    return;

  if (app.update_done_at != 0)
    {
      update = app.update_done_at - at;
      at = app.update_done_at;
    }
  if (app.layout_done_at != 0)
    {
      layout = app.layout_done_at - at;
      at = app.layout_done_at;
    }
  if (app.paint_done_at != 0)
    {
      paint = app.paint_done_at - at;
      at = app.paint_done_at;
    }

  g_printerr ("mark frame %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT
              " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n",
              app.frame_started_at, update, layout, paint, now - at,
              app.last_frame_cpu_ns / 1000);
}

static void
after_paint_cb (GdkFrameClock *clock,
                gpointer       user_data)
{
  gint64 now = g_get_monotonic_time ();
  gint64 cpu = thread_cpu_ns ();

  if (app.window == NULL || !gtk_widget_get_mapped (GTK_WIDGET (app.window)))
    return;

  if (app.frame_started_at != 0)
    {
      app.last_frame_cpu_ns = cpu - app.frame_started_cpu_ns;
      app.last_frame_wall_us = now - app.frame_started_at;
      app.frame_cpu_total_ns += app.last_frame_cpu_ns;
      mark_frame (now);
    }

  if (app.first_frame_at == 0)
    app.first_frame_at = now;
  app.n_frames++;
  app.last_frame_at = now;
  app.frame_seen = TRUE;

  if (app.on_paint != NULL)
    app.on_paint (app.on_paint_data);
}

static void
surface_mapped_cb (GdkSurface *surface,
                   GParamSpec *pspec,
                   gpointer    user_data)
{
  if (app.surface_mapped_at == 0 && gdk_surface_get_mapped (surface))
    app.surface_mapped_at = g_get_monotonic_time ();
}

static void
window_realize_cb (GtkWidget *widget,
                   gpointer   user_data)
{
  GdkSurface *surface = gtk_native_get_surface (GTK_NATIVE (widget));

  app.clock = g_object_ref (gtk_widget_get_frame_clock (widget));
  app.before_paint_id = g_signal_connect (app.clock, "before-paint",
                                          G_CALLBACK (before_paint_cb), NULL);
  app.after_paint_id = g_signal_connect (app.clock, "after-paint",
                                         G_CALLBACK (after_paint_cb), NULL);
  g_signal_connect_after (app.clock, "update", G_CALLBACK (phase_done_cb), &app.update_done_at);
  g_signal_connect_after (app.clock, "layout", G_CALLBACK (phase_done_cb), &app.layout_done_at);
  g_signal_connect_after (app.clock, "paint", G_CALLBACK (phase_done_cb), &app.paint_done_at);
  g_signal_connect (surface, "notify::mapped", G_CALLBACK (surface_mapped_cb), NULL);
}

static void
window_map_cb (GtkWidget *widget,
               gpointer   user_data)
{
  if (app.map_at == 0)
    app.map_at = g_get_monotonic_time ();
}

static void
window_added_cb (GtkApplication *application,
                 GtkWindow      *window,
                 gpointer        user_data)
{
  if (!CONFAB_IS_WINDOW (window) || app.window != NULL)
    return;

  app.window = CONFAB_WINDOW (window);
  g_signal_connect_after (window, "realize", G_CALLBACK (window_realize_cb), NULL);
  g_signal_connect_after (window, "map", G_CALLBACK (window_map_cb), NULL);
}

static gboolean
app_start (const char *base_url)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  static guint n_starts;
  g_autofree char *app_id = g_strdup_printf ("%s.Bench%u", APP_ID, ++n_starts);

  g_settings_set_string (settings, "base-url", base_url ? base_url : "http://127.0.0.1:9/v1");
  g_settings_set_string (settings, "model", "bench-model");

  memset (&app, 0, sizeof app);
  app.app = confab_application_new ();
  /* As the window tests do: a unique id keeps each start apart on the bus. */
  g_application_set_application_id (G_APPLICATION (app.app), app_id);
  g_application_set_flags (G_APPLICATION (app.app), G_APPLICATION_NON_UNIQUE);
  g_signal_connect (app.app, "window-added", G_CALLBACK (window_added_cb), NULL);

  if (!g_application_register (G_APPLICATION (app.app), NULL, &error))
    {
      g_printerr ("bench-confab: cannot register the application: %s\n", error->message);
      return FALSE;
    }

  /* A blinking cursor would repaint now and then and blur "settled". */
  g_object_set (gtk_settings_get_default (), "gtk-cursor-blink", FALSE, NULL);

  g_application_activate (G_APPLICATION (app.app));

  if (app.window == NULL)
    {
      g_printerr ("bench-confab: the application showed no window\n");
      return FALSE;
    }

  return TRUE;
}

static gboolean
first_frame_painted (void)
{
  gboolean done = app.first_frame_at != 0 && app.surface_mapped_at != 0;
  gboolean expired = FALSE;
  guint id;

  if (done)
    return TRUE;

  id = g_timeout_add (20000, set_flag_cb, &expired);
  while (!(app.first_frame_at != 0 && app.surface_mapped_at != 0) && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (id);

  return !expired;
}

static void
app_stop (void)
{
  if (app.clock != NULL)
    {
      g_clear_signal_handler (&app.after_paint_id, app.clock);
      g_clear_signal_handler (&app.before_paint_id, app.clock);
      g_signal_handlers_disconnect_matched (app.clock, G_SIGNAL_MATCH_FUNC, 0, 0, NULL,
                                            phase_done_cb, NULL);
      g_clear_object (&app.clock);
    }
  if (app.window != NULL)
    gtk_window_destroy (GTK_WINDOW (app.window));
  app.window = NULL;
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&app.app);
}

static const char *
renderer_name (void)
{
  GskRenderer *renderer;

  if (app.window == NULL)
    return "?";
  renderer = gtk_native_get_renderer (GTK_NATIVE (app.window));

  return renderer ? G_OBJECT_TYPE_NAME (renderer) : "none";
}

/* The display server, and on X11 the window manager: without one, GTK asks
 * the X server in every frame whether one has appeared. */
static const char *
display_name (void)
{
  GdkDisplay *display = gdk_display_get_default ();

#ifdef GDK_WINDOWING_X11
  if (GDK_IS_X11_DISPLAY (display))
    {
      static char name[128];
      GdkX11Screen *screen = gdk_x11_display_get_screen (display);
      const char *wm = gdk_x11_screen_get_window_manager_name (screen);

      if (g_strcmp0 (wm, "unknown") == 0)
        return "X11 without a window manager";
      g_snprintf (name, sizeof name, "X11 with the window manager %s", wm);
      return name;
    }
#endif

  return display != NULL ? G_OBJECT_TYPE_NAME (display) : "no display";
}

/* Iterates until no frame was painted for @quiet_ms (at most @max_ms).
 * Returns the time of the last frame before the quiet, or 0 on timeout. */
static gint64
wait_settled (guint quiet_ms,
              guint max_ms)
{
  gint64 start = g_get_monotonic_time ();

  while (g_get_monotonic_time () - start < (gint64) max_ms * 1000)
    {
      gint64 last = MAX (app.last_frame_at, start);
      gint64 quiet_for = g_get_monotonic_time () - last;

      if (quiet_for >= (gint64) quiet_ms * 1000)
        return last;
      run_for (MAX (1, (guint) (quiet_ms - quiet_for / 1000)));
    }

  return 0;
}

/* Waits for the next painted frame; returns its time, 0 on timeout. */
static gint64
next_frame (guint timeout_ms)
{
  app.frame_seen = FALSE;
  if (!wait_for (&app.frame_seen, timeout_ms))
    return 0;
  return app.last_frame_at;
}

/* (a) launch */

static void
bench_launch (void)
{
  const char *mode = "launch";

  if (!app_start (NULL) || !first_frame_painted ())
    {
      note (mode, "MISS: the window was not shown");
      app_stop ();
      return;
    }

  note (mode, "renderer %s on %s; times since main () and, from /proc/self/stat, since exec", renderer_name (), display_name ());
  if (exec_to_main_ms >= 0)
    report (mode, "process start to main () (10 ms clock ticks)", exec_to_main_ms, "ms", NULL, -1);
  report (mode, "window mapped (GtkWidget::map), since main ()",
          ms_between (main_monotonic_us, app.map_at), "ms", NULL, -1);
  report (mode, "window mapped (X MapNotify), since main ()",
          ms_between (main_monotonic_us, app.surface_mapped_at), "ms", NULL, -1);
  report (mode, "first frame painted, since main ()",
          ms_between (main_monotonic_us, app.first_frame_at), "ms", NULL, -1);
  if (exec_to_main_ms >= 0)
    report (mode, "first frame painted, since process start",
            exec_to_main_ms + ms_between (main_monotonic_us, app.first_frame_at), "ms", NULL, -1);

  run_for (1000);
  report (mode, "RSS at idle (1 s after the first frame)", rss_mib (), "MiB", NULL, -1);

  app_stop ();
}

/* Looking at widgets */

static guint
count_widgets (GtkWidget *widget)
{
  guint n = 1;

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    n += count_widgets (child);

  return n;
}

/* The markdown view of the row that shows @message, if one does. */
static ConfabMarkdownView *
find_view_of (GtkWidget     *widget,
              ConfabMessage *message)
{
  if (CONFAB_IS_MESSAGE_ROW (widget))
    return confab_message_row_get_message (CONFAB_MESSAGE_ROW (widget)) == message
           ? confab_message_row_get_content_view (CONFAB_MESSAGE_ROW (widget)) : NULL;

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      ConfabMarkdownView *view = find_view_of (child, message);

      if (view != NULL)
        return view;
    }

  return NULL;
}

static gint64
process_cpu_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

/* What a frame costs that changes one label at the end of @view, as each
 * streamed chunk does: with a long text above it, that cost should not
 * grow with what is already shown. */
static void
probe_frames (const char         *mode,
              ConfabMarkdownView *view,
              const char         *where)
{
  GtkWidget *label = NULL;
  g_autofree char *original = NULL;
  g_autofree char *what = NULL;
  const char *env = g_getenv ("BENCH_CONFAB_PROBE_FRAMES");
  guint n = env ? (guint) atoi (env) : 30;
  double cpu = 0, wall = 0, wall_max = 0;
  gint64 process_start, thread_start;
  guint n_painted = 0;

  /* The last block of the last page, if it is a label */
  for (GtkWidget *page = gtk_widget_get_last_child (GTK_WIDGET (view));
       page != NULL && label == NULL;
       page = gtk_widget_get_prev_sibling (page))
    for (GtkWidget *child = gtk_widget_get_last_child (page);
         child != NULL && label == NULL;
         child = gtk_widget_get_prev_sibling (child))
      if (GTK_IS_LABEL (child))
        label = child;
  if (label == NULL)
    {
      note (mode, "no label at the end of the %s to change", where);
      return;
    }

  /* Let what is pending go first. */
  wait_settled (200, 5000);

  original = g_strdup (gtk_label_get_label (GTK_LABEL (label)));
  if (env != NULL)
    g_printerr ("probe start %" G_GINT64_FORMAT "\n", g_get_monotonic_time ());
  process_start = process_cpu_ns ();
  thread_start = thread_cpu_ns ();

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *text = g_strdup_printf ("%s%s", original, (i % 2) ? "" : " x");

      gtk_label_set_label (GTK_LABEL (label), text);
      if (next_frame (2000) == 0)
        break;
      n_painted++;
      cpu += app.last_frame_cpu_ns / 1e6;
      wall += app.last_frame_wall_us / 1e3;
      wall_max = MAX (wall_max, app.last_frame_wall_us / 1e3);
    }

  if (env != NULL)
    g_printerr ("probe end %" G_GINT64_FORMAT "\n", g_get_monotonic_time ());
  gtk_label_set_label (GTK_LABEL (label), original);

  if (n_painted == 0)
    return;

  what = g_strdup_printf ("frame changing one label, %s: CPU", where);
  report (mode, what, cpu / n_painted, "ms", "<= 16 ms", cpu / n_painted <= STALL_TARGET_MS);
  report (mode, "  the same, wall time (average)", wall / n_painted, "ms", NULL, -1);
  report (mode, "  the same, CPU of other threads (GL: llvmpipe)",
          ((process_cpu_ns () - process_start) - (thread_cpu_ns () - thread_start)) / 1e6 / n_painted,
          "ms", NULL, -1);
  note (mode, "over %u frames; longest %.1f ms", n_painted, wall_max);
}

/* (b) open */

static gboolean
fill_store (const char  *mode,
            ConfabStore *store)
{
  g_autoptr(ConfabConversation) conversation = confab_conversation_new ();
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  gint64 created = g_get_real_time () - (gint64) N_MESSAGES * 60 * G_USEC_PER_SEC;
  gsize total = 0;

  confab_conversation_set_title (conversation, "A very long conversation");
  confab_conversation_set_model (conversation, "bench-model");
  confab_conversation_set_created_at (conversation, created);
  confab_conversation_set_updated_at (conversation, created);
  if (!confab_store_insert_conversation (store, conversation, &error))
    {
      note (mode, "MISS: cannot store the conversation: %s", error->message);
      return FALSE;
    }

  for (guint i = 0; i < N_MESSAGES; i++)
    {
      gboolean user = (i % 2) == 0;
      g_autofree char *text = NULL;
      g_autoptr(ConfabMessage) message = NULL;

      if (i % LONG_EVERY == LONG_EVERY - 1)
        text = make_markdown (LONG_SIZE, i);
      else
        text = make_short_message (i, user);
      total += strlen (text);

      message = confab_message_new (user ? CONFAB_ROLE_USER : CONFAB_ROLE_ASSISTANT, text);
      confab_message_set_conversation_id (message, confab_conversation_get_id (conversation));
      confab_message_set_state (message, CONFAB_MESSAGE_STATE_COMPLETE);
      confab_message_set_created_at (message, created + (gint64) i * 60 * G_USEC_PER_SEC);
      if (!user)
        confab_message_set_model (message, "bench-model");

      if (!confab_store_insert_message (store, message, &error))
        {
          note (mode, "MISS: cannot store message %u: %s", i, error->message);
          return FALSE;
        }
    }

  note (mode, "stored %u messages (%.1f MiB of text) in %.1f s",
        N_MESSAGES, total / (1024.0 * 1024.0), ms_since (start) / 1000.0);
  return TRUE;
}

/* Counts message rows bound to a message, those of them mapped (on
 * screen), and the mapped ones whose text is not rendered yet. */
static void
count_rows (GtkWidget *widget,
            guint     *n_bound,
            guint     *n_rows,
            guint     *n_pending)
{
  if (CONFAB_IS_MESSAGE_ROW (widget))
    {
      ConfabMessage *message = confab_message_row_get_message (CONFAB_MESSAGE_ROW (widget));
      ConfabMarkdownView *view;

      if (message == NULL)
        return;
      (*n_bound)++;
      if (!gtk_widget_get_mapped (widget))
        return;

      (*n_rows)++;
      view = confab_message_row_get_content_view (CONFAB_MESSAGE_ROW (widget));
      if (view != NULL && *confab_message_get_content (message) != '\0' &&
          (confab_markdown_view_get_render_count (view) == 0 ||
           gtk_widget_get_first_child (GTK_WIDGET (view)) == NULL ||
           confab_markdown_view_shows_unbuilt (view)))
        (*n_pending)++;
      return;
    }

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    count_rows (child, n_bound, n_rows, n_pending);
}

typedef struct
{
  gint64 first_frame_at;
  gint64 content_frame_at;
  guint  rows_in_first_frame;
  guint  pending_in_first_frame;
  guint  bound_in_first_frame;
  guint  rows_shown;
  guint  rows_bound;
} OpenWatch;

static void
open_paint_cb (gpointer user_data)
{
  OpenWatch *watch = user_data;
  GtkListView *list = confab_chat_view_get_message_list (confab_window_get_chat_view (app.window));
  guint n_bound = 0, n_rows = 0, n_pending = 0;

  count_rows (GTK_WIDGET (list), &n_bound, &n_rows, &n_pending);

  if (watch->first_frame_at == 0)
    {
      watch->first_frame_at = app.last_frame_at;
      watch->rows_in_first_frame = n_rows;
      watch->pending_in_first_frame = n_pending;
      watch->bound_in_first_frame = n_bound;
    }

  if (watch->content_frame_at == 0 && n_rows > 0 && n_pending == 0)
    {
      watch->content_frame_at = app.last_frame_at;
      watch->rows_shown = n_rows;
      watch->rows_bound = n_bound;
      app.on_paint = NULL;
    }
}

static void
bench_open (void)
{
  const char *mode = "open";
  g_autofree char *path = confab_store_dup_default_path ();
  g_autoptr(ConfabStore) store = NULL;
  g_autoptr(ConfabConversation) conversation = NULL;
  g_autoptr(GError) error = NULL;
  OpenWatch watch = { 0, };
  gint64 start_at, call_at, returned_at, settled_at;
  double rss_before, rss_after;
  Stalls stalls;

  store = confab_store_new (path, &error);
  if (store == NULL)
    {
      note (mode, "MISS: cannot create the database: %s", error->message);
      return;
    }
  if (!fill_store (mode, store))
    return;
  g_clear_object (&store);

  /* A new start of the app on that database. */
  start_at = g_get_monotonic_time ();
  if (!app_start (NULL) || !first_frame_painted ())
    {
      note (mode, "MISS: the window was not shown");
      app_stop ();
      return;
    }

  note (mode, "renderer %s on %s", renderer_name (), display_name ());
  report (mode, "start on the 5,000-message database to first frame",
          ms_between (start_at, app.first_frame_at), "ms", NULL, -1);

  if (g_list_model_get_n_items (confab_window_get_conversations (app.window)) < 1)
    {
      note (mode, "MISS: the conversation is not in the sidebar");
      app_stop ();
      return;
    }
  conversation = g_list_model_get_item (confab_window_get_conversations (app.window), 0);

  run_for (1000);
  rss_before = rss_mib ();

  app.on_paint = open_paint_cb;
  app.on_paint_data = &watch;
  stalls_reset ();
  stalls_recording = TRUE;

  call_at = g_get_monotonic_time ();
  mark ("open", call_at, 0);
  confab_window_show_conversation (app.window, conversation);
  returned_at = g_get_monotonic_time ();

  /* The first frame, then the one that shows the rows' text, then quiet. */
  next_frame (10000);
  {
    gboolean expired = FALSE;
    guint id = g_timeout_add (10000, set_flag_cb, &expired);

    while (watch.content_frame_at == 0 && !expired)
      g_main_context_iteration (NULL, TRUE);
    if (!expired)
      g_source_remove (id);
  }
  settled_at = wait_settled (300, 20000);
  stalls_recording = FALSE;
  stalls = stalls_take ();
  app.on_paint = NULL;
  rss_after = rss_mib ();

  report (mode, "confab_window_show_conversation () returned after",
          ms_between (call_at, returned_at), "ms", NULL, -1);
  report (mode, "show_conversation () to first frame painted",
          watch.first_frame_at ? ms_between (call_at, watch.first_frame_at) : NAN, "ms",
          "< 100 ms", watch.first_frame_at && ms_between (call_at, watch.first_frame_at) < 100);
  note (mode, "that frame had %u message rows on screen (%u with their text not rendered "
        "yet) and %u rows made and bound in all",
        watch.rows_in_first_frame, watch.pending_in_first_frame, watch.bound_in_first_frame);
  report (mode, "show_conversation () to first frame with rows' text",
          watch.content_frame_at ? ms_between (call_at, watch.content_frame_at) : NAN, "ms",
          "< 100 ms", watch.content_frame_at && ms_between (call_at, watch.content_frame_at) < 100);
  report (mode, "show_conversation () to settled (last frame)",
          settled_at ? ms_between (call_at, settled_at) : NAN, "ms", NULL, -1);
  report (mode, "longest main-thread stall while opening",
          stalls.max_us / 1000.0, "ms", NULL, -1);
  note (mode, "%u message rows on screen, %u rows made and bound, %u messages loaded of %u",
        watch.rows_shown, watch.rows_bound, g_list_model_get_n_items (G_LIST_MODEL (conversation)),
        confab_conversation_get_message_count (conversation));
  {
    /* The newest message, at the bottom. */
    ConfabMessage *last = confab_conversation_get_last_message (conversation);
    GtkListView *list = confab_chat_view_get_message_list (confab_window_get_chat_view (app.window));
    ConfabMarkdownView *view = last ? find_view_of (GTK_WIDGET (list), last) : NULL;

    if (view != NULL)
      probe_frames (mode, view, "last message");
  }
  report (mode, "RSS before opening", rss_before, "MiB", NULL, -1);
  report (mode, "RSS after opening (settled)", rss_after, "MiB", NULL, -1);
  report (mode, "RSS growth", rss_after - rss_before, "MiB", "< 30 MiB",
          rss_after - rss_before < 30);

  g_clear_object (&conversation);
  app_stop ();
}

/* (c) stream, (d) RSS around it */

typedef struct
{
  gsize  length;
  gint64 cpu_ns;        /* main-thread CPU so far */
  gint64 frame_cpu_ns;  /* of which in frames */
  gint64 at;
} Sample;

typedef struct
{
  gsize  length;        /* of the text when the frame was painted */
  gint64 cpu_ns;
  gint64 wall_us;
} FrameSample;

typedef struct
{
  ConfabMessage *assistant;
  GArray        *samples;       /* Sample, one per notify::content */
  GArray        *frames;        /* FrameSample, one per frame while recording */
  gboolean       recording;
  gboolean       finished;
  gint64         finished_at;
  gint64         first_content_at;
  gint64         first_content_frame_at;
  ConfabMarkdownView *view;     /* the reply's, once found */
  guint          n_unbuilt;     /* frames that showed room without its text */
  guint          n_unbuilt_after; /* the same after the turn, until settled */
  gboolean       settling;
} StreamWatch;

static void
content_notify_cb (ConfabMessage *message,
                   GParamSpec    *pspec,
                   StreamWatch   *watch)
{
  Sample sample = { confab_message_get_content_length (message), thread_cpu_ns (),
                    app.frame_cpu_total_ns, g_get_monotonic_time () };

  if (watch->first_content_at == 0 && sample.length > 0)
    watch->first_content_at = sample.at;
  g_array_append_val (watch->samples, sample);
}

static void
turn_started_cb (ConfabChatSession  *session,
                 ConfabConversation *conversation,
                 ConfabMessage      *assistant,
                 StreamWatch        *watch)
{
  if (watch->assistant != NULL)
    return;
  watch->assistant = g_object_ref (assistant);
  g_signal_connect (assistant, "notify::content", G_CALLBACK (content_notify_cb), watch);
}

static void
turn_finished_cb (ConfabChatSession  *session,
                  ConfabConversation *conversation,
                  ConfabMessage      *assistant,
                  StreamWatch        *watch)
{
  if (assistant == watch->assistant && !watch->finished)
    {
      watch->finished = TRUE;
      watch->finished_at = g_get_monotonic_time ();
      mark ("finished", watch->finished_at, 0);
    }
}

static void
stream_paint_cb (gpointer user_data)
{
  StreamWatch *watch = user_data;
  FrameSample frame = { watch->assistant ? confab_message_get_content_length (watch->assistant) : 0,
                        app.last_frame_cpu_ns, app.last_frame_wall_us };

  if (watch->first_content_at != 0 && watch->first_content_frame_at == 0)
    watch->first_content_frame_at = app.last_frame_at;
  if (!watch->recording && !watch->settling)
    return;
  if (watch->recording)
    g_array_append_val (watch->frames, frame);

  /* A frame is quicker when it leaves what is new undrawn: count those. */
  if (watch->view == NULL && watch->assistant != NULL)
    {
      GtkListView *list = confab_chat_view_get_message_list (confab_window_get_chat_view (app.window));

      watch->view = find_view_of (GTK_WIDGET (list), watch->assistant);
      if (watch->view != NULL)
        g_object_add_weak_pointer (G_OBJECT (watch->view), (gpointer *) &watch->view);
    }
  if (watch->view != NULL && confab_markdown_view_shows_unbuilt (watch->view))
    {
      if (watch->recording)
        watch->n_unbuilt++;
      else
        watch->n_unbuilt_after++;
    }
}

/* Presses a key in the composer through its own key handling, as the
 * window tests do. */
static gboolean
press_key (guint           keyval,
           GdkModifierType state)
{
  GtkWidget *composer = GTK_WIDGET (confab_chat_view_get_composer (confab_window_get_chat_view (app.window)));
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (composer);
  gboolean handled = FALSE;

  for (guint i = 0; i < g_list_model_get_n_items (controllers) && !handled; i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_EVENT_CONTROLLER_KEY (controller) &&
          gtk_event_controller_get_propagation_phase (controller) == GTK_PHASE_CAPTURE)
        g_signal_emit_by_name (controller, "key-pressed", keyval, 0, state, &handled);
    }

  return handled;
}

typedef struct
{
  guint  n_notifies;
  double per_notify_us;     /* all main-thread CPU, per notify::content */
  double per_delta_us;      /* the same, per 40 bytes of text */
  double outside_frames_us; /* per notify, leaving out frames */
  guint  n_frames;
  double frame_cpu_ms;      /* average per frame */
  double frame_wall_ms;
  double frame_wall_max_ms;
  gboolean widened;         /* the window held less than two notifies */
} LengthWindow;

/* Main-thread CPU while the text grew from @lo to @hi bytes. Returns FALSE
 * when fewer than two notifies fell in it. */
static gboolean
measure_window (StreamWatch  *watch,
                gsize         lo,
                gsize         hi,
                LengthWindow *out)
{
  guint first = G_MAXUINT, last = G_MAXUINT;
  const Sample *a, *b;
  double cpu_us, outside_us, frame_cpu = 0, frame_wall = 0;

  memset (out, 0, sizeof *out);

  for (guint i = 0; i < watch->frames->len; i++)
    {
      const FrameSample *f = &g_array_index (watch->frames, FrameSample, i);

      if (f->length < lo || f->length > hi)
        continue;
      out->n_frames++;
      frame_cpu += f->cpu_ns / 1e6;
      frame_wall += f->wall_us / 1e3;
      out->frame_wall_max_ms = MAX (out->frame_wall_max_ms, f->wall_us / 1e3);
    }
  if (out->n_frames > 0)
    {
      out->frame_cpu_ms = frame_cpu / out->n_frames;
      out->frame_wall_ms = frame_wall / out->n_frames;
    }

  for (guint i = 0; i < watch->samples->len; i++)
    {
      const Sample *s = &g_array_index (watch->samples, Sample, i);

      if (s->length >= lo && first == G_MAXUINT)
        first = i;
      if (s->length <= hi)
        last = i;
    }

  /* When one read brings more than the window (all sent at once), take
   * the one notify after the first instead. */
  if (first != G_MAXUINT && (last == G_MAXUINT || last <= first) &&
      first + 1 < watch->samples->len)
    {
      last = first + 1;
      out->widened = TRUE;
    }

  if (first == G_MAXUINT || last == G_MAXUINT || last <= first)
    {
      out->n_notifies = 0;
      return FALSE;
    }

  a = &g_array_index (watch->samples, Sample, first);
  b = &g_array_index (watch->samples, Sample, last);
  cpu_us = (b->cpu_ns - a->cpu_ns) / 1000.0;
  outside_us = ((b->cpu_ns - b->frame_cpu_ns) - (a->cpu_ns - a->frame_cpu_ns)) / 1000.0;
  out->n_notifies = last - first;
  out->per_notify_us = cpu_us / out->n_notifies;
  out->outside_frames_us = outside_us / out->n_notifies;
  out->per_delta_us = cpu_us / MAX (1.0, (double) (b->length - a->length) / DELTA_SIZE);

  return TRUE;
}

/* Fits frame CPU = a + b * new KB + c * shown KB over the frames painted
 * while the text grew (least squares); c is what a frame costs for text
 * already on screen, which should be 0. Returns FALSE with too few frames. */
static gboolean
fit_frames (GArray *frames,
            double  coef[3])
{
  double m[3][4] = { { 0, } };
  gsize previous = 0;
  guint n = 0;

  for (guint i = 0; i < frames->len; i++)
    {
      const FrameSample *f = &g_array_index (frames, FrameSample, i);
      double x[3] = { 1.0, (f->length - MIN (previous, f->length)) / 1024.0, f->length / 1024.0 };
      double y = f->cpu_ns / 1e6;

      if (f->length <= previous || f->length < 2048)
        {
          previous = MAX (previous, f->length);
          continue;
        }
      previous = f->length;
      n++;
      for (guint r = 0; r < 3; r++)
        {
          for (guint c = 0; c < 3; c++)
            m[r][c] += x[r] * x[c];
          m[r][3] += x[r] * y;
        }
    }

  if (n < 10)
    return FALSE;

  /* Gauss-Jordan on the normal equations. */
  for (guint col = 0; col < 3; col++)
    {
      guint pivot = col;

      for (guint r = col + 1; r < 3; r++)
        if (fabs (m[r][col]) > fabs (m[pivot][col]))
          pivot = r;
      if (fabs (m[pivot][col]) < 1e-12)
        return FALSE;
      for (guint c = 0; c < 4; c++)
        {
          double t = m[col][c];
          m[col][c] = m[pivot][c];
          m[pivot][c] = t;
        }
      for (guint r = 0; r < 3; r++)
        {
          double factor;

          if (r == col)
            continue;
          factor = m[r][col] / m[col][col];
          for (guint c = col; c < 4; c++)
            m[r][c] -= factor * m[col][c];
        }
    }

  for (guint r = 0; r < 3; r++)
    coef[r] = m[r][3] / m[r][r];

  return TRUE;
}

static void
bench_stream (const char *kind)
{
  const char *mode = g_str_equal (kind, "paced") ? "paced" : "stream";
  Server server = { 0, };
  StreamWatch watch = { 0, };
  ConfabChatSession *session;
  GtkTextView *composer;
  gint64 enter_at, settled_at, enter_stall_us;
  guint frames_before, frames_streaming, frames_to_settle;
  double rss_before, rss_after, rss_idle, longest_frame = 0;
  Stalls stream_stalls, end_stalls;
  LengthWindow small, large;
  gboolean have_small, have_large;

  if (!server_start (&server, kind))
    {
      note (mode, "MISS: no loopback server");
      server_stop (&server);
      return;
    }

  if (!app_start (server.base_url) || !first_frame_painted ())
    {
      note (mode, "MISS: the window was not shown");
      app_stop ();
      server_stop (&server);
      return;
    }

  session = confab_application_get_session (app.app);
  if (session == NULL)
    {
      note (mode, "MISS: the application has no chat session");
      app_stop ();
      server_stop (&server);
      return;
    }

  watch.samples = g_array_sized_new (FALSE, FALSE, sizeof (Sample), 8192);
  watch.frames = g_array_sized_new (FALSE, FALSE, sizeof (FrameSample), 1024);
  g_signal_connect (session, "turn-started", G_CALLBACK (turn_started_cb), &watch);
  g_signal_connect (session, "turn-finished", G_CALLBACK (turn_finished_cb), &watch);

  /* Idle first, as a person would find it. */
  run_for (500);
  rss_before = rss_mib ();

  composer = confab_chat_view_get_composer (confab_window_get_chat_view (app.window));
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (composer),
                            "Write a long technical document with code, tables and lists.", -1);
  run_for (100);

  app.on_paint = stream_paint_cb;
  app.on_paint_data = &watch;
  frames_before = app.n_frames;
  stalls_reset ();
  stalls_recording = TRUE;
  watch.recording = TRUE;

  /* The busy time that includes the key press is taken on its own. */
  stall_next_taken = FALSE;
  stall_next_wanted = TRUE;
  enter_at = g_get_monotonic_time ();
  if (!press_key (GDK_KEY_Return, 0))
    note (mode, "the composer did not take Enter");
  wait_for (&stall_next_taken, 10000);
  enter_stall_us = stall_next_us;

  wait_for (&watch.finished, 120000);
  stream_stalls = stalls_take ();
  frames_streaming = app.n_frames - frames_before;
  for (guint i = 0; i < watch.frames->len; i++)
    longest_frame = MAX (longest_frame, g_array_index (watch.frames, FrameSample, i).wall_us / 1e3);

  watch.recording = FALSE;
  watch.settling = TRUE;
  settled_at = wait_settled (300, 30000);
  watch.settling = FALSE;
  stalls_recording = FALSE;
  end_stalls = stalls_take ();
  frames_to_settle = app.n_frames - frames_before;
  app.on_paint = NULL;
  rss_after = rss_mib ();
  run_for (1000);
  rss_idle = rss_mib ();

  note (mode, "renderer %s on %s; %u-byte reply in %u-byte deltas, one SSE event each, %s",
        renderer_name (), display_name (), STREAM_SIZE, DELTA_SIZE,
        g_str_equal (kind, "paced") ? "one event a millisecond (one HTTP chunk each)"
                                    : "all written at once by a server in another process");

  if (!watch.finished)
    {
      note (mode, "MISS: the turn did not finish in 120 s");
      goto out;
    }
  if (watch.assistant == NULL ||
      confab_message_get_content_length (watch.assistant) != STREAM_SIZE ||
      confab_message_get_state (watch.assistant) != CONFAB_MESSAGE_STATE_COMPLETE)
    note (mode, "MISS: the reply is %" G_GSIZE_FORMAT " bytes in state %d, not %u complete",
          watch.assistant ? confab_message_get_content_length (watch.assistant) : 0,
          watch.assistant ? (int) confab_message_get_state (watch.assistant) : -1,
          STREAM_SIZE);

  report (mode, "Enter to first reply text (notify::content)",
          watch.first_content_at ? ms_between (enter_at, watch.first_content_at) : NAN, "ms",
          NULL, -1);
  report (mode, "Enter to first frame painted after it",
          watch.first_content_frame_at ? ms_between (enter_at, watch.first_content_frame_at) : NAN,
          "ms", NULL, -1);
  report (mode, "Enter to turn finished",
          ms_between (enter_at, watch.finished_at), "ms", NULL, -1);
  report (mode, "Enter to settled (last frame of the final render)",
          settled_at ? ms_between (enter_at, settled_at) : NAN, "ms", NULL, -1);
  report (mode, "frames painted, Enter to turn finished", frames_streaming, "", NULL, -1);
  report (mode, "frames per second, Enter to turn finished",
          frames_streaming / (ms_between (enter_at, watch.finished_at) / 1000.0), "fps",
          NULL, -1);
  report (mode, "frames painted, Enter to settled", frames_to_settle, "", NULL, -1);
  report (mode, "notify::content, Enter to turn finished", watch.samples->len, "", NULL, -1);

  report (mode, "main-thread busy time handling Enter (send)", enter_stall_us / 1000.0, "ms",
          "<= 16 ms", enter_stall_us <= STALL_TARGET_MS * 1000);
  {
    /* Where the longest stall was: at which length of the text. */
    gsize length_at = 0;

    for (guint i = 0; i < watch.samples->len; i++)
      if (g_array_index (watch.samples, Sample, i).at <= stream_stalls.max_at + stream_stalls.max_us)
        length_at = g_array_index (watch.samples, Sample, i).length;

    report (mode, "longest main-thread stall while streaming",
            stream_stalls.max_us / 1000.0, "ms", "<= 16 ms",
            stream_stalls.max_us <= STALL_TARGET_MS * 1000);
    note (mode, "it ended %.0f ms after Enter, at %" G_GSIZE_FORMAT " bytes of text; "
          "%u busy times over 16 ms while streaming",
          ms_between (enter_at, stream_stalls.max_at + stream_stalls.max_us), length_at,
          stream_stalls.n_over);
    report (mode, "  the same in main-thread CPU time", stream_stalls.max_cpu_ns / 1e6, "ms",
            NULL, -1);
    note (mode, "%u busy times over 16 ms of main-thread CPU while streaming; the rest "
          "of a stall is waiting (for the X server) or not running", stream_stalls.n_over_cpu);
  }
  report (mode, "longest frame while streaming (before- to after-paint)", longest_frame, "ms",
          NULL, -1);
  report (mode, "frames showing room for reply text not drawn yet", watch.n_unbuilt, "", NULL, -1);
  report (mode, "  the same after the turn, until settled", watch.n_unbuilt_after, "", NULL, -1);
  mark ("longest-final-stall", end_stalls.max_at, end_stalls.max_us);
  report (mode, "longest stall after the turn (final render)", end_stalls.max_us / 1000.0, "ms",
          "<= 16 ms", end_stalls.max_us <= STALL_TARGET_MS * 1000);
  report (mode, "  the same in main-thread CPU time", end_stalls.max_cpu_ns / 1e6, "ms", NULL, -1);

  /* For a closer look: every frame as "frame LENGTH CPU_MS WALL_MS" on stderr. */
  if (g_getenv ("BENCH_CONFAB_FRAMES") != NULL)
    for (guint i = 0; i < watch.frames->len; i++)
      {
        const FrameSample *f = &g_array_index (watch.frames, FrameSample, i);

        g_printerr ("frame %" G_GSIZE_FORMAT " %.1f %.1f\n", f->length, f->cpu_ns / 1e6, f->wall_us / 1e3);
      }

  have_small = measure_window (&watch, 1024, 3 * 1024, &small);
  have_large = measure_window (&watch, 190 * 1024, 200 * 1024, &large);

  note (mode, "notifies in the 1-3 KB and 190-200 KB windows: %u and %u; frames: %u and %u",
        small.n_notifies, large.n_notifies, small.n_frames, large.n_frames);
  if (small.widened || large.widened)
    note (mode, "a read brought more text than a window holds: the first notify after it "
          "counts instead (%u bytes of text per notify on average)",
          watch.samples->len ? STREAM_SIZE / watch.samples->len : 0);
  report (mode, "CPU per notify::content at 1-3 KB", have_small ? small.per_notify_us : NAN, "us",
          NULL, -1);
  report (mode, "CPU per notify::content at 190-200 KB", have_large ? large.per_notify_us : NAN,
          "us", NULL, -1);
  if (have_small && have_large)
    report (mode, "per-chunk CPU at 200 KB / at 2 KB", large.per_notify_us / small.per_notify_us,
            "x", "<= 1.3x", large.per_notify_us / small.per_notify_us <= 1.3);
  else
    note (mode, "MISS: too few notifies in a window to compare per-chunk cost");
  if (have_small && have_large && small.outside_frames_us > 0)
    report (mode, "the same, leaving out frames (the chunk's own work)",
            large.outside_frames_us / small.outside_frames_us, "x", "<= 1.3x",
            large.outside_frames_us / small.outside_frames_us <= 1.3);
  report (mode, "CPU per 40-byte delta at 1-3 KB", have_small ? small.per_delta_us : NAN, "us",
          NULL, -1);
  report (mode, "CPU per 40-byte delta at 190-200 KB", have_large ? large.per_delta_us : NAN, "us",
          NULL, -1);
  report (mode, "  of a notify, outside frames, at 1-3 KB",
          have_small ? small.outside_frames_us : NAN, "us", NULL, -1);
  report (mode, "  of a notify, outside frames, at 190-200 KB",
          have_large ? large.outside_frames_us : NAN, "us", NULL, -1);
  report (mode, "  frame CPU (average) at 1-3 KB", small.n_frames ? small.frame_cpu_ms : NAN, "ms",
          NULL, -1);
  report (mode, "  frame CPU (average) at 190-200 KB", large.n_frames ? large.frame_cpu_ms : NAN,
          "ms", NULL, -1);
  report (mode, "  frame wall time (average / max) at 190-200 KB",
          large.n_frames ? large.frame_wall_ms : NAN, "ms", NULL, -1);
  if (large.n_frames)
    note (mode, "longest frame at 190-200 KB: %.1f ms", large.frame_wall_max_ms);

  {
    double coef[3];

    if (fit_frames (watch.frames, coef))
      {
        report (mode, "frame CPU, fixed part (fit over the frames)", coef[0], "ms", NULL, -1);
        report (mode, "frame CPU per KB of text new in the frame", coef[1], "ms", NULL, -1);
        report (mode, "frame CPU per KB of text already shown (O(n))", coef[2], "ms", NULL, -1);
        report (mode, "  that is, at 200 KB, per frame", coef[2] * 200, "ms", "<= 16 ms",
                coef[2] * 200 <= STALL_TARGET_MS);
      }
  }

  if (watch.assistant != NULL)
    {
      GtkListView *list = confab_chat_view_get_message_list (confab_window_get_chat_view (app.window));
      ConfabMarkdownView *view = find_view_of (GTK_WIDGET (list), watch.assistant);
      guint first_page, n_built, n_made, first_drawn, n_drawn, n_pages;

      if (view != NULL)
        {
          confab_markdown_view_get_built (view, &first_page, &n_built, &n_made);
          confab_markdown_view_get_drawn_pages (view, &first_drawn, &n_drawn, &n_pages);
          note (mode, "the reply is %u pages of blocks, %u of them built (%u block widgets, "
                "%u widgets in all)", n_pages, n_built, n_made, count_widgets (GTK_WIDGET (view)) - 1);
          probe_frames (mode, view, "200 KB reply shown");
        }
    }

  report (mode, "RSS before the stream", rss_before, "MiB", NULL, -1);
  report (mode, "RSS after the stream (settled)", rss_after, "MiB", NULL, -1);
  report (mode, "RSS after the stream, 1 s idle", rss_idle, "MiB", NULL, -1);
  report (mode, "RSS growth over the stream", rss_idle - rss_before, "MiB", NULL, -1);

out:
  g_signal_handlers_disconnect_by_data (session, &watch);
  if (watch.assistant != NULL)
    g_signal_handlers_disconnect_by_data (watch.assistant, &watch);
  g_clear_object (&watch.assistant);
  if (watch.view != NULL)
    g_object_remove_weak_pointer (G_OBJECT (watch.view), (gpointer *) &watch.view);
  g_array_unref (watch.samples);
  g_array_unref (watch.frames);
  app_stop ();
  server_stop (&server);
}

/* Each mode in a process of its own: a fresh heap for RSS, a true start. */
/* Pasting 5 MiB into the composer and sending it: the window must stay
 * responsive (no long stall) and the text must go out whole. */
static void
bench_paste (void)
{
  const char *mode = "paste";
  Server server = { 0 };
  g_autoptr(GString) text = g_string_new (NULL);
  ConfabChatView *chat_view;
  GtkTextBuffer *buffer;
  gboolean done = FALSE;
  gint64 start;
  Stalls stalls;

  if (!server_start (&server, "stream") || !app_start (server.base_url) || !first_frame_painted ())
    {
      note (mode, "MISS: the window was not shown");
      app_stop ();
      server_stop (&server);
      return;
    }

  while (text->len < 5 * 1024 * 1024)
    g_string_append (text, "A line of pasted text, with a few words in it, like a log file does.\n");

  chat_view = confab_window_get_chat_view (app.window);
  buffer = gtk_text_view_get_buffer (confab_chat_view_get_composer (chat_view));
  run_for (300);

  /* A paste is one insertion into the buffer, in one main-loop iteration. */
  start = g_get_monotonic_time ();
  gtk_text_buffer_insert_at_cursor (buffer, text->str, text->len);
  report (mode, "inserting 5 MiB into the composer (one stall)", ms_since (start), "ms",
          "<= 250 ms", ms_since (start) <= 250);
  stalls_reset ();
  stalls_recording = TRUE;
  run_for (2000);
  stalls_recording = FALSE;
  stalls = stalls_take ();
  report (mode, "longest stall in the 2 s after the paste", stalls.max_us / 1000.0, "ms",
          "<= 100 ms", stalls.max_us <= 100 * 1000);

  g_signal_connect_swapped (confab_application_get_session (app.app), "turn-finished",
                            G_CALLBACK (set_flag_cb), &done);
  start = g_get_monotonic_time ();
  press_key (GDK_KEY_Return, 0);
  report (mode, "Enter with 5 MiB in the composer (stored and sent)", ms_since (start), "ms", NULL, -1);
  stalls_reset ();
  stalls_recording = TRUE;
  if (!wait_for (&done, 120000))
    note (mode, "MISS: the reply did not finish");
  stalls_recording = FALSE;
  stalls = stalls_take ();
  report (mode, "longest stall from Enter to the end of the reply", stalls.max_us / 1000.0, "ms",
          NULL, -1);
  report (mode, "RSS after sending", rss_mib (), "MiB", NULL, -1);

  app_stop ();
  server_stop (&server);
}

static void
run_child (const char *mode)
{
  const char *argv[] = { "/proc/self/exe", mode, NULL };
  g_autoptr(GError) error = NULL;
  int status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                     NULL, NULL, &status, &error))
    g_printerr ("bench-confab: cannot run %s: %s\n", mode, error->message);
  else if (!g_spawn_check_wait_status (status, NULL))
    g_print ("%-7s # MISS: the run ended abnormally (status %d)\n", mode, status);
}

static void
usage (void)
{
  g_printerr ("Usage: bench-confab [all|launch|open|stream|paced|paste]\n"
              "  launch  start to mapped and first frame; RSS at idle\n"
              "  open    show a 5,000-message conversation: first frame, settle, RSS growth\n"
              "  stream  a 200 KB reply, all sent at once: time, frames, stalls, CPU per chunk, RSS\n"
              "  paced   the same reply, one 40-byte delta a millisecond\n"
              "  paste   5 MiB pasted into the composer and sent: stalls, RSS\n"
              "  all     each of them in a process of its own (the default)\n");
}

int
main (int   argc,
      char *argv[])
{
  const char *mode = argc > 1 ? argv[1] : "all";

  main_monotonic_us = g_get_monotonic_time ();
  exec_to_main_ms = read_exec_to_main_ms ();

  if (argc > 2 && g_str_equal (argv[1], "--serve"))
    return serve_main (argv[2]);

  if (g_str_equal (mode, "all"))
    {
      const char *modes[] = { "launch", "open", "stream", "paced", "paste" };

      for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
        run_child (modes[i]);
      return 0;
    }

  if (!g_str_equal (mode, "launch") && !g_str_equal (mode, "open") &&
      !g_str_equal (mode, "stream") && !g_str_equal (mode, "paced") &&
      !g_str_equal (mode, "paste"))
    {
      usage ();
      return g_str_equal (mode, "--help") || g_str_equal (mode, "-h") ? 0 : 2;
    }

  /* The test suite's environment, unless the caller chose otherwise. */
  g_setenv ("GSETTINGS_BACKEND", "memory", FALSE);
  g_setenv ("GSETTINGS_SCHEMA_DIR", BENCH_SCHEMA_DIR, FALSE);
  g_setenv ("NO_AT_BRIDGE", "1", FALSE);
  g_setenv ("GDK_BACKEND", "x11", FALSE);
  /* Never the developer's own server or key. */
  g_setenv ("OPENAI_API_KEY", "", TRUE);
  g_setenv ("OPENAI_BASE_URL", "", TRUE);
  /* meson can set but not unset: empty means GTK's own choice. */
  if (g_strcmp0 (g_getenv ("GSK_RENDERER"), "") == 0)
    g_unsetenv ("GSK_RENDERER");

  {
    g_autofree char *load = dup_loadavg ();
    g_print ("%-7s # load average %s on %ld cores\n", mode, load, sysconf (_SC_NPROCESSORS_ONLN));
  }

  /* GLib reads XDG_DATA_HOME once: set before anything asks. */
  data_home = g_dir_make_tmp ("confab-bench-XXXXXX", NULL);
  if (data_home == NULL)
    {
      g_printerr ("bench-confab: cannot make a temporary directory\n");
      return 0;
    }
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);

  g_main_context_set_poll_func (NULL, bench_poll);

  if (g_str_equal (mode, "launch"))
    bench_launch ();
  else if (g_str_equal (mode, "open"))
    bench_open ();
  else if (g_str_equal (mode, "paste"))
    bench_paste ();
  else
    bench_stream (mode);

  confab_test_remove_tree (data_home);
  g_free (data_home);

  return 0;
}
