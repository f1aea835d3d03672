"""``genostats clusters | classify | casecontrol | pics``: each reads its inputs, calls its method and
writes an output folder (tables, figures, provenance.json)."""
from __future__ import annotations

import logging
from pathlib import Path

from stats.cli._common import (Context, add_out_folder, name_path, nonneg_int, pos_int, unit_interval,
                               write_folder)

logger = logging.getLogger(__name__)


def _clusters(args) -> int:
    from stats import expression_clusters as cl

    obs, pred = cl.join_expression(cl.read_expression(args.observed, what="--observed"),
                                   cl.read_expression(args.predicted, what="--predicted"),
                                   what=f"--observed {args.observed} and --predicted {args.predicted}")
    with Context(f"--observed {args.observed} / --predicted {args.predicted}"):
        res = cl.compare_clusters(obs, pred, n_genes=args.n_genes, sample_size=args.sample_size,
                                  n_components=args.components, n_bootstrap=args.bootstrap, replace=args.replace,
                                  normalize=not args.no_normalize, covariance_type=args.covariance,
                                  n_permutations=args.permutations, rng=args.seed)
    write_folder(cl.comparison_outputs(res, obs, pred, normalize=not args.no_normalize), args,
                 inputs={"observed": args.observed, "predicted": args.predicted})
    logger.info("ARI %.4f (SD %.4f, p = %.3g); wrote %s", res.mean, res.sd, res.p_value, args.out)
    return 0


def add_clusters_parser(sub):
    """Register ``genostats clusters``; returns its parser."""
    p = sub.add_parser("clusters", help="GMM cluster comparison of observed and predicted expression (ARI)",
                       description="Bootstrap comparison of Gaussian-mixture clusterings of observed and predicted "
                       "genes x samples expression (adjusted Rand index; Basenji Supp. Fig. 5). Inputs: TSVs with a "
                       "gene_id column and one column per sample, joined on gene_id. Writes DIR/summary.tsv, "
                       "ari.tsv, heatmap.png and provenance.json.")
    p.add_argument("--observed", required=True, type=Path, help="observed expression TSV (gene_id + samples)")
    p.add_argument("--predicted", required=True, type=Path, help="predicted expression TSV (gene_id + samples)")
    p.add_argument("--n-genes", type=pos_int, default=2000, help="most variable observed genes kept (2000)")
    p.add_argument("--sample-size", type=pos_int, default=1000, help="genes per bootstrap sample (1000)")
    p.add_argument("--components", type=pos_int, default=10, help="mixture components (10)")
    p.add_argument("--bootstrap", type=pos_int, default=100, help="bootstrap samples (100)")
    p.add_argument("--permutations", type=nonneg_int, default=0, help="gene-shuffling permutations for a null (0)")
    p.add_argument("--covariance", default="full", choices=("full", "diag", "tied", "spherical"))
    p.add_argument("--replace", action="store_true", help="draw bootstrap genes with replacement")
    p.add_argument("--no-normalize", action="store_true", help="skip quantile normalization")
    p.add_argument("--seed", type=nonneg_int, default=0)
    add_out_folder(p)
    p.set_defaults(runner=_clusters)
    return p


def _classify(args) -> int:
    from stats import classifiers as cf

    if args.compare == "permutation" and args.permutations < 1:
        raise ValueError("--compare permutation needs --permutations N (N >= 1)")
    if args.labels is not None:
        lab, inputs = cf.read_labels(args.labels, what="--labels"), {"labels": args.labels}
    else:
        lab = cf.matched_labels(args.positives, args.candidates, negatives_per_positive=args.negatives_per_positive,
                                rng=args.seed, what="--positives / --candidates")
        inputs = {"positives": args.positives, "candidates": args.candidates}
    sets = cf.feature_sets(args.features, args.external or [], stat=args.stat)
    inputs.update({f"features_{n}": p for n, p in args.features})
    inputs.update({f"external_{n}": p for n, p in args.external or []})
    with Context(f"--features ({', '.join(sets)}) on the labelled SNPs"):
        results, table, pairs = cf.compare_feature_sets(
            sets, lab.label, lab.chrom, method=args.compare, n_bootstrap=args.bootstrap,
            n_permutations=args.permutations, rng=args.seed, n_components=args.components, C=args.C,
            n_splits=args.n_splits)
    write_folder(cf.classification_outputs(results, table, pairs, lab.chrom), args, inputs=inputs)
    for k, r in results.items():
        logger.info("%s: AUROC %.3f (descriptive DeLong p %.3g%s)", k, r.auc, r.p_value,
                    "" if r.p_permutation is None else f", permutation p {r.p_permutation:.3g}")
    return 0


