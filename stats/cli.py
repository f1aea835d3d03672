"""``genostats``: the statistics half of the suite from the command line.

Parsers are built by functions (testable; ``--help`` needs no data or environment). Commands that
join the model and the statistics (``simulate-world``) are registered by ``analyses.commands``, so
this package never imports ``genomodel``.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from genocore import __version__, clilog, provenance

logger = logging.getLogger(__name__)


def _ld_decay(args) -> int:
    import numpy as np

    from genocore.files import write_table
    from stats.io.plink import read_bfile
    from stats.ld.matrix import r2_decay

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


def _dask_client(args):
    """A dask.distributed Client for --scheduler / --workers, else None (run in-process)."""
    from genocore.dask_client import dask_client

    return dask_client(scheduler=args.scheduler, workers=args.workers)


def _sldp(args) -> int:
    from genocore.files import write_table, write_text
    from stats.sldp import run

    if args.out.is_dir():
        raise ValueError(f"--out {args.out}: is a folder; give the .gwresults file to write")
    for flag, paths in (("--sumstats", args.sumstats), ("--ld-blocks", [args.ld_blocks]),
                        ("--print-snps", [args.print_snps] if args.print_snps else [])):
        for f in paths:
            if not Path(f).is_file():
                raise FileNotFoundError(f"{flag} {f}: no such file")
    client = _dask_client(args)
    try:
        res = run(bfile_chr=args.bfile_chr, ld_blocks=args.ld_blocks, sumstats=args.sumstats,
                           sannot_chr=args.sannot_chr, background_sannot_chr=args.background_sannot_chr or (),
                           ldscores_chr=args.ldscores_chr, print_snps=args.print_snps, build=args.build,
                           alpha=args.alpha, background_alpha=args.background_alpha, weights=args.weights,
                           spectrum_percent=args.spectrum_percent, jk_blocks=args.jk_blocks, seed=args.seed,
                           signflip=not args.no_signflip, n_draws=args.n_draws, chroms=args.chroms,
                           rv_out=args.rv_out, client=client, blas_threads=args.blas_threads)
    finally:
        if client is not None:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    write_text(args.out, res.table.to_csv(sep="\t", index=False, na_rep="nan", lineterminator="\n"))
    outputs = {"gwresults": args.out}
    if args.chunks_out is not None:
        import pandas as pd

        rows = [df.assign(pheno=p, annot=a, chunk=range(len(df))) for (p, a), df in res.chunks.items()]
        cols = ["pheno", "annot", "chunk", "first_block", "last_block", "numsnps", "q", "r"]
        write_table(args.chunks_out, pd.concat(rows, ignore_index=True)[cols])
        outputs["chunks"] = args.chunks_out
    inputs = {"ld_blocks": args.ld_blocks}
    inputs.update({f"sumstats_{i}": f for i, f in enumerate(args.sumstats)})
    if args.print_snps:
        inputs["print_snps"] = args.print_snps
    config = {k: ([str(x) for x in v] if isinstance(v, list) else str(v) if isinstance(v, Path) else v)
              for k, v in vars(args).items() if k not in ("runner", "argv")}
    config["h2g"] = {k: {"h2g": p.h2g, "sigma2g": p.sigma2g} for k, p in res.phenotypes.items()}
    provenance.write(Path(str(args.out) + ".provenance.json"), provenance.record(
        command=args.argv, config=config, genome_build=args.build, inputs=inputs, outputs=outputs))
    logger.info("wrote %s (%d rows)", args.out, len(res.table))
    return 0


def _nonneg_int(text: str) -> int:
    v = int(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
    return v


def add_sldp_parser(sub) -> argparse.ArgumentParser:
    """Register ``genostats sldp`` on a subparsers object; returns its parser."""
    p = sub.add_parser("sldp", help="signed LD profile regression (sldp 1.1.5 compatible)",
                       description="Signed LD profile regression end to end: reference panel -> per-block SVD "
                       "and signed LD profiles, phenotypes -> h2g and weights, regression over every annotation x "
                       "phenotype with background annotations and sign-flip p-values. Writes sldp's .gwresults "
                       "columns. Regression SNPs default to the panel SNPs with MAF >= 5%.")
    p.add_argument("--bfile-chr", required=True, help="reference panel: per-chromosome PLINK prefix "
                   "(panel. -> panel.22.bed) or {chrom} template")
    p.add_argument("--ld-blocks", required=True, type=Path, help="LD blocks (BED: chr start end)")
    p.add_argument("--sumstats", required=True, nargs="+", type=Path, help="LDSC .sumstats.gz, one per phenotype "
                   "(phenotype name = file name without .sumstats.gz)")
    p.add_argument("--sannot-chr", required=True, nargs="+", help="per-chromosome .sannot.gz prefixes of the "
                   "annotations to test")
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
    p.add_argument("--seed", type=_nonneg_int, default=0, help="seed of the sign flips")
    p.add_argument("--n-draws", type=int, default=1_000_000, help="most sign flips per test")
    p.add_argument("--no-signflip", action="store_true", help="fast p-values only")
    p.add_argument("--chroms", nargs="+", help="chromosomes to analyse (default: all of the panel in blocks)")
    p.add_argument("--out", required=True, type=Path, help="output .gwresults TSV")
    p.add_argument("--chunks-out", type=Path, help="also write per-chunk q and r (TSV)")
    p.add_argument("--rv-out", help="also write sldp's {prefix}{chrom}.RV.gz and .info")
    p.add_argument("--blas-threads", type=int, default=1, help="BLAS threads per process (default 1)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=_nonneg_int, default=0, help="run on a local Dask cluster of N processes")
    g.add_argument("--scheduler", help="run on the Dask cluster at this scheduler address")
    p.set_defaults(runner=_sldp)
    return p


# ------------------------------------------------------------------------------------------- shared helpers
def _existing(path, flag: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{flag} {path}: no such file")
    return path


def _read_tsv(path, flag: str, *, required=(), **kwargs):
    """Read a tab-separated table, naming the file (and its missing columns) on failure."""
    import pandas as pd

    path = _existing(path, flag)
    try:
        df = pd.read_csv(path, sep="\t", **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ValueError(f"{flag} {path}: not a readable TSV ({err})") from err
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"{flag} {path}: lacks column(s) {missing}; columns are {list(df.columns)}")
    logger.info("read %s: %d rows, columns %s", path, len(df), list(df.columns))
    return df


def _numeric(df, columns, path, flag: str):
    """Columns as float64; the first non-numeric cell is reported by file, line and column."""
    import numpy as np
    import pandas as pd

    out = df.copy()
    for c in columns:
        v = pd.to_numeric(df[c], errors="coerce")
        bad = v.isna() & df[c].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(f"{flag} {path}, line {i + 2}: column {c!r} holds {df[c].iloc[i]!r}, not a number")
        out[c] = v.astype(np.float64)
    return out


class _Context:
    """Re-raise a library ValueError/KeyError with the inputs it concerns named first."""

    def __init__(self, what: str):
        self.what = what

    def __enter__(self):
        return self

    def __exit__(self, kind, err, tb):
        if kind is not None and issubclass(kind, (ValueError, KeyError)) and err.args:
            base = KeyError if issubclass(kind, KeyError) else ValueError
            raise base(f"{self.what}: {err.args[0]}") from err
        return False


def _config(args) -> dict:
    return {k: ([str(x) for x in v] if isinstance(v, list) else str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items() if k not in ("runner", "argv")}


def _prefixed(prefix: Path, suffix: str) -> Path:
    return Path(str(prefix) + suffix)


def _name_path(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, Path(path)


def _unit_interval(text: str) -> float:
    v = float(text)
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {v}")
    return v


def _pos_int(text: str) -> int:
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


# ------------------------------------------------------------------------------------------- clusters
def _read_expression(path, flag: str):
    import numpy as np

    df = _read_tsv(path, flag, required=("gene_id",), dtype={"gene_id": str})
    if df.gene_id.duplicated().any():
        raise ValueError(f"{flag} {path}: duplicate gene_id {df.gene_id[df.gene_id.duplicated()].iloc[0]!r}")
    samples = [c for c in df.columns if c != "gene_id"]
    if len(samples) < 2:
        raise ValueError(f"{flag} {path}: needs gene_id and at least 2 sample columns, has {list(df.columns)}")
    df = _numeric(df, samples, path, flag)
    bad = ~np.isfinite(df[samples].to_numpy())
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"{flag} {path}, line {i + 2}: gene {df.gene_id.iloc[i]!r}, sample {samples[j]!r} is missing "
                         "or not finite")
    return df.set_index("gene_id")[samples]


def _clusters(args) -> int:
    from genocore.files import write_table
    from stats import expression_clusters as cl

    obs = _read_expression(args.observed, "--observed")
    pred = _read_expression(args.predicted, "--predicted")
    if set(obs.columns) != set(pred.columns):
        only_o, only_p = sorted(set(obs.columns) - set(pred.columns)), sorted(set(pred.columns) - set(obs.columns))
        raise ValueError(f"--observed {args.observed} and --predicted {args.predicted} have different samples "
                         f"(only observed: {only_o[:5]}, only predicted: {only_p[:5]})")
    pred = pred[list(obs.columns)]
    genes = obs.index.intersection(pred.index)
    if len(genes) < len(obs) or len(genes) < len(pred):
        logger.info("joined on gene_id: %d shared genes (observed %d, predicted %d)", len(genes), len(obs), len(pred))
    obs, pred = obs.loc[genes], pred.loc[genes]
    with _Context(f"--observed {args.observed} / --predicted {args.predicted}"):
        res = cl.compare_clusters(obs, pred, n_genes=args.n_genes, sample_size=args.sample_size,
                                  n_components=args.components, n_bootstrap=args.bootstrap, replace=args.replace,
                                  normalize=not args.no_normalize, covariance_type=args.covariance,
                                  n_permutations=args.permutations, rng=args.seed)
    import numpy as np
    import pandas as pd

    o, p = obs.to_numpy(np.float64), pred.to_numpy(np.float64)
    if not args.no_normalize:
        o, p = cl.quantile_normalize(o), cl.quantile_normalize(p)
    out = {"summary": _prefixed(args.out, ".summary.tsv"), "ari": _prefixed(args.out, ".ari.tsv"),
           "heatmap": _prefixed(args.out, ".heatmap.png")}
    write_table(out["summary"], res.summary().assign(n_genes_input=len(genes), n_samples=obs.shape[1]),
                float_format="%.6g")
    ari = pd.DataFrame({"kind": "bootstrap", "replicate": np.arange(len(res.ari)), "ari": res.ari})
    if res.null_ari is not None:
        ari = pd.concat([ari, pd.DataFrame({"kind": "permutation", "replicate": np.arange(len(res.null_ari)),
                                            "ari": res.null_ari})], ignore_index=True)
    write_table(out["ari"], ari, float_format="%.6g")
    cl.cluster_heatmaps(o[res.genes], p[res.genes], path=out["heatmap"], sample_names=list(obs.columns))
    provenance.write(_prefixed(args.out, ".provenance.json"), provenance.record(
        command=args.argv, config=_config(args), inputs={"observed": args.observed, "predicted": args.predicted},
        outputs=out))
    logger.info("ARI %.4f (SD %.4f, p = %.3g); wrote %s.*", res.mean, res.sd, res.p_value, args.out)
    return 0


def add_clusters_parser(sub) -> argparse.ArgumentParser:
    """Register ``genostats clusters``; returns its parser."""
    p = sub.add_parser("clusters", help="GMM cluster comparison of observed and predicted expression (ARI)",
                       description="Bootstrap comparison of Gaussian-mixture clusterings of observed and predicted "
                       "genes x samples expression (adjusted Rand index; Basenji Supp. Fig. 5). Inputs: TSVs with a "
                       "gene_id column and one column per sample, joined on gene_id. Writes PREFIX.summary.tsv, "
                       "PREFIX.ari.tsv, PREFIX.heatmap.png and PREFIX.provenance.json.")
    p.add_argument("--observed", required=True, type=Path, help="observed expression TSV (gene_id + samples)")
    p.add_argument("--predicted", required=True, type=Path, help="predicted expression TSV (gene_id + samples)")
    p.add_argument("--n-genes", type=_pos_int, default=2000, help="most variable observed genes kept (2000)")
    p.add_argument("--sample-size", type=_pos_int, default=1000, help="genes per bootstrap sample (1000)")
    p.add_argument("--components", type=_pos_int, default=10, help="mixture components (10)")
    p.add_argument("--bootstrap", type=_pos_int, default=100, help="bootstrap samples (100)")
    p.add_argument("--permutations", type=_nonneg_int, default=0, help="gene-shuffling permutations for a null (0)")
    p.add_argument("--covariance", default="full", choices=("full", "diag", "tied", "spherical"))
    p.add_argument("--replace", action="store_true", help="draw bootstrap genes with replacement")
    p.add_argument("--no-normalize", action="store_true", help="skip quantile normalization")
    p.add_argument("--seed", type=_nonneg_int, default=0)
    p.add_argument("--out", required=True, type=Path, help="output prefix")
    p.set_defaults(runner=_clusters)
    return p


# ------------------------------------------------------------------------------------------- classify
def _labels_table(args):
    import pandas as pd

    from stats import classifiers as cf

    if args.labels is not None:
        lab = _read_tsv(args.labels, "--labels", required=("snp", "chrom", "label"), dtype={"snp": str, "chrom": str})
        raw = lab.label.astype(str).to_numpy()
        lab = _numeric(lab, ["label"], args.labels, "--labels")
        bad = ~lab.label.isin([0, 1])
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise ValueError(f"--labels {args.labels}, line {i + 2}: label {raw[i]} is not 0 or 1")
        lab["label"] = lab.label.astype(int)
        src = {"labels": args.labels}
    else:
        pos = _read_tsv(args.positives, "--positives", required=("snp", "chrom", "maf"),
                        dtype={"snp": str, "chrom": str})
        cand = _read_tsv(args.candidates, "--candidates", required=("snp", "chrom", "maf"),
                         dtype={"snp": str, "chrom": str})
        pos = _numeric(pos, ["maf"], args.positives, "--positives")
        cand = _numeric(cand, ["maf"], args.candidates, "--candidates")
        with _Context(f"--positives {args.positives} / --candidates {args.candidates}"):
            neg = cf.maf_matched_negatives(cand, pos, per_positive=args.negatives_per_positive, rng=args.seed)
        lab = pd.concat([pos[["snp", "chrom"]].assign(label=1), neg[["snp", "chrom"]].assign(label=0)],
                        ignore_index=True)
        logger.info("%d positives, %d MAF-matched negatives", len(pos), len(neg))
        src = {"positives": args.positives, "candidates": args.candidates}
    if lab.snp.duplicated().any():
        raise ValueError(f"labelled SNPs: duplicate snp {lab.snp[lab.snp.duplicated()].iloc[0]!r}")
    return lab.set_index("snp"), src


def _read_features(name, path, flag, stat):
    from stats import classifiers as cf

    path = _existing(path, f"{flag} {name}=")
    if path.suffix.lower() in (".h5", ".hdf5"):
        with _Context(f"{flag} {name}={path}"):
            return cf.features_from_sad_h5(path, stat=stat)
    df = _read_tsv(path, f"{flag} {name}=", required=("snp",), dtype={"snp": str})
    with _Context(f"{flag} {name}={path}"):
        return cf.features_from_frame(df)


def _classify(args) -> int:
    import numpy as np
    import pandas as pd

    from genocore.files import write_table
    from stats import classifiers as cf

    if args.compare == "permutation" and args.permutations < 1:
        raise ValueError("--compare permutation needs --permutations N (N >= 1)")
    lab, inputs = _labels_table(args)
    sets = {}
    for name, path in args.features:
        if name in sets:
            raise ValueError(f"--features: name {name!r} given twice")
        sets[name] = _read_features(name, path, "--features", args.stat)
        inputs[f"features_{name}"] = path
    for name, path in args.external or []:
        if name in sets:
            raise ValueError(f"--external: name {name!r} is already a feature set")
        ext = _read_features(name, path, "--external", args.stat)
        inputs[f"external_{name}"] = path
        for base in [k for k in sets if "+" not in k]:
            with _Context(f"--external {name}={path}"):
                sets[f"{base}+{name}"] = cf.join_features(sets[base], ext)
        sets[name] = ext
    kw = dict(n_components=args.components, C=args.C, n_splits=args.n_splits)
    with _Context(f"--features ({', '.join(sets)}) on the labelled SNPs"):
        results, table, pairs = cf.compare_feature_sets(sets, lab.label, lab.chrom, method=args.compare,
                                                        n_bootstrap=args.bootstrap, n_permutations=args.permutations,
                                                        rng=args.seed, **kw)
    out = {k: _prefixed(args.out, f".{k}.tsv") for k in ("auroc", "pairs", "folds", "scores")}
    out["roc"] = _prefixed(args.out, ".roc.png")
    write_table(out["auroc"], table, float_format="%.6g")
    if pairs.empty:
        pairs = pd.DataFrame(columns=["a", "b", "auc_a", "auc_b", "diff", "se", "ci_low", "ci_high", "p_value",
                                      "method", "kind"])
    write_table(out["pairs"], pairs, float_format="%.6g")
    write_table(out["folds"], pd.concat([r.fold_auc.assign(name=k) for k, r in results.items()], ignore_index=True)
                [["name", "fold", "groups", "n_pos", "n_neg", "auc"]], float_format="%.6g")
    first = next(iter(results.values()))
    snps = first.scores.index
    scores = pd.DataFrame({"snp": snps, "chrom": lab.chrom.loc[snps].to_numpy(),
                           "label": first.labels.loc[snps].to_numpy()})
    for k, r in results.items():
        scores[k] = r.scores.loc[snps].to_numpy(np.float64)
    write_table(out["scores"], scores, float_format="%.6g")
    cf.roc_figure(scores.label.to_numpy(), {k: scores[k].to_numpy() for k in results}, path=out["roc"],
                  title=f"{len(snps)} SNPs, CV grouped by chromosome")
    provenance.write(_prefixed(args.out, ".provenance.json"), provenance.record(
        command=args.argv, config=_config(args), inputs=inputs, outputs=out))
    for k, r in results.items():
        logger.info("%s: AUROC %.3f (descriptive DeLong p %.3g%s)", k, r.auc, r.p_value,
                    "" if r.p_permutation is None else f", permutation p {r.p_permutation:.3g}")
    return 0


def add_classify_parser(sub) -> argparse.ArgumentParser:
    """Register ``genostats classify``; returns its parser."""
    p = sub.add_parser("classify", help="GWAS-catalog SNP classifiers from variant scores (AUROC, paired tests)",
                       description="Standardize -> PCA -> L2 logistic regression per feature set, AUROC by "
                       "cross-validation grouped by chromosome, paired comparison of feature sets and ROC plot. "
                       "DeLong/bootstrap numbers on cross-validated scores are descriptive; --permutations N "
                       "adds calibrated label-permutation p-values. Writes PREFIX.auroc.tsv, .pairs.tsv, "
                       ".folds.tsv, .scores.tsv, .roc.png and .provenance.json.")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--labels", type=Path, help="TSV with snp, chrom, label (0/1)")
    g.add_argument("--positives", type=Path, help="positive SNPs TSV (snp, chrom, maf); needs --candidates")
    p.add_argument("--candidates", type=Path, help="candidate negatives TSV (snp, chrom, maf)")
    p.add_argument("--negatives-per-positive", type=_pos_int, default=3)
    p.add_argument("--features", required=True, action="append", type=_name_path, metavar="NAME=PATH",
                   help="feature set: sad.h5 (statistic --stat) or TSV (snp + numeric columns); repeatable")
    p.add_argument("--external", action="append", type=_name_path, metavar="NAME=TSV",
                   help="external per-SNP features (e.g. DeepSEA): evaluated alone and joined onto each set")
    p.add_argument("--stat", default="LOG2MAX", help="sad.h5 statistic (LOG2MAX)")
    p.add_argument("--components", type=_pos_int, default=200, help="PCA components (200, capped)")
    p.add_argument("--C", type=float, default=1.0, help="inverse L2 penalty")
    p.add_argument("--n-splits", type=_pos_int, help="GroupKFold folds (default: leave one chromosome out)")
    p.add_argument("--compare", default="delong", choices=("delong", "bootstrap", "permutation"))
    p.add_argument("--bootstrap", type=_pos_int, default=2000)
    p.add_argument("--permutations", type=_nonneg_int, default=0, help="label permutations within chromosome (0)")
    p.add_argument("--seed", type=_nonneg_int, default=0)
    p.add_argument("--out", required=True, type=Path, help="output prefix")
    p.set_defaults(runner=_classify)
    return p


# ------------------------------------------------------------------------------------------- casecontrol
def _json_default(x):
    import numpy as np

    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def _casecontrol(args) -> int:
    import json

    from genocore.files import atomic_dir, write_table, write_text
    from stats import casecontrol as cc

    _existing(args.variants, "--variants")
    _existing(args.scores, "--scores")
    with _Context(f"--variants {args.variants}"):
        variants = cc.read_variants(args.variants)
    try:
        with _Context(f"--scores {args.scores}"):
            scores = cc.read_scores(args.scores, stat=args.stat)
    except (OSError, TypeError) as err:
        raise ValueError(f"--scores {args.scores}: cannot read a score matrix ({err})") from err
    with _Context(f"--variants {args.variants} / --scores {args.scores}"):
        res = cc.analyze(variants, scores, group=args.group, risk_dataset=args.risk_dataset,
                         n_components=args.pca_components,
                         pca_transform=None if args.pca_transform == "none" else args.pca_transform,
                         constant=args.constant)
    with atomic_dir(args.out, overwrite=args.force) as tmp:
        out = {"datasets": tmp / "datasets.tsv", "pca": tmp / "pca.tsv", "risk": tmp / "risk.tsv",
               "family_pairs": tmp / "family_pairs.tsv", "summary": tmp / "summary.json",
               "volcano": tmp / "volcano.png"}
        for k in ("datasets", "pca", "risk", "family_pairs"):
            write_table(out[k], res[k], float_format="%.6g")
        summary = {"risk_dataset": res["risk_dataset"], "group": res["group"], "family": res["family"],
                   "n_individuals": int(len(res["risk"])), "n_datasets": int(len(res["datasets"]))}
        write_text(out["summary"], json.dumps(summary, indent=2, sort_keys=True, default=_json_default) + "\n")
        cc.volcano_plot(res["datasets"], out["volcano"], group=args.group)
        provenance.write(tmp / "provenance.json", provenance.record(
            command=args.argv, config=_config(args), inputs={"variants": args.variants, "scores": args.scores},
            outputs=out, root=tmp))
    logger.info("wrote %s (risk dataset %s, family test p = %.3g)", args.out, res["risk_dataset"], res["family"]["p"])
    return 0


def add_casecontrol_parser(sub) -> argparse.ArgumentParser:
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
    p.add_argument("--pca-components", type=_pos_int, default=10)
    p.add_argument("--pca-transform", default="none", choices=("none", "asinh"))
    p.add_argument("--constant", default="error", choices=("error", "drop"), help="constant datasets: error or drop")
    p.add_argument("--force", action="store_true", help="replace an existing --out folder")
    p.add_argument("--out", required=True, type=Path, help="output folder (must not exist unless --force)")
    p.set_defaults(runner=_casecontrol)
    return p


# ------------------------------------------------------------------------------------------- pics
def _pics(args) -> int:
    import pandas as pd

    from genocore.files import atomic_dir, write_table
    from stats.finemap import pics as finemap

    ss = _read_tsv(args.sumstats, "--sumstats", required=("SNP", "P"), dtype={"SNP": str, "CHR": str})
    ss = _numeric(ss, ["P"], args.sumstats, "--sumstats")
    bad = ~((ss.P > 0) & (ss.P <= 1))
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise ValueError(f"--sumstats {args.sumstats}, line {i + 2}: SNP {ss.SNP.iloc[i]!r} has "
                         f"P = {float(ss.P.iloc[i]):g}; p-values must be in (0, 1]")
    inputs = {"sumstats": args.sumstats}
    if args.leads is not None:
        leads = [t for t in _existing(args.leads, "--leads").read_text().split() if t]
        if not leads:
            raise ValueError(f"--leads {args.leads}: no SNP ids")
        inputs["leads"] = args.leads
    else:
        leads = list(args.lead)
    kw = dict(coverage=args.coverage, r2_min=args.r2_min, window_bp=int(args.window_kb * 1000))
    if args.ld is not None:
        ld = _read_tsv(args.ld, "--ld", required=("SNP_A", "SNP_B"), dtype={"SNP_A": str, "SNP_B": str})
        inputs["ld"] = args.ld
        src = dict(ld=ld)
        what = f"--ld {args.ld}"
    else:
        template = str(args.bfile)
        if "{chrom}" in template:
            if "CHR" not in ss.columns:
                raise ValueError(f"--sumstats {args.sumstats}: a per-chromosome --bfile {template} needs a CHR column")
            chrom_of = ss.drop_duplicates("SNP").set_index("SNP").CHR
            panel = {str(chrom_of.loc[lead]): template.format(chrom=chrom_of.loc[lead])
                     for lead in leads if lead in chrom_of.index}
            for c, prefix in panel.items():
                inputs[f"bed_{c}"] = _existing(prefix + ".bed", "--bfile")
            src = dict(panel=panel)
        else:
            inputs["bed"] = _existing(template + ".bed", "--bfile")
            src = dict(panel=template)
        what = f"--bfile {template}"
    with _Context(f"--sumstats {args.sumstats} / {what}"):
        res = finemap.pics(ss, leads, **src, **kw)
    rows = []
    for locus, df in res.groupby("locus", sort=False):
        cs = df[df.in_credible_set]
        lead = df.lead_snp.iloc[0]
        rows.append({"locus": locus, "lead_snp": lead, "lead_P": float(df.loc[df.SNP == lead, "P"].iloc[0]),
                     "coverage": args.coverage, "n_snps": len(df), "n_credible": len(cs),
                     "credible_prob": float(cs.prob.sum()), "top_snp": df.SNP.iloc[0],
                     "top_prob": float(df.prob.iloc[0]), "credible_set": ",".join(cs.SNP)})
    with atomic_dir(args.out, overwrite=args.force) as tmp:
        out = {"pics": tmp / "pics.tsv", "credible_sets": tmp / "credible_sets.tsv"}
        write_table(out["pics"], res, float_format="%.6g")
        write_table(out["credible_sets"], pd.DataFrame(rows), float_format="%.6g")
        provenance.write(tmp / "provenance.json", provenance.record(
            command=args.argv, config=_config(args), inputs=inputs, outputs=out, root=tmp))
    logger.info("PICS at %d loci; wrote %s", len(rows), args.out)
    return 0


def add_pics_parser(sub) -> argparse.ArgumentParser:
    """Register ``genostats pics``; returns its parser."""
    p = sub.add_parser("pics", help="PICS fine-mapping of lead SNPs with a reference panel or an LD table",
                       description="Probabilistic Identification of Causal SNPs (Farh et al. 2015) at one or "
                       "more lead SNPs; credible sets at the chosen coverage. Writes DIR/pics.tsv, "
                       "credible_sets.tsv and provenance.json.")
    p.add_argument("--sumstats", required=True, type=Path, help="TSV with SNP, P[, CHR]")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--lead", nargs="+", help="lead SNP ids")
    g.add_argument("--leads", type=Path, help="file of lead SNP ids (whitespace-separated)")
    s = p.add_mutually_exclusive_group(required=True)
    s.add_argument("--bfile", help="reference PLINK prefix ({chrom} template allowed, with a CHR column)")
    s.add_argument("--ld", type=Path, help="LD table TSV: SNP_A, SNP_B, R or R2")
    p.add_argument("--coverage", type=_unit_interval, default=0.95)
    p.add_argument("--r2-min", type=float, default=0.5)
    p.add_argument("--window-kb", type=float, default=1000.0, help="panel window around each lead (kb)")
    p.add_argument("--force", action="store_true", help="replace an existing --out folder")
    p.add_argument("--out", required=True, type=Path, help="output folder (must not exist unless --force)")
    p.set_defaults(runner=_pics)
    return p


def _ldscore(args) -> int:
    from stats.ld.scores import ld_scores, write_ld_scores

    for suffix in (".bed", ".bim", ".fam"):
        if not Path(str(args.bfile) + suffix).exists():
            raise FileNotFoundError(f"--bfile {args.bfile}: {args.bfile}{suffix} does not exist")
    snps = None
    if args.extract:
        snps = Path(args.extract).read_text().split()
        if not snps:
            raise ValueError(f"--extract {args.extract}: no SNP IDs in the file")
    scores = ld_scores(args.bfile, wind_cm=args.ld_wind_cm, wind_kb=args.ld_wind_kb, wind_snps=args.ld_wind_snps,
                       annot=args.annot, maf=args.maf, snps=snps, chunk_size=None if args.exact_windows else 50)
    paths = write_ld_scores(args.out, scores, with_cm_maf=args.print_cm_maf)
    rec = provenance.record(command=args.argv, config={k: getattr(args, k) for k in (
        "ld_wind_cm", "ld_wind_kb", "ld_wind_snps", "maf", "exact_windows")},
        inputs={"bed": Path(str(args.bfile) + ".bed"), **({"annot": Path(args.annot)} if args.annot else {})},
        outputs={p.name: p for p in paths})
    provenance.write(Path(str(args.out).replace("{chrom}", "all") + ".l2.provenance.json"), rec)
    logger.info("LD scores of %d SNPs -> %s", len(scores.table), ", ".join(str(p) for p in paths))
    return 0


def add_ldscore_parser(sub) -> argparse.ArgumentParser:
    """``genostats ldscore``: ldsc-compatible LD scores (``ldsc --l2``)."""
    p = sub.add_parser("ldscore", help="LD scores of a PLINK panel, as ldsc --l2 writes them",
                       description="LD scores (sum of unbiased r^2 over a window) of a PLINK fileset, optionally "
                       "stratified by annotations; writes OUT.l2.ldscore.gz, OUT.l2.M and OUT.l2.M_5_50 in ldsc's "
                       "layout (one set per chromosome when OUT holds {chrom}).")
    p.add_argument("--bfile", required=True, type=Path, help="PLINK fileset prefix")
    win = p.add_mutually_exclusive_group()
    win.add_argument("--ld-wind-cm", type=float, help="window in cM (default 1)")
    win.add_argument("--ld-wind-kb", type=float, help="window in kb")
    win.add_argument("--ld-wind-snps", type=int, help="window in SNPs")
    p.add_argument("--annot", type=Path, help=".annot[.gz] with one row per bim SNP (stratified LD scores)")
    p.add_argument("--maf", type=float, help="keep SNPs with MAF above this")
    p.add_argument("--extract", type=Path, help="file of SNP IDs to keep")
    p.add_argument("--exact-windows", action="store_true",
                   help="exact windows instead of ldsc's 50-SNP chunks (which add a few SNPs beyond the window)")
    p.add_argument("--print-cm-maf", action="store_true", help="also write the CM and MAF columns")
    p.add_argument("--out", required=True, help="output prefix (may hold {chrom})")
    p.set_defaults(runner=_ldscore)
    return p


# ------------------------------------------------------------------------------------------- covreg
def _tissue_name(path: Path) -> str:
    """``Whole_Blood.allpairs.txt.gz`` -> ``Whole_Blood`` (the file name up to its first dot)."""
    return path.name.split(".")[0] or path.name


def _pos_float(text: str) -> float:
    v = float(text)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {v}")
    return v


def _r2_threshold(text: str) -> float:
    v = float(text)
    if not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {v}")
    return v


def _covreg(args) -> int:
    import numpy as np

    from genocore.files import write_table
    from stats.eqtl import covreg

    eqtl = {}
    for f in args.eqtl:
        name = _tissue_name(_existing(f, "--eqtl"))
        if name in eqtl:
            raise ValueError(f"--eqtl {f}: tissue {name!r} (the file name up to its first dot) is also "
                             f"{eqtl[name]}; give each tissue one table")
        eqtl[name] = Path(f)
    _existing(args.ld_blocks, "--ld-blocks")
    _existing(args.gtf, "--gtf")
    sed = _read_tsv(args.sed, "--sed", required=("SNP", "A1", "A2", args.sed_column),
                    dtype={"SNP": str, "A1": str, "A2": str, "gene_id": str})
    sed = _numeric(sed, [args.sed_column], args.sed, "--sed")
    if sed.empty:
        raise ValueError(f"--sed {args.sed}: no rows")
    from stats.eqtl.tss import read_tss

    with _Context(f"--gtf {args.gtf}"):
        tss = read_tss(args.gtf)
    with _Context(f"--sed {args.sed} / --bfile-chr {args.bfile_chr}"):
        res = covreg.eqtl_enrichment(
            eqtl, bfile_chr=args.bfile_chr, ld_blocks=args.ld_blocks, build=args.build, tss=tss, sed=sed,
            sed_column=args.sed_column, unit=args.unit, significant=args.significant_column, annotation="SED",
            prune_r2=args.prune_r2, prune_window_kb=args.prune_window_kb, ld_wind_cm=args.ld_wind_cm,
            n_boot=args.n_boot, rng=np.random.default_rng(args.seed), cluster=args.cluster,
            n_shuffles=args.shuffles, scale=args.scale)
    out = {"covreg": _prefixed(args.out, ".covreg.tsv"), "quantiles": _prefixed(args.out, ".quantiles.tsv")}
    summary = res.summary.merge(res.pruning, on="tissue", how="left")
    write_table(out["covreg"], summary, float_format="%.6g")
    write_table(out["quantiles"], res.quantiles, float_format="%.6g")
    for tissue in eqtl:
        out[f"figure_{tissue}"] = _prefixed(args.out, f".{tissue}.png")
        covreg.tissue_figure(res.result(tissue), out[f"figure_{tissue}"])
    out["panel"] = _prefixed(args.out, ".panel.png")
    covreg.panel_figure([res.result(t) for t in eqtl], out["panel"], ncols=min(4, len(eqtl)))
    inputs = {f"eqtl_{t}": p for t, p in eqtl.items()}
    inputs.update({"sed": args.sed, "gtf": args.gtf, "ld_blocks": args.ld_blocks})
    provenance.write(_prefixed(args.out, ".provenance.json"), provenance.record(
        command=args.argv, config=_config(args), genome_build=args.build, inputs=inputs, outputs=out))
    logger.info("covariate regression of %d tissue(s) per %s; wrote %s.*", len(eqtl), args.unit, args.out)
    return 0


def add_covreg_parser(sub) -> argparse.ArgumentParser:
    """Register ``genostats covreg``; returns its parser."""
    p = sub.add_parser("covreg", help="LD-score covariate regression of eQTL chi^2 on |SED-LD| and the quantile "
                       "enrichment (Basenji 2018, Fig. 5)",
                       description="Per tissue: eQTL pairs matched to the reference panel (position and alleles), "
                       "SNPs LD-pruned (priority: largest chi^2), OLS of chi^2 on LD score and |SED-LD| (then with "
                       "the TSS-distance LD scores), and the share of significant eQTLs by quintile of the "
                       "fitted-value difference with a cluster bootstrap interval (enrichment 1 when the |SED-LD| coefficient is "
                       "<= 0). The test of |SED-LD| to read is one-sided (column ld_tss_p_cluster_pos: cluster-"
                       "robust, a positive coefficient); --shuffles N adds the exact permutation p (p_shuffle) and "
                       "shuffles_p05, the share of N shuffled annotations that p_cluster_pos calls significant (a "
                       "check of its calibration on these data). Writes PREFIX.covreg.tsv, "
                       "PREFIX.quantiles.tsv, PREFIX.<tissue>.png, PREFIX.panel.png and PREFIX.provenance.json.")
    p.add_argument("--eqtl", required=True, nargs="+", type=Path, help="GTEx allpairs tables (gene_id, variant_id "
                   "chr_pos_ref_alt_build, slope, slope_se, significant), one per tissue; tissue = file name up to "
                   "its first dot")
    p.add_argument("--bfile-chr", required=True, help="reference panel: per-chromosome PLINK prefix or {chrom} "
                   "template")
    p.add_argument("--ld-blocks", required=True, type=Path, help="LD blocks (BED: chr start end)")
    p.add_argument("--build", required=True, help="genome build of panel and blocks: hg19, hg38, simworld1")
    p.add_argument("--gtf", required=True, type=Path, help="gene annotation (TSSs for the TSS-distance LD scores)")
    p.add_argument("--sed", required=True, type=Path, help="SED scores TSV: SNP A1 A2 [gene_id] SED (A1: the allele "
                   "whose effect is given; with gene_id per SNP-gene pair, else per SNP)")
    p.add_argument("--sed-column", default="SED", help="column of the SED scores (SED)")
    p.add_argument("--unit", default="pair", choices=("pair", "snp"), help="regress per SNP-gene pair (default) or "
                   "per SNP (max chi^2 and |SED-LD| over genes)")
    p.add_argument("--significant-column", default="significant", help="eQTL column flagging significant eQTLs")
    p.add_argument("--prune-r2", type=_r2_threshold, default=0.5, help="LD pruning threshold r^2 (0.5)")
    p.add_argument("--prune-window-kb", type=_pos_float, default=1000.0, help="LD pruning window (kb; 1000)")
    p.add_argument("--ld-wind-cm", type=_pos_float, default=1.0, help="LD score window (cM; 1)")
    p.add_argument("--n-boot", type=_nonneg_int, default=1000, help="bootstrap replicates (1000; 0: none)")
    p.add_argument("--cluster", default="gene", choices=("block", "gene", "none"), help="clusters of the "
                   "cluster-robust p of |SED-LD| (t reference, clusters - 1 df) and of the enrichment bootstrap: "
                   "the gene of a pair (default; per SNP: the LD block), the LD block of the SNP, or none")
    p.add_argument("--shuffles", type=_nonneg_int, default=0, help="annotations shuffled across pairs per tissue "
                   "for a permutation p of |SED-LD| (columns p_shuffle, one-sided, and shuffles_p05; 0: none; 99 "
                   "resolves p to 0.01)")
    p.add_argument("--scale", default="abs", choices=("abs", "sqrt"), help="the regressor: |SED-LD| (default, "
                   "Basenji 2018) or sqrt(|SED-LD|) (tempers the few extreme pairs; more powerful and better "
                   "calibrated on the simulated world)")
    p.add_argument("--seed", type=_nonneg_int, default=0, help="seed of the bootstrap (and the shuffles)")
    p.add_argument("--out", required=True, type=Path, help="output prefix")
    p.set_defaults(runner=_covreg)
    return p


def get_parser(extra_commands=()) -> argparse.ArgumentParser:
    """The ``genostats`` parser.

    Parameters
    ----------
    extra_commands : sequence of (name, help, configure)
        Subcommands registered by other packages; ``configure(parser)`` adds arguments and sets
        ``runner``.
    """
    parser = argparse.ArgumentParser(prog="genostats", description="Statistical genetics on variant "
                                     "scores: LD, signed LD profiles, SLDP, LD-score regression, cluster comparison, "
                                     "classifiers, case-control tests, fine-mapping, eQTL covariate regression.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub.add_parser("ld-decay", help="mean r^2 by distance in a PLINK reference panel",
                       description="Mean r^2 between SNP pairs in distance bins, per chromosome.")
    p.add_argument("--bfile", required=True, type=Path, help="PLINK fileset prefix")
    p.add_argument("--out", required=True, type=Path, help="output TSV")
    p.add_argument("--max-pairs", type=int, default=2_000_000)
    p.add_argument("--seed", type=int, default=0, help="seed for subsampling pairs")
    p.set_defaults(runner=_ld_decay)
    add_sldp_parser(sub)
    add_clusters_parser(sub)
    add_classify_parser(sub)
    add_casecontrol_parser(sub)
    add_pics_parser(sub)
    add_ldscore_parser(sub)
    add_covreg_parser(sub)
    for name, help_text, configure in extra_commands:
        configure(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv=None, *, extra_commands=()) -> int:
    args = get_parser(extra_commands).parse_args(argv)
    args.argv = ["genostats"] + list(argv) if argv is not None else list(sys.argv)
    clilog.configure(args.verbose)
    return clilog.run_command(args.runner, args, verbosity=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
