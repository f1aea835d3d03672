import logging

import numpy as np
import pandas as pd
import pytest

from genocore.genome import sorted_chroms
from stats.io.ldblocks import assign_blocks, block_snp_counts, check_blocks_build, read_ldblocks

BERISA_STYLE = ("#chr \t start \t stop\n"
                "chr1 \t 10583 \t 1892607 \n"
                "chr1 \t 1892607 \t 3582736\n"
                "\n"
                "chr2 \t 100 \t 500\n"
                "chr10 \t 0 \t 50\n")


def _blocks(tmp_path, text, name="b.bed"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_read_berisa_style_file(tmp_path):
    b = read_ldblocks(_blocks(tmp_path, BERISA_STYLE))
    assert list(b.columns) == ["chrom", "start", "end"]
    assert list(b.chrom) == ["1", "1", "2", "10"]
    assert list(b.start) == [10583, 1892607, 100, 0] and list(b.end) == [1892607, 3582736, 500, 50]
    assert b.start.dtype == np.int64
    # a header without '#', plain tabs, extra fields, chromosomes given as numbers and interleaved
    b2 = read_ldblocks(_blocks(tmp_path, "chr\tstart\tend\n2\t5\t9\tname\n1\t0\t3\tx\n2\t9\t20\n", "c.bed"))
    assert list(b2.chrom) == ["1", "2", "2"] and list(b2.start) == [0, 5, 9]


@pytest.mark.parametrize("text, msg", [
    ("chr1 0 10\nchr1 5 20\n", r"line 2: block chr1:5-20 overlaps the block on line 1"),
    ("chr1 10 20\nchr1 0 5\n", r"line 2: .* starts before the block on line 1"),
    ("chr1 10 10\n", r"line 1: need 0 <= start < end"),
    ("chr1 -1 10\n", r"line 1: need 0 <= start < end"),
    ("chr1 0 10\nchr1 10\n", r"line 2: expected at least 3 fields"),
    ("chr1 0 10\nchr1 a 20\n", r"line 2: start and end must be integers"),
    ("chr start stop\n", r"no LD blocks"),
    ("chr1 0 10\nchr start stop\n", r"line 2: start and end must be integers"),
])
def test_block_file_errors_name_the_line(tmp_path, text, msg):
    with pytest.raises(ValueError, match=msg):
        read_ldblocks(_blocks(tmp_path, text))


def test_assign_blocks_half_open_bed_intervals():
    blocks = pd.DataFrame({"chrom": ["1", "1", "2"], "start": [100, 200, 0], "end": [200, 300, 50]})
    # 1-based positions: block [100, 200) holds positions 101..200
    pos = np.array([100, 101, 200, 201, 300, 301, 1, 50, 51, 150])
    chrom = np.array(["1", "1", "chr1", "1", "1", "1", "2", "2", "2", "3"])
    assert list(assign_blocks(blocks, chrom, pos)) == [-1, 0, 0, 1, 1, -1, 2, 2, -1, -1]
    assert len(assign_blocks(blocks, [], [])) == 0


def test_block_snp_counts_logs_empty_blocks(caplog):
    blocks = pd.DataFrame({"chrom": ["1", "1", "1"], "start": [0, 100, 200], "end": [100, 200, 300]})
    with caplog.at_level(logging.INFO, logger="stats.io.ldblocks"):
        counts = block_snp_counts(blocks, ["1"] * 4, [5, 50, 250, 999], what="panel SNPs")
    assert list(counts) == [2, 0, 1]
    assert "1 of 3 LD blocks hold no panel SNPs (e.g. chr1:100-200)" in caplog.text
    assert "1 of 4 panel SNPs lie in no LD block" in caplog.text


def test_check_blocks_build_errors():
    lengths = {"1": 1000, "2": 500}
    blocks = pd.DataFrame({"chrom": ["1", "1", "2"], "start": [0, 400, 0], "end": [400, 1000, 500]})
    out = check_blocks_build(blocks, lengths=lengths, chrom=["1"] * 3 + ["2"], pos=[1, 500, 1000, 7])
    assert out["fraction_in_blocks"] == {"1": 1.0, "2": 1.0} and out["n_outside"] == 0
    longer = blocks.assign(end=[400, 1200, 500])
    with pytest.raises(ValueError, match=r"1 LD blocks extend past .* chr1:400-1200, chromosome length 1,000"):
        check_blocks_build(longer, lengths=lengths)
    with pytest.raises(ValueError, match=r"panel SNPs lie past .* chr2:600"):
        check_blocks_build(blocks, lengths=lengths, chrom=["2"], pos=[600])
    sparse = pd.DataFrame({"chrom": ["1"], "start": [0], "end": [10]})
    with pytest.raises(ValueError, match=r"only 25.0% of the 4 panel SNPs on chr1 fall into LD blocks"):
        check_blocks_build(sparse, chrom=["1"] * 4, pos=[5, 100, 200, 300])
    assert check_blocks_build(sparse, chrom=["1"] * 4, pos=[5, 100, 200, 300], min_fraction=0.2)["n_outside"] == 3
    with pytest.raises(ValueError, match="cover none of the panel's chromosomes"):
        check_blocks_build(blocks, chrom=["3", "4"], pos=[1, 2])


# -- real block files ---------------------------------------------------------------------------------

def test_real_block_files(shared_data):
    d = shared_data / "ldblocks"
    berisa = read_ldblocks(d / "fourier_ls-all.bed")
    decode = read_ldblocks(d / "deCODE_EUR_LD_blocks.bed")
    pyrho = read_ldblocks(d / "pyrho_EUR_LD_blocks.bed")
    assert (len(berisa), len(decode), len(pyrho)) == (1703, 1361, 1336)
    for b in (berisa, decode, pyrho):
        assert sorted_chroms(b.chrom) == [str(i) for i in range(1, 23)]
        assert (b.end > b.start).all()
    assert berisa.iloc[0].tolist() == ["1", 10583, 1892607]
    # each file passes the check in its own build and fails in the other
    check_blocks_build(berisa, build="hg19")
    check_blocks_build(decode, build="hg38")
    check_blocks_build(pyrho, build="GRCh38")
    with pytest.raises(ValueError, match="another genome build"):
        check_blocks_build(berisa, build="hg38")
    with pytest.raises(ValueError, match="another genome build"):
        check_blocks_build(decode, build="hg19")


def test_real_panel_snps_fall_into_real_blocks(shared_data, caplog):
    bim = pd.read_csv(shared_data / "ld_panel_1kg_chr1" / "1000genomes.chr1.HumanHap550.EUR.bim", sep="\t",
                      header=None, usecols=[0, 3], names=["chrom", "pos"], dtype={"chrom": str})
    blocks = read_ldblocks(shared_data / "ldblocks" / "fourier_ls-all.bed")
    out = check_blocks_build(blocks, build="hg19", chrom=bim.chrom, pos=bim.pos)
    assert out["fraction_in_blocks"]["1"] > 0.99
    with caplog.at_level(logging.INFO, logger="stats.io.ldblocks"):
        counts = block_snp_counts(blocks, bim.chrom, bim.pos, what="panel SNPs")
    assert counts.sum() + out["n_outside"] == len(bim)
    assert (counts[blocks.chrom.to_numpy() != "1"] == 0).all()
    assert "LD blocks hold no panel SNPs" in caplog.text
    # the hg19 panel is not an hg38 panel: its SNPs run past the hg38 end of chr1
    decode = read_ldblocks(shared_data / "ldblocks" / "deCODE_EUR_LD_blocks.bed")
    with pytest.raises(ValueError, match="panel SNPs lie past the chromosome ends of build hg38"):
        check_blocks_build(decode, build="hg38", chrom=bim.chrom, pos=bim.pos)


def test_hg38_block_sets_fit_hg38_and_lose_the_hg38_mhc(shared_data):
    from genocore.genome import mhc_region
    from stats.sldp.pipeline import sldp_blocks

    c, lo, hi = mhc_region("hg38")
    for name in ("deCODE_EUR_LD_blocks.bed", "pyrho_EUR_LD_blocks.bed"):
        blocks = read_ldblocks(shared_data / "ldblocks" / name)
        check_blocks_build(blocks, build="hg38")  # no block past an hg38 chromosome end
        kept = sldp_blocks(blocks, build="hg38")
        in_mhc = (blocks.chrom == c) & (blocks.end > lo) & (blocks.start < hi)
        assert in_mhc.any() and len(kept) == len(blocks) - int(in_mhc.sum())
        assert not ((kept.chrom == c) & (kept.end > lo) & (kept.start < hi)).any()
    # hg19 blocks against hg38: the error says how to resolve it
    hg19 = read_ldblocks(shared_data / "ldblocks" / "fourier_ls-all.bed")
    with pytest.raises(ValueError, match="another genome build.*genostats liftover"):
        check_blocks_build(hg19, build="hg38")
