"""``genomodel data``: FASTA + coverage tracks -> training records, for one genome or several split jointly."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from genocore import config as cfgmod

logger = logging.getLogger("genomodel.cli")
_NUMBERS = ("seq_length", "pool_width", "crop_bp", "stride", "seed", "valid_fraction", "test_fraction")
_PER_GENOME = ("fasta", "targets", "gaps", "blacklist", "genome")


def _genome_inputs(args) -> list:
    """One GenomeInputs per --fasta: --targets and --genome once each, --gaps / --blacklist once each or never."""
    from genomodel.multigenome import GenomeInputs

    n = len(args.fasta)
    for opt in _PER_GENOME:
        given = getattr(args, opt) or []
        if len(given) != n and (opt in ("fasta", "targets", "genome") or given):
            raise ValueError(f"{n} genomes (--fasta) but {len(given)} --{opt}; with several genomes give "
                             f"--targets and --genome once per --fasta, and --gaps / --blacklist once per --fasta "
                             "or not at all, in the same order")
    if not args.alignment:
        raise ValueError("several genomes are split jointly along an alignment: give --alignment (a UCSC "
                         "chain / net, or a pairs table chrom1 start1 end1 chrom2 start2 end2) linking the first "
                         "genome to the second")
    return [GenomeInputs(name=args.genome[i], fasta=args.fasta[i], targets=args.targets[i],
                         gaps=args.gaps[i] if args.gaps else None,
                         blacklist=args.blacklist[i] if args.blacklist else None) for i in range(n)]


def data(args, bars) -> int:
    from genomodel import data as gdata

    values = {**(json.loads(args.config.read_text()) if args.config else {}),  # options override the file
              **{k: getattr(args, k) for k in _NUMBERS if getattr(args, k) is not None},
              **{k: getattr(args, k).split(",") for k in ("test_chroms", "valid_chroms") if getattr(args, k)}}
    if len(args.fasta) == 1:
        extra = [f"--{opt}" for opt in _PER_GENOME if len(getattr(args, opt) or []) > 1]
        if extra:
            raise ValueError(f"one --fasta but several {', '.join(extra)}: give one per genome, in order")
        if args.genome:
            values["genome"] = args.genome[0]
    cfg = cfgmod.from_dict(gdata.DataConfig, values, where=str(args.config or "command line"))
    with bars("windows") as bar:
        if len(args.fasta) > 1:
            from genomodel.multigenome import write_genome_datasets

            summary = write_genome_datasets(args.out, _genome_inputs(args), alignment=args.alignment, config=cfg,
                                            overwrite=args.overwrite, progress=bar)
        else:
            one = lambda opt: (getattr(args, opt) or [None])[0]  # noqa: E731
            summary = gdata.write_dataset(args.out, fasta=args.fasta[0], targets=one("targets"),
                                          blacklist=one("blacklist"), gaps=one("gaps"), alignment=args.alignment,
                                          config=cfg, overwrite=args.overwrite, progress=bar)
    logger.info("wrote %s: %s", args.out, summary)
    return 0


def add_parser(sub, bars) -> None:
    p = sub.add_parser("data", help="FASTA + coverage tracks -> training records (TFRecord shards)",
                       description="Tile windows over a genome, bin and transform the coverage of every track in "
                       "targets.txt, split train/valid/test, and write basenji-layout records. With several genomes "
                       "(--fasta, --targets, --genome repeated, in order) and an --alignment, regions linked by "
                       "the alignment go to one split across genomes, and OUT holds one records folder per genome.")
    p.set_defaults(runner=lambda args: data(args, bars))
    p.add_argument("--fasta", required=True, type=Path, action="append", help="genome FASTA (repeat per genome)")
    p.add_argument("--targets", required=True, type=Path, action="append",
                   help="basenji targets.txt (BigWig or bedGraph files), one per genome")
    p.add_argument("--genome", action="append", help="head name of each genome (e.g. human, mouse)")
    p.add_argument("--out", required=True, type=Path, help="output folder (written whole or not at all)")
    p.add_argument("--blacklist", type=Path, action="append",
                   help="BED of unmappable regions (bins set to the 25th percentile), one per genome")
    p.add_argument("--gaps", type=Path, action="append",
                   help="BED of assembly gaps (windows overlapping too much are skipped), one per genome")
    p.add_argument("--alignment", type=Path, help="net/chain or pairs table for homology-aware splits")
    p.add_argument("--config", type=Path, help="JSON of DataConfig fields (unknown keys are errors)")
    for flag in ("--seq-length", "--pool-width", "--crop-bp", "--stride", "--seed"):
        p.add_argument(flag, type=int)
    p.add_argument("--test-chroms", help="comma-separated chromosomes held out for testing")
    p.add_argument("--valid-chroms", help="comma-separated chromosomes held out for validation")
    p.add_argument("--valid-fraction", type=float, help="share of the remaining windows for validation")
    p.add_argument("--test-fraction", type=float, help="share of the remaining windows for testing")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
