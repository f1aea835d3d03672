"""Signed LD profiles against plain loops and the direct formulas of sldp's preprocessannot."""
import numpy as np
import pandas as pd
import pytest

from stats.ld.signed_profile import (annotation_info, chromosome_profiles, rv_frame, scale_by_maf, signed_ld_profile,
                             sldp_block_ranges, standardize_genotypes, sum_info)


def _dosage(rng, n=40, m=15, missing=0.0):
    f = rng.uniform(0.05, 0.5, m)
    d = rng.binomial(2, f, size=(n, m)).astype(float)
    d[:, 3] = d[:, 2]               # perfect LD
    d[:, 5] = 1.0                   # monomorphic
    if missing:
        d[rng.random(d.shape) < missing] = np.nan
    return d


def _slow_rv(x, v, rows):
    n, m = x.shape
    out = np.zeros((len(rows), v.shape[1]))
    for a, i in enumerate(rows):
        for j in range(m):
            r_ij = sum(x[t, i] * x[t, j] for t in range(n)) / n
            for k in range(v.shape[1]):
                out[a, k] += r_ij * v[j, k]
    return out


def test_standardize_matches_direct_formula_and_pysnptools():
    rng = np.random.default_rng(0)
    d = _dosage(rng, missing=0.1)
    x = standardize_genotypes(d)
    # direct: centre by the observed mean, missing -> 0, unit variance over everybody
    mean = np.nanmean(d, axis=0)
    c = np.where(np.isnan(d), 0.0, d - mean)
    sd = np.sqrt((c ** 2).mean(axis=0))
    want = np.divide(c, sd, out=np.zeros_like(c), where=sd > 0)
    np.testing.assert_allclose(x, want, atol=1e-12)
    assert np.all(x[:, 5] == 0)
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose((x ** 2).mean(axis=0)[sd > 0], 1, atol=1e-12)
    unit = pytest.importorskip("pysnptools.standardizer").Unit
    y = np.array(d, order="F")
    with pytest.warns(DeprecationWarning):
        unit().standardize(y)
    with pytest.warns(DeprecationWarning):
        unit().standardize(y)
    np.testing.assert_allclose(x, y, atol=1e-12)


def test_profile_matches_loops_for_many_annotations_and_rows():
    rng = np.random.default_rng(1)
    x = standardize_genotypes(_dosage(rng, n=30, m=12))
    v = rng.normal(size=(12, 4))
    v[rng.random(v.shape) < 0.5] = 0
    rows = np.array([0, 2, 3, 7, 11])
    mask = np.zeros(12, bool)
    mask[rows] = True
    want = _slow_rv(x, v, rows)
    np.testing.assert_allclose(signed_ld_profile(x, v, rows=rows), want, atol=1e-12)
    np.testing.assert_allclose(signed_ld_profile(x, v, rows=mask), want, atol=1e-12)
    np.testing.assert_allclose(signed_ld_profile(x, v, rows=mask, batch_columns=1), want, atol=1e-12)
    np.testing.assert_allclose(signed_ld_profile(x, v[:, 1], rows=rows), want[:, 1], atol=1e-12)
    # X v formed beforehand (as the SLDP blocks do, with the standardization): only the second product
    np.testing.assert_allclose(signed_ld_profile(x, v, rows=rows, xv=x @ v), want, atol=1e-12)
    with pytest.raises(ValueError, match="xv"):
        signed_ld_profile(x, v, xv=x @ v[:, :2])
    # all annotations: one column at a time equals all at once
    for k in range(4):
        np.testing.assert_allclose(signed_ld_profile(x, v[:, [k]]), signed_ld_profile(x, v)[:, [k]], rtol=1e-13,
                                   atol=1e-15)


