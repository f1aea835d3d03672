"""Do a model's variant scores recover the simulated world's planted variant effects?

``python -m analyses.sim_variants --world W --model M/run/model --data M/data --out O``

The world's SNPs on the held-out chromosome(s) of the records are scored with the trained model
(SAD per track, SED per SNP-gene pair with a TSS in the predicted window, reverse-complement averaged)
and set against the exact true effects the world wrote (``truth/snp_track_effects.tsv.gz``: change of a
track's total mean; ``truth/snp_gene_effects.tsv.gz``: change of a gene's CAGE mean per cell type).
Agreement is the Spearman correlation over the variants with nonzero truth, and over the strongest
tenth of them by |truth| (most SNPs sit far from any element and have tiny true effects, which no
model trained on noisy coverage resolves), with the share of matching signs among the strongest.
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

STRONG_SHARE = 0.1


def held_out_chroms(data_dir) -> list:
    """Chromosomes of the records' test split."""
    from genomodel.io import tfrecord

    windows = tfrecord.read_sequences_bed(data_dir)
    return sorted(set(windows.chrom[windows.split == "test"]))


def _spearman(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Spearman rho and p; NaN when it is undefined (fewer than 3 values, or a constant input)."""
    from scipy.stats import spearmanr

    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return np.nan, np.nan
    res = spearmanr(a, b)
    return float(res.statistic), float(res.pvalue)


def agreement_row(score: np.ndarray, truth: np.ndarray, *, strong_share: float = STRONG_SHARE) -> dict:
    """Spearman rho of scores against nonzero true effects, overall and on the strongest share.

    Parameters
    ----------
    score, truth : ndarray, shape (n,)
        Model scores and true effects of the same variants (or variant-gene pairs).
    strong_share : float
        Share of the nonzero-truth variants, by largest |truth|, in the "strong" subset.

    Returns
    -------
    dict
        ``n_nonzero, rho_nonzero, p_nonzero, n_strong, rho_strong, p_strong, sign_agreement_strong``.
    """
    nz = truth != 0
    s, t = score[nz], truth[nz]
    out = {"n_nonzero": int(nz.sum())}
    out["rho_nonzero"], out["p_nonzero"] = _spearman(s, t)
    k = int(np.ceil(strong_share * len(t)))
    strong = np.argsort(-np.abs(t), kind="stable")[:k]
    rho, p = _spearman(s[strong], t[strong])
    out.update({"n_strong": k, "rho_strong": rho, "p_strong": p,
                "sign_agreement_strong": float(np.mean(np.sign(s[strong]) == np.sign(t[strong]))) if k else np.nan})
    return out


def score_world_snps(world_dir, model_dir, data_dir, chroms, *, rc: bool = True, max_snps: int | None = None,
                     progress=None):
    """Score the world's SNPs on ``chroms`` with the model trained on the records ``data_dir`` (whose
    ``targets.txt`` names the model's outputs); ``max_snps`` takes that many, evenly spaced.
    Returns (VariantScores, target table)."""
    from genomodel.data import read_targets, strand_pair_positions
    from genomodel.io.gtf import model_tss
    from genomodel.model.seqnn import load_model
    from genomodel.variants import genome_codes, score_variants

    world_dir, model_dir = Path(world_dir), Path(model_dir)
    snps = pd.read_csv(world_dir / "truth" / "snp_track_effects.tsv.gz", sep="\t",
                       usecols=["snp", "chrom", "pos", "ref", "alt"])
    snps = snps[snps.chrom.isin(chroms)].reset_index(drop=True)
    if snps.empty:
        raise ValueError(f"{world_dir}: no simulated SNPs on {', '.join(chroms)}")
    if max_snps is not None and max_snps < len(snps):
        snps = snps.iloc[np.linspace(0, len(snps) - 1, max_snps).astype(int)].reset_index(drop=True)
    seqnn, _, _ = load_model(model_dir)
    model = seqnn.model()
    targets_file = Path(data_dir) / "targets.txt"
    targets = read_targets(targets_file)
    genome = genome_codes(world_dir / "genome" / "genome.fa", chroms)
    tss = model_tss(world_dir / "genome" / "genes.gtf")  # 0-based, as the model's windows
    scores = score_variants(model, genome, snps, rc=rc, strand_pair=strand_pair_positions(targets_file) if rc else None,
                            tss=tss[tss.chrom.isin(chroms)], batch_size=32, progress=progress)
    return scores, targets


def compare(world_dir, scores, targets: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Agreement tables: SAD per track against the track truth, SED per CAGE track against the gene truth.

    Returns
    -------
    sad_table, sed_table : DataFrame
        One row per track (``track`` plus the columns of :func:`agreement_row`).
    """
    world_dir = Path(world_dir)
    truth = pd.read_csv(world_dir / "truth" / "snp_track_effects.tsv.gz", sep="\t").set_index("snp")
    truth = truth.loc[scores.variants.snp]
    gene_truth = pd.read_csv(world_dir / "truth" / "snp_gene_effects.tsv.gz", sep="\t")
    sad_rows, sed_rows = [], []
    sed = scores.sed.copy()
    sed.insert(0, "snp", scores.variants.snp.to_numpy()[sed.pop("variant").to_numpy()])
    for j, desc in enumerate(targets.description):
        if desc not in truth.columns:
            raise ValueError(f"model target {desc!r} is not a track of the world {world_dir}")
        sad_rows.append({"track": desc, **agreement_row(scores.stats["SAD"][:, j].astype(np.float64),
                                                        truth[desc].to_numpy(np.float64))})
        assay, cell = desc.split(":", 1)
        if assay != "CAGE":
            continue
        # pairs scored by the model and carrying a nonzero true effect (absent from the truth file = 0)
        pairs = sed[["snp", "gene_id", f"t{j}"]].merge(gene_truth[["snp", "gene_id", cell]], on=["snp", "gene_id"],
                                                     how="left").fillna({cell: 0.0})
        sed_rows.append({"track": desc, "pairs_scored": len(pairs),
                         **agreement_row(pairs[f"t{j}"].to_numpy(np.float64), pairs[cell].to_numpy(np.float64))})
    return pd.DataFrame(sad_rows), pd.DataFrame(sed_rows)


def run(world_dir, model_dir, data_dir, out_dir, *, rc: bool = True, max_snps: int | None = None) -> dict:
    """Score, compare and write ``sad_agreement.tsv``, ``sed_agreement.tsv`` and ``summary.json``."""
    from tqdm import tqdm

    out_dir = Path(out_dir)
    chroms = held_out_chroms(data_dir)
    with tqdm(desc="variant positions", unit="pos", disable=None) as bar:
        def progress(done, total):
            bar.total = total
            bar.n = done
            bar.refresh()

        scores, targets = score_world_snps(world_dir, model_dir, data_dir, chroms, rc=rc, max_snps=max_snps,
                                           progress=progress)
    sad_t, sed_t = compare(world_dir, scores, targets)
    write_table(out_dir / "sad_agreement.tsv", sad_t, float_format="%.4g")
    write_table(out_dir / "sed_agreement.tsv", sed_t, float_format="%.4g")
    sad_t["assay"] = sad_t.track.str.split(":").str[0]
    summary = {"chroms": chroms, "n_snps": len(scores.variants), "n_sed_pairs": int(len(scores.sed)),
               "sad_by_assay": sad_t.groupby("assay")[["rho_nonzero", "rho_strong", "sign_agreement_strong"]]
               .mean().round(4).to_dict(orient="index"),
               "sed_cage": sed_t[["rho_nonzero", "rho_strong", "sign_agreement_strong"]].mean().round(4).to_dict()
               if len(sed_t) else {}}
    write_text(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return {"sad": sad_t, "sed": sed_t, "summary": summary, "scores": scores}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyses.sim_variants", description=__doc__.split("\n")[0])
    parser.add_argument("--world", type=Path, required=True, help="a world folder (genostats simulate-world)")
    parser.add_argument("--model", type=Path, required=True, help="a trained model folder (train's run/model)")
    parser.add_argument("--data", type=Path, required=True, help="the model's records (its test chromosomes are scored)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--no-rc", action="store_true", help="score the forward strand only")
    parser.add_argument("--max-snps", type=int, help="score this many SNPs, evenly spaced (default: all)")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    args = parser.parse_args(argv)
    clilog.configure(args.verbose)
    res = run(args.world, args.model, args.data, args.out, rc=not args.no_rc, max_snps=args.max_snps)
    logger.info("SAD vs true track effects:\n%s", res["sad"].to_string(index=False))
    logger.info("SED vs true gene effects:\n%s", res["sed"].to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
