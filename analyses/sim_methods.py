"""The remaining methods on the simulated world, each against what was planted.

``python -m analyses.sim_methods --world W --out O``

- Cluster comparison: the true gene x cell-type expression against a noisy copy of itself (ARI far
  above 0) and against a gene-shuffled copy (ARI near 0).
- GWAS-catalog classifier: the world's catalog positives against MAF-matched negatives with the
  |true effect| on every track as features (AUROC above 0.5, permutation p), and with permuted labels.
- De novo case-control: cases were enriched for variants with strongly negative effects in brain cell
  types; per-track Mann-Whitney tests, the brain vs other comparison and the family-paired test on a
  brain track fixed in advance.
- PICS: the fine-mapping locus, whose causal SNP is known; is it in the 95% credible set?

Writes ``summary.json``, one TSV per method and the figures (heatmap, ROC, volcano).
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

RISK_DATASET = "DNASE:brain_neuron"


def clusters(world_dir: Path, out_dir: Path, *, seed: int) -> dict:
    from stats import expression_clusters as cl

    ge = pd.read_csv(world_dir / "truth" / "gene_expression.tsv", sep="\t", index_col="gene_id")
    x = np.log2(ge.to_numpy() + 1)
    rng = np.random.default_rng(seed)
    n = len(x)
    # few cell types and genes in a world: every gene, diagonal covariances, a handful of components
    kw = dict(n_genes=n, sample_size=n, n_components=min(6, max(2, n // 20)), n_bootstrap=20,
              covariance_type="diag", n_permutations=19)
    noisy = cl.compare_clusters(x, x + rng.normal(0, 0.1 * x.std(), x.shape), rng=seed, **kw)
    shuffled = cl.compare_clusters(x, x[rng.permutation(n)], rng=seed, **kw)
    table = pd.concat([noisy.summary().assign(comparison="noisy copy"),
                       shuffled.summary().assign(comparison="shuffled copy")], ignore_index=True)
    write_table(out_dir / "clusters.tsv", table, float_format="%.4g")
    cl.cluster_heatmaps(x, x + rng.normal(0, 0.1 * x.std(), x.shape), path=out_dir / "clusters_heatmap.png",
                        sample_names=list(ge.columns))
    return {"noisy_ari": float(noisy.mean), "noisy_p_permutation": float(noisy.p_permutation),
            "shuffled_ari": float(shuffled.mean), "shuffled_p_permutation": float(shuffled.p_permutation)}


def classifier(world_dir: Path, out_dir: Path, *, seed: int) -> dict:
    from stats import classifiers as cf

    cat = pd.read_csv(world_dir / "catalog" / "gwas_catalog_snps.tsv", sep="\t").set_index("snp")
    eff = pd.read_csv(world_dir / "truth" / "snp_track_effects.tsv.gz", sep="\t")
    tracks = [c for c in eff.columns if ":" in c]
    feats = cf.features_from_frame(eff[["snp", *tracks]], absolute=True)
    feats = np.log1p(feats / feats.std())
    res = cf.evaluate_classifier(feats, cat.label, cat.chrom, n_permutations=49, rng=seed)
    perm = pd.Series(np.random.default_rng(seed).permutation(cat.label.to_numpy()), index=cat.index)
    null = cf.evaluate_classifier(feats, perm, cat.chrom, n_permutations=49, rng=seed)
    table = pd.DataFrame([{"labels": "true", **res.summary()}, {"labels": "permuted", **null.summary()}])
    write_table(out_dir / "classifier.tsv", table, float_format="%.4g")
    cf.roc_figure(res.labels.to_numpy(), {"|true effects|, out-of-fold": res.scores.reindex(res.labels.index).to_numpy()},
                  path=out_dir / "classifier_roc.png")
    return {"auroc": float(res.auc), "p_permutation": float(res.p_permutation),
            "auroc_permuted_labels": float(null.auc), "p_permutation_permuted_labels": float(null.p_permutation)}


def casecontrol(world_dir: Path, out_dir: Path) -> dict:
    from stats import casecontrol as cc

    variants = cc.read_variants(world_dir / "denovo" / "denovo_variants.tsv")
    scores = cc.read_scores(world_dir / "truth" / "denovo_effects.tsv.gz")
    res = cc.analyze(variants, scores, group="brain", risk_dataset=RISK_DATASET)
    write_table(out_dir / "casecontrol.tsv", res["datasets"], float_format="%.4g")
    cc.volcano_plot(res["datasets"], out_dir / "casecontrol_volcano.png", group="brain")
    t = res["datasets"]
    brain = t.dataset.str.contains("brain")
    return {"brain_vs_other_p": float(res["group"]["p"]), "brain_tracks": int(brain.sum()),
            "brain_tracks_negative_p_less_0.05": int(((t.effect < 0) & (t.p_less < 0.05) & brain).sum()),
            "other_tracks_p_less_0.05": int(((t.p_less < 0.05) & ~brain).sum()),
            "risk_dataset": RISK_DATASET, "family_share_case_worse": float(res["family"]["share_case_worse"]),
            "family_p": float(res["family"]["p"])}


def pics(world_dir: Path, out_dir: Path, truth: dict) -> dict:
    from stats.finemap import pics as fm

    ss = pd.read_csv(world_dir / "finemap" / "locus.sumstats.tsv", sep="\t")
    out = fm.pics(ss, panel=world_dir / "genotypes" / f"ref_panel.{truth['chrom']}", coverage=0.95)
    write_table(out_dir / "pics.tsv", out, float_format="%.4g")
    cs = out[out.in_credible_set]
    causal = out[out.SNP == truth["causal_snp"]]
    return {"lead_snp": str(out.lead_snp.iloc[0]), "causal_snp": truth["causal_snp"],
            "causal_in_95_set": bool(truth["causal_snp"] in set(cs.SNP)), "credible_set_size": int(len(cs)),
            "locus_snps": int(len(ss)), "causal_probability": float(causal.prob.iloc[0]) if len(causal) else 0.0}


def run(world_dir, out_dir, *, seed: int = 0) -> dict:
    """All four methods; returns and writes the summary."""
    world_dir, out_dir = Path(world_dir), Path(out_dir)
    truth = json.loads((world_dir / "truth.json").read_text())
    summary = {"clusters": clusters(world_dir, out_dir, seed=seed),
               "classifier": classifier(world_dir, out_dir, seed=seed),
               "casecontrol": casecontrol(world_dir, out_dir),
               "pics": pics(world_dir, out_dir, truth["finemap"])}
    write_text(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyses.sim_methods", description=__doc__.split("\n")[0])
    parser.add_argument("--world", type=Path, required=True, help="a world folder (genostats simulate-world)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-v", "--verbose", action="count", default=0)
    args = parser.parse_args(argv)
    clilog.configure(args.verbose)
    logger.info("summary: %s", json.dumps(run(args.world, args.out, seed=args.seed), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
