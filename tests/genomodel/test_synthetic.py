"""The generative function and its exact variant effects, checked against whole-window recomputation."""
import numpy as np
import pytest

from genocore.config import from_dict
from genomodel import dna
from genomodel import synthetic as syn


@pytest.fixture(scope="module")
def genome():
    cfg = syn.GenomeConfig(n_chromosomes=1, chromosome_length=400_000, gene_spacing=30_000)
    g = syn.simulate_genome(cfg, seed=3)
    return g, syn.landscape(g, g.sequences["chr1"])


def _window_effect(g, codes, p, a):
    """Slow, obvious truth: evaluate the generative function on ref and alt windows and subtract."""
    cfg = g.config
    reach = cfg.enhancer_reach + cfg.motif_reach
    h = 2 * reach + 10
    lo = p - h
    w_ref = codes[max(lo, 0):p + h + 1]
    pad = max(0, -lo)
    w_ref = np.concatenate([np.full(pad, dna.N_CODE, np.uint8), w_ref])
    w_alt = w_ref.copy()
    w_alt[h] = a
    out = np.zeros(2 * len(cfg.cell_types))
    for sign, w in ((-1, w_ref), (1, w_alt)):
        land = syn.landscape(g, w)
        sl = slice(h - reach, h + reach + 1)
        out[0::2] += sign * land.dnase_mean(cfg)[:, sl].sum(axis=1)
        out[1::2] += sign * land.cage_mean(cfg)[:, sl].sum(axis=1)
    return out


def test_fast_effects_equal_window_recomputation(genome):
    g, land = genome
    codes = g.sequences["chr1"]
    rng = np.random.default_rng(0)
    el = g.elements
    tss = np.array([t for x in g.genes for t in x.tss])
    # variants inside elements, inside core-promoter motifs at TSSs, and anywhere
    pos = np.concatenate([rng.integers(el.start, el.end)[:12], tss[:8] + rng.integers(-6, 7, 8),
                          rng.integers(30_000, 370_000, 5)])
    pos = pos[codes[pos] != dna.N_CODE]
    alt = ((codes[pos] + rng.integers(1, 4, len(pos))) % 4).astype(np.uint8)
    fast = syn.variant_effects(g, land, "chr1", pos, alt)
    slow = np.array([_window_effect(g, codes, int(p), int(a)) for p, a in zip(pos, alt)])
    scale = np.abs(slow).max()
    assert scale > 1.0  # the chosen variants do something
    np.testing.assert_allclose(fast.tracks, slow, rtol=1e-7, atol=1e-9 * scale)


def test_gene_effects_equal_window_recomputation_at_the_gene_tss(genome):
    g, land = genome
    cfg = g.config
    codes = g.sequences["chr1"]
    h = 2 * (cfg.enhancer_reach + cfg.motif_reach) + 10
    gene = next(x for x in g.genes if 2 * h < min(x.tss) and max(x.tss) < len(codes) - 2 * h)
    t0 = gene.tss[0]
    rng = np.random.default_rng(2)
    pos = np.concatenate([np.arange(t0 - 150, t0 + 150, 23), rng.integers(t0 - 19_000, t0 + 19_000, 6)])
    pos = pos[codes[pos] != dna.N_CODE]
    alt = ((codes[pos] + 1) % 4).astype(np.uint8)
    eff = syn.variant_effects(g, land, "chr1", pos, alt).genes
    eff = eff[eff.gene_id == gene.gene_id].set_index("variant")
    assert len(eff) >= len(pos) // 2
    for v, (p, a) in enumerate(zip(pos, alt)):
        lo = p - h
        w_ref = codes[lo:p + h + 1]
        w_alt = w_ref.copy()
        w_alt[h] = a
        def signal(w):
            land_w = syn.landscape(g, w)
            at = np.isin(land_w.tss_pos, np.array(sorted(set(gene.tss))) - lo)
            return land_w.cage_mean_at_tss(cfg)[:, at].sum(axis=1)
        slow = signal(w_alt) - signal(w_ref)
        fast = eff.loc[v, g.cell_types].to_numpy(dtype=float) if v in eff.index else np.zeros(len(slow))
        np.testing.assert_allclose(fast, slow, rtol=1e-7, atol=1e-9)


