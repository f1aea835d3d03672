"""``genostats liftover``: summary statistics, annotation and eQTL tables, or VCFs, between builds."""
from __future__ import annotations

import logging
from pathlib import Path

from stats.cli._common import Context, provenance_beside

logger = logging.getLogger(__name__)


def _layout(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    from genocore.files import open_text
    from stats.io.sumstats import header_names

    with open_text(path) as fh:
        if fh.readline().startswith("##fileformat=VCF"):
            return "vcf"
    return "gtex" if "variant_id" in header_names(path) else "table"


def _liftover(args) -> int:
    import pandas as pd

    from genocore.files import open_text, write_table, write_text
    from stats import liftover as lo
    from stats.io.tables import existing, read_tsv

    existing(args.input, "--input")
    existing(args.chain, "--chain")
    layout = _layout(args.input, args.format)
    with Context(f"--input {args.input} / --chain {args.chain}"):
        chain = lo.load_chain(args.chain)
        if layout == "vcf":
            with open_text(args.input) as fh:
                lines, counts = lo.lift_vcf(fh, chain=chain, what=str(args.input))
            write_text(args.out, "\n".join(lines) + "\n")
        else:
            df = read_tsv(args.input, "--input", dtype=str, keep_default_na=False)
            if layout == "gtex":
                out, counts = lo.lift_gtex_table(df, chain=chain, to_build=args.to, what=str(args.input))
            else:
                out, counts = lo.lift_table(df, chain=chain, what=str(args.input))
            write_table(args.out, pd.DataFrame(out))
    provenance_beside(args.out, args, inputs={"input": args.input, "chain": args.chain}, genome_build=args.to,
                      extra={"layout": layout, "counts": counts})
    logger.info("lifted %s to %s: %s -> %s", args.input, args.to, counts, args.out)
    return 0


def add_liftover_parser(sub):
    """Register ``genostats liftover``; returns its parser."""
    p = sub.add_parser("liftover", help="move a variant table or VCF to another genome build with a chain file",
                       description="Lift summary statistics or annotation tables (chromosome and position columns "
                       "found by name), GTEx eQTL tables (variant_id rewritten) or VCFs with a local UCSC chain file; "
                       "variants on the minus strand get complemented alleles; unmapped, multiply mapped and "
                       "moved-chromosome variants are dropped; every count is logged and kept in the provenance.")
    p.add_argument("--input", required=True, type=Path, help="table (tab, comma or whitespace) or VCF, plain or gzip")
    p.add_argument("--chain", required=True, type=Path, help="UCSC chain file, e.g. hg19ToHg38.over.chain.gz")
    p.add_argument("--to", required=True, choices=("hg19", "hg38"), help="the target build (recorded; GTEx ids)")
    p.add_argument("--format", default="auto", choices=("auto", "table", "gtex", "vcf"))
    p.add_argument("--out", required=True, type=Path, help="output file (.gz to compress)")
    p.set_defaults(runner=_liftover)
    return p
