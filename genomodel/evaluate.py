"""Accuracy of a trained model's predictions against observed coverage, as pure functions of arrays.

Everything here works on numpy arrays shaped like the model's output, ``(n_windows, n_bins, n_tracks)``,
so it serves any model (or none: a baseline, a replicate) and never imports TensorFlow.

- :class:`TrackAccumulator` / :func:`track_metrics`: per-track Pearson R and R^2 over all bins, raw and
  on log2(x + 1), from running sums, so that an evaluation over many batches keeps bounded memory.
- :func:`window_bootstrap_r`: the same per-track Pearson R on windows resampled with replacement, for
  intervals that respect the correlation of bins within a window; paired across several predictions.
- :func:`gene_metrics` (TSSs from :func:`genomodel.io.gtf.model_tss`): predicted and observed signal summed
  at genes' TSS bins, then Pearson R over genes (Basenji 2018, Fig. 2-3).
- :func:`call_peaks` / :func:`peak_auprc`: Poisson peaks with Benjamini-Hochberg FDR, and how well the
  predictions rank them (average precision), as in basenji's ``basenji_test.py``.
- :func:`evaluate_all` and :func:`write_report`: one per-track table, ``acc.tsv`` and figures.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse
import scipy.stats

from genocore.figures import save_png
from genocore.files import sha256, write_table, write_text

logger = logging.getLogger(__name__)

__all__ = ["TrackAccumulator", "track_metrics", "window_bootstrap_r", "GeneValues", "gene_metrics",
           "call_peaks", "peak_auprc", "Evaluation", "evaluate_all", "write_report", "assay_of"]

#: Column order of the per-track table written as ``acc.tsv``.
TABLE_COLUMNS = ["index", "identifier", "description", "assay", "n_bins", "pearson_r", "r2", "pearson_r_log",
                 "r2_log", "n_genes", "gene_r", "gene_r_log", "n_genes_nonzero", "gene_r_nonzero",
                 "gene_r_nonzero_log", "n_peaks", "auprc"]


# ----------------------------------------------------------------------------------------------------
# shared helpers


def _as_tracks(x, name: str) -> np.ndarray:
    """View ``x`` as (n_rows, n_tracks); the last axis is always the track axis."""
    x = np.asarray(x)
    if x.ndim < 1:
        raise ValueError(f"{name} must have a track axis, got a scalar")
    return x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x


def _log_coverage(x: np.ndarray) -> np.ndarray:
    # Coverage is non-negative; a linear output head can still predict slightly below zero, and
    # log2 of (x + 1) < 1 would turn those into NaN or huge negative values, so they count as 0.
    return np.log2(np.maximum(x, 0.0) + 1.0)


def assay_of(description) -> str | None:
    """Assay of a basenji target description: the text before the first ``':'`` (``"CAGE:liver"`` -> ``"CAGE"``).

    A description without ``':'`` is its own assay (as in basenji); a missing one gives None.
    """
    if description is None or (isinstance(description, float) and np.isnan(description)):
        return None
    return str(description).split(":", 1)[0].strip()


def _track_frame(n_tracks: int, target_ids, descriptions) -> pd.DataFrame:
    ids = [str(i) for i in range(n_tracks)] if target_ids is None else [str(i) for i in target_ids]
    if len(ids) != n_tracks:
        raise ValueError(f"{len(ids)} target_ids for {n_tracks} tracks")
    df = pd.DataFrame({"index": np.arange(n_tracks), "identifier": ids})
    if descriptions is not None:
        desc = list(descriptions)
        if len(desc) != n_tracks:
            raise ValueError(f"{len(desc)} descriptions for {n_tracks} tracks")
        df["description"] = desc
        df["assay"] = [assay_of(d) for d in desc]
    return df


def _masked_pearson(x: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Pearson R per column of (n, k) arrays over the rows where ``mask`` is true; NaN where either side
    is constant or fewer than 2 rows are left."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    m = np.ones(x.shape, bool) if mask is None else np.asarray(mask, bool)
    n = m.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = np.where(m, x, 0.0).sum(axis=0) / n
        my = np.where(m, y, 0.0).sum(axis=0) / n
        xc = np.where(m, x - mx, 0.0)
        yc = np.where(m, y - my, 0.0)
        r = (xc * yc).sum(axis=0) / np.sqrt((xc * xc).sum(axis=0) * (yc * yc).sum(axis=0))
    # Exact constancy from min == max, because centring a constant column around its floating-point
    # mean can leave rounding noise that would otherwise give a meaningless R instead of NaN.
    const = (_masked_range(x, m) == 0) | (_masked_range(y, m) == 0)
    r[(n < 2) | const] = np.nan
    return np.clip(r, -1.0, 1.0)


def _masked_range(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    if x.shape[0] == 0:
        return np.zeros(x.shape[1])
    return np.where(m, x, -np.inf).max(axis=0) - np.where(m, x, np.inf).min(axis=0)


# ----------------------------------------------------------------------------------------------------
# track-level accuracy


class TrackAccumulator:
    """Running per-track Pearson R and R^2 over batches of bins, raw and on log2(x + 1).

    Each batch is reduced to per-track counts, means, centred sums of squares and cross-products,
    which are merged with Chan et al.'s pairwise update. Centred sums keep float64 accuracy even when
    the means are large relative to the spread (a one-pass sum of squares would cancel catastrophically),
    so the result equals a two-pass computation over all bins to about 1e-12.

    Parameters
    ----------
    n_tracks : int

    Examples
    --------
    >>> acc = TrackAccumulator(3)
    >>> for p, t in batches:                         # doctest: +SKIP
    ...     acc.update(p, t)
    >>> table = acc.result(target_ids=ids)           # doctest: +SKIP
    """

    _FIELDS = ("n", "mean_p", "mean_t", "m2_p", "m2_t", "c_pt", "ss_res", "min_p", "max_p", "min_t", "max_t")

    def __init__(self, n_tracks: int):
        self.n_tracks = int(n_tracks)
        # one state per scale: raw values and log2(x + 1)
        self._state = {scale: self._empty() for scale in ("raw", "log")}

    def _empty(self) -> dict:
        z = np.zeros(self.n_tracks)
        return {"n": 0, "mean_p": z.copy(), "mean_t": z.copy(), "m2_p": z.copy(), "m2_t": z.copy(),
                "c_pt": z.copy(), "ss_res": z.copy(), "min_p": np.full(self.n_tracks, np.inf),
                "max_p": np.full(self.n_tracks, -np.inf), "min_t": np.full(self.n_tracks, np.inf),
                "max_t": np.full(self.n_tracks, -np.inf)}

    @property
    def n_bins(self) -> int:
        """Number of bins (per track) seen so far."""
        return self._state["raw"]["n"]

    def update(self, pred_batch, target_batch) -> "TrackAccumulator":
        """Add a batch.

        Parameters
        ----------
        pred_batch, target_batch : ndarray, float, shape (..., n_tracks)
            Same shape, e.g. (batch, n_bins, n_tracks); every leading position is one bin. Any float
            dtype (float16 targets included); sums are in float64.

        Returns
        -------
        self
        """
        p = _as_tracks(pred_batch, "pred_batch")
        t = _as_tracks(target_batch, "target_batch")
        if np.shape(pred_batch) != np.shape(target_batch):
            raise ValueError(f"pred shape {np.shape(pred_batch)} != target shape {np.shape(target_batch)}")
        if p.shape[1] != self.n_tracks:
            raise ValueError(f"batch has {p.shape[1]} tracks, accumulator {self.n_tracks}")
        if p.shape[0] == 0:
            return self
        p = p.astype(np.float64)
        t = t.astype(np.float64)
        if not (np.isfinite(p).all() and np.isfinite(t).all()):
            raise ValueError("pred and target must be finite (mask or drop NaN/inf bins before evaluating)")
        self._merge("raw", self._batch_state(p, t))
        self._merge("log", self._batch_state(_log_coverage(p), _log_coverage(t)))
        return self

    def merge(self, other: "TrackAccumulator") -> "TrackAccumulator":
        """Fold in another accumulator (e.g. one per Dask chunk); returns self."""
        if other.n_tracks != self.n_tracks:
            raise ValueError(f"cannot merge {other.n_tracks} tracks into {self.n_tracks}")
        for scale in self._state:
            self._merge(scale, other._state[scale])
        return self

    @staticmethod
    def _batch_state(p: np.ndarray, t: np.ndarray) -> dict:
        mp, mt = p.mean(axis=0), t.mean(axis=0)
        pc, tc = p - mp, t - mt
        r = t - p
        return {"n": p.shape[0], "mean_p": mp, "mean_t": mt, "m2_p": np.einsum("ij,ij->j", pc, pc),
                "m2_t": np.einsum("ij,ij->j", tc, tc), "c_pt": np.einsum("ij,ij->j", pc, tc),
                "ss_res": np.einsum("ij,ij->j", r, r), "min_p": p.min(axis=0), "max_p": p.max(axis=0),
                "min_t": t.min(axis=0), "max_t": t.max(axis=0)}

    def _merge(self, scale: str, b: dict) -> None:
        a = self._state[scale]
        na, nb = a["n"], b["n"]
        if nb == 0:
            return
        if na == 0:
            self._state[scale] = {k: (np.array(v, copy=True) if k != "n" else v) for k, v in b.items()}
            return
        n = na + nb
        dp = b["mean_p"] - a["mean_p"]
        dt = b["mean_t"] - a["mean_t"]
        w = na * nb / n
        self._state[scale] = {
            "n": n,
            "mean_p": a["mean_p"] + dp * (nb / n), "mean_t": a["mean_t"] + dt * (nb / n),
            "m2_p": a["m2_p"] + b["m2_p"] + dp * dp * w, "m2_t": a["m2_t"] + b["m2_t"] + dt * dt * w,
            "c_pt": a["c_pt"] + b["c_pt"] + dp * dt * w, "ss_res": a["ss_res"] + b["ss_res"],
            "min_p": np.minimum(a["min_p"], b["min_p"]), "max_p": np.maximum(a["max_p"], b["max_p"]),
            "min_t": np.minimum(a["min_t"], b["min_t"]), "max_t": np.maximum(a["max_t"], b["max_t"]),
        }

    def _scores(self, scale: str) -> tuple[np.ndarray, np.ndarray]:
        s = self._state[scale]
        const_p = s["max_p"] == s["min_p"]
        const_t = s["max_t"] == s["min_t"]
        with np.errstate(invalid="ignore", divide="ignore"):
            r = s["c_pt"] / np.sqrt(s["m2_p"] * s["m2_t"])
            r2 = 1.0 - s["ss_res"] / s["m2_t"]
        r = np.clip(r, -1.0, 1.0)
        r[const_p | const_t | (s["n"] < 2)] = np.nan
        # R^2 is undefined for a constant target (sklearn's force_finite would report 1 or 0 instead).
        r2[const_t | (s["n"] < 2)] = np.nan
        return r, r2

    def result(self, *, target_ids=None, descriptions=None) -> pd.DataFrame:
        """The per-track table.

        Parameters
        ----------
        target_ids : sequence of str, length n_tracks, optional
            Default: the track indices as text.
        descriptions : sequence of str, length n_tracks, optional
            Basenji target descriptions (``"CAGE:liver"``); adds ``description`` and ``assay``.

        Returns
        -------
        DataFrame, one row per track
            ``index, identifier, [description, assay,] n_bins, pearson_r, r2, pearson_r_log, r2_log``.
            Pearson R is NaN where prediction or target is constant over all bins; R^2 where the target is.
        """
        df = _track_frame(self.n_tracks, target_ids, descriptions)
        df["n_bins"] = self.n_bins
        for scale, suffix in (("raw", ""), ("log", "_log")):
            r, r2 = self._scores(scale)
            df["pearson_r" + suffix] = r
            df["r2" + suffix] = r2
        n_const = int(np.isnan(df["pearson_r"]).sum())
        if n_const:
            logger.warning("%d of %d tracks have a constant prediction or target: Pearson R is NaN",
                           n_const, self.n_tracks)
        return df


def track_metrics(pred, target, *, target_ids=None, descriptions=None, batch_windows: int = 64) -> pd.DataFrame:
    """Per-track Pearson R and R^2 over all bins pooled, raw and on log2(x + 1).

    Parameters
    ----------
    pred, target : ndarray, float, shape (n_windows, n_bins, n_tracks)
        Predictions and observed coverage (any float dtype; memory-mapped arrays are read in slices).
    target_ids, descriptions : sequence of str, length n_tracks, optional
        See :meth:`TrackAccumulator.result`.
    batch_windows : int
        Windows per slice, to bound the float64 working copies.

    Returns
    -------
    DataFrame, one row per track
        ``index, identifier, [description, assay,] n_bins, pearson_r, r2, pearson_r_log, r2_log``;
        ``r2`` is the coefficient of determination 1 - SS_res / SS_tot of the target.
    """
    if np.shape(pred) != np.shape(target):
        raise ValueError(f"pred shape {np.shape(pred)} != target shape {np.shape(target)}")
    acc = TrackAccumulator(np.shape(pred)[-1])
    n = np.shape(pred)[0] if np.ndim(pred) >= 2 else 1
    step = max(int(batch_windows), 1)
    for i in range(0, n, step):
        acc.update(pred[i:i + step], target[i:i + step])
    return acc.result(target_ids=target_ids, descriptions=descriptions)


def _window_moments(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Per window and track: sums of x, t, x^2, t^2, x t (float64, shape (n_windows, 5, n_tracks))."""
    return np.stack([x.sum(1), t.sum(1), (x * x).sum(1), (t * t).sum(1), (x * t).sum(1)], axis=1)


