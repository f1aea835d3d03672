"""LD-score covariate regression of eQTL chi^2 on |SED-LD|, and the quantile enrichment (Basenji 2018, Fig. 5).

Per tissue, on LD-pruned variants (SNPs, or SNP-gene pairs):

* OLS (statsmodels) of the eQTL ``chi^2`` on ``1 + L2 + |SED-LD|`` (model ``ld``), then on
  ``1 + L2 + TSS-distance L2s + |SED-LD|`` (model ``ld_tss``); the |SED-LD| coefficient, its SE, t and
  p (two-sided; and one-sided for a positive coefficient, the enrichment hypothesis) are reported for both. ``SED-LD`` is the signed LD profile ``R v`` of the SED scores
  (:func:`stats.ld.signed_profile.signed_ld_profile`, per LD block), per SNP or gene by gene over the cis SNPs
  (:func:`sed_ld`).
* Quantile enrichment: every variant is ranked by ``fitted(with |SED-LD|) - fitted(without)`` of the
  last model (``ld_tss`` when TSS covariates are given), cut into ``n_quantiles`` (5) equal-size
  quantiles (ties broken by input order); each quantile's share of significant eQTLs is divided by the
  overall share, and the headline is the top quantile's share over the mean share of the bottom three,
  set to 1 when the |SED-LD| coefficient is <= 0 (the ranking would then put the *least* |SED-LD| on top).
  Its interval comes from a bootstrap over variants or clusters (genes, LD blocks; both models refitted,
  variants re-ranked, the same rule per replicate).

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
        ``p_pos`` (one-sided, a positive coefficient), ``n_covariates``, ``r2``, and with clusters
        ``se_cluster, z_cluster, p_cluster`` (t reference with ``n_clusters - 1`` df), ``p_cluster_pos``
        (one-sided, :func:`p_positive`), ``n_clusters``.
    quantiles : DataFrame, n_quantiles rows
        ``quantile`` (1 = lowest residualized |SED-LD|), ``n``, ``n_significant``, ``share`` (of significant eQTLs),
        ``enrichment`` (share / overall share).
    enrichment : float
        Top quantile's share over the mean share of the bottom three; 1 when the |SED-LD| coefficient
        is <= 0 (see :func:`covariate_regression`, Notes).
    enrichment_ci : tuple of float
        Bootstrap percentile interval (NaN when no bootstrap was asked).
    enrichment_model : str
        The model whose fitted-value difference ranks the variants.
    bootstrap : ndarray, float64, shape (n_boot,)
        The bootstrap headline values.
    cluster : str
        The clustering of the cluster-robust p and the bootstrap (``block``, ``gene``, ``none``, ...).
    n_clusters : int
        Clusters (0 without clustering).
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
    cluster: str = "none"
    n_clusters: int = 0

    def summary(self) -> dict:
        """Flat record for a table row / JSON."""
        out = {"tissue": self.tissue, "n": self.n, "n_significant": self.n_significant, "cluster": self.cluster,
               "n_clusters": self.n_clusters}
        for model, row in self.coefficients.iterrows():
            for k in ("coef", "se", "t", "p", "p_pos", "se_cluster", "z_cluster", "p_cluster", "p_cluster_pos"):
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


def _fitted_difference(full: np.ndarray, base: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """OLS fitted values with minus without the last column of ``full`` and that column's coefficient, by
    the normal equations (a few columns, many rows: faster than ``lstsq`` in the bootstrap)."""
    bf = np.linalg.solve(full.T @ full, full.T @ y)
    k = base.shape[1]
    bb = np.linalg.solve(full[:, :k].T @ full[:, :k], full[:, :k].T @ y)
    return full @ bf - base @ bb, float(bf[-1])


def _gated_headline(diff, coef, sig, *, n_quantiles: int, n_bottom: int) -> float:
    """The headline of the ranking by ``diff`` when ``coef > 0``; 1 (no enrichment) otherwise."""
    if not coef > 0:
        return 1.0
    return _headline(diff, sig, n_quantiles=n_quantiles, n_bottom=n_bottom)


def cluster_robust(y, x, groups) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Cluster-robust (CR1, statsmodels ``cov_type="cluster"``) SE, t and two-sided p of OLS coefficients.

    The p-values use a t reference with ``G - 1`` degrees of freedom (``G`` clusters), not the normal:
    with few clusters (e.g. a few dozen LD blocks) the sandwich variance is itself noisy and the normal
    reference is anti-conservative.

    Returns
    -------
    se, t, p : ndarray, shape (n_params,)
    n_clusters : int
    """
    from scipy import stats as st

    f = _ols(y, x, groups=groups)
    g = int(len(np.unique(groups)))
    t = np.asarray(f.tvalues, dtype=np.float64)
    p = 2 * st.t.sf(np.abs(t), df=max(g - 1, 1))
    return np.asarray(f.bse, dtype=np.float64), t, p, g


def last_t(y, x, groups=None) -> float:
    """t statistic of the last column of ``x`` in the OLS of ``y``: cluster-robust (CR1, as
    :func:`cluster_robust` / statsmodels ``cov_type="cluster"``) with ``groups``, plain OLS without; by
    numpy (cheap enough for a permutation null).

    Parameters
    ----------
    y : array_like, float, shape (n,)
    x : array_like, float, shape (n, k)
    groups : array_like, shape (n,), optional
        Cluster labels.

    Returns
    -------
    float
    """
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    n, k = x.shape
    xtx_inv = np.linalg.inv(x.T @ x)
    b = xtx_inv @ (x.T @ y)
    e = y - x @ b
    a = xtx_inv[-1]
    if groups is None:
        var = (e @ e) / (n - k) * a[-1]
    else:
        codes = pd.factorize(pd.Series(np.asarray(groups)), sort=False)[0]
        g = int(codes.max()) + 1
        u = (x @ a) * e  # a' x_i e_i: the last coefficient's score per row
        su = np.bincount(codes, weights=u, minlength=g)
        var = (su @ su) * (g / max(g - 1, 1)) * ((n - 1) / (n - k))
    return float(b[-1] / np.sqrt(var))


SCALES = ("abs", "sqrt", "signed")


def scale_sed_ld(sed_ld, scale: str = "abs") -> np.ndarray:
    """The regressor made of SED-LD: ``abs`` |SED-LD| (Basenji 2018), ``sqrt`` sqrt(|SED-LD|), ``signed``
    SED-LD as given.

    ``sqrt`` tempers the few pairs with extreme |SED-LD| (the near-TSS SNPs of strongly regulated genes),
    which otherwise carry the fit and make the cluster-robust t heavy-tailed: on the default simulated
    world it gives the planted SED a cluster-robust z of 5.6-5.9 instead of 2.5-2.8, and shuffled
    annotations a one-sided rejection rate of 4.8% instead of 6.2% (``validation/covreg_shuffle_calibration.py
    --cluster gene --models ld_tss ld_tss_sqrt``).

    Parameters
    ----------
    sed_ld : array_like, float, shape (n,)
    scale : {"abs", "sqrt", "signed"}

    Returns
    -------
    ndarray, float64, shape (n,)
    """
    s = np.asarray(sed_ld, dtype=np.float64)
    if scale == "abs":
        return np.abs(s)
    if scale == "sqrt":
        return np.sqrt(np.abs(s))
    if scale == "signed":
        return s
    raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")


