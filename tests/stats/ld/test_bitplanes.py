"""The compiled .bed kernels against the plain computations they replace: bed-reader's int8 read and
numpy's standardization passes (the same bytes)."""
import numpy as np
import pytest

from stats.io.plink import bed_counts, bed_rows, open_bed, write_bfile
from stats.ld import bitplanes
from stats.ld.moments import MISSING_INT8, genotype_counts, standardize_counts, standardized_product

pytestmark = pytest.mark.skipif(not bitplanes.available(), reason="the compiled kernel is not built")


@pytest.mark.parametrize("n", [1, 4, 7, 64, 130])
def test_decode_counts_is_bed_readers_int8_read(tmp_path, n):
    """Every code (A1 homozygous, heterozygous, A2 homozygous, missing), sizes across the last byte's
    padding, columns in any order and repeated."""
    rng = np.random.default_rng(n)
    m = 37
    dos = rng.integers(0, 3, (n, m)).astype(np.int8)
    dos[rng.random(dos.shape) < 0.1] = MISSING_INT8
    dos[:, 3] = MISSING_INT8
    prefix = tmp_path / "p"
    write_bfile(prefix, dos, iid=[f"i{i}" for i in range(n)], chrom=["1"] * m, sid=[f"s{j}" for j in range(m)],
                cm=np.zeros(m), bp=np.arange(1, m + 1) * 100, allele_1=["A"] * m, allele_2=["G"] * m)
    cols = np.array([5, 0, 36, 3, 5, 17])
    with open_bed(prefix, n_individuals=n, n_snps=m) as bed:
        want = bed.read(index=np.s_[:, cols], dtype="int8")
    got = bitplanes.decode_counts(bed_rows(f"{prefix}.bed", n, m), cols, n)
    assert got.dtype == np.int8 and got.flags.f_contiguous
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, dos[:, cols])
    assert bitplanes.decode_counts(bed_rows(f"{prefix}.bed", n, m), np.array([], int), n).shape == (n, 0)
    with pytest.raises(IndexError, match="outside"):
        bitplanes.decode_counts(bed_rows(f"{prefix}.bed", n, m), np.array([m]), n)
    # the genotype counts of the same rows: the byte-table kernel, numpy's popcounts and the decoded counts
    rows = bed_rows(f"{prefix}.bed", n, m)
    fast = bed_counts(rows, n, cols)
    np.testing.assert_array_equal(fast, bed_counts(rows, n, cols, kernel="numpy"))
    np.testing.assert_array_equal(fast, genotype_counts(got))
    with pytest.raises(ValueError, match="kernel"):
        bed_counts(rows, n, cols, kernel="gpu")


def test_standardize_kernel_gives_numpys_bytes():
    """One compiled pass (SNP-major genotypes) against numpy's four passes (the row-major route):
    missing calls, monomorphic SNPs, a SNP called once, into a given array and not."""
    rng = np.random.default_rng(7)
    n, m = 301, 40
    g = rng.binomial(2, rng.uniform(0.001, 0.999, m), size=(n, m)).astype(np.int8)
    g[rng.random(g.shape) < 0.05] = MISSING_INT8
    g[:, 0], g[:, 1] = 2, MISSING_INT8
    g[:, 2] = MISSING_INT8
    g[7, 2] = 1
    g[3, 4], g[5, 6] = 3, -5                                   # not genotypes: the formula itself, as numpy
    gf = np.asfortranarray(g)
    want = standardize_counts(np.ascontiguousarray(g))
    got = standardize_counts(gf)
    assert got.flags.f_contiguous
    np.testing.assert_array_equal(got, want)
    out = np.full((n, m), np.nan, order="F")
    assert standardize_counts(gf, out=out) is out
    np.testing.assert_array_equal(out, want)
    with pytest.raises(ValueError, match="Fortran"):
        bitplanes.standardize_columns(g, n_obs=np.ones(m), s1=np.ones(m), scale=np.ones(m), out=out)


@pytest.mark.parametrize("n,m,q", [(301, 43, 5), (256, 8, 1), (1, 3, 2), (600, 0, 3)])
def test_standardized_product_is_the_sum_in_snp_order(n, m, q):
    """X y from int8 counts without writing X, against numpy's terms added in the same order (the same
    bytes on every instruction set, and through the row-major fallback), and against BLAS to rounding."""
    rng = np.random.default_rng(n + m + q)
    g = rng.binomial(2, rng.uniform(0.01, 0.99, m), size=(n, m)).astype(np.int8)
    g[rng.random(g.shape) < 0.03] = MISSING_INT8
    gf, y = np.asfortranarray(g), rng.standard_normal((m, q))
    x = standardize_counts(gf)
    want = bitplanes.standardized_dot_reference(x, y)
    try:
        for name in bitplanes._require().instruction_sets():
            bitplanes._require().use_instruction_set(name)
            got = standardized_product(gf, y)
            assert got.shape == (n, q)
            np.testing.assert_array_equal(got, want, err_msg=name)
            x_out = np.full((n, m), np.nan, order="F")          # X written in the same pass
            np.testing.assert_array_equal(standardized_product(gf, y, x_out=x_out), want, err_msg=name)
            np.testing.assert_array_equal(x_out, x, err_msg=name)
    finally:
        bitplanes._require().use_instruction_set(None)
    np.testing.assert_array_equal(standardized_product(g, y), want)   # C order: numpy, the same bytes
    x_c = np.full((n, m), np.nan)
    np.testing.assert_array_equal(standardized_product(g, y, x_out=x_c), want)
    np.testing.assert_array_equal(x_c, x)
    np.testing.assert_allclose(want, x @ y, rtol=0, atol=1e-12 * max(1.0, np.abs(y).sum()))
