"""LD-score covariate regression of eQTL chi^2 on |SED-LD| on the simulated world (Basenji 2018, Fig. 5).

``python -m analyses.sim_covreg --world W --out O``

The world's eQTLs (``eqtl/<tissue>.allpairs.txt.gz``) were simulated from true per-allele effects of
every SNP on every gene in one cell type per tissue (``truth.json``: ``eqtl.<tissue>.cell_type``); the
true SED of that cell type (``truth/snp_gene_effects.tsv.gz``, ALT vs REF) is the annotation here.
Per tissue: chi^2 = z^2 per SNP-gene pair, matched to the reference panel by position and alleles;
SNPs LD-pruned to r^2 <= 0.5 (priority: the SNP's largest chi^2 over genes, 1 Mb window); LD scores and
TSS-distance LD scores from the reference panel (1 cM windows); SED-LD gene by gene per LD block;
:func:`stats.eqtl.regression.covariate_regression` per pair and per SNP (max over genes), all assembled by
:func:`stats.eqtl.pipeline.eqtl_enrichment` (also behind ``genostats covreg``), for the true SED and
for two shuffled controls: ``shuffled`` (the SED vector over all tested pairs, zeros included,
permuted) and ``shuffled_in_gene`` (permuted among each gene's tested pairs). The cluster-robust p
of |SED-LD| (t reference, G - 1 df) and the bootstrap interval of the enrichment use genes (pairs)
or LD blocks (SNPs) as clusters by default (``--cluster block``: LD blocks for pairs too); the
enrichment is 1 when the |SED-LD| coefficient is <= 0.

The test of |SED-LD| is one-sided (``p_cluster_pos``: more |SED-LD|, stronger association) and is checked
in the run itself: ``--shuffles N`` annotations shuffled like the ``shuffled`` control give every row a
permutation p (``p_shuffle``, exact under the shuffle null) and ``shuffles_p05``, the share of those
shuffles that the analytic one-sided p calls significant at 0.05. ``shuffled_in_gene`` is a weaker
control: it keeps which genes carry large SED (and so large |SED-LD| at all their pairs), which tracks
how strongly each gene is regulated; part of the signal survives it by design.

Every analysis runs twice (``--scale``): with the paper's regressor |SED-LD| and with sqrt(|SED-LD|),
which tempers the few pairs of extreme |SED-LD| (see :func:`stats.eqtl.regression.scale_sed_ld`). Writes
``covreg_summary.tsv``, ``covreg_quantiles.tsv``, ``summary.json``, ``covreg_<tissue>.png`` (true SED,
per pair) and ``covreg_panel.png`` (all tissues, true and shuffled), and the same with ``_sqrt``.
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


def world_meta(world_dir) -> tuple[dict, str, dict]:
    """A world's ``truth.json``, genome build and chromosome lengths (bp, by name)."""
    world_dir = Path(world_dir)
    truth = json.loads((world_dir / "truth.json").read_text())
    build = truth.get("genome_build") or "simworld1"
    sizes = pd.read_csv(world_dir / "genome" / "chrom.sizes", sep="\t", header=None)
    return truth, build, dict(zip(sizes[0].astype(str), sizes[1].astype(int)))


def true_sed(world_dir) -> pd.DataFrame:
    """The world's true SED per SNP-gene pair, in the SED contract of :func:`stats.eqtl.sed_ld.check_sed`.

    Returns
    -------
    DataFrame
        ``chrom, pos`` (1-based), ``ref, alt, snp, gene_id`` and one column per cell type (ALT minus REF),
        as ``genomodel sed`` gives a SED table; one row per pair of ``truth/snp_gene_effects.tsv.gz``.
    """
    world_dir = Path(world_dir)
    effects = pd.read_csv(world_dir / "truth" / "snp_gene_effects.tsv.gz", sep="\t")
    variants = pd.read_csv(world_dir / "truth" / "snp_track_effects.tsv.gz", sep="\t",
                           usecols=["snp", "chrom", "pos", "ref", "alt"], dtype={"chrom": str})
    out = effects.merge(variants, on="snp", how="left", validate="many_to_one")
    return out[["chrom", "pos", "ref", "alt", "snp"] + [c for c in effects.columns if c != "snp"]]


