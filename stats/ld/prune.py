"""Greedy LD pruning of a variant set against a reference panel.

Variants are visited in priority order (highest first; ties by chromosome, then position, then input
order). A visited variant that is not yet removed is kept, and every not-yet-visited variant within the
window whose ``r^2`` with it exceeds the threshold is removed. The result is the same as checking each
variant, in that order, against all variants kept before it within the window, and is deterministic.
Pairs farther apart than the window (bp, cM or SNP count among the candidates) are never compared, and
variants on different chromosomes never are. ``r`` is the Pearson correlation of the panel genotypes
(:func:`stats.ld.matrix.standardized`: missing genotypes at the mean); monomorphic variants have ``r = 0`` with
everything and are always kept.

The panel is streamed one chromosome at a time: only the candidate variants' genotype columns of that
chromosome are read (``n_individuals x n_candidates_on_chromosome`` floats).
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from stats.ld.matrix import standardized

logger = logging.getLogger(__name__)


def _window(window_kb, window_cm, window_snps) -> tuple[str, float]:
    given = [(k, v) for k, v in (("kb", window_kb), ("cm", window_cm), ("snps", window_snps)) if v is not None]
    if len(given) > 1:
        raise ValueError(f"give at most one window (window_kb, window_cm, window_snps); got {[k for k, _ in given]}")
    kind, size = given[0] if given else ("kb", 1000.0)
    if not size > 0:
        raise ValueError(f"the window must be positive; got window_{kind}={size}")
    return kind, float(size)


def prune_genotypes(x: np.ndarray, coords, *, priority=None, r2_max: float = 0.5, window: float = np.inf,
                    standardize: bool = True) -> np.ndarray:
    """Greedy LD pruning of the variants (columns) of one chromosome.

    Parameters
    ----------
    x : ndarray, float, shape (n_individuals, n_variants)
        Allele counts (NaN = missing), or standardized genotypes with ``standardize=False``.
    coords : array_like, float, shape (n_variants,)
        Coordinates for the window (bp, cM or index); any order.
    priority : array_like, float, shape (n_variants,), optional
        Higher is visited first (e.g. chi^2 of the association); default all equal (position order).
        NaN is lowest.
    r2_max : float
        Keep pairs with ``r^2 <= r2_max``.
    window : float
        Variants with ``|coords_i - coords_j| > window`` are not compared.
    standardize : bool
        Standardize ``x`` first.

    Returns
    -------
    ndarray of bool, shape (n_variants,)
        Kept variants, in input order.
    """
    x = standardized(x) if standardize else np.asarray(x, dtype=np.float64)
    n, m = x.shape
    coords = np.asarray(coords, dtype=np.float64)
    if coords.shape != (m,):
        raise ValueError(f"coords has shape {coords.shape}, expected ({m},)")
    if not 0 <= r2_max <= 1:
        raise ValueError(f"r2_max must be in [0, 1], got {r2_max}")
    pr = np.zeros(m) if priority is None else np.asarray(priority, dtype=np.float64)
    if pr.shape != (m,):
        raise ValueError(f"priority has shape {pr.shape}, expected ({m},)")
    pr = np.where(np.isnan(pr), -np.inf, pr)
    keep = np.zeros(m, dtype=bool)
    if m == 0:
        return keep
    by_pos = np.lexsort((np.arange(m), coords))  # position order (stable)
    xs, cs = x[:, by_pos], coords[by_pos]
    lo = np.searchsorted(cs, cs - window, side="left")
    hi = np.searchsorted(cs, cs + window, side="right")
    rank_pos = np.empty(m, dtype=np.int64)
    rank_pos[by_pos] = np.arange(m)
    order = np.lexsort((rank_pos, -pr))  # priority desc, then position
    removed = np.zeros(m, dtype=bool)
    kept_s = np.zeros(m, dtype=bool)
    for i in rank_pos[order]:
        if removed[i]:
            continue
        kept_s[i] = True
        a, b = lo[i], hi[i]
        r = xs[:, i] @ xs[:, a:b] / n
        removed[a:b] |= r * r > r2_max
    keep[by_pos] = kept_s
    return keep


def _panel_rows(panel, ids: pd.Series, *, missing: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Find the variants in the panel's allele table.

    Returns
    -------
    table : DataFrame
        :meth:`stats.io.panel.ReferencePanel.allele_table` rows of the found variants, in input order.
    found : ndarray, int64
        Input positions of those variants.
    absent : ndarray of bool, shape (n,)
        Variants not in the panel.
    """
    bim = panel.allele_table()
    row = pd.Index(bim["snp"].astype(str)).get_indexer(ids)
    absent = row < 0
    if absent.all():
        raise ValueError(f"none of the {len(ids)} variants is in the panel {panel} (e.g. {ids.iat[0]!r}; panel ids "
                         f"look like {bim['snp'].iat[0]!r})")
    if absent.any():
        if missing == "error":
            raise ValueError(f"{int(absent.sum())} of {len(ids)} variants are not in the panel {panel}, e.g. "
                             f"{ids[absent].iat[0]!r}")
        logger.warning("%d of %d variants are not in the panel %s: %s", int(absent.sum()), len(ids), panel,
                       "dropped" if missing == "drop" else "kept unpruned")
    found = np.flatnonzero(~absent)
    return bim.iloc[row[found]], found, absent


