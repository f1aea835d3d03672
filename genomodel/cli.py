"""``genomodel``: the model half of the suite from the command line.

Parsers are built by functions (testable, no environment needed for ``--help``); each subcommand's
runner calls library functions and is the only place that configures logging and progress bars.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from genocore import clilog, provenance
from genocore import config as cfgmod


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
    return parser


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    clilog.configure(args.verbose)
    return args.runner(args)


if __name__ == "__main__":
    sys.exit(main())
