#!/usr/bin/env bash
# Apache Airflow 3 (PyPI) on 127.0.0.1:$AIRFLOW_PORT: api-server, scheduler (LocalExecutor),
# dag-processor and triggerer, with metadata in the `airflow` database of the stack's PostgreSQL and
# the DAGs of compose/airflow/dags. Its StatsD metrics go to statsd_exporter (`go install`, cached in
# $LAKEHOUSE_CACHE_DIR/bin) on 127.0.0.1:$STATSD_EXPORTER_PORT (Prometheus job "statsd").
#
# Airflow lives in its own virtualenv, $LAKEHOUSE_CACHE_DIR/airflow/venv (outside the clone; pip
# cache ~/.cache/pip), with this project installed into it (so the DAG's tasks import lakehouse_core);
# every Airflow process runs with the repository first on PYTHONPATH, so the clone's code wins.
# Runtime state (AIRFLOW_HOME: config, task logs) is $LAKEHOUSE_STATE_DIR/airflow.
#
# `up` starts whatever component is not running (after a crash it restarts only that one) and waits
# until /api/v2/monitor/health reports every component healthy. Login: $AIRFLOW_USER/$AIRFLOW_PASSWORD
# (simple auth manager; POST /auth/token).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${AIRFLOW_VERSION:=3.3.2}"
: "${AIRFLOW_HOST:=127.0.0.1}"
: "${AIRFLOW_PORT:=8085}"
: "${AIRFLOW_USER:=admin}"
: "${AIRFLOW_PASSWORD:=admin}"
: "${AIRFLOW_DB:=airflow}"
: "${STATSD_EXPORTER_VERSION:=v0.28.0}"
: "${STATSD_EXPORTER_PORT:=9102}"
: "${STATSD_PORT:=9125}"
: "${AIRFLOW_SPARK_PROVIDER_VERSION:=5.6.0}"
: "${PYSPARK_VERSION:=3.5.9}"
: "${SPARK_MASTER_PORT:=7077}"
: "${SPARK_MASTER_UI_PORT:=8090}"

AIRFLOW_VENV="${AIRFLOW_VENV:-$LAKEHOUSE_CACHE_DIR/airflow/venv}"
AIRFLOW_BIN="$AIRFLOW_VENV/bin/airflow"
AIRFLOW_URL="http://$AIRFLOW_HOST:$AIRFLOW_PORT"
STATSD_BIN="$BIN_DIR/statsd_exporter"
STATSD_MAPPING="$REPO_ROOT/monitoring/statsd/airflow-mapping.yml"
COMPONENTS=(api-server scheduler dag-processor triggerer)
INSTALL_LOG="$LAKEHOUSE_CACHE_DIR/logs/airflow-install.log"

export AIRFLOW_HOME="$LAKEHOUSE_STATE_DIR/airflow"

# ------------------------------------------------------------------ install
# What goes into the venv besides the project (psycopg2 + asyncpg: Airflow's sync and async drivers
# for its PostgreSQL metadata database). The Spark provider (SparkSubmitOperator, the DAG's optional
# promote_with_spark task) stays at 5.x: 6.x requires pyspark-client 4, which replaces the `pyspark`
# package whose bin/spark-submit (Spark 3.5.9, the cluster's version) the operator runs.
AIRFLOW_PIP_PACKAGES=("apache-airflow[statsd]==$AIRFLOW_VERSION" "apache-airflow-client==$AIRFLOW_VERSION"
  "psycopg2-binary>=2.9" "asyncpg>=0.29"
  "apache-airflow-providers-apache-spark==$AIRFLOW_SPARK_PROVIDER_VERSION" "pyspark==$PYSPARK_VERSION")

# The stamp records what was installed: another package list or pyproject.toml reinstalls.
install_stamp() {
  echo "${AIRFLOW_PIP_PACKAGES[*]} project=$(sha256sum "$REPO_ROOT/pyproject.toml" | cut -c1-16)"
}

install_airflow() {
  local stamp_file="$AIRFLOW_VENV/.lakehouse-stamp" want
  want=$(install_stamp)
  [ -x "$AIRFLOW_BIN" ] && [ "$(cat "$stamp_file" 2>/dev/null)" = "$want" ] && return 0
  mkdir -p "$(dirname "$INSTALL_LOG")" "$(dirname "$AIRFLOW_VENV")"
  local python
  python=$(command -v python3.11 || command -v python3) || die "airflow: python3 not found"
  [ -x "$AIRFLOW_VENV/bin/python" ] || "$python" -m venv "$AIRFLOW_VENV" >>"$INSTALL_LOG" 2>&1 ||
    fail_with_log airflow "$INSTALL_LOG" "python3 -m venv failed"
  log "airflow: pip install apache-airflow[statsd]==$AIRFLOW_VERSION + the project into $AIRFLOW_VENV"
  PIP_CACHE_DIR="${PIP_CACHE_DIR:-$HOME/.cache/pip}" "$AIRFLOW_VENV/bin/pip" install -q \
    "${AIRFLOW_PIP_PACKAGES[@]}" "$REPO_ROOT" >>"$INSTALL_LOG" 2>&1 ||
    fail_with_log airflow "$INSTALL_LOG" "pip install failed"
  echo "$want" >"$stamp_file"
}

