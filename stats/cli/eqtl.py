"""``genostats covreg``: the eQTL |SED-LD| covariate regression and quantile enrichment, fed by the SED
file that ``genomodel sed`` (or ``genomodel sad --gtf``) writes."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from stats.cli._common import (Context, add_out_folder, nonneg_int, pos_float, r2_threshold, write_folder)

logger = logging.getLogger(__name__)


def _covreg(args) -> int:
    from genocore.genes import read_tss
    from genocore.scores import sed_for_target
    from stats.eqtl.pipeline import eqtl_enrichment, enrichment_outputs
    from stats.io.gtex import tables_by_tissue
    from stats.io.tables import existing

    eqtl = tables_by_tissue(args.eqtl, what="--eqtl")
    existing(args.ld_blocks, "--ld-blocks")
    with Context(f"--sed {existing(args.sed, '--sed')}"):
        sed = sed_for_target(args.sed, target=args.sed_target)
    with Context(f"--gtf {existing(args.gtf, '--gtf')}"):
        tss = read_tss(args.gtf)
    from genocore.progress import ProgressBar
    from genocore.resume import RunParts, stamp_inputs

    # finished batches of shuffles, kept for --resume; checked against the inputs and options first
    settings = stamp_inputs({"eqtl": list(eqtl.values()), "sed": args.sed, "gtf": args.gtf, "ld_blocks": args.ld_blocks,
                             "panel": args.bfile_chr})
    settings.update({k: getattr(args, k) for k in RESULT_OPTIONS})
    parts = RunParts(Path(str(args.out) + ".parts"), settings, resume=args.resume) if args.shuffles else None
    with Context(f"--sed {args.sed} / --bfile-chr {args.bfile_chr}"), ProgressBar("step") as bar:
        res = eqtl_enrichment(
            eqtl, bfile_chr=args.bfile_chr, ld_blocks=args.ld_blocks, build=args.build, tss=tss, sed=sed,
            sed_column="SED", unit=args.unit, significant=_significance(args), annotation="SED",
            prune_r2=args.prune_r2, prune_window_kb=args.prune_window_kb, ld_wind_cm=args.ld_wind_cm,
            ld_wind_kb=args.ld_wind_kb, ld_wind_snps=args.ld_wind_snps,
            drop_duplicate_positions=args.drop_duplicate_positions,
            n_boot=args.n_boot, rng=np.random.default_rng(args.seed), cluster=args.cluster,
            n_shuffles=args.shuffles, scale=args.scale, progress=bar, parts=parts)
    inputs = {f"eqtl_{t}": p for t, p in eqtl.items()}
    inputs.update({"sed": args.sed, "gtf": args.gtf, "ld_blocks": args.ld_blocks})
    write_folder(enrichment_outputs(res, tissues=list(eqtl)), args, inputs=inputs, genome_build=args.build)
    if parts is not None:
        parts.remove()  # only once the output is complete
    logger.info("covariate regression of %d tissue(s) per %s; wrote %s", len(eqtl), args.unit, args.out)
    return 0


#: The options a covreg run's numbers depend on (a resume must find them unchanged).
RESULT_OPTIONS = ("sed_target", "unit", "significant_column", "significant_p", "significant_q", "prune_r2",
                  "prune_window_kb", "ld_wind_cm", "ld_wind_kb", "ld_wind_snps", "drop_duplicate_positions", "n_boot",
                  "cluster", "shuffles", "scale", "seed", "build")


def _significance(args) -> str:
    """The significance spec of :func:`stats.eqtl.pairs.significance` the options ask for."""
    if args.significant_p is not None:
        return f"pval_nominal<={args.significant_p!r}"
    if args.significant_q is not None:
        return f"bh_q<={args.significant_q!r}"
    return args.significant_column


def add_covreg_parser(sub):
    """Register ``genostats covreg``; returns its parser."""
    p = sub.add_parser("covreg", help="LD-score covariate regression of eQTL chi^2 on |SED-LD| and the quantile "
                       "enrichment (Basenji 2018, Fig. 5)",
                       description="Per tissue: eQTL pairs matched to the reference panel (position and alleles), "
                       "SNPs LD-pruned (priority: largest chi^2), OLS of chi^2 on LD score and |SED-LD| (then with "
                       "the TSS-distance LD scores), and the share of significant eQTLs by quintile of the "
                       "fitted-value difference with a cluster bootstrap interval (enrichment 1 when the |SED-LD| "
                       "coefficient is <= 0). The test of |SED-LD| to read is one-sided (column "
                       "ld_tss_p_cluster_pos: cluster-robust, a positive coefficient); --shuffles N adds the exact "
                       "permutation p (p_shuffle) and shuffles_p05, the share of N shuffled annotations that "
                       "p_cluster_pos calls significant (a check of its calibration on these data). Writes "
                       "DIR/covreg.tsv, quantiles.tsv, <tissue>.png, panel.png and provenance.json.")
    p.add_argument("--eqtl", required=True, nargs="+", type=Path, help="GTEx allpairs tables (gene_id, variant_id "
                   "chr_pos_ref_alt_build, slope, slope_se, significant), one per tissue; tissue = file name up to "
                   "its first dot")
    p.add_argument("--bfile-chr", required=True, help="reference panel: per-chromosome PLINK prefix or {chrom} "
                   "template")
    p.add_argument("--ld-blocks", required=True, type=Path, help="LD blocks (BED: chr start end)")
    p.add_argument("--build", required=True, help="genome build of panel and blocks: hg19, hg38, simworld1")
    p.add_argument("--gtf", required=True, type=Path, help="gene annotation (TSSs for the TSS-distance LD scores)")
    p.add_argument("--sed", required=True, type=Path, help="SED scores: the TSV of genomodel sed (chrom pos ref alt "
                   "snp gene_id n_tss_bins SED_<target>...) or a sad.h5 with a sed group (genomodel sad --gtf); "
                   "variants meet the panel by chromosome, position and alleles")
    p.add_argument("--sed-target", help="target id whose SED to use (SED_<id>); needed when the file has several")
    p.add_argument("--unit", default="pair", choices=("pair", "snp"), help="regress per SNP-gene pair (default) or "
                   "per SNP (max chi^2 and |SED-LD| over genes)")
    sig = p.add_mutually_exclusive_group()
    sig.add_argument("--significant-column", default="significant", help="eQTL column flagging significant eQTLs")
    sig.add_argument("--significant-p", type=pos_float, help="significant: pval_nominal <= this (tables without a "
                     "flag column, such as GTEx allpairs)")
    sig.add_argument("--significant-q", type=pos_float, help="significant: Benjamini-Hochberg q of pval_nominal over "
                     "the tissue's pairs <= this")
    p.add_argument("--prune-r2", type=r2_threshold, default=0.5, help="LD pruning threshold r^2 (0.5)")
    p.add_argument("--prune-window-kb", type=pos_float, default=1000.0, help="LD pruning window (kb; 1000)")
    win = p.add_mutually_exclusive_group()
    win.add_argument("--ld-wind-cm", type=pos_float, help="LD score window in cM (default 1)")
    win.add_argument("--ld-wind-kb", type=pos_float, help="LD score window in kb (for panels without a genetic map)")
    win.add_argument("--ld-wind-snps", type=nonneg_int, help="LD score window in SNPs")
    p.add_argument("--drop-duplicate-positions", action="store_true",
                   help="keep the first panel SNP at each position (the count is logged) instead of refusing")
    p.add_argument("--n-boot", type=nonneg_int, default=1000, help="bootstrap replicates (1000; 0: none)")
    p.add_argument("--cluster", default="gene", choices=("block", "gene", "none"), help="clusters of the "
                   "cluster-robust p of |SED-LD| (t reference, clusters - 1 df) and of the enrichment bootstrap: "
                   "the gene of a pair (default; per SNP: the LD block), the LD block of the SNP, or none")
    p.add_argument("--shuffles", type=nonneg_int, default=0, help="annotations shuffled across pairs per tissue "
                   "for a permutation p of |SED-LD| (columns p_shuffle, one-sided, and shuffles_p05; 0: none; 99 "
                   "resolves p to 0.01)")
    p.add_argument("--scale", default="abs", choices=("abs", "sqrt"), help="the regressor: |SED-LD| (default, "
                   "Basenji 2018) or sqrt(|SED-LD|) (tempers the few extreme pairs; more powerful and better "
                   "calibrated on the simulated world)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="seed of the bootstrap (and the shuffles)")
    p.add_argument("--resume", action="store_true", help="with --shuffles: read back the batches of shuffles a "
                   "killed run finished (OUT.parts; same inputs and options, checked)")
    add_out_folder(p)
    p.set_defaults(runner=_covreg)
    return p
