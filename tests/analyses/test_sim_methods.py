"""Clusters, classifier, case-control and PICS on the tiny world, each against what was planted."""
from __future__ import annotations

import json

from analyses import sim_methods


def test_methods_recover_the_planted_signals(tiny_world, tmp_path):
    s = sim_methods.run(tiny_world, tmp_path, seed=0)
    assert json.loads((tmp_path / "summary.json").read_text()) == s
    c = s["clusters"]
    assert c["noisy_ari"] > 0.5 and c["noisy_ari"] > c["shuffled_ari"] + 0.3 and abs(c["shuffled_ari"]) < 0.15
    k = s["classifier"]
    assert k["auroc"] > 0.7 and k["p_permutation"] <= 0.05 and abs(k["auroc_permuted_labels"] - 0.5) < 0.15
    cc = s["casecontrol"]
    assert cc["brain_tracks_negative_p_less_0.05"] == cc["brain_tracks"] > 0
    assert cc["family_share_case_worse"] > 0.5 and cc["family_p"] < 0.05
    assert s["pics"]["causal_in_95_set"] and s["pics"]["credible_set_size"] < s["pics"]["locus_snps"]
    for png in ("clusters_heatmap", "classifier_roc", "casecontrol_volcano"):
        assert (tmp_path / f"{png}.png").read_bytes()[:4] == b"\x89PNG"
