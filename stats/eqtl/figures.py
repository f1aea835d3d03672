"""Figures of the eQTL quantile enrichment: share of significant eQTLs by |SED-LD| quantile (Basenji 2018, Fig. 5)."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from stats.eqtl.regression import CovregResult


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
    """Share of significant eQTLs by quantile for one tissue (Basenji Fig. 5 style).

    Parameters
    ----------
    result : CovregResult
    path : str or Path
        PNG to write.
    dpi : int

    Returns
    -------
    Path
    """
    from matplotlib.figure import Figure

    from genocore.figures import save_png

    fig = Figure(figsize=(3.6, 3.2))
    _draw(fig.add_subplot(1, 1, 1), result)
    fig.tight_layout()
    return save_png(fig, path, dpi=dpi)


def panel_figure(results, path, *, ncols: int = 4, dpi: int = 100):
    """The tissues' quantile plots in one multi-panel PNG.

    Parameters
    ----------
    results : mapping of key -> CovregResult, or sequence of CovregResult
    path : str or Path
        PNG to write.
    ncols : int
        Panels per row (at most the number of results).
    dpi : int

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        Without results.
    """
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
