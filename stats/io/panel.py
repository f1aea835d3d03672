"""Reference panels streamed one LD block at a time.

A panel is a set of PLINK filesets, one per chromosome, named by a template with ``{chrom}`` or an
ldsc-style prefix (``1000G.EUR.QC.`` -> ``1000G.EUR.QC.22.bed``; the chromosome may be spelled ``22``
or ``chr22`` in the file names), or a single fileset holding several chromosomes. Genotypes are read
with bed-reader, and for each LD block only that block's SNP columns are read from disk, so memory
is bounded by the largest block (N_ref x M_b).

Per block the SNPs are: the panel's SNPs on the chromosome, minus the MHC of the given build, minus
those not in an optional SNP subset, minus those in no LD block; then monomorphic SNPs (and those
below ``min_maf``) are dropped and counted. Genotypes count the bim's A1 allele; they are
standardized per SNP to mean 0 and variance 1 over the N_ref individuals (missing genotypes are
set to the mean, i.e. 0 after centring), as :func:`stats.ld.matrix.standardized` does.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from stats.io.ldblocks import (assign_blocks, check_blocks_build, find_chrom_file, glob_chrom_files,
                               in_region, mhc_region, normalize_chrom, read_ldblocks, sorted_chroms)
from stats.io.plink import bfile_prefix, open_bed, read_bim, read_fam
from stats.ld.matrix import standardized

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class PanelBlock:
    """The standardized reference genotypes of one LD block.

    Attributes
    ----------
    chrom : str
        Normalized chromosome name.
    block : int
        Row (0-based position) of the LD block table passed in.
    start, end : int
        The block, 0-based half-open (bp).
    snps : DataFrame, n_snps rows
        The bim rows of the block's kept SNPs, in bim order: chrom (normalized), snp, cm, pos, a1, a2,
        plus ``maf`` and ``bim_index`` (row in the fileset's .bim).
    x : ndarray, float64 or float32, shape (n_individuals, n_snps)
        Standardized A1 counts (mean 0, variance 1 per column).
    maf : ndarray, float64, shape (n_snps,)
        Minor allele frequency in the panel.
    n_monomorphic : int
        SNPs of the block dropped as monomorphic.
    n_low_maf : int
        SNPs of the block dropped for MAF < ``min_maf`` (not counting monomorphic ones).
    """

    chrom: str
    block: int
    start: int
    end: int
    snps: pd.DataFrame
    x: np.ndarray
    maf: np.ndarray
    n_monomorphic: int = 0
    n_low_maf: int = 0

    @property
    def n_snps(self) -> int:
        return self.x.shape[1]


def _maf(dos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(MAF, monomorphic) per column of allele counts with NaN for missing; all-missing is monomorphic."""
    seen = ~np.isnan(dos)
    n = seen.sum(axis=0)
    mean = np.divide(np.where(seen, dos, 0.0).sum(axis=0), n, out=np.zeros(dos.shape[1]), where=n > 0)
    dev = np.where(seen, dos - mean, 0.0)
    mono = ~((dev**2).sum(axis=0) > 0)
    freq = mean / 2
    return np.minimum(freq, 1 - freq), mono


def panel_filesets(panel, *, chroms=None) -> dict[str, Path]:
    """The fileset (prefix) of each chromosome of a panel.

    Parameters
    ----------
    panel : str or Path
        A single fileset prefix (``prefix.bed`` exists) holding one or more chromosomes, or a
        per-chromosome template / ldsc-style prefix (see :func:`stats.io.ldblocks.chrom_path`).
    chroms : sequence of str, optional
        Chromosomes wanted: for a template each must have a file (else FileNotFoundError); default:
        every chromosome with a file (or every chromosome of the single fileset).

    Returns
    -------
    dict
        Normalized chromosome -> fileset prefix, in chromosome order. With a single fileset every
        chromosome maps to it.
    """
    single = bfile_prefix(panel)
    if "{chrom}" not in str(panel) and single.with_name(single.name + ".bed").exists():
        bim_chroms = sorted_chroms(pd.unique(read_bim(single)["chrom"]))
        if chroms is None:
            return {c: single for c in bim_chroms}
        want = sorted_chroms(chroms)
        missing = [c for c in want if c not in bim_chroms]
        if missing:
            raise FileNotFoundError(f"panel {single} has no SNPs on chromosome(s) {missing} (it has {bim_chroms})")
        return {c: single for c in want}
    if chroms is None:
        found = glob_chrom_files(panel, ".bed")
        if not found:
            raise FileNotFoundError(f"no PLINK filesets for panel {panel} (no {panel}<chrom>.bed, nor {single}.bed)")
        return {c: bfile_prefix(p) for c, p in found.items()}
    return {normalize_chrom(c): bfile_prefix(find_chrom_file(panel, c, ".bed")) for c in sorted_chroms(chroms)}


def read_panel_bim(panel, *, chroms=None) -> pd.DataFrame:
    """The panel's SNPs (bim rows) over its chromosomes.

    Returns
    -------
    DataFrame
        chrom (normalized), snp, cm, pos, a1, a2, plus ``bim_index`` (row in its fileset's .bim) and
        ``fileset`` (prefix, str), in chromosome then bim order; index 0..n-1.
    """
    parts, cache = [], {}
    for c, prefix in panel_filesets(panel, chroms=chroms).items():
        if prefix not in cache:
            bim = read_bim(prefix)
            bim["chrom"] = normalize_chrom(bim["chrom"])
            bim["bim_index"] = np.arange(len(bim), dtype=np.int64)
            bim["fileset"] = str(prefix)
            cache[prefix] = bim
        bim = cache[prefix]
        parts.append(bim[bim["chrom"] == c])
    return pd.concat(parts, ignore_index=True)


def iter_panel_blocks(panel, blocks, *, build: str, chroms=None, snps=None, exclude_mhc: bool = True,
                      min_maf: float = 0.0, dtype=np.float64, check_build: bool = True,
                      lengths: dict | None = None, min_fraction: float = 0.5,
                      log_level: int = logging.INFO) -> Iterator[PanelBlock]:
    """Stream a reference panel one LD block at a time.

    Parameters
    ----------
    panel : str or Path
        Per-chromosome template / ldsc-style prefix, or a single fileset (see :func:`panel_filesets`).
    blocks : DataFrame or str or Path
        LD blocks (:func:`stats.io.ldblocks.read_ldblocks` table, or its file).
    build : str
        The panel's genome build (``hg19``, ``hg38``, ``simworld1``...), for the MHC and the build check.
    chroms : sequence of str, optional
        Chromosomes to stream (each must have a fileset). Default: the chromosomes of the panel that
        the blocks cover (the others are logged).
    snps : iterable of str, optional
        Keep only these SNP IDs (e.g. regression SNPs); how many were found is logged.
    exclude_mhc : bool
        Leave out the SNPs in the build's MHC (:func:`stats.io.ldblocks.mhc_region`; none for
        simulated builds).
    min_maf : float
        Also drop SNPs with a panel MAF below this (monomorphic SNPs are always dropped).
    dtype : numpy dtype
        float64 or float32 for ``x`` (standardization is computed in float64).
    check_build : bool
        Check that the blocks are in the panel's build (:func:`stats.io.ldblocks.check_blocks_build`).
    lengths : dict, optional
        Chromosome lengths for the build check (e.g. a simulated world's).
    min_fraction : float
        For the build check: least share of a chromosome's panel SNPs that must fall into blocks.
    log_level : int
        Level of the per-chromosome counts (e.g. ``logging.DEBUG`` for repeated passes).

    Yields
    ------
    PanelBlock
        In chromosome order, then block order; blocks left without SNPs are skipped (and counted in
        the log).

    Raises
    ------
    ValueError
        For an unknown build (with ``exclude_mhc``), blocks in another build, or a .bed whose size
        does not match its .bim / .fam.
    FileNotFoundError
        For a missing fileset.
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    if not isinstance(blocks, pd.DataFrame):
        blocks = read_ldblocks(blocks)
    mhc = mhc_region(build) if exclude_mhc else None
    if check_build:
        check_blocks_build(blocks, build=build, lengths=lengths)
    files = panel_filesets(panel, chroms=chroms)
    block_chroms = set(blocks["chrom"])
    if chroms is None:
        uncovered = [c for c in files if c not in block_chroms]
        if uncovered:
            logger.warning("panel chromosome(s) %s have no LD blocks and are skipped", ", ".join(uncovered))
        files = {c: p for c, p in files.items() if c in block_chroms}
        if not files:
            raise ValueError(f"the LD blocks ({', '.join(sorted_chroms(block_chroms))}) cover none of the panel's "
                             f"chromosomes ({', '.join(uncovered)})")
    subset = None if snps is None else pd.Index(pd.unique(pd.Series(list(snps), dtype="str")))
    n_subset_found = 0
    bims: dict = {}
    for chrom, prefix in files.items():
        if prefix not in bims:
            bim = read_bim(prefix)
            bim["chrom"] = normalize_chrom(bim["chrom"])
            bims[prefix] = (bim, len(read_fam(prefix)))
        bim, n_ind = bims[prefix]
        rows = np.flatnonzero((bim["chrom"] == chrom).to_numpy())
        if len(rows) == 0:
            raise ValueError(f"fileset {prefix} has no SNPs on chromosome {chrom}")
        sub = bim.iloc[rows]
        pos = sub["pos"].to_numpy()
        if check_build:
            check_blocks_build(blocks[blocks["chrom"] == chrom], build=build, lengths=lengths,
                               chrom=sub["chrom"].to_numpy(), pos=pos, min_fraction=min_fraction,
                               what=f"panel {prefix}")
        keep = np.ones(len(rows), bool)
        n_mhc = int(in_region(sub["chrom"].to_numpy(), pos, mhc).sum())
        keep &= ~in_region(sub["chrom"].to_numpy(), pos, mhc)
        n_not_subset = 0
        if subset is not None:
            in_sub = sub["snp"].isin(subset).to_numpy()
            n_subset_found += int(in_sub.sum())
            n_not_subset = int((keep & ~in_sub).sum())
            keep &= in_sub
        which = assign_blocks(blocks, sub["chrom"].to_numpy(), pos)
        n_outside = int((keep & (which < 0)).sum())
        keep &= which >= 0
        rows, which = rows[keep], which[keep]
        chrom_blocks = np.flatnonzero((blocks["chrom"] == chrom).to_numpy())
        with_snps = np.unique(which)
        n_empty = len(chrom_blocks) - len(with_snps)
        logger.log(log_level, "chr%s of %s: %d SNPs; %d in the MHC (%s) left out, %d not in the SNP subset, %d in "
                   "no LD block; %d SNPs in %d of %d LD blocks (%d blocks hold none)", chrom, prefix, len(sub), n_mhc,
                   build, n_not_subset, n_outside, len(rows), len(with_snps), len(chrom_blocks), n_empty)
        n_mono = n_low = 0
        with open_bed(prefix, n_individuals=n_ind, n_snps=len(bim)) as bed:
            for b in with_snps:
                cols = rows[which == b]
                dos = bed.read(index=np.s_[:, cols], dtype="float64")
                maf, mono = _maf(dos)
                low = ~mono & (maf < min_maf)
                ok = ~mono & ~low
                n_mono += int(mono.sum())
                n_low += int(low.sum())
                if not ok.any():
                    continue
                snps_b = bim.iloc[cols[ok]].assign(maf=maf[ok], bim_index=cols[ok]).reset_index(drop=True)
                x = standardized(dos[:, ok]).astype(dtype, copy=False)
                yield PanelBlock(chrom=chrom, block=int(b), start=int(blocks["start"].iat[b]),
                                 end=int(blocks["end"].iat[b]), snps=snps_b, x=x, maf=maf[ok],
                                 n_monomorphic=int(mono.sum()), n_low_maf=int(low.sum()))
        if n_mono or n_low:
            logger.log(log_level, "chr%s: dropped %d monomorphic SNPs and %d with MAF < %g", chrom, n_mono, n_low,
                       min_maf)
    if subset is not None:
        logger.log(log_level, "%d of %d subset SNPs found in the panel", n_subset_found, len(subset))

