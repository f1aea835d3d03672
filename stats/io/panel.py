"""Reference panels of PLINK filesets, opened once and streamed one LD block at a time.

A panel is a set of PLINK filesets, one per chromosome, named by a template with ``{chrom}`` or an
ldsc-style prefix (``1000G.EUR.QC.`` -> ``1000G.EUR.QC.22.bed``; the chromosome may be spelled ``22``
or ``chr22`` in the file names), or a single fileset holding several chromosomes, or an explicit
mapping chromosome -> fileset. :class:`ReferencePanel` resolves the filesets once and parses each
.bim and .fam at most once, however often and by however many stages it is asked; open it once and
pass it on (every panel-reading function of the suite accepts one, or a path that it opens itself).

Genotypes are read with bed-reader, only the SNP columns asked for, so streaming per LD block
(:meth:`ReferencePanel.iter_blocks`) bounds memory by the largest block (N_ref x M_b).

Per block the SNPs are: the panel's SNPs on the chromosome, minus the MHC of the given build, minus
those not in an optional SNP subset, minus those in no LD block; then monomorphic SNPs (and those
below ``min_maf``) are dropped and counted. Genotypes count the bim's A1 allele; they are
standardized per SNP to mean 0 and variance 1 over the N_ref individuals (missing genotypes are
set to the mean, i.e. 0 after centring), as :func:`stats.ld.matrix.standardized` does.

Functions that take a panel accept a :class:`ReferencePanel` or what it opens (:func:`as_panel`);
open it once and pass it on when several steps read the same panel.
"""
from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from genocore.genome import in_region, mhc_region, normalize_chrom, sorted_chroms
from stats.io import plink
from stats.io.chromfiles import find_chrom_file, glob_chrom_files
from stats.io.ldblocks import assign_blocks, check_blocks_build, read_ldblocks
from stats.io.plink import bfile_paths, bfile_prefix
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


def _maf_counts(counts: np.ndarray, n: int) -> np.ndarray:
    """MAF from :func:`stats.io.plink.bed_counts`, equal bit for bit to :func:`_maf`'s (the same
    exact integer A1 total over the same number of called individuals)."""
    called = n - counts[:, 2]
    total = (counts[:, 0] + counts[:, 1]).astype(np.float64)
    freq = np.divide(total, called, out=np.zeros(len(counts)), where=called > 0) / 2
    return np.minimum(freq, 1 - freq)


