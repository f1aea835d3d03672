"""Simulated populations and the statistics they produce: panels, eQTLs, GWAS, de novo, fine-mapping.

Genotypes come from msprime (coalescent with recombination over a hotspot map, human-like Ne and
mutation rate); phenotypes are built from per-SNP effects given by the caller (the simulated genome's
true variant effects), so the methods of this package can be checked against a known truth.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import msprime
import numpy as np
import pandas as pd
from scipy import stats as sps

from stats.ld.matrix import standardized

logger = logging.getLogger(__name__)

COHORTS = ("ref_panel", "eqtl_cohort", "gwas_cohort")
TRANSITION = {"A": "G", "G": "A", "C": "T", "T": "C"}


@dataclass(frozen=True)
class PanelConfig:
    """Sizes of the simulated cohorts and the population-genetic parameters.

    Rates are per bp per generation; lengths in bp.
    """

    n_reference: int = 500
    n_eqtl: int = 400
    n_gwas: int = 2000
    population_size: float = 10_000.0
    mutation_rate: float = 1.25e-8
    recombination_rate: float = 1e-8
    hotspot_spacing: float = 50_000.0
    hotspot_width: int = 2_000
    hotspot_share: float = 0.7
    min_maf: float = 0.01
    ld_block_length: int = 200_000

    def __post_init__(self):
        if min(self.n_reference, self.n_eqtl, self.n_gwas) < 10:
            raise ValueError("each cohort needs at least 10 individuals")
        if not 0 <= self.hotspot_share < 1:
            raise ValueError("hotspot_share must be in [0, 1)")

    @property
    def cohort_sizes(self) -> dict:
        return dict(zip(COHORTS, (self.n_reference, self.n_eqtl, self.n_gwas)))


@dataclass
class ChromosomePanel:
    """Genotypes of every cohort on one chromosome.

    Attributes
    ----------
    chrom : str
    positions : ndarray, int64, shape (n_snps,)
        1-based positions.
    cm : ndarray, float64, shape (n_snps,)
        Genetic positions in centimorgans.
    dosage : dict of cohort name -> ndarray, int8, shape (n_individuals, n_snps)
        Count of the derived allele (the ALT allele).
    ld_blocks : ndarray, int64, shape (n_blocks, 2)
        0-based half-open block intervals covering the chromosome.
    rate_map : msprime.RateMap
    """

    chrom: str
    positions: np.ndarray
    cm: np.ndarray
    dosage: dict
    ld_blocks: np.ndarray
    rate_map: msprime.RateMap


def hotspot_map(length: int, cfg: PanelConfig, rng: np.random.Generator) -> tuple[msprime.RateMap, np.ndarray]:
    """A recombination map with narrow hotspots on a low background; mean rate ``recombination_rate``.

    Returns
    -------
    rate_map : msprime.RateMap
    centres : ndarray, int64
        Hotspot centres (0-based).
    """
    centres = []
    x = 0.0
    while True:
        x += rng.exponential(cfg.hotspot_spacing)
        if x >= length - cfg.hotspot_width:
            break
        centres.append(int(x))
    centres = np.array(centres, dtype=np.int64)
    w = cfg.hotspot_width
    centres = centres[(centres > w) & (centres < length - w)]
    keep = np.concatenate([[True], np.diff(centres) > 2 * w]) if len(centres) else np.zeros(0, bool)
    centres = centres[keep]
    bg = cfg.recombination_rate * (1 - cfg.hotspot_share)
    total_hot = cfg.recombination_rate * cfg.hotspot_share * length
    hot_rate = bg + (total_hot / max(len(centres), 1)) / w
    breaks, rates = [0.0], []
    for c in centres:
        breaks += [c - w / 2, c + w / 2]
        rates += [bg, hot_rate]
    breaks.append(float(length))
    rates.append(bg)
    return msprime.RateMap(position=breaks, rate=rates), centres


def ld_blocks_from_hotspots(length: int, centres: np.ndarray, block_length: int) -> np.ndarray:
    """Contiguous blocks split at hotspots, each at least ``block_length`` bp (last one may be shorter)."""
    bounds = [0]
    for c in centres:
        if c - bounds[-1] >= block_length and length - c >= block_length // 2:
            bounds.append(int(c))
    bounds.append(length)
    return np.column_stack([bounds[:-1], bounds[1:]]).astype(np.int64)


def simulate_chromosome(chrom: str, length: int, cfg: PanelConfig, *, seed, mask: np.ndarray | None = None
                        ) -> ChromosomePanel:
    """Coalescent genotypes for all cohorts on one chromosome.

    Parameters
    ----------
    chrom : str
    length : int
        Chromosome length in bp.
    cfg : PanelConfig
    seed : int or numpy.random.SeedSequence
    mask : ndarray, bool, shape (length,), optional
        True where no SNP may lie (e.g. N bases of the genome).

    Returns
    -------
    ChromosomePanel
        Biallelic SNPs with MAF >= ``min_maf`` in the reference panel.
    """
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    s_map, s_anc, s_mut = ss.spawn(3)
    rate_map, centres = hotspot_map(length, cfg, np.random.default_rng(s_map))
    n_total = sum(cfg.cohort_sizes.values())
    ts = msprime.sim_ancestry(samples=n_total, ploidy=2, population_size=cfg.population_size,
                              recombination_rate=rate_map, sequence_length=length,
                              random_seed=int(s_anc.generate_state(1)[0]))
    ts = msprime.sim_mutations(ts, rate=cfg.mutation_rate, random_seed=int(s_mut.generate_state(1)[0]),
                               discrete_genome=True)
    n_mut = np.bincount(ts.tables.mutations.site, minlength=ts.num_sites)
    site_pos = ts.tables.sites.position.astype(np.int64)
    keep = n_mut == 1
    if mask is not None:
        keep &= ~mask[site_pos]
    hap = ts.genotype_matrix()[keep]  # (sites, haplotypes), 1 = derived
    pos0 = site_pos[keep]
    dos = (hap[:, 0::2] + hap[:, 1::2]).T.astype(np.int8)  # (individuals, sites)
    sizes = cfg.cohort_sizes
    bounds = np.cumsum([0] + list(sizes.values()))
    ref = dos[bounds[0]:bounds[1]]
    freq = ref.mean(axis=0) / 2
    ok = np.minimum(freq, 1 - freq) >= cfg.min_maf
    dosage = {name: np.ascontiguousarray(dos[a:b, ok]) for name, a, b in zip(sizes, bounds[:-1], bounds[1:])}
    pos0 = pos0[ok]
    cm = rate_map.get_cumulative_mass(pos0.astype(float)) * 100.0
    logger.info("%s: %d SNPs with MAF >= %.3g of %d sites", chrom, len(pos0), cfg.min_maf, ts.num_sites)
    return ChromosomePanel(chrom=chrom, positions=pos0 + 1, cm=cm, dosage=dosage,
                           ld_blocks=ld_blocks_from_hotspots(length, centres, cfg.ld_block_length),
                           rate_map=rate_map)


def draw_alt_alleles(ref: np.ndarray, rng: np.random.Generator, *, ts_tv: float = 2.0) -> np.ndarray:
    """Alternative alleles for reference bases, transitions ``ts_tv`` times as likely as transversions.

    Parameters
    ----------
    ref : ndarray of str, shape (n,)
        'A', 'C', 'G' or 'T'.

    Returns
    -------
    ndarray of str, shape (n,)
    """
    p_ts = ts_tv / (ts_tv + 1)
    out = np.empty(len(ref), dtype="<U1")
    u = rng.random(len(ref))
    pick = rng.integers(0, 2, len(ref))
    for i, (r, x, k) in enumerate(zip(ref, u, pick)):
        if x < p_ts:
            out[i] = TRANSITION[r]
        else:
            tv = [b for b in "ACGT" if b != r and b != TRANSITION[r]]
            out[i] = tv[k]
    return out


def marginal_regression(x: np.ndarray, y: np.ndarray, *, chunk: int = 2048) -> pd.DataFrame:
    """Per-SNP OLS of ``y`` on each column of ``x`` with an intercept.

    Parameters
    ----------
    x : ndarray, shape (n, m)
        Genotype dosages (any numeric dtype; converted a chunk of columns at a time).
    y : ndarray, shape (n,)

    Returns
    -------
    DataFrame with slope, slope_se, t, pval (two-sided, t distribution with n - 2 df); NaN for
    monomorphic columns.
    """
    n, m = x.shape
    yc = y - y.mean()
    slope, sxx = np.empty(m), np.empty(m)
    for a in range(0, m, chunk):
        xc = x[:, a:a + chunk].astype(np.float64)
        xc -= xc.mean(axis=0)
        sxx[a:a + chunk] = (xc**2).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            slope[a:a + chunk] = xc.T @ yc / sxx[a:a + chunk]
    with np.errstate(divide="ignore", invalid="ignore"):
        resid_var = np.maximum((yc**2).sum() - slope**2 * sxx, 0) / (n - 2)
        se = np.sqrt(resid_var / sxx)
        t = slope / se
    p = 2 * sps.t.sf(np.abs(t), df=n - 2)
    return pd.DataFrame({"slope": slope, "slope_se": se, "t": t, "pval": p})


def bh_fdr(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), same order as ``p``."""
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty_like(q)
    out[order] = np.minimum(q, 1.0)
    return out


