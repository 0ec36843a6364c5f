# shellcheck shell=bash
# Shared helpers for scripts/test, scripts/run and .ci/run. Source it; do not execute it.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Safe under `set -euo pipefail`. Everything the suite needs on a bare machine (only python3, pip and gcc) is
# installed from here: Python packages into .venv with pip, system services with apt-get.
#
# Sections: logging | Python venv | apt packages | waiting | services (PostgreSQL, Mosquitto).

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="$REPO_ROOT/.venv"

# ---------------------------------------------------------------------------------------------------- logging

log() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------------- Python venv

# Hash of the requirement files; the venv is reinstalled only when it changes.
_requirements_hash() {
  cat "$REPO_ROOT/requirements.txt" "$REPO_ROOT/requirements-dev.txt" | sha256sum | cut -d' ' -f1
}

# Create .venv if missing (or broken) and install requirements-dev.txt when the requirement files changed.
ensure_venv() {
  local stamp="$VENV_DIR/.requirements.sha256" want
  if [[ -d "$VENV_DIR" ]] && ! "$VENV_DIR/bin/python" -c '' 2>/dev/null; then
    log "== .venv is broken (its interpreter is gone); recreating it"
    rm -rf "$VENV_DIR"
  fi
  if [[ ! -x "$VENV_DIR/bin/python" ]]; then
    log "== creating .venv with $(command -v python3)"
    if ! python3 -m venv "$VENV_DIR" 2>/dev/null; then
      # Debian's python3 ships venv without ensurepip; the python3-venv package adds it.
      rm -rf "$VENV_DIR"
      ensure_apt_packages python3-venv
      python3 -m venv "$VENV_DIR"
    fi
  fi
  want="$(_requirements_hash)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  log "== installing requirements-dev.txt into .venv"
  "$VENV_DIR/bin/python" -m pip install -q --disable-pip-version-check -r "$REPO_ROOT/requirements-dev.txt"
  _argon2_for_this_cpu
  printf '%s\n' "$want" >"$stamp"
}

# argon2id is most of a login's time. PyPI's argon2-cffi-bindings wheel is built for any x86-64 (SSE2); built here
# with AVX2 the same hash at the same cost takes about half the time (docs/decisions.md, "argon2 built for the
# CPU"). So when this CPU has AVX2 and a C compiler is present, the bindings are rebuilt from their source release
# (same pinned version; CMake comes from PyPI if missing). Any failure keeps the portable wheel. The .venv then
# runs only on CPUs with AVX2: set ARGON2_BUILD_AVX2=0 where one is built on one machine and run on another.
# .venv/argon2-build says which build is installed (bench/run records it).
_argon2_for_this_cpu() {
  local marker="$VENV_DIR/argon2-build" version
  printf 'pypi-wheel\n' >"$marker"
  [[ "${ARGON2_BUILD_AVX2:-1}" == 1 ]] || return 0
  grep -qw avx2 /proc/cpuinfo 2>/dev/null || return 0
  command -v cc >/dev/null || { log "== no C compiler: argon2 stays the portable wheel"; return 0; }
  version="$("$VENV_DIR/bin/python" -c 'from importlib.metadata import version; print(version("argon2-cffi-bindings"))')"
  log "== building argon2-cffi-bindings $version for this CPU (AVX2)"
  if CFLAGS="-O3 -mavx2" "$VENV_DIR/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall \
      --no-deps --no-binary argon2-cffi-bindings "argon2-cffi-bindings==$version"; then
    printf 'avx2\n' >"$marker"
  else
    log "== the AVX2 build failed: reinstalling the portable wheel"
    "$VENV_DIR/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps \
      "argon2-cffi-bindings==$version"
  fi
}

# ---------------------------------------------------------------------------------------------------- apt packages

_APT_UPDATED=0

_as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo --preserve-env=DEBIAN_FRONTEND "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

_apt_installed() {
  dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'
}

# Install the given Debian packages that are not installed yet; `apt-get update` runs at most once per script.
ensure_apt_packages() {
  local pkg missing=()
  command -v dpkg >/dev/null 2>&1 || die "dpkg not found: install $* by hand (this script knows Debian only)"
  for pkg in "$@"; do
    _apt_installed "$pkg" || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  export DEBIAN_FRONTEND=noninteractive
  if [[ $_APT_UPDATED -eq 0 ]]; then
    log "== apt-get update"
    _as_root apt-get update -qq
    _APT_UPDATED=1
  fi
  log "== apt-get install ${missing[*]}"
  _as_root apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
}