def add_classify_parser(sub):
    """Register ``genostats classify``; returns its parser."""
    p = sub.add_parser("classify", help="GWAS-catalog SNP classifiers from variant scores (AUROC, paired tests)",
                       description="Standardize -> PCA -> L2 logistic regression per feature set, AUROC by "
                       "cross-validation grouped by chromosome, paired comparison of feature sets and ROC plot. "
                       "DeLong/bootstrap numbers on cross-validated scores are descriptive; --permutations N "
                       "adds calibrated label-permutation p-values. Writes DIR/auroc.tsv, pairs.tsv, folds.tsv, "
                       "scores.tsv, roc.png and provenance.json.")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--labels", type=Path, help="TSV with snp, chrom, label (0/1)")
    g.add_argument("--positives", type=Path, help="positive SNPs TSV (snp, chrom, maf); needs --candidates")
    p.add_argument("--candidates", type=Path, help="candidate negatives TSV (snp, chrom, maf)")
    p.add_argument("--negatives-per-positive", type=pos_int, default=3)
    p.add_argument("--features", required=True, action="append", type=name_path, metavar="NAME=PATH",
                   help="feature set: sad.h5 (statistic --stat) or TSV (snp + numeric columns); repeatable")
    p.add_argument("--external", action="append", type=name_path, metavar="NAME=TSV",
                   help="external per-SNP features (e.g. DeepSEA): evaluated alone and joined onto each set")
    p.add_argument("--stat", default="LOG2MAX", help="sad.h5 statistic (LOG2MAX)")
    p.add_argument("--components", type=pos_int, default=200, help="PCA components (200, capped)")
    p.add_argument("--C", type=float, default=1.0, help="inverse L2 penalty")
    p.add_argument("--n-splits", type=pos_int, help="GroupKFold folds (default: leave one chromosome out)")
    p.add_argument("--compare", default="delong", choices=("delong", "bootstrap", "permutation"))
    p.add_argument("--bootstrap", type=pos_int, default=2000)
    p.add_argument("--permutations", type=nonneg_int, default=0, help="label permutations within chromosome (0)")
    p.add_argument("--seed", type=nonneg_int, default=0)
    add_out_folder(p)
    p.set_defaults(runner=_classify)
    return p


def _casecontrol(args) -> int:
    from stats import casecontrol as cc
    from stats.io.tables import existing

    existing(args.variants, "--variants")
    existing(args.scores, "--scores")
    with Context(f"--variants {args.variants}"):
        variants = cc.read_variants(args.variants)
    try:
        with Context(f"--scores {args.scores}"):
            scores = cc.read_scores(args.scores, stat=args.stat)
    except (OSError, TypeError) as err:
        raise ValueError(f"--scores {args.scores}: cannot read a score matrix ({err})") from err
    with Context(f"--variants {args.variants} / --scores {args.scores}"):
        res = cc.analyze(variants, scores, group=args.group, risk_dataset=args.risk_dataset,
                         n_components=args.pca_components,
                         pca_transform=None if args.pca_transform == "none" else args.pca_transform,
                         constant=args.constant)
    write_folder(cc.casecontrol_outputs(res, group=args.group), args,
                 inputs={"variants": args.variants, "scores": args.scores})
    logger.info("wrote %s (risk dataset %s, family test p = %.3g)", args.out, res["risk_dataset"], res["family"]["p"])
    return 0