def p_positive(t, df) -> float:
    """One-sided p of a positive coefficient, ``P(T >= t)`` for ``T ~ t(df)`` (``df >= 1``).

    The enrichment hypothesis is directional (more |SED-LD|, more association), and the two tails do not
    behave alike: for annotations shuffled across the pairs of the simulated world the cluster-robust z of
    |SED-LD| is centred below 0 and too wide (``validation/covreg_shuffle_calibration.py``), so the
    two-sided p rejects mostly in the negative tail, which says nothing about enrichment."""
    from scipy import stats as st

    return float(st.t.sf(float(t), df=max(float(df), 1.0)))


def p_shuffle(t_obs: float, t_null) -> float:
    """One-sided permutation p: ``(1 + #{t_null >= t_obs}) / (1 + len(t_null))`` (NaN without a null)."""
    t_null = np.asarray(t_null, dtype=np.float64)
    if len(t_null) == 0 or not np.isfinite(t_obs):
        return float("nan")
    return float((1 + np.sum(t_null >= t_obs)) / (1 + len(t_null)))


def _design(ld_score, covariates, cis_ld=None):
    cols = ([np.ones(len(ld_score)), ld_score] + ([] if cis_ld is None else [cis_ld])
            + ([] if covariates is None else list(covariates.T)))
    return np.column_stack(cols)


def _ols(y, x, groups=None):
    import statsmodels.api as sm

    if groups is None:
        return sm.OLS(y, x).fit()
    return sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": groups})


