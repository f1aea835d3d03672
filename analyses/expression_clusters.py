"""Gene-expression clusters of a sequence model's predictions against observed expression
(Basenji 2018, Fig. 3C).

``python -m analyses.expression_clusters --config FILE --out DIR`` or ``--demo``.

Predicted expression of a gene in a cell type is the model's CAGE prediction summed over the bins of
the gene's TSSs, in a window centred on its first TSS (:func:`genomodel.expression.predict_tss_expression`,
TSSs from the GTF); it can also be given as a genes x samples table. Observed expression is a genes x
samples table, or the observed coverage summed over the same bins of each gene
(:func:`genomodel.expression.observed_tss_expression`, the coverage files of a basenji ``targets.txt``).
Samples are the targets of one assay (``CAGE:<sample>``; replicate targets of a sample are averaged).
After ``log2(1 + x)``, :func:`stats.expression_clusters.compare_clusters` quantile-normalizes both,
keeps the most variable observed genes, fits Gaussian mixtures to bootstrap samples of genes in each
matrix and reports the adjusted Rand index (ARI) of the two labelings, with the paper's normal p-value
and a permutation p-value (gene correspondence shuffled). Optional ``truth`` expression (on the simulated world, the
noiseless signal) is compared with the observed in the same way and reported beside as the ceiling.

Writes ``clusters.tsv`` (one row per source), ``ari.tsv``, ``expression_predicted.tsv``,
``expression_observed.tsv``, ``heatmap_<source>.png`` and ``report.md``.
"""
from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from analyses.scoring import check_model, demo_model
from analyses.framework import Analysis, field, main
from genocore.outputs import OutputFolder

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Config:
    """Options of the cluster comparison (one of ``observed`` / ``observed_targets`` and one of ``model`` /
    ``predicted``)."""

    observed: str | None = field(None, help="observed expression (TSV): gene_id + one column per sample",
                                 path=True)
    observed_targets: str | None = field(None, help="a basenji targets.txt of observed coverage files (BigWig "
                                                    "/ bedGraph): observed expression is their sum over each "
                                                    "gene's TSS bins (needs gtf)", path=True)
    model: str | None = field(None, help="a saved model folder: predicted expression is its prediction at each "
                                         "gene's TSS bins (needs fasta and gtf)")
    predicted: str | None = field(None, help="predicted expression (TSV): gene_id + one column per sample",
                                  path=True)
    fasta: str | None = field(None, help="genome FASTA (with model)", path=True)
    gtf: str | None = field(None, help="genes whose TSSs are used (with model or observed_targets)", path=True)
    truth: str | None = field(None, help="true expression (TSV: gene_id + samples), compared with the observed "
                                         "the same way and reported beside as the ceiling", path=True)
    assay: str = field("CAGE", help="model targets and observed targets labelled '<assay>:<sample>' are used")
    log: bool = field(True, help="compare log2(1 + max(x, 0)) of both matrices")
    bin_width: int = field(128, help="TSS bin width (bp) of observed_targets when there is no model (otherwise "
                                     "the model's bins)")
    n_genes: int = field(2000, help="most variable observed genes kept (capped at the genes that vary)")
    sample_size: int = field(1000, help="genes per bootstrap sample (capped at n_genes)")
    n_components: int = field(10, help="Gaussian mixture components")
    n_bootstrap: int = field(100, help="bootstrap samples of genes")
    n_permutations: int = field(99, help="gene shuffles of the predicted matrix (permutation p); 0: none")
    covariance_type: str = field("full", help="GaussianMixture covariance: full, tied, diag or spherical")
    replace: bool = field(False, help="draw bootstrap genes with replacement")
    normalize: bool = field(True, help="quantile-normalize each matrix across samples")
    seed: int = field(0, help="seed of the bootstrap draws, permutations and mixtures")
    rc: bool = field(False, help="with model: average forward and reverse-complement predictions")
    batch_size: int = field(4, help="with model: sequences per prediction batch")

    def __post_init__(self):
        if (self.observed is None) == (self.observed_targets is None):
            raise ValueError("give exactly one of observed (a genes x samples TSV) and observed_targets")
        if (self.model is None) == (self.predicted is None):
            raise ValueError("give exactly one of model and predicted (a genes x samples TSV)")
        if self.model is not None and (self.fasta is None or self.gtf is None):
            raise ValueError("model needs fasta and gtf (the genes whose TSSs are predicted)")
        if self.observed_targets is not None and self.gtf is None:
            raise ValueError("observed_targets needs gtf (the genes whose TSSs are read)")
        if self.covariance_type not in ("full", "tied", "diag", "spherical"):
            raise ValueError(f"covariance_type must be full, tied, diag or spherical, got {self.covariance_type!r}")


# -- expression --------------------------------------------------------------------------------------

