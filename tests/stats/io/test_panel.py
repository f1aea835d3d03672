import logging

import bed_reader
import numpy as np
import pandas as pd
import pytest

from stats.io.ldblocks import read_ldblocks
from stats.io.plink import read_bfile, write_bfile
from stats.io.panel import ReferencePanel, as_panel

N = 40


def _naive_standardize(dos):
    """Column by column: mean of the observed genotypes, missing set to it, divided by the SD over all N."""
    out = np.empty(dos.shape)
    for j in range(dos.shape[1]):
        col = dos[:, j].astype(float)
        m = np.nanmean(col)
        col = np.where(np.isnan(col), m, col) - m
        out[:, j] = col / np.sqrt(np.mean(col**2))
    return out


def _chrom_data(rng, chrom, positions, *, mono=(), missing=()):
    m = len(positions)
    dos = rng.integers(0, 3, (N, m)).astype(np.int8)
    for j in mono:
        dos[:, j] = 2
    for i, j in missing:
        dos[i, j] = -127
    return dict(dosage=dos, iid=[f"i{k}" for k in range(N)], chrom=[chrom] * m,
                sid=[f"rs{chrom}_{p}" for p in positions], cm=np.zeros(m), bp=np.asarray(positions),
                allele_1=["A"] * m, allele_2=["G"] * m)


@pytest.fixture
def panel(tmp_path):
    """Two chromosomes as sim-world-style files ref.chr1 / ref.chr6 (bim codes 1 and 6) and blocks."""
    rng = np.random.default_rng(3)
    # chr1: blocks [0,1000) [1000,2000) [2000,3000) [5000,6000); SNP 0 at pos 4000 is in no block;
    # SNP 5 monomorphic, one missing genotype in SNP 2; block [5000,6000) holds no SNP
    pos1 = [4000, 10, 999, 1000, 1001, 1500, 2000, 2001, 2500, 3000]
    d1 = _chrom_data(rng, "1", pos1, mono=[5], missing=[(3, 2)])
    # chr6: SNPs around the hg19 MHC (25,684,587-35,455,756)
    pos6 = [25_000_000, 25_684_586, 25_684_587, 30_000_000, 35_455_756, 35_455_757, 36_000_000]
    d6 = _chrom_data(rng, "6", pos6)
    for chrom, d in (("chr1", d1), ("chr6", d6)):
        write_bfile(tmp_path / f"ref.{chrom}", **d)
    blocks = tmp_path / "blocks.bed"
    blocks.write_text("chr\tstart\tstop\nchr1\t0\t1000\nchr1\t1000\t2000\nchr1\t2000\t3000\nchr1\t5000\t6000\n"
                      "chr6\t20000000\t30000000\nchr6\t30000000\t40000000\n")
    return tmp_path, {"1": d1, "6": d6}, read_ldblocks(blocks)


def test_blocks_match_a_naive_reading(panel):
    root, data, blocks = panel
    got = list(as_panel(root / "ref").iter_blocks(blocks, build="hg19"))
    assert [(b.chrom, b.block) for b in got] == [("1", 0), ("1", 1), ("1", 2), ("6", 4), ("6", 5)]
    full = {c: read_bfile(root / f"ref.chr{c}")[0] for c in ("1", "6")}
    # BED blocks are 0-based half-open: [1000, 2000) holds 1-based positions 1001..2000
    expect_ids = {("1", 0): ["rs1_10", "rs1_999", "rs1_1000"], ("1", 1): ["rs1_1001", "rs1_2000"],
                  ("1", 2): ["rs1_2001", "rs1_2500", "rs1_3000"],
                  ("6", 4): ["rs6_25000000", "rs6_25684586"], ("6", 5): ["rs6_35455757", "rs6_36000000"]}
    for b in got:
        assert list(b.snps.snp) == expect_ids[b.chrom, b.block]
        assert (b.start, b.end) == tuple(blocks.loc[b.block, ["start", "end"]])
        cols = b.snps.bim_index.to_numpy()
        ref = _naive_standardize(full[b.chrom][:, cols])
        np.testing.assert_allclose(b.x, ref, atol=1e-12)
        assert b.x.dtype == np.float64 and b.x.shape == (N, len(cols))
        np.testing.assert_allclose(b.x.mean(axis=0), 0, atol=1e-12)
        np.testing.assert_allclose((b.x**2).mean(axis=0), 1, atol=1e-12)
        p = np.nanmean(full[b.chrom][:, cols], axis=0) / 2
        np.testing.assert_allclose(b.maf, np.minimum(p, 1 - p))
        np.testing.assert_allclose(b.snps.maf, b.maf)
        assert list(b.snps.chrom.unique()) == [b.chrom]
    # rs1_1500 (monomorphic) was dropped from block 1 and counted
    assert got[1].n_monomorphic == 1 and sum(b.n_monomorphic for b in got) == 1


