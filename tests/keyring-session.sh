#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# keyring-session.sh COMMAND [ARG…]
#
# Runs COMMAND inside a D-Bus session of its own, with a gnome-keyring-daemon of
# its own whose "login" collection is created and unlocked with a throwaway
# password, in a fresh temporary HOME. The developer's real keyring and session
# bus are never touched. Everything is removed again when COMMAND exits, and
# the exit status of COMMAND is returned.
set -eu

if [ "$#" -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG…]" >&2
  exit 2
fi

for prog in dbus-run-session gnome-keyring-daemon; do
  if ! command -v "$prog" >/dev/null 2>&1; then
    echo "keyring-session.sh: $prog not found (install dbus and gnome-keyring)" >&2
    exit 1
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/confab-keyring-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -m 700 "$tmp/runtime" "$tmp/data" "$tmp/config" "$tmp/cache"
HOME="$tmp"
XDG_RUNTIME_DIR="$tmp/runtime"
XDG_DATA_HOME="$tmp/data"
XDG_CONFIG_HOME="$tmp/config"
XDG_CACHE_HOME="$tmp/cache"
export HOME XDG_RUNTIME_DIR XDG_DATA_HOME XDG_CONFIG_HOME XDG_CACHE_HOME
# Tells tests that the keyring they see is this throwaway one.
CONFAB_TEST_KEYRING=1
export CONFAB_TEST_KEYRING
unset DBUS_SESSION_BUS_ADDRESS GNOME_KEYRING_CONTROL SSH_AUTH_SOCK || true

# Services the bus starts on demand get no display: the password prompter
# then fails at once instead of waiting for a person who is not there, so a
# locked keyring is an error rather than a hang. COMMAND gets it back.
CONFAB_SESSION_DISPLAY=${DISPLAY-}
CONFAB_SESSION_WAYLAND_DISPLAY=${WAYLAND_DISPLAY-}
export CONFAB_SESSION_DISPLAY CONFAB_SESSION_WAYLAND_DISPLAY
unset DISPLAY WAYLAND_DISPLAY || true

status=0
# gnome-keyring-daemon forks into the background. --unlock reads the password
# from stdin and, in a fresh HOME, creates the "login" keyring with it, which
# then serves as the default collection: no prompt is ever needed. Waiting for
# its bus name keeps the bus from starting a second daemon on first use. The
# daemon quits when its bus goes away, which dbus-run-session does when
# COMMAND exits.
# shellcheck disable=SC2016 # expanded by the inner shell
dbus-run-session -- sh -c '
  printf %s confab-test-password |
    gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 1
  if command -v gdbus >/dev/null 2>&1; then
    gdbus wait --session --timeout 30 org.freedesktop.secrets || exit 1
  fi
  if [ -n "$CONFAB_SESSION_DISPLAY" ]; then
    DISPLAY=$CONFAB_SESSION_DISPLAY
    export DISPLAY
  fi
  if [ -n "$CONFAB_SESSION_WAYLAND_DISPLAY" ]; then
    WAYLAND_DISPLAY=$CONFAB_SESSION_WAYLAND_DISPLAY
    export WAYLAND_DISPLAY
  fi
  unset CONFAB_SESSION_DISPLAY CONFAB_SESSION_WAYLAND_DISPLAY
  exec "$@"
' keyring-session "$@" || status=$?

exit "$status"
