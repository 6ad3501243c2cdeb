"""Composition root of ``lakehouse-tui``: App first, then (in a worker) settings -> backend.

The only caller of load_backend. The App paints before settings or engines are imported.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakehouse_core.ports import Backend
    from lakehouse_core.settings import LakehouseSettings
    from tui.app import BackendFactory, LakehouseApp


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


def silence_terminal_logging() -> None:
    """Once the App has exited, no log record reaches the terminal (a ``--log-file`` still gets them)."""
    from textual.logging import TextualHandler

    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, TextualHandler)]:
        root.removeHandler(handler)
    if not root.handlers:
        root.addHandler(logging.NullHandler())  # not logging's last resort, which writes to stderr


def backend_factory(args: argparse.Namespace) -> BackendFactory:
    """The App's factory: load settings (flags override them), build the backend (the only load_backend).

    It runs in a worker thread after the first frame, so pydantic-settings and the engines are imported there.
    """

    def build() -> tuple[Backend, LakehouseSettings]:
        from lakehouse_core.backends import load_backend
        from lakehouse_core.settings import load_settings

        overrides: dict[str, object] = {"run_source": "tui"}  # the runs it starts say so
        if args.mode:
            overrides["mode"] = args.mode
        if args.data_dir:
            overrides["data_dir"] = args.data_dir
        settings = load_settings(**overrides)
        return load_backend(settings), settings

    return build


def make_app(args: argparse.Namespace) -> LakehouseApp:
    """The App of ``args``: it paints its Starting screen at once and builds the backend after that."""
    from tui.app import LakehouseApp

    return LakehouseApp(factory=backend_factory(args))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lakehouse-tui`` script; exit code 2 when the backend could not be built."""
    args = parse_args(argv)
    setup_logging(args.log_file)
    app = make_app(args)
    try:
        app.run()
    finally:
        silence_terminal_logging()
    return app.return_code or 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
