"""The demo: build the simulated world, train a sequence model on it, and report.

``python -m analyses.demo --out demo_output [--seed 1] [--size default] [--model-epochs N]`` writes
``demo_output/world/`` (the world), ``demo_output/model/`` (records, training run, held-out accuracy),
``demo_output/scores/`` (the world's SNPs scored by the model, and the planted truth in the same format),
``demo_output/analyses/<name>/`` (every paper analysis from the model's scores, the truth beside) and
``demo_output/report.md`` with its PNG figures. An existing
complete world with the same seed and config is reused (its files are checked against their hashes).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analyses import report, world
from analyses.run_all import DEMO_EPOCHS
from genocore import clilog, provenance
from genocore import config as cfgmod
from genocore.files import sha256, write_text
from genocore.genes import read_gtf, tss_positions
from stats.io.plink import read_bfile
from stats.ld.matrix import ld_matrix, r2_decay

logger = logging.getLogger(__name__)


def world_is_complete(path: Path, seed: int, cfg: world.WorldConfig) -> bool:
    """True when ``path`` holds a finished world of this seed and config with intact files."""
    prov = path / "provenance.json"
    if not prov.exists():
        return False
    rec = json.loads(prov.read_text())
    if rec.get("seed") != seed or rec.get("config") != cfgmod.to_dict(cfg):
        return False
    return all((path / name).exists() and sha256(path / name) == f["sha256"]
               for name, f in rec.get("outputs", {}).items())


def run_demo(out: Path, *, seed: int, size: str, command: str, model_epochs: int = DEMO_EPOCHS) -> Path:
    """Build (or reuse) the world, train the sequence model, run the analyses and write the report.

    Parameters
    ----------
    out : Path
        Output folder: ``world/``, ``model/``, ``scores/``, ``analyses/``, ``figures/`` and ``report.md``.
    seed : int
        Seed of the world and of the analyses.
    size : str
        World size preset (``world.SIZES``).
    command : str
        Recorded in the provenance.
    model_epochs : int, optional
        Training budget of the sequence model in epochs (early stopping may end it sooner), so that the
        model does not depend on the machine's load; 0 skips the model and the analyses, which need it.

    Returns
    -------
    Path
        The written ``report.md``.
    """
    cfg = world.world_config(size)
    wdir = out / "world"
    timings = {}
    t0 = time.perf_counter()
    _ensure_world(wdir, seed=seed, cfg=cfg, command=command)
    timings["world"] = time.perf_counter() - t0
    truth = json.loads((wdir / "truth.json").read_text())
    figs = out / "figures"
    sections = [_coverage_section(wdir, figs),
                _ld_section(wdir, figs, truth, cfg, seed=seed),
                _eqtl_section(wdir, figs, truth, cfg)]
    if model_epochs > 0:
        sections.append(_model_section(wdir, out, figs, model_epochs=model_epochs, timings=timings))
        sections.append(_analyses_section(out, timings=timings))
    sections.append(_planted_section(truth))
    timings["report"] = (time.perf_counter() - t0 - timings["world"] - timings.get("model", 0.0)
                         - timings.get("analyses", 0.0))
    path = _write_report(out, sections, seed=seed, size=size, cfg=cfg, truth=truth, timings=timings,
                         command=command)
    logger.info("report written to %s", path)
    return path


def _ensure_world(wdir: Path, *, seed: int, cfg: world.WorldConfig, command: str) -> None:
    """Reuse the complete world in ``wdir`` of this seed and config, or build it there.

    Parameters
    ----------
    wdir : Path
    seed : int
    cfg : world.WorldConfig
    command : str
        Recorded in the provenance of a newly built world.
    """
    if world_is_complete(wdir, seed, cfg):
        logger.info("reusing the complete world in %s", wdir)
    else:
        world.build_world_with_progress(wdir, seed=seed, cfg=cfg, command=command)


def _coverage_section(wdir: Path, figs: Path) -> str:
    """Figure and section of the observed coverage around the most expressed gene.

    Parameters
    ----------
    wdir : Path
        The world.
    figs : Path
        Folder of the report's figures.

    Returns
    -------
    str
        The markdown section.
    """
    expr = pd.read_csv(wdir / "truth" / "gene_expression.tsv", sep="\t").set_index("gene_id")
    gtf = read_gtf(wdir / "genome" / "genes.gtf", features=["gene", "transcript"])
    gid = expr.max(axis=1).idxmax()
    g = gtf[(gtf.feature == "gene") & (gtf.gene_id == gid)].iloc[0]
    tx = gtf[(gtf.feature == "transcript") & (gtf.gene_id == gid)]
    tss = (tss_positions(tx) - 1).tolist()  # 1-based GTF -> 0-based, the figure's coordinates
    gene = {"gene_id": gid, "start": int(g.start) - 1, "end": int(g.end), "strand": g.strand, "tss": tss}
    chrom = g.chrom
    lo = max(0, min(tss) - 25_000)
    hi = lo + 50_048
    elements = pd.read_csv(wdir / "truth" / "elements.bed", sep="\t")
    el = elements[(elements.chrom == chrom) & (elements.end > lo) & (elements.start < hi)]
    report.save(report.coverage_figure(wdir, chrom, lo, hi, gene, el), figs / "coverage_locus.png")
    return (f"## Coverage at a locus\n\nObserved (Poisson) DNase and CAGE coverage in 128-bp bins around "
            f"{gid} ({chrom}:{lo + 1:,}-{hi:,}), the most expressed simulated gene.\n\n"
            f"![coverage](figures/coverage_locus.png)\n")


def _ld_section(wdir: Path, figs: Path, truth: dict, cfg: world.WorldConfig, *, seed: int) -> str:
    """Figures and section of LD decay in the reference panel and LD around the fine-mapping locus.

    Parameters
    ----------
    wdir : Path
        The world.
    figs : Path
        Folder of the report's figures.
    truth : dict
        The world's ``truth.json``.
    cfg : world.WorldConfig
    seed : int
        Seed of the SNP pairs sampled for the decay curve.

    Returns
    -------
    str
        The markdown section.
    """
    decays = []
    rng = np.random.default_rng(seed)
    blocks = pd.read_csv(wdir / "genotypes" / "ldblocks.bed", sep="\t")
    for c in truth["chromosomes"]:
        dos, bim, _ = read_bfile(wdir / "genotypes" / f"ref_panel.{c}")
        decays.append(r2_decay(dos, bim.pos.to_numpy(), max_pairs=500_000, rng=rng).assign(chrom=c))
        if c == truth["finemap"]["chrom"]:
            k = int(np.searchsorted(bim.pos.to_numpy(), truth["finemap"]["causal_pos"]))
            a = max(0, k - 100)
            r = ld_matrix(dos[:, a:a + 200])
            pos = bim.pos.to_numpy()[a:a + 200]
            bb = blocks[blocks.chr == c].start.to_numpy()
            report.save(report.ld_heatmap_figure(r, pos, bb, f"r$^2$ of 200 SNPs around the fine-mapping locus ({c})"),
                        figs / "ld_heatmap.png")
    decay = pd.concat(decays, ignore_index=True)
    report.save(report.ld_decay_figure(decay), figs / "ld_decay.png")
    d = decay.groupby("mid").mean_r2.mean()
    return ("## Linkage disequilibrium\n\nmsprime coalescent with a hotspot recombination map "
            f"(Ne = {cfg.panel.population_size:,.0f}, mean {cfg.panel.recombination_rate:g} per bp), "
            f"reference panel of {cfg.panel.n_reference} individuals. Mean r^2 falls from "
            f"{d.iloc[0]:.3f} (< 1 kb) to {d.iloc[-1]:.3f} (200-500 kb).\n\n"
            "![LD decay](figures/ld_decay.png) ![LD heatmap](figures/ld_heatmap.png)\n")


def _eqtl_section(wdir: Path, figs: Path, truth: dict, cfg: world.WorldConfig) -> str:
    """Manhattan plot of one tissue's eQTLs and the section with the per-tissue eQTL truth.

    Parameters
    ----------
    wdir : Path
        The world.
    figs : Path
        Folder of the report's figures.
    truth : dict
        The world's ``truth.json``.
    cfg : world.WorldConfig

    Returns
    -------
    str
        The markdown section.
    """
    tissue = cfg.tissues[1][0] if len(cfg.tissues) > 1 else cfg.tissues[0][0]
    table = pd.read_csv(wdir / "eqtl" / f"{tissue}.allpairs.txt.gz", sep="\t")
    report.save(report.manhattan_figure(table, tissue), figs / "eqtl_manhattan.png")
    eq = pd.DataFrame([{"tissue": t, **{k: v for k, v in i.items() if k != "scale"}}
                       for t, i in truth["eqtl"].items()])
    return (f"## eQTLs\n\nExpression simulated in the eQTL cohort ({cfg.panel.n_eqtl} individuals) from "
            "the true per-allele effects on each gene's CAGE signal (log2 allelic fold change), plus noise.\n\n"
            f"{report.markdown_table(eq)}\n\n![eQTL Manhattan](figures/eqtl_manhattan.png)\n")


def _model_section(wdir: Path, out: Path, figs: Path, *, model_epochs: int, timings: dict) -> str:
    """Train the sequence model on 80% of the world's windows, test it on 10% held out, and report.

    Parameters
    ----------
    wdir : Path
        The world.
    out : Path
        The demo's output folder (the model goes to ``model/``).
    figs : Path
        Folder of the report's figures.
    model_epochs : int
        Training budget (epochs).
    timings : dict
        Receives the seconds of the model's records, training and testing under ``"model"``.

    Returns
    -------
    str
        The markdown section.
    """
    from analyses import sim_model

    t1 = time.perf_counter()
    res = sim_model.run(wdir, out / "model", minutes=None, epochs=model_epochs)
    timings["model"] = time.perf_counter() - t1
    table, summ = res["table"], res["summary"]
    by_assay = table.groupby("assay")[["r_model_truth", "r_model_observed", "r_observed_truth"]].mean()
    by_assay = by_assay.reset_index().rename(columns={
        "r_model_truth": "R(model, truth)", "r_model_observed": "R(model, observed)",
        "r_observed_truth": "R(observed, truth) = ceiling"})
    stats_ = json.loads((out / "model" / "data" / "statistics.json").read_text())
    pool = int(stats_["pool_width"])
    n_test = res["arrays"]["pred"].shape[0]
    picks = [int(table[table.assay == a].r_model_truth.idxmax()) for a in ("DNASE", "CAGE") if (table.assay == a).any()]
    # the four test windows with the most true CAGE signal, in genome order
    wins = sorted(np.argsort(-res["arrays"]["truth"][:, :, picks[-1]].sum(axis=1))[:min(4, n_test)].tolist())
    report.save(report.model_tracks_figure(res["arrays"], table, windows=wins, tracks=picks, pool_width=pool),
                figs / "model_tracks.png")
    return (
        "## Sequence model\n\nA small Basenji2-style model (shipped params `sim_small`: "
        f"{stats_['seq_length']:,} bp in, {stats_['target_length']} x {stats_['num_targets']} bins of {pool} bp out; "
        "first-layer filters started from the world's motif database `genome/motifs.meme`, as a study would start "
        f"them from JASPAR) trained for {summ['epochs']} epochs ({summ['seconds_train']:.0f} s, budget {model_epochs} "
        f"epochs, early stopping; best epoch {summ['best_epoch']}) on 80% of the windows of every chromosome, then "
        f"tested on {summ['test_windows']} held-out test windows (10%, drawn like the validation 10%). Pearson R per "
        "bin, mean over the tracks of each assay: against the noiseless truth (the generative function), against the "
        "observed Poisson tracks, and the ceiling "
        "(observed against truth):\n\n" + report.markdown_table(by_assay.round(3)) +
        f"\n\nMean R(model, truth) over all tracks: {summ['mean_r_model_truth']:.3f}. Per track: "
        "`model/accuracy.tsv`.\n\n![model tracks](figures/model_tracks.png)\n")


def _analyses_section(out: Path, *, timings: dict) -> str:
    """Every paper analysis (:data:`analyses.run_all.MODULES`) from the demo model's variant scores, the
    planted truth beside them, into ``analyses/<name>/``; their reports one after the other.

    Parameters
    ----------
    out : Path
        The demo's output folder (the world in ``world/``, the trained model in ``model/``).
    timings : dict
        Receives the seconds of the scoring and the analyses under ``"analyses"``.

    Returns
    -------
    str
        The markdown sections.
    """
    from analyses import run_all

    t1 = time.perf_counter()
    folders = run_all.run_analyses(out)
    timings["analyses"] = time.perf_counter() - t1
    return run_all.collate_sections(folders, relative_to=out, level=2)


def _planted_section(truth: dict) -> str:
    """Section of what was planted in the world (GWAS, fine-mapping, de novo, catalog, TF activities).

    Parameters
    ----------
    truth : dict
        The world's ``truth.json``.

    Returns
    -------
    str
        The markdown section.
    """
    fm, gw, dn, cat = truth["finemap"], truth["gwas"], truth["denovo"], truth["catalog"]
    planted = pd.DataFrame([
        ("GWAS directional trait", "effects = tau x sum of the standardized true effects on "
         f"{', '.join(gw['directional']['planted_annotations'])} "
         f"+ polygenic; h2 = {gw['directional']['h2']}, share {gw['directional']['directional_share']}",
         f"mean chi2 {gw['directional']['mean_chi2']:.2f}"),
        ("GWAS null trait", f"polygenic only; h2 = {gw['null']['h2']}", f"mean chi2 {gw['null']['mean_chi2']:.2f}"),
        ("fine-mapping locus", f"causal {fm['causal_snp']} ({fm['chrom']}:{fm['causal_pos']:,}), ALT creates a "
         f"{fm['motif']} site", f"lead {fm['lead_snp']} p = {fm['lead_p']:.2e}, r2(lead, causal) = {fm['r2_lead_causal']:.2f}"),
        ("de novo cases", f"{dn['n_families']} quartets, cases x{dn['case_enrichment']} for brain-damaging variants",
         f"burden share cases {dn['case_burden_share']:.3f} vs siblings {dn['control_burden_share']:.3f}"),
        ("GWAS-catalog-like set", f"{cat['n_positive']} positives drawn by effect size",
         f"{cat['n_negative']} MAF-matched negatives"),
    ], columns=["what", "planted", "observed"])
    tfs = pd.DataFrame([{"TF": t["name"], "role": t["role"], **{k: round(v, 2) for k, v in t["activity"].items()}}
                        for t in truth["tfs"]])
    return ("## Planted truth\n\n" + report.markdown_table(planted) +
            "\n\nTF activities per cell type (positive: activating, negative: repressing):\n\n" +
            report.markdown_table(tfs) + "\n")


def _write_report(out: Path, sections: list, *, seed: int, size: str, cfg: world.WorldConfig, truth: dict,
                  timings: dict, command: str) -> Path:
    """Write ``report.md``: a header with the world's size and timings, the sections and the provenance.

    Parameters
    ----------
    out : Path
        The demo's output folder.
    sections : list of str
        The markdown sections, in order.
    seed : int
    size : str
    cfg : world.WorldConfig
    truth : dict
        The world's ``truth.json``.
    timings : dict
        Seconds of the ``"world"``, ``"report"`` and (when trained) ``"model"`` stages.
    command : str
        Recorded in the provenance.

    Returns
    -------
    Path
        The written report.
    """
    wdir = out / "world"
    prov = provenance.record(command=command, config=cfgmod.to_dict(cfg), genome_build=cfg.genome_build,
                             inputs={"world provenance": wdir / "provenance.json"}, extra={"seed": seed})
    head = (f"# Demo report: the simulated world (seed {seed}, size {size})\n\n"
            f"{len(truth['chromosomes'])} chromosomes, {truth['n_genes']} genes, {truth['n_elements']} regulatory "
            f"elements, {truth['n_snps']:,} SNPs, {len(truth['tracks'])} tracks. World built in "
            f"{timings['world']:.1f} s, model in {timings.get('model', 0):.0f} s, report in {timings['report']:.1f} s.\n\n")
    tail = "## Provenance\n\n```json\n" + json.dumps(prov, indent=2, sort_keys=True) + "\n```\n"
    return write_text(out / "report.md", head + "\n".join(sections) + "\n" + tail)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyses.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("demo_output"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--size", default="default", choices=sorted(world.SIZES))
    parser.add_argument("--model-epochs", type=int, default=DEMO_EPOCHS,
                        help="training budget of the sequence model (0 skips the model)")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    args = parser.parse_args(argv)
    clilog.configure(args.verbose)
    run_demo(args.out, seed=args.seed, size=args.size, command=" ".join(sys.argv), model_epochs=args.model_epochs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
