#!/usr/bin/env bash
# The one test command (README "Two commands", and what .ci/run calls): brings up what the tests need when it is
# missing, then runs `npm test`.
#
#   scripts/test.sh              install missing Debian packages, start services, npm ci if needed, npm test
#   scripts/test.sh --services   only the first part; prints the settings as `export` lines (eval-able)
#   scripts/test.sh --dry-run    print what would be installed/started, change nothing
#
# Services: Redis, PostgreSQL and MariaDB on loopback. A running one on the standard port (6379/5432/3306) is used
# when it answers as the tests need (PostgreSQL: trust for `postgres`; MariaDB: `root` without password). A
# standard port with nothing on it gets the machine's own service started there. A standard port taken by
# something else (or a service that cannot start) gets a private instance on a free port, in a temp dir, stopped
# when this script exits. The tests read the result from WIF_TEST_REDIS_URL, WIF_TEST_PG_URL, WIF_TEST_MYSQL_URL
# and WIF_TEST_CHROMIUM (test/helpers/test-services.ts; defaults = this machine's standard ports).
# WIF_TEST_{REDIS,PG,MYSQL}_PORT change the standard ports probed; a preset WIF_TEST_*_URL is used as is.
#
# Exit status: npm test's, and 1 when the run reports zero tests.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=test
case "${1:-}" in
  --services) mode=services ;;
  --dry-run) mode=dry-run ;;
  "") ;;
  -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "scripts/test.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
esac

log() { echo "test.sh: $*" >&2; }
die() { echo "test.sh: $*" >&2; exit 1; }
dry() { [ "$mode" = dry-run ]; }

redis_port=${WIF_TEST_REDIS_PORT:-6379}
pg_port=${WIF_TEST_PG_PORT:-5432}
mysql_port=${WIF_TEST_MYSQL_PORT:-3306}
state_dir=""
private_pids=()
output_file=""

cleanup() {
  local pid
  [ -z "$output_file" ] || rm -f "$output_file"
  for pid in "${private_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "$state_dir" ]; then
    # PostgreSQL and MariaDB need a moment to exit before their data dirs can go.
    for _ in $(seq 1 50); do
      local alive=0
      for pid in "${private_pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [ "$alive" = 0 ] && break
      sleep 0.1
    done
    rm -rf "$state_dir"
  fi
}
trap cleanup EXIT
trap "exit 130" INT
trap "exit 143" TERM

# make_private_dir NAME: sets $dir to a fresh directory for a private instance (removed at exit).
make_private_dir() {
  if [ -z "$state_dir" ]; then
    state_dir=$(mktemp -d "${TMPDIR:-/tmp}/wif-broker-test-services.XXXXXX")
    chmod 755 "$state_dir"
  fi
  dir=$state_dir/$1
  mkdir -p "$dir"
}

# ---------------------------------------------------------------- Debian packages

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "needs root to run: $* (install those packages, or run as root)"; fi
}

install_packages() {
  [ $# -gt 0 ] || return 0
  command -v apt-get >/dev/null || die "missing $* and no apt-get here: install them, then run again"
  if dry; then log "would install: $*"; return 0; fi
  log "installing $*"
  local apt=(apt-get -y -qq -o DPkg::Lock::Timeout=600 install --no-install-recommends)
  # `apt-get update` only when the package lists are missing or do not know a package.
  if ! as_root env DEBIAN_FRONTEND=noninteractive "${apt[@]}" "$@" >/dev/null; then
    log "apt-get update (package lists missing or stale)"
    as_root apt-get -qq -o DPkg::Lock::Timeout=600 update >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive "${apt[@]}" "$@" >/dev/null
  fi
}

pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/postgres" ] && { echo "$d"; return 0; }
  done
  return 1
}

chromium_path() { command -v chromium || command -v chromium-browser || true; }

packages=()
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || packages+=(redis-server)
if [ -z "${WIF_TEST_PG_URL:-}" ]; then
  command -v psql >/dev/null || packages+=(postgresql-client)
  pg_bindir >/dev/null || packages+=(postgresql)
else
  command -v psql >/dev/null || packages+=(postgresql-client)
