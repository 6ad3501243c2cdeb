"""Prometheus as the stack's MetricsSource (prometheus-api-client over the HTTP API ``/api/v1``)."""

from __future__ import annotations

import ast
import json
import logging
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from lakehouse_core.errors import LakehouseError, QueryError, ServiceUnavailableError
from lakehouse_core.models import AlertState, MetricPanel, Series, ServiceState, ServiceStatus
from lakehouse_core.monitoring.definition import metric_panels
from lakehouse_core.monitoring.rules import AlertRule, alert_rules, evaluate_rule
from lakehouse_core.settings import LakehouseSettings

__all__ = ["MEMORY_ALERT", "AlertRule", "PrometheusMetricsSource", "evaluate_rule"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
SERVICE = "prometheus"

MEMORY_ALERT = next(rule for rule in alert_rules() if rule.name == "HighMemoryUsage")


def _describe_requests_error(exc: BaseException) -> str:
    text = str(exc)
    low = text.lower()
    import requests.exceptions

    if isinstance(exc, requests.exceptions.Timeout) or "timed out" in low:
        return "timed out"
    if "refused" in low:
        return "connection refused"
    return text[:200] or type(exc).__name__


_BODY = re.compile(r"\((b'.*'|b\".*\")\)\s*$", re.DOTALL)


def _api_error_message(text: str) -> str:
    """Prometheus' own ``error`` field from the client's ``HTTP Status Code N (b'{...}')`` message."""
    match = _BODY.search(text)
    if match:
        try:
            body = json.loads(ast.literal_eval(match.group(1)))
            if isinstance(body, dict) and body.get("error"):
                return str(body["error"])
        except (ValueError, SyntaxError):
            pass
    return text


class PrometheusMetricsSource:
    """ports.MetricsSource reading the real Prometheus server."""

    def __init__(self, settings: LakehouseSettings, *, rules: Sequence[AlertRule] | None = None) -> None:
        from prometheus_api_client import PrometheusConnect
        from urllib3.util.retry import Retry

        self.settings = settings
        self.url = settings.prometheus.url.rstrip("/")
        limit = settings.prometheus.gold_freshness_limit_s
        self.rules: tuple[AlertRule, ...] = (
            tuple(rules) if rules is not None else tuple(alert_rules(gold_freshness_limit_s=limit))
        )
        # No retries: a dead server must fail within one timeout, not after a backoff series.
        self._prom = PrometheusConnect(
            url=self.url,
            disable_ssl=True,
            timeout=settings.http_timeout_s,  # type: ignore[arg-type]
            retry=Retry(total=0, raise_on_status=False),
        )

    # ------------------------------------------------------------ the one error-mapping place
    def _call(self, what: str, fn: Callable[[], T]) -> T:
        import requests.exceptions
        from prometheus_api_client.exceptions import PrometheusApiClientException

        try:
            return fn()
        except requests.exceptions.RequestException as exc:
            raise ServiceUnavailableError(SERVICE, _describe_requests_error(exc)) from exc
        except PrometheusApiClientException as exc:
            text = str(exc)
            message = _api_error_message(text)
            if "Status Code 400" in text or "Status Code 422" in text:
                raise QueryError(message, engine=SERVICE) from exc
            if any(f"Status Code {code}" in text for code in (502, 503, 504)):
                raise ServiceUnavailableError(SERVICE, message) from exc
            raise LakehouseError(f"prometheus: {what}: {message}", title="Prometheus error") from exc
        except (KeyError, ValueError) as exc:
            raise LakehouseError(f"prometheus: {what}: unexpected answer ({exc})") from exc

    # ------------------------------------------------------------ queries
    def instant(self, query: str) -> list[Series]:
        """Evaluate ``query`` now; one Series (with one point) per result."""
        result = self._call("query", lambda: self._prom.custom_query(query))
        return [_series(item, query, [item.get("value")]) for item in result or []]

    def range(self, query: str, *, window: timedelta, step: timedelta) -> list[Series]:
        """Evaluate ``query`` over the last ``window`` at ``step`` resolution."""
        end = datetime.now(UTC)
        start = end - window
        step_s = max(1.0, step.total_seconds())
        result = self._call(
            "query_range",
            lambda: self._prom.custom_query_range(query, start_time=start, end_time=end, step=f"{step_s:g}"),
        )
        return [_series(item, query, item.get("values") or []) for item in result or []]

    def panels(self) -> list[MetricPanel]:
        """Every panel of ``lakehouse_core.monitoring.definition`` (the Grafana dashboard's too)."""
        return metric_panels()

    def alerts(self) -> list[AlertState]:
        """Evaluate every rule from a range query over its ``for`` window (Prometheus pending/firing)."""
        return [self.evaluate(rule) for rule in self.rules]

    def evaluate(self, rule: AlertRule) -> AlertState:
        """ok / pending / firing for one rule; the worst series wins and is named in the message."""
        window = timedelta(seconds=rule.for_s + 2 * rule.step_s)
        series = self.range(rule.query, window=window, step=timedelta(seconds=rule.step_s))
        return evaluate_rule(rule, series)

    # ------------------------------------------------------------ targets
    def targets(self) -> list[ServiceStatus]:
        """Active scrape targets as rows: name = job, state from health, endpoint = scrape URL."""
        data = self._call("targets", lambda: self._prom.get_targets(state="active"))
        rows = [_target_row(t) for t in (data or {}).get("activeTargets") or []]
        return sorted(rows, key=lambda r: (r.name, r.endpoint))

    def ready(self) -> bool:
        """True when the server answers its root URL."""
        try:
            return bool(self._call("ready", self._prom.check_prometheus_connection))
        except LakehouseError:
            return False

    def close(self) -> None:
        self._prom.close()


def _series(item: dict[str, Any], query: str, raw_points: Sequence[Any]) -> Series:
    metric = dict(item.get("metric") or {})
    name = metric.pop("__name__", query)
    points = tuple((float(p[0]), float(p[1])) for p in raw_points if p)
    return Series(name=name, labels=metric, points=points)


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        cut = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
        return datetime.fromisoformat(cut)
    except ValueError:
        return None


def _target_row(target: dict[str, Any]) -> ServiceStatus:
    labels = target.get("labels") or {}
    health = target.get("health", "unknown")
    state = {"up": ServiceState.UP, "down": ServiceState.DOWN}.get(health, ServiceState.UNKNOWN)
    duration = target.get("lastScrapeDuration")
    return ServiceStatus(
        name=str(labels.get("job", target.get("scrapePool", ""))),
        state=state,
        endpoint=str(target.get("scrapeUrl", "")),
        latency_ms=round(float(duration) * 1000, 2) if duration is not None else None,
        detail=f"instance {labels.get('instance', '')}",
        last_error=target.get("lastError") or None,
        kind="http",
        checked_at=_parse_time(target.get("lastScrape")),
    )
