"""Calibration and power of SLDP regression (array-level core) on simulated worlds.

    python validation/sldp_calibration.py [--seed 1] [--n-null 500] [--n-planted 200] [--no-cohort]

Calls the array-level stages of the suite, never a copy of them: :mod:`stats.ld.signed_profile` (standardized
genotypes, block ranges, signed LD profiles, MAF scaling), :func:`stats.ld.scores.l2_unbiased` (LD scores),
:mod:`stats.sldp.regression` (``ld_svd``, ``estimate_h2g``, ``block_products`` and ``fit_blocks``: chunks, fit,
sign flips and the results table, as the pipeline's :func:`stats.sldp.pipeline.fit_grid` runs them), on
genotypes from :func:`stats.simulate.simulate_chromosome` (msprime) and effects from
:func:`stats.simulate.gwas_effects`.

World
-----
One msprime population; its reference panel (``n_ref`` individuals, SNPs with panel MAF >= 5%) gives
the LD blocks (split at recombination hotspots, :func:`stats.simulate.ld_blocks_from_hotspots`), the
per-block truncated eigen-decompositions, block-restricted LD scores (``r~2 = r^2 - (1 - r^2)/(n_ref-2)``)
and the signed LD profiles ``R v``. A GWAS cohort is drawn from the same msprime simulation.
Annotations (per SNP, on the per-normalized-genotype scale):

* ``dense``: ``v ~ N(0, 1)`` on every SNP, not MAF-scaled (sldp's alpha = -1);
* ``sparse_maf``: ``N(0, 1)`` on a random 5% of SNPs, 0 elsewhere, MAF-scaled with alpha = 0
  (``v (2 p (1-p))^(1/2)``, i.e. the raw values are per-allele effects);
* background ``derived``: 1 on every SNP (the counted allele is the derived one), MAF-scaled with
  alpha = 0; it is in every regression, and the null traits carry a real effect along it, so the
  residualization of the background is exercised.

True mu on the SLDP scale
-------------------------
SLDP (Reshef et al. 2018) models the marginal per-normalized-genotype effects as
``E[alpha_hat | beta] = R beta`` with ``beta = mu v + b_bg v_bg + eps``, ``eps`` independent of ``v``
(mean 0), ``beta`` the joint effects per normalized (mean 0, variance 1) genotype. The estimator is
``mu_hat = [(Rv)^T W^-1 alpha_hat]_v|bg / [(Rv)^T W^-1 (Rv)]_v|bg`` (after projecting out the
background), which is linear in ``alpha_hat``; substituting ``E[alpha_hat] = mu R v + b_bg R v_bg +
R eps`` gives ``E[mu_hat | weights] = mu`` when the ``R`` in the profiles is the ``R`` of the
sumstats (design ``panel``, exactly so; the truncation to 95% of the spectrum does not matter because
numerator and denominator are both taken in the kept subspace) and ``~mu`` for an independent cohort
from the same population (design ``cohort``: ``R_gwas = R_ref + sampling noise``). The weights depend
on the data only through ``sigma2g`` (an even function of the sumstats), so the bias is second order.
:func:`stats.simulate.gwas_effects` draws ``beta = tau v + eps`` with ``tau = sqrt(h2 share / ||v||^2)``
and ``eps_m ~ N(0, h2 (1 - share) / M)``, per standardized genotype: so ``mu_true = tau``, with ``v``
the MAF-scaled annotation the regression uses.

Sumstats
--------
* Design ``panel`` (cheap, many replicates): ``alpha_hat ~ N(R beta, R / N)`` per LD block with the
  panel's own LD ``R = X^T X / n_ref`` (``X``: n_ref x m standardized): ``alpha_hat = X^T (X beta /
  n_ref + g / sqrt(n_ref N))`` with ``g ~ N(0, I_{n_ref})`` per block and phenotype, since
  ``Cov(X^T g) / (n_ref N) = X^T X / (n_ref N) = R / N``. ``Z = alpha_hat sqrt(N)``. Blocks are
  independent (LD between blocks is 0, as SLDP assumes). ``N`` can be set freely (default 20,000).
* Design ``cohort`` (individual level): ``y = X_gwas beta + e`` as :func:`stats.simulate.simulate_trait`
  (standardized GWAS genotypes, noise variance ``1 - h2``), Z = the OLS t-statistic of the ALT
  dosage as :func:`stats.simulate.sumstats` (computed for all phenotypes at once:
  ``t = r sqrt(n-2) / sqrt(1 - r^2)``, ``r`` the genotype-phenotype correlation), ``N = n_gwas``. The
  GWAS LD is the cohort's, not the panel's, and crosses block boundaries.

Observed (seed 1, benchmarks/RESULTS.md): in the cohort design mean mu_hat is 5-12% below mu_true
(2.5-4.6 Monte Carlo SEs, 0.2-0.44 of one jackknife SE). A noise-free check on a smaller world put the
two LD-mismatch effects at about -2% (panel LD noise, n_ref = 500) and +2% (LD across block
boundaries in the cohort), so the rest is not explained here.

Each design has null replicates (``share = 0`` along the tested annotations, a background effect and
polygenic effects) and planted replicates per annotation; all phenotypes of a set go through SLDP in
one vectorized call (phenotypes x annotations). The sign-flip test uses ``--draws`` sign draws in one
block (a decision at alpha = 0.05 needs no more; sldp's 10^6 schedule only refines small p).

Output: a table with the type-I error at alpha = 0.05 and the exact central 95% binomial acceptance
interval of the rejection count under H0 (rate 0.05, n tests) plus the Clopper-Pearson 95% CI of the
observed rate; the jackknife SE over the empirical SD of mu_hat across null replicates; power; the
share of significant results with the right sign; and the bias of mu_hat in units of its Monte Carlo
SE (``(mean mu_hat - mu_true) / (sd mu_hat / sqrt(reps))``) and of the mean jackknife SE.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.stats as st
from threadpoolctl import threadpool_limits

from stats.ld.matrix import standardized
from stats.ld.scores import l2_unbiased
from stats.ld.signed_profile import scale_by_maf, signed_ld_profile, sldp_block_ranges, standardize_genotypes
from stats.simulate import PanelConfig, gwas_effects, simulate_chromosome
from stats.sldp.regression import block_products, estimate_h2g, fit_blocks, ld_svd

ANNOTATIONS = ("dense", "sparse_maf")
BACKGROUND = ("derived",)
ALPHA = 0.05


# -- world -------------------------------------------------------------------------------------------

@dataclass
class Block:
    """One LD block of the reference panel: everything SLDP needs that does not depend on the trait."""

    x: np.ndarray            # (n_ref, m) standardized panel genotypes (sldp's standardization)
    svd: object              # stats.sldp.regression.LdSvd
    l2: np.ndarray           # (m,) LD scores within the block (r~2)
    rv: np.ndarray           # (m, K) signed LD profiles of the tested annotations
    rv_bg: np.ndarray        # (m, nb) background profiles
    gwas: np.ndarray | None  # (n_gwas, m) int8 ALT dosages of the GWAS cohort, or None


@dataclass
class World:
    blocks: list
    v: np.ndarray            # (M, K) tested annotations, MAF-scaled where asked
    v_bg: np.ndarray         # (M, nb)
    maf: np.ndarray          # (M,) panel MAF
    n_ref: int
    n_gwas: int
    offsets: np.ndarray = field(default=None)  # block b is SNPs offsets[b]:offsets[b+1]

    @property
    def m(self) -> int:
        return len(self.maf)


def build_world(*, seed: int, n_chrom: int = 3, length: int = 6_000_000, n_ref: int = 500, n_gwas: int = 3000,
                block_length: int = 100_000, sparse_share: float = 0.05, min_block_snps: int = 10) -> World:
    """Simulate panel + GWAS cohort (msprime), LD blocks, annotations, profiles and per-block SVDs."""
    ss = np.random.SeedSequence(seed)
    s_chroms, s_annot = ss.spawn(2)
    cfg = PanelConfig(n_reference=n_ref, n_eqtl=10, n_gwas=max(n_gwas, 10), min_maf=0.05,
                      ld_block_length=block_length)
    x_blocks, gw_blocks, maf_parts = [], [], []
    for c, s in enumerate(s_chroms.spawn(n_chrom)):
        panel = simulate_chromosome(str(c + 1), length, cfg, seed=s)
        ref = panel.dosage["ref_panel"]
        begin, end = sldp_block_ranges(panel.positions, panel.ld_blocks[:, 0], panel.ld_blocks[:, 1])
        for b0, b1 in zip(begin, end):
            if b1 - b0 < min_block_snps:
                continue
            x_blocks.append(standardize_genotypes(ref[:, b0:b1]))
            gw_blocks.append(panel.dosage["gwas_cohort"][:, b0:b1] if n_gwas else None)
            f = ref[:, b0:b1].mean(axis=0) / 2
            maf_parts.append(np.minimum(f, 1 - f))
    maf = np.concatenate(maf_parts)
    m = len(maf)
    rng = np.random.default_rng(s_annot)
    dense = rng.standard_normal(m)
    sparse = np.where(rng.random(m) < sparse_share, rng.standard_normal(m), 0.0)
    v = np.column_stack([dense, scale_by_maf(sparse, maf, alpha=0.0)])
    v_bg = scale_by_maf(np.ones(m), maf, alpha=0.0)[:, None]
    offsets = np.concatenate([[0], np.cumsum([x.shape[1] for x in x_blocks])])
    # one BLAS thread for the many small per-block SVDs: on a loaded 2-core machine OpenBLAS's threaded
    # SVD of a 300 x 150 matrix took ~1 s instead of ~10 ms
    with threadpool_limits(1):
        blocks = _blocks(x_blocks, gw_blocks, v, v_bg, offsets, n_ref)
    return World(blocks=blocks, v=v, v_bg=v_bg, maf=maf, n_ref=n_ref, n_gwas=n_gwas, offsets=offsets)


def _blocks(x_blocks, gw_blocks, v, v_bg, offsets, n_ref) -> list:
    blocks = []
    for i, x in enumerate(x_blocks):
        sl = slice(offsets[i], offsets[i + 1])
        l2 = l2_unbiased(x.T @ x / n_ref, n_ref).sum(axis=1)
        blocks.append(Block(x=x, svd=ld_svd(x), l2=l2, rv=signed_ld_profile(x, v[sl]),
                            rv_bg=signed_ld_profile(x, v_bg[sl]), gwas=gw_blocks[i]))
    return blocks


# -- effects and sumstats ----------------------------------------------------------------------------

def draw_effects(world: World, *, n_traits: int, h2: float, planted: int | None, share: float,
                 bg_share: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Per-normalized-genotype effects (M, n_traits) by :func:`stats.simulate.gwas_effects`.

    ``planted=None``: null traits, ``beta = b_bg v_bg + eps`` carrying ``bg_share`` of ``h2`` along
    the background. ``planted=k``: ``beta = mu v_k + eps`` carrying ``share`` of ``h2`` along
    annotation ``k``. Returns the effects and the true ``mu`` (0 for the null).
    """
    if planted is None:
        ann, sh = world.v_bg[:, 0], bg_share
    else:
        ann, sh = world.v[:, planted], share
    beta = np.column_stack([gwas_effects(ann, h2=h2, directional_share=sh, rng=rng) for _ in range(n_traits)])
    mu = 0.0 if planted is None else float(np.sqrt(h2 * share / (ann @ ann)))
    return beta, mu


