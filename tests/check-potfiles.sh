#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Fails when a source file with translatable strings is missing from
# po/POTFILES.in, or when POTFILES.in names a file that does not exist.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
listed=$(grep -v '^#' po/POTFILES.in | sed '/^$/d')

for file in $listed; do
  if [ ! -f "$file" ]; then
    echo "not ok: po/POTFILES.in lists $file, which does not exist"
    status=1
  fi
done

while IFS= read -r file; do
  if ! grep -qxF "$file" <<<"$listed"; then
    echo "not ok: $file has translatable strings but is not in po/POTFILES.in"
    status=1
  fi
done < <(grep -lE '\b_\(|\bN_\(|\bC_\(|g_dngettext|translatable="yes"' \
           src/core/*.c src/ui/*.c src/ui/*.ui src/ui/gtk/*.ui 2>/dev/null | sort)

[ "$status" -eq 0 ] && echo "ok: po/POTFILES.in is complete ($(wc -w <<<"$listed") files)"
exit "$status"
