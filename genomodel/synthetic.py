"""A simulated genome with a motif grammar, and the coverage tracks that grammar drives.

The generative function (exact; the truth tables are differences of it)
-----------------------------------------------------------------------
For every TF ``f`` with position weight matrix ``p_f`` (length ``L_f``) and background base
frequencies ``q``, the log-odds score of the motif starting at ``s`` on either strand is
``LLR_f(s) = sum_k ln(p_f[k, x_{s+k}] / q[x_{s+k}])`` (the reverse strand uses the reverse
complement matrix; N scores ``N_LOG_ODDS``). Its occupancy, placed at the motif centre
``c = s + L_f // 2``, is the sum over both strands of ``sigmoid(slope * (LLR_f(s) - t_f))`` with
``t_f = threshold_fraction * max LLR_f`` (``core_threshold_fraction`` for the core motif).

Binding density is the box sum ``B_f(i) = sum_{|c - i| <= binding_halfwidth} o_f(c)``. In cell type
``c`` with TF activities ``W[c, f]`` (positive: activating, negative: repressing) the accessibility is
``acc_c(i) = softplus(sum_f W[c, f] B_f(i) - accessibility_offset)``; the DNase-like track has mean
``dnase_depth * acc_c(i)`` reads at base ``i``.

A core-promoter motif (scored like a TF) marks transcription start sites: ``core(i)`` is its
occupancy, set to 0 where it is below ``core_floor`` so that TSSs are sparse. Regulatory
activity is the sharpened accessibility ``a_c(i) = softplus(g * pre_c(i)) / g`` with
``g = enhancer_gain`` and ``pre_c`` the argument of the accessibility softplus (so weak background
binding contributes almost nothing); promoter plus enhancer input is
``E_c(i) = sum_{|d| <= enhancer_reach} a_c(i + d) exp(-|d| / enhancer_decay)`` and the CAGE-like track
has mean ``cage_scale * core(i) * E_c(i) + erna_scale * a_c(i)`` reads at base ``i``: transcription from
the TSSs plus the enhancer RNAs that active regulatory elements transcribe in both directions (weaker and
cell-type specific, the signal FANTOM5's enhancer atlas was built from). Observed tracks are Poisson draws
around these means (plus blacklist artefacts in DNase).

A variant's true effect on a track is the change of the track's total mean (alt minus ref), and on a
gene it is the change of the CAGE mean summed over the gene's TSSs; :func:`variant_effects` computes
both exactly by recomputing only the positions a variant can reach, and the tests check it against
recomputing whole windows.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from genocore.files import write_table, write_text
from genomodel import dna
from genomodel.io.bigwig import write_bigwig
from genomodel.io.fasta import write_fasta
from genomodel.io.gtf import write_gtf

logger = logging.getLogger(__name__)

BACKGROUND = np.array([0.295, 0.205, 0.205, 0.295])
N_LOG_ODDS = -20.0
DEFAULT_CELL_TYPES = (
    ("brain_neuron", "brain"),
    ("brain_astrocyte", "brain"),
    ("immune_tcell", "immune"),
    ("immune_monocyte", "immune"),
    ("other_hepatocyte", "other"),
    ("other_fibroblast", "other"),
)
# role of each TF: the cell-type group where it activates, or "repressor"
DEFAULT_TF_ROLES = ("ubiquitous", "ubiquitous", "brain", "brain", "immune", "immune", "other", "repressor")
ENHANCER_PROGRAMS = ("brain", "immune", "other", "ubiquitous")
ENHANCER_PROGRAM_WEIGHTS = (0.3, 0.3, 0.2, 0.2)
# basenji targets.txt transforms per assay: clip, scale, sum_stat (as in basenji's own targets: DNase
# bin means x 2 clipped at 32; CAGE bin sums to the power 0.75 ("sum_sqrt"), which keeps a few strong
# TSSs from dominating the Poisson loss)
TARGET_TRANSFORMS = {"DNASE": (32, 2, "mean"), "CAGE": (384, 1, "sum_sqrt")}


@dataclass(frozen=True)
class GenomeConfig:
    """Shape of the simulated genome and parameters of its generative function.

    Lengths are in bp. See the module docstring for the generative function.
    """

    n_chromosomes: int = 2
    chromosome_length: int = 4_000_000
    chrom_prefix: str = "chr"
    gc_mean: float = 0.41
    gc_sd: float = 0.04
    isochore_length: int = 100_000
    cpg_retention: float = 0.25
    telomere_n: int = 10_000
    central_gap: int = 20_000
    # one gene per 15 kb: with enhancers near their TSSs this keeps regulatory elements spread through the genome
    gene_spacing: int = 15_000
    alt_tss_fraction: float = 0.3
    enhancers_per_gene: float = 3.0
    # enhancers sit within a few kb of their gene's TSS, close enough for a model that reads 8 kb around a
    # variant to see both the variant and the TSS it regulates (CAGE, SED); most of a real gene's cis
    # regulation is this close (eQTLs cluster within a few kb of the TSS)
    enhancer_min_distance: int = 400
    enhancer_max_distance: int = 1_400
    blacklist_per_chromosome: int = 2
    blacklist_length: int = 3_000
    blacklist_rate: float = 3.0
    cell_types: tuple = DEFAULT_CELL_TYPES
    tf_roles: tuple = DEFAULT_TF_ROLES
    motif_min_length: int = 8
    motif_max_length: int = 12
    core_motif_length: int = 14
    occupancy_slope: float = 1.5
    threshold_fraction: float = 0.75
    core_threshold_fraction: float = 0.85
    binding_halfwidth: int = 150
    accessibility_offset: float = 2.0
    dnase_depth: float = 1.0
    enhancer_decay: float = 700.0
    enhancer_reach: int = 2_000
    enhancer_gain: float = 3.0
    cage_scale: float = 0.5
    # enhancer RNA reads per base per unit of regulatory activity: an active element of a few hundred bp
    # gives about a tenth of a typical TSS's CAGE reads, as in FANTOM5
    erna_scale: float = 0.1
    core_floor: float = 1e-3

    def __post_init__(self):
        if self.n_chromosomes < 1:
            raise ValueError("GenomeConfig.n_chromosomes must be >= 1")
        margin = 2 * self.telomere_n + self.central_gap + 4 * self.enhancer_max_distance
        if self.chromosome_length < margin + self.gene_spacing:
            raise ValueError(
                f"GenomeConfig.chromosome_length={self.chromosome_length} is too short: it must exceed "
                f"{margin + self.gene_spacing} bp (telomeres, gap, enhancer reach and one gene)"
            )
        for _, group in self.cell_types:
            if group not in ("brain", "immune", "other"):
                raise ValueError(f"cell-type group {group!r} is not one of brain, immune, other")

    @property
    def chromosomes(self) -> list[str]:
        return [f"{self.chrom_prefix}{i + 1}" for i in range(self.n_chromosomes)]

    @property
    def motif_reach(self) -> int:
        """Largest distance (bp) from a base to a position whose accessibility it can change."""
        return max(self.motif_max_length, self.core_motif_length) + self.binding_halfwidth


@dataclass
class Motif:
    """A position weight matrix and its log-odds scoring matrices.

    ``log_odds`` has shape (length, 5): column 4 scores N.
    """

    name: str
    role: str
    probs: np.ndarray  # float64, shape (length, 4)
    threshold: float = 0.0
    log_odds: np.ndarray = field(init=False, repr=False)
    log_odds_rc: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        lo = np.log(self.probs / BACKGROUND)
        self.log_odds = np.hstack([lo, np.full((len(lo), 1), N_LOG_ODDS)])
        # reverse complement: position k of the reverse strand reads base comp(x) at L-1-k
        comp = np.array([3, 2, 1, 0, 4])
        self.log_odds_rc = self.log_odds[::-1][:, comp]

    @property
    def length(self) -> int:
        return len(self.probs)

    @property
    def max_score(self) -> float:
        return float(self.log_odds[:, :4].max(axis=1).sum())

    @property
    def consensus(self) -> np.ndarray:
        """The highest-scoring site (log-odds against the background, not raw probability)."""
        return self.log_odds[:, :4].argmax(axis=1).astype(np.uint8)


@dataclass
class Gene:
    gene_id: str
    chrom: str
    strand: str
    start: int  # 0-based, inclusive
    end: int  # 0-based, exclusive
    tss: list  # 0-based TSS positions, one per transcript (first is the primary)
    exons: list  # per transcript: list of (start, end), 0-based half-open


@dataclass
class SimGenome:
    """The simulated genome: sequences, genes, elements and the generative model's parameters."""

    config: GenomeConfig
    sequences: dict  # chrom -> uint8 codes
    genes: list
    elements: pd.DataFrame  # chrom start end kind program gene_id
    motifs: list  # the TFs, in the order of activity columns
    core_motif: Motif
    activity: np.ndarray  # float64, shape (n_cell_types, n_tfs)
    gaps: pd.DataFrame  # chrom start end (N runs)
    blacklist: pd.DataFrame  # chrom start end

    @property
    def cell_types(self) -> list[str]:
        return [c for c, _ in self.config.cell_types]

    @property
    def track_names(self) -> list[str]:
        return [f"{assay}:{c}" for c in self.cell_types for assay in ("DNASE", "CAGE")]


