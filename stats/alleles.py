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
    values = np.asarray(alleles.to_numpy() if isinstance(alleles, pd.Series) else alleles, dtype=object).ravel()
    # the string work is done on the few distinct spellings, not on every row (called per LD block)
    index, uniques = pd.factorize(values)  # missing values get -1
    text = pd.Series(np.asarray(uniques, dtype=object), dtype=object).astype("str").str.strip().str.upper()
    distinct = _BASE_INDEX.get_indexer(text).astype(np.int64)
    distinct[distinct < 0] = _INVALID_BASE
    codes = np.full(len(values), _INVALID_BASE, dtype=np.int64)
    codes[index >= 0] = distinct[index[index >= 0]]
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


def _arrow_strings(ids: pd.Series):
    import pyarrow as pa

    return pa.array(ids, type=pa.large_string(), from_pandas=True)


def check_unique_ids(ids: pd.Series, what: str) -> None:
    """Raise a ValueError naming ``what`` and some of the repeated IDs when a non-missing SNP ID occurs
    twice in ``ids`` (Series of str)."""
    import pyarrow.compute as pc

    present = _arrow_strings(ids).drop_null()
    if len(pc.unique(present)) == len(present):  # the common case, in Arrow's hash table
        return
    dup = ids[ids.notna() & ids.duplicated(keep=False)]
    if len(dup):
        ex = ", ".join(map(str, pd.unique(dup)[:5]))
        raise ValueError(f"{what} has {dup.nunique()} duplicated SNP IDs ({len(dup)} rows; e.g. {ex}); "
                         "remove or rename them before aligning")


def align_to_reference(table: pd.DataFrame, reference: pd.DataFrame, *, signed=(), unsigned=(),
                       snp: str = "SNP", a1: str = "A1", a2: str = "A2", ref_snp: str | None = None,
                       ref_a1: str | None = None, ref_a2: str | None = None, strand_flip: bool = True,
                       ambiguous: str = "drop", what: str = "table", ref_what: str = "reference",
                       reference_checked: bool = False) -> Alignment:
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
    reference_checked : bool
        The caller has checked that the reference's IDs are unique (:func:`check_unique_ids`), e.g. once
        for a panel that many tables are aligned to.

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
    check_unique_ids(t_ids, what)
    if not reference_checked:
        check_unique_ids(r_ids, ref_what)
    table_row, t_ok = _table_rows(t_ids, r_ids)
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
    values = _aligned_values(table, reference.index, signed=signed, unsigned=unsigned, table_row=table_row,
                             sign=sign)
    counts = {"reference": n_ref, "table": len(table), "common": int(present.sum()), **m.counts(),
              "missing": int((~present).sum()),
              "not_in_reference": int(t_ok.sum() - present.sum()),
              "kept": int((sign != 0).sum()), "flipped": int((sign < 0).sum()),
              "dropped": int(present.sum() - (sign != 0).sum())}
    _log_alignment(counts, strand_flip=strand_flip, ambiguous=ambiguous, what=what, ref_what=ref_what)
    return Alignment(values=values, sign=sign, category=category, table_row=table_row, counts=counts)


