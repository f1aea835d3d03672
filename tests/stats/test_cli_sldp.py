"""``genostats sldp``: output, provenance, bad input (exit 2), and a real 2-process Dask cluster."""
import json
from pathlib import Path

import pandas as pd
import pytest

from stats import cli

FIX = Path(__file__).parent / "fixtures" / "sldp_1.1.5"


def _argv(out, *extra):
    return ["sldp", "--bfile-chr", str(FIX / "refpanel" / "panel."), "--ld-blocks", str(FIX / "ldblocks.bed"),
            "--sumstats", str(FIX / "sumstats" / "planted.sumstats.gz"), str(FIX / "sumstats" / "bgonly.sumstats.gz"),
            "--sannot-chr", str(FIX / "annot" / "A."), "--background-sannot-chr", str(FIX / "annot" / "BG."),
            "--ldscores-chr", str(FIX / "ldscores") + "/", "--print-snps", str(FIX / "print_snps.txt"),
            "--chroms", "1", "22", "--jk-blocks", "20", "--seed", "5", "--n-draws", "100000", "--out", str(out),
            *extra]


def test_parser_help_needs_nothing(capsys):
    with pytest.raises(SystemExit) as e:
        cli.get_parser().parse_args(["sldp", "--help"])
    assert e.value.code == 0
    assert "--scheduler" in capsys.readouterr().out


def test_sldp_in_process_and_on_local_cluster_agree(tmp_path):
    a, b = tmp_path / "a.gwresults", tmp_path / "b.gwresults"
    assert cli.main(_argv(a, "--chunks-out", str(tmp_path / "a.chunks.tsv"))) == 0
    assert cli.main(_argv(b, "--workers", "2")) == 0
    for n in (1, 4):  # other cluster sizes cut the grid otherwise: the same file
        assert cli.main(_argv(tmp_path / f"w{n}.gwresults", "--workers", str(n))) == 0
        assert (tmp_path / f"w{n}.gwresults").read_bytes() == b.read_bytes()
    assert a.read_bytes() == b.read_bytes()  # in-process and on the cluster: the same file
    ta, tb = pd.read_csv(a, sep="\t"), pd.read_csv(b, sep="\t")
    assert list(ta.columns) == ["pheno", "annot", "z", "p", "z_fast", "p_fast", "mu", "se(mu)", "h2g", "rf",
                                "h2v/h2g", "h2v", "supp(v)/M"]
    assert len(ta) == 4
    pd.testing.assert_frame_equal(ta, tb, rtol=1e-12)
    prov = json.loads(Path(str(a) + ".provenance.json").read_text())
    assert prov["genome_build"] == "hg19" and "sumstats_0" in prov["inputs"]
    ch = pd.read_csv(tmp_path / "a.chunks.tsv", sep="\t")
    assert set(ch.columns) >= {"pheno", "annot", "q", "r"}
    # the options the library takes reach the command line: h2g from .l2.M or from chromosome 1 only
    from stats import sldp

    for extra, kw in ((["--no-M-5-50"], {"m_suffix": ".l2.M"}), (["--ldscore-chroms", "1"], {"ldscore_chroms": ["1"]})):
        c = tmp_path / f"c{len(kw)}{extra[0]}.gwresults"
        assert cli.main(_argv(c, *extra)) == 0
        tc = pd.read_csv(c, sep="\t")
        assert not tc.h2g.equals(ta.h2g)
        lib = sldp.run(bfile_chr=str(FIX / "refpanel" / "panel."), ld_blocks=FIX / "ldblocks.bed",
                       sumstats=[FIX / "sumstats" / "planted.sumstats.gz", FIX / "sumstats" / "bgonly.sumstats.gz"],
                       sannot_chr=[str(FIX / "annot" / "A.")], background_sannot_chr=[str(FIX / "annot" / "BG.")],
                       ldscores_chr=str(FIX / "ldscores") + "/", print_snps=FIX / "print_snps.txt", chroms=["1", "22"],
                       jk_blocks=20, seed=5, n_draws=100000, blas_threads=1, **kw).table
        pd.testing.assert_frame_equal(tc, lib.reset_index(drop=True), check_exact=False, rtol=1e-6)


def test_bad_input_exits_2_naming_the_file(tmp_path, caplog):
    out = tmp_path / "x.gwresults"
    argv = _argv(out)
    argv[argv.index("--sumstats") + 1] = str(tmp_path / "missing.sumstats.gz")
    assert cli.main(argv) == 2
    assert "missing.sumstats.gz" in caplog.text
    assert not out.exists()
    bad = tmp_path / "bad.bed"
    bad.write_text("chr1\t10\tx\n")
    argv = _argv(out)
    argv[argv.index("--ld-blocks") + 1] = str(bad)
    assert cli.main(argv) == 2
    assert "bad.bed, line 1" in caplog.text


def _many_annotations(folder: Path, n: int = 40) -> str:
    """The fixture's SNPs with ``n`` random sparse signed annotations and the planted ANNOT1."""
    import numpy as np

    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    for c in ("1", "6", "22"):
        a = pd.read_csv(FIX / "annot" / f"A.{c}.sannot.gz", sep="\t")
        cols = {f"R{j}": np.round(rng.normal(size=len(a)) * (rng.random(len(a)) < 0.3), 4) for j in range(n)}
        t = pd.concat([a[["SNP", "A1", "A2"]], pd.DataFrame(cols, index=a.index), a[["ANNOT1"]]], axis=1)
        t.to_csv(folder / f"many.{c}.sannot.gz", sep="\t", index=False)
    return str(folder / "many.")


@pytest.mark.integration
def test_sldp_killed_mid_grid_resumes_to_the_same_results(tmp_path, caplog):
    """SIGKILL after a seeded number of finished grid cells; --resume reads them back and fits the rest:
    the .gwresults and chunk files equal an uninterrupted run's; other options are refused, named."""
    import numpy as np
    from _kill import kill_after

    annot = _many_annotations(tmp_path / "annot", n=255)  # with ANNOT1: 8 grid cells of 32 annotations

    def argv(out, *extra):
        base = _argv(out, "--chunks-out", str(out) + ".chunks.tsv", *extra)
        i = base.index("--sannot-chr")
        base[i + 1] = annot
        del base[base.index("--background-sannot-chr"):base.index("--background-sannot-chr") + 2]
        return base

    out = tmp_path / "killed.gwresults"
    parts = Path(str(out) + ".parts")
    k = int(np.random.default_rng(7).integers(2, 7))
    n_done = kill_after("genostats", argv(out), lambda: len(list(parts.glob("cell_*.done"))), k)
    assert k <= n_done < 8 and not out.exists()
    assert cli.main(argv(out, "--seed", "6", "--resume")) == 2 and "seed: 5 then, 6 now" in caplog.text
    assert cli.main(argv(out, "--resume")) == 0
    assert "read back" in caplog.text and not parts.exists()
    whole = tmp_path / "whole.gwresults"
    assert cli.main(argv(whole)) == 0
    assert out.read_bytes() == whole.read_bytes()
    assert Path(str(out) + ".chunks.tsv").read_bytes() == Path(str(whole) + ".chunks.tsv").read_bytes()
    assert len(pd.read_csv(whole, sep="\t")) == 2 * 256
