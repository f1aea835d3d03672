"""Calibration of the shuffled-SED control of the eQTL |SED-LD| covariate regression (issue 6).

``python validation/covreg_shuffle_calibration.py --world W [--shuffles 50] [--n-boot 100] [--seed 0]
[--cluster block|gene|none] [--models ld_tss ld_tss+cis ld_tss_sqrt]``

On one simulated world (``analyses.world``), the per-pair analysis of :func:`stats.eqtl.covreg.eqtl_enrichment`
(the ``shuffled`` control: the tissue's SED vector over all tested pairs, zeros included, permuted) is run
for many independent shuffles. Everything that does not depend on the annotation is computed once: the
eQTL pairs matched to the panel, the LD pruning, the LD scores, the per-pair TSS-distance LD scores and the
per-pair cis LD scores (:func:`stats.eqtl.covreg.pair_cis_ld_scores`); per shuffle only SED-LD (all shuffles
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

from analyses.sim_covreg import _world_meta, true_sed  # noqa: E402
from stats.eqtl import covreg  # noqa: E402


def prepare(world: Path, *, r2_max=0.5, window_kb=1000.0, wind_cm=1.0) -> dict:
    """The annotation-free part of :func:`stats.eqtl.covreg.eqtl_enrichment`, per pair, computed once."""
    from stats.io.ldblocks import read_ldblocks
    from stats.io.panel import read_panel_bim
    from stats.eqtl.tss import read_tss

    truth, build, lengths = _world_meta(world)
    tissues = list(truth["eqtl"])
    panel = world / "genotypes" / "ref_panel.chr{chrom}"
    blocks = read_ldblocks(world / "genotypes" / "ldblocks.bed")
    bim = read_panel_bim(panel)
    tss = read_tss(world / "genome" / "genes.gtf")
    effects = true_sed(world)
    tested, kept, _ = covreg.pruned_eqtl_pairs({t: world / "eqtl" / f"{t}.allpairs.txt.gz" for t in tissues}, bim,
                                               bfile_chr=panel, prune_r2=r2_max, prune_window_kb=window_kb)
    snp_scores = covreg.panel_ld_scores(panel, wind_cm=wind_cm)
    allp = pd.concat([p[["SNP", "gene_id"]] for p in tested.values()], ignore_index=True).drop_duplicates()
    pair_tss = covreg.panel_pair_tss_scores(panel, allp, tss=tss, wind_cm=wind_cm)
    from stats.io.ldblocks import assign_blocks

    block_of = pd.Series(assign_blocks(blocks, bim["chrom"].to_numpy(), bim["pos"].to_numpy()),
                         index=bim["snp"].astype(str).to_numpy())
    block_of = block_of[~block_of.index.duplicated()]
    out = {"block_of": block_of, "tissues": tissues, "panel": panel, "blocks": blocks, "build": build, "lengths": lengths, "bim": bim,
           "tested": tested, "kept": kept, "seds": {}, "base": {}}
    for t in tissues:
        ct = truth["eqtl"][t]["cell_type"]
        sed = covreg._check_sed(effects[["SNP", "gene_id", "A1", "A2", ct]], ct, f"SED of {t}")
        out["seds"][t] = sed
        pairs = kept[t]
        cis = covreg.pair_cis_ld_scores(panel, blocks, pairs, cis=tested[t], build=build, lengths=lengths)
        # the same row set and order as eqtl_enrichment's table (inner merges keep the left order)
        base = (pairs.assign(CIS_L2=cis, _row=np.arange(len(pairs)))
                .merge(snp_scores[["SNP", "L2"]], on="SNP", how="inner")
                .merge(pair_tss, on=["SNP", "gene_id"], how="inner"))
        out["base"][t] = base
    return out


def sed_ld_many(prep: dict, tissue: str, anns: list) -> np.ndarray:
    """SED-LD at the tissue's kept pairs for several SED tables in one pass (:func:`stats.eqtl.covreg.sed_ld_many`):
    shape (len(anns), n_kept)."""
    return covreg.sed_ld_many(prep["panel"], prep["blocks"], anns, build=prep["build"], targets=prep["kept"][tissue],
                              lengths=prep["lengths"])


def regress(base: pd.DataFrame, s_kept: np.ndarray, *, cis: bool, n_boot: int, rng, cluster: str = "block",
            block_of: pd.Series | None = None, sqrt: bool = False) -> dict:
    """One regression of a tissue's table with the given SED-LD (aligned to the kept pairs); ``sqrt``: the
    regressor is sqrt(|SED-LD|) instead of |SED-LD|."""
    t = base.assign(SED_LD=s_kept[base["_row"].to_numpy()])
    t = t[np.isfinite(t["SED_LD"]) & np.isfinite(t["CIS_L2"])]
    tss_cols = [c for c in t.columns if c.startswith("TSS_")]
    groups = (None if cluster == "none" else t["gene_id"].to_numpy() if cluster == "gene"
              else covreg.snp_clusters(block_of, t["SNP"]))
    r = covreg.covariate_regression(
        t["chi2"].to_numpy(), t["L2"].to_numpy(), t["SED_LD"].to_numpy(), significant=t["significant"].to_numpy(),
        tss_ld=t[tss_cols].to_numpy(), n_boot=n_boot, rng=rng, groups=groups, cluster=cluster,
        cis_ld=t["CIS_L2"].to_numpy() if cis else None, scale="sqrt" if sqrt else "abs")
    return r.summary()


def _ci(k: int, n: int) -> str:
    lo, hi = st.binomtest(k, n).proportion_ci(0.95, method="exact")
    return f"{k}/{n} = {k / n:.3f} [{lo:.3f}, {hi:.3f}]"


def diagnose(prep: dict, tissue: str, s_shuf: np.ndarray) -> dict:
    """How |SED-LD| of the shuffles tracks the cis / 1 cM LD score; how chi2 tracks the cis LD score."""
    import statsmodels.api as sm

    base = prep["base"][tissue]
    ok = np.isfinite(base["CIS_L2"].to_numpy())
    b = base[ok]
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--world", type=Path, required=True)
    ap.add_argument("--shuffles", type=int, default=50)
    ap.add_argument("--n-boot", type=int, default=100, help="bootstrap draws per shuffle")
    ap.add_argument("--n-boot-true", type=int, default=1000, help="bootstrap draws of the true-SED rows")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=25, help="shuffles per SED-LD pass")
    ap.add_argument("--cluster", choices=covreg.CLUSTERS, default="block",
                    help="clusters of the robust p and the bootstrap (default: LD block of the pair's SNP)")
    ap.add_argument("--models", nargs="+", choices=("ld_tss", "ld_tss+cis", "ld_tss_sqrt"),
                    default=["ld_tss", "ld_tss+cis"],
                    help="models to run (default ld_tss and ld_tss+cis; ld_tss+cis adds the pair's cis LD score, "
                    "ld_tss_sqrt regresses on sqrt(|SED-LD|))")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    prep = prepare(args.world)
    print(f"world {args.world}; {args.shuffles} shuffles per tissue, n_boot {args.n_boot} per shuffle, seed "
          f"{args.seed}; clusters: {args.cluster}; set-up (pairs, pruning, LD / TSS / cis LD scores) {time.perf_counter() - t0:.0f} s",
          flush=True)
    ss = np.random.SeedSequence(args.seed)
    # model -> (cis LD score covariate, sqrt(|SED-LD|) regressor)
    models = {"ld_tss": (False, False), "ld_tss+cis": (True, False), "ld_tss_sqrt": (False, True)}
    models = {k: v for k, v in models.items() if k in args.models}
    rows = []
    true_rows = []
    diag = {}
    for ti, tissue in enumerate(prep["tissues"]):
        t1 = time.perf_counter()
        r_shuf, r_boot, r_true = (np.random.default_rng(c) for c in ss.spawn(3))
        sed = prep["seds"][tissue]
        # the shuffle of eqtl_enrichment's "shuffled" control (stats.eqtl.covreg._controls), then re-permuted
        full = covreg._controls(sed, prep["tested"][tissue], prep["bim"], ["shuffled"], r_shuf)["shuffled"]
        vals = full["SED"].to_numpy()
        s_true = sed_ld_many(prep, tissue, [sed])[0]
        for name, (cis, sq) in models.items():
            true_rows.append({**regress(prep["base"][tissue], s_true, cis=cis, sqrt=sq, n_boot=args.n_boot_true, rng=r_true,
                                      cluster=args.cluster, block_of=prep["block_of"]),
                              "tissue": tissue, "model": name})
        s_all = []
        for start in range(0, args.shuffles, args.batch):
            k = min(args.batch, args.shuffles - start)
            anns = [full.assign(SED=r_shuf.permutation(vals)) for _ in range(k)]
            s_all.append(sed_ld_many(prep, tissue, anns))
        s_all = np.vstack(s_all)
        for i, s in enumerate(s_all):
            for name, (cis, sq) in models.items():
                rows.append({**regress(prep["base"][tissue], s, cis=cis, sqrt=sq, n_boot=args.n_boot, rng=r_boot,
                                         cluster=args.cluster, block_of=prep["block_of"]),
                             "tissue": tissue, "model": name, "shuffle": i})
        diag[tissue] = diagnose(prep, tissue, s_all)
        print(f"  {tissue}: {len(prep['base'][tissue])} pairs, {args.shuffles} shuffles in "
              f"{time.perf_counter() - t1:.0f} s", flush=True)
    res = pd.DataFrame(rows)
    tr = pd.DataFrame(true_rows)

    print(f"\nShuffled SED, per SNP-gene pair; p of |SED-LD| in the last model (cluster-robust by {args.cluster}, "
          "t reference with G - 1 df; plain OLS); enrichment 1 when the coefficient is <= 0, bootstrap by "
          f"{args.cluster}")
    for name in models:
        print(f"\n== model {name}: chi2 ~ 1 + L2 {'+ cis L2 ' if models[name][0] else ''}+ TSS L2 (4) + "
              f"{'sqrt(|SED-LD|)' if models[name][1] else '|SED-LD|'} ==")
        for tissue in prep["tissues"]:
            r = res[(res.tissue == tissue) & (res.model == name)]
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
            t = tr[(tr.tissue == tissue) & (tr.model == name)].iloc[0]
            print(f"  true SED: coef {t['ld_tss_coef']:.3f}, t {t['ld_tss_t']:.1f}, p {t['ld_tss_p']:.2g}, p_cluster "
                  f"{t.get('ld_tss_p_cluster', np.nan):.2g}, one-sided {t.get('ld_tss_p_cluster_pos', np.nan):.2g} "
                  f"({int(t['n_clusters'])} clusters); z_cluster {t.get('ld_tss_z_cluster', np.nan):.2f} beyond "
                  f"{int((r.get('ld_tss_z_cluster', r['ld_tss_t']) < t.get('ld_tss_z_cluster', t['ld_tss_t'])).sum())}"
                  f"/{n} shuffles; enrichment "
                  f"{t['enrichment']:.2f} [{t['enrichment_lo']:.2f}, {t['enrichment_hi']:.2f}] "
                  f"({args.n_boot_true} {args.cluster} bootstrap draws)")
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

    print("\nDiagnosis (shuffled SED): Spearman rho of |SED-LD| with the pair's cis LD score and with the 1 cM LD "
          "score (median over shuffles); cluster-robust t of the cis LD score in OLS of mean-over-shuffles "
          "|SED-LD| and of chi2 on 1 + L2 + TSS L2s + cis L2; corr(cis L2, L2)")
    for tissue, d in diag.items():
        print(f"  {tissue}: rho(|SED-LD|, cis L2) {d['rho_cis']:.3f}, rho(|SED-LD|, L2) {d['rho_l2']:.3f}; "
              f"t(mean |SED-LD| ~ cis L2 | L2, TSS) {d['t_abs_on_cis']:.1f}; t(chi2 ~ cis L2 | L2, TSS) "
              f"{d['t_chi2_on_cis']:.1f}; corr(cis L2, L2) {d['r_cis_l2']:.3f}")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
