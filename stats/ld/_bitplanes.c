/* Exact LD-score sums on bit planes: the compiled kernels of stats/ld/bitplanes.py.
 *
 * Genotypes are hard calls, so every cross-product x_i . x_j is an integer counted with AND + popcount on
 * bit planes a = (x >= 1), b = (x == 2), m = missing (x counted as 0 there). Since b is a subset of a,
 *   x_i . x_j = |a_i & a_j| + 2 |b_i & b_j| + |(a_i & b_j) | (b_i & a_j)|
 * (the two middle terms of the four-term expansion overlap exactly on b_i & b_j). ldsc's standardized
 * correlation is then assembled in float64, as bitplanes.py describes. The same products give the exact
 * Gram matrix of a block's standardized SNPs (counts_gram, for the SLDP eigen-decomposition).
 *
 * Built at install time (setup.py); the loops are compiled for three instruction sets (AVX-512 with its
 * vector popcount; AVX2, whose popcounts are nibble lookups; baseline) and the best one the CPU has is picked
 * at run time (use_instruction_set() picks another, for tests), so one build runs on any x86-64 machine.
 * Every variant gives the same sums to the last bit. Floating point is kept in source order (-ffp-contract=off): the row-walking and
 * column-walking paths of band_chunk give the same sums to the last bit.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define X86_VARIANTS 1
#include <immintrin.h>
#if defined(__clang__)
#define AVX512_TARGET "avx512f,avx512vl,avx512bw,avx512dq,avx512vpopcntdq,popcnt"
#else /* GCC would otherwise keep 256-bit vectors */
#define AVX512_TARGET "avx512f,avx512vl,avx512bw,avx512dq,avx512vpopcntdq,popcnt,prefer-vector-width=512"
#endif
#endif

#define INLINE static inline __attribute__((always_inline))

/* ---------------------------------------------------------------- decoding */

/* Per .bed byte (four genotypes, two bits each): the 4-bit nibbles of the a, b and m planes. The codes are
 * 0 = homozygous A1 (x = 2), 1 = missing, 2 = heterozygous, 3 = homozygous A2 (x = 0). */
static uint8_t lut_a[256], lut_b[256], lut_m[256];
static uint8_t lut_na[256], lut_nb[256], lut_nm[256]; /* how many of a byte's four genotypes have x >= 1, x == 2, missing */
static int8_t lut_counts[256][4]; /* the four A1 counts of a .bed byte, bed-reader's int8 (-127 = missing) */

static void init_luts(void)
{
    for (unsigned v = 0; v < 256; v++) {
        unsigned a = 0, b = 0, m = 0;
        for (unsigned t = 0; t < 4; t++) {
            const unsigned code = (v >> (2 * t)) & 3u;
            if (code == 0u || code == 2u) a |= 1u << t;
            if (code == 0u) b |= 1u << t;
            if (code == 1u) m |= 1u << t;
        }
        for (unsigned t = 0; t < 4; t++) {
            static const int8_t count_of_code[4] = {2, -127, 1, 0};
            lut_counts[v][t] = count_of_code[(v >> (2 * t)) & 3u];
        }
        lut_na[v] = (uint8_t)__builtin_popcount(a);
        lut_nb[v] = (uint8_t)__builtin_popcount(b);
        lut_nm[v] = (uint8_t)__builtin_popcount(m);
        lut_a[v] = (uint8_t)a;
        lut_b[v] = (uint8_t)b;
        lut_m[v] = (uint8_t)m;
    }
}

/* planes (k, 3 nw), SNP-major: row c holds the a, b and m words of SNP rows[cols[c]]. */
static void decode_planes(const uint8_t *raw, int64_t nbytes, const int64_t *cols, int64_t k, int64_t n,
                          uint64_t *planes)
{
    const int64_t nw = (n + 63) / 64;
    const int64_t tail = n - 64 * (nw - 1);
    const uint64_t last_mask = tail == 64 ? ~(uint64_t)0 : (((uint64_t)1 << tail) - 1);
    for (int64_t c = 0; c < k; c++) {
        const uint8_t *src = raw + cols[c] * nbytes;
        uint64_t *row = planes + c * 3 * nw;
        for (int64_t w = 0; w < nw; w++) {
            uint64_t a = 0, b = 0, m = 0;
            const int64_t lo = 16 * w, hi = lo + 16 < nbytes ? lo + 16 : nbytes;
            for (int64_t q = lo; q < hi; q++) {
                const unsigned v = src[q], sh = (unsigned)(4 * (q - lo));
                a |= (uint64_t)lut_a[v] << sh;
                b |= (uint64_t)lut_b[v] << sh;
                m |= (uint64_t)lut_m[v] << sh;
            }
            if (w == nw - 1) {
                a &= last_mask;
                b &= last_mask;
                m &= last_mask;
            }
            row[w] = a;
            row[nw + w] = b;
            row[2 * nw + w] = m;
        }
    }
}

/* out (k columns of n, SNP-major): the A1 counts of the .bed rows raw[cols] */
static void decode_counts(const uint8_t *raw, int64_t nbytes, const int64_t *cols, int64_t k, int64_t n, int8_t *out)
{
    const int64_t full = n / 4, tail = n - 4 * full;
    for (int64_t c = 0; c < k; c++) {
        const uint8_t *src = raw + cols[c] * nbytes;
        int8_t *dst = out + c * n;
        for (int64_t q = 0; q < full; q++) memcpy(dst + 4 * q, lut_counts[src[q]], 4);
        if (tail) memcpy(dst + 4 * full, lut_counts[src[full]], (size_t)tail);
    }
}