def covariate_regression(chi2, ld_score, sed_ld, *, significant, tss_ld=None, tissue: str = "",
                         n_quantiles: int = 5, n_bottom: int = 3, n_boot: int = 1000,
                         rng: np.random.Generator | None = None, ci: float = 0.95,
                         scale: str = "abs", groups=None, cis_ld=None, cluster: str | None = None
                         ) -> CovregResult:
    """Regress eQTL chi^2 on LD score and |SED-LD| (then adding TSS-distance LD scores); quantile enrichment.

    Parameters
    ----------
    chi2 : array_like, float, shape (n,)
        eQTL chi^2 (z^2) per variant or SNP-gene pair.
    ld_score : array_like, float, shape (n,)
        LD score (``L2``) of each variant.
    sed_ld : array_like, float, shape (n,)
        SED-LD (signed LD profile of SED scores); it enters as ``scale`` says (:func:`scale_sed_ld`).
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
    scale : {"abs", "sqrt", "signed"}
        The regressor: |SED-LD| (default, the paper's), sqrt(|SED-LD|) or SED-LD (:func:`scale_sed_ld`).
    groups : array_like, shape (n,), optional
        Cluster labels (e.g. the LD block of each pair's SNP, or its gene). Significant eQTLs, chi^2 and
        SED-LD are correlated within genes and, through LD, across the genes of an LD block, which plain
        OLS ignores: with ``groups`` the bootstrap draws whole clusters with replacement, and cluster-robust
        (statsmodels ``cov_type="cluster"``) ``se_cluster, z_cluster, p_cluster`` are reported beside the
        plain OLS ``se, t, p`` (the paper's); ``p_cluster`` uses a t reference with ``G - 1`` degrees of
        freedom (``n_clusters`` = G; :func:`cluster_robust`). Default: rows.
    cluster : str, optional
        Name of the clustering in ``groups`` (``"block"``, ``"gene"``), carried into the result;
        ``"none"`` ignores ``groups`` (row bootstrap, no cluster-robust p).
    cis_ld : array_like, float, shape (n,), optional
        The cis LD score of each pair (:func:`pair_cis_ld_scores`), added next to ``ld_score`` to both
        models. The magnitude of SED-LD grows with it (``R v_g`` sums over the gene's cis SNPs), and so
        does chi^2, which the window LD score does not capture for a pair (it ignores where the gene's
        cis window ends).

    Returns
    -------
    CovregResult

    Notes
    -----
    The enrichment is one-sided: it asks whether variants with *more* |SED-LD| than the covariates
    predict hold more significant eQTLs. The ranking score ``fitted(with) - fitted(without)`` equals
    ``coef x (|SED-LD| residualized on the covariates)`` (Frisch-Waugh-Lovell), so with a negative
    coefficient its "top" quantile would be the variants with the *least* |SED-LD|, whose excess of
    significant eQTLs (the quantile curve is U-shaped even for a random annotation) says nothing about the
    annotation. Hence the quantiles are always those of the residualized |SED-LD| (quantile
    ``n_quantiles`` = most |SED-LD|), and the headline is set to 1 (no enrichment) when the coefficient is
    <= 0; the same rule applies to every bootstrap replicate (refitted coefficient <= 0: headline 1), so an
    interval lying above 1 also needs the coefficient to be positive in more than ``(1 + ci) / 2`` of the
    cluster-bootstrap replicates.

    Raises
    ------
    ValueError
        For inputs of different lengths, non-finite values, too few rows, a constant |SED-LD|,
        ``n_boot > 0`` without ``rng``, or ``cluster`` other than ``"none"`` without ``groups``.
    """
    y = np.asarray(chi2, dtype=np.float64)
    n = len(y)
    l2 = np.asarray(ld_score, dtype=np.float64)
    s = np.asarray(sed_ld, dtype=np.float64)
    s = scale_sed_ld(s, scale)
    sig = np.asarray(significant)
    if sig.dtype != bool:
        if not np.isin(sig, [0, 1]).all():
            raise ValueError("significant must be boolean (or 0/1)")
        sig = sig.astype(bool)
    cov = None
    if tss_ld is not None:
        cov = np.asarray(tss_ld, dtype=np.float64)
        cov = cov[:, None] if cov.ndim == 1 else cov
    cis = None if cis_ld is None else np.asarray(cis_ld, dtype=np.float64).ravel()
    extra = ((("tss_ld", cov),) if cov is not None else ()) + ((("cis_ld", cis),) if cis is not None else ())
    for name, a in (("ld_score", l2), ("sed_ld", s), ("significant", sig)) + extra:
        if len(a) != n:
            raise ValueError(f"{name} has {len(a)} rows but chi2 has {n}")
    for name, a in (("chi2", y), ("ld_score", l2), ("sed_ld", s)) + extra:
        if not np.isfinite(a).all():
            raise ValueError(f"{name}: {int((~np.isfinite(a)).sum())} non-finite values; drop those rows first")
    p_max = 3 + (0 if cov is None else cov.shape[1]) + (0 if cis is None else 1)
    if n < max(p_max + 2, n_quantiles):
        raise ValueError(f"{tissue or 'covariate regression'}: {n} rows are too few for {p_max} parameters and "
                         f"{n_quantiles} quantiles")
    if np.ptp(s) == 0:
        raise ValueError(f"{tissue or 'covariate regression'}: |SED-LD| is constant ({s[0]:g}) over all {n} rows; "
                         "the annotation matched no variant in LD with the eQTL variants?")
    if n_boot and rng is None:
        raise ValueError("n_boot > 0 needs rng (a numpy Generator)")
    if cluster is not None and cluster != "none" and groups is None:
        raise ValueError(f"cluster={cluster!r} needs groups (the cluster label of each row)")
    if cluster == "none":
        groups = None
    elif groups is not None and cluster is None:
        cluster = "groups"
    group_codes = None
    n_clusters = 0
    if groups is not None:
        group_codes = pd.factorize(pd.Series(np.asarray(groups)), sort=False)[0]
        if len(group_codes) != n:
            raise ValueError(f"groups has {len(group_codes)} rows but chi2 has {n}")
    rows, fits = {}, {}
    specs = [("ld", None)] + ([("ld_tss", cov)] if cov is not None else [])
    for model, c in specs:
        base = _design(l2, c, cis)
        full = np.column_stack([base, s])
        f_full, f_base = _ols(y, full), _ols(y, base)
        k = full.shape[1] - 1
        rows[model] = {"coef": f_full.params[k], "se": f_full.bse[k], "t": f_full.tvalues[k], "p": f_full.pvalues[k],
                       "p_pos": p_positive(f_full.tvalues[k], f_full.df_resid),
                       "n_covariates": base.shape[1] - 1, "r2": f_full.rsquared}
        if group_codes is not None:
            se_c, t_c, p_c, n_clusters = cluster_robust(y, full, group_codes)
            rows[model].update({"se_cluster": se_c[k], "z_cluster": t_c[k], "p_cluster": p_c[k],
                                "p_cluster_pos": p_positive(t_c[k], n_clusters - 1), "n_clusters": n_clusters})
        fits[model] = (full, base, f_full.fittedvalues - f_base.fittedvalues, float(f_full.params[k]))
    coefficients = pd.DataFrame.from_dict(rows, orient="index")
    model = specs[-1][0]
    full, base, diff, coef = fits[model]
    # quantiles of the residualized |SED-LD| (the ranking score up to the coefficient's sign)
    quant, headline = quantile_enrichment(diff if coef > 0 else -diff, sig, n_quantiles=n_quantiles,
                                          n_bottom=n_bottom)
    if not coef > 0:
        headline = 1.0
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
            d_b, c_b = _fitted_difference(full[idx], base[idx], y[idx])
            boot[b] = _gated_headline(d_b, c_b, sig[idx], n_quantiles=n_quantiles, n_bottom=n_bottom)
        a = (1 - ci) / 2
        lo, hi = (float(v) for v in np.nanquantile(boot, [a, 1 - a]))
    logger.info("%s: n=%d (%d significant); |SED-LD| coef %.4g, t %.2f, p %.3g (%s); top/bottom-3 enrichment "
                "%.2f [%.2f, %.2f]", tissue, n, int(sig.sum()), rows[model]["coef"], rows[model]["t"],
                rows[model]["p"], model, headline, lo, hi)
    return CovregResult(tissue=tissue, n=n, n_significant=int(sig.sum()), coefficients=coefficients,
                        quantiles=quant, enrichment=headline, enrichment_ci=(lo, hi), enrichment_model=model,
                        bootstrap=boot, cluster=cluster or "none", n_clusters=n_clusters)


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
        Panel SNPs: ``chrom, snp, pos, a1, a2`` (e.g. :func:`stats.io.panel.read_panel_bim`).
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
           lengths: dict | None = None, quiet: bool = False) -> np.ndarray:
    """SED-LD: the signed LD profile of SED scores, per SNP or gene by gene, at target SNPs / pairs.

    Per LD block of the panel (:func:`stats.io.panel.iter_panel_blocks`), the SED scores of the block's
    SNPs are aligned to the panel's A1 (:func:`stats.alleles.match_alleles`; ambiguous / mismatched
    dropped) and ``R v = X^T X v / N`` (:func:`stats.ld.signed_profile.signed_ld_profile`) is read at the
    targets. With a ``gene_id`` column in ``sed``, ``v`` has one column per gene (the gene's SED over its
    cis SNPs, 0 elsewhere) and the target (SNP j, gene g) gets ``(R v_g)_j``; LD between blocks is
    ignored.

    Parameters
    ----------
    panel : str or Path
        Panel (template / prefix; :func:`stats.io.panel.panel_filesets`).
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
    quiet : bool
        Log the panel's per-chromosome counts at DEBUG, not INFO (repeated passes over one panel).

    Returns
    -------
    ndarray, float64, shape (len(targets),)
        SED-LD per target; NaN where the target SNP is not in the panel (or monomorphic, or in no block).
    """
    from stats.io.panel import iter_panel_blocks
    from stats.ld.signed_profile import signed_ld_profile

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
    for blk in iter_panel_blocks(panel, blocks, build=build, lengths=lengths,
                                 log_level=logging.DEBUG if quiet else logging.INFO):
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
        logger.log(logging.DEBUG if quiet else logging.INFO,
                   "SED scores: %d aligned to the panel, %d dropped (ambiguous or mismatched alleles)", n_aligned,
                   n_dropped)
    if n_aligned == 0:
        raise ValueError("SED table: none of its SNPs matches a panel SNP in an LD block (ids and alleles)")
    return out


def sed_ld_many(panel, blocks, seds, *, build: str, targets: pd.DataFrame, value: str = "SED",
                lengths: dict | None = None, quiet: bool = False) -> np.ndarray:
    """:func:`sed_ld` of several SED tables at the same targets in one pass over the LD blocks.

    Each table's genes become their own columns (``gene_id`` suffixed ``#k``; a per-SNP table is one
    pseudo-gene ``#k``), so the panel is read and standardized once for all of them (e.g. a batch of
    shuffled annotations). Rows with a zero SED are dropped first (they add nothing to ``R v``).

    Parameters
    ----------
    panel, blocks, build, value, lengths, quiet
        As :func:`sed_ld`.
    seds : sequence of DataFrame
        SED tables ``SNP, A1, A2, <value>`` and optionally ``gene_id`` (all with it, or all without).
    targets : DataFrame
        ``SNP`` (and ``gene_id`` for per-gene tables).

    Returns
    -------
    ndarray, float64, shape (len(seds), len(targets))
        Row k equals ``sed_ld(panel, blocks, seds[k], targets=targets, ...)``.
    """
    seds = list(seds)
    if not seds:
        return np.zeros((0, len(targets)))
    per_gene = {"gene_id" in a.columns for a in seds}
    if len(per_gene) != 1:
        raise ValueError("sed_ld_many: mix of per-gene and per-SNP SED tables")
    per_gene = per_gene.pop()
    t_snp = targets["SNP"].astype(str).to_numpy()
    if per_gene and "gene_id" not in targets.columns:
        raise ValueError("targets need SNP and gene_id")
    t_gene = targets["gene_id"].astype(str).to_numpy() if per_gene else np.full(len(targets), "", dtype=object)
    parts, tparts = [], []
    for k, a in enumerate(seds):
        a = a[a[value] != 0]
        g = a["gene_id"].astype(str) if per_gene else pd.Series("", index=a.index)
        parts.append(pd.DataFrame({"SNP": a["SNP"].astype(str).to_numpy(), "gene_id": (g + f"#{k}").to_numpy(),
                                   "A1": a["A1"].to_numpy(), "A2": a["A2"].to_numpy(),
                                   value: a[value].to_numpy(np.float64)}))
        tparts.append(pd.DataFrame({"SNP": t_snp, "gene_id": pd.Series(t_gene).astype(str).to_numpy() + f"#{k}"}))
    s = sed_ld(panel, blocks, pd.concat(parts, ignore_index=True), build=build,
               targets=pd.concat(tparts, ignore_index=True), value=value, lengths=lengths, quiet=quiet)
    return s.reshape(len(seds), len(targets))


