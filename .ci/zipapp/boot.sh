#!/bin/sh
# nginx-502-wizard in one file: this sh part picks a Python, the rest is a zip (a PEX) that
# Python runs; `python3 nginx-502-wizard.pyz` skips this part and works the same.
# Written by .ci/build-zipapp from .ci/zipapp/boot.sh; only sh built-ins, so it also runs
# where PATH holds no python at all.
for python in @PYTHONS@; do
  if command -v "$python" >/dev/null 2>&1 &&
     "$python" -c 'import sys; sys.exit(not (@OLDEST@ <= sys.version_info[:2] <= @NEWEST@))' \
       >/dev/null 2>&1; then
    exec "$python" "$0" "$@"
  fi
done
# None fits: a python3 or python that is too old or too new says what to install.
for python in python3 python; do
  if command -v "$python" >/dev/null 2>&1; then exec "$python" "$0" "$@"; fi
done
# No Python at all: say it here, from /etc/os-release, as the Python check would.
if [ -r /etc/os-release ]; then . /etc/os-release; elif [ -r /usr/lib/os-release ]; then . /usr/lib/os-release; fi
install=""
for word in ${ID:-} ${ID_LIKE:-}; do
  case "$word:${VERSION_ID:-}" in
@CASES@
  esac
  [ -n "$install" ] && break
done
case "$install" in
  ""|-) echo "nginx-502-wizard needs Python @OLDEST_TEXT@ or newer, and this system has none: install python3 with its package manager." >&2 ;;
  *) echo "nginx-502-wizard needs Python @OLDEST_TEXT@ or newer, and this system has none. Install it with: $install" >&2 ;;
esac
exit 2
