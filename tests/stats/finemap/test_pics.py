"""PICS fine-mapping: hand-checked probabilities, credible sets, LD sources, errors, simulated and real loci."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from stats.finemap import pics as fm


def _by_hand(p_lead, r):
    """PICS written out directly from Farh et al. / DESIGN.md with scipy.stats.norm."""
    big_p = -np.log10(p_lead)
    w = []
    for ri in r:
        if ri * ri < 0.5:
            w.append(0.0)
            continue
        mu = ri * ri * big_p
        sd = np.sqrt(1 - abs(ri) ** 6.4) * np.sqrt(big_p) / 2
        w.append(1.0 if sd == 0 else 2 * norm.sf(big_p, loc=mu, scale=sd))
    w = np.array(w)
    return w / w.sum()


def test_three_snp_locus_matches_hand_computation():
    # by hand: P = 6. SNP2, r = 0.9: mu = 0.81 * 6 = 4.86, 0.9^6.4 = exp(6.4 ln 0.9) = 0.50953,
    # sigma = sqrt(0.49047) * sqrt(6) / 2 = 0.85775, z = 1.14 / 0.85775 = 1.32906, w = 2 sf(z) = 0.18383.
    # SNP3, r = -0.8: mu = 3.84, 0.8^6.4 = 0.23973, sigma = sqrt(0.76027) * 1.224745 = 1.06788,
    # z = 2.16 / 1.06788 = 2.02270, w = 0.043104. Lead: w = 2 sf(0) = 1. Sum 1.226933.
    prob = fm.pics_probabilities(1e-6, [1.0, 0.9, -0.8])
    np.testing.assert_allclose(prob, _by_hand(1e-6, [1.0, 0.9, -0.8]), rtol=1e-9)
    np.testing.assert_allclose(prob, np.array([1.0, 0.18383, 0.043104]) / 1.226934, rtol=2e-4)
    assert prob.sum() == pytest.approx(1.0)


def test_snps_below_r2_threshold_get_zero_and_sign_of_r_is_ignored():
    prob = fm.pics_probabilities(1e-10, [1.0, 0.7, -0.7, 0.5])
    assert prob[3] == 0.0
    assert prob[1] == pytest.approx(prob[2])
    np.testing.assert_allclose(prob, _by_hand(1e-10, [1.0, 0.7, -0.7, 0.5]), rtol=1e-9)


def test_sigma_floor_only_touches_perfect_ld():
    # near-perfect LD tends continuously to the lead's weight of 1
    w, _, sigma = fm.pics_weights(8.0, [1.0, 1 - 1e-9, 0.999])
    assert w[0] == pytest.approx(1.0) and w[1] == pytest.approx(1.0, abs=1e-3)
    assert sigma[0] == 1e-4 and sigma[2] > 1e-3


def test_credible_set_by_cumulative_probability():
    p = np.array([0.05, 0.5, 0.15, 0.3])
    np.testing.assert_array_equal(fm.credible_set(p, coverage=0.95), [False, True, True, True])
    np.testing.assert_array_equal(fm.credible_set(p, coverage=0.8), [False, True, False, True])
    np.testing.assert_array_equal(fm.credible_set(p, coverage=0.5), [False, True, False, False])
    assert fm.credible_set(p, coverage=1.0).all()


def test_pics_locus_table_and_ld_table_source():
    ld = pd.DataFrame({"SNP_A": ["a", "a", "c", "a"], "SNP_B": ["b", "d", "a", "e"], "R": [0.9, 0.3, -0.8, 0.75]})
    r = fm.r_from_table(ld, "a")
    assert r["a"] == 1.0 and r["c"] == -0.8
    out = fm.pics(pd.DataFrame({"SNP": ["a", "b"], "P": [1e-6, 1e-3]}), ["a"], ld=ld)
    assert list(out.SNP[:3]) == ["a", "b", "c"]  # d (r2 0.09) is dropped; e (r2 0.5625) kept
    assert set(out.SNP) == {"a", "b", "c", "e"}
    expect = _by_hand(1e-6, [1.0, 0.9, -0.8, 0.75])
    np.testing.assert_allclose(out.set_index("SNP").prob[["a", "b", "c", "e"]], expect, rtol=1e-9)
    assert out.cum_prob.iloc[-1] == pytest.approx(1.0)
    # R2 tables give the same answer (PICS only uses |r|)
    ld2 = ld.assign(R2=ld.R**2).drop(columns="R")
    out2 = fm.pics(pd.DataFrame({"SNP": ["a"], "P": [1e-6]}), "a", ld=ld2)
    np.testing.assert_allclose(out2.prob, out.prob, rtol=1e-9)


def test_genotype_matrix_source_matches_correlation():
    rng = np.random.default_rng(1)
    g = rng.integers(0, 3, size=(200, 1)).astype(float)
    x = np.hstack([g, g + (rng.random((200, 1)) < 0.1), rng.integers(0, 3, size=(200, 1))])
    r = fm.r_with_lead(x, 0)
    np.testing.assert_allclose(r, [np.corrcoef(x[:, 0], x[:, j])[0, 1] for j in range(3)], rtol=1e-10)
    out = fm.pics(pd.DataFrame({"SNP": ["s0"], "P": [1e-9]}), "s0", genotypes=(x, ["s0", "s1", "s2"]))
    assert r[1] ** 2 >= 0.5 > r[2] ** 2
    got = out.set_index("SNP").prob.reindex(["s0", "s1", "s2"]).fillna(0.0).to_numpy()
    np.testing.assert_allclose(got, _by_hand(1e-9, np.r_[1.0, r[1:]]), rtol=1e-9)  # the lead's r is exactly 1


def test_several_loci_at_once():
    ld = pd.DataFrame({"SNP_A": ["a", "x"], "SNP_B": ["b", "y"], "R": [0.95, 0.8]})
    out = fm.pics(pd.DataFrame({"SNP": ["a", "x"], "P": [1e-8, 1e-12]}), ["a", "x"], ld=ld)
    assert list(out.locus.unique()) == ["a", "x"]
    assert out.groupby("locus").prob.sum().to_numpy() == pytest.approx([1.0, 1.0])


@pytest.mark.parametrize("p", [0.0, 1.5, -1e-3, np.nan])
def test_bad_p_values(p):
    with pytest.raises(ValueError, match="p-value"):
        fm.pics_probabilities(p, [1.0, 0.9])
    ld = pd.DataFrame({"SNP_A": ["a"], "SNP_B": ["b"], "R": [0.9]})
    with pytest.raises(ValueError, match="p-value"):
        fm.pics(pd.DataFrame({"SNP": ["a"], "P": [p]}), "a", ld=ld)


def test_lead_missing_from_panel_or_sumstats(tmp_path):
    from stats.io.plink import write_bfile

    ld = pd.DataFrame({"SNP_A": ["a"], "SNP_B": ["b"], "R": [0.9]})
    with pytest.raises(KeyError, match="not in the LD table"):
        fm.pics(pd.DataFrame({"SNP": ["z"], "P": [1e-8]}), "z", ld=ld)
    with pytest.raises(KeyError, match="summary statistics"):
        fm.pics(pd.DataFrame({"SNP": ["a"], "P": [1e-8]}), "q", ld=ld)
    rng = np.random.default_rng(0)
    prefix = tmp_path / "ref"
    write_bfile(prefix, rng.integers(0, 3, size=(20, 3)).astype(np.int8), iid=[f"i{i}" for i in range(20)],
                chrom=["1"] * 3, sid=["s1", "s2", "s3"], cm=[0, 0, 0], bp=[10, 20, 30], allele_1=["A"] * 3,
                allele_2=["G"] * 3)
    with pytest.raises(KeyError, match="not in the reference panel"):
        fm.pics(pd.DataFrame({"SNP": ["zz"], "P": [1e-8]}), "zz", panel=prefix)
    with pytest.raises(ValueError, match="exactly one LD source"):
        fm.pics(pd.DataFrame({"SNP": ["a"], "P": [1e-8]}), "a", ld=ld, panel=prefix)


def test_world_causal_snp_in_95_credible_set(tiny_world):
    truth = json.loads((tiny_world / "truth.json").read_text())["finemap"]
    ss = pd.read_csv(tiny_world / "finemap" / "locus.sumstats.tsv", sep="\t")
    chrom = truth["chrom"]
    out = fm.pics(ss, panel=tiny_world / "genotypes" / f"ref_panel.{chrom}", coverage=0.95)
    assert out.lead_snp.iloc[0] == truth["lead_snp"]
    cs = set(out.SNP[out.in_credible_set])
    assert truth["causal_snp"] in cs
    assert len(cs) < len(ss)  # the set actually narrows the locus
    # the bfile reader (chosen columns via bed-reader) agrees with the whole-matrix correlation
    from stats.io.plink import read_bfile

    dos, bim, _ = read_bfile(tiny_world / "genotypes" / f"ref_panel.{chrom}", dtype=np.float64)
    lead = int(np.flatnonzero(bim.snp == truth["lead_snp"])[0])
    r_all = pd.Series(fm.r_with_lead(dos, lead), index=bim.snp)
    r_win = fm.r_from_bfile(tiny_world / "genotypes" / f"ref_panel.{chrom}", truth["lead_snp"])
    np.testing.assert_allclose(r_win.to_numpy(), r_all.reindex(r_win.index).to_numpy(), atol=1e-10)


def test_real_ms_locus_against_farh(shared_data):
    """chr1 MS locus: PICS with 1000G phase 3 EUR haplotypes vs Farh et al.'s published probabilities."""
    jlim = shared_data / "finemap_ms_locus_jlim"
    farh_path = shared_data / "finemap_pics_farh2015" / "nature13835-s1.txt"
    if not jlim.is_dir() or not farh_path.is_file():
        pytest.skip("MS locus data absent")
    ids, rows = [], []
    with gzip.open(jlim / "ld0" / "locus.1.160697074.160933065.txt.gz", "rt") as fh:
        for line in fh:
            f = line.split()
            if "," not in f[4]:
                ids.append(f[2])
                rows.append(np.array(f[7:]) == f[4])
    hap = np.array(rows, dtype=float).T
    ids = np.array(ids)
    ms = pd.read_csv(jlim / "MS" / "MS.1.160697074.160933065.txt", sep=r"\s+")
    p = float(ms.P[ms.SNP == "rs35967351"].iloc[0])
    assert p == pytest.approx(4.79e-8)
    out = fm.pics(pd.DataFrame({"SNP": ["rs35967351"], "P": [p]}), "rs35967351", genotypes=(hap, ids))
    farh = pd.read_csv(farh_path, sep="\t", dtype=str)
    farh = farh[(farh.Disease == "Multiple_sclerosis") & (farh.IndexSNP_riskAllele == "rs35967351-A")]
    f = farh.set_index("SNP").PICS_probability.astype(float)
    ours = out.set_index("SNP").prob.reindex(f.index).fillna(0.0)
    assert out.SNP.iloc[0] == f.idxmax() == "rs35967351"
    assert np.corrcoef(ours, f)[0, 1] > 0.9
    assert out.set_index("SNP").loc["rs35967351", "in_credible_set"]


