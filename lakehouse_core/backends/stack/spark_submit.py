"""Submit ``spark/jobs/iceberg_operations.py`` to the standalone cluster and follow it.

``SparkJob`` runs ``spark-submit`` (client mode: the driver is a child process of ours) with the
Iceberg jars of ``scripts/services/spark.sh``'s cache, the catalog ``nessie`` pointed at one Nessie
branch (Iceberg REST, S3FileIO on MinIO) and the run's commit message and properties as Nessie commit
headers. While it runs, the job's own report lines (``@@lakehouse {json}`` on stdout) and the stages
and tasks done/total of the driver's monitoring REST API become progress events. ``cancel`` kills the
application through the master (``/app/kill/``) and the driver process.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from lakehouse_core.backends.stack.iceberg_rest import commit_headers
from lakehouse_core.errors import CancelledError, ConfigError, LakehouseError
from lakehouse_core.runmeta import RunCommit
from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[3]
SPARK_DIR = REPO_ROOT / "spark"
JOB = SPARK_DIR / "jobs" / "iceberg_operations.py"
MARK = "@@lakehouse "
CATALOG = "spark.sql.catalog.nessie"
JAVA17_HOMES = ("/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/openjdk-17")


def spark_home() -> Path:
    """pyspark's install directory (it holds bin/spark-submit and the Spark jars)."""
    try:
        import pyspark
    except ImportError as exc:
        raise ConfigError("pyspark is not installed: pip install -e '.[spark]'") from exc
    return Path(pyspark.__file__).parent


def job_jars(settings: LakehouseSettings) -> list[Path]:
    """The Iceberg jars the job needs, from scripts/services/spark.sh's cache (ConfigError if missing)."""
    jar_dir = settings.cache_dir.expanduser() / "jars"
    version = settings.spark.iceberg_version
    jars = [
        jar_dir / f"iceberg-spark-runtime-3.5_2.12-{version}.jar",
        jar_dir / f"iceberg-aws-bundle-{version}.jar",
    ]
    missing = [j.name for j in jars if not j.is_file()]
    if missing:
        raise ConfigError(
            f"Spark jars missing in {jar_dir}: {', '.join(missing)} "
            "(bash scripts/services.sh up spark fetches them)"
        )
    return jars


def catalog_confs(settings: LakehouseSettings, branch: str, catalog: str = CATALOG) -> dict[str, str]:
    """Spark confs of the catalog ``catalog`` (``spark.sql.catalog.<name>``, default ``nessie``) on
    ``branch`` (a Nessie ref spec: Nessie Iceberg REST, S3FileIO on MinIO)."""
    minio = settings.minio
    return {
        catalog: "org.apache.iceberg.spark.SparkCatalog",
        f"{catalog}.type": "rest",
        f"{catalog}.uri": f"{settings.nessie.url.rstrip('/')}/iceberg/{branch}",
        f"{catalog}.io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
        f"{catalog}.s3.endpoint": minio.endpoint,
        f"{catalog}.s3.path-style-access": "true",
        f"{catalog}.s3.access-key-id": minio.access_key,
        f"{catalog}.s3.secret-access-key": minio.secret_key.get_secret_value(),
        f"{catalog}.client.region": minio.region,
    }


def java17_home() -> str:
    """A Java 17 home for Spark 3.5 (JAVA_HOME when it is one)."""
    for home in (os.environ.get("SPARK_JAVA_HOME", ""), *JAVA17_HOMES):
        if home and Path(home, "bin", "java").is_file():
            return home
    return os.environ.get("JAVA_HOME", "")


@dataclass
class JobStatus:
    """What is known of a running job: its application, the job's report lines, stage/task counts."""

    app_id: str | None = None
    lines: list[dict[str, Any]] = field(default_factory=list)
    stages: tuple[int, int] = (0, 0)
    tasks: tuple[int, int] = (0, 0)
    report: dict[str, Any] | None = None


