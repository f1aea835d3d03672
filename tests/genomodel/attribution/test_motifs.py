"""Motif matching of contribution maps: a planted PWM is found first, on either strand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genomodel.attribution import motifs as mm


def _database(rng, n: int = 30) -> dict:
    """Random PWMs of 6-14 columns (sparse Dirichlet columns, like real motifs)."""
    return {f"M{k}": rng.dirichlet(np.full(4, 0.4), size=int(rng.integers(6, 15))) + 1e-3 for k in range(n)}


def _ism_like(rng, pwm: np.ndarray, *, at: int, length: int = 60, strand: str = "+", noise: float = 0.05):
    """ISM map of a sequence holding the PWM's consensus at ``at`` (on ``strand``) under a model that
    adds up the site's log-odds: ``alt - ref`` of that score per position and base, plus noise
    everywhere (the reference base keeps 0)."""
    site = pwm if strand == "+" else mm.reverse_complement_pwm(pwm)
    seq = rng.integers(0, 4, length)
    seq[at:at + len(site)] = site.argmax(axis=1)
    values = rng.normal(0, noise, (length, 4))
    lo = np.log(site / 0.25)
    values[at:at + len(site)] += lo - lo[np.arange(len(site)), seq[at:at + len(site)]][:, None]
    values[np.arange(length), seq] = 0.0
    return values, seq


@pytest.mark.parametrize("strand", ["+", "-"])
def test_planted_motif_is_found_first_on_either_strand(strand):
    rng = np.random.default_rng(3)
    db = _database(rng)
    values, _ = _ism_like(rng, db["M7"], at=22, strand=strand)
    res = mm.match_motifs(mm.ism_contributions(values), db, width=20, contains=25)
    top = res.iloc[0]
    assert top["motif"] == "M7" and top["strand"] == strand and top["offset"] == 22 and top["rank"] == 1
    assert top["overlap"] == len(db["M7"]) and top["pcc_mean"] > 0.8
    assert top["score"] > 0.8 > res.score.iloc[1] + 0.2
    assert list(res.columns) == mm.MATCH_COLUMNS and len(res) == len(db)


def test_second_window_finds_a_second_site():
    rng = np.random.default_rng(4)
    db = _database(rng)
    v1, _ = _ism_like(rng, db["M3"], at=5, length=40)
    v2, _ = _ism_like(rng, db["M11"], at=10, length=40, strand="-")
    res = mm.match_motifs(mm.ism_contributions(np.vstack([v1, v2])), db, width=16, n_windows=2)
    firsts = res[res["rank"] == 1].set_index("window")
    assert set(firsts.motif) == {"M3", "M11"}
    assert firsts.loc[firsts.motif == "M11", "strand"].item() == "-"


def test_alignment_equals_naive_column_correlations():
    rng = np.random.default_rng(5)
    query, weights, pwm = rng.normal(size=(12, 4)), rng.random(12), rng.dirichlet(np.ones(4), size=7)
    best = mm.align_motif(query, weights, pwm, min_overlap=3)
    naive = []
    for off in range(3 - 7, 12 - 3 + 1):
        pairs = [(off + j, j) for j in range(7) if 0 <= off + j < 12]
        score = sum(weights[i] * np.corrcoef(query[i], pwm[j])[0, 1] for i, j in pairs) / weights.sum()
        naive.append((score, off, len(pairs)))
    score, off, overlap = max(naive)
    assert best["score"] == pytest.approx(score, abs=1e-12) and (best["offset"], best["overlap"]) == (off, overlap)


def test_windows_contain_the_position_and_do_not_overlap():
    s = np.zeros(50)
    s[2:8] = 5.0
    s[30:36] = 1.0
    assert mm.top_windows(s, width=6, n=2) == [(2, 8), (30, 36)]
    assert mm.top_windows(s, width=6, n=2, contains=33)[0] == (30, 36)
    assert mm.top_windows(s, width=80) == [(0, 50)]


def test_flat_maps_and_columns_score_zero():
    res = mm.match_motifs(np.zeros((30, 4)), {"A": np.full((6, 4), 0.25)}, width=10)
    assert res.score.iloc[0] == 0.0
    with pytest.raises(ValueError, match="shape"):
        mm.ism_contributions(np.zeros((3, 5)))


def test_reverse_complement_swaps_bases_and_order():
    pwm = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.6, 0.2, 0.1]])
    assert np.array_equal(mm.reverse_complement_pwm(pwm), [[0.1, 0.2, 0.6, 0.1], [0.1, 0.1, 0.1, 0.7]])


def test_jaspar_and_meme_files_read(tmp_path):
    jaspar = tmp_path / "m.jaspar"
    jaspar.write_text(">MA0001.1\tFOO\nA  [ 10  0 ]\nC  [  0 10 ]\nG  [  0  0 ]\nT  [  0  0 ]\n"
                      ">MA0002.1 BAR\n1 2\n3 4\n5 6\n7 8\n")
    db = mm.read_motif_database(jaspar)
    assert list(db) == ["MA0001.1 FOO", "MA0002.1 BAR"]
    assert np.allclose(db["MA0001.1 FOO"][0], [10.25 / 11, 0.25 / 11, 0.25 / 11, 0.25 / 11])
    assert np.allclose(db["MA0002.1 BAR"].sum(axis=1), 1) and db["MA0002.1 BAR"].shape == (2, 4)
    meme = tmp_path / "m.meme"
    meme.write_text("MEME version 4\n\nALPHABET= ACGT\n\nMOTIF X1 x\nletter-probability matrix: alength= 4 w= 2\n"
                    "0.1 0.2 0.3 0.4\n0.4 0.3 0.2 0.1\n")
    assert mm.read_motif_database(meme)["X1"].shape == (2, 4)
    bad = tmp_path / "bad.jaspar"
    bad.write_text(">MA9\nA [ 1 2 ]\nC [ 1 ]\nG [ 1 2 ]\nT [ 1 2 ]\n")
    with pytest.raises(ValueError, match="bad.jaspar:1: motif 'MA9'"):
        mm.read_motif_database(bad)


def test_real_jaspar_database_reads(shared_data):
    path = shared_data / "motifs_jaspar2024" / "JASPAR2024_CORE_vertebrates_latest.jaspar"
    db = mm.read_motif_database(path)
    assert len(db) == 879 and all(np.allclose(p.sum(axis=1), 1) for p in db.values())
    # the Runx1 matrix planted in a map is named first among all 879
    rng = np.random.default_rng(0)
    values, _ = _ism_like(rng, db["MA0002.3 Runx1"], at=20, strand="-", noise=0.02)
    res = mm.match_motifs(mm.ism_contributions(values), db, width=20, contains=24)
    assert isinstance(res, pd.DataFrame) and res.motif.iloc[0] == "MA0002.3 Runx1"
