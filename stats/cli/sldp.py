"""``genostats sldp`` and ``genostats sannot`` (a model's sad.h5 -> the signed annotation SLDP reads)."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

from stats.cli._common import (add_dask, close_client, config, dask_client, nonneg_int, provenance_beside)

logger = logging.getLogger(__name__)


def _sldp(args) -> int:
    from genocore.files import write_table, write_text
    from stats.io.tables import existing
    from stats.sldp import run

    if args.out.is_dir():
        raise ValueError(f"--out {args.out}: is a folder; give the .gwresults file to write")
    for flag, paths in (("--sumstats", args.sumstats), ("--ld-blocks", [args.ld_blocks]),
                        ("--print-snps", [args.print_snps] if args.print_snps else [])):
        for f in paths:
            existing(f, flag)
    from genocore.progress import ProgressBar

    parts = Path(str(args.out) + ".parts")  # finished grid cells: a killed run resumes with --resume
    client = dask_client(args)
    try:
        with ProgressBar("step") as bar:
            res = run(bfile_chr=args.bfile_chr, ld_blocks=args.ld_blocks, sumstats=args.sumstats,
                      sannot_chr=args.sannot_chr, background_sannot_chr=args.background_sannot_chr or (),
                      ldscores_chr=args.ldscores_chr, print_snps=args.print_snps, build=args.build,
                      alpha=args.alpha, background_alpha=args.background_alpha, weights=args.weights,
                      spectrum_percent=args.spectrum_percent, jk_blocks=args.jk_blocks, seed=args.seed,
                      signflip=not args.no_signflip, n_draws=args.n_draws, chroms=args.chroms,
                      rv_out=args.rv_out, client=client, blas_threads=args.blas_threads, progress=bar,
                      block_threads=args.threads,
                      m_suffix=".l2.M" if args.no_M_5_50 else ".l2.M_5_50", parts_dir=parts, resume=args.resume,
                      **({"ldscore_chroms": args.ldscore_chroms} if args.ldscore_chroms else {}))
    finally:
        close_client(client)
    write_text(args.out, res.table.to_csv(sep="\t", index=False, na_rep="nan", lineterminator="\n"))
    outputs = {"gwresults": args.out}
    if args.chunks_out is not None:
        import pandas as pd

        rows = [df.assign(pheno=p, annot=a, chunk=range(len(df))) for (p, a), df in res.chunks.items()]
        cols = ["pheno", "annot", "chunk", "first_block", "last_block", "numsnps", "q", "r"]
        write_table(args.chunks_out, pd.concat(rows, ignore_index=True)[cols])
        outputs["chunks"] = args.chunks_out
    inputs = {"ld_blocks": args.ld_blocks, "print_snps": args.print_snps}
    inputs.update({f"sumstats_{i}": f for i, f in enumerate(args.sumstats)})
    h2g = {k: {"h2g": p.h2g, "sigma2g": p.sigma2g} for k, p in res.phenotypes.items()}
    provenance_beside(args.out, args, inputs=inputs, outputs=outputs, genome_build=args.build,
                      extra={"config": {**config(args), "h2g": h2g}})
    shutil.rmtree(parts, ignore_errors=True)  # only once the output is complete
    logger.info("wrote %s (%d rows)", args.out, len(res.table))
    return 0


def add_sldp_parser(sub):
    """Register ``genostats sldp``; returns its parser."""
    p = sub.add_parser("sldp", help="signed LD profile regression (sldp 1.1.5 compatible)",
                       description="Signed LD profile regression end to end: reference panel -> per-block SVD "
                       "and signed LD profiles, phenotypes -> h2g and weights, regression over every annotation x "
                       "phenotype with background annotations and sign-flip p-values. Writes sldp's .gwresults "
                       "columns and OUT.provenance.json. Regression SNPs default to the panel SNPs with MAF >= 5%%.")
    p.add_argument("--bfile-chr", required=True, help="reference panel: per-chromosome PLINK prefix "
                   "(panel. -> panel.22.bed) or {chrom} template")
    p.add_argument("--ld-blocks", required=True, type=Path, help="LD blocks (BED: chr start end)")
    p.add_argument("--sumstats", required=True, nargs="+", type=Path, help="LDSC .sumstats.gz, one per phenotype "
                   "(phenotype name = file name without .sumstats.gz)")
    p.add_argument("--sannot-chr", required=True, nargs="+", help="per-chromosome .sannot.gz prefixes of the "
                   "annotations to test (genostats sannot makes them from a sad.h5)")
    p.add_argument("--background-sannot-chr", nargs="+", help="per-chromosome .sannot.gz prefixes of background "
                   "annotations")
    p.add_argument("--ldscores-chr", required=True, help="prefix of {chrom}.l2.ldscore.gz and {chrom}.l2.M_5_50")
    p.add_argument("--print-snps", type=Path, help="regression SNP IDs, one per line (default: panel SNPs with "
                   "MAF >= 5%%)")
    p.add_argument("--build", default="hg19", help="genome build of panel and blocks: hg19 (default), hg38, "
                   "simworld1 (sets the MHC left out)")
    p.add_argument("--alpha", type=float, nargs="+", default=[-1.0], help="MAF scaling per --sannot-chr set "
                   "(one value for all; -1: none)")
    p.add_argument("--background-alpha", type=float, nargs="+", default=[-1.0])
    p.add_argument("--weights", default="Winv_ahat_h",
                   choices=("Winv_ahat_h", "Winv_ahat_I", "Winv_ahat_hlN", "Winv_ahat_h2"))
    p.add_argument("--spectrum-percent", type=float, default=95.0)
    p.add_argument("--jk-blocks", type=int, default=300, help="number of jackknife chunks")
    p.add_argument("--seed", type=nonneg_int, default=0, help="seed of the sign flips")
    p.add_argument("--n-draws", type=int, default=1_000_000, help="most sign flips per test")
    p.add_argument("--no-signflip", action="store_true", help="fast p-values only")
    p.add_argument("--chroms", nargs="+", help="chromosomes to analyse (default: all of the panel in blocks)")
    p.add_argument("--ldscore-chroms", nargs="+", help="chromosomes whose LD scores enter h2g (default 1..22, "
                   "as sldp; those present are used)")
    p.add_argument("--no-M-5-50", dest="no_M_5_50", action="store_true",
                   help="h2g's M from .l2.M instead of .l2.M_5_50 (sldp's -no-M-5-50)")
    p.add_argument("--out", required=True, type=Path, help="output .gwresults TSV")
    p.add_argument("--chunks-out", type=Path, help="also write per-chunk q and r (TSV)")
    p.add_argument("--rv-out", help="also write sldp's {prefix}{chrom}.RV.gz and .info")
    p.add_argument("--resume", action="store_true", help="read back the grid cells a killed run finished "
                   "(OUT.parts; same inputs and options, checked)")
    p.add_argument("--blas-threads", type=int, default=1, help="BLAS threads per process (default 1)")
    p.add_argument("--threads", type=int, default=1,
                   help="threads for the panel stage: chromosomes and their LD blocks at once, one per "
                        "thread (default 1; memory grows with the chromosomes in flight; with --blas-threads 1 "
                        "the numbers are those of a one-thread run exactly)")
    add_dask(p)
    p.set_defaults(runner=_sldp)
    return p


def _sannot(args) -> int:
    from stats.io.annot import sannot_from_sad_h5, write_annot_chroms
    from stats.io.tables import existing

    existing(args.scores, "--scores")
    sannot = sannot_from_sad_h5(args.scores, panel=args.bfile_chr, stat=args.stat, targets=args.targets)
    paths = write_annot_chroms(args.out, sannot, signed=True, float_format="%.6g")
    provenance_beside(Path(str(args.out) + "sannot"), args, inputs={"scores": args.scores},
                      outputs={p.name: p for p in paths})
    logger.info("%d panel SNPs x %d annotations -> %s", len(sannot), sannot.shape[1] - 4,
                ", ".join(str(p) for p in paths))
    return 0


def add_sannot_parser(sub):
    """Register ``genostats sannot``; returns its parser."""
    p = sub.add_parser("sannot", help="signed annotations (.sannot.gz) for SLDP from a model's sad.h5",
                       description="Turn one statistic of a sad.h5 (genomodel sad) into per-chromosome .sannot.gz "
                       "files of the reference panel's SNPs, one column per target: variants meet the panel by "
                       "chromosome, position and alleles, and each value is oriented to the panel's A1 (SAD is "
                       "alt minus ref). Writes OUT{chrom}.sannot.gz and OUTsannot.provenance.json; give OUT to "
                       "genostats sldp --sannot-chr.")
    p.add_argument("--scores", required=True, type=Path, help="sad.h5 from genomodel sad")
    p.add_argument("--stat", default="SAD", help="statistic of the sad.h5 (SAD)")
    p.add_argument("--targets", nargs="+", help="target ids to keep (default: all)")
    p.add_argument("--bfile-chr", required=True, help="reference panel: per-chromosome PLINK prefix or {chrom} "
                   "template (the one genostats sldp will use)")
    p.add_argument("--out", required=True, help="output prefix, e.g. annot/sad. -> annot/sad.1.sannot.gz")
    p.set_defaults(runner=_sannot)
    return p
