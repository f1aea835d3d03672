"""Calibration and power of the array-level SLDP core on a small msprime world (fast version of
``validation/sldp_calibration.py``, whose functions it reuses).

One reference panel (2 chromosomes x 3 Mb, 300 individuals), sumstats drawn from the panel's LD
(``alpha_hat ~ N(R beta, R / N)``), 100 null traits (polygenic effects plus an effect along the
background annotation, none along the tested annotations) and 50 traits with a planted effect
``beta = mu v + polygenic`` along the dense annotation, each set through SLDP in one vectorized call.
"""
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "validation" / "sldp_calibration.py"


def _load():
    spec = importlib.util.spec_from_file_location("sldp_calibration", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, mod)  # dataclasses look their module up there
    spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules[spec.name]


sc = _load()

N_GWAS = 20_000
H2 = 0.3


@pytest.fixture(scope="module")
def world():
    return sc.build_world(seed=11, n_chrom=2, length=3_000_000, n_ref=300, n_gwas=0, block_length=50_000)


def test_world_has_enough_chunks(world):
    # the sign flip and the jackknife need many chunks; every block is a chunk here
    assert len(world.blocks) >= 40
    assert world.v.shape == (world.m, 2) and world.v_bg.shape == (world.m, 1)


def test_panel_sumstats_have_mean_r_beta_and_covariance_r_over_n(world):
    """alpha_hat = X^T (X beta / n_ref + g / sqrt(n_ref N)) is N(R beta, R / N) within each block."""
    rng = np.random.default_rng(0)
    b = world.blocks[0]
    m = b.x.shape[1]
    one = sc.World(blocks=[b], v=world.v[:m], v_bg=world.v_bg[:m], maf=world.maf[:m], n_ref=world.n_ref,
                   n_gwas=0, offsets=np.array([0, m]))
    r = b.x.T @ b.x / world.n_ref
    beta = np.repeat(rng.standard_normal((m, 1)) * 0.01, 4000, axis=1)
    ahat = sc.panel_sumstats(one, beta, n=100.0, rng=rng) / np.sqrt(100.0)
    mean_err = np.abs(ahat.mean(axis=1) - r @ beta[:, 0]).max()
    cov = np.cov(ahat) * 100.0
    assert mean_err < 5 * 0.1 / np.sqrt(4000)          # SD of alpha_hat is <= 1/sqrt(100)
    assert np.abs(cov - r).max() < 6 / np.sqrt(4000)   # entries of a Wishart/n estimate, SD <= sqrt(2/n)


@pytest.mark.slow
def test_null_type1_error_and_jackknife_se(world):
    rng = np.random.default_rng(5)
    beta, mu = sc.draw_effects(world, n_traits=100, h2=H2, planted=None, share=0.0, bg_share=0.05, rng=rng)
    assert mu == 0.0
    run = sc.run_sldp_arrays(world, sc.panel_sumstats(world, beta, n=N_GWAS, rng=rng), n=N_GWAS, seed=7,
                             draws=10_000)
    assert np.all(np.isfinite(run.p)) and np.all(np.isfinite(run.se))
    lo, hi = sc.binomial_acceptance(100, level=0.999)
    for k, name in enumerate(sc.ANNOTATIONS):
        s = sc.null_summary(run, k, level=0.999)
        assert lo <= s["rejections"] <= hi, (name, s["rejections"], (lo, hi))
        # jackknife SE against the empirical SD of mu_hat over replicates (SD of that SD ~ 7% here)
        assert 0.65 <= s["se_ratio"] <= 1.35, (name, s["se_ratio"])
        # mu_hat centred on 0 under the null: |mean| within 4 Monte Carlo SEs
        assert abs(s["mean_mu"]) < 4 * s["sd_mu"] / np.sqrt(100), (name, s["mean_mu"], s["sd_mu"])
    pooled = int((run.p <= sc.ALPHA).sum())
    plo, phi = sc.binomial_acceptance(200, level=0.999)
    assert plo <= pooled <= phi


@pytest.mark.slow
def test_planted_effect_is_found_with_the_right_sign_and_unbiased(world):
    rng = np.random.default_rng(6)
    for sign in (1.0, -1.0):
        beta, mu_true = sc.draw_effects(world, n_traits=50, h2=H2, planted=0, share=0.02, bg_share=0.0, rng=rng)
        beta = beta - (1 - sign) * mu_true * world.v[:, [0]]  # flips the planted part for sign = -1
        mu_true *= sign
        run = sc.run_sldp_arrays(world, sc.panel_sumstats(world, beta, n=N_GWAS, rng=rng), n=N_GWAS, seed=8,
                                 draws=10_000)
        s = sc.planted_summary(run, 0, mu_true)
        right = (run.p[:, 0] <= sc.ALPHA) & (np.sign(run.mu[:, 0]) == sign)
        assert right.mean() >= 0.7, (sign, right.mean(), s)
        assert s["sign_ok"] >= 0.95, s
        assert abs(s["bias_mc"]) < 4, s                     # mean mu_hat within 4 MC SEs of the truth
        assert 0.65 <= s["se_ratio"] <= 1.35, s
        # the other (independent) annotation stays null in these traits
        other = int((run.p[:, 1] <= sc.ALPHA).sum())
        lo, hi = sc.binomial_acceptance(50, level=0.999)
        assert lo <= other <= hi, other
