"""``genomodel``: the model half from the command line (``genomodel COMMAND --help`` for each command).

Each command parses its options, calls one library function and writes what it returns. Libraries are
imported when a command runs (TensorFlow is slow to import), so ``--help`` stays quick.
"""
from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from pathlib import Path

from genocore import __version__, clilog, provenance
from genocore import config as cfgmod
from genocore.progress import ProgressBar
from genomodel import cli_data, cli_weights

logger = logging.getLogger("genomodel.cli")
_VARIANT_OPTIONS = ("gtf", "genes", "batch_size", "targets_file", "ref_policy", "indels")  # of sad and sed


def _record(head, **inputs) -> dict:
    """Provenance of this call: the command line, the SHA-256 of the model and of every input that was given."""
    files = {"params.json": head.model_dir / "params.json", "model.weights.h5": head.weights, **inputs}
    return provenance.record(command=sys.argv, inputs={k: p for k, p in files.items() if p is not None})


def _ints(text: str) -> list | None:  # "--bins 3,4" -> [3, 4]; an empty list -> None
    return [int(t) for t in text.split(",")] if text else None


def _head(args):
    from genomodel.model.seqnn import load_head

    return load_head(args.model, genome=args.genome, precision=args.precision, xla=args.xla)


def _simulate_genome(args) -> int:
    import numpy as np

    from genomodel import synthetic as syn

    cfg = cfgmod.from_dict(syn.GenomeConfig, json.loads(args.config.read_text()) if args.config else {},
                           where=str(args.config or "defaults"))
    s_genome, s_noise = np.random.SeedSequence(args.seed).spawn(2)
    genome = syn.simulate_genome(cfg, seed=s_genome)
    lands = {c: syn.landscape(genome, genome.sequences[c]) for c in cfg.chromosomes}
    syn.write_genome_files(args.out, genome, syn.sample_tracks(genome, lands, np.random.default_rng(s_noise)),
                           genome_build=args.genome_build)
    outputs = {str(p.relative_to(args.out)): p for p in sorted(Path(args.out).rglob("*")) if p.is_file()
               and p.name != "provenance.json"}
    provenance.write(Path(args.out) / "provenance.json", provenance.record(
        command=sys.argv, config=cfgmod.to_dict(cfg), genome_build=args.genome_build, outputs=outputs,
        extra={"seed": args.seed}, root=args.out))
    return 0


def _train(args) -> int:
    from genomodel.config import read_params
    from genomodel.train import parse_data_dirs, train_model

    params = read_params(args.params)
    with ProgressBar("step") as bars:
        train_model(params, parse_data_dirs(args.data, params.genomes), args.out, epochs=args.epochs,
                    resume=not args.restart, progress=bars, command=sys.argv, config={"params": str(args.params)},
                    max_seconds=args.max_minutes and 60 * args.max_minutes, init_motifs=args.init_motifs,
                    init_model=args.init_model)
    return 0


def _test(args) -> int:
    from genomodel.predict import evaluate_model

    with ProgressBar("batch") as bar:
        evaluate_model(_head(args), args.data, args.out, split=args.split, gtf=args.gtf, rc=args.rc, shifts=args.shifts,
                       batch_size=args.batch_size, progress=bar, command=sys.argv)
    return 0


def _predict(args) -> int:
    from genomodel.predict import predict_sequences

    from genocore.resume import RunParts, stamp_inputs

    head = _head(args)
    settings = stamp_inputs({"model": head.weights, "bed": args.bed, "fasta": args.fasta, "fasta_seqs": args.fasta_seqs})
    settings.update({k: getattr(args, k) for k in ("genome", "precision", "xla", "rc", "shifts", "batch_size")})
    parts = RunParts(Path(str(args.out) + ".parts"), settings, resume=args.resume)
    with ProgressBar("chunks") as bar:
        p = predict_sequences(head, bed=args.bed, fasta=args.fasta, fasta_seqs=args.fasta_seqs, rc=args.rc,
                              shifts=args.shifts, batch_size=args.batch_size, parts=parts, progress=bar)
    p.write(args.out, fasta=args.fasta, provenance=_record(head, bed=args.bed, fasta=args.fasta if args.bed
                                                           else args.fasta_seqs))
    parts.remove()  # only once the output is complete
    return 0


