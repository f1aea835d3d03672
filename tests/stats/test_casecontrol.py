"""De novo case-control tests: hand-checked MWU / BH / binomial values, inputs, errors, simulated worlds."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from stats import casecontrol as cc


def test_mwu_small_case_by_hand():
    # dataset 0: cases 1, 2, 3 all below controls 4, 5 -> U_case = 0; exact null: U = 0 in 1 of C(5, 2) = 10
    # rankings, so p_less = 0.1 and two-sided p = 0.2. Dataset 1: cases 5, 4, 3 vs 1, 2 -> U = 6, p_greater 0.1.
    x = np.array([[1.0, 5.0], [2.0, 4.0], [3.0, 3.0], [4.0, 1.0], [5.0, 2.0]])
    is_case = np.array([True, True, True, False, False])
    out = cc.dataset_tests(x, is_case, names=["a", "b"])
    assert out.U.tolist() == [0.0, 6.0]
    assert out.auc.tolist() == [0.0, 1.0]
    np.testing.assert_allclose(out.p, [0.2, 0.2])
    np.testing.assert_allclose(out.p_less, [0.1, 1.0])
    np.testing.assert_allclose(out.p_greater, [1.0, 0.1])
    eff = np.arcsinh([1, 2, 3]).mean() - np.arcsinh([4, 5]).mean()
    assert out.effect[0] == pytest.approx(eff)


def test_mwu_with_ties_matches_scipy_and_bh_matches_statsmodels():
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(size=(120, 15)), 1)  # ties -> normal approximation
    x[:50, :3] -= 1.0
    is_case = np.arange(120) < 50
    out = cc.dataset_tests(pd.DataFrame(x, columns=[f"d{j}" for j in range(15)]), is_case)
    for j in (0, 7):
        for alt, col in (("two-sided", "p"), ("less", "p_less"), ("greater", "p_greater")):
            r = sps.mannwhitneyu(x[is_case, j], x[~is_case, j], alternative=alt)
            assert out[col][j] == pytest.approx(r.pvalue, rel=1e-12)
            assert out.U[j] == r.statistic
    for col, fcol in (("p", "fdr"), ("p_less", "fdr_less")):
        np.testing.assert_allclose(out[fcol], multipletests(out[col], method="fdr_bh")[1], rtol=1e-12)
    assert (out.fdr_less[:3] < 0.05).all()


def test_bh_by_hand():
    # p sorted 0.01, 0.02, 0.03, 0.5 with n = 4: 0.04, 0.04, 0.04, 0.5
    np.testing.assert_allclose(cc.benjamini_hochberg([0.03, 0.5, 0.01, 0.02]), [0.04, 0.5, 0.04, 0.04])
    with pytest.raises(ValueError):
        cc.benjamini_hochberg([1.2])


def _table(fams):
    """Variant table from {family: {'case': [scores], 'control': [scores]}}."""
    rows = []
    for f, d in fams.items():
        for role, sc in d.items():
            for s in sc:
                rows.append({"variant_id": f"v{len(rows)}", "family": f, "role": role, "score": s})
    return pd.DataFrame(rows)


def test_risk_scores_and_family_binomial_by_hand():
    fams = {f"f{i}": {"case": [-2.0, 1.0], "control": [-0.5]} for i in range(8)}  # case -2 vs control -0.5
    fams["f8"] = {"case": [0.5], "control": [-1.0, 3.0]}  # control worse
    fams["f9"] = {"case": [-1.0], "control": [-2.0]}  # control worse
    fams["f10"] = {"case": [2.0], "control": [1.0]}  # tie: both 0
    fams["f11"] = {"case": [-1.0], "control": [-1.0, 0.3]}  # tie: both -1
    t = _table(fams)
    risk = cc.risk_scores(t, t.score.to_numpy())
    r = risk.set_index("individual").risk
    assert r["f0.case"] == -2.0 and r["f8.control"] == -1.0 and r["f10.case"] == 0.0
    summary, per = cc.family_paired_test(risk)
    assert (summary["n_case_worse"], summary["n_control_worse"], summary["n_ties"]) == (8, 2, 2)
    assert summary["p"] == pytest.approx(sps.binomtest(8, 10, 0.5, alternative="greater").pvalue)
    assert summary["p"] == pytest.approx(56 / 1024)  # (C(10,8) + C(10,9) + C(10,10)) / 2^10 = 56 / 1024
    s2, _ = cc.family_paired_test(risk, alternative="two-sided")
    assert s2["p"] == pytest.approx(112 / 1024)
    assert per.set_index("family").loc["f0", "diff"] == -1.5


def test_group_comparison_by_hand():
    p = np.array([0.001, 0.01, 0.02, 0.3, 0.5, 0.7, 0.9])
    g = np.array([True, True, True, False, False, False, False])
    res = cc.group_comparison(p, g)
    # all group p-values below all others: U = 0, exact p_less = 1 / C(7, 3) = 1 / 35
    assert res["U"] == 0 and res["p"] == pytest.approx(1 / 35)
    with pytest.raises(ValueError, match="some but not all"):
        cc.group_comparison(p, np.ones(7, bool))


def test_pca_first_component():
    rng = np.random.default_rng(5)
    n, k = 300, 8
    latent = rng.normal(size=n)
    is_case = np.arange(n) < 100
    latent[is_case] -= 0.8  # cases lower across datasets
    x = latent[:, None] * np.linspace(0.5, 1.5, k) + 0.3 * rng.normal(size=(n, k))
    comp, proj = cc.pca_test(x, is_case, n_components=3)
    xc = x - x.mean(axis=0)
    ev = np.linalg.svd(xc, compute_uv=False) ** 2
    np.testing.assert_allclose(comp.variance_explained, ev[:3] / ev.sum(), rtol=1e-10)
    assert comp.variance_explained[0] > 0.8
    assert comp.p_less[0] < 1e-6  # sign fixed: lower PC1 = lower scores
    r = sps.mannwhitneyu(proj.PC1[is_case], proj.PC1[~is_case], alternative="less")
    assert comp.p_less[0] == pytest.approx(r.pvalue)


def test_bad_input_errors():
    x = np.random.default_rng(0).normal(size=(6, 2))
    with pytest.raises(ValueError, match="both case and control"):
        cc.dataset_tests(x, np.ones(6, bool))
    with pytest.raises(ValueError, match="constant scores"):
        cc.dataset_tests(np.c_[x, np.ones(6)], np.arange(6) < 3)
    out = cc.dataset_tests(np.c_[x, np.ones(6)], np.arange(6) < 3, constant="drop")
    assert len(out) == 2
    with pytest.raises(ValueError, match="NaN"):
        cc.dataset_tests(np.where(np.eye(6, 2) > 0, np.nan, x), np.arange(6) < 3)
    with pytest.raises(ValueError, match="both case and control"):
        cc.check_variants(pd.DataFrame({"variant_id": ["a", "b"], "family": ["f", "g"], "role": ["case", "case"]}))
    with pytest.raises(ValueError, match="unknown role"):
        cc.check_variants(pd.DataFrame({"variant_id": ["a", "b"], "family": ["f", "f"], "role": ["case", "sib"]}))
    # a family with one member
    t = _table({"f0": {"case": [-1.0], "control": [0.0]}, "f1": {"case": [-2.0]}})
    risk = cc.risk_scores(t, t.score.to_numpy())
    with pytest.raises(ValueError, match="only one member"):
        cc.family_paired_test(risk)
    # all ties
    t = _table({"f0": {"case": [1.0], "control": [2.0]}})
    with pytest.raises(ValueError, match="tie"):
        cc.family_paired_test(cc.risk_scores(t, t.score.to_numpy()))


def test_read_scores_h5_and_tsv_agree(tmp_path):
    import h5py

    x = np.array([[0.5, -1.0], [2.0, 0.25], [-3.0, 1.5]], dtype=np.float16)
    with h5py.File(tmp_path / "sad.h5", "w") as h5:
        h5.create_dataset("snp", data=np.array(["v1", "v2", "v3"], dtype="S"))
        h5.create_dataset("target_labels", data=np.array(["CAGE:brain", "DNASE:liver"], dtype="S"))
        h5.create_dataset("SAD", data=x)
    a = cc.read_scores(tmp_path / "sad.h5")
    df = pd.DataFrame(x.astype(float), index=["v1", "v2", "v3"], columns=["CAGE:brain", "DNASE:liver"])
    df.index.name = "snp"
    df.to_csv(tmp_path / "s.tsv", sep="\t")
    b = cc.read_scores(tmp_path / "s.tsv")
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError, match="no dataset 'SAR'"):
        cc.read_scores(tmp_path / "sad.h5", stat="SAR")


def _power_sim(seed, n_families, enrichment):
    """Pool of variants with brain and non-brain scores; cases enriched for brain-negative variants."""
    from stats.simulate import denovo_families

    rng = np.random.default_rng(seed)
    n_pool = 3000
    shared = rng.normal(size=n_pool)
    brain_specific = rng.normal(size=n_pool)
    s = np.c_[np.stack([0.5 * shared + brain_specific + 0.3 * rng.normal(size=n_pool) for _ in range(4)], 1),
              np.stack([shared + 0.3 * rng.normal(size=n_pool) for _ in range(6)], 1)]
    cols = [f"brain_{i}" for i in range(4)] + [f"other_{i}" for i in range(6)]
    burden = brain_specific <= np.quantile(brain_specific, 0.05)
    pool = pd.DataFrame({"pool_index": np.arange(n_pool)})
    fam = denovo_families(pool, burden, n_families=n_families, mean_per_child=3.0, case_enrichment=enrichment, rng=rng)
    scores = pd.DataFrame(s[fam.pool_index.to_numpy()], columns=cols, index=fam.variant_id.to_numpy())
    return fam[["variant_id", "family", "individual", "role"]], scores


def test_simulated_brain_burden_is_detected_and_family_test_agrees(tmp_path):
    variants, scores = _power_sim(11, 400, 4.0)
    res = cc.analyze(variants, scores, group="brain", risk_dataset="brain_0")
    t = res["datasets"].set_index("dataset")
    assert (t.loc[[f"brain_{i}" for i in range(4)], "fdr_less"] < 0.05).all()
    assert (t.loc[[f"brain_{i}" for i in range(4)], "effect"] < 0).all()
    assert (t.loc[[f"other_{i}" for i in range(6)], "fdr_less"] > 0.05).all()
    assert res["group"]["p"] < 0.01
    assert res["family"]["share_case_worse"] > 0.5 and res["family"]["p"] < 0.01
    png = cc.volcano_plot(res["datasets"], tmp_path / "volcano.png", group="brain")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tiny_world_planted_brain_enrichment(tiny_world):
    truth = json.loads((tiny_world / "truth.json").read_text())["denovo"]
    assert truth["case_burden_share"] > truth["control_burden_share"]
    variants = cc.read_variants(tiny_world / "denovo" / "denovo_variants.tsv")
    scores = cc.read_scores(tiny_world / "truth" / "denovo_effects.tsv.gz")
    # the risk dataset is fixed in advance (a brain track), not chosen by its p-value
    res = cc.analyze(variants, scores, group="brain", risk_dataset="DNASE:brain_neuron")
    t = res["datasets"]
    brain = t.dataset.str.contains("brain")
    assert res["group"]["p"] < 0.05  # brain datasets have smaller case-control p-values than the others
    assert (t.effect[brain] < 0).all() and (t.p_less[brain] < 0.05).all()
    assert res["family"]["share_case_worse"] > 0.5 and res["family"]["p"] < 0.05
