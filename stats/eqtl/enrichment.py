"""Quantile enrichment of significant eQTLs along a ranking score, its headline and its bootstrap.

Variants are ranked by a score (in the covariate regression: the fitted values with minus without
|SED-LD|, :func:`stats.eqtl.regression.covariate_regression`) and cut into ``n_quantiles`` equal-size
quantiles, ties broken by input order. Each quantile's share of significant eQTLs is divided by the
overall share; the headline is the top quantile's share over the mean share of the bottom ``n_bottom``
(Basenji 2018, Fig. 5: top quintile over the mean of the bottom three). Its interval comes from a bootstrap
over variants or clusters that refits both models and re-ranks the variants in every replicate.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


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
        top = share[-1] / share[:n_bottom].mean()
    table = pd.DataFrame({"quantile": np.arange(1, n_quantiles + 1), "n": n_q, "n_significant": s_q.astype(np.int64),
                          "share": share, "enrichment": enr})
    return table, float(top)


def headline(score, significant, *, n_quantiles: int = 5, n_bottom: int = 3) -> float:
    """The headline of :func:`quantile_enrichment` without building its table (the bootstrap's inner loop).

    Parameters
    ----------
    score : array_like, float, shape (n,)
    significant : ndarray, bool, shape (n,)
    n_quantiles, n_bottom : int

    Returns
    -------
    float
        ``share[top] / mean(share[bottom n_bottom])``.
    """
    lab = quantile_labels(score, n_quantiles=n_quantiles)
    n_q = np.bincount(lab, minlength=n_quantiles)
    s_q = np.bincount(lab, weights=significant.astype(np.float64), minlength=n_quantiles)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = s_q / n_q
        return float(share[-1] / share[:n_bottom].mean())


def fitted_difference(full: np.ndarray, base: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """OLS fitted values with minus without the last column of ``full``, and that column's coefficient.

    By the normal equations: a few columns and many rows make them faster than ``lstsq`` in the bootstrap.

    Parameters
    ----------
    full : ndarray, float64, shape (n, k + 1)
        Design with the regressor of interest as its last column.
    base : ndarray, float64, shape (n, k)
        ``full`` without its last column.
    y : ndarray, float64, shape (n,)

    Returns
    -------
    diff : ndarray, float64, shape (n,)
    coef : float
    """
    bf = np.linalg.solve(full.T @ full, full.T @ y)
    k = base.shape[1]
    bb = np.linalg.solve(full[:, :k].T @ full[:, :k], full[:, :k].T @ y)
    return full @ bf - base @ bb, float(bf[-1])


def gated_headline(diff, coef: float, significant, *, n_quantiles: int = 5, n_bottom: int = 3) -> float:
    """The headline of the ranking by ``diff`` when ``coef > 0``; 1 (no enrichment) otherwise.

    With ``coef <= 0`` the top of the ranking holds the *least* |SED-LD|, whose excess of significant
    eQTLs says nothing about the annotation.
    """
    if not coef > 0:
        return 1.0
    return headline(diff, significant, n_quantiles=n_quantiles, n_bottom=n_bottom)


def ranked_enrichment(diff, coef: float, significant, *, n_quantiles: int = 5, n_bottom: int = 3
                      ) -> tuple[pd.DataFrame, float]:
    """Quantile enrichment along the residualized regressor, gated by the sign of its coefficient.

    Parameters
    ----------
    diff : array_like, float, shape (n,)
        Fitted values with minus without the regressor (``coef`` x the residualized regressor).
    coef : float
        The regressor's coefficient.
    significant : array_like, bool, shape (n,)
    n_quantiles, n_bottom : int

    Returns
    -------
    table : DataFrame
        :func:`quantile_enrichment` of ``diff`` (``-diff`` when ``coef <= 0``): the quantiles of the
        residualized regressor whatever the sign, quantile ``n_quantiles`` holding the most.
    headline : float
        Its headline, or 1 when ``coef <= 0``.
    """
    table, value = quantile_enrichment(diff if coef > 0 else -diff, significant, n_quantiles=n_quantiles,
                                       n_bottom=n_bottom)
    return table, (value if coef > 0 else 1.0)


def bootstrap_headline(full: np.ndarray, base: np.ndarray, y: np.ndarray, significant, *, n_boot: int,
                       rng: np.random.Generator, groups=None, n_quantiles: int = 5, n_bottom: int = 3
                       ) -> np.ndarray:
    """Bootstrap of the gated headline: rows (or whole clusters) drawn with replacement, both models refitted.

    Parameters
    ----------
    full, base : ndarray, float64, shapes (n, k + 1) and (n, k)
        Designs with and without the regressor (its last column), as :func:`fitted_difference`.
    y : ndarray, float64, shape (n,)
    significant : ndarray, bool, shape (n,)
    n_boot : int
        Replicates.
    rng : numpy.random.Generator
    groups : array_like, shape (n,), optional
        Cluster labels: each replicate draws as many clusters as there are, with replacement.
    n_quantiles, n_bottom : int

    Returns
    -------
    ndarray, float64, shape (n_boot,)
        :func:`gated_headline` of each replicate (its refitted coefficient gates it).
    """
    n = len(y)
    boot = np.empty(int(n_boot))
    members = None
    if groups is not None:
        codes = pd.factorize(pd.Series(np.asarray(groups)), sort=False)[0]
        order = np.argsort(codes, kind="stable")
        members = np.split(order, np.cumsum(np.bincount(codes))[:-1])
    for b in range(int(n_boot)):
        if members is None:
            idx = rng.integers(0, n, n)
        else:
            idx = np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))])
        d_b, c_b = fitted_difference(full[idx], base[idx], y[idx])
        boot[b] = gated_headline(d_b, c_b, significant[idx], n_quantiles=n_quantiles, n_bottom=n_bottom)
    return boot


def percentile_interval(values, *, ci: float = 0.95) -> tuple[float, float]:
    """Equal-tailed percentile interval of ``values`` (NaN ignored) with coverage ``ci``."""
    a = (1 - ci) / 2
    lo, hi = (float(v) for v in np.nanquantile(values, [a, 1 - a]))
    return lo, hi
