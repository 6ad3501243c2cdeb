"""Export SVG screenshots of every TUI screen on a real embedded lakehouse (for the README).

.venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZE = (140, 42)


async def shoot(out: Path) -> list[Path]:
    from lakehouse_core.backends.embedded import build_embedded
    from lakehouse_core.settings import LakehouseSettings, TuiSettings
    from tui.app import LakehouseApp

    data = Path(tempfile.mkdtemp(prefix="lakehouse-shots-")) / "data"
    settings = LakehouseSettings(
        data_dir=data,
        orders=5000,
        defect_rate=0.01,
        tui=TuiSettings(refresh_seconds=0, metrics_refresh_seconds=0),
    )
    backend = build_embedded(settings)
    for phase in (1, 2, 3, 4):
        backend.phases.run(phase)
    app = LakehouseApp(backend, settings)
    written: list[Path] = []
    async with app.run_test(size=SIZE) as pilot:

        async def settle() -> None:
            for _ in range(4):
                await pilot.pause(0.2)
                await app.workers.wait_for_complete()

        async def save(name: str) -> None:
            await settle()
            path = out / f"{name}.svg"
            path.write_text(app.export_screenshot(title=f"lakehouse-tui: {name}"))
            written.append(path)

        await save("overview")
        await pilot.press("f2")
        await settle()
        await pilot.press("down", "space", "down", "down", "enter")  # open bronze, select a table
        await save("catalog")
        await pilot.press("f3")
        await settle()
        await pilot.press("ctrl+r")
        await save("sql")
        await asyncio.sleep(3)  # a few metric samples, so rates and sparklines have points
        await pilot.press("f4")
        await save("metrics")
        await pilot.press("question_mark")
        await save("help")
    return written


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(shoot(out)):
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
