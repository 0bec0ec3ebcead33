#!/usr/bin/env bash
# Installs Debian packages for the tests without letting Debian start their services: a
# policy-rc.d that exits 101 is in place during the install (and removed after, unless one was
# there before). Tries the local package lists first, then `apt-get update` once. Needs root.
#   tools/apt-install.sh nginx
#   tools/apt-install.sh slurm-wlm munge
set -euo pipefail
[ "$#" -gt 0 ] || { echo "usage: tools/apt-install.sh PACKAGE..." >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "apt-install: needs root (apt-get install $*)" >&2; exit 1; }
policy=/usr/sbin/policy-rc.d
had_policy=0
[ -e "$policy" ] && had_policy=1
[ "$had_policy" = 1 ] || { printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; }
trap '[ "$had_policy" = 1 ] || rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
install() { apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; }
install "$@" || { apt-get update -qq >/dev/null 2>&1 && install "$@"; }
