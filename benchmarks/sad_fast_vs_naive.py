"""SAD of variants sharing one window, incremental vs naive, on the full Basenji2 architecture.

    python benchmarks/sad_fast_vs_naive.py [--variants 40] [--naive-variants 6]

Random weights. ``--variants`` SNPs spread over the central half of one 131,072-bp window (one
reference pass shared by both paths). The naive path (one full pass per alternative) is timed on
``--naive-variants`` of them, the incremental path (each variant's whole output cone) on all, in the
same run; the shared variants' SAD are compared with each other and with an exact reference (the same
naive passes through a float64 copy of the network). Prints variants per second, the ratio, the
differences and peak memory.
"""
from __future__ import annotations

import argparse
import sys
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", default="basenji2_human")
    parser.add_argument("--variants", type=int, default=40)
    parser.add_argument("--naive-variants", type=int, default=6)
    parser.add_argument("--targets", type=int, default=5313, help="first N targets scored")
    args = parser.parse_args(argv)

    import numpy as np
    import pandas as pd
    from _fast_vs_naive import float64_twin, report

    from genomodel import dna
    from genomodel.config import read_params
    from genomodel.model.seqnn import build_model
    from genomodel.variants import sad_shared_windows

    p = read_params(args.params)
    model = build_model(p.model, seed=1).model()
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
    print(f"model {args.params}: {L:,} bp -> {tuple(model.output.shape[1:])}; {len(v)} SNPs in one shared window; "
          f"{len(targets)} targets")
    sub = v.iloc[np.linspace(0, len(v) - 1, args.naive_variants).astype(int)]
    sub = pd.concat([v.iloc[:1], sub]).drop_duplicates("snp")  # keep the same window
    sad_shared_windows(model, genome, v.iloc[:1], targets=targets, fast=False)  # warm-up
    t0 = time.perf_counter()
    naive = sad_shared_windows(model, genome, sub, targets=targets, fast=False, batch_size=2)
    t_naive = (time.perf_counter() - t0) / len(sub)
    sad_shared_windows(model, genome, v.iloc[:1], targets=targets, fast=True)  # warm-up
    t0 = time.perf_counter()
    fast = sad_shared_windows(model, genome, v, targets=targets, fast=True)
    t_fast = (time.perf_counter() - t0) / len(v)
    rows = [v.index.get_loc(i) for i in sub.index]
    err = float(np.abs(fast["SAD"][rows] - naive["SAD"]).max() / max(np.abs(naive["SAD"]).max(), 1e-12))
    report("variant", t_naive=t_naive, n_naive=len(sub), t_fast=t_fast, n_fast=len(v), err=err,
           naive_note="; the reference pass shared")
    exact = sad_shared_windows(float64_twin(p.model, model), genome, sub, targets=targets, fast=False, batch_size=1)
    scale = np.abs(exact["SAD"]).max()
    for name, got in (("naive float32", naive["SAD"]), ("fast float32", fast["SAD"][rows])):
        print(f"{name} vs float64 naive: max |difference| / max |SAD| = {np.abs(got - exact['SAD']).max() / scale:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