@dataclass
class SimChromosome:
    """One simulated chromosome (:func:`simulate_chromosome`); intervals are 0-based half-open."""

    codes: np.ndarray  # uint8 base codes, shape (chromosome_length,)
    genes: list  # Gene
    elements: list  # (chrom, start, end, kind, program, gene_id), kind "promoter" or "enhancer"
    gaps: list  # (chrom, start, end) N runs: both telomeres and the central gap
    blacklist: list  # (chrom, start, end)


def _random_pwm(rng: np.random.Generator, length: int) -> np.ndarray:
    # sparse Dirichlet columns give informative motifs; a small floor keeps every base possible
    p = rng.dirichlet(np.full(4, 0.25), size=length)
    return 0.97 * p + 0.03 / 4


def make_motifs(cfg: GenomeConfig, rng: np.random.Generator) -> tuple[list, Motif]:
    """Random TF motifs (one per role) and the core-promoter motif, with their thresholds."""
    motifs = []
    for i, role in enumerate(cfg.tf_roles):
        length = int(rng.integers(cfg.motif_min_length, cfg.motif_max_length + 1))
        motifs.append(Motif(name=f"TF{i + 1}", role=role, probs=_random_pwm(rng, length)))
    core = Motif(name="CORE", role="core_promoter", probs=_random_pwm(rng, cfg.core_motif_length))
    for m in motifs:
        m.threshold = cfg.threshold_fraction * m.max_score
    core.threshold = cfg.core_threshold_fraction * core.max_score
    return motifs, core


def make_activity(cfg: GenomeConfig, motifs: list, rng: np.random.Generator) -> np.ndarray:
    """Per-cell-type TF activities: activators on in their group, repressors negative everywhere."""
    w = np.zeros((len(cfg.cell_types), len(motifs)))
    for c, (_, group) in enumerate(cfg.cell_types):
        for f, m in enumerate(motifs):
            if m.role == "repressor":
                w[c, f] = -rng.uniform(0.8, 1.6)
            elif m.role in ("ubiquitous", group):
                w[c, f] = rng.uniform(1.0, 1.6)
            else:
                w[c, f] = rng.uniform(0.0, 0.15)
    return w


