"""Lifting variants between builds with a chain file written here, against hand-worked positions."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from stats import cli
from stats import liftover as lo

# chr1: bases 1-400 move up by 100, 401-500 are a gap, 501-900 stay; chr2 (500 bp) maps reversed onto the
# minus strand; chr3 maps onto chr4 (a moved chromosome).
CHAIN = ("chain 1000 chr1 1000 + 0 900 chr1 1100 + 100 900 1\n400\t100\t0\n400\n\n"
         "chain 1000 chr2 500 + 0 500 chr2 500 - 0 500 2\n500\n\n"
         "chain 1000 chr3 300 + 0 300 chr4 300 + 0 300 3\n300\n\n")


@pytest.fixture()
def chain(tmp_path):
    p = tmp_path / "aToB.over.chain"
    p.write_text(CHAIN)
    return p


def test_positions_against_the_chain_by_hand(chain):
    got = lo.lift_positions(["chr1", "1", "chr1", "chr1", "chr2", "chr2", "chr3", "chr9"],
                            [1, 400, 450, 501, 1, 500, 10, 5], chain=chain)
    assert got.status.tolist() == ["mapped", "mapped", "unmapped", "mapped", "mapped", "mapped", "other_chromosome",
                                   "unmapped"]
    assert got.pos.tolist()[:2] == [101, 500] and got.pos[3] == 501 and got.pos[4] == 500 and got.pos[5] == 1
    assert got.strand.tolist()[4:6] == ["-", "-"] and pd.isna(got.pos[2])


def test_table_gtex_and_vcf(chain, tmp_path):
    t = pd.DataFrame({"SNP": ["a", "b", "c", "d"], "CHR": ["1", "1", "2", "3"], "BP": [10, 450, 100, 10],
                      "A1": ["A", "C", "A", "G"], "A2": ["G", "T", "C", "T"], "Z": [1.0, 2.0, 3.0, 4.0]})
    out, counts = lo.lift_table(t, chain=chain)
    assert out.SNP.tolist() == ["a", "c"] and out.BP.tolist() == [110, 401]
    assert out.loc[1, ["A1", "A2"]].tolist() == ["T", "G"] and out.Z.tolist() == [1.0, 3.0]  # complemented
    assert counts == {"mapped": 2, "unmapped": 1, "multiple": 0, "other_chromosome": 1, "strand_flipped": 1}
    g = pd.DataFrame({"gene_id": ["g1", "g2"], "variant_id": ["chr1_10_A_G_b37", "chr2_100_A_C_b37"],
                      "slope": [0.1, 0.2]})
    gout, _ = lo.lift_gtex_table(g, chain=chain, to_build="hg38")
    assert gout.variant_id.tolist() == ["chr1_110_A_G_b38", "chr2_401_T_G_b38"] and gout.slope.tolist() == [0.1, 0.2]
    vcf = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
           "chr2\t100\tx\tA\tC\t.\t.\t.", "chr2\t400\ty\tG\tT\t.\t.\t.", "chr1\t460\tz\tA\tG\t.\t.\t."]
    lines, counts = lo.lift_vcf(vcf, chain=chain)
    assert lines[2:] == ["chr2\t101\ty\tC\tA\t.\t.\t.", "chr2\t401\tx\tT\tG\t.\t.\t."]  # re-sorted by position
    assert counts["unmapped"] == 1 and counts["strand_flipped"] == 2
    with pytest.raises(ValueError, match="no variant could be lifted"):
        lo.lift_table(t.assign(CHR="9"), chain=chain)


def test_command_line_liftover_with_counts_in_the_provenance(chain, tmp_path):
    t = pd.DataFrame({"SNP": ["a", "b", "c"], "CHR": ["1", "1", "2"], "BP": [10, 450, 100], "A1": ["A", "C", "A"],
                      "A2": ["G", "T", "C"], "P": [0.1, 0.2, 0.3]})
    src = tmp_path / "gwas.txt"
    src.write_text(t.to_string(index=False) + "\n")  # whitespace-aligned
    out = tmp_path / "gwas.hg38.tsv.gz"
    assert cli.main(["liftover", "--input", str(src), "--chain", str(chain), "--to", "hg38", "--out", str(out)]) == 0
    got = pd.read_csv(out, sep="\t")
    assert got.SNP.tolist() == ["a", "c"] and got.BP.tolist() == [110, 401] and got.A1.tolist() == ["A", "T"]
    np.testing.assert_allclose(got.P, [0.1, 0.3])
    prov = json.loads((tmp_path / "gwas.hg38.tsv.gz.provenance.json").read_text())
    assert prov["counts"]["unmapped"] == 1 and prov["genome_build"] == "hg38" and prov["layout"] == "table"


def test_a_header_only_table_is_refused_by_name(chain, tmp_path, caplog):
    src = tmp_path / "empty.tsv"
    src.write_text("SNP\tCHR\tBP\tA1\tA2\n")
    out = tmp_path / "empty.hg38.tsv"
    assert cli.main(["liftover", "--input", str(src), "--chain", str(chain), "--to", "hg38", "--out", str(out)]) == 2
    assert "empty.tsv: the table has no rows" in caplog.text and not out.exists()