def panel_sumstats(world: World, beta: np.ndarray, *, n: float, rng: np.random.Generator) -> np.ndarray:
    """Z-scores with ``alpha_hat ~ N(R beta, R / n)`` per block, ``R`` the panel's LD (see module doc)."""
    z = np.empty(beta.shape)
    scale = 1.0 / np.sqrt(world.n_ref * n)
    for i, b in enumerate(world.blocks):
        sl = slice(world.offsets[i], world.offsets[i + 1])
        g = rng.standard_normal((world.n_ref, beta.shape[1]))
        z[sl] = b.x.T @ (b.x @ beta[sl] / world.n_ref + g * scale) * np.sqrt(n)
    return z


def cohort_sumstats(world: World, beta: np.ndarray, *, h2: float, rng: np.random.Generator) -> np.ndarray:
    """Individual-level GWAS in the simulated cohort, all traits at once.

    ``y = sum_b X_std,b beta_b + e``, ``e ~ N(0, 1 - h2)`` (:func:`stats.simulate.simulate_trait`) and
    Z = OLS t of the ALT dosage (:func:`stats.simulate.sumstats`), via ``t = r sqrt(n-2)/sqrt(1-r^2)``.
    """
    n = world.n_gwas
    y = rng.standard_normal((n, beta.shape[1])) * np.sqrt(max(1 - h2, 1e-6))
    xs = [standardized(b.gwas) for b in world.blocks]
    for i, x in enumerate(xs):
        y += x @ beta[world.offsets[i]:world.offsets[i + 1]]
    yc = y - y.mean(axis=0)
    yc /= np.sqrt((yc ** 2).mean(axis=0))
    z = np.empty(beta.shape)
    for i, x in enumerate(xs):
        r = x.T @ yc / n
        with np.errstate(invalid="ignore", divide="ignore"):
            t = r * np.sqrt(n - 2) / np.sqrt(1 - r ** 2)
        t[np.all(x == 0, axis=0)] = np.nan  # monomorphic in the cohort: untyped
        z[world.offsets[i]:world.offsets[i + 1]] = t
    return z


