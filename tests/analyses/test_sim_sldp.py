"""SLDP on the simulated world: inputs from the truth, the regression of both traits, table and figure."""
from __future__ import annotations

import json

import pandas as pd

from analyses import sim_sldp


def test_sldp_on_tiny_world_finds_the_planted_direction(tiny_world, tmp_path):
    res = sim_sldp.run(tiny_world, tmp_path / "s", seed=3)
    # "null" is a trait name here, not a missing value
    table = pd.read_csv(tmp_path / "s" / "sldp.gwresults", sep="\t", keep_default_na=False, na_values={"z": ["nan"]})
    assert set(table.pheno) == {"directional", "null"} and table.annot.nunique() == 12
    assert table[["z", "p", "mu", "se(mu)"]].notna().all().all()
    s = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert s == res["summary"]
    # the planted annotation: positive (ALT-vs-REF effects and ALT-allele Z agree in sign) and significant
    assert s["directional_z"] > 0 and s["directional_mu"] > 0 and s["directional_p"] < 0.05
    planted_null = table[(table.pheno == "null") & (table.annot == s["planted_annotation"])].iloc[0]
    assert abs(planted_null.z) < s["directional_z"]
    assert (tmp_path / "s" / "sldp.png").read_bytes()[:4] == b"\x89PNG"
    # inputs are reused on a second run (LD scores and annotations already written)
    stamp = (tmp_path / "s" / "ldscores" / "1.l2.ldscore.gz").stat().st_mtime_ns
    again = sim_sldp.run(tiny_world, tmp_path / "s", seed=3)
    assert (tmp_path / "s" / "ldscores" / "1.l2.ldscore.gz").stat().st_mtime_ns == stamp
    pd.testing.assert_frame_equal(again["table"], res["table"])