/* out (k, 3): per .bed row raw[cols[c]], the individuals with x >= 1, with x == 2 and missing (the padding
 * genotypes of the last byte not counted) */
static void bed_counts(const uint8_t *raw, int64_t nbytes, const int64_t *cols, int64_t k, int64_t n, int64_t *out)
{
    const int64_t full = n / 4, tail = n - 4 * full;
    const unsigned tail_mask = (1u << tail) - 1u;
    for (int64_t c = 0; c < k; c++) {
        const uint8_t *src = raw + cols[c] * nbytes;
        int64_t a = 0, b = 0, m = 0;
        for (int64_t q = 0; q < full; q++) {
            const unsigned v = src[q];
            a += lut_na[v];
            b += lut_nb[v];
            m += lut_nm[v];
        }
        if (tail) {
            const unsigned v = src[full];
            a += __builtin_popcount(lut_a[v] & tail_mask);
            b += __builtin_popcount(lut_b[v] & tail_mask);
            m += __builtin_popcount(lut_m[v] & tail_mask);
        }
        out[3 * c] = a;
        out[3 * c + 1] = b;
        out[3 * c + 2] = m;
    }
}

/* x = (g a - b) / d of len int8 counts of one SNP, 0 where missing (-127): the float64 operations of numpy's
 * passes in stats.ld.moments.standardize_counts, in their order. Counts take three values, so each is computed
 * once (the same bytes) and the loop only selects; any other value takes the formula itself. */
INLINE void column_values(const int8_t *restrict col, int64_t len, double a, double b, double d, double *restrict dst)
{
    const double v0 = ((double)0 * a - b) / d, v1 = ((double)1 * a - b) / d, v2 = ((double)2 * a - b) / d;
    int odd = 0;
    for (int64_t i = 0; i < len; i++) {
        const int8_t c = col[i];
        double x = 0.0;
        x = c == 0 ? v0 : x;
        x = c == 1 ? v1 : x;
        x = c == 2 ? v2 : x;
        dst[i] = x;
        odd |= (c > 2) | ((c < 0) & (c != -127));
    }
    if (odd)
        for (int64_t i = 0; i < len; i++)
            if (col[i] > 2 || (col[i] < 0 && col[i] != -127)) dst[i] = ((double)col[i] * a - b) / d;
}

/* out[q * n + i] = sum over c of x[i, c] y[c * nq + q], x as column_values computes it, without writing x: rows in tiles
 * whose x stays in cache; each sum runs over c in order from 0, multiply then add (stats.ld.bitplanes.
 * standardized_dot_reference makes the same operations in numpy). */
#define DOT_TILE 256
typedef struct {
    const int8_t *g;
    int64_t n, k, nq;
    const double *n_obs, *s1, *scale, *y;
    double *out;
    double *x; /* when not NULL, X itself (n, k), SNP-major */
} dot_args;

INLINE void dot_body(const dot_args *g)
{
    double x[4][DOT_TILE];
    memset(g->out, 0, sizeof(double) * g->n * g->nq);
    for (int64_t i0 = 0; i0 < g->n; i0 += DOT_TILE) {
        const int64_t len = g->n - i0 < DOT_TILE ? g->n - i0 : DOT_TILE;
        int64_t c = 0;
        for (; c + 4 <= g->k; c += 4) { /* four SNPs per pass over the output tile, added in order */
            for (int t = 0; t < 4; t++) {
                column_values(g->g + (c + t) * g->n + i0, len, g->n_obs[c + t], g->s1[c + t], g->scale[c + t], x[t]);
                if (g->x) memcpy(g->x + (c + t) * g->n + i0, x[t], sizeof(double) * len);
            }
            const double *yc = g->y + c * g->nq;
            for (int64_t q = 0; q < g->nq; q++) {
                const double y0 = yc[q], y1 = yc[g->nq + q], y2 = yc[2 * g->nq + q], y3 = yc[3 * g->nq + q];
                double *restrict o = g->out + q * g->n + i0;
                for (int64_t i = 0; i < len; i++) o[i] = o[i] + x[0][i] * y0 + x[1][i] * y1 + x[2][i] * y2 + x[3][i] * y3;
            }
        }
        for (; c < g->k; c++) {
            column_values(g->g + c * g->n + i0, len, g->n_obs[c], g->s1[c], g->scale[c], x[0]);
            if (g->x) memcpy(g->x + c * g->n + i0, x[0], sizeof(double) * len);
            const double *yc = g->y + c * g->nq;
            for (int64_t q = 0; q < g->nq; q++) {
                const double yq = yc[q];
                double *restrict o = g->out + q * g->n + i0;
                for (int64_t i = 0; i < len; i++) o[i] += x[0][i] * yq;
            }
        }
    }
}

/* ---------------------------------------------------------------- band sums */

typedef struct {
    const uint64_t *planes; /* word-major (3 nw, rows): column k is kept SNP buf0 + k */
    int64_t nw, rows, buf0;
    const double *mu, *scale;
    const uint8_t *has_miss;
    const int64_t *lefts;
    const double *annot; /* (m, na) */
    int64_t na, j0, j1, n;
    double d;
    double *acc; /* (., na): row r is SNP acc0 + r */
    int64_t acc0;
    int64_t width;                 /* the widest window, j + 1 - lefts[j] */
    int64_t *cx, *cxm, *cmx, *cmm; /* scratch: cx 4 (width + 3), the others width each */
    double *r2, *tots;
} band_args;

/* cq[t] = x_{l0+t} . x_{jr[q]} (kept SNPs as plane columns) for t < cnt and four targets q at once, so that
 * each window word is loaded once for four targets */