def run(world_dir, out_dir, *, seed: int = 0, n_boot: int = 1000, r2_max: float = 0.5, window_kb: float = 1000,
        wind_cm: float = 1.0, figures: bool = True, cluster: str = "gene", n_shuffles: int = 0,
        scale: str = "abs") -> dict:
    """The whole analysis (:func:`stats.eqtl.pipeline.eqtl_enrichment` on the world's files, true SED and controls).

    With ``n_shuffles`` each row also gets the permutation p of |SED-LD| (``p_shuffle``; the annotation's
    t against ``n_shuffles`` shuffles of the SED over all tested pairs; see
    :func:`stats.eqtl.pipeline.eqtl_enrichment`).

    Returns ``{"summary": DataFrame, "quantiles": DataFrame, "results": dict, "null_t": dict}`` (results
    keyed by ``(tissue, annotation, unit)``; ``null_t``: the shuffles' t per ``(tissue, unit)``).
    """
    from stats.eqtl.figures import panel_figure, tissue_figure
    from stats.eqtl.pipeline import eqtl_enrichment

    world_dir, out_dir = Path(world_dir), Path(out_dir)
    truth, build, lengths = world_meta(world_dir)
    tissues = list(truth["eqtl"])
    effects = true_sed(world_dir)
    seds = {t: effects[["chrom", "pos", "ref", "alt", "gene_id", truth["eqtl"][t]["cell_type"]]].rename(
        columns={truth["eqtl"][t]["cell_type"]: "SED"}) for t in tissues}
    res = eqtl_enrichment(
        {t: world_dir / "eqtl" / f"{t}.allpairs.txt.gz" for t in tissues},
        bfile_chr=world_dir / "genotypes" / "ref_panel.chr{chrom}", ld_blocks=world_dir / "genotypes" / "ldblocks.bed",
        build=build, tss=world_dir / "genome" / "genes.gtf", sed=seds, unit=("pair", "snp"), annotation="true",
        controls=("shuffled", "shuffled_in_gene"), prune_r2=r2_max, prune_window_kb=window_kb, ld_wind_cm=wind_cm,
        n_boot=n_boot, rng=np.random.default_rng(seed), lengths=lengths, cluster=cluster, n_shuffles=n_shuffles,
        scale=scale)
    summary, quantiles, results = res.summary, res.quantiles, res.results
    sfx = "" if scale == "abs" else f"_{scale}"  # the paper's |SED-LD| keeps the plain names
    write_table(out_dir / f"covreg_summary{sfx}.tsv", summary, float_format="%.6g")
    write_table(out_dir / f"covreg_quantiles{sfx}.tsv", quantiles.assign(scale=scale), float_format="%.6g")
    record = {"world": str(world_dir), "seed": seed, "n_boot": n_boot, "n_shuffles": n_shuffles, "cluster": cluster,
              "scale": scale, "r2_max": r2_max, "window_kb": window_kb,
              "ld_window_cm": wind_cm, "cell_types": {t: i["cell_type"] for t, i in truth["eqtl"].items()},
              "pruning": res.pruning.to_dict(orient="records"), "rows": summary.to_dict(orient="records")}
    write_text(out_dir / f"summary{sfx}.json", json.dumps(record, indent=2, default=float) + "\n")
    if figures:
        for tissue in tissues:
            tissue_figure(results[(tissue, "true", "pair")], out_dir / f"covreg_{tissue}{sfx}.png")
        panel_res = []
        for label in ("true", "shuffled"):
            for tissue in tissues:
                r = results[(tissue, label, "pair")]
                panel_res.append(type(r)(**{**r.__dict__, "tissue": f"{tissue} ({label} SED, {scale})"}))
        panel_figure(panel_res, out_dir / f"covreg_panel{sfx}.png", ncols=len(tissues))
    return {"summary": summary, "quantiles": quantiles, "results": results, "null_t": res.null_t}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyses.sim_covreg", description=__doc__.split("\n")[0])
    parser.add_argument("--world", type=Path, required=True, help="a world folder (genostats simulate-world)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0, help="seed of the shuffle and the bootstrap")
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates (default 1000)")
    parser.add_argument("--cluster", choices=("block", "gene", "none"), default="gene",
                        help="clusters of the robust p and the bootstrap: gene (default; per SNP: LD block), "
                        "LD block, none")
    parser.add_argument("--shuffles", type=int, default=99,
                        help="shuffled annotations per tissue for the permutation p of |SED-LD| (p_shuffle; "
                        "default 99; 0: none)")
    parser.add_argument("--scale", choices=("abs", "sqrt"), nargs="+", default=["abs", "sqrt"],
                        help="the regressor(s), one analysis each: |SED-LD| (Basenji 2018; files covreg_*) and "
                        "sqrt(|SED-LD|) (files covreg_*_sqrt); default both")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    args = parser.parse_args(argv)
    clilog.configure(args.verbose)
    cols = ["tissue", "annotation", "unit", "n", "ld_tss_coef", "ld_tss_t", "ld_tss_z_cluster", "ld_tss_p_cluster_pos",
            "n_clusters", "p_shuffle", "shuffles_p05", "enrichment", "enrichment_lo", "enrichment_hi"]
    for scale in dict.fromkeys(args.scale):
        res = run(args.world, args.out, seed=args.seed, n_boot=args.n_boot, cluster=args.cluster,
                  n_shuffles=args.shuffles, scale=scale)
        shown = [c for c in cols if c in res["summary"].columns]
        logger.info("covariate regression, regressor %s:\n%s", "|SED-LD|" if scale == "abs" else "sqrt(|SED-LD|)",
                    res["summary"][shown].to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