def test_only_the_blocks_columns_are_read(panel, monkeypatch):
    root, _, blocks = panel
    calls = []
    orig = bed_reader.open_bed.read

    def spy(self, index=None, **kw):
        calls.append(np.asarray(index[1]).copy())
        return orig(self, index=index, **kw)

    monkeypatch.setattr(bed_reader.open_bed, "read", spy)
    got = list(as_panel(root / "ref").iter_blocks(blocks, build="hg19"))
    # each block reads exactly its columns (block 1's monomorphic SNP is dropped after reading)
    assert [list(c) for c in calls] == [[1, 2, 3], [4, 5, 6], [7, 8, 9], [0, 1], [5, 6]]
    assert [list(b.snps.bim_index) for b in got] == [[1, 2, 3], [4, 6], [7, 8, 9], [0, 1], [5, 6]]


def test_mhc_is_left_out_per_build(panel, caplog):
    root, _, blocks = panel
    hg19 = [s for b in as_panel(root / "ref").iter_blocks(blocks, build="hg19", chroms=["6"]) for s in b.snps.pos]
    assert hg19 == [25_000_000, 25_684_586, 35_455_757, 36_000_000]
    sim = [s for b in as_panel(root / "ref").iter_blocks(blocks, build="simworld1", chroms=["chr6"]) for s in b.snps.pos]
    assert len(sim) == 7
    off = [s for b in as_panel(root / "ref").iter_blocks(blocks, build="hg19", chroms=["6"], exclude_mhc=False)
           for s in b.snps.pos]
    assert len(off) == 7
    with caplog.at_level(logging.INFO, logger="stats.io.panel"):
        list(as_panel(root / "ref").iter_blocks(blocks, build="hg38", chroms=["6"]))
    assert "1 in the MHC (hg38) left out" in caplog.text  # hg38 MHC 28.51-33.48 Mb: only 30,000,000


def test_snp_subset_float32_and_min_maf(panel, caplog):
    root, data, blocks = panel
    keep = ["rs1_10", "rs1_2500", "rs6_36000000", "not_there"]
    with caplog.at_level(logging.INFO, logger="stats.io.panel"):
        got = list(as_panel(root / "ref").iter_blocks(blocks, build="hg19", snps=keep, dtype=np.float32))
    assert [list(b.snps.snp) for b in got] == [["rs1_10"], ["rs1_2500"], ["rs6_36000000"]]
    assert all(b.x.dtype == np.float32 for b in got)
    assert "3 of 4 subset SNPs found in the panel" in caplog.text
    every = list(as_panel(root / "ref").iter_blocks(blocks, build="hg19"))
    cut = np.median(np.concatenate([b.maf for b in every]))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="stats.io.panel"):
        kept = list(as_panel(root / "ref").iter_blocks(blocks, build="hg19", min_maf=cut))
    assert all((b.maf >= cut).all() for b in kept)
    assert sum(b.n_snps for b in kept) == sum(int((b.maf >= cut).sum()) for b in every)
    for chrom, mono in (("1", 1), ("6", 0)):
        low = sum(int((b.maf < cut).sum()) for b in every if b.chrom == chrom)
        assert f"chr{chrom}: dropped {mono} monomorphic SNPs and {low} with MAF < {cut:g}" in caplog.text


def test_logs_counts(panel, caplog):
    root, _, blocks = panel
    with caplog.at_level(logging.INFO, logger="stats.io.panel"):
        list(as_panel(root / "ref").iter_blocks(blocks, build="hg19", chroms=["1"]))
    assert "chr1 of" in caplog.text
    assert "1 in no LD block" in caplog.text
    assert "9 SNPs in 3 of 4 LD blocks (1 blocks hold none)" in caplog.text
    assert "dropped 1 monomorphic SNPs" in caplog.text


