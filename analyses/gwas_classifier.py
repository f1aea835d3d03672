"""GWAS-catalog SNPs against MAF-matched negatives, classified from a sequence model's variant scores
(Basenji 2018, Supp. Fig. 8).

``python -m analyses.gwas_classifier --config FILE --out DIR`` or ``--demo``.

Per labelled SNP the features are the model's max over bins of |log2 ratio| of every target (the
``LOG2MAX`` statistic of a ``sad.h5`` written by ``genomodel sad``; given, or scored here from a saved
model), matched to the labels by chromosome, position and alleles. :func:`stats.classifiers.compare_feature_sets`
standardizes them, reduces them by PCA, fits an L2 logistic regression and reports the AUROC of
cross-validation grouped by chromosome, with a label-permutation p-value (labels permuted within
chromosome, every fold refitted), alone and joined with ``external`` per-SNP feature columns (e.g.
DeepSEA scores); every pair of feature sets is compared by the same permutations. Optional
``truth_scores`` (on the simulated world, the planted effects) are run through the same classifier and
reported beside as the ceiling.

Writes ``auroc.tsv`` (one row per feature set), ``pairs.tsv``, ``folds.tsv``, ``scores.tsv`` (the
out-of-fold score of every SNP), ``roc.png`` and ``report.md``.
"""
from __future__ import annotations

import dataclasses
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from analyses.scoring import SITE, check_model, demo_model, h5_provenance, score_sites
from analyses.framework import Analysis, field, main
from genocore.outputs import OutputFolder

logger = logging.getLogger(__name__)

TRANSFORMS = ("log1p", "none")
REF_POLICIES = ("error", "skip", "flip")


@dataclasses.dataclass(frozen=True)
class Config:
    """Options of the GWAS-catalog classifier (one of ``scores`` and ``model``)."""

    labels: str = field(help="labelled SNPs (TSV): snp, chrom, pos (1-based), ref, alt, label (1: GWAS catalog, "
                             "0: MAF-matched negative)", path=True)
    scores: str | None = field(None, help="the model's scores of the SNPs: a sad.h5 of `genomodel sad` with "
                                          "the statistic `stat` (matched by chrom, pos and alleles)", path=True)
    model: str | None = field(None, help="a saved model folder: the SNPs are written as a VCF and scored "
                                         "with it (needs fasta)")
    fasta: str | None = field(None, help="genome FASTA the SNPs refer to (with model)", path=True)
    stat: str = field("LOG2MAX", help="statistic of the model's sad.h5 used as features (|value| per target)")
    truth_scores: str | None = field(None, help="a sad.h5 of true scores, classified the same way and "
                                                "reported beside as the ceiling", path=True)
    truth_stat: str = field("SAD", help="statistic of truth_scores (|value| per target)")
    external: str | None = field(None, help="extra per-SNP features (TSV): snp or chrom, pos, ref, alt, and "
                                            "numeric columns; evaluated alone and joined to every score set",
                                 path=True)
    external_name: str = field("external", help="name of the external feature set in the tables")
    transform: str = field("log1p", help="per-target transform of the |scores| before standardizing: log1p "
                                         "(log(1 + x / SD)) or none")
    n_components: int = field(200, help="PCA components (capped at features and training SNPs - 1)")
    C: float = field(1.0, help="inverse L2 penalty of the logistic regression")
    n_splits: int | None = field(None, help="GroupKFold folds over chromosomes; null: leave one chromosome out")
    n_permutations: int = field(99, help="label permutations within chromosome (every fold refitted)")
    seed: int = field(0, help="seed of the permutations and scikit-learn")
    rc: bool = field(False, help="with model: average forward and reverse-complement predictions")
    batch_size: int = field(8, help="with model: sequences per prediction batch")
    ref_policy: str = field("error", help="with model: REF alleles that do not match the FASTA: error, skip "
                                          "or flip")
    scores_out: str | None = field(None, help="with model: keep the sad.h5 of the SNPs here (resumes from "
                                              "<scores_out>.parts); a temporary file by default")

    def __post_init__(self):
        if (self.scores is None) == (self.model is None):
            raise ValueError("give exactly one of scores (a sad.h5 of the SNPs) and model")
        if self.model is not None and self.fasta is None:
            raise ValueError("model needs fasta (the genome the SNPs refer to)")
        if self.transform not in TRANSFORMS:
            raise ValueError(f"transform must be one of {TRANSFORMS}, got {self.transform!r}")
        if self.ref_policy not in REF_POLICIES:
            raise ValueError(f"ref_policy must be one of {REF_POLICIES}, got {self.ref_policy!r}")
        if self.n_permutations < 1:
            raise ValueError(f"n_permutations must be >= 1, got {self.n_permutations}")


# -- features ----------------------------------------------------------------------------------------

