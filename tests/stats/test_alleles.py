import itertools
import logging

import numpy as np
import pandas as pd
import pytest

from stats.alleles import (CATEGORIES, align_to_reference, encode_alleles, is_snp, is_strand_ambiguous,
                           match_alleles)

# Every ordered SNP allele pair of two different bases.
PAIRS = ["AC", "AG", "AT", "CA", "CG", "CT", "GA", "GC", "GT", "TA", "TC", "TG"]

# Written out by hand (complement: A<->T, C<->G). Row = query (a1 a2), column = reference (r1 r2).
# M match, S swap, F strand flip, X strand flip + swap, A strand-ambiguous, - mismatch.
EXPECTED = """
      AC AG AT CA CG CT GA GC GT TA TC TG
  AC   M  -  -  S  -  -  -  -  X  -  -  F
  AG   -  M  -  -  -  X  S  -  -  -  F  -
  AT   -  -  A  -  -  -  -  -  -  A  -  -
  CA   S  -  -  M  -  -  -  -  F  -  -  X
  CG   -  -  -  -  A  -  -  A  -  -  -  -
  CT   -  X  -  -  -  M  F  -  -  -  S  -
  GA   -  S  -  -  -  F  M  -  -  -  X  -
  GC   -  -  -  -  A  -  -  A  -  -  -  -
  GT   X  -  -  F  -  -  -  -  M  -  -  S
  TA   -  -  A  -  -  -  -  -  -  A  -  -
  TC   -  F  -  -  -  S  X  -  -  -  M  -
  TG   F  -  -  X  -  -  -  -  S  -  -  M
"""
LETTER = {"M": "match", "S": "swap", "F": "strand_flip", "X": "strand_flip_swap", "A": "ambiguous",
          "-": "mismatch"}
SIGN = {"M": 1, "S": -1, "F": 1, "X": -1, "A": 0, "-": 0}


def _expected_table():
    lines = [ln.split() for ln in EXPECTED.strip().splitlines()]
    assert lines[0] == PAIRS
    table = {}
    for row in lines[1:]:
        q, entries = row[0], row[1:]
        assert len(entries) == 12
        for r, e in zip(PAIRS, entries):
            table[q, r] = e
    assert len(table) == 144
    return table


def _all_pairs():
    combos = list(itertools.product(PAIRS, PAIRS))
    q = [c[0] for c in combos]
    r = [c[1] for c in combos]
    return combos, [p[0] for p in q], [p[1] for p in q], [p[0] for p in r], [p[1] for p in r]


def test_all_144_snp_pairs_against_the_written_table():
    table = _expected_table()
    combos, a1, a2, r1, r2 = _all_pairs()
    m = match_alleles(a1, a2, r1, r2)
    for k, (q, r) in enumerate(combos):
        e = table[q, r]
        assert m.category[k] == LETTER[e], (q, r)
        assert m.sign[k] == SIGN[e], (q, r)
    counts = m.counts()
    letters = list(table.values())
    # 8 non-ambiguous pairs match themselves, swap their reverse, flip and flip-swap one pair each;
    # each of the 4 ambiguous pairs is ambiguous with itself and its reverse; the rest is mismatch
    assert counts["match"] == letters.count("M") == 8
    assert counts["swap"] == letters.count("S") == 8
    assert counts["strand_flip"] == letters.count("F") == 8
    assert counts["strand_flip_swap"] == letters.count("X") == 8
    assert counts["ambiguous"] == letters.count("A") == 8
    assert counts["mismatch"] == letters.count("-") == 144 - 40
    assert counts["invalid"] == 0


def test_ambiguous_assume_forward_and_no_strand_flips():
    table = _expected_table()
    combos, a1, a2, r1, r2 = _all_pairs()
    fwd = match_alleles(a1, a2, r1, r2, ambiguous="assume_forward")
    nof = match_alleles(a1, a2, r1, r2, strand_flip=False)
    for k, (q, r) in enumerate(combos):
        e = table[q, r]
        if e == "A":
            assert fwd.category[k] == "ambiguous"
            assert fwd.sign[k] == (1 if q == r else -1), (q, r)
        else:
            assert fwd.sign[k] == SIGN[e]
        assert nof.sign[k] == (0 if e in "FX" else SIGN[e]), (q, r)
        assert nof.category[k] == LETTER[e]


def test_same_base_and_non_snp_alleles_are_invalid():
    bases = "ACGT"
    same = [b + b for b in bases]
    a1, a2, r1, r2 = [], [], [], []
    for q in same:
        for r in PAIRS + same:
            for x, y in ((q, r), (r, q)):
                a1.append(x[0]), a2.append(x[1]), r1.append(y[0]), r2.append(y[1])
    m = match_alleles(a1, a2, r1, r2)
    assert set(m.category) == {"invalid"}
    assert not m.sign.any()
    weird = ["AT", "-", "0", "I", "D", "N", "", None, np.nan, "1", "<DEL>"]
    m = match_alleles(weird, ["C"] * len(weird), ["A"] * len(weird), ["C"] * len(weird))
    assert set(m.category) == {"invalid"}