# -- SLDP on many traits at once ------------------------------------------------------------------------

@dataclass
class SldpRun:
    mu: np.ndarray      # (P, K)
    se: np.ndarray      # (P, K)
    p: np.ndarray       # (P, K) sign-flip p
    p_fast: np.ndarray  # (P, K)
    h2g: np.ndarray     # (P,)


def run_sldp_arrays(world: World, z: np.ndarray, *, n: float, seed: int, draws: int = 20_000) -> SldpRun:
    """SLDP for every trait (column of ``z``) and annotation, through the array-level stages: h2g, block
    products, then :func:`stats.sldp.regression.fit_blocks` (300 chunks, fit, ``draws`` sign flips in one
    block of draws, the results table)."""
    p = z.shape[1]
    l2 = np.concatenate([b.l2 for b in world.blocks])
    m_5_50 = float((world.maf >= 0.05).sum())
    h2 = [estimate_h2g(z[:, j], np.full(len(z), float(n)), l2, m=m_5_50) for j in range(p)]
    sigma2g = np.array([e.sigma2g for e in h2])
    h2g = np.array([e.h2g for e in h2])
    ahat = z / np.sqrt(n)
    prods = [block_products(b.rv, ahat[world.offsets[i]:world.offsets[i + 1]], n=float(n), sigma2g=sigma2g,
                            rv_background=b.rv_bg, svd=b.svd)
             for i, b in enumerate(world.blocks)]
    table, fit = fit_blocks(prods, h2g=h2g, sigma2g=sigma2g, sqnorm=(world.v ** 2).sum(axis=0),
                            supp=(world.v != 0).sum(axis=0), m=world.m, annotation_names=list(ANNOTATIONS),
                            phenotype_names=[f"trait{j}" for j in range(p)], background_names=list(BACKGROUND),
                            n_chunks=300, rng=seed, n_draws=draws, draw_block=draws)
    return SldpRun(mu=fit.mu, se=fit.se, p=table["p"].to_numpy().reshape(p, -1), p_fast=fit.p_fast, h2g=h2g)