def pair_cis_ld_scores(panel, blocks, targets: pd.DataFrame, *, cis: pd.DataFrame, build: str,
                       lengths: dict | None = None, unbiased: bool = True) -> np.ndarray:
    """Cis LD score of SNP-gene pairs: the sum of ``r^2`` of the pair's SNP with the gene's cis SNPs.

    For target (SNP j, gene g): ``sum_k r^2_jk`` over the SNPs k paired with g in ``cis`` that share j's
    LD block (the LD that :func:`sed_ld` uses; j itself included). ``|SED-LD|`` of pair (j, g) sums
    ``r_jk v_gk`` over the same SNPs, so its magnitude grows with this score even for an annotation with
    no relation to the eQTLs (a shuffled SED), and so does the expected chi^2 of the pair; the window LD
    score ``L2`` counts the SNPs outside the gene's cis window too and does not capture it.

    Parameters
    ----------
    panel : str or Path
        Panel (template / prefix).
    blocks : DataFrame or path
        LD blocks.
    targets : DataFrame
        ``SNP, gene_id``: where the score is wanted.
    cis : DataFrame
        ``SNP, gene_id``: each gene's cis SNPs (e.g. all tested pairs of a tissue).
    build : str
    lengths : dict, optional
    unbiased : bool
        ldsc's adjustment ``r^2 - (1 - r^2) / (N - 2)`` (as in ``L2``).

    Returns
    -------
    ndarray, float64, shape (len(targets),)
        NaN where the target SNP is not in the panel (or monomorphic, or in no block); 0 for a gene with
        no cis SNP in the block.
    """
    from stats.io.panel import iter_panel_blocks

    for name, d in (("targets", targets), ("cis", cis)):
        missing = [c for c in ("SNP", "gene_id") if c not in d.columns]
        if missing:
            raise ValueError(f"{name}: missing columns {missing}")
    t_snp = targets["SNP"].astype(str).to_numpy()
    t_gene = targets["gene_id"].astype(str).to_numpy()
    c = pd.DataFrame({"SNP": cis["SNP"].astype(str).to_numpy(), "gene_id": cis["gene_id"].astype(str).to_numpy()})
    c = c.drop_duplicates()
    out = np.full(len(targets), np.nan)
    wanted = set(t_snp)
    t_index = pd.Index(t_snp)
    for blk in iter_panel_blocks(panel, blocks, build=build, lengths=lengths):
        ids = blk.snps["snp"].astype(str).to_numpy()
        id_index = pd.Index(ids)
        rows = np.flatnonzero(id_index.isin(wanted))
        if len(rows) == 0:
            continue
        x = np.asarray(blk.x, dtype=np.float64)
        n_ref = x.shape[0]
        r2 = np.square(x[:, rows].T @ x / n_ref)  # (n_rows, m_b)
        if unbiased:
            r2 -= (1.0 - r2) / (n_ref - 2)
        sub = c[c["SNP"].isin(set(ids))]
        genes, gcol = np.unique(sub["gene_id"].to_numpy(), return_inverse=True)
        member = np.zeros((len(ids), max(len(genes), 1)))
        member[id_index.get_indexer(sub["SNP"].to_numpy()), gcol] = 1.0
        score = r2 @ member  # (n_rows, n_genes)
        tsel = np.flatnonzero(t_index.isin(set(ids[rows])))
        r_of = pd.Index(ids[rows]).get_indexer(t_snp[tsel])
        g_of = pd.Index(genes).get_indexer(t_gene[tsel]) if len(genes) else np.full(len(tsel), -1)
        out[tsel] = np.where(g_of >= 0, score[r_of, np.maximum(g_of, 0)], 0.0)
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
        A ``CIS_L2`` column (:func:`pair_cis_ld_scores`) is also the max over the SNP's genes.
    """
    p = pairs.assign(_abs=np.abs(pairs["SED_LD"].to_numpy(np.float64)))
    g = p.groupby(snp, sort=False)
    out = g.first()
    out["chi2"] = g["chi2"].max()
    out["significant"] = g["significant"].any()
    out["SED_LD"] = g["_abs"].max()
    if "CIS_L2" in p.columns:
        out["CIS_L2"] = g["CIS_L2"].max()
    out["n_genes"] = g.size()
    drop = [c for c in ("gene_id", "_abs") if c in out.columns]
    return out.drop(columns=drop).reset_index()


# -- the whole per-tissue analysis: eQTL tables -> pruned variants -> LD scores, SED-LD -> regression --------

#: Shuffled controls of the SED annotation understood by :func:`eqtl_enrichment`.
CONTROLS = ("shuffled", "shuffled_in_gene")


@dataclass(eq=False)
class EqtlEnrichment:
    """What :func:`eqtl_enrichment` returns.

    Attributes
    ----------
    summary : DataFrame
        One row per (annotation, unit, tissue): ``annotation, unit`` and :meth:`CovregResult.summary`.
    quantiles : DataFrame
        ``tissue, annotation, unit, quantile, n, n_significant, share, enrichment``.
    results : dict of (tissue, annotation, unit) -> CovregResult
    tables : dict of (tissue, annotation, unit) -> DataFrame
        The regression tables (``SNP, [gene_id,] chi2, significant, SED_LD, L2`` and ``TSS_*L2``).
    pruning : DataFrame
        Per tissue: ``pairs`` (read), ``pairs_matched`` (to the panel), ``snps`` (matched), ``snps_kept``
        (after LD pruning), ``pairs_kept``.
    null_t : dict of (tissue, unit) -> ndarray
        With ``n_shuffles``: the |SED-LD| t statistics (:func:`shuffle_t`) of the shuffled annotations.
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


