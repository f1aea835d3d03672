"""LD-score covariate regression of eQTL chi^2 on |SED-LD| (Basenji 2018, Fig. 5 and Methods).

Per tissue, on LD-pruned variants (SNPs, or SNP-gene pairs): OLS (statsmodels) of the eQTL ``chi^2`` on
``1 + L2 + |SED-LD|`` (model ``ld``), then on ``1 + L2 + TSS-distance L2s + |SED-LD|`` (model
``ld_tss``); the |SED-LD| coefficient, its SE, t and p (two-sided; and one-sided for a positive
coefficient, the enrichment hypothesis) are reported for both, with cluster-robust versions when the
rows are clustered (genes, LD blocks). ``SED-LD`` is the signed LD profile of the SED scores
(:func:`stats.eqtl.sed_ld.sed_ld`); :func:`scale_sed_ld` says how it enters.

The quantile enrichment (:mod:`stats.eqtl.enrichment`) ranks the variants by ``fitted(with |SED-LD|) -
fitted(without)`` of the last model. That score equals ``coef x (|SED-LD| residualized on the
covariates)`` (Frisch-Waugh-Lovell), so with a negative coefficient its "top" quantile would hold the
variants with the *least* |SED-LD|, whose excess of significant eQTLs (the quantile curve is U-shaped
even for a random annotation) says nothing about the annotation. Hence the quantiles are always those of
the residualized |SED-LD| (quantile ``n_quantiles`` = most |SED-LD|), and the headline is set to 1 (no
enrichment) when the coefficient is <= 0; the same rule applies to every bootstrap replicate, so an
interval lying above 1 also needs the coefficient to be positive in more than ``(1 + ci) / 2`` of the
cluster-bootstrap replicates.

Regression tables (:mod:`stats.eqtl.tables`) hold one row per variant with the columns ``chi2,
significant, SED_LD, L2``, optionally ``CIS_L2`` and ``TSS_*`` LD scores; :func:`table_regression` and
:func:`shuffle_t` read them.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from stats.eqtl.enrichment import bootstrap_headline, percentile_interval, ranked_enrichment

logger = logging.getLogger(__name__)

#: Models fitted by :func:`fit_models`, in order (``ld_tss`` only with TSS covariates).
MODELS = ("ld", "ld_tss")
#: How SED-LD enters the regression (:func:`scale_sed_ld`).
SCALES = ("abs", "sqrt", "signed")


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
        is <= 0 (see the module notes).
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


@dataclass(eq=False)
class ModelFit:
    """One model of :func:`fit_models`: its designs and the ranking score of the enrichment.

    Attributes
    ----------
    full : ndarray, float64, shape (n, k + 1)
        Design with the regressor as its last column.
    base : ndarray, float64, shape (n, k)
        The design without it.
    diff : ndarray, float64, shape (n,)
        Fitted values of ``full`` minus those of ``base``.
    coef : float
        The regressor's coefficient.
    """

    full: np.ndarray
    base: np.ndarray
    diff: np.ndarray
    coef: float


# -- regressor, design, p-values ---------------------------------------------------------------------------

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


def design_matrix(ld_score, covariates=None, cis_ld=None) -> np.ndarray:
    """The covariates' design ``[1, L2, (CIS_L2), (covariates...)]`` without the regressor.

    Parameters
    ----------
    ld_score : ndarray, float64, shape (n,)
    covariates : ndarray, float64, shape (n, n_cov), optional
        E.g. the TSS-distance LD scores.
    cis_ld : ndarray, float64, shape (n,), optional

    Returns
    -------
    ndarray, float64, shape (n, 2 + [1] + n_cov)
    """
    cols = ([np.ones(len(ld_score)), ld_score] + ([] if cis_ld is None else [cis_ld])
            + ([] if covariates is None else list(covariates.T)))
    return np.column_stack(cols)


def _ols(y, x, groups=None):
    import statsmodels.api as sm

    if groups is None:
        return sm.OLS(y, x).fit()
    return sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": groups})


def cluster_robust(y, x, groups) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Cluster-robust (CR1, statsmodels ``cov_type="cluster"``) SE, t and two-sided p of OLS coefficients.

    The p-values use a t reference with ``G - 1`` degrees of freedom (``G`` clusters), not the normal:
    with few clusters (e.g. a few dozen LD blocks) the sandwich variance is itself noisy and the normal
    reference is anti-conservative.

    Parameters
    ----------
    y : array_like, float, shape (n,)
    x : array_like, float, shape (n, k)
    groups : array_like, int, shape (n,)
        Cluster codes.

    Returns
    -------
    se, t, p : ndarray, shape (k,)
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


# -- the regression ---------------------------------------------------------------------------------------

def fit_models(chi2: np.ndarray, ld_score: np.ndarray, regressor: np.ndarray, *, tss_ld: np.ndarray | None = None,
               cis_ld: np.ndarray | None = None, groups=None) -> tuple[pd.DataFrame, dict[str, ModelFit], int]:
    """OLS of chi^2 on the covariates and the regressor: model ``ld``, then ``ld_tss`` with ``tss_ld``.

    Parameters
    ----------
    chi2, ld_score, regressor : ndarray, float64, shape (n,)
        eQTL chi^2, LD score and the (scaled, :func:`scale_sed_ld`) |SED-LD|.
    tss_ld : ndarray, float64, shape (n, n_tss), optional
        TSS-distance LD scores; adds model ``ld_tss``.
    cis_ld : ndarray, float64, shape (n,), optional
        Cis LD score of each pair, in both models.
    groups : array_like, shape (n,), optional
        Cluster labels: adds the cluster-robust ``se_cluster, z_cluster, p_cluster, p_cluster_pos,
        n_clusters`` (:func:`cluster_robust`).

    Returns
    -------
    coefficients : DataFrame
        One row per model, the regressor's statistics (:class:`CovregResult` ``coefficients``).
    fits : dict of str -> ModelFit
        Per model, in fitting order.
    n_clusters : int
        0 without ``groups``.
    """
    codes = None if groups is None else pd.factorize(pd.Series(np.asarray(groups)), sort=False)[0]
    rows, fits, n_clusters = {}, {}, 0
    specs = [("ld", None)] + ([("ld_tss", tss_ld)] if tss_ld is not None else [])
    for model, c in specs:
        base = design_matrix(ld_score, c, cis_ld)
        full = np.column_stack([base, regressor])
        f_full, f_base = _ols(chi2, full), _ols(chi2, base)
        k = full.shape[1] - 1
        rows[model] = {"coef": f_full.params[k], "se": f_full.bse[k], "t": f_full.tvalues[k], "p": f_full.pvalues[k],
                       "p_pos": p_positive(f_full.tvalues[k], f_full.df_resid),
                       "n_covariates": base.shape[1] - 1, "r2": f_full.rsquared}
        if codes is not None:
            se_c, t_c, p_c, n_clusters = cluster_robust(chi2, full, codes)
            rows[model].update({"se_cluster": se_c[k], "z_cluster": t_c[k], "p_cluster": p_c[k],
                                "p_cluster_pos": p_positive(t_c[k], n_clusters - 1), "n_clusters": n_clusters})
        fits[model] = ModelFit(full, base, f_full.fittedvalues - f_base.fittedvalues, float(f_full.params[k]))
    return pd.DataFrame.from_dict(rows, orient="index"), fits, n_clusters


def _checked_arrays(chi2, ld_score, sed_ld, significant, tss_ld, cis_ld, *, scale, n_quantiles, tissue):
    """The inputs of :func:`covariate_regression` as float64 / bool arrays, checked (see its Raises)."""
    y = np.asarray(chi2, dtype=np.float64)
    n = len(y)
    l2 = np.asarray(ld_score, dtype=np.float64)
    s = scale_sed_ld(np.asarray(sed_ld, dtype=np.float64), scale)
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
    what = tissue or "covariate regression"
    if n < max(p_max + 2, n_quantiles):
        raise ValueError(f"{what}: too few SNPs after matching (n = {n}) for {p_max} parameters and {n_quantiles} "
                         "quantiles: check that the eQTL table, the panel and the annotation share SNP IDs, "
                         "chromosome names and genome build")
    if np.ptp(s) == 0:
        raise ValueError(f"{what}: |SED-LD| is constant ({s[0]:g}) over all {n} rows; "
                         "the annotation matched no variant in LD with the eQTL variants?")
    x = np.column_stack([design_matrix(l2, cov, cis), s])
    if np.linalg.matrix_rank(x) < x.shape[1]:
        names = ["intercept", "L2"] + (["CIS_L2"] if cis is not None else []) + [
            f"TSS covariate {i + 1}" for i in range(0 if cov is None else cov.shape[1])] + ["|SED-LD|"]
        flat = [nm for nm, col in zip(names, x.T) if nm != "intercept" and np.ptp(col) == 0]
        raise ValueError(f"{what}: the regression's columns are linearly dependent over its n = {n} SNPs"
                         + (f" ({', '.join(flat)} constant)" if flat else "") + "; too few or too alike SNPs "
                         "after matching")
    return y, l2, s, sig, cov, cis


def _cluster_codes(groups, cluster, n: int):
    """Cluster codes (None: rows) and the clustering's name, from ``groups`` and ``cluster``."""
    if cluster is not None and cluster != "none" and groups is None:
        raise ValueError(f"cluster={cluster!r} needs groups (the cluster label of each row)")
    if cluster == "none":
        groups = None
    elif groups is not None and cluster is None:
        cluster = "groups"
    codes = None
    if groups is not None:
        codes = pd.factorize(pd.Series(np.asarray(groups)), sort=False)[0]
        if len(codes) != n:
            raise ValueError(f"groups has {len(codes)} rows but chi2 has {n}")
    return codes, cluster


