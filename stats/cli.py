"""``genostats``: the statistics half of the suite from the command line.

Parsers are built by functions (testable; ``--help`` needs no data or environment). Commands that
join the model and the statistics (``simulate-world``) are registered by ``analyses.commands``, so
this package never imports ``genomodel``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genocore import clilog, provenance


def _ld_decay(args) -> int:
    import numpy as np

    from genocore.files import write_table
    from stats.io.plink import read_bfile
    from stats.ld import r2_decay

    dosage, bim, _ = read_bfile(args.bfile)
    rng = np.random.default_rng(args.seed)
    tables = []
    for chrom, idx in bim.groupby("chrom", sort=False).indices.items():
        t = r2_decay(dosage[:, idx], bim.pos.to_numpy()[idx], max_pairs=args.max_pairs, rng=rng)
        tables.append(t.assign(chrom=chrom))
    import pandas as pd

    write_table(args.out, pd.concat(tables, ignore_index=True), float_format="%.6g")
    provenance.write(Path(str(args.out) + ".provenance.json"), provenance.record(
        command=sys.argv, inputs={"bed": Path(str(args.bfile) + ".bed")}, outputs={"table": args.out}))
    return 0


def get_parser(extra_commands=()) -> argparse.ArgumentParser:
    """The ``genostats`` parser.

    Parameters
    ----------
    extra_commands : sequence of (name, help, configure)
        Subcommands registered by other packages; ``configure(parser)`` adds arguments and sets
        ``runner``.
    """
    parser = argparse.ArgumentParser(prog="genostats", description="Statistical genetics on variant "
                                     "scores: LD, signed LD profiles, SLDP, LD-score regression, fine-mapping.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub.add_parser("ld-decay", help="mean r^2 by distance in a PLINK reference panel",
                       description="Mean r^2 between SNP pairs in distance bins, per chromosome.")
    p.add_argument("--bfile", required=True, type=Path, help="PLINK fileset prefix")
    p.add_argument("--out", required=True, type=Path, help="output TSV")
    p.add_argument("--max-pairs", type=int, default=2_000_000)
    p.add_argument("--seed", type=int, default=0, help="seed for subsampling pairs")
    p.set_defaults(runner=_ld_decay)
    for name, help_text, configure in extra_commands:
        configure(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv=None, *, extra_commands=()) -> int:
    args = get_parser(extra_commands).parse_args(argv)
    clilog.configure(args.verbose)
    return args.runner(args)


if __name__ == "__main__":
    sys.exit(main())
