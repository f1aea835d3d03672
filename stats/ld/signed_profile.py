"""Signed LD profiles R v, as sldp 1.1.5's ``preprocessannot`` computes them (Reshef et al. 2018).

Per LD block the reference genotypes ``X`` (``n_ref x m_b``, every SNP centred to mean 0 and scaled to
variance 1, missing genotypes set to the mean) give the in-sample LD ``R = X^T X / n_ref``; the signed
LD profile of an annotation ``v`` is ``R v`` restricted to the block, reported at the regression
("print") SNPs only. LD between blocks is ignored. Everything here works on arrays; readers of PLINK
files, ``.sannot.gz`` tables and allele reconciliation live elsewhere (``stats.io``, ``stats.alleles``).

Conventions copied from sldp 1.1.5 (checked against its frozen numbers in
``tests/stats/fixtures/sldp_1.1.5``):

* genotypes are standardized as ``gprim.dataset.Dataset.stdX`` does it: pysnptools' ``Unit``
  standardization applied twice (population SD, ``ddof=0``; missing -> 0; monomorphic -> 0), which
  equals centring by the mean of the observed genotypes and scaling to unit variance over all
  individuals (:func:`standardize_genotypes`);
* ``RV = X[:, print].T @ (X @ V) / n_ref`` (``preprocessannot.do``), exactly zero in blocks whose
  annotations are all zero, in blocks without print SNPs and outside every block;
* MAF scaling ``v * (2 maf (1 - maf)) ** ((1 + alpha) / 2)`` unless ``alpha == -1``
  (:func:`scale_by_maf`), applied before the ``.info`` numbers and the profile;
* a SNP at base-pair position ``BP`` belongs to the block ``[start, end)`` of the BED file when
  ``start <= BP < end`` -- sldp's ``gprim`` compares the 1-based ``BP`` with the 0-based BED start
  directly (:func:`sldp_block_ranges`).
"""
from __future__ import annotations

import functools
import logging
import operator
import warnings
from typing import Callable, Sequence

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

#: Columns of sldp's per-chromosome ``.info`` table (after the index column ``name``).
INFO_COLUMNS = ("M", "M_5_50", "sqnorm", "sqnorm_5_50", "supp", "supp_5_50")

#: Up to this many annotation columns a profile is formed at every SNP of the block and the reported rows
#: picked from it, rather than copying the rows' genotypes first.
_FEW_ANNOTATIONS = 64


# -- genotypes and blocks ----------------------------------------------------------------------------

def standardize_genotypes(dosage: np.ndarray) -> np.ndarray:
    """Standardize genotypes exactly as sldp's reference-panel reader does.

    ``gprim.dataset.Dataset.stdX`` calls pysnptools' ``Unit`` standardizer twice: each pass subtracts
    the mean and divides by the population SD (``ddof=0``) of the observed values, sets missing values
    to 0 and sets monomorphic SNPs (SD 0) to 0. After the second pass every SNP has mean 0 and variance
    1 over all individuals, the imputed ones included.

    Parameters
    ----------
    dosage : array_like, float, shape (n_individuals, n_snps)
        Allele counts (0, 1, 2); NaN for a missing genotype. Which allele is counted does not matter
        for R as long as it is the same rule for every SNP.

    Returns
    -------
    ndarray, float64, shape (n_individuals, n_snps)
    """
    x = np.array(dosage, dtype=np.float64, copy=True)
    if x.ndim != 2:
        raise ValueError(f"dosage must be 2-D (n_individuals, n_snps), got shape {x.shape}")
    if x.size and np.isfinite(x.sum()):
        # fast path, no missing genotype (nor inf): the same two passes without the NaN-aware reductions
        n = x.shape[0]
        with np.errstate(invalid="ignore", divide="ignore"):
            for _ in range(2):
                x -= x.mean(axis=0)
                sd = np.sqrt(np.einsum("ij,ij->j", x, x) / n)
                sd[~(sd > 0)] = np.inf
                x /= sd
        return x
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-missing SNPs
        for _ in range(2):
            miss = np.isnan(x)
            sd = np.nanstd(x, axis=0)
            mean = np.nanmean(x, axis=0)
            sd[~(sd > 0)] = np.inf
            x -= mean
            x /= sd
            x[miss] = 0.0
            x[:, ~np.isfinite(mean)] = 0.0
    return x