def window_bootstrap_r(preds, target, *, n_bootstrap: int = 1000, seed: int = 0) -> dict:
    """Per-track Pearson R (as :func:`track_metrics`) on bootstrap resamples of whole windows.

    Bins of one window are correlated, so the windows, not the bins, are resampled with replacement.
    Every prediction is scored on the same resamples, so differences between them are paired.

    Parameters
    ----------
    preds : sequence of ndarray, each float, shape (n_windows, n_bins, n_tracks)
        Predictions to score (e.g. several seeds of a model and a baseline).
    target : ndarray, float, shape (n_windows, n_bins, n_tracks)
        Observed coverage.
    n_bootstrap : int
        Resamples.
    seed : int
        Seed of the resampling.

    Returns
    -------
    dict
        ``"raw"`` and ``"log"`` (on log2(x + 1)): ndarray, float64, shape (n_preds, n_bootstrap, n_tracks),
        NaN where a resample leaves a constant side; ``"counts"``: int64 (n_bootstrap, n_windows), how often
        each window was drawn.
    """
    target = np.asarray(target, dtype=np.float64)
    if target.ndim != 3:
        raise ValueError(f"target must be (n_windows, n_bins, n_tracks), not shape {target.shape}")
    n_win, n_bins = target.shape[:2]
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_win, np.full(n_win, 1.0 / n_win), size=int(n_bootstrap))
    out = {"counts": counts}
    for scale, f in (("raw", lambda a: a), ("log", _log_coverage)):
        tt = f(target)
        tt = tt - tt.mean(axis=(0, 1))  # correlation is shift-invariant; centring keeps the sums exact
        res = []
        for i, p in enumerate(preds):
            if np.shape(p) != target.shape:
                raise ValueError(f"prediction {i} has shape {np.shape(p)}, the target {target.shape}")
            pp = f(np.asarray(p, dtype=np.float64))
            pp = pp - pp.mean(axis=(0, 1))
            sx, st, sxx, stt, sxt = np.einsum("bw,wkt->kbt", counts.astype(np.float64), _window_moments(pp, tt))
            n = (counts.sum(1) * n_bins)[:, None].astype(np.float64)
            vx, vt = sxx - sx * sx / n, stt - st * st / n
            with np.errstate(invalid="ignore", divide="ignore"):
                r = (sxt - sx * st / n) / np.sqrt(vx * vt)
            # a side constant over the resample: numerically ~0 variance relative to its scale
            r[(vx <= 1e-12 * np.maximum(sxx, 1e-300)) | (vt <= 1e-12 * np.maximum(stt, 1e-300))] = np.nan
            res.append(np.clip(r, -1.0, 1.0))
        out[scale] = np.stack(res) if res else np.empty((0, int(n_bootstrap), target.shape[2]))
    return out


