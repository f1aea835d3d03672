"""Train a small model on the simulated world and measure how well it learned the planted grammar.

``python -m analyses.sim_model --world demo_output/world --out demo_output/model [--minutes 4]``

Steps: records from the world's FASTA and tracks (valid and test windows drawn from every chromosome),
training for a bounded time (resumed if a run is already there), then per-track accuracy on the test windows
against the observed (Poisson) tracks *and* against the noiseless truth, which the world's generative
function gives exactly. The observed-vs-truth correlation is the ceiling any model can reach against
observed data; the model-vs-truth correlation says how much of the grammar was learned.
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

from genocore import clilog
from genocore import config as cfgmod
from genocore.files import write_table, write_text

logger = logging.getLogger(__name__)

# The stride equals the target span (seq_length - 2 crop_bp), so the windows' targets tile each chromosome.
# Valid and test windows are drawn from every chromosome, as basenji draws them from the genome: the model
# then learns from most of the world's sequence, and the SNPs outside its training windows are reported
# apart by the analyses (analyses.scoring.training_mask).
DATA_SETTINGS = {"seq_length": 8_192, "pool_width": 32, "crop_bp": 512, "stride": 7_168,
                 "split_mode": "fraction", "valid_fraction": 0.1, "test_fraction": 0.1, "seed": 1}


class _ArrayTrack:
    """A coverage reader over an in-memory per-base array of one stretch of a chromosome (the interface of
    ``data.open_track``); bases outside it read as 0."""

    def __init__(self, chrom: str, offset: int, values: np.ndarray):
        self.chrom, self.offset, self.values = chrom, offset, values

    def read(self, chrom, start, end):
        out = np.zeros(end - start)
        if chrom != self.chrom:
            return out
        a, b = max(start, self.offset), min(end, self.offset + len(self.values))
        if a < b:
            out[a - start:b - start] = self.values[a - self.offset:b - self.offset]
        return out


def _window_means(genome, chrom: str, start: int, end: int) -> tuple[int, dict]:
    """The generative means of every track on ``chrom:start-end`` and around it, as (offset, track -> array):
    evaluated on the window widened by the generative function's reach, so the means inside it are exact."""
    from genomodel import synthetic as syn

    cfg = genome.config
    codes = genome.sequences[chrom]
    # a base's mean depends on the bases up to this far away (binding, then enhancer input at a TSS)
    margin = cfg.enhancer_reach + 2 * cfg.motif_reach
    a, b = max(start - margin, 0), min(end + margin, len(codes))
    return a, syn.track_means(genome, codes[a:b], syn.landscape(genome, codes[a:b]))


def make_records(world_dir, out_dir, *, settings: dict | None = None, progress=None) -> Path:
    """Records of a world (reused when present: delete ``out_dir`` after changing ``settings``), split as
    :data:`DATA_SETTINGS` (overridden by ``settings``) says."""
    from genomodel import data

    world_dir, out_dir = Path(world_dir), Path(out_dir)
    if (out_dir / "statistics.json").exists():
        return out_dir
    values = {**DATA_SETTINGS, **(settings or {})}
    cfg = cfgmod.from_dict(data.DataConfig, values, where="sim_model data settings")
    data.write_dataset(out_dir, fasta=world_dir / "genome" / "genome.fa", targets=world_dir / "tracks" / "targets.txt",
                       blacklist=world_dir / "genome" / "blacklist.bed", gaps=world_dir / "genome" / "gaps.bed",
                       config=cfg, progress=progress)
    return out_dir


def truth_targets(world_dir, data_dir, split: str = "test") -> np.ndarray:
    """Noiseless targets of a split's windows: the generative means, binned and transformed exactly
    as the observed tracks were. Shape (n_windows, target_length, n_tracks), float32."""
    from analyses.world import generative_model
    from genomodel import data
    from genomodel.io import tfrecord

    stats = tfrecord.read_statistics(data_dir)
    windows = tfrecord.read_sequences_bed(data_dir)
    windows = windows[windows.split == split]
    genome = generative_model(world_dir)
    targets = data.read_targets(Path(data_dir) / "targets.txt")
    cfg = cfgmod.from_dict(data.DataConfig, {k: stats[k] for k in ("seq_length", "pool_width", "crop_bp")}
                           | {"transform": stats.get("transform", "basenji")}, where=str(data_dir))
    # blacklisted bases get the same treatment as in the observed records
    black = data.interval_dict(data.read_bed(Path(world_dir) / "genome" / "blacklist.bed"),
                               buffer=cfg.blacklist_buffer)
    out = []
    # each window evaluated on its own (a tenth of the genome), not whole chromosomes
    for c, s, e in windows[["chrom", "start", "end"]].itertuples(index=False):
        offset, means = _window_means(genome, c, int(s), int(e))
        readers = [_ArrayTrack(c, offset, means[d]) for d in targets.description]
        out.append(data.window_targets(readers, targets, c, int(s), int(e), config=cfg, blacklist=black))
    return np.stack(out)


