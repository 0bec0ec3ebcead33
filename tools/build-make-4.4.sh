#!/usr/bin/env bash
# GNU make 4.4.1 (the first make with the fifo jobserver style) for the jobserver
# tests, built from Debian's trixie source package: this machine's make is 4.3.
#
#   tools/build-make-4.4.sh [PREFIX]     (default: ~/.cache/jx/make-4.4)
#
# The last line printed is the path of the make binary. A second call with the
# same PREFIX builds nothing. Only Debian's package mirror is reached.
set -euo pipefail
prefix=${1:-$HOME/.cache/jx/make-4.4}
make_bin=$prefix/bin/make
if [[ -x $make_bin ]]; then
  echo "$make_bin"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The mirror this machine's apt already uses, with the trixie suite's sources.
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
if [[ -z $mirror && -f /etc/apt/sources.list ]]; then
  mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)
fi
[[ -n $mirror ]] || { echo "no Debian mirror configured in /etc/apt" >&2; exit 1; }

mkdir -p "$tmp/state/lists/partial" "$tmp/cache/archives/partial"
printf 'deb-src %s trixie main\n' "$mirror" >"$tmp/src.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$tmp/src.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$tmp/state/lists" -o "Dir::Cache=$tmp/cache"
)
apt-get "${apt_opts[@]}" -qq update >/dev/null
(cd "$tmp" && apt-get "${apt_opts[@]}" -qq source --download-only make-dfsg >/dev/null)

tar -C "$tmp" -xf "$tmp"/make-dfsg_4.4.1.orig.tar.*
cd "$tmp/make-4.4.1"
# Debian's source leaves out the manual; configure wants doc/Makefile.in.
mkdir -p doc
touch doc/Makefile.in
./configure -q --prefix="$prefix" --disable-nls --without-guile >/dev/null
./build.sh >/dev/null
install -D -m 755 make "$make_bin"
"$make_bin" --version | head -n 1 >&2
echo "$make_bin"