def test_reference_panel_sources_agree(tiny_world):
    """A per-chromosome panel (template, mapping, or open ReferencePanel) gives the single fileset's r."""
    from stats.io.panel import ReferencePanel

    truth = json.loads((tiny_world / "truth.json").read_text())["finemap"]
    ss = pd.read_csv(tiny_world / "finemap" / "locus.sumstats.tsv", sep="\t").drop(columns="CHR", errors="ignore")
    geno = tiny_world / "genotypes"
    single = fm.r_from_bfile(geno / f"ref_panel.{truth['chrom']}", truth["lead_snp"])
    panel = ReferencePanel(geno / "ref_panel")
    assert panel.kind == "template" and len(panel.chroms) > 1
    pd.testing.assert_series_equal(fm.r_from_bfile(panel, truth["lead_snp"]), single, check_exact=True)
    pd.testing.assert_series_equal(fm.r_from_bfile(panel, truth["lead_snp"], chrom=truth["chrom"]), single,
                                   check_exact=True)
    want = fm.pics(ss, panel=geno / f"ref_panel.{truth['chrom']}")
    with_chr = ss.assign(CHR=truth["chrom"])
    for src in (panel, str(geno / "ref_panel.{chrom}"), {truth["chrom"]: geno / f"ref_panel.{truth['chrom']}"}):
        for table in (ss, with_chr) if not isinstance(src, dict) else (with_chr,):
            pd.testing.assert_frame_equal(fm.pics(table, panel=src), want, check_exact=True)
    parsed = dict(panel.parse_counts)
    fm.pics(with_chr, panel=panel)
    assert dict(panel.parse_counts) == parsed and set(parsed.values()) == {1}
    with pytest.raises(KeyError, match="no reference panel for chromosome 9"):
        fm.pics(ss.assign(CHR="9"), panel={truth["chrom"]: geno / f"ref_panel.{truth['chrom']}"})
    with pytest.raises(ValueError, match="needs a CHR column"):
        fm.pics(ss, panel={truth["chrom"]: geno / f"ref_panel.{truth['chrom']}"})
