#!/usr/bin/env bash
# Prometheus from Debian apt (its own daemon is never started), run with
# monitoring/prometheus/prometheus.stack-test.yml (2 s scrapes of nessie, minio, itself and the
# project exporter) on 127.0.0.1:$PROMETHEUS_PORT, TSDB under $LAKEHOUSE_STATE_DIR/prometheus.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROM_LOG="$LOG_DIR/prometheus.log"
PROM_URL="http://$PROMETHEUS_HOST:$PROMETHEUS_PORT"
PROM_CONFIG="${PROMETHEUS_CONFIG:-$REPO_ROOT/monitoring/prometheus/prometheus.stack-test.yml}"

prom_ready() { http_ok "$PROM_URL/-/ready"; }

svc_up() {
  command -v curl >/dev/null || apt_install curl
  command -v prometheus >/dev/null && command -v promtool >/dev/null || apt_install prometheus
  promtool check config "$PROM_CONFIG" >>"$PROM_LOG" 2>&1 ||
    fail_with_log prometheus "$PROM_LOG" "promtool check config $PROM_CONFIG failed"
  if prom_ready; then
    log "prometheus: already answering on $PROM_URL, reusing it"
    curl -fsS -m 2 "$PROM_URL/api/v1/targets" 2>/dev/null | grep -q '"job":"nessie"' ||
      log "prometheus: WARNING the running server has no 'nessie' job (not started with $PROM_CONFIG)"
    return 0
  fi
  port_open "$PROMETHEUS_HOST" "$PROMETHEUS_PORT" &&
    die "prometheus: port $PROMETHEUS_PORT is taken by something that is not a ready Prometheus"
  mkdir -p "$LAKEHOUSE_STATE_DIR/prometheus"
  log "prometheus: starting on $PROM_URL with $PROM_CONFIG"
  start_bg prometheus "$PROM_LOG" "$PROM_CONFIG" \
    prometheus --config.file="$PROM_CONFIG" --storage.tsdb.path="$LAKEHOUSE_STATE_DIR/prometheus" \
    --storage.tsdb.retention.time=2d --web.listen-address="$PROMETHEUS_HOST:$PROMETHEUS_PORT" \
    --web.enable-lifecycle
  wait_ready prometheus "$PROM_LOG" "$SERVICES_READY_TIMEOUT" prom_ready
  log "prometheus: ready"
}

svc_down() { stop_pid prometheus 30; }

svc_status() {
  local owner="external"
  pid_alive prometheus && owner="started by services.sh"
  if prom_ready; then
    status_line prometheus UP "$PROM_URL ($owner)"
  else
    status_line prometheus DOWN "$PROM_URL"
    return 1
  fi
}

dispatch "$@"