INLINE void products4(const uint64_t *P, int64_t nw, int64_t rows, int64_t l0, int64_t cnt, const int64_t jr[4],
                      int64_t *restrict c0, int64_t *restrict c1, int64_t *restrict c2, int64_t *restrict c3)
{
    memset(c0, 0, sizeof(int64_t) * cnt);
    memset(c1, 0, sizeof(int64_t) * cnt);
    memset(c2, 0, sizeof(int64_t) * cnt);
    memset(c3, 0, sizeof(int64_t) * cnt);
    for (int64_t w = 0; w < nw; w++) {
        const uint64_t *pa = P + w * rows, *pb = P + (nw + w) * rows;
        const uint64_t a0 = pa[jr[0]], a1 = pa[jr[1]], a2 = pa[jr[2]], a3 = pa[jr[3]];
        const uint64_t b0 = pb[jr[0]], b1 = pb[jr[1]], b2 = pb[jr[2]], b3 = pb[jr[3]];
        const uint64_t *restrict A = P + w * rows + l0;
        const uint64_t *restrict B = P + (nw + w) * rows + l0;
        for (int64_t t = 0; t < cnt; t++) {
            const uint64_t ai = A[t], bi = B[t];
            c0[t] += __builtin_popcountll(ai & a0) + 2 * __builtin_popcountll(bi & b0)
                     + __builtin_popcountll((ai & b0) | (bi & a0));
            c1[t] += __builtin_popcountll(ai & a1) + 2 * __builtin_popcountll(bi & b1)
                     + __builtin_popcountll((ai & b1) | (bi & a1));
            c2[t] += __builtin_popcountll(ai & a2) + 2 * __builtin_popcountll(bi & b2)
                     + __builtin_popcountll((ai & b2) | (bi & a2));
            c3[t] += __builtin_popcountll(ai & a3) + 2 * __builtin_popcountll(bi & b3)
                     + __builtin_popcountll((ai & b3) | (bi & a3));
        }
    }
}

#ifdef X86_VARIANTS
/* products4 for AVX2, which has no vector popcount (GCC leaves the loop above scalar there): bytes counted by
 * nibble lookups (pshufb), the three counts of a pair-word added per byte (at most 32), then summed into
 * 64-bit lanes (psadbw). Four window SNPs per vector. */
__attribute__((target("avx2,popcnt"), noinline))
static void products4_avx2(const uint64_t *P, int64_t nw, int64_t rows, int64_t l0, int64_t cnt, const int64_t jr[4],
                           int64_t *c0, int64_t *c1, int64_t *c2, int64_t *c3)
{
    int64_t *cs[4] = {c0, c1, c2, c3};
    for (int q = 0; q < 4; q++) memset(cs[q], 0, sizeof(int64_t) * cnt);
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i nib = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
#define PC8(x) _mm256_add_epi8(_mm256_shuffle_epi8(lut, _mm256_and_si256((x), nib)), \
                               _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16((x), 4), nib)))
    const int64_t cnt4 = cnt - cnt % 4;
    for (int64_t w = 0; w < nw; w++) {
        const uint64_t *pa = P + w * rows, *pb = P + (nw + w) * rows;
        const uint64_t *A = pa + l0, *B = pb + l0;
        for (int q = 0; q < 4; q++) {
            const uint64_t aj = pa[jr[q]], bj = pb[jr[q]];
            const __m256i va = _mm256_set1_epi64x((long long)aj), vb = _mm256_set1_epi64x((long long)bj);
            int64_t *c = cs[q];
            for (int64_t t = 0; t < cnt4; t += 4) {
                const __m256i ai = _mm256_loadu_si256((const __m256i *)(A + t));
                const __m256i bi = _mm256_loadu_si256((const __m256i *)(B + t));
                const __m256i pbb = PC8(_mm256_and_si256(bi, vb));
                __m256i bytes = _mm256_add_epi8(PC8(_mm256_and_si256(ai, va)), _mm256_add_epi8(pbb, pbb));
                bytes = _mm256_add_epi8(bytes, PC8(_mm256_or_si256(_mm256_and_si256(ai, vb), _mm256_and_si256(bi, va))));
                const __m256i sums = _mm256_sad_epu8(bytes, zero);
                __m256i *dst = (__m256i *)(c + t);
                _mm256_storeu_si256(dst, _mm256_add_epi64(_mm256_loadu_si256(dst), sums));
            }
            for (int64_t t = cnt4; t < cnt; t++) {
                const uint64_t ai = A[t], bi = B[t];
                c[t] += __builtin_popcountll(ai & aj) + 2 * __builtin_popcountll(bi & bj)
                        + __builtin_popcountll((ai & bj) | (bi & aj));
            }
        }
    }
#undef PC8
}
#endif

