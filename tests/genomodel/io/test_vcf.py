import logging
import re

import numpy as np
import pandas as pd
import pytest

from genocore.files import write_text
from genomodel import dna
from genomodel.io import vcf as vcfmod
from genomodel.io.fasta import write_fasta
from genomodel.io.vcf import COLUMNS, COUNT_KEYS, match_chromosomes, read_vcf

# FASTA order deliberately not lexical, so the output order must follow the FASTA, not sorting names
SIZES = {"chr2": 30, "chr1": 40, "chrM": 20}
HEADER = "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
N_HEADER = HEADER.count("\n")


@pytest.fixture
def genome(tmp_path):
    rng = np.random.default_rng(3)
    codes = {c: rng.integers(0, 4, n).astype(np.uint8) for c, n in SIZES.items()}
    seqs = {c: dna.decode(v) for c, v in codes.items()}
    return write_fasta(tmp_path / "genome.fa", codes), seqs


def other(base, k=1):
    """A base that differs from ``base`` (k = 1, 2, 3 give the three others)."""
    return "ACGT"[("ACGT".index(base) + k) % 4]


def write_vcf(tmp_path, rows, *, name="in.vcf", header=HEADER, gz=False):
    text = header + "".join("\t".join(map(str, r)) + "\t.\tPASS\t.\n" for r in rows)
    return write_text(tmp_path / name, text, compress=gz)


def test_reads_snps_with_ids_lines_dtypes_and_counts(tmp_path, genome, caplog):
    fa, seq = genome
    r1, r2 = seq["chr1"][4], seq["chr2"][9]
    path = write_vcf(tmp_path, [("chr1", 5, "rs1", r1, other(r1)), ("chr2", 10, ".", r2, other(r2))])
    with caplog.at_level(logging.INFO, logger="genomodel.io.vcf"):
        df, counts = read_vcf(path, fasta=fa)
    assert list(df.columns) == COLUMNS
    assert df["pos"].dtype == np.int64 and df["line"].dtype == np.int64 and df["flipped"].dtype == bool
    # chr2 comes first in the FASTA
    assert df["chrom"].tolist() == ["chr2", "chr1"]
    assert df["snp"].tolist() == [f"chr2:10:{r2}:{other(r2)}", "rs1"]
    assert df["line"].tolist() == [N_HEADER + 2, N_HEADER + 1]
    assert df["ref"].tolist() == [r2, r1] and not df["flipped"].any()
    assert set(counts) == set(COUNT_KEYS)
    assert counts == dict(records=2, alleles=2, snps=2, indels_skipped=0, past_end_skipped=0, ref_match=2,
                          ref_mismatch_skipped=0, flipped=0, unmatched_dropped=0, duplicates=0)
    info = [r for r in caplog.records if r.levelno == logging.INFO]
    assert len(info) == 1 and "records=2" in info[0].getMessage()


def test_multiallelic_split_one_row_per_alt(tmp_path, genome):
    fa, seq = genome
    r = seq["chr1"][19]
    path = write_vcf(tmp_path, [("chr1", 20, ".", r, f"{other(r, 1)},{other(r, 2)}")])
    df, counts = read_vcf(path, fasta=fa)
    assert df["alt"].tolist() == [other(r, 1), other(r, 2)]
    assert df["snp"].tolist() == [f"chr1:20:{r}:{other(r, 1)}", f"chr1:20:{r}:{other(r, 2)}"]
    assert df["line"].tolist() == [N_HEADER + 1] * 2
    assert counts["records"] == 1 and counts["alleles"] == 2


def test_gzipped_input_reads_like_plain(tmp_path, genome):
    fa, seq = genome
    rows = [("chr1", p, ".", seq["chr1"][p - 1], other(seq["chr1"][p - 1])) for p in (3, 8, 30)]
    plain, _ = read_vcf(write_vcf(tmp_path, rows), fasta=fa)
    gz, _ = read_vcf(write_vcf(tmp_path, rows, name="in.vcf.gz", gz=True), fasta=fa)
    assert gz.equals(plain) and len(gz) == 3


