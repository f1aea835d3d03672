"""SAD of variants sharing one window, incremental vs naive, on the full Basenji2 architecture.

    python benchmarks/sad_fast_vs_naive.py [--variants 40] [--naive-variants 6] [--batch-size 8]

Random weights with batch-norm statistics as after training, folded into the convolutions as
``genomodel`` commands load a model (:func:`genomodel.model.fold.fold_batch_norm`). ``--variants`` SNPs
spread over the central half of one 131,072-bp window (one reference pass shared by both paths). The
naive path (one full pass per alternative) is timed on ``--naive-variants`` of them, the incremental
path (each variant's own output cone, ``--batch-size`` variants per batch) on all, in the same run;
then the same with XLA-compiled full passes and with a bfloat16 copy (``--precision mixed_bfloat16``).
Every variant's SAD is compared with an exact reference (the naive passes through a float64 copy of
the network). Prints variants per second, the ratios, the differences and peak memory.
"""
from __future__ import annotations

import argparse
import sys
import time


def _norms_as_trained(model, seed: int = 0) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.__class__.__name__ == "BatchNormalization":
            shapes = [w.shape for w in layer.get_weights()]
            layer.set_weights([rng.uniform(0.5, 1.5, shapes[0]), rng.normal(0, 0.1, shapes[1]),
                               rng.normal(0, 0.1, shapes[2]), rng.uniform(0.5, 2.0, shapes[3])])


def _timed(fn):

    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", default="basenji2_human")
    parser.add_argument("--variants", type=int, default=40)
    parser.add_argument("--naive-variants", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=8, help="variants per incremental batch")
    parser.add_argument("--targets", type=int, default=5313, help="first N targets scored")
    args = parser.parse_args(argv)

    import numpy as np
    import pandas as pd
    from _fast_vs_naive import float64_twin, report

    from genomodel import dna
    from genomodel.config import read_params
    from genomodel.model.fold import fold_batch_norm
    from genomodel.model.seqnn import build_model
    from genomodel.predict import compile_inference
    from genomodel.variants import sad_shared_windows

    p = read_params(args.params)
    trained = build_model(p.model, seed=1).model()
    _norms_as_trained(trained)
    model = fold_batch_norm(trained)
    L = int(model.input.shape[1])
    rng = np.random.default_rng(0)
    genome = {"chr1": rng.integers(0, 4, 2 * L).astype(np.uint8)}
    first = L // 2
    pos = np.sort(rng.choice(np.arange(first + 1, first + L // 2 - 1), args.variants - 1, replace=False))
    pos = np.r_[first, pos]  # the first variant fixes the window: it starts L/4 before it
    ref = [dna.decode(genome["chr1"][q:q + 1]) for q in pos]
    alt = ["ACGT"[("ACGT".index(r) + 1) % 4] for r in ref]
    v = pd.DataFrame({"snp": [f"v{i}" for i in range(len(pos))], "chrom": "chr1", "pos": pos + 1, "ref": ref, "alt": alt})
    targets = np.arange(min(args.targets, int(model.output.shape[-1])))
    print(f"command: {' '.join(sys.argv)}")
    print(f"model {args.params}: {L:,} bp -> {tuple(model.output.shape[1:])}; {len(trained.layers)} layers, "
          f"{len(model.layers)} with batch norms folded; {len(v)} SNPs in one shared window; {len(targets)} targets")
    sub = v.iloc[np.linspace(0, len(v) - 1, args.naive_variants).astype(int)]
    sub = pd.concat([v.iloc[:1], sub]).drop_duplicates("snp")  # keep the same window
    rows = [v.index.get_loc(i) for i in sub.index]

    def naive(m):
        sad_shared_windows(m, genome, sub, targets=targets, fast=False, batch_size=2)  # warm-up: every batch shape
        out, t = _timed(lambda: sad_shared_windows(m, genome, sub, targets=targets, fast=False, batch_size=2))
        return out["SAD"], t / len(sub)

    def fast(m):
        sad_shared_windows(m, genome, v.iloc[:1], targets=targets, fast=True)  # warm-up
        out, t = _timed(lambda: sad_shared_windows(m, genome, v, targets=targets, fast=True,
                                                   batch_size=args.batch_size))
        return out["SAD"], t / len(v)

    naive_sad, t_naive = naive(model)
    fast_sad, t_fast = fast(model)
    err = float(np.abs(fast_sad[rows] - naive_sad).max() / max(np.abs(naive_sad).max(), 1e-12))
    report("variant", t_naive=t_naive, n_naive=len(sub), t_fast=t_fast, n_fast=len(v), err=err,
           naive_note="; the reference pass shared")
    exact = sad_shared_windows(float64_twin(p.model, trained), genome, sub, targets=targets, fast=False,
                               batch_size=1)["SAD"]
    scale = np.abs(exact).max()
    results = {"naive float32": (t_naive, naive_sad), "incremental float32": (t_fast, fast_sad[rows])}
    xla = fold_batch_norm(trained)
    compile_inference(xla, xla=True)
    results["naive float32 + XLA"] = naive(xla)[::-1]
    bf16 = fold_batch_norm(trained, precision="mixed_bfloat16")
    results["naive mixed_bfloat16"] = naive(bf16)[::-1]
    b_sad, b_t = fast(bf16)
    results["incremental mixed_bfloat16"] = (b_t, b_sad[rows])
    print(f"\n{'path':<28} {'s/variant':>10} {'variants/s':>10} {'x naive f32':>11} {'max|SAD-SAD64|/max|SAD64|':>26}")
    for name, (t, got) in results.items():
        print(f"{name:<28} {t:10.4f} {1 / t:10.2f} {t_naive / t:11.1f} {np.abs(got - exact).max() / scale:26.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
