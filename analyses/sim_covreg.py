"""LD-score covariate regression of eQTL chi^2 on |SED-LD| on the simulated world (Basenji 2018, Fig. 5).

``python -m analyses.sim_covreg --world W --out O``

The world's eQTLs (``eqtl/<tissue>.allpairs.txt.gz``) were simulated from true per-allele effects of
every SNP on every gene in one cell type per tissue (``truth.json``: ``eqtl.<tissue>.cell_type``); the
true SED of that cell type (``truth/snp_gene_effects.tsv.gz``, ALT vs REF) is the annotation here.
Per tissue: chi^2 = z^2 per SNP-gene pair, matched to the reference panel by position and alleles;
SNPs LD-pruned to r^2 <= 0.5 (priority: the SNP's largest chi^2 over genes, 1 Mb window); LD scores and
TSS-distance LD scores from the reference panel (1 cM windows); SED-LD gene by gene per LD block;
:func:`stats.covreg.covariate_regression` per pair and per SNP (max over genes), for the true SED and
for two shuffled controls: ``shuffled`` (the SED vector over all tested pairs, zeros included,
permuted) and ``shuffled_in_gene`` (permuted among each gene's tested pairs). The bootstrap
interval of the enrichment resamples genes (pairs) or LD blocks (SNPs), since significant eQTLs
cluster.

Writes ``covreg_summary.tsv``, ``covreg_quantiles.tsv``, ``summary.json``, ``covreg_<tissue>.png``
(true SED, per pair) and ``covreg_panel.png`` (all tissues, true and shuffled).
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


def _world_meta(world_dir: Path) -> tuple[dict, str, dict]:
    truth = json.loads((world_dir / "truth.json").read_text())
    build = truth.get("genome_build") or "simworld1"
    sizes = pd.read_csv(world_dir / "genome" / "chrom.sizes", sep="\t", header=None)
    return truth, build, dict(zip(sizes[0].astype(str), sizes[1].astype(int)))


def panel_scores(world_dir, *, tss: pd.DataFrame, wind_cm: float = 1.0) -> pd.DataFrame:
    """Per panel SNP: ``SNP, L2`` and the per-SNP TSS-distance LD scores, over all chromosomes."""
    from stats.io.ldblocks import normalize_chrom
    from stats.ldscore import ld_scores
    from stats.tss import snp_tss_ld_scores

    world_dir = Path(world_dir)
    _, _, lengths = _world_meta(world_dir)
    parts = []
    for c in lengths:
        bfile = world_dir / "genotypes" / f"ref_panel.chr{normalize_chrom(c)}"
        l2 = ld_scores(bfile, wind_cm=wind_cm).table[["SNP", "L2"]]
        t = snp_tss_ld_scores(bfile, tss, wind_cm=wind_cm).drop(columns=["CHR", "BP"])
        parts.append(l2.merge(t, on="SNP", how="inner", validate="one_to_one"))
    return pd.concat(parts, ignore_index=True)


def pair_tss_scores(world_dir, pairs: pd.DataFrame, *, tss: pd.DataFrame, wind_cm: float = 1.0) -> pd.DataFrame:
    """Per SNP-gene pair TSS-distance LD scores (``SNP, gene_id`` + 4 columns)."""
    from stats.io.ldblocks import normalize_chrom
    from stats.io.plink import read_bim
    from stats.tss import pair_tss_ld_scores

    world_dir = Path(world_dir)
    _, _, lengths = _world_meta(world_dir)
    u = pairs[["SNP", "gene_id"]].drop_duplicates().reset_index(drop=True)
    parts = []
    for c in lengths:
        bfile = world_dir / "genotypes" / f"ref_panel.chr{normalize_chrom(c)}"
        on = u[u["SNP"].isin(set(read_bim(bfile)["snp"].astype(str)))]
        if len(on):
            parts.append(pd.concat([on, pair_tss_ld_scores(bfile, tss, on, wind_cm=wind_cm)], axis=1))
    return pd.concat(parts, ignore_index=True)


def tissue_pairs(world_dir, tissue: str, bim: pd.DataFrame) -> pd.DataFrame:
    """The tissue's eQTL pairs matched to the panel: ``SNP, gene_id, chi2, significant``."""
    from stats.covreg import match_eqtl_to_panel
    from stats.io.gtex import read_eqtl_table

    path = Path(world_dir) / "eqtl" / f"{tissue}.allpairs.txt.gz"
    e = read_eqtl_table(path)
    if "significant" not in e.columns:
        raise ValueError(f"{path}: no 'significant' column")
    m = match_eqtl_to_panel(e, bim, what=str(path))
    sig = m["significant"]
    if sig.dtype != bool:
        sig = sig.astype(str).str.lower().isin(["true", "1"])
    return pd.DataFrame({"SNP": m["SNP"].astype(str), "gene_id": m["gene_id"].astype(str),
                         "chi2": m["z"].to_numpy() ** 2, "significant": sig.to_numpy(bool)})


