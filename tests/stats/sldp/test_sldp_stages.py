"""The public stages of the SLDP pipeline, each on its own, on a small world written by the test.

The world: a reference panel of 80 individuals on chromosomes 1 and 2 (PLINK, one fileset per
chromosome), three LD blocks per chromosome plus a chr3 block without data, one SNP outside every
block, strand-ambiguous SNPs, annotation files presenting some SNPs with swapped alleles, and two
phenotypes' sumstats. Each stage is checked against the obvious computation it stands for.
"""
import logging
import pickle
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from genocore.files import write_table
from stats.io import plink
from stats.io.panel import ReferencePanel
from stats.io.plink import write_bfile
from stats.ld.signed_profile import annotation_info, signed_ld_profile, sldp_block_ranges, standardize_genotypes
from stats.sldp import SldpOptions, SldpResult, run
from stats.sldp import pipeline as sp
from stats.sldp.regression import BlockProducts, fit_blocks, ld2_svd, ld_svd

N_REF = 80
CHROMS = ("1", "2")
BLOCKS = [(c, s, s + 100_000) for c in CHROMS for s in (0, 100_000, 200_000)] + [("3", 0, 100_000)]
SNPS_PER_BLOCK = 14
PAIRS = ["AC", "AG", "CA", "CT", "GA", "GT", "TC", "TG"]
COMP = dict(A="T", T="A", C="G", G="C")


def _genotypes(rng, m):
    lat = rng.normal(size=(2 * N_REF, m))
    for j in range(1, m):
        lat[:, j] = 0.8 * lat[:, j - 1] + 0.6 * lat[:, j]
    hap = (lat > rng.normal(0.3, 0.5, m)).astype(np.int8)
    return hap[:N_REF] + hap[N_REF:]


