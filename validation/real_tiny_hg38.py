"""The shipped small CNN against a k-mer ridge-regression baseline on real data (baskerville tiny hg38).

One run:

1. trains ``tiny_hg38_small`` (131,072 bp in, 2048 x 74 out at 32 bp) on the 45 training windows of
   ``cnn_baskerville_tiny_hg38`` in the real-data folder beside the project (``../shared/data``, or
   ``$GENOSUITE_SHARED_DATA``) for a bounded wall time (``--minutes``, passed to
   ``Trainer.fit(max_seconds=...)``), seeds fixed, with the best weights by validation loss kept;
2. fits a k-mer ridge-regression baseline: for each 32-bp target bin, the counts of all k-mers whose
   start lies in a window of ``2h + 1`` bins centred on the bin (counted with one ``bincount`` per
   split and a cumulative sum over bins, no per-bin Python loop), standardised; targets
   ``log(1 + y)`` per track; a closed-form ridge solve (through one eigendecomposition of X'X, so
   every alpha costs one small matrix product). k, h and alpha are chosen on the validation split
   by the mean over tracks of (Pearson R raw + Pearson R log) / 2; the test predictions are
   ``expm1`` of the ridge output, clipped at 0;
3. evaluates both on the test split with :func:`genomodel.evaluate.track_metrics` (Pearson R per
   track, raw and on log2(x + 1)) and prints the mean per assay (the description's prefix: CAGE,
   DNASE, RNA, RNA3) and overall, model vs baseline; writes ``real_tiny_hg38.json``, the per-track
   tables and ``real_tiny_hg38.png`` under ``--out``.

Usage (from the repository root)::

    .venv/bin/python validation/real_tiny_hg38.py                       # 20 min of training
    .venv/bin/python validation/real_tiny_hg38.py --minutes 2 --out real_tiny_out

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

#: Changes to the shipped params used by default (``--shipped-params`` trains the file as it is).
#: Each key is ``section.key`` of the params JSON. Empty: the shipped params are used unchanged.
PARAM_OVERRIDES: dict = {}

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

def summarise(metrics) -> dict:
    """Mean Pearson R (raw and log) per assay and overall, from a track_metrics table."""
    import numpy as np

    out = {}
    groups = [(a, metrics[metrics.assay == a]) for a in ASSAYS if (metrics.assay == a).any()]
    others = sorted(set(metrics.assay.dropna()) - set(ASSAYS))
    groups += [(a, metrics[metrics.assay == a]) for a in others]
    groups.append(("overall", metrics))
    for name, df in groups:
        out[name] = {"n_tracks": int(len(df)), "pearson_r": float(np.nanmean(df.pearson_r)),
                     "pearson_r_log": float(np.nanmean(df.pearson_r_log))}
    return out


def format_table(model: dict, base: dict) -> str:
    head = (f"{'assay':<8} {'tracks':>6} | {'R model':>8} {'R base':>8} {'ratio':>6} {'diff':>7} | "
            f"{'logR model':>10} {'logR base':>9} {'ratio':>6} {'diff':>7} | model wins (raw, log)")
    lines = [head, "-" * len(head)]
    for a in model:
        m, b = model[a], base[a]
        lines.append(
            f"{a:<8} {m['n_tracks']:>6} | {m['pearson_r']:8.3f} {b['pearson_r']:8.3f} "
            f"{m['pearson_r'] / b['pearson_r']:6.2f} {m['pearson_r'] - b['pearson_r']:+7.3f} | "
            f"{m['pearson_r_log']:10.3f} {b['pearson_r_log']:9.3f} {m['pearson_r_log'] / b['pearson_r_log']:6.2f} "
            f"{m['pearson_r_log'] - b['pearson_r_log']:+7.3f} | "
            f"{'yes' if m['pearson_r'] > b['pearson_r'] else 'no'}, "
            f"{'yes' if m['pearson_r_log'] > b['pearson_r_log'] else 'no'}")
    return "\n".join(lines)


def write_figure(path, model: dict, base: dict, title: str) -> None:
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = list(model)
    x = np.arange(len(names))
    fig = Figure(figsize=(10, 4))
    FigureCanvasAgg(fig)
    for j, (key, label) in enumerate((("pearson_r", "Pearson R (raw)"), ("pearson_r_log", "Pearson R (log2(x+1))"))):
        ax = fig.add_subplot(1, 2, j + 1)
        ax.bar(x - 0.2, [model[a][key] for a in names], 0.4, label="CNN (tiny_hg38_small)", color="#3b6fb6")
        ax.bar(x + 0.2, [base[a][key] for a in names], 0.4, label="k-mer ridge", color="#d98c3a")
        ax.set_xticks(x)
        ax.set_xticklabels([f"{a}\n({model[a]['n_tracks']})" for a in names])
        ax.set_ylabel(f"mean test {label}")
        ax.axhline(0, color="black", lw=0.5)
        ax.set_title(label)
        if j == 0:
            ax.legend(frameon=False, fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


# -- main ----------------------------------------------------------------------------------------------

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA, help="baskerville data folder (default: %(default)s)")
    ap.add_argument("--out", default=None, help="output folder (default: a new temporary folder)")
    ap.add_argument("--minutes", type=float, default=20.0, help="training wall-time budget (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the weights, data order and augmentation")
    ap.add_argument("--shipped-params", action="store_true",
                    help="train the shipped params unchanged (ignore PARAM_OVERRIDES)")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=JSON",
                    help="override one params value, e.g. --set train.learning_rate=0.005 (repeatable)")
    ap.add_argument("--no-rc", action="store_true", help="predict without the reverse-complement ensemble")
    return ap.parse_args(argv)


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
    import keras
    import pandas as pd

    from genocore.files import write_table
    from genomodel.config import PARAMS_DIR, params_from_dict
    from genomodel.evaluate import track_metrics
    from genomodel.model.seqnn import build_model
    from genomodel.predict import geometry, predict
    from genomodel.train import GenomeData, Trainer

    versions = _versions()
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()), flush=True)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="real_tiny_hg38_"))
    out.mkdir(parents=True, exist_ok=True)
    _log(t_start, f"output folder {out}")

    # -- data
    splits = {s: load_split(data_dir, s) for s in ("train", "valid", "test")}
    targets = pd.read_csv(data_dir / "targets.txt", sep="\t", index_col=0)
    descriptions = targets["description"].tolist()
    target_ids = targets["identifier"].tolist()
    _log(t_start, "data: " + ", ".join(f"{s} {v[0].shape[0]} x {v[0].shape[1]:,} bp -> {v[1].shape[1:]}"
                                       for s, v in splits.items()))

    # -- params
    shipped = json.loads((PARAMS_DIR / f"{PARAMS_NAME}.json").read_text())
    overrides = {} if args.shipped_params else dict(PARAM_OVERRIDES)
    for item in args.set:
        key, _, val = item.partition("=")
        overrides[key] = json.loads(val)
    params_dict = apply_overrides(shipped, overrides)
    params = params_from_dict(params_dict, where=f"{PARAMS_NAME} + overrides {overrides}")
    print(f"params: {PARAMS_NAME} with overrides {overrides or '(none)'}; train: {params_dict['train']}", flush=True)

    # -- baseline
    t0 = time.perf_counter()
    stats = json.loads((data_dir / "statistics.json").read_text())
    pool = int(stats.get("pool_width", 32))
    crop_bins = int(stats.get("crop_bp", 0)) // pool
    base_pred, grid, chosen = kmer_baseline(splits, pool=pool, crop_bins=crop_bins, descriptions=descriptions,
                                            t_start=t_start)
    base_s = time.perf_counter() - t0
    _log(t_start, f"baseline chosen on valid: k={chosen['k']}, window {chosen['window_bp']} bp "
                  f"(+-{chosen['half_bins']} bins), alpha {chosen['alpha']:.4g}; {base_s:.0f} s")

    # -- model
    keras.utils.set_random_seed(args.seed)
    params = params_from_dict(apply_overrides(params_dict, {"train.seed": args.seed}))
    seqnn = build_model(params.model, seed=args.seed)
    model = seqnn.model()
    pw, crop_bp = geometry(model)
    if (pw, crop_bp) != (pool, int(stats.get("crop_bp", 0))):
        raise ValueError(f"model geometry {pw} bp bins / {crop_bp} bp crop differs from the data's")
    data = {"human": GenomeData.open("human", data_dir)}
    run_dir = out / "train"
    trainer = Trainer(seqnn, params, data, run_dir, model_info={"benchmark": "real_tiny_hg38"})
    n_total, n_train = seqnn.count_params()
    _log(t_start, f"training {PARAMS_NAME} ({n_total:,} weights) for at most {args.minutes:g} min in {run_dir}")

    def progress(epoch, step, n_steps, logs):
        if step is None:
            _log(t_start, f"epoch {epoch}: train {logs['train_loss']:.5f} valid {logs['valid_loss']:.5f}"
                          f"{' (best)' if logs['best'] else ''}")

    t0 = time.perf_counter()
    history = trainer.fit(resume=False, progress=progress, max_seconds=60.0 * args.minutes)
    train_s = time.perf_counter() - t0
    write_table(run_dir / "history.tsv", history, float_format="%.6g")
    best = history.loc[history.valid_loss.idxmin()]
    _log(t_start, f"trained {len(history)} epochs in {train_s:.0f} s; best epoch {int(best.epoch)} "
                  f"(valid loss {best.valid_loss:.5f})")
    t0 = time.perf_counter()
    model_pred = predict(model, one_hot(splits["test"][0]), rc=not args.no_rc, batch_size=2,
                         strand_pair=data["human"].strand_pair)
    predict_s = time.perf_counter() - t0

    # -- evaluation
    test_y = splits["test"][1]
    m_model = track_metrics(model_pred, test_y, target_ids=target_ids, descriptions=descriptions)
    m_base = track_metrics(base_pred, test_y, target_ids=target_ids, descriptions=descriptions)
    write_table(out / "acc_model.tsv", m_model, float_format="%.5g")
    write_table(out / "acc_baseline.tsv", m_base, float_format="%.5g")
    s_model, s_base = summarise(m_model), summarise(m_base)
    table = format_table(s_model, s_base)
    wins = {a: {"raw": s_model[a]["pearson_r"] > s_base[a]["pearson_r"],
                "log": s_model[a]["pearson_r_log"] > s_base[a]["pearson_r_log"]} for a in s_model}
    track_wins = {"raw": int((m_model.pearson_r > m_base.pearson_r).sum()),
                  "log": int((m_model.pearson_r_log > m_base.pearson_r_log).sum()), "of": int(len(m_model))}
    total_s = time.perf_counter() - t_start
    print()
    print(f"Test split ({test_y.shape[0]} windows x {test_y.shape[1]} bins), mean Pearson R per track; "
          f"model = {PARAMS_NAME}{' + overrides' if overrides else ''}"
          f"{'' if args.no_rc else ' (forward + reverse-complement average)'}, "
          f"baseline = {chosen['k']}-mer ridge, window {chosen['window_bp']} bp, alpha {chosen['alpha']:.4g}")
    print(table)
    print(f"tracks where the model wins: raw {track_wins['raw']}/{track_wins['of']}, "
          f"log {track_wins['log']}/{track_wins['of']}")
    print(f"epochs trained: {len(history)} (best {int(best.epoch)}), training {train_s / 60:.1f} min "
          f"(budget {args.minutes:g} min); baseline {base_s:.0f} s; test prediction {predict_s:.0f} s; "
          f"total wall {total_s / 60:.1f} min")

    title = (f"tiny hg38 test split: {PARAMS_NAME} ({len(history)} epochs, {train_s / 60:.1f} min CPU) vs "
             f"{chosen['k']}-mer ridge ({chosen['window_bp']} bp)")
    write_figure(out / "real_tiny_hg38.png", s_model, s_base, title)
    doc = {"command": command, "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "args": vars(args),
           "versions": versions, "data": str(data_dir), "params_name": PARAMS_NAME, "overrides": overrides,
           "params": params_dict,
           "model": {"weights": n_total, "trainable": n_train, "epochs": int(len(history)),
                     "best_epoch": int(best.epoch), "best_valid_loss": float(best.valid_loss),
                     "train_seconds": train_s, "predict_seconds": predict_s, "rc_ensemble": not args.no_rc,
                     "history": history.to_dict("records"), "summary": s_model},
           "baseline": {"chosen": chosen, "seconds": base_s, "grid": grid, "summary": s_base},
           "model_wins": wins, "track_wins": track_wins, "total_seconds": total_s, "table": table}
    (out / "real_tiny_hg38.json").write_text(json.dumps(doc, indent=2, default=float) + "\n")
    print(f"wrote {out / 'real_tiny_hg38.json'}, {out / 'real_tiny_hg38.png'}, acc_model.tsv, acc_baseline.tsv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
