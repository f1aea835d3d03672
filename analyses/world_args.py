"""The ``simulate-world`` command's arguments, apart from :mod:`analyses.world` so that ``genostats
--help`` and every other command start without importing the simulator (scipy, msprime, pandas)."""
from __future__ import annotations

import argparse
from pathlib import Path

#: The world size presets of :data:`analyses.world.SIZES` (a test keeps the two equal).
SIZE_NAMES = ("default", "large", "tiny")


def _run(args) -> int:
    from analyses import world

    return world.run(args)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--size", default="default", choices=SIZE_NAMES, help="world size preset")
    parser.add_argument("--config", type=Path, help="JSON of WorldConfig overrides (unknown keys are errors)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: everything)")
    parser.set_defaults(runner=_run)
    return parser
