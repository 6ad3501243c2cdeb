#!/usr/bin/env bash
# MinIO built from source with `go install` (cached in $LAKEHOUSE_CACHE_DIR/bin), serving
# 127.0.0.1:$MINIO_PORT (console $MINIO_CONSOLE_PORT), public Prometheus metrics, buckets
# $MINIO_BUCKETS. MinIO is AGPL-3.0: it is only run as an unmodified test process, never committed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MINIO_BIN="$BIN_DIR/minio"
MINIO_LOG="$LOG_DIR/minio.log"
MINIO_URL="http://$MINIO_HOST:$MINIO_PORT"

minio_live() { http_ok "$MINIO_URL/minio/health/live"; }

build_minio() {
  local go_bin go_minor
  go_bin=$(command -v go || true)
  [ -n "$go_bin" ] || { [ -x /usr/local/go/bin/go ] && go_bin=/usr/local/go/bin/go; } || true
  [ -n "$go_bin" ] || die "minio: Go >= 1.24 is needed to build MinIO and 'go' is not on PATH"
  go_minor=$("$go_bin" env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
  [ "${go_minor:-0}" -ge 24 ] 2>/dev/null || die "minio: $("$go_bin" version) is too old (need go1.24+)"
  local build_log="$LAKEHOUSE_CACHE_DIR/logs/minio-build.log"
  mkdir -p "$(dirname "$build_log")"
  log "minio: go install github.com/minio/minio@$MINIO_MODULE_VERSION (several minutes on a cold cache)"
  GOBIN="$BIN_DIR" CGO_ENABLED=0 GOFLAGS=-mod=mod \
    "$go_bin" install -tags kqueue -trimpath "github.com/minio/minio@$MINIO_MODULE_VERSION" \
    >"$build_log" 2>&1 || fail_with_log minio "$build_log" "go install failed"
}

svc_up() {
  command -v curl >/dev/null || apt_install curl
  [ -x "$MINIO_BIN" ] || build_minio
  if minio_live; then
    log "minio: already answering on $MINIO_URL, reusing it"
  elif port_open "$MINIO_HOST" "$MINIO_PORT"; then
    die "minio: port $MINIO_PORT is taken by something that is not MinIO"
  else
    mkdir -p "$LAKEHOUSE_STATE_DIR/minio/data"
    log "minio: starting on $MINIO_URL"
    MINIO_ROOT_USER="$MINIO_ROOT_USER" MINIO_ROOT_PASSWORD="$MINIO_ROOT_PASSWORD" \
      MINIO_PROMETHEUS_AUTH_TYPE=public MINIO_UPDATE=off MINIO_REGION="$MINIO_REGION" \
      start_bg minio "$MINIO_LOG" "$MINIO_BIN" \
      "$MINIO_BIN" server "$LAKEHOUSE_STATE_DIR/minio/data" \
      --address "$MINIO_HOST:$MINIO_PORT" --console-address "$MINIO_HOST:$MINIO_CONSOLE_PORT"
    wait_ready minio "$MINIO_LOG" "$SERVICES_READY_TIMEOUT" minio_live
  fi
  # shellcheck disable=SC2086
  py "$SERVICES_DIR/s3_buckets.py" "$MINIO_URL" "$MINIO_REGION" $MINIO_BUCKETS >>"$MINIO_LOG" 2>&1 ||
    fail_with_log minio "$MINIO_LOG" "could not create buckets $MINIO_BUCKETS (wrong credentials?)"
  log "minio: ready (buckets: $MINIO_BUCKETS)"
}

svc_down() { stop_pid minio 30; }

svc_status() {
  local owner="external"
  pid_alive minio && owner="started by services.sh"
  if minio_live; then
    status_line minio UP "$MINIO_URL console http://$MINIO_HOST:$MINIO_CONSOLE_PORT ($owner)"
  else
    status_line minio DOWN "$MINIO_URL"
    return 1
  fi
}

dispatch "$@"