def _coords(grp: pd.DataFrame, kind: str, size: float) -> tuple[np.ndarray, float]:
    """Window coordinates of one chromosome's candidates and the window in their unit."""
    if kind == "kb":
        return grp["pos"].to_numpy(np.float64), size * 1000
    if kind == "cm":
        return grp["cm"].to_numpy(np.float64), size
    pos = grp["pos"].to_numpy(np.float64)
    coords = np.empty(len(pos))
    coords[np.lexsort((np.arange(len(pos)), pos))] = np.arange(len(pos))
    return coords, size


def prune_variants(panel, variants, *, priority=None, r2_max: float = 0.5, window_kb: float | None = None,
                   window_cm: float | None = None, window_snps: int | None = None,
                   missing: str = "drop") -> np.ndarray:
    """Greedy LD pruning of variants given by panel SNP id, streaming the panel per chromosome.

    Parameters
    ----------
    panel : ReferencePanel, or str or Path
        An open :class:`stats.io.panel.ReferencePanel`, or what it opens: a PLINK fileset prefix, or a
        per-chromosome template (``{chrom}``) or ldsc-style prefix.
    variants : array_like of str, shape (n,)
        Panel SNP ids (unique).
    priority : array_like, float, shape (n,), optional
        Higher is kept first (e.g. chi^2); ties by chromosome and position.
    r2_max : float
        Pairwise threshold (0.5 in Basenji 2018).
    window_kb, window_cm, window_snps : float, float, int
        At most one; pairs farther apart are not compared. Default ``window_kb=1000``.
        ``window_snps`` counts candidate variants, not panel SNPs.
    missing : {"drop", "keep", "error"}
        What to do with variants absent from the panel (they cannot be compared).

    Returns
    -------
    ndarray of bool, shape (n,)
        Kept variants, in input order.

    Raises
    ------
    ValueError
        Duplicated ids, no variant in the panel, a cM window on an all-zero cM column, or (with
        ``missing="error"``) a variant absent from the panel.
    """
    from stats.io.panel import as_panel

    if missing not in ("drop", "keep", "error"):
        raise ValueError(f"missing must be 'drop', 'keep' or 'error', got {missing!r}")
    kind, size = _window(window_kb, window_cm, window_snps)
    ids = pd.Series(np.asarray(variants).astype(str))
    if ids.duplicated().any():
        raise ValueError(f"variants: duplicated ids, e.g. {ids[ids.duplicated()].iat[0]}")
    pr = None if priority is None else np.asarray(priority, dtype=np.float64)
    if pr is not None and pr.shape != (len(ids),):
        raise ValueError(f"priority has {pr.shape} values for {len(ids)} variants")
    panel = as_panel(panel)
    sub, found, absent = _panel_rows(panel, ids, missing=missing)
    keep = np.zeros(len(ids), dtype=bool)
    keep[absent] = missing == "keep"
    if kind == "cm" and not (sub["cm"] != 0).any():
        raise ValueError(f"panel {panel}: the cM column is 0 for every variant, so window_cm cannot be used")
    for chrom, grp in sub.groupby("chrom", sort=False):
        which = found[np.flatnonzero((sub["chrom"] == chrom).to_numpy())]
        dos = panel.genotypes(chrom, grp["bim_index"].to_numpy(np.int64), dtype="float64")
        coords, win = _coords(grp, kind, size)
        k = prune_genotypes(dos, coords, priority=None if pr is None else pr[which], r2_max=r2_max, window=win)
        keep[which] = k
        logger.info("chr%s: %d of %d variants kept at r^2 <= %g (window %g %s)", chrom, int(k.sum()), len(k),
                    r2_max, size, kind)
    return keep
