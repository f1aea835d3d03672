import gzip
import logging

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from genocore.files import write_text
from stats.io.sumstats import detect_columns, read_sumstats, read_text_table, write_sumstats


def _write(path, text, *, gz=False):
    return write_text(path, text, compress=gz)


LDSC = "SNP\tA1\tA2\tN\tZ\nrs1\tA\tG\t1000\t1.5\nrs2\tc\tt\t1000.0\t-2.25\nrs3\tA\tC\t999\t0\n"


@pytest.mark.parametrize("gz", [True, False])
def test_ldsc_sumstats_gz_or_plain(tmp_path, gz):
    # the name says .gz either way: compression is told by the bytes
    df = read_sumstats(_write(tmp_path / "t.sumstats.gz", LDSC, gz=gz))
    assert list(df.columns) == ["SNP", "A1", "A2", "N", "Z"]
    assert list(df.SNP) == ["rs1", "rs2", "rs3"]
    assert list(df.A1) == ["A", "C", "A"] and list(df.A2) == ["G", "T", "C"]
    np.testing.assert_array_equal(df.Z, [1.5, -2.25, 0.0])
    np.testing.assert_array_equal(df.N, [1000, 1000, 999])
    assert df.Z.dtype == np.float64 and df.N.dtype == np.float64
    assert df.attrs["sumstats"]["counts"]["kept"] == 3


def test_write_then_read_round_trip(tmp_path):
    df = read_sumstats(_write(tmp_path / "a.txt", LDSC))
    out = write_sumstats(tmp_path / "b.sumstats.gz", df)
    assert gzip.open(out, "rt").readline().rstrip("\n").split("\t") == ["SNP", "A1", "A2", "N", "Z"]
    pd.testing.assert_frame_equal(read_sumstats(out), df, check_like=False)
    with pytest.raises(ValueError, match="lacks columns"):
        write_sumstats(tmp_path / "c.sumstats.gz", df.drop(columns="Z"))


def test_raw_table_metal_style_with_n_option(tmp_path, caplog):
    text = ("MarkerName Allele1 Allele2 Effect StdErr P-value\n"
            "rs1 a g 0.5 0.25 0.04\n"
            "rs2 t c -0.3 0.1 0.003\n")
    p = _write(tmp_path / "metal.tbl", text)
    with pytest.raises(ValueError, match=r"metal.tbl: no sample size.*n="):
        read_sumstats(p)
    with caplog.at_level(logging.INFO, logger="stats.io.sumstats"):
        df = read_sumstats(p, n=5000)
    np.testing.assert_allclose(df.Z, [2.0, -3.0])
    assert (df.N == 5000).all()
    assert list(df.A1) == ["A", "T"]
    log = caplog.text
    assert "SNP <- column 'MarkerName'" in log and "A1 <- column 'Allele1'" in log
    assert "A2 <- column 'Allele2'" in log
    assert "Z <- BETA / SE from columns 'Effect' / 'StdErr'" in log
    assert "N <- n=5000 (given)" in log
    assert "'P-value' (P)" in log  # recognised, not used


def test_n_option_overrides_the_column(tmp_path, caplog):
    p = _write(tmp_path / "x.txt", LDSC)
    with caplog.at_level(logging.INFO, logger="stats.io.sumstats"):
        df = read_sumstats(p, n=42)
    assert (df.N == 42).all()
    assert "column 'N' ignored" in caplog.text
    with pytest.raises(ValueError, match="positive"):
        read_sumstats(p, n=0)


def test_rsid_effect_allele_beta_se_and_cases_controls(tmp_path):
    text = ("rsid,chromosome,base_pair_location,effect_allele,other_allele,beta,standard_error,Ncases,Ncontrols\n"
            "rs1,chr1,100,A,G,0.2,0.1,100,300\n"
            "rs2,23,200,C,T,-0.4,0.2,110,290\n")
    df = read_sumstats(_write(tmp_path / "gwas.csv", text))
    np.testing.assert_allclose(df.Z, [2.0, -2.0])
    np.testing.assert_array_equal(df.N, [400, 400])
    assert list(df.CHR) == ["1", "X"]
    assert list(df.BP) == [100, 200] and str(df.BP.dtype) == "Int64"
    assert df.attrs["sumstats"]["n_from"].startswith("cases + controls")