def eqtl_pairs(eqtl, bim: pd.DataFrame, *, significant: str = "significant", what: str | None = None
               ) -> tuple[pd.DataFrame, int]:
    """One tissue's eQTL pairs matched to the panel: ``SNP, gene_id, chi2, significant``.

    Parameters
    ----------
    eqtl : DataFrame or path
        A GTEx ``allpairs`` / fastQTL table (path, read by :func:`stats.io.gtex.read_eqtl_table`), or its
        :func:`~stats.io.gtex.read_eqtl_table` output (``gene_id, chrom, pos, ref, alt, z`` ...).
    bim : DataFrame
        Panel SNPs (:func:`stats.io.panel.read_panel_bim`).
    significant : str
        Column of the significance flag (bool, 0/1 or ``True``/``False`` text).
    what : str, optional
        Name of the table in messages (default: the path).

    Returns
    -------
    pairs : DataFrame
        ``chi2 = z^2``; in the table's order.
    n_read : int
        Pairs in the table before matching.

    Raises
    ------
    ValueError
        A missing column, a significance column that is not boolean, or no variant matching the panel.
    """
    from stats.io.gtex import read_eqtl_table

    if isinstance(eqtl, pd.DataFrame):
        e, what = eqtl, what or "eQTL table"
    else:
        e, what = read_eqtl_table(eqtl), what or str(eqtl)
    missing = [c for c in ("gene_id", "chrom", "pos", "ref", "alt", "z", significant) if c not in e.columns]
    if missing:
        raise ValueError(f"{what}: missing columns {missing} (have {list(e.columns)[:12]})")
    m = match_eqtl_to_panel(e, bim, what=what)
    sig = m[significant]
    if sig.dtype != bool:
        text = sig.astype(str).str.strip().str.lower()
        bad = ~text.isin(["true", "false", "1", "0", "1.0", "0.0"])
        if bad.any():
            raise ValueError(f"{what}: column {significant!r} holds {sig[bad].iloc[0]!r}; expected True/False or 1/0")
        sig = text.isin(["true", "1", "1.0"])
    pairs = pd.DataFrame({"SNP": m["SNP"].astype(str), "gene_id": m["gene_id"].astype(str),
                          "chi2": m["z"].to_numpy(np.float64) ** 2, "significant": sig.to_numpy(bool)})
    return pairs, len(e)


def _panel_prefixes(panel) -> list:
    from stats.io.panel import panel_filesets

    return list(dict.fromkeys(panel_filesets(panel).values()))


def panel_ld_scores(panel, *, tss: pd.DataFrame | None = None, wind_cm: float = 1.0) -> pd.DataFrame:
    """Per panel SNP: ``SNP, L2`` and (with ``tss``) the per-SNP TSS-distance LD scores, all chromosomes.

    Parameters
    ----------
    panel : str or Path
        Panel (template / prefix; :func:`stats.io.panel.panel_filesets`).
    tss : DataFrame, optional
        :func:`stats.eqtl.tss.read_tss` table.
    wind_cm : float
        LD window (cM).
    """
    from stats.ld.scores import ld_scores
    from stats.eqtl.tss import snp_tss_ld_scores

    parts = []
    for bfile in _panel_prefixes(panel):
        t = ld_scores(bfile, wind_cm=wind_cm).table[["SNP", "L2"]]
        if tss is not None:
            s = snp_tss_ld_scores(bfile, tss, wind_cm=wind_cm).drop(columns=["CHR", "BP"])
            t = t.merge(s, on="SNP", how="inner", validate="one_to_one")
        parts.append(t)
    return pd.concat(parts, ignore_index=True)


def panel_pair_tss_scores(panel, pairs: pd.DataFrame, *, tss: pd.DataFrame, wind_cm: float = 1.0) -> pd.DataFrame:
    """Per SNP-gene pair TSS-distance LD scores (``SNP, gene_id`` + 4 columns), all chromosomes.

    Parameters
    ----------
    panel : str or Path
    pairs : DataFrame
        ``SNP`` (panel ids) and ``gene_id``.
    tss : DataFrame
        :func:`stats.eqtl.tss.read_tss` table.
    wind_cm : float
    """
    from stats.io.plink import read_bim
    from stats.eqtl.tss import pair_tss_ld_scores

    u = pairs[["SNP", "gene_id"]].astype(str).drop_duplicates().reset_index(drop=True)
    parts = []
    for bfile in _panel_prefixes(panel):
        on = u[u["SNP"].isin(set(read_bim(bfile)["snp"].astype(str)))].reset_index(drop=True)
        if len(on):
            parts.append(pd.concat([on, pair_tss_ld_scores(bfile, tss, on, wind_cm=wind_cm)], axis=1))
    if not parts:
        return u.iloc[:0]
    return pd.concat(parts, ignore_index=True)


def _check_sed(sed: pd.DataFrame, value: str, what: str) -> pd.DataFrame:
    missing = [c for c in ("SNP", "A1", "A2", value) if c not in sed.columns]
    if missing:
        raise ValueError(f"{what}: missing columns {missing} (have {list(sed.columns)})")
    cols = ["SNP"] + (["gene_id"] if "gene_id" in sed.columns else []) + ["A1", "A2", value]
    out = sed[cols].rename(columns={value: "SED"})
    out["SNP"] = out["SNP"].astype(str)
    if "gene_id" in out.columns:
        out["gene_id"] = out["gene_id"].astype(str)
    v = pd.to_numeric(out["SED"], errors="coerce")
    if not np.isfinite(v.to_numpy(np.float64)).all():
        i = int(np.flatnonzero(~np.isfinite(v.to_numpy(np.float64)))[0])
        raise ValueError(f"{what}: row {i + 1} (SNP {out['SNP'].iat[i]}) has {value} = {sed[value].iat[i]!r}, "
                         "not a finite number")
    out["SED"] = v.to_numpy(np.float64)
    return out


def _controls(sed: pd.DataFrame, tested: pd.DataFrame, bim: pd.DataFrame, controls, rng) -> dict:
    """Shuffled copies of ``sed`` over the tested pairs (per pair SED) or SNPs (per SNP SED)."""
    per_gene = "gene_id" in sed.columns
    keys = ["SNP", "gene_id"] if per_gene else ["SNP"]
    full = tested[keys].drop_duplicates() if not per_gene else tested[keys]
    full = full.merge(sed.drop(columns=["A1", "A2"]), on=keys, how="left")
    full["SED"] = full["SED"].fillna(0.0)
    # alleles: the SED table's, else the panel's
    al = sed.drop_duplicates("SNP").set_index("SNP")[["A1", "A2"]]
    pb = (bim.assign(SNP=bim["snp"].astype(str)).drop_duplicates("SNP").set_index("SNP")[["a1", "a2"]]
          .set_axis(["A1", "A2"], axis=1))
    al = pd.concat([al, pb[~pb.index.isin(al.index)]])
    full = full.merge(al, left_on="SNP", right_index=True, how="left")
    out = {}
    for label in controls:
        if label == "shuffled":
            out[label] = full.assign(SED=rng.permutation(full["SED"].to_numpy()))
        elif label == "shuffled_in_gene":
            if not per_gene:
                raise ValueError("control 'shuffled_in_gene' needs a per-pair SED table (with gene_id)")
            v = full["SED"].to_numpy().copy()
            for idx in full.groupby("gene_id", sort=True).indices.values():
                v[idx] = rng.permutation(v[idx])
            out[label] = full.assign(SED=v)
        else:
            raise ValueError(f"unknown control {label!r}; known: {CONTROLS}")
    return out