/* From the integer products cx (x_i . x_j for i = lefts[j]..j) to r~2 and the annotation sums of SNP j */
INLINE void finish_target(const band_args *g, int64_t j, const int64_t *restrict cx)
{
    const uint64_t *P = g->planes;
    const int64_t nw = g->nw, rows = g->rows, na = g->na;
    const double nf = (double)g->n, c1 = 1.0 + 1.0 / g->d, c0 = 1.0 / g->d;
    int64_t *restrict cxm = g->cxm, *restrict cmx = g->cmx, *restrict cmm = g->cmm;
    double *restrict r2 = g->r2;
    const int64_t jr = j - g->buf0, lo = g->lefts[j], l0 = lo - g->buf0, cnt = j + 1 - lo;
    int any_miss = g->has_miss[j] != 0;
    for (int64_t t = 0; t < cnt && !any_miss; t++) any_miss = g->has_miss[lo + t] != 0;
    const double muj = g->mu[j], sj = g->scale[j];
    if (any_miss) { /* x~_i . x~_j = x_i . x_j + mu_j x_i . m_j + mu_i m_i . x_j + mu_i mu_j m_i . m_j */
        memset(cxm, 0, sizeof(int64_t) * cnt);
        memset(cmx, 0, sizeof(int64_t) * cnt);
        memset(cmm, 0, sizeof(int64_t) * cnt);
        for (int64_t w = 0; w < nw; w++) {
            const uint64_t aj = P[w * rows + jr], bj = P[(nw + w) * rows + jr], mj = P[(2 * nw + w) * rows + jr];
            const uint64_t *restrict A = P + w * rows + l0;
            const uint64_t *restrict B = P + (nw + w) * rows + l0;
            const uint64_t *restrict M = P + (2 * nw + w) * rows + l0;
            /* three loops, one accumulator each: GCC vectorizes these, not the fused loop */
            for (int64_t t = 0; t < cnt; t++)
                cxm[t] += __builtin_popcountll(A[t] & mj) + __builtin_popcountll(B[t] & mj);
            for (int64_t t = 0; t < cnt; t++)
                cmx[t] += __builtin_popcountll(M[t] & aj) + __builtin_popcountll(M[t] & bj);
            for (int64_t t = 0; t < cnt; t++) cmm[t] += __builtin_popcountll(M[t] & mj);
        }
        for (int64_t t = 0; t < cnt; t++) {
            const int64_t i = lo + t;
            const double mui = g->mu[i];
            const double gx = (double)cx[t] + muj * (double)cxm[t] + mui * (double)cmx[t]
                              + mui * muj * (double)cmm[t];
            const double r = (gx - nf * mui * muj) * (g->scale[i] * sj);
            r2[t] = r * r * c1 - c0; /* r^2 - (1 - r^2) / d */
        }
    } else {
        for (int64_t t = 0; t < cnt; t++) {
            const int64_t i = lo + t;
            const double r = ((double)cx[t] - nf * g->mu[i] * muj) * (g->scale[i] * sj);
            r2[t] = r * r * c1 - c0;
        }
    }
    r2[cnt - 1] *= 0.5; /* the diagonal pair enters once, through both sums below */
    const double *annot = g->annot;
    double *acc = g->acc;
    if (na <= 8) { /* few columns: vector loops along the window */
        for (int64_t q = 0; q < na; q++) {
            const double ajq = annot[j * na + q];
            double tot = 0.0;
            for (int64_t t = 0; t < cnt; t++) {
                tot += r2[t] * annot[(lo + t) * na + q];
                acc[(lo + t - g->acc0) * na + q] += r2[t] * ajq;
            }
            acc[(j - g->acc0) * na + q] += tot;
        }
    } else { /* many columns: walk rows, so annot and acc are read contiguously */
        double *tots = g->tots;
        for (int64_t q = 0; q < na; q++) tots[q] = 0.0;
        const double *aj = annot + j * na;
        for (int64_t t = 0; t < cnt; t++) {
            const double rt = r2[t];
            const double *ar = annot + (lo + t) * na;
            double *accr = acc + (lo + t - g->acc0) * na;
            for (int64_t q = 0; q < na; q++) {
                tots[q] += rt * ar[q];
                accr[q] += rt * aj[q];
            }
        }
        for (int64_t q = 0; q < na; q++) acc[(j - g->acc0) * na + q] += tots[q];
    }
}

/* Targets in fours (the last group repeats its last target): g->cx holds 4 (width + 3) integers, the
 * products of four consecutive targets over their joint range. */
INLINE void band_chunk_body(const band_args *g, int avx2)
{
    const int64_t stride = g->width + 3;
    int64_t *cx = g->cx;
    for (int64_t j = g->j0; j < g->j1; j += 4) {
        const int64_t k = g->j1 - j < 4 ? g->j1 - j : 4, last = j + k - 1;
        const int64_t lo = g->lefts[j], cnt = last + 1 - lo; /* lefts is non-decreasing */
        int64_t jr[4];
        for (int64_t q = 0; q < 4; q++) jr[q] = (q < k ? j + q : last) - g->buf0;
#ifdef X86_VARIANTS
        if (avx2)
            products4_avx2(g->planes, g->nw, g->rows, lo - g->buf0, cnt, jr, cx, cx + stride, cx + 2 * stride,
                           cx + 3 * stride);
        else
#endif
            products4(g->planes, g->nw, g->rows, lo - g->buf0, cnt, jr, cx, cx + stride, cx + 2 * stride,
                      cx + 3 * stride);
        for (int64_t q = 0; q < k; q++) finish_target(g, j + q, cx + q * stride + (g->lefts[j + q] - lo));
    }
}

/* ---------------------------------------------------------------- Gram matrices of int8 counts */

/* The a and b planes, word-major (2 nw, k), of k SNPs of int8 allele counts without missing calls (SNP c's
 * n counts at g + c * ld) */
static void pack_counts(const int8_t *g, int64_t ld, int64_t n, int64_t k, uint64_t *P)
{
    const int64_t nw = (n + 63) / 64;
    for (int64_t c = 0; c < k; c++) {
        const int8_t *col = g + c * ld;
        for (int64_t w = 0; w < nw; w++) {
            uint64_t a = 0, b = 0;
            const int64_t lo = 64 * w, hi = lo + 64 < n ? lo + 64 : n;
            for (int64_t i = lo; i < hi; i++) {
                a |= (uint64_t)(col[i] >= 1) << (i - lo);
                b |= (uint64_t)(col[i] == 2) << (i - lo);
            }
            P[w * k + c] = a;
            P[(nw + w) * k + c] = b;
        }
    }
}

