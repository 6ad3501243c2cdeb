"""Alert rules as the TUI evaluates them (from ``definition.ALERTS``), and their pure evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from lakehouse_core.models import AlertState, Series
from lakehouse_core.monitoring.definition import ALERTS, GOLD_FRESHNESS_LIMIT_S, AlertDef
from lakehouse_core.units import unit_of


@dataclass(frozen=True)
class AlertRule:
    """A threshold alert: ``query op threshold`` continuously for ``for_s`` seconds fires."""

    name: str
    query: str
    threshold: float
    for_s: float
    severity: Literal["warning", "critical"] = "warning"
    step_s: float = 15.0
    unit: str = ""
    """The unit of the query's values and the threshold (a name in ``lakehouse_core.units.UNITS``)."""
    op: Literal[">", "<"] = ">"
    job: str | None = None


def rule_of(alert: AlertDef, *, threshold: float | None = None) -> AlertRule:
    return AlertRule(
        alert.name,
        alert.query,
        alert.threshold if threshold is None else threshold,
        for_s=alert.for_s,
        severity=alert.severity,
        unit=alert.unit,
        op=alert.op,
        job=alert.job,
    )


def alert_rules(*, gold_freshness_limit_s: float = GOLD_FRESHNESS_LIMIT_S) -> list[AlertRule]:
    """Every alert of the definition; the gold freshness limit is the configured one."""
    return [
        rule_of(a, threshold=gold_freshness_limit_s if a.threshold_metric else None) for a in ALERTS
    ]


def _breaks(rule: AlertRule, value: float) -> bool:
    return value > rule.threshold if rule.op == ">" else value < rule.threshold


def evaluate_rule(rule: AlertRule, series: Sequence[Series]) -> AlertState:
    """Pure evaluation: per series, how long has ``value op threshold`` held up to the last point?"""
    order = {"ok": 0, "pending": 1, "firing": 2}
    shown = unit_of(rule.unit).format
    ok_op = "<=" if rule.op == ">" else ">="
    best: tuple[str, float | None, str] = ("ok", None, "no data" if not series else "")
    for s in series:
        if not s.points:
            continue
        last_t, last_v = s.points[-1]
        since: float | None = None
        later = last_t
        for t, v in reversed(s.points):
            # a gap (the series absent for more than two steps, e.g. its target or Prometheus was down)
            # resets the hold, as Prometheus's own ``for`` does
            if not _breaks(rule, v) or later - t > 2 * rule.step_s:
                break
            since, later = t, t
        who = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items())) or s.name
        if since is None:
            state, msg = "ok", f"{who}: {shown(last_v)} {ok_op} {shown(rule.threshold)}"
        else:
            held = last_t - since
            state = "firing" if held >= rule.for_s else "pending"
            msg = (
                f"{who}: {shown(last_v)} {rule.op} {shown(rule.threshold)} for {held:.0f}s"
                f" (for {rule.for_s:.0f}s)"
            )
        worse = order[state] > order[best[0]]
        further = best[1] is None or (last_v > best[1] if rule.op == ">" else last_v < best[1])
        if worse or (order[state] == order[best[0]] and further):
            best = (state, last_v, msg)
    state, value, message = best
    return AlertState(
        name=rule.name,
        state=state,  # type: ignore[arg-type]
        value=value,
        threshold=rule.threshold,
        message=message,
        severity=rule.severity,
        unit=rule.unit,
    )
