"""Evaluation metrics, each checked against scipy / scikit-learn or a slow, obvious loop."""
import json
import logging
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from sklearn.metrics import average_precision_score, r2_score

from genomodel import evaluate as ev


def _coverage(rng, shape, *, offset=0.0):
    """Positive, skewed, coverage-like values with a correlated prediction."""
    target = rng.gamma(0.5, 4.0, size=shape)
    pred = 0.7 * target + rng.gamma(1.0, 1.0, size=shape)
    return pred + offset, target + offset


# ---------------------------------------------------------------------------------------------- tracks


def _reference_track_metrics(pred, target):
    p = pred.reshape(-1, pred.shape[-1])
    t = target.reshape(-1, target.shape[-1])
    lp, lt = np.log2(p + 1), np.log2(t + 1)
    return {
        "pearson_r": [scipy.stats.pearsonr(p[:, j], t[:, j])[0] for j in range(p.shape[1])],
        "r2": r2_score(t, p, multioutput="raw_values"),
        "pearson_r_log": [scipy.stats.pearsonr(lp[:, j], lt[:, j])[0] for j in range(p.shape[1])],
        "r2_log": r2_score(lt, lp, multioutput="raw_values"),
    }


@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_track_metrics_match_scipy_and_sklearn(offset):
    # A large offset checks that the streaming sums do not cancel catastrophically.
    rng = np.random.default_rng(0)
    pred, target = _coverage(rng, (23, 16, 5), offset=offset)
    got = ev.track_metrics(pred, target, batch_windows=4)
    ref = _reference_track_metrics(pred, target)
    for col, expect in ref.items():
        np.testing.assert_allclose(got[col], expect, rtol=0, atol=1e-10, err_msg=col)
    assert (got["n_bins"] == 23 * 16).all()
    assert got["identifier"].tolist() == ["0", "1", "2", "3", "4"]


def test_window_bootstrap_r_equals_track_metrics_on_each_resample():
    rng = np.random.default_rng(3)
    pred_a, target = _coverage(rng, (7, 12, 3))
    pred_b = target + rng.normal(0, 2.0, size=target.shape)
    target[2, :, 1] = 0.0  # a window with no signal in one track
    boot = ev.window_bootstrap_r([pred_a, pred_b], target, n_bootstrap=25, seed=5)
    assert boot["raw"].shape == boot["log"].shape == (2, 25, 3)
    assert (boot["counts"].sum(1) == 7).all()
    for b in range(25):
        idx = np.repeat(np.arange(7), boot["counts"][b])  # the resampled windows, slowly
        for i, pred in enumerate((pred_a, pred_b)):
            ref = ev.track_metrics(pred[idx], target[idx])
            np.testing.assert_allclose(boot["raw"][i, b], ref.pearson_r, rtol=0, atol=1e-10)
            np.testing.assert_allclose(boot["log"][i, b], ref.pearson_r_log, rtol=0, atol=1e-10)
    # same seed, same resamples: paired across calls; another seed differs
    again = ev.window_bootstrap_r([pred_b], target, n_bootstrap=25, seed=5)
    np.testing.assert_array_equal(again["raw"][0], boot["raw"][1])
    assert not np.array_equal(ev.window_bootstrap_r([pred_b], target, n_bootstrap=25, seed=6)["counts"],
                              boot["counts"])


def test_window_bootstrap_r_constant_resample_is_nan_and_shapes_checked():
    target = np.zeros((3, 4, 1))
    target[0, :, 0] = [1.0, 2.0, 0.0, 5.0]
    pred = target + 0.5
    boot = ev.window_bootstrap_r([pred], target, n_bootstrap=200, seed=0)
    only_flat = ~(boot["counts"][:, 0] > 0)
    assert only_flat.any() and np.isnan(boot["raw"][0, only_flat, 0]).all()
    np.testing.assert_allclose(boot["raw"][0, ~only_flat, 0], 1.0)
    with pytest.raises(ValueError, match="prediction 0 has shape"):
        ev.window_bootstrap_r([pred[:2]], target)


def test_accumulator_batches_and_merge_equal_one_shot():
    rng = np.random.default_rng(1)
    pred, target = _coverage(rng, (20, 8, 3))
    whole = ev.TrackAccumulator(3).update(pred, target).result()
    uneven = ev.TrackAccumulator(3)
    for a, b in [(0, 1), (1, 8), (8, 8), (8, 20)]:  # includes an empty batch
        uneven.update(pred[a:b], target[a:b])
    left = ev.TrackAccumulator(3).update(pred[:7], target[:7])
    right = ev.TrackAccumulator(3).update(pred[7:], target[7:])
    merged = left.merge(right).result()
    cols = ["pearson_r", "r2", "pearson_r_log", "r2_log"]
    for other in (uneven.result(), merged):
        np.testing.assert_allclose(other[cols], whole[cols], rtol=0, atol=1e-12)
    assert merged["n_bins"].iloc[0] == 160