typedef struct {
    const uint64_t *planes; /* (2 nw, k) */
    int64_t nw, k;
    double nf;
    const double *s, *f; /* allele sums and column factors, (k,) */
    double *out;         /* (k, k) */
    int64_t *cx;         /* scratch, 4 (k + 3) */
} gram_args;

/* out[r, t] = (n x_r . x_t - s_r s_t) (f_r f_t) for every pair: four rows at a time against the SNPs up to
 * the last of them (the lower triangle), then copied to the upper one. Every term before the last product is an integer
 * below 2^53, so the value rounds only in the factor and the product, in the order numpy's passes take. */
#ifdef X86_VARIANTS
/* products4 for the Gram matrix on AVX-512: eight window SNPs per vector, the sums over words kept in
 * registers (the band kernel's loop order adds into memory once per word) */
__attribute__((target(AVX512_TARGET), noinline))
static void gram_products4_avx512(const uint64_t *P, int64_t nw, int64_t rows, int64_t cnt, const int64_t jr[4],
                                  int64_t *c0, int64_t *c1, int64_t *c2, int64_t *c3)
{
    int64_t *cs[4] = {c0, c1, c2, c3};
    const int64_t cnt8 = cnt - cnt % 8;
    for (int64_t t = 0; t < cnt8; t += 8) {
        __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
        for (int64_t w = 0; w < nw; w++) {
            const uint64_t *pa = P + w * rows, *pb = P + (nw + w) * rows;
            const __m512i A = _mm512_loadu_si512((const void *)(pa + t)), B = _mm512_loadu_si512((const void *)(pb + t));
#define TERM(S, Q)                                                                                                 \
    {                                                                                                              \
        const __m512i aj = _mm512_set1_epi64((long long)pa[jr[Q]]), bj = _mm512_set1_epi64((long long)pb[jr[Q]]); \
        const __m512i pbb = _mm512_popcnt_epi64(_mm512_and_si512(B, bj));                                          \
        S = _mm512_add_epi64(S, _mm512_popcnt_epi64(_mm512_and_si512(A, aj)));                                     \
        S = _mm512_add_epi64(S, _mm512_add_epi64(pbb, pbb));                                                       \
        S = _mm512_add_epi64(S, _mm512_popcnt_epi64(_mm512_or_si512(_mm512_and_si512(A, bj), _mm512_and_si512(B, aj)))); \
    }
            TERM(s0, 0) TERM(s1, 1) TERM(s2, 2) TERM(s3, 3)
#undef TERM
        }
        _mm512_storeu_si512((void *)(c0 + t), s0);
        _mm512_storeu_si512((void *)(c1 + t), s1);
        _mm512_storeu_si512((void *)(c2 + t), s2);
        _mm512_storeu_si512((void *)(c3 + t), s3);
    }
    for (int q = 0; q < 4; q++) {
        for (int64_t t = cnt8; t < cnt; t++) {
            int64_t acc = 0;
            for (int64_t w = 0; w < nw; w++) {
                const uint64_t ai = P[w * rows + t], bi = P[(nw + w) * rows + t];
                const uint64_t aj = P[w * rows + jr[q]], bj = P[(nw + w) * rows + jr[q]];
                acc += __builtin_popcountll(ai & aj) + 2 * __builtin_popcountll(bi & bj)
                       + __builtin_popcountll((ai & bj) | (bi & aj));
            }
            cs[q][t] = acc;
        }
    }
}
#endif

INLINE void gram_body(const gram_args *g, int variant) /* 2: AVX-512 products, 1: AVX2, 0: portable */
{
    const int64_t k = g->k, stride = k + 3;
    int64_t *cx = g->cx;
    for (int64_t j = 0; j < k; j += 4) {
        const int64_t kq = k - j < 4 ? k - j : 4, last = j + kq - 1, cnt = last + 1;
        int64_t jr[4];
        for (int64_t q = 0; q < 4; q++) jr[q] = q < kq ? j + q : last;
#ifdef X86_VARIANTS
        if (variant == 2)
            gram_products4_avx512(g->planes, g->nw, k, cnt, jr, cx, cx + stride, cx + 2 * stride, cx + 3 * stride);
        else if (variant == 1)
            products4_avx2(g->planes, g->nw, k, 0, cnt, jr, cx, cx + stride, cx + 2 * stride, cx + 3 * stride);
        else
#endif
            products4(g->planes, g->nw, k, 0, cnt, jr, cx, cx + stride, cx + 2 * stride, cx + 3 * stride);
        for (int64_t q = 0; q < kq; q++) {
            const int64_t r = j + q;
            const int64_t *c = cx + q * stride;
            const double sr = g->s[r], fr = g->f[r];
            double *row = g->out + r * k;
            for (int64_t t = 0; t <= r; t++) row[t] = ((double)c[t] * g->nf - sr * g->s[t]) * (fr * g->f[t]);
        }
    }
    /* the upper triangle from the lower, in tiles that stay in cache */
    for (int64_t r0 = 0; r0 < k; r0 += 64)
        for (int64_t t0 = 0; t0 <= r0; t0 += 64)
            for (int64_t r = r0; r < (r0 + 64 < k ? r0 + 64 : k); r++)
                for (int64_t t = t0; t < (t0 + 64 < r ? t0 + 64 : r); t++) g->out[t * k + r] = g->out[r * k + t];
}

