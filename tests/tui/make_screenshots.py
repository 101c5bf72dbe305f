"""Render an SVG of every screen, from the same states the snapshot tests use.

    python -m tests.tui.make_screenshots [OUTDIR]      (default: screenshots/)

No benchmark or host needed: the states replay a recorded facts snapshot.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.tui.states import STATES, drive, make_app

REPO = Path(__file__).resolve().parents[2]


async def render(name: str, size: tuple[int, int]) -> str:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await drive(pilot, STATES[name].keys)
        return app.export_screenshot(title=f"nginx-502-wizard: {name}")


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else REPO / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    for name, state in STATES.items():
        for width, height in state.sizes:
            path = out / f"{name}-{width}x{height}.svg"
            path.write_text(asyncio.run(render(name, (width, height))), encoding="utf-8")
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