def _swap(df, rows, value_cols):
    df = df.copy()
    df.loc[rows, ["A1", "A2"]] = df.loc[rows, ["A2", "A1"]].to_numpy()
    for c in value_cols:
        df.loc[rows, c] = -df.loc[rows, c]
    return df


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Write the panel, blocks, annotations, LD scores and sumstats; return paths and the truth."""
    root = tmp_path_factory.mktemp("sldp_world")
    rng = np.random.default_rng(2024)
    write_table(root / "blocks.bed", pd.DataFrame([(f"chr{c}", s, e) for c, s, e in BLOCKS]), header=False)
    truth, sumstats = {}, []
    for c in CHROMS:
        pos = np.concatenate([np.sort(rng.choice(np.arange(s + 1, e), SNPS_PER_BLOCK, replace=False))
                              for cc, s, e in BLOCKS if cc == c] + [[350_000]])   # the last SNP: outside blocks
        m = len(pos)
        g = np.concatenate([_genotypes(rng, SNPS_PER_BLOCK) for _ in range(3)] + [_genotypes(rng, 1)], axis=1)
        pairs = rng.choice(PAIRS, m)
        pairs[[2, 20]] = ["AT", "CG"]                                              # strand-ambiguous
        snp = [f"rs{c}_{i:03d}" for i in range(m)]
        a1, a2 = [p[0] for p in pairs], [p[1] for p in pairs]
        write_bfile(root / f"panel.{c}", g, iid=[f"i{i}" for i in range(N_REF)], chrom=[c] * m, sid=snp,
                    cm=np.zeros(m), bp=pos, allele_1=a1, allele_2=a2)
        ann = pd.DataFrame({"SNP": snp, "A1": a1, "A2": a2, "ANN1": rng.normal(size=m),
                            "ANN2": np.where(rng.random(m) < 0.4, rng.normal(size=m), 0.0)})
        write_table(root / f"A.{c}.sannot.gz", _swap(ann, [0, 5, 30], ["ANN1", "ANN2"]).drop(index=[7]))
        bg = pd.DataFrame({"SNP": snp, "A1": a1, "A2": a2, "BG": 0.5 + rng.random(m)})
        write_table(root / f"B.{c}.sannot.gz", _swap(bg, [3], ["BG"]))
        write_table(root / f"{c}.l2.ldscore.gz", pd.DataFrame({"CHR": c, "SNP": snp, "BP": pos,
                                                               "L2": 1 + rng.random(m) * 5}))
        (root / f"{c}.l2.M_5_50").write_text(f"{m}\n")
        z = rng.normal(size=(m, 2)) + 0.5 * ann[["ANN1"]].to_numpy()
        sumstats.append(pd.DataFrame({"SNP": snp, "A1": a1, "A2": a2, "N": 5000.0, "Z1": z[:, 0], "Z2": z[:, 1]}))
        truth[c] = dict(g=g, pos=pos, snp=snp, a1=a1, a2=a2, ann=ann, bg=bg)
    ss = pd.concat(sumstats, ignore_index=True)
    ss = _swap(ss, [1, 4], ["Z1", "Z2"])
    phen = {"t1": ss.rename(columns={"Z1": "Z"}).drop(columns="Z2"),
            "t2": ss.rename(columns={"Z2": "Z"}).drop(columns="Z1").iloc[5:]}
    return dict(root=root, truth=truth, sumstats=phen, panel=str(root / "panel."), blocks=root / "blocks.bed",
                annotations=[(str(root / "B."), -1.0), (str(root / "A."), -1.0)])


@pytest.fixture(scope="module")
def blocks(world):
    return sp.sldp_blocks(world["blocks"], build="simworld1")


@pytest.fixture(scope="module")
def chromosomes(world, blocks):
    panel = ReferencePanel(world["panel"])
    files = sp.panel_files(panel, blocks, build="simworld1")
    return sp.preprocess_panel(panel, blocks, chroms=list(files), annotations=world["annotations"], blas_threads=1)


@pytest.fixture
def parses(monkeypatch):
    """Count every parse of a .bim / .fam (by path), whoever asks for it."""
    counts = Counter()

    def counting(reader, ext):
        def read(prefix, *a, **k):
            counts[plink.bfile_prefix(prefix).name + ext] += 1
            return reader(prefix, *a, **k)
        return read

    monkeypatch.setattr(plink, "read_bim", counting(plink.read_bim, ".bim"))
    monkeypatch.setattr(plink, "read_fam", counting(plink.read_fam, ".fam"))
    return counts


def _assert_same_chromosomes(got, want):
    assert [d.chrom for d in got] == [d.chrom for d in want]
    for g, w in zip(got, want):
        pd.testing.assert_frame_equal(g.snps, w.snps, check_exact=True)
        pd.testing.assert_frame_equal(g.info, w.info, check_exact=True)
        for f in ("maf", "print_mask", "block_index", "begin", "end", "v", "rv"):
            assert np.array_equal(getattr(g, f), getattr(w, f)), (g.chrom, f)
        assert g.names == w.names and g.counts == w.counts
        for sg, sw in zip(g.svds, w.svds, strict=True):
            assert (sg is None) == (sw is None)
            if sg is not None:
                assert np.array_equal(sg.s, sw.s) and np.array_equal(sg.u, sw.u)


@pytest.fixture(scope="module")
def phenotypes(world, chromosomes):
    return sp.prepare_phenotypes(world["sumstats"], chromosomes=chromosomes, ldscores_chr=str(world["root"]) + "/")


# -- options and inputs ----------------------------------------------------------------------------------

def test_options_are_frozen_and_checked():
    o = SldpOptions(bfile_chr="p.", ld_blocks="b.bed", sumstats="s.gz", sannot_chr="a.", ldscores_chr="l/")
    assert o.weights == "Winv_ahat_h" and o.jk_blocks == 300 and o.background_sannot_chr == ()
    with pytest.raises(AttributeError):
        o.jk_blocks = 10
    with pytest.raises(ValueError, match="weights must be one of"):
        SldpOptions(bfile_chr="p.", ld_blocks="b.bed", sumstats="s.gz", sannot_chr="a.", ldscores_chr="l/",
                    weights="Winv")
    with pytest.raises(TypeError):
        SldpOptions(bfile_chr="p.", ld_blocks="b.bed", sumstats="s.gz", sannot_chr="a.", ldscores_chr="l/", jk=3)


def test_run_takes_options_or_keywords(world):
    kw = dict(bfile_chr=world["panel"], ld_blocks=world["blocks"], sumstats=world["sumstats"],
              sannot_chr=str(world["root"] / "A."), background_sannot_chr=str(world["root"] / "B."),
              ldscores_chr=str(world["root"]) + "/", build="simworld1", jk_blocks=4, signflip=False, blas_threads=1)
    by_keywords = run(**kw)
    assert isinstance(by_keywords, SldpResult)
    by_options = run(SldpOptions(**kw))
    pd.testing.assert_frame_equal(by_keywords.table, by_options.table, check_exact=True)
    overridden = run(SldpOptions(**{**kw, "jk_blocks": 300}), jk_blocks=4)
    pd.testing.assert_frame_equal(by_keywords.table, overridden.table, check_exact=True)
    assert list(by_keywords.table.annot) == ["ANN1.R", "ANN2.R"] * 2


def _run_kw(world):
    return dict(ld_blocks=world["blocks"], sumstats=world["sumstats"], sannot_chr=str(world["root"] / "A."),
                background_sannot_chr=str(world["root"] / "B."), ldscores_chr=str(world["root"]) + "/",
                build="simworld1", jk_blocks=4, signflip=False, blas_threads=1)


def test_run_parses_each_bim_and_fam_once(world, parses):
    by_path = run(bfile_chr=world["panel"], **_run_kw(world))
    assert dict(parses) == {f"panel.{c}{ext}": 1 for c in CHROMS for ext in (".bim", ".fam")}
    panel = ReferencePanel(world["panel"])
    by_panel = run(bfile_chr=panel, **_run_kw(world))
    again = run(bfile_chr=panel, **_run_kw(world), chroms=["2"])   # the same panel again: nothing parsed
    assert dict(parses) == {f"panel.{c}{ext}": 2 for c in CHROMS for ext in (".bim", ".fam")}
    assert len(panel.parse_counts) == 4 and set(panel.parse_counts.values()) == {1}
    pd.testing.assert_frame_equal(by_panel.table, by_path.table, check_exact=True)
    assert list(again.chromosomes) == ["2"]


def test_annotation_files_background_first():
    files, nb = sp.annotation_files(["a.", "m."], background="bg.", alpha=[-1, 0], background_alpha=0.5)
    assert files == [("bg.", 0.5), ("a.", -1.0), ("m.", 0.0)] and nb == 1
    files, nb = sp.annotation_files("a.", alpha=[0])
    assert files == [("a.", 0.0)] and nb == 0
    with pytest.raises(ValueError, match="no annotations to test"):
        sp.annotation_files([], background="bg.")
    with pytest.raises(ValueError, match="3 alpha values for 2"):
        sp.annotation_files(["a.", "m."], alpha=[0, 1, 2])


def test_read_print_snps(tmp_path):
    assert sp.read_print_snps(None) is None
    (tmp_path / "p.txt").write_text("rs1\nrs2\nrs1\n")
    assert list(sp.read_print_snps(tmp_path / "p.txt")) == ["rs1", "rs2"]
    assert list(sp.read_print_snps({"rs3"})) == ["rs3"]
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError):
        sp.read_print_snps(tmp_path / "empty.txt")


def test_sldp_blocks_drop_the_mhc_whole(tmp_path):
    bed = pd.DataFrame({"chrom": ["6", "6", "6", "7"], "start": [20_000_000, 25_000_000, 36_000_000, 25_000_000],
                        "end": [25_000_000, 26_000_000, 37_000_000, 26_000_000]})
    hg19 = sp.sldp_blocks(bed, build="hg19")
    assert list(hg19.bed_row) == [0, 2, 3] and list(hg19.index) == [0, 1, 2]
    assert list(sp.sldp_blocks(bed, build="simworld1").bed_row) == [0, 1, 2, 3]


def test_panel_files_follow_the_blocks(world, blocks):
    files = sp.panel_files(world["panel"], blocks, build="simworld1")
    assert list(files) == ["1", "2"]
    only2 = sp.panel_files(world["panel"], blocks, chroms=["2"], build="simworld1")
    assert list(only2) == ["2"]
    with pytest.raises(ValueError, match="cover none of the panel's chromosomes"):
        sp.panel_files(world["panel"], blocks[blocks.chrom == "3"], build="simworld1")
    shifted = blocks.assign(start=blocks.start + 10_000_000, end=blocks.end + 10_000_000)
    with pytest.raises(ValueError, match="another genome build"):
        sp.panel_files(world["panel"], shifted, build="simworld1")


# -- reference panel -----------------------------------------------------------------------------------------

def test_panel_snps_and_maf(world):
    t = world["truth"]["2"]
    ps = sp.panel_snps(world["panel"] + "2", "chr2")
    assert ps.chrom == "2" and list(ps.snps.columns) == ["SNP", "A1", "A2", "BP"]
    assert list(ps.snps.SNP) == t["snp"] and np.array_equal(ps.cols, np.arange(len(t["snp"])))
    assert (ps.n_individuals, ps.n_fileset_snps) == (N_REF, len(t["snp"]))
    with ps.open() as bed:
        maf = sp.panel_maf(bed, ps.cols, batch=5)
    f = t["g"].sum(axis=0) / (2 * N_REF)
    np.testing.assert_array_equal(maf, np.minimum(f, 1 - f))
    with pytest.raises(ValueError, match="no SNPs on chromosome 5"):
        sp.panel_snps(world["panel"] + "2", "5")


def test_panel_snps_of_a_reference_panel(world):
    panel = ReferencePanel(world["panel"])
    ps = sp.panel_snps(panel, "2")
    alone = sp.panel_snps(world["panel"] + "2", "2")
    assert ps.panel is panel and ps.prefix == alone.prefix
    pd.testing.assert_frame_equal(ps.snps, alone.snps, check_exact=True)
    assert np.array_equal(ps.cols, alone.cols)
    with ps.open() as bed:
        np.testing.assert_array_equal(panel.maf("2"), sp.panel_maf(bed, ps.cols))   # bit for bit
    with pytest.raises(FileNotFoundError, match="5"):
        sp.panel_snps(panel, "5")


def test_panel_snps_unsorted(tmp_path):
    write_bfile(tmp_path / "u", np.zeros((4, 3), np.int8), iid=list("abcd"), chrom=["1"] * 3, sid=["x", "y", "z"],
                cm=np.zeros(3), bp=[10, 30, 20], allele_1=list("AAA"), allele_2=list("CCC"))
    with pytest.raises(ValueError, match="not sorted"):
        sp.panel_snps(tmp_path / "u", "1")


def test_panel_maf_with_missing_genotypes(tmp_path):
    g = np.array([[0, 2, 1], [1, 2, -127], [2, 2, -127], [-127, 2, -127]], np.int8)
    write_bfile(tmp_path / "m", g, iid=list("abcd"), chrom=["1"] * 3, sid=["x", "y", "z"], cm=np.zeros(3),
                bp=[10, 20, 30], allele_1=list("AAA"), allele_2=list("CCC"))
    with sp.panel_snps(tmp_path / "m", "1").open() as bed:
        maf = sp.panel_maf(bed, np.arange(3))
    np.testing.assert_allclose(maf, [0.5, 0.0, 0.5])


def test_reconcile_annotations(world):
    t = world["truth"]["1"]
    ps = sp.panel_snps(world["panel"] + "1", "1")
    maf = np.full(len(t["snp"]), 0.2)
    v, names, counts = sp.reconcile_annotations(ps.snps, [(str(world["root"] / "B."), 0.0),
                                                          (str(world["root"] / "A."), -1.0)], chrom="1", maf=maf)
    assert names == ["BG", "ANN1", "ANN2"] and counts["names_per_file"] == [1, 2]
    want = t["ann"][["ANN1", "ANN2"]].to_numpy().copy()
    want[[2, 20, 7]] = 0.0                               # strand-ambiguous, and the SNP missing from the file
    np.testing.assert_array_equal(v[:, 1:], want)        # swapped rows come back with their sign
    bg = t["bg"]["BG"].to_numpy() * np.sqrt(2 * 0.2 * 0.8)
    bg[[2, 20]] = 0.0
    np.testing.assert_allclose(v[:, 0], bg, rtol=1e-15)
    assert any(k.startswith("annotation ") for k in counts)
    with pytest.raises(ValueError, match="repeated across .sannot files"):
        sp.reconcile_annotations(ps.snps, [(str(world["root"] / "A."), -1.0)] * 2, chrom="1", maf=maf)


@pytest.mark.parametrize("weights", ["Winv_ahat_h", "Winv_ahat_h2"])
def test_block_svds_and_profiles_match_the_direct_computation(world, weights):
    t = world["truth"]["1"]
    ps = sp.panel_snps(world["panel"] + "1", "1")
    m = len(t["snp"])
    v = np.column_stack([t["ann"]["ANN1"].to_numpy(), np.zeros(m)])
    v[SNPS_PER_BLOCK:2 * SNPS_PER_BLOCK] = 0.0           # block 1: every annotation zero
    print_mask = np.ones(m, bool)
    print_mask[2 * SNPS_PER_BLOCK:] = False              # block 2: no print SNP
    print_mask[[0, 3]] = False
    begin, end = sldp_block_ranges(t["pos"], np.array([0, 100_000, 200_000]), np.array([100_000, 200_000, 300_000]))
    with ps.open() as bed:
        svds, rv, counts = sp.block_svds_and_profiles(bed, ps.cols, v, print_mask=print_mask, begin=begin, end=end,
                                                      weights=weights)
    assert counts == {"blocks_without_print_snps": 1, "blocks_all_zero": 1}
    assert svds[2] is None and np.all(rv[2 * SNPS_PER_BLOCK:] == 0) and np.all(rv[~print_mask] == 0)
    for b in (0, 1):
        sl = slice(begin[b], end[b])
        x = standardize_genotypes(t["g"][:, sl].astype(np.float64))
        pm = print_mask[sl]
        want = ld2_svd(x[:, pm], x) if weights == "Winv_ahat_h2" else ld_svd(x[:, pm])
        # to rounding only: the .bed is read in another memory order, which changes BLAS's summation order
        np.testing.assert_allclose(svds[b].s, want.s, rtol=1e-12)
        np.testing.assert_allclose((svds[b].u * svds[b].s) @ svds[b].u.T, (want.u * want.s) @ want.u.T, rtol=1e-10,
                                   atol=1e-12)
        if b == 0:
            np.testing.assert_allclose(rv[sl][pm], signed_ld_profile(x, v[sl], rows=pm), rtol=1e-12, atol=1e-14)
    assert np.all(rv[SNPS_PER_BLOCK:2 * SNPS_PER_BLOCK] == 0)


@pytest.mark.parametrize("missing", [False, True])
def test_block_svds_and_profiles_merge_identical_snps(tmp_path, missing):
    """A block where most SNPs copy another (as in a coalescent panel): merged, standardized and profiled
    once, the numbers of the direct computation on every SNP, with the panel's counts or without."""
    rng = np.random.default_rng(12 + missing)
    n, m_distinct, m = 120, 60, 200
    haps = (rng.standard_normal((25, m_distinct)).cumsum(axis=1) > 0).astype(np.int8)
    base = haps[rng.integers(0, 25, n)] + haps[rng.integers(0, 25, n)]
    dos = base[:, rng.integers(0, m_distinct, m)]               # 200 SNPs, at most 60 distinct
    if missing:
        dos[rng.random(dos.shape) < 0.01] = -127
    write_bfile(tmp_path / "dup", dos, iid=[f"i{k}" for k in range(n)], chrom=["1"] * m,
                sid=[f"rs{j}" for j in range(m)], cm=np.zeros(m), bp=np.arange(1, m + 1) * 10,
                allele_1=["A"] * m, allele_2=["G"] * m)
    panel = ReferencePanel(tmp_path / "dup")
    ps = sp.panel_snps(panel, "1")
    v = rng.standard_normal((m, 3)) * (rng.random((m, 1)) < 0.6)
    print_mask = rng.random(m) < 0.7
    begin, end = np.array([0, 90]), np.array([90, m])
    x_all = standardize_genotypes(np.where(dos == -127, np.nan, dos.astype(np.float64)))
    for counts in (None, panel.genotype_counts("1")):
        with ps.open() as bed:
            svds, rv, _ = sp.block_svds_and_profiles(bed, ps.cols, v, print_mask=print_mask, begin=begin, end=end,
                                                     snp_counts=counts)
        for b in range(2):
            sl = slice(begin[b], end[b])
            x, pm = x_all[:, sl], print_mask[sl]
            want = ld_svd(x[:, pm])
            assert svds[b].k == want.k
            np.testing.assert_allclose(svds[b].s, want.s, rtol=1e-12)
            np.testing.assert_allclose((svds[b].u * svds[b].s) @ svds[b].u.T, (want.u * want.s) @ want.u.T,
                                       rtol=0, atol=1e-11 * want.s[0])
            np.testing.assert_allclose(rv[sl][pm], signed_ld_profile(x, v[sl], rows=pm), rtol=1e-12, atol=1e-13)
        assert np.all(rv[~print_mask] == 0)


