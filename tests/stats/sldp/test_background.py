"""Background annotations of SLDP (MAF bins, gene regions, principal components of scores), each against
the obvious computation on a small panel written by the test."""
import numpy as np
import pandas as pd
import pytest

from stats.io.panel import ReferencePanel
from stats.io.plink import write_bfile
from stats.sldp.background import (allele_frequencies, maf_bin_annotation, minor_allele_sign, pc_annotation,
                                   region_annotation, score_principal_components)

N = 50


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    """Two chromosomes of 40 SNPs with known genotypes (a few missing calls, one monomorphic SNP)."""
    root = tmp_path_factory.mktemp("bg_panel")
    rng = np.random.default_rng(11)
    genos = {}
    for c in ("1", "2"):
        p = rng.uniform(0.02, 0.98, 40)
        g = rng.binomial(2, p, size=(N, 40)).astype(np.float64)
        g[:, 5] = 0.0                      # monomorphic
        g[rng.integers(0, N, 6), rng.integers(0, 40, 6)] = np.nan
        bases = rng.choice(list("ACGT"), size=(40, 2))
        a2 = np.where(bases[:, 0] == bases[:, 1], np.where(bases[:, 0] == "A", "C", "A"), bases[:, 1])
        calls = np.where(np.isnan(g), -127, g).astype(np.int8)  # bed-reader's missing call
        write_bfile(root / f"p.{c}", calls, iid=[f"i{k}" for k in range(N)], chrom=[c] * 40,
                    sid=[f"rs{c}_{j}" for j in range(40)], cm=np.zeros(40), bp=1000 * (np.arange(40) + 1),
                    allele_1=bases[:, 0], allele_2=a2)
        genos[c] = g
    return ReferencePanel(str(root / "p.{chrom}")), genos


def test_allele_frequencies_and_minor_sign(panel):
    ref, genos = panel
    want = np.concatenate([np.nanmean(g, axis=0) / 2 for g in genos.values()])
    got = allele_frequencies(ref, batch=7)
    np.testing.assert_allclose(got, want)
    np.testing.assert_allclose(np.minimum(got, 1 - got), np.concatenate([ref.maf(c) for c in ("1", "2")]))
    np.testing.assert_array_equal(minor_allele_sign([0.1, 0.5, 0.9, 0.0, 1.0, np.nan]), [1, 1, -1, 0, 0, 0])


def test_maf_bins_partition_the_polymorphic_snps(panel):
    ref, _ = panel
    t = maf_bin_annotation(ref, n_bins=4)
    freq = allele_frequencies(ref)
    cols = [c for c in t.columns if c.startswith("MAF_")]
    assert list(t.columns[:4]) == ["CHR", "SNP", "A1", "A2"] and len(cols) == 4 and len(t) == 80
    v = t[cols].to_numpy()
    sign = minor_allele_sign(freq)
    # each polymorphic SNP in exactly one bin, with +1 when A1 is minor and -1 when major; monomorphic: none
    np.testing.assert_array_equal((v != 0).sum(axis=1), (sign != 0).astype(int))
    np.testing.assert_array_equal(v.sum(axis=1), sign)
    # equal-count bins by MAF, in increasing MAF order
    counts = (v != 0).sum(axis=0)
    assert counts.min() > 0 and counts.max() <= 1.5 * counts.min()  # ties of MAF keep them from being exactly equal
    maf = np.minimum(freq, 1 - freq)
    bins = np.argmax(v != 0, axis=1)[sign != 0]
    assert all(maf[sign != 0][bins == b].max() <= maf[sign != 0][bins == b + 1].min() for b in range(3))
    fixed = maf_bin_annotation(ref, edges=[0, 0.1, 0.5])
    assert [c for c in fixed.columns if c.startswith("MAF_")] == ["MAF_0_0.1", "MAF_0.1_0.5"]


def test_regions_from_a_gtf(panel, tmp_path):
    ref, _ = panel
    gtf = tmp_path / "g.gtf"
    attr = 'gene_id "G1"; transcript_id "T1";'
    rows = [("chr1", "transcript", 2000, 12000), ("chr1", "exon", 2000, 4000), ("chr1", "CDS", 3000, 4000),
            ("chr1", "exon", 9000, 12000), ("chr1", "three_prime_utr", 11000, 12000)]
    gtf.write_text("".join(f"{c}\tsim\t{f}\t{s}\t{e}\t.\t+\t.\t{attr}\n" for c, f, s, e in rows))
    t = region_annotation(ref, gtf)
    sign = minor_allele_sign(allele_frequencies(ref))
    pos, chrom = 1000 * (np.arange(80) % 40 + 1), np.repeat(["1", "2"], 40)
    on1 = chrom == "1"
    want = {"coding": on1 & (pos >= 3000) & (pos <= 4000),
            "UTR": on1 & (pos >= 11000) & (pos <= 12000),
            "exon": on1 & (((pos >= 2000) & (pos < 3000)) | ((pos >= 9000) & (pos < 11000))),
            "intron": on1 & (pos > 4000) & (pos < 9000)}
    want = {k: np.where(v, sign, 0.0) for k, v in want.items() if np.any(np.where(v, sign, 0.0))}
    assert [c for c in t.columns if c not in ("CHR", "SNP", "A1", "A2")] == list(want)
    for k, v in want.items():
        np.testing.assert_array_equal(t[k].to_numpy(), v, err_msg=k)


def test_principal_components_uncentred_and_oriented():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6))
    x[:20] = 0.0                            # variants without effect
    pcs = score_principal_components(x, n_pcs=3)
    assert pcs.shape == (200, 3) and np.all(pcs[:20] == 0)
    xs = x / np.sqrt((x ** 2).mean(axis=0))
    u, s, vt = np.linalg.svd(xs, full_matrices=False)
    for k in range(3):  # the same components as the SVD, up to the sign fixed by the largest loading
        assert abs(abs(np.corrcoef(pcs[:, k], u[:, k])[0, 1]) - 1) < 1e-9
        np.testing.assert_allclose(np.linalg.norm(pcs[:, k]), s[k])
    # loadings are oriented, not the scores: negated scores give negated components (the annotation is signed)
    np.testing.assert_allclose(score_principal_components(-x, n_pcs=3), -pcs, atol=1e-12)
    with pytest.raises(ValueError, match="n_pcs"):
        score_principal_components(x, n_pcs=7)


def test_pc_annotation_on_the_panel(panel):
    ref, _ = panel
    bim = ref.allele_table()
    rng = np.random.default_rng(5)
    values = rng.normal(size=(len(bim), 4))
    # the score file has ALT = the panel's A2 for the first 10 SNPs: their annotation flips sign
    ref_al = np.where(np.arange(len(bim)) < 10, bim.a1, bim.a2)
    alt_al = np.where(np.arange(len(bim)) < 10, bim.a2, bim.a1)
    variants = pd.DataFrame({"chrom": bim.chrom, "pos": bim.pos, "ref": ref_al, "alt": alt_al})
    t = pc_annotation(variants, values, n_pcs=2, panel=ref)
    pcs = score_principal_components(values, n_pcs=2)
    keep = t.SNP.to_numpy()
    rows = pd.Index(bim.snp).get_indexer(keep)
    flip = np.where(rows < 10, -1.0, 1.0)
    np.testing.assert_allclose(t[["PC1", "PC2"]].to_numpy(), pcs[rows] * flip[:, None])
