#!/usr/bin/env bash
# Spark standalone cluster on loopback: 1 master + 2 workers (each 1 core, $SPARK_WORKER_MEMORY),
# started with pyspark's own `spark-class` (pip install "pyspark==3.5.9", the `[spark]` extra), Java 17.
#   master RPC  spark://127.0.0.1:$SPARK_MASTER_PORT     master UI/JSON  http://127.0.0.1:$SPARK_MASTER_UI_PORT/json/
#   worker UIs  http://127.0.0.1:$SPARK_WORKER1_UI_PORT, :$SPARK_WORKER2_UI_PORT  (worker RPC ports: random)
# Prometheus: master /metrics/master/prometheus/, workers /metrics/prometheus/ (spark/metrics.properties).
# Ready when the master's /json/ says ALIVE with 2 alive workers.
#
# Jars (Maven Central, cached in $LAKEHOUSE_CACHE_DIR/jars, put on the job's classpath by the submitter):
#   org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:$ICEBERG_VERSION  (Spark 3.5, Scala 2.12)
#   org.apache.iceberg:iceberg-aws-bundle:$ICEBERG_VERSION              (S3FileIO on MinIO)
# The catalog is Nessie's Iceberg REST endpoint (no Nessie jar needed).
# SPARK_CONF_DIR is the repository's spark/ directory (spark-defaults.conf, metrics.properties).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${SPARK_MASTER_PORT:=7077}"
: "${SPARK_MASTER_UI_PORT:=8090}"
: "${SPARK_WORKER1_UI_PORT:=8091}"
: "${SPARK_WORKER2_UI_PORT:=8092}"
: "${SPARK_WORKER_MEMORY:=1g}"
: "${ICEBERG_VERSION:=1.10.1}"
SPARK_JARS=(
  "org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:$ICEBERG_VERSION"
  "org.apache.iceberg:iceberg-aws-bundle:$ICEBERG_VERSION"
)

SPARK_LOG_DIR="$LOG_DIR"
SPARK_STATE="$LAKEHOUSE_STATE_DIR/spark"
MASTER_URL="spark://127.0.0.1:$SPARK_MASTER_PORT"
MASTER_UI="http://127.0.0.1:$SPARK_MASTER_UI_PORT"
WORKER_UI_PORTS=("$SPARK_WORKER1_UI_PORT" "$SPARK_WORKER2_UI_PORT")

# master_json_ok [N]: the master answers /json/ with status ALIVE and at least N alive workers.
master_json_ok() {
  local want=${1:-2} body
  body=$(curl -fsS -m 2 "$MASTER_UI/json/" 2>/dev/null) || return 1
  py -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d.get("status")=="ALIVE" and d.get("aliveworkers",0)>=int(sys.argv[2]) else 1)' \
    "$body" "$want"
}
master_up() { master_json_ok 0; }
spark_ready() { master_json_ok 2; }

# spark_python: a Python that imports pyspark (the project's venv unless LAKEHOUSE_PYTHON says otherwise).
spark_python() {
  local p
  for p in "${LAKEHOUSE_PYTHON:-}" "$REPO_ROOT/.venv/bin/python"; do
    [ -n "$p" ] && [ -x "$p" ] || continue
    "$p" -c 'import pyspark' 2>/dev/null && { echo "$p"; return 0; }
  done
  return 1
}