def test_variant_id_alt_ref_odds_ratio(tmp_path):
    text = "variant_id\tALT\tREF\tOR\tSE\tsample_size\nv1\tA\tG\t2.0\t0.5\t100\nv2\tC\tT\t0.5\t0.25\t100\n"
    df = read_sumstats(_write(tmp_path / "or.tsv", text))
    np.testing.assert_allclose(df.Z, [np.log(2) / 0.5, np.log(0.5) / 0.25])
    assert list(df.A1) == ["A", "C"] and list(df.A2) == ["G", "T"]


def test_z_from_p_and_sign_of_beta_or_odds_ratio(tmp_path):
    text = "SNP A1 A2 N BETA P\nrs1 A G 10 0.3 0.05\nrs2 A G 10 -0.1 1e-8\nrs3 A G 10 0 1\n"
    df = read_sumstats(_write(tmp_path / "p.txt", text))
    np.testing.assert_allclose(df.Z, [sps.norm.isf(0.025), -sps.norm.isf(0.5e-8), 0.0])
    np.testing.assert_allclose(df.Z[:2] ** 2, sps.chi2.isf([0.05, 1e-8], 1))
    text = "SNP A1 A2 N OR P\nrs1 A G 10 0.8 0.05\nrs2 A G 10 1.2 0.05\n"
    df = read_sumstats(_write(tmp_path / "p2.txt", text))
    np.testing.assert_allclose(df.Z, [-1.959964, 1.959964], atol=1e-6)
    text = "SNP A1 A2 N log_odds SE\nrs1 A G 10 0.3 0.1\n"
    np.testing.assert_allclose(read_sumstats(_write(tmp_path / "p3.txt", text)).Z, [3.0])


def test_z_column_preferred_over_beta_se(tmp_path):
    text = "SNP A1 A2 N Z BETA SE\nrs1 A G 10 1.0 5 1\n"
    df = read_sumstats(_write(tmp_path / "z.txt", text))
    assert df.Z.iloc[0] == 1.0
    assert df.attrs["sumstats"]["z_from"] == "column 'Z'"


def test_columns_override_and_unknown_field(tmp_path):
    text = "id_col A1 A2 N myz\nrs1 A G 10 1.0\n"
    p = _write(tmp_path / "o.txt", text)
    with pytest.raises(ValueError, match="no column for SNP"):
        read_sumstats(p)
    with pytest.raises(ValueError, match="no signed statistic"):
        read_sumstats(p, columns={"SNP": "id_col"})
    df = read_sumstats(p, columns={"SNP": "id_col", "Z": "myz"})
    assert df.SNP.iloc[0] == "rs1" and df.Z.iloc[0] == 1.0
    with pytest.raises(KeyError, match="unknown sumstats field 'ZZ'"):
        read_sumstats(p, columns={"ZZ": "myz"})
    with pytest.raises(ValueError, match="names a column the file lacks"):
        read_sumstats(p, columns={"SNP": "nope"})


def test_missing_and_doubled_columns(tmp_path):
    p = _write(tmp_path / "m.txt", "SNP A1 N Z\nrs1 A 10 1\n")
    with pytest.raises(ValueError, match=r"m.txt: no column for A2"):
        read_sumstats(p)
    p = _write(tmp_path / "d.txt", "SNP A1 ALT A2 N Z\nrs1 A A G 10 1\n")
    with pytest.raises(ValueError, match=r"\['A1', 'ALT'\] all look like A1"):
        read_sumstats(p)
    assert read_sumstats(p, columns={"A1": "ALT"}).A1.iloc[0] == "A"
    with pytest.raises(ValueError, match="empty"):
        read_sumstats(_write(tmp_path / "e.txt", ""))
    with pytest.raises(ValueError, match=r"dd.txt: duplicated column names \['Z'\]"):
        read_sumstats(_write(tmp_path / "dd.txt", "SNP A1 A2 N Z Z\nrs1 A G 10 1 2\n"))


