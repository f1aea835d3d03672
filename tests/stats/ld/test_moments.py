"""SNP moments from genotype counts: SLDP's fast standardization against the two-pass reference."""
import numpy as np
import pytest

from stats.ld.moments import MISSING_INT8, genotype_counts, standardize_counts
from stats.ld.signed_profile import standardize_genotypes


def _codes(rng, n, m, missing=0.0):
    p = rng.uniform(0.005, 0.995, m)
    g = rng.binomial(2, p, size=(n, m)).astype(np.int8)
    g[:, 0] = 2                                   # monomorphic
    g[:, 1] = 0
    g[:, 2] = MISSING_INT8                        # never called
    g[:5, 3], g[5:, 3] = 1, MISSING_INT8          # called only as heterozygous: monomorphic among the called
    g[:, 4] = 0
    g[0, 4] = 2                                   # one rare call
    g[rng.random((n, m)) < missing] = MISSING_INT8
    return g


@pytest.mark.parametrize("missing", [0.0, 0.03])
def test_standardize_counts_equals_the_two_pass_reference(missing):
    rng = np.random.default_rng(int(missing * 100) + 1)
    g = _codes(rng, 300, 200, missing)
    dosage = np.where(g == MISSING_INT8, np.nan, g.astype(np.float64))
    want = standardize_genotypes(dosage)
    got = standardize_counts(g)
    # to rounding: the two-pass reference loses ~1e-14 on a rare call (17.2916164657908 vs the exact
    # ...790582 of a lone 2 among 300, which the counts give correctly rounded)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    assert np.all(got[:, :4] == 0.0)
    np.testing.assert_array_equal(got[g == MISSING_INT8], 0.0)
    called = np.any(got != 0, axis=0)
    np.testing.assert_allclose(got[:, called].mean(axis=0), 0.0, atol=1e-14)
    np.testing.assert_allclose((got[:, called] ** 2).mean(axis=0), 1.0, rtol=1e-13)


def test_genotype_counts_and_bad_input():
    g = np.array([[0, 1], [2, MISSING_INT8], [1, 2]], dtype=np.int8)
    np.testing.assert_array_equal(genotype_counts(g), [[2, 1, 0], [2, 1, 1]])
    with pytest.raises(ValueError, match="int8"):
        standardize_counts(g.astype(np.float64))


def test_identical_columns_groups_equal_snps():
    from stats.ld.moments import identical_columns

    g = np.array([[0, 1, 0, 2, 1], [1, 2, 1, 0, 2], [2, MISSING_INT8, 2, 1, MISSING_INT8]], dtype=np.int8)
    first, inverse, counts = identical_columns(g)
    assert len(first) == 3 and sorted(counts.tolist()) == [1, 2, 2]
    np.testing.assert_array_equal(g[:, first][:, inverse], g)
    assert inverse[0] == inverse[2] and inverse[1] == inverse[4] and inverse[3] not in (inverse[0], inverse[1])
    first, inverse, counts = identical_columns(np.zeros((0, 3), dtype=np.int8))   # no individuals
    assert len(first) == 1 and counts.tolist() == [3]


@pytest.mark.parametrize("collide", [False, True])
@pytest.mark.parametrize("n", [13, 64])
def test_identical_columns_are_grouped_by_bytes_even_when_fingerprints_collide(monkeypatch, collide, n):
    """Fingerprints group the columns and bytes confirm them: with every fingerprint equal (a forced
    collision) the groups are still the columns' byte patterns, each represented by its first column."""
    from stats.ld import moments

    rng = np.random.default_rng(n)
    g = rng.integers(0, 3, (n, 300)).astype(np.int8)
    g[:, rng.choice(300, 120, replace=False)] = g[:, rng.integers(0, 40, 120)]   # many repeats
    g = np.asfortranarray(g)
    if collide:
        monkeypatch.setattr(moments, "_multipliers", lambda k: np.zeros(k, dtype=np.uint64))
    first, inverse, counts = moments.identical_columns(g)
    np.testing.assert_array_equal(g[:, first][:, inverse], g)
    assert len(np.unique(g.T, axis=0)) == len(first) == len(counts) and counts.sum() == 300
    np.testing.assert_array_equal(np.bincount(inverse), counts)
    for grp in range(len(first)):
        assert first[grp] == np.flatnonzero(inverse == grp)[0]          # the group's first column


@pytest.mark.parametrize("n", [2_000, 200_000])
def test_standardize_counts_near_fixation_is_correctly_rounded(n):
    """One heterozygote among n homozygous 2s (mean ~2): the SD from the centred sum of squares keeps
    full precision, where E[x^2] - mean^2 loses ~n eps."""
    from decimal import Decimal, getcontext

    getcontext().prec = 50
    g = np.full((n, 1), 2, dtype=np.int8)
    g[0, 0] = 1
    x = standardize_counts(g)
    mu = Decimal(2 * n - 1) / n
    sd = ((Decimal(1) - mu) ** 2 + (n - 1) * (Decimal(2) - mu) ** 2) / n
    sd = sd.sqrt()
    for i, gi in ((0, 1), (1, 2)):
        want = float((Decimal(gi) - mu) / sd)
        assert abs(x[i, 0] - want) <= 4e-16 * abs(want), (x[i, 0], want)


