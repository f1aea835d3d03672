"""Linkage disequilibrium from reference genotypes: correlation matrices and r^2 decay."""
from __future__ import annotations

import numpy as np
import pandas as pd


def standardized(dosage: np.ndarray) -> np.ndarray:
    """Genotypes centred and scaled to unit variance per SNP; missing values (NaN) and monomorphic
    SNPs become 0.

    Parameters
    ----------
    dosage : ndarray, shape (n_individuals, n_snps)

    Returns
    -------
    ndarray, float64, same shape
    """
    x = np.asarray(dosage, dtype=np.float64).copy()
    mean = np.nanmean(x, axis=0)
    x -= mean
    x[np.isnan(x)] = 0.0
    sd = np.sqrt((x**2).mean(axis=0))
    return np.divide(x, sd, out=np.zeros_like(x), where=sd > 0)


def ld_matrix(dosage: np.ndarray) -> np.ndarray:
    """Pearson correlation r between all pairs of SNPs, shape (n_snps, n_snps)."""
    x = standardized(dosage)
    return x.T @ x / x.shape[0]


def r2_decay(dosage: np.ndarray, positions: np.ndarray, *, bins=(0, 1e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5),
             max_pairs: int = 2_000_000, rng: np.random.Generator | None = None) -> pd.DataFrame:
    """Mean r^2 between SNP pairs by physical distance.

    Parameters
    ----------
    dosage : ndarray, shape (n_individuals, n_snps)
        One chromosome, SNPs sorted by position.
    positions : ndarray, int, shape (n_snps,)
        Base-pair positions.
    bins : sequence of float
        Distance bin edges in bp; pairs farther than the last edge are ignored.
    max_pairs : int
        At most this many pairs are used (drawn uniformly when there are more; needs ``rng``).

    Returns
    -------
    DataFrame with columns lo, hi (bp), mid (bp), mean_r2, n_pairs.
    """
    positions = np.asarray(positions)
    if np.any(np.diff(positions) < 0):
        raise ValueError("positions must be sorted (one chromosome, in order)")
    x = standardized(dosage)
    edges = np.asarray(bins, dtype=float)
    i_idx, j_idx = [], []
    for i in range(len(positions)):
        j_hi = np.searchsorted(positions, positions[i] + edges[-1], side="right")
        if j_hi > i + 1:
            i_idx.append(np.full(j_hi - i - 1, i))
            j_idx.append(np.arange(i + 1, j_hi))
    if not i_idx:
        return pd.DataFrame(columns=["lo", "hi", "mid", "mean_r2", "n_pairs"])
    ii, jj = np.concatenate(i_idx), np.concatenate(j_idx)
    if len(ii) > max_pairs:
        if rng is None:
            raise ValueError(f"{len(ii)} pairs exceed max_pairs={max_pairs}; pass rng to subsample")
        keep = np.sort(rng.choice(len(ii), max_pairs, replace=False))
        ii, jj = ii[keep], jj[keep]
    r = np.einsum("ni,ni->i", x[:, ii], x[:, jj]) / x.shape[0] if len(ii) < 200_000 else _pair_r(x, ii, jj)
    d = positions[jj] - positions[ii]
    which = np.searchsorted(edges, d, side="right") - 1
    rows = []
    for b in range(len(edges) - 1):
        sel = which == b
        rows.append((edges[b], edges[b + 1], (edges[b] + edges[b + 1]) / 2,
                     float(np.mean(r[sel] ** 2)) if sel.any() else np.nan, int(sel.sum())))
    return pd.DataFrame(rows, columns=["lo", "hi", "mid", "mean_r2", "n_pairs"])


def _pair_r(x, ii, jj, chunk: int = 100_000):
    out = np.empty(len(ii))
    for a in range(0, len(ii), chunk):
        out[a:a + chunk] = np.einsum("ni,ni->i", x[:, ii[a:a + chunk]], x[:, jj[a:a + chunk]]) / x.shape[0]
    return out


def fileset_r2_decay(bfile, *, max_pairs: int = 2_000_000, rng: np.random.Generator | int | None = None
                     ) -> pd.DataFrame:
    """:func:`r2_decay` of every chromosome of one PLINK fileset.

    Parameters
    ----------
    bfile : path-like
        PLINK fileset prefix.
    max_pairs : int
        Per chromosome.
    rng : numpy.random.Generator or int
        Draws the pairs where there are more than ``max_pairs`` (one stream, chromosomes in file order).

    Returns
    -------
    DataFrame: the :func:`r2_decay` columns plus ``chrom``.
    """
    from stats.io.plink import read_bfile

    dosage, bim, _ = read_bfile(bfile)
    rng = np.random.default_rng(rng)
    tables = []
    for chrom, idx in bim.groupby("chrom", sort=False).indices.items():
        t = r2_decay(dosage[:, idx], bim.pos.to_numpy()[idx], max_pairs=max_pairs, rng=rng)
        tables.append(t.assign(chrom=chrom))
    return pd.concat(tables, ignore_index=True)