def site_keys(table: pd.DataFrame) -> pd.Index:
    """``chrom:pos:a:b`` of each row with the two alleles in sorted order (|scores| do not depend on
    which allele is the reference) and chromosome names normalized."""
    from genocore.genome import normalize_chrom

    missing = [c for c in SITE if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks column(s) {missing}; matching SNPs needs chrom, pos, ref, alt")
    chrom = normalize_chrom(table["chrom"].astype(str).to_numpy())
    a, b = table["ref"].astype(str).str.upper().to_numpy(), table["alt"].astype(str).str.upper().to_numpy()
    pos = table["pos"].astype(np.int64).astype(str).to_numpy()
    return pd.Index([f"{c}:{p}:{min(x, y)}:{max(x, y)}" for c, p, x, y in zip(chrom, pos, a, b)])


def read_labels(path) -> pd.DataFrame:
    """Labelled SNPs indexed by ``snp`` with chrom, pos, ref, alt and label (0/1)."""
    from stats import classifiers as cf

    lab = cf.read_labels(path)
    missing = [c for c in SITE[1:] if c not in lab.columns]
    if missing:
        raise ValueError(f"labels {path}: lacks column(s) {missing}; need snp, chrom, pos, ref, alt, label")
    return lab


def match_rows(labels: pd.DataFrame, table: pd.DataFrame, values: np.ndarray, columns, *, what) -> pd.DataFrame:
    """Rows of ``values`` (one per row of ``table``) matched to the labelled SNPs by site, indexed by SNP."""
    keys = site_keys(table)
    first = ~keys.duplicated()
    row = pd.Series(np.flatnonzero(first), index=keys[first])
    want = site_keys(labels)
    hit = want.isin(row.index)
    logger.info("%s: %d of %d labelled SNPs matched by chrom, pos and alleles", what, int(hit.sum()), len(labels))
    if not hit.any():
        raise ValueError(f"{what}: no labelled SNP found (compare chromosome names, positions and builds)")
    return pd.DataFrame(values[row.loc[want[hit]].to_numpy()], index=pd.Index(labels.index[hit], name="snp"),
                        columns=list(columns))


def sad_features(path, labels: pd.DataFrame, *, stat: str) -> pd.DataFrame:
    """|``stat``| per target of a ``sad.h5`` for the labelled SNPs (columns: target labels or ids)."""
    from genocore.scores import read_sad_h5

    s = read_sad_h5(path, stats=[stat], dtype=np.float64)
    x = np.abs(s.stats[stat])
    names = s.target_labels or s.target_ids or [f"t{j}" for j in range(x.shape[1])]
    return match_rows(labels, s.variants, x, names, what=str(path))


def external_features(path, labels: pd.DataFrame) -> pd.DataFrame:
    """The numeric columns of an external feature TSV, matched by site when it has chrom, pos, ref, alt
    and by ``snp`` otherwise."""
    from stats import classifiers as cf
    from stats.io.tables import read_tsv

    df = read_tsv(path, "external features", dtype={"snp": str, "chrom": str})
    cols = [c for c in df.columns if c not in ("snp", *SITE) and pd.api.types.is_numeric_dtype(df[c])]
    if not cols:
        raise ValueError(f"external features {path}: no numeric feature column")
    if all(c in df.columns for c in SITE):
        return match_rows(labels, df, df[cols].to_numpy(np.float64), cols, what=str(path))
    if "snp" not in df.columns:
        raise ValueError(f"external features {path}: needs chrom, pos, ref, alt or snp to meet the labels")
    logger.info("external features %s matched to the labels by snp id (no chrom, pos, ref, alt)", path)
    return cf.features_from_frame(df, columns=cols).reindex(labels.index).dropna()


def transformed(x: pd.DataFrame, how: str) -> pd.DataFrame:
    """``log(1 + x / SD)`` per column (``log1p``; constant columns stay 0) or ``x`` (``none``)."""
    if how == "none":
        return x
    sd = x.std(axis=0).replace(0, np.inf)
    return np.log1p(x / sd)


def model_features(cfg: Config, labels: pd.DataFrame, progress) -> tuple[pd.DataFrame, dict | None]:
    """The model's features of the labelled SNPs (from ``scores``, or scored with ``model``) and the
    provenance of their ``sad.h5``."""
    if cfg.scores is not None:
        return sad_features(cfg.scores, labels, stat=cfg.stat), h5_provenance(cfg.scores)
    progress("scoring the SNPs with the model")
    sites = labels.reset_index()[["snp", *SITE]]
    with tempfile.TemporaryDirectory() as tmp:
        path = score_sites(cfg.model, sites, cfg.fasta, cfg.scores_out or Path(tmp) / "gwas_sad.h5", rc=cfg.rc,
                           batch_size=cfg.batch_size, ref_policy=cfg.ref_policy, progress=progress)
        return sad_features(path, labels, stat=cfg.stat), h5_provenance(path)


# -- analysis ----------------------------------------------------------------------------------------

def feature_sets(cfg: Config, labels: pd.DataFrame, model: pd.DataFrame) -> dict:
    """``model`` (and ``truth``) features, each joined with the external columns, and the external alone."""
    from stats import classifiers as cf

    bases = {"model": transformed(model, cfg.transform)}
    if cfg.truth_scores is not None:
        bases["truth"] = transformed(sad_features(cfg.truth_scores, labels, stat=cfg.truth_stat), cfg.transform)
    if cfg.external is None:
        return bases
    ext = external_features(cfg.external, labels)
    sets = {}
    for name, x in bases.items():
        sets[name] = x
        sets[f"{name}+{cfg.external_name}"] = cf.join_features(x, ext)
    sets[cfg.external_name] = ext
    return sets


def report(cfg: Config, table: pd.DataFrame, pairs: pd.DataFrame) -> str:
    """The short markdown report."""
    lines = ["# GWAS-catalog classifier (Basenji Supp. Fig. 8)", "",
             f"Labels `{cfg.labels}`; features: |{cfg.stat}| per target of the model's scores "
             f"(`{cfg.scores or cfg.model}`)" + (f", the truth `{cfg.truth_scores}` (|{cfg.truth_stat}|) as the "
                                                 "ceiling" if cfg.truth_scores else "")
             + (f", external `{cfg.external}`" if cfg.external else "") + f"; transform {cfg.transform}.", "",
             f"Standardize, PCA (<= {cfg.n_components}), L2 logistic regression (C = {cfg.C}); AUROC of "
             "cross-validation grouped by chromosome; permutation p from "
             f"{cfg.n_permutations} label permutations within chromosome (every fold refitted).", "",
             "| feature set | features | SNPs (pos / neg) | AUROC | permutation p | null AUROC |",
             "|---|---|---|---|---|---|"]
    for r in table.to_dict("records"):
        lines.append(f"| {r['name']} | {r['n_features']} | {r['n_pos'] + r['n_neg']} ({r['n_pos']} / {r['n_neg']}) "
                     f"| {r['auc']:.3f} | {r['p_permutation']:.3g} | {r['null_auc_mean']:.3f} ± "
                     f"{r['null_auc_sd']:.3f} |")
    if len(pairs):
        lines += ["", "| a | b | AUROC a - b | permutation p |", "|---|---|---|---|"]
        lines += [f"| {r['a']} | {r['b']} | {r['diff']:+.3f} | {r['p_value']:.3g} |" for r in pairs.to_dict("records")]
        lines += ["", "The pair test's null is that neither set carries information about the labels; with one "
                  "informative set it is not a test of equal AUROC."]
    lines += ["", "DeLong SE/CI in `auroc.tsv` treat the cross-validated scores as fixed and are descriptive.", "",
              "Files: `auroc.tsv`, `pairs.tsv`, `folds.tsv`, `scores.tsv`, `roc.png`."]
    return "\n".join(lines) + "\n"


def run(cfg: Config, progress) -> OutputFolder:
    """Classify the labelled SNPs from the model's features (and the truth's and external ones)."""
    from stats import classifiers as cf

    check_model(cfg.model)
    progress("reading the labels")
    labels = read_labels(cfg.labels)
    model, prov = model_features(cfg, labels, progress)
    sets = feature_sets(cfg, labels, model)
    progress(f"cross-validation and {cfg.n_permutations} label permutations of {len(sets)} feature sets")
    results, table, pairs = cf.compare_feature_sets(sets, labels.label, labels.chrom, method="permutation",
                                                    n_permutations=cfg.n_permutations, rng=cfg.seed,
                                                    n_components=cfg.n_components, C=cfg.C, n_splits=cfg.n_splits)
    out = cf.classification_outputs(results, table, pairs, labels.chrom)
    out.texts["report.md"] = report(cfg, table, pairs)
    if prov is not None:
        out.add_json("model_scores_provenance.json", prov)
    return out


def demo(world, out) -> Config:
    """The world's catalog SNPs scored with the demo's model and the planted effects (SAD of every target)
    as the ceiling, both written into ``out`` (a folder of scores other analyses share; reused when
    present)."""
    from analyses.scoring import truth_sad_h5

    world, out = Path(world), Path(out)
    model = demo_model(world)
    labels = world / "catalog" / "gwas_catalog_snps.tsv"
    out.mkdir(parents=True, exist_ok=True)
    scores, truth = out / "gwas_catalog_sad.h5", out / "gwas_catalog_truth_sad.h5"
    if not scores.exists():
        score_sites(model, read_labels(labels).reset_index(), world / "genome" / "genome.fa", scores)
    if not truth.exists():
        truth_sad_h5(world, truth)
    return Config(labels=str(labels), scores=str(scores), truth_scores=str(truth), n_permutations=49)


#: The paper's headline, reported beside this suite's numbers.
PAPER = ("model features raise AUROC over DeepSEA-style features for GWAS-catalog SNPs against matched "
         "negatives (Basenji, Supp. Fig. 8)")

ANALYSIS = Analysis(name="gwas_classifier", description="GWAS-catalog SNPs vs MAF-matched negatives classified "
                    "from a sequence model's variant scores (Basenji Supp. Fig. 8)", config=Config, run=run,
                    demo=demo,
                    paper=PAPER)

if __name__ == "__main__":
    sys.exit(main(ANALYSIS))
