"""DuckDB's profile of phase 1's bronze and silver tasks: where each statement spends its time.

Runs ingest_to_bronze, validate_data_quality and transform_to_silver on a data dir's raw CSVs (into
run ``profile``) with DuckDB's JSON profiling on for every statement, then prints the slowest
statements with their costliest operators. Not in CI.

    python bench/profile_phase1.py --data /tmp/scalebench/10000000/data
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _operators(node: dict[str, Any], out: list[tuple[float, str, int]]) -> None:
    name = node.get("operator_name") or node.get("operator_type") or "?"
    out.append((float(node.get("operator_timing", 0.0)), str(name).strip(),
                int(node.get("operator_cardinality", 0))))
    for child in node.get("children", []):
        _operators(child, out)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a data dir holding raw/*.csv")
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()

    from lakehouse_core.paths import DataPaths
    from lakehouse_core.pipeline import _duck
    from lakehouse_core.pipeline.bronze import ingest_to_bronze, validate_data_quality
    from lakehouse_core.pipeline.silver_gold import transform_to_silver

    profiles = Path(args.data) / "profile"
    profiles.mkdir(parents=True, exist_ok=True)
    seen: list[tuple[float, str, Path]] = []
    plain = _duck.TaskContext.execute

    def execute(self: _duck.TaskContext, sql: str, params: Any = None) -> Any:
        target = profiles / f"{len(seen):03d}.json"
        con = self.connection()
        con.execute("PRAGMA enable_profiling = 'json'")
        con.execute(f"PRAGMA profiling_output = '{target}'")
        t0 = time.perf_counter()
        try:
            return plain(self, sql, params)
        finally:
            seen.append((time.perf_counter() - t0, f"{self.name}: {' '.join(sql.split())[:150]}", target))
            con.execute("PRAGMA disable_profiling")

    _duck.TaskContext.execute = execute  # type: ignore[method-assign]
    paths = DataPaths(Path(args.data)).for_run("profile").ensure()
    for task in (ingest_to_bronze, validate_data_quality, transform_to_silver):
        t0 = time.perf_counter()
        task(paths, run_id="profile")
        print(f"{task.__name__}: {time.perf_counter() - t0:.1f} s")
    for seconds, text, target in sorted(seen, reverse=True)[: args.top]:
        print(f"\n{seconds:7.2f} s  {text}")
        if not target.exists():
            continue
        ops: list[tuple[float, str, int]] = []
        _operators(json.loads(target.read_text()), ops)
        for timing, name, rows in sorted(ops, reverse=True)[:5]:
            print(f"          {timing:7.2f} s  {name:<24} {rows:>14,} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