# ----------------------------------------------------------------------------------------------------
# gene-level accuracy


@dataclasses.dataclass(frozen=True)
class GeneValues:
    """Predicted and observed signal per gene (summed over its TSS bins).

    Attributes
    ----------
    genes : DataFrame, columns ``gene_id, chrom, n_tss, n_bins``
        One row per gene with at least one TSS inside the windows' bins.
    pred, obs : ndarray, float64, shape (n_genes, n_tracks)
    target_ids : list of str, length n_tracks
    """

    genes: pd.DataFrame
    pred: np.ndarray
    obs: np.ndarray
    target_ids: list

    def long(self) -> pd.DataFrame:
        """Tidy table ``gene_id, identifier, pred, obs`` (gene-major), e.g. for writing."""
        n_g, n_t = self.pred.shape
        return pd.DataFrame({"gene_id": np.repeat(self.genes["gene_id"].to_numpy(), n_t),
                             "identifier": np.tile(np.asarray(self.target_ids, dtype=object), n_g),
                             "pred": self.pred.ravel(), "obs": self.obs.ravel()})


def _map_tss(windows: pd.DataFrame, tss: pd.DataFrame, *, n_bins: int, pool_width: int,
             crop_bp: int) -> tuple[np.ndarray, np.ndarray]:
    """Window and bin of each TSS row (-1 where no window's bins hold it), first window wins."""
    starts = windows["start"].to_numpy(np.int64) + crop_bp
    span = n_bins * pool_width
    win = np.full(len(tss), -1, np.int64)
    pos_all = tss["tss"].to_numpy(np.int64)
    w_chrom = windows["chrom"].astype(str).to_numpy()
    t_chrom = tss["chrom"].astype(str).to_numpy()
    for chrom in np.unique(w_chrom):
        rows = np.flatnonzero(t_chrom == chrom)
        if rows.size == 0:
            continue
        order = rows[np.argsort(pos_all[rows], kind="stable")]
        pos = pos_all[order]
        # Later windows are assigned first and then overwritten, so the first covering window wins.
        for w in np.flatnonzero(w_chrom == chrom)[::-1]:
            i0, i1 = np.searchsorted(pos, [starts[w], starts[w] + span], side="left")
            win[order[i0:i1]] = w
    bins = np.where(win >= 0, (pos_all - starts[np.maximum(win, 0)]) // pool_width, -1)
    return win, bins


def gene_metrics(pred, target, *, windows: pd.DataFrame, tss: pd.DataFrame, pool_width: int, crop_bp: int = 0,
                 target_ids=None, unique_bins: bool = True) -> tuple[pd.DataFrame, GeneValues]:
    """Gene-level accuracy: signal at each gene's TSS bins, correlated across genes per track.

    Parameters
    ----------
    pred, target : ndarray, float, shape (n_windows, n_bins, n_tracks)
    windows : DataFrame, columns ``chrom, start, end`` (0-based, end exclusive), n_windows rows
        The input sequence of each window, in the order of the arrays' first axis.
    tss : DataFrame, columns ``gene_id, chrom, tss`` (0-based position)
        Several rows per gene allowed (alternative TSSs), e.g. from :func:`genomodel.io.gtf.model_tss`.
    pool_width : int
        Base pairs per bin.
    crop_bp : int
        Base pairs cropped from each end of the window before the first bin; bin of position ``pos``
        is ``(pos - start - crop_bp) // pool_width``, kept only inside ``[0, n_bins)``.
    target_ids : sequence of str, length n_tracks, optional
    unique_bins : bool
        Each TSS is counted once, in the first window (in array order) whose bins cover it. When
        true (default), a bin holding several TSSs of the same gene counts once, so that genes with
        many annotated isoforms starting close together are not weighted by their isoform count;
        when false, every distinct TSS adds its bin (variant-effect style "summed over TSSs").

    Returns
    -------
    tracks : DataFrame, one row per track
        ``index, identifier, n_genes, gene_r, gene_r_log, n_genes_nonzero, gene_r_nonzero,
        gene_r_nonzero_log``; ``nonzero`` restricts to genes whose observed value is > 0 in that
        track; ``_log`` correlates log2(x + 1). NaN where fewer than 2 genes or a constant side.
    values : GeneValues
        The gene x track matrices (genes with no TSS in any window's bins are left out).
    """
    if np.shape(pred) != np.shape(target) or np.ndim(pred) != 3:
        raise ValueError(f"pred {np.shape(pred)} and target {np.shape(target)} must both be "
                         "(n_windows, n_bins, n_tracks)")
    n_windows, n_bins, n_tracks = np.shape(pred)
    if len(windows) != n_windows:
        raise ValueError(f"{len(windows)} windows for {n_windows} predicted windows")
    if pool_width < 1 or crop_bp < 0:
        raise ValueError(f"pool_width must be >= 1 and crop_bp >= 0, got {pool_width}, {crop_bp}")
    lengths = windows["end"].to_numpy(np.int64) - windows["start"].to_numpy(np.int64) - 2 * crop_bp
    if n_windows and np.any(lengths != n_bins * pool_width):
        raise ValueError(f"windows of (end - start - 2 * crop_bp) = {sorted(set(lengths.tolist()))[:3]} bp do not "
                         f"match {n_bins} bins x {pool_width} bp; check pool_width and crop_bp")
    tss = tss.drop_duplicates(["gene_id", "chrom", "tss"])
    win, bins = _map_tss(windows, tss, n_bins=n_bins, pool_width=pool_width, crop_bp=crop_bp)
    hit = win >= 0
    logger.info("%d of %d TSSs (%d of %d genes) fall in the windows' bins", int(hit.sum()), len(tss),
                tss["gene_id"][hit].nunique(), tss["gene_id"].nunique())
    mapped = pd.DataFrame({"gene_id": tss["gene_id"].to_numpy()[hit], "chrom": tss["chrom"].to_numpy()[hit],
                           "w": win[hit], "b": bins[hit]})
    n_tss = mapped.groupby("gene_id", sort=True).size()
    if unique_bins:
        mapped = mapped.drop_duplicates(["gene_id", "w", "b"])
    codes, gene_ids = pd.factorize(mapped["gene_id"], sort=True)
    n_genes = len(gene_ids)
    # A sparse gene x TSS-bin indicator sums the bins of each gene for all tracks at once.
    summer = scipy.sparse.csr_matrix((np.ones(len(mapped)), (codes, np.arange(len(mapped)))),
                                     shape=(n_genes, len(mapped)))
    w, b = mapped["w"].to_numpy(), mapped["b"].to_numpy()
    gpred = np.asarray(summer @ np.asarray(pred[w, b, :], dtype=np.float64)).reshape(n_genes, n_tracks)
    gobs = np.asarray(summer @ np.asarray(target[w, b, :], dtype=np.float64)).reshape(n_genes, n_tracks)
    genes = pd.DataFrame({"gene_id": np.asarray(gene_ids, dtype=object),
                          "chrom": mapped.groupby("gene_id", sort=True)["chrom"].first().to_numpy(),
                          "n_tss": n_tss.to_numpy(),
                          "n_bins": np.bincount(codes, minlength=n_genes)})
    df = _track_frame(n_tracks, target_ids, None)
    nonzero = gobs > 0
    lp, lo = _log_coverage(gpred), _log_coverage(gobs)
    df["n_genes"] = n_genes
    df["gene_r"] = _masked_pearson(gpred, gobs)
    df["gene_r_log"] = _masked_pearson(lp, lo)
    df["n_genes_nonzero"] = nonzero.sum(axis=0)
    df["gene_r_nonzero"] = _masked_pearson(gpred, gobs, nonzero)
    df["gene_r_nonzero_log"] = _masked_pearson(lp, lo, nonzero)
    return df, GeneValues(genes=genes, pred=gpred, obs=gobs, target_ids=list(df["identifier"]))


# ----------------------------------------------------------------------------------------------------
# peaks


def call_peaks(target, *, fdr: float = 0.01, rounding: str = "ceil") -> np.ndarray:
    """Call peaks in observed coverage: Poisson tail p-values per bin, Benjamini-Hochberg per track.

    For each track, lambda is the track's mean bin value over all windows and bins, and a bin with
    value x has p = P(X >= x) for X ~ Poisson(lambda), i.e. ``poisson.sf(k - 1, lambda)``.

    Parameters
    ----------
    target : ndarray, float, shape (n_windows, n_bins, n_tracks)
        Observed coverage (non-negative; binned coverage is usually not integer).
    fdr : float
        Benjamini-Hochberg level, over all bins of a track.
    rounding : {"ceil", "round"}
        How a non-integer value x becomes the count k. ``"ceil"`` (default) makes p exactly
        P(X >= x) for the integer-valued X, so a bin is never called on a value it does not reach;
        ``"round"`` matches basenji's ``basenji_test.py`` (round half to even), which treats e.g.
        2.6 as 3.

    Returns
    -------
    ndarray, bool, shape (n_windows, n_bins, n_tracks)
        True at peak bins (BH-adjusted p <= fdr). A track that is all zero has no peaks.
    """
    if not 0 < fdr < 1:
        raise ValueError(f"fdr must be in (0, 1), got {fdr}")
    to_count = {"ceil": np.ceil, "round": np.round}.get(rounding)
    if to_count is None:
        raise ValueError(f"rounding must be 'ceil' or 'round', got {rounding!r}")
    target = np.asarray(target)
    peaks = np.zeros(target.shape, dtype=bool)
    flat_peaks = peaks.reshape(-1, target.shape[-1])
    flat = _as_tracks(target, "target")
    for j in range(flat.shape[1]):
        x = flat[:, j].astype(np.float64)
        lam = x.mean() if x.size else 0.0
        if not np.isfinite(lam):
            raise ValueError(f"track {j} has non-finite values")
        if lam <= 0:
            continue
        p = scipy.stats.poisson.sf(to_count(x) - 1, lam)
        q = scipy.stats.false_discovery_control(p, method="bh")
        flat_peaks[:, j] = q <= fdr
    logger.info("called peaks in %d tracks: %.3g%% of bins on average", flat.shape[1],
                100 * flat_peaks.mean() if flat_peaks.size else 0.0)
    return peaks


def peak_auprc(pred, peaks) -> np.ndarray:
    """How well predictions rank peak bins above the rest: average precision per track.

    Parameters
    ----------
    pred : ndarray, float, shape (n_windows, n_bins, n_tracks)
    peaks : ndarray, bool, shape (n_windows, n_bins, n_tracks)
        E.g. from :func:`call_peaks` on the observed coverage.

    Returns
    -------
    ndarray, float64, shape (n_tracks,)
        ``sklearn.metrics.average_precision_score`` over all bins of each track; NaN (with a logged
        warning) for tracks without peaks, where precision is undefined.
    """
    from sklearn.metrics import average_precision_score

    if np.shape(pred) != np.shape(peaks):
        raise ValueError(f"pred shape {np.shape(pred)} != peaks shape {np.shape(peaks)}")
    p = _as_tracks(pred, "pred")
    y = _as_tracks(peaks, "peaks").astype(bool)
    out = np.full(p.shape[1], np.nan)
    empty = []
    for j in range(p.shape[1]):
        if not y[:, j].any():
            empty.append(j)
            continue
        out[j] = average_precision_score(y[:, j], p[:, j].astype(np.float64))
    if empty:
        logger.warning("%d of %d tracks have no peaks: AUPRC is NaN (tracks %s%s)", len(empty), p.shape[1],
                       empty[:10], "..." if len(empty) > 10 else "")
    return out


# ----------------------------------------------------------------------------------------------------
# everything together


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Result of :func:`evaluate_all`.

    Attributes
    ----------
    tracks : DataFrame
        One row per track, columns in :data:`TABLE_COLUMNS` order (those that were computed).
    genes : GeneValues or None
        Gene x track matrices when TSSs were given.
    """

    tracks: pd.DataFrame
    genes: GeneValues | None = None


def evaluate_all(pred, target, *, target_ids=None, descriptions=None, windows: pd.DataFrame | None = None,
                 tss: pd.DataFrame | None = None, pool_width: int | None = None, crop_bp: int = 0,
                 peak_fdr: float | None = 0.01, peak_rounding: str = "ceil") -> Evaluation:
    """All accuracy measures in one per-track table.

    Parameters
    ----------
    pred, target : ndarray, float, shape (n_windows, n_bins, n_tracks)
    target_ids, descriptions : sequence of str, length n_tracks, optional
    windows, tss, pool_width, crop_bp
        Gene-level accuracy (see :func:`gene_metrics`) is computed when ``windows``, ``tss`` and
        ``pool_width`` are all given.
    peak_fdr : float or None
        FDR for :func:`call_peaks` on the target; None skips peaks and AUPRC.
    peak_rounding : {"ceil", "round"}

    Returns
    -------
    Evaluation
        ``tracks`` has ``index, identifier, [description, assay,] n_bins, pearson_r, r2,
        pearson_r_log, r2_log`` and, where computed, gene (``gene_r``, ``gene_r_nonzero``, ...) and
        peak (``n_peaks``, ``auprc``) columns.
    """
    table = track_metrics(pred, target, target_ids=target_ids, descriptions=descriptions)
    values = None
    gene_args = (windows is not None, tss is not None, pool_width is not None)
    if any(gene_args) and not all(gene_args):
        raise ValueError("gene-level accuracy needs windows, tss and pool_width together")
    if all(gene_args):
        gdf, values = gene_metrics(pred, target, windows=windows, tss=tss, pool_width=pool_width,
                                   crop_bp=crop_bp, target_ids=target_ids)
        table = table.merge(gdf.drop(columns="identifier"), on="index", how="left", validate="1:1")
    if peak_fdr is not None:
        peaks = call_peaks(target, fdr=peak_fdr, rounding=peak_rounding)
        table["n_peaks"] = peaks.reshape(-1, peaks.shape[-1]).sum(axis=0)
        table["auprc"] = peak_auprc(pred, peaks)
    table = table[[c for c in TABLE_COLUMNS if c in table.columns]]
    return Evaluation(tracks=table, genes=values)


# ----------------------------------------------------------------------------------------------------
# report


def _scatter_figure(pred, target, table: pd.DataFrame, *, max_tracks: int, n_points: int,
                    rng: np.random.Generator):
    from matplotlib.figure import Figure

    n_tracks = np.shape(pred)[-1]
    tracks = np.unique(np.linspace(0, n_tracks - 1, min(max_tracks, n_tracks)).round().astype(int))
    n_rows_total = int(np.prod(np.shape(pred)[:-1]))
    take = np.sort(rng.choice(n_rows_total, size=min(n_points, n_rows_total), replace=False))
    lead = np.unravel_index(take, np.shape(pred)[:-1])
    ncol = int(np.ceil(np.sqrt(len(tracks))))
    nrow = int(np.ceil(len(tracks) / ncol))
    fig = Figure(figsize=(3 * ncol, 3 * nrow), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False)
    ids = table.set_index("index")["identifier"] if "identifier" in table else None
    r_log = table.set_index("index")["pearson_r_log"] if "pearson_r_log" in table else None
    for ax, j in zip(axes.ravel(), tracks):
        # Sampled bins only: a full test set has millions of points per track.
        p = np.maximum(np.asarray(pred[lead + (j,)], dtype=np.float64), 0) + 1
        t = np.maximum(np.asarray(target[lead + (j,)], dtype=np.float64), 0) + 1
        ax.scatter(t, p, s=3, alpha=0.3, linewidths=0, color="tab:blue", rasterized=True)
        lo, hi = min(t.min(), p.min()), max(t.max(), p.max())
        ax.plot([lo, hi], [lo, hi], color="0.5", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        title = str(ids[j]) if ids is not None and j in ids.index else f"track {j}"
        if r_log is not None and j in r_log.index and np.isfinite(r_log[j]):
            title += f"\nR(log) = {r_log[j]:.3f}"
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("observed + 1", fontsize=8)
        ax.set_ylabel("predicted + 1", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(tracks):]:
        ax.set_visible(False)
    return fig


def _draw_box(ax, x: float, v: np.ndarray, *, width: float = 0.5) -> None:
    """Tukey box (quartiles, median, whiskers to the furthest point within 1.5 IQR) at ``x``.

    Drawn by hand because ``Axes.boxplot`` iterates the global rcParams, which imports pyplot and
    resolves the global backend: a side effect a library must not have.
    """
    from matplotlib.patches import Rectangle

    q1, med, q3 = np.percentile(v, [25, 50, 75])
    iqr = q3 - q1
    lo = v[v >= q1 - 1.5 * iqr].min()
    hi = v[v <= q3 + 1.5 * iqr].max()
    ax.add_patch(Rectangle((x - width / 2, q1), width, q3 - q1, fill=False, edgecolor="black", lw=1, zorder=2))
    ax.hlines(med, x - width / 2, x + width / 2, color="tab:orange", lw=1.5, zorder=2)
    ax.vlines([x, x], [lo, q3], [q1, hi], color="black", lw=1, zorder=2)
    ax.hlines([lo, hi], x - width / 4, x + width / 4, color="black", lw=1, zorder=2)


def _assay_figure(table: pd.DataFrame, *, metric: str, rng: np.random.Generator):
    from matplotlib.figure import Figure

    assay = table["assay"].fillna("NA") if "assay" in table else pd.Series("all", index=table.index)
    groups = [(name, table.loc[assay == name, metric].to_numpy(np.float64)) for name in sorted(assay.unique())]
    groups = [(name, v[np.isfinite(v)]) for name, v in groups]
    fig = Figure(figsize=(max(3.0, 1.2 * len(groups) + 1.5), 3.5), layout="constrained")
    ax = fig.subplots()
    shown = [(name, v) for name, v in groups if v.size]
    if shown:
        for k, (_, v) in enumerate(shown, start=1):
            _draw_box(ax, k, v)
            ax.scatter(k + rng.uniform(-0.15, 0.15, v.size), v, s=6, alpha=0.6, color="tab:blue", linewidths=0,
                       zorder=3)
        ax.set_xticks(range(1, len(shown) + 1), [f"{name}\n(n={v.size})" for name, v in shown], fontsize=8)
        ax.set_xlim(0.4, len(shown) + 0.6)
    else:
        ax.text(0.5, 0.5, f"no finite {metric}", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} by assay", fontsize=9)
    return fig


def write_report(out_dir, table, *, pred=None, target=None, genes: GeneValues | None = None,
                 provenance: dict | None = None, max_tracks: int = 16, n_points: int = 2000,
                 seed: int = 0) -> dict:
    """Write the accuracy table and figures into a folder (each file atomically).

    Parameters
    ----------
    out_dir : path-like
        Created if needed.
    table : DataFrame or Evaluation
        Per-track table (e.g. ``evaluate_all(...).tracks``); an :class:`Evaluation` also supplies
        ``genes``.
    pred, target : ndarray, float, shape (n_windows, n_bins, n_tracks), optional
        When both given, ``scatter.png`` shows predicted vs observed (log axes, value + 1) for a
        random sample of ``n_points`` bins of at most ``max_tracks`` evenly spaced tracks.
    genes : GeneValues, optional
        Written as ``genes.tsv.gz`` (long: gene_id, identifier, pred, obs).
    provenance : dict, optional
        A :func:`genocore.provenance.record`; written as ``provenance.json`` with the outputs' hashes.
    seed : int
        Seed of the bin sample and of the strip-plot jitter.

    Returns
    -------
    dict of str -> Path
        ``acc``, ``pearson_by_assay`` and, when written, ``scatter``, ``genes``, ``provenance``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if isinstance(table, Evaluation):
        genes = table.genes if genes is None else genes
        table = table.tracks
    rng = np.random.default_rng(seed)
    written = {"acc": write_table(out / "acc.tsv", table, float_format="%.6g")}
    if genes is not None:
        written["genes"] = write_table(out / "genes.tsv.gz", genes.long(), float_format="%.6g")
    if pred is not None and target is not None:
        if np.shape(pred) != np.shape(target):
            raise ValueError(f"pred shape {np.shape(pred)} != target shape {np.shape(target)}")
        fig = _scatter_figure(pred, target, table, max_tracks=max_tracks, n_points=n_points, rng=rng)
        written["scatter"] = save_png(fig, out / "scatter.png")
    written["pearson_by_assay"] = save_png(_assay_figure(table, metric="pearson_r", rng=rng),
                                            out / "pearson_by_assay.png")
    if provenance is not None:
        rec = dict(provenance)
        rec["outputs"] = {name: {"path": p.name, "sha256": sha256(p)} for name, p in sorted(written.items())}
        written["provenance"] = write_text(out / "provenance.json", json.dumps(rec, indent=2, sort_keys=True) + "\n")
    logger.info("wrote evaluation report to %s: %s", out, ", ".join(p.name for p in written.values()))
    return written
