#!/usr/bin/env bash
# PostgreSQL 15 from Debian apt, on 127.0.0.1:$POSTGRES_PORT, with role admin and databases
# nessie + lakehouse. As root: the Debian cluster "$POSTGRES_MAJOR main" via pg_ctlcluster
# (postgres cannot traverse /root, so its data stays in /var/lib/postgresql). Not root: a private
# cluster initdb'ed into $LAKEHOUSE_STATE_DIR/postgres. A server already answering on the port
# (dev machine) is reused after the role/databases are ensured; `down` only stops what `up` started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_BIN="/usr/lib/postgresql/$POSTGRES_MAJOR/bin"
PG_LOG="$LOG_DIR/postgres.log"
CLUSTER_MARK="$RUN_DIR/postgres.cluster"   # "root cluster started by us"
PRIV_DIR="$LAKEHOUSE_STATE_DIR/postgres"    # private cluster (non-root)

pg_ready() { "$PG_BIN/pg_isready" -q -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" -t 2; }

# superuser_psql SQL...: run psql as the cluster superuser (peer auth as root, socket otherwise).
superuser_psql() {
  if is_root && id postgres >/dev/null 2>&1 && [ ! -f "$PRIV_DIR/data/PG_VERSION" ]; then
    (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$POSTGRES_PORT" -d postgres "$@")
  else
    psql -X -q -v ON_ERROR_STOP=1 -h "$PRIV_DIR" -p "$POSTGRES_PORT" -U postgres -d postgres "$@"
  fi
}

admin_psql() {
  PGPASSWORD="$POSTGRES_PASSWORD" psql -X -q -v ON_ERROR_STOP=1 -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" \
    -U "$POSTGRES_USER" -d "${1:-postgres}" -tAc "${2:-SELECT 1}"
}

ensure_role_and_dbs() {
  local db sql
  sql="DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$POSTGRES_USER') THEN
    CREATE ROLE \"$POSTGRES_USER\" LOGIN CREATEDB PASSWORD '$POSTGRES_PASSWORD';
  ELSE
    ALTER ROLE \"$POSTGRES_USER\" LOGIN CREATEDB PASSWORD '$POSTGRES_PASSWORD';
  END IF; END \$\$;"
  if ! superuser_psql -c "$sql" >>"$PG_LOG" 2>&1; then
    # No superuser access (server started by someone else): accept it if admin already works.
    admin_psql postgres >/dev/null 2>&1 ||
      fail_with_log postgres "$PG_LOG" "cannot create role $POSTGRES_USER and cannot log in as it"
    log "postgres: no superuser access; role $POSTGRES_USER already works"
  fi
  for db in $POSTGRES_DBS; do
    if [ "$(admin_psql postgres "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
      log "postgres: creating database $db"
      admin_psql postgres "CREATE DATABASE \"$db\" OWNER \"$POSTGRES_USER\"" >/dev/null ||
        fail_with_log postgres "$PG_LOG" "CREATE DATABASE $db failed"
    fi
  done
  admin_psql "${POSTGRES_DBS%% *}" "SELECT 1" >/dev/null ||
    fail_with_log postgres "$PG_LOG" "login as $POSTGRES_USER failed"
}

start_root_cluster() {
  local cluster="$POSTGRES_MAJOR main"
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$cluster"; then
    log "postgres: creating cluster $cluster"
    pg_createcluster --port "$POSTGRES_PORT" $cluster >>"$PG_LOG" 2>&1 ||
      fail_with_log postgres "$PG_LOG" "pg_createcluster failed"
  fi
  local port
  port=$(pg_lsclusters -h | awk -v c="$cluster" '$1" "$2==c {print $3}')
  [ "$port" = "$POSTGRES_PORT" ] || die "cluster $cluster is configured for port $port, not $POSTGRES_PORT"
  log "postgres: pg_ctlcluster $cluster start"
  # listen on loopback only, whatever postgresql.conf says
  pg_ctlcluster $cluster start -- -o "-c listen_addresses=$POSTGRES_HOST" >>"$PG_LOG" 2>&1 ||
    fail_with_log postgres "/var/log/postgresql/postgresql-$POSTGRES_MAJOR-main.log" "pg_ctlcluster start failed"
  echo "$cluster" >"$CLUSTER_MARK"
}

start_private_cluster() {
  if [ ! -f "$PRIV_DIR/data/PG_VERSION" ]; then
    log "postgres: initdb $PRIV_DIR/data"
    mkdir -p "$PRIV_DIR"
    "$PG_BIN/initdb" -D "$PRIV_DIR/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      >>"$PG_LOG" 2>&1 || fail_with_log postgres "$PG_LOG" "initdb failed"
  fi
  log "postgres: pg_ctl start (private cluster)"
  "$PG_BIN/pg_ctl" -D "$PRIV_DIR/data" -l "$PG_LOG" -w -t 60 start \
    -o "-c listen_addresses=$POSTGRES_HOST -p $POSTGRES_PORT -k $PRIV_DIR" >>"$PG_LOG" 2>&1 ||
    fail_with_log postgres "$PG_LOG" "pg_ctl start failed"
  printf '%s\n%s\n' "$(head -1 "$PRIV_DIR/data/postmaster.pid")" "postgres" >"$(pid_file postgres)"
}

svc_up() {
  [ -x "$PG_BIN/pg_ctl" ] || apt_install postgresql
  [ -x "$PG_BIN/pg_ctl" ] || die "postgres: $PG_BIN/pg_ctl missing after install"
  if pg_ready; then
    log "postgres: already answering on $POSTGRES_HOST:$POSTGRES_PORT, reusing it"
  elif port_open "$POSTGRES_HOST" "$POSTGRES_PORT"; then
    die "postgres: port $POSTGRES_PORT is taken by something that is not PostgreSQL"
  else
    if is_root; then start_root_cluster; else start_private_cluster; fi
    wait_ready postgres "$PG_LOG" "$SERVICES_READY_TIMEOUT" pg_ready
  fi
  ensure_role_and_dbs
  log "postgres: ready (role $POSTGRES_USER, databases: $POSTGRES_DBS)"
}

svc_down() {
  if [ -f "$CLUSTER_MARK" ]; then
    log "postgres: pg_ctlcluster $(cat "$CLUSTER_MARK") stop"
    # shellcheck disable=SC2046
    pg_ctlcluster $(cat "$CLUSTER_MARK") stop -m fast >>"$PG_LOG" 2>&1 || log "postgres: stop failed (see $PG_LOG)"
    rm -f "$CLUSTER_MARK"
  elif [ -f "$(pid_file postgres)" ]; then
    "$PG_BIN/pg_ctl" -D "$PRIV_DIR/data" -m fast -w -t 60 stop >>"$PG_LOG" 2>&1 || log "postgres: stop failed"
    rm -f "$(pid_file postgres)"
  else
    log "postgres: not started by services.sh, left alone"
  fi
}

svc_status() {
  local owner="external"
  { [ -f "$CLUSTER_MARK" ] || [ -f "$(pid_file postgres)" ]; } && owner="started by services.sh"
  if [ -x "$PG_BIN/pg_isready" ] && pg_ready; then
    status_line postgres UP "$POSTGRES_HOST:$POSTGRES_PORT ($owner)"
  else
    status_line postgres DOWN "$POSTGRES_HOST:$POSTGRES_PORT"
    return 1
  fi
}

dispatch "$@"