def _background(cfg: GenomeConfig, rng: np.random.Generator, length: int) -> np.ndarray:
    n_iso = -(-length // cfg.isochore_length)
    gc = np.clip(rng.normal(cfg.gc_mean, cfg.gc_sd, n_iso), 0.3, 0.6)
    gc = np.repeat(gc, cfg.isochore_length)[:length]
    u = rng.random(length)
    # A with p=(1-gc)/2, C and G with gc/2 each, T the rest
    codes = np.where(u < (1 - gc) / 2, 0, np.where(u < 0.5, 1, np.where(u < 0.5 + gc / 2, 2, 3)))
    codes = codes.astype(np.uint8)
    # CpG depletion by deamination: most CG become TG or CA
    cg = np.flatnonzero((codes[:-1] == 1) & (codes[1:] == 2))
    hit = cg[rng.random(len(cg)) > cfg.cpg_retention]
    to_tg = rng.random(len(hit)) < 0.5
    codes[hit[to_tg]] = 3
    codes[hit[~to_tg] + 1] = 0
    return codes


def _sample_instance(motif: Motif, rng: np.random.Generator) -> np.ndarray:
    # tempered sampling keeps planted sites close to the consensus (bound, but not all identical)
    p = motif.probs**4
    p /= p.sum(axis=1, keepdims=True)
    u = rng.random((motif.length, 1))
    return (u > np.cumsum(p, axis=1)).sum(axis=1).astype(np.uint8)


class _Occupancy:
    """Marks bases already used by planted elements so that placements do not collide."""

    def __init__(self, length: int):
        self.used = np.zeros(length, dtype=bool)

    def free(self, start: int, end: int) -> bool:
        return start >= 0 and end <= len(self.used) and not self.used[start:end].any()

    def take(self, start: int, end: int):
        self.used[start:end] = True


def _plant(codes: np.ndarray, start: int, motif: Motif, rng: np.random.Generator, strand: str | None = None):
    inst = _sample_instance(motif, rng)
    if strand is None:
        strand = "+" if rng.random() < 0.5 else "-"
    if strand == "-":
        inst = dna.reverse_complement_codes(inst)
    codes[start:start + motif.length] = inst


def _plant_cluster(codes, occ, rng, lo, hi, motifs, n_sites) -> bool:
    """Plant ``n_sites`` motif instances, drawn from ``motifs``, inside [lo, hi) without overlaps."""
    placed = 0
    for _ in range(20 * n_sites):
        m = motifs[int(rng.integers(len(motifs)))]
        s = int(rng.integers(lo, max(lo + 1, hi - m.length)))
        if occ.free(s, s + m.length) and np.all(codes[s:s + m.length] != dna.N_CODE):
            _plant(codes, s, m, rng)
            occ.take(s, s + m.length)
            placed += 1
            if placed == n_sites:
                return True
    return placed > 0


def simulate_genome(cfg: GenomeConfig, *, seed: int | np.random.SeedSequence) -> SimGenome:
    """Simulate chromosomes, genes with TSSs, promoters and enhancers built from motif instances.

    The seed is spawned into one stream for the model (motifs, activities) and one per chromosome
    (:func:`simulate_chromosome`), so a chromosome's sequence does not depend on the ones before it.

    Parameters
    ----------
    cfg : GenomeConfig
    seed : int or numpy.random.SeedSequence
        The only source of randomness; the same seed gives the same genome.

    Returns
    -------
    SimGenome
    """
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    rng_model, *rng_chroms = [np.random.default_rng(s) for s in ss.spawn(1 + cfg.n_chromosomes)]
    motifs, core = make_motifs(cfg, rng_model)
    activity = make_activity(cfg, motifs, rng_model)
    sequences, genes, elements, gaps, blacklist = {}, [], [], [], []
    for chrom, rng in zip(cfg.chromosomes, rng_chroms):
        ch = simulate_chromosome(cfg, chrom, rng=rng, motifs=motifs, core=core, first_gene=len(genes))
        sequences[chrom] = ch.codes
        genes += ch.genes
        elements += ch.elements
        gaps += ch.gaps
        blacklist += ch.blacklist

    cols = ["chrom", "start", "end"]
    elem = pd.DataFrame(elements, columns=cols + ["kind", "program", "gene_id"])
    elem = elem.sort_values(["chrom", "start"], kind="stable").reset_index(drop=True)
    logger.info("simulated %d chromosomes, %d genes, %d elements", len(sequences), len(genes), len(elem))
    return SimGenome(config=cfg, sequences=sequences, genes=genes, elements=elem, motifs=motifs,
                     core_motif=core, activity=activity, gaps=pd.DataFrame(gaps, columns=cols),
                     blacklist=pd.DataFrame(blacklist, columns=cols))


def simulate_chromosome(cfg: GenomeConfig, chrom: str, *, rng: np.random.Generator, motifs: list, core: Motif,
                        first_gene: int = 0) -> SimChromosome:
    """Simulate one chromosome: background sequence, N runs, genes with their elements, blacklist regions.

    Parameters
    ----------
    cfg : GenomeConfig
    chrom : str
        Its name.
    rng : numpy.random.Generator
        This chromosome's stream; it is advanced.
    motifs : list of Motif
        The TFs (:func:`make_motifs`); promoters and enhancers are planted from them by role.
    core : Motif
        The core-promoter motif, planted at every TSS on the gene's strand.
    first_gene : int
        Number of genes on earlier chromosomes; gene IDs continue from it (``GSIM{first_gene + 1:05d}``).

    Returns
    -------
    SimChromosome
    """
    by_role = {}
    for m in motifs:
        by_role.setdefault(m.role, []).append(m)
    n = cfg.chromosome_length
    codes = _background(cfg, rng, n)
    mid = n // 2
    gaps = [(0, cfg.telomere_n), (mid - cfg.central_gap // 2, mid + cfg.central_gap // 2), (n - cfg.telomere_n, n)]
    occ = _Occupancy(n)
    for a, b in gaps:
        codes[a:b] = dna.N_CODE
        occ.take(a, b)
    genes, elements = [], []
    margin = cfg.telomere_n + cfg.enhancer_max_distance + 1_000
    pos = margin
    while True:
        pos += int(cfg.gene_spacing * rng.uniform(0.6, 1.4))
        if pos > n - margin:
            break
        if abs(pos - mid) < cfg.central_gap // 2 + cfg.enhancer_max_distance + 1_000:
            continue
        gene = _make_gene(cfg, rng, chrom, pos, first_gene + len(genes))
        if not occ.free(min(gene.tss) - 600, max(gene.tss) + 600):
            continue
        _plant_tss(codes, occ, rng, gene, core)
        genes.append(gene)
        elements += _plant_gene_elements(cfg, codes, occ, rng, gene, by_role)
    blacklist = []
    for _ in range(cfg.blacklist_per_chromosome):
        for _try in range(100):
            a = int(rng.integers(cfg.telomere_n, n - cfg.telomere_n - cfg.blacklist_length))
            if occ.free(a, a + cfg.blacklist_length):
                occ.take(a, a + cfg.blacklist_length)
                blacklist.append((chrom, a, a + cfg.blacklist_length))
                break
    return SimChromosome(codes=codes, genes=genes, elements=elements, gaps=[(chrom, a, b) for a, b in gaps],
                         blacklist=blacklist)


def _plant_tss(codes: np.ndarray, occ: _Occupancy, rng: np.random.Generator, gene: Gene, core: Motif):
    """A CpG island (GC-rich, undepleted) of 1 kb around each TSS, then a core motif on the gene's strand."""
    for t in gene.tss:
        k = 1000
        gc_island = rng.random(k) < 0.62
        codes[t - 500:t + 500] = np.where(gc_island, rng.integers(1, 3, k), rng.choice([0, 3], k))
    for t in gene.tss:
        _plant(codes, t - core.length // 2, core, rng, strand=gene.strand)
        occ.take(t - core.length // 2, t - core.length // 2 + core.length)


def _plant_gene_elements(cfg: GenomeConfig, codes: np.ndarray, occ: _Occupancy, rng: np.random.Generator,
                         gene: Gene, by_role: dict) -> list:
    """Plant a gene's promoter (TF sites upstream of the primary TSS) and enhancers; the element rows placed.

    A promoter binds the ubiquitous TFs plus one program's (sometimes the repressors too); an enhancer
    binds its program's TFs plus the first ubiquitous one, at ``enhancer_min_distance`` to
    ``enhancer_max_distance`` bp either side of the primary TSS. An element whose sites could not be
    placed is not listed.
    """
    elements = []
    t0 = gene.tss[0]
    lo, hi = (t0 - 250, t0 - 10) if gene.strand == "+" else (t0 + 10, t0 + 250)
    program = ENHANCER_PROGRAMS[int(rng.choice(4, p=ENHANCER_PROGRAM_WEIGHTS))]
    prom_tfs = by_role["ubiquitous"] + (by_role[program] if program != "ubiquitous" else [])
    if rng.random() < 0.25 and "repressor" in by_role:
        prom_tfs = prom_tfs + by_role["repressor"]
    if _plant_cluster(codes, occ, rng, lo, hi, prom_tfs, int(rng.integers(2, 5))):
        elements.append((gene.chrom, lo, hi, "promoter", program, gene.gene_id))
    for _ in range(max(1, int(rng.poisson(cfg.enhancers_per_gene)))):
        program = ENHANCER_PROGRAMS[int(rng.choice(4, p=ENHANCER_PROGRAM_WEIGHTS))]
        tfs = by_role[program] + ([by_role["ubiquitous"][0]] if program != "ubiquitous" else [])
        d = int(rng.integers(cfg.enhancer_min_distance, cfg.enhancer_max_distance))
        centre = t0 + d * (1 if rng.random() < 0.5 else -1)
        lo, hi = centre - 100, centre + 100
        if occ.free(lo, hi) and _plant_cluster(codes, occ, rng, lo, hi, tfs, int(rng.integers(3, 6))):
            elements.append((gene.chrom, lo, hi, "enhancer", program, gene.gene_id))
    return elements


def _make_gene(cfg: GenomeConfig, rng, chrom: str, tss: int, index: int) -> Gene:
    strand = "+" if rng.random() < 0.5 else "-"
    sign = 1 if strand == "+" else -1
    length = int(rng.integers(5_000, 30_000))
    tss_list = [tss]
    if rng.random() < cfg.alt_tss_fraction:
        tss_list.append(tss + sign * int(rng.integers(300, 1_500)))
    transcripts = []
    for t in tss_list:
        tx_end = tss + sign * length
        n_exons = int(rng.integers(2, 7))
        # exon boundaries along the transcript, in transcription order
        cuts = np.sort(rng.choice(np.arange(200, abs(tx_end - t) - 200, 50), 2 * n_exons - 2, replace=False))
        bounds = np.concatenate([[0], cuts, [abs(tx_end - t)]])
        exons = []
        for a, b in bounds.reshape(-1, 2):
            lo, hi = (t + a, t + b) if strand == "+" else (t - b + 1, t - a + 1)
            exons.append((int(lo), int(hi)))
        transcripts.append(sorted(exons))
    start = min(e[0] for ex in transcripts for e in ex)
    end = max(e[1] for ex in transcripts for e in ex)
    return Gene(gene_id=f"GSIM{index + 1:05d}", chrom=chrom, strand=strand, start=start, end=end,
                tss=tss_list, exons=transcripts)


# ---------------------------------------------------------------------------------------------
# The generative function


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def motif_scores(codes: np.ndarray, log_odds: np.ndarray) -> np.ndarray:
    """Log-odds of a motif at every start position.

    Parameters
    ----------
    codes : ndarray, uint8, shape (n,)
    log_odds : ndarray, float64, shape (L, 5)

    Returns
    -------
    ndarray, float64, shape (n - L + 1,)
    """
    length = log_odds.shape[0]
    n_start = len(codes) - length + 1
    out = np.zeros(max(n_start, 0))
    for k in range(length):
        out += log_odds[k][codes[k:k + n_start]]
    return out


def occupancy(codes: np.ndarray, motif: Motif, slope: float) -> np.ndarray:
    """Occupancy of a motif (both strands) at every motif-centre position.

    Returns
    -------
    ndarray, float64, shape (n,)
        ``sigmoid(slope * (LLR - t))`` summed over strands, placed at ``start + L // 2``.
    """
    out = np.zeros(len(codes))
    if len(codes) < motif.length:
        return out
    occ = sum(_sigmoid(slope * (motif_scores(codes, lo) - motif.threshold))
              for lo in (motif.log_odds, motif.log_odds_rc))
    c0 = motif.length // 2
    out[c0:c0 + len(occ)] = occ
    return out


def _box_sum(x: np.ndarray, halfwidth: int) -> np.ndarray:
    # sum of x over [i - h, i + h], positions outside the array count as 0
    c = np.concatenate([[0.0], np.cumsum(x)])
    n = len(x)
    idx = np.arange(n)
    hi = np.minimum(idx + halfwidth + 1, n)
    lo = np.maximum(idx - halfwidth, 0)
    return c[hi] - c[lo]


@dataclass
class Landscape:
    """The generative function evaluated on one sequence.

    Attributes
    ----------
    pre : ndarray, float64, shape (n_cell_types, n)
        Accessibility pre-activation ``sum_f W[c, f] B_f(i) - offset``.
    tss_pos : ndarray, int64, shape (n_tss,)
        Positions where the gated core occupancy is non-zero (sorted).
    core : ndarray, float64, shape (n_tss,)
    enhancer_input : ndarray, float64, shape (n_cell_types, n_tss)
        ``E_c`` at those positions.
    """

    pre: np.ndarray
    tss_pos: np.ndarray
    core: np.ndarray
    enhancer_input: np.ndarray

    def dnase_mean(self, cfg: GenomeConfig) -> np.ndarray:
        """Mean DNase reads per base, shape (n_cell_types, n)."""
        return cfg.dnase_depth * _softplus(self.pre)

    def cage_mean_at_tss(self, cfg: GenomeConfig) -> np.ndarray:
        """Mean CAGE reads from the TSSs at ``tss_pos``, shape (n_cell_types, n_tss) (a gene's signal)."""
        return _cage(cfg, self.core, self.enhancer_input)

    def cage_mean(self, cfg: GenomeConfig) -> np.ndarray:
        """Mean CAGE reads per base, shape (n_cell_types, n): enhancer RNA everywhere plus the TSSs."""
        out = cfg.erna_scale * _activity(cfg, self.pre)
        out[:, self.tss_pos] += self.cage_mean_at_tss(cfg)
        return out


def _cage(cfg: GenomeConfig, core, e_input):
    return cfg.cage_scale * core * e_input


def _activity(cfg: GenomeConfig, pre):
    # sharpened accessibility: only elements with several bound sites drive transcription
    return _softplus(cfg.enhancer_gain * pre) / cfg.enhancer_gain


def _kernel(cfg: GenomeConfig) -> np.ndarray:
    d = np.arange(-cfg.enhancer_reach, cfg.enhancer_reach + 1)
    return np.exp(-np.abs(d) / cfg.enhancer_decay)


def _enhancer_input(cfg: GenomeConfig, pre: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """E_c at ``positions`` from the pre-activation array (regulatory activity times the kernel)."""
    kern = _kernel(cfg)
    reach = cfg.enhancer_reach
    n = pre.shape[1]
    out = np.zeros((pre.shape[0], len(positions)))
    for j, t in enumerate(positions):
        lo, hi = max(t - reach, 0), min(t + reach + 1, n)
        out[:, j] = _activity(cfg, pre[:, lo:hi]) @ kern[lo - (t - reach):hi - (t - reach)]
    return out


def core_occupancy(cfg: GenomeConfig, codes: np.ndarray, core: Motif) -> np.ndarray:
    """Gated core-promoter occupancy per position, shape (n,): 0 below ``core_floor``."""
    occ = occupancy(codes, core, cfg.occupancy_slope)
    occ[occ < cfg.core_floor] = 0.0
    return occ


def landscape(genome: SimGenome, codes: np.ndarray) -> Landscape:
    """Evaluate the generative function on a sequence (a chromosome or any window of one)."""
    cfg = genome.config
    pre = np.full((len(cfg.cell_types), len(codes)), -cfg.accessibility_offset)
    for f, m in enumerate(genome.motifs):
        b = _box_sum(occupancy(codes, m, cfg.occupancy_slope), cfg.binding_halfwidth)
        pre += np.outer(genome.activity[:, f], b)
    core = core_occupancy(cfg, codes, genome.core_motif)
    tss_pos = np.flatnonzero(core)
    return Landscape(pre=pre, tss_pos=tss_pos, core=core[tss_pos],
                     enhancer_input=_enhancer_input(cfg, pre, tss_pos))


def gene_tss_table(genome: SimGenome) -> pd.DataFrame:
    """One row per (gene, TSS): gene_id, chrom, strand, tss (0-based)."""
    rows = [(g.gene_id, g.chrom, g.strand, t) for g in genome.genes for t in sorted(set(g.tss))]
    return pd.DataFrame(rows, columns=["gene_id", "chrom", "strand", "tss"])


def gene_signal(genome: SimGenome, landscapes: dict) -> pd.DataFrame:
    """True CAGE mean per gene and cell type (summed over the gene's TSSs), genes x cell types."""
    cfg = genome.config
    tss = gene_tss_table(genome)
    out = np.zeros((len(genome.genes), len(cfg.cell_types)))
    index = {g.gene_id: i for i, g in enumerate(genome.genes)}
    for chrom, land in landscapes.items():
        cage = land.cage_mean_at_tss(cfg)
        sub = tss[tss.chrom == chrom]
        j = np.searchsorted(land.tss_pos, sub.tss.to_numpy())
        ok = (j < len(land.tss_pos)) & (land.tss_pos[np.minimum(j, len(land.tss_pos) - 1)] == sub.tss.to_numpy())
        for gid, jj, good in zip(sub.gene_id, j, ok):
            if good:
                out[index[gid]] += cage[:, jj]
    return pd.DataFrame(out, index=[g.gene_id for g in genome.genes], columns=genome.cell_types)


# ---------------------------------------------------------------------------------------------
# Exact variant effects


@dataclass
class VariantEffects:
    """True effects of variants.

    Attributes
    ----------
    tracks : ndarray, float64, shape (n_variants, 2 * n_cell_types)
        Change of each track's total mean reads (alt - ref), columns as ``SimGenome.track_names``.
    genes : pandas.DataFrame
        Long table: variant (index into the input), gene_id, then one column per cell type with the
        change of the gene's CAGE mean (alt - ref). Pairs with an exactly zero effect are left out.
    """

    tracks: np.ndarray
    genes: pd.DataFrame


def variant_effects(genome: SimGenome, land: Landscape, chrom: str, pos: np.ndarray, alt: np.ndarray,
                    *, chunk: int = 2000) -> VariantEffects:
    """Exact true effects of single-base substitutions on one chromosome.

    Parameters
    ----------
    genome : SimGenome
    land : Landscape
        ``landscape(genome, genome.sequences[chrom])``.
    chrom : str
    pos : ndarray, int, shape (n,)
        0-based positions.
    alt : ndarray, uint8, shape (n,)
        Alternative base codes (0..3), each different from the reference base.

    Returns
    -------
    VariantEffects
    """
    cfg = genome.config
    codes = genome.sequences[chrom]
    pos = np.asarray(pos, dtype=np.int64)
    alt = np.asarray(alt, dtype=np.uint8)
    if len(pos) and (pos.min() < 0 or pos.max() >= len(codes)):
        raise ValueError(f"variant positions outside {chrom} (length {len(codes)})")
    if np.any(alt > 3) or np.any(codes[pos] == alt):
        raise ValueError("alt alleles must be A/C/G/T and differ from the reference base")
    n_cell = len(cfg.cell_types)
    tracks = np.zeros((len(pos), 2 * n_cell))
    gene_rows = []
    tss_owner = _tss_owner(genome, chrom, land)
    for a in range(0, len(pos), chunk):
        t, g = _effects_chunk(genome, land, codes, pos[a:a + chunk], alt[a:a + chunk], tss_owner)
        tracks[a:a + chunk] = t
        if len(g):
            g[:, 0] += a
            gene_rows.append(g)
    genes = np.vstack(gene_rows) if gene_rows else np.zeros((0, 2 + n_cell))
    gdf = pd.DataFrame({"variant": genes[:, 0].astype(np.int64),
                        "gene_id": [genome.genes[int(i)].gene_id for i in genes[:, 1]]})
    for c, name in enumerate(genome.cell_types):
        gdf[name] = genes[:, 2 + c]
    return VariantEffects(tracks=tracks, genes=gdf)


def _tss_owner(genome: SimGenome, chrom: str, land: Landscape) -> np.ndarray:
    """Gene index owning each landscape TSS position, -1 for unannotated core-motif matches."""
    owner = np.full(len(land.tss_pos), -1, dtype=np.int64)
    for gi, g in enumerate(genome.genes):
        if g.chrom != chrom:
            continue
        for t in set(g.tss):
            j = np.searchsorted(land.tss_pos, t)
            if j < len(land.tss_pos) and land.tss_pos[j] == t:
                owner[j] = gi
    return owner


def _motif_deltas(motif: Motif, codes, pos, alt, slope):
    """Occupancy change of one motif at centres near each variant.

    Returns (rel, d_occ, occ_ref): ``rel`` offsets of the centres from the variant, shape (L,);
    the occupancy change and reference occupancy, shape (n, L). Invalid starts get 0.
    """
    length = motif.length
    n = len(codes)
    k = np.arange(length)
    starts = pos[:, None] - k[None, :]  # motif start such that the variant is at offset k
    valid = (starts >= 0) & (starts + length <= n)
    safe = np.clip(starts, 0, max(n - length, 0))
    window = codes[safe[:, :, None] + np.arange(length)[None, None, :]]  # (n, L, L)
    ref = codes[pos]
    d_occ = np.zeros(starts.shape)
    occ_ref = np.zeros(starts.shape)
    for lo in (motif.log_odds, motif.log_odds_rc):
        s_ref = lo[np.arange(length)[None, None, :], window].sum(axis=2)
        s_alt = s_ref + lo[k[None, :], alt[:, None]] - lo[k[None, :], ref[:, None]]
        o_ref = _sigmoid(slope * (s_ref - motif.threshold))
        occ_ref += np.where(valid, o_ref, 0.0)
        d_occ += np.where(valid, _sigmoid(slope * (s_alt - motif.threshold)) - o_ref, 0.0)
    rel = length // 2 - k
    return rel, d_occ, occ_ref


def _effects_chunk(genome: SimGenome, land: Landscape, codes, pos, alt, tss_owner):
    cfg = genome.config
    n = len(codes)
    n_var, n_cell = len(pos), len(cfg.cell_types)
    h = cfg.binding_halfwidth
    reach = cfg.motif_reach
    width = 2 * reach + 1
    # change of binding occupancy per TF at offsets -reach..reach from the variant
    d_pre = np.zeros((n_var, n_cell, width))
    for f, m in enumerate(genome.motifs):
        rel, d_occ, _ = _motif_deltas(m, codes, pos, alt, cfg.occupancy_slope)
        d_o = np.zeros((n_var, width + 2 * h + 1))
        np.add.at(d_o, (slice(None), rel + reach + h), d_occ)
        # box sum over +-h: position i (offset) collects centres within h
        c = np.concatenate([np.zeros((n_var, 1)), np.cumsum(d_o, axis=1)], axis=1)
        d_b = c[:, 2 * h + 1:2 * h + 1 + width] - c[:, :width]
        d_pre += genome.activity[None, :, f, None] * d_b[:, None, :]
    offsets = np.arange(-reach, reach + 1)
    idx = pos[:, None] + offsets[None, :]
    inside = (idx >= 0) & (idx < n)
    pre = land.pre[:, np.clip(idx, 0, n - 1)].transpose(1, 0, 2)  # (n_var, n_cell, width)
    d_acc = np.where(inside[:, None, :], _softplus(pre + d_pre) - _softplus(pre), 0.0)
    tracks = np.zeros((n_var, 2 * n_cell))
    tracks[:, 0::2] = cfg.dnase_depth * d_acc.sum(axis=2)
    d_act = np.where(inside[:, None, :], _activity(cfg, pre + d_pre) - _activity(cfg, pre), 0.0)

    # CAGE: the core motif near the variant may change too
    rel_c, d_core_raw, core_raw = _motif_deltas(genome.core_motif, codes, pos, alt, cfg.occupancy_slope)
    core_ref = np.where(core_raw >= cfg.core_floor, core_raw, 0.0)
    core_alt_raw = core_raw + d_core_raw
    core_alt = np.where(core_alt_raw >= cfg.core_floor, core_alt_raw, 0.0)
    core_changed = np.any(core_alt != core_ref, axis=1)

    kern = _kernel(cfg)
    span = cfg.enhancer_reach + reach
    lo_j = np.searchsorted(land.tss_pos, pos - span)
    hi_j = np.searchsorted(land.tss_pos, pos + span, side="right")
    counts = hi_j - lo_j
    var_idx = np.repeat(np.arange(n_var), counts)
    tss_j = np.concatenate([np.arange(a, b) for a, b in zip(lo_j, hi_j)]) if n_var else np.zeros(0, int)
    tss_j = tss_j.astype(np.int64)
    t_pos = land.tss_pos[tss_j]
    # kernel weight from each local offset of the variant to the TSS
    dist = pos[var_idx, None] + offsets[None, :] - t_pos[:, None]
    kw = np.where(np.abs(dist) <= cfg.enhancer_reach, kern[np.clip(dist + cfg.enhancer_reach, 0, len(kern) - 1)], 0.0)
    d_e = np.einsum("pcw,pw->pc", d_act[var_idx], kw)  # (pairs, n_cell)
    e_ref = land.enhancer_input[:, tss_j].T
    core_t = land.core[tss_j]
    cage_ref = _cage(cfg, core_t[:, None], e_ref)
    d_cage = _cage(cfg, core_t[:, None], e_ref + d_e) - cage_ref
    keep = ~core_changed[var_idx]
    for c in range(n_cell):
        tracks[:, 1 + 2 * c] = np.bincount(var_idx[keep], weights=d_cage[keep, c], minlength=n_var)
    owner = tss_owner[tss_j]
    sel = keep & (owner >= 0)
    gene_part = np.column_stack([var_idx[sel], owner[sel], d_cage[sel]])

    # slow exact path for the few variants that change a core-promoter occupancy
    extra = []
    for v in np.flatnonzero(core_changed):
        t_eff, g_eff = _cage_effect_slow(genome, land, codes, int(pos[v]), int(alt[v]), tss_owner, d_act[v],
                                         offsets, rel_c, core_ref[v], core_alt[v])
        tracks[v, 1::2] = t_eff
        for gi, eff in g_eff.items():
            extra.append(np.concatenate([[v, gi], eff]))
    if extra:
        gene_part = np.vstack([gene_part, np.array(extra)])
    # enhancer RNA changes with the activity around the variant (not part of any gene's signal)
    tracks[:, 1::2] += cfg.erna_scale * d_act.sum(axis=2)
    gene_part = _sum_by_pair(gene_part)
    nonzero = np.any(gene_part[:, 2:] != 0.0, axis=1)
    return tracks, gene_part[nonzero]


def _sum_by_pair(rows: np.ndarray) -> np.ndarray:
    """Sum effect rows (variant, gene, effects...) over rows with the same (variant, gene)."""
    if len(rows) == 0:
        return rows
    key, inv = np.unique(rows[:, :2], axis=0, return_inverse=True)
    out = np.zeros((len(key), rows.shape[1] - 2))
    np.add.at(out, inv.ravel(), rows[:, 2:])
    return np.hstack([key, out])


def _cage_effect_slow(genome, land, codes, p, a, tss_owner, d_act_v, offsets, rel_c, core_ref_v, core_alt_v):
    """CAGE effects of one variant that changes the core-promoter occupancy somewhere."""
    cfg = genome.config
    kern = _kernel(cfg)
    n = len(codes)
    # every position whose CAGE mean may change: known TSSs in reach, and changed core centres
    span = cfg.enhancer_reach + cfg.motif_reach
    j0, j1 = np.searchsorted(land.tss_pos, [p - span, p + span + 1])
    cand = {int(t): ("tss", j) for j, t in zip(range(j0, j1), land.tss_pos[j0:j1])}
    for r, cr, ca in zip(rel_c, core_ref_v, core_alt_v):
        if (cr != 0 or ca != 0) and 0 <= p + r < n:
            cand.setdefault(int(p + r), ("new", -1))
    core_alt_at = {int(p + r): ca for r, ca in zip(rel_c, core_alt_v)}
    tracks = np.zeros(len(cfg.cell_types))
    genes = {}
    for t, (kind, j) in cand.items():
        if kind == "tss":
            e_ref = land.enhancer_input[:, j]
            c_ref = land.core[j]
        else:
            e_ref = _enhancer_input(cfg, land.pre, np.array([t]))[:, 0]
            c_ref = 0.0
        dist = p + offsets - t
        kw = np.where(np.abs(dist) <= cfg.enhancer_reach, kern[np.clip(dist + cfg.enhancer_reach, 0, len(kern) - 1)], 0.0)
        e_alt = e_ref + d_act_v @ kw
        c_alt = core_alt_at.get(t, c_ref)
        d = _cage(cfg, c_alt, e_alt) - _cage(cfg, c_ref, e_ref)
        tracks += d
        if kind == "tss" and tss_owner[j] >= 0:
            gi = int(tss_owner[j])
            genes[gi] = genes.get(gi, 0.0) + d
    return tracks, genes


def plant_creating_motif(genome: SimGenome, chrom: str, pos: int, motif: Motif,
                         partner: Motif | None = None) -> int:
    """Rewrite the sequence around ``pos`` so that one base change there completes ``motif``.

    The motif's consensus is written over ``pos - k .. pos - k + L`` for the offset ``k`` whose
    consensus base differs from the current base at ``pos`` (the base at ``pos`` is kept), so the
    reference allele breaks the site and the returned alternative base creates it. A ``partner``
    consensus site is written 40 bp away so the created site falls in a cooperative element.

    Returns
    -------
    int
        The base code that creates the motif at ``pos``.
    """
    codes = genome.sequences[chrom]
    cons = motif.consensus
    ref = codes[pos]
    # the most informative position whose consensus differs from the reference base
    info = motif.log_odds[:, :4].max(axis=1)
    order = [int(k) for k in np.argsort(-info) if cons[k] != ref]
    if not order:
        raise ValueError(f"no offset of {motif.name} can be created by a change at {chrom}:{pos}")
    k = order[0]
    start = pos - k
    site = cons.copy()
    site[k] = ref
    codes[start:start + motif.length] = site
    if partner is not None:
        p0 = start + motif.length + 40
        codes[p0:p0 + partner.length] = partner.consensus
    return int(cons[k])


def gtf_features(genome: SimGenome) -> pd.DataFrame:
    """GTF rows (gene, transcript, exon; 1-based inclusive) for the simulated genes."""
    rows = []
    for g in genome.genes:
        name = f'gene_id "{g.gene_id}"; gene_type "protein_coding"; gene_name "{g.gene_id.replace("GSIM", "SIM")}";'
        rows.append((g.chrom, "genosuite", "gene", g.start + 1, g.end, ".", g.strand, ".", name))
        for k, exons in enumerate(g.exons):
            tx = f'{name} transcript_id "{g.gene_id}.{k + 1}";'
            lo, hi = exons[0][0], exons[-1][1]
            rows.append((g.chrom, "genosuite", "transcript", lo + 1, hi, ".", g.strand, ".", tx))
            order = exons if g.strand == "+" else exons[::-1]
            for e, (a, b) in enumerate(order):
                rows.append((g.chrom, "genosuite", "exon", a + 1, b, ".", g.strand, ".",
                             f"{tx} exon_number {e + 1};"))
    cols = ["seqname", "source", "feature", "start", "end", "score", "strand", "frame", "attribute"]
    return pd.DataFrame(rows, columns=cols)


def motif_meme(genome: SimGenome) -> str:
    """The TF and core-promoter PWMs in MEME minimal motif format."""
    bg = " ".join(f"{b} {p:.3f}" for b, p in zip(dna.BASES, BACKGROUND))
    out = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "", "Background letter frequencies", bg, ""]
    for m in genome.motifs + [genome.core_motif]:
        out += [f"MOTIF {m.name} {m.role}", "",
                f"letter-probability matrix: alength= 4 w= {m.length} nsites= 20 E= 0"]
        out += ["  " + "  ".join(f"{p:.6f}" for p in row) for row in m.probs]
        out.append("")
    return "\n".join(out) + "\n"


def expected_tracks(genome: SimGenome, landscapes: dict) -> dict:
    """Mean coverage of every track under the generative function (the truth the observed tracks
    are Poisson draws around), without the blacklist artefacts; N bases have mean 0.

    Returns
    -------
    dict of track name -> dict of chrom -> ndarray, float64, shape (chrom_length,)
    """
    out = {name: {} for name in genome.track_names}
    for chrom, land in landscapes.items():
        for name, mean in track_means(genome, genome.sequences[chrom], land).items():
            out[name][chrom] = mean
    return out


def track_means(genome: SimGenome, codes: np.ndarray, land: Landscape) -> dict:
    """Mean coverage of every track along ``codes`` (a chromosome or a window of one) from its
    :func:`landscape`; N bases have mean 0.

    Returns
    -------
    dict of track name -> ndarray, float64, shape (len(codes),)
    """
    cfg = genome.config
    dnase, cage = land.dnase_mean(cfg), land.cage_mean(cfg)
    is_n = codes == dna.N_CODE
    out = {}
    for c, cell in enumerate(genome.cell_types):
        out[f"DNASE:{cell}"] = np.where(is_n, 0.0, dnase[c])
        out[f"CAGE:{cell}"] = np.where(is_n, 0.0, cage[c])
    return out


def sample_tracks(genome: SimGenome, landscapes: dict, rng: np.random.Generator) -> dict:
    """Observed coverage: Poisson draws around the generative means, plus blacklist artefacts in DNase.

    Returns
    -------
    dict of track name -> dict of chrom -> ndarray, float32, shape (chrom_length,)
    """
    cfg = genome.config
    means = expected_tracks(genome, landscapes)
    out = {name: {} for name in genome.track_names}
    for chrom, land in landscapes.items():
        bl = genome.blacklist[genome.blacklist.chrom == chrom]
        is_n = genome.sequences[chrom] == dna.N_CODE
        for cell in genome.cell_types:
            lam = means[f"DNASE:{cell}"][chrom].copy()
            for a, b in zip(bl.start, bl.end):
                lam[a:b] += cfg.blacklist_rate
            lam[is_n] = 0.0
            out[f"DNASE:{cell}"][chrom] = rng.poisson(lam).astype(np.float32)
            out[f"CAGE:{cell}"][chrom] = rng.poisson(means[f"CAGE:{cell}"][chrom]).astype(np.float32)
    return out


def write_genome_files(out, genome: SimGenome, observed: dict, *, genome_build: str) -> None:
    """Write the genome (FASTA + .fai, GTF, gaps, blacklist, motifs, chrom.sizes) under ``out/genome``
    and the observed tracks (BigWig + basenji ``targets.txt``) under ``out/tracks``."""
    from pathlib import Path

    out = Path(out)
    sizes = {c: len(s) for c, s in genome.sequences.items()}
    gdir = out / "genome"
    write_fasta(gdir / "genome.fa", genome.sequences)
    write_gtf(gdir / "genes.gtf", gtf_features(genome), header=f"genome-build {genome_build}")
    write_table(gdir / "gaps.bed", genome.gaps, header=False)
    write_table(gdir / "blacklist.bed", genome.blacklist, header=False)
    write_text(gdir / "motifs.meme", motif_meme(genome))
    write_table(gdir / "chrom.sizes", pd.DataFrame(list(sizes.items())), header=False)
    tdir = out / "tracks"
    rows = []
    for i, name in enumerate(genome.track_names):
        assay, cell = name.split(":")
        fname = f"{assay}_{cell}.bw"
        write_bigwig(tdir / fname, sizes, observed[name])
        clip, scale, stat = TARGET_TRANSFORMS[assay]
        rows.append((i, f"{assay}_{cell}", fname, clip, scale, stat, name))
    cols = ["index", "identifier", "file", "clip", "scale", "sum_stat", "description"]
    write_table(tdir / "targets.txt", pd.DataFrame(rows, columns=cols))
    write_table(tdir / "cell_types.tsv", pd.DataFrame(list(genome.config.cell_types), columns=["cell_type", "group"]))