def covariate_regression(chi2, ld_score, sed_ld, *, significant, tss_ld=None, tissue: str = "",
                         n_quantiles: int = 5, n_bottom: int = 3, n_boot: int = 1000,
                         rng: np.random.Generator | None = None, ci: float = 0.95,
                         scale: str = "abs", groups=None, cis_ld=None, cluster: str | None = None
                         ) -> CovregResult:
    """Regress eQTL chi^2 on LD score and |SED-LD| (then adding TSS-distance LD scores); quantile enrichment.

    Parameters
    ----------
    chi2, ld_score, sed_ld : array_like, float, shape (n,)
        eQTL chi^2 (z^2) per variant or SNP-gene pair, its LD score (``L2``) and SED-LD, which enters as
        ``scale`` says (:func:`scale_sed_ld`).
    significant : array_like, bool, shape (n,)
        Significant eQTL (e.g. GTEx ``significant`` / q <= 0.05).
    tss_ld : array_like, float, shape (n, n_tss), optional
        TSS-distance LD scores; adds model ``ld_tss``.
    tissue : str
        Name carried into the result.
    n_quantiles, n_bottom : int
        See :func:`stats.eqtl.enrichment.quantile_enrichment`.
    n_boot : int
        Bootstrap replicates for the headline interval (0: none; :func:`stats.eqtl.enrichment.bootstrap_headline`).
    rng : numpy.random.Generator, optional
        Needed for ``n_boot > 0``.
    ci : float
        Coverage of the percentile interval.
    scale : {"abs", "sqrt", "signed"}
    groups : array_like, shape (n,), optional
        Cluster labels (e.g. the LD block of each pair's SNP, or its gene): significant eQTLs, chi^2 and
        SED-LD are correlated within genes and, through LD, across the genes of an LD block, which plain
        OLS ignores. With ``groups`` the bootstrap draws whole clusters and cluster-robust statistics are
        reported beside the plain OLS ones (the paper's; :func:`fit_models`). Default: rows.
    cis_ld : array_like, float, shape (n,), optional
        The cis LD score of each pair (:func:`stats.eqtl.covariates.pair_cis_ld_scores`), added to both
        models: the magnitude of SED-LD grows with it, and so does chi^2, which ``L2`` does not capture.
    cluster : str, optional
        Name of the clustering in ``groups`` (``"block"``, ``"gene"``), carried into the result;
        ``"none"`` ignores ``groups`` (row bootstrap, no cluster-robust p).

    Returns
    -------
    CovregResult
        Ranked by the last model; the headline is 1 when its coefficient is <= 0 (module notes).

    Raises
    ------
    ValueError
        For inputs of different lengths, non-finite values, too few rows, a constant |SED-LD|,
        ``n_boot > 0`` without ``rng``, or ``cluster`` other than ``"none"`` without ``groups``.
    """
    y, l2, s, sig, cov, cis = _checked_arrays(chi2, ld_score, sed_ld, significant, tss_ld, cis_ld, scale=scale,
                                              n_quantiles=n_quantiles, tissue=tissue)
    if n_boot and rng is None:
        raise ValueError("n_boot > 0 needs rng (a numpy Generator)")
    codes, cluster = _cluster_codes(groups, cluster, len(y))
    coefficients, fits, n_clusters = fit_models(y, l2, s, tss_ld=cov, cis_ld=cis, groups=codes)
    model, fit = list(fits.items())[-1]
    quant, headline = ranked_enrichment(fit.diff, fit.coef, sig, n_quantiles=n_quantiles, n_bottom=n_bottom)
    boot, (lo, hi) = np.zeros(0), (np.nan, np.nan)
    if n_boot:
        boot = bootstrap_headline(fit.full, fit.base, y, sig, n_boot=n_boot, rng=rng, groups=codes,
                                  n_quantiles=n_quantiles, n_bottom=n_bottom)
        lo, hi = percentile_interval(boot, ci=ci)
    row = coefficients.loc[model]
    logger.info("%s: n=%d (%d significant); |SED-LD| coef %.4g, t %.2f, p %.3g (%s); top/bottom-3 enrichment "
                "%.2f [%.2f, %.2f]", tissue, len(y), int(sig.sum()), row["coef"], row["t"], row["p"], model,
                headline, lo, hi)
    return CovregResult(tissue=tissue, n=len(y), n_significant=int(sig.sum()), coefficients=coefficients,
                        quantiles=quant, enrichment=headline, enrichment_ci=(lo, hi), enrichment_model=model,
                        bootstrap=boot, cluster=cluster or "none", n_clusters=n_clusters)


