#!/usr/bin/env bash
# Builds a tool newer than Debian 12 ships, from Debian's own source packages, for the
# tests that need it:
#
#   tools/build-tool.sh make  [PREFIX]   GNU make 4.4.1 (fifo jobserver style), trixie
#                                        (default PREFIX: ~/.cache/jx-tools/make-4.4)
#   tools/build-tool.sh ninja [PREFIX]   ninja 1.13 (jobserver client, fifo style), sid
#                                        (default PREFIX: ~/.cache/jx-tools/ninja-1.13)
#
# The last line printed is the path of the binary. A second call with the same PREFIX
# builds nothing. Only Debian's package mirror is reached.
set -euo pipefail
tool=${1:?usage: build-tool.sh make|ninja [PREFIX]}
case $tool in
  make) prefix=${2:-$HOME/.cache/jx-tools/make-4.4} ;;
  ninja) prefix=${2:-$HOME/.cache/jx-tools/ninja-1.13} ;;
  *) echo "build-tool.sh: unknown tool '$tool' (make or ninja)" >&2; exit 2 ;;
esac
bin=$prefix/bin/$tool
if [[ -x $bin ]]; then
  echo "$bin"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Downloads and unpacks source package $2 of suite $1 into $tmp.
fetch_source() {
  local suite=$1 package=$2 mirror
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  if [[ -z $mirror && -f /etc/apt/sources.list ]]; then
    mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)
  fi
  [[ -n $mirror ]] || { echo "no Debian mirror configured in /etc/apt" >&2; exit 1; }
  mkdir -p "$tmp/state/lists/partial" "$tmp/cache/archives/partial"
  printf 'deb-src %s %s main\n' "$mirror" "$suite" >"$tmp/src.list"
  local opts=(
    -o "Dir::Etc::SourceList=$tmp/src.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$tmp/state/lists" -o "Dir::Cache=$tmp/cache"
  )
  apt-get "${opts[@]}" -qq update >/dev/null
  (cd "$tmp" && apt-get "${opts[@]}" -qq source --download-only "$package" >/dev/null 2>&1)
  tar -C "$tmp" -xf "$tmp"/"${package}"_*.orig.tar.*
}

case $tool in
  make)
    fetch_source trixie make-dfsg
    cd "$tmp"/make-4.4.1
    # Debian's source leaves out the manual; configure wants doc/Makefile.in.
    mkdir -p doc
    touch doc/Makefile.in
    ./configure -q --prefix="$prefix" --disable-nls --without-guile >/dev/null
    ./build.sh >/dev/null
    ;;
  ninja)
    command -v g++ >/dev/null || apt-get install -y -qq g++ >/dev/null
    fetch_source sid ninja-build
    cd "$tmp"/ninja-1.13*/
    python3 configure.py --bootstrap >/dev/null
    ;;
esac
install -D -m 755 "$tool" "$bin"
"$bin" --version | head -n 1 >&2
echo "$bin"