def simulate_eqtl(dosage: np.ndarray, snps: pd.DataFrame, genes: pd.DataFrame, effects: pd.DataFrame, *,
                  cis_window: int, median_h2: float, rng: np.random.Generator, fdr: float = 0.05,
                  max_h2: float = 0.5) -> tuple[pd.DataFrame, dict]:
    """Expression from true per-allele effects plus noise, and GTEx-layout cis-eQTL statistics.

    Parameters
    ----------
    dosage : ndarray, int8, shape (n_individuals, n_snps)
        ALT-allele counts of the eQTL cohort; columns follow ``snps``.
    snps : DataFrame
        ``variant_id``, ``chrom``, ``pos`` (1-based), one row per column of ``dosage``.
    genes : DataFrame
        ``gene_id``, ``chrom``, ``tss`` (1-based).
    effects : DataFrame
        ``snp_index`` (row of ``snps``), ``gene_id``, ``log2_afc``: true per-ALT-allele effect on the
        gene's log2 expression.
    cis_window : int
        Pairs with ``|pos - tss| <= cis_window`` are tested.
    median_h2 : float
        The genetic effects are scaled by one factor so that the median cis heritability over genes
        with a genetic component is this value (noise has unit variance).
    max_h2 : float
        Genes whose heritability would exceed this are scaled down to it.

    Returns
    -------
    table : DataFrame
        gene_id, variant_id, tss_distance, maf, pval_nominal, slope, slope_se, qval, significant.
    info : dict
        The scale factor and per-gene heritabilities.
    """
    n = dosage.shape[0]
    gene_index = {g: i for i, g in enumerate(genes.gene_id)}
    genetic = np.zeros((n, len(genes)))
    for gid, grp in effects.groupby("gene_id", sort=False):
        genetic[:, gene_index[gid]] = dosage[:, grp.snp_index.to_numpy()] @ grp.log2_afc.to_numpy()
    var_g = genetic.var(axis=0)
    active = var_g > 0
    scale = np.sqrt(median_h2 / (1 - median_h2) / np.median(var_g[active])) if active.any() else 0.0
    gene_scale = np.minimum(scale, np.sqrt(max_h2 / (1 - max_h2) / np.where(active, var_g, 1.0)))
    y = gene_scale * genetic + rng.standard_normal(genetic.shape)
    h2 = gene_scale**2 * var_g / (gene_scale**2 * var_g + 1)
    freq = dosage.mean(axis=0) / 2
    maf = np.minimum(freq, 1 - freq)
    parts = []
    for gi, g in enumerate(genes.itertuples(index=False)):
        sel = np.flatnonzero((snps.chrom.to_numpy() == g.chrom) & (np.abs(snps.pos.to_numpy() - g.tss) <= cis_window))
        if len(sel) == 0:
            continue
        sel = sel[maf[sel] > 0]  # monomorphic in this cohort: not testable, as in GTEx
        reg = marginal_regression(dosage[:, sel], y[:, gi])
        parts.append(pd.DataFrame({
            "gene_id": g.gene_id, "variant_id": snps.variant_id.to_numpy()[sel],
            "tss_distance": snps.pos.to_numpy()[sel] - g.tss, "maf": maf[sel],
            "pval_nominal": reg.pval.to_numpy(), "slope": reg.slope.to_numpy(),
            "slope_se": reg.slope_se.to_numpy()}))
    table = pd.concat(parts, ignore_index=True)
    table["qval"] = bh_fdr(table.pval_nominal.to_numpy())
    table["significant"] = table.qval <= fdr
    info = {"scale": float(scale), "median_h2": float(np.median(h2[active])) if active.any() else 0.0,
            "n_genes_with_effects": int(active.sum()), "n_significant_pairs": int(table.significant.sum()),
            "n_egenes": int(table.loc[table.significant, "gene_id"].nunique())}
    return table, info


