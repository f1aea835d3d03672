"""Prediction with reverse-complement / shift ensembles, for arrays, BED regions, FASTA sequences and
the records of a split (with their accuracy).

An ensemble averages the model over shifted copies of each sequence (zero-padded, as in training)
and, with ``rc=True``, over their reverse complements, whose predictions are reversed along the bins
and have stranded tracks swapped back (``strand_pair``) before averaging.
"""
from __future__ import annotations

import json
import logging
import weakref
from dataclasses import dataclass
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


_COMPILED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def compile_inference(model, *, xla: bool = False):
    """Trace ``model``'s inference call as one graph (any batch size), for every later :func:`predict`
    of this model object; ``xla`` compiles it with XLA (``jit_compile``), which fuses element-wise work
    into the convolutions (one compilation per batch shape). Returns the traced function."""
    import tensorflow as tf

    spec = tf.TensorSpec([None, *model.input.shape[1:]], tf.float32)
    _COMPILED[model] = tf.function(lambda a: model(a, training=False), input_signature=[spec],
                                   jit_compile=bool(xla))
    return _COMPILED[model]


def _compiled(model):
    """The traced inference call, built once per model: eager calls cost several times the arithmetic
    on CPU for models of the simulated world's size."""
    return _COMPILED[model] if model in _COMPILED else compile_inference(model)


def _batched(model, x, batch_size):
    call = _compiled(model)
    outs = [call(x[i:i + batch_size]).numpy() for i in range(0, len(x), batch_size)]
    return np.concatenate(outs) if outs else np.zeros((0,) + tuple(model.output.shape[1:]), np.float32)