def assay_samples(labels, assay: str) -> dict:
    """Index -> sample name of the labels ``<assay>:<sample>`` (case-insensitive assay)."""
    prefix = f"{assay.lower()}:"
    out = {i: str(lab)[len(prefix):] for i, lab in enumerate(labels) if str(lab).lower().startswith(prefix)}
    if not out:
        raise ValueError(f"no target is labelled '{assay}:<sample>' (labels: {list(labels)[:5]}...)")
    return out


def by_sample(x: pd.DataFrame, names) -> pd.DataFrame:
    """Columns renamed to their sample names, replicate columns of one sample averaged."""
    x = x.set_axis(list(names), axis=1)
    if x.columns.duplicated().any():
        logger.info("averaging replicate targets of %d samples", int(x.columns.duplicated().sum()))
        x = x.T.groupby(level=0, sort=False).mean().T
    return x


def predicted_expression(cfg: Config, progress) -> tuple[pd.DataFrame, tuple]:
    """The model's expression at the TSS bins of every gene of the GTF, samples named by target label,
    and the model's bin geometry ``(pool_width, seq_length, crop_bp, n_bins)``."""
    from genomodel.expression import predict_tss_expression
    from genomodel.io.gtf import model_tss
    from genomodel.model.seqnn import load_head
    from genomodel.predict import geometry

    head = load_head(cfg.model)
    samples = assay_samples(head.target_labels or head.target_ids, cfg.assay)
    progress(f"predicting {len(samples)} {cfg.assay} targets at the TSSs")
    pred = predict_tss_expression(head, cfg.fasta, model_tss(cfg.gtf), targets=list(samples), rc=cfg.rc,
                                  batch_size=cfg.batch_size)
    pool, crop = geometry(head.model)
    bins = (pool, int(head.model.input.shape[1]), crop, int(head.model.output.shape[1]))
    return by_sample(pred, samples.values()), bins


def observed_expression(cfg: Config, geometry: tuple | None) -> pd.DataFrame:
    """The observed table, or the observed coverage of the assay's targets at each gene's TSS bins (the
    model's bins, or ``bin_width`` bins from each gene's first TSS without a model)."""
    from stats import expression_clusters as cl

    if cfg.observed is not None:
        return cl.read_expression(cfg.observed, what="observed")
    from genomodel.data import read_targets
    from genomodel.expression import gene_tss_bins, observed_tss_expression
    from genomodel.io.gtf import model_tss

    targets = read_targets(cfg.observed_targets)
    samples = assay_samples(targets.description, cfg.assay)
    pool, seq_length, crop, n_bins = geometry or (cfg.bin_width, 0, 0, None)
    _, bins = gene_tss_bins(model_tss(cfg.gtf), pool_width=pool, seq_length=seq_length, crop_bp=crop, n_bins=n_bins)
    obs = observed_tss_expression({targets.identifier.iat[i]: targets.file.iat[i] for i in samples}, bins)
    return by_sample(obs, samples.values())


def prepared(x: pd.DataFrame, *, log: bool) -> pd.DataFrame:
    """``log2(1 + max(x, 0))`` when ``log``."""
    return np.log2(1.0 + x.clip(lower=0)) if log else x


# -- analysis ----------------------------------------------------------------------------------------

def compare(cfg: Config, observed: pd.DataFrame, predicted: pd.DataFrame, *, source: str):
    """:func:`stats.expression_clusters.compare_clusters` of one source on the genes it shares with the
    observed and that vary in both, ``n_genes`` and ``sample_size`` capped at what there is."""
    from stats import expression_clusters as cl

    obs, pred = cl.join_expression(observed, predicted, what=f"observed / {source}")
    vary = (obs.var(axis=1) > 0) & (pred.var(axis=1) > 0)
    if cfg.normalize:  # a gene tied at the same rank in every sample is constant once quantile-normalized
        vary &= (cl.quantile_normalize(obs).var(axis=1) > 0) & (cl.quantile_normalize(pred).var(axis=1) > 0)
    if (~vary).any():
        logger.info("%s: %d genes constant across samples in one of the matrices (after quantile normalization "
                    "when asked) are left out", source, int((~vary).sum()))
    obs, pred = obs[vary], pred[vary]
    n_genes = min(cfg.n_genes, len(obs))
    sample_size = min(cfg.sample_size, n_genes) if not cfg.replace else cfg.sample_size
    if (n_genes, sample_size) != (cfg.n_genes, cfg.sample_size):
        logger.warning("%s: %d genes vary; comparing the %d most variable in bootstrap samples of %d", source,
                       len(obs), n_genes, sample_size)
    res = cl.compare_clusters(obs, pred, n_genes=n_genes, sample_size=sample_size, n_components=cfg.n_components,
                              n_bootstrap=cfg.n_bootstrap, replace=cfg.replace, normalize=cfg.normalize,
                              covariance_type=cfg.covariance_type, n_permutations=cfg.n_permutations, rng=cfg.seed)
    return res, cl.comparison_outputs(res, obs, pred, normalize=cfg.normalize)