# -- summaries ------------------------------------------------------------------------------------------

def binomial_acceptance(n: int, rate: float = ALPHA, level: float = 0.95) -> tuple[int, int]:
    """Central acceptance region ``[lo, hi]`` of a Binomial(n, rate) count: ``P(X < lo) <= (1-level)/2``
    and ``P(X > hi) <= (1-level)/2``, exact."""
    tail = (1 - level) / 2
    return int(st.binom.ppf(tail, n, rate)), int(st.binom.isf(tail, n, rate))


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    a = 1 - level
    lo = st.beta.ppf(a / 2, k, n - k + 1) if k > 0 else 0.0
    hi = st.beta.isf(a / 2, k + 1, n - k) if k < n else 1.0
    return float(lo), float(hi)


def null_summary(run: SldpRun, k: int, *, level: float = 0.95) -> dict:
    p = run.p[:, k]
    n = int(np.isfinite(p).sum())
    rej = int((p[np.isfinite(p)] <= ALPHA).sum())
    lo, hi = binomial_acceptance(n, level=level)
    mu, se = run.mu[:, k], run.se[:, k]
    sd = float(np.std(mu, ddof=1))
    return dict(n=n, rejections=rej, type1=rej / n, accept=(lo, hi), ok=lo <= rej <= hi,
                cp=clopper_pearson(rej, n), type1_fast=float(np.mean(run.p_fast[:, k] <= ALPHA)),
                sd_mu=sd, mean_se=float(np.mean(se)), se_ratio=float(np.mean(se)) / sd,
                rms_se_ratio=float(np.sqrt(np.mean(se ** 2))) / sd, mean_mu=float(np.mean(mu)))