def region_sequences(fasta, regions: pd.DataFrame, seq_length: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Codes of ``seq_length``-bp windows centred on each region (N beyond the chromosome ends).

    Returns
    -------
    codes : ndarray, uint8, shape (n_regions, seq_length)
    windows : DataFrame
        chrom, start, end of each window (start may be negative at a chromosome start).
    """
    from genomodel.io.fasta import open_fasta

    fa = open_fasta(fasta)
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
    longer = int(((regions.end - regions.start) > seq_length).sum())
    if longer:
        logger.warning("%d of %d regions are longer than the model's %s bp window: each is predicted on the "
                       "window centred on it, not whole (split long regions to cover them)", longer, len(regions),
                       f"{seq_length:,}")
    windows = pd.DataFrame({"chrom": regions.chrom.to_numpy(), "start": starts})
    windows["end"] = windows.start + seq_length
    return codes, windows


def fasta_sequences(fasta, seq_length: int) -> tuple[np.ndarray, list]:
    """Codes of every sequence of a FASTA, centred and N-padded or trimmed to ``seq_length``
    (trimmed sequences are reported in a warning: the model reads only their centre)."""
    from genomodel.io.fasta import open_fasta

    fa = open_fasta(fasta)
    names = list(fa.keys())
    codes = np.full((len(names), seq_length), dna.N_CODE, dtype=np.uint8)
    trimmed = []
    for i, name in enumerate(names):
        c = dna.encode(fa[name][:])
        if len(c) > seq_length:
            trimmed.append(f"{name} ({len(c):,} bp)")
        if len(c) >= seq_length:
            off = (len(c) - seq_length) // 2
            codes[i] = c[off:off + seq_length]
        else:
            off = (seq_length - len(c)) // 2
            codes[i, off:off + len(c)] = c
    if trimmed:
        logger.warning("%d of %d sequences in %s are longer than the model's %s bp window and are trimmed to "
                       "their centre: %s%s", len(trimmed), len(names), fasta, f"{seq_length:,}",
                       ", ".join(trimmed[:5]), ", ..." if len(trimmed) > 5 else "")
    return codes, names


def input_sequences(seq_length: int, *, bed=None, fasta=None, fasta_seqs=None) -> tuple:
    """The sequences a prediction reads: BED regions of a genome, or the sequences of a FASTA.

    Parameters
    ----------
    seq_length : int
        The model's input length in bp.
    bed, fasta : path-like, optional
        Regions (0-based half-open, :func:`genocore.bed.read_bed`) and the genome they refer to;
        a window of ``seq_length`` is centred on each region.
    fasta_seqs : path-like, optional
        Sequences to predict, each centred and N-padded or trimmed (used when ``bed`` is not given).

    Returns
    -------
    codes : ndarray, uint8, shape (n, seq_length)
    windows : DataFrame or None
        chrom, start, end of each window (None for ``fasta_seqs``).
    names : list of str
        The BED's names (``chrom:start-end`` where it has none) or the FASTA's sequence names.
    """
    from genocore.bed import read_bed

    if bed is not None:
        if fasta is None:
            raise ValueError("BED regions need the FASTA of their genome (--fasta)")
        regions = read_bed(bed)
        if regions.empty:
            raise ValueError(f"{bed}: no regions")
        codes, windows = region_sequences(fasta, regions, seq_length)
        return codes, windows, regions.name.tolist()
    if fasta_seqs is None:
        raise ValueError("give BED regions with their genome's FASTA (--bed, --fasta), or sequences (--fasta-seqs)")
    codes, names = fasta_sequences(fasta_seqs, seq_length)
    return codes, None, names


def predict_records(model, data_dir, *, split: str = "test", rc: bool = False, shifts=(0,),
                    strand_pair: np.ndarray | None = None, batch_size: int = 4, progress=None) -> tuple:
    """Ensemble predictions for every record of one split, with the records' targets.

    Parameters
    ----------
    model : keras.Model
        One head's model.
    data_dir : path-like
        A records folder (:mod:`genomodel.io.tfrecord`).
    rc, shifts, strand_pair, batch_size
        See :func:`predict`.
    progress : callable, optional
        ``progress(done, total)`` after each batch (``total`` None when ``statistics.json`` lacks the count).

    Returns
    -------
    pred, target : ndarray, float32, shape (n_records, target_length, n_targets)
    """
    from genomodel.io import tfrecord

    n = int(tfrecord.read_statistics(data_dir).get(f"{split}_seqs", 0)) or None
    total = None if n is None else -(-n // batch_size)
    preds, targets = [], []
    for x, y in tfrecord.dataset(data_dir, split, batch_size=batch_size):
        preds.append(predict(model, x.numpy(), rc=rc, shifts=shifts, strand_pair=strand_pair, batch_size=batch_size))
        targets.append(y.numpy())
        if progress is not None:
            progress(len(preds), total)
    if not preds:
        raise ValueError(f"{data_dir}: the {split} split is empty")
    return np.concatenate(preds), np.concatenate(targets)


def evaluate_records(model, data_dir, *, split: str = "test", gtf=None, rc: bool = False, shifts=(0,),
                     batch_size: int = 4, progress=None) -> tuple:
    """Accuracy of a model on the records of one split (:func:`genomodel.evaluate.evaluate_all`).

    Parameters
    ----------
    model : keras.Model
    data_dir : path-like
        Records folder with ``targets.txt`` (names, strand pairs) and ``sequences.bed`` (windows).
    gtf : path-like, optional
        Genes for gene-level accuracy at their TSS bins.
    rc, shifts, batch_size, progress
        See :func:`predict_records`.

    Returns
    -------
    result : genomodel.evaluate.Evaluation
    pred, target : ndarray, float32, shape (n_records, target_length, n_targets)
    """
    from genomodel import evaluate
    from genomodel.io import tfrecord
    from genomodel.io.gtf import model_tss
    from genomodel.train import targets_info

    tinfo = targets_info(data_dir)
    pair = np.array(tinfo["strand_pair"]) if "strand_pair" in tinfo else None
    pred, target = predict_records(model, data_dir, split=split, rc=rc, shifts=shifts, strand_pair=pair,
                                   batch_size=batch_size, progress=progress)
    gene_kw = {}
    if gtf is not None:
        beds = tfrecord.read_sequences_bed(data_dir)
        windows = beds[beds.split == split].reset_index(drop=True)
        if len(windows) != len(pred):
            raise ValueError(f"{data_dir}/sequences.bed lists {len(windows)} {split} windows but the "
                             f"records hold {len(pred)}")
        pool, crop = geometry(model)
        gene_kw = {"windows": windows, "tss": model_tss(gtf), "pool_width": pool, "crop_bp": crop}
    result = evaluate.evaluate_all(pred, target, target_ids=tinfo.get("identifier"),
                                   descriptions=tinfo.get("description"), **gene_kw)
    t = result.tracks
    logger.info("%s split: mean Pearson R %.4f (log %.4f) over %d tracks", split, t.pearson_r.mean(),
                t.pearson_r_log.mean(), len(t))
    for assay, sub in t.groupby("assay") if "assay" in t.columns else ():
        logger.info("  %s: Pearson R %.4f, log %.4f (%d tracks)", assay, sub.pearson_r.mean(),
                    sub.pearson_r_log.mean(), len(sub))
    return result, pred, target


def evaluate_model(head, data_dir, out_dir, *, split: str = "test", gtf=None, rc: bool = False, shifts=(0,),
                   batch_size: int = 4, progress=None, command=None):
    """Evaluate one head of a saved model on a split of records (:func:`evaluate_records`) and write the
    report (:func:`genomodel.evaluate.write_report`) into ``out_dir``, with its provenance (``command``,
    the options and the SHA-256 of the model and of the records' statistics).

    Returns
    -------
    genomodel.evaluate.Evaluation
    """
    from genocore import provenance
    from genomodel.evaluate import write_report

    result, pred, target = evaluate_records(head.model, data_dir, split=split, gtf=gtf, rc=rc, shifts=shifts,
                                            batch_size=batch_size, progress=progress)
    rec = provenance.record(command=command, config={"model": str(head.model_dir), "split": split, "rc": rc,
                                                     "shifts": list(shifts)},
                            inputs={"params.json": head.model_dir / "params.json", "model.weights.h5": head.weights,
                                    "statistics.json": Path(data_dir) / "statistics.json"})
    write_report(out_dir, result, pred=pred, target=target, provenance=rec)
    return result


@dataclass
class Predictions:
    """Ensemble predictions of sequences, with what is needed to place and name them.

    Attributes
    ----------
    pred : ndarray, float32, shape (n, target_length, n_targets)
    windows : DataFrame or None
        chrom, start, end (0-based half-open) of each input window; None for FASTA sequences.
    names : list of str, length n
    target_ids : list of str, length n_targets
    target_labels : list of str or None
    pool_width, crop_bp : int
        Output geometry (:func:`geometry`).
    """

    pred: np.ndarray
    windows: pd.DataFrame | None
    names: list
    target_ids: list
    target_labels: list | None
    pool_width: int
    crop_bp: int

    def write(self, out, *, fasta=None, provenance: dict | None = None) -> Path:
        """To an HDF5 file (``out`` ending in ``.h5``/``.hdf5``, :func:`write_predictions_h5`) or to a
        folder of one BigWig per track (:func:`write_predictions_bigwig`, chromosome sizes from ``fasta``)
        with ``provenance.json``."""
        logger.info("predicted %d sequences x %d bins x %d tracks -> %s", *self.pred.shape, out)
        if str(out).endswith((".h5", ".hdf5")):
            return write_predictions_h5(out, self.pred, windows=self.windows, names=self.names,
                                        target_ids=self.target_ids, target_labels=self.target_labels,
                                        pool_width=self.pool_width, crop_bp=self.crop_bp, provenance=provenance)
        if self.windows is None or fasta is None:
            raise ValueError("BigWig output needs genomic regions (--bed); write FASTA predictions to a .h5")
        from genocore import provenance as prov
        from genomodel.io.fasta import open_fasta

        sizes = {k: len(v) for k, v in open_fasta(fasta).items()}
        write_predictions_bigwig(out, self.pred, self.windows, chrom_sizes=sizes, target_ids=self.target_ids,
                                 pool_width=self.pool_width, crop_bp=self.crop_bp)
        if provenance is not None:
            prov.write(Path(out) / "provenance.json", provenance)
        return Path(out)


def predict_sequences(head, *, bed=None, fasta=None, fasta_seqs=None, rc: bool = False, shifts=(0,),
                      batch_size: int = 4, parts=None, chunk_batches: int = 16, progress=None) -> Predictions:
    """Predict BED regions of a genome or the sequences of a FASTA (:func:`input_sequences`) with one
    head of a saved model (:func:`genomodel.model.seqnn.load_head`); ``rc``, ``shifts`` and ``batch_size``
    as :func:`predict`, with the head's strand pairs.

    The windows go through in chunks of ``chunk_batches`` batches (so each batch holds the windows it would
    in one pass: the same numbers). With ``parts`` (a :class:`genocore.resume.RunParts`) each finished chunk
    is saved there and a chunk a killed run finished is read back; ``progress(done, total)`` after each.
    """
    model = head.model
    codes, windows, names = input_sequences(int(model.input.shape[1]), bed=bed, fasta=fasta, fasta_seqs=fasta_seqs)
    step = max(1, int(chunk_batches)) * max(1, int(batch_size))
    starts = list(range(0, len(codes), step))
    preds = []
    for i, a in enumerate(starts):
        name = f"chunk_{i:06d}"
        if parts is not None and parts.done(name):
            with np.load(parts.folder / f"{name}.npz") as z:
                preds.append(z["pred"])
        else:
            preds.append(predict(model, dna.one_hot(codes[a:a + step], dtype=np.float32), rc=rc, shifts=shifts,
                                 strand_pair=head.strand_pair, batch_size=batch_size))
            if parts is not None:
                with atomic_path(parts.file(f"{name}.npz")) as tmp, open(tmp, "wb") as fh:
                    np.savez(fh, pred=preds[-1])
                parts.mark_done(name)
        if progress is not None:
            progress(i + 1, len(starts))
    pool, crop = geometry(model)
    n_targets = int(model.output.shape[-1])
    pred = np.concatenate(preds) if preds else np.zeros((0, int(model.output.shape[1]), n_targets), np.float32)
    return Predictions(pred=pred, windows=windows, names=names, target_ids=head.target_ids,
                       target_labels=head.target_labels, pool_width=pool, crop_bp=crop)


def write_predictions_h5(path, preds: np.ndarray, *, windows: pd.DataFrame | None = None, names=None,
                         target_ids=None, target_labels=None, pool_width: int, crop_bp: int,
                         provenance: dict | None = None) -> Path:
    """Write predictions (float16, windows x bins x targets) with coordinates, atomically."""
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
