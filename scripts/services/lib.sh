# Shared helpers for scripts/services/*.sh (sourced, not executed).
# shellcheck shell=bash

SERVICES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SERVICES_DIR/../.." && pwd)"
# shellcheck source=../services.env
source "$REPO_ROOT/scripts/services.env"

RUN_DIR="$LAKEHOUSE_STATE_DIR/run"
LOG_DIR="$LAKEHOUSE_STATE_DIR/logs"
BIN_DIR="$LAKEHOUSE_CACHE_DIR/bin"
JAR_DIR="$LAKEHOUSE_CACHE_DIR/jars"
mkdir -p "$RUN_DIR" "$LOG_DIR" "$BIN_DIR" "$JAR_DIR"

log() { printf '[services %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# fail_with_log NAME LOGFILE MESSAGE: print the last lines of a service log and exit 1.
fail_with_log() {
  local name=$1 logfile=$2 msg=$3
  log "ERROR: $name: $msg"
  if [ -f "$logfile" ]; then
    echo "----- last 40 lines of $logfile -----" >&2
    tail -n 40 "$logfile" >&2 || true
    echo "----- end of $logfile -----" >&2
  fi
  exit 1
}

# apt_install PKG...: install the missing Debian packages without letting them start daemons.
_APT_UPDATED=0
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  is_root || die "packages missing (${missing[*]}) and not root: install them first"
  command -v apt-get >/dev/null || die "apt-get not found; install ${missing[*]} by hand"
  # policy-rc.d exit 101 = "do not start services from maintainer scripts": we start our own.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
  fi
  local rc=0
  if [ "$_APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$LOG_DIR/apt.log" 2>&1 || rc=$?
    _APT_UPDATED=1
  fi
  if [ "$rc" -eq 0 ]; then
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
      >>"$LOG_DIR/apt.log" 2>&1 || rc=$?
  fi
  [ "$created_policy" -eq 1 ] && rm -f "$policy"
  [ "$rc" -eq 0 ] || fail_with_log apt "$LOG_DIR/apt.log" "apt-get failed for ${missing[*]}"
}

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() { timeout 1 bash -c ">/dev/tcp/$1/$2" 2>/dev/null; }

# http_ok URL: true on a 2xx answer within 2 s.
http_ok() { curl -fsS -m 2 -o /dev/null "$1" 2>/dev/null; }

pid_file() { echo "$RUN_DIR/$1.pid"; }

# pid_alive NAME: the pid recorded for NAME is alive and still runs what we started
# (its command line contains the marker stored on the pid file's second line).
pid_alive() {
  local f pid marker
  f=$(pid_file "$1")
  [ -f "$f" ] || return 1
  pid=$(sed -n 1p "$f")
  marker=$(sed -n 2p "$f")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  [ -z "$marker" ] || tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker"
}

# start_bg NAME LOGFILE MARKER CMD...: start CMD detached in its own session, record its pid.
start_bg() {
  local name=$1 logfile=$2 marker=$3
  shift 3
  : >"$logfile"
  setsid nohup "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
  local pid=$! i
  # Until setsid/nohup exec the command, /proc/PID/cmdline is this shell's: pid_alive would read the
  # process as gone. Wait (at most 2 s) for the marker to appear, or for the process to end.
  for i in $(seq 40); do
    [ -r "/proc/$pid/cmdline" ] || break
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker" && break
    sleep 0.05
  done
  printf '%s\n%s\n' "$pid" "$marker" >"$(pid_file "$name")"
}

# wait_ready NAME LOGFILE TIMEOUT CHECK...: poll CHECK every 0.5 s until it succeeds;
# fail loudly (log tail) on timeout or when the started process died.
wait_ready() {
  local name=$1 logfile=$2 timeout=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  while [ "$SECONDS" -lt "$deadline" ]; do
    "$@" && return 0
    if [ -f "$(pid_file "$name")" ] && ! pid_alive "$name"; then
      rm -f "$(pid_file "$name")"
      fail_with_log "$name" "$logfile" "process exited before it became ready"
    fi
    sleep 0.5
  done
  fail_with_log "$name" "$logfile" "not ready after ${timeout}s (check: $*)"
}

# stop_pid NAME [TIMEOUT]: stop the process we started (pid file), TERM then KILL.
stop_pid() {
  local name=$1 timeout=${2:-30} f pid
  f=$(pid_file "$name")
  if [ ! -f "$f" ]; then
    log "$name: not started by services.sh (no pid file), left alone"
    return 0
  fi
  if ! pid_alive "$name"; then
    log "$name: recorded process already gone"
    rm -f "$f"
    return 0
  fi
  pid=$(sed -n 1p "$f")
  log "$name: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + timeout))
  while [ "$SECONDS" -lt "$deadline" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name: still alive after ${timeout}s, SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  # remove the pid file only if it still names the process we stopped (no concurrent restart)
  [ "$(sed -n 1p "$f" 2>/dev/null)" = "$pid" ] && rm -f "$f"
  return 0
}

# status_line NAME STATE DETAIL: one aligned status row.
status_line() { printf '%-11s %-5s %s\n' "$1" "$2" "$3"; }

# find_java MIN_MAJOR: print a java binary of at least that major version (NESSIE_JAVA wins).
find_java() {
  local min=$1 cand major
  for cand in ${NESSIE_JAVA:-} /usr/lib/jvm/*/bin/java "$(command -v java 2>/dev/null)"; do
    [ -x "$cand" ] || continue
    major=$("$cand" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
    major=${major%%.*}
    if [ -n "$major" ] && [ "$major" -ge "$min" ] 2>/dev/null; then
      echo "$cand"
      return 0
    fi
  done
  return 1
}

# py: a Python 3 for the small helper scripts (stdlib only).
py() {
  local p
  for p in "${LAKEHOUSE_PYTHON:-}" "$REPO_ROOT/.venv/bin/python" python3; do
    [ -n "$p" ] && command -v "$p" >/dev/null && { "$p" "$@"; return; }
  done
  die "python3 not found"
}

# dispatch "$@": run svc_up / svc_down / svc_status of the sourcing script.
dispatch() {
  case "${1:-}" in
    up) svc_up ;;
    down) svc_down ;;
    status) svc_status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
  esac
}
