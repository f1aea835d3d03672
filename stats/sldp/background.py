"""Background annotations of an SLDP run: MAF bins, gene regions and principal components of scores.

SLDP (Reshef et al. 2018) tests a signed annotation while controlling for signed background
annotations (sldp's ``--background-sannot-chr``): directional effects that any allele of a given kind
might have. Three families are built here, each as a signed annotation table on the reference panel's
SNPs (``CHR SNP A1 A2`` and one column per annotation, oriented to the panel's A1), ready for
:func:`stats.io.annot.write_annot_chroms` (``signed=True``) and :func:`stats.sldp.run`:

* :func:`maf_bin_annotation`: minor-allele indicators in MAF bins. The value of a SNP in bin ``k`` is
  +1 when its A1 is the minor allele and -1 when A1 is the major allele (0 outside the bin and for
  monomorphic SNPs), so the column carries "the minor allele of a SNP of this frequency" - the signed
  MAF background of the SLDP paper.
* :func:`region_annotation`: the same minor-allele coding inside gene regions of a GTF (coding,
  UTR, other exonic, intronic; one category per SNP, in that priority), which absorbs directional
  effects of minor alleles in genes.
* :func:`score_principal_components` / :func:`pc_annotation`: the leading principal components of
  another variant-score matrix (e.g. the SAD of a second species' model: the Basenji2 analysis of one
  species' predictions given the other's), as signed (alt-vs-ref) annotations.

Columns that are zero on every panel SNP are left out (and logged): they carry no profile.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from genocore.genome import normalize_chrom

logger = logging.getLogger(__name__)

#: GTF features of each region category, in priority order (a SNP takes the first that holds it).
REGION_FEATURES = {"coding": ("CDS", "start_codon", "stop_codon"),
                   "UTR": ("UTR", "five_prime_utr", "three_prime_utr", "5UTR", "3UTR"),
                   "exon": ("exon",),
                   "intron": ("transcript",)}


def allele_frequencies(panel, *, chroms=None, batch: int = 8192) -> np.ndarray:
    """Frequency of each panel SNP's A1 allele (the allele the genotypes count).

    Parameters
    ----------
    panel : ReferencePanel or what it opens
    chroms : sequence of str, optional
        Chromosomes (default all), as :meth:`stats.io.panel.ReferencePanel.allele_table`.
    batch : int
        SNP columns read at a time.

    Returns
    -------
    ndarray, float64, shape (n_snps,)
        A1 count over twice the non-missing individuals (NaN where all are missing), in the order of
        ``panel.allele_table(chroms=chroms)``.
    """
    from stats.io.panel import as_panel

    panel = as_panel(panel)
    out = []
    for c in panel.filesets(chroms=chroms):
        rows = panel.chrom_rows(c)
        freq = np.empty(len(rows))
        for a in range(0, len(rows), batch):
            g = panel.genotypes(c, rows[a:a + batch], dtype="int8").astype(np.float64)
            g[g < 0] = np.nan  # bed-reader's missing call (-127)
            with np.errstate(invalid="ignore", divide="ignore"):
                freq[a:a + batch] = np.nansum(g, axis=0) / (2.0 * np.sum(~np.isnan(g), axis=0))
        out.append(freq)
    return np.concatenate(out) if out else np.empty(0)


def minor_allele_sign(freq) -> np.ndarray:
    """+1 where A1 is the minor allele (frequency <= 0.5), -1 where it is the major one, 0 for
    monomorphic or all-missing SNPs.

    Parameters
    ----------
    freq : array_like, float, shape (n_snps,)
        A1 frequencies (:func:`allele_frequencies`).

    Returns
    -------
    ndarray, float64, shape (n_snps,)
    """
    f = np.asarray(freq, dtype=np.float64)
    sign = np.where(f <= 0.5, 1.0, -1.0)
    sign[~np.isfinite(f) | (f <= 0) | (f >= 1)] = 0.0
    return sign


def _table(bim: pd.DataFrame, columns: dict, *, what: str) -> pd.DataFrame:
    """``CHR SNP A1 A2`` of a panel allele table plus the non-zero columns."""
    out = pd.DataFrame({"CHR": np.asarray(bim["chrom"].astype(str)), "SNP": bim["snp"].to_numpy(),
                        "A1": bim["a1"].to_numpy(), "A2": bim["a2"].to_numpy()})
    for name, v in columns.items():
        if not np.any(v):
            logger.info("%s: annotation %s is zero on every panel SNP; left out", what, name)
            continue
        out[name] = np.asarray(v, dtype=np.float64)
    return out


def maf_bin_annotation(panel, *, n_bins: int = 5, edges=None, chroms=None, freq=None) -> pd.DataFrame:
    """Signed background of minor alleles in MAF bins.

    Parameters
    ----------
    panel : ReferencePanel or what it opens
    n_bins : int
        Bins of equal SNP count over the polymorphic panel SNPs (used when ``edges`` is None).
    edges : sequence of float, optional
        Increasing MAF bin edges from 0 to 0.5 (bin ``k``: ``edges[k] < MAF <= edges[k + 1]``).
    chroms : sequence of str, optional
    freq : ndarray, float, shape (n_snps,), optional
        The panel's A1 frequencies (:func:`allele_frequencies`), when already computed.

    Returns
    -------
    DataFrame
        ``CHR SNP A1 A2`` and ``MAF_<lo>_<hi>`` per bin (+1 / -1 as A1 is minor / major, 0 outside),
        one row per panel SNP in panel order.

    Raises
    ------
    ValueError
        For fewer than one bin or edges that do not increase.
    """
    from stats.io.panel import as_panel

    panel = as_panel(panel)
    bim = panel.allele_table(chroms=chroms)
    freq = allele_frequencies(panel, chroms=chroms) if freq is None else np.asarray(freq, dtype=np.float64)
    sign = minor_allele_sign(freq)
    maf = np.minimum(freq, 1 - freq)
    poly = sign != 0
    if edges is None:
        if n_bins < 1:
            raise ValueError(f"n_bins must be >= 1, got {n_bins}")
        edges = np.quantile(maf[poly], np.linspace(0, 1, n_bins + 1)) if poly.any() else np.array([0.0, 0.5])
        edges[0], edges[-1] = 0.0, 0.5
    edges = np.unique(np.asarray(edges, dtype=np.float64))
    if len(edges) < 2:
        raise ValueError(f"MAF bin edges must hold at least two increasing values, got {edges.tolist()}")
    k = np.clip(np.searchsorted(edges, maf, side="left") - 1, 0, len(edges) - 2)
    cols = {f"MAF_{edges[b]:.3g}_{edges[b + 1]:.3g}": np.where(poly & (k == b), sign, 0.0)
            for b in range(len(edges) - 1)}
    return _table(bim, cols, what="MAF bins")


def _intervals(rows: pd.DataFrame) -> dict:
    """Chromosome -> (starts, ends) of merged 1-based inclusive intervals, sorted."""
    out = {}
    for c, r in rows.groupby(normalize_chrom(rows["chrom"].astype(str).to_numpy())):
        s, e = r["start"].to_numpy(np.int64), r["end"].to_numpy(np.int64)
        order = np.argsort(s, kind="stable")
        out[c] = (s[order], np.maximum.accumulate(e[order]))
    return out


def _inside(chrom: np.ndarray, pos: np.ndarray, intervals: dict) -> np.ndarray:
    hit = np.zeros(len(pos), dtype=bool)
    for c, (s, e) in intervals.items():
        rows = np.flatnonzero(chrom == c)
        k = np.searchsorted(s, pos[rows], side="right") - 1
        hit[rows] = (k >= 0) & (pos[rows] <= e[np.maximum(k, 0)])
    return hit


def region_annotation(panel, gtf, *, chroms=None, categories=REGION_FEATURES, freq=None) -> pd.DataFrame:
    """Signed background of minor alleles in gene regions of a GTF.

    Parameters
    ----------
    panel : ReferencePanel or what it opens
    gtf : path-like
        Genes (GTF / GENCODE; 1-based inclusive coordinates).
    chroms : sequence of str, optional
    categories : mapping of str -> tuple of str
        Category -> GTF features, in priority order: a SNP belongs to the first category whose features
        cover it (default :data:`REGION_FEATURES`: coding, UTR, other exonic, intronic = the rest of a
        transcript).
    freq : ndarray, float, shape (n_snps,), optional
        The panel's A1 frequencies (:func:`allele_frequencies`), when already computed.

    Returns
    -------
    DataFrame
        ``CHR SNP A1 A2`` and one column per category with a SNP in it (+1 / -1 as A1 is the minor /
        major allele, 0 outside the category or for monomorphic SNPs), one row per panel SNP.
    """
    from genocore.genes import read_gtf
    from stats.io.panel import as_panel

    panel = as_panel(panel)
    bim = panel.allele_table(chroms=chroms)
    sign = minor_allele_sign(allele_frequencies(panel, chroms=chroms) if freq is None else freq)
    rows = read_gtf(gtf)
    chrom, pos = bim["chrom"].astype(str).to_numpy(), bim["pos"].to_numpy(np.int64)
    taken = np.zeros(len(bim), dtype=bool)
    cols = {}
    for name, features in categories.items():
        hit = _inside(chrom, pos, _intervals(rows[rows["feature"].isin(list(features))])) & ~taken
        taken |= hit
        cols[name] = np.where(hit, sign, 0.0)
    return _table(bim, cols, what=f"gene regions of {gtf}")


def score_principal_components(values, *, n_pcs: int) -> np.ndarray:
    """Leading principal components of a variant-score matrix, uncentred.

    Each column (target) is divided by its root mean square and the matrix is not centred, so a
    variant without effect on any target stays at 0 on every component (scores are alt-minus-ref
    differences: centring would give every variant an offset along the ALT allele).

    Parameters
    ----------
    values : ndarray, float, shape (n_variants, n_targets)
    n_pcs : int
        Components kept (at most ``min(n_variants, n_targets)``).

    Returns
    -------
    ndarray, float64, shape (n_variants, n_pcs)
        Component scores ``U S``, largest first; each component's sign makes its largest |loading|
        positive (a deterministic orientation).

    Raises
    ------
    ValueError
        For ``n_pcs`` < 1, more components than the matrix has, or non-finite values.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2 or not np.isfinite(x).all():
        raise ValueError("score_principal_components: a finite 2-D matrix (variants x targets) is expected")
    if not 1 <= n_pcs <= min(x.shape):
        raise ValueError(f"n_pcs must be between 1 and {min(x.shape)} for a {x.shape[0]} x {x.shape[1]} matrix, "
                         f"got {n_pcs}")
    rms = np.sqrt(np.mean(x ** 2, axis=0))
    x = x / np.where(rms > 0, rms, 1.0)
    vt = np.linalg.svd(x, full_matrices=False)[2][:n_pcs]
    flip = np.sign(vt[np.arange(n_pcs), np.argmax(np.abs(vt), axis=1)])
    return x @ (vt.T * np.where(flip == 0, 1.0, flip))  # = U S; a variant of zeros stays exactly 0


def pc_annotation(variants: pd.DataFrame, values, *, n_pcs: int, panel, prefix: str = "PC",
                  what: str = "scores") -> pd.DataFrame:
    """The leading principal components of variant scores as signed annotations on the panel's SNPs.

    Parameters
    ----------
    variants : DataFrame
        ``chrom, pos, ref, alt`` (1-based) per scored variant.
    values : ndarray, float, shape (n_variants, n_targets)
        Alt-minus-ref scores (e.g. a ``sad.h5``'s SAD).
    n_pcs : int
    panel : ReferencePanel or what it opens
    prefix : str
        Column names ``<prefix>1``, ``<prefix>2``, ...
    what : str
        Name of the scores in messages.

    Returns
    -------
    DataFrame
        As :func:`stats.io.annot.signed_annotation_from_scores` (oriented to the panel's A1).
    """
    from stats.io.annot import signed_annotation_from_scores
    from stats.io.panel import as_panel

    pcs = score_principal_components(values, n_pcs=n_pcs)
    return signed_annotation_from_scores(variants, pcs, names=[f"{prefix}{k + 1}" for k in range(n_pcs)],
                                         panel=as_panel(panel).allele_table(), what=what)
