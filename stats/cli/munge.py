"""``genostats munge``: raw GWAS summary statistics to LDSC's ``.sumstats.gz`` (:mod:`stats.munge`)."""
from __future__ import annotations

import logging
from pathlib import Path

from stats.cli._common import Context, pos_float, provenance_beside

logger = logging.getLogger(__name__)

#: Column options: field of stats.io.sumstats -> option.
_COLUMN_OPTIONS = {"SNP": "--snp", "A1": "--a1", "A2": "--a2", "N": "--n-col", "Z": "--z", "BETA": "--beta",
                   "SE": "--se", "P": "--p", "OR": "--or"}


def _munge(args) -> int:
    from stats.io.sumstats import write_sumstats
    from stats.io.tables import existing
    from stats.munge import munge_sumstats

    existing(args.sumstats, "--sumstats")
    if args.merge_alleles is not None:
        existing(args.merge_alleles, "--merge-alleles")
    columns = {f: getattr(args, opt[2:].replace("-", "_")) for f, opt in _COLUMN_OPTIONS.items()
               if getattr(args, opt[2:].replace("-", "_")) is not None}
    with Context(f"--sumstats {args.sumstats}"):
        ss = munge_sumstats(args.sumstats, n=args.N, columns=columns or None, snplist=args.merge_alleles,
                            info_min=None if args.no_info_filter else args.info_min,
                            maf_min=None if args.no_maf_filter else args.maf_min)
    out = write_sumstats(args.out, ss)
    provenance_beside(out, args, inputs={"sumstats": args.sumstats, "merge_alleles": args.merge_alleles},
                      extra={"counts": ss.attrs["munge"], "columns": ss.attrs["sumstats"]["columns"],
                             "z_from": ss.attrs["sumstats"]["z_from"], "n_from": ss.attrs["sumstats"]["n_from"]})
    logger.info("wrote %d SNPs to %s", len(ss), out)
    return 0


def add_munge_parser(sub):
    """Register ``genostats munge``; returns its parser."""
    p = sub.add_parser("munge", help="raw GWAS summary statistics -> LDSC .sumstats.gz (SNP A1 A2 N Z)",
                       description="Read a raw GWAS table (columns found by their usual names; Z from Z, BETA/SE, "
                       "OR/SE or P with a signed column), drop SNPs with low INFO or MAF, merge alleles with a SNP "
                       "list, and write LDSC's munged layout with a provenance record beside it.")
    p.add_argument("--sumstats", required=True, type=Path, help="raw GWAS table (text, gzip, bzip2 or Parquet)")
    p.add_argument("--out", required=True, type=Path, help="output .sumstats.gz")
    p.add_argument("--N", type=pos_float, help="sample size of every SNP (when the table has no N column)")
    p.add_argument("--merge-alleles", type=Path, help="SNP list SNP A1 A2 (e.g. w_hm3.snplist) to keep and match")
    p.add_argument("--info-min", type=pos_float, default=0.9, help="drop SNPs with INFO below this (0.9)")
    p.add_argument("--maf-min", type=float, default=0.01, help="drop SNPs with MAF at or below this (0.01)")
    p.add_argument("--no-info-filter", action="store_true")
    p.add_argument("--no-maf-filter", action="store_true")
    for field, opt in _COLUMN_OPTIONS.items():
        p.add_argument(opt, metavar="COLUMN", help=f"the table's {field} column, when its name is not recognised")
    p.set_defaults(runner=_munge)
    return p
