"""Variant scores against the simulated world's planted effects: the agreement statistics and a small run."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analyses import sim_model, sim_variants


def test_agreement_row_uses_nonzero_truth_and_the_strongest_share():
    truth = np.array([0.0, 0.0, 5.0, -4.0, 3.0, -2.0, 1.0, 0.5, -0.25, 0.1, 0.0, 8.0])
    same = sim_variants.agreement_row(truth * 2.0 + 1e-9, truth, strong_share=0.5)
    assert same["n_nonzero"] == 9 and same["n_strong"] == 5
    assert same["rho_nonzero"] == pytest.approx(1.0) and same["sign_agreement_strong"] == 1.0
    flipped = sim_variants.agreement_row(-truth, truth, strong_share=0.5)
    assert flipped["rho_nonzero"] == pytest.approx(-1.0) and flipped["sign_agreement_strong"] == 0.0
    # scores at zero-truth variants do not count: wild values there change nothing
    noisy = truth * 2.0
    noisy[truth == 0] = [100.0, -100.0, 50.0]
    assert sim_variants.agreement_row(noisy, truth)["rho_nonzero"] == pytest.approx(1.0)
    # the strong subset is the largest |truth|: a score right only there is perfect there
    s = np.where(np.abs(truth) >= 4, truth, -truth)
    r = sim_variants.agreement_row(s, truth, strong_share=0.34)
    assert r["n_strong"] == 4 and r["rho_strong"] == pytest.approx(1.0) and r["rho_nonzero"] < 0.5


@pytest.fixture(scope="module")
def tiny_records(tiny_world, tmp_path_factory):
    return sim_model.make_records(tiny_world, tmp_path_factory.mktemp("rec") / "d",
                                  settings={"seq_length": 8192, "pool_width": 128, "crop_bp": 1024, "stride": 6144,
                                            "split_mode": "chrom", "test_chroms": ["chr2"], "test_fraction": 0.0})


def test_compare_recovers_planted_effects_given_the_truth_as_scores(tiny_world, tiny_records):
    """Scores equal to the planted effects give rho 1 on every track; the table lines up tracks and pairs."""
    from genomodel.data import read_targets
    from genomodel.variants import VariantScores

    targets = read_targets(tiny_records / "targets.txt")
    truth = pd.read_csv(tiny_world / "truth" / "snp_track_effects.tsv.gz", sep="\t")
    truth = truth[truth.chrom == sim_variants.held_out_chroms(tiny_records)[0]].reset_index(drop=True)
    gene = pd.read_csv(tiny_world / "truth" / "snp_gene_effects.tsv.gz", sep="\t")
    gene = gene[gene.snp.isin(truth.snp)].reset_index(drop=True)
    sad = truth[targets.description].to_numpy(np.float32)
    sed = pd.DataFrame({"variant": pd.Index(truth.snp).get_indexer(gene.snp), "gene_id": gene.gene_id,
                        "n_tss_bins": 1})
    for j, d in enumerate(targets.description):
        sed[f"t{j}"] = gene[d.split(":", 1)[1]].to_numpy() if d.startswith("CAGE") else 0.0
    scores = VariantScores(variants=truth[["snp", "chrom", "pos", "ref", "alt"]], stats={"SAD": sad}, sed=sed)
    sad_t, sed_t = sim_variants.compare(tiny_world, scores, targets)
    assert len(sad_t) == 12 and len(sed_t) == 6 and (sed_t.pairs_scored == len(gene)).all()
    np.testing.assert_allclose(sad_t.rho_nonzero, 1.0, atol=1e-6)
    np.testing.assert_allclose(sed_t.rho_nonzero, 1.0, atol=1e-6)
    assert (sad_t.n_nonzero > 50).all()


def test_run_with_a_model_writes_tables_and_summary(tiny_world, tiny_records, tmp_path):
    from genomodel.config import read_params
    from genomodel.model.seqnn import build_model, save_model

    p = read_params("sim_small")
    save_model(build_model(p.model, seed=3), p, tmp_path / "model")
    res = sim_variants.run(tiny_world, tmp_path / "model", tiny_records, tmp_path / "out", max_snps=12)
    assert len(res["scores"].variants) == 12 and set(res["scores"].variants.chrom) == {"chr2"}
    table = pd.read_csv(tmp_path / "out" / "sad_agreement.tsv", sep="\t")
    assert len(table) == 12 and table.n_nonzero.max() <= 12
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["chroms"] == ["chr2"] and set(summary["sad_by_assay"]) == {"CAGE", "DNASE"}
    assert np.isfinite(res["scores"].stats["SAD"]).all()