def test_case_whitespace_and_series_input():
    m = match_alleles(pd.Series(["a", " c", "g"]), pd.Series(["c ", "A", "t"]), np.array(["A", "A", "C"]),
                      ["C", "C", "A"])
    assert list(m.category) == ["match", "swap", "strand_flip"]
    assert list(m.sign) == [1, -1, 1]
    assert m.sign.dtype == np.int8


def test_encode_and_helpers():
    assert list(encode_alleles(["A", "c", "G", "t", "AT", None])) == [0, 1, 2, 3, 4, 4]
    assert list(is_snp(["A", "A", "AT", "C"], ["C", "A", "A", "G"])) == [True, False, False, True]
    assert list(is_strand_ambiguous(["A", "C", "A", "T"], ["T", "G", "G", "A"])) == [True, True, False, True]


def test_bad_arguments():
    with pytest.raises(ValueError, match="length"):
        match_alleles(["A"], ["C", "G"], ["A"], ["C"])
    with pytest.raises(ValueError, match="ambiguous"):
        match_alleles(["A"], ["C"], ["A"], ["C"], ambiguous="keep")


# -- alignment ---------------------------------------------------------------------------------------

@pytest.fixture
def ref_and_table():
    ref = pd.DataFrame({"snp": ["r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"],
                        "a1": ["A", "A", "A", "A", "A", "A", "C", "A"],
                        "a2": ["G", "G", "G", "C", "T", "G", "G", "G"]})
    table = pd.DataFrame({"SNP": ["r1", "r2", "r3", "r4", "r5", "r6", "r7", "x9"],
                          "A1": ["A", "G", "T", "G", "A", "A", "C", "A"],
                          "A2": ["G", "A", "C", "T", "T", "C", "G", "G"],
                          "Z": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
                          "N": [10.0, 20, 30, 40, 50, 60, 70, 80]})
    return ref, table


