"""Null calibration of the cluster-comparison and classifier tests (issue 7, part 5).

Over independent null replicates, each p-value should be uniform: the script reports the KS test
against U(0, 1), the share of p <= 0.05 and the mean statistic.

- ARI (``stats.expression_clusters.compare_clusters``): observed and predicted are two independent clustered
  genes x samples matrices (same number of clusters, no gene correspondence). The paper's normal
  p-value ``P(N(mean, sd) <= 0)`` and the permutation p-value are both recorded.
- Classifier (``stats.classifiers``): labels independent of the features (permuted), AUROC by
  leave-one-chromosome-out cross-validation; DeLong p-value against AUROC = 0.5, and the paired
  DeLong / paired bootstrap comparison of two uninformative feature sets. These treat the
  cross-validated scores as fixed and are descriptive only (folds are correlated).
- Classifier permutation tests (``evaluate_classifier(n_permutations=N)`` and
  ``compare_feature_sets(method='permutation')``): labels permuted within chromosome, every fold
  refitted; the single-set AUROC test and the paired test of two null sets on the same permutations.
  With N permutations these p-values live on {1, ..., N+1}/(N+1): P(p <= 0.05) is exactly 0.05 for
  N = 19, and the KS test uses the randomized p - U/(N+1) (exactly U(0, 1) under the null).

``binom_p`` is the two-sided binomial test of the count of p <= 0.05 against 0.05.

Usage: ``python validation/stats_null_calibration_clusters_classifiers.py [--replicates 200] [--seed 1]``
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy import stats as sps

from stats import classifiers as cf
from stats import expression_clusters as cl


def _clustered(rng, n, d, k):
    centers = rng.normal(0, 3, (k, d))
    return centers[rng.integers(0, k, n)] + rng.normal(0, 1, (n, d))


def _summ(name, p, n_perm=None, rng=None):
    p = np.asarray(p, float)
    # permutation p-values are discrete: randomize within their step for the KS test
    pk = p if n_perm is None else p - rng.random(len(p)) / (n_perm + 1)
    k = int(np.sum(p <= 0.05 + 1e-12))
    return {"test": name, "n": len(p), "ks_p": sps.kstest(pk, "uniform").pvalue,
            "share_p<=0.05": k / len(p), "binom_p": sps.binomtest(k, len(p), 0.05).pvalue,
            "mean_p": float(p.mean()), "median_p": float(np.median(p))}


def ari_null(replicates: int, rng: np.random.Generator, n_perm: int):
    rows = []
    for _ in range(replicates):
        obs = _clustered(rng, 300, 8, 4)
        pred = _clustered(rng, 300, 8, 4)
        r = cl.compare_clusters(obs, pred, n_genes=200, sample_size=100, n_components=4, n_bootstrap=10,
                                n_permutations=n_perm, rng=rng)
        rows.append({"ari_mean": r.mean, "ari_sd": r.sd, "p_normal": r.p_value, "p_perm": r.p_permutation})
    return pd.DataFrame(rows)


def _null_snps(rng: np.random.Generator, idx: pd.Index, d: int):
    """Chromosomes, 30% positive labels and two uninformative feature sets of d columns."""
    n = len(idx)
    chrom = pd.Series(rng.integers(1, 6, n), index=idx)
    y = pd.Series((rng.random(n) < 0.3).astype(int), index=idx)
    return chrom, y, pd.DataFrame(rng.normal(size=(n, d)), index=idx), pd.DataFrame(rng.normal(size=(n, d)), index=idx)


def classifier_null(replicates: int, rng: np.random.Generator, n_boot: int):
    rows = []
    n, d = 300, 20
    idx = pd.Index([f"rs{i}" for i in range(n)])
    for _ in range(replicates):
        chrom, y, fa, fb = _null_snps(rng, idx, d)
        a = cf.evaluate_classifier(fa, y, chrom, rng=rng)
        b = cf.evaluate_classifier(fb, y, chrom, rng=rng)
        dl = cf.delong_test(y.to_numpy(), a.scores.to_numpy(), b.scores.to_numpy())
        bs = cf.paired_bootstrap(y.to_numpy(), a.scores.to_numpy(), b.scores.to_numpy(), n_bootstrap=n_boot, rng=rng)
        # a fixed (not fitted) uninformative score: DeLong's single-AUROC test without cross-validation
        raw = cf.auroc_ci(y.to_numpy(), fa.iloc[:, 0].to_numpy())
        rows.append({"auc_cv": a.auc, "p_auc_cv": a.p_value, "p_auc_raw": raw["p_value"],
                     "p_delong_paired": dl["p_value"], "p_boot_paired": bs["p_value"]})
    return pd.DataFrame(rows)


def classifier_permutation_null(replicates: int, rng: np.random.Generator, n_perm: int):
    """Null replicates as :func:`classifier_null`, tested by within-chromosome label permutations."""
    rows = []
    n, d = 300, 20
    idx = pd.Index([f"rs{i}" for i in range(n)])
    for _ in range(replicates):
        chrom, y, fa, fb = _null_snps(rng, idx, d)
        sets = {"a": fa, "b": fb}
        res, _, pairs = cf.compare_feature_sets(sets, y, chrom, method="permutation", n_permutations=n_perm, rng=rng)
        rows.append({"auc_cv": res["a"].auc, "null_sd": res["a"].null_auc.std(ddof=1),
                     "p_delong_cv": res["a"].p_value, "p_perm_a": res["a"].p_permutation,
                     "p_perm_b": res["b"].p_permutation, "p_perm_paired": pairs.loc[0, "p_value"]})
    return pd.DataFrame(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=200)
    ap.add_argument("--ari-replicates", type=int, default=100)
    ap.add_argument("--permutations", type=int, default=19)
    ap.add_argument("--bootstrap", type=int, default=500)
    ap.add_argument("--perm-replicates", type=int, default=100, help="classifier permutation-test replicates")
    ap.add_argument("--classifier-permutations", type=int, default=19)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    pd.set_option("display.width", 160)

    t = time.time()
    ari = ari_null(args.ari_replicates, rng, args.permutations)
    t_ari = time.time() - t
    t = time.time()
    clf = classifier_null(args.replicates, rng, args.bootstrap)
    t_clf = time.time() - t
    t = time.time()
    cp = classifier_permutation_null(args.perm_replicates, rng, args.classifier_permutations)
    t_cp = time.time() - t
    krng = np.random.default_rng(args.seed + 1)
    nc = args.classifier_permutations

    table = pd.DataFrame([
        _summ("ARI normal p (paper)", ari.p_normal),
        _summ(f"ARI permutation p ({args.permutations} perms)", ari.p_perm, args.permutations, krng),
        _summ("AUROC vs 0.5, CV pooled (DeLong)", clf.p_auc_cv),
        _summ("AUROC vs 0.5, fixed score (DeLong)", clf.p_auc_raw),
        _summ("paired DeLong, 2 null sets", clf.p_delong_paired),
        _summ("paired bootstrap, 2 null sets", clf.p_boot_paired),
        _summ("AUROC, CV pooled (DeLong), perm. replicates", cp.p_delong_cv),
        _summ(f"AUROC, permutation ({nc} perms), set a", cp.p_perm_a, nc, krng),
        _summ(f"AUROC, permutation ({nc} perms), set b", cp.p_perm_b, nc, krng),
        _summ(f"paired permutation ({nc} perms), 2 null sets", cp.p_perm_paired, nc, krng),
    ])
    print(f"seed {args.seed}; ARI: {args.ari_replicates} replicates ({t_ari:.0f} s), "
          f"classifier: {args.replicates} replicates ({t_clf:.0f} s), classifier permutation tests: "
          f"{args.perm_replicates} replicates x {nc} permutations ({t_cp:.0f} s)")
    print(f"null ARI: mean of bootstrap means {ari.ari_mean.mean():.4f}, SD across replicates "
          f"{ari.ari_mean.std(ddof=1):.4f}, mean bootstrap SD {ari.ari_sd.mean():.4f}")
    print(f"null cross-validated AUROC: mean {clf.auc_cv.mean():.4f}, SD {clf.auc_cv.std(ddof=1):.4f}; "
          f"mean SD of the permutation null {cp.null_sd.mean():.4f}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
