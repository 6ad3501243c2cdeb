#!/usr/bin/env bash
# PostgreSQL's Prometheus exporter from Debian apt (prometheus-postgres-exporter; its own daemon is
# never started) on 127.0.0.1:$POSTGRES_EXPORTER_PORT (job "postgres" of monitoring/prometheus/*.yml),
# connected to the stack's PostgreSQL as $POSTGRES_USER.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PGX_LOG="$LOG_DIR/postgres_exporter.log"
PGX_URL="http://127.0.0.1:$POSTGRES_EXPORTER_PORT"
PGX_BIN=/usr/bin/prometheus-postgres-exporter
MARKER="--web.listen-address=127.0.0.1:$POSTGRES_EXPORTER_PORT"

# ready: the metrics page answers and the exporter reached the server (pg_up 1)
pgx_ready() { curl -fsS -m 2 "$PGX_URL/metrics" 2>/dev/null | grep -q '^pg_up 1'; }

svc_up() {
  command -v curl >/dev/null || apt_install curl
  [ -x "$PGX_BIN" ] || apt_install prometheus-postgres-exporter
  if pgx_ready; then
    log "postgres_exporter: already answering on $PGX_URL, reusing it"
    return 0
  fi
  port_open 127.0.0.1 "$POSTGRES_EXPORTER_PORT" &&
    die "postgres_exporter: port $POSTGRES_EXPORTER_PORT is taken by something that is not a ready exporter"
  log "postgres_exporter: starting on $PGX_URL"
  DATA_SOURCE_NAME="postgresql://$POSTGRES_USER:$POSTGRES_PASSWORD@$POSTGRES_HOST:$POSTGRES_PORT/postgres?sslmode=disable" \
    start_bg postgres_exporter "$PGX_LOG" "$MARKER" "$PGX_BIN" "$MARKER"
  wait_ready postgres_exporter "$PGX_LOG" "$SERVICES_READY_TIMEOUT" pgx_ready
  log "postgres_exporter: ready"
}

svc_down() { stop_pid postgres_exporter 15; }

svc_status() {
  local owner="external"
  pid_alive postgres_exporter && owner="started by services.sh"
  if pgx_ready; then
    status_line postgres_exporter UP "$PGX_URL/metrics ($owner)"
  else
    status_line postgres_exporter DOWN "$PGX_URL/metrics"
    return 1
  fi
}

dispatch "$@"
