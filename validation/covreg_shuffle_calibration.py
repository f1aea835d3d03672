"""Calibration of the shuffled-SED control of the eQTL |SED-LD| covariate regression (issue 6).

``python validation/covreg_shuffle_calibration.py --world W [--shuffles 50] [--n-boot 100] [--seed 0]
[--cluster block|gene|none] [--models ld_tss ld_tss+cis ld_tss_sqrt]``

On one simulated world (``analyses.world``), the per-pair analysis of :func:`stats.eqtl.pipeline.eqtl_enrichment`
(the ``shuffled`` control: the tissue's SED vector over all tested pairs, zeros included, permuted) is run
for many independent shuffles. Everything that does not depend on the annotation is computed once: the
eQTL pairs matched to the panel, the LD pruning, the LD scores, the per-pair TSS-distance LD scores and the
per-pair cis LD scores (:func:`stats.eqtl.covariates.pair_cis_ld_scores`); per shuffle only SED-LD (all shuffles
of a tissue in one pass over the LD blocks, each shuffle's genes as their own columns) and the regressions.

Per tissue and model (``--models``; ``ld_tss``: chi2 ~ 1 + L2 + TSS L2s + |SED-LD|; ``ld_tss+cis``: the
pair's cis LD score added to both models; ``ld_tss_sqrt``: sqrt(|SED-LD|) as the regressor) it prints the
share of shuffles with one-sided (coefficient > 0) and with two-sided cluster-robust p < 0.05 (clusters of
``--cluster``: the LD block of the pair's SNP (default), its gene, or none; t reference with G - 1 df) and
with plain OLS p < 0.05 (Clopper-Pearson 95% intervals), a KS test of the cluster-robust p against U(0, 1), the headline
enrichment (median, 5-95%), the share of shuffles whose enrichment interval lies above 1, and the true-SED
row for reference; then a diagnosis: how |SED-LD| of a shuffled SED tracks the cis LD score and the 1 cM
LD score, and how chi2 tracks the cis LD score beyond the covariates.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analyses.sim_covreg import true_sed, world_meta  # noqa: E402
from stats.eqtl.covariates import add_cis_ld_scores, ld_score_covariates  # noqa: E402
from stats.eqtl.pairs import pruned_eqtl_pairs  # noqa: E402
from stats.eqtl.regression import table_regression  # noqa: E402
from stats.eqtl.sed_ld import match_sed_to_panel, sed_ld_many  # noqa: E402
from stats.eqtl.shuffles import shuffled_seds  # noqa: E402
from stats.eqtl.tables import CLUSTERS, RegressionTables, snp_blocks  # noqa: E402


def prepare(world: Path, *, cluster: str = "block", r2_max=0.5, window_kb=1000.0, wind_cm=1.0) -> dict:
    """The annotation-free stages of :func:`stats.eqtl.pipeline.eqtl_enrichment` per pair (with
    ``cis_ld_covariate=True``), computed once: pairs, pruning, LD / TSS / cis LD scores, clusters."""
    from stats.eqtl.tss import read_tss
    from stats.io.ldblocks import read_ldblocks
    from stats.io.panel import ReferencePanel

    truth, build, lengths = world_meta(world)
    tissues = list(truth["eqtl"])
    panel = ReferencePanel(world / "genotypes" / "ref_panel.chr{chrom}")  # opened once, passed to every stage
    blocks = read_ldblocks(world / "genotypes" / "ldblocks.bed")
    bim = panel.allele_table()
    tss = read_tss(world / "genome" / "genes.gtf")
    effects = true_sed(world)
    tested, kept, _ = pruned_eqtl_pairs({t: world / "eqtl" / f"{t}.allpairs.txt.gz" for t in tissues}, panel,
                                        prune_r2=r2_max, prune_window_kb=window_kb)
    snp_scores, pair_tss = ld_score_covariates(panel, tested, tss=tss, units=("pair",), wind_cm=wind_cm)
    tables = RegressionTables(snp_scores, pair_tss, snp_blocks(bim, blocks), units=("pair",), cluster=cluster)
    out = {"tissues": tissues, "panel": panel, "blocks": blocks, "build": build, "lengths": lengths, "bim": bim,
           "tested": tested, "tables": tables, "pairs": {}, "seds": {}, "base": {}}
    for t in tissues:
        ct = truth["eqtl"][t]["cell_type"]
        out["seds"][t] = match_sed_to_panel(effects[["chrom", "pos", "ref", "alt", "gene_id", ct]], bim, value=ct,
                                            what=f"SED of {t}")
        pairs = add_cis_ld_scores(kept[t], cis=tested[t], panel=panel, blocks=blocks, build=build, lengths=lengths)
        # _row: the pair's row in the SED-LD arrays (their targets are these pairs)
        out["pairs"][t] = pairs.assign(_row=np.arange(len(pairs)))
        # the annotation-free columns of the regression table (SED_LD 0 keeps every row)
        out["base"][t] = tables.tables(out["pairs"][t], np.zeros(len(pairs)))["pair"]
    return out


def sed_ld_at_pairs(prep: dict, tissue: str, anns: list) -> np.ndarray:
    """SED-LD at the tissue's kept pairs for several SED tables in one pass (:func:`stats.eqtl.sed_ld.sed_ld_many`):
    shape (len(anns), n_pairs)."""
    return sed_ld_many(prep["panel"], prep["blocks"], anns, build=prep["build"], targets=prep["pairs"][tissue],
                       lengths=prep["lengths"])


def regress(prep: dict, tissue: str, s: np.ndarray, *, cis: bool, n_boot: int, rng, sqrt: bool = False) -> dict:
    """One regression of a tissue's table with the given SED-LD (aligned to its kept pairs); ``cis``: the cis
    LD score is a covariate; ``sqrt``: the regressor is sqrt(|SED-LD|) instead of |SED-LD|."""
    tables = prep["tables"]
    t = tables.tables(prep["pairs"][tissue], s)["pair"]
    if not cis:
        t = t.drop(columns=["CIS_L2"])
    r = table_regression(t, groups=tables.groups(t, "pair"), cluster=tables.cluster, n_boot=n_boot, rng=rng,
                         scale="sqrt" if sqrt else "abs")
    return r.summary()


def _ci(k: int, n: int) -> str:
    lo, hi = st.binomtest(k, n).proportion_ci(0.95, method="exact")
    return f"{k}/{n} = {k / n:.3f} [{lo:.3f}, {hi:.3f}]"


def diagnose(prep: dict, tissue: str, s_shuf: np.ndarray) -> dict:
    """How |SED-LD| of the shuffles tracks the cis / 1 cM LD score; how chi2 tracks the cis LD score."""
    import statsmodels.api as sm

    b = prep["base"][tissue]
    a = np.abs(s_shuf[:, b["_row"].to_numpy()])
    rho_cis = np.nanmedian([st.spearmanr(v, b["CIS_L2"]).statistic for v in a])
    rho_l2 = np.nanmedian([st.spearmanr(v, b["L2"]).statistic for v in a])
    # mean |SED-LD| over shuffles vs cis LD score, with L2 and TSS L2s held fixed
    tss_cols = [c for c in b.columns if c.startswith("TSS_")]
    x0 = np.column_stack([np.ones(len(b)), b["L2"], b[tss_cols]])
    x1 = np.column_stack([x0, b["CIS_L2"]])
    fa = sm.OLS(a.mean(axis=0), x1).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(b["gene_id"])[0]})
    fy = sm.OLS(b["chi2"].to_numpy(), x1).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(b["gene_id"])[0]})
    return {"rho_cis": rho_cis, "rho_l2": rho_l2, "t_abs_on_cis": fa.tvalues[-1], "t_chi2_on_cis": fy.tvalues[-1],
            "r_cis_l2": np.corrcoef(b["CIS_L2"], b["L2"])[0, 1]}


#: model -> (cis LD score covariate, sqrt(|SED-LD|) regressor)
MODELS = {"ld_tss": (False, False), "ld_tss+cis": (True, False), "ld_tss_sqrt": (False, True)}


def run_shuffles(prep: dict, *, models: dict, n_shuffles: int, batch: int, n_boot: int, n_boot_true: int,
                 seed: int) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Every tissue's true-SED regressions and those of ``n_shuffles`` shuffles (eqtl_enrichment's: its
    "shuffled" control, then re-permuted), per model; returns (shuffle rows, true rows, diagnosis by tissue)."""
    ss = np.random.SeedSequence(seed)
    rows, true_rows, diag = [], [], {}
    for tissue in prep["tissues"]:
        t1 = time.perf_counter()
        r_shuf, r_boot, r_true = (np.random.default_rng(c) for c in ss.spawn(3))
        sed = prep["seds"][tissue]
        s_true = sed_ld_at_pairs(prep, tissue, [sed])[0]
        for name, (cis, sq) in models.items():
            true_rows.append({**regress(prep, tissue, s_true, cis=cis, sqrt=sq, n_boot=n_boot_true, rng=r_true),
                              "tissue": tissue, "model": name})
        s_all = np.vstack([sed_ld_at_pairs(prep, tissue, anns) for anns in shuffled_seds(
            sed, prep["tested"][tissue], prep["bim"], n_shuffles=n_shuffles, batch=batch, rng=r_shuf)])
        for i, s in enumerate(s_all):
            for name, (cis, sq) in models.items():
                rows.append({**regress(prep, tissue, s, cis=cis, sqrt=sq, n_boot=n_boot, rng=r_boot),
                             "tissue": tissue, "model": name, "shuffle": i})
        diag[tissue] = diagnose(prep, tissue, s_all)
        print(f"  {tissue}: {len(prep['base'][tissue])} pairs, {n_shuffles} shuffles in "
              f"{time.perf_counter() - t1:.0f} s", flush=True)
    return pd.DataFrame(rows), pd.DataFrame(true_rows), diag


