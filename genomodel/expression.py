"""Expression of genes at their transcription start sites: a model's prediction and observed coverage.

A gene's expression in a track is the track summed over the distinct output bins that hold the gene's
TSSs (Basenji 2018, Fig. 3: CAGE at the TSS). Every gene gets one window of the model's input length
centred on its first (lowest) TSS, as :func:`genomodel.predict.region_sequences` centres a region:
the window starts at ``first_tss - seq_length // 2``. Its output bins start ``crop_bp`` after the window
start and are ``pool_width`` bp wide; bin ``b`` of the window covers
``[origin + b * pool_width, origin + (b + 1) * pool_width)`` with ``origin = start + crop_bp``. TSSs of
the gene outside the predicted span are left out, and a bin holding several TSSs of one gene counts
once (as :func:`genomodel.evaluate.gene_metrics` with ``unique_bins``).

Observed expression sums the observed per-base coverage over the same genomic intervals, so the two
are comparable bin for bin. Coordinates are 0-based (the model half's convention; convert 1-based
GTF positions with :func:`genomodel.io.gtf.model_tss`).
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from genomodel import dna
from genomodel.predict import geometry, predict, region_sequences

logger = logging.getLogger(__name__)

__all__ = ["gene_tss_bins", "predict_tss_expression", "observed_tss_expression"]


def gene_tss_bins(tss: pd.DataFrame, *, pool_width: int, seq_length: int = 0, crop_bp: int = 0,
                  n_bins: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One window per gene, centred on its first TSS, and the distinct bins holding its TSSs.

    Parameters
    ----------
    tss : DataFrame
        ``gene_id, chrom, tss`` (int, **0-based**); several rows per gene for alternative TSSs.
    pool_width : int
        Bin width in bp.
    seq_length : int
        Window (model input) length in bp; 0 puts the bin grid's origin at the first TSS.
    crop_bp : int
        bp cropped from each end of the window before the first bin.
    n_bins : int, optional
        Bins per window; TSSs outside ``[0, n_bins)`` are left out. None keeps every TSS of the gene
        (on the same grid).

    Returns
    -------
    windows : DataFrame
        One row per gene with a TSS in its bins, in order of chromosome and first TSS: ``gene_id``,
        ``chrom``, ``start``, ``end`` (the input window, 0-based half-open; ``start`` may be negative
        near a chromosome start), ``first_tss``.
    bins : DataFrame
        One row per (gene, distinct bin): ``gene`` (row of ``windows``), ``gene_id``, ``chrom``, ``bin``
        (index in the window's output), ``start``, ``end`` (genomic interval, 0-based half-open) and
        ``n_tss`` (TSSs of the gene in the bin).
    """
    if pool_width < 1 or crop_bp < 0 or seq_length < 0:
        raise ValueError(f"pool_width must be >= 1, crop_bp and seq_length >= 0; got {pool_width}, {crop_bp}, "
                         f"{seq_length}")
    missing = [c for c in ("gene_id", "chrom", "tss") if c not in tss.columns]
    if missing:
        raise ValueError(f"TSS table lacks column(s) {missing}; need gene_id, chrom, tss (0-based)")
    t = tss[["gene_id", "chrom", "tss"]].drop_duplicates().astype({"tss": np.int64})
    first = t.sort_values(["chrom", "tss", "gene_id"]).groupby("gene_id", sort=False).first()
    first = first.sort_values(["chrom", "tss"], kind="stable")
    chroms = t.groupby("gene_id")["chrom"].nunique()
    if (chroms > 1).any():
        raise ValueError(f"gene {chroms.index[chroms > 1][0]!r} has TSSs on several chromosomes")
    windows = pd.DataFrame({"gene_id": first.index.to_numpy(), "chrom": first.chrom.to_numpy(),
                            "start": first.tss.to_numpy() - seq_length // 2})
    windows["end"] = windows.start + seq_length
    windows["first_tss"] = first.tss.to_numpy()
    row = pd.Series(np.arange(len(windows)), index=windows.gene_id)
    g = row.loc[t.gene_id].to_numpy()
    origin = windows.start.to_numpy()[g] + crop_bp
    b = (t.tss.to_numpy() - origin) // pool_width
    keep = np.ones(len(t), bool) if n_bins is None else (b >= 0) & (b < n_bins)
    if (~keep).any():
        logger.info("%d of %d TSSs lie outside their gene's predicted span and are left out", int((~keep).sum()),
                    len(t))
    bins = pd.DataFrame({"gene": g[keep], "bin": b[keep]}).groupby(["gene", "bin"]).size().rename("n_tss")
    bins = bins.reset_index()
    bins.insert(1, "gene_id", windows.gene_id.to_numpy()[bins.gene])
    bins.insert(2, "chrom", windows.chrom.to_numpy()[bins.gene])
    lo = windows.start.to_numpy()[bins.gene] + crop_bp + bins.bin.to_numpy() * pool_width
    bins.insert(4, "start", lo)
    bins.insert(5, "end", lo + pool_width)
    return windows, bins[["gene", "gene_id", "chrom", "bin", "start", "end", "n_tss"]]


def predict_tss_expression(head, fasta, tss: pd.DataFrame, *, targets=None, rc: bool = False, shifts=(0,),
                           batch_size: int = 4, chunk_size: int = 32, progress=None) -> pd.DataFrame:
    """A model's prediction summed over each gene's TSS bins (one window per gene, see the module notes).

    Parameters
    ----------
    head : genomodel.model.seqnn.Head
        One head of a saved model (:func:`genomodel.model.seqnn.load_head`).
    fasta : path-like
        The genome the TSSs refer to.
    tss : DataFrame
        ``gene_id, chrom, tss`` (0-based), e.g. :func:`genomodel.io.gtf.model_tss`.
    targets : sequence of int, optional
        Output columns to keep (all by default).
    rc, shifts, batch_size
        The ensemble (:func:`genomodel.predict.predict`, with the head's strand pairs).
    chunk_size : int
        Genes predicted at a time (bounds memory: ``chunk_size x bins x targets`` floats).
    progress : callable, optional
        ``progress(done, total)`` after each chunk of genes.

    Returns
    -------
    DataFrame, float64, shape (n_genes, n_kept_targets)
        Index ``gene_id`` (genes in the order of :func:`gene_tss_bins`), columns the kept targets' ids.
    """
    model = head.model
    seq_length = int(model.input.shape[1])
    n_bins, n_out = int(model.output.shape[1]), int(model.output.shape[-1])
    keep = np.arange(n_out) if targets is None else np.asarray(targets, dtype=np.int64)
    pool, crop = geometry(model)
    windows, bins = gene_tss_bins(tss, pool_width=pool, seq_length=seq_length, crop_bp=crop, n_bins=n_bins)
    out = np.zeros((len(windows), len(keep)))
    regions = pd.DataFrame({"chrom": windows.chrom, "start": windows.first_tss, "end": windows.first_tss + 1})
    for lo in range(0, len(windows), chunk_size):
        hi = min(lo + chunk_size, len(windows))
        codes, _ = region_sequences(fasta, regions.iloc[lo:hi], seq_length)
        pred = predict(model, dna.one_hot(codes, dtype=np.float32), rc=rc, shifts=shifts, batch_size=batch_size,
                       strand_pair=head.strand_pair)[:, :, keep]
        sel = bins[(bins.gene >= lo) & (bins.gene < hi)]
        np.add.at(out, sel.gene.to_numpy(), pred[sel.gene.to_numpy() - lo, sel.bin.to_numpy()].astype(np.float64))
        if progress is not None:
            progress(hi, len(windows))
    logger.info("predicted %d genes x %d targets at their TSS bins (%d bp bins)", len(windows), len(keep), pool)
    return pd.DataFrame(out, index=pd.Index(windows.gene_id.to_numpy(), name="gene_id"),
                        columns=[head.target_ids[t] for t in keep])


def observed_tss_expression(tracks: dict, bins: pd.DataFrame) -> pd.DataFrame:
    """Observed coverage summed over each gene's TSS bins.

    Parameters
    ----------
    tracks : dict of str -> path-like
        Sample name -> BigWig or bedGraph of per-base coverage (:func:`genomodel.data.open_track`).
    bins : DataFrame
        From :func:`gene_tss_bins` (``gene_id, chrom, start, end``).

    Returns
    -------
    DataFrame, float64, shape (n_genes, n_tracks)
        Index ``gene_id`` (in the order of first appearance in ``bins``), one column per track.
    """
    from genomodel.data import open_track

    genes = pd.unique(bins.gene_id)
    row = pd.Series(np.arange(len(genes)), index=genes)
    out = np.zeros((len(genes), len(tracks)))
    for j, (name, path) in enumerate(tracks.items()):
        reader = open_track(path)
        try:
            for (gene_id, chrom), b in bins.groupby(["gene_id", "chrom"], sort=False):
                lo, hi = int(b.start.min()), int(b.end.max())
                cov = _read_padded(reader, chrom, lo, hi)
                out[row[gene_id], j] = sum(cov[s - lo:e - lo].sum() for s, e in zip(b.start, b.end))
        finally:
            reader.close()
    return pd.DataFrame(out, index=pd.Index(genes, name="gene_id"), columns=list(tracks))


def _read_padded(reader, chrom: str, lo: int, hi: int) -> np.ndarray:
    """Per-base coverage of ``[lo, hi)``, 0 before the chromosome start and past its end."""
    size = (reader.chrom_sizes or {}).get(chrom, hi)
    a, b = max(lo, 0), min(hi, size)
    out = np.zeros(hi - lo)
    if a < b:
        out[a - lo:b - lo] = reader.read(chrom, a, b)
    return out
