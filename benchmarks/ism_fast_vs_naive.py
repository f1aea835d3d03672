"""Saturation mutagenesis of a window at a TSS bin, incremental (fast) vs naive, on Basenji2.

    python benchmarks/ism_fast_vs_naive.py [--width 200] [--naive-mutants 12] [--params basenji2_human]

Random weights (the architecture is what costs). The naive path makes one full forward pass per
mutant; it is timed on ``--naive-mutants`` mutants and its per-mutant time compared with the fast path
run on every mutant of the window (3 x width), in the same run. The fast scores of the naive mutants
are checked against the naive ones. Prints mutants per second, the ratio and the peak memory.
"""
from __future__ import annotations

import argparse
import sys
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", default="basenji2_human")
    parser.add_argument("--width", type=int, default=200)
    parser.add_argument("--naive-mutants", type=int, default=12)
    parser.add_argument("--batch", type=int, default=12, help="mutants per incremental batch")
    parser.add_argument("--targets", type=int, default=16, help="first N targets scored")
    args = parser.parse_args(argv)

    import numpy as np

    from _fast_vs_naive import report

    from genomodel.attribution.ism import ism
    from genomodel.config import read_params
    from genomodel.model.seqnn import build_model
    from genomodel.predict import geometry, predict

    p = read_params(args.params)
    model = build_model(p.model, seed=1).model()
    L = int(model.input.shape[1])
    pool, crop = geometry(model)
    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, L)]
    centre = L // 2
    a, b = centre - args.width // 2, centre - args.width // 2 + args.width
    tss_bin = (centre - crop) // pool
    targets = np.arange(min(args.targets, int(model.output.shape[-1])))
    print(f"command: {' '.join(sys.argv)}")
    print(f"model {args.params}: {L:,} bp -> {tuple(model.output.shape[1:])}, bin {pool} bp; window {args.width} bp "
          f"({3 * args.width} mutants) at output bin {tss_bin}, {len(targets)} targets")

    # naive: a few mutants, one full pass each (plus the reference pass)
    k = args.naive_mutants
    picks = [(a + i * (args.width // k), (int(x[a + i * (args.width // k)].argmax()) + 1) % 4) for i in range(k)]
    predict(model, x[None])  # warm-up
    t0 = time.perf_counter()
    ref = predict(model, x[None])[0]
    naive = []
    for pos, base in picks:
        m = x.copy()
        m[pos] = 0
        m[pos, base] = 1
        naive.append((predict(model, m[None])[0][tss_bin, targets] - ref[tss_bin, targets]))
    t_naive = (time.perf_counter() - t0) / k

    ism(model, x, start=centre, end=centre + 2, targets=targets, bins=[tss_bin], fast=True)  # warm-up
    t0 = time.perf_counter()
    fast = ism(model, x, start=a, end=b, targets=targets, bins=[tss_bin], fast=True, batch_size=args.batch)
    t_fast = (time.perf_counter() - t0) / (3 * args.width)
    got = np.array([fast[pos - a, base] for pos, base in picks])
    want = np.array(naive)
    err = float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-12))
    report("mutant", t_naive=t_naive, n_naive=k, t_fast=t_fast, n_fast=3 * args.width, err=err,
           naive_note="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
