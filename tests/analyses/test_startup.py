"""The command lines start without the heavy libraries they do not need (help in well under a second)."""
from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("tensorflow", "keras", "msprime", "scipy.stats", "pandas")


def _loaded(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code + "\nimport json, sys\nprint(json.dumps({m: m in sys.modules "
                          f"for m in {list(HEAVY)!r}}}))"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_genostats_and_genomodel_parsers_import_nothing_heavy():
    for code in ("import analyses.commands as c\nc.stats_cli.get_parser(c.EXTRA_COMMANDS)",
                 "import genomodel.cli as g\ng.get_parser() if hasattr(g, 'get_parser') else None"):
        loaded = _loaded(code)
        assert not any(loaded.values()), loaded


def test_world_size_names_are_the_presets():
    from analyses import world, world_args

    assert tuple(sorted(world.SIZES)) == world_args.SIZE_NAMES
