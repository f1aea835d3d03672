"""The simulated-world model run: records, a short training, accuracy against observed and truth."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from analyses import sim_model


def test_sim_model_run_on_tiny_world(tiny_world, tmp_path):
    res = sim_model.run(tiny_world, tmp_path / "m", minutes=None, epochs=1)
    table = pd.read_csv(tmp_path / "m" / "accuracy.tsv", sep="\t")
    assert len(table) == 12 and set(table.assay) == {"DNASE", "CAGE"}
    # the truth is aligned with the records: observed coverage is a noisy copy of it
    assert (table.r_observed_truth > 0.3).all()
    assert table[table.assay == "CAGE"].r_observed_truth.min() > 0.9
    summary = json.loads((tmp_path / "m" / "summary.json").read_text())
    assert summary["epochs"] == 1 and summary["test_windows"] == res["arrays"]["pred"].shape[0] > 0
    assert np.isfinite(res["arrays"]["pred"]).all()
    # a second run reuses the records and resumes the finished run instead of retraining
    again = sim_model.run(tiny_world, tmp_path / "m", minutes=None, epochs=1)
    assert len(again["history"]) == 1


def test_truth_targets_match_binned_generative_means(tiny_world, tmp_path):
    """Pool the expected coverage by hand for one CAGE track (sum ** 0.75, basenji's sum_sqrt) and compare."""
    from analyses.world import generative_model
    from genomodel import synthetic as syn
    from genomodel.io import tfrecord

    data_dir = sim_model.make_records(tiny_world, tmp_path / "d", settings={"seq_length": 8192, "pool_width": 128, "crop_bp": 1024, "stride": 6144,
                                            "split_mode": "chrom", "test_chroms": ["chr2"], "test_fraction": 0.0})
    truth = sim_model.truth_targets(tiny_world, data_dir)
    w = tfrecord.read_sequences_bed(data_dir)
    w = w[w.split == "test"].iloc[3]
    g = generative_model(tiny_world)
    cage = syn.expected_tracks(g, {w.chrom: syn.landscape(g, g.sequences[w.chrom])})["CAGE:brain_neuron"][w.chrom]
    by_hand = cage[w.start + 1024:w.end - 1024].reshape(-1, 128).sum(axis=1)
    targets = pd.read_csv(data_dir / "targets.txt", sep="\t")
    j = targets.description.tolist().index("CAGE:brain_neuron")
    np.testing.assert_allclose(truth[3, :, j], np.minimum(by_hand ** 0.75, 384), rtol=2e-3, atol=1e-3)
    # each window evaluated on its own equals every track of the whole chromosome's means, binned the same way
    from genomodel import data

    means = syn.expected_tracks(g, {"chr2": syn.landscape(g, g.sequences["chr2"])})
    readers = [sim_model._ArrayTrack("chr2", 0, means[d]["chr2"]) for d in targets.description]
    cfg = data.DataConfig(seq_length=8192, pool_width=128, crop_bp=1024)
    black = data.interval_dict(data.read_bed(tiny_world / "genome" / "blacklist.bed"), buffer=cfg.blacklist_buffer)
    tw = tfrecord.read_sequences_bed(data_dir)
    tw = tw[tw.split == "test"]
    whole = np.stack([data.window_targets(readers, data.read_targets(data_dir / "targets.txt"), c, s, e, config=cfg,
                                          blacklist=black) for c, s, e in zip(tw.chrom, tw.start, tw.end)])
    np.testing.assert_allclose(truth, whole, rtol=1e-5, atol=1e-6)