@pytest.mark.parametrize("fasta_names, vcf_name, expect", [
    (("chr1", "chrM"), "1", "chr1"),
    (("1", "MT"), "chr1", "1"),
    (("chr1", "chrM"), "MT", "chrM"),
    (("1", "MT"), "chrM", "MT"),
    (("1", "chr1"), "1", "1"),  # the exact name wins
])
def test_chromosome_names_normalized_both_ways(tmp_path, fasta_names, vcf_name, expect):
    codes = {n: dna.encode("ACGTACGTAC") for n in fasta_names}
    fa = write_fasta(tmp_path / "g.fa", codes)
    df, _ = read_vcf(write_vcf(tmp_path, [(vcf_name, 2, ".", "C", "T")]), fasta=fa)
    assert df["chrom"].tolist() == [expect] and df["snp"][0] == f"{expect}:2:C:T"
    assert match_chromosomes(["x", vcf_name], fasta_names) == {"x": None, vcf_name: expect}


def test_unmatched_chromosome_names_it_its_first_line_and_fasta_names(tmp_path, genome):
    fa, seq = genome
    r = seq["chr1"][0]
    path = write_vcf(tmp_path, [("chr1", 1, ".", r, other(r)), ("chr22", 5, ".", "A", "C"),
                                ("chr22", 6, ".", "A", "C")])
    with pytest.raises(ValueError, match=rf"line {N_HEADER + 2}: chromosome 'chr22' is not in the FASTA") as e:
        read_vcf(path, fasta=fa)
    assert "chr2, chr1, chrM" in str(e.value) and str(path) in str(e.value)


@pytest.mark.parametrize("data, what", [
    ("chr1\t5\t.\tA", "expected at least 5 tab-separated fields"),
    ("chr1 5 . A C", "separated by spaces"),
    ("chr1\t5x\t.\tA\tC", "POS '5x' is not an integer"),
    ("chr1\t0\t.\tA\tC", "POS 0 is below 1"),
    ("chr1\t5\t.\t\tC", "REF '' is not a string of A, C, G, T, N"),
    ("chr1\t5\t.\tAX\tC", "REF 'AX' is not"),
    ("chr1\t5\t.\tA\tC,Q", "ALT allele 'Q' is not"),
    ("chr1\t5\t.\tA\t.", r"ALT is '\.' \(no alternate allele\)"),
    ("chr1\t5\t.\tA\ta", "ALT 'a' equals REF 'A'"),
])
def test_malformed_line_names_file_line_and_start(tmp_path, genome, data, what):
    fa, seq = genome
    r = seq["chr1"][0]
    path = tmp_path / "bad.vcf"
    path.write_text(HEADER + f"chr1\t1\t.\t{r}\t{other(r)}\n" + data + "\n")
    with pytest.raises(ValueError, match=what) as e:
        read_vcf(path, fasta=fa)
    msg = str(e.value)
    assert f"VCF {path} line {N_HEADER + 2}:" in msg and repr(data[:20])[:-1] in msg
    assert "Fix or remove" in msg or "Remove" in msg


@pytest.mark.parametrize("ref, alt, kind", [
    ("AC", "A", "an indel"), ("A", "AT", "an indel"), ("AC", "GT", "an indel or multi-base substitution"),
    ("A", "<DEL>", "a symbolic"), ("A", "*", "a symbolic"), ("A", "A]chr1:3]", "a symbolic"),
])
def test_indels_refused_by_default_naming_the_record(tmp_path, genome, ref, alt, kind):
    fa, _ = genome
    path = write_vcf(tmp_path, [("chr1", 5, "rsX", ref, alt)])
    with pytest.raises(ValueError, match=re.escape(f"line {N_HEADER + 1} (chr1:5 {ref}>{alt}, ID rsX) is {kind}")) as e:
        read_vcf(path, fasta=fa)
    assert "--indels skip" in str(e.value) and "not supported" in str(e.value)