CLUSTERS = ("block", "gene", "none")


def shuffle_t(table: pd.DataFrame, groups=None, *, scale: str = "abs") -> float:
    """The |SED-LD| t statistic of the last model of :func:`covariate_regression` on one regression table
    of :func:`eqtl_enrichment` (``chi2 ~ 1 + L2 [+ CIS_L2] [+ TSS_*] + |SED_LD|``, |SED-LD| scaled by
    ``scale``): cluster-robust with ``groups`` (its ``z_cluster``), plain OLS (``t``) without (:func:`last_t`)."""
    tss_cols = [c for c in table.columns if c.startswith("TSS_")]
    cov = table[tss_cols].to_numpy(np.float64) if tss_cols else None
    cis = table["CIS_L2"].to_numpy(np.float64) if "CIS_L2" in table.columns else None
    x = np.column_stack([_design(table["L2"].to_numpy(np.float64), cov, cis),
                         scale_sed_ld(table["SED_LD"].to_numpy(), scale)])
    return last_t(table["chi2"].to_numpy(np.float64), x, groups)


def snp_clusters(block_of: pd.Series, snps) -> np.ndarray:
    """LD block of each SNP (``block_of``: SNP id -> block row, -1 for none) as cluster labels; SNPs in
    no block (or absent) get a cluster of their own."""
    snps = pd.Series(np.asarray(snps, dtype=str))
    b = block_of.reindex(snps.to_numpy()).to_numpy()
    lab = np.array([f"b{int(v)}" if np.isfinite(v) and v >= 0 else f"s{x}" for v, x in zip(b, snps)], dtype=object)
    return lab


def pruned_eqtl_pairs(eqtl_tables: Mapping, bim: pd.DataFrame, *, bfile_chr, significant: str = "significant",
                      prune_r2: float = 0.5, prune_window_kb: float = 1000.0) -> tuple[dict, dict, list]:
    """Each tissue's eQTL pairs matched to the panel, and those of the SNPs kept by LD pruning (the
    strongest chi2 of a SNP over its genes first).

    Parameters
    ----------
    eqtl_tables : mapping of tissue -> path or DataFrame
        As :func:`eqtl_pairs` reads them.
    bim : DataFrame
        The panel's SNPs (:func:`stats.io.panel.read_panel_bim` of ``bfile_chr``).

    Returns
    -------
    tested, kept : dict of tissue -> DataFrame
        All matched pairs, and the pairs of the kept SNPs.
    pruning : list of dict
        Per tissue: pairs read, matched, SNPs, SNPs kept, pairs kept.
    """
    from stats.ld.prune import prune_variants

    tested, kept_pairs, pruning = {}, {}, []
    for tissue, table in eqtl_tables.items():
        pairs, n_read = eqtl_pairs(table, bim, significant=significant,
                                   what=None if isinstance(table, pd.DataFrame) else str(table))
        snp_chi2 = pairs.groupby("SNP", sort=False)["chi2"].max()
        keep = prune_variants(bfile_chr, snp_chi2.index.to_numpy(), priority=snp_chi2.to_numpy(), r2_max=prune_r2,
                              window_kb=prune_window_kb)
        kept = set(snp_chi2.index[keep])
        tested[tissue] = pairs
        kept_pairs[tissue] = pairs[pairs["SNP"].isin(kept)].reset_index(drop=True)
        pruning.append({"tissue": tissue, "pairs": n_read, "pairs_matched": len(pairs), "snps": len(snp_chi2),
                        "snps_kept": len(kept), "pairs_kept": len(kept_pairs[tissue])})
        logger.info("%s: %d SNPs kept of %d after LD pruning (r^2 <= %g); %d pairs", tissue, len(kept), len(snp_chi2),
                    prune_r2, len(kept_pairs[tissue]))
    return tested, kept_pairs, pruning


