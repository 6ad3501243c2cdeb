"""The memory budget: derived from the machine or the setting, shown in the plans, refused early in one
line when it cannot work, and DuckDB's out-of-memory errors become the same kind of line."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from lakehouse_core.backends.embedded.phases import EmbeddedPhaseRunner
from lakehouse_core.budget import (
    GIB,
    MAX_AUTO,
    MIB,
    MIN_AUTO,
    Budget,
    checked_budget,
    current_budget,
    parse_size,
    resolve_budget,
    use_budget,
)
from lakehouse_core.errors import DiskFullError, ResourceError
from lakehouse_core.observability import PipelineMetrics
from lakehouse_core.paths import DataPaths
from lakehouse_core.pipeline._duck import task_context
from lakehouse_core.settings import load_settings
from tests.core.cli_helpers import cli_env, one_line, run


@pytest.mark.parametrize(("text", "size"), [
    ("512MB", 512 * MIB), ("3 GiB", 3 * GIB), ("1.5g", 3 * GIB // 2), ("1048576", MIB), ("64mib", 64 * MIB),
])
def test_sizes_read_in_powers_of_1024(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "3 parsecs", "-1GB"])
def test_a_size_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


def test_auto_takes_a_quarter_of_what_is_available_within_bounds() -> None:
    assert resolve_budget("auto", available=8 * GIB, cores=2).memory == 2 * GIB
    assert resolve_budget("auto", available=64 * GIB, cores=2).memory == MAX_AUTO
    assert resolve_budget("auto", available=1 * GIB, cores=2).memory == MIN_AUTO
    budget = resolve_budget("auto", available=8 * GIB, cores=3)
    assert budget.threads == 3 and budget.duckdb_memory == int(2 * GIB * 0.7)
    assert budget.duckdb_config() == {"memory_limit": f"{int(2 * GIB * 0.7) // MIB}MiB", "threads": 3}


def test_an_explicit_size_and_thread_count_win() -> None:
    budget = resolve_budget("3GB", 1, available=64 * GIB, cores=8)
    assert (budget.memory, budget.threads) == (3 * GIB, 1)
    assert "LAKEHOUSE_MEMORY_BUDGET=3GB" in budget.describe()


@pytest.mark.parametrize(("memory", "available", "disk", "words"), [
    ("16MB", 8 * GIB, 100 * GIB, "below the 64.0 MiB a phase needs: raise LAKEHOUSE_MEMORY_BUDGET"),
    ("32GB", 8 * GIB, 100 * GIB, "more than the 8.0 GiB available: lower LAKEHOUSE_MEMORY_BUDGET"),
    ("lots", 8 * GIB, 100 * GIB, "not a size: 'lots' (e.g. auto, 512MB, 3GB): set LAKEHOUSE_MEMORY_BUDGET"),
    ("auto", 8 * GIB, 512 * 1024, "no space left on device for this run: only 512.0 KiB free"),
])
def test_a_budget_that_cannot_work_is_refused_in_one_line(
    tmp_path: Path, memory: str, available: int, disk: int, words: str
) -> None:
    with pytest.raises(ResourceError) as caught:
        checked_budget(memory, 0, tmp_path / "spill", available=available, free_disk=disk)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_a_budget_that_fits_passes(tmp_path: Path) -> None:
    budget = checked_budget("1GB", 2, tmp_path / "not" / "yet", available=8 * GIB)
    assert (budget.memory, budget.threads) == (GIB, 2)


def test_connections_use_the_running_phases_budget(tmp_path: Path) -> None:
    with use_budget(Budget(256 * MIB, 1, "test")):
        assert current_budget().memory == 256 * MIB
        with task_context("probe", DataPaths(tmp_path)) as ctx:
            limit, threads = ctx.execute(
                "SELECT current_setting('memory_limit'), current_setting('threads')")[0]
    assert (limit, threads) == ("179.0 MiB", 1)  # 70% of 256 MiB, as DuckDB spells it
    assert current_budget().source.startswith("auto")


def test_duckdb_out_of_memory_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    with use_budget(Budget(40 * MIB, 1, "test")), task_context("hungry", DataPaths(tmp_path)) as ctx:
        with pytest.raises(ResourceError) as caught:  # a list aggregate cannot spill
            ctx.execute("SELECT list(i) FROM range(20000000) t(i)")
    text = str(caught.value)
    assert text.startswith("hungry ran out of memory within its budget of 40.0 MiB") and "\n" not in text
    assert "raise LAKEHOUSE_MEMORY_BUDGET" in text


def _runner(tmp_path: Path, **settings: object) -> EmbeddedPhaseRunner:
    return EmbeddedPhaseRunner(
        load_settings(mode="embedded", data_dir=tmp_path / "data", **settings),
        open_catalog=lambda: pytest.fail("a plan opens no catalog"),
        catalog=SimpleNamespace(),  # type: ignore[arg-type]
        sql=SimpleNamespace(name="duckdb (test)"),  # type: ignore[arg-type]
        metrics=PipelineMetrics(process_metrics=False),
    )


def test_the_phase_plans_show_the_budget(tmp_path: Path) -> None:
    runner = _runner(tmp_path, memory_budget="2GB", threads=1)
    for phase in (1, 2):
        line = next(d for d in runner.plan(phase).details if d.startswith("memory budget"))
        assert line.startswith("memory budget 2.0 GiB (LAKEHOUSE_MEMORY_BUDGET=2GB): DuckDB memory_limit "
                               "1.4 GiB, 1 threads"), line


@pytest.mark.slow
def test_a_tiny_budget_fails_phase1_in_one_line_before_any_work(tmp_path: Path) -> None:
    env = cli_env(tmp_path, LAKEHOUSE_MEMORY_BUDGET="16MB")
    data = tmp_path / "data"
    code, _, err = run(env, "-q", "--data-dir", str(data), "phase", "1", "--orders", "300")
    assert code == 1, err
    assert "Traceback" not in err
    line = one_line(err)
    assert line.startswith("error: ") and "raise LAKEHOUSE_MEMORY_BUDGET" in line, line
    assert not (data / "raw" / "orders.csv").exists()  # refused before generating anything


def test_phase1_needs_twice_its_raw_input_free(tmp_path: Path) -> None:
    from lakehouse_core.budget import phase1_raw_bytes

    settings = load_settings(data_dir=tmp_path / "data", orders=1_000_000)
    assert phase1_raw_bytes(settings, generate=True) == 80_000_000  # an estimate before generating
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "orders.csv").write_bytes(b"x" * 3000)
    (raw / "customers.csv").write_bytes(b"x" * 1000)
    assert phase1_raw_bytes(settings, generate=False) == 4000
    with pytest.raises(DiskFullError, match=r"only 3.0 GiB free .* \(at least 4.0 GiB needed\)"):
        checked_budget("auto", 0, raw, available=8 * GIB, free_disk=3 * GIB, need_disk=4 * GIB)
