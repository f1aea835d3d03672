"""eQTL enrichment of a sequence model's SED (Basenji 2018, Fig. 5).

``python -m analyses.eqtl_enrichment --config FILE --out DIR`` (or ``--demo``)

Per tissue, the model's SED (predicted alt-minus-ref change of the gene's TSS signal, from the SED
group of a ``sad.h5`` written by ``genomodel sad --gtf``) in the target named for that tissue becomes
the annotation of :func:`stats.eqtl.pipeline.eqtl_enrichment`: SED-LD gene by gene, the OLS of eQTL
chi^2 on LD score and |SED-LD| without and with the TSS-distance LD scores, the one-sided cluster-robust
p of |SED-LD| (``ld_tss_p_cluster_pos``; pairs of one gene are clusters), its permutation p against
``shuffles`` annotations with the SED shuffled across the tested pairs (``p_shuffle``, with
``shuffles_p05``, the share of shuffles the analytic p calls significant at 0.05), and the quantile
enrichment of significant eQTLs (top quantile over the mean of the bottom three, bootstrap interval).

Scores come from the model (``scores``, or ``model`` scored on a simulated ``world``); the planted truth
(``truth_scores``) runs through the same analysis as the ceiling. With the model's record folder
(``data``), pairs whose SNP lies in a training window (``split = train``) and the held-out rest
(``heldout``) are also analysed apart. Writes ``results.tsv`` (tissue x source x split), ``summary.tsv``
(every number of the regressions), ``quantiles.tsv``, ``panel.png`` (the quantile enrichment of every
tissue, one row per source), ``report.md`` and ``model_scores_provenance.json`` (the model, SNPs and
options the scores came from, when the ``sad.h5`` records them). ``analyses/configs/eqtl_enrichment.json``
is a real-data example (GTEx v8, hg38) whose paths are to be edited.
"""
from __future__ import annotations

import dataclasses
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from analyses.framework import Analysis, field, main
from analyses.scoring import demo_scores, model_scores, training_mask
from genocore.outputs import OutputFolder

logger = logging.getLogger(__name__)

#: Columns of ``results.tsv`` taken from :attr:`stats.eqtl.pipeline.EqtlEnrichment.summary`.
RESULT_COLUMNS = ("n", "n_significant", "n_clusters", "ld_coef", "ld_p_cluster_pos", "ld_tss_coef",
                  "ld_tss_z_cluster", "ld_tss_p_cluster_pos", "p_shuffle", "n_shuffles", "shuffles_p05",
                  "enrichment", "enrichment_lo", "enrichment_hi")


