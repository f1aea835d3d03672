"""Prediction with reverse-complement / shift ensembles, for arrays, BED regions and FASTA sequences.

An ensemble averages the model over shifted copies of each sequence (zero-padded, as in training)
and, with ``rc=True``, over their reverse complements, whose predictions are reversed along the bins
and have stranded tracks swapped back (``strand_pair``) before averaging.
"""
from __future__ import annotations

import io
import logging
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from genocore.files import atomic_path
from genomodel import dna

logger = logging.getLogger(__name__)


def geometry(model) -> tuple[int, int]:
    """(bin width in bp, bp cropped from each end) of a model's output, read from its layers."""
    seq_length = int(model.input.shape[1])
    out_len = int(model.output.shape[1])
    crop_bins = 0
    for layer in model.layers:
        if layer.__class__.__name__ == "Cropping1D":
            left, right = layer.cropping
            if left != right:
                raise ValueError("asymmetric cropping is not supported for genomic coordinates")
            crop_bins += left
    before = out_len + 2 * crop_bins
    if seq_length % before:
        raise ValueError(f"{seq_length} bp do not divide into {before} bins: the model's pooling is not uniform")
    pool = seq_length // before
    return pool, crop_bins * pool


def shift_sequences(x: np.ndarray, shift: int) -> np.ndarray:
    """Shift one-hot sequences right by ``shift`` bp (left if negative), padding with zeros (N)."""
    if shift == 0:
        return x
    out = np.zeros_like(x)
    if shift > 0:
        out[:, shift:] = x[:, :-shift]
    else:
        out[:, :shift] = x[:, -shift:]
    return out


def predict(model, x: np.ndarray, *, rc: bool = False, shifts=(0,), batch_size: int = 4,
            strand_pair: np.ndarray | None = None) -> np.ndarray:
    """Ensemble prediction.

    Parameters
    ----------
    model : keras.Model
        One head's model.
    x : ndarray, shape (n, seq_length, 4)
        One-hot sequences (any numeric dtype).
    rc : bool
        Also predict the reverse complements.
    shifts : sequence of int
        Shifts in bp.
    strand_pair : ndarray of int, shape (n_targets,), optional
        Partner track of each stranded track (itself when unstranded).

    Returns
    -------
    ndarray, float32, shape (n, target_length, n_targets)
    """
    x = np.asarray(x, dtype=np.float32)
    n_targets = int(model.output.shape[-1])
    pair = np.arange(n_targets) if strand_pair is None else np.asarray(strand_pair)
    total = None
    members = 0
    for s in shifts:
        xs = shift_sequences(x, int(s))
        for flip in ([False, True] if rc else [False]):
            xin = xs[:, ::-1, ::-1] if flip else xs
            pred = _batched(model, xin, batch_size)
            if flip:
                pred = pred[:, ::-1][:, :, pair]
            total = pred.astype(np.float64) if total is None else total + pred
            members += 1
    return (total / members).astype(np.float32)


def _batched(model, x, batch_size):
    outs = [model(x[i:i + batch_size], training=False).numpy() for i in range(0, len(x), batch_size)]
    return np.concatenate(outs) if outs else np.zeros((0,) + tuple(model.output.shape[1:]), np.float32)


def read_regions(path) -> pd.DataFrame:
    """chrom, start, end (and name if present) of a BED file."""
    try:
        lines = [ln for ln in Path(path).read_text().splitlines()
                 if ln.strip() and not ln.startswith(("#", "track", "browser"))]
        bed = pd.read_csv(io.StringIO("\n".join(lines)), sep="\t", header=None, dtype={0: str})
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: no regions") from None
    if bed.shape[1] < 3:
        raise ValueError(f"{path}: a BED needs chrom, start and end columns")
    out = bed.iloc[:, :3].copy()
    out.columns = ["chrom", "start", "end"]
    out["name"] = bed.iloc[:, 3].astype(str) if bed.shape[1] > 3 else [f"{c}:{s}-{e}" for c, s, e in out.itertuples(False)]
    return out