def test_preprocess_panel_composes_the_chromosome_stages(world, blocks, chromosomes):
    assert [d.chrom for d in chromosomes] == ["1", "2"]
    d = chromosomes[0]
    ps = sp.panel_snps(world["panel"] + "1", "1")
    with ps.open() as bed:
        maf = sp.panel_maf(bed, ps.cols)
        v, names, _ = sp.reconcile_annotations(ps.snps, world["annotations"], chrom="1", maf=maf)
        svds, rv, counts = sp.block_svds_and_profiles(bed, ps.cols, v, print_mask=maf >= 0.05, begin=d.begin,
                                                      end=d.end)
    assert names == d.names == ["BG", "ANN1", "ANN2"]
    np.testing.assert_array_equal(d.maf, maf)
    np.testing.assert_array_equal(d.v, v)
    np.testing.assert_array_equal(d.rv, rv)
    np.testing.assert_array_equal(d.print_mask, maf >= 0.05)
    assert list(d.block_index) == [0, 1, 2] and list(chromosomes[1].block_index) == [3, 4, 5]
    assert d.counts["snps_outside_blocks"] == 1 and d.counts["blocks_without_print_snps"] == 0
    pd.testing.assert_frame_equal(d.info, annotation_info(v, maf, names=names))
    alone = sp.preprocess_chromosome(world["panel"] + "2", "2", blocks, annotations=world["annotations"],
                                     print_snps=pd.Index(world["truth"]["2"]["snp"][:10]))
    assert alone.print_mask.sum() == 10 and alone.counts["print_snps"] == 10
    by_mapping = sp.preprocess_panel({c: world["panel"] + c for c in CHROMS}, blocks,
                                     annotations=world["annotations"], blas_threads=1)
    _assert_same_chromosomes(by_mapping, chromosomes)


