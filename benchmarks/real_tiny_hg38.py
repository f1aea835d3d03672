"""The shipped small CNN against a k-mer ridge-regression baseline on real data (baskerville tiny hg38),
over several seeds, with bootstrap intervals over test windows.

One run:

1. fits a k-mer ridge-regression baseline once (it has no seed): for each 32-bp target bin, the counts
   of all k-mers whose start lies in a window of ``2h + 1`` bins centred on the bin (one ``bincount``
   per split and a cumulative sum over bins, no per-bin Python loop), standardised; targets
   ``log(1 + y)`` per track; a closed-form ridge solve (one eigendecomposition of X'X, so every alpha
   costs one small matrix product). k, h and alpha are chosen on the validation split by the mean over
   tracks of (Pearson R raw + Pearson R log) / 2; test predictions are ``expm1`` of the ridge output,
   clipped at 0;
2. for each seed (``--seeds``), trains ``tiny_hg38_small`` (131,072 bp in, 2048 x 74 out at 32 bp) on
   the 45 training windows of ``cnn_baskerville_tiny_hg38`` in the real-data folder beside the project
   (``../shared/data``, or ``$GENOSUITE_SHARED_DATA``) until early stopping or the wall-time budget
   (``--minutes`` per seed), keeping the best weights by validation loss, and predicts the test split
   (forward and reverse complement averaged);
3. scores every seed and the baseline with :func:`genomodel.evaluate.track_metrics` (Pearson R per
   track, raw and on log2(x + 1)) and reports, per assay (the description's prefix: CAGE, DNASE, RNA,
   RNA3) and overall, the mean over tracks averaged over seeds, each seed, the baseline, and 95%
   bootstrap intervals over test windows (:func:`genomodel.evaluate.window_bootstrap_r`; the same
   resamples for every seed and the baseline, so the difference is paired).

Each finished step is kept under ``--out`` (``baseline/``, ``seed_<n>/``): run the same command again
and finished seeds are read back, not retrained. Writes ``real_tiny_hg38.json``, per-track tables and
``real_tiny_hg38.png``.

Usage (from the repository root)::

    .venv/bin/python benchmarks/real_tiny_hg38.py --out real_tiny_out            # seeds 1, 2, 3
    .venv/bin/python benchmarks/real_tiny_hg38.py --out o --seeds 1 --minutes 2  # a quick look

Without the data folder the script prints ``skipped`` and exits with 0.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

# the real-data folder beside the project, as the tests find it
DEFAULT_DATA = str(Path(os.environ.get("GENOSUITE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
                   / "cnn_baskerville_tiny_hg38")
PARAMS_NAME = "tiny_hg38_small"

#: Baseline search space (chosen on the validation split).
KMER_KS = (4, 5)
HALF_WINDOWS = (4, 8, 16, 32, 64)  # bins each side: windows of 9 .. 129 bins = +-144 .. +-2064 bp
ALPHA_FACTORS = tuple(10.0 ** e for e in (-3, -2.5, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2))  # x n_train rows

ASSAYS = ("CAGE", "DNASE", "RNA", "RNA3")


# -- helpers -----------------------------------------------------------------------------------------

def _log(t_start: float, msg: str) -> None:
    print(f"[real_tiny_hg38 {time.perf_counter() - t_start:7.0f} s] {msg}", flush=True)


def _versions() -> dict:
    import keras
    import matplotlib
    import numpy as np
    import pandas as pd
    import tensorflow as tf

    return {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__,
            "tensorflow": tf.__version__, "keras": keras.__version__, "matplotlib": matplotlib.__version__,
            "platform": platform.platform(), "cpus_usable": len(os.sched_getaffinity(0))}


def load_split(data_dir, split: str):
    """(codes uint8 (n, L), targets float32 (n, bins, tracks)) of one split, read through tfrecord."""
    import numpy as np

    from genomodel.io import tfrecord

    codes, targets = [], []
    for c, t in tfrecord.iterate_records(data_dir, split):
        codes.append(c)
        targets.append(t)
    return np.stack(codes), np.stack(targets)


def one_hot(codes):
    """float32 (n, L, 4); N (code 4) is an all-zero row, as in ``tfrecord.dataset``."""
    import numpy as np

    return np.eye(5, 4, dtype=np.float32)[codes]


def apply_overrides(values: dict, overrides: dict) -> dict:
    """The params dict with ``section.key`` overrides applied (a nested copy)."""
    out = json.loads(json.dumps(values))
    for dotted, v in overrides.items():
        node = out
        *path, last = dotted.split(".")
        for p in path:
            node = node[p] if not p.isdigit() else node[int(p)]
        node[int(last) if last.isdigit() else last] = v
    return out


# -- the k-mer ridge baseline --------------------------------------------------------------------------

def bin_kmer_counts(codes, k: int, pool: int, bin_lo: int, bin_hi: int):
    """Counts of every k-mer per ``pool``-bp bin of sequence bins ``bin_lo`` .. ``bin_hi - 1``.

    A k-mer belongs to the bin of its first base; k-mers with an N are dropped. One ``bincount``
    over all sequences.

    Returns
    -------
    ndarray, uint16, shape (n, bin_hi - bin_lo, 4**k)
    """
    import numpy as np

    n, L = codes.shape
    nk = 4 ** k
    c = codes.astype(np.int64)
    idx = np.zeros((n, L - k + 1), dtype=np.int64)
    ok = np.ones((n, L - k + 1), dtype=bool)
    for j in range(k):
        part = c[:, j:L - k + 1 + j]
        idx = idx * 4 + np.minimum(part, 3)
        ok &= part < 4
    b = np.arange(L - k + 1) // pool
    keep = ok & (b >= bin_lo) & (b < bin_hi)
    nb = bin_hi - bin_lo
    flat = (np.arange(n)[:, None] * nb + (b - bin_lo)[None, :]) * nk + idx
    counts = np.bincount(flat[keep], minlength=n * nb * nk)
    return counts.reshape(n, nb, nk).astype(np.uint16)


def window_features(bin_counts, half: int, n_out: int):
    """k-mer counts in the ``2 * half + 1`` bins centred on each of ``n_out`` output bins.

    ``bin_counts`` covers ``n_out + 2 * H`` bins (H >= half) with output bin i at row ``H + i``;
    window sums come from a cumulative sum over bins.

    Returns
    -------
    ndarray, float32, shape (n * n_out, 4**k)
    """
    import numpy as np

    n, nb, nk = bin_counts.shape
    H = (nb - n_out) // 2
    if half > H:
        raise ValueError(f"half window {half} bins exceeds the {H} bins counted beyond the targets")
    cum = np.zeros((n, nb + 1, nk), dtype=np.int32)
    np.cumsum(bin_counts, axis=1, dtype=np.int32, out=cum[:, 1:])
    lo = H - half + np.arange(n_out)
    x = cum[:, lo + 2 * half + 1] - cum[:, lo]
    return x.reshape(n * n_out, nk).astype(np.float32)


class RidgePath:
    """Ridge regression of centred Y on standardised X for many alphas from one eigendecomposition.

    Fits ``(Xs'Xs + alpha I) W = Xs'(Y - mean Y)`` with ``Xs`` the train-standardised features, in float64.
    """

    def __init__(self, x, y, chunk: int = 16384):
        import numpy as np

        self.mean = x.mean(axis=0, dtype=np.float64)
        sd = x.std(axis=0, dtype=np.float64)
        self.scale = np.where(sd > 0, sd, 1.0)
        self.y_mean = y.mean(axis=0)
        p = x.shape[1]
        xtx = np.zeros((p, p))
        xty = np.zeros((p, y.shape[1]))
        for i in range(0, len(x), chunk):
            xs = (x[i:i + chunk] - self.mean) / self.scale
            xtx += xs.T @ xs
            xty += xs.T @ (y[i:i + chunk] - self.y_mean)
        self.lam, self.vecs = np.linalg.eigh(xtx)
        self.vty = self.vecs.T @ xty
        self.n = len(x)

    def coef(self, alpha: float):
        return self.vecs @ (self.vty / (self.lam + alpha)[:, None])

    def predict(self, x, w, chunk: int = 16384):
        import numpy as np

        out = np.empty((len(x), w.shape[1]))
        for i in range(0, len(x), chunk):
            out[i:i + chunk] = ((x[i:i + chunk] - self.mean) / self.scale) @ w + self.y_mean
        return out


def kmer_baseline(splits: dict, *, pool: int, crop_bins: int, descriptions, t_start: float):
    """Fit the baseline, choosing k, half window and alpha on the validation split.

    Returns (test predictions (n, bins, tracks) float32, search table as a list of dicts, chosen dict).
    """
    import numpy as np

    from genomodel.evaluate import track_metrics

    n_out = splits["train"][1].shape[1]
    H = max(HALF_WINDOWS)
    lo, hi = crop_bins - H, crop_bins + n_out + H
    ylog = {s: np.log1p(np.maximum(splits[s][1], 0)).reshape(-1, splits[s][1].shape[2]).astype(np.float64)
            for s in ("train", "valid")}
    valid_y = splits["valid"][1]
    grid, best = [], None
    for k in KMER_KS:
        counts = {s: bin_kmer_counts(splits[s][0], k, pool, lo, hi) for s in ("train", "valid")}
        for half in HALF_WINDOWS:
            t0 = time.perf_counter()
            xtr = window_features(counts["train"], half, n_out)
            xva = window_features(counts["valid"], half, n_out)
            path = RidgePath(xtr, ylog["train"])
            for f in ALPHA_FACTORS:
                alpha = f * path.n
                pv = np.clip(np.expm1(path.predict(xva, path.coef(alpha))), 0, None).reshape(valid_y.shape)
                m = track_metrics(pv, valid_y, descriptions=descriptions)
                row = {"k": k, "half_bins": half, "window_bp": (2 * half + 1) * pool, "alpha": alpha,
                       "alpha_factor": f, "valid_r": float(np.nanmean(m.pearson_r)),
                       "valid_r_log": float(np.nanmean(m.pearson_r_log))}
                row["score"] = (row["valid_r"] + row["valid_r_log"]) / 2
                grid.append(row)
                if best is None or row["score"] > best["score"]:
                    best = row
            top = max((r for r in grid if r["k"] == k and r["half_bins"] == half), key=lambda r: r["score"])
            _log(t_start, f"baseline k={k} window {(2 * half + 1) * pool} bp: best valid R {top['valid_r']:.3f} "
                          f"log {top['valid_r_log']:.3f} (alpha {top['alpha_factor']:g} x n) "
                          f"[{time.perf_counter() - t0:.0f} s]")
            del xtr, xva, path
        del counts
    # refit the chosen setting on train and predict test
    k, half = best["k"], best["half_bins"]
    counts = {s: bin_kmer_counts(splits[s][0], k, pool, lo, hi) for s in ("train", "test")}
    path = RidgePath(window_features(counts["train"], half, n_out), ylog["train"])
    xte = window_features(counts["test"], half, n_out)
    pred = np.clip(np.expm1(path.predict(xte, path.coef(best["alpha"]))), 0, None)
    return pred.reshape(splits["test"][1].shape).astype(np.float32), grid, best


# -- reporting -----------------------------------------------------------------------------------------

SCALES = (("pearson_r", "raw"), ("pearson_r_log", "log"))


def assay_groups(descriptions) -> dict:
    """Track indices per assay (CAGE, DNASE, RNA, RNA3, then any other prefix) and ``overall``."""
    import numpy as np

    from genomodel.evaluate import assay_of

    assays = np.array([assay_of(d) for d in descriptions], dtype=object)
    names = [a for a in ASSAYS if (assays == a).any()] + sorted(set(assays[assays != None]) - set(ASSAYS))  # noqa: E711
    out = {a: np.flatnonzero(assays == a) for a in names}
    out["overall"] = np.arange(len(descriptions))
    return out


def interval(values, level: float = 0.95) -> list:
    """Percentile interval of bootstrap values (NaN resamples dropped)."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    q = (1 - level) / 2
    return [float(np.quantile(v, q)), float(np.quantile(v, 1 - q))] if len(v) else [float("nan")] * 2


def summarise(seed_metrics: dict, base_metrics, boot: dict, groups: dict) -> dict:
    """Per assay and scale: seeds' mean (and each seed), baseline, difference, with bootstrap intervals.

    ``boot[scale]`` has shape (n_seeds + 1, B, n_tracks): the seeds in ``seed_metrics`` order, then the
    baseline.
    """
    import numpy as np

    seeds = list(seed_metrics)
    out = {}
    for a, idx in groups.items():
        row = {"n_tracks": int(len(idx))}
        for col, scale in SCALES:
            per_seed = [float(np.nanmean(seed_metrics[s][col].to_numpy()[idx])) for s in seeds]
            base = float(np.nanmean(base_metrics[col].to_numpy()[idx]))
            with np.errstate(invalid="ignore"):
                b = np.nanmean(boot[scale][:, :, idx], axis=2)  # (n_seeds + 1, B)
            model_b, base_b = b[:-1].mean(axis=0), b[-1]
            diff_b = model_b - base_b
            row[scale] = {"model": float(np.mean(per_seed)), "per_seed": dict(zip(map(str, seeds), per_seed)),
                          "seed_sd": float(np.std(per_seed, ddof=1)) if len(seeds) > 1 else float("nan"),
                          "baseline": base, "diff": float(np.mean(per_seed)) - base,
                          "model_ci": interval(model_b), "baseline_ci": interval(base_b),
                          "diff_ci": interval(diff_b),
                          "p_model_not_better": float(np.mean(diff_b[np.isfinite(diff_b)] <= 0))}
        out[a] = row
    return out


def format_table(summary: dict, scale: str) -> str:
    head = (f"{'assay':<8} {'tracks':>6} | {'R model':>8} {'95% CI':>15} {'seed SD':>7} | {'R base':>7} "
            f"{'95% CI':>15} | {'diff':>7} {'95% CI':>17} {'P(<=0)':>7} | wins")
    lines = [head, "-" * len(head)]
    for a, row in summary.items():
        r = row[scale]
        lines.append(
            f"{a:<8} {row['n_tracks']:>6} | {r['model']:8.3f} [{r['model_ci'][0]:6.3f},{r['model_ci'][1]:6.3f}] "
            f"{r['seed_sd']:7.3f} | {r['baseline']:7.3f} [{r['baseline_ci'][0]:6.3f},{r['baseline_ci'][1]:6.3f}] | "
            f"{r['diff']:+7.3f} [{r['diff_ci'][0]:+7.3f},{r['diff_ci'][1]:+7.3f}] {r['p_model_not_better']:7.3f} | "
            f"{'yes' if r['diff'] > 0 else 'no'}")
    return "\n".join(lines)


def write_figure(path, summary: dict, title: str) -> None:
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = list(summary)
    x = np.arange(len(names))
    fig = Figure(figsize=(11, 4.2))
    FigureCanvasAgg(fig)
    for j, (scale, label) in enumerate((("raw", "Pearson R (raw)"), ("log", "Pearson R (log2(x+1))"))):
        ax = fig.add_subplot(1, 2, j + 1)
        for off, key, ci, name, color in ((-0.2, "model", "model_ci", "CNN (mean of seeds)", "#3b6fb6"),
                                          (0.2, "baseline", "baseline_ci", "k-mer ridge", "#d98c3a")):
            v = np.array([summary[a][scale][key] for a in names])
            lo_hi = np.array([summary[a][scale][ci] for a in names]).T
            ax.bar(x + off, v, 0.4, label=name, color=color,
                   yerr=np.abs(lo_hi - v), error_kw={"lw": 0.8, "capsize": 2})
        for a_i, a in enumerate(names):  # each seed as a dot
            seeds = list(summary[a][scale]["per_seed"].values())
            ax.plot([a_i - 0.2] * len(seeds), seeds, "k.", ms=3)
        ax.set_xticks(x)
        ax.set_xticklabels([f"{a}\n({summary[a]['n_tracks']})" for a in names])
        ax.set_ylabel(f"mean test {label}")
        ax.axhline(0, color="black", lw=0.5)
        ax.set_title(f"{label}; bars: 95% window bootstrap", fontsize=9)
        if j == 0:
            ax.legend(frameon=False, fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


# -- steps (each kept on disk, so a rerun continues) ------------------------------------------------------

def save_npy(path, array) -> None:
    import numpy as np

    from genocore.files import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, array)


def baseline_step(out, splits, *, pool: int, crop_bins: int, descriptions, t_start: float):
    """Baseline test predictions and the chosen setting, computed once and kept in ``out/baseline``."""
    import numpy as np

    from genocore.files import write_text

    d = Path(out) / "baseline"
    if (d / "test_pred.npy").exists() and (d / "baseline.json").exists():
        _log(t_start, f"baseline: read back from {d}")
        return np.load(d / "test_pred.npy"), json.loads((d / "baseline.json").read_text())
    t0 = time.perf_counter()
    pred, grid, chosen = kmer_baseline(splits, pool=pool, crop_bins=crop_bins, descriptions=descriptions,
                                       t_start=t_start)
    info = {"chosen": chosen, "seconds": time.perf_counter() - t0, "grid": grid}
    save_npy(d / "test_pred.npy", pred)
    write_text(d / "baseline.json", json.dumps(info, indent=2, default=float) + "\n")
    _log(t_start, f"baseline chosen on valid: k={chosen['k']}, window {chosen['window_bp']} bp "
                  f"(+-{chosen['half_bins']} bins), alpha {chosen['alpha']:.4g}; {info['seconds']:.0f} s")
    return pred, info


def seed_step(out, seed: int, params_dict: dict, data_dir, test_codes, *, minutes: float, rc: bool,
              geometry_expected, t_start: float):
    """Train one seed, predict the test split; kept in ``out/seed_<seed>`` (a finished seed is read back)."""
    import keras
    import numpy as np

    from genocore.files import write_table, write_text
    from genomodel.config import params_from_dict
    from genomodel.model.seqnn import build_model
    from genomodel.predict import geometry, predict
    from genomodel.train import GenomeData, Trainer

    d = Path(out) / f"seed_{seed}"
    if (d / "test_pred.npy").exists() and (d / "seed.json").exists():
        _log(t_start, f"seed {seed}: read back from {d}")
        return np.load(d / "test_pred.npy"), json.loads((d / "seed.json").read_text())
    keras.utils.set_random_seed(seed)
    params = params_from_dict(apply_overrides(params_dict, {"train.seed": seed}))
    seqnn = build_model(params.model, seed=seed)
    model = seqnn.model()
    if geometry(model) != geometry_expected:
        raise ValueError(f"model geometry {geometry(model)} (bin bp, crop bp) differs from the data's {geometry_expected}")
    data = {"human": GenomeData.open("human", data_dir)}
    trainer = Trainer(seqnn, params, data, d / "train", model_info={"benchmark": "real_tiny_hg38", "seed": seed})
    n_total, _ = seqnn.count_params()
    _log(t_start, f"seed {seed}: training {PARAMS_NAME} ({n_total:,} weights), at most {minutes:g} min")

    def progress(epoch, step, n_steps, logs):
        if step is None:
            _log(t_start, f"seed {seed} epoch {epoch}: train {logs['train_loss']:.5f} valid {logs['valid_loss']:.5f}"
                          f"{' (best)' if logs['best'] else ''}")

    t0 = time.perf_counter()
    history = trainer.fit(resume=False, progress=progress, max_seconds=60.0 * minutes)
    train_s = time.perf_counter() - t0
    write_table(d / "history.tsv", history, float_format="%.6g")
    best = history.loc[history.valid_loss.idxmin()]
    t0 = time.perf_counter()
    pred = predict(model, one_hot(test_codes), rc=rc, batch_size=2, strand_pair=data["human"].strand_pair)
    info = {"seed": seed, "weights": n_total, "epochs": int(len(history)), "best_epoch": int(best.epoch),
            "best_valid_loss": float(best.valid_loss), "train_seconds": train_s,
            "predict_seconds": time.perf_counter() - t0, "stopped": "budget" if train_s > 60.0 * minutes * 0.9
            and len(history) < params.train.train_epochs_max else "early stopping or epoch cap",
            "history": history.to_dict("records")}
    save_npy(d / "test_pred.npy", pred.astype(np.float32))
    write_text(d / "seed.json", json.dumps(info, indent=2, default=float) + "\n")
    _log(t_start, f"seed {seed}: {len(history)} epochs in {train_s / 60:.1f} min, best epoch {int(best.epoch)} "
                  f"(valid loss {best.valid_loss:.5f})")
    return pred, info


# -- main ----------------------------------------------------------------------------------------------

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA, help="baskerville data folder (default: %(default)s)")
    ap.add_argument("--out", default=None, help="output folder; a rerun continues there (default: a new temporary folder)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="seeds of weights, data order, augmentation")
    ap.add_argument("--minutes", type=float, default=45.0, help="training wall-time budget per seed (default: %(default)s)")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=JSON",
                    help="override one params value, e.g. --set train.learning_rate=0.005 (repeatable)")
    ap.add_argument("--bootstrap", type=int, default=2000, help="window bootstrap resamples (default: %(default)s)")
    ap.add_argument("--no-rc", action="store_true", help="predict without the reverse-complement ensemble")
    return ap.parse_args(argv)