def test_planted_sites_are_bound(genome):
    g, _ = genome
    rng = np.random.default_rng(1)
    for m in g.motifs + [g.core_motif]:
        scores = [syn.motif_scores(syn._sample_instance(m, rng), m.log_odds)[0] for _ in range(100)]
        assert np.mean(np.array(scores) > m.threshold) > 0.8, m.name


def test_creating_motif_makes_a_site(genome):
    g, _ = genome
    g2 = syn.SimGenome(**{**g.__dict__, "sequences": {"chr1": g.sequences["chr1"].copy()}})
    m = g.motifs[0]
    p = 123_456
    alt = syn.plant_creating_motif(g2, "chr1", p, m)
    codes = g2.sequences["chr1"]
    win = slice(p - m.length + 1, p + m.length)
    ref_best = max(syn.motif_scores(codes[win], lo).max() for lo in (m.log_odds, m.log_odds_rc))
    mut = codes.copy()
    mut[p] = alt
    alt_best = max(syn.motif_scores(mut[win], lo).max() for lo in (m.log_odds, m.log_odds_rc))
    assert alt_best == pytest.approx(m.max_score)
    assert ref_best < alt_best


def test_config_rejects_unknown_and_short():
    with pytest.raises(KeyError, match="did you mean 'gene_spacing'"):
        from_dict(syn.GenomeConfig, {"gene_spaceing": 10})
    with pytest.raises(ValueError, match="too short"):
        syn.GenomeConfig(chromosome_length=50_000)


def test_same_seed_same_genome():
    cfg = syn.GenomeConfig(n_chromosomes=1, chromosome_length=300_000)
    a, b = syn.simulate_genome(cfg, seed=5), syn.simulate_genome(cfg, seed=5)
    c = syn.simulate_genome(cfg, seed=6)
    assert np.array_equal(a.sequences["chr1"], b.sequences["chr1"])
    assert not np.array_equal(a.sequences["chr1"], c.sequences["chr1"])


def test_simulate_chromosome_is_the_genome_s_chromosome_from_its_own_stream():
    cfg = syn.GenomeConfig(n_chromosomes=2, chromosome_length=300_000, gene_spacing=30_000)
    g = syn.simulate_genome(cfg, seed=5)
    # the same spawning as simulate_genome: the model's stream first, then one per chromosome
    rng_model, _, rng2 = [np.random.default_rng(s) for s in np.random.SeedSequence(5).spawn(3)]
    motifs, core = syn.make_motifs(cfg, rng_model)
    n1 = sum(x.chrom == "chr1" for x in g.genes)
    ch = syn.simulate_chromosome(cfg, "chr2", rng=rng2, motifs=motifs, core=core, first_gene=n1)
    assert np.array_equal(ch.codes, g.sequences["chr2"])
    assert [x.__dict__ for x in ch.genes] == [x.__dict__ for x in g.genes if x.chrom == "chr2"]
    assert ch.genes and ch.genes[0].gene_id == f"GSIM{n1 + 1:05d}"
    assert sorted(ch.elements) == sorted(map(tuple, g.elements[g.elements.chrom == "chr2"].values.tolist()))
    assert ch.gaps == [tuple(r) for r in g.gaps[g.gaps.chrom == "chr2"].values.tolist()]
    assert ch.blacklist == [tuple(r) for r in g.blacklist[g.blacklist.chrom == "chr2"].values.tolist()]
    assert all((ch.codes[a:b] == dna.N_CODE).all() for _, a, b in ch.gaps)
