"""SLDP end to end: reference panel, signed LD profiles, phenotypes, regression (as sldp 1.1.5 runs it).

The array-level steps live in :mod:`stats.ld.signed_profile` (profiles, ``.info``), :mod:`stats.sldp.regression` (SVD,
h2g, weights, block products, chunks, fit, table) and :mod:`stats.sldp.signflip`; allele reconciliation
in :mod:`stats.alleles`; readers in :mod:`stats.io`. This module reads the inputs and runs those
steps in sldp's order, as public stages that :func:`run` composes (each can be called on its own):

0. **Inputs**: :class:`SldpOptions` (every option of a run), :func:`annotation_files` (the ``.sannot``
   sets with their MAF exponents), :func:`sldp_blocks` (the LD-block table, MHC dropped),
   :func:`panel_files` (the panel's fileset per chromosome, checked against the blocks' build) and
   :func:`read_print_snps`. The reference panel is a :class:`stats.io.panel.ReferencePanel`, opened once
   by :func:`run` (from a path or template) and passed to every stage, so that each .bim and .fam is
   parsed once per run.
1. **Reference panel, per chromosome** (:func:`preprocess_panel` over :func:`preprocess_chromosome`; sldp's
   ``preprocessrefpanel`` and ``preprocessannot`` in one pass over the genotypes): the panel's SNPs
   (:func:`panel_snps`) and MAF (:func:`panel_maf`); each ``.sannot`` reconciled to the panel's alleles and
   scaled by MAF (``alpha``; :func:`reconcile_annotations`); per LD block, the truncated SVD of the
   block's regression ("print") SNPs and the signed LD profiles ``RV`` of every annotation at once
   (background and tested; :func:`block_svds_and_profiles`); the ``.info`` numbers over all panel SNPs of
   the chromosome. Written in sldp's ``.RV.gz`` / ``.info`` layout when asked (``rv_out``,
   :func:`write_rv`). :func:`merge_annotations` then checks the chromosomes agree and sums ``.info``.
2. **Phenotypes** (:func:`prepare_phenotypes` over :func:`prepare_phenotype`; ``preprocesspheno``): h2g by
   the aggregate estimator from ``.l2.ldscore.gz`` and the sum of ``.l2.M_5_50`` over chromosomes 1..22
   (those present; :func:`read_ldscores`); ``Z`` and ``N`` reconciled to the panel's alleles.
3. **Regression** (:func:`block_inputs`, then :func:`run_grid` over cells of :func:`fit_grid`; ``sldp.main``):
   block products (:func:`grid_block_products`), chunks in LD-block-table order, background
   residualization, jackknife SE, fast and sign-flip p-values, ``rf``, ``h2v/h2g``, ``h2v``,
   ``supp(v)/M``, for every annotation x phenotype (:func:`chunk_tables` keeps the per-chunk ``q``, ``r``).

sldp's conventions kept on purpose (they change numbers; see ``tests/stats/fixtures/sldp_1.1.5``):

* a SNP belongs to block ``[start, end)`` of the BED file when ``start <= BP < end`` (1-based BP
  compared to the 0-based start; :func:`stats.ld.signed_profile.sldp_block_ranges`), unlike
  :func:`stats.io.ldblocks.assign_blocks` (``start <= BP - 1 < end``), which is only used here for
  the genome-build check;
* blocks overlapping the MHC of the build are dropped *whole* (their SNPs still count in ``M``,
  ``sqnorm``, ``supp`` and h2g); ``build`` may be ``hg19`` (sldp's MHC), ``hg38`` or a simulated
  ``simworld*`` build (no MHC);
* monomorphic panel SNPs are kept (standardized to 0), as sldp's reader does;
* ``mean chi^2`` is over every sumstats row whose ID is a regression SNP, whatever its alleles or
  chromosome; ``mean(N l)`` over those with an LD score;
* blocks are left out when every annotation of the run (background and tested jointly) is zero on
  them; this is decided on the whole run even when the grid is split into batches;
* strand-ambiguous SNPs (A/T, C/G) are dropped from annotations and sumstats (counted, logged);
* chunks follow the LD-block table in chromosome then start order (:func:`stats.io.ldblocks.read_ldblocks`
  sorts it), which is sldp's file order for a sorted block file such as Berisa-Pickrell's;
* the sign-flip test uses this suite's seeded generator (:mod:`stats.sldp.signflip`), so its p agrees with
  sldp's within Monte Carlo error; everything else agrees to rounding.

Differences from sldp, on purpose: duplicated SNP IDs in a sumstats file drop every copy
(:func:`stats.io.sumstats.read_sumstats`); duplicated IDs in a panel or an annotation file are an
error; a missing ``.l2.ldscore.gz`` of chromosomes 1..22 is skipped (and logged) rather than fatal;
without ``print_snps`` the regression SNPs are the panel SNPs with MAF >= 5% (sldp's ``KG3.95``).
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import math
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from genocore import workspace
from genocore.genome import canonical_build, chrom_sort_key, mhc_region, normalize_chrom
from stats.alleles import align_to_reference, check_unique_ids
from stats.io.annot import annotation_columns, read_annot
from stats.io.chromfiles import chrom_path, find_chrom_file
from stats.io.ldblocks import check_blocks_build, read_ldblocks
from stats.io.panel import ReferencePanel, as_panel
from stats.io.sumstats import read_sumstats
from stats.ld.moments import MISSING_INT8, genotype_counts, identical_columns, standardize_counts, standardized_product
from stats.ld.signed_profile import (annotation_info, rv_frame, scale_by_maf, signed_ld_profile, sldp_block_ranges,
                                     sum_info)
from stats.sldp.signflip import N_DRAWS, entropy_of
from stats.sldp.regression import (BlockProducts, ChunkStats, LdSvd, SldpFit, block_products, estimate_h2g, fit_blocks,
                                   ld2_svd, ld_svd_counts)

logger = logging.getLogger(__name__)

#: Weight modes sldp 1.1.5 can run (``preprocesspheno`` writes only these two to ``.pss.gz``).
PIPELINE_WEIGHTS = ("Winv_ahat_h", "Winv_ahat_I", "Winv_ahat_hlN", "Winv_ahat_h2")
#: Columns of sldp's ``.gwresults``.
GWRESULTS_COLUMNS = ("pheno", "annot", "z", "p", "z_fast", "p_fast", "mu", "se(mu)", "h2g", "rf", "h2v/h2g",
                     "h2v", "supp(v)/M")
#: Default regression SNPs when no list is given: panel SNPs with at least this MAF.
DEFAULT_PRINT_MAF = 0.05

#: A block's SNPs with identical genotypes are merged when the distinct ones are fewer than this share.
MERGE_BELOW = 0.9
#: Chromosomes whose LD scores sldp reads for h2g, whatever is analysed.
LDSCORE_CHROMS = tuple(str(c) for c in range(1, 23))


def _blas_limit(blas_threads: int | None):
    """Limit BLAS/LAPACK threads inside a ``with`` (many small SVDs and products run far faster on one
    thread on a busy machine); a no-op for None."""
    if blas_threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=int(blas_threads))


# -- options ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class SldpOptions:
    """Every option of an SLDP run (:func:`run`), in sldp 1.1.5's terms.

    Grouped as inputs (``bfile_chr`` .. ``print_snps``), panel and annotations (``build`` ..
    ``rv_out``), phenotypes (``ldscore_chroms``, ``m_suffix``), regression (``weights`` .. ``n_draws``)
    and execution (``client`` .. ``block_threads``: the results do not depend on these).

    Parameters
    ----------
    bfile_chr : str, Path or ReferencePanel
        Reference panel: per-chromosome PLINK prefix / ``{chrom}`` template (``panel.`` ->
        ``panel.22.bed``), or one fileset with several chromosomes, or an open
        :class:`stats.io.panel.ReferencePanel` (its parsed .bim/.fam files are reused).
    ld_blocks : str, Path or DataFrame
        LD blocks (BED), in the panel's build.
    sumstats : path, sequence of paths, or mapping name -> path or DataFrame (``SNP A1 A2 N Z``)
        One per phenotype; a path's phenotype name is its file name without ``.sumstats.gz``.
    sannot_chr : str or sequence of str
        Per-chromosome ``.sannot.gz`` sets of the annotations to test.
    ldscores_chr : str or Path
        Prefix of ``{chrom}.l2.ldscore.gz`` and ``{chrom}.l2.M_5_50``.
    background_sannot_chr : str or sequence of str
        Background annotation sets (sldp's ``--background-sannot-chr``).
    print_snps : path or collection of str, optional
        Regression SNPs (sldp's ``--print-snps``); default: panel SNPs with MAF >= 5%.
    build : str
        Genome build of the panel and blocks: ``hg19`` (default, sldp's MHC), ``hg38``, ``simworld*``.
    alpha, background_alpha : float or sequence of float
        MAF-scaling exponent per annotation set (sldp's ``preprocessannot --alpha``; -1: none).
    spectrum_percent : float
        Share of the LD spectrum kept per block, in percent (sldp's ``--spectrum-percent``, 95).
    chroms : sequence, optional
        Chromosomes to analyse (default: every chromosome of the panel that the blocks cover).
    block_lengths : dict, optional
        Chromosome lengths in bp for the build check (simulated builds).
    rv_out : str or Path, optional
        Write ``{rv_out}{chrom}.RV.gz`` and ``.info``.
    ldscore_chroms : sequence of str
        Chromosomes whose LD scores enter h2g (sldp: 1..22).
    m_suffix : str
        ``.l2.M_5_50`` or ``.l2.M``.
    weights : {"Winv_ahat_h", "Winv_ahat_I", "Winv_ahat_hlN", "Winv_ahat_h2"}
        sldp's weight modes (:func:`stats.sldp.regression.weight_diagonal`); sldp 1.1.5's own pipeline can
        run only the first two (its ``.pss`` files hold no others).
    jk_blocks : int
        Target number of chunks (sldp's ``--jk-blocks``).
    seed : int or numpy Generator
        Sign-flip randomness (a Generator gives one draw of entropy).
    signflip : bool
        Compute the sign-flip ``p``, ``z`` (else NaN).
    n_draws : int
        Most sign flips per test (sldp's ``--T``).
    client : dask.distributed.Client, optional
        Runs per-chromosome preprocessing and the annotation x phenotype grid as tasks on it.
    progress : callable, optional
        ``progress(done, total, stage)`` after each chromosome is preprocessed (stage ``"panel"``) and
        each grid cell is fitted (``"regression"``).
    annotation_batch, phenotype_batch : int, optional
        Grid cell sizes (default: :data:`GRID_CELLS` cells of annotations, at least
        :data:`MIN_CELL_ANNOTATIONS` each, in-process and on any cluster: the same numbers to the last bit).
    blas_threads : int, optional
        Limit BLAS threads in the numerical steps (1 is usually fastest: the matrices are small).
    block_threads : int
        Threads of the panel stage: chromosomes and their LD blocks at once, one per thread
        (:func:`preprocess_panel`; with ``blas_threads`` 1 this uses that many cores and gives the numbers
        of a one-thread run exactly).
    parts_dir : path-like, optional
        Save each finished cell of the grid there (:func:`run_grid`; the caller removes it once the output
        is written).
    resume : bool
        With ``parts_dir``: read back the cells a killed run with the same inputs and options finished
        (checked by SHA-256 and value; anything else is refused, naming it).

    Raises
    ------
    ValueError
        For unknown ``weights``.
    """

    bfile_chr: Any
    ld_blocks: Any
    sumstats: Any
    sannot_chr: Any
    ldscores_chr: Any
    background_sannot_chr: Any = ()
    print_snps: Any = None
    build: str = "hg19"
    alpha: Any = -1.0
    background_alpha: Any = -1.0
    weights: str = "Winv_ahat_h"
    spectrum_percent: float = 95.0
    jk_blocks: int = 300
    seed: np.random.Generator | int = 0
    signflip: bool = True
    n_draws: int = N_DRAWS
    chroms: Any = None
    ldscore_chroms: Sequence[str] = LDSCORE_CHROMS
    m_suffix: str = ".l2.M_5_50"
    rv_out: Any = None
    block_lengths: dict | None = None
    client: Any = None
    progress: Any = None
    annotation_batch: int | None = None
    phenotype_batch: int | None = None
    blas_threads: int | None = None
    block_threads: int = 1
    parts_dir: Any = None
    resume: bool = False

    def __post_init__(self):
        if self.weights not in PIPELINE_WEIGHTS:
            raise ValueError(f"weights must be one of {PIPELINE_WEIGHTS}, got {self.weights!r}")
        if int(self.block_threads) < 1:
            raise ValueError(f"block_threads must be >= 1, got {self.block_threads}")


def _as_list(x) -> list:
    if x is None:
        return []
    if isinstance(x, (str, Path)):
        return [x]
    return list(x)


def _alphas(alpha, n: int, what: str) -> list[float]:
    if isinstance(alpha, (int, float, np.floating, np.integer)):
        return [float(alpha)] * n
    a = [float(x) for x in alpha]
    if len(a) == 1:
        return a * n
    if len(a) != n:
        raise ValueError(f"{len(a)} {what} values for {n} annotation sets")
    return a


def annotation_files(sannot_chr, *, background=(), alpha=-1.0,
                     background_alpha=-1.0) -> tuple[list[tuple[str, float]], int]:
    """The annotation sets of a run with their MAF-scaling exponents, background sets first.

    Parameters
    ----------
    sannot_chr : str, Path or sequence of them
        Per-chromosome ``.sannot.gz`` sets (``{chrom}`` template or ldsc-style prefix) to test.
    background : str, Path or sequence of them
        Background sets (sldp's ``--background-sannot-chr``).
    alpha, background_alpha : float or sequence of float
        Exponent per set (one value: the same for all; -1: no scaling).

    Returns
    -------
    files : list of (template, alpha)
        Background sets, then tested sets (the order of the annotation columns everywhere after).
    n_background_files : int

    Raises
    ------
    ValueError
        For no set to test, or as many exponents as neither 1 nor the number of sets.
    """
    marg_sets, bg_sets = _as_list(sannot_chr), _as_list(background)
    if not marg_sets:
        raise ValueError("no annotations to test (sannot_chr)")
    files = list(zip(bg_sets, _alphas(background_alpha, len(bg_sets), "background_alpha"))) + \
        list(zip(marg_sets, _alphas(alpha, len(marg_sets), "alpha")))
    return files, len(bg_sets)


def read_print_snps(print_snps) -> pd.Index | None:
    """Regression (print) SNP IDs (sldp's ``--print-snps``).

    Parameters
    ----------
    print_snps : str, Path, collection of str or None
        A file (IDs in the first whitespace-separated column, no header) or the IDs themselves; None
        stays None (the panel's SNPs with MAF >= 5% are then used).

    Returns
    -------
    Index of str or None
        Unique IDs, in first-seen order.

    Raises
    ------
    ValueError
        For a file without IDs.
    """
    if print_snps is None:
        return None
    if isinstance(print_snps, (str, Path)):
        ids = pd.read_csv(print_snps, header=None, sep=r"\s+", usecols=[0], dtype=str)[0]
        if len(ids) == 0:
            raise ValueError(f"{print_snps}: no SNP IDs")
        return pd.Index(pd.unique(ids))
    return pd.Index(pd.unique(pd.Series(list(print_snps), dtype=str)))


def _isin(values, ids) -> np.ndarray:
    """Boolean mask of ``values`` found in ``ids`` (both str; a missing value is found nowhere): as
    ``Series.isin``, in Arrow's hash table (pandas 3's ``isin`` on Arrow-backed strings loops in Python,
    and a round trip through Python objects takes three times Arrow's time)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def arrow(x):
        return pa.array(x if isinstance(x, (pd.Series, pd.Index, np.ndarray)) else list(x), type=pa.large_string(),
                        from_pandas=True)

    found = pc.is_in(arrow(values), value_set=arrow(ids).drop_null())
    return found.fill_null(False).to_numpy(zero_copy_only=False)


# -- LD blocks ---------------------------------------------------------------------------------------

def sldp_blocks(ld_blocks, *, build: str) -> pd.DataFrame:
    """The LD-block table of a run: read, then blocks overlapping the build's MHC dropped whole.

    Parameters
    ----------
    ld_blocks : str, Path or DataFrame
        BED file (or :func:`stats.io.ldblocks.read_ldblocks` table).
    build : str
        ``hg19`` (sldp's MHC, chr6:25,684,587-35,455,756), ``hg38`` or ``simworld*`` (no MHC).

    Returns
    -------
    DataFrame
        ``chrom start end`` plus ``bed_row`` (row in the read table), index 0..n-1 -- the order in
        which blocks form chunks.
    """
    blocks = ld_blocks if isinstance(ld_blocks, pd.DataFrame) else read_ldblocks(ld_blocks)
    blocks = blocks.reset_index(drop=True).assign(bed_row=np.arange(len(blocks)))
    mhc = mhc_region(build)
    if mhc is not None:
        c, lo, hi = mhc
        drop = (blocks["chrom"] == c) & (blocks["end"] > lo) & (blocks["start"] < hi)
        if drop.any():
            logger.info("dropped %d LD block(s) overlapping the %s MHC (chr%s:%d-%d)", int(drop.sum()),
                        canonical_build(build), c, lo, hi)
        blocks = blocks[~drop].reset_index(drop=True)
    return blocks


def panel_files(panel, blocks: pd.DataFrame, *, chroms=None, build: str = "hg19",
                block_lengths: dict | None = None) -> dict:
    """The panel's fileset of each chromosome to analyse, checked to be in the LD blocks' build.

    Parameters
    ----------
    panel : ReferencePanel, str or Path
        An open :class:`stats.io.panel.ReferencePanel` (the .bim files parsed here stay on it for the
        later stages), or what it opens: a per-chromosome PLINK prefix / ``{chrom}`` template, or one
        fileset with several chromosomes.
    blocks : DataFrame
        The run's block table (:func:`sldp_blocks`).
    chroms : sequence, optional
        Chromosomes wanted; default: every chromosome of the panel that the blocks cover.
    build : str
    block_lengths : dict, optional
        Chromosome lengths for the build check (simulated builds).

    Returns
    -------
    dict
        Normalized chromosome -> fileset prefix, in chromosome order.

    Raises
    ------
    ValueError
        When the blocks cover none of the panel's chromosomes, or blocks and panel are in different
        builds (:func:`stats.io.ldblocks.check_blocks_build`).
    FileNotFoundError
        For a chromosome in ``chroms`` without a fileset.
    """
    panel = as_panel(panel)
    files = panel.filesets(chroms=chroms)
    if chroms is None:
        files = {c: p for c, p in files.items() if c in set(blocks["chrom"])}
        if not files:
            raise ValueError(f"the LD blocks ({', '.join(pd.unique(blocks['chrom']))}) cover none of the panel's "
                             f"chromosomes ({panel})")
    check_blocks_build(blocks, build=build, lengths=block_lengths)
    for c, prefix in files.items():
        snps = panel.allele_table(chroms=[c])
        check_blocks_build(blocks[blocks["chrom"] == c], build=build, lengths=block_lengths,
                           chrom=snps["chrom"].to_numpy(), pos=snps["pos"].to_numpy(), what=f"panel {prefix}")
    return files


# -- reference panel per chromosome ------------------------------------------------------------------

@dataclass(eq=False)
class ChromosomeData:
    """One chromosome of the reference panel, preprocessed (:func:`preprocess_chromosome`).

    ``n`` panel SNPs, ``K`` annotations (background first, then tested), ``B`` LD blocks of the
    chromosome.

    Attributes
    ----------
    chrom : str
    snps : DataFrame, n rows
        ``SNP A1 A2 BP`` of the panel (bim order).
    maf : ndarray, float64, shape (n,)
        Panel MAF, ``min(p, 1 - p)`` at full precision (sldp reads it from ``.frq``).
    print_mask : ndarray of bool, shape (n,)
        Regression (print) SNPs.
    block_index : ndarray, int64, shape (B,)
        Rows of the run's block table (:func:`sldp_blocks`).
    begin, end : ndarray, int64, shape (B,)
        SNP index ranges of the blocks (``start <= BP < end``).
    svds : list of LdSvd or None, length B
        Truncated SVD of each block's print SNPs (None: no print SNP).
    names : list of str, length K
    v : ndarray, float64, shape (n, K)
        Reconciled, MAF-scaled annotation values.
    rv : ndarray, float64, shape (n, K)
        Signed LD profiles (0 at non-print SNPs, in skipped blocks and outside blocks).
    info : DataFrame
        :func:`stats.ld.signed_profile.annotation_info` of the chromosome.
    counts : dict
        Exclusion counts (allele reconciliation per annotation file, blocks skipped).
    """

    chrom: str
    snps: pd.DataFrame
    maf: np.ndarray
    print_mask: np.ndarray
    block_index: np.ndarray
    begin: np.ndarray
    end: np.ndarray
    svds: list
    names: list
    v: np.ndarray
    rv: np.ndarray
    info: pd.DataFrame
    counts: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class PanelSnps:
    """The SNPs of one chromosome of a reference panel (:func:`panel_snps`).

    Attributes
    ----------
    panel : ReferencePanel
        The panel (its parsed .bim and .fam).
    prefix : Path
        The fileset holding the chromosome.
    chrom : str
        Normalized chromosome.
    cols : ndarray, int64, shape (n,)
        Columns of the chromosome's SNPs in the fileset's .bed (rows of its .bim).
    snps : DataFrame, n rows
        ``SNP A1 A2 BP`` (alleles upper-case), in bim order, positions sorted.
    """

    panel: ReferencePanel
    prefix: Path
    chrom: str
    cols: np.ndarray
    snps: pd.DataFrame

    @property
    def n_individuals(self) -> int:
        """Rows of the fileset's .fam."""
        return self.panel.n_individuals(self.prefix)

    @property
    def n_fileset_snps(self) -> int:
        """Rows of the fileset's .bim."""
        return self.panel.n_snps(self.prefix)

    def open(self):
        """The fileset's .bed opened for reading chosen columns (a context manager; nothing parsed again)."""
        return self.panel.open_bed(self.prefix)


def panel_snps(panel, chrom) -> PanelSnps:
    """The SNPs of chromosome ``chrom`` of a reference panel (other chromosomes of its fileset ignored).

    Parameters
    ----------
    panel : ReferencePanel, str or Path
        An open :class:`stats.io.panel.ReferencePanel`, or what it opens (e.g. one PLINK fileset).
    chrom : str
        Chromosome, any spelling (``chr22``, ``22``).

    Returns
    -------
    PanelSnps

    Raises
    ------
    ValueError
        When a single-fileset panel (or the chromosome's fileset) has no SNP on ``chrom``, its positions
        there are not sorted, or a SNP ID repeats there.
    FileNotFoundError
        When a per-chromosome panel has no fileset for ``chrom``.
    """
    panel, chrom = as_panel(panel), normalize_chrom(chrom)
    try:
        prefix = panel.fileset(chrom)
    except FileNotFoundError:
        if panel.kind != "single":
            raise
        raise ValueError(f"PLINK fileset {panel.source} has no SNPs on chromosome {chrom}") from None
    sub = panel.allele_table(chroms=[chrom])
    snps = pd.DataFrame({"SNP": sub["snp"].to_numpy(), "A1": sub["a1"].str.upper().to_numpy(),
                         "A2": sub["a2"].str.upper().to_numpy(), "BP": sub["pos"].to_numpy()})
    bp = snps["BP"].to_numpy()
    if np.any(np.diff(bp) < 0):
        i = int(np.flatnonzero(np.diff(bp) < 0)[0])
        raise ValueError(f"{prefix}.bim: positions on chromosome {chrom} are not sorted (SNP {snps.SNP.iat[i + 1]} "
                         f"at {bp[i + 1]} after {bp[i]})")
    check_unique_ids(snps["SNP"], f"{prefix}.bim, chromosome {chrom},")  # once for every table aligned to it
    return PanelSnps(panel=panel, prefix=prefix, chrom=chrom, cols=sub["bim_index"].to_numpy(), snps=snps)


@dataclass(frozen=True, eq=False)
class BedCounts:
    """A fileset's .bed, memory-mapped and decoded to int8 allele counts by the compiled kernel
    (:func:`stats.ld.bitplanes.decode_counts`: bed-reader's int8 values, a tenth of its time per block).

    Attributes
    ----------
    rows : ndarray, uint8, shape (m_total, ceil(n / 4))
        The .bed's SNP rows (:func:`stats.io.plink.bed_rows`).
    n : int
        Individuals.
    """

    rows: np.ndarray
    n: int

    @classmethod
    def of(cls, ps: "PanelSnps") -> "BedCounts | None":
        """The .bed of a chromosome's fileset (its size checked), or None without the compiled kernel."""
        from stats.io import plink
        from stats.ld import bitplanes

        if not bitplanes.available():
            return None
        return cls(plink.bed_rows(ps.panel.check_bed(ps.prefix), ps.n_individuals, ps.n_fileset_snps),
                   ps.n_individuals)

    def read_counts(self, cols) -> np.ndarray:
        """int8 allele counts (n, len(cols)), Fortran order, ``MISSING_INT8`` where missing; in kept memory
        (:func:`genocore.workspace.kept_array`: a wide block's decomposition keeps them)."""
        from stats.ld import bitplanes

        return bitplanes.decode_counts(self.rows, cols, self.n,
                                       out=workspace.kept_array((len(cols), self.n), dtype=np.int8))


def _read_codes(bed, cols) -> np.ndarray:
    """Allele counts of SNP columns ``cols`` as int8 (``MISSING_INT8`` where missing): an eighth of the
    memory of float64 and half bed-reader's decoding work (none of it from a :class:`BedCounts`)."""
    if isinstance(bed, BedCounts):
        return bed.read_counts(cols)
    return bed.read(index=np.s_[:, cols], dtype="int8")


def panel_maf(bed, cols: np.ndarray, *, batch: int = 8192) -> np.ndarray:
    """Panel minor-allele frequencies ``min(p, 1 - p)`` over the non-missing genotypes, at full precision.

    Equal bit for bit to :meth:`stats.io.panel.ReferencePanel.maf` (which :func:`preprocess_chromosome`
    uses, so that the panel keeps the MAF of each chromosome it has scanned).

    Parameters
    ----------
    bed : bed_reader.open_bed
        An open .bed (:meth:`PanelSnps.open`).
    cols : ndarray, int, shape (n,)
        SNP columns to read.
    batch : int
        Columns read at once (bounds memory at ``n_individuals x batch`` bytes).

    Returns
    -------
    ndarray, float64, shape (n,)
        0 for a SNP without any called genotype.
    """
    out = np.zeros(len(cols))
    for lo in range(0, len(cols), batch):
        g = bed.read(index=np.s_[:, cols[lo:lo + batch]], dtype="int8")
        miss = g == MISSING_INT8
        if miss.any():
            gf = np.where(miss, 0, g).sum(axis=0, dtype=np.float64)
            cnt = (~miss).sum(axis=0).astype(np.float64)
        else:
            gf = g.sum(axis=0, dtype=np.float64)
            cnt = np.full(g.shape[1], float(g.shape[0]))
        with np.errstate(invalid="ignore", divide="ignore"):
            f = gf / cnt / 2
        out[lo:lo + batch] = np.where(np.isfinite(f), np.minimum(f, 1 - f), 0.0)
    return out


def reconcile_annotations(snps: pd.DataFrame, annotations: Sequence[tuple[str, float]], *, chrom: str,
                          maf: np.ndarray) -> tuple[np.ndarray, list[str], dict]:
    """Read each annotation set's file of one chromosome, reconcile it to the panel's alleles (sign
    flipped on swapped alleles, strand-ambiguous and unmatched SNPs set to 0) and scale it by MAF.

    Parameters
    ----------
    snps : DataFrame, n rows
        The panel's ``SNP A1 A2`` (:attr:`PanelSnps.snps`).
    annotations : sequence of (template, alpha)
        ``.sannot.gz`` sets and their MAF exponents (:func:`annotation_files`).
    chrom : str
    maf : ndarray, float64, shape (n,)
        Panel MAF (:func:`panel_maf`).

    Returns
    -------
    v : ndarray, float64, shape (n, K)
        Annotation values at the panel's SNPs, all files side by side.
    names : list of str, length K
    counts : dict
        ``annotation <path>`` -> reconciliation counts per file, ``names_per_file`` -> columns per file.

    Raises
    ------
    ValueError
        Naming the file for duplicated SNP IDs or a bad column, or for names repeated across files.
    FileNotFoundError
        For a missing annotation file.
    """
    values, names, counts = [], [], {}
    for template, alpha in annotations:
        path = find_chrom_file(template, chrom, ".sannot.gz")
        df = read_annot(path, signed=True)
        cols = annotation_columns(df, signed=True)
        try:
            al = align_to_reference(df, snps, signed=cols, what=str(path), ref_what=f"panel chr{chrom}",
                                    reference_checked=True)
        except (KeyError, ValueError) as e:
            raise ValueError(f"{path}: {e.args[0] if e.args else e}") from None
        counts[f"annotation {path}"] = al.counts
        v = al.values[cols].to_numpy(dtype=np.float64)
        v = np.where(np.isnan(v), 0.0, v)  # sldp: missing or unmatched -> 0
        values.append(scale_by_maf(v, maf, alpha=alpha))
        names.extend(cols)
        counts.setdefault("names_per_file", []).append(len(cols))
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"annotation names repeated across .sannot files: {dup}")
    return np.hstack(values), names, counts


def block_svds_and_profiles(bed, cols: np.ndarray, v: np.ndarray, *, print_mask: np.ndarray, begin: np.ndarray,
                            end: np.ndarray, spectrum_percent: float = 95.0, weights: str = "Winv_ahat_h",
                            block_threads: int = 1, snp_counts: np.ndarray | None = None) -> tuple[list, np.ndarray, dict]:
    """Per LD block of one chromosome: the truncated SVD of the print SNPs' LD and the signed LD profiles
    of every annotation at the print SNPs (sldp's ``preprocessrefpanel`` and ``preprocessannot`` loops).

    Genotypes are read one block at a time, regression SNPs first, and standardized as sldp's reader does
    (:func:`stats.ld.moments.standardize_counts`, with ``X v`` in the same pass). SNPs with identical
    genotypes are standardized, profiled and decomposed once when they are more than a tenth of the block
    (the same numbers). A block with at least as many regression SNPs as individuals keeps its
    decomposition as factors (:class:`stats.sldp.regression.GramLdSvd`).

    Parameters
    ----------
    bed : bed_reader.open_bed or BedCounts
        An open .bed (:meth:`PanelSnps.open`), or its decoder (:meth:`BedCounts.of`; the same counts).
    cols : ndarray, int, shape (n,)
        .bed columns of the chromosome's SNPs.
    v : ndarray, float64, shape (n, K)
        Annotation values (:func:`reconcile_annotations`).
    print_mask : ndarray of bool, shape (n,)
    begin, end : ndarray, int, shape (B,)
        SNP index ranges of the blocks (:func:`stats.ld.signed_profile.sldp_block_ranges`).
    spectrum_percent : float
    weights : str
        ``Winv_ahat_h2`` decomposes ``(R^2)_o`` (:func:`stats.sldp.regression.ld2_svd`), every other mode
        ``R_o`` (:func:`stats.sldp.regression.ld_svd`).
    block_threads : int
        Blocks decomposed at once, one per thread (LAPACK releases the GIL). Each block's numbers do not
        depend on it; set the BLAS thread limit (1 per block is best) around the call.
    snp_counts : ndarray, int, shape (n, 3), optional
        The SNPs' genotype counts (:meth:`stats.io.panel.ReferencePanel.genotype_counts`), which spares
        counting them again block by block.

    Returns
    -------
    svds : list of LdSvd or None, length B
        None for a block without print SNPs.
    rv : ndarray, float64, shape (n, K)
        Profiles at print SNPs, 0 elsewhere and in blocks where every annotation is 0.
    counts : dict
        ``blocks_without_print_snps``, ``blocks_all_zero``.
    """
    # one bed-reader shared by the threads; the compiled decoder only reads the mapped bytes
    reading = contextlib.nullcontext() if isinstance(bed, BedCounts) else threading.Lock()

    def one_block(b0: int, b1: int):
        pm = print_mask[b0:b1]
        if not pm.any():
            return None, None
        # regression SNPs read first: their standardized genotypes are then the block's leading columns
        order = np.arange(b1 - b0) if pm.all() else np.concatenate([np.flatnonzero(pm), np.flatnonzero(~pm)])
        with reading:
            g = _read_codes(bed, cols[b0:b1][order])
        c = genotype_counts(g) if snp_counts is None else snp_counts[b0:b1][order]
        return _block_svd_and_profile(g, c, v[b0:b1][order], int(pm.sum()), spectrum_percent=spectrum_percent,
                                      weights=weights)

    if block_threads > 1:
        with ThreadPoolExecutor(max_workers=int(block_threads)) as pool:
            done = list(pool.map(one_block, begin, end))
    else:
        try:
            done = [one_block(b0, b1) for b0, b1 in zip(begin, end)]
        finally:
            workspace.release()
    rv = np.zeros_like(v)
    svds: list[LdSvd | None] = []
    n_no_print = n_zero = 0
    for b0, b1, (svd, profile) in zip(begin, end, done):
        svds.append(svd)
        if svd is None:
            n_no_print += 1
        elif profile is None:
            n_zero += 1
        else:
            rv[b0 + np.flatnonzero(print_mask[b0:b1])] = profile
    return svds, rv, {"blocks_without_print_snps": n_no_print, "blocks_all_zero": n_zero}


def _block_svd_and_profile(g: np.ndarray, c: np.ndarray, vb: np.ndarray, n_print: int, *, spectrum_percent: float,
                           weights: str) -> tuple[LdSvd, np.ndarray | None]:
    """One block of :func:`block_svds_and_profiles`: from its int8 genotypes ``g`` (n_ref, m_b), their
    counts ``c`` (m_b, 3) and annotation values ``vb`` (m_b, K), its ``n_print`` print SNPs first, the
    decomposition and the profiles at the print SNPs (None when every annotation is 0)."""
    pm = np.arange(g.shape[1]) < n_print
    if weights == "Winv_ahat_h2":
        x = standardize_counts(g, out=_block_array(g.shape, g), counts=c)  # used up in this call
        svd = ld2_svd(x[:, :n_print], x, spectrum_percent=spectrum_percent)
        rows, vm = pm, vb
    else:
        # SNPs with identical genotypes (40% of a coalescent block) are standardized and profiled once:
        # X v = X_d (their summed values), and identical SNPs share a row of the profile
        first, group, _ = identical_columns(g)
        if len(first) < MERGE_BELOW * g.shape[1]:
            gm, cm, rows = g[:, first], c[first], group[pm]
            vm = np.zeros((len(first), vb.shape[1]))
            np.add.at(vm, group, vb)
        else:
            gm, cm, rows, vm = g, c, np.arange(n_print), vb
        g_reg, c_reg = g[:, :n_print], c[:n_print]
        x = _block_array(gm.shape, gm)               # used up in this call
        xv = None
        if np.any(vb != 0):                          # X v formed in the standardizing pass
            xv = standardized_product(gm, vm, counts=cm, x_out=x)
        else:
            standardize_counts(gm, out=x, counts=cm)
        _, first_reg, group_reg, size_reg = np.unique(group[pm], return_index=True, return_inverse=True,
                                                      return_counts=True)
        svd = ld_svd_counts(g_reg, spectrum_percent=spectrum_percent, duplicates=(first_reg, group_reg, size_reg),
                            x_reg=lambda: _columns(x, rows), counts=c_reg)
        return svd, (None if xv is None else signed_ld_profile(x, vm, rows=rows, check_finite=False, xv=xv))
    return svd, (signed_ld_profile(x, vm, rows=rows, check_finite=False) if np.any(vb != 0) else None)


def _columns(x: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``x[:, cols]`` in this thread's kept array (:mod:`genocore.workspace`): fresh pages for 15 MB per
    block cost more than the copy. Used up before the thread's next block. Leading columns are a view."""
    if len(cols) and cols[0] == 0 and cols[-1] == len(cols) - 1 and np.array_equal(cols, np.arange(len(cols))):
        return x[:, :len(cols)]
    if not x.flags.f_contiguous:
        return x[:, cols]
    out = workspace.thread_array("sldp.block_columns", (len(cols), x.shape[0]))
    np.take(x.T, cols, axis=0, out=out, mode="clip")  # whole columns, contiguous in x; cols are in range
    return out.T


def _block_array(shape, like: np.ndarray) -> np.ndarray:
    """This thread's kept float64 array for a block's standardized genotypes, in the memory order of the
    genotypes read (bed-reader reads SNP-major: column order), so that filling it and taking columns
    are contiguous copies."""
    return workspace.thread_array("sldp.block", shape, order="F" if like.flags.f_contiguous else "C")


def preprocess_chromosome(panel, chrom, blocks: pd.DataFrame, *, annotations: Sequence[tuple[str, float]],
                          print_snps: Sequence[str] | None = None, spectrum_percent: float = 95.0,
                          print_maf: float = DEFAULT_PRINT_MAF, rv_out=None,
                          blas_threads: int | None = None, weights: str = "Winv_ahat_h",
                          block_threads: int = 1) -> ChromosomeData:
    """Reference-panel preprocessing of one chromosome (sldp's ``preprocessrefpanel`` + ``preprocessannot``).

    :func:`panel_snps`, the panel's MAF (:meth:`stats.io.panel.ReferencePanel.maf`, equal to
    :func:`panel_maf`), :func:`reconcile_annotations`, :func:`block_svds_and_profiles` and the ``.info``
    numbers, in one pass over the chromosome's genotypes.

    Parameters
    ----------
    panel : ReferencePanel, str or Path
        An open :class:`stats.io.panel.ReferencePanel` (its parsed .bim/.fam are used), or what it opens,
        e.g. the PLINK fileset holding the chromosome (other chromosomes in it are ignored).
    chrom : str
    blocks : DataFrame
        The run's block table (:func:`sldp_blocks`); its rows on ``chrom`` are used.
    annotations : sequence of (template, alpha)
        Per-chromosome ``.sannot.gz`` sets and the MAF scaling exponent of each (-1: none).
    print_snps : collection of str, optional
        Regression SNP IDs; default: panel SNPs with MAF >= ``print_maf``.
    spectrum_percent : float
        sldp's ``--spectrum-percent``.
    print_maf : float
    rv_out : str or Path, optional
        When given, write ``{rv_out}{chrom}.RV.gz`` and ``{rv_out}{chrom}.info`` (:func:`write_rv`).
    blas_threads : int, optional
        Limit BLAS threads while computing (None: leave them).
    weights : str
        The weights the eigen-decomposition is for (:func:`block_svds_and_profiles`).
    block_threads : int
        LD blocks decomposed at once (:func:`block_svds_and_profiles`).

    Returns
    -------
    ChromosomeData

    Raises
    ------
    ValueError
        For unsorted positions, duplicated panel or annotation SNP IDs, annotation names repeated
        across files, a .bed inconsistent with its .bim/.fam.
    FileNotFoundError
        For a missing fileset or annotation file.
    """
    with _blas_limit(blas_threads):
        ps = panel_snps(panel, chrom)
        chrom, snps = ps.chrom, ps.snps
        counts: dict = {"panel_snps": len(snps)}
        geno_counts = ps.panel.genotype_counts(chrom)   # the .bed's bits, once: MAF and every block's scales
        maf = ps.panel.maf(chrom).copy()  # kept on the panel read-only; a writable copy here
        decoder = BedCounts.of(ps)  # bed-reader is opened only without the compiled decoder
        with contextlib.nullcontext(decoder) if decoder is not None else ps.open() as bed:
            print_mask = maf >= print_maf if print_snps is None else _isin(snps["SNP"], print_snps)
            counts["print_snps"] = int(print_mask.sum())
            v, names, ann_counts = reconcile_annotations(snps, annotations, chrom=chrom, maf=maf)
            counts.update(ann_counts)
            sel = np.flatnonzero((blocks["chrom"] == chrom).to_numpy())
            begin, end = sldp_block_ranges(snps["BP"].to_numpy(), blocks["start"].to_numpy()[sel],
                                           blocks["end"].to_numpy()[sel])
            svds, rv, blk_counts = block_svds_and_profiles(bed, ps.cols, v, print_mask=print_mask, begin=begin,
                                                           end=end, spectrum_percent=spectrum_percent,
                                                           weights=weights, block_threads=block_threads,
                                                           snp_counts=geno_counts)
        inside = np.zeros(len(snps), bool)
        for b0, b1 in zip(begin, end):
            inside[b0:b1] = True
        counts.update(blocks=len(sel), **blk_counts, snps_outside_blocks=int((~inside).sum()))
        logger.info("chr%s: %d panel SNPs (%d regression SNPs, %d outside the %d LD blocks); %d blocks without "
                    "regression SNPs, %d with all annotations zero; %d annotations", chrom, len(snps),
                    counts["print_snps"], counts["snps_outside_blocks"], len(sel),
                    blk_counts["blocks_without_print_snps"], blk_counts["blocks_all_zero"], len(names))
        out = ChromosomeData(chrom=chrom, snps=snps, maf=maf, print_mask=print_mask, block_index=sel,
                             begin=begin, end=end, svds=svds, names=names, v=v, rv=rv,
                             info=annotation_info(v, maf, names=names), counts=counts)
        if rv_out is not None:
            write_rv(out, rv_out)
    return out


def write_rv(data: ChromosomeData, stem) -> tuple[Path, Path]:
    """Write sldp's ``{stem}{chrom}.RV.gz`` (print SNPs: ``SNP A1 A2 names... names.R...``) and
    ``{stem}{chrom}.info`` (``name M M_5_50 sqnorm sqnorm_5_50 supp supp_5_50``), atomically.

    Parameters
    ----------
    data : ChromosomeData
    stem : str or Path
        ldsc-style prefix or ``{chrom}`` template of the two files.

    Returns
    -------
    rv_path, info_path : Path
    """
    from genocore.files import write_table

    rv_path = chrom_path(stem, data.chrom, ".RV.gz")
    info_path = chrom_path(stem, data.chrom, ".info")
    rv_path.parent.mkdir(parents=True, exist_ok=True)
    write_table(rv_path, rv_frame(data.snps.SNP, data.snps.A1, data.snps.A2, data.v, data.rv, names=data.names,
                                  print_mask=data.print_mask))
    write_table(info_path, data.info.reset_index())
    return rv_path, info_path


def preprocess_panel(panel, blocks: pd.DataFrame, *, chroms=None, annotations: Sequence[tuple[str, float]],
                     print_snps: Sequence[str] | None = None, spectrum_percent: float = 95.0, rv_out=None,
                     weights: str = "Winv_ahat_h", blas_threads: int | None = None, block_threads: int = 1,
                     client=None, progress=None) -> list[ChromosomeData]:
    """:func:`preprocess_chromosome` for every chromosome of the panel, in chromosome order.

    Parameters
    ----------
    panel : ReferencePanel, str, Path or mapping chrom -> fileset prefix
        An open :class:`stats.io.panel.ReferencePanel` (pass the one given to :func:`panel_files`, so
        that no .bim is parsed again), or what it opens (e.g. :func:`panel_files`'s mapping).
    blocks : DataFrame
        :func:`sldp_blocks`.
    chroms : sequence of str, optional
        Chromosomes to preprocess (e.g. those of :func:`panel_files`); default: every chromosome of the
        panel that the blocks cover.
    annotations, print_snps, spectrum_percent, rv_out, weights, blas_threads
        As in :func:`preprocess_chromosome`.
    block_threads : int
        Threads for the whole stage: up to this many chromosomes at once, the rest of the threads
        shared among their blocks (:func:`preprocess_chromosome`). Memory grows with the chromosomes
        in flight (each holds its annotation values and profiles). The numbers do not depend on it.
    client : dask.distributed.Client, optional
        Runs one task per chromosome on it (same results). The panel's .bim and .fam files are parsed
        here first and the panel, with them, is sent to the workers once, so no worker parses them again.
    progress : callable, optional
        ``progress(done, total, "panel")`` as each chromosome finishes.

    Returns
    -------
    list of ChromosomeData
    """
    panel = as_panel(panel)
    if chroms is None:
        chroms = [c for c in panel.chroms if c in set(blocks["chrom"])]
    chroms = list(panel.filesets(chroms=chroms))
    kw = dict(annotations=annotations, print_snps=print_snps, spectrum_percent=spectrum_percent, rv_out=rv_out,
              blas_threads=blas_threads, weights=weights, block_threads=block_threads)
    if client is not None:
        for c in chroms:  # parse in this process, once: the workers get the parsed tables with the panel
            panel.chrom_rows(c)
            panel.n_individuals(panel.fileset(c))
        shared = client.scatter(panel, hash=False)
        futs = [client.submit(preprocess_chromosome, shared, c, blocks, pure=False, **kw) for c in chroms]
        chrom_data = _gathered(client, futs, progress, "panel")
    elif block_threads > 1 and len(chroms) > 1:
        # Chromosomes at once, so that one's serial part (reading and aligning its annotations) overlaps
        # another's blocks; the threads left over go to each chromosome's blocks. The BLAS limit is set
        # here once: threadpoolctl's limits are process-wide, and nested ones would undo each other.
        outer = min(len(chroms), int(block_threads))
        kw.update(blas_threads=None, block_threads=max(1, int(block_threads) // outer))
        chrom_data = []
        with _blas_limit(blas_threads), ThreadPoolExecutor(max_workers=outer) as pool:
            futs = [pool.submit(preprocess_chromosome, panel, c, blocks, **kw) for c in chroms]
            try:
                for f in as_completed(futs):
                    chrom_data.append(f.result())
                    if progress is not None:
                        progress(len(chrom_data), len(chroms), "panel")
            except BaseException:  # one chromosome's error (or Ctrl-C) stops the queued ones at once
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    else:
        chrom_data = []
        for c in chroms:
            chrom_data.append(preprocess_chromosome(panel, c, blocks, **kw))
            if progress is not None:
                progress(len(chrom_data), len(chroms), "panel")
    return sorted(chrom_data, key=lambda d: chrom_sort_key(d.chrom))


def _gathered(client, futures: list, progress, stage: str, on_result=None) -> list:
    """The futures' results in their order, reporting ``progress(done, total, stage)`` and calling
    ``on_result(index, result)`` as each finishes."""
    if progress is not None or on_result is not None:
        from distributed import as_completed

        index = {f.key: i for i, f in enumerate(futures)}
        for n, fut in enumerate(as_completed(futures), 1):
            if on_result is not None:
                on_result(index[fut.key], fut.result())
            if progress is not None:
                progress(n, len(futures), stage)
    return client.gather(futures)


@dataclass(frozen=True, eq=False)
class RunAnnotations:
    """The annotations of a run, genome-wide (:func:`merge_annotations`).

    Attributes
    ----------
    background, tested : list of str
        Annotation names (nb background, K tested), in column order of :attr:`ChromosomeData.v`.
    info : DataFrame
        Genome-wide ``.info`` numbers of every annotation, indexed by name (summed over chromosomes).
    """

    background: list
    tested: list
    info: pd.DataFrame

    @property
    def profile_names(self) -> list[str]:
        """Tested profiles as sldp reports them (``name.R``)."""
        return [n + ".R" for n in self.tested]

    @property
    def background_profile_names(self) -> list[str]:
        """Background profiles as sldp reports them (``name.R``)."""
        return [n + ".R" for n in self.background]


def merge_annotations(chromosomes: Sequence[ChromosomeData], *, n_background_files: int) -> RunAnnotations:
    """Split the annotation names into background and tested, check every chromosome has the same
    columns, and sum the ``.info`` numbers (warning about annotations zero everywhere).

    Parameters
    ----------
    chromosomes : sequence of ChromosomeData
    n_background_files : int
        How many of the annotation files (the first ones, :func:`annotation_files`) are background.

    Returns
    -------
    RunAnnotations

    Raises
    ------
    ValueError
        When chromosomes differ in annotation columns.
    """
    names = chromosomes[0].names
    nb = sum(chromosomes[0].counts["names_per_file"][:n_background_files])
    for d in chromosomes[1:]:
        if d.names != names:
            raise ValueError(f"chr{d.chrom}: annotation columns {d.names} differ from chr{chromosomes[0].chrom}'s "
                             f"{names}")
    info = sum_info([d.info for d in chromosomes])
    for nm in names:
        if info.at[nm, "supp"] == 0:
            logger.warning("annotation %s is zero on every panel SNP after allele reconciliation; its results "
                           "will be NaN", nm)
    return RunAnnotations(background=names[:nb], tested=names[nb:], info=info)


# -- phenotypes ---------------------------------------------------------------------------------------

@dataclass(eq=False)
class Phenotype:
    """One phenotype, ready for the regression (:func:`prepare_phenotype`).

    Attributes
    ----------
    name : str
    h2g, sigma2g : float
        Floored h2g and unfloored sigma2g (:class:`stats.sldp.regression.H2gEstimate`).
    z, n : dict of chrom -> ndarray, float64, shape (n_snps_chrom,)
        Reconciled Z and N at every panel SNP (NaN where untyped or dropped).
    counts : dict
    """

    name: str
    h2g: float
    sigma2g: float
    z: dict
    n: dict
    counts: dict = field(default_factory=dict)


def read_ldscores(ldscores_chr, *, chroms=LDSCORE_CHROMS, m_suffix: str = ".l2.M_5_50") -> tuple[pd.DataFrame, float]:
    """LD scores and their SNP count as sldp's ``preprocesspheno`` reads them.

    Parameters
    ----------
    ldscores_chr : str or Path
        ldsc-style prefix / ``{chrom}`` template of ``.l2.ldscore.gz`` and ``.l2.M_5_50`` files.
    chroms : sequence of str
        Chromosomes to read (sldp: 1..22); those without files are skipped and logged.
    m_suffix : str
        ``.l2.M_5_50`` (sldp's default) or ``.l2.M``.

    Returns
    -------
    ld : DataFrame with ``SNP``, ``L2``
    m : float
        Sum of the first number of each M file.

    Raises
    ------
    FileNotFoundError
        When no chromosome has an LD-score file.
    ValueError
        Naming the file for a missing SNP/L2 column or an unreadable M file.
    """
    parts, m, missing = [], 0.0, []
    for c in chroms:
        try:
            f = find_chrom_file(ldscores_chr, c, ".l2.ldscore.gz")
        except FileNotFoundError:
            missing.append(c)
            continue
        df = pd.read_csv(f, sep=r"\s+")
        if "SNP" not in df.columns or "L2" not in df.columns:
            raise ValueError(f"{f}: LD-score file needs SNP and L2 columns (has {list(df.columns)})")
        parts.append(df[["SNP", "L2"]].astype({"SNP": str}))
        mf = chrom_path(ldscores_chr, c, m_suffix)
        if not mf.exists():
            mf = find_chrom_file(ldscores_chr, c, m_suffix)
        try:
            m += float(mf.read_text().split()[0])
        except (IndexError, ValueError):
            raise ValueError(f"{mf}: expected a SNP count on its first line") from None
    if not parts:
        raise FileNotFoundError(f"no LD-score files {chrom_path(ldscores_chr, chroms[0], '.l2.ldscore.gz')} ...")
    if missing:
        logger.info("LD scores: no files for chromosome(s) %s (skipped; sldp needs all of 1..22)", ", ".join(missing))
    return pd.concat(parts, ignore_index=True), m


def read_sumstats_inputs(sumstats) -> list[tuple[str, pd.DataFrame]]:
    """Phenotype names and sumstats tables of a run.

    Parameters
    ----------
    sumstats : path, sequence of paths, or mapping name -> path or DataFrame
        A path's phenotype name is its file name without ``.gz``, ``.bz2``, ``.sumstats``, ``.txt``,
        ``.tsv`` (:func:`stats.io.sumstats.read_sumstats` reads it).

    Returns
    -------
    list of (name, DataFrame)

    Raises
    ------
    ValueError
        For no sumstats or repeated phenotype names.
    """
    out = []
    if isinstance(sumstats, Mapping):
        items = list(sumstats.items())
    else:
        items = []
        for s in _as_list(sumstats):
            name = Path(s).name
            for suf in (".gz", ".bz2", ".sumstats", ".txt", ".tsv"):
                name = name[: -len(suf)] if name.endswith(suf) else name
            items.append((name, s))
    for name, s in items:
        out.append((str(name), s if isinstance(s, pd.DataFrame) else read_sumstats(s)))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise ValueError(f"phenotype names repeat: {names}; pass a mapping name -> sumstats")
    if not out:
        raise ValueError("no sumstats given")
    return out


def _check_sumstats_frame(ss: pd.DataFrame, name: str) -> pd.DataFrame:
    missing = [c for c in ("SNP", "A1", "A2", "N", "Z") if c not in ss.columns]
    if missing:
        raise ValueError(f"sumstats {name}: missing column(s) {missing}")
    ss = ss.copy()
    z = pd.to_numeric(ss["Z"], errors="coerce").to_numpy(dtype=np.float64)
    n = pd.to_numeric(ss["N"], errors="coerce").to_numpy(dtype=np.float64)
    bad_z, bad_n = ~np.isfinite(z), ~(np.isfinite(n) & (n > 0))
    dup = ss["SNP"].astype(str).duplicated(keep=False).to_numpy()
    for what, bad in (("a missing or infinite Z", bad_z), ("a missing or non-positive N", bad_n & ~bad_z),
                      ("a duplicated SNP ID (all copies)", dup & ~bad_z & ~bad_n)):
        if bad.any():
            logger.warning("sumstats %s: dropped %d rows with %s", name, int(bad.sum()), what)
    ss["Z"], ss["N"] = z, n
    return ss[~(bad_z | bad_n | dup)].reset_index(drop=True)


def prepare_phenotype(sumstats: pd.DataFrame, *, name: str, chromosomes: Sequence[ChromosomeData],
                      print_ids: pd.Index, ld: pd.DataFrame, m: float) -> Phenotype:
    """h2g (``preprocesspheno.esth2g``) and the reconciled Z, N of one phenotype.

    Parameters
    ----------
    sumstats : DataFrame
        ``SNP A1 A2 N Z`` (:func:`stats.io.sumstats.read_sumstats`).
    name : str
    chromosomes : sequence of ChromosomeData
    print_ids : Index of str
        Every regression SNP ID (the h2g estimate uses the sumstats rows among them, unreconciled).
    ld : DataFrame
        ``SNP``, ``L2`` (:func:`read_ldscores`).
    m : float
        SNP count behind the LD scores.

    Returns
    -------
    Phenotype

    Raises
    ------
    ValueError
        When no sumstats SNP is a regression SNP, or no regression SNP keeps a Z after allele
        reconciliation (naming the phenotype and the counts).
    """
    ss = _check_sumstats_frame(sumstats, name)
    ss_p = ss[_isin(ss["SNP"].astype(str), print_ids)]
    if len(ss_p) == 0:
        raise ValueError(f"sumstats {name}: none of its {len(ss)} SNPs is a regression SNP of the panel "
                         "(no SNP in common)")
    ssld = ss_p[["SNP", "Z", "N"]].merge(ld, on="SNP", how="left")
    est = estimate_h2g(ssld["Z"].to_numpy(), ssld["N"].to_numpy(), ssld["L2"].to_numpy(dtype=np.float64), m=m)
    z, n, counts = {}, {}, {"sumstats": len(ss), "regression_snps_in_sumstats": len(ss_p)}
    tot = {}
    for d in chromosomes:
        al = align_to_reference(ss, d.snps, signed=["Z"], unsigned=["N"], what=f"sumstats {name}",
                                ref_what=f"panel chr{d.chrom}", reference_checked=True)
        z[d.chrom] = al.values["Z"].to_numpy()
        n[d.chrom] = al.values["N"].to_numpy()
        c = {k: int(np.sum(al.category[d.print_mask] == k)) for k in
             ("match", "swap", "strand_flip", "strand_flip_swap", "ambiguous", "mismatch", "invalid")}
        c["typed"] = int(np.sum(np.isfinite(z[d.chrom]) & d.print_mask))
        counts[f"chr{d.chrom}"] = c
        for k, val in c.items():
            tot[k] = tot.get(k, 0) + val
    counts["total"] = tot
    if tot["typed"] == 0:
        raise ValueError(f"sumstats {name}: no regression SNP keeps a Z after allele reconciliation "
                         f"({tot['ambiguous']} strand-ambiguous, {tot['mismatch']} with alleles matching nothing, "
                         f"{tot['invalid']} non-SNP dropped)")
    logger.info("phenotype %s: h2g %.4g (sigma2g %.4g), %d typed regression SNPs; dropped %d strand-ambiguous, "
                "%d mismatched alleles", name, est.h2g, est.sigma2g, tot["typed"], tot["ambiguous"], tot["mismatch"])
    return Phenotype(name=name, h2g=est.h2g, sigma2g=est.sigma2g, z=z, n=n, counts=counts)


def read_phenotype_inputs(sumstats, *, ldscores_chr, ldscore_chroms=LDSCORE_CHROMS,
                          m_suffix: str = ".l2.M_5_50") -> tuple[dict, tuple[pd.DataFrame, float]]:
    """The files :func:`prepare_phenotypes` reads, read: they need nothing of the reference panel, so
    :func:`run` reads them while the panel is processed.

    Returns
    -------
    sumstats : dict
        name -> DataFrame (:func:`read_sumstats_inputs`), in the order given.
    ldscores : (DataFrame, float)
        :func:`read_ldscores`.
    """
    return (dict(read_sumstats_inputs(sumstats)),
            read_ldscores(ldscores_chr, chroms=list(ldscore_chroms), m_suffix=m_suffix))


def prepare_phenotypes(sumstats, *, chromosomes: Sequence[ChromosomeData], ldscores_chr=None,
                       print_ids: pd.Index | None = None, ldscore_chroms=LDSCORE_CHROMS,
                       m_suffix: str = ".l2.M_5_50",
                       ldscores: tuple[pd.DataFrame, float] | None = None) -> list[Phenotype]:
    """Every phenotype of a run (sldp's ``preprocesspheno``): LD scores read once, then
    :func:`prepare_phenotype` per sumstats.

    Parameters
    ----------
    sumstats : path, sequence of paths, or mapping name -> path or DataFrame
        :func:`read_sumstats_inputs`.
    chromosomes : sequence of ChromosomeData
    ldscores_chr : str or Path
        :func:`read_ldscores` (not needed when ``ldscores`` is given).
    print_ids : Index of str, optional
        Regression SNP IDs as given by the user (:func:`read_print_snps`); default: the print SNPs of
        ``chromosomes``.
    ldscore_chroms : sequence of str
    m_suffix : str
    ldscores : (DataFrame, float), optional
        :func:`read_ldscores`' result, when read already.

    Returns
    -------
    list of Phenotype
    """
    if print_ids is None:
        print_ids = pd.Index(np.concatenate([d.snps.SNP.to_numpy()[d.print_mask] for d in chromosomes]))
    if ldscores is None:
        if ldscores_chr is None:
            raise ValueError("prepare_phenotypes needs ldscores_chr or ldscores")
        ldscores = read_ldscores(ldscores_chr, chroms=list(ldscore_chroms), m_suffix=m_suffix)
    ld, m_ld = ldscores
    return [prepare_phenotype(ss, name=name, chromosomes=chromosomes, print_ids=print_ids, ld=ld, m=m_ld)
            for name, ss in read_sumstats_inputs(sumstats)]


# -- the regression grid ----------------------------------------------------------------------------

@dataclass(eq=False)
class BlockInput:
    """What the regression needs of one LD block (``m`` regression SNPs).

    ``rv`` (m, K) tested profiles, ``rv_bg`` (m, nb), ``ahat`` and ``n`` (m, P), ``svd``; ``joint_zero``:
    every annotation of the whole run is zero on the block (sldp leaves it out); ``rv is None``: the
    block has no data (other chromosome, no regression SNP).
    """

    rv: np.ndarray | None = None
    rv_bg: np.ndarray | None = None
    ahat: np.ndarray | None = None
    n: np.ndarray | None = None
    svd: LdSvd | None = None
    joint_zero: bool = False


def block_inputs(chromosomes: Sequence[ChromosomeData], phenotypes: Sequence[Phenotype], *, n_blocks: int,
                 n_background: int, weights: str = "Winv_ahat_h") -> list[BlockInput]:
    """The regression's inputs of every LD block of the run, in block-table order.

    Parameters
    ----------
    chromosomes : sequence of ChromosomeData
    phenotypes : sequence of Phenotype
        ``ahat = Z / sqrt(N)`` and ``n`` columns follow them.
    n_blocks : int
        Rows of the run's block table (:func:`sldp_blocks`); blocks of no chromosome stay empty.
    n_background : int
        The first ``n_background`` annotation columns are background (:class:`RunAnnotations`).
    weights : str
        Without an SVD a block has no data, except for ``Winv_ahat_I`` (which needs none).

    Returns
    -------
    list of BlockInput, length n_blocks
    """
    nb = n_background
    binputs = [BlockInput() for _ in range(n_blocks)]
    for d in chromosomes:
        for j, bi in enumerate(d.block_index):
            if d.svds[j] is None and weights != "Winv_ahat_I":
                continue
            rows = d.begin[j] + np.flatnonzero(d.print_mask[d.begin[j]:d.end[j]])
            if len(rows) == 0:
                continue
            rv = d.rv[rows]
            z = np.column_stack([p.z[d.chrom][rows] for p in phenotypes])
            n = np.column_stack([p.n[d.chrom][rows] for p in phenotypes])
            svd = d.svds[j]
            if svd is not None and not svd.factored and (_dense(svd.u) is not svd.u or _dense(svd.s) is not svd.s):
                svd = dataclasses.replace(svd, u=_dense(svd.u), s=_dense(svd.s))
            binputs[bi] = BlockInput(rv=_dense(rv[:, nb:]), rv_bg=_dense(rv[:, :nb]), ahat=z / np.sqrt(n), n=n,
                                     svd=svd, joint_zero=not np.any(rv != 0))
    kept = sum(b.rv is not None and not b.joint_zero for b in binputs)
    n_annot = chromosomes[0].rv.shape[1] - nb if len(chromosomes) else 0
    logger.info("SLDP: %d LD blocks (%d with regression SNPs and a non-zero annotation), %d annotations "
                "(%d background), %d phenotypes", n_blocks, kept, n_annot, nb, len(phenotypes))
    return binputs


def _dense(x: np.ndarray) -> np.ndarray:
    """``x`` in one piece of memory (a strided view copied), as a Dask worker receives it: BLAS rounds a
    strided operand differently, and the grid's numbers must not depend on where a cell runs."""
    return x if x.flags.c_contiguous or x.flags.f_contiguous else np.ascontiguousarray(x)


def _select(blocks: Sequence[BlockInput], kk: Sequence[int], pp: Sequence[int]) -> list[BlockInput]:
    out = []
    for b in blocks:
        if b.rv is None:
            out.append(b)
        else:
            out.append(BlockInput(rv=b.rv[:, kk], rv_bg=b.rv_bg, ahat=b.ahat[:, pp], n=b.n[:, pp], svd=b.svd,
                                  joint_zero=b.joint_zero))
    return out


@dataclass(eq=False)
class GridCell:
    """Results of :func:`fit_grid` (or :func:`run_grid`) for some phenotypes x annotations.

    Attributes
    ----------
    table : DataFrame
        sldp's ``.gwresults`` columns, phenotype-major.
    chunks : dict
        (pheno, annot) -> DataFrame ``first_block last_block numsnps q r`` (:func:`chunk_tables`).
    """

    table: pd.DataFrame
    chunks: dict


def grid_block_products(blocks: Sequence[BlockInput], *, sigma2g, n_background: int, n_annotations: int,
                        weights: str = "Winv_ahat_h") -> list[BlockProducts]:
    """:func:`stats.sldp.regression.block_products` of every block, with the run's decisions about
    which blocks are left out.

    A block without data is left out (``"no regression SNPs"``), and so is a block where every
    annotation of the whole run is zero (``"annotations all zero"``). A block that is zero only for the
    annotations of this cell (a batch of the grid) is kept with products 0, as sldp keeps it.

    Parameters
    ----------
    blocks : sequence of BlockInput
        Every block of the run's block table, in order (:func:`block_inputs`).
    sigma2g : ndarray, float64, shape (P,)
        Unfloored per-SNP heritability of each phenotype.
    n_background, n_annotations : int
        ``nb`` and ``K`` (for the shape of empty blocks).
    weights : str

    Returns
    -------
    list of BlockProducts, one per block
    """
    sig = np.asarray(sigma2g, dtype=np.float64)
    pp, kk, nb = len(sig), n_annotations, n_background
    products = []
    for b in blocks:
        if b.rv is None:
            products.append(BlockProducts.empty(pp, nb, kk, "no regression SNPs"))
            continue
        if b.joint_zero:
            products.append(BlockProducts.empty(pp, nb, kk, "annotations all zero"))
            continue
        bp = block_products(b.rv, b.ahat, n=b.n, sigma2g=sig, rv_background=b.rv_bg, svd=b.svd, weights=weights)
        if bp.reason == "annotations all zero":
            # zero for this batch of annotations but not for the run: sldp keeps the block (products 0)
            bp.m_h = np.isfinite(b.ahat).sum(axis=0).astype(np.int64)
            bp.reason, bp.k = None, (b.svd.k if b.svd is not None else b.rv.shape[0])
        products.append(bp)
    return products


def chunk_tables(fit: SldpFit, *, phenotype_names: Sequence[str], annotation_names: Sequence[str]) -> dict:
    """Per (phenotype, annotation), the chunks of a fit as sldp's ``.chunks`` table.

    Parameters
    ----------
    fit : SldpFit
        From :func:`stats.sldp.regression.fit_sldp` (it keeps its :class:`ChunkStats`).
    phenotype_names, annotation_names : sequence of str, lengths P and K

    Returns
    -------
    dict
        (pheno, annot) -> DataFrame with one row per chunk: ``first_block last_block`` (indices into the
        block sequence), ``numsnps`` (typed regression SNPs), ``q`` and ``r`` (residualized, in sldp's
        1e-6 units).
    """
    chunks: ChunkStats = fit.chunks
    per = {}
    for i, ph in enumerate(phenotype_names):
        c = int(fit.n_chunks[i])
        for k, a in enumerate(annotation_names):
            per[(ph, a)] = pd.DataFrame({"first_block": chunks.first_block[:c, i],
                                         "last_block": chunks.last_block[:c, i],
                                         "numsnps": chunks.numsnps[:c, i], "q": fit.q[:c, i, k],
                                         "r": fit.r[:c, i, k]})
    return per


def fit_grid(blocks: Sequence[BlockInput], *, phenotypes: Sequence[Phenotype], annotation_names: Sequence[str],
             background_names: Sequence[str], sqnorm, supp, m, weights: str = "Winv_ahat_h", jk_blocks: int = 300,
             signflip: bool = True, entropy: int = 0, n_draws: int = N_DRAWS,
             blas_threads: int | None = None) -> GridCell:
    """The SLDP regression of ``P`` phenotypes x ``K`` annotations over all LD blocks (``sldp.main``):
    :func:`grid_block_products`, then chunks, fit, p-values and table
    (:func:`stats.sldp.regression.fit_blocks`), then :func:`chunk_tables`.

    Parameters
    ----------
    blocks : sequence of BlockInput
        Every block of the run's block table, in order; ``ahat``/``n`` columns follow ``phenotypes``,
        ``rv`` columns ``annotation_names``.
    phenotypes : sequence of Phenotype
    annotation_names, background_names : sequence of str
        Profile names as reported (``name.R``).
    sqnorm, supp, m : ndarray, shape (K,)
        Genome-wide ``.info`` numbers of the tested annotations.
    weights : str
    jk_blocks : int
    signflip : bool
    entropy : int
        Seed of the sign flips (same entropy -> same p whatever the batch).
    n_draws : int
    blas_threads : int, optional
        Limit BLAS threads while computing.

    Returns
    -------
    GridCell
        ``table`` (``.gwresults`` columns) and ``chunks``: (pheno, annot) -> DataFrame with
        ``first_block last_block numsnps q r`` per chunk (block indices into the run's block table).
    """
    names = [p.name for p in phenotypes]
    with _blas_limit(blas_threads):
        sig = np.array([p.sigma2g for p in phenotypes])
        products = grid_block_products(blocks, sigma2g=sig, n_background=len(background_names),
                                       n_annotations=len(annotation_names), weights=weights)
        table, fit = fit_blocks(products, h2g=[p.h2g for p in phenotypes], sigma2g=sig, sqnorm=sqnorm, supp=supp,
                                m=m, annotation_names=annotation_names, phenotype_names=names,
                                background_names=background_names, n_chunks=jk_blocks, signflip=signflip,
                                rng=entropy, n_draws=n_draws)
        return GridCell(table=table, chunks=chunk_tables(fit, phenotype_names=names,
                                                         annotation_names=annotation_names))


def _batches(n: int, size: int) -> list[list[int]]:
    size = max(1, int(size))
    return [list(range(i, min(n, i + size))) for i in range(0, n, size)]


#: Cells the annotations of a grid are cut into by default, whatever runs them: each annotation's numbers
#: then come from the same matrix shapes in-process, on any number of Dask workers and on a resume, so the
#: outputs are the same bytes (BLAS rounding depends on the shapes).
GRID_CELLS = 16
#: The fewest annotations in a default cell: each cell fits the background and the per-block products
#: once for its annotations, so a cell per annotation of a small grid repeats that work (10 annotations
#: in 10 cells took 2.8 s, in one cell under 1 s).
MIN_CELL_ANNOTATIONS = 32


def grid_cells(n_annotations: int, n_phenotypes: int, *, annotation_batch: int | None = None,
               phenotype_batch: int | None = None, client=None) -> list[tuple[list[int], list[int]]]:
    """How the annotation x phenotype grid is cut into cells.

    Parameters
    ----------
    n_annotations, n_phenotypes : int
    annotation_batch, phenotype_batch : int, optional
        Cell sizes; default: all phenotypes in a cell and the annotations in :data:`GRID_CELLS` cells of
        at least :data:`MIN_CELL_ANNOTATIONS` (the same cut in-process and on a cluster of any size: the
        same numbers, to the last bit; other sizes agree to float64 rounding).
    client : dask.distributed.Client, optional
        Unused (kept for callers that pass one): the cut does not depend on the cluster.

    Returns
    -------
    list of (annotation indices, phenotype indices)
        Phenotype-major order.
    """
    kk, pp = n_annotations, n_phenotypes
    a_size = annotation_batch or max(MIN_CELL_ANNOTATIONS, math.ceil(kk / GRID_CELLS))
    p_size = phenotype_batch or pp
    return [(ka, pb) for pb in _batches(pp, p_size) for ka in _batches(kk, a_size)]


def save_cell(parts, key: str, cell: GridCell) -> None:
    """Write a finished grid cell into a :class:`genocore.resume.RunParts` folder (Parquet: exact floats),
    then mark it done."""
    from genocore.files import atomic_path

    rows = [df.assign(pheno=p, annot=a) for (p, a), df in cell.chunks.items()]
    for name, df in (("table", cell.table), ("chunks", pd.concat(rows, ignore_index=True) if rows else None)):
        if df is not None:
            with atomic_path(parts.file(f"{key}.{name}.parquet")) as tmp:
                df.to_parquet(tmp, index=False)
    parts.mark_done(key)


def load_cells(parts) -> list[GridCell]:
    """Every finished cell of a parts folder (:func:`save_cell`)."""
    cells = []
    for marker in sorted(parts.folder.glob("cell_*.done")):
        key = marker.name[:-len(".done")]
        table = pd.read_parquet(parts.folder / f"{key}.table.parquet")
        chunks = {}
        path = parts.folder / f"{key}.chunks.parquet"
        if path.exists():
            for (p, a), df in pd.read_parquet(path).groupby(["pheno", "annot"], sort=False):
                chunks[(p, a)] = df.drop(columns=["pheno", "annot"]).reset_index(drop=True)
        cells.append(GridCell(table=table, chunks=chunks))
    return cells


def run_grid(blocks: Sequence[BlockInput], phenotypes: Sequence[Phenotype], annotations: RunAnnotations, *,
             weights: str = "Winv_ahat_h", jk_blocks: int = 300, seed: np.random.Generator | int = 0,
             signflip: bool = True, n_draws: int = N_DRAWS, annotation_batch: int | None = None,
             phenotype_batch: int | None = None, client=None, blas_threads: int | None = None,
             progress=None, parts=None) -> GridCell:
    """:func:`fit_grid` over the cells of the annotation x phenotype grid (:func:`grid_cells`), on
    ``client`` when given, with the results put back in phenotype-major order.

    Parameters
    ----------
    blocks : sequence of BlockInput
        :func:`block_inputs`.
    phenotypes : sequence of Phenotype
    annotations : RunAnnotations
        :func:`merge_annotations`.
    weights, jk_blocks, signflip, n_draws
        As in :func:`fit_grid`.
    seed : int or numpy Generator
        Sign-flip randomness (:func:`stats.sldp.signflip.entropy_of`; the same for every cell).
    annotation_batch, phenotype_batch, client
        :func:`grid_cells`.
    blas_threads : int, optional
    progress : callable, optional
        ``progress(done, total, "regression")`` as each grid cell finishes.
    parts : genocore.resume.RunParts, optional
        Each finished cell is saved there (:data:`GRID_CELLS` of them by default), and the cells a killed run
        finished are read back instead of fitted again.

    Returns
    -------
    GridCell
        The whole grid: ``table`` in ``GWRESULTS_COLUMNS``, one row per (phenotype, annotation).
    """
    entropy = entropy_of(seed)
    prof_names = annotations.profile_names
    info, marg = annotations.info, annotations.tested
    sq, sp = info.loc[marg, "sqnorm"].to_numpy(), info.loc[marg, "supp"].to_numpy()
    mm = info.loc[marg, "M"].to_numpy(dtype=np.float64)
    cells = grid_cells(len(prof_names), len(phenotypes), annotation_batch=annotation_batch,
                       phenotype_batch=phenotype_batch, client=client)
    earlier = load_cells(parts) if parts is not None else []
    finished = {(r.pheno, r.annot) for c in earlier for r in c.table.itertuples()}
    cells = [(ka, pb) for ka, pb in cells
             if not all((phenotypes[i].name, prof_names[j]) in finished for i in pb for j in ka)]
    if earlier:
        logger.info("SLDP grid: %d cell(s) of a killed run read back, %d to fit", len(earlier), len(cells))
    def save(i, cell):
        if parts is not None:  # named by what it holds: the same name whatever order cells finish in
            ka, pb = cells[i]
            save_cell(parts, f"cell_a{ka[0]:06d}x{len(ka)}_p{pb[0]:04d}x{len(pb)}", cell)
    common = dict(background_names=annotations.background_profile_names, weights=weights, jk_blocks=jk_blocks,
                  signflip=signflip, entropy=entropy, n_draws=n_draws, blas_threads=blas_threads)

    def args(ka, pb):
        return dict(blocks=_select(blocks, ka, pb), phenotypes=[phenotypes[i] for i in pb],
                    annotation_names=[prof_names[i] for i in ka], sqnorm=sq[ka], supp=sp[ka], m=mm[ka], **common)

    if client is not None and len(cells) > 1:
        results = _gathered(client, [client.submit(fit_grid, pure=False, **args(ka, pb)) for ka, pb in cells],
                            progress, "regression", on_result=save)
    else:
        results = []
        for ka, pb in cells:
            results.append(fit_grid(**args(ka, pb)))
            save(len(results) - 1, results[-1])
            if progress is not None:
                progress(len(results), len(cells), "regression")
    results = earlier + results
    table = pd.concat([r.table for r in results], ignore_index=True).drop_duplicates(["pheno", "annot"])
    order = {(p.name, a): i for i, (p, a) in enumerate((p, a) for p in phenotypes for a in prof_names)}
    table = table.iloc[np.argsort([order[(r.pheno, r.annot)] for r in table.itertuples()], kind="stable")]
    found = {}
    for r in results:
        found.update(r.chunks)
    table = table.reset_index(drop=True)[list(GWRESULTS_COLUMNS)]
    # in the table's order, however the cells were cut, run or read back
    chunks = {(p, a): found[(p, a)] for p, a in zip(table["pheno"], table["annot"]) if (p, a) in found}
    return GridCell(table=table, chunks=chunks)


# -- everything ----------------------------------------------------------------------------------------

@dataclass(eq=False)
class SldpResult:
    """Result of :func:`run`.

    Attributes
    ----------
    table : DataFrame
        sldp's ``.gwresults`` columns, one row per (phenotype, annotation), phenotype-major.
    chunks : dict
        (pheno, annot) -> DataFrame ``first_block last_block numsnps q r`` (q, r in sldp's 1e-6 units).
    phenotypes : dict
        name -> :class:`Phenotype` (h2g, sigma2g, exclusion counts).
    info : DataFrame
        Genome-wide ``.info`` numbers of every annotation (summed over the analysed chromosomes).
    blocks : DataFrame
        The run's LD-block table (MHC dropped); chunk block indices refer to its rows.
    chromosomes : dict
        chrom -> :class:`ChromosomeData`.
    """

    table: pd.DataFrame
    chunks: dict
    phenotypes: dict
    info: pd.DataFrame
    blocks: pd.DataFrame
    chromosomes: dict


#: The options a run's numbers depend on (what a resume must find unchanged, besides the input files).
RESULT_OPTIONS = ("build", "alpha", "background_alpha", "weights", "spectrum_percent", "jk_blocks", "seed", "signflip",
                  "n_draws", "chroms", "ldscore_chroms", "m_suffix")


def resume_settings(o: SldpOptions, panel) -> dict:
    """What the saved grid cells of a run depend on: every input file by SHA-256 and :data:`RESULT_OPTIONS`."""
    from genocore.resume import stamp_inputs
    from stats.io.plink import bfile_paths

    if isinstance(o.seed, np.random.Generator):
        raise ValueError("a resumable SLDP run needs an integer seed (a Generator's state is not recorded)")
    sumstats = o.sumstats
    names = None
    if isinstance(o.sumstats, Mapping):  # phenotype names matter, not only the files
        names, sumstats = list(o.sumstats), list(o.sumstats.values())
    prints = o.print_snps
    inputs = {"panel": [f for prefix in dict.fromkeys(panel.filesets().values()) for f in bfile_paths(prefix)],
              "ld_blocks": o.ld_blocks, "sumstats": sumstats, "sannot": _as_list(o.sannot_chr),
              "background": _as_list(o.background_sannot_chr), "ldscores": str(o.ldscores_chr),
              "print_snps": prints if isinstance(prints, (str, Path)) else None}
    settings = stamp_inputs(inputs)
    if prints is not None and not isinstance(prints, (str, Path)):
        settings["print_snps (ids)"] = sorted(map(str, prints))
    settings.update({k: getattr(o, k) for k in RESULT_OPTIONS})
    settings["phenotype names"] = names
    return settings


def _started(fn, *, background: bool):
    """``fn``'s result when the returned callable is called: computed from now on in a thread of its own
    (``background``; an error is raised at the call), or then, in the calling thread."""
    if not background:
        return fn
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(fn)
    pool.shutdown(wait=False)
    return future.result


def run(options: SldpOptions | None = None, /, **fields) -> SldpResult:
    """SLDP from the reference panel, LD blocks, annotations, LD scores and sumstats (sldp 1.1.5's
    ``preprocessrefpanel``, ``preprocessannot``, ``preprocesspheno`` and ``sldp`` in one call).

    A composition of this module's public stages: :func:`annotation_files`, :func:`sldp_blocks`,
    :func:`panel_files`, :func:`read_print_snps`, :func:`preprocess_panel`, :func:`merge_annotations`,
    :func:`read_phenotype_inputs` (in a thread of its own while the panel is processed, when there are
    threads to spare), :func:`prepare_phenotypes`, :func:`block_inputs` and :func:`run_grid`.

    Parameters
    ----------
    options : SldpOptions, optional
        The run's options; fields also passed as keywords replace its values.
    **fields
        Fields of :class:`SldpOptions` (see there for each and its default); ``bfile_chr``, ``ld_blocks``,
        ``sumstats``, ``sannot_chr`` and ``ldscores_chr`` are required without ``options``.

    Returns
    -------
    SldpResult

    Raises
    ------
    ValueError, FileNotFoundError
        For bad input, naming the file or record (see the module docstring for what is excluded and
        logged instead).
    TypeError
        For an unknown or missing option.
    """
    o = SldpOptions(**fields) if options is None else dataclasses.replace(options, **fields)
    annotations, n_background_files = annotation_files(o.sannot_chr, background=o.background_sannot_chr,
                                                       alpha=o.alpha, background_alpha=o.background_alpha)
    blocks = sldp_blocks(o.ld_blocks, build=o.build)
    panel = as_panel(o.bfile_chr)  # opened once: every stage below shares its parsed .bim/.fam files
    parts = None
    if o.parts_dir is not None:  # checked first: a resume with other inputs stops before any work
        from genocore.resume import RunParts

        parts = RunParts(o.parts_dir, resume_settings(o, panel), resume=o.resume)
    # the phenotypes' files need nothing of the panel: with threads to spare, read while the panel is
    phenotype_inputs = _started(functools.partial(read_phenotype_inputs, o.sumstats, ldscores_chr=o.ldscores_chr,
                                                  ldscore_chroms=o.ldscore_chroms, m_suffix=o.m_suffix),
                                background=o.block_threads > 1 and o.client is None)
    files = panel_files(panel, blocks, chroms=o.chroms, build=o.build, block_lengths=o.block_lengths)
    print_ids = read_print_snps(o.print_snps)
    # 1. reference panel, per chromosome
    chromosomes = preprocess_panel(panel, blocks, chroms=list(files), annotations=annotations,
                                   print_snps=print_ids, spectrum_percent=o.spectrum_percent, rv_out=o.rv_out,
                                   weights=o.weights, blas_threads=o.blas_threads, block_threads=o.block_threads,
                                   client=o.client,
                                   progress=o.progress)
    annots = merge_annotations(chromosomes, n_background_files=n_background_files)
    # 2. phenotypes
    sumstats, ldscores = phenotype_inputs()
    phenotypes = prepare_phenotypes(sumstats, chromosomes=chromosomes, ldscores=ldscores, print_ids=print_ids)
    # 3. regression
    inputs = block_inputs(chromosomes, phenotypes, n_blocks=len(blocks), n_background=len(annots.background),
                          weights=o.weights)
    grid = run_grid(inputs, phenotypes, annots, weights=o.weights, jk_blocks=o.jk_blocks, seed=o.seed,
                    signflip=o.signflip, n_draws=o.n_draws, annotation_batch=o.annotation_batch,
                    phenotype_batch=o.phenotype_batch, client=o.client, blas_threads=o.blas_threads,
                    progress=o.progress, parts=parts)
    return SldpResult(table=grid.table, chunks=grid.chunks, phenotypes={p.name: p for p in phenotypes},
                      info=annots.info, blocks=blocks, chromosomes={d.chrom: d for d in chromosomes})