#ifdef X86_VARIANTS
__attribute__((target(AVX512_TARGET)))
static void band_chunk_avx512(const band_args *g) { band_chunk_body(g, 0); }
__attribute__((target("avx2,popcnt"))) static void band_chunk_avx2(const band_args *g) { band_chunk_body(g, 1); }
#endif
static void band_chunk_base(const band_args *g) { band_chunk_body(g, 0); }
#ifdef X86_VARIANTS
__attribute__((target(AVX512_TARGET))) static void gram_avx512(const gram_args *g) { gram_body(g, 2); }
__attribute__((target("avx2,popcnt"))) static void gram_avx2(const gram_args *g) { gram_body(g, 1); }
#endif
static void gram_base(const gram_args *g) { gram_body(g, 0); }
#ifdef X86_VARIANTS
__attribute__((target(AVX512_TARGET))) static void dot_avx512(const dot_args *g) { dot_body(g); }
__attribute__((target("avx2,popcnt"))) static void dot_avx2(const dot_args *g) { dot_body(g); }
#endif
static void dot_base(const dot_args *g) { dot_body(g); }

typedef void (*band_fn)(const band_args *);
typedef void (*gram_fn)(const gram_args *);
typedef void (*dot_fn)(const dot_args *);

/* The compiled variants, best first, and whether this CPU runs each */
static int supports_avx512(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
#else
    return 0;
#endif
}

static int supports_avx2(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
#else
    return 0;
#endif
}

static int supports_base(void) { return 1; }

static const struct {
    const char *name;
    band_fn fn;
    gram_fn gram;
    dot_fn dot;
    int (*supported)(void);
} levels[] = {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    {"avx512-vpopcntdq", band_chunk_avx512, gram_avx512, dot_avx512, supports_avx512},
    {"avx2", band_chunk_avx2, gram_avx2, dot_avx2, supports_avx2},
#endif
    {"baseline", band_chunk_base, gram_base, dot_base, supports_base},
};
#define N_LEVELS ((int)(sizeof(levels) / sizeof(levels[0])))

static int level = N_LEVELS - 1;

static int best_level(void)
{
    for (int i = 0; i < N_LEVELS; i++)
        if (levels[i].supported()) return i;
    return N_LEVELS - 1;
}


/* ---------------------------------------------------------------- Python bindings */

static int need(const Py_buffer *b, Py_ssize_t bytes, const char *what)
{
    if (b->len < bytes) {
        PyErr_Format(PyExc_ValueError, "%s: buffer of %zd bytes, %zd needed", what, b->len, bytes);
        return 0;
    }
    return 1;
}

/* Whether the .bed rows raw (nbytes each, for n individuals) hold the k rows c (else an exception is set) */
static int check_rows(const char *fn, const Py_buffer *raw, Py_ssize_t nbytes, Py_ssize_t n, const int64_t *c,
                      Py_ssize_t k)
{
    if (n <= 0 || nbytes != (n + 3) / 4) {
        PyErr_Format(PyExc_ValueError, "%s: %zd bytes per SNP for %zd individuals", fn, nbytes, n);
        return 0;
    }
    const Py_ssize_t m_total = raw->len / nbytes;
    for (Py_ssize_t i = 0; i < k; i++) {
        if (c[i] < 0 || c[i] >= m_total) {
            PyErr_Format(PyExc_IndexError, "%s: SNP row %lld outside the %zd rows", fn, (long long)c[i], m_total);
            return 0;
        }
    }
    return 1;
}

/* The kernels over .bed rows: raw[cols] (nbytes each, n individuals) into out, out_row bytes per row */
typedef void (*rows_kernel)(const uint8_t *raw, int64_t nbytes, const int64_t *cols, int64_t k, int64_t n, void *out);

static void decode_planes_k(const uint8_t *raw, int64_t nbytes, const int64_t *cols, int64_t k, int64_t n, void *out)
{
    decode_planes(raw, nbytes, cols, k, n, (uint64_t *)out);
}

static void decode_counts_k(const uint8_t *raw, int64_t nbytes, const int64_t *cols, int64_t k, int64_t n, void *out)
{
    decode_counts(raw, nbytes, cols, k, n, (int8_t *)out);
}

static void bed_counts_k(const uint8_t *raw, int64_t nbytes, const int64_t *cols, int64_t k, int64_t n, void *out)
{
    bed_counts(raw, nbytes, cols, k, n, (int64_t *)out);
}

static PyObject *rows_call(PyObject *args, const char *fn, rows_kernel kernel, int out_kind)
{
    Py_buffer raw, cols, out;
    Py_ssize_t nbytes, n;
    if (!PyArg_ParseTuple(args, "y*ny*nw*", &raw, &nbytes, &cols, &n, &out)) return NULL;
    PyObject *ret = NULL;
    const Py_ssize_t k = cols.len / (Py_ssize_t)sizeof(int64_t);
    const int64_t *c = (const int64_t *)cols.buf;
    /* bytes per row of out: the three planes' words, the n counts, or three int64 */
    const Py_ssize_t out_row = out_kind == 0 ? 3 * ((n + 63) / 64) * 8 : out_kind == 1 ? n : 3 * 8;
    if (!check_rows(fn, &raw, nbytes, n, c, k) || !need(&out, k * out_row, fn)) goto done;
    Py_BEGIN_ALLOW_THREADS
    kernel((const uint8_t *)raw.buf, nbytes, c, k, n, out.buf);
    Py_END_ALLOW_THREADS
    ret = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&raw);
    PyBuffer_Release(&cols);
    PyBuffer_Release(&out);
    return ret;
}