def eqtl_enrichment(eqtl_tables: Mapping, *, bfile_chr, ld_blocks, build: str, tss, sed,
                    sed_column: str = "SED", unit="pair", significant: str = "significant",
                    annotation: str = "SED", controls=(), prune_r2: float = 0.5, prune_window_kb: float = 1000,
                    ld_wind_cm: float = 1.0, n_boot: int = 1000, rng: np.random.Generator | None = None,
                    lengths: dict | None = None, cis_ld_covariate: bool = False, cluster: str = "gene",
                    n_shuffles: int = 0, shuffle_batch: int = 25, scale: str = "abs", **options) -> EqtlEnrichment:
    """The eQTL |SED-LD| covariate regression and quantile enrichment of many tissues, from files.

    Per tissue: the eQTL table's pairs are matched to the panel by position and alleles (``chi2 = z^2``);
    the SNPs are LD-pruned to ``r^2 <= prune_r2`` (:func:`stats.ld.prune.prune_variants`; priority: the
    SNP's largest chi^2 over genes); SED-LD is computed at the kept pairs (:func:`sed_ld`: gene by gene
    when ``sed`` has ``gene_id``, else per SNP); LD scores and TSS-distance LD scores (per pair for
    ``unit="pair"``, per SNP for ``unit="snp"``) come from the panel (``ld_wind_cm`` windows); then
    :func:`covariate_regression`. With ``unit="snp"`` the pairs are aggregated per SNP
    (:func:`aggregate_to_snps`: max chi^2, any significant, max |SED-LD|). The cluster-robust p of
    |SED-LD| and the bootstrap of the enrichment use the clusters of ``cluster`` (default: genes for
    pairs, LD blocks for SNPs), since chi^2, significant eQTLs and SED-LD are correlated within genes
    and, through LD, across the genes sharing an LD block.

    Parameters
    ----------
    eqtl_tables : mapping of str -> DataFrame or path
        Tissue -> GTEx ``allpairs`` table (file, or :func:`stats.io.gtex.read_eqtl_table` output), with
        the ``significant`` column.
    bfile_chr : str or Path
        Reference panel: per-chromosome template (``ref.{chrom}``), ldsc-style prefix or one fileset.
    ld_blocks : str, Path or DataFrame
        LD blocks (BED).
    build : str
        Genome build of panel and blocks (``hg19``, ``hg38``, ``simworld1``).
    tss : DataFrame, str, Path or None
        TSSs (:func:`stats.eqtl.tss.read_tss` table) or a GTF to read them from; None: no TSS covariates
        (model ``ld`` only).
    sed : DataFrame or mapping of str -> DataFrame
        SED scores ``SNP, A1, A2, [gene_id,] <sed_column>`` (A1: the allele whose effect is given); with
        ``gene_id`` one value per SNP-gene pair, else per SNP. A mapping gives each tissue its own.
    sed_column : str
        Column of the SED scores.
    unit : {"pair", "snp"} or sequence of them
        Regress per SNP-gene pair, per SNP, or both.
    significant : str
        Column of the eQTL tables flagging significant eQTLs.
    annotation : str
        Label of ``sed`` in the output.
    controls : sequence of {"shuffled", "shuffled_in_gene"}
        Shuffled controls also analysed: ``shuffled`` permutes the SED values over all tested pairs (per
        SNP SED: tested SNPs), zeros included; ``shuffled_in_gene`` permutes them among each gene's
        tested pairs. Both use ``rng``.
    prune_r2 : float
        LD pruning threshold (Basenji 2018: 0.5).
    prune_window_kb : float
        Pruning window.
    ld_wind_cm : float
        LD score window.
    n_boot : int
        Bootstrap replicates of the enrichment interval (0: none).
    rng : numpy.random.Generator, optional
        Needed for ``n_boot > 0`` and ``controls``; used by the controls (tissue by tissue), then by the
        bootstraps (in the order of :attr:`EqtlEnrichment.results`).
    lengths : dict, optional
        Chromosome lengths for the LD block check.
    cluster : {"block", "gene", "none"}
        Clusters of the cluster-robust p (t reference, ``G - 1`` df) and of the enrichment bootstrap:
        ``block`` the LD block (``ld_blocks``) of the SNP, SNPs in no block each their own cluster;
        ``gene`` the gene of a pair (per SNP, which has no single gene: the LD block); ``none`` rows
        (plain OLS p only, row bootstrap). Read the one-sided ``p_cluster_pos`` (the enrichment
        hypothesis), not the two-sided ``p_cluster``: on the default simulated world, with the SED
        shuffled across pairs and gene clusters, ``p_cluster_pos < 0.05`` in 6.2% of 600 shuffles (95%
        interval 4.4-8.4%) but the two-sided ``p_cluster < 0.05`` in 14.7% (the shuffles' z is centred
        below 0 and too wide; ``validation/covreg_shuffle_calibration.py``). On a world with few genes
        and blocks even the one-sided p rejects too often (8-18% on the 2 x 500 kb test world), so ask
        ``n_shuffles`` for the exact permutation p (``p_shuffle``) and this data set's own check of the
        analytic p (``shuffles_p05``).
    cis_ld_covariate : bool
        Add each pair's cis LD score (:func:`pair_cis_ld_scores`, the tissue's tested pairs as the genes'
        cis SNPs; column ``CIS_L2``; per SNP: the max over its genes) to both models.
    n_shuffles : int
        Permutation p-value (0: none). Per tissue, ``n_shuffles`` annotations shuffled like the
        ``shuffled`` control (the SED vector over all tested pairs permuted; rng: one seed drawn from
        ``rng`` per tissue, after the controls) get their SED-LD (:func:`sed_ld_many`, ``shuffle_batch``
        at a time) and, per unit, the t statistic of |SED-LD| in the last model (cluster-robust with
        ``cluster``, else plain OLS; :func:`shuffle_t`). Every annotation (the true one and the controls)
        is reported with ``t_shuffle`` (its own statistic, the same function) and
        ``p_shuffle = (1 + #{t_null >= t_obs}) / (1 + n_shuffles)`` (one-sided: a positive |SED-LD|
        effect), and ``n_shuffles``. A shuffled control is exchangeable with the shuffles (it is not one
        of them), so its ``p_shuffle`` is uniform on ``{1, ..., n_shuffles + 1} / (n_shuffles + 1)``
        under the null, whatever the miscalibration of ``p_cluster``. ``shuffles_p05`` is the share of
        the shuffles whose one-sided analytic p (``p_cluster_pos``, or ``p_pos`` without clusters) is
        below 0.05: this data set's own check of that p's calibration (about 0.05 when it holds).
    shuffle_batch : int
        Shuffles per pass over the LD blocks.
    scale : {"abs", "sqrt", "signed"}
        The regressor made of SED-LD (:func:`scale_sed_ld`): |SED-LD| (default, Basenji 2018) or
        sqrt(|SED-LD|), far more powerful and better calibrated on the simulated world.
    **options
        Passed to :func:`covariate_regression` (``n_quantiles``, ``n_bottom``, ``ci``).

    Returns
    -------
    EqtlEnrichment
        Results keyed by ``(tissue, annotation, unit)``, in tissue, then annotation (``annotation``, then
        the controls), then unit order.

    Raises
    ------
    ValueError
        An eQTL table whose variants match nothing in the panel (naming it), missing columns, a SED
        table matching no panel SNP, an unknown unit or control, or a tissue too small to regress.
    FileNotFoundError
        A missing eQTL table, GTF or panel.
    """
    from stats.io.ldblocks import assign_blocks, read_ldblocks
    from stats.io.panel import read_panel_bim
    from stats.eqtl.tss import read_tss

    units = [unit] if isinstance(unit, str) else list(unit)
    bad = [u for u in units if u not in ("pair", "snp")]
    if bad or not units:
        raise ValueError(f"unit must be 'pair' or 'snp' (or both), got {unit!r}")
    controls = list(controls)
    for c in controls:
        if c not in CONTROLS:
            raise ValueError(f"unknown control {c!r}; known: {CONTROLS}")
    if cluster not in CLUSTERS:
        raise ValueError(f"cluster must be one of {CLUSTERS}, got {cluster!r}")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    if (controls or n_boot or n_shuffles) and rng is None:
        raise ValueError("controls, n_boot > 0 and n_shuffles > 0 need rng (a numpy Generator)")
    if n_shuffles < 0 or shuffle_batch < 1:
        raise ValueError(f"n_shuffles must be >= 0 and shuffle_batch >= 1, got {n_shuffles}, {shuffle_batch}")
    if not eqtl_tables:
        raise ValueError("no eQTL tables")
    if isinstance(sed, Mapping):
        absent = [t for t in eqtl_tables if t not in sed]
        if absent:
            raise ValueError(f"sed: no SED table for tissue(s) {absent}")
        seds = {t: _check_sed(sed[t], sed_column, f"SED table of {t}") for t in eqtl_tables}
    else:
        checked = _check_sed(sed, sed_column, "SED table")
        seds = {t: checked for t in eqtl_tables}
    if tss is not None and not isinstance(tss, pd.DataFrame):
        tss = read_tss(tss)
    bim = read_panel_bim(bfile_chr)
    blocks = ld_blocks if isinstance(ld_blocks, pd.DataFrame) else read_ldblocks(ld_blocks)

    tested, kept_pairs, pruning = pruned_eqtl_pairs(eqtl_tables, bim, bfile_chr=bfile_chr, significant=significant,
                                                    prune_r2=prune_r2, prune_window_kb=prune_window_kb)

    # LD scores (per SNP) and the per-pair TSS LD scores of every tested pair (they depend on the pair only)
    snp_scores = panel_ld_scores(bfile_chr, tss=tss if "snp" in units else None, wind_cm=ld_wind_cm)
    pair_tss = None
    if tss is not None and "pair" in units:
        allp = pd.concat([p[["SNP", "gene_id"]] for p in tested.values()], ignore_index=True).drop_duplicates()
        pair_tss = panel_pair_tss_scores(bfile_chr, allp, tss=tss, wind_cm=ld_wind_cm)

    def unit_tables(pairs, s) -> dict:
        t = pairs.assign(SED_LD=s).merge(snp_scores[["SNP", "L2"]], on="SNP", how="inner")
        if pair_tss is not None:
            t = t.merge(pair_tss, on=["SNP", "gene_id"], how="inner")
        t = t[np.isfinite(t["SED_LD"])].reset_index(drop=True)
        out = {}
        if "pair" in units:
            out["pair"] = t
        if "snp" in units:
            ts = aggregate_to_snps(t[["SNP", "gene_id", "chi2", "significant", "SED_LD", "L2"]
                                     + (["CIS_L2"] if cis_ld_covariate else [])])
            out["snp"] = ts.merge(snp_scores.drop(columns=["L2"]), on="SNP", how="inner")
        return out

    block_of = pd.Series(assign_blocks(blocks, bim["chrom"].to_numpy(), bim["pos"].to_numpy()),
                         index=bim["snp"].astype(str).to_numpy())
    block_of = block_of[~block_of.index.duplicated()]

    def groups_of(t, u):
        return (None if cluster == "none" else t["gene_id"].to_numpy() if cluster == "gene" and u == "pair"
                else snp_clusters(block_of, t["SNP"]))

    tables, null_t = {}, {}
    for tissue, pairs in kept_pairs.items():
        s_ann = seds[tissue]
        anns = {annotation: s_ann, **_controls(s_ann, tested[tissue], bim, controls, rng)}
        if cis_ld_covariate:
            cis_l2 = pair_cis_ld_scores(bfile_chr, blocks, pairs, cis=tested[tissue], build=build, lengths=lengths)
            pairs = pairs.assign(CIS_L2=cis_l2)
            pairs = pairs[np.isfinite(pairs["CIS_L2"])].reset_index(drop=True)
        for label, ann in anns.items():
            ann = ann[ann["SED"] != 0]
            s = sed_ld(bfile_chr, blocks, ann, build=build, targets=pairs, lengths=lengths)
            for u, t in unit_tables(pairs, s).items():
                tables[(tissue, label, u)] = t
        if n_shuffles:
            # the "shuffled" control's permutation, n_shuffles times, from one seed drawn from rng
            srng = np.random.default_rng(int(rng.integers(2**63)))
            full = _controls(s_ann, tested[tissue], bim, ["shuffled"], srng)["shuffled"]
            vals = full["SED"].to_numpy()
            nt = {u: [] for u in units}
            for start in range(0, int(n_shuffles), int(shuffle_batch)):
                k = min(int(shuffle_batch), int(n_shuffles) - start)
                batch = [full.assign(SED=srng.permutation(vals)) for _ in range(k)]
                for s in sed_ld_many(bfile_chr, blocks, batch, build=build, targets=pairs, lengths=lengths,
                                     quiet=True):
                    for u, t in unit_tables(pairs, s).items():
                        nt[u].append(shuffle_t(t, groups_of(t, u), scale=scale))
            for u in units:
                null_t[(tissue, u)] = np.asarray(nt[u], dtype=np.float64)
            logger.info("%s: %d shuffled annotations for the permutation p of |SED-LD|", tissue, n_shuffles)

    results, summaries, rows_q = {}, [], []
    for (tissue, label, u), t in tables.items():
        groups = groups_of(t, u)
        tss_cols = [c for c in t.columns if c.startswith("TSS_")]
        res = covariate_regression(
            t["chi2"].to_numpy(), t["L2"].to_numpy(), t["SED_LD"].to_numpy(), significant=t["significant"].to_numpy(),
            tss_ld=t[tss_cols].to_numpy() if tss_cols else None, tissue=str(tissue), n_boot=n_boot, rng=rng,
            groups=groups, cluster=cluster, cis_ld=t["CIS_L2"].to_numpy() if "CIS_L2" in t.columns else None,
            scale=scale, **options)
        results[(tissue, label, u)] = res
        extra = {}
        if n_shuffles:
            t_obs = shuffle_t(t, groups, scale=scale)
            row = res.coefficients.loc[res.enrichment_model]
            df = res.n_clusters - 1 if res.n_clusters else res.n - int(row["n_covariates"]) - 2
            t_null = null_t[(tissue, u)]
            extra = {"t_shuffle": t_obs, "p_shuffle": p_shuffle(t_obs, t_null), "n_shuffles": int(n_shuffles),
                     "shuffles_p05": float(np.mean([p_positive(v, df) < 0.05 for v in t_null]))}
        summaries.append({"annotation": label, "unit": u, "scale": scale, **res.summary(), **extra})
        rows_q.append(res.quantiles.assign(tissue=tissue, annotation=label, unit=u))
    quantiles = pd.concat(rows_q, ignore_index=True)[["tissue", "annotation", "unit", "quantile", "n",
                                                       "n_significant", "share", "enrichment"]]
    return EqtlEnrichment(summary=pd.DataFrame(summaries), quantiles=quantiles, results=results, tables=tables,
                          pruning=pd.DataFrame(pruning), null_t=null_t)


