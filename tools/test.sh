#!/bin/sh
# Runs deno test (-A --parallel) on the given files and options, as `deno task test` does for
# the whole suite: the temporary folders the tests make (and the jx runs they start) go in one
# folder of their own, removed afterwards, so that a run of the suite leaves nothing in $TMPDIR.
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd -P) || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jx-tests-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
TMPDIR=$tmp "$root/tools/deno" test -A --parallel "$@"
