"""SLDP end to end: reference panel, signed LD profiles, phenotypes, regression (as sldp 1.1.5 runs it).

The array-level steps live in :mod:`stats.ld.signed_profile` (profiles, ``.info``), :mod:`stats.sldp.regression` (SVD,
h2g, weights, block products, chunks, fit, table) and :mod:`stats.sldp.signflip`; allele reconciliation
in :mod:`stats.alleles`; readers in :mod:`stats.io`. This module reads the inputs and runs those
steps in sldp's order:

1. **Reference panel, per chromosome** (:func:`preprocess_chromosome`; sldp's ``preprocessrefpanel``
   and ``preprocessannot`` in one pass over the genotypes): per LD block, the truncated SVD of the
   block's regression ("print") SNPs and the signed LD profiles ``RV`` of every annotation at once
   (background and tested), after reconciling each ``.sannot`` to the panel's alleles and scaling by
   MAF (``alpha``); the ``.info`` numbers over all panel SNPs of the chromosome. Written in sldp's
   ``.RV.gz`` / ``.info`` layout when asked (``rv_out``).
2. **Phenotypes** (:func:`prepare_phenotype`; ``preprocesspheno``): h2g by the aggregate estimator
   from ``.l2.ldscore.gz`` and the sum of ``.l2.M_5_50`` over chromosomes 1..22 (those present);
   ``Z`` and ``N`` reconciled to the panel's alleles.
3. **Regression** (:func:`fit_grid`; ``sldp.main``): block products, chunks in LD-block-table order,
   background residualization, jackknife SE, fast and sign-flip p-values, ``rf``, ``h2v/h2g``, ``h2v``,
   ``supp(v)/M``, for every annotation x phenotype.

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
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from stats.alleles import align_to_reference
from stats.io.annot import annotation_columns, read_annot
from stats.io.ldblocks import (canonical_build, check_blocks_build, chrom_path, chrom_sort_key, find_chrom_file,
                               mhc_region, normalize_chrom, read_ldblocks)
from stats.io.plink import open_bed, read_bim, read_fam
from stats.io.sumstats import read_sumstats
from stats.io.panel import panel_filesets
from stats.ld.signed_profile import (annotation_info, rv_frame, scale_by_maf, signed_ld_profile, sldp_block_ranges,
                             standardize_genotypes, sum_info)
from stats.sldp.signflip import N_DRAWS, entropy_of, signflip_test
from stats.sldp.regression import (BlockProducts, LdSvd, block_products, estimate_h2g, fit_sldp, ld2_svd, ld_svd, sldp_table,
                        sum_chunks)

logger = logging.getLogger(__name__)

#: Weight modes sldp 1.1.5 can run (``preprocesspheno`` writes only these two to ``.pss.gz``).
PIPELINE_WEIGHTS = ("Winv_ahat_h", "Winv_ahat_I", "Winv_ahat_hlN", "Winv_ahat_h2")
#: Columns of sldp's ``.gwresults``.
GWRESULTS_COLUMNS = ("pheno", "annot", "z", "p", "z_fast", "p_fast", "mu", "se(mu)", "h2g", "rf", "h2v/h2g",
                     "h2v", "supp(v)/M")
#: Default regression SNPs when no list is given: panel SNPs with at least this MAF.
DEFAULT_PRINT_MAF = 0.05
#: Chromosomes whose LD scores sldp reads for h2g, whatever is analysed.
LDSCORE_CHROMS = tuple(str(c) for c in range(1, 23))


def _blas_limit(blas_threads: int | None):
    """Limit BLAS/LAPACK threads inside a ``with`` (many small SVDs and products run far faster on one
    thread on a busy machine); a no-op for None."""
    if blas_threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=int(blas_threads))


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


#: bed-reader's int8 code of a missing genotype.
_MISSING_INT8 = -127


def _read_dosage(bed, cols) -> np.ndarray:
    """Allele counts of SNP columns ``cols`` as float64 (NaN where missing); read as int8 (half the
    decoding work of bed-reader's float64 read), exactly the same values."""
    g = bed.read(index=np.s_[:, cols], dtype="int8")
    x = g.astype(np.float64)
    miss = g == _MISSING_INT8
    if miss.any():
        x[miss] = np.nan
    return x


def _panel_maf(bed, cols: np.ndarray, batch: int = 8192) -> np.ndarray:
    out = np.zeros(len(cols))
    for lo in range(0, len(cols), batch):
        g = bed.read(index=np.s_[:, cols[lo:lo + batch]], dtype="int8")
        miss = g == _MISSING_INT8
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


def _reconcile_annotations(snps: pd.DataFrame, files: Sequence[tuple[str, float]], chrom: str,
                           maf: np.ndarray, counts: dict) -> tuple[np.ndarray, list[str]]:
    values, names = [], []
    for template, alpha in files:
        path = find_chrom_file(template, chrom, ".sannot.gz")
        df = read_annot(path, signed=True)
        cols = annotation_columns(df, signed=True)
        try:
            al = align_to_reference(df, snps, signed=cols, what=str(path), ref_what=f"panel chr{chrom}")
        except (KeyError, ValueError) as e:
            raise ValueError(f"{path}: {e.args[0] if e.args else e}") from None
        counts[f"annotation {path}"] = al.counts
        v = al.values[cols].to_numpy(dtype=np.float64)
        v = np.where(np.isnan(v), 0.0, v)  # sldp: missing or unmatched -> 0
        values.append(scale_by_maf(v, maf, alpha=alpha))
        names.extend(cols)
        counts.setdefault("names_per_file", []).append(len(cols))
    return np.hstack(values), names


def preprocess_chromosome(prefix, chrom, blocks: pd.DataFrame, *, annotations: Sequence[tuple[str, float]],
                          print_snps: Sequence[str] | None = None, spectrum_percent: float = 95.0,
                          print_maf: float = DEFAULT_PRINT_MAF, rv_out=None,
                          blas_threads: int | None = None, weights: str = "Winv_ahat_h") -> ChromosomeData:
    """Reference-panel preprocessing of one chromosome (sldp's ``preprocessrefpanel`` + ``preprocessannot``).

    Parameters
    ----------
    prefix : str or Path
        PLINK fileset holding the chromosome (other chromosomes in it are ignored).
    chrom : str
    blocks : DataFrame
        The run's block table (:func:`sldp_blocks`); its rows on ``chrom`` are used.
    annotations : sequence of (template, alpha)
        Per-chromosome ``.sannot.gz`` sets (``{chrom}`` template or ldsc-style prefix) and the MAF
        scaling exponent of each (-1: none).
    print_snps : collection of str, optional
        Regression SNP IDs; default: panel SNPs with MAF >= ``print_maf``.
    spectrum_percent : float
        sldp's ``--spectrum-percent``.
    print_maf : float
    rv_out : str or Path, optional
        When given, write ``{rv_out}{chrom}.RV.gz`` and ``{rv_out}{chrom}.info`` (sldp's layout, all
        annotations in one table).
    weights : str
        The weights the eigen-decomposition is for: that of ``R_o`` (``Winv_ahat_h``, ``_hlN``), of
        ``(R^2)_o`` (``Winv_ahat_h2``; sldp's ``.R2.npz``), or none needed (``Winv_ahat_I``).
    blas_threads : int, optional
        Limit BLAS threads while computing (None: leave them).

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
        return _preprocess_chromosome(prefix, chrom, blocks, annotations=annotations, print_snps=print_snps,
                                      spectrum_percent=spectrum_percent, print_maf=print_maf, rv_out=rv_out,
                                      weights=weights)


def _preprocess_chromosome(prefix, chrom, blocks, *, annotations, print_snps, spectrum_percent, print_maf,
                           rv_out, weights) -> ChromosomeData:
    chrom = normalize_chrom(chrom)
    bim = read_bim(prefix)
    n_ind = len(read_fam(prefix))
    rows = np.flatnonzero(normalize_chrom(bim["chrom"]).to_numpy() == chrom)
    if len(rows) == 0:
        raise ValueError(f"PLINK fileset {prefix} has no SNPs on chromosome {chrom}")
    sub = bim.iloc[rows]
    snps = pd.DataFrame({"SNP": sub["snp"].to_numpy(), "A1": sub["a1"].str.upper().to_numpy(),
                         "A2": sub["a2"].str.upper().to_numpy(), "BP": sub["pos"].to_numpy()})
    bp = snps["BP"].to_numpy()
    if np.any(np.diff(bp) < 0):
        i = int(np.flatnonzero(np.diff(bp) < 0)[0])
        raise ValueError(f"{prefix}.bim: positions on chromosome {chrom} are not sorted (SNP {snps.SNP.iat[i + 1]} "
                         f"at {bp[i + 1]} after {bp[i]})")
    counts: dict = {"panel_snps": len(snps)}
    with open_bed(prefix, n_individuals=n_ind, n_snps=len(bim)) as bed:
        maf = _panel_maf(bed, rows)
        if print_snps is None:
            print_mask = maf >= print_maf
        else:
            print_mask = snps["SNP"].isin(print_snps).to_numpy()
        counts["print_snps"] = int(print_mask.sum())
        v, names = _reconcile_annotations(snps, annotations, chrom, maf, counts)
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"annotation names repeated across .sannot files: {dup}")
        sel = np.flatnonzero((blocks["chrom"] == chrom).to_numpy())
        begin, end = sldp_block_ranges(bp, blocks["start"].to_numpy()[sel], blocks["end"].to_numpy()[sel])
        rv = np.zeros_like(v)
        svds: list[LdSvd | None] = []
        n_no_print = n_zero = 0
        for b0, b1 in zip(begin, end):
            pm = print_mask[b0:b1]
            if not pm.any():
                svds.append(None)
                n_no_print += 1
                continue
            x = standardize_genotypes(_read_dosage(bed, rows[b0:b1]))
            svds.append(ld2_svd(x[:, pm], x, spectrum_percent=spectrum_percent) if weights == "Winv_ahat_h2"
                        else ld_svd(x[:, pm], spectrum_percent=spectrum_percent))
            if np.any(v[b0:b1] != 0):
                rv[b0 + np.flatnonzero(pm)] = signed_ld_profile(x, v[b0:b1], rows=pm)
            else:
                n_zero += 1
    inside = np.zeros(len(snps), bool)
    for b0, b1 in zip(begin, end):
        inside[b0:b1] = True
    counts.update(blocks=len(sel), blocks_without_print_snps=n_no_print, blocks_all_zero=n_zero,
                  snps_outside_blocks=int((~inside).sum()))
    logger.info("chr%s: %d panel SNPs (%d regression SNPs, %d outside the %d LD blocks); %d blocks without "
                "regression SNPs, %d with all annotations zero; %d annotations", chrom, len(snps),
                counts["print_snps"], counts["snps_outside_blocks"], len(sel), n_no_print, n_zero, len(names))
    info = annotation_info(v, maf, names=names)
    out = ChromosomeData(chrom=chrom, snps=snps, maf=maf, print_mask=print_mask, block_index=sel,
                         begin=begin, end=end, svds=svds, names=names, v=v, rv=rv, info=info, counts=counts)
    if rv_out is not None:
        write_rv(out, rv_out)
    return out


def write_rv(data: ChromosomeData, stem) -> tuple[Path, Path]:
    """Write sldp's ``{stem}{chrom}.RV.gz`` (print SNPs: ``SNP A1 A2 names... names.R...``) and
    ``{stem}{chrom}.info`` (``name M M_5_50 sqnorm sqnorm_5_50 supp supp_5_50``), atomically."""
    from genocore.files import write_table

    rv_path = chrom_path(stem, data.chrom, ".RV.gz")
    info_path = chrom_path(stem, data.chrom, ".info")
    rv_path.parent.mkdir(parents=True, exist_ok=True)
    write_table(rv_path, rv_frame(data.snps.SNP, data.snps.A1, data.snps.A2, data.v, data.rv, names=data.names,
                                  print_mask=data.print_mask))
    write_table(info_path, data.info.reset_index())
    return rv_path, info_path


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
    ss_p = ss[ss["SNP"].astype(str).isin(print_ids)]
    if len(ss_p) == 0:
        raise ValueError(f"sumstats {name}: none of its {len(ss)} SNPs is a regression SNP of the panel "
                         "(no SNP in common)")
    ssld = ss_p[["SNP", "Z", "N"]].merge(ld, on="SNP", how="left")
    est = estimate_h2g(ssld["Z"].to_numpy(), ssld["N"].to_numpy(), ssld["L2"].to_numpy(dtype=np.float64), m=m)
    z, n, counts = {}, {}, {"sumstats": len(ss), "regression_snps_in_sumstats": len(ss_p)}
    tot = {}
    for d in chromosomes:
        al = align_to_reference(ss, d.snps, signed=["Z"], unsigned=["N"], what=f"sumstats {name}",
                                ref_what=f"panel chr{d.chrom}")
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
    """Results of :func:`fit_grid` for some phenotypes x annotations."""

    table: pd.DataFrame
    chunks: dict


def fit_grid(blocks: Sequence[BlockInput], *, phenotypes: Sequence[Phenotype], annotation_names: Sequence[str],
             background_names: Sequence[str], sqnorm, supp, m, weights: str = "Winv_ahat_h", jk_blocks: int = 300,
             signflip: bool = True, entropy: int = 0, n_draws: int = N_DRAWS,
             blas_threads: int | None = None) -> GridCell:
    """The SLDP regression of ``P`` phenotypes x ``K`` annotations over all LD blocks (``sldp.main``).

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
    with _blas_limit(blas_threads):
        return _fit_grid(blocks, phenotypes=phenotypes, annotation_names=annotation_names,
                         background_names=background_names, sqnorm=sqnorm, supp=supp, m=m, weights=weights,
                         jk_blocks=jk_blocks, signflip=signflip, entropy=entropy, n_draws=n_draws)


def _fit_grid(blocks, *, phenotypes, annotation_names, background_names, sqnorm, supp, m, weights, jk_blocks,
              signflip, entropy, n_draws) -> GridCell:
    pp, kk, nb = len(phenotypes), len(annotation_names), len(background_names)
    sig = np.array([p.sigma2g for p in phenotypes])
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
    chunks = sum_chunks(products, n_chunks=jk_blocks)
    fit = fit_sldp(chunks, background_names=background_names, annotation_names=annotation_names)
    p = z = None
    if signflip:
        res = signflip_test(fit.q, rng=entropy, n_draws=n_draws)
        p, z = res.p, res.z
    table = sldp_table(fit, h2g=[x.h2g for x in phenotypes], sigma2g=sig, sqnorm=sqnorm, supp=supp, m=m,
                       annotation_names=annotation_names, phenotype_names=[x.name for x in phenotypes], p=p, z=z)
    per = {}
    for i, ph in enumerate(phenotypes):
        c = int(fit.n_chunks[i])
        for k, a in enumerate(annotation_names):
            per[(ph.name, a)] = pd.DataFrame({"first_block": chunks.first_block[:c, i],
                                              "last_block": chunks.last_block[:c, i],
                                              "numsnps": chunks.numsnps[:c, i], "q": fit.q[:c, i, k],
                                              "r": fit.r[:c, i, k]})
    return GridCell(table=table, chunks=per)


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


def _sumstats_inputs(sumstats) -> list[tuple[str, pd.DataFrame]]:
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


def _read_print_snps(path) -> pd.Index:
    ids = pd.read_csv(path, header=None, sep=r"\s+", usecols=[0], dtype=str)[0]
    if len(ids) == 0:
        raise ValueError(f"{path}: no SNP IDs")
    return pd.Index(pd.unique(ids))


def _batches(n: int, size: int) -> list[list[int]]:
    size = max(1, int(size))
    return [list(range(i, min(n, i + size))) for i in range(0, n, size)]


def run(*, bfile_chr, ld_blocks, sumstats, sannot_chr, ldscores_chr, background_sannot_chr=(),
                 print_snps=None, build: str = "hg19", alpha=-1.0, background_alpha=-1.0,
                 weights: str = "Winv_ahat_h", spectrum_percent: float = 95.0, jk_blocks: int = 300,
                 seed: np.random.Generator | int = 0, signflip: bool = True, n_draws: int = N_DRAWS,
                 chroms=None, ldscore_chroms=LDSCORE_CHROMS, m_suffix: str = ".l2.M_5_50",
                 rv_out=None, block_lengths: dict | None = None, client=None,
                 annotation_batch: int | None = None, phenotype_batch: int | None = None,
                 blas_threads: int | None = None) -> SldpResult:
    """SLDP from the reference panel, LD blocks, annotations, LD scores and sumstats (sldp 1.1.5's
    ``preprocessrefpanel``, ``preprocessannot``, ``preprocesspheno`` and ``sldp`` in one call).

    Parameters
    ----------
    bfile_chr : str or Path
        Reference panel: per-chromosome PLINK prefix / ``{chrom}`` template (``panel.`` ->
        ``panel.22.bed``), or one fileset with several chromosomes.
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
    weights : {"Winv_ahat_h", "Winv_ahat_I", "Winv_ahat_hlN", "Winv_ahat_h2"}
        sldp's weight modes (:func:`stats.sldp.regression.weight_diagonal`); sldp 1.1.5's own pipeline can run only
        the first two (its ``.pss`` files hold no others).
    spectrum_percent : float
    jk_blocks : int
        Target number of chunks (sldp's ``--jk-blocks``).
    seed : int or numpy Generator
        Sign-flip randomness (a Generator gives one draw of entropy).
    signflip : bool
        Compute the sign-flip ``p``, ``z`` (else NaN).
    n_draws : int
        Most sign flips per test (sldp's ``--T``).
    chroms : sequence, optional
        Chromosomes to analyse (default: every chromosome of the panel that the blocks cover).
    ldscore_chroms : sequence of str
        Chromosomes whose LD scores enter h2g (sldp: 1..22).
    m_suffix : str
        ``.l2.M_5_50`` or ``.l2.M``.
    rv_out : str or Path, optional
        Write ``{rv_out}{chrom}.RV.gz`` and ``.info``.
    block_lengths : dict, optional
        Chromosome lengths for the build check (simulated builds).
    client : dask.distributed.Client, optional
        Runs per-chromosome preprocessing and the annotation x phenotype grid as tasks on it; the
        results are identical to in-process.
    annotation_batch, phenotype_batch : int, optional
        Grid cell sizes (default: everything in one cell in-process; about one cell per worker
        with a client).
    blas_threads : int, optional
        Limit BLAS threads in the numerical steps (1 is usually fastest: the matrices are small).

    Returns
    -------
    SldpResult

    Raises
    ------
    ValueError, FileNotFoundError
        For bad input, naming the file or record (see the module docstring for what is excluded and
        logged instead).
    """
    if weights not in PIPELINE_WEIGHTS:
        raise ValueError(f"weights must be one of {PIPELINE_WEIGHTS}, got {weights!r}")
    marg_sets, bg_sets = _as_list(sannot_chr), _as_list(background_sannot_chr)
    if not marg_sets:
        raise ValueError("no annotations to test (sannot_chr)")
    ann_files = list(zip(bg_sets, _alphas(background_alpha, len(bg_sets), "background_alpha"))) + \
        list(zip(marg_sets, _alphas(alpha, len(marg_sets), "alpha")))
    blocks = sldp_blocks(ld_blocks, build=build)
    files = panel_filesets(bfile_chr, chroms=chroms)
    if chroms is None:
        files = {c: p for c, p in files.items() if c in set(blocks["chrom"])}
        if not files:
            raise ValueError(f"the LD blocks {ld_blocks} cover none of the panel's chromosomes")
    check_blocks_build(blocks, build=build, lengths=block_lengths)
    for c, prefix in files.items():
        bim = read_bim(prefix)
        on_c = normalize_chrom(bim["chrom"]).to_numpy() == c
        check_blocks_build(blocks[blocks["chrom"] == c], build=build, lengths=block_lengths,
                           chrom=bim["chrom"].to_numpy()[on_c], pos=bim["pos"].to_numpy()[on_c],
                           what=f"panel {prefix}")
    print_ids = None
    if print_snps is not None:
        print_ids = _read_print_snps(print_snps) if isinstance(print_snps, (str, Path)) else \
            pd.Index(pd.unique(pd.Series(list(print_snps), dtype=str)))
    # 1. reference panel, per chromosome
    kw = dict(annotations=ann_files, print_snps=print_ids, spectrum_percent=spectrum_percent, rv_out=rv_out,
              blas_threads=blas_threads, weights=weights)
    if client is not None:
        futs = [client.submit(preprocess_chromosome, str(p), c, blocks, pure=False, **kw) for c, p in files.items()]
        chrom_data = client.gather(futs)
    else:
        chrom_data = [preprocess_chromosome(p, c, blocks, **kw) for c, p in files.items()]
    chrom_data = sorted(chrom_data, key=lambda d: chrom_sort_key(d.chrom))
    names = chrom_data[0].names
    nb = sum(chrom_data[0].counts["names_per_file"][:len(bg_sets)])
    bg_names, marg_names = names[:nb], names[nb:]
    for d in chrom_data[1:]:
        if d.names != names:
            raise ValueError(f"chr{d.chrom}: annotation columns {d.names} differ from chr{chrom_data[0].chrom}'s {names}")
    info = sum_info([d.info for d in chrom_data])
    for nm in names:
        if info.at[nm, "supp"] == 0:
            logger.warning("annotation %s is zero on every panel SNP after allele reconciliation; its results "
                           "will be NaN", nm)
    if print_ids is None:
        print_ids = pd.Index(np.concatenate([d.snps.SNP.to_numpy()[d.print_mask] for d in chrom_data]))
    # 2. phenotypes
    ld, m_ld = read_ldscores(ldscores_chr, chroms=list(ldscore_chroms), m_suffix=m_suffix)
    phenos = [prepare_phenotype(ss, name=name, chromosomes=chrom_data, print_ids=print_ids, ld=ld, m=m_ld)
              for name, ss in _sumstats_inputs(sumstats)]
    # 3. block inputs in block-table order
    binputs = [BlockInput() for _ in range(len(blocks))]
    for d in chrom_data:
        for j, bi in enumerate(d.block_index):
            if d.svds[j] is None and weights != "Winv_ahat_I":
                continue
            rows = d.begin[j] + np.flatnonzero(d.print_mask[d.begin[j]:d.end[j]])
            if len(rows) == 0:
                continue
            rv = d.rv[rows]
            z = np.column_stack([p.z[d.chrom][rows] for p in phenos])
            n = np.column_stack([p.n[d.chrom][rows] for p in phenos])
            binputs[bi] = BlockInput(rv=rv[:, nb:], rv_bg=rv[:, :nb], ahat=z / np.sqrt(n), n=n, svd=d.svds[j],
                                     joint_zero=not np.any(rv != 0))
    kept = sum(b.rv is not None and not b.joint_zero for b in binputs)
    logger.info("SLDP: %d LD blocks (%d with regression SNPs and a non-zero annotation), %d annotations "
                "(%d background), %d phenotypes", len(blocks), kept, len(marg_names), nb, len(phenos))
    entropy = entropy_of(seed)
    prof_names = [n + ".R" for n in marg_names]
    sq = info.loc[marg_names, "sqnorm"].to_numpy()
    sp = info.loc[marg_names, "supp"].to_numpy()
    mm = info.loc[marg_names, "M"].to_numpy(dtype=np.float64)
    kk, pp = len(marg_names), len(phenos)
    n_workers = 1
    if client is not None:
        try:
            n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        except Exception:  # pragma: no cover - any client without scheduler_info
            n_workers = 1
    a_size = annotation_batch or (kk if client is None else math.ceil(kk / max(1, min(kk, n_workers))))
    p_size = phenotype_batch or pp
    cells = [(ka, pb) for pb in _batches(pp, p_size) for ka in _batches(kk, a_size)]
    common = dict(background_names=[n + ".R" for n in bg_names], weights=weights, jk_blocks=jk_blocks,
                  signflip=signflip, entropy=entropy, n_draws=n_draws, blas_threads=blas_threads)

    def args(ka, pb):
        return dict(blocks=_select(binputs, ka, pb), phenotypes=[phenos[i] for i in pb],
                    annotation_names=[prof_names[i] for i in ka], sqnorm=sq[ka], supp=sp[ka], m=mm[ka], **common)

    if client is not None and len(cells) > 1:
        results = client.gather([client.submit(fit_grid, pure=False, **args(ka, pb)) for ka, pb in cells])
    else:
        results = [fit_grid(**args(ka, pb)) for ka, pb in cells]
    table = pd.concat([r.table for r in results], ignore_index=True)
    order = {(p.name, a): i for i, (p, a) in enumerate((p, a) for p in phenos for a in prof_names)}
    table = table.iloc[np.argsort([order[(r.pheno, r.annot)] for r in table.itertuples()], kind="stable")]
    table = table.reset_index(drop=True)[list(GWRESULTS_COLUMNS)]
    chunks = {}
    for r in results:
        chunks.update(r.chunks)
    return SldpResult(table=table, chunks=chunks, phenotypes={p.name: p for p in phenos}, info=info,
                      blocks=blocks, chromosomes={d.chrom: d for d in chrom_data})