def test_bad_values_name_file_line_and_column(tmp_path):
    cases = {
        "SNP A1 A2 N Z\nrs1 A G 10 1\nrs2 A G 10 oops\n": r"z1.txt, line 3, column 'Z': 'oops' is not a number",
        "SNP A1 A2 N BETA P\nrs1 A G 10 1 1.5\n": r"line 2, column 'P': P must lie in \[0, 1\]",
        "SNP A1 A2 N BETA SE\nrs1 A G 10 1 0.1\nrs2 A G 10 1 -0.1\n": r"line 3, column 'SE': SE must not be negative",
        "SNP A1 A2 N OR SE\nrs1 A G 10 0 0.1\n": r"line 2, column 'OR': an odds ratio must be positive",
        "SNP A1 A2 N Z BP\nrs1 A G 10 1 12.5\n": r"line 2, column 'BP': positions must be whole numbers",
        "SNP A1 A2 N Z\nrs1 A G 10 1\nrs2 A G 10 1 7\n": r"z1.txt: cannot parse",
    }
    for text, msg in cases.items():
        with pytest.raises(ValueError, match=msg):
            read_sumstats(_write(tmp_path / "z1.txt", text))


def test_nonfinite_z_bad_n_and_missing_ids_are_counted_exclusions(tmp_path, caplog):
    text = ("SNP A1 A2 N Z\n"
            "rs1 A G 10 1\n"
            "rs2 A G 10 NA\n"
            "rs3 A G 10 inf\n"
            "rs4 A G 10 -Inf\n"
            "rs5 A G NA 1\n"
            "rs6 A G -5 1\n"
            ". A G 10 1\n"
            "\n"
            "rs7 A G 10 2\n")
    with caplog.at_level(logging.INFO, logger="stats.io.sumstats"):
        df = read_sumstats(_write(tmp_path / "nf.txt", text))
    assert list(df.SNP) == ["rs1", "rs7"]
    c = df.attrs["sumstats"]["counts"]
    assert (c["rows"], c["nonfinite_z"], c["bad_n"], c["missing_snp_id"], c["kept"]) == (8, 3, 2, 1, 2)
    assert "dropped 3 rows with a missing or infinite Z" in caplog.text
    assert "dropped 2 rows with a missing or non-positive N" in caplog.text
    # P = 0 underflows to an infinite Z: excluded and counted
    df = read_sumstats(_write(tmp_path / "p0.txt", "SNP A1 A2 N BETA P\nrs1 A G 10 1 0\nrs2 A G 10 1 0.5\n"))
    assert list(df.SNP) == ["rs2"] and df.attrs["sumstats"]["counts"]["nonfinite_z"] == 1


def test_duplicated_ids_drop_all_copies(tmp_path, caplog):
    text = "SNP A1 A2 N Z\nrs1 A G 10 1\nrs2 A G 10 2\nrs1 A G 10 3\nrs3 A G 10 4\nrs2 A C 10 5\n"
    with caplog.at_level(logging.WARNING, logger="stats.io.sumstats"):
        df = read_sumstats(_write(tmp_path / "dup.txt", text))
    assert list(df.SNP) == ["rs3"]
    assert df.attrs["sumstats"]["counts"]["duplicated_snp_id"] == 4
    assert "dropped all 4 rows of 2 duplicated SNP IDs (e.g. rs1, rs2)" in caplog.text


