"""Allele matching: the one place where two sets of SNP alleles meet (sumstats, panel, annotations).

Every SNP is described by an ordered allele pair (A1, A2), where A1 is the allele a signed quantity
refers to (the effect allele of a GWAS, the counted allele of a PLINK panel, the allele a signed
annotation is oriented to). Comparing a query pair (a1, a2) to a reference pair (r1, r2) gives one
category per SNP:

================== ================================================= ====
category           condition                                         sign
================== ================================================= ====
match              (a1, a2) == (r1, r2)                              +1
swap               (a2, a1) == (r1, r2)                              -1
strand_flip        (c(a1), c(a2)) == (r1, r2), c the complement      +1
strand_flip_swap   (c(a2), c(a1)) == (r1, r2)                        -1
ambiguous          {a1, a2} == {r1, r2} == {x, c(x)}: A/T or C/G      0
mismatch           alleles that match in none of the four ways         0
invalid            either pair is not two different bases of ACGT      0
================== ================================================= ====

For a strand-ambiguous SNP (A/T, C/G) "match" cannot be told from "strand_flip_swap", so the sign is
unknown and the SNP is dropped by default (``ambiguous="drop"``); ``ambiguous="assume_forward"``
assumes both files are on the same strand (+1 when identical, -1 when reversed). Input alleles are
upper-cased and stripped. Indels, PLINK's missing allele ``0``, numeric allele codes and missing
values are ``invalid``.

The table is built once, as ldsc does, from all pairs of bases; the tests check all 144 ordered SNP
pairs against a table written out by hand.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

BASES = ("A", "C", "G", "T")
#: Category names, in the order of their integer codes.
CATEGORIES = ("match", "swap", "strand_flip", "strand_flip_swap", "ambiguous", "mismatch", "invalid")
#: Category of a reference SNP absent from the aligned table (only in :func:`align_to_reference`).
MISSING = "missing"
MATCH, SWAP, FLIP, FLIP_SWAP, AMBIGUOUS, MISMATCH, INVALID = range(7)
_INVALID_BASE = 4  # code of anything that is not a single A/C/G/T
_BASE_INDEX = pd.Index(BASES)


def _build_table() -> np.ndarray:
    """Category codes indexed [a1, a2, r1, r2] with base codes 0..3 (A, C, G, T) and 4 = not a base."""
    comp = lambda b: 3 - b  # noqa: E731  A<->T, C<->G with codes A=0 C=1 G=2 T=3
    t = np.full((5, 5, 5, 5), INVALID, dtype=np.int8)
    for a1 in range(4):
        for a2 in range(4):
            for r1 in range(4):
                for r2 in range(4):
                    if a1 == a2 or r1 == r2:
                        continue  # not a SNP: stays invalid
                    if a1 == comp(a2) or r1 == comp(r2):
                        t[a1, a2, r1, r2] = AMBIGUOUS if {a1, a2} == {r1, r2} else MISMATCH
                    elif (a1, a2) == (r1, r2):
                        t[a1, a2, r1, r2] = MATCH
                    elif (a2, a1) == (r1, r2):
                        t[a1, a2, r1, r2] = SWAP
                    elif (comp(a1), comp(a2)) == (r1, r2):
                        t[a1, a2, r1, r2] = FLIP
                    elif (comp(a2), comp(a1)) == (r1, r2):
                        t[a1, a2, r1, r2] = FLIP_SWAP
                    else:
                        t[a1, a2, r1, r2] = MISMATCH
    t.setflags(write=False)
    return t


_TABLE = _build_table()


def encode_alleles(alleles) -> np.ndarray:
    """Base codes of alleles: A=0, C=1, G=2, T=3, anything else (indel, ``0``, NaN) = 4.

    Parameters
    ----------
    alleles : array-like or Series of str, shape (n,)
        Case and surrounding whitespace are ignored.

    Returns
    -------
    ndarray, int8, shape (n,)
    """
    s = alleles if isinstance(alleles, pd.Series) else pd.Series(np.asarray(alleles, dtype=object))
    s = s.astype("str").str.strip().str.upper()
    codes = _BASE_INDEX.get_indexer(s)
    codes[codes < 0] = _INVALID_BASE
    return codes.astype(np.int8)


def is_snp(a1, a2) -> np.ndarray:
    """True where (a1, a2) are two different single bases of ACGT; bool ndarray, shape (n,)."""
    c1, c2 = encode_alleles(a1), encode_alleles(a2)
    return (c1 < 4) & (c2 < 4) & (c1 != c2)


def is_strand_ambiguous(a1, a2) -> np.ndarray:
    """True for A/T, T/A, C/G and G/C SNPs; bool ndarray, shape (n,)."""
    c1, c2 = encode_alleles(a1), encode_alleles(a2)
    return (c1 < 4) & (c2 < 4) & (c1 == 3 - c2)


@dataclass(frozen=True, eq=False)
class AlleleMatch:
    """Result of :func:`match_alleles`.

    Attributes
    ----------
    sign : ndarray, int8, shape (n,)
        +1 keep as is, -1 flip the sign of signed quantities, 0 drop.
    code : ndarray, int8, shape (n,)
        Index into :data:`CATEGORIES`.
    """

    sign: np.ndarray
    code: np.ndarray

    @property
    def category(self) -> np.ndarray:
        """Category name per SNP; ndarray of str, shape (n,)."""
        return np.asarray(CATEGORIES)[self.code]

    def counts(self) -> dict:
        """Number of SNPs per category (every category present, zeros included)."""
        n = np.bincount(self.code, minlength=len(CATEGORIES))
        return {name: int(k) for name, k in zip(CATEGORIES, n)}


def match_alleles(a1, a2, ref_a1, ref_a2, *, strand_flip: bool = True, ambiguous: str = "drop") -> AlleleMatch:
    """Compare query alleles to reference alleles, SNP by SNP (vectorized).

    Parameters
    ----------
    a1, a2 : array-like or Series of str, shape (n,)
        Query alleles; ``a1`` is the allele the query's signed values refer to.
    ref_a1, ref_a2 : array-like or Series of str, shape (n,)
        Reference alleles, aligned row by row with the query (positional, not by index).
    strand_flip : bool
        Resolve strand flips (``strand_flip`` and ``strand_flip_swap`` get sign +1 / -1). When False
        they get sign 0 (dropped), for two files known to be on the same strand.
    ambiguous : {"drop", "assume_forward"}
        Strand-ambiguous SNPs (A/T, C/G): dropped (sign 0), or assumed to be on the same strand in
        both (sign +1 when the pairs are identical, -1 when reversed). Their category stays
        ``ambiguous`` either way.

    Returns
    -------
    AlleleMatch
        ``sign`` and ``code`` per SNP (``.category`` for the names, ``.counts()`` for a summary).

    Raises
    ------
    ValueError
        For inputs of different lengths or an unknown ``ambiguous`` policy.
    """
    if ambiguous not in ("drop", "assume_forward"):
        raise ValueError(f"ambiguous must be 'drop' or 'assume_forward', got {ambiguous!r}")
    codes = [encode_alleles(x) for x in (a1, a2, ref_a1, ref_a2)]
    n = {len(c) for c in codes}
    if len(n) != 1:
        raise ValueError(f"allele arrays differ in length: {[len(c) for c in codes]}")
    q1, q2, r1, r2 = codes
    code = _TABLE[q1, q2, r1, r2]
    sign_of = np.array([1, -1, 1, -1, 0, 0, 0], dtype=np.int8)
    if not strand_flip:
        sign_of[[FLIP, FLIP_SWAP]] = 0
    sign = sign_of[code]
    if ambiguous == "assume_forward":
        amb = code == AMBIGUOUS
        sign[amb] = np.where(q1[amb] == r1[amb], 1, -1).astype(np.int8)
    return AlleleMatch(sign=sign, code=code)


@dataclass(frozen=True, eq=False)
class Alignment:
    """A table aligned to a reference, one row per reference SNP (result of :func:`align_to_reference`).

    Attributes
    ----------
    values : DataFrame, shape (n_reference, n_columns)
        The requested columns, float64, index = the reference's index. Signed columns are multiplied
        by ``sign``; every column is NaN where ``sign`` is 0 (dropped or missing).
    sign : ndarray, int8, shape (n_reference,)
    category : ndarray of str, shape (n_reference,)
        One of :data:`CATEGORIES`, or ``"missing"`` for reference SNPs absent from the table.
    table_row : ndarray, int64, shape (n_reference,)
        Position (0-based row) in the table of each reference SNP's row; -1 when missing.
    counts : dict
        ``reference``, ``table``, ``common``, one entry per category, ``missing``,
        ``not_in_reference``, ``kept``, ``flipped`` (kept with sign -1), ``dropped``.
    """

    values: pd.DataFrame
    sign: np.ndarray
    category: np.ndarray
    table_row: np.ndarray
    counts: dict

    @property
    def kept(self) -> np.ndarray:
        """bool ndarray, shape (n_reference,): reference SNPs with a usable value."""
        return self.sign != 0


def _column(df: pd.DataFrame, name: str, what: str) -> pd.Series:
    if name not in df.columns:
        raise KeyError(f"{what} has no column {name!r} (columns: {list(df.columns)})")
    return df[name]


def _unique_ids(ids: pd.Series, what: str) -> None:
    dup = ids[ids.notna() & ids.duplicated(keep=False)]
    if len(dup):
        ex = ", ".join(map(str, pd.unique(dup)[:5]))
        raise ValueError(f"{what} has {dup.nunique()} duplicated SNP IDs ({len(dup)} rows; e.g. {ex}); "
                         "remove or rename them before aligning")


def align_to_reference(table: pd.DataFrame, reference: pd.DataFrame, *, signed=(), unsigned=(),
                       snp: str = "SNP", a1: str = "A1", a2: str = "A2", ref_snp: str | None = None,
                       ref_a1: str | None = None, ref_a2: str | None = None, strand_flip: bool = True,
                       ambiguous: str = "drop", what: str = "table", ref_what: str = "reference") -> Alignment:
    """Align a table (sumstats, signed annotation...) to a reference (a panel's bim) by SNP ID.

    Parameters
    ----------
    table : DataFrame
        One row per SNP with ID, alleles and the value columns.
    reference : DataFrame
        One row per reference SNP (e.g. a bim with ``snp``, ``a1``, ``a2``); the output follows its
        rows.
    signed : sequence of str
        Columns of ``table`` whose sign depends on the allele orientation (Z, BETA, signed
        annotations): multiplied by the sign.
    unsigned : sequence of str
        Columns carried over unchanged (N, SE, P, unsigned annotations).
    snp, a1, a2 : str
        ID and allele columns of ``table``.
    ref_snp, ref_a1, ref_a2 : str, optional
        ID and allele columns of ``reference``; default to ``snp``, ``a1``, ``a2``.
    strand_flip, ambiguous
        As in :func:`match_alleles`.
    what, ref_what : str
        Names of the two inputs for the log and error messages.

    Returns
    -------
    Alignment

    Raises
    ------
    KeyError
        For a column that is not there.
    ValueError
        For duplicated SNP IDs in either input (the readers of this package drop duplicates first).
    """
    ref_snp, ref_a1, ref_a2 = ref_snp or snp, ref_a1 or a1, ref_a2 or a2
    cols = list(signed) + list(unsigned)
    if len(set(cols)) != len(cols):
        raise ValueError(f"a column is listed twice in signed/unsigned: {cols}")
    t_ids = _column(table, snp, what).astype("str")
    r_ids = _column(reference, ref_snp, ref_what).astype("str")
    for c in cols:
        _column(table, c, what)
    _unique_ids(t_ids, what)
    _unique_ids(r_ids, ref_what)
    t_ok = t_ids.notna().to_numpy()  # rows without an ID match nothing
    ok_rows = np.flatnonzero(t_ok)
    hit = pd.Index(t_ids.to_numpy()[t_ok]).get_indexer(r_ids.to_numpy())
    hit[r_ids.isna().to_numpy()] = -1
    table_row = np.full(len(reference), -1, dtype=np.int64)
    table_row[hit >= 0] = ok_rows[hit[hit >= 0]]
    present = table_row >= 0
    rows = table_row[present]

    n_ref = len(reference)
    sign = np.zeros(n_ref, dtype=np.int8)
    code = np.full(n_ref, -1, dtype=np.int8)
    m = match_alleles(_column(table, a1, what).to_numpy()[rows], _column(table, a2, what).to_numpy()[rows],
                      _column(reference, ref_a1, ref_what).to_numpy()[present],
                      _column(reference, ref_a2, ref_what).to_numpy()[present],
                      strand_flip=strand_flip, ambiguous=ambiguous)
    sign[present] = m.sign
    code[present] = m.code
    names = np.asarray(CATEGORIES + (MISSING,))
    category = names[np.where(code < 0, len(CATEGORIES), code)]

    values = pd.DataFrame(index=reference.index)
    for c in cols:
        v = np.full(n_ref, np.nan)
        col = pd.to_numeric(table[c], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
        v[present] = col[rows]
        if c in signed:
            v = v * sign
        v[sign == 0] = np.nan
        values[c] = v

    counts = {"reference": n_ref, "table": len(table), "common": int(present.sum()), **m.counts(),
              "missing": int((~present).sum()),
              "not_in_reference": int(t_ok.sum() - present.sum()),
              "kept": int((sign != 0).sum()), "flipped": int((sign < 0).sum()),
              "dropped": int(present.sum() - (sign != 0).sum())}
    amb_note = "dropped" if ambiguous == "drop" else "kept assuming the same strand"
    n_sf = counts["strand_flip"] + counts["strand_flip_swap"]
    flip_note = "" if strand_flip else f"; {n_sf} strand flips dropped"
    logger.info("aligned %s to %s: %d of %d %s SNPs kept (%d matched, %d sign-flipped; %d by strand flip); "
                "%d strand-ambiguous %s, %d mismatched and %d non-SNP dropped%s; %d missing from %s; "
                "%d %s SNPs not in %s",
                what, ref_what, counts["kept"], n_ref, ref_what, counts["kept"] - counts["flipped"],
                counts["flipped"], n_sf if strand_flip else 0, counts["ambiguous"],
                amb_note, counts["mismatch"], counts["invalid"], flip_note, counts["missing"], what,
                counts["not_in_reference"], what, ref_what)
    return Alignment(values=values, sign=sign, category=category, table_row=table_row, counts=counts)
