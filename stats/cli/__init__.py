"""``genostats``: the statistics half of the suite from the command line.

Parsers are built by functions (testable; ``--help`` needs no data or environment). Each subcommand
parses its arguments, calls its library function and writes the result: a folder of tables, figures
and ``provenance.json`` (:class:`genocore.outputs.OutputFolder`), or, where the product is one
standard file of the field (``.gwresults``, ``.l2.ldscore.gz``, ``.sannot.gz``), that file with its
provenance beside it. Commands that join the model and the statistics (``simulate-world``) are
registered by ``analyses.commands``, so this package never imports ``genomodel``.
"""
from __future__ import annotations

import argparse
import sys

from genocore import __version__, clilog
from stats.cli.data import add_data_parser
from stats.cli.eqtl import add_covreg_parser
from stats.cli.ld import add_ld_decay_parser, add_ldscore_parser
from stats.cli.liftover import add_liftover_parser
from stats.cli.methods import add_casecontrol_parser, add_classify_parser, add_clusters_parser, add_pics_parser
from stats.cli.munge import add_munge_parser
from stats.cli.sites import add_sites_parser
from stats.cli.sldp import add_sannot_parser, add_sldp_parser

COMMANDS = (add_ld_decay_parser, add_sldp_parser, add_sannot_parser, add_clusters_parser, add_classify_parser,
            add_casecontrol_parser, add_pics_parser, add_ldscore_parser, add_covreg_parser, add_munge_parser,
            add_data_parser, add_liftover_parser, add_sites_parser)


def get_parser(extra_commands=()) -> argparse.ArgumentParser:
    """The ``genostats`` parser.

    Parameters
    ----------
    extra_commands : sequence of (name, help, configure)
        Subcommands registered by other packages; ``configure(parser)`` adds arguments and sets
        ``runner``.
    """
    parser = argparse.ArgumentParser(prog="genostats", description="Statistical genetics on variant "
                                     "scores: LD, signed LD profiles, SLDP, LD-score regression, cluster comparison, "
                                     "classifiers, case-control tests, fine-mapping, eQTL covariate regression.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS:
        add(sub)
    for name, help_text, configure in extra_commands:
        configure(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv=None, *, extra_commands=()) -> int:
    args = get_parser(extra_commands).parse_args(argv)
    args.argv = ["genostats"] + list(argv) if argv is not None else list(sys.argv)
    clilog.configure(args.verbose)
    return clilog.run_command(args.runner, args, verbosity=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