install_statsd_exporter() {
  [ -x "$STATSD_BIN" ] && return 0
  command -v go >/dev/null || die "airflow: 'go' is needed to build statsd_exporter"
  log "airflow: go install github.com/prometheus/statsd_exporter@$STATSD_EXPORTER_VERSION"
  GOBIN="$BIN_DIR" CGO_ENABLED=0 GOFLAGS=-mod=mod go install -trimpath \
    "github.com/prometheus/statsd_exporter@$STATSD_EXPORTER_VERSION" >>"$INSTALL_LOG" 2>&1 ||
    fail_with_log airflow "$INSTALL_LOG" "go install statsd_exporter failed"
}

# ------------------------------------------------------------------ configuration
airflow_env() {
  mkdir -p "$AIRFLOW_HOME"
  local secret_file="$AIRFLOW_HOME/jwt_secret"
  [ -s "$secret_file" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$secret_file"
  printf '{"%s": "%s"}\n' "$AIRFLOW_USER" "$AIRFLOW_PASSWORD" >"$AIRFLOW_HOME/passwords.json"
  export PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}"
  export AIRFLOW__CORE__DAGS_FOLDER="$REPO_ROOT/compose/airflow/dags"
  export AIRFLOW__CORE__LOAD_EXAMPLES=False
  export AIRFLOW__CORE__EXECUTOR=LocalExecutor
  export AIRFLOW__CORE__PARALLELISM=4
  export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
  export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="$AIRFLOW_URL/execution/"
  export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="$AIRFLOW_USER:admin"
  export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/passwords.json"
  export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://$POSTGRES_USER:$POSTGRES_PASSWORD@$POSTGRES_HOST:$POSTGRES_PORT/$AIRFLOW_DB"
  export AIRFLOW__API__HOST="$AIRFLOW_HOST" AIRFLOW__API__PORT="$AIRFLOW_PORT" AIRFLOW__API__WORKERS=1
  export AIRFLOW__API__BASE_URL="$AIRFLOW_URL"
  AIRFLOW__API_AUTH__JWT_SECRET=$(cat "$secret_file")
  export AIRFLOW__API_AUTH__JWT_SECRET
  export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=5
  export AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT=60
  export AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD=15
  export AIRFLOW__METRICS__STATSD_ON=True AIRFLOW__METRICS__STATSD_HOST=127.0.0.1
  export AIRFLOW__METRICS__STATSD_PORT="$STATSD_PORT" AIRFLOW__METRICS__STATSD_PREFIX=airflow
  # the cluster of scripts/services/spark.sh: SparkSubmitOperator's connection, and the settings
  # lakehouse_core builds the submission from (the tasks' other settings keep their defaults)
  export AIRFLOW_CONN_SPARK_DEFAULT="spark://127.0.0.1:$SPARK_MASTER_PORT"
  export LAKEHOUSE_SPARK__MASTER_URL="spark://127.0.0.1:$SPARK_MASTER_PORT"
  export LAKEHOUSE_SPARK__UI_URL="http://127.0.0.1:$SPARK_MASTER_UI_PORT"
}

# ------------------------------------------------------------------ probes
health_json() { curl -fsS -m 3 "$AIRFLOW_URL/api/v2/monitor/health" 2>/dev/null; }
api_ready() { health_json >/dev/null; }
# all_healthy: metadatabase, scheduler, dag_processor and triggerer report "healthy".
all_healthy() {
  health_json | py -c '
import json, sys
body = json.load(sys.stdin)
parts = ("metadatabase", "scheduler", "dag_processor", "triggerer")
sys.exit(0 if all((body.get(p) or {}).get("status") == "healthy" for p in parts) else 1)' 2>/dev/null
}
statsd_ready() { http_ok "http://127.0.0.1:$STATSD_EXPORTER_PORT/metrics"; }

ensure_database() {
  local exists
  exists=$(PGPASSWORD="$POSTGRES_PASSWORD" psql -X -q -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" -U "$POSTGRES_USER" \
    -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$AIRFLOW_DB'") ||
    die "airflow: cannot reach PostgreSQL on $POSTGRES_HOST:$POSTGRES_PORT as $POSTGRES_USER (start postgres first)"
  if [ "$exists" != 1 ]; then
    log "airflow: creating database $AIRFLOW_DB"
    PGPASSWORD="$POSTGRES_PASSWORD" psql -X -q -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" -U "$POSTGRES_USER" \
      -d postgres -c "CREATE DATABASE \"$AIRFLOW_DB\" OWNER \"$POSTGRES_USER\"" >/dev/null ||
      die "airflow: CREATE DATABASE $AIRFLOW_DB failed"
  fi
}