java17_home() {
  local d
  for d in "${SPARK_JAVA_HOME:-}" /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/*17*; do
    [ -n "$d" ] && [ -x "$d/bin/java" ] && { echo "$d"; return 0; }
  done
  return 1
}

fetch_jars() {
  local a name dl_log="$LOG_DIR/spark-jars-dl.log" part
  for a in "${SPARK_JARS[@]}"; do
    IFS=: read -r _ name ver <<<"$a"
    [ -s "$JAR_DIR/$name-$ver.jar" ] && continue
    command -v mvn >/dev/null || apt_install maven
    log "spark: mvn dependency:copy $a"
    part="$JAR_DIR/.part.$$"
    rm -rf "$part" && mkdir -p "$part"
    (cd "$part" && mvn -B -q dependency:copy "-Dartifact=$a" "-DoutputDirectory=$part") >"$dl_log" 2>&1 ||
      { rm -rf "$part"; fail_with_log spark "$dl_log" "jar download failed: $a"; }
    mv "$part/$name-$ver.jar" "$JAR_DIR/" && rm -rf "$part"
  done
}

svc_up() {
  command -v curl >/dev/null || apt_install curl
  fetch_jars
  if spark_ready; then
    log "spark: master already answering on $MASTER_UI with 2 workers, reusing it"
    return 0
  fi
  local python spark_home java_home i
  python=$(spark_python) ||
    die "spark: no Python with pyspark (pip install -e '.[spark]', or set LAKEHOUSE_PYTHON)"
  spark_home=$("$python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
  java_home=$(java17_home) || die "spark: needs Java 17 (set SPARK_JAVA_HOME)"
  mkdir -p "$SPARK_STATE/work-1" "$SPARK_STATE/work-2"
  export SPARK_HOME="$spark_home" JAVA_HOME="$java_home" SPARK_CONF_DIR="$REPO_ROOT/spark" \
    SPARK_LOCAL_IP=127.0.0.1 SPARK_LOG_DIR PYSPARK_PYTHON="$python" SPARK_NO_DAEMONIZE=1
  if ! master_up; then
    port_open 127.0.0.1 "$SPARK_MASTER_PORT" && die "spark: port $SPARK_MASTER_PORT is taken by something that is not a Spark master"
    log "spark: starting master $MASTER_URL (UI $MASTER_UI)"
    start_bg spark-master "$LOG_DIR/spark-master.log" "Master --host 127.0.0.1 --port $SPARK_MASTER_PORT" \
      "$spark_home/bin/spark-class" org.apache.spark.deploy.master.Master \
      --host 127.0.0.1 --port "$SPARK_MASTER_PORT" --webui-port "$SPARK_MASTER_UI_PORT"
    wait_ready spark-master "$LOG_DIR/spark-master.log" "$SERVICES_READY_TIMEOUT" master_up
  fi
  for i in 1 2; do
    pid_alive "spark-worker-$i" && continue
    port_open 127.0.0.1 "${WORKER_UI_PORTS[$((i - 1))]}" && continue  # a worker of an earlier start
    log "spark: starting worker $i (1 core, $SPARK_WORKER_MEMORY, UI :${WORKER_UI_PORTS[$((i - 1))]})"
    start_bg "spark-worker-$i" "$LOG_DIR/spark-worker-$i.log" "Worker --host 127.0.0.1 --webui-port ${WORKER_UI_PORTS[$((i - 1))]}" \
      "$spark_home/bin/spark-class" org.apache.spark.deploy.worker.Worker \
      --host 127.0.0.1 --webui-port "${WORKER_UI_PORTS[$((i - 1))]}" --cores 1 --memory "$SPARK_WORKER_MEMORY" \
      --work-dir "$SPARK_STATE/work-$i" "$MASTER_URL"
  done
  wait_ready spark-worker-2 "$LOG_DIR/spark-worker-2.log" "$SERVICES_READY_TIMEOUT" spark_ready
  log "spark: ready ($MASTER_URL, 2 workers)"
}

svc_down() {
  stop_pid spark-worker-2 20
  stop_pid spark-worker-1 20
  stop_pid spark-master 20
}

svc_status() {
  local owner="external"
  pid_alive spark-master && owner="started by services.sh"
  if spark_ready; then
    status_line spark UP "$MASTER_URL UI $MASTER_UI, 2 workers ($owner)"
  else
    status_line spark DOWN "$MASTER_UI/json/ (needs ALIVE with 2 workers)"
    return 1
  fi
}

dispatch "$@"
