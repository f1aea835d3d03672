"""TSS-distance annotations from a GTF and their LD scores (checked against brute-force sums)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stats.io.plink import write_bfile
from stats.eqtl.tss import (TSS_BIN_NAMES, gene_tss_distance, nearest_tss_distance, pair_tss_annotations,
                       pair_tss_ld_scores, read_tss, snp_tss_annotations, snp_tss_ld_scores, tss_bins)

GTF = """\
#!genome-build test
chr1\tt\tgene\t1001\t5000\t.\t+\t.\tgene_id "GA"; gene_name "A";
chr1\tt\ttranscript\t1001\t5000\t.\t+\t.\tgene_id "GA"; transcript_id "GA.1";
chr1\tt\ttranscript\t2001\t5000\t.\t+\t.\tgene_id "GA"; transcript_id "GA.2";
chr1\tt\texon\t1001\t1200\t.\t+\t.\tgene_id "GA"; transcript_id "GA.1";
chr1\tt\tgene\t20000\t30000\t.\t-\t.\tgene_id "GB"; gene_name "B";
chr1\tt\ttranscript\t20000\t30000\t.\t-\t.\tgene_id "GB"; transcript_id "GB.1";
chr2\tt\tgene\t500\t900\t.\t-\t.\tgene_id "GC"; gene_name "C";
chr2\tt\ttranscript\t500\t900\t.\t-\t.\tgene_id "GC"; transcript_id "GC.1";
"""


@pytest.fixture()
def gtf(tmp_path):
    p = tmp_path / "genes.gtf"
    p.write_text(GTF)
    return p


def test_read_tss(gtf):
    t = read_tss(gtf)
    assert t[["gene_id", "chrom", "tss"]].values.tolist() == [["GA", "1", 1001], ["GA", "1", 2001],
                                                                ["GB", "1", 30000], ["GC", "2", 900]]
    g = read_tss(gtf, feature="gene")
    assert g["tss"].tolist() == [1001, 30000, 900]
    with pytest.raises(ValueError, match="no 'CDS' rows"):
        read_tss(gtf, feature="CDS")


def test_bins_edges():
    d = np.array([0, 499, -499, 500, 1999, 2000, 7999, 8000, 31999, 32000, np.inf, np.nan])
    b = tss_bins(d)
    want = [0, 0, 0, 1, 1, 2, 2, 3, 3, -1, -1, -1]
    for row, w in zip(b, want):
        exp = np.zeros(4)
        if w >= 0:
            exp[w] = 1
        np.testing.assert_array_equal(row, exp)


def test_distances(gtf):
    t = read_tss(gtf)
    chrom = ["chr1", "1", "1", "2", "3"]
    pos = [1500, 2600, 29000, 100, 10]
    np.testing.assert_array_equal(nearest_tss_distance(chrom, pos, t), [499, 599, 1000, 800, np.inf])
    # pair distances: the gene's own nearest TSS
    gd = gene_tss_distance(chrom[:4] + ["1"], pos[:4] + [25000], ["GB", "GA", "GA", "GC", "GX"], t)
    np.testing.assert_array_equal(gd, [28500, 599, 26999, 800, np.inf])
    a = snp_tss_annotations(chrom, pos, t)
    assert list(a.columns) == list(TSS_BIN_NAMES)
    assert a.to_numpy().tolist() == [[1, 0, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    p = pair_tss_annotations(["1", "1"], [1500, 1500], ["GA", "GB"], t)
    assert p.to_numpy().tolist() == [[1, 0, 0, 0], [0, 0, 0, 1]]


def _brute_l2(dos, coords, window, annot):
    x = dos - dos.mean(axis=0)
    x /= x.std(axis=0)
    n = x.shape[0]
    r = x.T @ x / n
    r2 = r**2 - (1 - r**2) / (n - 2)
    near = np.abs(coords[:, None] - coords[None, :]) <= window
    return (r2 * near) @ annot


@pytest.fixture()
def panel(tmp_path):
    rng = np.random.default_rng(5)
    n, m = 50, 40
    hap = rng.integers(0, 2, size=(2 * n, 8))
    cols = hap[:, rng.integers(0, 8, m)]
    flip = rng.random(cols.shape) < 0.15
    cols[flip] = 1 - cols[flip]
    dos = (cols[:n] + cols[n:]).astype(np.int8)
    dos[:, dos.std(axis=0) == 0] = np.array([1] + [0] * (n - 1), dtype=np.int8)[:, None]
    bp = np.sort(rng.choice(np.arange(1, 40_000), m, replace=False))
    write_bfile(tmp_path / "p", dos, iid=[f"i{i}" for i in range(n)], chrom=["1"] * m,
                sid=[f"rs{i}" for i in range(m)], cm=bp / 1e5, bp=bp, allele_1=["A"] * m, allele_2=["G"] * m)
    return tmp_path / "p", dos.astype(float), bp


def test_snp_tss_ld_scores_brute_force(gtf, panel):
    prefix, dos, bp = panel
    t = read_tss(gtf)
    got = snp_tss_ld_scores(prefix, t, wind_kb=10, chunk_size=None)
    annot = tss_bins(nearest_tss_distance(["1"] * len(bp), bp, t))
    want = _brute_l2(dos, bp.astype(float), 10_000, annot)
    assert list(got.columns) == ["CHR", "SNP", "BP"] + [f"{c}L2" for c in TSS_BIN_NAMES]
    np.testing.assert_allclose(got.iloc[:, 3:].to_numpy(), want, atol=1e-9)


def test_pair_tss_ld_scores_brute_force(gtf, panel):
    prefix, dos, bp = panel
    t = read_tss(gtf)
    pairs = pd.DataFrame({"SNP": ["rs0", "rs5", "rs5", "rs39", "nope"], "gene_id": ["GA", "GA", "GB", "GB", "GA"]})
    got = pair_tss_ld_scores(prefix, t, pairs, wind_kb=10, chunk_size=None, gene_batch=1)
    for k, (s, g) in enumerate(zip(pairs.SNP, pairs.gene_id)):
        if s == "nope":
            assert np.isnan(got.iloc[k]).all()
            continue
        annot = tss_bins(gene_tss_distance(["1"] * len(bp), bp, [g] * len(bp), t))
        want = _brute_l2(dos, bp.astype(float), 10_000, annot)[int(s[2:])]
        np.testing.assert_allclose(got.iloc[k].to_numpy(), want, atol=1e-9)
    with pytest.raises(ValueError, match="gene_id"):
        pair_tss_ld_scores(prefix, t, pairs[["SNP"]])


def _genotypes(rng, n, m):
    hap = rng.integers(0, 2, size=(2 * n, 8))
    cols = hap[:, rng.integers(0, 8, m)]
    flip = rng.random(cols.shape) < 0.15
    cols[flip] = 1 - cols[flip]
    dos = (cols[:n] + cols[n:]).astype(np.int8)
    dos[:, dos.std(axis=0) == 0] = np.array([1] + [0] * (n - 1), dtype=np.int8)[:, None]
    return dos


def test_pair_tss_ld_scores_two_chromosomes(gtf, tmp_path):
    """Genes of both chromosomes share the ld_scores passes (one slot per chromosome's gene); each pair's score is
    that of its gene on its SNP's chromosome alone, for a panel of one fileset per chromosome or a single one."""
    from stats.io.panel import ReferencePanel

    rng = np.random.default_rng(9)
    n, m = 50, 30
    dos = {c: _genotypes(rng, n, m) for c in ("1", "2")}
    bp = {c: np.sort(rng.choice(np.arange(1, 40_000), m, replace=False)) for c in ("1", "2")}
    common = dict(iid=[f"i{i}" for i in range(n)], allele_1=["A"] * 2 * m, allele_2=["G"] * 2 * m)
    for c in ("1", "2"):
        write_bfile(tmp_path / f"p.chr{c}", dos[c], chrom=[c] * m, sid=[f"rs{c}_{i}" for i in range(m)],
                    cm=bp[c] / 1e5, bp=bp[c], **{**common, "allele_1": ["A"] * m, "allele_2": ["G"] * m})
    write_bfile(tmp_path / "both", np.hstack([dos["1"], dos["2"]]), chrom=["1"] * m + ["2"] * m,
                sid=[f"rs{c}_{i}" for c in ("1", "2") for i in range(m)], cm=np.r_[bp["1"], bp["2"]] / 1e5,
                bp=np.r_[bp["1"], bp["2"]], **common)
    t = read_tss(gtf)
    pairs = pd.DataFrame({"SNP": ["rs1_0", "rs1_7", "rs2_3", "rs1_7", "rs2_20", "rs2_5", "nope"],
                          "gene_id": ["GA", "GB", "GC", "GA", "GC", "GA", "GC"]}, index=np.arange(7) * 10)
    want = np.full((len(pairs), 4), np.nan)
    for k, (s, g) in enumerate(zip(pairs.SNP, pairs.gene_id)):
        if s != "nope":
            c, j = s[2], int(s.split("_")[1])
            annot = tss_bins(gene_tss_distance([c] * m, bp[c], [g] * m, t))
            want[k] = _brute_l2(dos[c].astype(float), bp[c].astype(float), 10_000, annot)[j]
    assert (want[5] == 0).all() and (want[:5] != 0).any(axis=1).all()  # GA has no TSS on chromosome 2
    for panel in (ReferencePanel(tmp_path / "p.chr{chrom}"), ReferencePanel(tmp_path / "both")):
        for batch in (1, 2, 64):
            got = pair_tss_ld_scores(panel, t, pairs, wind_kb=10, chunk_size=None, gene_batch=batch)
            assert list(got.index) == list(pairs.index)
            np.testing.assert_allclose(got.to_numpy(), want, atol=1e-9, err_msg=f"{panel} {batch}")
        assert set(panel.parse_counts.values()) == {1}
