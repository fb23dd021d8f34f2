/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

#include "confab-provider.h"

G_BEGIN_DECLS

#define CONFAB_TYPE_OPENAI_PROVIDER (confab_openai_provider_get_type ())

G_DECLARE_FINAL_TYPE (ConfabOpenaiProvider, confab_openai_provider, CONFAB, OPENAI_PROVIDER, GObject)

/*
 * ConfabOpenaiProvider: OpenAI Chat Completions over libsoup 3, for every
 * compatible server. POST {base}/chat/completions with stream and
 * stream_options.include_usage; GET {base}/models.
 *
 * Properties: "base-url", "api-key" (may be NULL for local servers),
 * "idle-timeout" (seconds of silence mid-stream before giving up, default 120;
 * SSE comments count as activity), "connect-timeout" (seconds, default 30),
 * "max-reply-size" (bytes, default 32 MiB), "max-line-length" (default 8 MiB).
 */
ConfabOpenaiProvider *confab_openai_provider_new (const char *base_url,
                                                  const char *api_key);

G_END_DECLS
