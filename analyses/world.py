"""Build the simulated world: genome, tracks, genotypes, truth and the statistics they produce.

``genostats simulate-world --out DIR --seed N [--size tiny|default|large]`` or
``python -m analyses.world ...``. The genome and its generative function come from
``genomodel.synthetic``, the populations and statistics from ``stats.simulate``; this module joins
them (the two packages never import each other) and writes standard formats only. The same seed
gives byte-identical files.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from genocore import config as cfgmod
from genocore import clilog, provenance
from genocore.files import write_table, write_text
from genomodel import dna
from genomodel import synthetic as syn
from stats import simulate as sim
from stats.io.plink import write_bfile
from stats.ld.matrix import standardized

logger = logging.getLogger(__name__)

# the stages build_world reports through ``progress``, in order
STAGES = ("genome", "genotypes", "fine-mapping locus", "generative function", "true variant effects", "tracks",
          "genotype files", "eQTL", "GWAS", "catalog and de novo", "truth")
DEFAULT_TISSUES = (("Brain_Cortex", "brain_neuron"), ("Whole_Blood", "immune_tcell"), ("Liver", "other_hepatocyte"))


@dataclass(frozen=True)
class WorldConfig:
    """Everything that shapes a world besides the seed."""

    genome: syn.GenomeConfig = field(default_factory=syn.GenomeConfig)
    panel: sim.PanelConfig = field(default_factory=sim.PanelConfig)
    genome_build: str = "simworld1"
    tissues: tuple = DEFAULT_TISSUES
    # pairs tested per gene (bp either side of its TSS): regulation reaches about 2 kb in this world, and the
    # TSS-distance covariates of the eQTL analysis run to 32 kb
    cis_window: int = 50_000
    eqtl_median_h2: float = 0.15
    gwas_h2: float = 0.25
    # summary statistics of a study this large, drawn from the GWAS cohort's LD (stats.simulate.sumstats_from_ld);
    # None simulates a phenotype for each person of the cohort and regresses it (the study is then the cohort)
    gwas_study_n: int | None = 50_000
    gwas_directional_share: float = 0.5
    # the directional trait acts through immune-cell regulation: its annotation is the sum of these tracks'
    # standardized true effects (accessibility and transcription in both immune cell types)
    gwas_planted_tracks: tuple = ("DNASE:immune_tcell", "DNASE:immune_monocyte", "CAGE:immune_tcell",
                                  "CAGE:immune_monocyte")
    catalog_positives: int = 200
    catalog_negatives_per_positive: int = 3
    denovo_pool: int = 5000
    denovo_families: int = 400
    denovo_per_child: float = 3.0
    denovo_case_enrichment: float = 4.0
    denovo_burden_quantile: float = 0.05
    # de novo variants are drawn within this distance (bp) of a TSS
    denovo_tss_window: int = 25_000
    finemap_variance_explained: float = 0.03
    finemap_window: int = 250_000


SIZES = {
    "tiny": {"genome": {"chromosome_length": 500_000, "gene_spacing": 30_000},
             "panel": {"n_reference": 100, "n_eqtl": 150, "n_gwas": 400, "ld_block_length": 100_000},
             "catalog_positives": 40, "denovo_pool": 800, "denovo_families": 100, "cis_window": 100_000,
             "finemap_variance_explained": 0.1},
    "default": {},
    "large": {"genome": {"n_chromosomes": 6, "chromosome_length": 10_000_000},
              "panel": {"n_reference": 1000, "ld_block_length": 500_000}},
}


def world_config(size: str = "default", overrides: dict | None = None) -> WorldConfig:
    """The config of a named size, with optional overrides (unknown keys raise)."""
    if size not in SIZES:
        raise ValueError(f"unknown world size {size!r}; choose one of {sorted(SIZES)}")
    spec = {k: dict(v) if isinstance(v, dict) else v for k, v in SIZES[size].items()}
    for k, v in (overrides or {}).items():
        if isinstance(v, dict):
            spec.setdefault(k, {}).update(v)
        else:
            spec[k] = v
    sub = {"genome": syn.GenomeConfig, "panel": sim.PanelConfig}
    parts = {k: cfgmod.from_dict(sub[k], spec.pop(k), where=f"world config [{k}]") for k in list(spec) if k in sub}
    return cfgmod.from_dict(WorldConfig, {**spec, **parts}, where="world config")


def _seeds(seed: int) -> list:
    """The independent seed of each part of a world, in a fixed order."""
    return np.random.SeedSequence(seed).spawn(9)


def generative_model(world_dir) -> syn.SimGenome:
    """A built world's generative function: its motifs, activities and core motif rebuilt from the
    seed and config in ``provenance.json``, with the sequences read back from ``genome/genome.fa``
    (which include the planted fine-mapping motif). ``synthetic.landscape`` and
    ``synthetic.expected_tracks`` on it give the noiseless truth behind the observed tracks."""
    from genomodel.io.fasta import open_fasta

    world_dir = Path(world_dir)
    prov = json.loads((world_dir / "provenance.json").read_text())
    genome_cfg = cfgmod.from_dict(syn.GenomeConfig, prov["config"]["genome"], where=str(world_dir / "provenance.json"))
    cfg = WorldConfig(genome=genome_cfg)
    genome = syn.simulate_genome(cfg.genome, seed=_seeds(int(prov["seed"]))[0])
    fa = open_fasta(world_dir / "genome" / "genome.fa", upper=False)
    genome.sequences = {c: dna.encode(fa[c][:]) for c in cfg.genome.chromosomes}
    return genome


class _TrueFunction(NamedTuple):
    """The generative function evaluated on a world's genome and SNPs.

    Attributes
    ----------
    landscapes : dict
        Chromosome -> its noiseless landscape of every track (``synthetic.landscape``).
    track_eff : numpy.ndarray
        SNPs x tracks: the true effect of each SNP's ALT allele on each track.
    gene_eff : pandas.DataFrame
        The true effect of each SNP on each gene's signal, one row per SNP-gene pair (``snp_index``).
    gene_signal : pandas.DataFrame
        Genes x cell types: each gene's noiseless signal.
    """

    landscapes: dict
    track_eff: np.ndarray
    gene_eff: pd.DataFrame
    gene_signal: pd.DataFrame


def build_world(out, *, seed: int, cfg: WorldConfig | None = None, command: str | None = None,
                progress=None) -> dict:
    """Simulate and write a world into ``out``.

    Parameters
    ----------
    out : str or Path
        Output folder (created).
    seed : int
    cfg : WorldConfig, optional
    command : str, optional
        Recorded in the provenance.
    progress : callable(str), optional
        Called with the name of each stage as it starts (the CLI draws a progress bar with it).

    Returns
    -------
    dict
        The truth record also written to ``truth.json``.

    Notes
    -----
    Each part of the world draws from its own child of ``SeedSequence(seed)`` (``_seeds``), and the
    stages run in the order of ``STAGES``.
    """
    cfg = cfg or WorldConfig()
    out = Path(out)
    step = progress or (lambda name: None)
    (s_genome, s_panel, s_alleles, s_finemap, s_noise, s_eqtl, s_gwas, s_catalog, s_denovo) = _seeds(seed)

    step("genome")
    genome = syn.simulate_genome(cfg.genome, seed=s_genome)
    sizes = {c: len(genome.sequences[c]) for c in cfg.genome.chromosomes}
    panels, fm, snps = _simulate_panels(cfg, genome, sizes, s_panel=s_panel, s_finemap=s_finemap,
                                        s_alleles=s_alleles, step=step)
    fn = _evaluate_function(genome, snps, step=step)
    _write_tracks(out, cfg, genome, fn, s_noise=s_noise, step=step)
    step("genotype files")
    _write_genotypes(out, panels, snps)
    eqtl_info, gwas_info = _write_associations(out, cfg, genome, panels, snps, fn, fm, s_eqtl=s_eqtl,
                                               s_gwas=s_gwas, step=step)
    step("catalog and de novo")
    cat_info = _write_catalog(out, cfg, genome, panels, snps, fn.track_eff, np.random.default_rng(s_catalog))
    dn_info = _write_denovo(out, cfg, genome, fn.landscapes, np.random.default_rng(s_denovo))

    step("truth")
    truth = _write_truth(out, cfg, seed=seed, genome=genome, sizes=sizes, snps=snps, fn=fn,
                         info={"eqtl": eqtl_info, "gwas": gwas_info, "catalog": cat_info, "denovo": dn_info,
                               "finemap": fm["truth"]})
    _write_provenance(out, cfg, seed=seed, command=command)
    return truth


def _simulate_panels(cfg: WorldConfig, genome, sizes: dict, *, s_panel, s_finemap, s_alleles, step):
    """Simulate the genotypes of every chromosome, plant the fine-mapping locus and tabulate the SNPs.

    Parameters
    ----------
    cfg : WorldConfig
    genome : synthetic.SimGenome
        Modified in place: the fine-mapping causal SNP's ALT allele is planted into it.
    sizes : dict
        Chromosome name -> length.
    s_panel, s_finemap, s_alleles : numpy.random.SeedSequence
        The seeds of the genotypes, of the fine-mapping locus and of the ALT alleles.
    step : callable(str)
        Called with the name of each stage as it starts.

    Returns
    -------
    panels : list
        One ``stats.simulate`` chromosome panel per chromosome.
    fm : dict
        The fine-mapping locus (``_plant_finemap``).
    snps : pandas.DataFrame
        Every SNP of every chromosome (``_snp_table``).
    """
    chroms = cfg.genome.chromosomes
    step("genotypes")
    panels = [sim.simulate_chromosome(c, sizes[c], cfg.panel, seed=s, mask=genome.sequences[c] == dna.N_CODE)
              for c, s in zip(chroms, s_panel.spawn(len(chroms)))]
    step("fine-mapping locus")
    fm = _plant_finemap(genome, panels[0], np.random.default_rng(s_finemap))
    snps = _snp_table(genome, panels, np.random.default_rng(s_alleles), fm)
    return panels, fm, snps


def _evaluate_function(genome, snps: pd.DataFrame, *, step) -> _TrueFunction:
    """The generative function's landscapes, the SNPs' true effects and the genes' noiseless signal.

    Parameters
    ----------
    genome : synthetic.SimGenome
    snps : pandas.DataFrame
        The SNP table (``_snp_table``).
    step : callable(str)
        Called with the name of each stage as it starts.

    Returns
    -------
    _TrueFunction
    """
    step("generative function")
    landscapes = {c: syn.landscape(genome, genome.sequences[c]) for c in genome.config.chromosomes}
    step("true variant effects")
    track_eff, gene_eff = _true_effects(genome, landscapes, snps)
    gene_signal = syn.gene_signal(genome, landscapes)
    return _TrueFunction(landscapes, track_eff, gene_eff, gene_signal)


def _write_tracks(out: Path, cfg: WorldConfig, genome, fn: _TrueFunction, *, s_noise, step) -> None:
    """Sample the observed (Poisson) tracks and write them with the genome's sequence and annotation.

    Parameters
    ----------
    out : Path
    cfg : WorldConfig
    genome : synthetic.SimGenome
    fn : _TrueFunction
    s_noise : numpy.random.SeedSequence
        The seed of the observation noise.
    step : callable(str)
        Called with the name of each stage as it starts.
    """
    step("tracks")
    observed = syn.sample_tracks(genome, fn.landscapes, np.random.default_rng(s_noise))
    syn.write_genome_files(out, genome, observed, genome_build=cfg.genome_build)


def _write_associations(out: Path, cfg: WorldConfig, genome, panels, snps, fn: _TrueFunction, fm: dict, *,
                        s_eqtl, s_gwas, step) -> tuple[dict, dict]:
    """Simulate and write the eQTL tables of every tissue, the GWAS traits and the fine-mapping locus.

    Parameters
    ----------
    out : Path
    cfg : WorldConfig
    genome : synthetic.SimGenome
    panels : list
        The chromosome panels (``_simulate_panels``).
    snps : pandas.DataFrame
    fn : _TrueFunction
    fm : dict
        The fine-mapping locus; its ``"truth"`` is completed with the observed lead SNP.
    s_eqtl, s_gwas : numpy.random.SeedSequence
        The seeds of the eQTL cohort's expression and of the GWAS traits.
    step : callable(str)
        Called with the name of each stage as it starts.

    Returns
    -------
    eqtl_info, gwas_info : dict
        The truth records of the eQTLs (per tissue) and of the GWAS traits.
    """
    step("eQTL")
    genes = syn.gene_tss_table(genome).drop_duplicates("gene_id")[["gene_id", "chrom", "tss"]].copy()
    genes["tss"] += 1
    eqtl_info = _write_eqtl(out, cfg, panels, snps, genes, fn.gene_signal, fn.gene_eff,
                            np.random.default_rng(s_eqtl))
    step("GWAS")
    gwas_info = _write_gwas(out, cfg, genome, panels, snps, fn.track_eff, fm, np.random.default_rng(s_gwas))
    return eqtl_info, gwas_info


def _write_truth(out: Path, cfg: WorldConfig, *, seed: int, genome, sizes: dict, snps: pd.DataFrame,
                 fn: _TrueFunction, info: dict) -> dict:
    """Write the true effects, expression and elements under ``truth/`` and the record ``truth.json``.

    Parameters
    ----------
    out : Path
    cfg : WorldConfig
    seed : int
    genome : synthetic.SimGenome
    sizes : dict
        Chromosome name -> length.
    snps : pandas.DataFrame
    fn : _TrueFunction
    info : dict
        The truth records of the ``eqtl``, ``gwas``, ``catalog``, ``denovo`` and ``finemap`` parts.

    Returns
    -------
    dict
        The truth record.
    """
    truth_dir = out / "truth"
    te = snps[["snp", "chrom", "pos", "ref", "alt"]].copy()
    for j, name in enumerate(genome.track_names):
        te[name] = fn.track_eff[:, j]
    write_table(truth_dir / "snp_track_effects.tsv.gz", te, float_format="%.6g")
    ge = fn.gene_eff.copy()
    ge.insert(0, "snp", snps.snp.to_numpy()[ge.pop("snp_index").to_numpy()])
    write_table(truth_dir / "snp_gene_effects.tsv.gz", ge, float_format="%.6g")
    gs = fn.gene_signal.rename_axis("gene_id").reset_index()
    write_table(truth_dir / "gene_expression.tsv", gs, float_format="%.6g")
    write_table(truth_dir / "elements.bed", genome.elements)
    truth = {
        "seed": seed, "genome_build": cfg.genome_build, "chromosomes": sizes,
        "n_snps": int(len(snps)), "n_genes": len(genome.genes), "n_elements": int(len(genome.elements)),
        "cell_types": [{"name": c, "group": g} for c, g in cfg.genome.cell_types],
        "tracks": genome.track_names,
        "tfs": [{"name": m.name, "role": m.role, "length": m.length,
                 "activity": dict(zip(genome.cell_types, genome.activity[:, f].round(6).tolist()))}
                for f, m in enumerate(genome.motifs)],
        **info,
        "generative_function": "see genomodel.synthetic module docstring",
        "config": cfgmod.to_dict(cfg),
    }
    write_text(out / "truth.json", json.dumps(truth, indent=2, sort_keys=True) + "\n")
    return truth


def _write_provenance(out: Path, cfg: WorldConfig, *, seed: int, command: str | None) -> None:
    """Write ``provenance.json`` with the hash of every other file of the world.

    Parameters
    ----------
    out : Path
    cfg : WorldConfig
    seed : int
    command : str or None
        Recorded in the provenance (default: the equivalent ``simulate-world`` command).
    """
    outputs = {str(p.relative_to(out)): p for p in sorted(out.rglob("*"))
               if p.is_file() and p.name != "provenance.json"}
    provenance.write(out / "provenance.json", provenance.record(
        command=command or f"simulate-world --seed {seed}", config=cfgmod.to_dict(cfg),
        genome_build=cfg.genome_build, outputs=outputs, extra={"seed": seed}, root=out))


def _plant_finemap(genome, panel, rng) -> dict:
    """Choose the causal SNP of the fine-mapping locus and make its ALT allele create a motif."""
    chrom = panel.chrom
    pos0 = panel.positions - 1
    tss = np.array(sorted(t for g in genome.genes if g.chrom == chrom for t in g.tss))
    el = genome.elements[genome.elements.chrom == chrom]
    d_tss = np.abs(pos0[:, None] - tss[None, :]).min(axis=1)
    starts, ends = el.start.to_numpy(), el.end.to_numpy()
    d_el = np.min(np.maximum(starts[None, :] - pos0[:, None], pos0[:, None] - ends[None, :]), axis=1)
    # within reach of a TSS (so the created site changes its gene's CAGE) yet apart from the planted elements
    gcfg = genome.config
    ok = (d_tss > gcfg.enhancer_min_distance // 2) & (d_tss < gcfg.enhancer_max_distance) & (d_el > 150)
    # room for the planted site and its partner, with no other SNP inside
    span = 80
    gaps = np.diff(pos0)
    lonely = np.concatenate([[True], gaps > span]) & np.concatenate([gaps > span, [True]])
    causal, partner = sim.pick_finemap_causal(panel, np.flatnonzero(ok & lonely), rng)
    ubiq = [m for m in genome.motifs if m.role == "ubiquitous"]
    alt_code = syn.plant_creating_motif(genome, chrom, int(pos0[causal]), ubiq[0], partner=ubiq[1])
    return {"chrom": chrom, "causal_col": causal, "partner_col": partner, "alt": dna.decode([alt_code]),
            "truth": {"chrom": chrom, "motif": ubiq[0].name, "partner_motif": ubiq[1].name,
                      "causal_pos": int(panel.positions[causal])}}


def _snp_table(genome, panels, rng, fm) -> pd.DataFrame:
    parts = []
    for p in panels:
        ref = np.array(list(dna.decode(genome.sequences[p.chrom][p.positions - 1])))
        alt = sim.draw_alt_alleles(ref, rng)
        if p.chrom == fm["chrom"]:
            alt[fm["causal_col"]] = fm["alt"]
        parts.append(pd.DataFrame({"chrom": p.chrom, "pos": p.positions, "cm": p.cm, "ref": ref, "alt": alt}))
    snps = pd.concat(parts, ignore_index=True)
    if (snps.ref == snps.alt).any() or (~snps.ref.isin(list("ACGT"))).any():
        raise AssertionError("simulated SNP alleles are inconsistent with the genome")
    snps.insert(0, "snp", [f"rs{100_000 + i}" for i in range(len(snps))])
    snps["variant_id"] = snps.chrom + "_" + snps.pos.astype(str) + "_" + snps.ref + "_" + snps.alt + "_sim"
    return snps


def _true_effects(genome, landscapes, snps):
    tracks = np.zeros((len(snps), len(genome.track_names)))
    genes = []
    for chrom, land in landscapes.items():
        idx = np.flatnonzero(snps.chrom.to_numpy() == chrom)
        alt = dna.encode("".join(snps.alt.to_numpy()[idx]))
        eff = syn.variant_effects(genome, land, chrom, snps.pos.to_numpy()[idx] - 1, alt)
        tracks[idx] = eff.tracks
        g = eff.genes.copy()
        g.insert(0, "snp_index", idx[g.pop("variant").to_numpy()])
        genes.append(g)
    return tracks, pd.concat(genes, ignore_index=True)


def _write_genotypes(out: Path, panels, snps):
    gdir = out / "genotypes"
    blocks = []
    for p in panels:
        sub = snps[snps.chrom == p.chrom]
        code = p.chrom.removeprefix("chr")
        offset = 0
        for cohort, dos in p.dosage.items():
            iids = [f"{cohort.split('_')[0]}{i + 1:05d}" for i in range(offset, offset + dos.shape[0])]
            offset += dos.shape[0]
            # PLINK's A1 is the counted (ALT) allele, A2 the reference, as in plink --keep-allele-order
            write_bfile(gdir / f"{cohort}.{p.chrom}", dos, iid=iids, chrom=[code] * len(sub), sid=sub.snp,
                        cm=sub.cm, bp=sub.pos, allele_1=sub.alt, allele_2=sub.ref)
        blocks += [(p.chrom, int(a), int(b)) for a, b in p.ld_blocks]
    bl = pd.DataFrame(blocks, columns=["chr", "start", "stop"])
    write_table(gdir / "ldblocks.bed", bl)


def _write_eqtl(out, cfg, panels, snps, genes, gene_signal, gene_eff, rng) -> dict:
    dosage = np.hstack([p.dosage["eqtl_cohort"] for p in panels])
    info = {}
    for tissue, cell in cfg.tissues:
        s_ref = gene_signal.loc[gene_eff.gene_id, cell].to_numpy()
        afc = np.log2((np.maximum(s_ref + gene_eff[cell].to_numpy(), 0) + 1) / (s_ref + 1))
        eff = pd.DataFrame({"snp_index": gene_eff.snp_index, "gene_id": gene_eff.gene_id, "log2_afc": afc})
        eff = eff[eff.log2_afc != 0]
        table, tinfo = sim.simulate_eqtl(dosage, snps, genes, eff, cis_window=cfg.cis_window,
                                         median_h2=cfg.eqtl_median_h2, rng=rng)
        write_table(out / "eqtl" / f"{tissue}.allpairs.txt.gz", table, float_format="%.6g")
        info[tissue] = {"cell_type": cell, **tinfo}
    return info


def _write_gwas(out, cfg, genome, panels, snps, track_eff, fm, rng) -> dict:
    dos = [p.dosage["gwas_cohort"] for p in panels]
    x_std = [standardized(d).astype(np.float32) for d in dos]
    bounds = np.cumsum([0] + [d.shape[1] for d in dos])
    n = dos[0].shape[0]
    n_study = int(cfg.gwas_study_n or n)
    unknown = sorted(set(cfg.gwas_planted_tracks) - set(genome.track_names))
    if unknown or not cfg.gwas_planted_tracks:
        raise ValueError(f"world config gwas_planted_tracks: {unknown or 'none given'} not among the world's tracks "
                         f"{genome.track_names}")
    cols = [genome.track_names.index(t) for t in cfg.gwas_planted_tracks]
    v = _standardized_effects(track_eff[:, cols]).sum(axis=1)
    info = {"N": n_study, "cohort_n": int(n),
            "sumstats": "drawn from the cohort's LD" if cfg.gwas_study_n else "per-person phenotypes regressed"}
    for trait, share in (("directional", cfg.gwas_directional_share), ("null", 0.0)):
        beta = sim.gwas_effects(v, h2=cfg.gwas_h2, directional_share=share, rng=rng)
        per_chrom = [beta[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        if cfg.gwas_study_n:
            z = sim.sumstats_from_ld(x_std, per_chrom, n_gwas=n_study, rng=rng)
        else:
            z = sim.sumstats(dos, sim.simulate_trait(x_std, per_chrom, h2=cfg.gwas_h2, rng=rng))
        ss = pd.DataFrame({"SNP": snps.snp, "A1": snps.alt, "A2": snps.ref, "N": n_study, "Z": z})
        ss = ss[np.isfinite(ss.Z)]  # SNPs monomorphic in the GWAS cohort have no test
        write_table(out / "gwas" / f"{trait}.sumstats.gz", ss, float_format="%.6g")
        info[trait] = {"h2": cfg.gwas_h2, "directional_share": share,
                       "planted_annotations": list(cfg.gwas_planted_tracks) if share > 0 else [],
                       "expected_sign": 1 if share > 0 else 0, "mean_chi2": float(np.mean(z**2))}
    # fine-mapping trait: one causal SNP
    k = [p.chrom for p in panels].index(fm["chrom"])
    p0 = panels[k]
    xc = x_std[k][:, fm["causal_col"]]
    y = np.sqrt(cfg.finemap_variance_explained) * xc + rng.standard_normal(n) * np.sqrt(1 - cfg.finemap_variance_explained)
    sub_idx = np.flatnonzero(np.abs(p0.positions - p0.positions[fm["causal_col"]]) <= cfg.finemap_window)
    sub_idx = sub_idx[dos[k][:, sub_idx].std(axis=0) > 0]
    reg = sim.marginal_regression(dos[k][:, sub_idx], y)
    rows = snps.iloc[bounds[k] + sub_idx]
    loc = pd.DataFrame({"SNP": rows.snp.to_numpy(), "CHR": rows.chrom.to_numpy(), "BP": rows.pos.to_numpy(),
                        "A1": rows.alt.to_numpy(), "A2": rows.ref.to_numpy(), "N": n,
                        "Z": reg.t.to_numpy(), "P": reg.pval.to_numpy()})
    write_table(out / "finemap" / "locus.sumstats.tsv", loc, float_format="%.6g")
    lead = int(np.argmax(np.abs(loc.Z.to_numpy())))
    ref = p0.dosage["ref_panel"].astype(float)
    r = float(sim.ld_r(ref[:, [sub_idx[lead]]], ref[:, fm["causal_col"]])[0])
    fm["truth"].update({"causal_snp": snps.snp.iloc[bounds[k] + fm["causal_col"]],
                        "partner_snp": snps.snp.iloc[bounds[k] + fm["partner_col"]],
                        "lead_snp": loc.SNP.iloc[lead], "lead_p": float(loc.P.iloc[lead]),
                        "r2_lead_causal": r * r, "variance_explained": cfg.finemap_variance_explained,
                        "causal_alt_creates": fm["truth"]["motif"]})
    return info


def _standardized_effects(track_eff: np.ndarray) -> np.ndarray:
    sd = track_eff.std(axis=0)
    return np.divide(track_eff, sd, out=np.zeros_like(track_eff), where=sd > 0)


def _write_catalog(out, cfg, genome, panels, snps, track_eff, rng) -> dict:
    ref = np.hstack([p.dosage["ref_panel"] for p in panels])
    freq = ref.mean(axis=0) / 2
    table = snps[["snp", "chrom", "pos", "ref", "alt"]].assign(maf=np.minimum(freq, 1 - freq))
    score = np.abs(_standardized_effects(track_eff)).max(axis=1)
    cat = sim.catalog_snps(table, score, n_positive=cfg.catalog_positives,
                           negatives_per_positive=cfg.catalog_negatives_per_positive, rng=rng)
    write_table(out / "catalog" / "gwas_catalog_snps.tsv", cat, float_format="%.6g")
    return {"n_positive": int(cat.label.sum()), "n_negative": int((cat.label == 0).sum()),
            "positives_drawn_proportional_to": "max over tracks of |true effect| / track SD"}


def _write_denovo(out, cfg, genome, landscapes, rng) -> dict:
    gdf = syn.gene_tss_table(genome)
    parts, effs = [], []
    per_chrom = np.bincount(rng.integers(0, len(landscapes), cfg.denovo_pool), minlength=len(landscapes))
    for (chrom, land), k in zip(landscapes.items(), per_chrom):
        codes = genome.sequences[chrom]
        tss = gdf.tss[gdf.chrom == chrom].to_numpy()
        pos = np.unique(rng.choice(tss, k) + rng.integers(-cfg.denovo_tss_window, cfg.denovo_tss_window + 1, k))
        pos = pos[(pos >= 0) & (pos < len(codes))]
        pos = pos[codes[pos] != dna.N_CODE]
        alt = ((codes[pos] + rng.integers(1, 4, len(pos))) % 4).astype(np.uint8)
        eff = syn.variant_effects(genome, land, chrom, pos, alt)
        parts.append(pd.DataFrame({"chrom": chrom, "pos": pos + 1, "ref": list(dna.decode(codes[pos])),
                                   "alt": list(dna.decode(alt))}))
        effs.append(eff.tracks)
    pool = pd.concat(parts, ignore_index=True)
    eff = np.vstack(effs)
    z = _standardized_effects(eff)
    brain_cols = [j for j, t in enumerate(genome.track_names)
                  if dict(cfg.genome.cell_types)[t.split(":")[1]] == "brain"]
    brain_score = z[:, brain_cols].min(axis=1)
    burden = brain_score <= np.quantile(brain_score, cfg.denovo_burden_quantile)
    pool["pool_index"] = np.arange(len(pool))
    fam = sim.denovo_families(pool, burden, n_families=cfg.denovo_families, mean_per_child=cfg.denovo_per_child,
                              case_enrichment=cfg.denovo_case_enrichment, rng=rng)
    variants = fam[["variant_id", "family", "individual", "role", "chrom", "pos", "ref", "alt"]]
    write_table(out / "denovo" / "denovo_variants.tsv", variants)
    scores = pd.DataFrame(eff[fam.pool_index.to_numpy()], columns=genome.track_names)
    scores.insert(0, "variant_id", fam.variant_id.to_numpy())
    write_table(out / "truth" / "denovo_effects.tsv.gz", scores, float_format="%.6g")
    return {"n_families": cfg.denovo_families, "n_variants": int(len(fam)),
            "case_enrichment": cfg.denovo_case_enrichment,
            "burden": f"min over brain tracks of standardized effect <= its {cfg.denovo_burden_quantile} quantile",
            "case_burden_share": float(burden[fam.pool_index[fam.role == 'case']].mean()),
            "control_burden_share": float(burden[fam.pool_index[fam.role == 'control']].mean())}


# ---------------------------------------------------------------------------------------------
# command line


def build_world_with_progress(out, *, seed: int, cfg: WorldConfig, command: str) -> dict:
    """``build_world`` with a tqdm bar over its stages (for command-line callers)."""
    from tqdm.auto import tqdm

    with tqdm(total=len(STAGES), desc="simulate world", unit="stage") as bar:
        def progress(name):
            bar.set_postfix_str(name)
            bar.update(1)
        return build_world(out, seed=seed, cfg=cfg, command=command, progress=progress)


def run(args) -> int:
    overrides = json.loads(args.config.read_text()) if args.config else None
    cfg = world_config(args.size, overrides)
    truth = build_world_with_progress(args.out, seed=args.seed, cfg=cfg, command=" ".join(sys.argv))
    logger.info("world written to %s: %d SNPs, %d genes", args.out, truth["n_snps"], truth["n_genes"])
    return 0


def main(argv=None) -> int:
    from analyses.world_args import add_arguments

    parser = add_arguments(argparse.ArgumentParser(prog="python -m analyses.world",
                                                   description=__doc__.split("\n")[0]))
    args = parser.parse_args(argv)
    clilog.configure(args.verbose)
    return args.runner(args)


if __name__ == "__main__":
    sys.exit(main())
