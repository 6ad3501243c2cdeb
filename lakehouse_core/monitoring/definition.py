"""Every metrics panel and every alert, as data.

The TUI's Metrics screen (both backends), the Grafana dashboard under ``monitoring/grafana/`` and the
Prometheus rule file ``monitoring/prometheus/alerts.yml`` are all made from ``PANELS`` and ``ALERTS``
(``python scripts/generate_monitoring.py`` writes the files; a test fails when they are out of date).

``job`` names the Prometheus scrape job whose series a panel or alert needs (``None``: the process
series every job exposes). The embedded backend evaluates what the project's own registry holds:
``job`` ``None`` or ``"lakehouse"``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from lakehouse_core.models import MetricPanel

# Scrape jobs (monitoring/prometheus/prometheus*.yml)
LAKEHOUSE_JOB = "lakehouse"
SPARK_MASTER_JOB = "spark"
AIRFLOW_JOB = "statsd"
POSTGRES_JOB = "postgres"
NESSIE_JOB = "nessie"
EMBEDDED_JOBS: frozenset[str | None] = frozenset({None, LAKEHOUSE_JOB})
"""Jobs whose series the embedded backend's in-process registry holds."""

MEMORY_ALERT_BYTES = 4_000_000_000.0
"""The platform's alert: process_resident_memory_bytes > 4 GB for 5 minutes (warning)."""
GOLD_FRESHNESS_LIMIT_S = 86_400.0
"""Default age after which a gold table counts as stale (``LAKEHOUSE_PROMETHEUS__GOLD_FRESHNESS_LIMIT_S``)."""
QUARANTINE_PERCENT_LIMIT = 5.0
"""Quarantined share of a table's raw rows above which the quarantine alert fires."""
SPARK_MIN_WORKERS = 2.0
SPARK_WORKERS_QUERY = "spark_master_aliveWorkers or metrics_master_aliveWorkers_Value"
"""The platform's name, then the one Spark's PrometheusServlet serves on the master."""


@dataclass(frozen=True)
class PanelDef(MetricPanel):
    """A MetricPanel (id, title, PromQL, unit of ``lakehouse_core.units.UNITS``, warning/critical
    levels) with what Grafana and the stack test need besides."""

    job: str | None = None
    description: str = ""
    legend: str = ""
    """Grafana legend format, e.g. ``{{job}}``."""

    def metric_panel(self) -> MetricPanel:
        return MetricPanel(self.panel_id, self.title, self.query, self.unit, self.warn, self.critical)


@dataclass(frozen=True)
class AlertDef:
    """``query op threshold`` held for ``for_s`` seconds fires.

    ``threshold_metric``: in the Prometheus rule, the threshold is that series (its value is
    configurable at run time) instead of the number; the TUI compares with ``threshold``.
    """

    name: str
    query: str
    op: Literal[">", "<"]
    threshold: float
    for_s: float
    summary: str
    description: str
    severity: Literal["warning", "critical"] = "warning"
    unit: str = ""
    job: str | None = None
    threshold_metric: str | None = None

    @property
    def expr(self) -> str:
        """The Prometheus alerting expression (a query with operators of its own in parentheses)."""
        query = f"({self.query})" if " " in self.query else self.query
        if self.threshold_metric:
            return f"{query} {self.op} on(job, instance) group_left() {self.threshold_metric}"
        return f"{query} {self.op} {self.threshold:g}"