def train(data_dir, run_dir, *, params="sim_small", minutes: float | None = 4.0, epochs: int | None = None,
          init_motifs=None, progress=None) -> pd.DataFrame:
    """Train (or resume) a model on the records; returns the loss history. ``init_motifs`` (a MEME or
    JASPAR file) starts the first layer's filters from those motifs (:mod:`genomodel.model.motif_init`)."""
    from genomodel.config import read_params
    from genomodel.model.seqnn import build_model
    from genomodel.train import GenomeData, Trainer

    p = read_params(params)
    seqnn = build_model(p.model, seed=p.train.seed)
    if init_motifs is not None:
        from genomodel.attribution.motifs import read_motif_database
        from genomodel.model.motif_init import init_from_motifs

        init_from_motifs(seqnn.model(), read_motif_database(init_motifs))
    genome = p.genomes[0]
    info = {"params": str(params), "init_motifs": None if init_motifs is None else str(init_motifs)}
    trainer = Trainer(seqnn, p, {genome: GenomeData.open(genome, data_dir)}, run_dir, model_info=info)
    return trainer.fit(epochs=epochs, max_seconds=None if minutes is None else 60 * minutes, progress=progress)


def held_out_accuracy(world_dir, data_dir, model_dir) -> tuple[pd.DataFrame, dict]:
    """Per-track Pearson R on the test split: model vs observed, model vs truth, observed vs truth."""
    from genomodel import evaluate
    from genomodel.io import tfrecord
    from genomodel.model.seqnn import load_model
    from genomodel.predict import predict

    seqnn, _, _ = load_model(model_dir)
    model = seqnn.model()
    codes, obs = zip(*tfrecord.iterate_records(data_dir, "test"))
    from genomodel import dna

    x = dna.one_hot(np.stack(codes), dtype=np.float32)
    pred = predict(model, x, batch_size=32)  # forward strand, as the variants are scored
    obs = np.stack(obs)
    truth = truth_targets(world_dir, data_dir)
    targets = pd.read_csv(Path(data_dir) / "targets.txt", sep="\t")
    desc = targets.description.tolist()
    vs_obs = evaluate.track_metrics(pred, obs, target_ids=targets.identifier.tolist(), descriptions=desc)
    vs_truth = evaluate.track_metrics(pred, truth, descriptions=desc)
    ceiling = evaluate.track_metrics(obs, truth, descriptions=desc)
    table = pd.DataFrame({"track": desc, "assay": vs_obs.assay,
                          "r_model_observed": vs_obs.pearson_r, "r_model_truth": vs_truth.pearson_r,
                          "r_observed_truth": ceiling.pearson_r,
                          "r_model_truth_log": vs_truth.pearson_r_log})
    arrays = {"pred": pred, "observed": obs, "truth": truth}
    return table, arrays


def run(world_dir, out_dir, *, minutes: float = 4.0, params: str = "sim_small", epochs: int | None = None,
        data_settings: dict | None = None, motifs: bool = True) -> dict:
    """Records, training and held-out accuracy; writes ``accuracy.tsv`` and returns a summary.

    With ``motifs`` the first layer starts from the world's motif database (``genome/motifs.meme``, the
    simulated world's JASPAR), as a study would start it from JASPAR."""
    from tqdm import tqdm

    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    bar = {}

    def data_progress(done, total):
        b = bar.setdefault("data", tqdm(total=total, desc="records", unit="window", disable=None))
        b.n = done
        b.refresh()

    data_dir = make_records(world_dir, out_dir / "data", settings=data_settings, progress=data_progress)
    if "data" in bar:
        bar["data"].close()
    t_data = time.perf_counter() - t0

    def train_progress(epoch, step, n_steps, value):
        if step is None:
            bar.pop("epoch").close()
            return
        b = bar.setdefault("epoch", tqdm(total=n_steps, desc=f"epoch {epoch}", unit="step", disable=None))
        b.update(1)

    meme = Path(world_dir) / "genome" / "motifs.meme"
    hist = train(data_dir, out_dir / "run", params=params, minutes=minutes, epochs=epochs, progress=train_progress,
                 init_motifs=meme if motifs and meme.exists() else None)
    t_train = time.perf_counter() - t0 - t_data
    table, arrays = held_out_accuracy(world_dir, data_dir, out_dir / "run" / "model")
    write_table(out_dir / "accuracy.tsv", table, float_format="%.4f")
    by_assay = table.groupby("assay")[["r_model_observed", "r_model_truth", "r_observed_truth"]].mean()
    summary = {"epochs": int(len(hist)), "best_epoch": int(hist.loc[hist.valid_loss.idxmin(), "epoch"]),
               "seconds_data": round(t_data, 1), "seconds_train": round(t_train, 1),
               "by_assay": by_assay.round(4).to_dict(orient="index"),
               "mean_r_model_truth": float(table.r_model_truth.mean()),
               "mean_r_model_observed": float(table.r_model_observed.mean()),
               "test_windows": int(arrays["pred"].shape[0])}
    write_text(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return {"summary": summary, "table": table, "arrays": arrays, "history": hist}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyses.sim_model", description=__doc__.split("\n")[0])
    parser.add_argument("--world", type=Path, required=True, help="a world folder (genostats simulate-world)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=4.0, help="training time budget")
    parser.add_argument("--epochs", type=int, help="at most this many epochs")
    parser.add_argument("--params", default="sim_small")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    args = parser.parse_args(argv)
    clilog.configure(args.verbose)
    res = run(args.world, args.out, minutes=args.minutes, params=args.params, epochs=args.epochs)
    logger.info("held-out accuracy:\n%s", res["table"].to_string(index=False))
    logger.info("summary: %s", json.dumps(res["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
