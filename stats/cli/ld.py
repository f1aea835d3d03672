"""``genostats ld-decay`` and ``genostats ldscore``."""
from __future__ import annotations

import logging
from pathlib import Path

from genocore.outputs import OutputFolder
from stats.cli._common import add_out_folder, provenance_beside, write_folder

logger = logging.getLogger(__name__)


def _ld_decay(args) -> int:
    from stats.io.tables import existing
    from stats.ld.matrix import fileset_r2_decay

    bed = existing(Path(str(args.bfile) + ".bed"), "--bfile")
    table = fileset_r2_decay(args.bfile, max_pairs=args.max_pairs, rng=args.seed)
    write_folder(OutputFolder(tables={"decay.tsv": table}), args, inputs={"bed": bed})
    return 0


def add_ld_decay_parser(sub):
    """Register ``genostats ld-decay``; returns its parser."""
    p = sub.add_parser("ld-decay", help="mean r^2 by distance in a PLINK reference panel",
                       description="Mean r^2 between SNP pairs in distance bins, per chromosome. Writes "
                       "DIR/decay.tsv and DIR/provenance.json.")
    p.add_argument("--bfile", required=True, type=Path, help="PLINK fileset prefix")
    p.add_argument("--max-pairs", type=int, default=2_000_000)
    p.add_argument("--seed", type=int, default=0, help="seed for subsampling pairs")
    add_out_folder(p)
    p.set_defaults(runner=_ld_decay)
    return p


def _ldscore(args) -> int:
    from stats.ld.scores import ld_scores, write_ld_scores

    template = "{chrom}" in str(args.bfile)
    if not template:
        for suffix in (".bed", ".bim", ".fam"):
            if not Path(str(args.bfile) + suffix).exists():
                raise FileNotFoundError(f"--bfile {args.bfile}: {args.bfile}{suffix} does not exist")
    by_chrom = "{chrom}" in str(args.out)
    if (template or args.resume) and not by_chrom:
        raise ValueError(f"--out {args.out}: give an output prefix holding {{chrom}} (one set of files per "
                         "chromosome) with a {chrom} --bfile template or --resume")
    snps = None
    if args.extract:
        snps = Path(args.extract).read_text().split()
        if not snps:
            raise ValueError(f"--extract {args.extract}: no SNP IDs in the file")
    options = dict(wind_cm=args.ld_wind_cm, wind_kb=args.ld_wind_kb, wind_snps=args.ld_wind_snps, maf=args.maf,
                   chunk_size=None if args.exact_windows else 50, drop_duplicate_positions=args.drop_duplicate_positions)
    stem = Path(str(args.out).replace("{chrom}", "all") + ".l2")
    if by_chrom:  # chromosome by chromosome, each written when done: a killed run resumes
        from genocore.progress import ProgressBar
        from stats.ld.by_chromosome import ld_scores_by_chromosome

        with ProgressBar("chromosome") as bar:
            paths = ld_scores_by_chromosome(str(args.bfile), str(args.out), parts_dir=Path(str(stem) + ".parts"),
                                            resume=args.resume, snps=snps, annot=args.annot,
                                            with_cm_maf=args.print_cm_maf, progress=bar, **options)
        n = sum(1 for p in paths if p.name.endswith(".ldscore.gz"))
        logger.info("LD scores of %d chromosome(s) -> %s", n, args.out)
    else:
        scores = ld_scores(args.bfile, annot=args.annot, snps=snps, **options)
        paths = write_ld_scores(args.out, scores, with_cm_maf=args.print_cm_maf)
        logger.info("LD scores of %d SNPs -> %s", len(scores.table), ", ".join(str(p) for p in paths))
    bed = None if template else Path(str(args.bfile) + ".bed")
    provenance_beside(stem, args, inputs={"bed": bed, "annot": args.annot}, outputs={p.name: p for p in paths})
    return 0


def add_ldscore_parser(sub):
    """Register ``genostats ldscore`` (ldsc-compatible ``--l2``); returns its parser."""
    p = sub.add_parser("ldscore", help="LD scores of a PLINK panel, as ldsc --l2 writes them",
                       description="LD scores (sum of unbiased r^2 over a window) of a PLINK fileset, optionally "
                       "stratified by annotations; writes OUT.l2.ldscore.gz, OUT.l2.M and OUT.l2.M_5_50 in ldsc's "
                       "layout (one set per chromosome when OUT holds {chrom}) and OUT.l2.provenance.json.")
    p.add_argument("--bfile", required=True, type=Path, help="PLINK fileset prefix (one or several chromosomes), "
                   "or a per-chromosome template ('panel.{chrom}')")
    win = p.add_mutually_exclusive_group()
    win.add_argument("--ld-wind-cm", type=float, help="window in cM (default 1)")
    win.add_argument("--ld-wind-kb", type=float, help="window in kb")
    win.add_argument("--ld-wind-snps", type=int, help="window in SNPs")
    p.add_argument("--annot", type=Path, help=".annot[.gz] with one row per bim SNP (stratified LD scores)")
    p.add_argument("--maf", type=float, help="keep SNPs with MAF above this")
    p.add_argument("--extract", type=Path, help="file of SNP IDs to keep")
    p.add_argument("--drop-duplicate-positions", action="store_true",
                   help="keep the first SNP at each chromosome and position (the count is logged) instead of "
                        "refusing the panel")
    p.add_argument("--exact-windows", action="store_true",
                   help="exact windows instead of ldsc's 50-SNP chunks (which add a few SNPs beyond the window)")
    p.add_argument("--print-cm-maf", action="store_true", help="also write the CM and MAF columns")
    p.add_argument("--out", required=True, help="output prefix; with {chrom} ('ld/{chrom}') each chromosome is "
                   "computed and written in turn")
    p.add_argument("--resume", action="store_true", help="with {chrom} in --out: keep the chromosomes a killed "
                   "run finished (same inputs and options, checked)")
    p.set_defaults(runner=_ldscore)
    return p