def print_tissue(r: pd.DataFrame, t: pd.Series, *, tissue: str, n_boot_true: int, cluster: str) -> None:
    """The shuffles of one tissue and model (``r``) against its true-SED row (``t``)."""
    n = len(r)
    po = r["ld_tss_p"].to_numpy()
    pc = r["ld_tss_p_cluster"].to_numpy() if "ld_tss_p_cluster" in r.columns else po
    ks = st.kstest(pc, "uniform")
    e = r["enrichment"].to_numpy()
    q5, q50, q95 = np.nanquantile(e, [0.05, 0.5, 0.95])
    print(f"{tissue}:")
    pc1 = r["ld_tss_p_cluster_pos"].to_numpy() if "ld_tss_p_cluster_pos" in r.columns else r["ld_tss_p_pos"]
    print(f"  one-sided (coefficient > 0) p_cluster_pos < 0.05: {_ci(int((pc1 < 0.05).sum()), n)}; "
          f"p_pos (OLS) < 0.05: {_ci(int((r['ld_tss_p_pos'] < 0.05).sum()), n)}")
    print(f"  two-sided p_cluster < 0.05: {_ci(int((pc < 0.05).sum()), n)}; "
          f"p_OLS < 0.05: {_ci(int((po < 0.05).sum()), n)}")
    print(f"  KS of p_cluster vs U(0,1): D = {ks.statistic:.3f}, p = {ks.pvalue:.3g}; median p_cluster "
          f"{np.median(pc):.3f}; coef > 0 in {int((r['ld_tss_coef'] > 0).sum())}/{n}; mean z_cluster "
          f"{r.get('ld_tss_z_cluster', r['ld_tss_t']).mean():+.2f} (sd "
          f"{r.get('ld_tss_z_cluster', r['ld_tss_t']).std():.2f}); clusters {int(r['n_clusters'].median())}")
    print(f"  enrichment: median {q50:.2f} (5-95%: {q5:.2f}-{q95:.2f}); 'enriched' (interval lower bound "
          f"> 1): {_ci(int((r['enrichment_lo'] > 1).sum()), n)}")
    enr = r["enrichment_lo"] > 1
    qs = " ".join(f"{r[f'q{q}_enrichment'].median():.2f}" for q in range(1, 6))
    print(f"  enriched with coef > 0: {int((enr & (r['ld_tss_coef'] > 0)).sum())}, with coef < 0: "
          f"{int((enr & (r['ld_tss_coef'] < 0)).sum())}; median quintile enrichments (q1..q5): {qs}")
    beyond = int((r.get("ld_tss_z_cluster", r["ld_tss_t"]) < t.get("ld_tss_z_cluster", t["ld_tss_t"])).sum())
    print(f"  true SED: coef {t['ld_tss_coef']:.3f}, t {t['ld_tss_t']:.1f}, p {t['ld_tss_p']:.2g}, p_cluster "
          f"{t.get('ld_tss_p_cluster', np.nan):.2g}, one-sided {t.get('ld_tss_p_cluster_pos', np.nan):.2g} "
          f"({int(t['n_clusters'])} clusters); z_cluster {t.get('ld_tss_z_cluster', np.nan):.2f} beyond "
          f"{beyond}/{n} shuffles; enrichment "
          f"{t['enrichment']:.2f} [{t['enrichment_lo']:.2f}, {t['enrichment_hi']:.2f}] "
          f"({n_boot_true} {cluster} bootstrap draws)")