def report(out, args, *, command, versions, params_dict, overrides, splits, descriptions, target_ids,
           base_pred, base_info, seed_preds: dict, seed_infos: dict, t_start: float) -> None:
    """Score seeds and baseline, print the tables, write JSON, per-track tables and the figure."""
    from genocore.files import write_table, write_text
    from genomodel.evaluate import track_metrics, window_bootstrap_r

    test_y = splits["test"][1]
    m_seeds = {s: track_metrics(p, test_y, target_ids=target_ids, descriptions=descriptions)
               for s, p in seed_preds.items()}
    m_base = track_metrics(base_pred, test_y, target_ids=target_ids, descriptions=descriptions)
    for s, m in m_seeds.items():
        write_table(out / f"seed_{s}" / "acc_model.tsv", m, float_format="%.5g")
    write_table(out / "acc_baseline.tsv", m_base, float_format="%.5g")
    boot = window_bootstrap_r(list(seed_preds.values()) + [base_pred], test_y, n_bootstrap=args.bootstrap, seed=0)
    summary = summarise(m_seeds, m_base, boot, assay_groups(descriptions))
    chosen = base_info["chosen"]
    print(f"\nTest split ({test_y.shape[0]} windows x {test_y.shape[1]} bins), mean Pearson R per track; model = "
          f"{PARAMS_NAME}{' + overrides' if overrides else ''} averaged over seeds {list(seed_preds)}"
          f"{'' if args.no_rc else ' (forward + reverse-complement average)'}; baseline = {chosen['k']}-mer ridge, "
          f"window {chosen['window_bp']} bp; intervals: {args.bootstrap} resamples of the test windows")
    tables = {}
    for scale in ("raw", "log"):
        tables[scale] = format_table(summary, scale)
        print(f"\n{scale}:\n{tables[scale]}")
    for s, info in seed_infos.items():
        print(f"seed {s}: {info['epochs']} epochs (best {info['best_epoch']}), {info['train_seconds'] / 60:.1f} min, "
              f"stopped by {info['stopped']}")
    total_s = time.perf_counter() - t_start
    title = (f"tiny hg38 test split: {PARAMS_NAME}, {len(seed_preds)} seeds vs {chosen['k']}-mer ridge "
             f"({chosen['window_bp']} bp)")
    write_figure(out / "real_tiny_hg38.png", summary, title)
    doc = {"command": command, "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "args": vars(args),
           "versions": versions, "data": str(args.data), "params_name": PARAMS_NAME, "overrides": overrides,
           "params": params_dict, "seeds": seed_infos, "baseline": base_info, "summary": summary,
           "wins_every_assay": {scale: all(row[scale]["diff"] > 0 for row in summary.values())
                                for scale in ("raw", "log")},
           "total_seconds_this_run": total_s, "tables": tables}
    write_text(out / "real_tiny_hg38.json", json.dumps(doc, indent=2, default=float) + "\n")
    print(f"wrote {out / 'real_tiny_hg38.json'}, {out / 'real_tiny_hg38.png'}, per-track acc_*.tsv "
          f"(this run {total_s / 60:.1f} min)")


