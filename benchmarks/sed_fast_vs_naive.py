"""SED of variants around one gene, incremental vs naive, on the full Basenji2 architecture.

    python benchmarks/sed_fast_vs_naive.py [--variants 60] [--naive-variants 8] [--spread 10000]

Random weights. One gene window (its TSS at the centre, one TSS bin); ``--variants`` SNPs within
``--spread`` bp of the TSS. The naive path (one full pass per alternative) is timed on
``--naive-variants`` of them, the incremental path on all, in the same run; the shared variants' SED
are compared. Prints variants per second, the ratio and the peak memory.
"""
from __future__ import annotations

import argparse
import sys
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", default="basenji2_human")
    parser.add_argument("--variants", type=int, default=60)
    parser.add_argument("--naive-variants", type=int, default=8)
    parser.add_argument("--spread", type=int, default=10_000)
    parser.add_argument("--targets", type=int, default=16)
    args = parser.parse_args(argv)

    import numpy as np
    import pandas as pd
    from _fast_vs_naive import report

    from genomodel import dna
    from genomodel.config import read_params
    from genomodel.model.seqnn import build_model
    from genomodel.variants import sed_gene_windows

    p = read_params(args.params)
    model = build_model(p.model, seed=1).model()
    L = int(model.input.shape[1])
    rng = np.random.default_rng(0)
    genome = {"chr1": rng.integers(0, 4, 3 * L).astype(np.uint8)}
    tss_pos = int(1.5 * L)
    tss = pd.DataFrame({"gene_id": ["g"], "chrom": ["chr1"], "tss": [tss_pos]})
    pos = np.sort(rng.choice(np.arange(tss_pos - args.spread, tss_pos + args.spread), args.variants, replace=False))
    ref = [dna.decode(genome["chr1"][q:q + 1]) for q in pos]
    alt = ["ACGT"[("ACGT".index(r) + 1) % 4] for r in ref]
    v = pd.DataFrame({"snp": [f"v{i}" for i in range(len(pos))], "chrom": "chr1", "pos": pos + 1, "ref": ref, "alt": alt})
    targets = np.arange(min(args.targets, int(model.output.shape[-1])))
    print(f"command: {' '.join(sys.argv)}")
    print(f"model {args.params}: {L:,} bp -> {tuple(model.output.shape[1:])}; {len(v)} SNPs within "
          f"{args.spread:,} bp of one TSS; {len(targets)} targets")
    sub = v.iloc[np.linspace(0, len(v) - 1, args.naive_variants).astype(int)]
    sed_gene_windows(model, genome, sub.iloc[:1], tss, targets=targets, fast=False)  # warm-up
    t0 = time.perf_counter()
    naive = sed_gene_windows(model, genome, sub, tss, targets=targets, fast=False, batch_size=2)
    t_naive = (time.perf_counter() - t0) / len(sub)
    sed_gene_windows(model, genome, v.iloc[:2], tss, targets=targets, fast=True)  # warm-up
    t0 = time.perf_counter()
    fast = sed_gene_windows(model, genome, v, tss, targets=targets, fast=True, batch_size=16)
    t_fast = (time.perf_counter() - t0) / len(v)
    cols = [c for c in fast.columns if c.startswith("t")]
    # "variant" is the row of the frame passed in: map the naive subset's rows back to rows of v
    f = fast.set_index("variant").loc[sub.index.to_numpy()[naive.variant.to_numpy()], cols].to_numpy()
    n = naive[cols].to_numpy()
    err = float(np.abs(f - n).max() / max(np.abs(n).max(), 1e-12))
    report("variant", t_naive=t_naive, n_naive=len(sub), t_fast=t_fast, n_fast=len(v), err=err,
           naive_note="; the reference pass shared")
    return 0


if __name__ == "__main__":
    sys.exit(main())