static PyObject *py_decode_planes(PyObject *self, PyObject *args)
{
    return rows_call(args, "decode_planes", decode_planes_k, 0);
}

static PyObject *py_decode_counts(PyObject *self, PyObject *args)
{
    return rows_call(args, "decode_counts", decode_counts_k, 1);
}

static PyObject *py_bed_counts(PyObject *self, PyObject *args) { return rows_call(args, "bed_counts", bed_counts_k, 2); }


static PyObject *py_band_chunk(PyObject *self, PyObject *args)
{
    Py_buffer planes, mu, scale, has_miss, lefts, annot, acc;
    Py_ssize_t nw, rows, buf0, na, j0, j1, n, acc0;
    double d;
    if (!PyArg_ParseTuple(args, "y*nnny*y*y*y*y*nnnndw*n", &planes, &nw, &rows, &buf0, &mu, &scale, &has_miss,
                          &lefts, &annot, &na, &j0, &j1, &n, &d, &acc, &acc0))
        return NULL;
    PyObject *ret = NULL;
    int64_t *scratch = NULL;
    double *fscratch = NULL;
    const Py_ssize_t m = lefts.len / (Py_ssize_t)sizeof(int64_t);
    if (!(j0 >= 0 && j0 <= j1 && j1 <= m && na >= 1 && nw >= 1)) {
        PyErr_Format(PyExc_ValueError, "band_chunk: SNPs %zd..%zd of %zd, %zd columns", j0, j1, m, na);
        goto done;
    }
    if (!need(&planes, 3 * nw * rows * 8, "band_chunk planes") || !need(&mu, m * 8, "band_chunk mu") ||
        !need(&scale, m * 8, "band_chunk scale") || !need(&has_miss, m, "band_chunk has_miss") ||
        !need(&annot, m * na * 8, "band_chunk annot"))
        goto done;
    if (j1 == j0) {
        ret = Py_NewRef(Py_None);
        goto done;
    }
    const int64_t *L = (const int64_t *)lefts.buf;
    int64_t width = 1;
    for (Py_ssize_t j = j0; j < j1; j++) {
        if (L[j] < buf0 || L[j] > j || L[j] < acc0 || j - buf0 >= rows || (j > j0 && L[j] < L[j - 1])) {
            PyErr_Format(PyExc_ValueError, "band_chunk: SNP %zd's window start %lld is outside the planes or "
                         "accumulator, or before the previous SNP's", j, (long long)L[j]);
            goto done;
        }
        if (j + 1 - L[j] > width) width = j + 1 - L[j];
    }
    if (!need(&acc, (j1 - acc0) * na * 8, "band_chunk acc")) goto done;
    scratch = malloc(sizeof(int64_t) * (4 * (width + 3) + 3 * width));
    fscratch = malloc(sizeof(double) * (width + na));
    if (!scratch || !fscratch) {
        PyErr_NoMemory();
        goto done;
    }
    band_args g = {(const uint64_t *)planes.buf, nw, rows, buf0, (const double *)mu.buf, (const double *)scale.buf,
                   (const uint8_t *)has_miss.buf, L, (const double *)annot.buf, na, j0, j1, n, d,
                   (double *)acc.buf, acc0, width, scratch, scratch + 4 * (width + 3),
                   scratch + 4 * (width + 3) + width, scratch + 4 * (width + 3) + 2 * width, fscratch, fscratch + width};
    Py_BEGIN_ALLOW_THREADS
    levels[level].fn(&g);
    Py_END_ALLOW_THREADS
    ret = Py_NewRef(Py_None);
done:
    free(scratch);
    free(fscratch);
    PyBuffer_Release(&planes);
    PyBuffer_Release(&mu);
    PyBuffer_Release(&scale);
    PyBuffer_Release(&has_miss);
    PyBuffer_Release(&lefts);
    PyBuffer_Release(&annot);
    PyBuffer_Release(&acc);
    return ret;
}

static PyObject *py_standardized_dot(PyObject *self, PyObject *args)
{
    Py_buffer gb, ab, bb, db, yb, ob, xb = {0};
    Py_ssize_t n, k, nq;
    if (!PyArg_ParseTuple(args, "y*nny*y*y*y*nw*|w*", &gb, &n, &k, &ab, &bb, &db, &yb, &nq, &ob, &xb)) return NULL;
    PyObject *ret = NULL;
    if (n < 0 || k < 0 || nq < 0 || !need(&gb, n * k, "standardized_dot g") ||
        !need(&ab, k * 8, "standardized_dot n_obs") || !need(&bb, k * 8, "standardized_dot s1") ||
        !need(&db, k * 8, "standardized_dot scale") || !need(&yb, k * nq * 8, "standardized_dot y") ||
        !need(&ob, n * nq * 8, "standardized_dot out") || (xb.obj && !need(&xb, n * k * 8, "standardized_dot x")))
        goto done;
    dot_args g = {(const int8_t *)gb.buf, n, k, nq, (const double *)ab.buf, (const double *)bb.buf,
                  (const double *)db.buf, (const double *)yb.buf, (double *)ob.buf, xb.obj ? (double *)xb.buf : NULL};
    Py_BEGIN_ALLOW_THREADS
    levels[level].dot(&g);
    Py_END_ALLOW_THREADS
    ret = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&gb);
    PyBuffer_Release(&ab);
    PyBuffer_Release(&bb);
    PyBuffer_Release(&db);
    PyBuffer_Release(&yb);
    PyBuffer_Release(&ob);
    if (xb.obj) PyBuffer_Release(&xb);
    return ret;
}

