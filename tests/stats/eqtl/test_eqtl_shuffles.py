"""Shuffled SED annotations: controls, batches of shuffles, the permutation null and test."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stats.eqtl.regression import covariate_regression, p_positive, shuffle_t
from stats.eqtl.sed_ld import sed_ld
from stats.eqtl.shuffles import sed_on_tested, shuffle_null_t, shuffle_test, shuffled_controls, shuffled_seds
from stats.eqtl.tables import RegressionTables, snp_blocks

BIM = pd.DataFrame({"snp": ["a", "b", "c"], "a1": ["A", "C", "G"], "a2": ["G", "T", "A"]})
TESTED = pd.DataFrame({"SNP": ["a", "a", "b", "c", "c", "b"], "gene_id": ["g1", "g2", "g1", "g2", "g1", "g2"]})
#: matched to BIM (match_sed_to_panel): a's alt is the panel's A2 (sign -1), b's alt its A1
SED = pd.DataFrame({"SNP": ["a", "b", "a"], "gene_id": ["g1", "g1", "g2"], "A1": ["A", "C", "A"],
                    "A2": ["G", "T", "G"], "SED": [1.0, 2.0, 3.0], "allele_sign": np.array([-1, 1, -1], np.int8)})


def test_sed_on_tested():
    full = sed_on_tested(SED, TESTED, BIM)
    assert full[["SNP", "gene_id"]].equals(TESTED)
    assert full["SED"].tolist() == [1.0, 3.0, 2.0, 0.0, 0.0, 0.0]
    assert full["allele_sign"].tolist() == [-1, -1, 1, 1, 1, 1]  # +1 where the SED table lacks the SNP (c)
    assert full["A1"].tolist() == ["A", "A", "C", "G", "G", "C"] and full["A2"].tolist()[3] == "A"  # the panel's
    per_snp = sed_on_tested(SED.groupby(["SNP", "A1", "A2", "allele_sign"], as_index=False)["SED"].sum(), TESTED, BIM)
    assert per_snp["SNP"].tolist() == ["a", "b", "c"] and per_snp["SED"].tolist() == [4.0, 2.0, 0.0]


def test_shuffled_controls():
    """Values are permuted as alt minus ref, then oriented to the panel's A1 of the SNP they land on."""
    out = shuffled_controls(SED, TESTED, BIM, controls=("shuffled", "shuffled_in_gene"), rng=np.random.default_rng(4))
    full = sed_on_tested(SED, TESTED, BIM)
    sign = full["allele_sign"].to_numpy()
    raw = full["SED"].to_numpy() * sign  # alt minus ref: [-1, -3, 2, 0, 0, 0]
    rng = np.random.default_rng(4)
    np.testing.assert_array_equal(out["shuffled"]["SED"], rng.permutation(raw) * sign)
    for g, idx in full.groupby("gene_id").indices.items():  # within each gene: the same alt-minus-ref values
        got = out["shuffled_in_gene"]["SED"].to_numpy()[idx] * sign[idx]
        assert sorted(got) == sorted(raw[idx])
    for t in out.values():
        assert t.drop(columns=["SED"]).equals(full.drop(columns=["SED"]))
    assert shuffled_controls(SED, TESTED, BIM, controls=(), rng=None) == {}
    with pytest.raises(ValueError, match="needs a per-pair SED table"):
        shuffled_controls(SED.drop(columns=["gene_id"]).drop_duplicates("SNP"), TESTED, BIM,
                          controls=["shuffled_in_gene"], rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown control 'flipped'"):
        shuffled_controls(SED, TESTED, BIM, controls=["flipped"], rng=np.random.default_rng(0))


def test_shuffled_seds_batches():
    batches = list(shuffled_seds(SED, TESTED, BIM, n_shuffles=5, batch=2, rng=np.random.default_rng(1)))
    assert [len(b) for b in batches] == [2, 2, 1]
    # the "shuffled" control first, then every shuffle permutes its (alt minus ref) values again
    rng = np.random.default_rng(1)
    control = shuffled_controls(SED, TESTED, BIM, controls=["shuffled"], rng=rng)["shuffled"]
    sign = control["allele_sign"].to_numpy()
    for b in batches:
        for t in b:
            np.testing.assert_array_equal(t["SED"], rng.permutation(control["SED"].to_numpy() * sign) * sign)
            assert t.drop(columns=["SED"]).equals(control.drop(columns=["SED"]))
    assert list(shuffled_seds(SED, TESTED, BIM, n_shuffles=0, batch=3, rng=np.random.default_rng(1))) == []


def test_shuffle_test(covreg_data):
    chi2, l2, s, tss, sig = covreg_data(np.random.default_rng(2), n=200)
    res = covariate_regression(chi2, l2, s, significant=sig, tss_ld=tss, n_boot=0, groups=np.arange(200) % 10)
    out = shuffle_test(res, 2.5, [3.0, 2.5, 1.0, -4.0])
    assert out["t_shuffle"] == 2.5 and out["n_shuffles"] == 4 and out["p_shuffle"] == pytest.approx(3 / 5)
    want = np.mean([p_positive(v, 9) < 0.05 for v in (3.0, 2.5, 1.0, -4.0)])  # t(G - 1): 9 df
    assert out["shuffles_p05"] == want == 0.5
    plain = covariate_regression(chi2, l2, s, significant=sig, tss_ld=tss, n_boot=0)
    df = 200 - 7  # rows - (intercept, L2, 4 TSS, |SED-LD|)
    assert shuffle_test(plain, 0.0, [1.7])["shuffles_p05"] == float(p_positive(1.7, df) < 0.05)


def test_shuffle_null_t_tiny_world(world_info, world_pairs, world_covariates, world_sed):
    """The null of one tissue equals shuffle_t of each shuffled annotation's SED-LD, one at a time."""
    from stats.io.ldblocks import read_ldblocks

    blocks = read_ldblocks(world_info["blocks"])
    maker = RegressionTables(*world_covariates, snp_blocks(world_pairs["bim"], blocks), units=("pair", "snp"))
    sed = world_sed
    pairs, tested, bim = world_pairs["kept"], world_pairs["tested"], world_pairs["bim"]
    panel = {"panel": world_info["panel"], "blocks": blocks, "build": "simworld1", "lengths": world_info["lengths"]}
    null = shuffle_null_t(sed, tested, pairs, tables=maker, **panel, n_shuffles=3, batch=2,
                          scale="sqrt", rng=np.random.default_rng(8))
    assert list(null) == ["pair", "snp"] and all(v.shape == (3,) for v in null.values())
    anns = [a for b in shuffled_seds(sed, tested, bim, n_shuffles=3, batch=3, rng=np.random.default_rng(8)) for a in b]
    for k, a in enumerate(anns):
        s = sed_ld(world_info["panel"], blocks, a[a["SED"] != 0], build="simworld1", targets=pairs,
                   lengths=world_info["lengths"])
        for u, t in maker.tables(pairs, s).items():
            assert null[u][k] == pytest.approx(shuffle_t(t, maker.groups(t, u), scale="sqrt"), rel=1e-9)