def run(world_dir, out_dir, *, seed: int = 0, n_boot: int = 1000, r2_max: float = 0.5, window_kb: float = 1000,
        wind_cm: float = 1.0, figures: bool = True) -> dict:
    """The whole analysis; returns ``{"summary": DataFrame, "quantiles": DataFrame, "results": dict}``."""
    from stats import covreg
    from stats.panel import read_panel_bim
    from stats.prune import prune_variants
    from stats.tss import read_tss

    world_dir, out_dir = Path(world_dir), Path(out_dir)
    truth, build, lengths = _world_meta(world_dir)
    rng = np.random.default_rng(seed)
    panel = world_dir / "genotypes" / "ref_panel.chr{chrom}"
    blocks = world_dir / "genotypes" / "ldblocks.bed"
    bim = read_panel_bim(panel)
    tss = read_tss(world_dir / "genome" / "genes.gtf")
    snp_scores = panel_scores(world_dir, tss=tss, wind_cm=wind_cm)
    effects = pd.read_csv(world_dir / "truth" / "snp_gene_effects.tsv.gz", sep="\t")
    alleles = pd.read_csv(world_dir / "truth" / "snp_track_effects.tsv.gz", sep="\t",
                          usecols=["snp", "ref", "alt"]).rename(columns={"snp": "SNP", "alt": "A1", "ref": "A2"})
    effects = effects.rename(columns={"snp": "SNP"}).merge(alleles, on="SNP", how="left", validate="many_to_one")

    tables, rows_q, results = {}, [], {}
    pair_tss_cache = None
    for tissue, info in truth["eqtl"].items():
        cell = info["cell_type"]
        pairs = all_pairs = tissue_pairs(world_dir, tissue, bim)
        # prune SNPs, keeping the strongest association (largest chi^2 over genes)
        snp_chi2 = pairs.groupby("SNP", sort=False)["chi2"].max()
        keep = prune_variants(panel, snp_chi2.index.to_numpy(), priority=snp_chi2.to_numpy(), r2_max=r2_max,
                              window_kb=window_kb)
        kept = set(snp_chi2.index[keep])
        pairs = pairs[pairs["SNP"].isin(kept)].reset_index(drop=True)
        logger.info("%s: %d SNPs kept of %d after LD pruning; %d pairs", tissue, len(kept), len(snp_chi2), len(pairs))
        # the TSS LD scores depend on the pair only: computed once for every tested pair (shared by tissues)
        key = all_pairs[["SNP", "gene_id"]]
        todo = key if pair_tss_cache is None else key[~pd.MultiIndex.from_frame(key).isin(
            pd.MultiIndex.from_frame(pair_tss_cache[["SNP", "gene_id"]]))]
        if len(todo):
            new = pair_tss_scores(world_dir, todo, tss=tss, wind_cm=wind_cm)
            pair_tss_cache = new if pair_tss_cache is None else pd.concat([pair_tss_cache, new], ignore_index=True)
        # annotations: true SED of the tissue's cell type, and a shuffled control over all tested pairs
        true = effects[["SNP", "gene_id", "A1", "A2", cell]].rename(columns={cell: "SED"})
        full = all_pairs[["SNP", "gene_id"]].merge(true, on=["SNP", "gene_id"], how="left")
        full["SED"] = full["SED"].fillna(0.0)
        full = full.drop(columns=["A1", "A2"]).merge(alleles, on="SNP", how="left")
        shuffled = full.assign(SED=rng.permutation(full["SED"].to_numpy()))
        sed_in_gene = full["SED"].to_numpy().copy()
        for idx in full.groupby("gene_id", sort=True).indices.values():
            sed_in_gene[idx] = rng.permutation(sed_in_gene[idx])
        shuffled_gene = full.assign(SED=sed_in_gene)
        for label, ann in (("true", true), ("shuffled", shuffled), ("shuffled_in_gene", shuffled_gene)):
            ann = ann[ann["SED"] != 0]
            s = covreg.sed_ld(panel, blocks, ann, build=build, targets=pairs, lengths=lengths)
            t = pairs.assign(SED_LD=s).merge(snp_scores[["SNP", "L2"]], on="SNP", how="inner")
            t = t.merge(pair_tss_cache, on=["SNP", "gene_id"], how="inner")
            t = t[np.isfinite(t["SED_LD"])].reset_index(drop=True)
            tables[(tissue, label, "pair")] = t
            ts = covreg.aggregate_to_snps(t[["SNP", "gene_id", "chi2", "significant", "SED_LD", "L2"]])
            ts = ts.merge(snp_scores.drop(columns=["L2"]), on="SNP", how="inner")
            tables[(tissue, label, "snp")] = ts
    summaries = []
    from stats.io.ldblocks import assign_blocks, read_ldblocks

    block_of = pd.Series(assign_blocks(read_ldblocks(blocks), bim["chrom"].to_numpy(), bim["pos"].to_numpy()),
                         index=bim["snp"].astype(str).to_numpy())
    for (tissue, label, unit), t in tables.items():
        # bootstrap clusters: significant eQTLs cluster by gene (pairs) and by LD block (SNPs)
        groups = t["gene_id"].to_numpy() if unit == "pair" else block_of.reindex(t["SNP"]).to_numpy()
        res = covreg.covariate_regression(
            t["chi2"].to_numpy(), t["L2"].to_numpy(), t["SED_LD"].to_numpy(), significant=t["significant"].to_numpy(),
            tss_ld=t[[c for c in t.columns if c.startswith("TSS_")]].to_numpy(), tissue=tissue, n_boot=n_boot,
            rng=rng, groups=groups)
        results[(tissue, label, unit)] = res
        summaries.append({"annotation": label, "unit": unit, **res.summary()})
        rows_q.append(res.quantiles.assign(tissue=tissue, annotation=label, unit=unit))
    summary = pd.DataFrame(summaries)
    quantiles = pd.concat(rows_q, ignore_index=True)[["tissue", "annotation", "unit", "quantile", "n",
                                                       "n_significant", "share", "enrichment"]]
    write_table(out_dir / "covreg_summary.tsv", summary, float_format="%.6g")
    write_table(out_dir / "covreg_quantiles.tsv", quantiles, float_format="%.6g")
    record = {"world": str(world_dir), "seed": seed, "n_boot": n_boot, "r2_max": r2_max, "window_kb": window_kb,
              "ld_window_cm": wind_cm, "cell_types": {t: i["cell_type"] for t, i in truth["eqtl"].items()},
              "rows": summary.to_dict(orient="records")}
    write_text(out_dir / "summary.json", json.dumps(record, indent=2, default=float) + "\n")
    if figures:
        for tissue in truth["eqtl"]:
            covreg.tissue_figure(results[(tissue, "true", "pair")], out_dir / f"covreg_{tissue}.png")
        panel_res = []
        for label in ("true", "shuffled"):
            for tissue in truth["eqtl"]:
                r = results[(tissue, label, "pair")]
                panel_res.append(type(r)(**{**r.__dict__, "tissue": f"{tissue} ({label} SED)"}))
        covreg.panel_figure(panel_res, out_dir / "covreg_panel.png", ncols=len(truth["eqtl"]))
    return {"summary": summary, "quantiles": quantiles, "results": results}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyses.sim_covreg", description=__doc__.split("\n")[0])
    parser.add_argument("--world", type=Path, required=True, help="a world folder (genostats simulate-world)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0, help="seed of the shuffle and the bootstrap")
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates (default 1000)")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    args = parser.parse_args(argv)
    clilog.configure(args.verbose)
    res = run(args.world, args.out, seed=args.seed, n_boot=args.n_boot)
    cols = ["tissue", "annotation", "unit", "n", "ld_tss_coef", "ld_tss_t", "ld_tss_p", "enrichment",
            "enrichment_lo", "enrichment_hi"]
    logger.info("covariate regression:\n%s", res["summary"][cols].to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
