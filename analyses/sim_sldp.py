"""SLDP on the simulated world: do the planted variant effects explain the GWAS traits' directional signal?

``python -m analyses.sim_sldp --world W --out O``

The world's GWAS trait ``directional`` was simulated with per-SNP effects (per standardized genotype)
``beta = tau v + polygenic noise`` where ``v`` is the sum of the standardized true ALT-vs-REF effects of
every SNP on the tracks named in ``truth.json`` (``gwas.directional.planted_annotations``); the ``null``
trait has no directional part. Here every true track effect becomes a signed annotation (``.sannot.gz``, A1 = ALT), LD scores
come from the reference panel (:mod:`stats.ld.scores`, 1 cM windows), and ``stats.sldp.run`` regresses
both traits on all annotations. Expected: the planted tracks significant with a positive sign on
``directional`` (tracks correlated with them may follow), nothing on ``null``.

Writes ``sldp.gwresults`` (TSV), ``sldp.png`` (z of every annotation x trait) and ``summary.json``.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from genocore import clilog
from genocore.files import write_table, write_text

logger = logging.getLogger(__name__)

TRAITS = ("directional", "null")


def _chroms(world_dir: Path) -> list:
    sizes = pd.read_csv(world_dir / "genome" / "chrom.sizes", sep="\t", header=None)
    return sizes[0].astype(str).tolist()


def write_inputs(world_dir, out_dir) -> dict:
    """Signed annotations of the true track effects and panel LD scores, per chromosome.

    Returns
    -------
    dict with ``sannot_chr``, ``ldscores_chr``, ``bfile_chr``, ``ld_blocks``, ``annotations``
    """
    from stats.io.annot import write_annot_chroms
    from genocore.genome import normalize_chrom
    from stats.ld.scores import ld_scores, write_ld_scores

    world_dir, out_dir = Path(world_dir), Path(out_dir)
    effects = pd.read_csv(world_dir / "truth" / "snp_track_effects.tsv.gz", sep="\t")
    tracks = [c for c in effects.columns if c not in ("snp", "chrom", "pos", "ref", "alt")]
    sannot = pd.DataFrame({"CHR": normalize_chrom(effects.chrom.astype(str)), "SNP": effects.snp,
                           "A1": effects.alt, "A2": effects.ref})
    names = [t.replace(":", "_") for t in tracks]
    for t, name in zip(tracks, names):
        sannot[name] = effects[t].to_numpy(np.float64)
    sannot_chr = out_dir / "annot" / "tracks."
    if not (out_dir / "annot").exists() or not list((out_dir / "annot").glob("*.sannot.gz")):
        write_annot_chroms(sannot_chr, sannot, signed=True, float_format="%.6g")
    ld_dir = out_dir / "ldscores"
    bfile_chr = world_dir / "genotypes" / "ref_panel.chr{chrom}"
    for c in _chroms(world_dir):
        bare = str(normalize_chrom(c))
        if (ld_dir / f"{bare}.l2.M_5_50").exists():
            continue
        scores = ld_scores(Path(str(bfile_chr).replace("{chrom}", bare)), wind_cm=1.0)
        write_ld_scores(ld_dir / bare, scores)
    return {"sannot_chr": sannot_chr, "ldscores_chr": ld_dir / "{chrom}", "bfile_chr": bfile_chr,
            "ld_blocks": world_dir / "genotypes" / "ldblocks.bed", "annotations": dict(zip(names, tracks))}


def run(world_dir, out_dir, *, seed: int = 0, workers: int | None = None) -> dict:
    """Inputs, the regression of both traits on every track annotation, a table and a figure."""
    from stats import sldp

    world_dir, out_dir = Path(world_dir), Path(out_dir)
    truth = json.loads((world_dir / "truth.json").read_text())
    build = json.loads((world_dir / "provenance.json").read_text()).get("genome_build") or "simworld1"
    inputs = write_inputs(world_dir, out_dir)
    lengths = pd.read_csv(world_dir / "genome" / "chrom.sizes", sep="\t", header=None)
    from genocore.dask_client import dask_client

    client = dask_client(workers=workers)
    try:
        table = sldp.run(bfile_chr=inputs["bfile_chr"], ld_blocks=inputs["ld_blocks"],
                         sumstats={t: world_dir / "gwas" / f"{t}.sumstats.gz" for t in TRAITS},
                         sannot_chr=[inputs["sannot_chr"]], ldscores_chr=inputs["ldscores_chr"], build=build,
                         block_lengths=dict(zip(lengths[0].astype(str), lengths[1].astype(int))),
                         seed=seed, client=client, blas_threads=1).table
    finally:
        if client is not None:
            client.close()
    write_table(out_dir / "sldp.gwresults", table, float_format="%.6g")
    # sldp names an annotation by its profile column, ``<name>.R``
    planted = [a.replace(":", "_") + ".R" for a in truth["gwas"]["directional"]["planted_annotations"]]
    rows = table[(table.pheno == "directional") & table.annot.isin(planted)]
    row, weakest = rows.loc[rows.z.idxmax()], rows.loc[rows.z.idxmin()]
    null = table[table.pheno == "null"]
    summary = {"planted_annotations": planted, "strongest_planted": row.annot, "directional_z": float(row.z),
               "directional_p": float(row.p), "directional_mu": float(row.mu), "directional_se": float(row["se(mu)"]),
               "weakest_planted": weakest.annot, "weakest_planted_z": float(weakest.z),
               "weakest_planted_p": float(weakest.p),
               "null_min_p": float(null.p.min()), "n_null_p_below_0.05": int((null.p < 0.05).sum()),
               "n_annotations": int(table.annot.nunique())}
    write_text(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    figure(table, out_dir / "sldp.png", planted=planted)
    return {"table": table, "summary": summary}


def figure(table: pd.DataFrame, path, *, planted: list) -> Path:
    """z of every annotation for each trait, the planted annotations marked."""
    from genocore.figures import save_png

    import matplotlib.pyplot as plt

    annots = list(dict.fromkeys(table.annot))
    fig, axes = plt.subplots(1, len(TRAITS), figsize=(4 + 0.45 * len(annots), 3.6), sharey=True)
    for ax, trait in zip(np.atleast_1d(axes), TRAITS):
        sub = table[table.pheno == trait].set_index("annot").reindex(annots)
        colors = ["tab:red" if a in planted else "tab:gray" for a in annots]
        ax.bar(range(len(annots)), sub.z.to_numpy(), color=colors)
        ax.axhline(0, color="black", lw=0.6)
        for y in (-1.96, 1.96):
            ax.axhline(y, color="tab:blue", lw=0.6, ls="--")
        ax.set_xticks(range(len(annots)), [a.removesuffix(".R").replace("_", " ", 1) for a in annots], rotation=70,
                      ha="right",
                      fontsize=7)
        ax.set_title(f"trait: {trait}")
    np.atleast_1d(axes)[0].set_ylabel("SLDP z (sign-flip)")
    fig.suptitle(f"SLDP of the world's GWAS traits on true track effects (red: planted)", fontsize=9)
    fig.tight_layout()
    return save_png(fig, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyses.sim_sldp", description=__doc__.split("\n")[0])
    parser.add_argument("--world", type=Path, required=True, help="a world folder (genostats simulate-world)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0, help="seed of the sign flips")
    parser.add_argument("--workers", type=int, help="run on a local Dask cluster of N workers")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    args = parser.parse_args(argv)
    clilog.configure(args.verbose)
    res = run(args.world, args.out, seed=args.seed, workers=args.workers)
    logger.info("SLDP:\n%s", res["table"][["pheno", "annot", "z", "p", "mu", "se(mu)"]].to_string(index=False))
    logger.info("summary: %s", json.dumps(res["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