def test_align_to_reference(ref_and_table, caplog):
    ref, table = ref_and_table
    with caplog.at_level(logging.INFO, logger="stats.alleles"):
        al = align_to_reference(table, ref, signed=["Z"], unsigned=["N"], ref_snp="snp", ref_a1="a1",
                                ref_a2="a2", what="sumstats", ref_what="panel")
    assert list(al.category) == ["match", "swap", "strand_flip", "strand_flip_swap", "ambiguous", "mismatch",
                                 "ambiguous", "missing"]
    assert list(al.sign) == [1, -1, 1, -1, 0, 0, 0, 0]
    np.testing.assert_array_equal(al.values["Z"].to_numpy(), [1, -2, 3, -4, np.nan, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(al.values["N"].to_numpy(), [10, 20, 30, 40, np.nan, np.nan, np.nan, np.nan])
    assert list(al.table_row) == [0, 1, 2, 3, 4, 5, 6, -1]
    assert list(al.kept) == [True] * 4 + [False] * 4
    c = al.counts
    assert (c["reference"], c["table"], c["common"], c["kept"], c["flipped"]) == (8, 8, 7, 4, 2)
    assert (c["ambiguous"], c["mismatch"], c["missing"], c["not_in_reference"], c["dropped"]) == (2, 1, 1, 1, 3)
    assert "4 of 8 panel SNPs kept" in caplog.text
    assert "2 strand-ambiguous dropped" in caplog.text


def test_align_keeps_reference_order_and_index(ref_and_table):
    ref, table = ref_and_table
    ref = ref.iloc[::-1].set_index(pd.Index(list("abcdefgh")))
    al = align_to_reference(table.sample(frac=1, random_state=0), ref, signed=["Z"], ref_snp="snp",
                            ref_a1="a1", ref_a2="a2")
    assert list(al.values.index) == list("abcdefgh")
    assert al.values["Z"].iloc[-1] == 1.0 and al.values["Z"].iloc[-2] == -2.0


def test_align_flipping_the_table_negates_signed_values(ref_and_table):
    ref, table = ref_and_table
    flipped = table.rename(columns={"A1": "A2", "A2": "A1"}).assign(Z=-table.Z)
    kw = dict(signed=["Z"], ref_snp="snp", ref_a1="a1", ref_a2="a2")
    a, b = align_to_reference(table, ref, **kw), align_to_reference(flipped, ref, **kw)
    np.testing.assert_array_equal(a.values["Z"].to_numpy(), b.values["Z"].to_numpy())


def test_align_errors(ref_and_table):
    ref, table = ref_and_table
    kw = dict(signed=["Z"], ref_snp="snp", ref_a1="a1", ref_a2="a2")
    with pytest.raises(KeyError, match="BETA"):
        align_to_reference(table, ref, signed=["BETA"], ref_snp="snp", ref_a1="a1", ref_a2="a2")
    with pytest.raises(KeyError, match="column 'a1'"):
        align_to_reference(table, ref.drop(columns="a1"), **kw)
    dup = pd.concat([table, table.iloc[[0]]])
    with pytest.raises(ValueError, match="table has 1 duplicated SNP IDs.*r1"):
        align_to_reference(dup, ref, **kw)
    with pytest.raises(ValueError, match="reference has 1 duplicated"):
        align_to_reference(table, pd.concat([ref, ref.iloc[[2]]]), **kw)
    with pytest.raises(ValueError, match="twice"):
        align_to_reference(table, ref, signed=["Z"], unsigned=["Z"], ref_snp="snp", ref_a1="a1", ref_a2="a2")


def test_align_missing_ids_never_match():
    ref = pd.DataFrame({"SNP": ["a", None], "A1": ["A", "A"], "A2": ["C", "C"]})
    table = pd.DataFrame({"SNP": [None, "a"], "A1": ["A", "A"], "A2": ["C", "C"], "Z": [5.0, 1.0]})
    al = align_to_reference(table, ref, signed=["Z"])
    assert list(al.category) == ["match", "missing"]
    assert al.values["Z"].iloc[0] == 1.0


def test_categories_constant():
    assert CATEGORIES == ("match", "swap", "strand_flip", "strand_flip_swap", "ambiguous", "mismatch", "invalid")


def test_match_by_position_orients_and_drops():
    from stats.alleles import match_by_position

    panel = pd.DataFrame({"chrom": ["1", "1", "1", "2", "2"], "snp": ["rs1", "rs2", "rs3", "rs4", "rs5"],
                          "pos": [100, 200, 300, 100, 500], "a1": ["A", "C", "A", "G", "C"],
                          "a2": ["G", "T", "T", "A", "A"]})
    table = pd.DataFrame({"chrom": ["chr1", "chr1", "chr1", "chr2", "chr2", "chr1"],
                          "pos": [100, 200, 300, 100, 999, 200],
                          "ref": ["G", "C", "A", "C", "A", "G"], "alt": ["A", "T", "T", "T", "C", "T"],
                          "snp": ["x1", "x2", "x3", "x4", "x5", "x6"], "v": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    out = match_by_position(table, panel, signed=["v"])
    # x1 matches; x2 is swapped (alt T = panel a2); x3 is A/T (ambiguous, dropped); x4 G/A panel vs C/T
    # query is a strand flip swap; x5 has no panel SNP; x6 G/T at a C/T SNP mismatches
    assert out.snp.tolist() == ["x1", "x2", "x4"]
    assert out.SNP.tolist() == ["rs1", "rs2", "rs4"]
    assert out.allele_sign.tolist() == [1, -1, -1]
    assert out.v.tolist() == [1.0, -2.0, -4.0]


def test_match_by_position_names_the_build_when_nothing_matches():
    from stats.alleles import match_by_position

    panel = pd.DataFrame({"chrom": ["1"], "snp": ["rs1"], "pos": [100], "a1": ["A"], "a2": ["G"]})
    table = pd.DataFrame({"chrom": ["1"], "pos": [101], "ref": ["G"], "alt": ["A"]})
    with pytest.raises(ValueError, match="sed.tsv: none of its 1 rows .* same genome build"):
        match_by_position(table, panel, what="sed.tsv")


@pytest.mark.parametrize("dtype", ["str", object])
def test_table_rows_equal_a_dictionary_lookup(dtype):
    """Arrow's hash lookup against the obvious one, with missing IDs on both sides and IDs the other
    side lacks, for Arrow-backed and object strings."""
    from stats.alleles import _table_rows

    rng = np.random.default_rng(6)
    pool = np.array([f"rs{i}" for i in range(400)], dtype=object)
    t = rng.permutation(pool)[:250].astype(object)
    t[rng.random(250) < 0.1] = None
    r = rng.choice(pool, 300, replace=False).astype(object)
    r[rng.random(300) < 0.1] = None
    table_row, t_ok = _table_rows(pd.Series(t, dtype=dtype), pd.Series(r, dtype=dtype))
    where = {v: i for i, v in enumerate(t) if v is not None}
    np.testing.assert_array_equal(table_row, [where.get(v, -1) if v is not None else -1 for v in r])
    np.testing.assert_array_equal(t_ok, [v is not None for v in t])
