#!/usr/bin/env bash
# The project's remote cache servers for tests, CI and benches, on 127.0.0.1 only.
#
#   cache-server.sh start turbo DIR   # npm turborepo-remote-cache (devDependency), store in DIR
#   cache-server.sh start nginx DIR   # Debian nginx + its dav module as a Bazel HTTP cache, store in DIR
#   cache-server.sh stop PID          # stops what `start` printed (SIGTERM, then SIGKILL)
#
# `start` picks a free port, waits until the server answers, and prints one line "PID PORT".
# The server is bounded by `timeout` (LIFETIME seconds, default 900), so a crashed test never
# leaves it behind. turbo: TURBO_TOKEN (default jx-test-token) and, when set,
# TURBO_REMOTE_CACHE_SIGNATURE_KEY. Exit 3 when nginx is absent and cannot be installed.
set -euo pipefail
root=$(CDPATH= cd -- "$(dirname -- "$0")/../.." && pwd)
LIFETIME=${LIFETIME:-900}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

wait_ready() { # URL PID LOG
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.05
  done
  echo "cache-server: not ready at $1" >&2
  tail -n 20 "$3" >&2 || true
  kill "$2" 2>/dev/null || true
  return 1
}

start_turbo() { # DIR
  local dir=$1 port pid
  mkdir -p "$dir/store"
  port=$(free_port)
  HOST=127.0.0.1 PORT=$port TURBO_TOKEN=${TURBO_TOKEN:-jx-test-token} \
    STORAGE_PROVIDER=local STORAGE_PATH="$dir/store" STORAGE_PATH_USE_TMP_FOLDER=false \
    LOG_LEVEL=${LOG_LEVEL:-warn} NODE_ENV=production \
    setsid timeout "$LIFETIME" node "$root/node_modules/turborepo-remote-cache/dist/cli.js" \
    >"$dir/server.log" 2>&1 </dev/null &
  pid=$!
  wait_ready "http://127.0.0.1:$port/v8/artifacts/status" "$pid" "$dir/server.log"
  echo "$pid $port"
}

nginx_conf() { # DIR PORT
  local dir=$1 port=$2
  cat <<CONF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
$([ "$(id -u)" = 0 ] && echo "user root;")
events { worker_connections 256; }
http {
  access_log $dir/logs/access.log;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy; fastcgi_temp_path $dir/tmp/fcgi;
  uwsgi_temp_path $dir/tmp/uwsgi; scgi_temp_path $dir/tmp/scgi;
  server {
    listen 127.0.0.1:$port;
    root $dir/store;
    client_max_body_size 0;
    location ~ "^/([A-Za-z0-9._-]+/)*(ac|cas)/[0-9a-f]{64}\$" {
      dav_methods PUT DELETE;
      create_full_put_path on;
      dav_access user:rw group:rw all:r;
      limit_except GET HEAD PUT { deny all; }
    }
    location = /status { return 200 "ok\n"; }
    location / { return 404; }
  }
}
CONF
}

start_nginx() { # DIR
  local dir=$1 port pid
  if ! command -v nginx >/dev/null; then
    bash "$root/tools/services/install-nginx.sh" >&2 || exit 3
  fi
  mkdir -p "$dir"/{store,tmp,logs}
  port=$(free_port)
  nginx_conf "$dir" "$port" >"$dir/nginx.conf"
  setsid timeout "$LIFETIME" nginx -c "$dir/nginx.conf" -p "$dir" >"$dir/logs/stdout.log" 2>&1 </dev/null &
  pid=$!
  wait_ready "http://127.0.0.1:$port/status" "$pid" "$dir/logs/error.log"
  echo "$pid $port"
}

stop() { # PID (the `timeout` wrapper: it passes the signal on)
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.05
  done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

case "${1:-}" in
  start)
    case "${2:-}" in
      turbo) start_turbo "${3:?DIR}" ;;
      nginx) start_nginx "${3:?DIR}" ;;
      *) echo "usage: $0 start turbo|nginx DIR" >&2; exit 2 ;;
    esac ;;
  stop) stop "${2:?PID}" ;;
  *) echo "usage: $0 start turbo|nginx DIR | stop PID" >&2; exit 2 ;;
esac
