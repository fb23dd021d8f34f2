#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs its arguments on the X display with a window manager, as on a desktop.
# Without one, GTK 4.8 asks the X server in every frame whether one has
# appeared (a few round trips while it computes the window's size), which no
# user pays. Uses openbox when installed; otherwise runs the command as is.
wm_pid=
managed () {
  xprop -root _NET_SUPPORTING_WM_CHECK 2>/dev/null | grep -q 'window id'
}
if [ -n "$DISPLAY" ] && command -v openbox >/dev/null 2>&1 && command -v xprop >/dev/null 2>&1; then
  if ! managed; then
    wm_log=$(mktemp)
    openbox --sm-disable >"$wm_log" 2>&1 &
    wm_pid=$!
    # Until it manages the screen (5 s at most).
    tries=0
    while [ $tries -lt 50 ] && ! managed; do
      sleep 0.1
      tries=$((tries + 1))
    done
    if ! managed; then
      echo "with-window-manager.sh: openbox did not manage $DISPLAY:" >&2
      cat "$wm_log" >&2
    fi
    rm -f "$wm_log"
  fi
fi

"$@"
status=$?

if [ -n "$wm_pid" ]; then
  kill "$wm_pid" 2>/dev/null
  wait "$wm_pid" 2>/dev/null
fi
exit $status
