"""``genostats``: the statistics half of the suite from the command line.

Parsers are built by functions (testable; ``--help`` needs no data or environment). Commands that
join the model and the statistics (``simulate-world``) are registered by ``analyses.commands``, so
this package never imports ``genomodel``.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from genocore import clilog, provenance

logger = logging.getLogger(__name__)


def _ld_decay(args) -> int:
    import numpy as np

    from genocore.files import write_table
    from stats.io.plink import read_bfile
    from stats.ld import r2_decay

    dosage, bim, _ = read_bfile(args.bfile)
    rng = np.random.default_rng(args.seed)
    tables = []
    for chrom, idx in bim.groupby("chrom", sort=False).indices.items():
        t = r2_decay(dosage[:, idx], bim.pos.to_numpy()[idx], max_pairs=args.max_pairs, rng=rng)
        tables.append(t.assign(chrom=chrom))
    import pandas as pd

    write_table(args.out, pd.concat(tables, ignore_index=True), float_format="%.6g")
    provenance.write(Path(str(args.out) + ".provenance.json"), provenance.record(
        command=sys.argv, inputs={"bed": Path(str(args.bfile) + ".bed")}, outputs={"table": args.out}))
    return 0


def _dask_client(args):
    """A dask.distributed Client for --scheduler / --workers, else None (run in-process)."""
    if args.scheduler is None and not args.workers:
        return None
    from distributed import Client, LocalCluster

    if args.scheduler is not None:
        return Client(args.scheduler)
    return Client(LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None))


def _sldp(args) -> int:
    from genocore.files import write_table, write_text
    from stats.sldp_pipeline import run_pipeline

    if args.out.is_dir():
        raise ValueError(f"--out {args.out}: is a folder; give the .gwresults file to write")
    for flag, paths in (("--sumstats", args.sumstats), ("--ld-blocks", [args.ld_blocks]),
                        ("--print-snps", [args.print_snps] if args.print_snps else [])):
        for f in paths:
            if not Path(f).is_file():
                raise FileNotFoundError(f"{flag} {f}: no such file")
    client = _dask_client(args)
    try:
        res = run_pipeline(bfile_chr=args.bfile_chr, ld_blocks=args.ld_blocks, sumstats=args.sumstats,
                           sannot_chr=args.sannot_chr, background_sannot_chr=args.background_sannot_chr or (),
                           ldscores_chr=args.ldscores_chr, print_snps=args.print_snps, build=args.build,
                           alpha=args.alpha, background_alpha=args.background_alpha, weights=args.weights,
                           spectrum_percent=args.spectrum_percent, jk_blocks=args.jk_blocks, seed=args.seed,
                           signflip=not args.no_signflip, n_draws=args.n_draws, chroms=args.chroms,
                           rv_out=args.rv_out, client=client, blas_threads=args.blas_threads)
    finally:
        if client is not None:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    write_text(args.out, res.table.to_csv(sep="\t", index=False, na_rep="nan", lineterminator="\n"))
    outputs = {"gwresults": args.out}
    if args.chunks_out is not None:
        import pandas as pd

        rows = [df.assign(pheno=p, annot=a, chunk=range(len(df))) for (p, a), df in res.chunks.items()]
        cols = ["pheno", "annot", "chunk", "first_block", "last_block", "numsnps", "q", "r"]
        write_table(args.chunks_out, pd.concat(rows, ignore_index=True)[cols])
        outputs["chunks"] = args.chunks_out
    inputs = {"ld_blocks": args.ld_blocks}
    inputs.update({f"sumstats_{i}": f for i, f in enumerate(args.sumstats)})
    if args.print_snps:
        inputs["print_snps"] = args.print_snps
    config = {k: ([str(x) for x in v] if isinstance(v, list) else str(v) if isinstance(v, Path) else v)
              for k, v in vars(args).items() if k not in ("runner", "argv")}
    config["h2g"] = {k: {"h2g": p.h2g, "sigma2g": p.sigma2g} for k, p in res.phenotypes.items()}
    provenance.write(Path(str(args.out) + ".provenance.json"), provenance.record(
        command=args.argv, config=config, genome_build=args.build, inputs=inputs, outputs=outputs))
    logger.info("wrote %s (%d rows)", args.out, len(res.table))
    return 0


def _nonneg_int(text: str) -> int:
    v = int(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
    return v


def add_sldp_parser(sub) -> argparse.ArgumentParser:
    """Register ``genostats sldp`` on a subparsers object; returns its parser."""
    p = sub.add_parser("sldp", help="signed LD profile regression (sldp 1.1.5 compatible)",
                       description="Signed LD profile regression end to end: reference panel -> per-block SVD "
                       "and signed LD profiles, phenotypes -> h2g and weights, regression over every annotation x "
                       "phenotype with background annotations and sign-flip p-values. Writes sldp's .gwresults "
                       "columns. Regression SNPs default to the panel SNPs with MAF >= 5%%.")
    p.add_argument("--bfile-chr", required=True, help="reference panel: per-chromosome PLINK prefix "
                   "(panel. -> panel.22.bed) or {chrom} template")
    p.add_argument("--ld-blocks", required=True, type=Path, help="LD blocks (BED: chr start end)")
    p.add_argument("--sumstats", required=True, nargs="+", type=Path, help="LDSC .sumstats.gz, one per phenotype "
                   "(phenotype name = file name without .sumstats.gz)")
    p.add_argument("--sannot-chr", required=True, nargs="+", help="per-chromosome .sannot.gz prefixes of the "
                   "annotations to test")
    p.add_argument("--background-sannot-chr", nargs="+", help="per-chromosome .sannot.gz prefixes of background "
                   "annotations")
    p.add_argument("--ldscores-chr", required=True, help="prefix of {chrom}.l2.ldscore.gz and {chrom}.l2.M_5_50")
    p.add_argument("--print-snps", type=Path, help="regression SNP IDs, one per line (default: panel SNPs with "
                   "MAF >= 5%%)")
    p.add_argument("--build", default="hg19", help="genome build of panel and blocks: hg19 (default), hg38, "
                   "simworld1 (sets the MHC left out)")
    p.add_argument("--alpha", type=float, nargs="+", default=[-1.0], help="MAF scaling per --sannot-chr set "
                   "(one value for all; -1: none)")
    p.add_argument("--background-alpha", type=float, nargs="+", default=[-1.0])
    p.add_argument("--weights", default="Winv_ahat_h", choices=("Winv_ahat_h", "Winv_ahat_I"))
    p.add_argument("--spectrum-percent", type=float, default=95.0)
    p.add_argument("--jk-blocks", type=int, default=300, help="number of jackknife chunks")
    p.add_argument("--seed", type=_nonneg_int, default=0, help="seed of the sign flips")
    p.add_argument("--n-draws", type=int, default=1_000_000, help="most sign flips per test")
    p.add_argument("--no-signflip", action="store_true", help="fast p-values only")
    p.add_argument("--chroms", nargs="+", help="chromosomes to analyse (default: all of the panel in blocks)")
    p.add_argument("--out", required=True, type=Path, help="output .gwresults TSV")
    p.add_argument("--chunks-out", type=Path, help="also write per-chunk q and r (TSV)")
    p.add_argument("--rv-out", help="also write sldp's {prefix}{chrom}.RV.gz and .info")
    p.add_argument("--blas-threads", type=int, default=1, help="BLAS threads per process (default 1)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=_nonneg_int, default=0, help="run on a local Dask cluster of N processes")
    g.add_argument("--scheduler", help="run on the Dask cluster at this scheduler address")
    p.set_defaults(runner=_sldp)
    return p


def get_parser(extra_commands=()) -> argparse.ArgumentParser:
    """The ``genostats`` parser.

    Parameters
    ----------
    extra_commands : sequence of (name, help, configure)
        Subcommands registered by other packages; ``configure(parser)`` adds arguments and sets
        ``runner``.
    """
    parser = argparse.ArgumentParser(prog="genostats", description="Statistical genetics on variant "
                                     "scores: LD, signed LD profiles, SLDP, LD-score regression, fine-mapping.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub.add_parser("ld-decay", help="mean r^2 by distance in a PLINK reference panel",
                       description="Mean r^2 between SNP pairs in distance bins, per chromosome.")
    p.add_argument("--bfile", required=True, type=Path, help="PLINK fileset prefix")
    p.add_argument("--out", required=True, type=Path, help="output TSV")
    p.add_argument("--max-pairs", type=int, default=2_000_000)
    p.add_argument("--seed", type=int, default=0, help="seed for subsampling pairs")
    p.set_defaults(runner=_ld_decay)
    add_sldp_parser(sub)
    for name, help_text, configure in extra_commands:
        configure(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv=None, *, extra_commands=()) -> int:
    args = get_parser(extra_commands).parse_args(argv)
    args.argv = ["genostats"] + list(argv) if argv is not None else list(sys.argv)
    clilog.configure(args.verbose)
    try:
        return args.runner(args)
    except (ValueError, KeyError, FileNotFoundError, FileExistsError) as err:
        if args.verbose > 1:
            raise
        # bad input: one line naming the file and record; a traceback would only hide it
        logger.error("%s", err.args[0] if isinstance(err, KeyError) and err.args else err)
        return 2


if __name__ == "__main__":
    sys.exit(main())
