"""GWAS classifiers: AUROC against Mann-Whitney U, fast DeLong against the direct U-statistic
covariance, cross-validation grouped by chromosome, MAF-matched negatives, world-based check."""
from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from stats import classifiers as cf


def _delong_slow(y, scores):
    """DeLong et al. (1988) directly: psi over every positive-negative pair, structural components
    V10 (per positive) and V01 (per negative), S = S10/m + S01/n."""
    y = np.asarray(y, bool)
    s = np.atleast_2d(scores)
    k = s.shape[0]
    v10, v01, aucs = [], [], []
    for r in range(k):
        x, z = s[r, y], s[r, ~y]
        psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
        aucs.append(psi.mean())
        v10.append(psi.mean(axis=1))
        v01.append(psi.mean(axis=0))
    v10, v01 = np.array(v10), np.array(v01)
    m, n = v10.shape[1], v01.shape[1]
    s10 = (v10 - v10.mean(1, keepdims=True)) @ (v10 - v10.mean(1, keepdims=True)).T / (m - 1)
    s01 = (v01 - v01.mean(1, keepdims=True)) @ (v01 - v01.mean(1, keepdims=True)).T / (n - 1)
    return np.array(aucs), s10 / m + s01 / n


def test_auroc_equals_mann_whitney_and_hand_value():
    # positives 3, 5, 5 ; negatives 1, 5, 2: pairs won 2 + 2.5 + 2.5 = 7 of 9 -> AUROC 7/9
    y = np.array([1, 1, 1, 0, 0, 0])
    s = np.array([3, 5, 5, 1, 5, 2.0])
    pairs = [(a > b) + 0.5 * (a == b) for a in s[:3] for b in s[3:]]
    assert cf.auroc(y, s) == pytest.approx(np.mean(pairs)) == pytest.approx(7 / 9)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.normal(size=200) + 0.5 * y, 1)          # with ties
    u = sps.mannwhitneyu(s[y == 1], s[y == 0]).statistic
    assert cf.auroc(y, s) == pytest.approx(u / (np.sum(y) * np.sum(1 - y)))


@pytest.mark.parametrize("ties", [False, True])
def test_fast_delong_equals_direct_u_statistic_covariance(ties):
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 90)
    s = rng.normal(size=(3, 90)) + np.array([[1.0], [0.3], [0.0]]) * y
    s[1] += 0.5 * s[0]
    if ties:
        s = np.round(s, 0)
    aucs, cov = cf.delong(y, s)
    aucs_slow, cov_slow = _delong_slow(y, s)
    np.testing.assert_allclose(aucs, aucs_slow, rtol=1e-12)
    np.testing.assert_allclose(cov, cov_slow, rtol=1e-10, atol=1e-15)


def test_delong_test_and_ci_fields():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300)
    a = rng.normal(size=300) + 1.0 * y
    b = rng.normal(size=300) + 0.2 * y
    t = cf.delong_test(y, a, b)
    aucs, cov = _delong_slow(y, np.vstack([a, b]))
    se = np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert t["diff"] == pytest.approx(aucs[0] - aucs[1])
    assert t["se"] == pytest.approx(se)
    assert t["p_value"] == pytest.approx(2 * sps.norm.sf(abs(t["diff"] / se)))
    assert t["p_value"] < 1e-3
    ci = cf.auroc_ci(y, a)
    assert ci["ci_low"] < ci["auc"] < ci["ci_high"] and ci["se"] == pytest.approx(np.sqrt(cov[0, 0]))
    same = cf.delong_test(y, a, a)
    assert same["diff"] == 0 and same["p_value"] == 1.0


