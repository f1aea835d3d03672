"""``genostats munge`` against an obvious, row-by-row munging of a raw table built here."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from stats import cli


@pytest.fixture()
def raw(tmp_path):
    rng = np.random.default_rng(3)
    n = 200
    a1 = rng.choice(list("ACGT"), n)
    a2 = np.array([rng.choice([b for b in "ACGT" if b != a]) for a in a1])
    t = pd.DataFrame({"MarkerName": [f"rs{i}" for i in range(n)], "Allele1": np.char.lower(a1.astype(str)),
                      "Allele2": a2, "Effect": rng.normal(0, 0.05, n), "StdErr": rng.uniform(0.01, 0.05, n),
                      "P-value": rng.uniform(0, 1, n), "TotalN": rng.integers(9000, 11000, n),
                      "FRQ": rng.uniform(0, 1, n), "INFO": rng.uniform(0.7, 1.0, n)})
    path = tmp_path / "raw.txt.gz"
    with gzip.open(path, "wt") as fh:
        t.to_csv(fh, sep=" ", index=False)
    # a SNP list: most SNPs, in another order; some alleles swapped, some on the other strand, one wrong
    comp = {"A": "T", "C": "G", "G": "C", "T": "A"}
    lst = pd.DataFrame({"SNP": t.MarkerName, "A1": a1, "A2": a2}).iloc[:180].sample(frac=1, random_state=1)
    lst = lst.reset_index(drop=True)
    lst.loc[0:20, ["A1", "A2"]] = lst.loc[0:20, ["A2", "A1"]].to_numpy()
    lst.loc[21:40, "A1"] = [comp[b] for b in lst.loc[21:40, "A1"]]
    lst.loc[21:40, "A2"] = [comp[b] for b in lst.loc[21:40, "A2"]]
    bad = lst.loc[41, "SNP"]
    lst.loc[41, "A2"] = next(b for b in "ACGT" if b not in (lst.loc[41, "A1"], lst.loc[41, "A2"],
                                                            comp[lst.loc[41, "A1"]]))
    lst_path = tmp_path / "w_hm3.snplist"
    lst.to_csv(lst_path, sep="\t", index=False)
    return t, path, lst, lst_path, bad


def test_munge_equals_the_obvious_row_by_row_result(raw, tmp_path):
    t, path, lst, lst_path, bad = raw
    out = tmp_path / "trait.sumstats.gz"
    assert cli.main(["munge", "--sumstats", str(path), "--merge-alleles", str(lst_path), "--out", str(out)]) == 0
    got = pd.read_csv(out, sep="\t")
    want = []
    by_id = t.set_index("MarkerName")
    for s in lst.itertuples():  # the list's order
        r = by_id.loc[s.SNP]
        if r.INFO < 0.9 or min(r.FRQ, 1 - r.FRQ) <= 0.01 or s.SNP == bad:
            continue
        want.append((s.SNP, r.Allele1.upper(), r.Allele2, float(r.TotalN), r.Effect / r.StdErr))
    want = pd.DataFrame(want, columns=["SNP", "A1", "A2", "N", "Z"])
    assert got.SNP.tolist() == want.SNP.tolist() and got.A1.tolist() == want.A1.tolist()
    np.testing.assert_allclose(got.Z, want.Z, rtol=1e-12)
    np.testing.assert_array_equal(got.N, want.N)
    prov = json.loads((tmp_path / "trait.sumstats.gz.provenance.json").read_text())
    c = prov["counts"]
    assert c["read"] == 200 and c["not_in_snplist"] + c["alleles_not_matching_snplist"] + c["written"] == 200 - (
        c["info_below_min"] + c["maf_at_or_below_min"]) and c["alleles_not_matching_snplist"] == 1
    assert c["info_below_min"] == int((t.INFO < 0.9).sum())


def test_munge_options_and_errors(raw, tmp_path, caplog):
    t, path, lst, lst_path, _ = raw
    plain = tmp_path / "plain.tsv"
    t.drop(columns=["TotalN"]).rename(columns={"Effect": "weird"}).to_csv(plain, sep="\t", index=False)
    out = tmp_path / "o.sumstats.gz"
    assert cli.main(["munge", "--sumstats", str(plain), "--out", str(out)]) == 2  # no N, no signed column
    assert not out.exists()
    assert cli.main(["munge", "--sumstats", str(plain), "--N", "5000", "--beta", "weird", "--no-info-filter",
                     "--no-maf-filter", "--out", str(out)]) == 0
    got = pd.read_csv(out, sep="\t")
    assert len(got) == 200 and (got.N == 5000).all()
    np.testing.assert_allclose(got.Z, t.Effect / t.StdErr, rtol=1e-12)
    other = tmp_path / "other.snplist"
    other.write_text("SNP A1 A2\nrsX A G\n")
    assert cli.main(["munge", "--sumstats", str(path), "--merge-alleles", str(other),
                     "--out", str(tmp_path / "x.sumstats.gz")]) == 2
    assert "no SNP left after merging alleles" in caplog.text