def report(cfg: Config, summary: pd.DataFrame) -> str:
    """The short markdown report."""
    pred = f"the model `{cfg.model}` at each gene's TSS bins" if cfg.model else f"`{cfg.predicted}`"
    obs = f"`{cfg.observed}`" if cfg.observed else f"the coverage of `{cfg.observed_targets}` at the TSS bins"
    lines = ["# Gene-expression clusters (Basenji Fig. 3C)", "",
             f"Predicted: {pred}; observed: {obs}" + (f"; truth `{cfg.truth}` as the ceiling." if cfg.truth else "."),
             f"{cfg.assay} samples, " + ("log2(1 + x), " if cfg.log else "") +
             ("quantile-normalized, " if cfg.normalize else "") +
             f"{cfg.n_components}-component Gaussian mixtures ({cfg.covariance_type} covariance) on "
             f"{cfg.n_bootstrap} bootstrap samples of genes.", "",
             "| source | genes kept | bootstrap sample | ARI mean ± SD | normal p | null ARI | permutation p |",
             "|---|---|---|---|---|---|---|"]
    for r in summary.to_dict("records"):
        null = (f"{r['null_ari_mean']:.3f} ± {r['null_ari_sd']:.3f}" if "null_ari_mean" in r else "")
        lines.append(f"| {r['source']} | {r['n_genes']} of {r['n_genes_input']} | {r['sample_size']} | "
                     f"{r['ari_mean']:.3f} ± {r['ari_sd']:.3f} | {r['p_value']:.3g} | {null} | "
                     f"{r.get('p_permutation', float('nan')):.3g} |")
    lines += ["", "The normal p (the paper's) treats the bootstrap ARIs as independent draws; the permutation p "
              "shuffles which predicted gene goes with which observed gene.", "",
              "Files: `clusters.tsv`, `ari.tsv`, `expression_predicted.tsv`, `expression_observed.tsv`, "
              + ", ".join(f"`heatmap_{s}.png`" for s in summary.source) + "."]
    return "\n".join(lines) + "\n"


def run(cfg: Config, progress) -> OutputFolder:
    """Compare the clusters of the predicted (and true) expression with the observed."""
    from stats import expression_clusters as cl

    check_model(cfg.model)
    geometry = None
    if cfg.model is not None:
        predicted, geometry = predicted_expression(cfg, progress)
    else:
        predicted = cl.read_expression(cfg.predicted, what="predicted")
    progress("observed expression")
    observed = observed_expression(cfg, geometry)
    sources = {"model": predicted}
    if cfg.truth is not None:
        sources["truth"] = cl.read_expression(cfg.truth, what="truth")
    out = OutputFolder(tables={"expression_predicted.tsv": predicted.reset_index(),
                               "expression_observed.tsv": observed.reset_index()})
    summaries, aris = [], []
    for source, x in sources.items():
        progress(f"clusters of {source} against observed")
        _, folder = compare(cfg, prepared(observed, log=cfg.log), prepared(x, log=cfg.log), source=source)
        summaries.append(folder.tables["summary.tsv"].assign(source=source))
        aris.append(folder.tables["ari.tsv"].assign(source=source))
        out.figures[f"heatmap_{source}.png"] = folder.figures["heatmap.png"]
    summary = pd.concat(summaries, ignore_index=True)
    summary = summary[["source", *[c for c in summary.columns if c != "source"]]]
    out.tables["clusters.tsv"] = summary
    out.tables["ari.tsv"] = pd.concat(aris, ignore_index=True)[["source", "kind", "replicate", "ari"]]
    out.texts["report.md"] = report(cfg, summary)
    return out


def demo(world, out) -> Config:
    """The demo's model at the TSSs of the world's genes against the observed CAGE tracks at the same bins,
    the noiseless expression as the ceiling (few genes and cell types: diagonal mixtures of 4 components)."""
    world = Path(world)
    model = demo_model(world)
    return Config(model=str(model), fasta=str(world / "genome" / "genome.fa"), gtf=str(world / "genome" / "genes.gtf"),
                  observed_targets=str(world / "tracks" / "targets.txt"),
                  truth=str(world / "truth" / "gene_expression.tsv"), n_components=4, sample_size=100,
                  n_bootstrap=20, n_permutations=49, covariance_type="diag")


#: The paper's headline, reported beside this suite's numbers.
PAPER = ("ARI of predicted vs observed expression clusters well above 0 (Basenji, Fig. 3C)")

ANALYSIS = Analysis(name="expression_clusters", description="Gene-expression clusters of a sequence model's "
                    "predictions against observed expression (Basenji Fig. 3C)", config=Config, run=run, demo=demo,
                    paper=PAPER)

if __name__ == "__main__":
    sys.exit(main(ANALYSIS))