def test_paired_bootstrap_agrees_with_delong():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 400)
    a = rng.normal(size=400) + 0.8 * y
    b = a + rng.normal(size=400)
    boot = cf.paired_bootstrap(y, a, b, n_bootstrap=400, rng=1)
    dl = cf.delong_test(y, a, b)
    assert boot["diff"] == pytest.approx(dl["diff"])
    assert boot["se"] == pytest.approx(dl["se"], rel=0.25)
    assert boot == cf.paired_bootstrap(y, a, b, n_bootstrap=400, rng=1)


def test_single_class_and_bad_labels_raise():
    with pytest.raises(ValueError, match="two classes"):
        cf.auroc([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="0/1"):
        cf.auroc([1, 2, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="at least 2 positives"):
        cf.delong([1, 0, 0], [0.1, 0.2, 0.3])
    x = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(ValueError, match="two classes"):
        cf.cross_validated_scores(x, np.ones(40), np.repeat([1, 2], 20))


def _snp_world(rng, n=600, n_inf=3, n_noise=40, n_chrom=5, strength=1.2):
    idx = pd.Index([f"rs{i}" for i in range(n)], name="snp")
    y = rng.random(n) < 0.25
    x = rng.normal(size=(n, n_inf + n_noise))
    x[:, :n_inf] += strength * y[:, None]
    chrom = pd.Series(np.array([f"chr{c}" for c in rng.integers(1, n_chrom + 1, n)]), index=idx)
    return pd.DataFrame(x, index=idx), pd.Series(y.astype(int), index=idx), chrom


def test_classifier_separates_and_not_with_permuted_labels():
    rng = np.random.default_rng(8)
    feats, labels, chrom = _snp_world(rng)
    res = cf.evaluate_classifier(feats, labels, chrom, rng=0)
    assert res.auc > 0.8 and res.p_value < 1e-10 and res.ci_low > 0.7
    assert res.params["n_components"] == feats.shape[1]       # fewer than 200 features
    # folds never split a chromosome
    assert all(len(g.split(",")) == 1 for g in res.fold_auc.groups)
    assert res.fold_auc.auc.notna().all()
    perm = pd.Series(rng.permutation(labels.to_numpy()), index=labels.index)
    null = cf.evaluate_classifier(feats, perm, chrom, rng=0)
    assert abs(null.auc - 0.5) < 0.08 and null.ci_low < 0.5 + 0.02


def test_pca_capped_by_features_and_training_snps():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(60, 300))
    y = np.r_[np.ones(20), np.zeros(40)].astype(int)
    groups = np.tile([1, 2, 3], 20)
    _, folds, used = cf.cross_validated_scores(x, y, groups, n_components=200, rng=0)
    assert used == [39, 39, 39]                                  # 40 training SNPs - 1
    _, _, used = cf.cross_validated_scores(x[:, :5], y, groups, n_components=200, rng=0)
    assert used == [5, 5, 5]
    _, folds, _ = cf.cross_validated_scores(x[:, :5], y, groups, n_splits=3, rng=0)
    assert len(np.unique(folds)) == 3
    with pytest.raises(ValueError, match="at least 2 groups"):
        cf.cross_validated_scores(x, y, np.ones(60))
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        cf.cross_validated_scores(bad, y, groups)


def test_compare_feature_sets_and_roc_png(tmp_path):
    rng = np.random.default_rng(10)
    feats, labels, chrom = _snp_world(rng, n=400)
    sets = {"informative": feats, "noise": feats.iloc[:, 3:]}
    results, table, pairs = cf.compare_feature_sets(sets, labels, chrom, rng=0)
    assert list(table.name) == ["informative", "noise"]
    assert pairs.loc[0, "diff"] > 0.2 and pairs.loc[0, "p_value"] < 1e-4
    _, _, boot = cf.compare_feature_sets(sets, labels, chrom, method="bootstrap", n_bootstrap=200, rng=0)
    assert boot.loc[0, "p_value"] < 0.01
    cf.roc_figure(labels.to_numpy(), {k: r.scores.to_numpy() for k, r in results.items()}, path=tmp_path / "roc.png")
    assert (tmp_path / "roc.png").read_bytes()[:4] == b"\x89PNG"


def test_features_from_sad_h5_and_join(tmp_path):
    path = tmp_path / "sad.h5"
    log2max = np.array([[0.5, 1.0], [2.0, 0.0], [0.25, 3.0]], dtype=np.float16)
    with h5py.File(path, "w") as h5:
        h5["snp"] = np.array(["rs1", "rs2", "rs3"], dtype="S")
        h5["chr"] = np.array(["chr1"] * 3, dtype="S")
        h5["target_ids"] = np.array(["CAGE1", "DNASE1"], dtype="S")
        h5["target_labels"] = np.array(["cage a", "dnase b"], dtype="S")
        h5["LOG2MAX"] = log2max
        h5["SAD"] = -log2max
    f = cf.features_from_sad_h5(path)
    assert list(f.columns) == ["CAGE1", "DNASE1"] and list(f.index) == ["rs1", "rs2", "rs3"]
    np.testing.assert_array_equal(f.to_numpy(), log2max.astype(np.float64))
    np.testing.assert_array_equal(cf.features_from_sad_h5(path, stat="SAD").to_numpy(), log2max.astype(float))
    assert list(cf.features_from_sad_h5(path, target_names="target_labels").columns) == ["cage a", "dnase b"]
    with pytest.raises(KeyError, match="no statistic"):
        cf.features_from_sad_h5(path, stat="SED")
    ext = cf.features_from_frame(pd.DataFrame({"snp": ["rs3", "rs1"], "deepsea": [-0.5, 0.25]}), absolute=True)
    joined = cf.join_features(f, ext)
    assert list(joined.index) == ["rs1", "rs3"]
    np.testing.assert_array_equal(joined.deepsea, [0.25, 0.5])
    with pytest.raises(ValueError, match="lack external"):
        cf.join_features(f, ext, how="left")
    with pytest.raises(ValueError, match="duplicated"):
        cf.features_from_frame(pd.DataFrame({"snp": ["a", "a"], "v": [1.0, 2.0]}))


def test_maf_matched_negatives():
    rng = np.random.default_rng(11)
    snps = pd.DataFrame({"snp": [f"rs{i}" for i in range(5000)], "maf": rng.uniform(0.01, 0.5, 5000)})
    # positives skewed to common SNPs
    w = snps.maf.to_numpy() ** 2
    pos = snps.iloc[rng.choice(5000, 200, replace=False, p=w / w.sum())]
    neg = cf.maf_matched_negatives(snps, pos, per_positive=3, rng=1)
    assert len(neg) == 600
    assert not set(neg.snp) & set(pos.snp)
    assert sps.ks_2samp(neg.maf, pos.maf).pvalue > 0.05
    assert sps.ks_2samp(snps.maf, pos.maf).pvalue < 1e-6
    with pytest.raises(ValueError, match="need"):
        cf.maf_matched_negatives(snps.iloc[:300], pos, per_positive=3, rng=1)
    few = cf.maf_matched_negatives(snps.iloc[:300], pos, per_positive=3, strict=False, rng=1)
    assert 0 < len(few) < 600


def test_world_catalog_true_effects_classify(tiny_world):
    """The world's catalog positives vs MAF-matched negatives, with |true effects| per track as features."""
    cat = pd.read_csv(tiny_world / "catalog" / "gwas_catalog_snps.tsv", sep="\t")
    eff = pd.read_csv(tiny_world / "truth" / "snp_track_effects.tsv.gz", sep="\t")
    tracks = [c for c in eff.columns if ":" in c]
    feats = cf.features_from_frame(eff[["snp", *tracks]], absolute=True)
    feats = np.log1p(feats / feats.std())
    labels = cat.set_index("snp").label
    chrom = cat.set_index("snp").chrom
    res = cf.evaluate_classifier(feats, labels, chrom, rng=0)
    assert res.auc > 0.7 and res.p_value < 1e-4
    rng = np.random.default_rng(0)
    null_aucs = [cf.evaluate_classifier(feats, pd.Series(rng.permutation(labels.to_numpy()), index=labels.index),
                                        chrom, rng=0).auc for _ in range(3)]
    assert max(abs(a - 0.5) for a in null_aucs) < 0.15


def test_permute_within_groups_keeps_group_class_counts():
    rng = np.random.default_rng(12)
    y = rng.integers(0, 2, 200)
    g = rng.integers(1, 6, 200)
    yp = cf.permute_within_groups(y, g, rng=1)
    assert not np.array_equal(yp, y)
    for c in np.unique(g):
        assert yp[g == c].sum() == y[g == c].sum()
    np.testing.assert_array_equal(yp, cf.permute_within_groups(y, g, rng=1))


def test_permutation_p_small_for_informative_features():
    rng = np.random.default_rng(13)
    feats, labels, chrom = _snp_world(rng, n=300, n_noise=10, n_chrom=4)
    res = cf.evaluate_classifier(feats, labels, chrom, n_permutations=19, rng=0)
    # no permuted AUROC reaches the observed one: the smallest attainable p, 1 / 20
    assert res.p_permutation == pytest.approx(1 / 20)
    assert res.null_auc.shape == (19,) and abs(res.null_auc.mean() - 0.5) < 0.05 and res.null_auc.max() < res.auc
    row = res.summary()
    assert row["n_permutations"] == 19 and row["delong_kind"].startswith("descriptive")
    # paired permutation: informative vs noise features on the same permuted labels
    sets = {"informative": feats, "noise": feats.iloc[:, 3:]}
    results, table, pairs = cf.compare_feature_sets(sets, labels, chrom, method="permutation", n_permutations=19,
                                                    rng=0)
    assert pairs.loc[0, "kind"] == "permutation" and pairs.loc[0, "p_value"] == pytest.approx(1 / 20)
    assert table.p_permutation.iloc[0] == pytest.approx(1 / 20) and table.p_permutation.iloc[1] > 0.05
    assert results["noise"].null_auc.shape == (19,)
    _, _, dl = cf.compare_feature_sets(sets, labels, chrom, rng=0)
    assert dl.loc[0, "kind"] == "descriptive"
    with pytest.raises(ValueError, match="n_permutations"):
        cf.compare_feature_sets(sets, labels, chrom, method="permutation", rng=0)


@pytest.mark.slow
def test_permutation_p_not_anti_conservative_under_null():
    """Null replicates (labels independent of features): with N = 9 permutations p is uniform on
    {0.1, ..., 1}, so P(p <= 0.1) = 0.1 and E[p] = 0.55. Anti-conservative (the pooled DeLong p on the
    same data, 17.5% below 0.05) or degenerate (always 1) tests fail the bounds below."""
    rng = np.random.default_rng(14)
    n, reps, n_perm = 160, 20, 9
    idx = pd.Index([f"rs{i}" for i in range(n)])
    p_perm = []
    for _ in range(reps):
        chrom = pd.Series(rng.integers(1, 5, n), index=idx)
        y = pd.Series((rng.random(n) < 0.3).astype(int), index=idx)
        x = pd.DataFrame(rng.normal(size=(n, 15)), index=idx)
        r = cf.evaluate_classifier(x, y, chrom, n_permutations=n_perm, rng=rng)
        p_perm.append(r.p_permutation)
    p_perm = np.array(p_perm)
    # P(Bin(20, 0.1) >= 6) = 0.011
    assert np.sum(p_perm <= 0.1 + 1e-9) <= 5
    assert 0.35 < p_perm.mean() < 0.8
    assert p_perm.max() - p_perm.min() >= 0.3
    assert set(np.round(p_perm * (n_perm + 1)).astype(int)) <= set(range(1, n_perm + 2))