class SparkJob:
    """One submission of the job; ``run`` blocks until it ends (or is cancelled)."""

    def __init__(
        self,
        settings: LakehouseSettings,
        *,
        branch: str,
        job_args: list[str],
        commit: RunCommit | None = None,
        log_path: Path | None = None,
    ) -> None:
        if not settings.spark.master_url:
            raise ConfigError("Spark is not configured: set LAKEHOUSE_SPARK__MASTER_URL (spark://127.0.0.1:7077)")
        self.settings = settings
        self.branch = branch
        self.job_args = job_args
        self.commit = commit
        self.log_path = log_path
        self.status = JobStatus()
        self._proc: subprocess.Popen[str] | None = None
        self._killed = False

    # ------------------------------------------------------------ command
    def command(self) -> list[str]:
        spark = self.settings.spark
        confs = {
            "spark.jars": ",".join(str(j) for j in job_jars(self.settings)),
            "spark.ui.port": str(spark.driver_ui_port),
            **catalog_confs(self.settings, self.branch),
        }
        if self.commit is not None:
            for name, value in commit_headers(self.commit, "spark job iceberg_operations").items():
                confs[f"{CATALOG}.header.{name}"] = value
        cmd = [str(spark_home() / "bin" / "spark-submit"), "--master", str(spark.master_url),
               "--driver-memory", spark.driver_memory]
        for key, value in confs.items():
            cmd += ["--conf", f"{key}={value}"]
        return [*cmd, str(JOB), *self.job_args]

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            SPARK_HOME=str(spark_home()),
            SPARK_CONF_DIR=str(SPARK_DIR),
            SPARK_LOCAL_IP="127.0.0.1",
            JAVA_HOME=java17_home(),
            PYSPARK_PYTHON=sys.executable,
            PYSPARK_DRIVER_PYTHON=sys.executable,
            PYTHONPATH=os.pathsep.join([str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]),
        )
        return env

    # ------------------------------------------------------------ run
    def run(
        self,
        on_line: Callable[[dict[str, Any]], None] = lambda line: None,
        on_tasks: Callable[[JobStatus], None] = lambda status: None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> dict[str, Any]:
        """Run the job to its end; its final report. LakehouseError when it fails, CancelledError
        (after killing the application) when ``cancelled()`` turns true."""
        log = self.log_path.open("w", encoding="utf-8") if self.log_path else subprocess.DEVNULL
        try:
            self._proc = subprocess.Popen(
                self.command(), env=self.environment(), cwd=str(REPO_ROOT), stdout=subprocess.PIPE,
                stderr=log, text=True, start_new_session=True,
            )
            reader = threading.Thread(target=self._read, args=(on_line,), daemon=True)
            reader.start()
            deadline = time.monotonic() + self.settings.spark.job_timeout_s
            while self._proc.poll() is None:
                if cancelled():
                    self.kill()
                    raise CancelledError("phase 2 cancelled: Spark application killed")
                if time.monotonic() > deadline:
                    self.kill()
                    limit = self.settings.spark.job_timeout_s
                    raise LakehouseError(f"Spark job still running after {limit:.0f}s: killed")
                if self._poll_tasks():
                    on_tasks(self.status)
                time.sleep(1.0)
            reader.join(timeout=10)
        finally:
            if log is not subprocess.DEVNULL:
                log.close()  # type: ignore[union-attr]
        if self._proc.returncode != 0 or self.status.report is None:
            last = next((ln.get("error") for ln in reversed(self.status.lines) if ln.get("error")), None)
            where = f" (log: {self.log_path})" if self.log_path else ""
            raise LakehouseError(
                f"Spark job failed with exit code {self._proc.returncode}{where}"
                + (f": {last}" if last else ""),
                title="Spark job failed",
            )
        return self.status.report

    def _read(self, on_line: Callable[[dict[str, Any]], None]) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for raw in self._proc.stdout:
            if not raw.startswith(MARK):
                continue
            try:
                line = json.loads(raw[len(MARK):])
            except ValueError:
                continue
            self.status.lines.append(line)
            if line.get("step") == "started":
                self.status.app_id = line.get("app_id")
            if line.get("step") == "report":
                self.status.report = line
            on_line(line)

    def _poll_tasks(self) -> bool:
        """Stage and task counts from the driver's REST API; True when they changed."""
        if not self.status.app_id:
            return False
        url = f"http://127.0.0.1:{self.settings.spark.driver_ui_port}/api/v1/applications/{self.status.app_id}/stages"
        try:
            stages = httpx.get(url, timeout=2.0).json()
        except (httpx.HTTPError, ValueError):
            return False
        done_stages = sum(1 for s in stages if s.get("status") in ("COMPLETE", "SKIPPED"))
        tasks = (
            sum(int(s.get("numCompleteTasks", 0)) for s in stages),
            sum(int(s.get("numTasks", 0)) for s in stages),
        )
        changed = (done_stages, len(stages)) != self.status.stages or tasks != self.status.tasks
        self.status.stages, self.status.tasks = (done_stages, len(stages)), tasks
        return changed

    def kill(self) -> None:
        """Kill the application through the master's UI, then the driver process group."""
        self._killed = True
        if self.status.app_id and self.settings.spark.ui_url:
            try:
                httpx.post(
                    f"{self.settings.spark.ui_url.rstrip('/')}/app/kill/",
                    data={"id": self.status.app_id, "terminate": "true"}, timeout=5.0,
                )
            except httpx.HTTPError as exc:
                logger.warning("could not kill %s through the master: %s", self.status.app_id, exc)
        if self._proc is not None and self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGTERM)
                self._proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self._proc.pid, signal.SIGKILL)