def gwas_effects(annotation: np.ndarray, *, h2: float, directional_share: float, rng: np.random.Generator
                 ) -> np.ndarray:
    """Per-SNP effects (per standardized genotype): a directional part along ``annotation`` plus a
    polygenic Gaussian part.

    The directional part is ``tau * annotation`` with ``tau`` set so that it carries
    ``directional_share * h2`` of the variance (assuming unlinked SNPs); the rest is i.i.d. normal.

    Returns
    -------
    beta : ndarray, float64, shape (n_snps,)
    """
    m = len(annotation)
    beta = rng.standard_normal(m) * np.sqrt(h2 * (1 - directional_share) / m)
    norm2 = float(annotation @ annotation)
    if directional_share > 0 and norm2 > 0:
        beta += np.sqrt(h2 * directional_share / norm2) * annotation
    return beta


def simulate_trait(x_std_blocks: list, beta_blocks: list, *, h2: float, rng: np.random.Generator) -> np.ndarray:
    """Phenotype ``y = sum_chrom X_std beta + e`` with noise variance ``1 - h2``.

    Parameters
    ----------
    x_std_blocks : list of ndarray, shape (n, m_c)
        Standardized genotypes per chromosome.
    beta_blocks : list of ndarray, shape (m_c,)
    """
    n = x_std_blocks[0].shape[0]
    g = np.zeros(n)
    for x, b in zip(x_std_blocks, beta_blocks):
        g += x @ b
    return g + rng.standard_normal(n) * np.sqrt(max(1 - h2, 1e-6))


