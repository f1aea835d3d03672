"""The eQTL |SED-LD| covariate regression and quantile enrichment of many tissues, from files.

:func:`eqtl_enrichment` composes the stages, each usable on its own:

1. :func:`stats.eqtl.sed_ld.sed_tables`: the SED annotation of each tissue, matched to the panel by
   chromosome, position and alleles (:func:`stats.eqtl.sed_ld.match_sed_to_panel`);
2. :func:`stats.eqtl.pairs.pruned_eqtl_pairs`: eQTL pairs matched to the panel by position and alleles
   (``chi2 = z^2``), SNPs LD-pruned;
3. :func:`stats.eqtl.covariates.ld_score_covariates` (and :func:`~stats.eqtl.covariates.add_cis_ld_scores`):
   LD scores, TSS-distance LD scores (and cis LD scores) from the panel;
4. :func:`stats.eqtl.shuffles.shuffled_controls` and :func:`stats.eqtl.tables.annotation_tables`: SED-LD of
   the annotation and its shuffled controls at the kept pairs, one regression table per unit;
5. :func:`stats.eqtl.shuffles.shuffle_null_t`: the permutation null of |SED-LD| (``n_shuffles``);
6. :func:`regress_tables`: :func:`stats.eqtl.regression.covariate_regression` and the quantile enrichment
   of every table, with the permutation test.

The reference panel is opened once (:class:`stats.io.panel.ReferencePanel`) and passed to every stage, so
each of its .bim and .fam files is parsed once per run.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np
import pandas as pd

from genocore.outputs import OutputFolder
from stats.eqtl.covariates import add_cis_ld_scores, ld_score_covariates
from stats.eqtl.pairs import pruned_eqtl_pairs
from stats.eqtl.regression import SCALES, CovregResult, shuffle_t, table_regression
from stats.eqtl.sed_ld import sed_tables
from stats.eqtl.shuffles import CONTROLS, shuffle_null_t, shuffle_test, shuffled_controls
from stats.eqtl.tables import CLUSTERS, UNITS, RegressionTables, annotation_tables, snp_blocks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnrichmentOptions:
    """Options of :func:`eqtl_enrichment` (checked on construction).

    Attributes
    ----------
    sed_column : str
        Column of the SED scores in the SED tables.
    unit : {"pair", "snp"} or tuple of them
        Regress per SNP-gene pair, per SNP (:func:`stats.eqtl.tables.aggregate_to_snps`: max chi^2, any
        significant, max |SED-LD| over the SNP's genes), or both.
    significant : str
        Column of the eQTL tables flagging significant eQTLs.
    annotation : str
        Label of the SED annotation in the output.
    controls : tuple of {"shuffled", "shuffled_in_gene"}
        Shuffled controls also analysed (:func:`stats.eqtl.shuffles.shuffled_controls`).
    prune_r2, prune_window_kb : float
        LD pruning threshold (Basenji 2018: 0.5) and window (kb).
    ld_wind_cm, ld_wind_kb, ld_wind_snps : float, float, int
        LD score window: at most one (default 1 cM; a panel without a genetic map needs kb or SNPs).
    drop_duplicate_positions : bool
        Keep the first panel SNP at each position (:func:`stats.ld.scores.ld_scores`).
    n_boot : int
        Bootstrap replicates of the enrichment interval (0: none).
    cis_ld_covariate : bool
        Add each pair's cis LD score (``CIS_L2``, the tissue's tested pairs as the genes' cis SNPs; per SNP
        the max over its genes) to both models.
    cluster : {"block", "gene", "none"}
        Clusters of the cluster-robust p (t reference, ``G - 1`` df) and of the bootstrap
        (:mod:`stats.eqtl.tables`). Read the one-sided ``p_cluster_pos``, not the two-sided
        ``p_cluster``: on the default simulated world, with the SED shuffled across pairs and gene
        clusters, ``p_cluster_pos < 0.05`` in 6.2% of 600 shuffles (95% interval 4.4-8.4%) but
        ``p_cluster < 0.05`` in 14.7% (``validation/covreg_shuffle_calibration.py``). On a world with
        few genes and blocks even the one-sided p rejects too often (8-18% on the 2 x 500 kb test world):
        ask ``n_shuffles`` for the exact permutation p.
    n_shuffles : int
        Shuffled annotations per tissue for the permutation p of |SED-LD| (0: none): every row gets
        ``t_shuffle``, ``p_shuffle``, ``n_shuffles`` and ``shuffles_p05``
        (:func:`stats.eqtl.shuffles.shuffle_test`).
    shuffle_batch : int
        Shuffles per pass over the LD blocks.
    scale : {"abs", "sqrt", "signed"}
        The regressor made of SED-LD (:func:`stats.eqtl.regression.scale_sed_ld`): |SED-LD| (Basenji
        2018) or sqrt(|SED-LD|), far more powerful and better calibrated on the simulated world.
    n_quantiles, n_bottom : int
        Quantiles, and the bottom ones of the headline (:func:`stats.eqtl.enrichment.quantile_enrichment`).
    ci : float
        Coverage of the bootstrap interval.
    """

    sed_column: str = "SED"
    unit: str | tuple = "pair"
    significant: str = "significant"
    annotation: str = "SED"
    controls: tuple = ()
    prune_r2: float = 0.5
    prune_window_kb: float = 1000
    ld_wind_cm: float | None = None
    ld_wind_kb: float | None = None
    ld_wind_snps: int | None = None
    drop_duplicate_positions: bool = False
    n_boot: int = 1000
    cis_ld_covariate: bool = False
    cluster: str = "gene"
    n_shuffles: int = 0
    shuffle_batch: int = 25
    scale: str = "abs"
    n_quantiles: int = 5
    n_bottom: int = 3
    ci: float = 0.95

    def __post_init__(self):
        if [u for u in self.units if u not in UNITS] or not self.units:
            raise ValueError(f"unit must be 'pair' or 'snp' (or both), got {self.unit!r}")
        object.__setattr__(self, "controls", tuple(self.controls))  # frozen: normalize once
        for c in self.controls:
            if c not in CONTROLS:
                raise ValueError(f"unknown control {c!r}; known: {CONTROLS}")
        if self.cluster not in CLUSTERS:
            raise ValueError(f"cluster must be one of {CLUSTERS}, got {self.cluster!r}")
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {self.scale!r}")
        if sum(w is not None for w in (self.ld_wind_cm, self.ld_wind_kb, self.ld_wind_snps)) > 1:
            raise ValueError("give at most one of ld_wind_cm, ld_wind_kb, ld_wind_snps")
        if self.n_shuffles < 0 or self.shuffle_batch < 1:
            raise ValueError(f"n_shuffles must be >= 0 and shuffle_batch >= 1, got {self.n_shuffles}, "
                             f"{self.shuffle_batch}")

    @property
    def ld_options(self) -> dict:
        """The LD-score options (:func:`stats.eqtl.covariates.ld_window`)."""
        from stats.eqtl.covariates import ld_window

        return ld_window(wind_cm=self.ld_wind_cm, wind_kb=self.ld_wind_kb, wind_snps=self.ld_wind_snps,
                         drop_duplicate_positions=self.drop_duplicate_positions or None)

    @property
    def units(self) -> tuple:
        """``unit`` as a tuple."""
        return (self.unit,) if isinstance(self.unit, str) else tuple(self.unit)

    @property
    def needs_rng(self) -> bool:
        """Whether a random generator is needed (controls, bootstrap or shuffles)."""
        return bool(self.controls or self.n_boot or self.n_shuffles)


@dataclass(eq=False)
class EqtlEnrichment:
    """What :func:`eqtl_enrichment` returns.

    Attributes
    ----------
    summary : DataFrame
        One row per (tissue, annotation, unit): ``annotation, unit, scale``,
        :meth:`stats.eqtl.regression.CovregResult.summary` and, with shuffles, the permutation test.
    quantiles : DataFrame
        ``tissue, annotation, unit, quantile, n, n_significant, share, enrichment``.
    results : dict of (tissue, annotation, unit) -> CovregResult
    tables : dict of (tissue, annotation, unit) -> DataFrame
        The regression tables (:mod:`stats.eqtl.tables`).
    pruning : DataFrame
        Per tissue: ``pairs`` (read), ``pairs_matched`` (to the panel), ``snps`` (matched), ``snps_kept``
        (after LD pruning), ``pairs_kept``.
    null_t : dict of (tissue, unit) -> ndarray
        With shuffles: the |SED-LD| t statistics of the shuffled annotations.
    """

    summary: pd.DataFrame
    quantiles: pd.DataFrame
    results: dict
    tables: dict
    pruning: pd.DataFrame
    null_t: dict = field(default_factory=dict)

    def result(self, tissue: str, annotation: str | None = None, unit: str | None = None) -> CovregResult:
        """The result of one tissue (annotation / unit may be left out when there is only one)."""
        hits = [k for k in self.results if k[0] == tissue and annotation in (None, k[1]) and unit in (None, k[2])]
        if len(hits) != 1:
            raise KeyError(f"{(tissue, annotation, unit)}: {len(hits)} results match (have {list(self.results)})")
        return self.results[hits[0]]


def regress_tables(tables: Mapping[tuple, pd.DataFrame], *, regression_tables: RegressionTables,
                   options: EnrichmentOptions, rng: np.random.Generator | None = None, null_t: Mapping | None = None,
                   pruning: pd.DataFrame | None = None, progress=None) -> EqtlEnrichment:
    """Covariate regression and quantile enrichment of every regression table, and their summary.

    Parameters
    ----------
    tables : mapping of (tissue, annotation, unit) -> DataFrame
        Regression tables (:func:`stats.eqtl.tables.annotation_tables`).
    regression_tables : RegressionTables
        Gives each table's clusters.
    options : EnrichmentOptions
        ``scale, n_boot, cluster, n_quantiles, n_bottom, ci``.
    rng : numpy.random.Generator, optional
        The bootstraps', in the order of ``tables``.
    null_t : mapping of (tissue, unit) -> ndarray, optional
        Shuffles' t statistics (:func:`stats.eqtl.shuffles.shuffle_null_t`): adds the permutation test.
    pruning : DataFrame, optional
        Carried into the result.
    progress : callable, optional
        ``progress(done, total, "regressions")`` after each table.

    Returns
    -------
    EqtlEnrichment
    """
    results, summaries, rows_q = {}, [], []
    for (tissue, label, u), t in tables.items():
        groups = regression_tables.groups(t, u)
        res = table_regression(t, groups=groups, cluster=options.cluster, tissue=str(tissue), scale=options.scale,
                               n_boot=options.n_boot, rng=rng, n_quantiles=options.n_quantiles,
                               n_bottom=options.n_bottom, ci=options.ci)
        results[(tissue, label, u)] = res
        extra = (shuffle_test(res, shuffle_t(t, groups, scale=options.scale), null_t[(tissue, u)])
                 if null_t else {})
        summaries.append({"annotation": label, "unit": u, "scale": options.scale, **res.summary(), **extra})
        rows_q.append(res.quantiles.assign(tissue=tissue, annotation=label, unit=u))
        if progress is not None:
            progress(len(results), len(tables), "regressions")
    quantiles = pd.concat(rows_q, ignore_index=True)[["tissue", "annotation", "unit", "quantile", "n",
                                                       "n_significant", "share", "enrichment"]]
    return EqtlEnrichment(summary=pd.DataFrame(summaries), quantiles=quantiles, results=results, tables=dict(tables),
                          pruning=pd.DataFrame() if pruning is None else pruning, null_t=dict(null_t or {}))


def tested_pairs(eqtl_tables: Mapping, panel, *, tss, options: EnrichmentOptions) -> tuple:
    """The annotation-free part of :func:`eqtl_enrichment`: the tested and LD-pruned pairs of every tissue,
    the pruning counts and the regression tables' LD-score covariates. Computed once, it serves every SED
    source regressed on the same eQTL tables (``prepared=``).

    Returns
    -------
    tuple
        ``(tested, kept, pruning, regression_tables)`` (:func:`stats.eqtl.pairs.pruned_eqtl_pairs`,
        :class:`stats.eqtl.tables.RegressionTables`).
    """
    from stats.io.panel import as_panel

    ref = as_panel(panel)
    tested, kept, pruning = pruned_eqtl_pairs(eqtl_tables, ref, significant=options.significant,
                                              prune_r2=options.prune_r2, prune_window_kb=options.prune_window_kb)
    snp_scores, pair_tss = ld_score_covariates(ref, tested, tss=tss, units=options.units, **options.ld_options)
    return tested, kept, pruning, (snp_scores, pair_tss)


def eqtl_enrichment(eqtl_tables: Mapping, *, bfile_chr, ld_blocks, build: str, tss, sed,
                    rng: np.random.Generator | None = None, lengths: dict | None = None,
                    options: EnrichmentOptions | None = None, prepared: tuple | None = None, progress=None,
                    parts=None, **option_values) -> EqtlEnrichment:
    """The eQTL |SED-LD| covariate regression and quantile enrichment of many tissues, from files.

    Parameters
    ----------
    eqtl_tables : mapping of str -> DataFrame or path
        Tissue -> GTEx ``allpairs`` table (file, or :func:`stats.io.gtex.read_eqtl_table` output).
    bfile_chr : ReferencePanel, str or Path
        Reference panel: an open :class:`stats.io.panel.ReferencePanel`, or what it opens (per-chromosome
        template ``ref.{chrom}``, ldsc-style prefix or one fileset); opened once and passed to every stage.
    ld_blocks : str, Path or DataFrame
        LD blocks (BED).
    build : str
        Genome build of panel and blocks (``hg19``, ``hg38``, ``simworld1``).
    tss : DataFrame, str, Path or None
        TSSs (:func:`stats.eqtl.tss.read_tss`) or a GTF to read them from; None: model ``ld`` only.
    sed : DataFrame or mapping of str -> DataFrame
        SED scores ``chrom, pos, ref, alt, [gene_id,] <sed_column>`` (1-based position; the value is alt minus
        ref), as ``genomodel sed`` writes them (:func:`genocore.scores.read_sed`); per SNP-gene pair with
        ``gene_id``, else per SNP. Matched to the panel by chromosome, position and alleles
        (:func:`stats.eqtl.sed_ld.match_sed_to_panel`). A mapping gives each tissue its own.
    rng : numpy.random.Generator, optional
        Needed for controls, bootstraps and shuffles; drawn by the controls and one shuffle seed per
        tissue (tissue by tissue), then by the bootstraps (in the order of :attr:`EqtlEnrichment.results`).
    lengths : dict, optional
        Chromosome lengths for the LD block check.
    options : EnrichmentOptions, optional
    prepared : tuple, optional
        :func:`tested_pairs` of these tables, panel, TSSs and options (reused from an earlier run).
    progress : callable, optional
        ``progress(done, total, stage)`` after each tissue's tables and shuffles (stage ``"tissues"``)
        and each regression with its bootstrap (``"regressions"``).
    parts : genocore.resume.RunParts, optional
        Each batch of shuffles is saved there and read back on a resume
        (:func:`stats.eqtl.shuffles.shuffle_null_t`); the caller removes it once the output is written.
    **option_values
        Fields of :class:`EnrichmentOptions`, overriding ``options``.

    Returns
    -------
    EqtlEnrichment
        Keyed by ``(tissue, annotation, unit)``: tissue, then annotation (then the controls), then unit.

    Raises
    ------
    ValueError
        Bad options, an eQTL table matching nothing in the panel (naming it), missing columns, a SED
        table matching no panel SNP, or a tissue too small to regress.
    FileNotFoundError
        A missing eQTL table, GTF or panel.
    """
    from stats.eqtl.tss import read_tss
    from stats.io.ldblocks import read_ldblocks
    from stats.io.panel import as_panel

    opts = replace(options or EnrichmentOptions(), **option_values)
    if opts.needs_rng and rng is None:
        raise ValueError("controls, n_boot > 0 and n_shuffles > 0 need rng (a numpy Generator)")
    if not eqtl_tables:
        raise ValueError("no eQTL tables")
    ref = as_panel(bfile_chr)
    seds = sed_tables(sed, eqtl_tables, panel=ref, value=opts.sed_column)  # checks every table, then matches
    bim, tss = ref.allele_table(), tss if tss is None or isinstance(tss, pd.DataFrame) else read_tss(tss)
    blocks = ld_blocks if isinstance(ld_blocks, pd.DataFrame) else read_ldblocks(ld_blocks)
    panel = {"panel": ref, "blocks": blocks, "build": build, "lengths": lengths}
    tested, kept, pruning, (snp_scores, pair_tss) = prepared or tested_pairs(eqtl_tables, ref, tss=tss, options=opts)
    maker = RegressionTables(snp_scores, pair_tss, snp_blocks(bim, blocks), units=opts.units, cluster=opts.cluster)
    tables, null_t = {}, {}
    for n_done, (tissue, pairs) in enumerate(kept.items(), 1):
        _tissue_tables(tissue, pairs, opts, tested=tested[tissue], sed=seds[tissue], bim=bim, maker=maker,
                       panel=panel, rng=rng, tables=tables, null_t=null_t, parts=parts, key=f"tissue{n_done:03d}")
        if progress is not None:
            progress(n_done, len(kept), "tissues")
    return regress_tables(tables, regression_tables=maker, options=opts, rng=rng, null_t=null_t,
                          pruning=pd.DataFrame(pruning), progress=progress)


def _tissue_tables(tissue, pairs, opts: EnrichmentOptions, *, tested, sed, bim, maker, panel, rng, tables: dict,
                   null_t: dict, parts=None, key: str = "shuffles") -> None:
    """One tissue's regression tables (its annotation and controls) and shuffle null, into ``tables`` and ``null_t``."""
    if opts.cis_ld_covariate:
        pairs = add_cis_ld_scores(pairs, cis=tested, **panel)
    anns = {opts.annotation: sed, **shuffled_controls(sed, tested, bim, controls=opts.controls, rng=rng)}
    for (label, u), t in annotation_tables(pairs, anns, tables=maker, **panel).items():
        tables[(tissue, label, u)] = t
    if opts.n_shuffles:
        srng = np.random.default_rng(int(rng.integers(2**63)))  # one seed per tissue, after its controls
        null = shuffle_null_t(sed, tested, pairs, tables=maker, **panel, n_shuffles=opts.n_shuffles,
                              batch=opts.shuffle_batch, scale=opts.scale, rng=srng, parts=parts, key=key)
        null_t.update({(tissue, u): v for u, v in null.items()})
        logger.info("%s: %d shuffled annotations for the permutation p of |SED-LD|", tissue, opts.n_shuffles)


def enrichment_outputs(res: EqtlEnrichment, *, tissues) -> OutputFolder:
    """The output folder of one :func:`eqtl_enrichment` run: ``covreg.tsv`` (the summary with the
    pruning counts per tissue), ``quantiles.tsv``, ``<tissue>.png`` per tissue and ``panel.png``.

    Parameters
    ----------
    res : EqtlEnrichment
        A run with one annotation and one unit (as ``genostats covreg`` makes).
    tissues : sequence of str

    Returns
    -------
    genocore.outputs.OutputFolder
    """
    from stats.eqtl.figures import panel_figure, tissue_figure

    tissues = list(tissues)
    figures = {f"{t}.png": (lambda path, t=t: tissue_figure(res.result(t), path)) for t in tissues}
    figures["panel.png"] = lambda path: panel_figure([res.result(t) for t in tissues], path,
                                                     ncols=min(4, len(tissues)))
    return OutputFolder(tables={"covreg.tsv": res.summary.merge(res.pruning, on="tissue", how="left"),
                                "quantiles.tsv": res.quantiles}, figures=figures)