def test_non_snp_alleles_are_kept_and_logged(tmp_path, caplog):
    text = "SNP A1 A2 N Z\nrs1 1 3 10 1\nrs2 AT A 10 1\nrs3 A C 10 1\n"
    with caplog.at_level(logging.INFO, logger="stats.io.sumstats"):
        df = read_sumstats(_write(tmp_path / "ns.txt", text))
    assert len(df) == 3 and df.attrs["sumstats"]["counts"]["non_snp_alleles"] == 2
    assert "2 kept rows have alleles that are not" in caplog.text


def test_detect_columns_and_text_table(tmp_path):
    assert detect_columns(["#CHROM", "POS", "ID", "REF", "ALT", "BETA", "SE", "P", "OBS_CT"]) == {
        "CHR": "#CHROM", "BP": "POS", "SNP": "ID", "A2": "REF", "A1": "ALT", "BETA": "BETA", "SE": "SE", "P": "P",
        "N": "OBS_CT"}
    assert detect_columns(["EFFECT_ALLELE", "EFFECT_ALLELE_FREQ", "NON_EFFECT_ALLELE", "non_effect_allele_freq"]) \
        == {"A1": "EFFECT_ALLELE", "A2": "NON_EFFECT_ALLELE"}
    p = _write(tmp_path / "t.txt", "a \t b\nx \t y\n\n z\t w\n")
    t = read_text_table(p)
    assert list(t.columns) == ["a", "b"] and list(t.index) == [0, 2]


def test_real_glucose_tables(shared_data):
    d = shared_data / "sumstats_metal_glucose_3regions"
    fusion = read_sumstats(d / "MAGIC_FUSION_Results.txt.gz")  # space-separated, gzipped, BETA/SE, N
    raw = pd.read_csv(d / "MAGIC_FUSION_Results.txt.gz", sep=" ")
    assert len(fusion) == len(raw) > 2000
    np.testing.assert_allclose(fusion.Z, raw.BETA / raw.SE)
    assert (fusion.N == 1233).all()
    assert set(fusion.CHR) == {"2", "7", "11"}
    sardinia = read_sumstats(d / "magic_SARDINIA.tbl", n=4000)  # AL1/AL2/EFFECT, no N column
    assert len(sardinia) > 2000 and (sardinia.N == 4000).all()
    assert set(sardinia.A1) <= set("ACGT")
    with pytest.raises(ValueError, match="no sample size"):
        read_sumstats(d / "magic_SARDINIA.tbl")
    dgi = read_sumstats(d / "DGI_three_regions.txt")  # alleles coded 1-4: read, counted as non-SNP
    assert dgi.attrs["sumstats"]["counts"]["non_snp_alleles"] == len(dgi)


def test_gwas_fields_are_detected_by_their_aliases():
    # every alias of a GWAS field is recognised by the sumstats reader as that field
    from genocore.columns import COLUMNS, GWAS_SUMSTATS
    from stats.io.sumstats import SYNONYMS

    assert set(SYNONYMS) == set(GWAS_SUMSTATS.all_fields.values())
    for canon, field in GWAS_SUMSTATS.all_fields.items():
        assert SYNONYMS[field] == COLUMNS[canon].aliases
        for a in COLUMNS[canon].aliases:
            assert detect_columns([a.upper()]) == {field: a.upper()}


def test_parquet_sumstats_read_as_their_text_would_be(tmp_path):
    rng = np.random.default_rng(0)
    n = 50
    df = pd.DataFrame({"SNP": [f"rs{i}" for i in range(n)], "CHR": rng.integers(1, 23, n), "BP": np.arange(n) * 100 + 1,
                       "A1": rng.choice(list("ACGT"), n), "A2": "N", "BETA": rng.normal(0, 0.1, n),
                       "SE": rng.uniform(0.01, 0.2, n), "N": 5000})
    df["A2"] = [{"A": "G", "C": "T", "G": "A", "T": "C"}[a] for a in df.A1]
    df.loc[3, "BETA"] = np.nan  # a missing value, dropped as it would be from text
    text = tmp_path / "gwas.tsv"
    df.to_csv(text, sep="\t", index=False, na_rep="NA")
    pq = tmp_path / "gwas.parquet"
    df.to_parquet(pq, index=False)
    from_text, from_pq = read_sumstats(text), read_sumstats(pq)
    pd.testing.assert_frame_equal(from_pq, from_text, check_exact=False, rtol=1e-12)
    assert from_pq.attrs["sumstats"]["counts"] == from_text.attrs["sumstats"]["counts"]
    assert len(from_pq) == n - 1
    assert list(read_text_table(pq, usecols=["SNP", "BP"]).columns) == ["SNP", "BP"]