def test_float16_targets_and_negative_predictions_are_accepted():
    rng = np.random.default_rng(2)
    pred, target = _coverage(rng, (6, 10, 2))
    pred[0, 0, 0] = -0.3  # a linear head can predict below zero; log2(x + 1) clips it at 0
    got = ev.track_metrics(pred, target.astype(np.float16))
    lp, lt = np.log2(np.maximum(pred, 0) + 1), np.log2(target.astype(np.float16).astype(float) + 1)
    expect = scipy.stats.pearsonr(lp[..., 0].ravel(), lt[..., 0].ravel())[0]
    assert got["pearson_r_log"].iloc[0] == pytest.approx(expect, abs=1e-10)
    assert np.isfinite(got[["pearson_r", "r2", "pearson_r_log", "r2_log"]].to_numpy()).all()


def test_constant_tracks_give_nan_without_crashing(caplog):
    rng = np.random.default_rng(3)
    pred, target = _coverage(rng, (5, 7, 3))
    target[..., 0] = 0.1  # constant target: R and R^2 undefined (0.1 is not exact in binary)
    pred[..., 1] = 2.0  # constant prediction: R undefined, R^2 defined
    with caplog.at_level(logging.WARNING, logger="genomodel.evaluate"):
        got = ev.track_metrics(pred, target, batch_windows=2)
    assert np.isnan(got.loc[0, ["pearson_r", "r2", "pearson_r_log", "r2_log"]].astype(float)).all()
    assert np.isnan(got.loc[1, "pearson_r"]) and np.isnan(got.loc[1, "pearson_r_log"])
    assert got.loc[1, "r2"] == pytest.approx(r2_score(target[..., 1].ravel(), pred[..., 1].ravel()), abs=1e-10)
    assert np.isfinite(got.loc[2, "pearson_r"])
    assert "constant" in caplog.text


def test_descriptions_give_assay_and_shape_errors():
    rng = np.random.default_rng(4)
    pred, target = _coverage(rng, (3, 4, 3))
    got = ev.track_metrics(pred, target, target_ids=["a", "b", "c"],
                           descriptions=["CAGE:liver", "DNASE:K562 treated", "plain"])
    assert got["assay"].tolist() == ["CAGE", "DNASE", "plain"]
    assert got["identifier"].tolist() == ["a", "b", "c"]
    with pytest.raises(ValueError, match="shape"):
        ev.track_metrics(pred, target[:, :3])
    with pytest.raises(ValueError, match="target_ids"):
        ev.track_metrics(pred, target, target_ids=["a"])
    bad = target.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        ev.track_metrics(pred, bad)


# ----------------------------------------------------------------------------------------------- genes


def _slow_gene_sums(pred, target, windows, tss, pool_width, crop_bp):
    """Per gene, the set of (window, bin) of its TSSs (first covering window) and the sums there."""
    n_bins = pred.shape[1]
    cells = {}
    for gene, chrom, pos in tss[["gene_id", "chrom", "tss"]].itertuples(index=False):
        for w, (wc, ws) in enumerate(windows[["chrom", "start"]].itertuples(index=False)):
            b = (pos - ws - crop_bp) // pool_width
            if wc == chrom and pos - ws - crop_bp >= 0 and b < n_bins:
                cells.setdefault(gene, set()).add((w, b))
                break
    genes = sorted(cells)
    gp = np.array([sum(pred[w, b] for w, b in sorted(cells[g])) for g in genes])
    go = np.array([sum(target[w, b] for w, b in sorted(cells[g])) for g in genes])
    return genes, gp, go


def _pearson_or_nan(x, y):
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return np.nan
    return scipy.stats.pearsonr(x, y)[0]


def _gene_world(rng, *, n_windows=12, n_bins=10, n_tracks=3, pool_width=8, crop_bp=4):
    length = n_bins * pool_width + 2 * crop_bp
    chroms = rng.choice(["chr1", "chr2"], size=n_windows)
    starts = rng.integers(0, 400, size=n_windows)  # overlapping windows, unsorted
    windows = pd.DataFrame({"chrom": chroms, "start": starts, "end": starts + length})
    n_tss = 120
    tss = pd.DataFrame({"gene_id": [f"G{k:03d}" for k in rng.integers(0, 40, size=n_tss)],
                        "chrom": rng.choice(["chr1", "chr2", "chr3"], size=n_tss),
                        "tss": rng.integers(0, 600, size=n_tss)})
    tss = pd.concat([tss, tss.iloc[:5]])  # exact duplicates count once
    pred, target = _coverage(rng, (n_windows, n_bins, n_tracks))
    target[rng.random(target.shape) < 0.3] = 0.0
    return pred, target, windows, tss, pool_width, crop_bp