def test_profile_edge_cases():
    rng = np.random.default_rng(2)
    x = standardize_genotypes(_dosage(rng, n=20, m=8))
    zero = signed_ld_profile(x, np.zeros((8, 3)))
    assert zero.shape == (8, 3) and np.all(zero == 0) and not np.any(np.signbit(zero))
    empty = signed_ld_profile(np.zeros((20, 0)), np.zeros((0, 3)))
    assert empty.shape == (0, 3)
    v = rng.normal(size=(8, 2))
    v[4, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        signed_ld_profile(x, v)
    with pytest.raises(ValueError, match="SNPs"):
        signed_ld_profile(x, np.ones((7, 2)))
    # flipping the allele of one SNP in both genotypes and annotation negates its profile entry only
    v = rng.normal(size=(8, 1))
    x2, v2 = x.copy(), v.copy()
    x2[:, 2] *= -1
    v2[2] *= -1
    rv, rv2 = signed_ld_profile(x, v), signed_ld_profile(x2, v2)
    np.testing.assert_allclose(rv2[2], -rv[2], atol=1e-12)
    np.testing.assert_allclose(np.delete(rv2, 2, 0), np.delete(rv, 2, 0), atol=1e-12)


def test_scale_by_maf():
    rng = np.random.default_rng(3)
    v = rng.normal(size=(6, 2))
    maf = rng.uniform(0.01, 0.5, 6)
    np.testing.assert_array_equal(scale_by_maf(v, maf, alpha=-1), v)
    for alpha in (0.0, -0.3, 1.0):
        want = np.array([[v[i, k] * (2 * maf[i] * (1 - maf[i])) ** ((1 + alpha) / 2) for k in range(2)]
                         for i in range(6)])
        np.testing.assert_allclose(scale_by_maf(v, maf, alpha=alpha), want, rtol=1e-14)
    np.testing.assert_allclose(scale_by_maf(v[:, 0], maf, alpha=0.0), scale_by_maf(v, maf, alpha=0.0)[:, 0])


def test_annotation_info_direct_formula_and_sum():
    rng = np.random.default_rng(4)
    v = rng.normal(size=(50, 2))
    v[rng.random(v.shape) < 0.4] = 0
    maf = rng.uniform(0, 0.5, 50)
    maf[[0, 1]] = 0.05  # the boundary counts as common (>=)
    maf[2] = np.nan
    info = annotation_info(v, maf, names=["a", "b"])
    assert list(info.columns) == ["M", "M_5_50", "sqnorm", "sqnorm_5_50", "supp", "supp_5_50"]
    assert info.index.name == "name" and list(info.index) == ["a", "b"]
    common = [i for i in range(50) if maf[i] >= 0.05]
    for k, name in enumerate("ab"):
        row = info.loc[name]
        assert row.M == 50 and row.M_5_50 == len(common)
        assert np.isclose(row.sqnorm, sum(v[i, k] ** 2 for i in range(50)))
        assert np.isclose(row.sqnorm_5_50, sum(v[i, k] ** 2 for i in common))
        assert row.supp == sum(v[i, k] != 0 for i in range(50))
        assert row.supp_5_50 == sum(v[i, k] != 0 for i in common)
    tot = sum_info([info, info])
    np.testing.assert_allclose(tot.to_numpy(dtype=float), 2 * info.to_numpy(dtype=float))
    with pytest.raises(ValueError, match="names"):
        sum_info([info, info.rename(index={"a": "c"})])


def test_rv_frame_layout():
    v = np.arange(8.0).reshape(4, 2)
    rv = -v
    df = rv_frame(["s1", "s2", "s3", "s4"], list("ACGT"), list("GTAC"), v, rv, names=["x", "y"],
                  print_mask=np.array([True, False, True, True]))
    assert list(df.columns) == ["SNP", "A1", "A2", "x", "y", "x.R", "y.R"]
    assert list(df.SNP) == ["s1", "s3", "s4"]
    np.testing.assert_array_equal(df[["x.R", "y.R"]].to_numpy(), -v[[0, 2, 3]])


def test_block_ranges_use_sldp_boundaries():
    bp = np.array([100, 150, 200, 250, 300, 301])
    b0, b1 = sldp_block_ranges(bp, np.array([100, 200, 400]), np.array([200, 301, 500]))
    # [100, 200): 100 and 150 (200 == end is out); [200, 301): 200, 250, 300; [400, 500): none
    np.testing.assert_array_equal(b0, [0, 2, 6])
    np.testing.assert_array_equal(b1, [2, 5, 6])
    with pytest.raises(ValueError, match="sorted"):
        sldp_block_ranges(bp[::-1], np.array([0]), np.array([1]))


def test_chromosome_profiles_match_blockwise_loops():
    rng = np.random.default_rng(5)
    d = _dosage(rng, n=25, m=20)
    x_all = standardize_genotypes(d)
    v = rng.normal(size=(20, 2))
    v[10:14] = 0                      # block 2: annotations all zero
    print_mask = rng.random(20) < 0.7
    print_mask[14:17] = False         # block 3: no print SNPs
    begin, end = np.array([0, 5, 10, 14, 18]), np.array([5, 10, 14, 17, 18])   # SNPs 17..19 in no block
    calls = []

    def genotypes(b0, b1):
        calls.append((b0, b1))
        return standardize_genotypes(d[:, b0:b1])

    rv = chromosome_profiles(v, block_begin=begin, block_end=end, genotypes=genotypes, print_mask=print_mask)
    assert calls == [(0, 5), (5, 10)]
    want = np.zeros_like(v)
    for b0, b1 in zip(begin, end):
        rows = [i for i in range(b0, b1) if print_mask[i]]
        if rows and np.any(v[b0:b1] != 0):
            want[rows] = _slow_rv(x_all[:, b0:b1], v[b0:b1], [i - b0 for i in rows])
    np.testing.assert_allclose(rv, want, atol=1e-12)
    assert np.all(rv[~print_mask] == 0) and np.all(rv[17:] == 0)
    assert isinstance(rv_frame([f"s{i}" for i in range(20)], ["A"] * 20, ["C"] * 20, v, rv, names=["a", "b"]),
                      pd.DataFrame)
