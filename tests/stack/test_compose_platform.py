"""The Compose stack on the real engine, built here with compose/offline.yml: it comes up healthy
(everything but Dremio and Grafana, which have no offline build), each service answers on its own
endpoint, and MinIO survives a `docker stop`/`docker start` with its objects.

The stack is tests/stack/compose_platform.py's ``compose_stack`` (one bring-up per session, shared
with the other test_compose_*.py modules that need it running).
"""

from __future__ import annotations

import json
import subprocess

import httpx
from pyarrow import fs

from tests.stack.compose_platform import (
    BIND,
    ComposeStack,
    compose_only,
    get_json,
    no_script_services,  # noqa: F401 - the fixture "stack": no script services
    wait_for,
)

ONE_SHOTS = {"minio-init", "airflow-init"}

pytestmark = compose_only


def test_every_service_is_running_and_healthy(compose_stack: ComposeStack) -> None:
    ps = compose_stack.ps()
    config = json.loads(compose_stack.compose("config", "--format", "json").stdout)
    assert set(ps) == set(config["services"])
    assert not {"dremio", "grafana"} & set(ps)
    for name, row in ps.items():
        if name in ONE_SHOTS:
            assert (row["State"], row["ExitCode"]) == ("exited", 0), row
        else:
            assert (row["State"], row["Health"]) == ("running", "healthy"), row
        for publisher in row.get("Publishers") or []:
            if publisher.get("PublishedPort"):
                assert publisher["URL"] == BIND, row


def test_nessie_answers_with_its_config(compose_stack: ComposeStack) -> None:
    body = get_json(compose_stack.url(19120, "/api/v2/config"))
    assert body["defaultBranch"] == "main"
    assert body["maxSupportedApiVersion"] >= 2


def test_airflow_components_are_healthy(compose_stack: ComposeStack) -> None:
    health = get_json(compose_stack.url(8081, "/api/v2/monitor/health"))
    for part in ("metadatabase", "scheduler", "dag_processor", "triggerer"):
        assert health[part]["status"] == "healthy", health


def test_spark_master_is_alive_with_two_workers(compose_stack: ComposeStack) -> None:
    body = get_json(compose_stack.url(8080, "/json/"))
    assert body["status"] == "ALIVE"
    assert body["aliveworkers"] == 2
    assert {worker["cores"] for worker in body["workers"]} == {1}


def test_prometheus_scrapes_every_service(compose_stack: ComposeStack) -> None:
    expected = {"prometheus", "nessie", "minio", "spark", "lakehouse", "postgres", "statsd"}

    def all_up() -> bool:
        targets = get_json(compose_stack.url(9090, "/api/v1/targets"))["data"]["activeTargets"]
        jobs = {t["labels"]["job"] for t in targets}
        return jobs == expected and all(t["health"] == "up" for t in targets)

    wait_for(all_up, 90, "every Prometheus target up")


def minio_fs(stack: ComposeStack) -> fs.S3FileSystem:
    return fs.S3FileSystem(
        access_key=stack.values["MINIO_ROOT_USER"],
        secret_key=stack.values["MINIO_ROOT_PASSWORD"],
        endpoint_override=f"{BIND}:9000",
        scheme="http",
        region="us-east-1",
    )


def minio_live(stack: ComposeStack) -> bool:
    try:
        return httpx.get(stack.url(9000, "/minio/health/live"), timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def test_minio_stop_and_start_keeps_the_objects(compose_stack: ComposeStack) -> None:
    bucket = compose_stack.values["MINIO_BUCKET"]
    s3 = minio_fs(compose_stack)
    assert s3.get_file_info(bucket).type == fs.FileType.Directory
    key = f"{bucket}/compose-test/before-outage.txt"
    with s3.open_output_stream(key) as out:
        out.write(b"published before the outage")
    container = compose_stack.compose("ps", "-q", "minio").stdout.strip()
    assert container
    subprocess.run(["docker", "stop", container], check=True, capture_output=True, timeout=60)
    try:
        assert not minio_live(compose_stack)
        row = compose_stack.ps()["minio"]
        assert row["State"] == "exited", row
    finally:
        subprocess.run(["docker", "start", container], check=True, capture_output=True, timeout=60)
    wait_for(lambda: compose_stack.ps()["minio"].get("Health") == "healthy", 120, "minio healthy again")
    assert minio_live(compose_stack)
    with minio_fs(compose_stack).open_input_stream(key) as stream:
        assert stream.read() == b"published before the outage"