def planted_summary(run: SldpRun, k: int, mu_true: float) -> dict:
    p, mu, se = run.p[:, k], run.mu[:, k], run.se[:, k]
    sig = p <= ALPHA
    reps = len(mu)
    sd = float(np.std(mu, ddof=1))
    bias = float(np.mean(mu)) - mu_true
    return dict(n=reps, power=float(np.mean(sig)),
                sign_ok=float(np.mean(np.sign(mu[sig]) == np.sign(mu_true))) if sig.any() else float("nan"),
                mu_true=mu_true, mean_mu=float(np.mean(mu)), bias_mc=bias / (sd / np.sqrt(reps)),
                bias_se=bias / float(np.mean(se)), se_ratio=float(np.mean(se)) / sd)


@dataclass
class Design:
    name: str
    n: float
    h2: float
    share: float       # directional share of h2 in planted traits
    bg_share: float    # share of h2 along the background in null traits


def evaluate(world: World, design: Design, *, n_null: int, n_planted: int, seed: int, draws: int,
             level: float = 0.95) -> list:
    """Null and planted replicate sets of one design; returns table rows (dicts)."""
    rng = np.random.default_rng([seed, sum(map(ord, design.name))])
    rows = []

    def sumstats(beta):
        if design.name == "panel":
            return panel_sumstats(world, beta, n=design.n, rng=rng)
        return cohort_sumstats(world, beta, h2=design.h2, rng=rng)

    beta, _ = draw_effects(world, n_traits=n_null, h2=design.h2, planted=None, share=0.0,
                           bg_share=design.bg_share, rng=rng)
    run = run_sldp_arrays(world, sumstats(beta), n=design.n, seed=int(rng.integers(2 ** 62)), draws=draws)
    for k, name in enumerate(ANNOTATIONS):
        rows.append(dict(design=design.name, annot=name, kind="null", **null_summary(run, k, level=level)))
    # pooled over annotations (nearly independent tests: independent annotations)
    pooled = SldpRun(mu=run.mu.reshape(-1, 1), se=run.se.reshape(-1, 1), p=run.p.reshape(-1, 1),
                     p_fast=run.p_fast.reshape(-1, 1), h2g=run.h2g)
    row = null_summary(pooled, 0, level=level)
    row.update(se_ratio=float("nan"), rms_se_ratio=float("nan"))  # annotations differ in scale: not pooled
    rows.append(dict(design=design.name, annot="pooled", kind="null", **row))
    for k, name in enumerate(ANNOTATIONS):
        beta, mu_true = draw_effects(world, n_traits=n_planted, h2=design.h2, planted=k, share=design.share,
                                     bg_share=0.0, rng=rng)
        run = run_sldp_arrays(world, sumstats(beta), n=design.n, seed=int(rng.integers(2 ** 62)), draws=draws)
        rows.append(dict(design=design.name, annot=name, kind="planted", **planted_summary(run, k, mu_true)))
    return rows


def _fmt(x: float) -> str:
    return "-" if not np.isfinite(x) else f"{x:.3f}"


