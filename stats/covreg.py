"""LD-score covariate regression of eQTL chi^2 on |SED-LD|, and the quantile enrichment (Basenji 2018, Fig. 5).

Per tissue, on LD-pruned variants (SNPs, or SNP-gene pairs):

* OLS (statsmodels) of the eQTL ``chi^2`` on ``1 + L2 + |SED-LD|`` (model ``ld``), then on
  ``1 + L2 + TSS-distance L2s + |SED-LD|`` (model ``ld_tss``); the |SED-LD| coefficient, its SE, t and
  p (two-sided) are reported for both. ``SED-LD`` is the signed LD profile ``R v`` of the SED scores
  (:func:`stats.signed_ld.signed_ld_profile`, per LD block), per SNP or gene by gene over the cis SNPs
  (:func:`sed_ld`).
* Quantile enrichment: every variant is ranked by ``fitted(with |SED-LD|) - fitted(without)`` of the
  last model (``ld_tss`` when TSS covariates are given), cut into ``n_quantiles`` (5) equal-size
  quantiles (ties broken by input order); each quantile's share of significant eQTLs is divided by the
  overall share, and the headline is the top quantile's share over the mean share of the bottom three.
  Its interval comes from a bootstrap over variants (both models refitted, variants re-ranked).

Inputs are arrays / DataFrames; :func:`match_eqtl_to_panel` and :func:`sed_ld` build them from a GTEx
table (:func:`stats.io.gtex.read_eqtl_table`) and a PLINK panel.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from stats.alleles import match_alleles
from stats.io.ldblocks import normalize_chrom

logger = logging.getLogger(__name__)

MODELS = ("ld", "ld_tss")


@dataclass(eq=False)
class CovregResult:
    """The covariate regression and enrichment of one tissue.

    Attributes
    ----------
    tissue : str
    n : int
        Variants (rows) in the regression.
    n_significant : int
    coefficients : DataFrame
        One row per model fitted (index ``ld``, ``ld_tss``): ``coef, se, t, p`` of |SED-LD| (plain OLS),
        ``n_covariates``, ``r2``, and with clusters ``se_cluster, z_cluster, p_cluster``.
    quantiles : DataFrame, n_quantiles rows
        ``quantile`` (1 = lowest), ``n``, ``n_significant``, ``share`` (of significant eQTLs),
        ``enrichment`` (share / overall share).
    enrichment : float
        Top quantile's share over the mean share of the bottom three.
    enrichment_ci : tuple of float
        Bootstrap percentile interval (NaN when no bootstrap was asked).
    enrichment_model : str
        The model whose fitted-value difference ranks the variants.
    bootstrap : ndarray, float64, shape (n_boot,)
        The bootstrap headline values.
    """

    tissue: str
    n: int
    n_significant: int
    coefficients: pd.DataFrame
    quantiles: pd.DataFrame
    enrichment: float
    enrichment_ci: tuple
    enrichment_model: str
    bootstrap: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def summary(self) -> dict:
        """Flat record for a table row / JSON."""
        out = {"tissue": self.tissue, "n": self.n, "n_significant": self.n_significant}
        for model, row in self.coefficients.iterrows():
            for k in ("coef", "se", "t", "p", "se_cluster", "z_cluster", "p_cluster"):
                if k in row.index:
                    out[f"{model}_{k}"] = float(row[k])
        out.update({"enrichment": float(self.enrichment), "enrichment_lo": float(self.enrichment_ci[0]),
                    "enrichment_hi": float(self.enrichment_ci[1]), "enrichment_model": self.enrichment_model})
        for q, e in zip(self.quantiles["quantile"], self.quantiles["enrichment"]):
            out[f"q{int(q)}_enrichment"] = float(e)
        return out


# -- the statistics ------------------------------------------------------------------------------------

def quantile_labels(score, *, n_quantiles: int = 5) -> np.ndarray:
    """Equal-size quantiles of ``score`` (0 = lowest), ties broken by input order.

    Parameters
    ----------
    score : array_like, float, shape (n,)
    n_quantiles : int

    Returns
    -------
    ndarray, int64, shape (n,)
        Quantile of each variant; sizes differ by at most one (``floor(rank * k / n)``).
    """
    score = np.asarray(score, dtype=np.float64)
    n = len(score)
    order = np.argsort(score, kind="stable")
    lab = np.empty(n, dtype=np.int64)
    lab[order] = (np.arange(n) * int(n_quantiles)) // max(n, 1)
    return lab


def quantile_enrichment(score, significant, *, n_quantiles: int = 5, n_bottom: int = 3
                        ) -> tuple[pd.DataFrame, float]:
    """Share of significant eQTLs per quantile of ``score``, over the overall share.

    Parameters
    ----------
    score : array_like, float, shape (n,)
        Ranking score (the fitted-value difference).
    significant : array_like, bool, shape (n,)
    n_quantiles : int
    n_bottom : int
        Quantiles averaged in the headline's denominator.

    Returns
    -------
    table : DataFrame, n_quantiles rows
        ``quantile`` (1..n_quantiles), ``n``, ``n_significant``, ``share``, ``enrichment``.
    headline : float
        ``share[top] / mean(share[bottom n_bottom])`` (inf when the bottom quantiles hold no
        significant eQTL, NaN when none is significant at all).
    """
    sig = np.asarray(significant, dtype=bool)
    lab = quantile_labels(score, n_quantiles=n_quantiles)
    n_q = np.bincount(lab, minlength=n_quantiles)
    s_q = np.bincount(lab, weights=sig.astype(np.float64), minlength=n_quantiles)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = s_q / n_q
        overall = sig.mean() if len(sig) else np.nan
        enr = share / overall
        headline = share[-1] / share[:n_bottom].mean()
    table = pd.DataFrame({"quantile": np.arange(1, n_quantiles + 1), "n": n_q, "n_significant": s_q.astype(np.int64),
                          "share": share, "enrichment": enr})
    return table, float(headline)


def _headline(score, sig, *, n_quantiles: int, n_bottom: int) -> float:
    """The headline of :func:`quantile_enrichment` without building its table (bootstrap inner loop)."""
    lab = quantile_labels(score, n_quantiles=n_quantiles)
    n_q = np.bincount(lab, minlength=n_quantiles)
    s_q = np.bincount(lab, weights=sig.astype(np.float64), minlength=n_quantiles)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = s_q / n_q
        return float(share[-1] / share[:n_bottom].mean())


def _fitted_difference(full: np.ndarray, base: np.ndarray, y: np.ndarray) -> np.ndarray:
    """OLS fitted values with minus without the last column of ``full``, by the normal equations
    (a few columns, many rows: faster than ``lstsq`` in the bootstrap)."""
    bf = np.linalg.solve(full.T @ full, full.T @ y)
    k = base.shape[1]
    bb = np.linalg.solve(full[:, :k].T @ full[:, :k], full[:, :k].T @ y)
    return full @ bf - base @ bb


def _design(ld_score, covariates):
    cols = [np.ones(len(ld_score)), ld_score] + ([] if covariates is None else list(covariates.T))
    return np.column_stack(cols)


def _ols(y, x, groups=None):
    import statsmodels.api as sm

    if groups is None:
        return sm.OLS(y, x).fit()
    return sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": groups})


def covariate_regression(chi2, ld_score, sed_ld, *, significant, tss_ld=None, tissue: str = "",
                         n_quantiles: int = 5, n_bottom: int = 3, n_boot: int = 1000,
                         rng: np.random.Generator | None = None, ci: float = 0.95,
                         absolute: bool = True, groups=None) -> CovregResult:
    """Regress eQTL chi^2 on LD score and |SED-LD| (then adding TSS-distance LD scores); quantile enrichment.

    Parameters
    ----------
    chi2 : array_like, float, shape (n,)
        eQTL chi^2 (z^2) per variant or SNP-gene pair.
    ld_score : array_like, float, shape (n,)
        LD score (``L2``) of each variant.
    sed_ld : array_like, float, shape (n,)
        SED-LD (signed LD profile of SED scores); its absolute value enters (``absolute``).
    significant : array_like, bool, shape (n,)
        Significant eQTL (e.g. GTEx ``significant`` / q <= 0.05).
    tss_ld : array_like, float, shape (n, n_tss), optional
        TSS-distance LD scores; adds model ``ld_tss``.
    tissue : str
        Name carried into the result.
    n_quantiles, n_bottom : int
        See :func:`quantile_enrichment`.
    n_boot : int
        Bootstrap replicates for the headline interval (0: none). Needs ``rng``.
    rng : numpy.random.Generator, optional
    ci : float
        Coverage of the percentile interval.
    absolute : bool
        Take ``|sed_ld|`` (False: use ``sed_ld`` as given).
    groups : array_like, shape (n,), optional
        Cluster labels (e.g. gene ids of SNP-gene pairs, LD blocks of SNPs). Significant eQTLs and
        SED-LD values cluster by gene, which plain OLS ignores: with ``groups`` the bootstrap draws whole
        clusters with replacement, and cluster-robust (statsmodels ``cov_type="cluster"``) ``se_cluster,
        z_cluster, p_cluster`` are reported beside the plain OLS ``se, t, p`` (the paper's). Default: rows.

    Returns
    -------
    CovregResult

    Raises
    ------
    ValueError
        For inputs of different lengths, non-finite values, too few rows, a constant |SED-LD|, or
        ``n_boot > 0`` without ``rng``.
    """
    y = np.asarray(chi2, dtype=np.float64)
    n = len(y)
    l2 = np.asarray(ld_score, dtype=np.float64)
    s = np.asarray(sed_ld, dtype=np.float64)
    s = np.abs(s) if absolute else s
    sig = np.asarray(significant)
    if sig.dtype != bool:
        if not np.isin(sig, [0, 1]).all():
            raise ValueError("significant must be boolean (or 0/1)")
        sig = sig.astype(bool)
    cov = None
    if tss_ld is not None:
        cov = np.asarray(tss_ld, dtype=np.float64)
        cov = cov[:, None] if cov.ndim == 1 else cov
    for name, a in (("ld_score", l2), ("sed_ld", s), ("significant", sig)) + ((("tss_ld", cov),) if cov is not None
                                                                               else ()):
        if len(a) != n:
            raise ValueError(f"{name} has {len(a)} rows but chi2 has {n}")
    for name, a in (("chi2", y), ("ld_score", l2), ("sed_ld", s)) + ((("tss_ld", cov),) if cov is not None else ()):
        if not np.isfinite(a).all():
            raise ValueError(f"{name}: {int((~np.isfinite(a)).sum())} non-finite values; drop those rows first")
    p_max = 3 + (0 if cov is None else cov.shape[1])
    if n < max(p_max + 2, n_quantiles):
        raise ValueError(f"{tissue or 'covariate regression'}: {n} rows are too few for {p_max} parameters and "
                         f"{n_quantiles} quantiles")
    if np.ptp(s) == 0:
        raise ValueError(f"{tissue or 'covariate regression'}: |SED-LD| is constant ({s[0]:g}) over all {n} rows; "
                         "the annotation matched no variant in LD with the eQTL variants?")
    if n_boot and rng is None:
        raise ValueError("n_boot > 0 needs rng (a numpy Generator)")
    group_codes = None
    if groups is not None:
        group_codes = pd.factorize(pd.Series(np.asarray(groups)), sort=False)[0]
        if len(group_codes) != n:
            raise ValueError(f"groups has {len(group_codes)} rows but chi2 has {n}")
    rows, fits = {}, {}
    specs = [("ld", None)] + ([("ld_tss", cov)] if cov is not None else [])
    for model, c in specs:
        base = _design(l2, c)
        full = np.column_stack([base, s])
        f_full, f_base = _ols(y, full), _ols(y, base)
        k = full.shape[1] - 1
        rows[model] = {"coef": f_full.params[k], "se": f_full.bse[k], "t": f_full.tvalues[k], "p": f_full.pvalues[k],
                       "n_covariates": base.shape[1] - 1, "r2": f_full.rsquared}
        if group_codes is not None:
            fc = _ols(y, full, groups=group_codes)
            rows[model].update({"se_cluster": fc.bse[k], "z_cluster": fc.tvalues[k], "p_cluster": fc.pvalues[k]})
        fits[model] = (full, base, f_full.fittedvalues - f_base.fittedvalues)
    coefficients = pd.DataFrame.from_dict(rows, orient="index")
    model = specs[-1][0]
    full, base, diff = fits[model]
    quant, headline = quantile_enrichment(diff, sig, n_quantiles=n_quantiles, n_bottom=n_bottom)
    boot = np.zeros(0)
    lo = hi = np.nan
    if n_boot:
        boot = np.empty(int(n_boot))
        members = None
        if group_codes is not None:
            order = np.argsort(group_codes, kind="stable")
            members = np.split(order, np.cumsum(np.bincount(group_codes))[:-1])
        for b in range(int(n_boot)):
            if members is None:
                idx = rng.integers(0, n, n)
            else:
                idx = np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))])
            boot[b] = _headline(_fitted_difference(full[idx], base[idx], y[idx]), sig[idx],
                                n_quantiles=n_quantiles, n_bottom=n_bottom)
        a = (1 - ci) / 2
        lo, hi = (float(v) for v in np.nanquantile(boot, [a, 1 - a]))
    logger.info("%s: n=%d (%d significant); |SED-LD| coef %.4g, t %.2f, p %.3g (%s); top/bottom-3 enrichment "
                "%.2f [%.2f, %.2f]", tissue, n, int(sig.sum()), rows[model]["coef"], rows[model]["t"],
                rows[model]["p"], model, headline, lo, hi)
    return CovregResult(tissue=tissue, n=n, n_significant=int(sig.sum()), coefficients=coefficients,
                        quantiles=quant, enrichment=headline, enrichment_ci=(lo, hi), enrichment_model=model,
                        bootstrap=boot)


def covreg_tissues(tables: Mapping[str, pd.DataFrame], *, chi2: str = "chi2", ld_score: str = "L2",
                   sed_ld: str = "SED_LD", significant: str = "significant", tss_columns=None, group: str | None = None,
                   rng: np.random.Generator | None = None, n_boot: int = 1000, **options
                   ) -> tuple[pd.DataFrame, dict]:
    """:func:`covariate_regression` for many tissues.

    Parameters
    ----------
    tables : mapping of str -> DataFrame
        Per tissue, one row per (pruned) variant or pair with the named columns.
    chi2, ld_score, sed_ld, significant : str
        Column names.
    tss_columns : sequence of str, optional
        TSS-distance LD score columns; default: the ``TSS_*L2`` columns present (none: model ``ld`` only).
    group : str, optional
        Column of bootstrap clusters (e.g. ``gene_id``); default: rows are resampled.
    rng : numpy.random.Generator, optional
        Shared by the tissues' bootstraps, in the mapping's order.
    n_boot : int
    **options
        Passed to :func:`covariate_regression`.

    Returns
    -------
    summary : DataFrame
        One row per tissue (:meth:`CovregResult.summary`).
    results : dict of str -> CovregResult
    """
    results = {}
    for tissue, t in tables.items():
        cols = list(tss_columns) if tss_columns is not None else [c for c in t.columns
                                                                   if c.startswith("TSS_") and c.endswith("L2")]
        missing = [c for c in [chi2, ld_score, sed_ld, significant] + cols + ([group] if group else [])
                   if c not in t.columns]
        if missing:
            raise ValueError(f"tissue {tissue}: missing columns {missing} (have {list(t.columns)})")
        results[tissue] = covariate_regression(
            t[chi2].to_numpy(np.float64), t[ld_score].to_numpy(np.float64), t[sed_ld].to_numpy(np.float64),
            significant=t[significant].to_numpy(bool), tss_ld=t[cols].to_numpy(np.float64) if cols else None,
            tissue=str(tissue), rng=rng, n_boot=n_boot, groups=t[group].to_numpy() if group else None, **options)
    summary = pd.DataFrame([r.summary() for r in results.values()])
    return summary, results


# -- from files to the regression table ------------------------------------------------------------------

def match_eqtl_to_panel(eqtl: pd.DataFrame, bim: pd.DataFrame, *, what: str = "eQTL table") -> pd.DataFrame:
    """Attach panel SNP ids to eQTL pairs by chromosome, position and alleles.

    Parameters
    ----------
    eqtl : DataFrame
        :func:`stats.io.gtex.read_eqtl_table` output (``chrom, pos, ref, alt, z`` ...).
    bim : DataFrame
        Panel SNPs: ``chrom, snp, pos, a1, a2`` (e.g. :func:`stats.panel.read_panel_bim`).
    what : str
        Name of the table in messages.

    Returns
    -------
    DataFrame
        The matched rows of ``eqtl`` plus ``SNP`` (panel id) and ``z_panel`` (z for the panel's A1);
        strand-ambiguous, mismatched and unmatched variants are dropped and logged.

    Raises
    ------
    ValueError
        When no variant of the table matches the panel (naming both sides' examples).
    """
    e = eqtl.copy()
    e["_chrom"] = np.asarray(normalize_chrom(e["chrom"].astype(str).to_numpy()), dtype=str)
    b = bim[["chrom", "snp", "pos", "a1", "a2"]].copy()
    b["_chrom"] = np.asarray(normalize_chrom(b["chrom"].astype(str).to_numpy()), dtype=str)
    e["_row"] = np.arange(len(e))
    m = e.merge(b[["_chrom", "pos", "snp", "a1", "a2"]], on=["_chrom", "pos"], how="inner")
    am = match_alleles(m["alt"].to_numpy(), m["ref"].to_numpy(), m["a1"].to_numpy(), m["a2"].to_numpy())
    m = m[am.sign != 0].assign(_sign=am.sign[am.sign != 0])
    m = m.drop_duplicates(["_row"])
    if len(m) == 0:
        ex_e = e["variant_id"].iat[0] if "variant_id" in e.columns and len(e) else "?"
        ex_b = f"{b['chrom'].iat[0]}:{b['pos'].iat[0]} {b['a1'].iat[0]}/{b['a2'].iat[0]}" if len(b) else "?"
        raise ValueError(f"{what}: none of its {len(e)} pairs' variants (e.g. {ex_e}) matches a panel SNP by "
                         f"chromosome, position and alleles (panel: e.g. {ex_b}; chromosomes "
                         f"{sorted(set(b['_chrom']))[:5]}); is it the same genome build?")
    n_var = e["variant_id"].nunique() if "variant_id" in e.columns else len(e)
    logger.info("%s: %d of %d pairs (%d variants) matched to the panel", what, len(m), len(e), n_var)
    out = m.sort_values("_row").rename(columns={"snp": "SNP"})
    out["z_panel"] = out["z"] * out["_sign"]
    return out.drop(columns=["_chrom", "_row", "_sign", "a1", "a2"]).reset_index(drop=True)


def sed_ld(panel, blocks, sed: pd.DataFrame, *, build: str, targets: pd.DataFrame, value: str = "SED",
           lengths: dict | None = None) -> np.ndarray:
    """SED-LD: the signed LD profile of SED scores, per SNP or gene by gene, at target SNPs / pairs.

    Per LD block of the panel (:func:`stats.panel.iter_panel_blocks`), the SED scores of the block's
    SNPs are aligned to the panel's A1 (:func:`stats.alleles.match_alleles`; ambiguous / mismatched
    dropped) and ``R v = X^T X v / N`` (:func:`stats.signed_ld.signed_ld_profile`) is read at the
    targets. With a ``gene_id`` column in ``sed``, ``v`` has one column per gene (the gene's SED over its
    cis SNPs, 0 elsewhere) and the target (SNP j, gene g) gets ``(R v_g)_j``; LD between blocks is
    ignored.

    Parameters
    ----------
    panel : str or Path
        Panel (template / prefix; :func:`stats.panel.panel_filesets`).
    blocks : DataFrame or path
        LD blocks.
    sed : DataFrame
        ``SNP, A1, A2, <value>`` and optionally ``gene_id``; A1 is the allele whose effect is given.
    build : str
        Genome build of the panel (MHC and the block check).
    targets : DataFrame
        ``SNP`` (and ``gene_id`` when ``sed`` has it): where the profile is wanted.
    value : str
        Column of SED scores.
    lengths : dict, optional
        Chromosome lengths for the block check.

    Returns
    -------
    ndarray, float64, shape (len(targets),)
        SED-LD per target; NaN where the target SNP is not in the panel (or monomorphic, or in no block).
    """
    from stats.panel import iter_panel_blocks
    from stats.signed_ld import signed_ld_profile

    per_gene = "gene_id" in sed.columns
    need = ["SNP", "A1", "A2", value] + (["gene_id"] if per_gene else [])
    missing = [c for c in need if c not in sed.columns]
    if missing:
        raise ValueError(f"SED table: missing columns {missing}")
    if "SNP" not in targets.columns or (per_gene and "gene_id" not in targets.columns):
        raise ValueError("targets need SNP" + (" and gene_id" if per_gene else ""))
    sed = sed[need].copy()
    sed["SNP"] = sed["SNP"].astype(str)
    if per_gene:
        sed["gene_id"] = sed["gene_id"].astype(str)
    if sed.duplicated(["SNP"] + (["gene_id"] if per_gene else [])).any():
        raise ValueError("SED table: a SNP" + ("-gene pair" if per_gene else "") + " is given twice")
    t_snp = targets["SNP"].astype(str).to_numpy()
    t_gene = targets["gene_id"].astype(str).to_numpy() if per_gene else None
    out = np.full(len(targets), np.nan)
    wanted = set(t_snp)
    sed_by_snp = sed.groupby("SNP", sort=False).indices
    n_aligned = n_dropped = 0
    for blk in iter_panel_blocks(panel, blocks, build=build, lengths=lengths):
        ids = blk.snps["snp"].astype(str).to_numpy()
        rows = np.flatnonzero(pd.Index(ids).isin(wanted))
        if len(rows) == 0:
            continue
        pos_in_block = pd.Index(ids)
        hit = [sed_by_snp[s] for s in ids if s in sed_by_snp]
        sub = sed.iloc[np.concatenate(hit)] if hit else sed.iloc[:0]
        col = pos_in_block.get_indexer(sub["SNP"].to_numpy())
        am = match_alleles(sub["A1"].to_numpy(), sub["A2"].to_numpy(), blk.snps["a1"].to_numpy()[col],
                           blk.snps["a2"].to_numpy()[col])
        ok = am.sign != 0
        n_aligned += int(ok.sum())
        n_dropped += int((~ok).sum())
        vals = sub[value].to_numpy(np.float64)[ok] * am.sign[ok]
        col = col[ok]
        if per_gene:
            genes, gcol = np.unique(sub["gene_id"].to_numpy()[ok], return_inverse=True)
        else:
            genes, gcol = np.array([""]), np.zeros(len(col), dtype=np.int64)
        v = np.zeros((len(ids), max(len(genes), 1)))
        np.add.at(v, (col, gcol), vals)
        rv = signed_ld_profile(blk.x, v, rows=rows)  # (len(rows), n_genes)
        # targets in this block
        tsel = np.flatnonzero(pd.Index(t_snp).isin(set(ids[rows])))
        r_of = pd.Index(ids[rows]).get_indexer(t_snp[tsel])
        if per_gene:
            g_of = pd.Index(genes).get_indexer(t_gene[tsel])
            out[tsel] = np.where(g_of >= 0, rv[r_of, np.maximum(g_of, 0)], 0.0)
        else:
            out[tsel] = rv[r_of, 0]
    if n_dropped:
        logger.info("SED scores: %d aligned to the panel, %d dropped (ambiguous or mismatched alleles)", n_aligned,
                    n_dropped)
    if n_aligned == 0:
        raise ValueError("SED table: none of its SNPs matches a panel SNP in an LD block (ids and alleles)")
    return out


def aggregate_to_snps(pairs: pd.DataFrame, *, snp: str = "SNP") -> pd.DataFrame:
    """Per-SNP rows from per-pair rows: max chi^2, any significant, max |SED-LD| over the SNP's genes.

    Parameters
    ----------
    pairs : DataFrame
        ``SNP, chi2, significant, SED_LD`` and optionally other SNP-level columns (first value kept).

    Returns
    -------
    DataFrame, one row per SNP (first-appearance order)
    """
    p = pairs.assign(_abs=np.abs(pairs["SED_LD"].to_numpy(np.float64)))
    g = p.groupby(snp, sort=False)
    out = g.first()
    out["chi2"] = g["chi2"].max()
    out["significant"] = g["significant"].any()
    out["SED_LD"] = g["_abs"].max()
    out["n_genes"] = g.size()
    drop = [c for c in ("gene_id", "_abs") if c in out.columns]
    return out.drop(columns=drop).reset_index()


# -- figures ------------------------------------------------------------------------------------------

def _draw(ax, res: CovregResult) -> None:
    q = res.quantiles
    ax.bar(q["quantile"], q["share"], color="tab:blue", alpha=0.85)
    overall = res.n_significant / res.n if res.n else np.nan
    ax.axhline(overall, color="black", ls="--", lw=0.8, label=f"overall {overall:.3f}")
    lo, hi = res.enrichment_ci
    row = res.coefficients.loc[res.enrichment_model]
    ax.set_title(f"{res.tissue}\ntop/bottom-3 {res.enrichment:.2f}x [{lo:.2f}, {hi:.2f}]; t={row['t']:.1f}",
                 fontsize=8)
    ax.set_xticks(list(q["quantile"]))
    ax.set_xlabel("|SED-LD| fitted-value quantile", fontsize=8)
    ax.set_ylabel("share of significant eQTLs", fontsize=8)
    ax.legend(fontsize=7, loc="upper left")


def tissue_figure(result: CovregResult, path, *, dpi: int = 100):
    """Share of significant eQTLs by quantile for one tissue (Basenji Fig. 5 style); PNG. Returns the path."""
    from matplotlib.figure import Figure

    from genocore.figures import save_png

    fig = Figure(figsize=(3.6, 3.2))
    _draw(fig.add_subplot(1, 1, 1), result)
    fig.tight_layout()
    return save_png(fig, path, dpi=dpi)


def panel_figure(results, path, *, ncols: int = 4, dpi: int = 100):
    """The tissues' quantile plots in one multi-panel PNG. ``results``: dict or list of CovregResult."""
    from matplotlib.figure import Figure

    from genocore.figures import save_png

    res = list(results.values()) if isinstance(results, Mapping) else list(results)
    if not res:
        raise ValueError("panel_figure: no results")
    ncols = min(ncols, len(res))
    nrows = -(-len(res) // ncols)
    fig = Figure(figsize=(3.4 * ncols, 3.0 * nrows))
    for i, r in enumerate(res):
        _draw(fig.add_subplot(nrows, ncols, i + 1), r)
    fig.tight_layout()
    return save_png(fig, path, dpi=dpi)