static PyObject *py_counts_gram(PyObject *self, PyObject *args)
{
    Py_buffer gb, sb, fb, ob;
    Py_ssize_t ld, n, k;
    double nf;
    if (!PyArg_ParseTuple(args, "y*nnny*y*dw*", &gb, &ld, &n, &k, &sb, &fb, &nf, &ob)) return NULL;
    PyObject *ret = NULL;
    uint64_t *planes = NULL;
    int64_t *cx = NULL;
    if (n <= 0 || k <= 0 || ld < n) {
        PyErr_Format(PyExc_ValueError, "counts_gram: %zd individuals, %zd SNPs, leading dimension %zd", n, k, ld);
        goto done;
    }
    if (!need(&gb, (k - 1) * ld + n, "counts_gram g") || !need(&sb, k * 8, "counts_gram s") ||
        !need(&fb, k * 8, "counts_gram f") || !need(&ob, k * k * 8, "counts_gram out"))
        goto done;
    const int64_t nw = (n + 63) / 64;
    planes = malloc(sizeof(uint64_t) * 2 * nw * k);
    cx = malloc(sizeof(int64_t) * 4 * (k + 3));
    if (!planes || !cx) {
        PyErr_NoMemory();
        goto done;
    }
    gram_args g = {planes, nw, k, nf, (const double *)sb.buf, (const double *)fb.buf, (double *)ob.buf, cx};
    Py_BEGIN_ALLOW_THREADS
    pack_counts((const int8_t *)gb.buf, ld, n, k, planes);
    levels[level].gram(&g);
    Py_END_ALLOW_THREADS
    ret = Py_NewRef(Py_None);
done:
    free(planes);
    free(cx);
    PyBuffer_Release(&gb);
    PyBuffer_Release(&sb);
    PyBuffer_Release(&fb);
    PyBuffer_Release(&ob);
    return ret;
}

static PyObject *py_instruction_set(PyObject *self, PyObject *noargs) { return PyUnicode_FromString(levels[level].name); }

static PyObject *py_use_instruction_set(PyObject *self, PyObject *args)
{
    const char *name = NULL;
    if (!PyArg_ParseTuple(args, "|z", &name)) return NULL;
    if (name == NULL) {
        level = best_level();
        return PyUnicode_FromString(levels[level].name);
    }
    for (int i = 0; i < N_LEVELS; i++) {
        if (strcmp(levels[i].name, name) == 0) {
            if (!levels[i].supported()) {
                PyErr_Format(PyExc_ValueError, "this CPU cannot run the %s kernel", name);
                return NULL;
            }
            level = i;
            return PyUnicode_FromString(levels[level].name);
        }
    }
    PyErr_Format(PyExc_ValueError, "no %s kernel was compiled here", name);
    return NULL;
}

static PyObject *py_instruction_sets(PyObject *self, PyObject *noargs)
{
    PyObject *out = PyList_New(0);
    if (out == NULL) return NULL;
    for (int i = 0; i < N_LEVELS; i++) {
        if (!levels[i].supported()) continue;
        PyObject *name = PyUnicode_FromString(levels[i].name);
        if (name == NULL || PyList_Append(out, name) < 0) {
            Py_XDECREF(name);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(name);
    }
    return out;
}

static PyMethodDef methods[] = {
    {"decode_planes", py_decode_planes, METH_VARARGS,
     "decode_planes(raw, nbytes, cols, n, planes): bit planes (k, 3 nw) uint64 of the .bed rows raw[cols]"},
    {"band_chunk", py_band_chunk, METH_VARARGS,
     "band_chunk(planes, nw, rows, buf0, mu, scale, has_miss, lefts, annot, na, j0, j1, n, d, acc, acc0): "
     "LD-score sums of the pairs (i, j), lefts[j] <= i <= j, j0 <= j < j1, added to acc[. - acc0]"},
    {"decode_counts", py_decode_counts, METH_VARARGS,
     "decode_counts(raw, nbytes, cols, n, out): int8 A1 counts (k, n) of the .bed rows raw[cols], -127 = missing"},
    {"bed_counts", py_bed_counts, METH_VARARGS,
     "bed_counts(raw, nbytes, cols, n, out): per .bed row raw[cols], (#x >= 1, #x == 2, #missing) into out (k, 3) int64"},
    {"standardized_dot", py_standardized_dot, METH_VARARGS,
     "standardized_dot(g, n, k, n_obs, s1, scale, y, nq, out[, x]): out (nq, n) = (X y)^T, X = (g n_obs - s1) / scale "
     "(written to x when given), y (k, nq), each sum over the k SNPs in order"},
    {"counts_gram", py_counts_gram, METH_VARARGS,
     "counts_gram(g, ld, n, k, s, f, nf, out): out[r, t] = (nf x_r . x_t - s_r s_t) (f_r f_t) for the k SNPs of "
     "int8 counts without missing calls, SNP c's n counts at g[c * ld]"},
    {"instruction_set", py_instruction_set, METH_NOARGS, "the instruction set the band kernel runs on"},
    {"instruction_sets", py_instruction_sets, METH_NOARGS, "the compiled variants this CPU can run, best first"},
    {"use_instruction_set", py_use_instruction_set, METH_VARARGS,
     "use_instruction_set(name=None): run the band kernel on this variant (None: the best); returns its name"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_bitplanes",
                                    "Compiled .bed and bit-plane kernels (see stats/ld/bitplanes.py).", -1, methods};

PyMODINIT_FUNC PyInit__bitplanes(void)
{
    init_luts();
    level = best_level();
    return PyModule_Create(&module);
}
