"""The generated monitoring files are up to date with the definition, the Grafana dashboard is a valid
dashboard for the SDK's types and holds every panel, and promtool accepts the configs and the rules
and passes every alert's unit test file."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from lakehouse_core.monitoring.definition import ALERTS, PANELS
from lakehouse_core.monitoring.generate import DASHBOARD_PATH, RULES_PATH, render_all, stale

ROOT = Path(__file__).resolve().parents[2]
PROM_DIR = ROOT / "monitoring" / "prometheus"
RULE_TESTS = sorted((PROM_DIR / "tests").glob("*.test.yml"))


def test_generated_files_are_up_to_date() -> None:
    assert stale(ROOT) == [], "run: python scripts/generate_monitoring.py"


def test_an_edited_generated_file_is_reported(tmp_path: Path) -> None:
    for path, text in render_all().items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    assert stale(tmp_path) == []
    (tmp_path / RULES_PATH).write_text((tmp_path / RULES_PATH).read_text().replace("for: 5m", "for: 1m"))
    (tmp_path / DASHBOARD_PATH).unlink()
    assert stale(tmp_path) == [RULES_PATH, DASHBOARD_PATH]


def test_dashboard_is_valid_for_the_sdk_and_has_every_panel() -> None:
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.dashboard import Dashboard

    data = json.loads((ROOT / DASHBOARD_PATH).read_text())
    model = Dashboard.from_json(data)  # typed decoding: raises on a malformed dashboard
    again = json.loads(JSONEncoder(sort_keys=True).encode(model))
    assert again == data
    panels = data["panels"]
    assert [(p["title"], p["targets"][0]["expr"]) for p in panels] == [(p.title, p.query) for p in PANELS]
    assert all(p["datasource"]["uid"] == "prometheus" for p in panels)
    memory = next(p for p in panels if p["title"] == "Resident memory")
    steps = memory["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in steps] == [None, 4e9, 8e9] and memory["type"] == "gauge"
    assert len({(p["gridPos"]["x"], p["gridPos"]["y"]) for p in panels}) == len(panels)  # no overlap


def test_every_alert_has_a_rule_test_file() -> None:
    tested = set()
    for path in RULE_TESTS:
        tested |= {line.split(":", 1)[1].strip() for line in path.read_text().splitlines()
                   if line.strip().startswith("alertname:")}
    assert {a.name for a in ALERTS} <= tested


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120, cwd=PROM_DIR)


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus.stack-test.yml", "prometheus.compose.yml"])
def test_promtool_checks_the_config(config: str) -> None:
    proc = _promtool("check", "config", config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in proc.stdout


def test_promtool_checks_the_rules() -> None:
    proc = _promtool("check", "rules", "alerts.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("test_file", RULE_TESTS, ids=lambda p: p.name)
def test_promtool_rule_unit_tests(test_file: Path) -> None:
    proc = _promtool("test", "rules", str(test_file.relative_to(PROM_DIR)))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_wrong_expectation_fails_the_rule_test(tmp_path: Path) -> None:
    """The rule tests can fail: the memory test with the alert expected too early is refused."""
    source = (PROM_DIR / "tests" / "high_memory_usage.test.yml").read_text()
    broken = tmp_path / "broken.test.yml"
    source = source.replace("../alerts.yml", str(PROM_DIR / "alerts.yml"))
    broken.write_text(source.replace("eval_time: 6m", "eval_time: 3m"))
    proc = _promtool("test", "rules", str(broken))
    assert proc.returncode == 1 and "FAILED" in proc.stdout + proc.stderr