# ---------------------------------------------------------------------------------------------------- waiting

# wait_until DESCRIPTION SECONDS COMMAND...: run COMMAND every 0.2 s until it succeeds; fail after SECONDS.
wait_until() {
  local what="$1" seconds="$2" deadline
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "timed out after ${seconds}s waiting for $what"
      return 1
    fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------------------- services
#
# Each service is a throwaway instance: start_X DIR PORT [...] wipes and fills DIR, listens on 127.0.0.1:PORT,
# waits until it answers; stop_X DIR stops it and never fails (it runs from EXIT traps). DIR keeps the log.
# A new service (Mosquitto, ...) gets: `ensure_apt_packages <pkg>` in the caller, and start_X/stop_X here.

# ------------------------------------------------------------- PostgreSQL

# Newest /usr/lib/postgresql/<version>/bin (PG_BIN overrides); fails when none is installed.
pg_bin_dir() {
  if [[ -n "${PG_BIN:-}" ]]; then
    printf '%s\n' "$PG_BIN"
    return 0
  fi
  local dir
  dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "$dir" && -x "$dir/initdb" ]] || return 1
  printf '%s\n' "$dir"
}

# initdb and postgres refuse to run as root: as root, run them as the `postgres` system user.
_pg_as_owner() {
  if [[ $EUID -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

_pg_give_to_owner() {
  if [[ $EUID -eq 0 ]]; then
    chown postgres: "$1"
  fi
}

_pg_ensure_system_user() {
  [[ $EUID -eq 0 ]] || return 0
  id -u postgres >/dev/null 2>&1 || useradd --system --user-group --no-create-home --shell /usr/sbin/nologin postgres
}

# start_postgres DIR PORT [DATABASE]: a throwaway cluster in DIR (wiped first) on 127.0.0.1:PORT, trust auth,
# superuser `postgres`, durability off for speed. Connect with postgresql://postgres@127.0.0.1:PORT/DATABASE.
start_postgres() {
  local dir="$1" port="$2" database="${3:-}" bin real
  bin="$(pg_bin_dir)" || die "PostgreSQL is not installed (ensure_apt_packages postgresql)"
  _pg_ensure_system_user
  stop_postgres "$dir"
  # Otherwise pg_isready below would find the other server, and the tests would run against its databases.
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    die "a PostgreSQL server already answers on 127.0.0.1:$port; stop it or choose another port"
  fi
  _pg_wipe "$dir"
  mkdir -p "$dir"
  real="$(cd "$dir" && pwd -P)"
  _pg_give_to_owner "$real"
  # The cluster owner must reach DIR (a checkout under /root is closed to it) and the socket path must fit in
  # 107 bytes; otherwise the cluster lives in /tmp and DIR is a symlink to it.
  if ! _pg_as_owner test -w "$real" || ((${#real} > 80)); then
    rmdir "$real"
    real="$(mktemp -d /tmp/pg-cluster.XXXXXX)"
    chmod 755 "$real"
    _pg_give_to_owner "$real"
    ln -s "$real" "$dir"
  fi

  _pg_as_owner "$bin/initdb" -D "$real/data" -U postgres --auth=trust --encoding=UTF8 --no-locale --no-sync \
    >"$real/initdb.log" 2>&1 || { cat "$real/initdb.log" >&2; die "initdb failed in $real/data"; }
  _pg_as_owner tee "$real/data/pg_hba.conf" >/dev/null <<'EOF'
# Throwaway test cluster: anyone on this machine may connect as anyone.
local   all   all                  trust
host    all   all   127.0.0.1/32   trust
EOF
  _pg_as_owner tee -a "$real/data/postgresql.conf" >/dev/null <<EOF

# Throwaway test cluster (scripts/lib.sh): speed over durability.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$real'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  # -w fails at once if the postmaster exits (port taken, bad setting); pg_isready then checks TCP.
  if ! _pg_as_owner "$bin/pg_ctl" -D "$real/data" -l "$real/postgres.log" -w -t 60 start >/dev/null \
    || ! wait_until "PostgreSQL on 127.0.0.1:$port" 60 "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    tail -n 30 "$real/postgres.log" >&2 || true
    die "PostgreSQL did not start (log: $real/postgres.log)"
  fi
  if [[ -n "$database" ]]; then
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$database"
  fi
  log "== PostgreSQL $("$bin/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$port (data: $real/data)"
}

# stop_postgres DIR: stop the cluster in DIR if it runs. Never fails, so it can run from an EXIT trap.
stop_postgres() {
  local dir="$1" bin real
  [[ -f "$dir/data/postmaster.pid" ]] || return 0
  bin="$(pg_bin_dir)" || return 0
  real="$(cd "$dir" && pwd -P)" || return 0
  _pg_as_owner "$bin/pg_ctl" -D "$real/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
    || _pg_as_owner "$bin/pg_ctl" -D "$real/data" -m immediate -w stop >/dev/null 2>&1 \
    || log "warning: could not stop PostgreSQL in $real/data"
  return 0
}

# Remove a previous throwaway cluster in DIR; refuse to remove anything that does not look like one.
_pg_wipe() {
  local dir="$1" target
  if [[ -L "$dir" ]]; then
    target="$(readlink "$dir")"
    [[ "$target" == /tmp/pg-cluster.* ]] && rm -rf "$target"
    rm -f "$dir"
  elif [[ -d "$dir" ]]; then
    if [[ -f "$dir/data/PG_VERSION" || -z "$(ls -A "$dir")" || -f "$dir/initdb.log" ]]; then
      rm -rf "$dir"
    else
      die "$dir exists and is not a throwaway PostgreSQL cluster; remove it by hand"
    fi
  fi
}

# ------------------------------------------------------------- Mosquitto

MOSQUITTO_BIN="${MOSQUITTO_BIN:-/usr/sbin/mosquitto}"

# Whether something accepts TCP connections on 127.0.0.1:PORT (bash's /dev/tcp: no extra tool needed).
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# start_mosquitto DIR PORT: a throwaway broker in DIR (wiped first) on 127.0.0.1:PORT, anonymous access,
# persistence on with an autosave every second (queued QoS 1 messages and sessions survive a restart).
# Its config is DIR/mosquitto.conf: tests stop and start the same broker with it (`mosquitto -c ... -d`).
start_mosquitto() {
  local dir="$1" port="$2"
  [[ -x "$MOSQUITTO_BIN" ]] || die "Mosquitto is not installed (ensure_apt_packages mosquitto)"
  stop_mosquitto "$dir"
  if port_open "$port"; then
    die "something already listens on 127.0.0.1:$port; stop it or choose another port"
  fi
  if [[ -d "$dir" ]]; then
    [[ -f "$dir/mosquitto.conf" || -z "$(ls -A "$dir")" ]] || die "$dir exists and is not a throwaway broker"
    rm -rf "$dir"
  fi
  mkdir -p "$dir/data"
  dir="$(cd "$dir" && pwd -P)"
  cat >"$dir/mosquitto.conf" <<EOF
# Throwaway test broker (scripts/lib.sh start_mosquitto).
listener $port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $dir/data/
autosave_interval 1
max_queued_messages 100000
set_tcp_nodelay true
log_dest file $dir/mosquitto.log
pid_file $dir/mosquitto.pid
EOF
  # As root Mosquitto drops to the `mosquitto` user, which must be able to write its files.
  if [[ $EUID -eq 0 ]] && id -u mosquitto >/dev/null 2>&1; then chown -R mosquitto: "$dir"; fi
  "$MOSQUITTO_BIN" -c "$dir/mosquitto.conf" -d
  if ! wait_until "Mosquitto on 127.0.0.1:$port" 30 port_open "$port"; then
    tail -n 20 "$dir/mosquitto.log" >&2 || true
    die "Mosquitto did not start (log: $dir/mosquitto.log)"
  fi
  log "== Mosquitto on 127.0.0.1:$port (config: $dir/mosquitto.conf)"
}

# stop_mosquitto DIR: stop the broker started in DIR, if it runs. Never fails (EXIT traps).
stop_mosquitto() {
  local dir="$1" pid
  [[ -f "$dir/mosquitto.pid" ]] || return 0
  pid="$(cat "$dir/mosquitto.pid" 2>/dev/null)" || return 0
  if [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; then
    wait_until "Mosquitto $pid to stop" 10 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/mosquitto.pid"
  return 0
}