def test_ldsc_style_names_single_fileset_and_bim(tmp_path, panel):
    root, data, blocks = panel
    write_bfile(tmp_path / "ldsc" / "1000G.EUR.QC.1", **data["1"])
    write_bfile(tmp_path / "ldsc" / "1000G.EUR.QC.6", **data["6"])
    both = {k: list(data["1"][k]) + list(data["6"][k]) for k in ("chrom", "sid", "cm", "bp", "allele_1", "allele_2")}
    write_bfile(tmp_path / "all" / "panel", np.hstack([data["1"]["dosage"], data["6"]["dosage"]]),
                iid=data["1"]["iid"], **both)
    a = list(as_panel(tmp_path / "ldsc" / "1000G.EUR.QC.").iter_blocks(blocks, build="hg19"))
    b = list(as_panel(tmp_path / "all" / "panel").iter_blocks(blocks, build="hg19"))
    c = list(as_panel(root / "ref").iter_blocks(blocks, build="hg19"))
    assert len(a) == len(b) == len(c) == 5
    for x, y, z in zip(a, b, c):
        np.testing.assert_array_equal(x.x, z.x)
        np.testing.assert_array_equal(y.x, z.x)
        assert list(x.snps.snp) == list(y.snps.snp)
    assert list(as_panel(tmp_path / "all" / "panel").filesets()) == ["1", "6"]
    assert list(as_panel(str(tmp_path / "ldsc" / "1000G.EUR.QC.{chrom}")).filesets()) == ["1", "6"]
    bim = as_panel(root / "ref").allele_table()
    assert len(bim) == 17 and list(bim.chrom.unique()) == ["1", "6"]
    assert list(bim.bim_index[:3]) == [0, 1, 2]


def test_error_paths(panel, tmp_path):
    root, data, blocks = panel
    with pytest.raises(FileNotFoundError, match="chromosome 3"):
        next(as_panel(root / "ref").iter_blocks(blocks, build="hg19", chroms=["3"]))
    with pytest.raises(FileNotFoundError, match="no PLINK filesets"):
        next(as_panel(root / "nope").iter_blocks(blocks, build="hg19"))
    with pytest.raises(ValueError, match="unknown genome build 'hg17'"):
        next(as_panel(root / "ref").iter_blocks(blocks, build="hg17"))
    with pytest.raises(ValueError, match="float32 or float64"):
        next(as_panel(root / "ref").iter_blocks(blocks, build="hg19", dtype=np.int8))
    # blocks past the build's chromosome end
    long = pd.concat([blocks, pd.DataFrame({"chrom": ["1"], "start": [7000], "end": [260_000_000]})],
                     ignore_index=True)
    with pytest.raises(ValueError, match="another genome build"):
        next(as_panel(root / "ref").iter_blocks(long, build="hg19"))
    # blocks that miss most panel SNPs (e.g. another coordinate system)
    few = pd.DataFrame({"chrom": ["1"], "start": [0], "end": [500]})
    with pytest.raises(ValueError, match=r"only 10.0% of the 10 panel .* SNPs on chr1 fall into LD blocks"):
        next(as_panel(root / "ref").iter_blocks(few, build="hg19", chroms=["1"]))
    assert len(list(as_panel(root / "ref").iter_blocks(few, build="hg19", chroms=["1"], check_build=False))) == 1
    other = pd.DataFrame({"chrom": ["2"], "start": [0], "end": [500]})
    with pytest.raises(ValueError, match="cover none of the panel's chromosomes"):
        next(as_panel(root / "ref").iter_blocks(other, build="hg19"))
    # incomplete or inconsistent filesets
    write_bfile(tmp_path / "bad" / "p.1", **data["1"])
    (tmp_path / "bad" / "p.1.fam").unlink()
    with pytest.raises(FileNotFoundError, match=r"p.1.fam is missing"):
        next(as_panel(tmp_path / "bad" / "p").iter_blocks(blocks, build="hg19", chroms=["1"]))
    write_bfile(tmp_path / "trunc" / "p.1", **data["1"])
    bed = tmp_path / "trunc" / "p.1.bed"
    bed.write_bytes(bed.read_bytes()[:-3])
    with pytest.raises(ValueError, match="bytes but 10 SNPs x 40 individuals"):
        next(as_panel(tmp_path / "trunc" / "p").iter_blocks(blocks, build="hg19", chroms=["1"]))