class _PicklingClient:
    """Runs each task as a worker process gets it: every argument and result crosses a pickle."""

    def scatter(self, data, hash=True):
        return pickle.dumps(data)

    def submit(self, fn, *args, pure=True, **kwargs):
        args = [pickle.loads(a) if isinstance(a, bytes) else pickle.loads(pickle.dumps(a)) for a in args]
        return pickle.dumps(fn(*args, **pickle.loads(pickle.dumps(kwargs))))

    def gather(self, futures):
        return [pickle.loads(f) for f in futures]


def test_preprocess_panel_on_workers_is_the_in_process_result(world, blocks, chromosomes, parses):
    panel = ReferencePanel(world["panel"])
    got = sp.preprocess_panel(panel, blocks, annotations=world["annotations"], blas_threads=1,
                              client=_PicklingClient())
    _assert_same_chromosomes(got, chromosomes)
    # parsed here, once; the workers' copies of the panel carry the parsed files and parse nothing
    assert dict(parses) == {f"panel.{c}{ext}": 1 for c in CHROMS for ext in (".bim", ".fam")}


def test_merge_annotations(chromosomes, caplog):
    with caplog.at_level(logging.WARNING, logger="stats.sldp.pipeline"):
        ann = sp.merge_annotations(chromosomes, n_background_files=1)
    assert ann.background == ["BG"] and ann.tested == ["ANN1", "ANN2"]
    assert ann.profile_names == ["ANN1.R", "ANN2.R"] and ann.background_profile_names == ["BG.R"]
    np.testing.assert_array_equal(ann.info.to_numpy(), chromosomes[0].info.to_numpy() + chromosomes[1].info.to_numpy())
    assert not caplog.records
    all_tested = sp.merge_annotations(chromosomes, n_background_files=0)
    assert all_tested.background == [] and all_tested.tested == ["BG", "ANN1", "ANN2"]
    other = sp.ChromosomeData(**{**vars(chromosomes[1]), "names": ["BG", "ANN2", "ANN1"]})
    with pytest.raises(ValueError, match="differ"):
        sp.merge_annotations([chromosomes[0], other], n_background_files=1)