def test_indels_skipped_and_counted(tmp_path, genome):
    fa, seq = genome
    r = seq["chr1"][9]
    path = write_vcf(tmp_path, [("chr1", 10, ".", r, f"{other(r)},{r}T,<DEL>"), ("chr1", 12, ".", "AC", "A")])
    df, counts = read_vcf(path, fasta=fa, indels="skip")
    assert df["alt"].tolist() == [other(r)]
    assert counts["alleles"] == 4 and counts["indels_skipped"] == 3 and counts["snps"] == 1


def test_position_past_chromosome_end(tmp_path, genome):
    """Refused by default, naming the record and the option that drops such records (a partial FASTA, such
    as the first megabase of a chromosome, is a common case); dropped and counted with --ref-policy skip."""
    fa, seq = genome
    g = seq["chrM"][3]
    path = write_vcf(tmp_path, [("chrM", 21, ".", "A", "C"), ("chrM", 4, ".", g, other(g))])
    with pytest.raises(ValueError, match=rf"line {N_HEADER + 1} \(chrM:21 A>C\): position 21 is past the end "
                                         r"of chrM \(20 bp\).*--ref-policy skip"):
        read_vcf(path, fasta=fa)
    df, counts = read_vcf(path, fasta=fa, ref_policy="skip")
    assert df["pos"].tolist() == [4] and counts["past_end_skipped"] == 1 and counts["ref_match"] == 1


def mismatch_rows(seq):
    g1, g2, g3 = seq["chr1"][0], seq["chr1"][1], seq["chr1"][2]
    return [
        ("chr1", 1, "ok", g1, other(g1)),                       # matches
        ("chr1", 2, "swap", other(g2), g2),                     # ALT is the genome base
        ("chr1", 3, "none", other(g3, 1), other(g3, 2)),        # neither
    ]


def test_ref_mismatch_error_names_record_and_genome_base(tmp_path, genome):
    fa, seq = genome
    path = write_vcf(tmp_path, mismatch_rows(seq))
    g2 = seq["chr1"][1]
    with pytest.raises(ValueError, match=rf"line {N_HEADER + 2} \(chr1:2 {other(g2)}>{g2}, ID swap\): REF "
                                         rf"{other(g2)} does not match the genome base {g2} at chr1:2") as e:
        read_vcf(path, fasta=fa)
    assert "2 of 3 SNP alleles mismatch" in str(e.value) and "--ref-policy flip" in str(e.value)


def test_ref_mismatch_skip(tmp_path, genome, caplog):
    fa, seq = genome
    with caplog.at_level(logging.WARNING, logger="genomodel.io.vcf"):
        df, counts = read_vcf(write_vcf(tmp_path, mismatch_rows(seq)), fasta=fa, ref_policy="skip")
    assert df["snp"].tolist() == ["ok"] and not df["flipped"].any()
    assert counts["ref_match"] == 1 and counts["ref_mismatch_skipped"] == 2 and counts["flipped"] == 0
    assert any("do not match" in r.getMessage() for r in caplog.records)


def test_ref_mismatch_flip(tmp_path, genome):
    fa, seq = genome
    g2 = seq["chr1"][1]
    df, counts = read_vcf(write_vcf(tmp_path, mismatch_rows(seq)), fasta=fa, ref_policy="flip")
    assert df["snp"].tolist() == ["ok", "swap"]
    assert df["flipped"].tolist() == [False, True]
    assert (df["ref"][1], df["alt"][1]) == (g2, other(g2))
    assert counts["ref_match"] == 1 and counts["flipped"] == 1 and counts["unmatched_dropped"] == 1
    assert counts["ref_mismatch_skipped"] == 0


def test_flipped_record_without_id_gets_id_of_output_alleles(tmp_path, genome):
    fa, seq = genome
    g = seq["chr2"][4]
    df, _ = read_vcf(write_vcf(tmp_path, [("chr2", 5, ".", other(g), g)]), fasta=fa, ref_policy="flip")
    assert df["snp"][0] == f"chr2:5:{g}:{other(g)}" and df["flipped"][0]


