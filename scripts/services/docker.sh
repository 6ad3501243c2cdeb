#!/usr/bin/env bash
# Docker engine for the Docker status tests. No systemd and no registry here: dockerd is started
# by hand when `docker info` fails (falling back to vfs/no-iptables/no-bridge), the base image
# $DOCKER_BASE_IMAGE is a debootstrap minbase bookworm rootfs (+busybox, tarball cached in
# $LAKEHOUSE_CACHE_DIR/rootfs) brought in with `docker import`, and $DOCKER_PROBE_IMAGE is built
# from compose/images/probe (label com.docker.compose.project=$DOCKER_TEST_PROJECT).
# `up` leaves dockerd running with both images present; `down` removes the test-project
# containers and stops dockerd only if `up` started it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DOCKERD_LOG="$LOG_DIR/dockerd.log"
DOCKER_BUILD_LOG="$LOG_DIR/docker-build.log"
ROOTFS_TAR="$LAKEHOUSE_CACHE_DIR/rootfs/debian-bookworm-minbase-busybox.tar"
PROBE_DIR="$REPO_ROOT/compose/images/probe"
: "${DEBIAN_MIRROR:=http://deb.debian.org/debian}"

engine_up() { timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# try_dockerd LABEL FLAGS...: start dockerd, poll up to 30 s; on failure stop it and return 1.
try_dockerd() {
  local label=$1
  shift
  log "docker: starting dockerd ($label)"
  start_bg dockerd "$DOCKERD_LOG" dockerd dockerd --host=unix:///var/run/docker.sock "$@"
  local deadline=$((SECONDS + 30))
  while [ "$SECONDS" -lt "$deadline" ]; do
    engine_up && return 0
    pid_alive dockerd || break
    sleep 0.5
  done
  log "docker: dockerd ($label) did not come up; last log lines:"
  tail -n 15 "$DOCKERD_LOG" >&2 || true
  stop_pid dockerd 20
  return 1
}

start_engine() {
  is_root || die "docker: the engine is not running and only root can start dockerd"
  cp "$DOCKERD_LOG" "$DOCKERD_LOG.prev" 2>/dev/null || true
  # A dockerd killed uncleanly (end of a session) leaves its pid file; a new dockerd refuses to start.
  local old
  old=$(cat /var/run/docker.pid 2>/dev/null || true)
  if [ -n "$old" ] && ! grep -qs dockerd "/proc/$old/comm"; then
    log "docker: removing stale /var/run/docker.pid ($old)"
    rm -f /var/run/docker.pid
  fi
  try_dockerd default && return 0
  try_dockerd fallback --storage-driver=vfs --iptables=false --bridge=none && return 0
  fail_with_log docker "$DOCKERD_LOG" "dockerd did not start with the default or the fallback flags"
}

ensure_base_image() {
  docker image inspect "$DOCKER_BASE_IMAGE" >/dev/null 2>&1 && return 0
  if [ ! -s "$ROOTFS_TAR" ]; then
    is_root || die "docker: debootstrap needs root"
    local tmp="$LAKEHOUSE_CACHE_DIR/rootfs/build.$$"
    rm -rf "$tmp" && mkdir -p "$tmp"
    log "docker: debootstrap --variant=minbase --include=busybox bookworm ($DEBIAN_MIRROR)"
    debootstrap --variant=minbase --include=busybox bookworm "$tmp" "$DEBIAN_MIRROR" \
      >"$LOG_DIR/debootstrap.log" 2>&1 || { rm -rf "$tmp"; fail_with_log docker "$LOG_DIR/debootstrap.log" "debootstrap failed"; }
    rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
    tar -C "$tmp" -cf "$ROOTFS_TAR.part" . && mv "$ROOTFS_TAR.part" "$ROOTFS_TAR"
    rm -rf "$tmp"
  fi
  log "docker: docker import $ROOTFS_TAR $DOCKER_BASE_IMAGE"
  docker import "$ROOTFS_TAR" "$DOCKER_BASE_IMAGE" >>"$DOCKER_BUILD_LOG" 2>&1 ||
    fail_with_log docker "$DOCKER_BUILD_LOG" "docker import failed"
}

build_probe_image() {
  log "docker: docker build $DOCKER_PROBE_IMAGE"
  DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE_IMAGE=$DOCKER_BASE_IMAGE" \
    -t "$DOCKER_PROBE_IMAGE" "$PROBE_DIR" >>"$DOCKER_BUILD_LOG" 2>&1 ||
    fail_with_log docker "$DOCKER_BUILD_LOG" "docker build of $DOCKER_PROBE_IMAGE failed"
}

svc_up() {
  command -v dockerd >/dev/null || apt_install docker.io
  command -v docker >/dev/null || apt_install docker.io
  command -v debootstrap >/dev/null || apt_install debootstrap
  mkdir -p "$(dirname "$ROOTFS_TAR")"
  if engine_up; then
    log "docker: engine already answering, reusing it"
  else
    start_engine
  fi
  ensure_base_image
  build_probe_image
  log "docker: ready (engine $(docker version --format '{{.Server.Version}}'), image $DOCKER_PROBE_IMAGE)"
}

svc_down() {
  if engine_up; then
    local ids
    ids=$(docker ps -aq --filter "label=com.docker.compose.project=$DOCKER_TEST_PROJECT" || true)
    if [ -n "$ids" ]; then
      log "docker: removing $DOCKER_TEST_PROJECT containers"
      # shellcheck disable=SC2086
      docker rm -f $ids >/dev/null 2>&1 || true
    fi
  fi
  if pid_alive dockerd; then
    stop_pid dockerd 30
    # dockerd leaves FORWARD=DROP behind, which drops the traffic of network-namespace tests.
    command -v iptables >/dev/null && iptables -P FORWARD ACCEPT 2>/dev/null || true
  else
    stop_pid dockerd 30
  fi
}

svc_status() {
  local owner="external"
  pid_alive dockerd && owner="started by services.sh"
  if engine_up; then
    local img="missing"
    docker image inspect "$DOCKER_PROBE_IMAGE" >/dev/null 2>&1 && img="present"
    status_line docker UP "engine $(docker version --format '{{.Server.Version}}') ($owner), $DOCKER_PROBE_IMAGE $img"
  else
    status_line docker DOWN "docker info fails"
    return 1
  fi
}

dispatch "$@"
