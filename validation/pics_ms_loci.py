"""PICS on two real multiple-sclerosis loci, compared with the PICS probabilities Farh et al. published.

Data (the real-data folder beside the project: ``../shared/data`` or ``$GENOSUITE_SHARED_DATA``; see
its SOURCES.md):

* ``finemap_ms_locus_jlim/MS/MS.<locus>.txt``: IMSGC 2013 ImmunoChip MS p-values (CHR BP SNP P, hg19);
  ``MS/MS-indexSNP.tsv``: the lead SNPs (rs35967351 on chr1, rs10783847 on chr12);
* ``finemap_ms_locus_jlim/ld0/locus.<locus>.txt.gz``: 1000 Genomes phase 3 non-Finnish European phased
  haplotypes (7 VCF-like columns, then 808 haplotype alleles = 404 individuals);
* ``finemap_pics_farh2015/nature13835-s1.txt``: Farh et al. 2015 Supplementary Table 1 (PICS
  candidate SNPs and probabilities per disease and index SNP).

For each lead SNP the script computes r of every biallelic variant with the lead from the
haplotypes (r over 808 haplotypes; multi-allelic sites and duplicated ids are dropped), runs
:func:`stats.finemap.pics.pics_locus` with the lead's IMSGC p-value (defaults: r^2 >= 0.5, sigma floor 1e-4,
95% credible set) and compares with Farh et al.'s probabilities for the same disease and locus where
the SNPs overlap. Farh et al. used a different panel (1000 Genomes phase 1 at the time) and list only
their top candidates, so the agreement is reported, not tuned: Pearson and Spearman correlation over
Farh's listed SNPs (ours: 0 where a SNP falls outside our r^2 >= 0.5 set), the top SNP of each, the
share of Farh's listed SNPs in our 95% credible set, and the overlap of the top-k lists. At chr12 the
Farh index SNP (rs11172342) differs from the jlim lead (rs10783847, which has the smallest IMSGC p);
the script runs PICS with both.

Usage (from the repository root)::

    .venv/bin/python validation/pics_ms_loci.py [DATA_FOLDER] [--out DIR]

Without the data folder the script prints ``skipped`` and exits with 0.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stats.finemap.pics import pics_locus, r_with_lead  # noqa: E402
from stats.io.haplotypes import read_genotype_matrix  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("GENOSUITE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
LOCI = {"1": "1.160697074.160933065", "12": "12.57626582.58488667"}
FARH_EXTRA_LEADS = {"12": "rs11172342"}  # Farh et al.'s index SNP where it differs from the jlim lead


def compare(ours: pd.DataFrame, farh: pd.DataFrame) -> dict:
    """Agreement between our PICS table and Farh et al.'s rows for the locus."""
    f = farh.drop_duplicates("SNP").set_index("SNP").PICS_probability.astype(float)
    o = ours.set_index("SNP").prob
    o_at_f = o.reindex(f.index).fillna(0.0)
    k = len(f)
    top_ours = ours.SNP.head(k).tolist()
    cs = set(ours.SNP[ours.in_credible_set])
    return {"n_farh": k, "farh_prob_sum": float(f.sum()), "n_ours": len(ours),
            "n_ours_cs95": int(ours.in_credible_set.sum()),
            "n_farh_in_our_set": int(f.index.isin(o.index).sum()),
            "n_farh_in_our_cs95": int(f.index.isin(list(cs)).sum()),
            "pearson": float(np.corrcoef(o_at_f, f)[0, 1]) if k > 2 else float("nan"),
            "spearman": float(sps.spearmanr(o_at_f, f).statistic) if k > 2 else float("nan"),
            "top_ours": ours.SNP.iloc[0], "top_ours_prob": float(ours.prob.iloc[0]),
            "top_farh": f.idxmax(), "top_farh_prob": float(f.max()),
            "farh_top_rank_in_ours": int(ours.index[ours.SNP == f.idxmax()][0]) + 1
            if (ours.SNP == f.idxmax()).any() else None,
            "topk_overlap": len(set(top_ours) & set(f.index)),
            "ours_prob_on_farh_snps": float(o_at_f.sum())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA, help="real-data folder (default: %(default)s)")
    ap.add_argument("--out", type=Path, help="write per-locus PICS tables (TSV) here")
    ap.add_argument("--coverage", type=float, default=0.95)
    args = ap.parse_args(argv)
    jlim, farh_path = args.data / "finemap_ms_locus_jlim", args.data / "finemap_pics_farh2015" / "nature13835-s1.txt"
    if not jlim.is_dir() or not farh_path.is_file():
        print(f"skipped: {jlim} or {farh_path} is absent")
        return 0
    leads = pd.read_csv(jlim / "MS" / "MS-indexSNP.tsv", sep="\t", dtype={"CHR": str})
    farh = pd.read_csv(farh_path, sep="\t", dtype=str)
    farh = farh[farh.Disease == "Multiple_sclerosis"]
    print("PICS (Farh et al. 2015 definition) on IMSGC 2013 MS p-values with 1000G phase 3 EUR haplotypes")
    print(f"r^2 >= 0.5, sigma floor 1e-4, {args.coverage:.0%} credible sets; Farh rows = Multiple_sclerosis, same index locus")
    rows = []
    for _, lead_row in leads.iterrows():
        chrom = lead_row.CHR
        tag = LOCI[chrom]
        ms = pd.read_csv(jlim / "MS" / f"MS.{tag}.txt", sep=r"\s+")
        hap, ids = read_genotype_matrix(jlim / "ld0" / f"locus.{tag}.txt.gz")  # as genostats pics --genotypes
        snps = pd.DataFrame({"SNP": ids})
        fl = farh[(farh.chr == f"chr{chrom}") & (farh.pos.astype(int).between(int(lead_row.STARTBP) - 500_000,
                                                                            int(lead_row.ENDBP) + 500_000))]
        for lead in [lead_row.SNP] + ([FARH_EXTRA_LEADS[chrom]] if chrom in FARH_EXTRA_LEADS else []):
            p = float(ms.loc[ms.SNP == lead, "P"].iloc[0])
            hit = np.flatnonzero(snps.SNP.to_numpy() == lead)
            if len(hit) == 0:
                print(f"chr{chrom} {lead}: not in the haplotype panel")
                continue
            r = pd.Series(r_with_lead(hap, int(hit[0])), index=snps.SNP.to_numpy())
            res = pics_locus(lead, p, r, coverage=args.coverage)
            res["P_ms"] = ms.drop_duplicates("SNP").set_index("SNP").P.reindex(res.SNP).to_numpy()
            fsub = fl
            c = compare(res, fsub)
            c.update({"chrom": chrom, "lead": lead, "p_lead": p, "farh_index": ",".join(sorted(set(fsub.IndexSNP_riskAllele)))})
            rows.append(c)
            if args.out:
                from genocore.files import write_table

                write_table(args.out / f"pics_chr{chrom}_{lead}.tsv", res, float_format="%.6g")
            print(f"\n== chr{chrom} lead {lead} (IMSGC p = {p:.3g}); Farh index {c['farh_index']} ==")
            print(f"ours: {c['n_ours']} SNPs with r2 >= 0.5, {c['n_ours_cs95']} in the 95% credible set; "
                  f"top {c['top_ours']} ({c['top_ours_prob']:.4f})")
            print(f"Farh: {c['n_farh']} SNPs listed (sum of their probabilities {c['farh_prob_sum']:.3f}); "
                  f"top {c['top_farh']} ({c['top_farh_prob']:.4f}), rank {c['farh_top_rank_in_ours']} in ours")
            print(f"overlap: {c['n_farh_in_our_set']}/{c['n_farh']} Farh SNPs have r2 >= 0.5 in our panel, "
                  f"{c['n_farh_in_our_cs95']}/{c['n_farh']} are in our 95% set; our top-{c['n_farh']} shares "
                  f"{c['topk_overlap']} SNPs with Farh's list; our probability on Farh's SNPs {c['ours_prob_on_farh_snps']:.3f}")
            print(f"correlation over Farh's SNPs: Pearson {c['pearson']:.3f}, Spearman {c['spearman']:.3f}")
            f = fsub.drop_duplicates("SNP").set_index("SNP").PICS_probability.astype(float)
            side = pd.DataFrame({"farh": f, "ours": res.set_index("SNP").prob.reindex(f.index).fillna(0.0),
                                 "r2_ours": res.set_index("SNP").r2.reindex(f.index)})
            print(side.round(4).to_string())
    summary = pd.DataFrame(rows)[["chrom", "lead", "p_lead", "n_ours", "n_ours_cs95", "n_farh", "n_farh_in_our_cs95",
                                  "pearson", "spearman", "top_ours", "top_farh", "farh_top_rank_in_ours"]]
    print("\nsummary")
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    if args.out:
        from genocore.files import write_table

        write_table(args.out / "pics_ms_loci_summary.tsv", pd.DataFrame(rows), float_format="%.6g")
    return 0


if __name__ == "__main__":
    sys.exit(main())