def test_duplicates_kept_once_counted_and_logged(tmp_path, genome, caplog):
    fa, seq = genome
    r = seq["chr1"][6]
    rows = [("chr1", 7, "a", r, other(r)), ("chr1", 7, "b", r, other(r, 2)), ("chr1", 7, "c", r, other(r))]
    with caplog.at_level(logging.WARNING, logger="genomodel.io.vcf"):
        df, counts = read_vcf(write_vcf(tmp_path, rows), fasta=fa)
    assert df["snp"].tolist() == ["a", "b"] and counts["duplicates"] == 1
    msg = " ".join(r.getMessage() for r in caplog.records)
    assert f"chr1:7 {r}>{other(r)} on lines {N_HEADER + 1} and {N_HEADER + 3}" in msg


def test_unsorted_input_sorted_by_fasta_order_then_position_stably(tmp_path, genome):
    fa, seq = genome

    def row(c, p, i):
        b = seq[c][p - 1]
        return (c, p, i, b, other(b))

    rows = [row("chrM", 3, "m"), row("chr1", 30, "x"), row("chr2", 8, "y"), row("chr1", 2, "z"),
            row("chr1", 30, "w")]
    rows[4] = ("chr1", 30, "w", seq["chr1"][29], other(seq["chr1"][29], 2))
    df, _ = read_vcf(write_vcf(tmp_path, rows), fasta=fa)
    assert df["snp"].tolist() == ["y", "z", "x", "w", "m"]


def test_lowercase_genome_and_alleles_compare_upper_case(tmp_path):
    fa = tmp_path / "soft.fa"
    fa.write_text(">chr1\nacgtACGTac\n")
    df, counts = read_vcf(write_vcf(tmp_path, [("1", 1, ".", "a", "g"), ("1", 6, ".", "C", "t")]), fasta=fa)
    assert df[["ref", "alt"]].values.tolist() == [["A", "G"], ["C", "T"]] and counts["ref_match"] == 2


def test_span_read_equals_per_base_reads(tmp_path, genome, monkeypatch):
    fa, seq = genome
    rng = np.random.default_rng(0)
    rows = []
    for c, n in SIZES.items():
        for p in rng.choice(np.arange(1, n + 1), 8, replace=False):
            b = seq[c][p - 1]
            rows.append((c, int(p), ".", b if rng.random() < 0.5 else other(b), other(b, 2)))
    path = write_vcf(tmp_path, rows)
    few = read_vcf(path, fasta=fa, ref_policy="skip")
    monkeypatch.setattr(vcfmod, "_FEW_VARIANTS", 0)
    span = read_vcf(path, fasta=fa, ref_policy="skip")
    assert few[0].equals(span[0]) and few[1] == span[1]


def test_header_only_vcf_gives_empty_frame(tmp_path, genome):
    fa, _ = genome
    df, counts = read_vcf(write_vcf(tmp_path, []), fasta=fa)
    assert list(df.columns) == COLUMNS and len(df) == 0 and df["pos"].dtype == np.int64
    assert counts["records"] == 0


def test_bad_options_and_missing_files(tmp_path, genome):
    fa, _ = genome
    path = write_vcf(tmp_path, [])
    with pytest.raises(ValueError, match="ref_policy must be one of"):
        read_vcf(path, fasta=fa, ref_policy="ignore")
    with pytest.raises(ValueError, match="indels must be one of"):
        read_vcf(path, fasta=fa, indels="keep")
    with pytest.raises(FileNotFoundError, match="VCF"):
        read_vcf(tmp_path / "nope.vcf", fasta=fa)
    with pytest.raises(FileNotFoundError, match="FASTA"):
        read_vcf(path, fasta=tmp_path / "nope.fa")


# ------------------------------------------------------------------ the stages on their own