# -- phenotypes ---------------------------------------------------------------------------------------------

def test_read_sumstats_inputs(tmp_path, world):
    df = world["sumstats"]["t1"]
    write_table(tmp_path / "height.sumstats.gz", df)
    got = sp.read_sumstats_inputs([tmp_path / "height.sumstats.gz"])
    assert [n for n, _ in got] == ["height"] and len(got[0][1]) == len(df)
    assert [n for n, _ in sp.read_sumstats_inputs({"a": df, "b": df})] == ["a", "b"]
    with pytest.raises(ValueError, match="repeat"):
        sp.read_sumstats_inputs([tmp_path / "height.sumstats.gz"] * 2)
    with pytest.raises(ValueError, match="no sumstats"):
        sp.read_sumstats_inputs([])


def test_prepare_phenotypes_read_ldscores_once(world, chromosomes, phenotypes):
    assert [p.name for p in phenotypes] == ["t1", "t2"]
    ld, m = sp.read_ldscores(str(world["root"]) + "/", chroms=["1", "2"])
    ids = pd.Index(np.concatenate([d.snps.SNP.to_numpy()[d.print_mask] for d in chromosomes]))
    one = sp.prepare_phenotype(world["sumstats"]["t2"], name="t2", chromosomes=chromosomes, print_ids=ids, ld=ld, m=m)
    assert (one.h2g, one.sigma2g) == (phenotypes[1].h2g, phenotypes[1].sigma2g)
    for c in CHROMS:
        np.testing.assert_array_equal(one.z[c], phenotypes[1].z[c])
    z = phenotypes[0].z["1"]
    t = world["truth"]["1"]
    ss = world["sumstats"]["t1"].set_index("SNP")
    assert z[1] == -ss.loc[t["snp"][1], "Z"] and z[0] == ss.loc[t["snp"][0], "Z"]   # swapped in the sumstats
    assert np.isnan(z[2])                                                           # strand-ambiguous
    given = sp.prepare_phenotypes(world["sumstats"], chromosomes=chromosomes, ldscores_chr=str(world["root"]) + "/",
                                  print_ids=pd.Index(t["snp"][:40]))
    assert given[0].h2g != phenotypes[0].h2g or given[0].sigma2g != phenotypes[0].sigma2g


