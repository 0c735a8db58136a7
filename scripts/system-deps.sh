#!/usr/bin/env bash
# Install the system packages the test suite drives for real: Debian's chromium (browser
# tests) and postgresql (the PostgreSQL source). Installs only what is missing, and only
# where apt-get and root are available; otherwise it says how to install them and the
# tests that need them are skipped (under CI=true they fail instead).
set -uo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
    missing+=(postgresql)
fi

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: missing ${missing[*]}; install with: sudo apt-get install ${missing[*]}" >&2
    echo "system-deps: tests that need them will be skipped (under CI=true they fail)" >&2
    exit 0
fi

echo "system-deps: installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq; then
    echo "system-deps: apt-get update failed" >&2
fi
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/journeylib-apt.log 2>&1; then
    echo "system-deps: apt-get install ${missing[*]} failed (log: /tmp/journeylib-apt.log)" >&2
    tail -5 /tmp/journeylib-apt.log >&2
fi
exit 0
