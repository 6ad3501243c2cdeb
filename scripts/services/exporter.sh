#!/usr/bin/env bash
# The project's own pipeline-metrics exporter (`lakehouse exporter`, job "lakehouse" of
# monitoring/prometheus/*.yml) on 127.0.0.1:$EXPORTER_PORT. It serves the persisted run results of
# the data dir ${LAKEHOUSE_DATA_DIR:-<repo>/data} (the TUI's and the CLI's default when started in
# the repository), re-read every 5 s. Runs with the project's Python: $LAKEHOUSE_PYTHON, else
# <repo>/.venv/bin/python (`make test` creates it), with the repository first on PYTHONPATH.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

EXPORTER_LOG="$LOG_DIR/exporter.log"
EXPORTER_URL="http://127.0.0.1:$EXPORTER_PORT"
EXPORTER_DATA_DIR="${LAKEHOUSE_DATA_DIR:-$REPO_ROOT/data}"
MARKER="lakehouse_core.cli exporter --port $EXPORTER_PORT"

exporter_ready() { http_ok "$EXPORTER_URL/metrics"; }

# project_python: a Python that imports lakehouse_core and prometheus_client.
project_python() {
  local p
  for p in "${LAKEHOUSE_PYTHON:-}" "$REPO_ROOT/.venv/bin/python"; do
    [ -n "$p" ] && [ -x "$p" ] || continue
    PYTHONPATH="$REPO_ROOT" "$p" -c 'import lakehouse_core.cli, prometheus_client' 2>/dev/null && {
      echo "$p"
      return 0
    }
  done
  return 1
}

svc_up() {
  command -v curl >/dev/null || apt_install curl
  if exporter_ready; then
    log "exporter: already answering on $EXPORTER_URL, reusing it"
    return 0
  fi
  port_open 127.0.0.1 "$EXPORTER_PORT" &&
    die "exporter: port $EXPORTER_PORT is taken by something that is not a metrics exporter"
  local python
  python=$(project_python) ||
    die "exporter: no Python with the project installed (run 'make test-fast' to create .venv, or set LAKEHOUSE_PYTHON)"
  log "exporter: starting on $EXPORTER_URL for data dir $EXPORTER_DATA_DIR"
  (
    cd "$REPO_ROOT"
    export PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}" LAKEHOUSE_DATA_DIR="$EXPORTER_DATA_DIR"
    start_bg exporter "$EXPORTER_LOG" "$MARKER" \
      "$python" -m lakehouse_core.cli exporter --port "$EXPORTER_PORT" --addr 127.0.0.1 --interval 5
  )
  wait_ready exporter "$EXPORTER_LOG" "$SERVICES_READY_TIMEOUT" exporter_ready
  log "exporter: ready"
}

svc_down() { stop_pid exporter 15; }

svc_status() {
  local owner="external"
  pid_alive exporter && owner="started by services.sh"
  if exporter_ready; then
    status_line exporter UP "$EXPORTER_URL/metrics ($owner)"
  else
    status_line exporter DOWN "$EXPORTER_URL/metrics"
    return 1
  fi
}

dispatch "$@"
