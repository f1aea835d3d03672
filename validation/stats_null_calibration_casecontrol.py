"""Null calibration of the de novo case-control tests (stats.casecontrol) over simulated replicates.

Each replicate draws a pool of variants with a score matrix over datasets (heavy-tailed t(3) scores,
correlated across datasets through a shared factor, and exactly 0 for half of the variants, as for
SAD scores of variants far from any element: many ties), then quartet families with
:func:`stats.simulate.denovo_families` with ``case_enrichment=1`` (cases and siblings draw from the same
pool: the null). It records

* the per-dataset Mann-Whitney U p-values (two-sided and one-sided 'less') of
  :func:`stats.casecontrol.dataset_tests`,
* the first-PC test of :func:`stats.casecontrol.pca_test`,
* the family-paired binomial test of :func:`stats.casecontrol.family_paired_test` on the risk score of
  the first dataset (one-sided 'greater' as in the analysis, and two-sided).

For each, it prints the share of p < 0.05 (and < 0.01) and the Kolmogorov-Smirnov test against
U(0, 1). The binomial test is discrete, so its raw p-values are conservative and KS rejects them by
construction; for it the script also gives the randomized p-value p* = P(X > k) + V P(X = k),
V ~ U(0, 1), which is exactly uniform under the null when the test is calibrated, and checks that.
Per-dataset p-values of one replicate are correlated (shared factor), so the KS over all datasets
pooled is reported alongside the KS of dataset 0 alone (independent across replicates).

Usage (from the repository root)::

    .venv/bin/python validation/stats_null_calibration_casecontrol.py [--replicates 1000] [--families 150] [--seed 1]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stats import casecontrol as cc  # noqa: E402
from stats.simulate import denovo_families  # noqa: E402


def one_replicate(rng: np.random.Generator, *, n_pool: int, n_datasets: int, n_families: int) -> dict:
    shared = rng.standard_t(3, size=n_pool)
    s = 0.7 * shared[:, None] + 0.7 * rng.standard_t(3, size=(n_pool, n_datasets))
    s[rng.random(n_pool) < 0.5] = 0.0
    pool = pd.DataFrame({"pool_index": np.arange(n_pool)})
    fam = denovo_families(pool, np.zeros(n_pool, bool), n_families=n_families, mean_per_child=3.0,
                          case_enrichment=1.0, rng=rng)
    x = s[fam.pool_index.to_numpy()]
    is_case = (fam.role == "case").to_numpy()
    t = cc.dataset_tests(x, is_case)
    comp, _ = cc.pca_test(x, is_case, n_components=1)
    risk = cc.risk_scores(fam, x[:, 0])
    fg, _ = cc.family_paired_test(risk, alternative="greater")
    f2, _ = cc.family_paired_test(risk, alternative="two-sided")
    n, k = fg["n_case_worse"] + fg["n_control_worse"], fg["n_case_worse"]
    p_rand = sps.binom.sf(k, n, 0.5) + rng.random() * sps.binom.pmf(k, n, 0.5)
    return {"mwu": t.p.to_numpy(), "mwu_less": t.p_less.to_numpy(), "pc1": comp.p.iloc[0],
            "fam_greater": fg["p"], "fam_two": f2["p"], "fam_rand": p_rand}


def summarize(name: str, p: np.ndarray) -> dict:
    p = np.asarray(p, dtype=float).ravel()
    ks = sps.kstest(p, "uniform")
    return {"test": name, "n": len(p), "share_p<0.05": float((p < 0.05).mean()),
            "share_p<0.01": float((p < 0.01).mean()), "mean_p": float(p.mean()),
            "KS_D": float(ks.statistic), "KS_p": float(ks.pvalue)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--replicates", type=int, default=1000)
    ap.add_argument("--families", type=int, default=150)
    ap.add_argument("--datasets", type=int, default=8)
    ap.add_argument("--pool", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    reps = [one_replicate(rng, n_pool=args.pool, n_datasets=args.datasets, n_families=args.families)
            for _ in range(args.replicates)]
    mwu = np.stack([r["mwu"] for r in reps])
    mwu_less = np.stack([r["mwu_less"] for r in reps])
    rows = [summarize("MWU two-sided, dataset 0", mwu[:, 0]),
            summarize("MWU two-sided, all datasets", mwu),
            summarize("MWU one-sided less, dataset 0", mwu_less[:, 0]),
            summarize("MWU one-sided less, all datasets", mwu_less),
            summarize("PC1 MWU two-sided", [r["pc1"] for r in reps]),
            summarize("family binomial greater (raw)", [r["fam_greater"] for r in reps]),
            summarize("family binomial two-sided (raw)", [r["fam_two"] for r in reps]),
            summarize("family binomial greater (randomized)", [r["fam_rand"] for r in reps])]
    # BH: share of replicates with any dataset at FDR < 0.05 (family-wise false discovery under the null)
    any_fdr = float(np.mean([(cc.benjamini_hochberg(p) < 0.05).any() for p in mwu]))
    print(f"null calibration of stats.casecontrol: {args.replicates} replicates x {args.families} families "
          f"(~{3 * 2 * args.families} variants), {args.datasets} datasets, seed {args.seed}, "
          f"{time.perf_counter() - t0:.0f} s")
    out = pd.DataFrame(rows)
    print(out.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"share of replicates with any dataset at BH FDR < 0.05 (null): {any_fdr:.3f} (<= 0.05 expected)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
