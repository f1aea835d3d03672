"""Bad input to the SLDP pipeline: a clear error or a logged, counted exclusion, never a crash or a silent NaN."""
import gzip
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stats.io.sumstats import read_sumstats
from stats.sldp import run

FIX = Path(__file__).parents[1] / "fixtures" / "sldp_1.1.5"
COMP = dict(A="T", T="A", C="G", G="C")


def _opts(**kw):
    base = dict(bfile_chr=FIX / "refpanel" / "panel.", ld_blocks=FIX / "ldblocks.bed",
                sumstats={"planted": FIX / "sumstats" / "planted.sumstats.gz"},
                sannot_chr=str(FIX / "annot" / "A."), background_sannot_chr=str(FIX / "annot" / "BG."),
                ldscores_chr=str(FIX / "ldscores") + "/", print_snps=FIX / "print_snps.txt", chroms=["22"],
                jk_blocks=20, signflip=False, blas_threads=1)
    base.update(kw)
    return base


@pytest.fixture(scope="module")
def planted():
    return read_sumstats(FIX / "sumstats" / "planted.sumstats.gz")


@pytest.fixture(scope="module")
def baseline():
    return run(**_opts())


def _write_sannot(path: Path, df: pd.DataFrame) -> None:
    with gzip.open(path, "wt") as fh:
        df.to_csv(fh, sep="\t", index=False)


def test_run_is_deterministic(baseline):
    table = run(**_opts()).table
    pd.testing.assert_frame_equal(table, baseline.table)
    assert np.isfinite(table[["mu", "se(mu)", "z_fast"]].to_numpy()).all()


def _same_panel_numbers(x, y):
    """Profiles and eigen-decompositions of every chromosome equal bit for bit."""
    for a, b in zip(x.chromosomes.values(), y.chromosomes.values()):
        assert np.array_equal(a.rv, b.rv)
        for sa, sb in zip(a.svds, b.svds):
            assert (sa is None) == (sb is None)
            if sa is not None:
                assert np.array_equal(sa.u, sb.u) and np.array_equal(sa.s, sb.s)


def test_without_the_compiled_kernels_the_same_bytes(baseline, monkeypatch):
    """Without the compiled module (an install without a C compiler) blocks are read by bed-reader,
    standardized by numpy and their Gram matrices formed by BLAS: the numbers of the kernels exactly."""
    from stats.ld import bitplanes

    if not bitplanes.available():
        pytest.skip("the compiled kernel is not built: the baseline already took the plain route")
    monkeypatch.setattr(bitplanes, "_bitplanes", None)
    plain = run(**_opts())
    pd.testing.assert_frame_equal(plain.table, baseline.table, rtol=0, atol=0)
    _same_panel_numbers(plain, baseline)


def test_blocks_in_threads_identical(baseline):
    # every LD block of the panel decomposed by its own thread: the numbers of the one-thread run exactly
    threaded = run(**_opts(block_threads=3))
    pd.testing.assert_frame_equal(threaded.table, baseline.table, rtol=0, atol=0)
    _same_panel_numbers(threaded, baseline)
    with pytest.raises(ValueError, match="block_threads"):
        run(**_opts(block_threads=0))


def test_chromosomes_in_threads_identical():
    """--threads over several chromosomes runs them at once (a process-wide BLAS limit set once around
    them): the numbers of the one-thread run exactly, and the BLAS limit is restored afterwards."""
    from threadpoolctl import threadpool_info

    before = [p["num_threads"] for p in threadpool_info()]
    one = run(**_opts(chroms=None))
    two = run(**_opts(chroms=None, block_threads=2))
    assert len(one.chromosomes) >= 2
    pd.testing.assert_frame_equal(two.table, one.table, rtol=0, atol=0)
    assert list(two.chromosomes) == list(one.chromosomes)
    _same_panel_numbers(two, one)
    assert [p["num_threads"] for p in threadpool_info()] == before


def test_grid_split_identical(baseline):
    split = run(**_opts(annotation_batch=1, signflip=True, n_draws=200_000, seed=3))
    whole = run(**_opts(signflip=True, n_draws=200_000, seed=3))
    pd.testing.assert_frame_equal(split.table, whole.table, rtol=1e-12)
    assert np.array_equal(split.table.p.to_numpy(), whole.table.p.to_numpy())