def test_parse_vcf_records_one_row_per_alt_with_kinds(tmp_path):
    path = write_vcf(tmp_path, [("1", 5, "rs1", "a", "c,<DEL>"), ("chrX", 9, ".", "AC", "A")])
    df, n_records = vcfmod.parse_vcf_records(path)
    assert n_records == 2
    assert list(df.columns) == ["vcf_chrom", "pos", "id", "ref", "alt", "kind", "line"]
    assert df["vcf_chrom"].tolist() == ["1", "1", "chrX"] and df["pos"].dtype == np.int64
    assert df["id"].tolist() == ["rs1", "rs1", None]
    assert df["ref"].tolist() == ["A", "A", "AC"] and df["alt"].tolist() == ["C", "<DEL>", "A"]
    assert df["kind"].dtype == np.int8 and df["kind"].tolist() == [0, 2, 1]
    assert df["line"].tolist() == [N_HEADER + 1, N_HEADER + 1, N_HEADER + 2]


def _alleles(rows):
    """Parsed-allele rows (vcf_chrom, pos, id, ref, alt, kind, line) with ``chrom`` = ``vcf_chrom``."""
    df = pd.DataFrame(rows, columns=["vcf_chrom", "pos", "id", "ref", "alt", "kind", "line"])
    return df.assign(chrom=df["vcf_chrom"])


def test_apply_indel_policy_refuses_or_drops():
    df = _alleles([("chr1", 3, None, "A", "C", 0, 7), ("chr1", 4, "rsD", "A", "<DEL>", 2, 8)])
    snps, n = vcfmod.apply_indel_policy(df, indels="skip", path="x.vcf")
    assert n == 1 and snps["alt"].tolist() == ["C"] and snps.index.tolist() == [0]
    with pytest.raises(ValueError, match=re.escape("VCF x.vcf line 8 (chr1:4 A><DEL>, ID rsD) is a symbolic")):
        vcfmod.apply_indel_policy(df, indels="refuse", path="x.vcf")
    same, n = vcfmod.apply_indel_policy(df.iloc[:1], indels="refuse", path="x.vcf")
    assert n == 0 and same.equals(df.iloc[:1])


def test_apply_ref_policy_on_given_genome_bases():
    df = _alleles([("chr1", 1, "ok", "A", "C", 0, 1), ("chr1", 2, "swap", "G", "T", 0, 2),
                   ("chr1", 3, "none", "C", "G", 0, 3)])
    genome = np.frombuffer(b"ATA", dtype=np.uint8)
    kept, counts = vcfmod.apply_ref_policy(df, genome, ref_policy="flip", path="x.vcf", fasta="g.fa")
    assert kept["id"].tolist() == ["ok", "swap"] and kept["flipped"].tolist() == [False, True]
    assert kept[["ref", "alt"]].values.tolist() == [["A", "C"], ["T", "G"]]
    assert counts == dict(ref_match=1, ref_mismatch_skipped=0, flipped=1, unmatched_dropped=1)
    assert df["ref"].tolist() == ["A", "G", "C"] and "flipped" not in df  # the input is left alone
    kept, counts = vcfmod.apply_ref_policy(df, genome, ref_policy="skip", path="x.vcf", fasta="g.fa")
    assert kept["id"].tolist() == ["ok"] and counts["ref_mismatch_skipped"] == 2
    with pytest.raises(ValueError, match=r"line 2 \(chr1:2 G>T, ID swap\): REF G does not match the genome "
                                         r"base T at chr1:2 in the FASTA g.fa \(2 of 3 SNP alleles mismatch\)"):
        vcfmod.apply_ref_policy(df, genome, ref_policy="error", path="x.vcf", fasta="g.fa")


def test_drop_duplicate_alleles_keeps_first(caplog):
    df = _alleles([("chr1", 5, "a", "A", "C", 0, 10), ("chr1", 5, "b", "A", "G", 0, 11),
                   ("chr1", 5, "c", "A", "C", 0, 12)])
    with caplog.at_level(logging.WARNING, logger="genomodel.io.vcf"):
        out, n = vcfmod.drop_duplicate_alleles(df, path="x.vcf")
    assert n == 1 and out["id"].tolist() == ["a", "b"] and out.index.tolist() == [0, 1]
    assert "chr1:5 A>C on lines 10 and 12" in caplog.text
    same, n = vcfmod.drop_duplicate_alleles(out, path="x.vcf")
    assert n == 0 and same.equals(out)
