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
#   org.apache.spark:spark-connect_2.12:$SPARK_CONNECT_VERSION          (the Spark Connect server)
# The catalog is Nessie's Iceberg REST endpoint (no Nessie jar needed).
#
# Spark Connect server (SQL engine of `lakehouse sql --engine spark`): sc://127.0.0.1:$SPARK_CONNECT_PORT,
# its driver UI on :$SPARK_CONNECT_UI_PORT. spark-connect 3.5.9 (pyspark's version) and 3.5.8 are not on
# Maven Central; 3.5.7 is, and speaks the same Connect protocol as the 3.5.9 client.
# It runs in local mode ($SPARK_CONNECT_MASTER, default local[2]), not on the standalone cluster: on
# this 2-core machine each worker has 1 core and 1 GB, so an always-on Connect application holding a
# worker's executor would leave the phase-2 job one worker (or none) until it let go; the standalone
# master has no preemption, and dynamic allocation would release executors only after an idle timeout
# (and keep those holding shuffle files longer). In local mode a query uses the server's own JVM
# threads and the cluster's two executors stay free for submitted jobs.
# Ready when the Connect port answers a `SELECT 1` from pyspark's Connect client.
# SPARK_CONF_DIR is the repository's spark/ directory (spark-defaults.conf, metrics.properties).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${SPARK_MASTER_PORT:=7077}"
: "${SPARK_MASTER_UI_PORT:=8090}"
: "${SPARK_WORKER1_UI_PORT:=8091}"
: "${SPARK_WORKER2_UI_PORT:=8092}"
: "${SPARK_WORKER_MEMORY:=1g}"
: "${ICEBERG_VERSION:=1.10.1}"
: "${SPARK_CONNECT_VERSION:=3.5.7}"
: "${SPARK_CONNECT_PORT:=15002}"
: "${SPARK_CONNECT_UI_PORT:=4070}"
: "${SPARK_CONNECT_MASTER:=local[2]}"
: "${SPARK_CONNECT_MEMORY:=1g}"
SPARK_JARS=(
  "org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:$ICEBERG_VERSION"
  "org.apache.iceberg:iceberg-aws-bundle:$ICEBERG_VERSION"
  "org.apache.spark:spark-connect_2.12:$SPARK_CONNECT_VERSION"
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
connect_port_open() { port_open 127.0.0.1 "$SPARK_CONNECT_PORT"; }
# worker_uis_open: both workers' UIs answer (the master lists a killed worker as ALIVE for a minute).
worker_uis_open() { local p; for p in "${WORKER_UI_PORTS[@]}"; do port_open 127.0.0.1 "$p" || return 1; done; }

# connect_ready PYTHON: the Connect server answers `SELECT 1` (one client session, closed after).
connect_ready() {
  timeout 60 "$1" -c '
import sys
from pyspark.sql.connect.session import SparkSession
s = SparkSession.builder.remote(sys.argv[1]).getOrCreate()
ok = s.sql("SELECT 1 AS one").collect()[0][0] == 1
s.stop()
sys.exit(0 if ok else 1)' "sc://127.0.0.1:$SPARK_CONNECT_PORT" >/dev/null 2>&1
}

jar_path() { local name ver; IFS=: read -r _ name ver <<<"$1"; echo "$JAR_DIR/$name-$ver.jar"; }

# start_connect SPARK_HOME PYTHON: the Spark Connect server (see the header), catalog `nessie` on
# Nessie's default branch with S3FileIO on MinIO (the SQL engine sets its own catalog per session).
start_connect() {
  local spark_home=$1 python=$2 jars a
  jars=$(for a in "${SPARK_JARS[@]}"; do jar_path "$a"; done | paste -sd,)
  log "spark: starting Spark Connect sc://127.0.0.1:$SPARK_CONNECT_PORT ($SPARK_CONNECT_MASTER, UI :$SPARK_CONNECT_UI_PORT)"
  start_bg spark-connect "$LOG_DIR/spark-connect.log" "SparkConnectServer" \
    "$spark_home/bin/spark-submit" --class org.apache.spark.sql.connect.service.SparkConnectServer \
    --name lakehouse-spark-connect --master "$SPARK_CONNECT_MASTER" --driver-memory "$SPARK_CONNECT_MEMORY" \
    --jars "$jars" \
    --conf "spark.connect.grpc.binding.port=$SPARK_CONNECT_PORT" \
    --conf "spark.ui.port=$SPARK_CONNECT_UI_PORT" --conf spark.log.level=WARN \
    --conf "spark.sql.catalog.nessie.uri=http://$NESSIE_HOST:$NESSIE_PORT/iceberg/main" \
    --conf "spark.sql.catalog.nessie.s3.endpoint=http://$MINIO_HOST:$MINIO_PORT" \
    --conf "spark.sql.catalog.nessie.s3.access-key-id=$MINIO_ROOT_USER" \
    --conf "spark.sql.catalog.nessie.s3.secret-access-key=$MINIO_ROOT_PASSWORD" \
    --conf "spark.sql.catalog.nessie.client.region=$MINIO_REGION"
  wait_ready spark-connect "$LOG_DIR/spark-connect.log" "$SERVICES_READY_TIMEOUT" connect_port_open
  local deadline=$((SECONDS + SERVICES_READY_TIMEOUT))
  until connect_ready "$python"; do  # the port opens before the server's first session is served
    [ "$SECONDS" -lt "$deadline" ] && pid_alive spark-connect ||
      fail_with_log spark-connect "$LOG_DIR/spark-connect.log" "port $SPARK_CONNECT_PORT open but SELECT 1 fails"
    sleep 2
  done
}

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
  local python spark_home java_home i
  if spark_ready && worker_uis_open && connect_port_open; then
    log "spark: master already answering on $MASTER_UI with 2 workers and Connect on :$SPARK_CONNECT_PORT, reusing them"
    return 0
  fi
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
  if ! connect_port_open; then
    start_connect "$spark_home" "$python"
  fi
  log "spark: ready ($MASTER_URL, 2 workers, Connect sc://127.0.0.1:$SPARK_CONNECT_PORT)"
}

svc_down() {
  stop_pid spark-connect 20
  stop_pid spark-worker-2 20
  stop_pid spark-worker-1 20
  stop_pid spark-master 20
}

svc_status() {
  local owner="external"
  pid_alive spark-master && owner="started by services.sh"
  if ! spark_ready; then
    status_line spark DOWN "$MASTER_UI/json/ (needs ALIVE with 2 workers)"
    return 1
  elif ! connect_port_open; then
    status_line spark DOWN "Spark Connect sc://127.0.0.1:$SPARK_CONNECT_PORT not answering (cluster UP)"
    return 1
  fi
  status_line spark UP "$MASTER_URL UI $MASTER_UI, 2 workers, Connect sc://127.0.0.1:$SPARK_CONNECT_PORT ($owner)"
}

dispatch "$@"
