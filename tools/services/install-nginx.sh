#!/usr/bin/env bash
# Installs Debian's nginx (its dav module serves the Bazel HTTP cache) without starting the
# service: a policy-rc.d that exits 101 is in place during the install. Needs root.
set -euo pipefail
command -v nginx >/dev/null && exit 0
[ "$(id -u)" = 0 ] || { echo "install-nginx: needs root (apt-get install nginx)" >&2; exit 1; }
policy=/usr/sbin/policy-rc.d
had_policy=0
[ -e "$policy" ] && had_policy=1
[ "$had_policy" = 1 ] || { printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; }
trap '[ "$had_policy" = 1 ] || rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends nginx >/dev/null 2>&1 ||
  { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends nginx >/dev/null; }
command -v nginx >/dev/null