# -- on regression tables -----------------------------------------------------------------------------------

def table_regression(table: pd.DataFrame, *, groups=None, cluster: str | None = None, tissue: str = "",
                     scale: str = "abs", n_boot: int = 1000, rng: np.random.Generator | None = None,
                     n_quantiles: int = 5, n_bottom: int = 3, ci: float = 0.95) -> CovregResult:
    """:func:`covariate_regression` of one regression table (:mod:`stats.eqtl.tables`).

    Parameters
    ----------
    table : DataFrame
        ``chi2, significant, SED_LD, L2``; the ``TSS_*`` columns (if any) are the TSS covariates and
        ``CIS_L2`` (if present) the cis LD score.
    groups : array_like, shape (len(table),), optional
        Cluster labels (:meth:`stats.eqtl.tables.RegressionTables.groups`).
    cluster, tissue, scale, n_boot, rng, n_quantiles, n_bottom, ci
        As :func:`covariate_regression`.

    Returns
    -------
    CovregResult
    """
    tss_cols = [c for c in table.columns if c.startswith("TSS_")]
    return covariate_regression(
        table["chi2"].to_numpy(), table["L2"].to_numpy(), table["SED_LD"].to_numpy(),
        significant=table["significant"].to_numpy(), tss_ld=table[tss_cols].to_numpy() if tss_cols else None,
        tissue=str(tissue), n_boot=n_boot, rng=rng, groups=groups, cluster=cluster,
        cis_ld=table["CIS_L2"].to_numpy() if "CIS_L2" in table.columns else None, scale=scale,
        n_quantiles=n_quantiles, n_bottom=n_bottom, ci=ci)


def shuffle_t(table: pd.DataFrame, groups=None, *, scale: str = "abs") -> float:
    """The |SED-LD| t statistic of the last model of :func:`table_regression`, cheaply (:func:`last_t`).

    ``chi2 ~ 1 + L2 [+ CIS_L2] [+ TSS_*] + |SED_LD|`` (|SED-LD| scaled by ``scale``): cluster-robust with
    ``groups`` (its ``z_cluster``), plain OLS (``t``) without.

    Parameters
    ----------
    table : DataFrame
        A regression table (:mod:`stats.eqtl.tables`).
    groups : array_like, shape (len(table),), optional
        Cluster labels.
    scale : {"abs", "sqrt", "signed"}

    Returns
    -------
    float
    """
    tss_cols = [c for c in table.columns if c.startswith("TSS_")]
    cov = table[tss_cols].to_numpy(np.float64) if tss_cols else None
    cis = table["CIS_L2"].to_numpy(np.float64) if "CIS_L2" in table.columns else None
    x = np.column_stack([design_matrix(table["L2"].to_numpy(np.float64), cov, cis),
                         scale_sed_ld(table["SED_LD"].to_numpy(), scale)])
    return last_t(table["chi2"].to_numpy(np.float64), x, groups)


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