def sldp_block_ranges(bp: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SNP index ranges of LD blocks on one chromosome, as ``gprim.dataset.Dataset.block_data``.

    A SNP belongs to block ``b`` when ``starts[b] <= bp < ends[b]`` (``np.searchsorted`` on the
    positions with ``side='left'`` for both ends). Note that sldp compares the 1-based ``BP`` of the
    ``.bim`` file with the 0-based BED start, so a SNP exactly at ``BP == start`` is inside the block
    and one at ``BP == end`` is not.

    Parameters
    ----------
    bp : ndarray, int, shape (n_snps,)
        Base-pair positions of the chromosome's SNPs, sorted.
    starts, ends : ndarray, int, shape (n_blocks,)
        BED coordinates of the chromosome's blocks, in file order.

    Returns
    -------
    begin, end : ndarray, int64, shape (n_blocks,)
        The block's SNPs are ``begin[b]:end[b]`` (possibly empty).
    """
    bp = np.asarray(bp)
    if len(bp) > 1 and np.any(np.diff(bp) < 0):
        raise ValueError("bp must be sorted (one chromosome, in position order)")
    begin = np.searchsorted(bp, np.asarray(starts)).astype(np.int64)
    end = np.searchsorted(bp, np.asarray(ends)).astype(np.int64)
    return begin, end


# -- annotations -------------------------------------------------------------------------------------

def _as_2d(v: np.ndarray, name: str) -> tuple[np.ndarray, bool]:
    a = np.asarray(v, dtype=np.float64)
    if a.ndim == 1:
        return a[:, None], True
    if a.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D, got shape {a.shape}")
    return a, False


def _check_finite(a: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        cols = np.flatnonzero(bad.any(axis=0)) if a.ndim == 2 else []
        raise ValueError(f"{name} holds {int(bad.sum())} non-finite values"
                         + (f" (columns {list(cols[:10])})" if len(cols) else ""))


def scale_by_maf(v: np.ndarray, maf: np.ndarray, *, alpha: float) -> np.ndarray:
    """Put annotation values on the per-normalized-genotype scale, as ``preprocessannot --alpha``.

    ``v_m (2 maf_m (1 - maf_m)) ** ((1 + alpha) / 2)``; ``alpha = -1`` (sldp's default) returns the
    values unchanged, ``alpha = 0`` treats them as per-allele effects.

    Parameters
    ----------
    v : array_like, float, shape (n_snps,) or (n_snps, n_annot)
    maf : array_like, float, shape (n_snps,)
        Minor-allele frequencies of the reference panel (PLINK ``.frq`` ``MAF``).
    alpha : float

    Returns
    -------
    ndarray, float64, same shape as ``v``
    """
    a, flat = _as_2d(v, "v")
    if alpha == -1:
        out = a.copy()
    else:
        maf = np.asarray(maf, dtype=np.float64)
        if maf.shape != (a.shape[0],):
            raise ValueError(f"maf has shape {maf.shape}, expected ({a.shape[0]},)")
        out = a * np.power(2 * maf * (1 - maf), (1.0 + alpha) / 2)[:, None]
    return out[:, 0] if flat else out


def annotation_info(v: np.ndarray, maf: np.ndarray, *, names: Sequence[str]) -> pd.DataFrame:
    """sldp's per-chromosome ``.info`` numbers of signed annotations (``preprocessannot.do``).

    Computed over every reference-panel SNP of the chromosome, after allele reconciliation (SNPs the
    annotation lacks count as 0) and after :func:`scale_by_maf`:

    * ``M``: number of SNPs; ``M_5_50``: number with ``maf >= 0.05``;
    * ``sqnorm``: ``sum v^2``; ``sqnorm_5_50``: the same over the ``maf >= 0.05`` SNPs;
    * ``supp``: number of non-zero values (``np.linalg.norm(ord=0)``, a float as in sldp);
      ``supp_5_50`` likewise.

    Sum the tables of several chromosomes with :func:`sum_info` (as ``gprim`` ``info_df`` does).

    Parameters
    ----------
    v : array_like, float, shape (n_snps,) or (n_snps, n_annot)
    maf : array_like, float, shape (n_snps,)
    names : sequence of str, length n_annot

    Returns
    -------
    DataFrame indexed by ``name`` with columns ``M M_5_50 sqnorm sqnorm_5_50 supp supp_5_50``.
    """
    a, _ = _as_2d(v, "v")
    names = list(names)
    if len(names) != a.shape[1]:
        raise ValueError(f"{len(names)} names for {a.shape[1]} annotation columns")
    maf = np.asarray(maf, dtype=np.float64)
    if maf.shape != (a.shape[0],):
        raise ValueError(f"maf has shape {maf.shape}, expected ({a.shape[0]},)")
    common = maf >= 0.05  # NaN MAF counts as not common, as in pandas
    info = pd.DataFrame(index=pd.Index(names, name="name"))
    info["M"] = np.int64(a.shape[0])
    info["M_5_50"] = np.int64(common.sum())
    info["sqnorm"] = np.linalg.norm(a, axis=0) ** 2
    info["sqnorm_5_50"] = np.linalg.norm(a[common], axis=0) ** 2
    info["supp"] = np.linalg.norm(a, ord=0, axis=0)
    info["supp_5_50"] = np.linalg.norm(a[common], ord=0, axis=0)
    return info[list(INFO_COLUMNS)]


def sum_info(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Genome-wide ``.info`` numbers: the element-wise sum of per-chromosome tables (``gprim``'s
    ``Annotation.info_df(chroms)``). Every table must hold the same annotation names."""
    tables = list(tables)
    if not tables:
        raise ValueError("no .info tables to sum")
    first = set(tables[0].index)
    for t in tables[1:]:
        if set(t.index) != first:
            raise ValueError(f"info tables disagree on annotation names: {sorted(first ^ set(t.index))[:5]}")
    return functools.reduce(operator.add, tables)


# -- profiles ----------------------------------------------------------------------------------------

def signed_ld_profile(x: np.ndarray, v: np.ndarray, *, rows: np.ndarray | None = None,
                      batch_columns: int = 512, out: np.ndarray | None = None,
                      check_finite: bool = True, xv: np.ndarray | None = None) -> np.ndarray:
    """Signed LD profiles ``R v = X^T (X v) / n_ref`` of many annotations in one LD block.

    Two BLAS products per batch of annotation columns (``X @ V`` then ``X_rows^T @ (X V)``), never the
    ``m_b x m_b`` LD matrix, so memory is ``O(n_ref * (m_b + batch_columns))``.

    Parameters
    ----------
    x : ndarray, float, shape (n_ref, m_b)
        Standardized genotypes of every reference SNP in the block (:func:`standardize_genotypes`).
    v : ndarray, float, shape (m_b,) or (m_b, n_annot)
        Signed annotation values of those SNPs (after allele reconciliation and MAF scaling).
    rows : ndarray of bool, shape (m_b,), or of int, optional
        The SNPs at which the profile is reported (sldp's print / regression SNPs); all by default.
    batch_columns : int
        Annotation columns per BLAS product.
    out : ndarray, float64, shape (n_rows, n_annot), optional
        Written in place and returned.
    check_finite : bool
        Check ``x`` for non-finite values (a pass over the block; skip it for genotypes standardized
        by :func:`stats.ld.moments.standardize_counts`, which are finite). ``v`` is always checked.
    xv : ndarray, float64, shape (n_ref, n_annot), optional
        ``X v`` when formed already (with the standardization: :func:`stats.ld.moments.standardized_product`);
        then only the second product is made, over every column at once.

    Returns
    -------
    ndarray, float64, shape (n_rows, n_annot), or (n_rows,) for a 1-D ``v``
        ``n_rows`` is ``m_b`` or the number of ``rows``. Exactly 0 where every annotation is 0 in the
        block (sldp's "annotations are all 0 in this block").

    Raises
    ------
    ValueError
        On shape mismatches or non-finite values in ``x`` or ``v``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D (n_ref, m_b), got shape {x.shape}")
    a, flat = _as_2d(v, "v")
    n_ref, m_b = x.shape
    if a.shape[0] != m_b:
        raise ValueError(f"v has {a.shape[0]} SNPs, x has {m_b}")
    _check_finite(a, "annotation v")
    if check_finite:
        _check_finite(x, "genotypes x")
    rows = None if rows is None else np.arange(m_b)[np.asarray(rows)]   # indices, checked
    n_rows, n_annot = (m_b if rows is None else len(rows)), a.shape[1]
    # Few annotations: the products are bound by reading x, so X^T (X V) is formed at every SNP and the
    # rows picked from it. Many: they are bound by arithmetic, so the rows' columns are copied first.
    pick = rows is not None and n_annot <= _FEW_ANNOTATIONS
    xr = x if rows is None or pick else x[:, rows]
    if out is None:
        out = np.zeros((n_rows, n_annot))
    elif out.shape != (n_rows, n_annot):
        raise ValueError(f"out has shape {out.shape}, expected {(n_rows, n_annot)}")
    else:
        out[...] = 0.0
    if m_b == 0 or n_rows == 0:
        logger.debug("LD block with %d SNPs and %d reported rows: empty profile", m_b, n_rows)
    elif n_ref == 0:
        raise ValueError("x has no individuals")
    elif xv is not None and np.any(a != 0):
        if xv.shape != (n_ref, n_annot):
            raise ValueError(f"xv has shape {xv.shape}, expected {(n_ref, n_annot)}")
        prod = xr.T @ xv
        out[...] = (prod[rows] if pick else prod) / n_ref
    elif np.any(a != 0):
        for lo in range(0, n_annot, max(1, int(batch_columns))):
            hi = min(n_annot, lo + max(1, int(batch_columns)))
            xv = x @ a[:, lo:hi]
            prod = xr.T @ xv
            out[:, lo:hi] = (prod[rows] if pick else prod) / n_ref
    return out[:, 0] if flat else out


def chromosome_profiles(v: np.ndarray, *, block_begin: np.ndarray, block_end: np.ndarray,
                        genotypes: Callable[[int, int], np.ndarray], print_mask: np.ndarray,
                        batch_columns: int = 512) -> np.ndarray:
    """Signed LD profiles of one chromosome, block by block, as ``preprocessannot.do`` loops.

    Blocks without print SNPs are skipped (their profile stays 0), as are blocks whose annotations
    are all 0; SNPs outside every block (e.g. in the MHC, whose blocks sldp drops) keep 0.

    Parameters
    ----------
    v : ndarray, float, shape (n_snps, n_annot)
        Annotation values of every reference SNP of the chromosome (reconciled, MAF-scaled).
    block_begin, block_end : ndarray, int, shape (n_blocks,)
        SNP index ranges of the blocks (:func:`sldp_block_ranges`).
    genotypes : callable ``(begin, end) -> ndarray (n_ref, end - begin)``
        Returns standardized genotypes of SNPs ``begin:end``; called once per block with print SNPs.
    print_mask : ndarray of bool, shape (n_snps,)
        Print (regression) SNPs, the rows at which profiles are reported.
    batch_columns : int
        Passed to :func:`signed_ld_profile`.

    Returns
    -------
    ndarray, float64, shape (n_snps, n_annot)
        ``RV`` on every SNP of the chromosome, 0 at non-print SNPs.
    """
    a, flat = _as_2d(v, "v")
    _check_finite(a, "annotation v")
    print_mask = np.asarray(print_mask, dtype=bool)
    if print_mask.shape != (a.shape[0],):
        raise ValueError(f"print_mask has shape {print_mask.shape}, expected ({a.shape[0]},)")
    rv = np.zeros_like(a)
    n_skip_print = n_skip_zero = 0
    for b0, b1 in zip(np.asarray(block_begin), np.asarray(block_end)):
        mask = print_mask[b0:b1]
        if not mask.any():
            n_skip_print += 1
            continue
        if not np.any(a[b0:b1] != 0):
            n_skip_zero += 1
            continue
        x = genotypes(int(b0), int(b1))
        idx = b0 + np.flatnonzero(mask)
        rv[idx] = signed_ld_profile(x, a[b0:b1], rows=mask, batch_columns=batch_columns)
    logger.info("signed LD profiles: %d blocks, %d without print SNPs, %d with all-zero annotations",
                len(np.asarray(block_begin)), n_skip_print, n_skip_zero)
    return rv[:, 0] if flat else rv


def rv_frame(snp: Sequence[str], a1: Sequence[str], a2: Sequence[str], v: np.ndarray, rv: np.ndarray,
             *, names: Sequence[str], print_mask: np.ndarray | None = None) -> pd.DataFrame:
    """Rows of sldp's ``.RV.gz`` table: ``SNP A1 A2``, then every annotation ``name`` (its values),
    then every ``name.R`` (its signed LD profile), at the print SNPs only.

    For annotations ``a, b`` the columns are ``SNP A1 A2 a b a.R b.R`` (all values first, then all
    profiles; ``preprocessannot`` writes ``['SNP','A1','A2'] + names + namesR``).

    Parameters
    ----------
    snp, a1, a2 : sequence of str, length n_snps
        Reference-panel SNP ids and alleles (``.bim`` order).
    v, rv : ndarray, float, shape (n_snps, n_annot)
        Annotation values (MAF-scaled) and profiles on every SNP of the chromosome.
    names : sequence of str, length n_annot
    print_mask : ndarray of bool, shape (n_snps,), optional
        Rows to keep (all by default).

    Returns
    -------
    DataFrame
    """
    a, _ = _as_2d(v, "v")
    r, _ = _as_2d(rv, "rv")
    names = list(names)
    if a.shape != r.shape or a.shape[1] != len(names):
        raise ValueError(f"v {a.shape}, rv {r.shape} and {len(names)} names disagree")
    if len(set(names)) != len(names):
        raise ValueError("annotation names must be unique")
    df = pd.DataFrame({"SNP": np.asarray(snp), "A1": np.asarray(a1), "A2": np.asarray(a2)})
    if len(df) != a.shape[0]:
        raise ValueError(f"{len(df)} SNP ids for {a.shape[0]} annotation rows")
    vals = pd.DataFrame(np.hstack([a, r]), columns=names + [n + ".R" for n in names])
    df = pd.concat([df, vals], axis=1)
    if print_mask is not None:
        df = df.loc[np.asarray(print_mask, dtype=bool)].reset_index(drop=True)
    return df