def test_parse_numbers_fast_path_equals_the_general_path(monkeypatch):
    """Arrow's cast (taken when every cell is a plain number) gives the very values of the general
    path; any NA spelling or padding sends the column to the general path, which treats it as before."""
    from stats.io.sumstats import _plain_numbers, parse_numbers

    plain = ["1", "-0.5", "1e-300", "3.14159265358979323846", "inf", "-inf", "5e-324", "1.7976931348623157e308",
             "+2", ".5", "5.", "0.1", "2.675", "-0.5e-3", "123456789012345678", "1E5", "nan", "NaN"]
    raw = pd.Series(plain, dtype="str", index=np.arange(len(plain)))
    fast = _plain_numbers(raw)
    assert fast is not None
    import stats.io.sumstats as ss

    with monkeypatch.context() as m:
        m.setattr(ss, "_plain_numbers", lambda raw: None)
        general = parse_numbers(raw, path="t", col="Z")
    np.testing.assert_array_equal(fast, general)
    np.testing.assert_array_equal(np.signbit(fast), np.signbit(general))
    # what the cast would read otherwise than the general path goes to the general path
    for cells in (["-0", "1"], ["+nan", "1"], ["nan(123)", "2"]):
        assert _plain_numbers(pd.Series(cells, dtype="str", index=np.arange(2))) is None
    zero = parse_numbers(pd.Series(["-0", "1"], dtype="str", index=np.arange(2)), path="t", col="Z")
    assert zero[0] == 0 and not np.signbit(zero[0])                    # pandas reads integers
    # a negative zero among floats or NaNs keeps its sign in both paths
    for cells in (["-0", "1.5"], ["-0", "NA", "1"], ["1", "-0", "1e3"], ["-0", "nan"], ["-0", "-1", "2.5"]):
        raw0 = pd.Series(cells, dtype="str", index=np.arange(len(cells)))
        with monkeypatch.context() as m:
            m.setattr(ss, "_plain_numbers", lambda raw: None)
            want = parse_numbers(raw0, path="t", col="Z")
        got = parse_numbers(raw0, path="t", col="Z")
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
        assert np.signbit(want[cells.index("-0")])
        if "NA" not in cells:
            assert _plain_numbers(raw0) is not None
    for cells in (["-0", "1"], ["-0", "-1"], ["+0", "-0"]):
        assert _plain_numbers(pd.Series(cells, dtype="str", index=np.arange(2))) is None
    with pytest.raises(ValueError, match="'\\+nan' is not a number"):
        parse_numbers(pd.Series(["+nan", "1"], dtype="str", index=np.arange(2)), path="t", col="Z")
    np.testing.assert_array_equal(parse_numbers(raw, path="t", col="Z"), general)
    assert np.isnan(fast[-2:]).all()
    for odd in (["1", "NA"], ["1", ""], ["1", " 2"], ["1", "."], ["1", "null"]):
        raw = pd.Series(odd, dtype="str", index=np.arange(2))
        assert _plain_numbers(raw) is None
        x = parse_numbers(raw, path="t", col="Z")
        assert x[0] == 1.0 and (np.isnan(x[1]) or x[1] == 2.0)
    with pytest.raises(ValueError, match=r"t, line 3, column 'Z': 'x1' is not a number"):
        parse_numbers(pd.Series(["1", "x1"], dtype="str", index=np.arange(2)), path="t", col="Z")