# -- figures ------------------------------------------------------------------------------------------

def _draw(ax, res: CovregResult) -> None:
    q = res.quantiles
    ax.bar(q["quantile"], q["share"], color="tab:blue", alpha=0.85)
    overall = res.n_significant / res.n if res.n else np.nan
    ax.axhline(overall, color="black", ls="--", lw=0.8, label=f"overall {overall:.3f}")
    lo, hi = res.enrichment_ci
    row = res.coefficients.loc[res.enrichment_model]
    # the cluster-robust one-sided test when there are clusters (plain OLS t overstates it many-fold)
    test = (f"z={row['z_cluster']:.1f}, p={row['p_cluster_pos']:.2g} ({res.cluster})" if "p_cluster_pos" in row.index
            else f"t={row['t']:.1f}, p={row['p_pos']:.2g}")
    ci = f" [{lo:.2f}, {hi:.2f}]" if np.isfinite(lo) else ""
    ax.set_title(f"{res.tissue}\ntop/bottom-3 {res.enrichment:.2f}x{ci}; {test}", fontsize=8)
    ax.set_xticks(list(q["quantile"]))
    ax.set_xlabel("|SED-LD| fitted-value quantile", fontsize=8)
    ax.set_ylabel("share of significant eQTLs", fontsize=8)
    ax.legend(fontsize=7, loc="lower right", framealpha=0.9)


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
