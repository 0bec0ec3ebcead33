#!/usr/bin/env bash
# Installs Debian's nginx (its dav module serves the Bazel HTTP cache) without starting the
# service (tools/apt-install.sh). Needs root.
set -euo pipefail
command -v nginx >/dev/null && exit 0
bash "$(dirname "$0")/../apt-install.sh" nginx
command -v nginx >/dev/null
