"""Every paper analysis on the simulated world, from the model's predictions, with the truth beside.

``python -m analyses.run_all --out demo_output [--seed 1] [--epochs N] [--only NAME ...]``:

1. the world (``OUT/world``; reused when complete),
2. the sequence model trained on it for a budget of epochs (``OUT/model``; reused when trained),
3. every analysis module's ``--demo`` (each scores what it needs with that model, into ``OUT/scores``,
   reused across analyses), its output folder under ``OUT/analyses/<name>/``,
4. ``OUT/analyses/report.md``: each analysis's report and figures, from predictions and from the truth.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
from pathlib import Path

from genocore import clilog
from genocore.files import write_text

logger = logging.getLogger(__name__)

#: The demo's training budget in epochs: ``make demo`` (world, model, scoring and every analysis) fits in
#: 10 minutes on 2 cores with it, and an epoch budget does not move with the machine's load as time would.
DEMO_EPOCHS = 8

#: The analysis modules, in the order of the report.
MODULES = ("eqtl_enrichment", "gtex_sldp", "ms_locus", "autism_denovo", "gwas_classifier", "expression_clusters")


def ensure_model(out: Path, *, epochs: int) -> Path:
    """The trained model of the world at ``out/world`` (``out/model/run/model``), trained when absent."""
    from analyses import sim_model

    model = out / "model" / "run" / "model"
    if not (model / "model.weights.h5").exists():
        sim_model.run(out / "world", out / "model", minutes=None, epochs=epochs)
    return model


def run_analyses(out: Path, *, names=MODULES, force: bool = True) -> dict[str, Path]:
    """Run each analysis's demo configuration; returns the output folder of each."""
    from analyses.framework import execute

    world = out / "world"
    folders = {}
    for name in names:
        module = importlib.import_module(f"analyses.{name}")
        t0 = time.perf_counter()
        cfg = module.ANALYSIS.demo(world, out / "scores")
        folder = out / "analyses" / name
        execute(module.ANALYSIS, cfg, folder, command=["python", "-m", "analyses.run_all", "--out", str(out)],
                force=force)
        logger.info("%s: %.0f s", name, time.perf_counter() - t0)
        folders[name] = folder
    return folders


def collate_sections(folders: dict[str, Path], *, relative_to: Path, level: int = 2) -> str:
    """Each analysis's own ``report.md`` as a section headed at ``level`` (its own headings pushed below), its
    figure links made relative to ``relative_to``."""
    parts = []
    for name, folder in folders.items():
        paper = importlib.import_module(f"analyses.{name}").ANALYSIS.paper
        text = (folder / "report.md").read_text() if (folder / "report.md").exists() else "(no report)\n"
        # every figure of the analysis is shown, also those its own report only lists
        text += "".join(f"\n![{png.stem}]({png.name})\n" for png in sorted(Path(folder).glob("*.png"))
                        if f"]({png.name})" not in text)
        text += f"\nThe paper: {paper}.\n" if paper else ""
        rel = Path(folder).relative_to(relative_to).as_posix()
        text = text.replace("](", f"]({rel}/").replace(f"]({rel}/http", "](http")
        text = "\n".join("#" * level + line if line.startswith("#") else line for line in text.splitlines())
        parts.append(f"{'#' * level} {name}\n\n{text}\n")
    return "\n".join(parts)


def collate(out: Path, folders: dict[str, Path]) -> Path:
    """One markdown report of every analysis (their own report.md, figure links made relative)."""
    head = ("# The papers' analyses on the simulated world, from the model's predictions\n\n"
            "Each section is the analysis module's own report (`analyses/<name>/report.md`); its results "
            "table, figures and provenance are beside it. The truth rows run the same analysis on the planted "
            "effects: the ceiling a perfect model would reach.\n\n")
    return write_text(out / "analyses" / "report.md", head + collate_sections(folders, relative_to=out / "analyses"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyses.run_all", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("demo_output"))
    parser.add_argument("--seed", type=int, default=1, help="seed of the world")
    parser.add_argument("--epochs", type=int, default=DEMO_EPOCHS, help="training budget of the model, in epochs")
    parser.add_argument("--only", nargs="+", choices=MODULES, help="run only these analyses")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    args = parser.parse_args(argv)
    clilog.configure(args.verbose)

    def runner(a):
        from analyses.framework import demo_world

        demo_world(a.out / "world", seed=a.seed)
        ensure_model(a.out, epochs=a.epochs)
        collate(a.out, run_analyses(a.out, names=a.only or MODULES))
        return 0

    return clilog.run_command(runner, args, verbosity=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