@dataclasses.dataclass(frozen=True)
class Config:
    """Options of the eQTL enrichment (a JSON object of these keys; one of ``scores`` and ``model``)."""

    eqtl: dict = field(help="GTEx allpairs tables: {tissue: file}, or a list of files (the tissue is the file "
                       "name up to its first dot, e.g. Liver.allpairs.txt.gz)", path=True)
    targets: dict = field(help="tissue -> the target (id or label of the scores file) whose SED annotates it")
    bfile_chr: str = field(help="reference panel: PLINK per-chromosome template ('panel/ref.{chrom}') or "
                           "ldsc-style prefix ('1000G.EUR.QC.')", path=True)
    ld_blocks: str = field(help="LD blocks (BED, the panel's build)", path=True)
    build: str = field(help="genome build of panel, blocks and tables (hg19, hg38, simworld1)")
    gtf: str = field(help="genes (GTF): the TSSs of the TSS-distance covariates", path=True)
    scores: str | None = field(None, help="the model's sad.h5 with a SED group (genomodel sad --gtf), or a SED "
                               "table (genomodel sed)", path=True)
    model: str | None = field(None, help="a saved model folder: the SNPs of `world` are scored with it here")
    world: str | None = field(None, help="with model: the simulated world whose SNPs, genome and genes it scores",
                              path=True)
    scores_out: str | None = field(None, help="with model: keep the sad.h5 here (resumes from "
                                   "<scores_out>.parts); a temporary file by default")
    data: str | None = field(None, help="the model's record folder (sequences.bed): pairs of SNPs in training "
                             "windows and held-out ones are also reported apart", path=True)
    truth_scores: str | None = field(None, help="sad.h5 of the planted truth, run the same way as the ceiling",
                                     path=True)
    shuffles: int = field(99, help="SED shuffles per tissue for the permutation p of |SED-LD| (0: none)")
    n_boot: int = field(1000, help="bootstrap replicates of the enrichment interval (0: none)")
    scale: str = field("abs", help="regressor: abs (|SED-LD|, Basenji 2018), sqrt (sqrt|SED-LD|) or signed")
    unit: str | tuple = field("pair", help="regress per SNP-gene pair, per SNP (max over genes) or both "
                              "(['pair', 'snp'])")
    cluster: str = field("gene", help="clusters of the robust p and the bootstrap: gene, block or none")
    significant: str = field("significant", help="which eQTLs are significant: a column of the tables, or "
                             "'pval_nominal<=1e-5' / 'bh_q<=0.05' for tables without one (GTEx allpairs)")
    prune_r2: float = field(0.5, help="LD pruning threshold r^2")
    prune_window_kb: float = field(1000.0, help="LD pruning window (kb)")
    ld_wind_cm: float | None = field(None, help="LD score window in cM (the default, 1 cM, when no window is set)")
    ld_wind_kb: float | None = field(None, help="LD score window in kb (panels without a genetic map)")
    ld_wind_snps: int | None = field(None, help="LD score window in SNPs")
    drop_duplicate_positions: bool = field(False, help="keep the first panel SNP at each position (multi-allelic "
                                           "sites of 1000 Genomes panels) instead of refusing the panel")
    seed: int = field(0, help="seed of the shuffles and the bootstrap (the same draws for every source)")
    all_shuffled: bool = field(False, help="shuffles and bootstrap for every source x split, not only the "
                               "model's all-SNP rows")

    def __post_init__(self):
        from stats.eqtl.pipeline import EnrichmentOptions
        from stats.io.gtex import tissue_name

        if isinstance(self.eqtl, (str, tuple, list)):
            paths = (self.eqtl,) if isinstance(self.eqtl, str) else self.eqtl
            object.__setattr__(self, "eqtl", {tissue_name(p): p for p in paths})
            if len(self.eqtl) != len(paths):
                raise ValueError("`eqtl`: two files name the same tissue; give {tissue: file}")
        if isinstance(self.unit, str):
            object.__setattr__(self, "unit", (self.unit,))
        if (self.scores is None) == (self.model is None):
            raise ValueError("give exactly one of `scores` (a sad.h5 with SED) and `model` (with `world`)")
        if self.model is not None and self.world is None:
            raise ValueError("`model` scores the SNPs of a simulated `world`: set `world`, or score real data "
                             "with genomodel sad --gtf and pass `scores`")
        if not isinstance(self.targets, dict) or not self.targets:
            raise ValueError("`targets` must map each tissue to a target id or label")
        missing = [t for t in self.eqtl if t not in self.targets]
        if missing:
            raise ValueError(f"`targets` names no target for tissue(s) {missing}")
        enrichment_options(self, n_shuffles=self.shuffles, n_boot=self.n_boot)  # checks the values


def enrichment_options(cfg, **values):
    """The :class:`stats.eqtl.pipeline.EnrichmentOptions` a config sets (``values`` added)."""
    from stats.eqtl.pipeline import EnrichmentOptions

    return EnrichmentOptions(unit=cfg.unit, cluster=cfg.cluster, scale=cfg.scale, significant=cfg.significant,
                             prune_r2=cfg.prune_r2, prune_window_kb=cfg.prune_window_kb, ld_wind_cm=cfg.ld_wind_cm,
                             ld_wind_kb=cfg.ld_wind_kb, ld_wind_snps=cfg.ld_wind_snps,
                             drop_duplicate_positions=cfg.drop_duplicate_positions, **values)


def check_inputs(cfg) -> None:
    """FileNotFoundError naming the key for a ``model`` that is no saved model or a ``data`` folder
    without ``sequences.bed`` (what the config's own file checks cannot see), before any work."""
    from analyses.scoring import check_model

    check_model(cfg.model)
    if cfg.data is not None and not (Path(cfg.data) / "sequences.bed").is_file():
        raise FileNotFoundError(f"config: data = {cfg.data!r} has no sequences.bed (a record folder of "
                                "genomodel data)")


def tissue_seds(path, targets: dict) -> tuple[dict, dict]:
    """Each tissue's SED annotation (``chrom, pos, ref, alt, gene_id, SED``) from a SED file.

    Parameters
    ----------
    path : path-like
        ``sad.h5`` with a SED group, or a SED table (:func:`genocore.scores.read_sed`).
    targets : dict of tissue -> target id or label

    Returns
    -------
    seds : dict of tissue -> DataFrame
    ids : dict of tissue -> target id
    """
    import h5py

    from genocore.scores import read_sad_h5, read_sed

    labels = {}
    if h5py.is_hdf5(path):
        scores = read_sad_h5(path, stats=())
        if scores.sed is None:
            raise ValueError(f"{path}: no SED group (genomodel sad writes one when given --gtf)")
        sed, labels = scores.sed, dict(zip(scores.target_labels or [], scores.target_ids or []))
    else:
        sed = read_sed(path)
    have = [c[len("SED_"):] for c in sed.columns if c.startswith("SED_")]
    seds, ids = {}, {}
    for tissue, target in targets.items():
        tid = target if target in have else labels.get(target)
        if tid not in have:
            raise ValueError(f"{path}: no SED of target {target!r} (tissue {tissue}); its targets are {have[:10]}")
        ids[tissue] = tid
        seds[tissue] = sed[["chrom", "pos", "ref", "alt", "gene_id"]].assign(SED=sed[f"SED_{tid}"].to_numpy())
    return seds, ids