# -- regression grid ----------------------------------------------------------------------------------------

def test_block_inputs(blocks, chromosomes, phenotypes):
    inputs = sp.block_inputs(chromosomes, phenotypes, n_blocks=len(blocks), n_background=1)
    assert len(inputs) == len(blocks) == 7
    assert inputs[6].rv is None                                   # chr3: no panel data
    d = chromosomes[1]
    b = inputs[4]
    rows = d.begin[1] + np.flatnonzero(d.print_mask[d.begin[1]:d.end[1]])
    np.testing.assert_array_equal(b.rv, d.rv[rows][:, 1:])
    np.testing.assert_array_equal(b.rv_bg, d.rv[rows][:, :1])
    np.testing.assert_array_equal(b.ahat[:, 0], phenotypes[0].z["2"][rows] / np.sqrt(phenotypes[0].n["2"][rows]))
    assert b.ahat.shape == b.n.shape == (len(rows), 2) and b.svd is d.svds[1] and not b.joint_zero


def test_grid_block_products_leave_out_blocks(blocks, chromosomes, phenotypes):
    inputs = sp.block_inputs(chromosomes, phenotypes, n_blocks=len(blocks), n_background=1)
    zero_run = sp.BlockInput(rv=np.zeros_like(inputs[0].rv), rv_bg=np.zeros_like(inputs[0].rv_bg),
                             ahat=inputs[0].ahat, n=inputs[0].n, svd=inputs[0].svd, joint_zero=True)
    # zero for the annotations of this cell only (joint_zero False): kept, with products 0
    zero_cell = sp.BlockInput(**{**vars(zero_run), "joint_zero": False})
    sig = np.array([p.sigma2g for p in phenotypes])
    prods = sp.grid_block_products([zero_run, zero_cell, inputs[6], inputs[1]], sigma2g=sig, n_background=1,
                                   n_annotations=2)
    assert prods[0].reason == "annotations all zero" and np.all(prods[0].m_h == 0)
    assert prods[1].reason is None and np.all(prods[1].m_h == np.isfinite(inputs[0].ahat).sum(axis=0))
    assert np.all(prods[1].num == 0) and prods[1].k == inputs[0].svd.k
    assert prods[2].reason == "no regression SNPs"
    assert isinstance(prods[3], BlockProducts) and prods[3].num.shape == (2, 2)


