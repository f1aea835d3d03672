"""``genostats sites``: the variants of a table (a GTEx eQTL table, or chrom / pos / ref / alt columns) as a
sites-only VCF for ``genomodel sad`` and ``genomodel sed``."""
from __future__ import annotations

import logging
from pathlib import Path

from stats.cli._common import provenance_beside

logger = logging.getLogger(__name__)


def _read(path: Path):
    """One input as a table: a PLINK .bim (REF = A2, ALT = A1, as PLINK's --keep-allele-order writes them),
    else a delimited table with a header."""
    import pandas as pd

    from stats.io.tables import existing, read_tsv

    existing(path, "--input")
    if path.name.endswith((".bim", ".bim.gz")):
        table = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, names=["chrom", "snp", "cm", "pos", "alt", "ref"])
    else:
        table = read_tsv(path, "--input", dtype=str, keep_default_na=False)
    if not len(table):
        raise ValueError(f"--input {path}: the table has no rows (a header only)")
    return table


def _sites(args) -> int:
    import pandas as pd

    from stats.io.sites import variant_sites, write_sites_vcf

    parts = [variant_sites(_read(p), what=str(p)) for p in args.input]
    sites = variant_sites(pd.concat(parts, ignore_index=True), what="the inputs") if len(parts) > 1 else parts[0]
    write_sites_vcf(sites, args.out)
    provenance_beside(args.out, args, inputs={f"input_{i}": p for i, p in enumerate(args.input)},
                      extra={"sites": len(sites)})
    logger.info("%d distinct sites of %d input(s) -> %s", len(sites), len(args.input), args.out)
    return 0


def add_sites_parser(sub):
    """Register ``genostats sites``; returns its parser."""
    p = sub.add_parser("sites", help="the variants of a table as a sites-only VCF (for genomodel sad / sed)",
                       description="Write the distinct variant sites of a table as a sites-only VCF, sorted by "
                       "chromosome and position: a GTEx eQTL table (variant_id chrom_pos_ref_alt_build, ID kept), or "
                       "a table with chromosome, position, ref and alt columns (and optionally an ID column), or a PLINK .bim "
                       "(REF = A2, ALT = A1 taken as a guess: score with --ref-policy flip). genomodel sad / sed then "
                       "score them against the FASTA of the same build.")
    p.add_argument("--input", required=True, type=Path, nargs="+", help="tables (tab, comma or whitespace; plain "
                   "or gzip) or .bim files; their sites are merged")
    p.add_argument("--out", required=True, type=Path, help="output VCF (.gz to compress)")
    p.set_defaults(runner=_sites)
    return p
