"""Held-out accuracy of a small model on the simulated world, against the simulated truth.

    python validation/sim_world_accuracy.py [--world DIR] [--out DIR] [--minutes 10] [--seed 1]

Builds the default world (or reuses ``--world``), makes records with the last chromosome held out,
trains the shipped ``sim_small`` model for a bounded time, and prints per-track Pearson R on the
held-out chromosome: model vs noiseless truth, model vs observed, and observed vs truth (the noise
ceiling), with the ratio of the model's R to the ceiling. Writes ``accuracy.tsv`` and ``summary.json``.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--world", type=Path, help="an existing world (default: build one under --out)")
    parser.add_argument("--out", type=Path, help="output folder (default: a temporary folder)")
    parser.add_argument("--minutes", type=float, default=10.0, help="training time budget")
    parser.add_argument("--seed", type=int, default=1, help="world seed when building one")
    parser.add_argument("--params", default="sim_small")
    args = parser.parse_args(argv)

    from genocore import clilog

    clilog.configure(0)
    from analyses import sim_model, world

    out = args.out or Path(tempfile.mkdtemp(prefix="sim_world_accuracy."))
    wdir = args.world
    t0 = time.perf_counter()
    if wdir is None:
        wdir = out / "world"
        if not (wdir / "provenance.json").exists():
            world.build_world(wdir, seed=args.seed, cfg=world.world_config("default"), command="benchmark")
    t_world = time.perf_counter() - t0
    res = sim_model.run(wdir, out / "model", minutes=args.minutes, params=args.params)
    table, summ = res["table"], res["summary"]
    table["ratio_to_ceiling"] = table.r_model_truth / table.r_observed_truth
    print(f"command: {' '.join(sys.argv)}")
    print(f"world: {wdir} ({t_world:.0f} s); records {summ['seconds_data']:.0f} s; training {summ['seconds_train']:.0f} s, "
          f"{summ['epochs']} epochs (best {summ['best_epoch']}), budget {args.minutes:g} min; "
          f"{summ['test_windows']} held-out windows")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    by = table.groupby("assay")[["r_model_truth", "r_model_observed", "r_observed_truth", "ratio_to_ceiling"]].mean()
    print("\nmean by assay:")
    print(by.to_string(float_format=lambda v: f"{v:.3f}"))
    (out / "model" / "benchmark.json").write_text(json.dumps({"by_assay": by.round(4).to_dict(orient="index"),
                                                              **summ}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
