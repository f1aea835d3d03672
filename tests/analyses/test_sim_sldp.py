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
    # the planted annotations: the four largest z, all positive (ALT-vs-REF effects and ALT-allele Z agree in
    # sign), the strongest significant (the tiny world's 10 blocks leave the weakest, a CAGE track, near p 0.06)
    planted = s["planted_annotations"]
    d = table[table.pheno == "directional"].set_index("annot")
    assert len(planted) == 4 and set(d.z.nlargest(4).index) == set(planted) and s["weakest_planted_z"] > 0
    assert s["directional_z"] > 0 and s["directional_mu"] > 0 and s["directional_p"] < 0.05
    # the null trait: no annotation at p < 0.01 (issue 14's criterion; 10 blocks make the sign-flip p coarse)
    assert s["null_min_p"] >= 0.01
    assert (tmp_path / "s" / "sldp.png").read_bytes()[:4] == b"\x89PNG"
    # inputs are reused on a second run (LD scores and annotations already written)
    stamp = (tmp_path / "s" / "ldscores" / "1.l2.ldscore.gz").stat().st_mtime_ns
    again = sim_sldp.run(tiny_world, tmp_path / "s", seed=3)
    assert (tmp_path / "s" / "ldscores" / "1.l2.ldscore.gz").stat().st_mtime_ns == stamp
    pd.testing.assert_frame_equal(again["table"], res["table"])
