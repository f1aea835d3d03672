"""Greedy LD pruning checked against a slow, obvious all-pairs implementation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stats.io.plink import write_bfile
from stats.ld.prune import prune_genotypes, prune_variants


def _slow_prune(dos, coords, priority, r2_max, window):
    """Visit by priority desc then coordinate; keep a variant unless r^2 > r2_max with a kept one in the window."""
    x = np.asarray(dos, dtype=float)
    m = x.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.nan_to_num(np.corrcoef(x.T))  # monomorphic: r = 0
    order = sorted(range(m), key=lambda i: (-priority[i], coords[i], i))
    kept = []
    for i in order:
        if all(not (abs(coords[i] - coords[j]) <= window and r[i, j] ** 2 > r2_max) for j in kept):
            kept.append(i)
    out = np.zeros(m, dtype=bool)
    out[kept] = True
    return out


def _ld_genotypes(rng, n=80, m=60, n_hap=6):
    """Genotypes with LD: each SNP copies one of a few haplotype patterns, with noise."""
    base = rng.integers(0, 2, size=(2 * n, n_hap))
    which = np.repeat(rng.integers(0, n_hap, size=m // 4 + 1), 4)[:m]
    haps = base[:, which].copy()
    flip = rng.random(haps.shape) < rng.uniform(0.0, 0.3, size=m)
    haps[flip] = 1 - haps[flip]
    return (haps[:n] + haps[n:]).astype(float)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("r2_max,window", [(0.5, np.inf), (0.2, 15.0), (0.8, 5.0)])
def test_matches_slow_all_pairs(seed, r2_max, window):
    rng = np.random.default_rng(seed)
    dos = _ld_genotypes(rng)
    m = dos.shape[1]
    coords = np.sort(rng.choice(200, size=m, replace=False)).astype(float)
    priority = np.round(rng.random(m), 1)  # ties on purpose
    got = prune_genotypes(dos, coords, priority=priority, r2_max=r2_max, window=window)
    want = _slow_prune(dos, coords, priority, r2_max, window)
    np.testing.assert_array_equal(got, want)
    assert got.any()


def test_input_order_does_not_matter():
    rng = np.random.default_rng(3)
    dos = _ld_genotypes(rng)
    m = dos.shape[1]
    coords = np.arange(m, dtype=float) * 10
    priority = np.round(rng.random(m), 1)
    perm = rng.permutation(m)
    a = prune_genotypes(dos, coords, priority=priority)
    b = prune_genotypes(dos[:, perm], coords[perm], priority=priority[perm])
    np.testing.assert_array_equal(a[perm], b)


def test_hand_example():
    # SNPs 0 and 1 identical, 2 independent of both; SNP 1 has the higher priority
    d = np.array([[0, 0, 1], [1, 1, 0], [2, 2, 1], [1, 1, 2], [0, 0, 0], [2, 2, 2]], dtype=float)
    np.testing.assert_array_equal(prune_genotypes(d, [1, 2, 3], priority=[1.0, 5.0, 0.0]), [False, True, True])
    # equal priorities: the leftmost is kept
    np.testing.assert_array_equal(prune_genotypes(d, [1, 2, 3]), [True, False, True])
    # a window that separates them: both kept
    np.testing.assert_array_equal(prune_genotypes(d, [1, 20, 30], window=5), [True, True, True])
    # monomorphic SNP is always kept; NaN priority is visited last
    d2 = np.column_stack([d, np.ones(6)])
    np.testing.assert_array_equal(prune_genotypes(d2, [1, 2, 3, 4], priority=[np.nan, 1, 0, 0]),
                                  [False, True, True, True])


def test_bad_arguments():
    d = np.zeros((4, 3))
    with pytest.raises(ValueError, match="coords"):
        prune_genotypes(d, [1, 2])
    with pytest.raises(ValueError, match="r2_max"):
        prune_genotypes(d, [1, 2, 3], r2_max=2)


@pytest.fixture()
def bfile(tmp_path):
    rng = np.random.default_rng(11)
    dos = _ld_genotypes(rng, n=60, m=40).astype(np.int8)
    m = dos.shape[1]
    chrom = ["1"] * 25 + ["2"] * 15
    bp = np.r_[np.arange(25) * 1000 + 100, np.arange(15) * 1000 + 100]
    sid = [f"rs{i}" for i in range(m)]
    write_bfile(tmp_path / "p", dos, iid=[f"i{i}" for i in range(60)], chrom=chrom, sid=sid, cm=bp / 1e6 * 1.0,
                bp=bp, allele_1=["A"] * m, allele_2=["G"] * m)
    return tmp_path / "p", dos.astype(float), np.array(chrom), bp, sid


def test_panel_streaming_matches_per_chromosome(bfile):
    prefix, dos, chrom, bp, sid = bfile
    rng = np.random.default_rng(0)
    pick = rng.permutation(len(sid))[:30]
    priority = rng.random(30)
    got = prune_variants(prefix, np.array(sid)[pick], priority=priority, r2_max=0.5, window_kb=8)
    for c in ("1", "2"):
        on = np.flatnonzero(chrom[pick] == c)
        want = _slow_prune(dos[:, pick[on]], bp[pick[on]], priority[on], 0.5, 8000)
        np.testing.assert_array_equal(got[on], want)
    # snp-count window: only neighbours among the candidates are compared
    got_s = prune_variants(prefix, np.array(sid)[pick], priority=priority, window_snps=2)
    for c in ("1", "2"):
        on = np.flatnonzero(chrom[pick] == c)
        rank = np.argsort(np.argsort(bp[pick[on]]))
        want = _slow_prune(dos[:, pick[on]], rank, priority[on], 0.5, 2)
        np.testing.assert_array_equal(got_s[on], want)


def test_panel_errors_and_missing(bfile):
    prefix, *_ = bfile
    with pytest.raises(ValueError, match="none of the 2 variants is in the panel"):
        prune_variants(prefix, ["chr1_5_A_G", "x"])
    with pytest.raises(ValueError, match="duplicated"):
        prune_variants(prefix, ["rs1", "rs1"])
    with pytest.raises(ValueError, match="not in the panel"):
        prune_variants(prefix, ["rs1", "nope"], missing="error")
    assert prune_variants(prefix, ["rs1", "nope"], missing="keep").tolist() == [True, True]
    assert prune_variants(prefix, ["rs1", "nope"]).tolist() == [True, False]
    with pytest.raises(ValueError, match="at most one window"):
        prune_variants(prefix, ["rs1"], window_kb=1, window_cm=1)
    with pytest.raises(ValueError, match="priority"):
        prune_variants(prefix, ["rs1", "rs2"], priority=[1.0])
    assert isinstance(pd.Series(prune_variants(prefix, ["rs1", "rs2"], window_cm=1.0)).sum(), (int, np.integer))


def test_reference_panel_per_chromosome_filesets_agree(bfile, tmp_path):
    """The same panel split into per-chromosome filesets, opened once, prunes the same variants."""
    from stats.io.panel import ReferencePanel

    prefix, dos, chrom, bp, sid = bfile
    for c in ("1", "2"):
        on = np.flatnonzero(chrom == c)
        write_bfile(tmp_path / "split" / f"p.chr{c}", dos[:, on].astype(np.int8), iid=[f"i{i}" for i in range(60)],
                    chrom=[c] * len(on), sid=[sid[j] for j in on], cm=bp[on] / 1e6, bp=bp[on],
                    allele_1=["A"] * len(on), allele_2=["G"] * len(on))
    rng = np.random.default_rng(2)
    pick = np.array(sid)[rng.permutation(len(sid))[:30]]
    priority = rng.random(30)
    want = prune_variants(prefix, pick, priority=priority, window_kb=8)
    split = ReferencePanel(tmp_path / "split" / "p")
    for panel in (split, ReferencePanel(prefix), str(tmp_path / "split" / "p.{chrom}")):
        np.testing.assert_array_equal(prune_variants(panel, pick, priority=priority, window_kb=8), want)
    prune_variants(split, pick, window_cm=0.01)
    assert set(split.parse_counts.values()) == {1} and len(split.parse_counts) == 4
