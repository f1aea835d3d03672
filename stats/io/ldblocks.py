"""LD blocks (BED): reading, assigning SNPs to blocks, and checking a block file's genome build.

The block files of the field (Berisa & Pickrell 2016 ``fourier_ls-all.bed`` and its GRCh38 reruns) are
BED-like: ``chr start stop`` with 0-based, half-open intervals, whitespace-separated with padded fields,
and a header that may or may not start with ``#``. A SNP at 1-based position ``pos`` lies in block
``[start, end)`` when ``start <= pos - 1 < end``; adjacent blocks share their boundary, so every
position belongs to at most one block.

Chromosome names are normalized with :func:`genocore.genome.normalize_chrom`; the chromosome lengths
of a build come from :func:`genocore.genome.chrom_lengths`.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from genocore.genome import chrom_lengths, chrom_sort_key, normalize_chrom, sorted_chroms

logger = logging.getLogger(__name__)

# -- reading blocks --------------------------------------------------------------------------------

_HEADER_WORDS = {"chr", "chrom", "chromosome", "#chr", "#chrom", "seqname"}

#: How to resolve a build mismatch, added to its errors.
_LIFT_HINT = ("; use the LD blocks of the panel's build (hg19: Berisa-Pickrell; hg38: e.g. the deCODE or pyrho "
              "LDetect sets), or move the other input to it with 'genostats liftover --chain "
              "hg19ToHg38.over.chain.gz' (UCSC chain files)")


def read_ldblocks(path) -> pd.DataFrame:
    """Read an LD block BED file (Berisa-Pickrell style or a GRCh38 rerun).

    Lines are whitespace-separated (tabs and padding spaces alike); the first three fields are
    chromosome, start, end (0-based, half-open); further fields are ignored. Blank lines and lines
    starting with ``#`` are skipped, as is a header line (``chr start stop``) before the first block.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    DataFrame
        ``chrom`` (str, normalized), ``start``, ``end`` (int64, bp), sorted by chromosome
        (:func:`chrom_sort_key`) and start, index 0..n_blocks-1.

    Raises
    ------
    ValueError
        Naming the file and line for: fewer than three fields, non-integer coordinates, start < 0,
        end <= start, a block that starts before the previous block of its chromosome (unsorted), or a
        block that overlaps the previous one. Also when the file holds no block.
    """
    path = Path(path)
    rows, lines = [], []
    seen_block = False
    with open(path, encoding="utf-8", errors="replace") as fh:
        for ln, raw in enumerate(fh, start=1):
            s = raw.strip()
            if not s or s.startswith("#"):
                continue
            f = s.split()
            if len(f) < 3:
                raise ValueError(f"{path}, line {ln}: expected at least 3 fields (chrom start end), got {s!r}")
            try:
                start, end = int(f[1]), int(f[2])
            except ValueError:
                if not seen_block and f[0].lower() in _HEADER_WORDS:
                    continue  # header
                raise ValueError(f"{path}, line {ln}: start and end must be integers, got {f[1]!r} {f[2]!r}") from None
            if start < 0 or end <= start:
                raise ValueError(f"{path}, line {ln}: need 0 <= start < end, got {start} {end}")
            try:
                chrom = normalize_chrom(f[0])
            except ValueError as e:
                raise ValueError(f"{path}, line {ln}: {e}") from None
            seen_block = True
            rows.append((chrom, start, end))
            lines.append(ln)
    if not rows:
        raise ValueError(f"{path}: no LD blocks")
    last: dict[str, tuple[int, int, int]] = {}
    for (chrom, start, end), ln in zip(rows, lines):
        if chrom in last:
            p_start, p_end, p_ln = last[chrom]
            if start < p_start:
                raise ValueError(f"{path}, line {ln}: block chr{chrom}:{start}-{end} starts before the block on "
                                 f"line {p_ln} ({p_start}-{p_end}); blocks must be sorted by start per chromosome")
            if start < p_end:
                raise ValueError(f"{path}, line {ln}: block chr{chrom}:{start}-{end} overlaps the block on line "
                                 f"{p_ln} ({p_start}-{p_end})")
        last[chrom] = (start, end, ln)
    df = pd.DataFrame(rows, columns=["chrom", "start", "end"])
    df["chrom"] = df["chrom"].astype("str")
    df["start"] = df["start"].astype(np.int64)
    df["end"] = df["end"].astype(np.int64)
    order = sorted(range(len(df)), key=lambda i: (chrom_sort_key(rows[i][0]), rows[i][1]))
    df = df.iloc[order].reset_index(drop=True)
    logger.info("read %d LD blocks on %d chromosomes from %s", len(df), df.chrom.nunique(), path)
    return df


def _check_blocks_frame(blocks: pd.DataFrame) -> None:
    missing = [c for c in ("chrom", "start", "end") if c not in blocks.columns]
    if missing:
        raise ValueError(f"LD block table lacks columns {missing} (need chrom, start, end)")


# -- SNPs and blocks -------------------------------------------------------------------------------

def assign_blocks(blocks: pd.DataFrame, chrom, pos) -> np.ndarray:
    """The LD block of every SNP.

    Parameters
    ----------
    blocks : DataFrame
        From :func:`read_ldblocks` (chrom, start, end; sorted, non-overlapping).
    chrom : array-like of str, shape (n_snps,)
        Chromosome names (normalized here).
    pos : array-like of int, shape (n_snps,)
        1-based positions (bp).

    Returns
    -------
    ndarray, int64, shape (n_snps,)
        Row of ``blocks`` holding each SNP (``start <= pos - 1 < end``), -1 for SNPs in no block.
    """
    _check_blocks_frame(blocks)
    pos0 = np.asarray(pos, dtype=np.int64) - 1
    chrom = normalize_chrom(np.asarray(chrom, dtype=object)) if len(pos0) else np.zeros(0, object)
    out = np.full(len(pos0), -1, dtype=np.int64)
    bchrom = blocks["chrom"].to_numpy(dtype=object)
    for c in pd.unique(chrom):
        snp_idx = np.flatnonzero(chrom == c)
        rows = np.flatnonzero(bchrom == c)
        if len(rows) == 0:
            continue
        starts = blocks["start"].to_numpy()[rows]
        ends = blocks["end"].to_numpy()[rows]
        k = np.searchsorted(starts, pos0[snp_idx], side="right") - 1
        ok = (k >= 0) & (pos0[snp_idx] < ends[np.maximum(k, 0)])
        out[snp_idx[ok]] = rows[k[ok]]
    return out


def block_snp_counts(blocks: pd.DataFrame, chrom, pos, *, what: str = "SNPs") -> np.ndarray:
    """SNPs per LD block; logs the blocks without SNPs and the SNPs outside every block.

    Parameters
    ----------
    blocks : DataFrame from :func:`read_ldblocks`
    chrom, pos : array-like, shape (n_snps,)
        Chromosome names and 1-based positions.
    what : str
        What the SNPs are, for the log (e.g. ``"panel SNPs"``).

    Returns
    -------
    ndarray, int64, shape (n_blocks,)
    """
    which = assign_blocks(blocks, chrom, pos)
    counts = np.bincount(which[which >= 0], minlength=len(blocks)).astype(np.int64)
    n_out = int(np.sum(which < 0))
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        ex = ", ".join(f"chr{blocks.chrom.iat[i]}:{blocks.start.iat[i]}-{blocks.end.iat[i]}" for i in empty[:3])
        logger.info("%d of %d LD blocks hold no %s (e.g. %s)", len(empty), len(blocks), what, ex)
    if n_out:
        logger.info("%d of %d %s lie in no LD block", n_out, len(which), what)
    return counts


def check_blocks_build(blocks: pd.DataFrame, *, build: str | None = None, lengths: dict | None = None,
                       chrom=None, pos=None, min_fraction: float = 0.5, what: str = "panel") -> dict:
    """Check that an LD block file is in the same genome build as a panel.

    Two checks, each an error when it fails:

    1. lengths: no block may end past the length of its chromosome, and no panel SNP may lie past it,
       in the panel's build (``lengths``, or the table of ``build``; skipped for simulated builds
       without ``lengths``). hg19 blocks (Berisa-Pickrell) run past several hg38 chromosome ends and
       hg38 blocks past several hg19 ones (chr3, 5, 7, 11, 17, 18, 20), so a genome-wide block file in
       the other build is caught even when the panel has one chromosome.
    2. coverage (needs ``chrom`` and ``pos``): on every panel chromosome the block file covers, at
       least ``min_fraction`` of the panel's SNPs fall in a block; and at least one panel chromosome
       is covered. Panel chromosomes the blocks do not cover are logged.

    Parameters
    ----------
    blocks : DataFrame from :func:`read_ldblocks`
    build : str, optional
        The panel's genome build.
    lengths : dict, optional
        Chromosome -> length (bp); overrides the build's table (e.g. a simulated world's lengths).
    chrom, pos : array-like, shape (n_snps,), optional
        The panel's SNPs (chromosome names, 1-based positions).
    min_fraction : float
        Smallest share of a covered chromosome's panel SNPs that must fall into blocks.
    what : str
        Name of the SNP set, for messages.

    Returns
    -------
    dict
        ``fraction_in_blocks`` (chromosome -> share), ``n_outside`` (SNPs in no block),
        ``uncovered_chroms`` (panel chromosomes without blocks).

    Raises
    ------
    ValueError
        Saying which check failed, with the first offending block or SNP.
    """
    _check_blocks_frame(blocks)
    if lengths is None and build is not None:
        lengths = chrom_lengths(build)
    build_txt = f"build {build}" if build is not None else "the given chromosome lengths"
    if lengths:
        lengths = {normalize_chrom(k): int(v) for k, v in lengths.items()}
        _check_block_ends(blocks, lengths, build_txt=build_txt, what=what)
    summary = {"fraction_in_blocks": {}, "n_outside": 0, "uncovered_chroms": []}
    if chrom is None or pos is None:
        return summary
    chrom = normalize_chrom(np.asarray(chrom, dtype=object))
    pos = np.asarray(pos, dtype=np.int64)
    if lengths:
        _check_snp_ends(chrom, pos, lengths, build_txt=build_txt, what=what)
    return _block_coverage(blocks, chrom, pos, min_fraction=min_fraction, what=what)


def _check_block_ends(blocks: pd.DataFrame, lengths: dict, *, build_txt: str, what: str) -> None:
    """Raise when a block ends past its chromosome's length (check 1 of :func:`check_blocks_build`).

    Parameters
    ----------
    blocks : DataFrame from :func:`read_ldblocks`
    lengths : dict
        Normalized chromosome -> length (bp); chromosomes absent from it are not checked.
    build_txt, what : str
        The build and the SNP set, for the message.

    Raises
    ------
    ValueError
        Counting the offending blocks and naming the first.
    """
    L = blocks.chrom.map(lengths).to_numpy(dtype=float)
    over = np.flatnonzero(np.isfinite(L) & (blocks.end.to_numpy() > L))
    if len(over):
        i = over[0]
        raise ValueError(
            f"{len(over)} LD blocks extend past the chromosome ends of {build_txt} (first: "
            f"chr{blocks.chrom.iat[i]}:{blocks.start.iat[i]}-{blocks.end.iat[i]}, chromosome length "
            f"{int(L[i]):,}); the block file is in another genome build than the {what}" + _LIFT_HINT)


def _check_snp_ends(chrom: np.ndarray, pos: np.ndarray, lengths: dict, *, build_txt: str, what: str) -> None:
    """Raise when a SNP lies past its chromosome's length (check 1 of :func:`check_blocks_build`).

    Parameters
    ----------
    chrom : ndarray of str, shape (n_snps,)
        Normalized chromosome names.
    pos : ndarray, int64, shape (n_snps,)
        1-based positions (bp).
    lengths : dict
        Normalized chromosome -> length (bp).
    build_txt, what : str
        For the message.

    Raises
    ------
    ValueError
        Counting the offending SNPs and naming the first.
    """
    L = pd.Series(chrom).map(lengths).to_numpy(dtype=float)
    over = np.flatnonzero(np.isfinite(L) & (pos > L))
    if len(over):
        i = over[0]
        raise ValueError(f"{len(over)} {what} SNPs lie past the chromosome ends of {build_txt} (first: "
                         f"chr{chrom[i]}:{pos[i]}, chromosome length {int(L[i]):,}); the {what} is not in "
                         f"{build_txt}" + _LIFT_HINT)


def _block_coverage(blocks: pd.DataFrame, chrom: np.ndarray, pos: np.ndarray, *, min_fraction: float,
                    what: str) -> dict:
    """Share of a SNP set's SNPs in blocks per chromosome (check 2 of :func:`check_blocks_build`).

    Parameters
    ----------
    blocks : DataFrame from :func:`read_ldblocks`
    chrom : ndarray of str, shape (n_snps,)
        Normalized chromosome names.
    pos : ndarray, int64, shape (n_snps,)
        1-based positions (bp).
    min_fraction : float
        Smallest share of a covered chromosome's SNPs that must fall into blocks.
    what : str
        For messages.

    Returns
    -------
    dict
        As :func:`check_blocks_build` returns.

    Raises
    ------
    ValueError
        When a covered chromosome has too few SNPs in blocks, or no chromosome is covered.
    """
    summary = {"fraction_in_blocks": {}, "n_outside": 0, "uncovered_chroms": []}
    which = assign_blocks(blocks, chrom, pos)
    covered = set(blocks.chrom)
    summary["n_outside"] = int(np.sum(which < 0))
    for c in sorted_chroms(pd.unique(chrom)):
        sel = chrom == c
        if c not in covered:
            summary["uncovered_chroms"].append(c)
            continue
        frac = float(np.mean(which[sel] >= 0))
        summary["fraction_in_blocks"][c] = frac
        if frac < min_fraction:
            raise ValueError(f"only {frac:.1%} of the {int(sel.sum())} {what} SNPs on chr{c} fall into LD blocks "
                             f"(need {min_fraction:.0%}); the block file is probably in another genome build "
                             f"or coordinate system than the {what}" + _LIFT_HINT)
    if summary["uncovered_chroms"]:
        if not summary["fraction_in_blocks"]:
            raise ValueError(f"the LD blocks cover none of the {what}'s chromosomes ({what}: "
                             f"{', '.join(summary['uncovered_chroms'])}; blocks: "
                             f"{', '.join(sorted_chroms(covered))})")
        logger.warning("the LD blocks cover no part of %s chromosome(s) %s; their SNPs are left out",
                       what, ", ".join(summary["uncovered_chroms"]))
    return summary
