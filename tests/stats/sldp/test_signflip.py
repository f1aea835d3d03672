"""Block sign flipping against a plain loop of sldp's chunkstats.signflip (same sign bits)."""
import logging

import numpy as np
import pytest
import scipy.stats as st

from stats.sldp.signflip import entropy_of, fast_z, flip_bits, signflip_test


def _slow_signflip(q, seed, n_draws, block, stop_p, rtol=1e-12):
    """sldp's loop for one test: null in blocks, p = max(1, count) / current, stop once p >= stop_p."""
    score = sum(q)
    count, current, bi = 0, 0, 0
    while current < n_draws:
        nblk = min(block, n_draws - current)
        bits = flip_bits(seed, bi, len(q), nblk)
        for t in range(nblk):
            null = sum((-1.0 if bits[c, t] else 1.0) * q[c] for c in range(len(q)))
            if abs(null) >= abs(score) * (1 - rtol):
                count += 1
        current += nblk
        bi += 1
        p = max(1, count) / current
        if p >= stop_p:
            break
    se = abs(score) / np.sqrt(st.chi2.isf(p, 1))
    return p, score / se, current


def test_matches_slow_loop_with_stopping():
    rng = np.random.default_rng(0)
    q = rng.normal(size=(9, 5)) + np.array([0.0, 0.3, 0.8, 1.5, -2.0])[None, :]
    res = signflip_test(q, rng=42, n_draws=1500, block=400, stop_p=0.05)
    for t in range(5):
        p, z, used = _slow_signflip(list(q[:, t]), 42, 1500, 400, 0.05)
        assert res.p[t] == p and res.n_draws[t] == used
        assert np.isclose(res.z[t], z, rtol=1e-12)
    assert set(res.n_draws.tolist()) >= {400, 1500}          # some stopped early, some ran to the end
    np.testing.assert_allclose(res.z, np.sign(q.sum(0)) * np.sqrt(st.chi2.isf(res.p, 1)))


def test_many_tests_equal_one_at_a_time_even_with_fewer_chunks():
    rng = np.random.default_rng(1)
    q = rng.normal(size=(14, 6)) + 0.4
    q[9:, 2] = 0.0                                            # a test with 9 chunks, padded
    batch = signflip_test(q, rng=7, n_draws=3000, block=1000, max_elements=500)
    for t in range(6):
        qt = q[:9, t] if t == 2 else q[:, t]
        one = signflip_test(qt, rng=7, n_draws=3000, block=1000)
        assert one.p == batch.p[t] and one.z == batch.z[t] and one.n_draws == batch.n_draws[t]
    # trailing axes are kept; a Generator seeds reproducibly
    q3 = q.reshape(14, 2, 3)
    a = signflip_test(q3, rng=np.random.default_rng(5), n_draws=2000, block=1000)
    b = signflip_test(q3, rng=np.random.default_rng(5), n_draws=2000, block=1000)
    assert a.p.shape == (2, 3)
    np.testing.assert_array_equal(a.p, b.p)


def test_strong_signal_gives_smallest_p():
    rng = np.random.default_rng(2)
    q = np.abs(rng.normal(size=(40, 3))) + 0.5
    q[:, 2] *= -1
    res = signflip_test(q, rng=3, n_draws=20000, block=5000)
    np.testing.assert_array_equal(res.p, 1 / 20000)
    np.testing.assert_array_equal(res.n_draws, 20000)
    assert res.z[0] > 4 and res.z[2] < -4


def test_symmetric_noise_is_roughly_uniform():
    rng = np.random.default_rng(3)
    q = rng.normal(size=(30, 400)) * rng.uniform(0.5, 2, size=(30, 1))
    p = signflip_test(q, rng=4, n_draws=4000, block=1000).p
    assert 0.02 <= np.mean(p < 0.05) <= 0.09
    assert 0.4 <= np.mean(p < 0.5) <= 0.6
    assert st.kstest(p, "uniform").pvalue > 1e-3
    # the fast z of the same noise is roughly standard normal
    z, pf = fast_z(q)
    assert abs(np.mean(z)) < 0.2 and 0.8 < np.std(z) < 1.2
    np.testing.assert_allclose(pf, st.chi2.sf(z ** 2, 1))


def test_fast_z_formula_and_edge_cases(caplog):
    q = np.array([[1.0, 0.0], [2.0, 0.0], [-0.5, 0.0]])
    z, p = fast_z(q)
    assert np.isclose(z[0], 2.5 / np.sqrt(1 + 4 + 0.25)) and np.isnan(z[1]) and np.isnan(p[1])
    with caplog.at_level(logging.WARNING, logger="stats.sldp.signflip"):
        res = signflip_test(q, rng=0, n_draws=100, block=50)
    assert np.isnan(res.p[1]) and np.isnan(res.z[1]) and np.isfinite(res.p[0])
    assert "1 of 2 tests" in caplog.text
    q2 = q.copy()
    q2[0, 0] = np.nan
    assert np.isnan(signflip_test(q2[:, :1], rng=0, n_draws=100, block=50).p[0])
    with pytest.raises(TypeError):
        signflip_test(q, rng=None)
    with pytest.raises(ValueError):
        signflip_test(q, rng=-1)
    assert entropy_of(12) == 12


def test_flip_bits_rows_do_not_depend_on_chunk_count():
    a = flip_bits(9, 2, 20, 1000)
    b = flip_bits(9, 2, 7, 1000)
    np.testing.assert_array_equal(a[:7], b)
    assert set(np.unique(a)) == {0, 1} and abs(a.mean() - 0.5) < 0.02