class ReferencePanel:
    """A reference panel of PLINK filesets, resolved and parsed once, then passed between stages.

    Each .bim and .fam is parsed at most once (on first use) and kept on the object, as are the
    per-chromosome row sets and MAFs; genotypes are never cached, only the columns asked for are read.
    The files must not change while the panel is in use. The object is thread-safe and picklable (the
    caches travel with it).

    Parameters
    ----------
    source : str, Path or mapping
        One of: a single fileset prefix (``prefix.bed`` exists, or its .bed/.bim/.fam path), holding
        one or more chromosomes; a per-chromosome template holding ``{chrom}`` (or ldsc's ``@``), e.g.
        ``"panel/ref.{chrom}"``; an ldsc-style prefix such as ``"panel/1000G.EUR.QC."`` (chromosome
        files ``1000G.EUR.QC.1.bed`` ... found by globbing, spelled ``1`` or ``chr1``; see
        :mod:`stats.io.chromfiles`); or a mapping chromosome -> fileset prefix. No file is parsed here.

    Attributes
    ----------
    source : str or dict
        The single fileset's prefix, the template / prefix as given, or the mapping as a dict of
        normalized chromosome -> prefix (Path), in chromosome order.
    kind : {"single", "template", "mapping"}
        How the filesets are found.
    parse_counts : collections.Counter
        Times each .bim / .fam file (path as str) was parsed; every count stays at 1 however often the
        panel is asked (kept for tests and for checking that a pipeline shares one panel).

    Examples
    --------
    >>> panel = ReferencePanel("panel/1000G.EUR.QC.")          # doctest: +SKIP
    >>> table = panel.allele_table(chroms=["22"])               # doctest: +SKIP
    >>> for blk in panel.iter_blocks("fourier_ls-all.bed", build="hg19"):  # doctest: +SKIP
    ...     rv = blk.x.T @ (blk.x @ v[blk.snps.bim_index]) / blk.x.shape[0]
    """

    def __init__(self, source):
        if isinstance(source, ReferencePanel):
            raise TypeError("source is already a ReferencePanel; use stats.io.panel.as_panel to accept both")
        if isinstance(source, Mapping):
            fixed = {normalize_chrom(c): bfile_prefix(p) for c, p in source.items()}
            self.kind, self.source = "mapping", {c: fixed[c] for c in sorted_chroms(fixed)}
        else:
            single = bfile_prefix(source)
            is_single = "{chrom}" not in str(source) and single.with_name(single.name + ".bed").exists()
            self.kind, self.source = ("single", str(single)) if is_single else ("template", str(source))
        self.parse_counts: Counter = Counter()
        self._lock = threading.RLock()
        self._bims: dict[Path, pd.DataFrame] = {}   # raw, as read_bim returns it
        self._norm: dict[Path, pd.DataFrame] = {}   # chromosome names normalized
        self._fams: dict[Path, pd.DataFrame] = {}
        self._rows: dict[str, np.ndarray] = {}      # chromosome -> its rows in its fileset's .bim
        self._mafs: dict[str, np.ndarray] = {}
        self._all: dict[str, Path] | None = None    # every chromosome -> fileset, once listed
        self._found: dict[str, Path] = {}           # template chromosomes looked up one by one

    def __repr__(self) -> str:
        return f"ReferencePanel({self.source!r})"

    def __str__(self) -> str:
        return str(self.source)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_lock"]  # locks do not pickle; a copy gets its own
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    # -- filesets --------------------------------------------------------------------------------------

    def filesets(self, *, chroms=None) -> dict[str, Path]:
        """The fileset (prefix) of each chromosome.

        Parameters
        ----------
        chroms : sequence of str, optional
            Chromosomes wanted (any spelling); each must be in the panel, else FileNotFoundError.
            Default: every chromosome with a fileset (every chromosome of a single fileset's .bim).

        Returns
        -------
        dict
            Normalized chromosome -> fileset prefix, in chromosome order. With a single fileset every
            chromosome maps to it.

        Raises
        ------
        FileNotFoundError
            No fileset at all, or none for a chromosome asked for.
        """
        if chroms is None:
            return dict(self._every_fileset())
        want = sorted_chroms(chroms)
        if self.kind == "template":
            with self._lock:
                for c in want:
                    if c not in self._found:
                        self._found[c] = bfile_prefix(find_chrom_file(self.source, c, ".bed"))
            return {c: self._found[c] for c in want}
        every = self._every_fileset()
        missing = [c for c in want if c not in every]
        if missing:
            what = "has no SNPs on" if self.kind == "single" else "has no fileset for"
            raise FileNotFoundError(f"panel {self.source} {what} chromosome(s) {missing} (it has {list(every)})")
        return {c: every[c] for c in want}

    def _every_fileset(self) -> dict[str, Path]:
        with self._lock:
            if self._all is None:
                if self.kind == "mapping":
                    self._all = dict(self.source)
                elif self.kind == "single":
                    prefix = Path(self.source)
                    self._all = {c: prefix for c in sorted_chroms(pd.unique(self._raw_bim(prefix)["chrom"]))}
                else:
                    found = glob_chrom_files(self.source, ".bed")
                    if not found:
                        single = bfile_prefix(self.source)
                        raise FileNotFoundError(f"no PLINK filesets for panel {self.source} (no {self.source}<chrom>"
                                                f".bed, nor {single}.bed)")
                    self._all = {c: bfile_prefix(p) for c, p in found.items()}
                    for c, p in self._all.items():  # one fileset per chromosome, however it was looked up
                        self._found.setdefault(c, p)
            return self._all

    @property
    def chroms(self) -> list[str]:
        """Every chromosome of the panel (normalized), in chromosome order."""
        return list(self._every_fileset())

    def fileset(self, chrom) -> Path:
        """The fileset prefix holding chromosome ``chrom`` (FileNotFoundError if none)."""
        return self.filesets(chroms=[chrom])[normalize_chrom(chrom)]

    # -- parsed files (each at most once) ----------------------------------------------------------------

    def _raw_bim(self, prefix: Path) -> pd.DataFrame:
        prefix = bfile_prefix(prefix)
        with self._lock:
            if prefix not in self._bims:
                # through the module, so that tests can count the parses by patching plink.read_bim
                self._bims[prefix] = plink.read_bim(prefix)
                self.parse_counts[str(bfile_paths(prefix)[1])] += 1
            return self._bims[prefix]

    def _norm_bim(self, prefix: Path) -> pd.DataFrame:
        prefix = bfile_prefix(prefix)
        with self._lock:
            if prefix not in self._norm:
                bim = self._raw_bim(prefix).copy()
                bim["chrom"] = normalize_chrom(bim["chrom"])
                self._norm[prefix] = bim
            return self._norm[prefix]

    def _fam(self, prefix: Path) -> pd.DataFrame:
        prefix = bfile_prefix(prefix)
        with self._lock:
            if prefix not in self._fams:
                self._fams[prefix] = plink.read_fam(prefix)
                self.parse_counts[str(bfile_paths(prefix)[2])] += 1
            return self._fams[prefix]

    def fileset_bim(self, fileset) -> pd.DataFrame:
        """A fileset's whole .bim as :func:`stats.io.plink.read_bim` returns it (chromosomes as written).

        Parameters
        ----------
        fileset : str or Path
            A prefix from :meth:`filesets`.

        Returns
        -------
        DataFrame
            chrom, snp, cm, pos (1-based bp), a1, a2; one row per .bim line; a copy of the cached table.
        """
        return self._raw_bim(fileset).copy()

    def fileset_fam(self, fileset) -> pd.DataFrame:
        """A fileset's .fam (str columns fid, iid, father, mother, sex, pheno); a copy of the cached table."""
        return self._fam(fileset).copy()

    def n_individuals(self, fileset=None) -> int:
        """Rows of a fileset's .fam (default: the first chromosome's fileset)."""
        return len(self._fam(fileset if fileset is not None else next(iter(self._every_fileset().values()))))

    def n_snps(self, fileset) -> int:
        """Rows of a fileset's .bim."""
        return len(self._raw_bim(fileset))

    def chrom_rows(self, chrom) -> np.ndarray:
        """Rows (``bim_index``) of chromosome ``chrom``'s SNPs in its fileset's .bim.

        Returns
        -------
        ndarray, int64, shape (n_snps_on_chrom,), increasing

        Raises
        ------
        ValueError
            The chromosome's fileset holds no SNP of it.
        """
        c = normalize_chrom(chrom)
        prefix = self.fileset(c)
        with self._lock:
            if c not in self._rows:
                rows = np.flatnonzero((self._norm_bim(prefix)["chrom"] == c).to_numpy())
                if len(rows) == 0:
                    raise ValueError(f"fileset {prefix} has no SNPs on chromosome {c}")
                self._rows[c] = rows
            return self._rows[c]

    def allele_table(self, *, chroms=None) -> pd.DataFrame:
        """The panel's SNPs and alleles (bim rows) over its chromosomes.

        Parameters
        ----------
        chroms : sequence of str, optional
            As :meth:`filesets`; default all.

        Returns
        -------
        DataFrame, one row per SNP
            chrom (normalized), snp, cm (centimorgans), pos (1-based bp), a1 (the allele genotypes
            count), a2, plus ``bim_index`` (int64, row in its fileset's .bim) and ``fileset`` (prefix,
            str); in chromosome then bim order; index 0..n-1. A new frame (edits do not reach the cache).
        """
        parts = []
        for c, prefix in self.filesets(chroms=chroms).items():
            rows = self.chrom_rows(c)
            parts.append(self._norm_bim(prefix).iloc[rows].assign(bim_index=rows, fileset=str(prefix)))
        return pd.concat(parts, ignore_index=True)

    # -- genotypes -----------------------------------------------------------------------------------------

    def open_bed(self, fileset):
        """Open a fileset's .bed for reading chosen SNP columns (:func:`stats.io.plink.open_bed`).

        Use as a context manager; ``bed.read(index=np.s_[:, cols], dtype="float64")`` reads the A1 counts
        of the .bim rows ``cols`` (NaN = missing). The .bim and .fam are not parsed again.

        Raises
        ------
        ValueError
            The .bed's size does not fit the .bim and .fam.
        """
        return plink.open_bed(fileset, n_individuals=self.n_individuals(fileset), n_snps=self.n_snps(fileset))

    def check_bed(self, fileset) -> Path:
        """A fileset's .bed path, its size checked against the .bim and .fam (:func:`stats.io.plink.check_bed`),
        for callers that read the bytes themselves (no bed-reader import)."""
        return plink.check_bed(fileset, n_individuals=self.n_individuals(fileset), n_snps=self.n_snps(fileset))

    def genotypes(self, chrom, cols=None, *, dtype="float64") -> np.ndarray:
        """A1 counts of chosen SNPs of one chromosome, read from disk (nothing else is read).

        Parameters
        ----------
        chrom : str
        cols : array_like of int, shape (k,), optional
            Rows of the fileset's .bim (``bim_index`` of :meth:`allele_table`), in any order, all on
            ``chrom``; default every SNP of the chromosome.
        dtype : {"float64", "float32", "int8"}
            As bed-reader reads them: missing genotypes are NaN for floats, -127 for int8.

        Returns
        -------
        ndarray, shape (n_individuals, k)
            Columns in the order of ``cols``.

        Raises
        ------
        ValueError
            A column off the chromosome.
        """
        c = normalize_chrom(chrom)
        prefix = self.fileset(c)
        cols = self.chrom_rows(c) if cols is None else np.asarray(cols, dtype=np.int64).reshape(-1)
        bim = self._norm_bim(prefix)
        if len(cols) and (cols.min() < 0 or cols.max() >= len(bim) or
                          (bim["chrom"].to_numpy()[cols] != c).any()):
            raise ValueError(f"genotypes: columns {cols[:5].tolist()}... are not all rows of chromosome {c} in "
                             f"{prefix}.bim")
        order = np.argsort(cols, kind="stable")  # read in file order
        with self.open_bed(prefix) as bed:
            out = np.empty((self.n_individuals(prefix), len(cols)), dtype=np.dtype(dtype))
            out[:, order] = bed.read(index=np.s_[:, cols[order]], dtype=dtype)
        return out

    def maf(self, chrom) -> np.ndarray:
        """Minor allele frequency of every SNP of a chromosome, computed once and kept.

        ``min(p, 1 - p)`` with ``p`` the A1 count over twice the non-missing individuals (0 for
        all-missing SNPs); equal bit for bit to :attr:`PanelBlock.maf`.

        Returns
        -------
        ndarray, float64, shape (n_snps_on_chrom,)
            Aligned with :meth:`chrom_rows` (and with ``allele_table(chroms=[chrom])``). Read-only.
        """
        c = normalize_chrom(chrom)
        with self._lock:
            if c in self._mafs:
                return self._mafs[c]
        self.genotype_counts(c)
        return self._mafs[c]

    def genotype_counts(self, chrom) -> np.ndarray:
        """Per SNP of a chromosome: (#x >= 1, #x == 2, #missing) over the individuals, from the .bed's
        bits (:func:`stats.io.plink.bed_counts`; the layout of :func:`stats.ld.moments.genotype_counts`).
        Not kept, but its MAF is (:meth:`maf`).

        Returns
        -------
        ndarray, int64, shape (n_snps_on_chrom, 3)
            Aligned with :meth:`chrom_rows`.
        """
        c = normalize_chrom(chrom)
        fileset = self.fileset(c)
        n = self.n_individuals(fileset)
        bed_bytes = plink.bed_rows(self.check_bed(fileset), n, self.n_snps(fileset))
        counts = plink.bed_counts(bed_bytes, n, self.chrom_rows(c))
        with self._lock:
            if c not in self._mafs:
                maf = _maf_counts(counts, n)
                maf.flags.writeable = False
                self._mafs[c] = maf
        return counts

    # -- LD blocks -----------------------------------------------------------------------------------------

    def iter_blocks(self, blocks, *, build: str, chroms=None, snps=None, exclude_mhc: bool = True,
                    min_maf: float = 0.0, dtype=np.float64, check_build: bool = True,
                    lengths: dict | None = None, min_fraction: float = 0.5,
                    log_level: int = logging.INFO) -> Iterator[PanelBlock]:
        """Stream the panel one LD block at a time, reading only each block's SNP columns.

        Parameters
        ----------
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
            Leave out the SNPs in the build's MHC (:func:`genocore.genome.mhc_region`; none for
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
            In chromosome order, then block order; blocks left without SNPs are skipped (and counted).

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
        subset = None if snps is None else pd.Index(pd.unique(pd.Series(list(snps), dtype="str")))
        n_subset_found = 0
        for chrom, prefix in _covered_filesets(self, blocks, chroms).items():
            rows, which, n_found = _block_columns(self, chrom, prefix, blocks, mhc=mhc, subset=subset, build=build,
                                                  check=check_build, lengths=lengths, min_fraction=min_fraction,
                                                  log_level=log_level)
            n_subset_found += n_found
            with self.open_bed(prefix) as bed:
                n_mono, n_low = yield from _read_blocks(bed, self._norm_bim(prefix), chrom, blocks, rows, which,
                                                        min_maf=min_maf, dtype=dtype)
            if n_mono or n_low:
                logger.log(log_level, "chr%s: dropped %d monomorphic SNPs and %d with MAF < %g", chrom, n_mono,
                           n_low, min_maf)
        if subset is not None:
            logger.log(log_level, "%d of %d subset SNPs found in the panel", n_subset_found, len(subset))


def _covered_filesets(panel: ReferencePanel, blocks: pd.DataFrame, chroms) -> dict[str, Path]:
    """The filesets to stream: those of ``chroms``, or every panel chromosome the blocks cover."""
    files = panel.filesets(chroms=chroms)
    if chroms is not None:
        return files
    block_chroms = set(blocks["chrom"])
    uncovered = [c for c in files if c not in block_chroms]
    if uncovered:
        logger.warning("panel chromosome(s) %s have no LD blocks and are skipped", ", ".join(uncovered))
    files = {c: p for c, p in files.items() if c in block_chroms}
    if not files:
        raise ValueError(f"the LD blocks ({', '.join(sorted_chroms(block_chroms))}) cover none of the panel's "
                         f"chromosomes ({', '.join(uncovered)})")
    return files


def _block_columns(panel: ReferencePanel, chrom: str, prefix: Path, blocks: pd.DataFrame, *, mhc, subset,
                   build: str, check: bool, lengths, min_fraction: float,
                   log_level: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The .bim rows of a chromosome that enter blocks, with their block (after MHC, subset, build check).

    Returns
    -------
    rows : ndarray, int64, shape (k,)
        Rows of the fileset's .bim, increasing.
    which : ndarray, int, shape (k,)
        Row of ``blocks`` of each.
    n_subset_found : int
        SNPs of the chromosome in ``subset`` (0 without one).
    """
    rows = panel.chrom_rows(chrom)
    sub = panel._norm_bim(prefix).iloc[rows]
    sub_chrom, pos = sub["chrom"].to_numpy(), sub["pos"].to_numpy()
    if check:
        check_blocks_build(blocks[blocks["chrom"] == chrom], build=build, lengths=lengths, chrom=sub_chrom, pos=pos,
                           min_fraction=min_fraction, what=f"panel {prefix}")
    in_mhc = in_region(sub_chrom, pos, mhc)
    keep = ~in_mhc
    n_not_subset = n_found = 0
    if subset is not None:
        in_sub = sub["snp"].isin(subset).to_numpy()
        n_found = int(in_sub.sum())
        n_not_subset = int((keep & ~in_sub).sum())
        keep &= in_sub
    which = assign_blocks(blocks, sub_chrom, pos)
    n_outside = int((keep & (which < 0)).sum())
    keep &= which >= 0
    chrom_blocks = np.flatnonzero((blocks["chrom"] == chrom).to_numpy())
    n_with = len(np.unique(which[keep]))
    logger.log(log_level, "chr%s of %s: %d SNPs; %d in the MHC (%s) left out, %d not in the SNP subset, %d in "
               "no LD block; %d SNPs in %d of %d LD blocks (%d blocks hold none)", chrom, prefix, len(sub),
               int(in_mhc.sum()), build, n_not_subset, n_outside, int(keep.sum()), n_with, len(chrom_blocks),
               len(chrom_blocks) - n_with)
    return rows[keep], which[keep], n_found


def _read_blocks(bed, bim: pd.DataFrame, chrom: str, blocks: pd.DataFrame, rows: np.ndarray, which: np.ndarray,
                 *, min_maf: float, dtype):
    """Yield the :class:`PanelBlock` of each block in ``which``; return (n_monomorphic, n_low_maf)."""
    n_mono = n_low = 0
    for b in np.unique(which):
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
        yield PanelBlock(chrom=chrom, block=int(b), start=int(blocks["start"].iat[b]), end=int(blocks["end"].iat[b]),
                         snps=snps_b, x=x, maf=maf[ok], n_monomorphic=int(mono.sum()), n_low_maf=int(low.sum()))
    return n_mono, n_low


def as_panel(panel) -> ReferencePanel:
    """``panel`` itself if it is a :class:`ReferencePanel`, else a new one opened on it (a path or mapping)."""
    return panel if isinstance(panel, ReferencePanel) else ReferencePanel(panel)