def eqtl_splits(cfg, tables: dict) -> dict:
    """``{"all": tables}``, plus ``train`` / ``heldout`` (pairs whose SNP is / is not in a training
    window) when the config names the model's record folder."""
    from stats.io.gtex import read_eqtl_table

    if cfg.data is None:
        return {"all": tables}
    read = {t: read_eqtl_table(p) for t, p in tables.items()}
    inside = {t: training_mask(cfg.data, d) for t, d in read.items()}
    return {"all": read, "train": {t: d[inside[t]].reset_index(drop=True) for t, d in read.items()},
            "heldout": {t: d[~inside[t]].reset_index(drop=True) for t, d in read.items()}}


def enrichment_runs(cfg, sources: dict, splits: dict, progress, parts=None) -> dict:
    """:func:`stats.eqtl.pipeline.eqtl_enrichment` per source x split (one panel, the same seed). A
    ``train`` or ``heldout`` part that cannot be analysed (too few pairs) is left out with a warning.

    The shuffles and the bootstrap, which cost most of the time, run for the model's all-SNP rows, the
    ones they test; the truth ceiling and the training / held-out parts get the regression and the
    enrichment (their ``p_shuffle`` and interval are NaN) unless ``all_shuffled`` asks for every row.

    Returns
    -------
    dict of (source, split) -> (EqtlEnrichment, target ids by tissue)
    """
    from stats.eqtl.pipeline import eqtl_enrichment, tested_pairs
    from stats.eqtl.tss import read_tss
    from stats.io.panel import ReferencePanel

    panel = ReferencePanel(cfg.bfile_chr)
    tss = read_tss(cfg.gtf) if cfg.gtf is not None else None
    opts = enrichment_options(cfg)
    prepared = {}  # the pairs and LD-score covariates of a split serve every source
    runs = {}
    for source, path in sources.items():
        seds, ids = tissue_seds(path, cfg.targets)
        for split, tables in splits.items():
            progress(f"{source} SED, {split} SNPs")
            full = cfg.all_shuffled or (source == "model" and split == "all")
            try:
                if split not in prepared:
                    prepared[split] = tested_pairs(tables, panel, tss=tss, options=opts)
                res = eqtl_enrichment(
                    tables, bfile_chr=panel, ld_blocks=cfg.ld_blocks, build=cfg.build, tss=tss, sed=seds,
                    rng=np.random.default_rng(cfg.seed), prepared=prepared[split],
                    options=enrichment_options(cfg, n_shuffles=cfg.shuffles if full else 0,
                                               n_boot=cfg.n_boot if full else 0),
                    parts=parts.parts(f"{source}-{split}") if parts is not None and full else None)
            except ValueError as err:  # a training / held-out part too small to regress is left out
                if split == "all":
                    raise
                logger.warning("%s SED, %s SNPs: not analysed (%s)", source, split, err)
                continue
            runs[(source, split)] = (res, ids)
    return runs