# ------------------------------------------------------------------ start / stop
start_component() {
  local comp=$1 logfile="$LOG_DIR/airflow-$1.log"
  if pid_alive "airflow-$comp"; then
    return 0
  fi
  log "airflow: starting $comp"
  local pythonpath=$PYTHONPATH
  # the scheduler preloads lakehouse_core (compose/airflow/preload): its forked task processes have it
  [ "$comp" = scheduler ] && pythonpath="$REPO_ROOT/compose/airflow/preload:$PYTHONPATH"
  # the marker matches the command line and the title Airflow sets (`airflow api_server -- ...`)
  PYTHONPATH="$pythonpath" start_bg "airflow-$comp" "$logfile" "airflow" "$AIRFLOW_BIN" "$comp"
}

start_statsd_exporter() {
  if statsd_ready; then
    return 0
  fi
  port_open 127.0.0.1 "$STATSD_EXPORTER_PORT" &&
    die "airflow: port $STATSD_EXPORTER_PORT is taken by something that is not statsd_exporter"
  log "airflow: starting statsd_exporter on 127.0.0.1:$STATSD_EXPORTER_PORT (statsd in :$STATSD_PORT)"
  start_bg statsd-exporter "$LOG_DIR/statsd-exporter.log" "$STATSD_BIN" "$STATSD_BIN" \
    --web.listen-address="127.0.0.1:$STATSD_EXPORTER_PORT" \
    --statsd.listen-udp="127.0.0.1:$STATSD_PORT" --statsd.listen-tcp="127.0.0.1:$STATSD_PORT" \
    --statsd.mapping-config="$STATSD_MAPPING"
  wait_ready statsd-exporter "$LOG_DIR/statsd-exporter.log" "$SERVICES_READY_TIMEOUT" statsd_ready
}

svc_up() {
  command -v curl >/dev/null || apt_install curl
  command -v psql >/dev/null || apt_install postgresql-client
  install_airflow
  install_statsd_exporter
  airflow_env
  start_statsd_exporter
  if ! pid_alive airflow-api-server && port_open "$AIRFLOW_HOST" "$AIRFLOW_PORT"; then
    api_ready || die "airflow: port $AIRFLOW_PORT is taken by something that is not Airflow"
    log "airflow: an api-server already answers on $AIRFLOW_URL, reusing it"
  else
    ensure_database
    log "airflow: airflow db migrate"
    "$AIRFLOW_BIN" db migrate >>"$LOG_DIR/airflow-migrate.log" 2>&1 ||
      fail_with_log airflow "$LOG_DIR/airflow-migrate.log" "airflow db migrate failed"
    start_component api-server
    wait_ready airflow-api-server "$LOG_DIR/airflow-api-server.log" "$SERVICES_READY_TIMEOUT" api_ready
  fi
  local comp
  for comp in scheduler dag-processor triggerer; do start_component "$comp"; done
  wait_ready airflow-scheduler "$LOG_DIR/airflow-scheduler.log" "$SERVICES_READY_TIMEOUT" all_healthy
  log "airflow: ready on $AIRFLOW_URL (api-server, scheduler, dag-processor, triggerer healthy)"
}

# stop_group NAME: stop_pid, then whatever is left of the process group it led (task processes,
# executor workers, api-server workers).
stop_group() {
  local name=$1 pid
  pid=$(sed -n 1p "$(pid_file "$name")" 2>/dev/null || true)
  stop_pid "$name" 30
  if [ -n "$pid" ] && kill -0 -- "-$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    sleep 2
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
}

# leftover_pids: Airflow processes (their title starts with "airflow ") still running with this
# AIRFLOW_HOME in their environment: executor workers and log servers of a scheduler that was killed
# on its own (SIGKILL of its pid) and restarted.
leftover_pids() {
  local dir pid
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    # a process can end between the listing and the read: { ...; } 2>/dev/null hides the redirect's error
    { tr '\0' ' ' <"$dir/cmdline"; } 2>/dev/null | grep -q '^airflow ' || continue
    { tr '\0' '\n' <"$dir/environ"; } 2>/dev/null | grep -qxF "AIRFLOW_HOME=$AIRFLOW_HOME" && echo "$pid"
  done
  return 0
}

svc_down() {
  local i pids
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do stop_group "airflow-${COMPONENTS[$i]}"; done
  stop_pid statsd-exporter 10
  pids=$(leftover_pids)
  if [ -n "$pids" ]; then
    log "airflow: stopping leftover processes $(echo $pids)"
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    sleep 3
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true  # idle executor workers of a dead scheduler ignore TERM
  fi
}

svc_status() {
  local owner="external" body
  pid_alive airflow-api-server && owner="started by services.sh"
  if all_healthy; then
    status_line airflow UP "$AIRFLOW_URL ($owner)"
  elif body=$(health_json); then
    status_line airflow DOWN "$AIRFLOW_URL unhealthy: $body"
    return 1
  else
    status_line airflow DOWN "$AIRFLOW_URL"
    return 1
  fi
}

case "${1:-}" in
  # `start COMPONENT`: start one component that is not running (tests restart a killed scheduler).
  start)
    [ -n "${2:-}" ] || die "usage: $0 start ${COMPONENTS[*]}"
    airflow_env
    start_component "$2"
    ;;
  *) dispatch "$@" ;;
esac
