#!/usr/bin/env bash
# Start/stop the real services the stack tests use, as native processes on 127.0.0.1.
#
#   bash scripts/services.sh up [SERVICE...]      install what is missing, start, wait until ready
#   bash scripts/services.sh down [SERVICE...]    stop only what `up` started (pid files)
#   bash scripts/services.sh restart SERVICE...
#   bash scripts/services.sh status               one line per service; exit 1 if any is down
#
# SERVICES: postgres postgres_exporter minio nessie spark prometheus exporter airflow docker (started in that order, stopped in reverse).
# Defaults (ports, credentials, versions) are in scripts/services.env; every one can be overridden
# from the environment. Downloads/builds are cached in $LAKEHOUSE_CACHE_DIR (~/.cache/lakehouse-tui),
# ~/.m2 and Go's module cache; runtime state (data, logs, pid files) is in $LAKEHOUSE_STATE_DIR
# (~/.cache/lakehouse-tui/state). `up` fails with a non-zero exit and the service's log tail when a
# service cannot start. Concurrent invocations are serialised with a lock file.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=services.env
source "$HERE/services.env"

ALL_SERVICES=(postgres postgres_exporter minio nessie spark prometheus exporter airflow docker)
# Started only when named (the Compose stack: its own containers, ports on $BIND_ADDRESS).
OPTIONAL_SERVICES=(compose)

usage() {
  echo "usage: $0 up|down|restart|status [${ALL_SERVICES[*]} ${OPTIONAL_SERVICES[*]}]" >&2
  exit 2
}

# select_services ARGS...: validate names, keep the canonical order (reversed for down).
select_services() {
  local reverse=$1
  shift
  local wanted=("$@") out=() s w
  [ ${#wanted[@]} -eq 0 ] && wanted=("${ALL_SERVICES[@]}")
  for s in "${ALL_SERVICES[@]}" "${OPTIONAL_SERVICES[@]}"; do
    for w in "${wanted[@]}"; do [ "$s" = "$w" ] && out+=("$s"); done
  done
  if [ "$reverse" -eq 1 ]; then
    local i
    for ((i = ${#out[@]} - 1; i >= 0; i--)); do echo "${out[$i]}"; done
  else
    printf '%s\n' "${out[@]}"
  fi
}

run_each() {
  local action=$1
  shift
  local svc start rc=0
  for svc in "$@"; do
    start=$SECONDS
    bash "$HERE/services/$svc.sh" "$action" 9>&- || {
      rc=$?
      echo "[services] $svc $action FAILED (exit $rc)" >&2
      [ "$action" = up ] && return "$rc"
    }
    [ "$action" = up ] && echo "[services] $svc up in $((SECONDS - start))s" >&2
  done
  return "$rc"
}

# The lock fd (9) is closed for every service script (run_each), so started daemons never hold it.
RUN_LOCK="$LAKEHOUSE_STATE_DIR/run/services.flock"
with_lock() {
  mkdir -p "$LAKEHOUSE_STATE_DIR/run"
  exec 9>"$RUN_LOCK"
  flock -w 1800 9 || { echo "[services] could not take $RUN_LOCK" >&2; exit 1; }
  "$@"
}

cmd=${1:-}
[ -n "$cmd" ] || usage
shift
for name in "$@"; do
  case " ${ALL_SERVICES[*]} ${OPTIONAL_SERVICES[*]} " in *" $name "*) ;; *) echo "unknown service: $name" >&2; usage ;; esac
done
case "$cmd" in
  up)
    mapfile -t svcs < <(select_services 0 "$@")
    t0=$SECONDS
    with_lock run_each up "${svcs[@]}"
    echo "[services] all up in $((SECONDS - t0))s: ${svcs[*]}" >&2
    ;;
  down)
    mapfile -t svcs < <(select_services 1 "$@")
    with_lock run_each down "${svcs[@]}"
    ;;
  restart)
    [ $# -gt 0 ] || usage
    mapfile -t down_svcs < <(select_services 1 "$@")
    mapfile -t up_svcs < <(select_services 0 "$@")
    restart_each() { run_each down "${down_svcs[@]}" && run_each up "${up_svcs[@]}"; }
    with_lock restart_each
    ;;
  status)
    mapfile -t svcs < <(select_services 0 "$@")
    rc=0
    for svc in "${svcs[@]}"; do bash "$HERE/services/$svc.sh" status || rc=1; done
    exit "$rc"
    ;;
  *) usage ;;
esac