def print_model(res: pd.DataFrame, tr: pd.DataFrame, *, name: str, tissues, n_boot_true: int, cluster: str) -> None:
    """One model's report: every tissue (:func:`print_tissue`), then all tissues together."""
    cis, sq = MODELS[name]
    print(f"\n== model {name}: chi2 ~ 1 + L2 {'+ cis L2 ' if cis else ''}+ TSS L2 (4) + "
          f"{'sqrt(|SED-LD|)' if sq else '|SED-LD|'} ==")
    for tissue in tissues:
        r = res[(res.tissue == tissue) & (res.model == name)]
        t = tr[(tr.tissue == tissue) & (tr.model == name)].iloc[0]
        print_tissue(r, t, tissue=tissue, n_boot_true=n_boot_true, cluster=cluster)
    rm = res[res.model == name]
    allp = (rm["ld_tss_p_cluster"] if "ld_tss_p_cluster" in rm.columns else rm["ld_tss_p"]).to_numpy()
    ks = st.kstest(allp, "uniform")
    allp1 = (rm["ld_tss_p_cluster_pos"] if "ld_tss_p_cluster_pos" in rm.columns else rm["ld_tss_p_pos"]).to_numpy()
    print(f"all tissues: one-sided p_cluster_pos < 0.05: {_ci(int((allp1 < 0.05).sum()), len(allp1))}; "
          f"< 0.01: {_ci(int((allp1 < 0.01).sum()), len(allp1))}")
    print(f"all tissues: two-sided p_cluster < 0.05: {_ci(int((allp < 0.05).sum()), len(allp))}; KS D = "
          f"{ks.statistic:.3f}, p = {ks.pvalue:.3g}")
    print(f"all tissues: 'enriched' (interval lower bound > 1): "
          f"{_ci(int((rm['enrichment_lo'] > 1).sum()), len(rm))}; headline > 1: "
          f"{_ci(int((rm['enrichment'] > 1).sum()), len(rm))}")


