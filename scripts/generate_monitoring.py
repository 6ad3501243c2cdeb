"""Write (or, with --check, verify) the files made from lakehouse_core/monitoring/definition.py:
monitoring/prometheus/alerts.yml and the Grafana dashboard and provisioning files."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from lakehouse_core.monitoring.generate import stale, write

ROOT = Path(__file__).resolve().parents[1]
logger = logging.getLogger("generate_monitoring")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when a generated file is out of date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.check:
        out_of_date = stale(ROOT)
        for path in out_of_date:
            logger.error("out of date: %s (run python scripts/generate_monitoring.py)", path)
        return 1 if out_of_date else 0
    for path in write(ROOT):
        logger.info("wrote %s", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