def format_table(rows: list) -> str:
    out = ["Null replicates (sign-flip test at alpha = 0.05):",
           "| design | annotation | tests | rejections | type-I error | exact 95% acceptance (count) | "
           "Clopper-Pearson 95% CI | within | type-I (fast p) | mean jackknife SE / SD(mu_hat) | RMS SE / SD |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["kind"] != "null":
            continue
        lo, hi = r["accept"]
        out.append(f"| {r['design']} | {r['annot']} | {r['n']} | {r['rejections']} | {r['type1']:.3f} | "
                   f"[{lo}, {hi}] = [{lo / r['n']:.3f}, {hi / r['n']:.3f}] | [{r['cp'][0]:.3f}, {r['cp'][1]:.3f}] | "
                   f"{'yes' if r['ok'] else 'NO'} | {r['type1_fast']:.3f} | {_fmt(r['se_ratio'])} | "
                   f"{_fmt(r['rms_se_ratio'])} |")
    out += ["", "Planted directional effect (beta = mu v + polygenic):",
            "| design | annotation | replicates | mu_true | mean mu_hat | power | right sign among significant | "
            "bias / MC SE | bias / mean jackknife SE | jackknife SE / SD |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["kind"] != "planted":
            continue
        out.append(f"| {r['design']} | {r['annot']} | {r['n']} | {r['mu_true']:.4g} | {r['mean_mu']:.4g} | "
                   f"{r['power']:.3f} | {r['sign_ok']:.3f} | {r['bias_mc']:+.2f} | {r['bias_se']:+.3f} | "
                   f"{r['se_ratio']:.3f} |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n-null", type=int, default=500)
    ap.add_argument("--n-planted", type=int, default=200)
    ap.add_argument("--n-cohort-null", type=int, default=200)
    ap.add_argument("--n-cohort-planted", type=int, default=100)
    ap.add_argument("--n-chrom", type=int, default=3)
    ap.add_argument("--length", type=int, default=6_000_000)
    ap.add_argument("--n-ref", type=int, default=500)
    ap.add_argument("--n-gwas", type=int, default=3000)
    ap.add_argument("--gwas-n", type=float, default=20_000, help="N of the panel-LD design")
    ap.add_argument("--h2", type=float, default=0.3)
    ap.add_argument("--share", type=float, default=0.01, help="directional share of h2 (panel design)")
    ap.add_argument("--cohort-share", type=float, default=0.05, help="directional share of h2 (cohort design)")
    ap.add_argument("--bg-share", type=float, default=0.05, help="share of h2 along the background in nulls")
    ap.add_argument("--draws", type=int, default=20_000, help="sign-flip draws per test")
    ap.add_argument("--no-cohort", action="store_true", help="skip the individual-level cohort design")
    a = ap.parse_args(argv)
    t0 = time.time()
    world = build_world(seed=a.seed, n_chrom=a.n_chrom, length=a.length, n_ref=a.n_ref,
                        n_gwas=0 if a.no_cohort else a.n_gwas)
    t_world = time.time() - t0
    print("command: python " + " ".join(["validation/sldp_calibration.py"] + (argv if argv is not None else sys.argv[1:])))
    print(f"world: {a.n_chrom} chromosomes x {a.length / 1e6:g} Mb (msprime), n_ref = {a.n_ref}, "
          f"{world.m} SNPs with MAF >= 5%, {len(world.blocks)} LD blocks (= jackknife chunks), "
          f"GWAS cohort n = {0 if a.no_cohort else a.n_gwas}; built in {t_world:.0f} s")
    rows = evaluate(world, Design("panel", n=a.gwas_n, h2=a.h2, share=a.share, bg_share=a.bg_share),
                    n_null=a.n_null, n_planted=a.n_planted, seed=a.seed, draws=a.draws)
    if not a.no_cohort:
        rows += evaluate(world, Design("cohort", n=a.n_gwas, h2=a.h2, share=a.cohort_share, bg_share=a.bg_share),
                         n_null=a.n_cohort_null, n_planted=a.n_cohort_planted, seed=a.seed, draws=a.draws)
    print(f"designs: panel = alpha_hat ~ N(R beta, R/N) from the panel's LD, N = {a.gwas_n:g}, h2 = {a.h2}, "
          f"planted share {a.share}; cohort = individual-level GWAS of the msprime cohort (n = {a.n_gwas}), "
          f"h2 = {a.h2}, planted share {a.cohort_share}; null traits carry {a.bg_share} of h2 along the "
          f"background 'derived' annotation; sign flip with {a.draws} draws")
    print(format_table(rows))
    print(f"total {time.time() - t0:.0f} s")
    ok = all(r["ok"] for r in rows if r["kind"] == "null")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
