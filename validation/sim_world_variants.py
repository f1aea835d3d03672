"""Variant scores of a model trained on the simulated world against the world's planted effects.

    python validation/sim_world_variants.py --out DIR [--world DIR] [--chromosomes 4]
        [--chromosome-length 8000000] [--minutes 20] [--seed 1]

Builds a world (or reuses ``--world``; the default world is 2 x 4 Mb, here more and longer chromosomes
give the model more sequence to learn motifs from), trains ``sim_small`` for a bounded time with the
last chromosome held out (resumed when ``DIR/model`` holds a run), scores every simulated SNP on the
held-out chromosome (SAD, and SED for SNP-gene pairs with the TSS in the predicted window; reverse
complement averaged) and prints the Spearman correlation with the true effects: on all SNPs with a
nonzero true effect and on the strongest tenth, with the share of matching signs.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--world", type=Path, help="an existing world (default: build one under --out)")
    parser.add_argument("--chromosomes", type=int, default=4)
    parser.add_argument("--chromosome-length", type=int, default=8_000_000)
    parser.add_argument("--minutes", type=float, default=20.0, help="training time budget")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    from genocore import clilog

    clilog.configure(0)
    from analyses import sim_model, sim_variants, world

    t0 = time.perf_counter()
    wdir = args.world or args.out / "world"
    if not (wdir / "provenance.json").exists():
        cfg = world.world_config("default", {"genome": {"n_chromosomes": args.chromosomes,
                                                        "chromosome_length": args.chromosome_length}})
        world.build_world(wdir, seed=args.seed, cfg=cfg, command="benchmark")
    t_world = time.perf_counter() - t0
    res = sim_model.run(wdir, args.out / "model", minutes=args.minutes)
    summ = res["summary"]
    t1 = time.perf_counter()
    var = sim_variants.run(wdir, args.out / "model" / "run" / "model", args.out / "model" / "data", args.out / "variants")
    t_var = time.perf_counter() - t1
    print(f"command: {' '.join(sys.argv)}")
    print(f"world {wdir} ({t_world:.0f} s); training {summ['seconds_train']:.0f} s, {summ['epochs']} epochs "
          f"(best {summ['best_epoch']}); held-out track R(model, truth) by assay: "
          + ", ".join(f"{a} {d['r_model_truth']:.3f}" for a, d in summ["by_assay"].items()))
    vs = var["summary"]
    print(f"scored {vs['n_snps']} SNPs on {', '.join(vs['chroms'])} and {vs['n_sed_pairs']} SNP-gene pairs "
          f"in {t_var:.0f} s")
    fmt = {"float_format": lambda x: f"{x:.3f}", "index": False}
    cols = ["track", "n_nonzero", "rho_nonzero", "n_strong", "rho_strong", "sign_agreement_strong"]
    print("\nSAD vs true change of the track (Spearman):")
    print(var["sad"][cols].to_string(**fmt))
    print("\nSED vs true change of the gene's CAGE (Spearman, SNP-gene pairs):")
    print(var["sed"][cols].to_string(**fmt))
    print("\nmeans:", vs["sad_by_assay"], "SED:", vs["sed_cage"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
