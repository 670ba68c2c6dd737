"""What the benchmarks that compare the bot with a reference share: each side run in a subprocess of its own (so
peak memory figures never mix), the two sides taking turns."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_worker(script: str, kind: str, arguments: Sequence[str]) -> dict[str, Any]:
    """Run `script --worker kind arguments…` and return the JSON object its last line prints."""
    command = [sys.executable, script, "--worker", kind, *arguments]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"the {kind} worker failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def taking_turns(repeat: int, sides: tuple[str, str], run: Callable[[str], dict[str, Any]]) -> dict[str, list[Any]]:
    """Each side's figures from `repeat` runs, the first side alternating, so a busy spell hits both alike."""
    figures: dict[str, list[Any]] = {side: [] for side in sides}
    for turn in range(repeat):
        for side in sides if turn % 2 == 0 else sides[::-1]:
            figures[side].append(run(side))
    return figures