def test_fit_grid_is_fit_blocks_plus_chunk_tables(blocks, chromosomes, phenotypes):
    ann = sp.merge_annotations(chromosomes, n_background_files=1)
    inputs = sp.block_inputs(chromosomes, phenotypes, n_blocks=len(blocks), n_background=1)
    info = ann.info.loc[ann.tested]
    kw = dict(sqnorm=info.sqnorm.to_numpy(), supp=info.supp.to_numpy(), m=info.M.to_numpy(dtype=float))
    cell = sp.fit_grid(inputs, phenotypes=phenotypes, annotation_names=ann.profile_names,
                       background_names=ann.background_profile_names, jk_blocks=3, entropy=5, n_draws=2000, **kw)
    sig = np.array([p.sigma2g for p in phenotypes])
    prods = sp.grid_block_products(inputs, sigma2g=sig, n_background=1, n_annotations=2)
    table, fit = fit_blocks(prods, h2g=[p.h2g for p in phenotypes], sigma2g=sig, annotation_names=ann.profile_names,
                            phenotype_names=["t1", "t2"], background_names=["BG.R"], n_chunks=3, rng=5,
                            n_draws=2000, **kw)
    pd.testing.assert_frame_equal(cell.table, table, check_exact=True)
    tabs = sp.chunk_tables(fit, phenotype_names=["t1", "t2"], annotation_names=ann.profile_names)
    assert set(cell.chunks) == set(tabs) == {(p, a) for p in ("t1", "t2") for a in ann.profile_names}
    for key, df in tabs.items():
        pd.testing.assert_frame_equal(cell.chunks[key], df, check_exact=True)
        assert list(df.columns) == ["first_block", "last_block", "numsnps", "q", "r"]
        assert len(df) == fit.n_chunks[["t1", "t2"].index(key[0])]
        assert df.numsnps.sum() == sum(int(p.m_h[["t1", "t2"].index(key[0])]) for p in prods)


