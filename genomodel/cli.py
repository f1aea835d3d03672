"""``genomodel``: the model half of the suite from the command line.

Parsers are built by functions (testable, no environment needed for ``--help``); each subcommand's
runner calls library functions and is the only place that configures logging and progress bars.

    genomodel simulate-genome --out G
    genomodel data     --fasta genome.fa --targets targets.txt --out DATA [--config data.json]
    genomodel train    --params sim_small --data DATA --out RUN
    genomodel test     --model RUN/model --data DATA --out RUN/test [--gtf genes.gtf]
    genomodel predict  --model RUN/model (--bed regions.bed --fasta genome.fa | --fasta-seqs seqs.fa) --out p.h5
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from genocore import clilog, provenance
from genocore import config as cfgmod

logger = logging.getLogger("genomodel.cli")


def _simulate_genome(args) -> int:
    import numpy as np

    from genomodel import synthetic as syn

    overrides = json.loads(args.config.read_text()) if args.config else {}
    cfg = cfgmod.from_dict(syn.GenomeConfig, overrides, where=str(args.config or "defaults"))
    ss = np.random.SeedSequence(args.seed)
    s_genome, s_noise = ss.spawn(2)
    genome = syn.simulate_genome(cfg, seed=s_genome)
    lands = {c: syn.landscape(genome, genome.sequences[c]) for c in cfg.chromosomes}
    observed = syn.sample_tracks(genome, lands, np.random.default_rng(s_noise))
    syn.write_genome_files(args.out, genome, observed, genome_build=args.genome_build)
    outputs = {str(p.relative_to(args.out)): p for p in sorted(Path(args.out).rglob("*")) if p.is_file()
               and p.name != "provenance.json"}
    provenance.write(Path(args.out) / "provenance.json", provenance.record(
        command=sys.argv, config=cfgmod.to_dict(cfg), genome_build=args.genome_build, outputs=outputs,
        extra={"seed": args.seed}, root=args.out))
    return 0


def _data(args) -> int:
    from genomodel import data

    values = json.loads(args.config.read_text()) if args.config else {}
    for key in ("seq_length", "pool_width", "crop_bp", "stride", "seed", "valid_fraction", "test_fraction"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    if args.test_chroms:
        values["test_chroms"] = args.test_chroms.split(",")
    if args.valid_chroms:
        values["valid_chroms"] = args.valid_chroms.split(",")
    cfg = cfgmod.from_dict(data.DataConfig, values, where=str(args.config or "command line"))
    with _progress_bar("windows") as bar:
        summary = data.write_dataset(args.out, fasta=args.fasta, targets=args.targets, blacklist=args.blacklist,
                                     gaps=args.gaps, alignment=args.alignment, config=cfg,
                                     overwrite=args.overwrite, progress=bar)
    logger.info("wrote %s: %s", args.out, summary)
    return 0


def _strategy():
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        logger.info("training on %d GPUs with MirroredStrategy", len(gpus))
        return tf.distribute.MirroredStrategy()
    logger.info("training on %s", "1 GPU" if gpus else "the CPU")
    return tf.distribute.get_strategy()


def _parse_data_args(values, genomes) -> dict:
    """``DIR`` (the only head) or ``GENOME=DIR`` per head."""
    out = {}
    for v in values:
        if "=" in v:
            g, d = v.split("=", 1)
        elif len(genomes) == 1:
            g, d = genomes[0], v
        else:
            raise SystemExit(f"the params have heads {list(genomes)}: give --data GENOME=DIR for each")
        if g not in genomes:
            raise SystemExit(f"--data {v}: the params have no head_{g} (heads: {list(genomes)})")
        out[g] = Path(d)
    return out


def _train(args) -> int:
    from genomodel.config import read_params
    from genomodel.io.tfrecord import read_statistics
    from genomodel.model.seqnn import build_model
    from genomodel.train import GenomeData, Trainer, targets_info, write_summary

    params = read_params(args.params)
    dirs = _parse_data_args(args.data, params.genomes)
    data = {g: GenomeData.open(g, d) for g, d in dirs.items()}
    stats = {g: read_statistics(d) for g, d in dirs.items()}
    strategy = _strategy()
    with strategy.scope():
        seqnn = build_model(params.model, seed=params.train.seed)
        info = {"targets": {g: targets_info(d) for g, d in dirs.items()},
                "data": {g: {k: stats[g].get(k) for k in ("pool_width", "crop_bp", "genome", "genome_build")}
                         for g in dirs}}
        trainer = Trainer(seqnn, params, data, args.out, strategy=strategy, model_info=info)
    total, trainable = seqnn.count_params()
    logger.info("model: %s parameters (%s trainable); heads %s", f"{total:,}", f"{trainable:,}", list(dirs))
    with _EpochBars() as bars:
        hist = trainer.fit(epochs=args.epochs, resume=not args.restart, progress=bars,
                           max_seconds=None if args.max_minutes is None else 60 * args.max_minutes)
    write_summary(args.out, hist)
    if params.train.fine_tune_epochs and len(data) > 1:
        for g in data:
            seqnn.combined.load_weights(str(Path(args.out) / "model" / "model.weights.h5"))
            ft = Trainer(seqnn, params, {g: data[g]}, Path(args.out) / f"fine_tune_{g}", strategy=strategy,
                         model_info=info)
            with _EpochBars() as bars:
                ft.fit(genomes=[g], epochs=params.train.fine_tune_epochs, resume=not args.restart, progress=bars)
    inputs = {f"{g}/statistics.json": Path(d) / "statistics.json" for g, d in dirs.items()}
    provenance.write(Path(args.out) / "provenance.json", provenance.record(
        command=sys.argv, config={"params": str(args.params)}, inputs=inputs,
        outputs={"model/params.json": Path(args.out) / "model" / "params.json",
                 "model/model.weights.h5": Path(args.out) / "model" / "model.weights.h5",
                 "train_log.csv": Path(args.out) / "train_log.csv"}, root=args.out))
    if hist.empty:
        logger.info("no epoch was run (the run in %s had already stopped)", args.out)
        return 0
    best = hist.loc[hist.valid_loss.idxmin()]
    logger.info("best epoch %d: valid loss %.5f; model in %s", best.epoch, best.valid_loss, Path(args.out) / "model")
    return 0


def _load_for_eval(args):
    from genomodel.model.seqnn import load_model

    seqnn, params, info = load_model(args.model)
    genome = args.genome or (params.genomes[0] if len(params.genomes) == 1 else None)
    if genome is None:
        raise SystemExit(f"the model has heads {list(params.genomes)}: choose one with --genome")
    return seqnn.model(genome), params, info, genome


def _shifts(text: str) -> tuple:
    return tuple(int(s) for s in text.split(",")) if text else (0,)


def _test(args) -> int:
    import numpy as np

    from genomodel import evaluate
    from genomodel.io import tfrecord
    from genomodel.predict import geometry, predict
    from genomodel.train import targets_info

    model, params, info, genome = _load_for_eval(args)
    stats = tfrecord.read_statistics(args.data)
    tinfo = targets_info(args.data)
    pair = np.array(tinfo["strand_pair"]) if "strand_pair" in tinfo else None
    preds, targets = [], []
    ds = tfrecord.dataset(args.data, args.split, batch_size=args.batch_size)
    n = int(stats.get(f"{args.split}_seqs", 0)) or None
    from tqdm import tqdm

    for x, y in tqdm(ds, desc=f"predict {args.split}", unit="batch",
                     total=None if n is None else -(-n // args.batch_size), disable=None):
        preds.append(predict(model, x.numpy(), rc=args.rc, shifts=_shifts(args.shifts), strand_pair=pair,
                             batch_size=args.batch_size))
        targets.append(y.numpy())
    if not preds:
        raise SystemExit(f"{args.data}: the {args.split} split is empty")
    pred, target = np.concatenate(preds), np.concatenate(targets)
    pool, crop = geometry(model)
    gene_kw = {}
    if args.gtf:
        beds = tfrecord.read_sequences_bed(args.data)
        windows = beds[beds.split == args.split].reset_index(drop=True)
        if len(windows) != len(pred):
            raise SystemExit(f"{args.data}/sequences.bed lists {len(windows)} {args.split} windows but the "
                             f"records hold {len(pred)}")
        gene_kw = {"windows": windows, "tss": evaluate.tss_from_gtf(args.gtf), "pool_width": pool, "crop_bp": crop}
    result = evaluate.evaluate_all(pred, target, target_ids=tinfo.get("identifier"),
                                   descriptions=tinfo.get("description"), **gene_kw)
    rec = provenance.record(command=sys.argv, config={"model": str(args.model), "split": args.split, "rc": args.rc,
                                                      "shifts": list(_shifts(args.shifts))},
                            inputs={"params.json": Path(args.model) / "params.json",
                                    "model.weights.h5": Path(args.model) / "model.weights.h5",
                                    "statistics.json": Path(args.data) / "statistics.json"})
    evaluate.write_report(args.out, result, pred=pred, target=target, provenance=rec)
    t = result.tracks
    logger.info("%s split: mean Pearson R %.4f (log %.4f) over %d tracks; report in %s", args.split,
                t.pearson_r.mean(), t.pearson_r_log.mean(), len(t), args.out)
    if "assay" in t.columns:
        for assay, sub in t.groupby("assay"):
            logger.info("  %s: Pearson R %.4f, log %.4f (%d tracks)", assay, sub.pearson_r.mean(),
                        sub.pearson_r_log.mean(), len(sub))
    return 0


def _predict(args) -> int:
    import numpy as np

    from genomodel import dna
    from genomodel.predict import (fasta_sequences, geometry, predict, read_regions, region_sequences,
                                   write_predictions_bigwig, write_predictions_h5)

    model, params, info, genome = _load_for_eval(args)
    seq_length = int(model.input.shape[1])
    tinfo = info.get("targets", {}).get(genome, {})
    ids = tinfo.get("identifier") or [f"t{i}" for i in range(int(model.output.shape[-1]))]
    pair = np.array(tinfo["strand_pair"]) if "strand_pair" in tinfo else None
    windows, names = None, None
    if args.bed:
        if not args.fasta:
            raise SystemExit("--bed needs --fasta (the genome to read the regions from)")
        regions = read_regions(args.bed)
        codes, windows = region_sequences(args.fasta, regions, seq_length)
        names = regions.name.tolist()
    elif args.fasta_seqs:
        codes, names = fasta_sequences(args.fasta_seqs, seq_length)
    else:
        raise SystemExit("give --bed with --fasta, or --fasta-seqs")
    pred = predict(model, dna.one_hot(codes, dtype=np.float32), rc=args.rc, shifts=_shifts(args.shifts),
                   strand_pair=pair, batch_size=args.batch_size)
    pool, crop = geometry(model)
    rec = provenance.record(command=sys.argv, inputs={"params.json": Path(args.model) / "params.json",
                                                      "model.weights.h5": Path(args.model) / "model.weights.h5"})
    if str(args.out).endswith((".h5", ".hdf5")):
        write_predictions_h5(args.out, pred, windows=windows, names=names, target_ids=ids,
                             target_labels=tinfo.get("description"), pool_width=pool, crop_bp=crop, provenance=rec)
    else:
        if windows is None:
            raise SystemExit("BigWig output needs genomic regions (--bed); write FASTA predictions to a .h5")
        import pyfaidx

        sizes = {k: len(v) for k, v in pyfaidx.Fasta(str(args.fasta)).items()}
        write_predictions_bigwig(args.out, pred, windows, chrom_sizes=sizes, target_ids=ids, pool_width=pool,
                                 crop_bp=crop)
        provenance.write(Path(args.out) / "provenance.json", rec)
    logger.info("predicted %d sequences x %d bins x %d tracks -> %s", *pred.shape, args.out)
    return 0


def _variant_inputs(args):
    """Model, target subset, variants and TSSs shared by ``sad`` and ``sed``."""
    import numpy as np
    import pandas as pd

    from genomodel.io.vcf import read_vcf

    model, params, info, genome_name = _load_for_eval(args)
    tinfo = info.get("targets", {}).get(genome_name, {})
    n_out = int(model.output.shape[-1])
    ids = tinfo.get("identifier") or [f"t{i}" for i in range(n_out)]
    keep = np.arange(n_out)
    if args.targets_file:
        want = pd.read_csv(args.targets_file, sep="\t")["identifier"].astype(str).tolist()
        missing = [t for t in want if t not in ids]
        if missing:
            raise ValueError(f"{args.targets_file}: targets {missing[:5]} are not among the model's {len(ids)} "
                             f"targets (e.g. {ids[:3]}); the model was trained on another target list")
        keep = np.array([ids.index(t) for t in want])
    variants, counts = read_vcf(args.vcf, fasta=args.fasta, ref_policy=args.ref_policy, indels=args.indels)
    tss = None
    if args.gtf:
        from genomodel.evaluate import tss_from_gtf

        tss = tss_from_gtf(args.gtf)
        if args.genes:
            want = args.genes.split(",")
            absent = [g for g in want if g not in set(tss.gene_id)]
            if absent:
                raise ValueError(f"{args.gtf} has no transcripts of the requested genes {absent[:5]}")
            tss = tss[tss.gene_id.isin(want)]
    return model, params, info, genome_name, tinfo, ids, keep, variants, counts, tss


def _sed(args) -> int:
    from genocore.files import sha256, write_table, write_text
    from genomodel.variants import genome_codes, sed_gene_windows

    if args.rc or _shifts(args.shifts) != (0,):
        raise ValueError("genomodel sed scores forward sequences only; drop --rc / --shifts (or use "
                         "genomodel sad --gtf for ensembled, variant-centred SED)")
    model, params, info, genome_name, tinfo, ids, keep, variants, counts, tss = _variant_inputs(args)
    genome = genome_codes(args.fasta, set(variants.chrom) & set(tss.chrom))
    sed = sed_gene_windows(model, genome, variants, tss, targets=keep, fast=not args.naive,
                           max_distance=args.max_distance, batch_size=args.batch_size)
    v = variants.reset_index(drop=True)
    out = sed.rename(columns={f"t{j}": f"SED_{ids[j]}" for j in keep})
    out.insert(1, "snp", v.snp.to_numpy()[out.variant.to_numpy()] if len(out) else [])
    write_table(args.out, out.drop(columns="variant"), float_format="%.6g")
    rec = provenance.record(command=sys.argv, config={"fast": not args.naive, "max_distance": args.max_distance},
                            inputs={"vcf": args.vcf, "fasta": args.fasta, "gtf": args.gtf,
                                    "model.weights.h5": Path(args.model) / "model.weights.h5"},
                            outputs={"sed": args.out}, extra={"vcf_counts": counts})
    rec["model_sha256"] = sha256(Path(args.model) / "model.weights.h5")
    write_text(str(args.out) + ".provenance.json", json.dumps(rec, indent=2) + "\n")
    logger.info("SED of %d variant-gene pairs x %d targets -> %s", len(out), len(keep), args.out)
    return 0


def _sad(args) -> int:
    import numpy as np

    from genocore.files import sha256, write_table
    from genomodel.config import params_to_dict
    from genomodel.variants import score_in_chunks, write_sad_h5

    model, params, info, genome_name, tinfo, ids, keep, variants, counts, tss = _variant_inputs(args)
    labels = tinfo.get("description") or ids
    pair = np.array(tinfo["strand_pair"]) if "strand_pair" in tinfo else None
    if args.shared_windows:
        if args.rc or _shifts(args.shifts) != (0,) or tss is not None:
            raise ValueError("--shared-windows scores the forward strand without SED: drop --rc, --shifts and --gtf")
        pair = None
    parts = Path(str(args.out) + ".parts")
    from genocore.dask_client import dask_client

    client = dask_client(scheduler=args.scheduler, workers=args.workers)
    try:
        with _progress_bar("chunks") as bar:
            scores = score_in_chunks(model_dir=args.model, genome_name=genome_name, fasta=args.fasta,
                                     variants=variants, parts_dir=parts, chunk_size=args.chunk_size,
                                     resume=args.resume, client=client, tss=tss, progress=bar, rc=args.rc,
                                     shifts=_shifts(args.shifts), strand_pair=pair, targets=keep,
                                     batch_size=args.batch_size, shared=args.shared_windows)
    finally:
        if client is not None:
            client.close()
    rec = provenance.record(command=sys.argv, config={"rc": args.rc, "shifts": list(_shifts(args.shifts)),
                                                      "shared_windows": args.shared_windows,
                                                      "ref_policy": args.ref_policy, "params": params_to_dict(params)},
                            genome_build=(info.get("data", {}).get(genome_name) or {}).get("genome_build"),
                            inputs={"vcf": args.vcf, "fasta": args.fasta, "model.weights.h5":
                                    Path(args.model) / "model.weights.h5"}, extra={"vcf_counts": counts})
    rec["model_sha256"] = sha256(Path(args.model) / "model.weights.h5")
    if str(args.out).endswith(".tsv"):
        wide = scores.variants.copy()
        for j, t in enumerate(keep):
            wide[f"SAD_{ids[t]}"] = scores.stats["SAD"][:, j]
        write_table(args.out, wide, float_format="%.6g")
    else:
        write_sad_h5(args.out, scores, target_ids=[ids[t] for t in keep], target_labels=[labels[t] for t in keep],
                     provenance=rec)
    import shutil

    shutil.rmtree(parts, ignore_errors=True)
    logger.info("scored %d variants x %d targets -> %s", len(variants), len(keep), args.out)
    return 0


def _index_list(text, n: int, what: str):
    if not text:
        return None
    idx = [int(t) for t in text.split(",")]
    bad = [i for i in idx if not 0 <= i < n]
    if bad:
        raise ValueError(f"--{what} {bad} out of range: the model has {n} {what}")
    return idx


def _saliency(args) -> int:
    import h5py
    import numpy as np

    from genocore.figures import save_png
    from genocore.files import atomic_path
    from genomodel import dna
    from genomodel.attribution.plots import saliency_figure
    from genomodel.attribution.saliency import saliency
    from genomodel.model.seqnn import load_model
    from genomodel.predict import read_regions, region_sequences

    seqnn, params, info = load_model(args.model)
    model = seqnn.model(args.genome)
    targets = _index_list(args.targets, int(model.output.shape[-1]), "targets")
    bins = _index_list(args.bins, int(model.output.shape[1]), "bins")
    regions = read_regions(args.bed)
    codes, windows = region_sequences(args.fasta, regions, int(model.input.shape[1]))
    values = saliency(seqnn, dna.one_hot(codes, dtype=np.float32), genome=args.genome, targets=targets, bins=bins)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "saliency.h5") as tmp, h5py.File(tmp, "w") as h5:
        h5.create_dataset("saliency", data=values)
        h5.create_dataset("chrom", data=np.array(windows.chrom, dtype="S"))
        h5.create_dataset("start", data=windows.start.to_numpy(np.int64))
        h5.attrs["bin_width"] = int(model.input.shape[1]) // values.shape[1]
        h5.attrs["provenance"] = json.dumps(provenance.record(command=sys.argv, inputs={
            "model.weights.h5": Path(args.model) / "model.weights.h5"}))
    save_png(saliency_figure(values, names=regions.name.tolist(), bin_width=int(model.input.shape[1]) // values.shape[1]),
             out / "saliency.png")
    logger.info("saliency of %d regions x %d bins -> %s", *values.shape, out)
    return 0


def _ism(args) -> int:
    import h5py
    import numpy as np
    import pandas as pd

    from genocore.figures import save_png
    from genocore.files import atomic_path
    from genomodel import dna
    from genomodel.attribution.ism import ism
    from genomodel.attribution.plots import ism_figure
    from genomodel.model.seqnn import load_model
    from genomodel.predict import geometry, region_sequences

    seqnn, params, info = load_model(args.model)
    model = seqnn.model(args.genome)
    try:
        chrom, pos = args.site.rsplit(":", 1)
        pos = int(pos.replace(",", ""))
    except ValueError:
        raise ValueError(f"--site {args.site!r}: write it as CHROM:POS (1-based), e.g. chr1:1,234,567") from None
    seq_length = int(model.input.shape[1])
    codes, windows = region_sequences(args.fasta, pd.DataFrame({"chrom": [chrom], "start": [pos - 1], "end": [pos]}),
                                      seq_length)
    centre = seq_length // 2
    a, b = centre - args.width // 2, centre - args.width // 2 + args.width
    pool, crop = geometry(model)
    bins = _index_list(args.bins, int(model.output.shape[1]), "bins") or [(centre - crop) // pool]
    targets = _index_list(args.targets, int(model.output.shape[-1]), "targets")
    values = ism(model, dna.one_hot(codes[0], dtype=np.float32), start=a, end=b, targets=targets, bins=bins,
                 fast=not args.naive)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "ism.h5") as tmp, h5py.File(tmp, "w") as h5:
        h5.create_dataset("ism", data=values)
        h5.create_dataset("ref_codes", data=codes[0, a:b])
        h5.attrs["chrom"], h5.attrs["start_1based"] = chrom, int(windows.start[0]) + a + 1
        h5.attrs["bins"] = np.array(bins)
        h5.attrs["provenance"] = json.dumps(provenance.record(command=sys.argv, inputs={
            "model.weights.h5": Path(args.model) / "model.weights.h5"}))
    save_png(ism_figure(values[:, :, 0], codes[0, a:b], start=int(windows.start[0]) + a + 1,
                        title=f"ISM around {args.site}, target {targets[0] if targets else 0}, bins {bins}"),
             out / "ism.png")
    logger.info("mutagenesis of %d bp x 3 bases -> %s", b - a, out)
    return 0


class _progress_bar:
    """A tqdm bar driven by a ``progress(done, total)`` callback."""

    def __init__(self, unit: str):
        self.unit, self.bar = unit, None

    def __enter__(self):
        return self

    def __call__(self, done, total):
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, unit=self.unit, disable=None)
        self.bar.n = done
        self.bar.refresh()

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()


class _EpochBars:
    """One tqdm bar per epoch, fed by :meth:`genomodel.train.Trainer.fit`'s progress callback."""

    def __init__(self):
        self.bar = None

    def __enter__(self):
        return self

    def __call__(self, epoch, step, n_steps, value):
        from tqdm import tqdm

        if step is None:
            if self.bar is not None:
                self.bar.set_postfix(train=f"{value['train_loss']:.4f}", valid=f"{value['valid_loss']:.4f}")
                self.bar.close()
                self.bar = None
            return
        if self.bar is None:
            self.bar = tqdm(total=n_steps, desc=f"epoch {epoch}", unit="step", disable=None)
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{value:.4f}", refresh=False)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genomodel", description="Basenji-family sequence models: "
                                     "simulated genomes, training data, training, prediction, variant scores.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("simulate-genome", help="simulate a genome with a motif grammar and its coverage tracks",
                       description="Write genome/ (FASTA, GTF, motifs) and tracks/ (BigWig, targets.txt).")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--genome-build", default="simgenome1", help="name recorded as the genome build")
    p.add_argument("--config", type=Path, help="JSON of GenomeConfig fields (unknown keys are errors)")
    p.set_defaults(runner=_simulate_genome)

    p = sub.add_parser("data", help="FASTA + coverage tracks -> training records (TFRecord shards)",
                       description="Tile windows over a genome, bin and transform the coverage of every track in "
                       "targets.txt, split train/valid/test, and write basenji-layout records.")
    p.add_argument("--fasta", required=True, type=Path)
    p.add_argument("--targets", required=True, type=Path, help="basenji targets.txt (BigWig or bedGraph files)")
    p.add_argument("--out", required=True, type=Path, help="output folder (written whole or not at all)")
    p.add_argument("--blacklist", type=Path, help="BED of unmappable regions (bins set to the 25th percentile)")
    p.add_argument("--gaps", type=Path, help="BED of assembly gaps (windows overlapping too much are skipped)")
    p.add_argument("--alignment", type=Path, help="net/chain or pairs table for homology-aware splits")
    p.add_argument("--config", type=Path, help="JSON of DataConfig fields (unknown keys are errors)")
    p.add_argument("--seq-length", type=int)
    p.add_argument("--pool-width", type=int)
    p.add_argument("--crop-bp", type=int)
    p.add_argument("--stride", type=int)
    p.add_argument("--test-chroms", help="comma-separated chromosomes held out for testing")
    p.add_argument("--valid-chroms", help="comma-separated chromosomes held out for validation")
    p.add_argument("--valid-fraction", type=float, help="share of the remaining windows for validation")
    p.add_argument("--test-fraction", type=float, help="share of the remaining windows for testing")
    p.add_argument("--seed", type=int)
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.set_defaults(runner=_data)

    p = sub.add_parser("train", help="train a model on records",
                       description="Train a model from a params file (or a shipped name such as sim_small or "
                       "basenji2_human) on one or more genomes' records. Resumes from OUT/checkpoint.")
    p.add_argument("--params", required=True, help="params JSON, Basenji 2018 text params, or a shipped name")
    p.add_argument("--data", required=True, action="append", help="records folder, or GENOME=DIR per head")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--epochs", type=int, help="stop after this many epochs (default: train_epochs_max)")
    p.add_argument("--max-minutes", type=float, help="time budget: start no epoch that cannot finish within it")
    p.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
    p.set_defaults(runner=_train)

    for name, runner, helptext in (("test", _test, "accuracy on held-out records: per track, per gene, peaks"),
                                   ("predict", _predict, "predict BED regions or FASTA sequences"),
                                   ("sad", _sad, "variant effect scores (SAD, SAR, REF, ALT, LOG2MAX; SED with --gtf)"),
                                   ("sed", _sed, "SED in gene-centred windows (one reference pass per gene)")):
        p = sub.add_parser(name, help=helptext, description=helptext)
        p.add_argument("--model", required=True, type=Path, help="a saved model folder (RUN/model)")
        p.add_argument("--out", required=True, type=Path)
        p.add_argument("--genome", help="the head to use when the model has several")
        p.add_argument("--rc", action="store_true", help="average with reverse-complement predictions")
        p.add_argument("--shifts", default="0", help="comma-separated shifts in bp to average, e.g. --shifts=-1,0,1")
        p.add_argument("--batch-size", type=int, default=4)
        if name in ("sad", "sed"):
            p.add_argument("--vcf", required=True, type=Path, help="VCF of sites (SNPs)")
            p.add_argument("--fasta", required=True, type=Path, help="the genome the VCF refers to")
            p.add_argument("--gtf", type=Path, required=name == "sed",
                           help="GTF: SED for genes with a TSS in the window")
            p.add_argument("--genes", help="comma-separated gene ids to restrict SED to")
            p.add_argument("--targets-file", type=Path, help="targets.txt-like table: score only these identifiers")
            p.add_argument("--ref-policy", choices=("error", "skip", "flip"), default="error",
                           help="REF allele not matching the genome: stop, drop it, or swap REF/ALT if ALT matches")
            p.add_argument("--indels", choices=("refuse", "skip"), default="refuse")
        if name == "sed":
            p.add_argument("--max-distance", type=int, help="only SNPs within this many bp of the gene's TSS")
            p.add_argument("--naive", action="store_true", help="full forward passes instead of the incremental path")
        if name == "sad":
            p.add_argument("--chunk-size", type=int, default=1000, help="variants per chunk (each written as done)")
            p.add_argument("--resume", action="store_true", help="keep finished chunks of an interrupted run")
            p.add_argument("--workers", type=int, help="score chunks on a local Dask cluster of N workers")
            p.add_argument("--scheduler", help="score chunks on the Dask cluster at this scheduler address")
            p.add_argument("--shared-windows", action="store_true",
                           help="score neighbouring variants in shared windows: one reference pass per window, "
                                "the incremental path for each alternative (forward strand, no SED; a variant "
                                "sits between 1/4 and 3/4 of its window instead of at the centre)")
        if name == "test":
            p.add_argument("--data", required=True, type=Path, help="records folder")
            p.add_argument("--split", default="test")
            p.add_argument("--gtf", type=Path, help="GTF for gene-level accuracy at TSS bins")
        elif name == "predict":
            p.add_argument("--bed", type=Path, help="regions; windows of the model's length are centred on them")
            p.add_argument("--fasta", type=Path, help="the genome the BED refers to")
            p.add_argument("--fasta-seqs", type=Path, help="sequences to predict, centred and padded/trimmed")
        p.set_defaults(runner=runner)
    for name, runner, helptext in (("saliency", _saliency, "saliency (gradient x tower representation) of regions"),
                                   ("ism", _ism, "in-silico saturation mutagenesis around a site")):
        p = sub.add_parser(name, help=helptext, description=helptext)
        p.add_argument("--model", required=True, type=Path)
        p.add_argument("--fasta", required=True, type=Path)
        p.add_argument("--out", required=True, type=Path, help="output folder (HDF5 + PNG)")
        p.add_argument("--genome", help="the head to use when the model has several")
        p.add_argument("--targets", help="comma-separated target indices (default: all)")
        p.add_argument("--bins", help="comma-separated output bins (default: all; for ism the site's bin)")
        if name == "saliency":
            p.add_argument("--bed", required=True, type=Path, help="regions; windows are centred on them")
        else:
            p.add_argument("--site", required=True, help="CHROM:POS (1-based) at the window centre")
            p.add_argument("--width", type=int, default=200, help="bp mutated around the site")
            p.add_argument("--naive", action="store_true",
                           help="one full forward pass per mutation instead of the incremental path")
        p.set_defaults(runner=runner)
    return parser


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    clilog.configure(args.verbose)
    return clilog.run_command(args.runner, args, verbosity=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
