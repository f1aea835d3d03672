"""Expression at TSS bins: the bin grid, a model's prediction against window-by-window prediction, and
observed coverage against per-base sums."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genomodel import dna
from genomodel.expression import gene_tss_bins, observed_tss_expression, predict_tss_expression
from genomodel.predict import geometry, predict
from _tiny_model import tiny_params

SIZES = {"chr1": 3000, "chr2": 1500}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from genomodel.io.bigwig import write_bigwig
    from genomodel.io.fasta import write_fasta
    from genomodel.model.seqnn import build_model, save_model

    root = tmp_path_factory.mktemp("expr")
    rng = np.random.default_rng(2)
    codes = {c: rng.integers(0, 4, n).astype(np.uint8) for c, n in SIZES.items()}
    cov = {c: rng.poisson(3.0, n).astype(np.float64) for c, n in SIZES.items()}
    p = tiny_params()
    save_model(build_model(p.model, seed=5), p, root / "model")
    write_bigwig(root / "cov.bw", SIZES, cov)
    # g1: two TSSs in one bin and one far away; g2 near a chromosome start; g3 on chr2 near its end
    tss = pd.DataFrame({"gene_id": ["g1", "g1", "g1", "g2", "g3", "g3"],
                        "chrom": ["chr1", "chr1", "chr1", "chr1", "chr2", "chr2"],
                        "tss": [1500, 1502, 2900, 20, 1490, 1430]})
    return {"root": root, "fasta": write_fasta(root / "g.fa", codes), "codes": codes, "cov": cov,
            "bw": root / "cov.bw", "tss": tss, "model": root / "model"}


def test_bins_follow_the_window_centred_on_the_first_tss(world):
    windows, bins = gene_tss_bins(world["tss"], pool_width=8, seq_length=256, crop_bp=16, n_bins=28)
    assert windows.gene_id.tolist() == ["g2", "g1", "g3"]  # by chromosome and first TSS
    assert windows.set_index("gene_id").start.to_dict() == {"g2": 20 - 128, "g1": 1500 - 128, "g3": 1430 - 128}
    g1 = bins[bins.gene_id == "g1"]
    # 1500 and 1502 share bin (1500 - 1372 - 16) // 8 = 14; 2900 is outside the 28 bins
    assert g1.bin.tolist() == [14] and g1.n_tss.tolist() == [2] and g1.start.tolist() == [1500]
    g3 = bins[bins.gene_id == "g3"]
    assert g3.bin.tolist() == [14, 21] and (g3.end - g3.start == 8).all()
    _, unbounded = gene_tss_bins(world["tss"], pool_width=8)
    assert sorted(unbounded[unbounded.gene_id == "g1"].start) == [1500, 2900]  # grid from the first TSS


def test_prediction_equals_window_by_window(world):
    from genomodel.model.seqnn import load_head

    head = load_head(world["model"])
    got = predict_tss_expression(head, world["fasta"], world["tss"], targets=[2, 0], chunk_size=2)
    assert got.columns.tolist() == [head.target_ids[2], head.target_ids[0]]
    model = head.model
    pool, crop = geometry(model)
    n_bins, seq = int(model.output.shape[1]), int(model.input.shape[1])
    for gene, rows in world["tss"].groupby("gene_id"):
        t0 = int(rows.tss.min())
        codes = np.full(seq, dna.N_CODE, np.uint8)
        lo = t0 - seq // 2
        src = world["codes"][rows.chrom.iat[0]]
        a, b = max(lo, 0), min(lo + seq, len(src))
        codes[a - lo:b - lo] = src[a:b]
        pred = predict(model, dna.one_hot(codes[None], dtype=np.float32))[0]
        bins = {(t - lo - crop) // pool for t in rows.tss}
        want = sum(pred[b][[2, 0]] for b in bins if 0 <= b < n_bins)
        np.testing.assert_allclose(got.loc[gene].to_numpy(), want, rtol=1e-5)


def test_observed_sums_coverage_over_the_same_bins(world):
    _, bins = gene_tss_bins(world["tss"], pool_width=8, seq_length=256, crop_bp=16, n_bins=28)
    got = observed_tss_expression({"a": world["bw"], "b": world["bw"]}, bins)
    assert got.columns.tolist() == ["a", "b"] and got.index.tolist() == ["g2", "g1", "g3"]
    for gene, b in bins.groupby("gene_id"):
        c = world["cov"][b.chrom.iat[0]]
        want = sum(c[max(s, 0):min(e, len(c))].sum() for s, e in zip(b.start, b.end))
        assert got.loc[gene, "a"] == pytest.approx(want) and got.loc[gene, "b"] == pytest.approx(want)
    # bins past the chromosome ends read as 0
    edge = pd.DataFrame({"gene_id": ["x"], "chrom": ["chr2"], "start": [1496], "end": [1504]})
    got = observed_tss_expression({"a": world["bw"]}, edge).loc["x", "a"]
    assert got == pytest.approx(world["cov"]["chr2"][1496:].sum())