def test_standardized_gram_is_exact_before_its_last_rounding():
    """X_w^T X_w from integer products: within a few ulp of the exact value (50-digit decimals), at least
    as close as the product of the rounded standardized genotypes, exactly symmetric, and None when a
    call is missing."""
    from decimal import Decimal, getcontext

    from stats.ld.moments import standardized_gram

    getcontext().prec = 50
    rng = np.random.default_rng(21)
    n, m = 120, 9
    g = _codes(rng, n, m)[:, [0, 1, 4, 5, 6, 7, 8]]            # monomorphic, rare and common SNPs
    g[:, 6] = 2 - g[:, 5]                                      # perfectly anti-correlated pair
    weights = np.array([1, 2, 1, 3, 1, 1, 2])
    got = standardized_gram(g, weights=weights)
    assert got is not None and np.array_equal(got, got.T)
    x = standardize_counts(g) * np.sqrt(weights)
    plain = x.T @ x
    cols = [[int(v) for v in g[:, j]] for j in range(g.shape[1])]
    exact = np.empty_like(got)
    err_got = err_plain = 0.0
    for i in range(len(cols)):
        for j in range(len(cols)):
            si, sj = sum(cols[i]), sum(cols[j])
            num = Decimal(n * sum(a * b for a, b in zip(cols[i], cols[j])) - si * sj)
            vi = Decimal(n * sum(a * a for a in cols[i]) - si * si)
            vj = Decimal(n * sum(a * a for a in cols[j]) - sj * sj)
            val = num * n * Decimal(int(weights[i] * weights[j])).sqrt() / (vi * vj).sqrt() if vi and vj else Decimal(0)
            exact[i, j] = float(val)
            err_got = max(err_got, abs(float(Decimal(got[i, j]) - val)))
            err_plain = max(err_plain, abs(float(Decimal(plain[i, j]) - val)))
    scale = np.abs(exact).max()
    assert err_got <= 4 * np.finfo(float).eps * scale
    assert err_got <= err_plain + np.finfo(float).eps * scale
    np.testing.assert_array_equal(got[0], 0.0)                 # monomorphic: a zero row
    g[3, 2] = MISSING_INT8
    assert standardized_gram(g) is None


def test_standardize_counts_into_a_given_array():
    rng = np.random.default_rng(8)
    g = _codes(rng, 50, 30, 0.02)
    out = np.full(g.shape, 7.0)
    got = standardize_counts(g, out=out)
    assert got is out
    np.testing.assert_array_equal(out, standardize_counts(g))
    with pytest.raises(ValueError, match="out must be float64"):
        standardize_counts(g, out=np.empty((50, 29)))
    np.testing.assert_array_equal(standardize_counts(g, counts=genotype_counts(g)), out)
    with pytest.raises(ValueError, match="counts must have shape"):
        standardize_counts(g, counts=genotype_counts(g[:, 1:]))


@pytest.mark.parametrize("n, m", [(1, 1), (63, 5), (64, 4), (130, 7), (1000, 333)])
def test_standardized_gram_bit_kernel_gives_the_blas_bytes(n, m):
    """The bit-plane kernel counts the same integer products as single-precision BLAS and rounds them in
    the same order: the same bytes on every instruction set this CPU runs (shapes across word and
    four-row boundaries), with weights and without."""
    from stats.ld import bitplanes
    from stats.ld.moments import standardized_gram

    if not bitplanes.available():
        pytest.skip("the compiled kernel is not built")
    from stats.ld import _bitplanes

    rng = np.random.default_rng(n + m)
    p = rng.uniform(0.01, 0.99, m)
    g = np.asfortranarray(rng.binomial(2, p, size=(n, m)).astype(np.int8))
    g[:, 0] = 2 if m > 1 else g[:, 0]                        # monomorphic
    weights = rng.integers(1, 5, m)
    for w in (None, weights):
        want = standardized_gram(g, weights=w, kernel="blas")
        try:
            for name in _bitplanes.instruction_sets():
                _bitplanes.use_instruction_set(name)
                got = standardized_gram(g, weights=w, kernel="bits")
                np.testing.assert_array_equal(got, want, err_msg=name)
                np.testing.assert_array_equal(got, got.T)
                np.testing.assert_array_equal(standardized_gram(np.ascontiguousarray(g), weights=w, kernel="bits"), want)
        finally:
            _bitplanes.use_instruction_set(None)
    with pytest.raises(ValueError, match="kernel"):
        standardized_gram(g, kernel="gpu")