class _FakeClient:
    def __init__(self, n):
        self.n = n

    def scheduler_info(self):
        return {"workers": {i: None for i in range(self.n)}}


def test_grid_cells():
    # by default GRID_CELLS cells of annotations, of at least MIN_CELL_ANNOTATIONS, whatever the cluster:
    # the same cut everywhere
    assert sp.MIN_CELL_ANNOTATIONS == 32
    assert sp.grid_cells(5, 2) == [(list(range(5)), [0, 1])]
    assert sp.grid_cells(40, 1) == [(list(range(32)), [0]), (list(range(32, 40)), [0])]
    assert sp.grid_cells(1000, 1) == [(list(range(a, min(a + 63, 1000))), [0]) for a in range(0, 1000, 63)]
    assert len(sp.grid_cells(1000, 1)) == sp.GRID_CELLS
    assert sp.grid_cells(40, 1, client=_FakeClient(2)) == sp.grid_cells(40, 1)
    assert sp.grid_cells(5, 3, annotation_batch=2, phenotype_batch=2) == [
        ([0, 1], [0, 1]), ([2, 3], [0, 1]), ([4], [0, 1]), ([0, 1], [2]), ([2, 3], [2]), ([4], [2])]


def test_run_grid_cells_do_not_change_numbers(blocks, chromosomes, phenotypes):
    ann = sp.merge_annotations(chromosomes, n_background_files=1)
    inputs = sp.block_inputs(chromosomes, phenotypes, n_blocks=len(blocks), n_background=1)
    whole = sp.run_grid(inputs, phenotypes, ann, jk_blocks=3, seed=9, n_draws=5000, annotation_batch=2)
    split = sp.run_grid(inputs, phenotypes, ann, jk_blocks=3, seed=9, n_draws=5000, annotation_batch=1,
                        phenotype_batch=1)
    assert list(whole.table.columns) == list(sp.GWRESULTS_COLUMNS)
    assert list(zip(whole.table.pheno, whole.table.annot)) == [(p, a) for p in ("t1", "t2")
                                                               for a in ("ANN1.R", "ANN2.R")]
    # equal to rounding (a cell's BLAS products see fewer columns) and the same sign-flip draws
    pd.testing.assert_frame_equal(whole.table, split.table, rtol=1e-12)
    assert np.array_equal(whole.table.p.to_numpy(), split.table.p.to_numpy())
    for key, df in whole.chunks.items():
        pd.testing.assert_frame_equal(df, split.chunks[key], rtol=1e-12)
    assert whole.table.h2g.tolist() == [phenotypes[0].h2g] * 2 + [phenotypes[1].h2g] * 2


def test_run_reports_progress_per_chromosome_and_grid_cell(world):
    calls = []
    res = run(bfile_chr=world["panel"], **_run_kw(world), annotation_batch=1,
              progress=lambda done, total, stage: calls.append((stage, done, total)))
    panel = [c for c in calls if c[0] == "panel"]
    grid = [c for c in calls if c[0] == "regression"]
    assert [d for _, d, _ in panel] == list(range(1, len(CHROMS) + 1)) and {t for *_, t in panel} == {len(CHROMS)}
    assert [d for _, d, _ in grid] == list(range(1, 3)) and {t for *_, t in grid} == {2}  # two annotations
    assert calls.index(panel[-1]) < calls.index(grid[0])
    pd.testing.assert_frame_equal(res.table, run(bfile_chr=world["panel"], **_run_kw(world), annotation_batch=1).table,
                                  check_exact=True)


def test_isin_as_pandas():
    """The print-SNP mask in Arrow's hash table: pandas' isin on every kind of input the stages pass."""
    values = pd.Series(["rs1", "rs2", None, "rs4", "rs2"], dtype="str")
    want = np.array([True, True, False, False, True])
    for ids in (pd.Index(["rs2", "rs1", "rs9"]), ["rs1", "rs2"], {"rs1", "rs2"}, np.array(["rs2", "rs1"], dtype=object),
                pd.Series(["rs1", None, "rs2"], dtype="str")):
        np.testing.assert_array_equal(sp._isin(values, ids), want)
    np.testing.assert_array_equal(sp._isin(values.to_numpy(dtype=object), []), np.zeros(5, bool))
