"""Each stack service started by scripts/services.sh answers and behaves as the project needs."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.stack.conftest import (
    REPO_ROOT,
    StackEndpoints,
    run_probe_container,
    run_services,
    start_service,
    stop_service,
    wait_container_health,
)

PROM_DIR = REPO_ROOT / "monitoring" / "prometheus"
TIMEOUT = httpx.Timeout(10.0)


def _get_json(url: str, **params: Any) -> Any:
    resp = httpx.get(url, params=params, timeout=TIMEOUT)
    resp.raise_for_status()
    return resp.json()


# ----------------------------------------------------------------------------------- postgres
def test_postgres_answers_as_admin_with_project_databases(stack: StackEndpoints) -> None:
    import psycopg2

    conn = psycopg2.connect(
        host=stack.postgres_host,
        port=stack.postgres_port,
        user=stack.postgres_user,
        password=stack.postgres_password,
        dbname="nessie",
        connect_timeout=5,
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1, current_user, current_setting('server_version_num')::int / 10000")
            assert cur.fetchone() == (1, "admin", 15)
            cur.execute("SELECT datname FROM pg_database WHERE datname IN ('nessie', 'lakehouse') ORDER BY 1")
            assert cur.fetchall() == [("lakehouse",), ("nessie",)]
    finally:
        conn.close()


def test_postgres_rejects_a_wrong_password(stack: StackEndpoints) -> None:
    import psycopg2

    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(
            host=stack.postgres_host,
            port=stack.postgres_port,
            user=stack.postgres_user,
            password="not-the-password",
            dbname="nessie",
            connect_timeout=5,
        )


# -------------------------------------------------------------------------------------- minio
def _s3(stack: StackEndpoints) -> Any:
    from pyarrow import fs

    return fs.S3FileSystem(
        access_key=stack.minio_access_key,
        secret_key=stack.minio_secret_key,
        endpoint_override=stack.minio_endpoint,
        region=stack.minio_region,
        scheme="http",
        connect_timeout=5,
        request_timeout=10,
    )


def test_minio_is_live_and_has_both_buckets(stack: StackEndpoints) -> None:
    from pyarrow import fs

    assert httpx.get(f"{stack.minio_endpoint}/minio/health/live", timeout=TIMEOUT).status_code == 200
    s3 = _s3(stack)
    infos = s3.get_file_info(["warehouse", "lakehouse", "no-such-bucket-here"])
    assert [i.type for i in infos] == [fs.FileType.Directory, fs.FileType.Directory, fs.FileType.NotFound]
    assert stack.minio_buckets == ("warehouse", "lakehouse")


def test_minio_object_round_trip(stack: StackEndpoints) -> None:
    s3 = _s3(stack)
    key = f"lakehouse/tests/{uuid.uuid4().hex}.txt"
    with s3.open_output_stream(key) as out:
        out.write(b"hello lakehouse")
    try:
        with s3.open_input_stream(key) as inp:
            assert inp.read() == b"hello lakehouse"
    finally:
        s3.delete_file(key)


def test_minio_metrics_are_public(stack: StackEndpoints) -> None:
    resp = httpx.get(f"{stack.minio_endpoint}/minio/v2/metrics/cluster", timeout=TIMEOUT)
    assert resp.status_code == 200
    assert "minio_cluster_nodes_online_total" in resp.text


# ------------------------------------------------------------------------------------- nessie
def test_nessie_config_and_health(stack: StackEndpoints) -> None:
    config = _get_json(f"{stack.nessie_url}/api/v2/config")
    assert config["defaultBranch"] == "main"
    assert config["maxSupportedApiVersion"] == 2
    health = _get_json(f"{stack.nessie_management_url}/q/health/ready")
    assert health["status"] == "UP"
    metrics = httpx.get(f"{stack.nessie_management_url}/q/metrics", timeout=TIMEOUT).text
    assert 'application="Nessie"' in metrics


def test_nessie_iceberg_rest_warehouse_points_at_minio(stack: StackEndpoints) -> None:
    config = _get_json(f"{stack.nessie_url}/iceberg/v1/config")
    assert config["defaults"]["warehouse"] == "s3://warehouse"
    assert config["overrides"]["s3.endpoint"] == f"{stack.minio_endpoint}/"
    assert config["overrides"]["s3.path-style-access"] == "true"
    assert "s3.signer" not in config["overrides"]  # request signing is disabled server-side


def test_pyiceberg_rest_catalog_round_trip(stack: StackEndpoints) -> None:
    import pyarrow as pa
    from pyiceberg.catalog.rest import RestCatalog

    catalog = RestCatalog("nessie", **stack.pyiceberg_properties())
    namespace = f"svc_{uuid.uuid4().hex[:10]}"
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("city", pa.string())])
    catalog.create_namespace(namespace)
    try:
        table = catalog.create_table(f"{namespace}.events", schema=schema)
        assert table.metadata_location.startswith(f"s3://warehouse/{namespace}/events")
        table.append(pa.table({"id": [3, 1, 2], "city": ["C", "A", "B"]}, schema=schema))
        reread = catalog.load_table(f"{namespace}.events").scan().to_arrow().sort_by("id")
        assert reread.to_pydict() == {"id": [1, 2, 3], "city": ["A", "B", "C"]}
        catalog.drop_table(f"{namespace}.events")
    finally:
        catalog.drop_namespace(namespace)


def _branch_hash(stack: StackEndpoints, name: str) -> str:
    return str(_get_json(f"{stack.nessie_url}/api/v2/trees/{name}")["reference"]["hash"])


def test_nessie_branch_survives_a_restart(stack: StackEndpoints) -> None:
    """The JDBC2 version store on PostgreSQL keeps branches across a Nessie restart."""
    name = f"persist_{uuid.uuid4().hex[:10]}"
    main_hash = _branch_hash(stack, "main")
    resp = httpx.post(
        f"{stack.nessie_url}/api/v2/trees",
        params={"name": name, "type": "BRANCH"},
        json={"type": "BRANCH", "name": "main", "hash": main_hash},
        timeout=TIMEOUT,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["reference"] == {"type": "BRANCH", "name": name, "hash": main_hash}
    try:
        stop_service("nessie")
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{stack.nessie_url}/api/v2/config", timeout=TIMEOUT)
        start_service("nessie")
        assert _branch_hash(stack, name) == main_hash
    finally:
        httpx.delete(f"{stack.nessie_url}/api/v2/trees/{name}@{main_hash}", timeout=TIMEOUT)
    assert httpx.get(f"{stack.nessie_url}/api/v2/trees/{name}", timeout=TIMEOUT).status_code == 404


# --------------------------------------------------------------------------------- prometheus
def _targets_by_job(stack: StackEndpoints) -> dict[str, dict[str, Any]]:
    data = _get_json(f"{stack.prometheus_url}/api/v1/targets", state="active")["data"]
    return {t["labels"]["job"]: t for t in data["activeTargets"]}


def test_prometheus_scrapes_nessie_minio_and_itself(stack: StackEndpoints) -> None:
    assert httpx.get(f"{stack.prometheus_url}/-/ready", timeout=TIMEOUT).status_code == 200
    wanted = {"nessie", "minio", "prometheus"}
    deadline = time.monotonic() + 60  # 2 s scrape interval: a few scrapes at most
    targets: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        targets = _targets_by_job(stack)
        if all(targets.get(job, {}).get("health") == "up" for job in wanted):
            break
        time.sleep(1)
    assert {job: targets.get(job, {}).get("health") for job in wanted} == dict.fromkeys(wanted, "up")
    assert set(targets) == {"nessie", "minio", "prometheus", "lakehouse", "postgres", "statsd", "spark"}
    assert targets["nessie"]["scrapeUrl"] == f"{stack.nessie_management_url}/q/metrics"
    assert targets["minio"]["scrapeUrl"] == f"{stack.minio_endpoint}/minio/v2/metrics/cluster"
    assert targets["lakehouse"]["scrapeUrl"] == f"http://127.0.0.1:{stack.exporter_port}/metrics"
    result = _get_json(f"{stack.prometheus_url}/api/v1/query", query='up{job="nessie"}')["data"]["result"]
    assert [r["value"][1] for r in result] == ["1"]


def test_the_exporter_runs_as_a_service_and_prometheus_scrapes_it(stack: StackEndpoints) -> None:
    """`services.sh up` started `lakehouse exporter` (job ``lakehouse``); `down exporter` stops it
    (its target goes down) and `up exporter` brings it back (the target is up again)."""
    status = run_services("status", "exporter", timeout=60)
    assert status.returncode == 0 and "started by services.sh" in status.stdout, status.stdout
    pid = int((stack.state_dir / "run" / "exporter.pid").read_text().split()[0])
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    assert f"lakehouse_core.cli exporter --port {stack.exporter_port}" in cmdline

    def lakehouse_health(want: str) -> str:
        deadline = time.monotonic() + 60  # 2 s scrape interval
        health = ""
        while time.monotonic() < deadline:
            health = _targets_by_job(stack).get("lakehouse", {}).get("health", "")
            if health == want:
                break
            time.sleep(1)
        return health

    assert lakehouse_health("up") == "up"
    query = f'process_resident_memory_bytes{{job="lakehouse",instance="127.0.0.1:{stack.exporter_port}"}}'
    result = _get_json(f"{stack.prometheus_url}/api/v1/query", query=query)["data"]["result"]
    assert result and float(result[0]["value"][1]) > 0

    down = run_services("down", "exporter", timeout=60)
    assert down.returncode == 0 and "exporter: stopping pid" in down.stderr, down.stderr
    assert not (stack.state_dir / "run" / "exporter.pid").exists()
    try:
        assert run_services("status", "exporter", timeout=60).returncode == 1
        assert lakehouse_health("down") == "down"
    finally:
        up = run_services("up", "exporter", timeout=120)
    assert up.returncode == 0, up.stderr
    assert lakehouse_health("up") == "up"
    again = run_services("up", "exporter", timeout=60)
    assert "exporter: already answering" in again.stderr


def test_prometheus_loaded_the_memory_alert(stack: StackEndpoints) -> None:
    groups = _get_json(f"{stack.prometheus_url}/api/v1/rules", type="alert")["data"]["groups"]
    rules = {r["name"]: r for g in groups for r in g["rules"]}
    rule = rules["HighMemoryUsage"]
    assert rule["query"] == "process_resident_memory_bytes > 4e+09"
    assert rule["duration"] == 300
    assert rule["labels"] == {"severity": "warning"}


# promtool check config / check rules / test rules: tests/monitoring/test_generated.py


def test_promtool_rejects_a_broken_rule(tmp_path: Path) -> None:
    """The validation can fail: a rule with an invalid expression is refused."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "groups:\n  - name: x\n    rules:\n      - alert: Bad\n"
        "        expr: process_resident_memory_bytes >\n"
    )
    proc = subprocess.run(
        ["promtool", "check", "rules", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert "parse error" in (proc.stdout + proc.stderr)


# ------------------------------------------------------------------------------------- docker
def test_docker_engine_answers_and_probe_image_exists(stack: StackEndpoints) -> None:
    import docker

    client = docker.from_env(timeout=30)
    try:
        assert client.ping() is True
        image = client.images.get(stack.docker_probe_image)
        assert image.labels["com.docker.compose.project"] == "lakehouse-test"
        assert image.attrs["Config"]["Healthcheck"]["Test"][0] == "CMD"
        assert client.images.get("local/debian:bookworm").id
    finally:
        client.close()


def test_probe_container_is_healthy_serves_http_and_is_removed(stack: StackEndpoints) -> None:
    import docker

    client = docker.from_env(timeout=30)
    try:
        with run_probe_container(service="probe-test") as container:
            assert wait_container_health(container) == "healthy"
            host_port = container.ports["8080/tcp"][0]
            assert host_port["HostIp"] == "127.0.0.1"
            body = httpx.get(f"http://127.0.0.1:{host_port['HostPort']}/index.html", timeout=TIMEOUT).text
            assert body == "lakehouse-test probe ok\n"
            labels = ["com.docker.compose.project=lakehouse-test", "com.docker.compose.service=probe-test"]
            found = client.containers.list(filters={"label": labels})
            assert [c.id for c in found] == [container.id]
            cid = container.id
        with pytest.raises(docker.errors.NotFound):
            client.containers.get(cid)
    finally:
        client.close()


# --------------------------------------------------------------------------------- the script
def test_status_lists_every_service_up() -> None:
    proc = run_services("status", timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [line.split()[:2] for line in proc.stdout.splitlines()] == [
        ["postgres", "UP"],
        ["postgres_exporter", "UP"],
        ["minio", "UP"],
        ["nessie", "UP"],
        ["spark", "UP"],
        ["prometheus", "UP"],
        ["exporter", "UP"],
        ["airflow", "UP"],
        ["docker", "UP"],
    ]


def test_up_is_idempotent_and_rejects_unknown_services() -> None:
    again = run_services("up", "postgres", "minio", timeout=300)
    assert again.returncode == 0, again.stderr
    assert "reusing it" in again.stderr
    bad = run_services("up", "nosuchservice", timeout=60)
    assert bad.returncode == 2
    assert "unknown service: nosuchservice" in bad.stderr


def test_service_scripts_parse() -> None:
    """bash -n parses every script (a syntax error would break `make test` on a fresh machine)."""
    scripts_dir = REPO_ROOT / "scripts"
    scripts = [scripts_dir / "services.sh", *sorted((scripts_dir / "services").glob("*.sh"))]
    assert [p.name for p in scripts] == [
        "services.sh",
        "airflow.sh",
        "compose.sh",
        "docker.sh",
        "exporter.sh",
        "lib.sh",
        "minio.sh",
        "nessie.sh",
        "postgres.sh",
        "postgres_exporter.sh",
        "prometheus.sh",
        "spark.sh",
    ]
    for script in scripts:
        proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, f"{script}: {proc.stderr}"


def _isolated_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment for a second, throw-away service instance: own state dir and free ports."""
    env = dict(os.environ)
    env.update(
        LAKEHOUSE_STATE_DIR=str(tmp_path / "state"),
        NESSIE_PORT="39320",
        NESSIE_MGMT_PORT="39321",
        PROMETHEUS_PORT="39390",
        SERVICES_READY_TIMEOUT="60",
    )
    env.update(extra)
    return env


def test_a_service_that_cannot_start_fails_loudly_with_its_log(tmp_path: Path) -> None:
    """A JVM that cannot start makes `up` exit 1 and print the tail of the service log."""
    proc = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "services" / "nessie.sh"), "up"],
        env=_isolated_env(tmp_path, NESSIE_HEAP="1k"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 1, proc.stderr
    assert "nessie: process exited before it became ready" in proc.stderr
    assert "last 40 lines of" in proc.stderr
    assert "Error occurred during initialization of VM" in proc.stderr
    assert not (tmp_path / "state" / "run" / "nessie.pid").exists()


def test_a_broken_prometheus_config_is_refused_before_start(tmp_path: Path) -> None:
    bad = tmp_path / "prom.yml"
    bad.write_text("global:\n  scrape_interval: banana\n")
    proc = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "services" / "prometheus.sh"), "up"],
        env=_isolated_env(tmp_path, PROMETHEUS_CONFIG=str(bad)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert f"promtool check config {bad} failed" in proc.stderr
    assert "FAILED" in proc.stderr


def test_down_leaves_alone_what_it_did_not_start(stack: StackEndpoints, tmp_path: Path) -> None:
    """With a state dir that holds no pid files, `down` stops nothing: the real Nessie stays up."""
    env = _isolated_env(tmp_path, NESSIE_PORT="19120", NESSIE_MGMT_PORT="19121")
    proc = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "services.sh"), "down", "nessie", "minio"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "nessie: not started by services.sh (no pid file), left alone" in proc.stderr
    assert "minio: not started by services.sh (no pid file), left alone" in proc.stderr
    assert httpx.get(f"{stack.nessie_url}/api/v2/config", timeout=TIMEOUT).status_code == 200
    assert httpx.get(f"{stack.minio_endpoint}/minio/health/live", timeout=TIMEOUT).status_code == 200