def sumstats(dosage_blocks: list, y: np.ndarray) -> np.ndarray:
    """GWAS Z-scores (OLS t-statistics of the ALT allele) for every SNP, chromosomes concatenated."""
    return np.concatenate([marginal_regression(d, y).t.to_numpy() for d in dosage_blocks])


def sumstats_from_ld(x_std_blocks: list, beta_blocks: list, *, n_gwas: int, rng: np.random.Generator) -> np.ndarray:
    """GWAS Z-scores of a study of ``n_gwas`` people, drawn from a cohort's LD instead of simulated per person.

    For small per-SNP effects the marginal Z-scores of a study of size ``N`` are
    ``z ~ Normal(sqrt(N) R beta, R)`` with ``R`` the SNPs' LD (correlation) matrix. With the cohort's
    standardized genotypes ``X`` (``n`` people), ``R = X'X / n``, so both parts are drawn without forming
    ``R``: ``z = sqrt(N) X'(X beta) / n + X'u / sqrt(n)`` with ``u ~ Normal(0, I_n)``, whose covariance is
    exactly ``R``. This gives the summary statistics of a realistically large GWAS (N of 10^4-10^6) at
    the cost of the cohort's size, as in the summary-statistic simulations of the LD-score and SLDP papers.

    Parameters
    ----------
    x_std_blocks : list of ndarray, shape (n, m_c)
        Standardized genotypes per chromosome (columns of monomorphic SNPs all 0 or NaN).
    beta_blocks : list of ndarray, shape (m_c,)
        Per-SNP effects on the standardized genotypes (``gwas_effects``), in phenotype SD units.
    n_gwas : int
        Sample size of the simulated study.

    Returns
    -------
    ndarray, float64, shape (sum m_c,)
        Z-scores, chromosomes concatenated; NaN where the cohort has no variation.
    """
    out = []
    for x, b in zip(x_std_blocks, beta_blocks):
        x = np.asarray(x, dtype=np.float64)
        n = x.shape[0]
        ok = np.isfinite(x).all(axis=0) & (x.std(axis=0) > 0)
        xo = np.where(ok[None, :], x, 0.0)
        z = np.sqrt(n_gwas) * (xo.T @ (xo @ np.where(ok, b, 0.0))) / n + xo.T @ rng.standard_normal(n) / np.sqrt(n)
        out.append(np.where(ok, z, np.nan))
    return np.concatenate(out)