def main(argv=None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    command = shlex.join(getattr(sys, "orig_argv", [sys.executable] + sys.argv))
    print(f"command: {command}", flush=True)
    data_dir = Path(args.data)
    if not (data_dir / "statistics.json").exists() or not (data_dir / "tfrecords").is_dir():
        print(f"skipped: data folder {data_dir} not found (needs statistics.json and tfrecords/)")
        return 0
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import pandas as pd

    from genomodel.config import PARAMS_DIR, params_from_dict

    versions = _versions()
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()), flush=True)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="real_tiny_hg38_"))
    out.mkdir(parents=True, exist_ok=True)
    _log(t_start, f"output folder {out}")
    splits = {s: load_split(data_dir, s) for s in ("train", "valid", "test")}
    targets = pd.read_csv(data_dir / "targets.txt", sep="\t", index_col=0)
    descriptions, target_ids = targets["description"].tolist(), targets["identifier"].tolist()
    _log(t_start, "data: " + ", ".join(f"{s} {v[0].shape[0]} x {v[0].shape[1]:,} bp -> {v[1].shape[1:]}"
                                       for s, v in splits.items()))
    overrides = {}
    for item in args.set:
        key, _, val = item.partition("=")
        overrides[key] = json.loads(val)
    params_dict = apply_overrides(json.loads((PARAMS_DIR / f"{PARAMS_NAME}.json").read_text()), overrides)
    params_from_dict(params_dict, where=f"{PARAMS_NAME} + overrides {overrides}")  # fail before any work
    print(f"params: {PARAMS_NAME} with overrides {overrides or '(none)'}; train: {params_dict['train']}", flush=True)

    stats = json.loads((data_dir / "statistics.json").read_text())
    pool, crop_bp = int(stats.get("pool_width", 32)), int(stats.get("crop_bp", 0))
    base_pred, base_info = baseline_step(out, splits, pool=pool, crop_bins=crop_bp // pool,
                                         descriptions=descriptions, t_start=t_start)
    seed_preds, seed_infos = {}, {}
    for seed in args.seeds:
        seed_preds[seed], seed_infos[seed] = seed_step(
            out, seed, params_dict, data_dir, splits["test"][0], minutes=args.minutes, rc=not args.no_rc,
            geometry_expected=(pool, crop_bp), t_start=t_start)
    report(out, args, command=command, versions=versions, params_dict=params_dict, overrides=overrides,
           splits=splits, descriptions=descriptions, target_ids=target_ids, base_pred=base_pred,
           base_info=base_info, seed_preds=seed_preds, seed_infos=seed_infos, t_start=t_start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