def test_gene_metrics_match_slow_loop():
    rng = np.random.default_rng(5)
    pred, target, windows, tss, pool_width, crop_bp = _gene_world(rng)
    df, values = ev.gene_metrics(pred, target, windows=windows, tss=tss, pool_width=pool_width,
                                 crop_bp=crop_bp, target_ids=["x", "y", "z"])
    genes, gp, go = _slow_gene_sums(pred, target, windows, tss, pool_width, crop_bp)
    assert values.genes["gene_id"].tolist() == genes
    np.testing.assert_allclose(values.pred, gp, rtol=1e-12)
    np.testing.assert_allclose(values.obs, go, rtol=1e-12)
    for j in range(3):
        nz = go[:, j] > 0
        lp, lo = np.log2(gp[:, j] + 1), np.log2(go[:, j] + 1)
        assert df.loc[j, "gene_r"] == pytest.approx(_pearson_or_nan(gp[:, j], go[:, j]), abs=1e-10)
        assert df.loc[j, "gene_r_log"] == pytest.approx(_pearson_or_nan(lp, lo), abs=1e-10)
        assert df.loc[j, "gene_r_nonzero"] == pytest.approx(_pearson_or_nan(gp[nz, j], go[nz, j]), abs=1e-10)
        assert df.loc[j, "gene_r_nonzero_log"] == pytest.approx(_pearson_or_nan(lp[nz], lo[nz]), abs=1e-10)
        assert df.loc[j, "n_genes_nonzero"] == nz.sum()
    assert (df["n_genes"] == len(genes)).all()
    long = values.long()
    assert len(long) == len(genes) * 3 and long["identifier"].tolist()[:3] == ["x", "y", "z"]


def test_gene_metrics_bins_first_window_and_shared_bins():
    # Two overlapping windows on chr1, 4 bins of 10 bp after a 5 bp crop: [5, 45) and [25, 65).
    windows = pd.DataFrame({"chrom": ["chr1", "chr1"], "start": [0, 20], "end": [50, 70]})
    pred = np.zeros((2, 4, 1))
    target = np.zeros((2, 4, 1))
    pred[0, :, 0] = [1, 2, 3, 4]
    pred[1, :, 0] = [10, 20, 30, 40]
    target[:] = pred
    tss = pd.DataFrame({"gene_id": ["A", "A", "B", "C", "D"], "chrom": ["chr1"] * 4 + ["chr2"],
                        "tss": [16, 18, 50, 4, 30]})
    # A: 16, 18 -> window 0 bin 1 (shared); B: 50 -> only window 1, bin 2; C: 4 is in the crop; D: chr2.
    _, values = ev.gene_metrics(pred, target, windows=windows, tss=tss, pool_width=10, crop_bp=5)
    got = dict(zip(values.genes["gene_id"], values.pred[:, 0]))
    assert got == {"A": 2.0, "B": 30.0}
    assert values.genes.set_index("gene_id").loc["A", "n_tss"] == 2
    _, each = ev.gene_metrics(pred, target, windows=windows, tss=tss, pool_width=10, crop_bp=5, unique_bins=False)
    assert dict(zip(each.genes["gene_id"], each.pred[:, 0])) == {"A": 4.0, "B": 30.0}
    with pytest.raises(ValueError, match="pool_width"):
        ev.gene_metrics(pred, target, windows=windows, tss=tss, pool_width=8, crop_bp=5)


# ----------------------------------------------------------------------------------------------- peaks


def _slow_bh(p, fdr):
    """Step-up Benjamini-Hochberg: reject the k smallest p, k = max{i: p_(i) <= i fdr / m}."""
    order = np.argsort(p)
    m = len(p)
    k = 0
    for i in range(m, 0, -1):
        if p[order[i - 1]] <= i * fdr / m:
            k = i
            break
    out = np.zeros(m, bool)
    out[order[:k]] = True
    return out


def test_call_peaks_recovers_planted_peaks_and_matches_slow_bh():
    rng = np.random.default_rng(6)
    shape = (30, 50, 3)
    target = rng.poisson(2.0, size=shape).astype(np.float64)
    planted = rng.random(shape) < 0.01
    target[planted] += rng.poisson(25.0, size=int(planted.sum()))
    target[..., 2] *= 0.37  # non-integer coverage
    peaks = ev.call_peaks(target, fdr=0.01)
    assert peaks.shape == shape and peaks.dtype == bool
    recall = (peaks & planted).sum() / planted.sum()
    false_share = (peaks & ~planted).sum() / max(peaks.sum(), 1)
    assert recall > 0.9 and false_share < 0.05
    for j in range(3):
        x = target[..., j].ravel()
        p = scipy.stats.poisson.sf(np.ceil(x) - 1, x.mean())
        np.testing.assert_array_equal(peaks[..., j].ravel(), _slow_bh(p, 0.01))
    rounded = ev.call_peaks(target, fdr=0.01, rounding="round")
    x = target[..., 2].ravel()
    np.testing.assert_array_equal(rounded[..., 2].ravel(),
                                  _slow_bh(scipy.stats.poisson.sf(np.round(x) - 1, x.mean()), 0.01))


