"""Console entry point of ``genostats``: the stats CLI plus the commands that need both halves."""
from __future__ import annotations

import sys

from analyses import world_args
from stats import cli as stats_cli

EXTRA_COMMANDS = (
    ("simulate-world", "simulate the default world: genome, tracks, panels, eQTL/GWAS, truth",
     world_args.add_arguments),
)


def genostats_main(argv=None) -> int:
    return stats_cli.main(argv, extra_commands=EXTRA_COMMANDS)


if __name__ == "__main__":
    sys.exit(genostats_main())