# -- real panels ---------------------------------------------------------------------------------------

def test_real_1000g_chr1_panel_with_berisa_blocks(shared_data):
    prefix = shared_data / "ld_panel_1kg_chr1" / "1000genomes.chr1.HumanHap550.EUR"
    blocks = read_ldblocks(shared_data / "ldblocks" / "fourier_ls-all.bed")
    stream = as_panel(prefix).iter_blocks(blocks, build="hg19")
    first = [next(stream) for _ in range(3)]
    stream.close()
    dos, bim, _ = read_bfile(prefix)
    for b in first:
        assert b.chrom == "1" and b.x.shape[0] == 169
        assert ((b.snps.pos > b.start) & (b.snps.pos <= b.end)).all()
        cols = b.snps.bim_index.to_numpy()
        np.testing.assert_allclose(b.x, _naive_standardize(dos[:, cols]), atol=1e-10)
    # the first block holds every panel SNP before its end that is not monomorphic
    n_first = int(((bim.pos > blocks.start[0]) & (bim.pos <= blocks.end[0])).sum())
    assert first[0].n_snps + first[0].n_monomorphic == n_first


def test_real_genome_wide_panel_leaves_out_the_mhc(shared_data):
    prefix = (shared_data / "genotypes_flashpca_hapmap3_1kgp1"
              / "1kg.ref.phase1_release_v3.20101123_thinned_autosomal_overlap")
    blocks = read_ldblocks(shared_data / "ldblocks" / "fourier_ls-all.bed")
    bim = pd.read_csv(f"{prefix}.bim", sep=r"\s+", header=None, names=["c", "s", "cm", "pos", "a1", "a2"])
    chr6 = bim[bim.c == 6]
    in_mhc = (chr6.pos >= 25_684_587) & (chr6.pos <= 35_455_756)
    assert in_mhc.sum() > 0
    got = list(as_panel(prefix).iter_blocks(blocks, build="hg19", chroms=["6"]))
    pos = np.concatenate([b.snps.pos.to_numpy() for b in got])
    assert not ((pos >= 25_684_587) & (pos <= 35_455_756)).any()
    assert len(pos) + sum(b.n_monomorphic for b in got) + int(in_mhc.sum()) <= len(chr6)
    assert len(pos) > 0.9 * (len(chr6) - in_mhc.sum())


def test_simulated_world_panel_sumstats_and_blocks_fit_together(tiny_world):
    import json

    from stats.alleles import align_to_reference, is_strand_ambiguous
    from stats.io.sumstats import read_sumstats

    truth = json.loads((tiny_world / "truth.json").read_text())
    blocks = read_ldblocks(tiny_world / "genotypes" / "ldblocks.bed")
    panel = tiny_world / "genotypes" / "ref_panel"
    bim = as_panel(panel).allele_table()
    ss = read_sumstats(tiny_world / "gwas" / "directional.sumstats.gz")
    al = align_to_reference(ss, bim, signed=["Z"], ref_snp="snp", ref_a1="a1", ref_a2="a2", what="sumstats",
                            ref_what="panel")
    c = al.counts
    assert c["flipped"] == 0 and c["mismatch"] == 0 and c["invalid"] == 0  # both carry A1 = ALT
    assert c["ambiguous"] == int(is_strand_ambiguous(bim.a1, bim.a2)[al.table_row >= 0].sum()) > 0
    assert c["kept"] + c["ambiguous"] + c["missing"] == len(bim) and c["kept"] > 0.7 * len(bim)
    got = list(as_panel(panel).iter_blocks(blocks, build=truth["genome_build"], lengths=truth["chromosomes"]))
    assert [b.chrom for b in got] == ["1"] * 3 + ["2"] * 3
    assert sum(b.n_snps + b.n_monomorphic for b in got) == len(bim)


