#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs its arguments on a headless Wayland compositor of their own (weston),
# as in a GNOME session on Wayland: GTK draws each frame itself and hands it
# over, where under Xvfb the X server draws it and every frame waits on
# round trips to it. Exits 77 (skipped) without weston.
if ! command -v weston >/dev/null 2>&1; then
  echo "with-weston.sh: weston is not installed (Debian: weston)" >&2
  exit 77
fi

runtime=$(mktemp -d)
socket=wayland-bench
XDG_RUNTIME_DIR=$runtime weston --backend=headless-backend.so --socket=$socket \
  --idle-time=0 >"$runtime/weston.log" 2>&1 &
weston_pid=$!

# Until its socket is there (5 s at most).
tries=0
while [ $tries -lt 50 ] && [ ! -S "$runtime/$socket" ] && kill -0 $weston_pid 2>/dev/null; do
  sleep 0.1
  tries=$((tries + 1))
done
if [ ! -S "$runtime/$socket" ]; then
  echo "with-weston.sh: weston did not start:" >&2
  cat "$runtime/weston.log" >&2
  kill $weston_pid 2>/dev/null
  rm -rf "$runtime"
  exit 1
fi

XDG_RUNTIME_DIR=$runtime WAYLAND_DISPLAY=$socket GDK_BACKEND=wayland "$@"
status=$?

kill $weston_pid 2>/dev/null
wait $weston_pid 2>/dev/null
rm -rf "$runtime"
exit $status
