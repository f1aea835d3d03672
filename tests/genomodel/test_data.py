"""Training-data pipeline: transforms against slow loops, records against known coverage, splits, errors."""
import json
import math

import numpy as np
import pandas as pd
import pytest
from _tiny_genome import TRACKS, make_tiny_genome, write_targets

from genocore.config import from_dict
from genocore.files import write_table
from genomodel import data, splits
from genomodel.io import tfrecord
from genomodel.io.bigwig import write_bigwig


# ------------------------------------------------------------------ slow, obvious reference implementations


def slow_bins(cov, *, pool_width, crop_bp, sum_stat, scale, clip, clip_soft, transform):
    """One bin at a time, one step at a time, in the order of basenji_data_read.py."""
    cov = [float(v) for v in cov]
    if transform == "baskerville":
        cov = [scale * v for v in cov]
    cov = cov[crop_bp:len(cov) - crop_bp]
    out = []
    for b in range(len(cov) // pool_width):
        seg = cov[b * pool_width:(b + 1) * pool_width]
        if sum_stat in ("sum", "sum_sqrt"):
            x = sum(seg)
        elif sum_stat in ("mean", "mean_sqrt"):
            x = sum(seg) / len(seg)
        elif sum_stat == "max":
            x = max(seg)
        elif sum_stat == "median":
            s = sorted(seg)
            x = (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2 if len(s) % 2 == 0 else s[len(s) // 2]
        if sum_stat in ("sum_sqrt", "mean_sqrt"):
            x = -1 + math.sqrt(1 + x) if transform == "baskerville" else x ** 0.75
        if clip_soft is not None and x > clip_soft:
            x = (clip_soft - 1 + math.sqrt(x - clip_soft + 1)) if transform == "baskerville" \
                else min(x, clip_soft + math.sqrt(x - clip_soft))
        if clip is not None:
            x = min(max(x, -clip), clip)
        if transform == "basenji":
            x = scale * x
        out.append(x)
    return np.array(out)


def slow_blacklist(cov, intervals, start, *, pct, buffer):
    """Set each blacklisted base (intervals widened by buffer) to the window's pct quantile."""
    cov = np.array(cov, dtype=np.float64)
    base = np.percentile(cov, 100 * pct)
    hit = False
    for a, b in intervals:
        for pos in range(max(a - buffer, 0), b + buffer):
            i = pos - start
            if 0 <= i < len(cov):
                cov[i] = base
                hit = True
    return cov if hit else np.array(cov)


def _tiny_config(**kw):
    base = dict(seq_length=4096, pool_width=64, crop_bp=512, stride=2048, max_n_fraction=0.2,
                test_chroms=("chr2",), valid_fraction=0.2, records_per_shard=4, seed=3)
    base.update(kw)
    return data.DataConfig(**base)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_genome(tmp_path_factory.mktemp("tiny"), seed=11)


@pytest.fixture(scope="module")
def written(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("rec") / "data"
    summary = data.write_dataset(out, fasta=tiny.fasta, targets=tiny.targets, gaps=tiny.gaps,
                                 blacklist=tiny.blacklist, config=_tiny_config())
    return out, summary


def _leftovers(parent, name):
    return [p.name for p in parent.iterdir() if p.name == name or p.name.startswith(f".{name}.")]


# ------------------------------------------------------------------ transforms


@pytest.mark.parametrize("transform", ["basenji", "baskerville"])
@pytest.mark.parametrize("sum_stat", ["sum", "mean", "sum_sqrt", "mean_sqrt", "max", "median"])
def test_transform_matches_slow_loop(transform, sum_stat):
    rng = np.random.default_rng(1)
    cov = rng.gamma(1.5, 4.0, size=(3, 320))
    cov[0, :40] = 300.0  # forces the soft and hard clips
    kw = dict(pool_width=16, crop_bp=32, sum_stat=sum_stat, scale=0.7, clip=120.0, clip_soft=30.0)
    fast = data.transform_coverage(cov, transform=transform, **kw)
    assert fast.shape == (3, (320 - 64) // 16) and fast.dtype == np.float32
    for i in range(3):
        np.testing.assert_allclose(fast[i], slow_bins(cov[i], transform=transform, **kw), rtol=1e-6, atol=1e-6)


def test_transform_without_clips_and_float16_range():
    cov = np.full(64, 5000.0)
    out = data.transform_coverage(cov, pool_width=32, sum_stat="sum", scale=10.0)
    assert np.all(out == np.finfo(np.float16).max)  # 1.6e6 clipped to the float16 range, as baskerville does
    out = data.transform_coverage(cov, pool_width=32, sum_stat="mean", clip=float("nan"), clip_soft=None)
    np.testing.assert_array_equal(out, [5000.0, 5000.0])


def test_soft_clip_never_raises_a_value():
    # min(x, t + sqrt(x - t)): basenji's t + sqrt(x - t) alone would give 10.5 for 10.25
    out = data.transform_coverage(np.array([10.25, 0.0, 14.0, 0.0]), pool_width=2, sum_stat="sum", clip_soft=10.0)
    assert out[0] == pytest.approx(10.25) and out[1] == pytest.approx(12.0)


def test_blacklist_clip_matches_slow_loop():
    rng = np.random.default_rng(2)
    cov = rng.gamma(2.0, 2.0, 500)
    cov[100:140] = 90.0
    mask = np.zeros(500, bool)
    mask[95:145] = True
    fast = data.clip_blacklisted(cov, mask, pct=0.25)
    slow = slow_blacklist(cov, [(95, 145)], 0, pct=0.25, buffer=0)
    np.testing.assert_allclose(fast, slow)
    assert fast[120] == pytest.approx(np.percentile(cov, 25))


# ------------------------------------------------------------------ targets.txt


def test_read_targets_defaults_and_relative_paths(tiny):
    t = data.read_targets(tiny.targets)
    assert list(t["identifier"]) == [tr[0] for tr in TRACKS]
    assert all(p.startswith(str(tiny.root.resolve())) for p in t["file"])
    assert t["strand_pair"].tolist() == [0, 1, 2]
    assert np.isnan(t.loc[1, "clip_soft"]) and t.loc[0, "clip_soft"] == 150.0
    # a minimal file: only identifier and file
    p = tiny.root / "minimal.txt"
    p.write_text("identifier\tfile\nx\tdense.bw\n")
    m = data.read_targets(p)
    assert m.loc[0, "sum_stat"] == "sum" and m.loc[0, "scale"] == 1.0 and np.isnan(m.loc[0, "clip"])
    assert m.loc[0, "description"] == "x" and m.loc[0, "index"] == 0


def test_read_targets_missing_file_names_line_and_path(tiny):
    p = write_targets(tiny.root / "bad_targets.txt", [("dense", "dense.bw", 10, None, 1, "sum"),
                                                       ("gone", "nowhere/gone.bw", 10, None, 1, "sum")])
    with pytest.raises(FileNotFoundError, match=r"line 3 \(identifier 'gone'\).*nowhere/gone.bw"):
        data.read_targets(p)


def test_read_targets_unknown_sum_stat(tiny):
    p = write_targets(tiny.root / "bad_stat.txt", [("dense", "dense.bw", 10, None, 1, "summ")])
    with pytest.raises(ValueError, match="line 2: unknown sum_stat 'summ'"):
        data.read_targets(p)


def test_read_real_basenji_targets(shared_data, tmp_path):
    # the real file's paths point to the authors' machine: rewrite them to local empty files first
    src = shared_data / "cnn_baskerville_tiny_hg38" / "targets.txt"
    df = pd.read_csv(src, sep="\t", index_col=0)
    for i in df.index:
        (tmp_path / f"t{i}.w5").write_bytes(b"")
    df["file"] = [f"t{i}.w5" for i in df.index]
    df.to_csv(tmp_path / "targets.txt", sep="\t")
    t = data.read_targets(tmp_path / "targets.txt")
    assert len(t) == 74 and t.loc[0, "clip_soft"] == 64 and t.loc[0, "strand_pair"] == 1
    assert set(t["sum_stat"]) <= set(data.SUM_STATS)


# ------------------------------------------------------------------ config


def test_config_is_strict_and_validated():
    with pytest.raises(KeyError, match="seq_lenght"):
        from_dict(data.DataConfig, {"seq_lenght": 4096})
    cfg = from_dict(data.DataConfig, {"seq_length": 4096, "pool_width": 64, "test_chroms": ["chr2"]})
    assert cfg.test_chroms == ("chr2",) and cfg.step == 4096 and cfg.target_length == 64
    with pytest.raises(ValueError, match="multiple of pool_width"):
        data.DataConfig(seq_length=4000, pool_width=128)
    with pytest.raises(ValueError, match="split_mode"):
        data.DataConfig(split_mode="random")
    with pytest.raises(ValueError, match="list of chromosome names"):
        data.DataConfig(test_chroms="chr2")


# ------------------------------------------------------------------ windows


def test_tiling_skips_n_and_unmappable(tiny):
    cfg = _tiny_config()
    unmap = {"chr1": (np.array([20_000]), np.array([23_900]))}
    w = data.tile_windows({"chr1": 30_000, "chr3": 3_000}, config=cfg, codes=tiny.codes.__getitem__, unmappable=unmap)
    assert (w["chrom"] == "chr1").all()  # chr3 is shorter than a window
    assert w["start"].tolist() == list(range(0, 30_000 - 4096 + 1, 2048))
    for r in w.itertuples():
        n = int((tiny.codes["chr1"][r.start:r.end] == 4).sum())
        u = max(0, min(r.end, 23_900) - max(r.start, 20_000))
        assert r.n_fraction == n / 4096 and r.unmappable_fraction == u / 4096
        assert r.keep == (n / 4096 <= 0.2 and u / 4096 <= 0.5)
    assert (~w["keep"]).sum() >= 3


# ------------------------------------------------------------------ records


def test_records_equal_transformed_known_coverage(tiny, written):
    out, summary = written
    cfg = _tiny_config()
    t = data.read_targets(tiny.targets)
    bed = tfrecord.read_sequences_bed(out)
    stats = tfrecord.read_statistics(out)
    assert stats["target_length"] == 48 and stats["num_targets"] == 3 and stats["seq_length"] == 4096
    blk = {}
    for c, a, b in [("chr2", 10_000, 10_500), ("chr1", 20_100, 20_180)]:
        blk.setdefault(c, []).append((a, b))
    checked_black = 0
    for split in ("train", "valid", "test"):
        rows = bed[bed["split"] == split].reset_index(drop=True)
        recs = list(tfrecord.iterate_records(out, split))
        assert len(recs) == len(rows) == stats[f"{split}_seqs"] == summary[f"{split}_seqs"]
        for r, (codes, y) in zip(rows.itertuples(), recs):
            np.testing.assert_array_equal(codes, tiny.codes[r.chrom][r.start:r.end])
            assert y.shape == (48, 3)
            hit = any(a - 20 < r.end and b + 20 > r.start for a, b in blk.get(r.chrom, []))
            checked_black += hit
            for j, row in enumerate(t.itertuples()):
                cov = tiny.coverage[row.identifier][r.chrom][r.start:r.end]
                cov = slow_blacklist(cov, blk.get(r.chrom, []), r.start, pct=0.25, buffer=20)
                want = slow_bins(cov, pool_width=64, crop_bp=512, sum_stat=row.sum_stat, scale=row.scale,
                                 clip=row.clip, clip_soft=None if np.isnan(row.clip_soft) else row.clip_soft,
                                 transform=cfg.transform)
                np.testing.assert_array_equal(y[:, j], data.float16_round(want))
    assert checked_black >= 2


def test_splits_and_files_of_written_folder(written, tiny):
    out, summary = written
    bed = tfrecord.read_sequences_bed(out)
    assert set(bed.loc[bed["split"] == "test", "chrom"]) == {"chr2"}
    assert not (bed.loc[bed["split"] != "test", "chrom"] == "chr2").any()
    n_other = (bed["chrom"] != "chr2").sum()
    assert summary["valid_seqs"] == max(1, round(0.2 * len(bed)))
    assert summary["train_seqs"] == n_other - summary["valid_seqs"]
    assert (bed["end"] - bed["start"] == 4096).all()
    copy = data.read_targets(out / "targets.txt")
    assert list(copy["identifier"]) == [tr[0] for tr in TRACKS]
    assert (out / "targets.txt").read_text().startswith("\tidentifier\tfile")
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["config"]["seq_length"] == 4096 and "fasta" in prov["inputs"]
    assert _leftovers(out.parent, "data") == ["data"]


def test_dataset_reads_written_records(written):
    out, summary = written
    xs = [(x.numpy(), y.numpy()) for x, y in tfrecord.dataset(out, "train", batch_size=4)]
    assert sum(len(x) for x, _ in xs) == summary["train_seqs"]
    x, y = xs[0]
    assert x.shape[1:] == (4096, 4) and y.shape[1:] == (48, 3) and x.dtype == np.float32
    assert set(np.unique(x.sum(axis=-1))) <= {0.0, 1.0}


def test_write_is_deterministic_and_refuses_existing(tiny, written, tmp_path):
    out, _ = written
    again = tmp_path / "again"
    data.write_dataset(again, fasta=tiny.fasta, targets=tiny.targets, gaps=tiny.gaps, blacklist=tiny.blacklist,
                       config=_tiny_config())
    assert (again / "sequences.bed").read_text() == (out / "sequences.bed").read_text()
    with pytest.raises(FileExistsError):
        data.write_dataset(again, fasta=tiny.fasta, targets=tiny.targets, config=_tiny_config())


def test_bedgraph_track_reads_like_bigwig(tiny, tmp_path):
    cov = tiny.coverage["dense"]
    rows = []
    for c, v in cov.items():
        nz = np.flatnonzero(v)
        rows += [(c, int(i), int(i) + 1, float(v[i])) for i in nz[:2000]]
    bg = tmp_path / "dense.bedGraph"
    bg.write_text("track type=bedGraph\n" + "".join(f"{c}\t{a}\t{b}\t{x}\n" for c, a, b, x in rows))
    tr = data.open_track(bg)
    part = np.zeros(30_000)
    idx = [a for c, a, _, _ in rows if c == "chr1"]
    part[idx] = cov["chr1"][idx]
    np.testing.assert_array_equal(tr.read("chr1", 100, 4196), part[100:4196])
    np.testing.assert_array_equal(data.open_track(tiny.root / "dense.bw").read("chr1", 100, 4196), cov["chr1"][100:4196])


# ------------------------------------------------------------------ clear errors, nothing left behind


def _error_case(tiny, tmp_path, bw_sizes, bw_values, match, exc=ValueError, **kw):
    write_bigwig(tmp_path / "odd.bw", bw_sizes, bw_values)
    targets = write_targets(tmp_path / "targets.txt", [("odd", "odd.bw", 100, None, 1, "sum")])
    out = tmp_path / "out"
    with pytest.raises(exc, match=match):
        data.write_dataset(out, fasta=tiny.fasta, targets=targets, config=_tiny_config(**kw))
    assert _leftovers(tmp_path, "out") == []


def test_error_fasta_lacks_bigwig_chromosome(tiny, tmp_path):
    sizes = {c: len(v) for c, v in tiny.codes.items()}
    sizes["chr9"] = 5000
    _error_case(tiny, tmp_path, sizes, {"chr9": np.ones(5000)},
                r"odd.bw \(targets.txt line 2.*names chromosome 'chr9'.*FASTA .*genome.fa has no such sequence")


def test_error_chr_prefix_mismatch(tiny, tmp_path):
    sizes = {c[3:]: len(v) for c, v in tiny.codes.items()}
    _error_case(tiny, tmp_path, sizes, {"1": np.ones(30_000)},
                r"odd.bw.*names chromosome '1' but the FASTA .* calls it 'chr1'.*'chr' prefix.*[Rr]ename")


def test_error_bigwig_chromosome_shorter(tiny, tmp_path):
    sizes = {c: len(v) for c, v in tiny.codes.items()}
    sizes["chr2"] -= 1000
    _error_case(tiny, tmp_path, sizes, {},
                r"odd.bw.*chromosome chr2 is 23000 bp, shorter than in the FASTA .*24000 bp")


def test_error_nan_coverage_names_file_chrom_position(tiny, tmp_path):
    sizes = {c: len(v) for c, v in tiny.codes.items()}
    v = np.ones(24_000)
    v[12_345] = np.nan
    _error_case(tiny, tmp_path, sizes, {"chr2": v}, r"odd.bw: NaN coverage at chr2:12346")


def test_error_targets_row_missing_file(tiny, tmp_path):
    targets = write_targets(tmp_path / "targets.txt", [("dense", str(tiny.root / "dense.bw"), 100, None, 1, "sum"),
                                                        ("lost", "lost.bw", 100, None, 1, "sum")])
    with pytest.raises(FileNotFoundError, match=r"targets.txt line 3 \(identifier 'lost'\).*lost.bw does not exist"):
        data.write_dataset(tmp_path / "out", fasta=tiny.fasta, targets=targets, config=_tiny_config())
    assert _leftovers(tmp_path, "out") == []


def test_error_empty_split(tiny, tmp_path):
    # chr3 (3 kb) is shorter than a window: no usable window
    with pytest.raises(ValueError, match=r"split 'test' is empty.*genome.fa.*test_chroms \['chr3'\]"):
        data.write_dataset(tmp_path / "out", fasta=tiny.fasta, targets=tiny.targets, config=_tiny_config(test_chroms=("chr3",)))
    with pytest.raises(ValueError, match=r"names chromosome 'chrX' but the FASTA .* has no such sequence"):
        data.write_dataset(tmp_path / "out", fasta=tiny.fasta, targets=tiny.targets, config=_tiny_config(test_chroms=("chrX",)))
    assert _leftovers(tmp_path, "out") == []


def test_error_bed_chromosome_not_in_fasta(tiny, tmp_path):
    bl = write_table(tmp_path / "bl.bed", pd.DataFrame([("chr1", 10, 20), ("chrUn_x", 5, 50)]), header=False)
    with pytest.raises(ValueError, match=r"blacklist BED .*bl.bed names chromosome 'chrUn_x'.*DataConfig.chroms"):
        data.write_dataset(tmp_path / "out", fasta=tiny.fasta, targets=tiny.targets, blacklist=bl, config=_tiny_config())
    assert _leftovers(tmp_path, "out") == []
    # restricting to listed chromosomes makes the extra name harmless
    s = data.write_dataset(tmp_path / "out", fasta=tiny.fasta, targets=tiny.targets, blacklist=bl,
                           config=_tiny_config(chroms=("chr1", "chr2"), records_per_shard=64))
    assert s["test_seqs"] > 0


# ------------------------------------------------------------------ splits


def test_fraction_split_is_seeded():
    a = splits.split_by_fraction(50, valid_fraction=0.2, test_fraction=0.1, seed=4)
    b = splits.split_by_fraction(50, valid_fraction=0.2, test_fraction=0.1, seed=4)
    assert (a == b).all() and (a == "valid").sum() == 10 and (a == "test").sum() == 5
    assert not (a == splits.split_by_fraction(50, valid_fraction=0.2, test_fraction=0.1, seed=5)).all()


def slow_region_bp(blocks, R):
    """Per-base walk over every block."""
    out = {}
    for r in blocks.itertuples():
        for k in range(r.size):
            p1 = r.start1 + k
            p2 = r.start2 + k if r.strand2 > 0 else r.start2 + r.size - 1 - k
            key = (r.genome1, r.chrom1, p1 // R, r.genome2, r.chrom2, p2 // R)
            out[key] = out.get(key, 0) + 1
    return out


def test_chain_parsing_and_region_bp_match_slow_walk(tmp_path):
    # two chains: + strand crossing a target region boundary, and - strand crossing a query boundary
    chain = tmp_path / "a.chain"
    chain.write_text(
        "chain 1000 hA 5000 + 900 1300 mA 4000 + 100 510 1\n"
        "150 20 30\n"
        "230\n\n"
        "chain 500 hB 3000 + 0 300 mB 2050 - 0 310 2\n"
        "100 0 10\n"
        "200\n")
    blocks = splits.read_alignments(chain, genome1="human", genome2="mouse")
    assert blocks[["chrom1", "start1", "chrom2", "size", "strand2"]].values.tolist() == [
        ["hA", 900, "mA", 150, 1], ["hA", 1070, "mA", 230, 1], ["hB", 0, "mB", 100, -1], ["hB", 100, "mB", 200, -1]]
    # mB minus strand: block 1 is q 0..100 on the reverse strand = forward 1950..2050 (crossing 2000)
    assert blocks["start2"].tolist() == [100, 280, 1950, 1740]
    ra = splits.region_alignment(blocks, region_size=1000)
    got = {tuple(r[:6]): r[6] for r in ra.itertuples(index=False)}
    assert got == slow_region_bp(blocks, 1000)


def test_pairs_table(tmp_path):
    p = tmp_path / "pairs.tsv"
    p.write_text("chrom1\tstart1\tend1\tchrom2\tstart2\tend2\nchr1\t0\t500\tchr7\t1000\t1400\n")
    b = splits.read_alignments(p, genome1="g", genome2="g")
    assert b[["chrom1", "start1", "chrom2", "start2", "size"]].values.tolist() == [["chr1", 0, "chr7", 1000, 400]]


def test_homology_split_keeps_components_together():
    R = 10_000
    rng = np.random.default_rng(0)
    wins = []
    for g in ("human", "mouse"):
        for c in ("c1", "c2", "c3"):
            for s in range(0, 60_000 - 2000, 2000):
                wins.append((g, c, s, s + 2000))
    w = pd.DataFrame(wins, columns=["genome", "chrom", "start", "end"])
    # link random human regions to mouse regions with enough aligned bp; some links are too weak
    blocks = []
    for _ in range(25):
        c1, c2 = rng.choice(["c1", "c2", "c3"], 2)
        r1, r2 = rng.integers(0, 6, 2)
        size = int(rng.choice([3000, 500]))
        blocks.append(("human", str(c1), int(r1 * R + 100), "mouse", str(c2), int(r2 * R + 200), size, 1))
    blocks = pd.DataFrame(blocks, columns=["genome1", "chrom1", "start1", "genome2", "chrom2", "start2", "size",
                                           "strand2"])
    comp = splits.homology_components(w, blocks, region_size=R, min_aligned_bp=1000)
    split = splits.split_by_homology(w, blocks, valid_fraction=0.2, test_fraction=0.2, seed=1, region_size=R,
                                   min_aligned_bp=1000)
    for k in np.unique(comp):
        assert len(set(split[comp == k])) == 1
    # slow union-find over the strong links gives the same partition
    parent = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x
    for r in blocks.itertuples():
        if r.size > 1000:
            parent[find(("human", r.chrom1, r.start1 // R))] = find(("mouse", r.chrom2, r.start2 // R))
    roots = [find((g, c, ((s + e) // 2) // R)) for g, c, s, e in wins]
    same_fast = comp[:, None] == comp[None, :]
    ids = pd.factorize(pd.Series([repr(r) for r in roots]))[0]
    same_slow = ids[:, None] == ids[None, :]
    assert (same_fast == same_slow).all()
    n = len(w)
    assert (split == "test").sum() >= 0.2 * n and (split == "valid").sum() >= 0.2 * n and (split == "train").any()
    # one genome, no alignment: each region is its own component
    one = w[w.genome == "human"].drop(columns="genome")
    comp1 = splits.homology_components(one, None, region_size=R)
    assert len(np.unique(comp1)) == 18


def test_write_dataset_homology_mode(tiny, tmp_path):
    pairs = tmp_path / "self.tsv"
    # chr1:0-12000 aligned to chr2:0-12000 (a made-up duplication) links those regions
    pairs.write_text("chr1\t0\t12000\tchr2\t0\t12000\n")
    blocks = splits.read_alignments(pairs, genome1="genome", genome2="genome")
    cfg = _tiny_config(split_mode="homology", test_chroms=(), valid_fraction=0.2, test_fraction=0.2,
                       homology_region=8192, homology_min_aligned=4000, records_per_shard=64)
    data.write_dataset(tmp_path / "out", fasta=tiny.fasta, targets=tiny.targets, config=cfg, alignment=blocks)
    bed = tfrecord.read_sequences_bed(tmp_path / "out")
    comp = splits.homology_components(bed, blocks, region_size=8192, min_aligned_bp=4000)
    for k in np.unique(comp):
        assert bed.loc[comp == k, "split"].nunique() == 1
    assert set(bed["split"]) == {"train", "valid", "test"}


# ------------------------------------------------------------------ the pipeline's stages on their own


def _windows(n1=10, n2=5):
    starts = np.r_[np.arange(n1), np.arange(n2)] * 2048
    return pd.DataFrame({"chrom": ["chr1"] * n1 + ["chr2"] * n2, "start": starts, "end": starts + 4096})


def test_split_windows_orders_train_valid_test_with_seeded_train_order():
    w = _windows()
    out = data.split_windows(w, config=_tiny_config(), source="test windows")
    expect = splits.assign_splits(w, config=_tiny_config())
    n = {k: int((expect == k).sum()) for k in ("train", "valid", "test")}
    assert out["split"].tolist() == ["train"] * n["train"] + ["valid"] * n["valid"] + ["test"] * 5
    assert out.index.tolist() == list(range(15)) and list(out.columns) == ["chrom", "start", "end", "split"]
    # valid and test keep their order; only train is shuffled
    assert out.loc[out.split == "test", "start"].tolist() == list(range(0, 5 * 2048, 2048))
    assert out.loc[out.split == "valid", "start"].tolist() == w.loc[expect == "valid", "start"].tolist()
    assert sorted(out.loc[out.split == "train", "start"]) == sorted(w.loc[expect == "train", "start"])
    again = data.split_windows(w, config=_tiny_config())
    other = data.split_windows(w, config=_tiny_config(seed=4))
    assert again.equals(out)
    assert other.loc[other.split == "train", "start"].tolist() != out.loc[out.split == "train", "start"].tolist()
    given = w.assign(split=["valid", "train", "test"] + ["train"] * 12)
    kept = data.split_windows(given, config=_tiny_config())
    assert kept["split"].tolist() == ["train"] * 13 + ["valid", "test"]
    with pytest.raises(ValueError, match=r"split labels \['dev'\]"):
        data.split_windows(given.assign(split="dev"), config=_tiny_config())


def test_write_records_and_statistics_match_window_targets(tiny, written, tmp_path):
    out, summary = written
    cfg = _tiny_config()
    t = data.read_targets(tiny.targets)
    tracks = [data.open_track(f) for f in t["file"]]
    w = tfrecord.read_sequences_bed(out).groupby("split", sort=False).head(2).reset_index(drop=True)
    calls = []
    counts = data.write_records(tmp_path, w, codes=lambda c, a, b: tiny.codes[c][a:b], tracks=tracks, targets=t, config=cfg,
                                progress=lambda done, total: calls.append((done, total)))
    assert counts == {"train": 2, "valid": 2, "test": 2} and calls == [(i, 6) for i in range(1, 7)]
    # the records' shapes are read from statistics.json
    tfrecord.write_statistics(tmp_path, data.dataset_statistics(config=cfg, num_targets=len(t), counts=counts))
    for split in ("train", "valid", "test"):
        rows = w[w.split == split]
        for r, (codes, y) in zip(rows.itertuples(), tfrecord.iterate_records(tmp_path, split)):
            np.testing.assert_array_equal(codes, tiny.codes[r.chrom][r.start:r.end])
            want = data.window_targets(tracks, t, r.chrom, r.start, r.end, config=cfg)
            np.testing.assert_array_equal(y, data.float16_round(want))
    seqs = {k: summary[f"{k}_seqs"] for k in ("train", "valid", "test")}
    stats = data.dataset_statistics(config=cfg, num_targets=len(t), counts=seqs)
    assert stats == tfrecord.read_statistics(out)
    for tr in tracks:
        tr.close()


# ------------------------------------------------------------------ the simulated world


def test_simulated_world_makes_records(tiny_world, tmp_path):
    cfg = data.DataConfig(seq_length=8192, pool_width=128, test_chroms=("chr2",), valid_fraction=0.1,
                          records_per_shard=32, genome="sim")
    g = tiny_world / "genome"
    out = tmp_path / "world_data"
    calls = []
    s = data.write_dataset(out, fasta=g / "genome.fa", targets=tiny_world / "tracks" / "targets.txt",
                           gaps=g / "gaps.bed", blacklist=g / "blacklist.bed", config=cfg,
                           progress=lambda done, total: calls.append((done, total)))
    n = s["train_seqs"] + s["valid_seqs"] + s["test_seqs"]
    assert calls[0] == (1, n) and calls[-1] == (n, n) and s["skipped_n"] > 0
    stats = tfrecord.read_statistics(out)
    assert stats["seq_length"] == 8192 and stats["target_length"] == 64 and stats["genome"] == "sim"
    n_tracks = len(data.read_targets(tiny_world / "tracks" / "targets.txt"))
    assert stats["num_targets"] == n_tracks
    for split in ("train", "valid", "test"):
        assert s[f"{split}_seqs"] > 0 and stats[f"{split}_seqs"] == s[f"{split}_seqs"]
    x, y = next(iter(tfrecord.dataset(out, "test", batch_size=2)))
    assert x.shape == (2, 8192, 4) and y.shape == (2, 64, n_tracks)
    assert np.isfinite(y.numpy()).all() and (y.numpy() >= 0).all()
    bed = tfrecord.read_sequences_bed(out)
    assert set(bed.loc[bed.split == "test", "chrom"]) == {"chr2"}


def test_bedgraph_nan_and_empty(tmp_path):
    p = tmp_path / "x.bedGraph"
    p.write_text("chr1\t0\t10\t1.5\nchr1\t10\t20\tnan\n")
    with pytest.raises(ValueError, match=r"x.bedGraph line 2: NaN coverage at chr1:11"):
        data.open_track(p)
    p.write_text("track type=bedGraph\n")
    assert data.open_track(p).read("chr1", 0, 5).tolist() == [0.0] * 5


def test_strand_pairs_map_index_values_to_positions(tmp_path):
    """A subset targets.txt keeps basenji's original indices: strand_pair names them, not rows."""
    p = tmp_path / "targets.txt"
    p.write_text("\tidentifier\tfile\tstrand_pair\n5\ta+\tx\t6\n6\ta-\tx\t5\n9\tb\tx\t9\n11\tc\tx\t\n")
    np.testing.assert_array_equal(data.strand_pair_positions(p), [1, 0, 2, 3])
    p.write_text("\tidentifier\tfile\tstrand_pair\n0\ta\tx\t4\n")
    with pytest.raises(ValueError, match="line 2: strand_pair 4"):
        data.strand_pair_positions(p)