def _sad(args) -> int:
    from genomodel.variants import score_vcf

    parts = Path(str(args.out) + ".parts")
    with ProgressBar("chunks") as bar:
        scores = score_vcf(_head(args), args.vcf, args.fasta, parts_dir=parts, rc=args.rc, shifts=args.shifts,
                           chunk_size=args.chunk_size, resume=args.resume, scheduler=args.scheduler,
                           workers=args.workers, shared=args.shared_windows, progress=bar, command=sys.argv,
                           **{k: getattr(args, k) for k in _VARIANT_OPTIONS})
    scores.write(args.out)
    shutil.rmtree(parts, ignore_errors=True)  # only once the output is complete: a failed write can resume
    return 0


def _sed(args) -> int:
    from genomodel.variants import sed_vcf

    if args.rc or args.shifts != (0,):
        raise ValueError("genomodel sed scores forward sequences only; drop --rc / --shifts (or use "
                         "genomodel sad --gtf for ensembled, variant-centred SED)")
    s = sed_vcf(_head(args), args.vcf, args.fasta, fast=not args.naive, max_distance=args.max_distance,
                command=sys.argv, **{k: getattr(args, k) for k in _VARIANT_OPTIONS})
    s.write_sed(args.out)
    return 0


def _saliency(args) -> int:
    from genocore.bed import read_bed
    from genomodel.attribution.saliency import region_saliency

    regions = read_bed(args.bed)
    if regions.empty:
        raise ValueError(f"--bed {args.bed}: no regions to explain")
    head = _head(args)
    r = region_saliency(head.seqnn, args.fasta, regions, genome=head.genome,
                        targets=args.targets, bins=args.bins)
    r.write(args.out, provenance=_record(head, fasta=args.fasta, bed=args.bed))
    return 0


def _ism(args) -> int:
    from genomodel.attribution.ism import site_ism

    head = _head(args)
    r = site_ism(head.model, args.fasta, args.site, width=args.width, targets=args.targets, bins=args.bins,
                 fast=not args.naive)
    r.write(args.out, title=f"ISM around {args.site}, target {(args.targets or [0])[0]}, bins {r.bins}",
            provenance=_record(head, fasta=args.fasta))
    return 0


def _command(sub, name: str, runner, helptext: str, description: str | None = None) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=helptext, description=description or helptext)
    p.set_defaults(runner=runner)
    return p


def _genome_parsers(sub) -> None:
    p = _command(sub, "simulate-genome", _simulate_genome, "simulate a genome with a motif grammar and its coverage "
                 "tracks", "Write genome/ (FASTA, GTF, motifs) and tracks/ (BigWig, targets.txt).")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--genome-build", default="simgenome1", help="name recorded as the genome build")
    p.add_argument("--config", type=Path, help="JSON of GenomeConfig fields (unknown keys are errors)")
    cli_data.add_parser(sub, ProgressBar)


def _model_parser(sub, name: str, runner, helptext: str, *, ensemble: bool = True) -> argparse.ArgumentParser:
    """A command that runs one head of a saved model (with the ensemble options, unless ``ensemble`` is false)."""
    p = _command(sub, name, runner, helptext)
    p.add_argument("--model", required=True, type=Path, help="a saved model folder (RUN/model)")
    p.add_argument("--out", required=True, type=Path, help="output file or folder")
    p.add_argument("--genome", help="the head to use when the model has several")
    p.add_argument("--precision", default="float32", choices=("float32", "mixed_bfloat16", "mixed_float16"),
                   help="compute dtype: mixed_bfloat16 is faster on CPUs with AVX512-BF16 and on GPUs, at about "
                        "1e-2 relative error (benchmarks/RESULTS.md)")
    p.add_argument("--xla", action="store_true", help="compile full forward passes with XLA")
    if ensemble:
        p.add_argument("--rc", action="store_true", help="average with reverse-complement predictions")
        p.add_argument("--shifts", default="0", type=lambda text: tuple(_ints(text) or (0,)),
                       help="comma-separated shifts in bp to average, e.g. --shifts=-1,0,1")
        p.add_argument("--batch-size", type=int, default=4)
    return p