def print_diagnosis(diag: dict) -> None:
    """The diagnosis of :func:`diagnose`, one line per tissue."""
    print("\nDiagnosis (shuffled SED): Spearman rho of |SED-LD| with the pair's cis LD score and with the 1 cM LD "
          "score (median over shuffles); cluster-robust t of the cis LD score in OLS of mean-over-shuffles "
          "|SED-LD| and of chi2 on 1 + L2 + TSS L2s + cis L2; corr(cis L2, L2)")
    for tissue, d in diag.items():
        print(f"  {tissue}: rho(|SED-LD|, cis L2) {d['rho_cis']:.3f}, rho(|SED-LD|, L2) {d['rho_l2']:.3f}; "
              f"t(mean |SED-LD| ~ cis L2 | L2, TSS) {d['t_abs_on_cis']:.1f}; t(chi2 ~ cis L2 | L2, TSS) "
              f"{d['t_chi2_on_cis']:.1f}; corr(cis L2, L2) {d['r_cis_l2']:.3f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--world", type=Path, required=True)
    ap.add_argument("--shuffles", type=int, default=50)
    ap.add_argument("--n-boot", type=int, default=100, help="bootstrap draws per shuffle")
    ap.add_argument("--n-boot-true", type=int, default=1000, help="bootstrap draws of the true-SED rows")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=25, help="shuffles per SED-LD pass")
    ap.add_argument("--cluster", choices=CLUSTERS, default="block",
                    help="clusters of the robust p and the bootstrap (default: LD block of the pair's SNP)")
    ap.add_argument("--models", nargs="+", choices=tuple(MODELS), default=["ld_tss", "ld_tss+cis"],
                    help="models to run (default ld_tss and ld_tss+cis; ld_tss+cis adds the pair's cis LD score, "
                    "ld_tss_sqrt regresses on sqrt(|SED-LD|))")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    prep = prepare(args.world, cluster=args.cluster)
    print(f"world {args.world}; {args.shuffles} shuffles per tissue, n_boot {args.n_boot} per shuffle, seed "
          f"{args.seed}; clusters: {args.cluster}; set-up (pairs, pruning, LD / TSS / cis LD scores) "
          f"{time.perf_counter() - t0:.0f} s", flush=True)
    models = {k: v for k, v in MODELS.items() if k in args.models}
    res, tr, diag = run_shuffles(prep, models=models, n_shuffles=args.shuffles, batch=args.batch,
                                 n_boot=args.n_boot, n_boot_true=args.n_boot_true, seed=args.seed)
    print(f"\nShuffled SED, per SNP-gene pair; p of |SED-LD| in the last model (cluster-robust by {args.cluster}, "
          "t reference with G - 1 df; plain OLS); enrichment 1 when the coefficient is <= 0, bootstrap by "
          f"{args.cluster}")
    for name in models:
        print_model(res, tr, name=name, tissues=prep["tissues"], n_boot_true=args.n_boot_true, cluster=args.cluster)
    print_diagnosis(diag)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