def _table_rows(t_ids: pd.Series, r_ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The table row of every reference SNP, matched by ID.

    Parameters
    ----------
    t_ids : Series of str, shape (n_table,)
        The table's SNP IDs (unique where present).
    r_ids : Series of str, shape (n_reference,)
        The reference's SNP IDs (unique where present).

    Returns
    -------
    table_row : ndarray, int64, shape (n_reference,)
        0-based table row of each reference SNP, -1 when the table lacks it.
    t_ok : ndarray, bool, shape (n_table,)
        Table rows with an ID (rows without one match nothing).
    """
    import pyarrow.compute as pc

    t_arr = _arrow_strings(t_ids)
    t_ok = t_arr.is_valid().to_numpy(zero_copy_only=False)
    ok_rows = np.flatnonzero(t_ok)
    # Arrow's hash lookup: no Python string objects (a null ID matches nothing)
    hit = pc.index_in(_arrow_strings(r_ids), value_set=t_arr.drop_null())
    hit = hit.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    table_row = np.full(len(r_ids), -1, dtype=np.int64)
    table_row[hit >= 0] = ok_rows[hit[hit >= 0]]
    return table_row, t_ok


def _aligned_values(table: pd.DataFrame, index: pd.Index, *, signed, unsigned, table_row: np.ndarray,
                    sign: np.ndarray) -> pd.DataFrame:
    """The value columns of ``table`` on the reference's rows, oriented by ``sign``.

    Parameters
    ----------
    table : DataFrame
    index : Index, length n_reference
        The reference's index, for the result.
    signed, unsigned : sequence of str
        Columns multiplied by ``sign`` / carried over.
    table_row : ndarray, int64, shape (n_reference,)
        From :func:`_table_rows`.
    sign : ndarray, int8, shape (n_reference,)

    Returns
    -------
    DataFrame, float64, shape (n_reference, n_columns)
        NaN where ``sign`` is 0.
    """
    present = table_row >= 0
    rows = table_row[present]
    signed_set = set(signed)
    columns = {}  # built first and framed once: a column at a time fragments a wide frame (1,000 annotations)
    for c in list(signed) + list(unsigned):
        v = np.full(len(index), np.nan)
        col = pd.to_numeric(table[c], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
        v[present] = col[rows]
        if c in signed_set:
            v = v * sign
        v[sign == 0] = np.nan
        columns[c] = v
    return pd.DataFrame(columns, index=index)


def _log_alignment(counts: dict, *, strand_flip: bool, ambiguous: str, what: str, ref_what: str) -> None:
    """Log the outcome of :func:`align_to_reference` from its ``counts``."""
    n_ref = counts["reference"]
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


def _spans(t: pd.DataFrame, b: pd.DataFrame) -> str:
    """``"; rows span chr1:a-b, the panel chr1:c-d"`` for the first chromosome both have (or "")."""
    shared = [c for c in pd.unique(t["_chrom"]) if c in set(b["_chrom"])]
    if not shared:
        return ""
    c = shared[0]
    x, y = t.loc[t["_chrom"] == c, "_pos"], b.loc[b["_chrom"] == c, "_pos"]
    return f"; on chromosome {c} the rows span {x.min():,}-{x.max():,}, the panel {y.min():,}-{y.max():,}"


def match_by_position(table: pd.DataFrame, panel: pd.DataFrame, *, a1: str = "alt", a2: str = "ref",
                      chrom: str = "chrom", pos: str = "pos", signed=(), what: str = "table") -> pd.DataFrame:
    """Attach panel SNPs to the rows of a table by chromosome, position and alleles.

    This is how rows of the two halves of the suite meet (a model's variant scores, an eQTL table,
    a reference panel): never by an ID column alone. Chromosome names are compared normalized
    (``chr1`` = ``1``), so the two sides may spell them differently.

    Parameters
    ----------
    table : DataFrame
        One row per variant with ``chrom``, ``pos`` (1-based) and the allele columns ``a1`` (the allele
        the signed columns refer to) and ``a2``.
    panel : DataFrame
        Panel SNPs with ``chrom, snp, pos, a1, a2`` (a bim as :class:`stats.io.panel.ReferencePanel`
        gives it; ``a1`` is the counted allele).
    a1, a2, chrom, pos : str
        Column names in ``table``.
    signed : sequence of str
        Columns of ``table`` re-oriented to the panel's ``a1`` (multiplied by the allele sign).
    what : str
        Name of the table in messages.

    Returns
    -------
    DataFrame
        The matched rows of ``table`` in their order (index reset), plus ``SNP``, ``panel_a1``,
        ``panel_a2`` (the panel's ID and alleles) and ``allele_sign`` (+1 / -1: the table's ``a1`` is the
        panel's ``a1`` / ``a2``). A row matches the
        first panel SNP at its position whose alleles agree (swaps and strand flips resolved as in
        :func:`match_alleles`); strand-ambiguous, mismatched and unmatched rows are dropped and logged.

    Raises
    ------
    ValueError
        When no row matches (naming an example from each side and asking about the build).
    """
    from genocore.genome import normalize_chrom

    t = table.copy()
    t["_chrom"] = np.asarray(normalize_chrom(t[chrom].astype(str).to_numpy()), dtype=str)
    b = panel[["chrom", "snp", "pos", "a1", "a2"]].rename(columns={"snp": "_psnp", "a1": "_p1", "a2": "_p2",
                                                                    "pos": "_pos"})
    b["_chrom"] = np.asarray(normalize_chrom(b["chrom"].astype(str).to_numpy()), dtype=str)
    t["_row"] = np.arange(len(t))
    t["_pos"] = t[pos]
    m = t.merge(b[["_chrom", "_pos", "_psnp", "_p1", "_p2"]], on=["_chrom", "_pos"], how="inner")
    am = match_alleles(m[a1].to_numpy(), m[a2].to_numpy(), m["_p1"].to_numpy(), m["_p2"].to_numpy())
    m = m[am.sign != 0].assign(allele_sign=am.sign[am.sign != 0]).drop_duplicates(["_row"])
    if len(m) == 0:
        ex_t = f"{t[chrom].iat[0]}:{t[pos].iat[0]} {t[a1].iat[0]}/{t[a2].iat[0]}" if len(t) else "?"
        ex_b = f"{b['chrom'].iat[0]}:{b['_pos'].iat[0]} {b['_p1'].iat[0]}/{b['_p2'].iat[0]}" if len(b) else "?"
        raise ValueError(f"{what}: none of its {len(t)} rows (e.g. {ex_t}) matches a panel SNP by chromosome, "
                         f"position and alleles (panel: e.g. {ex_b}; chromosomes {sorted(set(b['_chrom']))[:5]})"
                         f"{_spans(t, b)}; is it the same genome build, and does the panel reach these positions?")
    logger.info("%s: %d of %d rows matched to the panel by position and alleles", what, len(m), len(t))
    out = m.sort_values("_row")
    out["SNP"] = out.pop("_psnp")
    out["panel_a1"], out["panel_a2"] = out.pop("_p1"), out.pop("_p2")
    for col in signed:
        out[col] = out[col] * out["allele_sign"]
    return out.drop(columns=["_chrom", "_row", "_pos"]).reset_index(drop=True)
