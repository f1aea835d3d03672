"""GTF -> TSS: one reader, 1-based; the model half's 0-based view is the same numbers minus one."""
from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from genocore.genes import read_gtf, read_tss, tss_positions

ROWS = [
    "##description: tiny",
    "#!genome-build test",
    'chr1\tt\tgene\t101\t500\t.\t+\t.\tgene_id "G1"; gene_name "g1";',
    'chr1\tt\ttranscript\t101\t300\t.\t+\t.\tgene_id "G1"; transcript_id "G1.1"; note "a#b";',
    'chr1\tt\ttranscript\t101\t500\t.\t+\t.\tgene_id "G1"; transcript_id "G1.2";',
    'chr1\tt\ttranscript\t151\t500\t.\t+\t.\tgene_id "G1"; transcript_id "G1.3";',
    'chr1\tt\texon\t101\t200\t.\t+\t.\tgene_id "G1"; transcript_id "G1.1";',
    'chr2\tt\ttranscript\t1001\t2000\t.\t-\t.\tgene_id "G2"; transcript_id "G2.1";',
    'chr2\tt\ttranscript\t1001\t1800\t.\t-\t.\tgene_id "G2"; transcript_id "G2.2";',
]


@pytest.fixture()
def gtf(tmp_path):
    path = tmp_path / "tiny.gtf"
    path.write_text("\n".join(ROWS) + "\n")
    return path


def test_tss_are_1_based_transcript_starts(gtf, tmp_path):
    got = read_tss(gtf)
    # + strand: the GTF start; - strand: the GTF end; one row per distinct (gene, TSS)
    expect = pd.DataFrame({"gene_id": ["G1", "G1", "G2", "G2"], "chrom": ["chr1", "chr1", "chr2", "chr2"],
                           "tss": [101, 151, 1800, 2000], "strand": ["+", "+", "-", "-"]})
    pd.testing.assert_frame_equal(got, expect, check_dtype=False)
    assert got["tss"].dtype == np.int64
    gz = tmp_path / "tiny.gtf.gz"
    gz.write_bytes(gzip.compress(gtf.read_bytes()))
    pd.testing.assert_frame_equal(read_tss(gz), got)
    assert read_tss(gtf, feature="gene")["tss"].tolist() == [101]


def test_feature_default_and_errors(tmp_path, gtf, caplog):
    genes_only = tmp_path / "genes.gtf"
    genes_only.write_text('chr1\tt\tgene\t10\t90\t.\t-\t.\tgene_id "G";\n')
    assert read_tss(genes_only)["tss"].tolist() == [90]  # no transcript rows: the gene rows
    with pytest.raises(ValueError, match="no 'CDS' rows"):
        read_tss(gtf, feature="CDS")
    bad = tmp_path / "bad.gtf"
    bad.write_text(gtf.read_text() + 'chr3\tt\ttranscript\t5\t9\t.\t.\t.\tgene_id "G3";\n'
                   'chr3\tt\ttranscript\t5\t9\t.\t+\t.\ttranscript_id "x";\n')
    with pytest.raises(ValueError, match="2 transcript rows without gene_id or strand"):
        read_tss(bad)
    pd.testing.assert_frame_equal(read_tss(bad, invalid="skip"), read_tss(gtf))
    assert "were skipped" in caplog.text


def test_read_gtf_rows_and_tss_positions(gtf):
    rows = read_gtf(gtf, features=["transcript"])
    assert len(rows) == 5 and rows["gene_id"].tolist() == ["G1", "G1", "G1", "G2", "G2"]
    assert rows["start"].dtype == np.int64 and rows["attribute"][0].endswith('note "a#b";')
    assert tss_positions(rows).tolist() == [101, 101, 151, 2000, 1800]  # file order, duplicates kept
    assert set(read_gtf(gtf)["feature"]) == {"gene", "transcript", "exon"}


def test_model_half_converts_to_0_based(gtf):
    from genomodel.io.gtf import model_tss

    t = model_tss(gtf)
    assert t["tss"].tolist() == [100, 150, 1799, 1999]  # 1-based GTF positions minus one
    assert model_tss(gtf, genes=["G2"])["gene_id"].tolist() == ["G2", "G2"]
    with pytest.raises(ValueError, match="GZ"):
        model_tss(gtf, genes=["G2", "GZ"])


def test_stats_half_normalizes_chromosomes_only(gtf):
    from stats.eqtl.tss import read_tss as stats_read_tss

    t = stats_read_tss(gtf)
    assert t["tss"].tolist() == read_tss(gtf)["tss"].tolist()
    assert set(t["chrom"]) == {"1", "2"}
