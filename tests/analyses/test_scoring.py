"""The world's scores as genomodel writes them: the planted truth, a model's, and the held-out mask."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analyses import scoring
from genocore.scores import read_sad_h5, read_sed


def test_truth_file_holds_the_planted_effects(tiny_world, world_truth_scores):
    s = read_sad_h5(world_truth_scores)
    eff = pd.read_csv(tiny_world / "truth" / "snp_track_effects.tsv.gz", sep="\t")
    targets = scoring.world_targets(tiny_world)
    assert s.target_labels == list(targets.description) and s.variants.snp.tolist() == eff.snp.tolist()
    np.testing.assert_allclose(s.stats["SAD"], eff[list(targets.description)].to_numpy(), rtol=1e-6, atol=1e-30)
    sed = read_sed(world_truth_scores)
    genes = pd.read_csv(tiny_world / "truth" / "snp_gene_effects.tsv.gz", sep="\t")
    assert len(sed) == len(genes)
    cage = targets.identifier[targets.description == "CAGE:immune_tcell"].iat[0]
    np.testing.assert_allclose(sed[f"SED_{cage}"].to_numpy(), genes.immune_tcell.to_numpy(), rtol=1e-6)
    dnase = targets.identifier[targets.description.str.startswith("DNASE")].iat[0]
    assert (sed[f"SED_{dnase}"] == 0).all()


def test_model_scores_every_world_snp(tiny_world, world_model_scores):
    s = read_sad_h5(world_model_scores)
    assert len(s.variants) == len(scoring.world_variants(tiny_world)) and s.sed is not None
    assert s.target_labels == list(scoring.world_targets(tiny_world).description)
    assert np.isfinite(s.stats["SAD"]).all()


def test_training_mask(tmp_path):
    (tmp_path / "sequences.bed").write_text("chr1\t100\t200\ttrain\nchr1\t150\t300\ttrain\nchr1\t400\t500\tvalid\n"
                                            "chr2\t0\t50\ttest\n")
    v = pd.DataFrame({"chrom": ["chr1"] * 5 + ["chr2"], "pos": [100, 101, 300, 301, 450, 10]})
    assert scoring.training_mask(tmp_path, v).tolist() == [False, True, True, False, False, False]