# -- ReferencePanel: parsed once, shared by every stage ------------------------------------------------

@pytest.fixture
def count_parses(monkeypatch):
    """Count every .bim / .fam parse by path, however the suite reaches stats.io.plink's readers."""
    import stats.io.plink as plink

    counts = {}

    def counting(fn, ext):
        def wrapper(prefix, *args, **kw):
            key = str(plink.bfile_prefix(prefix)) + ext
            counts[key] = counts.get(key, 0) + 1
            return fn(prefix, *args, **kw)
        return wrapper

    monkeypatch.setattr(plink, "read_bim", counting(plink.read_bim, ".bim"))
    monkeypatch.setattr(plink, "read_fam", counting(plink.read_fam, ".fam"))
    return counts


def test_each_bim_and_fam_is_parsed_once(panel, count_parses):
    from stats.finemap.pics import pics, r_from_bfile
    from stats.ld.prune import prune_variants

    root, _, blocks = panel
    ref = ReferencePanel(root / "ref")
    for _ in range(3):
        assert ref.chroms == ["1", "6"] and list(ref.filesets(chroms=["chr6"])) == ["6"]
        assert len(ref.allele_table()) == 17 and len(ref.allele_table(chroms=["1"])) == 10
        assert ref.maf("1").shape == (10,) and ref.genotypes("6", [2, 0]).shape == (N, 2)
        assert len(list(ref.iter_blocks(blocks, build="hg19"))) == 5
        assert len(list(as_panel(ref).iter_blocks(blocks, build="hg19", chroms=["6"]))) == 2
        assert list(as_panel(ref).filesets()) == ["1", "6"] and ref.n_individuals() == N
        assert prune_variants(ref, ["rs1_10", "rs1_999", "rs6_36000000"], window_kb=5).shape == (3,)
        assert len(r_from_bfile(ref, "rs6_30000000", window_bp=None)) == 7
        ss = pd.DataFrame({"SNP": ["rs1_2000", "rs6_25000000"], "P": [1e-9, 1e-8], "CHR": ["1", "6"]})
        assert set(pics(ss, list(ss.SNP), panel=ref, r2_min=0.0).lead_snp) == set(ss.SNP)
    files = [str(root / f"ref.chr{c}{ext}") for c in ("1", "6") for ext in (".bim", ".fam")]
    assert count_parses == {f: 1 for f in files}
    assert dict(ref.parse_counts) == {f: 1 for f in files}


def test_a_path_is_opened_anew_but_a_panel_is_not(panel, count_parses):
    root, _, blocks = panel
    list(as_panel(root / "ref").iter_blocks(blocks, build="hg19"))
    list(as_panel(root / "ref").iter_blocks(blocks, build="hg19"))
    assert count_parses[str(root / "ref.chr1.bim")] == 2  # the old path-taking call re-parses
    ref = ReferencePanel(root / "ref")
    list(as_panel(ref).iter_blocks(blocks, build="hg19"))
    list(as_panel(ref).iter_blocks(blocks, build="hg19"))
    assert count_parses[str(root / "ref.chr1.bim")] == 3 and ref.parse_counts[str(root / "ref.chr1.bim")] == 1


def test_maf_and_genotypes_match_the_blocks_and_the_files(panel):
    root, data, blocks = panel
    ref = ReferencePanel(root / "ref")
    for blk in ref.iter_blocks(blocks, build="hg19", exclude_mhc=False):
        at = np.searchsorted(ref.chrom_rows(blk.chrom), blk.snps.bim_index)
        np.testing.assert_array_equal(ref.maf(blk.chrom)[at], blk.maf)  # bit for bit
    assert ref.maf("1")[5] == 0.0 and not ref.maf("1").flags.writeable  # monomorphic SNP
    full = read_bfile(root / "ref.chr1", dtype=np.float64)[0]
    cols = np.array([9, 2, 0, 4])
    np.testing.assert_array_equal(ref.genotypes("1", cols), full[:, cols])
    np.testing.assert_array_equal(ref.genotypes("chr1"), full)
    calls = ref.genotypes("1", cols, dtype="int8")
    assert calls.dtype == np.int8 and calls[3, 1] == -127  # the missing genotype
    np.testing.assert_array_equal(calls[~np.isnan(full[:, cols])], full[:, cols][~np.isnan(full[:, cols])])
    with pytest.raises(ValueError, match="not all rows of chromosome 1"):
        ref.genotypes("1", [10])
    from stats.ld.moments import genotype_counts

    fresh = ReferencePanel(root / "ref")                       # counts first, then the MAF they leave
    np.testing.assert_array_equal(fresh.genotype_counts("1"), genotype_counts(ref.genotypes("1", dtype="int8")))
    np.testing.assert_array_equal(fresh.maf("1"), ref.maf("1"))