def add_casecontrol_parser(sub):
    """Register ``genostats casecontrol``; returns its parser."""
    p = sub.add_parser("casecontrol", help="de novo variant case-control tests on variant scores",
                       description="Per-dataset Mann-Whitney U tests with BH FDR, PCA first-PC test, group "
                       "comparison of p-values, per-individual risk scores and the family-paired binomial test. "
                       "Writes DIR/datasets.tsv, pca.tsv, risk.tsv, family_pairs.tsv, summary.json, volcano.png "
                       "and provenance.json.")
    p.add_argument("--variants", required=True, type=Path, help="variant TSV: variant_id (or id), family, role "
                   "(case/control)[, individual]")
    p.add_argument("--scores", required=True, type=Path, help="score matrix: sad.h5 or TSV (variant id + datasets)")
    p.add_argument("--stat", default="SAD", help="sad.h5 statistic (SAD)")
    p.add_argument("--group", help="datasets whose label contains this string form the group (e.g. brain)")
    p.add_argument("--risk-dataset", help="dataset for risk scores (default: smallest one-sided p, post hoc)")
    p.add_argument("--pca-components", type=pos_int, default=10)
    p.add_argument("--pca-transform", default="none", choices=("none", "asinh"))
    p.add_argument("--constant", default="error", choices=("error", "drop"), help="constant datasets: error or drop")
    add_out_folder(p)
    p.set_defaults(runner=_casecontrol)
    return p


def _pics(args) -> int:
    from stats.finemap import pics as fm
    from stats.io.tables import read_tsv

    ss = fm.read_pics_sumstats(args.sumstats, what="--sumstats")
    leads = (fm.read_leads(args.leads, what="--leads") if args.leads is not None
             else list(args.lead) if args.lead else None)
    if leads is None:
        logger.info("no --lead given: the SNP with the smallest P, %s (P = %g), leads the one locus",
                    ss.SNP.iloc[int(ss.P.to_numpy().argmin())], float(ss.P.min()))
    if args.ld is not None:
        src, what = {"ld": read_tsv(args.ld, "--ld", required=("SNP_A", "SNP_B"),
                                    dtype={"SNP_A": str, "SNP_B": str})}, f"--ld {args.ld}"
    elif args.genotypes is not None:
        from stats.io.haplotypes import read_genotype_matrix

        with Context(f"--genotypes {args.genotypes}"):
            src, what = {"genotypes": read_genotype_matrix(args.genotypes)}, f"--genotypes {args.genotypes}"
    else:
        src, what = {"panel": args.bfile}, f"--bfile {args.bfile}"
    with Context(f"--sumstats {args.sumstats} / {what}"):
        res = fm.pics(ss, leads, **src, coverage=args.coverage, r2_min=args.r2_min,
                      window_bp=int(args.window_kb * 1000))
    inputs = {"sumstats": args.sumstats, "leads": args.leads, "ld": args.ld, "genotypes": args.genotypes}
    if args.bfile is not None:
        from stats.io.panel import ReferencePanel

        prefixes = sorted({str(p) for p in ReferencePanel(args.bfile).filesets().values()})
        inputs.update({f"bed_{i}": Path(p + ".bed") for i, p in enumerate(prefixes)})
    write_folder(fm.pics_outputs(res, coverage=args.coverage), args, inputs=inputs)
    logger.info("PICS at %d loci; wrote %s", res.locus.nunique(), args.out)
    return 0


def add_pics_parser(sub):
    """Register ``genostats pics``; returns its parser."""
    p = sub.add_parser("pics", help="PICS fine-mapping of lead SNPs with a reference panel or an LD table",
                       description="Probabilistic Identification of Causal SNPs (Farh et al. 2015) at one or "
                       "more lead SNPs; credible sets at the chosen coverage. Writes DIR/pics.tsv, "
                       "credible_sets.tsv and provenance.json.")
    p.add_argument("--sumstats", required=True, type=Path, help="table with SNP, P[, CHR] (tab-, comma- or "
                   "whitespace-separated)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--lead", nargs="+", help="lead SNP ids (default: the SNP with the smallest P, one locus)")
    g.add_argument("--leads", type=Path, help="file of lead SNP ids (whitespace-separated)")
    s = p.add_mutually_exclusive_group(required=True)
    s.add_argument("--bfile", help="reference PLINK prefix ({chrom} template allowed, with a CHR column)")
    s.add_argument("--ld", type=Path, help="LD table TSV: SNP_A, SNP_B, R or R2")
    s.add_argument("--genotypes", type=Path, help="the locus's panel as a VCF (GT) or a table of phased haplotypes "
                   "(CHROM POS ID REF ALT QUAL FILTER, one allele per haplotype: JLIM's 1000 Genomes files)")
    p.add_argument("--coverage", type=unit_interval, default=0.95)
    p.add_argument("--r2-min", type=float, default=0.5)
    p.add_argument("--window-kb", type=float, default=1000.0, help="panel window around each lead (kb)")
    add_out_folder(p)
    p.set_defaults(runner=_pics)
    return p