fi
command -v mysql >/dev/null || packages+=(mariadb-client)
[ -n "${WIF_TEST_MYSQL_URL:-}" ] || [ -x /usr/sbin/mariadbd ] || packages+=(mariadb-server)
[ -n "${WIF_TEST_CHROMIUM:-}" ] || [ -n "$(chromium_path)" ] || packages+=(chromium)
python3 -c 'import boto3' 2>/dev/null || packages+=(python3-boto3) # the AWS SDK refresh measurement
install_packages "${packages[@]}"

# ---------------------------------------------------------------- probes

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # wait_for SECONDS command…
  local tries=$(($1 * 10))
  shift
  for _ in $(seq 1 "$tries"); do "$@" && return 0; sleep 0.1; done
  return 1
}

free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    port_open "$p" || { echo "$p"; return 0; }
  done
  die "no free loopback port found"
}

redis_ok() { [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]; }
pg_ok() { [ "$(PGCONNECT_TIMEOUT=3 psql "postgresql://postgres@127.0.0.1:$1/postgres" -Atqc 'select 1' 2>/dev/null)" = 1 ]; }
mysql_ok() { [ "$(mysql --no-defaults -h 127.0.0.1 -P "$1" -u root --connect-timeout=3 -Nse 'select 1' 2>/dev/null)" = 1 ]; }

# ---------------------------------------------------------------- Redis

start_redis_standard() {
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$1" --save "" --appendonly no >/dev/null
}

start_redis_private() {
  local dir port
  make_private_dir redis
  port=$(free_port)
  redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$dir" >"$dir/log" 2>&1 &
  private_pids+=($!)
  wait_for 10 redis_ok "$port" || die "private redis-server on $port did not start: $(tail -3 "$dir/log")"
  up_port=$port
}

# ---------------------------------------------------------------- PostgreSQL

# The machine's cluster that is configured for port $1 and is down, if any: "VERSION NAME".
pg_system_cluster_down() {
  command -v pg_lsclusters >/dev/null || return 1
  pg_lsclusters -h 2>/dev/null | awk -v p="$1" '$3 == p && $4 == "down" { print $1, $2; found = 1 } END { exit !found }' | head -1
}

start_pg_private() {
  local dir port bin
  bin=$(pg_bindir) || die "PostgreSQL server binaries not found"
  make_private_dir pg
  port=$(free_port)
  local run=()
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; run=(runuser -u postgres --); fi # postgres refuses root
  "${run[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1 ||
    die "initdb failed: $(tail -3 "$dir/initdb.log")"
  "${run[@]}" "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1 -c fsync=off \
    >"$dir/log" 2>&1 &
  private_pids+=($!)
  wait_for 30 pg_ok "$port" || die "private PostgreSQL on $port did not start: $(tail -3 "$dir/log")"
  up_port=$port
}

# ---------------------------------------------------------------- MariaDB

mariadb_system_running() { start-stop-daemon --status --exec /usr/sbin/mariadbd 2>/dev/null; }

start_mysql_standard() {
  [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql >/dev/null 2>&1 || return 1
  mkdir -p /run/mysqld && chown mysql: /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
}

start_mysql_private() {
  local dir port user=()
  make_private_dir mysql
  port=$(free_port)
  if [ "$(id -u)" = 0 ]; then chown mysql: "$dir"; user=(--user=mysql); fi
  mariadb-install-db --no-defaults "${user[@]}" --datadir="$dir/data" --auth-root-authentication-method=normal \
    --skip-test-db >"$dir/install.log" 2>&1 || die "mariadb-install-db failed: $(tail -3 "$dir/install.log")"
  /usr/sbin/mariadbd --no-defaults "${user[@]}" --datadir="$dir/data" --port="$port" --bind-address=127.0.0.1 \
    --socket="$dir/sock" --pid-file="$dir/pid" --skip-log-bin --innodb-flush-log-at-trx-commit=0 \
    >"$dir/log" 2>&1 &
  private_pids+=($!)
  wait_for 30 mysql_ok "$port" || die "private MariaDB on $port did not start: $(tail -3 "$dir/log")"
  up_port=$port
}

# ---------------------------------------------------------------- one service: use, start, or private

# bring_up NAME PORT ok-probe start-standard-fn|- start-private-fn → sets $up_port (0 in a dry run's private case)
bring_up() {
  local name=$1 port=$2 ok=$3 standard=$4 private=$5
  up_port=$port
  if "$ok" "$port"; then
    log "$name: using the one on 127.0.0.1:$port"
    return 0
  fi
  if ! port_open "$port" && [ "$standard" != - ]; then
    if dry; then log "$name: nothing on 127.0.0.1:$port — would start the machine's $name there ($standard)"; return 0; fi
    log "$name: nothing on 127.0.0.1:$port — starting the machine's $name"
    if "$standard" "$port" && wait_for 30 "$ok" "$port"; then return 0; fi
    log "$name: the machine's $name did not come up on $port"
  elif port_open "$port"; then
    log "$name: 127.0.0.1:$port is taken by something that is not a usable $name"
  else
    log "$name: nothing on 127.0.0.1:$port, and no stopped $name of this machine is set up for that port"
  fi
  if dry; then log "$name: would start a private $name on a free port"; up_port=0; return 0; fi
  log "$name: starting a private $name on a free port"
  "$private"
}

redis_standard_fn=start_redis_standard
pg_standard_fn=-
mysql_standard_fn=-
if cluster=$(pg_system_cluster_down "$pg_port"); then
  # shellcheck disable=SC2086 # "VERSION NAME" are two arguments
  start_pg_standard() { pg_ctlcluster --skip-systemctl-redirect $cluster start; }
  pg_standard_fn=start_pg_standard
fi
# The machine's mariadbd listens on 3306; when it already runs (but does not answer there), go private.
if [ "$mysql_port" = 3306 ] && [ -x /usr/sbin/mariadbd ] && ! mariadb_system_running; then
  mysql_standard_fn=start_mysql_standard
fi

if [ -z "${WIF_TEST_REDIS_URL:-}" ]; then
  bring_up Redis "$redis_port" redis_ok "$redis_standard_fn" start_redis_private
  export WIF_TEST_REDIS_URL="redis://127.0.0.1:$up_port"
fi
if [ -z "${WIF_TEST_PG_URL:-}" ]; then
  bring_up PostgreSQL "$pg_port" pg_ok "$pg_standard_fn" start_pg_private
  export WIF_TEST_PG_URL="postgres://postgres@127.0.0.1:$up_port/postgres"
fi
if [ -z "${WIF_TEST_MYSQL_URL:-}" ]; then
  bring_up MariaDB "$mysql_port" mysql_ok "$mysql_standard_fn" start_mysql_private
  export WIF_TEST_MYSQL_URL="mysql://root@127.0.0.1:$up_port/mysql"
fi
if [ -z "${WIF_TEST_CHROMIUM:-}" ]; then
  WIF_TEST_CHROMIUM=$(chromium_path)
  [ -n "$WIF_TEST_CHROMIUM" ] || dry || die "chromium is not installed"
  export WIF_TEST_CHROMIUM
fi

settings() {
  local v
  for v in WIF_TEST_REDIS_URL WIF_TEST_PG_URL WIF_TEST_MYSQL_URL WIF_TEST_CHROMIUM; do
    printf 'export %s=%q\n' "$v" "${!v}"
  done
}
case "$mode" in
  dry-run) settings; exit 0 ;;
  services)
    settings
    [ ${#private_pids[@]} = 0 ] || { log "private instances run until this script is stopped (Ctrl-C)"; wait; }
    exit 0
    ;;
esac
settings | sed 's/^export /test.sh: /' >&2

# ---------------------------------------------------------------- Node 24, dependencies, tests

# shellcheck source=use-node24.sh
source scripts/use-node24.sh
case "$(node --version)" in v24.*) ;; *) die "expected Node 24, have $(node --version)" ;; esac

# npm ci when node_modules is missing or was installed from another package-lock.json.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.wif-broker-lock.sha256
if [ ! -d node_modules ] || { [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ] &&
  { [ -f "$stamp" ] || [ ! node_modules/.package-lock.json -nt package-lock.json ]; }; }; then
  log "npm ci (node_modules missing or stale)"
  npm ci --no-audit --no-fund
fi
echo "$lock_sum" >"$stamp"

output_file=$(mktemp "${TMPDIR:-/tmp}/wif-broker-test-output.XXXXXX")
set +e
npm test 2>&1 | tee "$output_file"
status=${PIPESTATUS[0]}
set -e
# node --test's summary: "ℹ tests N" (spec reporter) or "# tests N" (TAP).
count=$(sed -n -E 's/^(ℹ|#) tests ([0-9]+)$/\2/p' "$output_file" | tail -1)
[ "$status" = 0 ] || exit "$status"
[ -n "$count" ] && [ "$count" -gt 0 ] || die "npm test ran no tests"
log "$count tests passed"
