"""What every ``genostats`` subcommand shares: argument types, the recorded config, error context."""
from __future__ import annotations

import argparse
from pathlib import Path

from genocore.outputs import write_beside


def nonneg_int(text: str) -> int:
    v = int(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
    return v


def pos_int(text: str) -> int:
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def pos_float(text: str) -> float:
    v = float(text)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {v}")
    return v


def unit_interval(text: str) -> float:
    v = float(text)
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {v}")
    return v


def r2_threshold(text: str) -> float:
    v = float(text)
    if not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {v}")
    return v


def name_path(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, Path(path)


def add_out_folder(p: argparse.ArgumentParser) -> None:
    """``--out DIR`` and ``--force``: the one output convention (a folder with provenance.json)."""
    p.add_argument("--out", required=True, type=Path, help="output folder (must not exist unless --force); "
                   "holds the tables, figures and provenance.json")
    p.add_argument("--force", action="store_true", help="replace an existing --out folder")


def add_dask(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=nonneg_int, default=0, help="run on a local Dask cluster of N processes")
    g.add_argument("--scheduler", help="run on the Dask cluster at this scheduler address")


def dask_client(args):
    """A dask.distributed Client for --scheduler / --workers, else None (run in-process)."""
    from genocore.dask_client import dask_client as client

    return client(scheduler=args.scheduler, workers=args.workers)


def close_client(client) -> None:
    if client is not None:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()


def config(args) -> dict:
    """The parsed options as JSON-ready values (the provenance's ``config``)."""
    return {k: ([str(x) for x in v] if isinstance(v, (list, tuple)) else str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items() if k not in ("runner", "argv")}


def write_folder(result, args, *, inputs: dict, genome_build: str | None = None) -> dict:
    """Write a command's :class:`genocore.outputs.OutputFolder` to ``--out`` with its provenance."""
    return result.write(args.out, command=args.argv, config=config(args), genome_build=genome_build,
                        inputs={k: v for k, v in inputs.items() if v is not None}, overwrite=args.force)


def provenance_beside(product, args, *, inputs: dict, outputs: dict | None = None,
                      genome_build: str | None = None, extra: dict | None = None):
    """Provenance of a command whose product is one standard file of the field."""
    return write_beside(product, command=args.argv, config=config(args), genome_build=genome_build,
                        inputs={k: v for k, v in inputs.items() if v is not None}, outputs=outputs, extra=extra)


class Context:
    """Re-raise a library ValueError/KeyError with the inputs it concerns named first (unless the
    message already names them)."""

    def __init__(self, what: str):
        self.what = what

    def __enter__(self):
        return self

    def __exit__(self, kind, err, tb):
        if kind is not None and issubclass(kind, (ValueError, KeyError)) and err.args:
            base = KeyError if issubclass(kind, KeyError) else ValueError
            raise base(f"{self.what}: {err.args[0]}") from err
        return False
