/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * A loopback Chat Completions server for tests: a real SoupServer on
 * 127.0.0.1 that answers each POST with the next scripted reply, sending the
 * body in pieces over time so that clients really stream. A piece goes out
 * only once the last one was written, so a client that stops reading stops
 * the sending, and when each byte went out is recorded. POST /v1/messages
 * (Anthropic) takes replies from the same queue. GET /v1/models
 * lists "test-model-a" and "test-model-b".
 */

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _ConfabTestServer ConfabTestServer;

typedef enum
{
  CONFAB_TEST_END_COMPLETE,   /* finish the body normally */
  CONFAB_TEST_END_DROP,       /* close the connection after the pieces */
  CONFAB_TEST_END_HANG,       /* send the pieces, then nothing */
} ConfabTestEnd;

ConfabTestServer *confab_test_server_new           (void);
void              confab_test_server_free          (ConfabTestServer *self);
/* "http://127.0.0.1:PORT/v1" */
const char       *confab_test_server_get_base_url  (ConfabTestServer *self);
/* Queue a reply: @status, @body sent in pieces of @piece_size bytes every
 * @interval_ms (0 = all at once), ended as @end. Extra headers as
 * NULL-terminated name/value pairs. */
void              confab_test_server_queue         (ConfabTestServer *self,
                                                    guint             status,
                                                    const char       *content_type,
                                                    const char       *body,
                                                    gsize             piece_size,
                                                    guint             interval_ms,
                                                    ConfabTestEnd     end,
                                                    ...) G_GNUC_NULL_TERMINATED;
/* Like confab_test_server_queue(), with the body as bytes, its first piece
 * after @first_delay_ms and one every @interval_ms (at least 1) after that;
 * it completes normally. */
void              confab_test_server_queue_bytes   (ConfabTestServer *self,
                                                    guint             status,
                                                    const char       *content_type,
                                                    GBytes           *body,
                                                    gsize             piece_size,
                                                    guint             first_delay_ms,
                                                    guint             interval_ms);
/* The same, with the body read from tests/fixtures/@name. */
void              confab_test_server_queue_fixture (ConfabTestServer *self,
                                                    const char       *name,
                                                    gsize             piece_size,
                                                    guint             interval_ms);
/* Request bodies received so far (JSON text), oldest first. */
GPtrArray        *confab_test_server_get_requests  (ConfabTestServer *self);
/* The Authorization header of each request ("" for none), oldest first. */
GPtrArray        *confab_test_server_get_authorizations (ConfabTestServer *self);

typedef struct
{
  gint64 time;    /* g_get_monotonic_time () */
  gsize  bytes;   /* body bytes written so far, chunk framing left out */
} ConfabTestProgress;

/* When the body of the latest reply was written: ConfabTestProgress,
 * oldest first. */
GArray           *confab_test_server_get_progress  (ConfabTestServer *self);
/* Body bytes of the latest reply written by @time. */
gsize             confab_test_server_bytes_sent_at (ConfabTestServer *self,
                                                    gint64            time);
/* Called in the server's handler, before it answers. */
void              confab_test_server_set_on_request (ConfabTestServer *self,
                                                     void            (*func) (gpointer user_data),
                                                     gpointer          user_data);

/* Iterates the default main context until *@flag is TRUE; fails the test
 * after @timeout_ms. */
void              confab_test_wait_for             (gboolean         *flag,
                                                    guint             timeout_ms);

G_END_DECLS