def test_call_peaks_edge_cases():
    target = np.zeros((4, 5, 2))
    target[..., 1] = 3.0  # flat track: every p is P(X >= lambda) ~ 0.58, nothing passes
    assert not ev.call_peaks(target).any()
    with pytest.raises(ValueError, match="fdr"):
        ev.call_peaks(target, fdr=0)
    with pytest.raises(ValueError, match="rounding"):
        ev.call_peaks(target, rounding="floor")


def test_peak_auprc_matches_sklearn_and_ranks_target_above_noise(caplog):
    rng = np.random.default_rng(7)
    shape = (20, 40, 3)
    target = rng.poisson(1.5, size=shape).astype(np.float64)
    planted = rng.random(shape) < 0.02
    target[planted] += 20
    target[..., 2] = 0.0  # no peaks at all
    peaks = ev.call_peaks(target)
    noise = rng.random(shape)
    with caplog.at_level(logging.WARNING, logger="genomodel.evaluate"):
        own = ev.peak_auprc(target, peaks)
        rand = ev.peak_auprc(noise, peaks)
    assert np.isnan(own[2]) and np.isnan(rand[2]) and "no peaks" in caplog.text
    assert (own[:2] >= rand[:2]).all() and (own[:2] > 0.99).all()
    expect = average_precision_score(peaks[..., 1].ravel(), noise[..., 1].ravel())
    assert rand[1] == pytest.approx(expect, abs=1e-12)


# --------------------------------------------------------------------------------------- all + report


def test_evaluate_all_and_write_report(tmp_path):
    rng = np.random.default_rng(8)
    pred, target, windows, tss, pool_width, crop_bp = _gene_world(rng, n_tracks=4)
    target[..., 3] = 0.0  # constant, no peaks: NaNs, no crash
    desc = ["CAGE:a", "CAGE:b", "DNASE:c", "DNASE:d"]
    result = ev.evaluate_all(pred, target, target_ids=list("abcd"), descriptions=desc, windows=windows,
                             tss=tss, pool_width=pool_width, crop_bp=crop_bp)
    table = result.tracks
    for col in ["identifier", "description", "assay", "pearson_r", "r2", "pearson_r_log", "r2_log",
                "gene_r", "gene_r_nonzero", "auprc"]:
        assert col in table.columns, col
    assert list(table.columns) == [c for c in ev.TABLE_COLUMNS if c in table.columns]
    assert np.isnan(table.loc[3, "pearson_r"]) and np.isnan(table.loc[3, "auprc"])
    np.testing.assert_allclose(table["pearson_r"], ev.track_metrics(pred, target)["pearson_r"], atol=1e-12)
    with pytest.raises(ValueError, match="together"):
        ev.evaluate_all(pred, target, windows=windows)

    pyplot_before = "matplotlib.pyplot" in sys.modules
    prov = {"suite": "genosuite", "command": "test"}
    out = ev.write_report(tmp_path / "rep", result, pred=pred, target=target, provenance=prov, n_points=200)
    assert set(out) == {"acc", "genes", "scatter", "pearson_by_assay", "provenance"}
    back = pd.read_csv(out["acc"], sep="\t")
    assert back["identifier"].tolist() == list("abcd")
    np.testing.assert_allclose(back["pearson_r"], table["pearson_r"], rtol=1e-5)
    for name in ("scatter", "pearson_by_assay"):
        assert out[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rec = json.loads(out["provenance"].read_text())
    assert rec["command"] == "test" and set(rec["outputs"]) == {"acc", "genes", "scatter", "pearson_by_assay"}
    assert pd.read_csv(out["genes"], sep="\t").shape[0] == len(result.genes.genes) * 4
    assert not list((tmp_path / "rep").glob("*.tmp"))
    if not pyplot_before:  # figures must not go through pyplot's global state (backend, figure manager)
        assert "matplotlib.pyplot" not in sys.modules


def test_write_report_table_only_without_assays(tmp_path):
    rng = np.random.default_rng(9)
    pred, target = _coverage(rng, (3, 5, 2))
    table = ev.track_metrics(pred, target)
    out = ev.write_report(tmp_path, table)
    assert set(out) == {"acc", "pearson_by_assay"}
    assert (tmp_path / "acc.tsv").exists() and (tmp_path / "pearson_by_assay.png").stat().st_size > 0