def region_sequences(fasta, regions: pd.DataFrame, seq_length: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Codes of ``seq_length``-bp windows centred on each region (N beyond the chromosome ends).

    Returns
    -------
    codes : ndarray, uint8, shape (n_regions, seq_length)
    windows : DataFrame
        chrom, start, end of each window (start may be negative at a chromosome start).
    """
    import pyfaidx

    fa = pyfaidx.Fasta(str(fasta), as_raw=True, sequence_always_upper=True)
    codes = np.full((len(regions), seq_length), dna.N_CODE, dtype=np.uint8)
    starts = []
    for i, (chrom, start, end) in enumerate(regions[["chrom", "start", "end"]].itertuples(index=False)):
        if chrom not in fa:
            alt = chrom[3:] if chrom.startswith("chr") else f"chr{chrom}"
            hint = f"; the FASTA has {alt!r}: rename the chromosomes so they match" if alt in fa else ""
            raise ValueError(f"region {i + 1} ({chrom}:{start}-{end}) is on {chrom!r}, which {fasta} lacks{hint}")
        mid = (int(start) + int(end)) // 2
        w0 = mid - seq_length // 2
        size = len(fa[chrom])
        a, b = max(w0, 0), min(w0 + seq_length, size)
        if a < b:
            codes[i, a - w0:b - w0] = dna.encode(fa[chrom][a:b])
        starts.append(w0)
    windows = pd.DataFrame({"chrom": regions.chrom.to_numpy(), "start": starts})
    windows["end"] = windows.start + seq_length
    return codes, windows


def fasta_sequences(fasta, seq_length: int) -> tuple[np.ndarray, list]:
    """Codes of every sequence of a FASTA, centred and N-padded or trimmed to ``seq_length``."""
    import pyfaidx

    fa = pyfaidx.Fasta(str(fasta), as_raw=True, sequence_always_upper=True)
    names = list(fa.keys())
    codes = np.full((len(names), seq_length), dna.N_CODE, dtype=np.uint8)
    for i, name in enumerate(names):
        c = dna.encode(fa[name][:])
        if len(c) >= seq_length:
            off = (len(c) - seq_length) // 2
            codes[i] = c[off:off + seq_length]
        else:
            off = (seq_length - len(c)) // 2
            codes[i, off:off + len(c)] = c
    return codes, names


def write_predictions_h5(path, preds: np.ndarray, *, windows: pd.DataFrame | None = None, names=None,
                         target_ids=None, target_labels=None, pool_width: int, crop_bp: int,
                         provenance: dict | None = None) -> Path:
    """Write predictions (float16, windows x bins x targets) with coordinates, atomically."""
    import json

    path = Path(path)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            # float16 as basenji stores them, clipped so that a huge prediction is not stored as inf
            f16 = float(np.finfo(np.float16).max)
            h5.create_dataset("preds", data=np.clip(preds, -f16, f16).astype(np.float16), compression="gzip")
            if windows is not None:
                h5.create_dataset("chrom", data=np.array(windows.chrom, dtype="S"))
                h5.create_dataset("start", data=windows.start.to_numpy(np.int64))
                h5.create_dataset("end", data=windows.end.to_numpy(np.int64))
            if names is not None:
                h5.create_dataset("name", data=np.array(names, dtype="S"))
            if target_ids is not None:
                h5.create_dataset("target_ids", data=np.array(target_ids, dtype="S"))
            if target_labels is not None:
                h5.create_dataset("target_labels", data=np.array(target_labels, dtype="S"))
            h5.attrs["pool_width"] = pool_width
            h5.attrs["crop_bp"] = crop_bp
            if provenance:
                h5.attrs["provenance"] = json.dumps(provenance)
    return path


def write_predictions_bigwig(out_dir, preds: np.ndarray, windows: pd.DataFrame, *, chrom_sizes: dict,
                             target_ids, pool_width: int, crop_bp: int) -> list:
    """One BigWig per track of binned predictions over the windows' target regions.

    Where windows overlap, the first window's bins are kept. Bins outside the chromosome are dropped.
    """
    import pyBigWig

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    order = sorted(range(len(windows)), key=lambda i: (list(chrom_sizes).index(windows.chrom.iloc[i]),
                                                         windows.start.iloc[i]))
    paths = []
    for t, tid in enumerate(target_ids):
        path = out_dir / f"{tid}.bw"
        with atomic_path(path) as tmp:
            bw = pyBigWig.open(str(tmp), "w")
            try:
                bw.addHeader(list(chrom_sizes.items()))
                last_end = {}
                for i in order:
                    chrom = windows.chrom.iloc[i]
                    s0 = int(windows.start.iloc[i]) + crop_bp
                    starts = s0 + pool_width * np.arange(preds.shape[1])
                    ends = starts + pool_width
                    keep = (starts >= max(last_end.get(chrom, 0), 0)) & (ends <= chrom_sizes[chrom])
                    if keep.any():
                        bw.addEntries([chrom] * int(keep.sum()), starts[keep].tolist(), ends=ends[keep].tolist(),
                                      values=preds[i, keep, t].astype(float).tolist())
                        last_end[chrom] = int(ends[keep][-1])
            finally:
                bw.close()
        paths.append(path)
    return paths
