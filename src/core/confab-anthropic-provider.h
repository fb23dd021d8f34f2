/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

#include "confab-provider.h"

G_BEGIN_DECLS

#define CONFAB_TYPE_ANTHROPIC_PROVIDER (confab_anthropic_provider_get_type ())

G_DECLARE_FINAL_TYPE (ConfabAnthropicProvider, confab_anthropic_provider, CONFAB, ANTHROPIC_PROVIDER, GObject)

/*
 * ConfabAnthropicProvider: Anthropic's Messages API over libsoup 3.
 * POST {base}/messages with "stream": true; GET {base}/models. The key goes
 * in "x-api-key", with "anthropic-version: 2023-06-01". The finish reason is
 * Anthropic's own stop_reason ("end_turn", "max_tokens", …).
 *
 * Properties: "base-url" (default https://api.anthropic.com/v1; NULL restores
 * it), "api-key", "max-tokens" (the reply's limit, which Anthropic requires;
 * default 4096), and the same "idle-timeout", "connect-timeout",
 * "max-reply-size" and "max-line-length" as ConfabOpenaiProvider.
 */
ConfabAnthropicProvider *confab_anthropic_provider_new (const char *base_url,
                                                        const char *api_key);

G_END_DECLS
