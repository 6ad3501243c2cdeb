"""Composition root of ``lakehouse-tui``: settings -> backend -> App. The only caller of load_backend."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="lakehouse-tui", description="Control room of the e-commerce lakehouse."
    )
    parser.add_argument("--mode", choices=("embedded", "stack"), help="backend (default: settings)")
    parser.add_argument("--data-dir", type=Path, help="local data directory (default: settings)")
    parser.add_argument("--log-file", type=Path, help="also write logs to this file")
    return parser.parse_args(argv)


def setup_logging(log_file: Path | None) -> None:
    """Route logging to the Textual devtools console (and a file); nothing goes to stdout."""
    from textual.logging import TextualHandler

    handlers: list[logging.Handler] = [TextualHandler()]
    if log_file is not None:
        file_handler = logging.FileHandler(log_file)
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handlers.append(file_handler)
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lakehouse-tui`` console script."""
    args = parse_args(argv)
    from lakehouse_core.errors import LakehouseError
    from lakehouse_core.settings import load_settings

    overrides: dict[str, object] = {}
    if args.mode:
        overrides["mode"] = args.mode
    if args.data_dir:
        overrides["data_dir"] = args.data_dir
    setup_logging(args.log_file)
    try:
        settings = load_settings(**overrides)
        from lakehouse_core.backends import load_backend

        backend = load_backend(settings)
    except LakehouseError as exc:
        sys.stderr.write(f"lakehouse-tui: {exc.title}: {exc}\n")
        return 2
    except ValueError as exc:  # invalid settings (pydantic ValidationError)
        sys.stderr.write(f"lakehouse-tui: invalid settings: {exc}\n")
        return 2
    from tui.app import LakehouseApp

    LakehouseApp(backend, settings).run()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
