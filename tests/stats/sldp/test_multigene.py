"""GTEx eQTL tables, the multi-gene per-SNP summary and the gene-set enrichment statistic."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genocore.files import write_text
from stats.sldp.multigene import geneset_enrichment, genes_per_block, multigene_sumstats
from stats.io.gtex import parse_variant_ids, read_eqtl_table

HEADER = "gene_id\tvariant_id\ttss_distance\tmaf\tpval_nominal\tslope\tslope_se\n"


def _write(path, rows, header=HEADER):
    return write_text(path, header + "".join("\t".join(map(str, r)) + "\n" for r in rows), compress=True)


def test_read_table_z_alleles_and_dropped_pairs(tmp_path, caplog):
    caplog.set_level("INFO")
    p = _write(tmp_path / "t.txt.gz", [
        ("g1", "chr1_100_A_G_b38", -5, 0.1, 0.01, 0.5, 0.25),
        ("g1", "chr1_200_c_t_b38", 95, 0.2, 0.5, -0.2, 0.4),
        ("g2", "chr1_100_A_G_b38", 20, 0.1, 0.3, 0.3, 0.1),
        ("g2", "chr1_300_G_C_b38", 40, 0.0, 1, 0, "-nan"),  # monomorphic in GTEx: no test
    ])
    t = read_eqtl_table(p)
    assert len(t) == 3 and "1 of 4 pairs dropped" in caplog.text
    np.testing.assert_allclose(t.z, [2.0, -0.5, 3.0])
    assert t.loc[1, ["chrom", "pos", "ref", "alt", "build"]].tolist() == ["chr1", 200, "C", "T", "b38"]
    assert read_eqtl_table(p, genes=["g2"]).variant_id.tolist() == ["chr1_100_A_G_b38"]


def test_bad_tables_name_the_file_and_line(tmp_path):
    with pytest.raises(ValueError, match=r"missing columns \['slope_se'\]"):
        read_eqtl_table(_write(tmp_path / "a.gz", [("g", "chr1_1_A_C", 0.1)], header="gene_id\tvariant_id\tslope\n"))
    with pytest.raises(ValueError, match="line 3 repeats the pair g1 / chr1_100_A_G"):
        read_eqtl_table(_write(tmp_path / "b.gz", [("g1", "chr1_100_A_G", 0, 0.1, 0.1, 0.2, 0.1)] * 2))
    with pytest.raises(ValueError, match=r"row 2 has variant id 'rs123'"):
        read_eqtl_table(_write(tmp_path / "c.gz", [("g1", "chr1_100_A_G", 0, 0.1, 0.1, 0.2, 0.1),
                                                   ("g1", "rs123", 0, 0.1, 0.1, 0.2, 0.1)]))
    empty = tmp_path / "e.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="is empty"):
        read_eqtl_table(empty)


def test_parse_ids_without_build():
    ids = parse_variant_ids(pd.Series(["2_55_T_A", "chrX_7_G_C_sim"]))
    assert ids.chrom.tolist() == ["2", "chrX"] and ids.build.tolist() == ["", "sim"] and ids.pos.tolist() == [55, 7]


def test_multigene_summary_against_the_formula(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for gid in ("g1", "g2", "g3"):
        for pos in rng.choice(np.arange(1, 40), 25, replace=False):
            rows.append((gid, f"chr1_{pos}_A_G_b38", 0, 0.1, 0.5, rng.normal(), 1.0))
    t = read_eqtl_table(_write(tmp_path / "t.gz", rows))
    n = 480
    out = multigene_sumstats(t, n=n)
    assert list(out.columns) == ["SNP", "A1", "A2", "N", "Z", "n_genes"]
    for vid, grp in t.groupby("variant_id"):
        alpha_k = grp.z.to_numpy() / np.sqrt(n)
        alpha = alpha_k.sum() / np.sqrt(len(alpha_k))
        row = out[out.SNP == vid].iloc[0]
        assert row.Z == pytest.approx(np.sqrt(n) * alpha) and row.n_genes == len(grp)
        assert (row.A1, row.A2, row.N) == ("G", "A", n)
    named = multigene_sumstats(t, n=n, snp_ids=pd.DataFrame({"variant_id": [out.SNP[0]], "SNP": ["rs1"]}))
    assert named.SNP.tolist() == ["rs1"]
    with pytest.raises(ValueError, match="sample size"):
        multigene_sumstats(t, n=0)


def test_genes_per_block_counts_half_open_blocks():
    blocks = pd.DataFrame({"chrom": ["chr1", "chr1", "chr2"], "start": [0, 100, 0], "end": [100, 200, 50]})
    counts = genes_per_block(["chr1", "chr1", "chr1", "chr2", "chr2", "chr3"], [0, 99, 100, 49, 50, 1], blocks)
    assert counts.tolist() == [2, 1, 1]


def test_geneset_statistic_is_the_errata_difference_and_p_detects_a_shift():
    rng = np.random.default_rng(1)
    q = rng.normal(size=300)
    s = np.zeros(300)
    s[:30] = rng.integers(1, 4, 30)
    res = geneset_enrichment(q, s, n_perm=500, rng=np.random.default_rng(2))
    expected = (s * q).sum() / s.sum() - q[s == 0].mean()
    assert res["statistic"] == pytest.approx(expected) and res["n_blocks_with_genes"] == 30
    assert res["p"] > 0.01
    q2 = q.copy()
    q2[:30] += 1.5
    strong = geneset_enrichment(q2, s, n_perm=500, rng=np.random.default_rng(2))
    assert strong["p"] == pytest.approx(1 / 501)
    # same seed, same p
    assert geneset_enrichment(q, s, n_perm=500, rng=np.random.default_rng(2))["p"] == res["p"]
    with pytest.raises(ValueError, match="must touch some blocks"):
        geneset_enrichment(q, np.zeros(300), rng=rng)
    with pytest.raises(ValueError, match="non-finite"):
        geneset_enrichment(np.r_[q[:-1], np.nan], s, rng=rng)


def test_real_gtex_v8_nominal_table(shared_data):
    path = shared_data / "eqtl_gtex_v8_nominal_chr1_demo" / "Tissue_1.fastqtl.gz"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    t = read_eqtl_table(path)
    assert len(t) > 1000 and (t.build == "b38").all() and (t.chrom == "chr1").all()
    assert np.isfinite(t.z).all() and t.gene_id.nunique() > 1
    out = multigene_sumstats(t, n=500)
    assert out.SNP.is_unique and (out.n_genes >= 1).all() and out.n_genes.max() > 1