PANELS: tuple[PanelDef, ...] = (
    # the platform's four
    PanelDef(
        "cpu", "CPU usage", "rate(process_cpu_seconds_total[5m])", "cores", 1.5, 1.9,
        description="CPU seconds per second of every scraped process", legend="{{job}}",
    ),
    PanelDef(
        "memory", "Resident memory", "process_resident_memory_bytes", "bytes",
        MEMORY_ALERT_BYTES, 2 * MEMORY_ALERT_BYTES,
        description="Resident set size of every scraped process", legend="{{job}}",
    ),
    PanelDef(
        "spark_workers", "Spark alive workers", SPARK_WORKERS_QUERY, "workers",
        job=SPARK_MASTER_JOB, description="Workers the Spark master counts as alive (PrometheusServlet)",
    ),
    PanelDef(
        "airflow_task_instances", "Airflow task instances",
        'airflow_ti_successes or airflow_ti_failures or {__name__=~"airflow_task_instance_created.*"}',
        "", job=AIRFLOW_JOB, description="Task instances created, succeeded and failed (statsd_exporter)",
        legend="{{__name__}}",
    ),
    PanelDef(
        "airflow_task_duration", "Airflow task durations",
        'airflow_task_duration or {__name__=~"airflow_dag_.+_duration"}', "s", job=AIRFLOW_JOB,
        description="Task durations from Airflow's StatsD timers (statsd_exporter summaries, seconds)",
        legend="{{__name__}} {{quantile}}",
    ),
    PanelDef(
        "jvm_heap", "JVM heap used",
        'jvm_memory_bytes_used{area="heap"} or sum by (job, instance) (jvm_memory_used_bytes{area="heap"})',
        "bytes", job=NESSIE_JOB, description="Heap of the JVM services (Nessie's Micrometer names too)",
        legend="{{job}}",
    ),
    # the pipeline's
    PanelDef(
        "phase_durations", "Phase durations", "lakehouse_phase_duration_seconds", "s",
        job=LAKEHOUSE_JOB, legend="phase {{phase}}",
    ),
    PanelDef(
        "task_durations", "Task durations", "lakehouse_task_duration_seconds", "s",
        job=LAKEHOUSE_JOB, legend="{{phase}} {{task}}",
    ),
    PanelDef("rows", "Rows per layer", "lakehouse_layer_rows", "rows", job=LAKEHOUSE_JOB,
             legend="{{layer}}.{{table}}"),
    PanelDef(
        "quarantine", "Quarantined rows", "lakehouse_quarantined_rows", "rows", 1, 1000,
        job=LAKEHOUSE_JOB, legend="{{table}}",
    ),
    PanelDef(
        "quarantine_percent", "Quarantine rate", "lakehouse_quarantine_percent", "%",
        QUARANTINE_PERCENT_LIMIT, 4 * QUARANTINE_PERCENT_LIMIT, job=LAKEHOUSE_JOB,
        description="Quarantined rows as a share of the raw rows read", legend="{{table}}",
    ),
    PanelDef(
        "freshness", "Table freshness", "lakehouse_table_freshness_seconds", "s",
        GOLD_FRESHNESS_LIMIT_S, 7 * GOLD_FRESHNESS_LIMIT_S, job=LAKEHOUSE_JOB,
        description="Seconds since each table's last commit", legend="{{table}}",
    ),
    PanelDef(
        "last_run", "Last run state", "lakehouse_phase_last_success", "", job=LAKEHOUSE_JOB,
        description="1 when the phase's last run succeeded, 0 when it failed", legend="phase {{phase}}",
    ),
    PanelDef(
        "data_files", "Data files per table", "lakehouse_table_data_files", "files",
        job=LAKEHOUSE_JOB, legend="{{table}}",
    ),
    PanelDef(
        "snapshots", "Snapshots per table", "lakehouse_table_snapshots", "snapshots",
        job=LAKEHOUSE_JOB, legend="{{table}}",
    ),
    PanelDef(
        "postgres_up", "PostgreSQL reachable", "pg_up", "", job=POSTGRES_JOB,
        description="1 when postgres_exporter reaches the server", legend="{{instance}}",
    ),
)

ALERTS: tuple[AlertDef, ...] = (
    AlertDef(
        "HighMemoryUsage", "process_resident_memory_bytes", ">", MEMORY_ALERT_BYTES, 300,
        "{{ $labels.job }} on {{ $labels.instance }} uses more than 4 GB of resident memory",
        "process_resident_memory_bytes is {{ $value | humanize1024 }}B (threshold 4e9) for 5 minutes.",
        unit="bytes",
    ),
    AlertDef(
        "TargetDown", "up", "<", 1, 60,
        "{{ $labels.job }} on {{ $labels.instance }} is down",
        "Prometheus could not scrape {{ $labels.instance }} (job {{ $labels.job }}) for 1 minute.",
        severity="critical",
    ),
    AlertDef(
        "SparkWorkersMissing", SPARK_WORKERS_QUERY, "<", SPARK_MIN_WORKERS, 60,
        "Spark has fewer than 2 alive workers",
        "The Spark master counts {{ $value }} alive workers (at least 2 expected) for 1 minute.",
        unit="workers", job=SPARK_MASTER_JOB,
    ),
    AlertDef(
        "PipelineRunFailed", "lakehouse_phase_last_success", "<", 1, 0,
        "The last run of phase {{ $labels.phase }} failed",
        "lakehouse_phase_last_success is 0 for phase {{ $labels.phase }}.",
        severity="critical", job=LAKEHOUSE_JOB,
    ),
    AlertDef(
        "GoldTableStale", 'lakehouse_table_freshness_seconds{layer="gold"}', ">",
        GOLD_FRESHNESS_LIMIT_S, 0,
        "{{ $labels.table }} was not refreshed in time",
        "{{ $labels.table }} was last committed {{ $value | humanizeDuration }} ago"
        " (limit: lakehouse_gold_freshness_limit_seconds).",
        unit="s", job=LAKEHOUSE_JOB, threshold_metric="lakehouse_gold_freshness_limit_seconds",
    ),
    AlertDef(
        "HighQuarantineRate", "lakehouse_quarantine_percent", ">", QUARANTINE_PERCENT_LIMIT, 0,
        "{{ $labels.table }}: more than 5 % of the raw rows quarantined",
        "{{ $value | printf \"%.1f\" }} % of {{ $labels.table }}'s raw rows were quarantined.",
        unit="%", job=LAKEHOUSE_JOB,
    ),
)


SERVICE_OF_JOB = {SPARK_MASTER_JOB: "Spark", AIRFLOW_JOB: "Airflow", POSTGRES_JOB: "PostgreSQL",
                  NESSIE_JOB: "Nessie"}


def metric_panels(jobs: frozenset[str | None] | None = None) -> list[MetricPanel]:
    """The panels the Metrics screen draws, in the definition's order. With ``jobs`` (what this mode
    runs), a panel of another job says which stack-mode service it needs instead of "no data"."""
    panels = [panel.metric_panel() for panel in PANELS]
    if jobs is None:
        return panels
    return [
        panel if definition.job in jobs else replace(
            panel, absent=f"{SERVICE_OF_JOB.get(definition.job or '', definition.job)}: stack mode only"
        )
        for panel, definition in zip(panels, PANELS, strict=True)
    ]