def result_tables(runs: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``results`` (the headline columns), ``summary`` (everything) and ``quantiles``, one row per
    tissue x source x split x unit (x quantile)."""
    summaries, quantiles = [], []
    for (source, split), (res, ids) in runs.items():
        s = res.summary.assign(source=source, split=split)
        s.insert(1, "target", s["tissue"].map(ids))
        summaries.append(s.merge(res.pruning, on="tissue", how="left") if len(res.pruning) else s)
        quantiles.append(res.quantiles.assign(source=source, split=split))
    summary = pd.concat(summaries, ignore_index=True)
    keys = ["tissue", "source", "split", "target", "unit", "scale"]
    summary = summary[keys + [c for c in summary.columns if c not in keys]]
    results = summary.reindex(columns=keys + list(RESULT_COLUMNS))
    return results, summary, pd.concat(quantiles, ignore_index=True)


def panel_figure(runs: dict, path, *, unit: str) -> Path:
    """The quantile enrichment of every tissue (columns), one row per source (all SNPs)."""
    from stats.eqtl.figures import panel_figure as draw

    panels, tissues = [], None
    for (source, split), (res, _) in runs.items():
        if split != "all":
            continue
        keys = [k for k in res.results if k[2] == unit]
        tissues = tissues or len(keys)
        panels += [dataclasses.replace(res.results[k], tissue=f"{k[0]} ({source})") for k in keys]
    return draw(panels, path, ncols=tissues)


def report(results: pd.DataFrame, cfg) -> str:
    """``report.md``: what was run, the headline table and the figure."""
    from analyses.report import markdown_table

    shown = results[["tissue", "source", "split", "target", "n", "ld_tss_coef", "ld_tss_p_cluster_pos",
                     "p_shuffle", "shuffles_p05", "enrichment", "enrichment_lo", "enrichment_hi"]]
    ceiling = ("The planted truth (`source = truth`) is the same analysis on the true SED: the ceiling. "
               if cfg.truth_scores else "")
    split = ("Pairs whose SNP lies in the model's training windows (`train`) and the held-out rest "
             "(`heldout`) are also analysed apart. " if cfg.data else "")
    regressor = {"abs": "|SED-LD|", "sqrt": "sqrt(|SED-LD|)"}.get(cfg.scale, "SED-LD")
    return (f"# eQTL enrichment of |SED-LD| (Basenji 2018, Fig. 5)\n\n"
            f"Per tissue: OLS of eQTL chi^2 on LD score and {regressor}"
            " with the TSS-distance LD scores; `ld_tss_p_cluster_pos` is the one-sided cluster-robust p "
            f"({cfg.cluster} clusters), `p_shuffle` the permutation p against {cfg.shuffles} shuffled SEDs, "
            "`enrichment` the share of significant eQTLs in the top quantile over the bottom three. "
            f"{ceiling}{split}Every number: `summary.tsv`; quantiles: `quantiles.tsv`.\n\n"
            f"{markdown_table(shown)}\n\n![quantile enrichment by tissue](panel.png)\n")


def run(cfg: Config, progress, *, parts=None) -> OutputFolder:
    """The analysis: SED per tissue from each source, the enrichment per source x split, tables,
    the panel figure and the report (``parts``: where the shuffles' finished batches are kept)."""
    from analyses.scoring import h5_provenance

    check_inputs(cfg)
    with tempfile.TemporaryDirectory(prefix="eqtl_enrichment.") as tmp:
        sources = {"model": model_scores(cfg, tmp, progress=progress)}
        if cfg.truth_scores is not None:
            sources["truth"] = Path(cfg.truth_scores)
        prov = h5_provenance(sources["model"])
        runs = enrichment_runs(cfg, sources, eqtl_splits(cfg, dict(cfg.eqtl)), progress, parts=parts)
    results, summary, quantiles = result_tables(runs)
    unit = cfg.unit[0]
    out = OutputFolder(tables={"results.tsv": results, "summary.tsv": summary, "quantiles.tsv": quantiles},
                       texts={"report.md": report(results, cfg)},
                       figures={"panel.png": lambda path: panel_figure(runs, path, unit=unit)})
    if prov is not None:
        out.add_json("model_scores_provenance.json", prov)
    return out


def demo(world, out) -> Config:
    """The simulated world: the demo's model scores its SNPs (SED of each tissue's cell type, whose
    CAGE target ``truth.json`` names), with the planted truth as the ceiling."""
    import json

    world = Path(world)
    truth = json.loads((world / "truth.json").read_text())
    return Config(eqtl={t: str(world / "eqtl" / f"{t}.allpairs.txt.gz") for t in truth["eqtl"]},
                  targets={t: f"CAGE:{i['cell_type']}" for t, i in truth["eqtl"].items()},
                  bfile_chr=str(world / "genotypes" / "ref_panel.chr{chrom}"),
                  ld_blocks=str(world / "genotypes" / "ldblocks.bed"), build=truth.get("genome_build", "simworld1"),
                  gtf=str(world / "genome" / "genes.gtf"), n_boot=200,
                  # the training / held-out split rows cost a third of make demo's 10 minutes: the demo leaves them
                  # to gtex_sldp; a config with `data` reports them here too
                  **{**demo_scores(world, out), "data": None})


#: The paper's headline, reported beside this suite's numbers.
PAPER = ("top-quintile over bottom-three SED-LD enrichment of eQTLs 3-7x in every one of 19 GTEx tissues "
         "(Basenji 2018, Fig. 5)")

ANALYSIS = Analysis(name="eqtl_enrichment", description="eQTL enrichment of model SED by tissue: |SED-LD| "
                    "covariate regression and quantile enrichment (Basenji 2018, Fig. 5)", config=Config, run=run,
                    demo=demo, paper=PAPER, resumable=True)

if __name__ == "__main__":
    sys.exit(main(ANALYSIS))