def test_no_snp_in_common(planted):
    ss = planted.assign(SNP="x" + planted.SNP)
    with pytest.raises(ValueError, match="no SNP in common"):
        run(**_opts(sumstats={"t": ss}))


def test_alleles_that_match_nothing(planted):
    bim = pd.read_csv(FIX / "refpanel" / "panel.22.bim", sep="\t", header=None, names=["c", "SNP", "cm", "bp",
                                                                                      "a1", "a2"])
    ss = planted.merge(bim[["SNP", "a1", "a2"]], on="SNP")
    # (A1, complement of A2) of the panel: neither a match nor a swap nor a strand flip
    ss["A1"], ss["A2"] = ss.a1, [COMP.get(b, b) for b in ss.a2]
    ss = ss.drop(columns=["a1", "a2"])
    with pytest.raises(ValueError, match="no regression SNP keeps a Z.*matching nothing"):
        run(**_opts(sumstats={"t": ss}))


def test_strand_ambiguous_counted(baseline, caplog):
    c = baseline.phenotypes["planted"].counts["total"]
    assert c["ambiguous"] > 0 and c["mismatch"] > 0
    d = baseline.chromosomes["22"]
    with caplog.at_level(logging.INFO, logger="stats"):
        run(**_opts())
    assert any("strand-ambiguous" in r.getMessage() for r in caplog.records)
    assert c["typed"] < d.print_mask.sum()


def test_nonfinite_z_missing_n_duplicates_dropped(planted, baseline, caplog):
    ss = planted.copy()
    ss.loc[0, "Z"] = np.nan
    ss.loc[1, "Z"] = np.inf
    ss.loc[2, "N"] = np.nan
    ss = pd.concat([ss, ss.iloc[[5]]], ignore_index=True)
    with caplog.at_level(logging.WARNING):
        res = run(**_opts(sumstats={"t": ss}))
    msgs = " ".join(r.getMessage() for r in caplog.records)
    assert "missing or infinite Z" in msgs and "non-positive N" in msgs and "duplicated" in msgs
    assert np.isfinite(res.table[["mu", "se(mu)"]].to_numpy()).all()


@pytest.mark.parametrize("threads", [1, 2])
def test_missing_n_column_names_file(tmp_path, planted, threads):
    """With threads to spare the sumstats are read while the panel is processed: the reader's error
    still reaches the caller, naming the file."""
    f = tmp_path / "noN.sumstats.gz"
    planted.drop(columns="N").to_csv(f, sep="\t", index=False)
    with pytest.raises(ValueError, match="noN"):
        run(**_opts(sumstats=[f], block_threads=threads))


def test_duplicated_annotation_ids_name_file(tmp_path):
    df = pd.read_csv(FIX / "annot" / "A.22.sannot.gz", sep="\t")
    _write_sannot(tmp_path / "D.22.sannot.gz", pd.concat([df, df.iloc[[3]]]))
    with pytest.raises(ValueError, match=r"D\.22\.sannot\.gz.*duplicated"):
        run(**_opts(sannot_chr=str(tmp_path / "D.")))


def test_empty_block_and_zero_annotation_logged(tmp_path, caplog):
    df = pd.read_csv(FIX / "annot" / "A.22.sannot.gz", sep="\t").assign(ZERO=0.0)
    _write_sannot(tmp_path / "Z.22.sannot.gz", df)
    with caplog.at_level(logging.INFO):
        res = run(**_opts(sannot_chr=str(tmp_path / "Z.")))
    msgs = " ".join(r.getMessage() for r in caplog.records)
    assert "ZERO is zero on every panel SNP" in msgs
    assert "no regression SNPs" in msgs  # chr22's block without typed/print SNPs is counted
    row = res.table.set_index("annot").loc["ZERO.R"]
    assert np.isnan(row["mu"])
    assert np.isfinite(res.table.set_index("annot").loc["ANNOT1.R", "mu"])


def test_collinear_background(tmp_path):
    df = pd.read_csv(FIX / "annot" / "BG.22.sannot.gz", sep="\t")
    df["BG2"] = 2 * df["BG"]
    _write_sannot(tmp_path / "C.22.sannot.gz", df)
    with pytest.raises(ValueError, match="collinear"):
        run(**_opts(background_sannot_chr=str(tmp_path / "C.")))