def test_panel_kinds_agree_and_pickle(tmp_path, panel):
    import pickle

    root, data, blocks = panel
    both = {k: list(data["1"][k]) + list(data["6"][k]) for k in ("chrom", "sid", "cm", "bp", "allele_1", "allele_2")}
    write_bfile(tmp_path / "all" / "panel", np.hstack([data["1"]["dosage"], data["6"]["dosage"]]),
                iid=data["1"]["iid"], **both)
    kinds = {"template": ReferencePanel(str(root / "ref.{chrom}")), "prefix": ReferencePanel(root / "ref"),
             "single": ReferencePanel(tmp_path / "all" / "panel.bed"),
             "mapping": ReferencePanel({"chr6": root / "ref.chr6", 1: root / "ref.chr1.bed"})}
    assert [p.kind for p in kinds.values()] == ["template", "template", "single", "mapping"]
    want = kinds["prefix"].allele_table().drop(columns=["bim_index", "fileset"])
    for p in kinds.values():
        got = p.allele_table()
        pd.testing.assert_frame_equal(got.drop(columns=["bim_index", "fileset"]), want)
        assert list(got.columns) == ["chrom", "snp", "cm", "pos", "a1", "a2", "bim_index", "fileset"]
        np.testing.assert_array_equal(np.concatenate([p.maf("1"), p.maf("6")]),
                                      np.concatenate([kinds["prefix"].maf(c) for c in ("1", "6")]))
    got = kinds["single"].allele_table()
    assert got.bim_index.tolist() == list(range(17)) and set(got.fileset) == {str(tmp_path / "all" / "panel")}
    assert as_panel(kinds["single"]) is kinds["single"]
    copy = pickle.loads(pickle.dumps(kinds["mapping"]))
    assert copy.parse_counts == kinds["mapping"].parse_counts and len(copy.allele_table()) == 17
    assert copy.parse_counts == kinds["mapping"].parse_counts  # the caches travelled with it
    with pytest.raises(FileNotFoundError, match=r"has no fileset for chromosome\(s\) \['2'\]"):
        kinds["mapping"].filesets(chroms=["2"])
    with pytest.raises(FileNotFoundError, match=r"has no SNPs on chromosome\(s\) \['2'\]"):
        kinds["single"].fileset("2")
    with pytest.raises(TypeError, match="as_panel"):
        ReferencePanel(kinds["single"])


def test_a_fam_short_of_its_bed_is_caught_even_when_the_size_fits(tmp_path):
    from stats.io.plink import open_bed, write_bfile

    rng = np.random.default_rng(4)
    n, m = 7, 30
    g = rng.integers(0, 3, (n, m)).astype(float)
    kw = dict(iid=[f"i{k}" for k in range(n)], chrom=["1"] * m, sid=[f"s{j}" for j in range(m)], cm=np.zeros(m),
              bp=np.arange(1, m + 1) * 100, allele_1=["A"] * m, allele_2=["G"] * m)
    write_bfile(tmp_path / "p", g, **kw)
    with open_bed(tmp_path / "p", n_individuals=n, n_snps=m) as bed:  # the whole fileset reads
        np.testing.assert_array_equal(bed.read(dtype="float64"), g)
    fam = tmp_path / "p.fam"
    fam.write_text("".join(fam.read_text().splitlines(keepends=True)[:-1]))  # 6 lines: still 2 bytes per SNP
    with pytest.raises(ValueError, match=r"padding after individual 6 holds genotypes in \d+ of the first 30 SNPs"):
        open_bed(tmp_path / "p", n_individuals=n - 1, n_snps=m)