def catalog_snps(snps: pd.DataFrame, score: np.ndarray, *, n_positive: int, negatives_per_positive: int,
                 rng: np.random.Generator, maf_bins: int = 10) -> pd.DataFrame:
    """A GWAS-catalog-like positive set, drawn with probability proportional to ``score``, and
    negatives matched to the positives' MAF distribution.

    Parameters
    ----------
    snps : DataFrame with at least ``maf``.
    score : ndarray, float64, shape (n_snps,), non-negative
        E.g. the largest absolute true effect of each SNP.

    Returns
    -------
    DataFrame: the rows of ``snps`` chosen, with ``label`` 1 (positive) or 0 (negative).
    """
    w = np.asarray(score, dtype=float) + 1e-12
    pos = rng.choice(len(snps), size=min(n_positive, len(snps) // (1 + negatives_per_positive)),
                     replace=False, p=w / w.sum())
    edges = np.quantile(snps.maf, np.linspace(0, 1, maf_bins + 1))
    bins = np.clip(np.searchsorted(edges, snps.maf.to_numpy(), side="right") - 1, 0, maf_bins - 1)
    is_pos = np.zeros(len(snps), bool)
    is_pos[pos] = True
    neg = []
    for b in range(maf_bins):
        need = int(np.sum(bins[pos] == b)) * negatives_per_positive
        pool = np.flatnonzero((bins == b) & ~is_pos)
        if need:
            neg.append(rng.choice(pool, size=min(need, len(pool)), replace=False))
    neg = np.concatenate(neg) if neg else np.zeros(0, int)
    out = pd.concat([snps.iloc[np.sort(pos)].assign(label=1), snps.iloc[np.sort(neg)].assign(label=0)])
    return out.reset_index(drop=True)


def denovo_families(pool: pd.DataFrame, burden: np.ndarray, *, n_families: int, mean_per_child: float,
                    case_enrichment: float, rng: np.random.Generator) -> pd.DataFrame:
    """De novo variants of simulated quartets (one case and one unaffected sibling per family).

    Each child gets ``1 + Poisson(mean_per_child - 1)`` variants drawn from ``pool``; siblings draw
    uniformly, cases with weight ``case_enrichment`` on variants where ``burden`` is True (e.g. a
    strongly negative effect in brain cell types) and 1 elsewhere.

    Returns
    -------
    DataFrame: the pool's columns plus ``family``, ``role`` ('case' or 'control'), ``individual``.
    """
    w_case = np.where(burden, case_enrichment, 1.0)
    w_case /= w_case.sum()
    rows = []
    for f in range(n_families):
        for role, w in (("case", w_case), ("control", None)):
            k = 1 + int(rng.poisson(mean_per_child - 1))
            idx = rng.choice(len(pool), size=k, replace=True, p=w)
            part = pool.iloc[idx].copy()
            part["family"] = f"fam{f + 1:04d}"
            part["role"] = role
            part["individual"] = f"fam{f + 1:04d}.{'p1' if role == 'case' else 's1'}"
            rows.append(part)
    out = pd.concat(rows, ignore_index=True)
    out["variant_id"] = [f"dn{i + 1:06d}" for i in range(len(out))]
    return out


def ld_r(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation between genotype column(s) ``x`` (n, k) and ``y`` (n,)."""
    xs, ys = standardized(np.atleast_2d(x.T).T), standardized(y[:, None])[:, 0]
    return xs.T @ ys / len(ys)


def pick_finemap_causal(panel: ChromosomePanel, candidates: np.ndarray, rng: np.random.Generator, *,
                        r2_range=(0.6, 0.95), window: int = 100_000, min_maf: float = 0.1) -> tuple[int, int]:
    """Pick a causal SNP among ``candidates`` (column indices) with a partner SNP in LD within
    ``r2_range`` in the reference panel, so that the lead SNP of its association may differ from it.

    Returns
    -------
    (causal, partner) column indices.
    """
    ref = panel.dosage["ref_panel"].astype(np.float64)
    freq = ref.mean(axis=0) / 2
    maf = np.minimum(freq, 1 - freq)
    for c in rng.permutation(candidates):
        if maf[c] < min_maf:
            continue
        near = np.flatnonzero((np.abs(panel.positions - panel.positions[c]) <= window) & (maf >= min_maf))
        near = near[near != c]
        if len(near) == 0:
            continue
        r2 = ld_r(ref[:, near], ref[:, c]) ** 2
        ok = near[(r2 >= r2_range[0]) & (r2 <= r2_range[1])]
        if len(ok):
            return int(c), int(ok[np.argmax(r2[np.isin(near, ok)])])
    raise ValueError("no candidate SNP has a partner in the requested LD range; use a larger world")