def _train_test_predict_parsers(sub) -> None:
    p = _command(sub, "train", _train, "train a model on records", "Train a model from a params file (or a shipped "
                 "name such as sim_small or basenji2_human) on one or more genomes' records. Resumes from "
                 "OUT/checkpoint.")
    p.add_argument("--params", required=True, help="params JSON, Basenji 2018 text params, or a shipped name")
    p.add_argument("--data", required=True, action="append", help="records folder, or GENOME=DIR per head")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--epochs", type=int, help="stop after this many epochs (default: train_epochs_max)")
    p.add_argument("--max-minutes", type=float, help="time budget: start no epoch that cannot finish within it")
    p.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
    p.add_argument("--init-motifs", type=Path, help="MEME/JASPAR motifs that start the first layer's filters")
    p.add_argument("--init-model", type=Path, help="saved model folder whose weights start training (by layer "
                   "name; e.g. an imported trunk with a new head)")
    p = _model_parser(sub, "test", _test, "accuracy on held-out records: per track, per gene, peaks")
    p.add_argument("--data", required=True, type=Path, help="records folder")
    p.add_argument("--split", default="test")
    p.add_argument("--gtf", type=Path, help="GTF for gene-level accuracy at TSS bins")
    p = _model_parser(sub, "predict", _predict, "predict BED regions or FASTA sequences")
    p.add_argument("--bed", type=Path, help="regions; windows of the model's length are centred on them")
    p.add_argument("--fasta", type=Path, help="the genome the BED refers to")
    p.add_argument("--fasta-seqs", type=Path, help="sequences to predict, centred and padded/trimmed")
    p.add_argument("--resume", action="store_true", help="read back the chunks of windows a killed run finished "
                   "(OUT.parts; same inputs and options, checked)")


def _variant_attribution_parsers(sub) -> None:
    for name, runner, helptext in (("sad", _sad, "variant effect scores (SAD, SAR, REF, ALT, LOG2MAX; SED with --gtf)"),
                                   ("sed", _sed, "SED in gene-centred windows (one reference pass per gene)")):
        p = _model_parser(sub, name, runner, helptext)
        p.add_argument("--vcf", required=True, type=Path, help="VCF of sites (SNPs)")
        p.add_argument("--fasta", required=True, type=Path, help="the genome the VCF refers to")
        p.add_argument("--gtf", type=Path, required=name == "sed", help="GTF: SED for genes with a TSS in the window")
        p.add_argument("--genes", type=lambda text: text.split(",") if text else None,
                       help="comma-separated gene ids to restrict SED to")
        p.add_argument("--targets-file", type=Path, help="targets.txt-like table: score only these identifiers")
        p.add_argument("--ref-policy", choices=("error", "skip", "flip"), default="error",
                       help="REF allele not matching the genome: stop, drop it, or swap REF/ALT if ALT matches")
        p.add_argument("--indels", choices=("refuse", "skip"), default="refuse")
    p.add_argument("--max-distance", type=int, help="only SNPs within this many bp of the gene's TSS")
    p.add_argument("--naive", action="store_true", help="full forward passes instead of the incremental path")
    p = sub.choices["sad"]
    p.add_argument("--chunk-size", type=int, default=1000, help="variants per chunk (each written as done)")
    p.add_argument("--resume", action="store_true", help="keep finished chunks of an interrupted run")
    p.add_argument("--workers", type=int, help="score chunks on a local Dask cluster of N workers")
    p.add_argument("--scheduler", help="score chunks on the Dask cluster at this scheduler address")
    p.add_argument("--shared-windows", action="store_true", help="score neighbouring variants in shared windows: "
                   "one reference pass per window (a variant sits between 1/4 and 3/4 of its window instead of at "
                   "the centre); forward-strand SAD without SED takes the incremental path")
    for name, runner, helptext in (("saliency", _saliency, "saliency (gradient x tower representation) of regions"),
                                   ("ism", _ism, "in-silico saturation mutagenesis around a site")):
        p = _model_parser(sub, name, runner, helptext, ensemble=False)
        p.add_argument("--fasta", required=True, type=Path)
        p.add_argument("--targets", type=_ints, help="comma-separated target indices (default: all)")
        p.add_argument("--bins", type=_ints, help="comma-separated output bins (default: all; for ism the site's bin)")
    sub.choices["saliency"].add_argument("--bed", required=True, type=Path, help="regions; windows are centred on them")
    p.add_argument("--site", required=True, help="CHROM:POS (1-based) at the window centre")
    p.add_argument("--width", type=int, default=200, help="bp mutated around the site")
    p.add_argument("--naive", action="store_true", help="one pass per mutation instead of the incremental path")


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genomodel", description="Basenji-family sequence models: "
                                     "simulated genomes, training data, training, prediction, variant scores.")
    parser.add_argument("--version", action="version", version=f"%(prog)s (genosuite) {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (_genome_parsers, _train_test_predict_parsers, _variant_attribution_parsers, cli_weights.add_parser):
        add(sub)
    return parser


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    clilog.configure(args.verbose)
    return clilog.run_command(args.runner, args, verbosity=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