@pytest.mark.parametrize("text", [
    "SNP\tA1\tZ\nrs1\tA\t1.5\nrs2\t\tNA\nrs3\tG\t.\n",                 # empty field, NA spellings kept as text
    "SNP,A1,Z\r\nrs1,A,1\r\n\"rs,2\",C,-2\r\n",                       # CRLF, a quoted comma
    "SNP\tZ\nrs1\t1\n\nrs2\t2\n\n",                                     # blank lines: counted, dropped
    "SNP\nrs1\n\nrs2\n",                                                # one column with a blank line
    "SNP\tA1\tZ\nrs1\tA\t1\nrs2\tC\n",                                  # a short row
    "SNP\tA1\tZ\n",                                                     # header only
    "SNP\tNOTE\nrs1\tn\u00e9e\nrs2\t\u00fc\n",                            # non-ASCII
])
@pytest.mark.parametrize("compress", ["", ".gz", ".bz2"])
def test_read_text_table_fast_reader_equals_pandas_parser(tmp_path, monkeypatch, text, compress):
    """Arrow's CSV reader (taken when it reads a file cleanly) gives the very table of pandas' parser:
    strings, row numbers, blank lines counted and dropped; anything it cannot read goes to pandas."""
    import stats.io.sumstats as ss

    path = tmp_path / f"t.tsv{compress}"
    data = text.encode()
    import bz2

    path.write_bytes({"": data, ".gz": gzip.compress(data), ".bz2": bz2.compress(data)}[compress])
    fast = read_text_table(path)
    monkeypatch.setattr(ss, "_arrow_table", lambda *a: None)
    slow = read_text_table(path)
    pd.testing.assert_frame_equal(fast, slow)


def test_read_text_table_row_with_extra_fields_names_the_file(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("SNP\tZ\nrs1\t1\nrs2\t2\t3\n")
    with pytest.raises(ValueError, match="bad.tsv: cannot parse as a table"):
        read_text_table(path)


def test_read_text_table_takes_the_fast_reader_for_a_clean_file_only(tmp_path):
    import stats.io.sumstats as ss

    clean, blank, short = tmp_path / "c.tsv.gz", tmp_path / "b.tsv", tmp_path / "s.tsv"
    clean.write_bytes(gzip.compress(b"SNP\tZ\nrs1\t1\nrs2\t\n"))
    blank.write_text("SNP\tZ\nrs1\t1\n\nrs2\t2\n")
    short.write_text("SNP\tZ\nrs1\t1\nrs2\n")
    assert ss._arrow_table(clean, *ss._sniff(clean)) is not None
    assert ss._arrow_table(blank, *ss._sniff(blank)) is not None       # a row of empty fields
    assert read_text_table(blank).index.tolist() == [0, 2]              # dropped, the line count kept
    assert ss._arrow_table(short, *ss._sniff(short)) is None            # pandas decides


def test_read_text_table_stray_quote_is_an_error_not_lost_rows(tmp_path):
    """Arrow's reader takes everything after an unclosed quote into one field; pandas stops with an
    error. The fast reader declines such a file, so the error stands and no row is lost silently."""
    import stats.io.sumstats as ss

    path = tmp_path / "q.tsv.gz"
    rows = "".join(f"rs{i}\t{i}\tok\n" for i in range(50))
    path.write_bytes(gzip.compress(("SNP\tZ\tNOTE\n" + rows + 'rs99\t9\t"weird\n' + rows).encode()))
    assert ss._arrow_table(path, *ss._sniff(path)) is None
    assert ss._arrow_table(path, *ss._sniff(path), ["SNP", "Z"]) is None
    with pytest.raises(ValueError, match="q.tsv.gz: cannot parse as a table"):
        read_text_table(path, usecols=["SNP", "Z"])
    quoted = tmp_path / "h.tsv"
    quoted.write_text('SNP\t"Z\nrs1\t1\n')
    assert ss._arrow_table(quoted, *ss._sniff(quoted)) is None