def test_blocks_in_another_build(tmp_path):
    blocks = pd.read_csv(FIX / "ldblocks.bed", sep="\t", header=None)
    blocks[1] += 60_000_000
    blocks[2] += 60_000_000
    blocks.to_csv(tmp_path / "shifted.bed", sep="\t", header=False, index=False)
    with pytest.raises(ValueError, match="another genome build"):
        run(**_opts(ld_blocks=tmp_path / "shifted.bed"))
    blocks = pd.read_csv(FIX / "ldblocks.bed", sep="\t", header=None)
    blocks.loc[len(blocks)] = ["chr1", 248_000_000, 249_200_000]  # past hg38's chr1 end
    blocks.to_csv(tmp_path / "hg19.bed", sep="\t", header=False, index=False)
    with pytest.raises(ValueError, match="another genome build"):
        run(**_opts(ld_blocks=tmp_path / "hg19.bed", build="hg38"))


def test_rv_written_in_sldp_layout(tmp_path, baseline):
    run(**_opts(rv_out=str(tmp_path / "rv") + "/"))
    rv = pd.read_csv(tmp_path / "rv" / "22.RV.gz", sep="\t")
    assert list(rv.columns) == ["SNP", "A1", "A2", "BG", "ANNOT1", "ANNOT2", "BG.R", "ANNOT1.R", "ANNOT2.R"]
    d = baseline.chromosomes["22"]
    assert np.allclose(rv["ANNOT1.R"], d.rv[d.print_mask, 1], rtol=1e-12, atol=0)
    info = pd.read_csv(tmp_path / "rv" / "22.info", sep="\t", index_col=0)
    assert list(info.columns) == ["M", "M_5_50", "sqnorm", "sqnorm_5_50", "supp", "supp_5_50"]


def test_missing_panel_chromosome(tmp_path):
    for ext in ("bed", "bim", "fam"):
        shutil.copy(FIX / "refpanel" / f"panel.22.{ext}", tmp_path / f"p.22.{ext}")
    with pytest.raises(FileNotFoundError, match="chromosome 6"):
        run(**_opts(bfile_chr=str(tmp_path / "p."), chroms=["6"]))


@pytest.mark.parametrize("weights", ["Winv_ahat_I", "Winv_ahat_hlN", "Winv_ahat_h2"])
def test_every_weight_mode_finds_the_planted_annotation(weights):
    """sldp's other weight modes (its 1.1.5 pipeline runs only _h and _I): the planted ANNOT1 is found
    with the same sign as with the default weights, and the modes give different numbers."""
    opts = _opts(chroms=["1", "6", "22"])
    default = run(**opts).table.set_index("annot")
    other = run(**{**opts, "weights": weights}).table.set_index("annot")
    assert default.loc["ANNOT1.R", "z_fast"] > 2
    assert other.loc["ANNOT1.R", "z_fast"] > 2 and other.loc["ANNOT1.R", "mu"] > 0
    assert np.isfinite(other[["mu", "se(mu)"]].to_numpy()).all()
    assert not np.isclose(other.loc["ANNOT1.R", "mu"], default.loc["ANNOT1.R", "mu"], rtol=1e-6)


def test_duplicated_panel_ids_name_the_bim(tmp_path):
    """The panel's IDs are checked once, when its chromosome is read (every table is aligned to them)."""
    for ext in ("bed", "fam"):
        shutil.copy(FIX / "refpanel" / f"panel.22.{ext}", tmp_path / f"p.22.{ext}")
    bim = (FIX / "refpanel" / "panel.22.bim").read_text().splitlines()
    first = bim[0].split("\t")
    second = bim[1].split("\t")
    second[1] = first[1]
    bim[1] = "\t".join(second)
    (tmp_path / "p.22.bim").write_text("\n".join(bim) + "\n")
    with pytest.raises(ValueError, match=r"p\.22\.bim, chromosome 22, has 1 duplicated SNP IDs.*" + first[1]):
        run(**_opts(bfile_chr=str(tmp_path / "p.")))
