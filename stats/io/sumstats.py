"""GWAS summary statistics: LDSC ``.sumstats.gz`` and raw GWAS tables with column-name detection.

Every table is read into the LDSC munged layout, ``SNP A1 A2 N Z`` (plus ``CHR`` and ``BP`` when the
file has them), where ``Z`` is the signed association statistic of allele ``A1``.

How a column is recognised: its name, lower-cased and stripped of everything but letters and digits
(``P-value`` -> ``pvalue``, ``#CHROM`` -> ``chrom``), is looked up among the aliases of the registry of
column names (:mod:`genocore.columns`), gathered per field in :data:`SYNONYMS`. Two columns
for one field are an error (pass ``columns=`` to choose). Each choice is logged.

How Z is made, in order of preference:

1. a Z column (``Z``, ``ZSCORE``...);
2. ``BETA / SE``; 3. ``LOG_ODDS / SE``; 4. ``log(OR) / SE`` (SE of log OR, as GWAS tables give it);
5. ``sign(BETA | LOG_ODDS | log OR) * Phi^-1(1 - P/2)``.

N comes from an N column, else ``N_CASES + N_CONTROLS``, else the ``n=`` option (which also
overrides an N column, as ldsc's ``--N`` does); without any of them reading fails.

Rows are excluded, counted and logged (never silently) for: a missing SNP ID; a duplicated SNP ID
(**all copies** are dropped: which copy matches the panel cannot be known, and keeping the first
would depend on the file's order); a missing or infinite Z (including P = 0 underflow and SE = 0);
a missing or non-positive N. Values that are not numbers, P outside [0, 1], negative SE and OR <= 0
are errors naming the file, line and column: they mean a corrupt or misread file.
"""
from __future__ import annotations

import bz2
import gzip
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from genocore.columns import COLUMNS, GWAS_SUMSTATS, LDSC_SUMSTATS, lookup
from genocore.files import write_table
from genocore.genome import normalize_chrom
from stats.alleles import is_snp

logger = logging.getLogger(__name__)

#: Output columns of :func:`read_sumstats` (then ``CHR``, ``BP`` when present).
SUMSTATS_COLUMNS = LDSC_SUMSTATS.required

#: Recognised column names per field, in normalized form (lower case, letters and digits only): the
#: aliases of the registry's columns (:data:`genocore.columns.COLUMNS`), keyed by the field names of
#: :data:`genocore.columns.GWAS_SUMSTATS`.
SYNONYMS = {spelling: COLUMNS[name].aliases for name, spelling in GWAS_SUMSTATS.all_fields.items()}

_NA_STRINGS = frozenset({"", "na", "nan", "n/a", "null", "none", ".", "-nan"})


def _compression(path: Path) -> str | None:
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic[:2] == b"\x1f\x8b":
        return "gzip"
    if magic[:3] == b"BZh":
        return "bz2"
    if magic == b"PAR1":
        return "parquet"
    return None


def _parquet_file(path: Path):
    try:
        import pyarrow.parquet as pq
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise ImportError(f"{path} is a Parquet file: reading it needs pyarrow (pip install pyarrow)") from e
    return pq.ParquetFile(path)


def _first_line(path: Path, compression: str | None) -> str:
    opener = {"gzip": gzip.open, "bz2": bz2.open, None: open}[compression]
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        return fh.readline()


def _sniff(path: Path) -> tuple[str | None, str, list[str]]:
    """(compression, delimiter, stripped column names) of a delimited text table."""
    comp = _compression(path)
    if comp == "parquet":
        names = [str(c) for c in _parquet_file(path).schema_arrow.names]
        dupes = sorted({c for c in names if names.count(c) > 1})
        if dupes:
            raise ValueError(f"{path}: duplicated column names {dupes}")
        return comp, "", names
    header = _first_line(path, comp)
    if not header.strip():
        raise ValueError(f"{path}: empty file or empty header line")
    sep = "\t" if "\t" in header else ("," if "," in header else r"\s+")
    fields = header.split() if sep == r"\s+" else header.rstrip("\r\n").split(sep)
    names = [c.strip().strip("\"'").strip() for c in fields]
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise ValueError(f"{path}: duplicated column names {dupes} in the header")
    return comp, sep, names


def header_names(path) -> list[str]:
    """Column names of a delimited text table (stripped), as :func:`read_text_table` sees them.

    Raises
    ------
    ValueError
        Naming the file, for an empty header or duplicated column names.
    """
    return _sniff(Path(path))[2]


def read_text_table(path, *, usecols=None, chunksize: int = 1_000_000) -> pd.DataFrame:
    """Read a delimited text table (plain, gzip or bzip2, told by the bytes, not the name) as strings;
    a Parquet file (told by its magic bytes) is read with pyarrow, each cell as its text.

    The delimiter is a tab when the header has one, else a comma when it has one, else any run of
    whitespace. Nothing is converted: every cell is a string (``""`` for an empty field), and the
    index is the data row number, so that row ``i`` is line ``i + 2`` of the file (blank lines kept
    in the count and dropped from the result).

    Parameters
    ----------
    path : str or Path
    usecols : sequence of str, optional
        Columns to keep (names as in the header, stripped); every row is still checked for having no
        more fields than the header.
    chunksize : int
        Rows parsed at a time by pandas' parser (bounds the memory taken by the columns not kept). A tab-
        or comma-separated file that Arrow's reader reads cleanly is read whole instead (Arrow's strings
        take a few bytes each plus the text).

    Returns
    -------
    DataFrame of str; column names stripped of surrounding whitespace.

    Raises
    ------
    ValueError
        Naming the file, for an empty file, duplicated column names, or a row with more fields than
        the header.
    """
    path = Path(path)
    comp, sep, names = _sniff(path)
    if comp == "parquet":  # typed columns, read as the text they would be in a delimited file
        table = _parquet_file(path).read(columns=None if usecols is None else list(usecols)).to_pandas()
        return table.astype(object).where(table.notna(), "").astype(str)
    if sep in ("\t", ","):
        df = _arrow_table(path, comp, sep, names, usecols)
        if df is not None:
            blank = (df == "").all(axis=1) if len(df.columns) else pd.Series(False, index=df.index)
            return df[~blank.to_numpy()]
    try:
        # in chunks, all columns parsed (pandas skips the field-count check of columns left out by
        # usecols), only the wanted ones kept
        chunks = []
        with pd.read_csv(path, sep=sep, dtype=str, na_filter=False, keep_default_na=False, compression=comp,
                         skip_blank_lines=False, chunksize=chunksize) as reader:
            for chunk in reader:
                chunk.columns = names
                chunks.append(chunk if usecols is None else chunk.loc[:, list(usecols)])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot parse as a table: {e}") from None
    df = pd.concat(chunks) if len(chunks) > 1 else chunks[0]
    blank = (df == "").all(axis=1) if len(df.columns) else pd.Series(False, index=df.index)
    return df[~blank.to_numpy()]


def _arrow_table(path: Path, comp: str | None, sep: str, names: list[str], usecols=None) -> pd.DataFrame | None:
    """The table by Arrow's CSV reader, when it reads the file cleanly (every row has the header's
    number of fields, the text is UTF-8, no field holds a line break). Five times faster than pandas'
    parser, the same strings (empty fields stay ``""``, nothing is taken for NA) and row numbers (a
    blank line is a row of empty fields, dropped by the caller as pandas' are). None otherwise, and
    pandas' parser decides (with its errors for malformed rows)."""
    import pyarrow as pa
    from pyarrow import csv

    header = _first_line(path, comp)
    if "\ufffd" in header or '"' in header:  # a header pandas would refuse or read otherwise
        return None
    keep = list(names) if usecols is None else list(usecols)
    try:
        with pa.input_stream(str(path), compression=comp) as stream:
            table = csv.read_csv(
                stream,
                read_options=csv.ReadOptions(skip_rows=1, column_names=names, use_threads=False),
                parse_options=csv.ParseOptions(delimiter=sep, ignore_empty_lines=False),
                convert_options=csv.ConvertOptions(column_types={c: pa.string() for c in names},
                                                   strings_can_be_null=False))
        # a stray quote swallows the lines after it into one field (of any column, kept or not), where
        # pandas stops with an error
        if _any_line_break(table):
            return None
        table = table.select(keep)
    except (pa.ArrowException, OSError, ValueError):
        return None
    df = table.to_pandas()
    df.columns = keep
    return df


def _any_line_break(table) -> bool:
    """Whether any string of an Arrow table holds a CR or LF: a scan of the value buffers (which may
    hold bytes past the values, so a rare false alarm only costs the slower reader)."""
    for col in table.columns:
        for chunk in col.chunks:
            data = chunk.buffers()[2]
            if data is not None and data.size:
                b = np.frombuffer(data, dtype=np.uint8)
                if (b == 10).any() or (b == 13).any():
                    return True
    return False


def detect_columns(names, *, columns: dict | None = None, path="") -> dict:
    """Map fields (:data:`SYNONYMS` keys) to the column names of a file.

    Parameters
    ----------
    names : sequence of str
        The file's column names.
    columns : dict, optional
        Field -> column name, taking precedence over detection (e.g. ``{"A1": "Allele1"}``).
    path : str or Path
        For messages.

    Returns
    -------
    dict
        Field -> column name, for the fields found.

    Raises
    ------
    KeyError
        For an unknown field in ``columns``.
    ValueError
        For a ``columns`` entry naming a column the file lacks, or two columns that both look like
        one field.
    """
    names = list(names)
    found: dict[str, str] = {}
    for field, col in (columns or {}).items():
        if field not in SYNONYMS:
            raise KeyError(f"unknown sumstats field {field!r} in columns=; fields: {sorted(SYNONYMS)}")
        if col not in names:
            raise ValueError(f"{path}: columns={{{field!r}: {col!r}}} names a column the file lacks; columns: {names}")
        found[field] = col
    taken = set(found.values())
    candidates: dict[str, list[str]] = {}
    fields = GWAS_SUMSTATS.all_fields
    for col in names:
        name = lookup(col)
        # the registry also knows columns a GWAS table does not use; only the sumstats fields count
        field = fields.get(name) if name is not None else None
        if field is not None and field not in found and col not in taken:
            candidates.setdefault(field, []).append(col)
    for field, cols in candidates.items():
        if len(cols) > 1:
            raise ValueError(f"{path}: columns {cols} all look like {field}; choose one with "
                             f"columns={{{field!r}: ...}}")
        found[field] = cols[0]
    return found


def _line(i) -> int:
    return int(i) + 2


def parse_numbers(raw: pd.Series, *, path, col: str) -> np.ndarray:
    """Numbers of a string column read by :func:`read_text_table`.

    Parameters
    ----------
    raw : Series of str
        Index = data row number (line ``i + 2`` of the file).
    path, col
        File and column name, for the error message.

    Returns
    -------
    ndarray, float64, shape (n,)
        NaN for empty and NA-like cells (``NA``, ``nan``, ``.``, ``null``...); ``inf`` stays infinite.

    Raises
    ------
    ValueError
        For a cell that is not a number, naming the file, line and column.
    """
    x = _plain_numbers(raw)
    if x is not None:
        return x
    s = raw.str.strip()
    na = s.str.lower().isin(_NA_STRINGS).to_numpy()
    x = pd.to_numeric(s.where(~na), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(x) & ~na
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(f"{path}, line {_line(raw.index[i])}, column {col!r}: {raw.iat[i]!r} is not a number "
                         f"({int(bad.sum())} such rows)")
    return x


def _plain_numbers(raw: pd.Series) -> np.ndarray | None:
    """The column parsed by Arrow's C++ cast when every cell is a plain number: a hundred times faster
    than the general path, the same values. None (and the general path decides) when a cell is padded,
    empty or not a number (the cast fails), when a NaN is not spelled as one of the NA strings the
    general path knows (``+nan``, ``nan(123)``), and for a negative zero in a column of integers only
    (pandas reads such a column as integers, without the sign; any other cell makes it read floats)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        text = pa.array(raw, type=pa.large_string())
        x = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowException, ValueError, TypeError):
        return None
    nan = np.isnan(x)
    if nan.any() and not set(pc.utf8_lower(text.filter(pa.array(nan))).to_pylist()) <= _NA_STRINGS:
        return None
    if np.any(np.signbit(x) & (x == 0)) and pc.all(pc.match_substring_regex(text, r"^[+-]?[0-9]+$")).as_py():
        return None
    return x


def _first_bad(mask: np.ndarray, index, values, *, path, col: str, why: str):
    if mask.any():
        i = np.flatnonzero(mask)[0]
        raise ValueError(f"{path}, line {_line(index[i])}, column {col!r}: {why}, got {values[i]!r} "
                         f"({int(mask.sum())} such rows)")


def _missing_columns_error(path, field: str, names) -> ValueError:
    return ValueError(f"{path}: no column for {field} (looked for names like {', '.join(SYNONYMS[field][:6])}...); "
                      f"the file has {list(names)}; name it with genostats munge "
                      f"{'--n-col' if field == 'N' else '--' + field.lower()} COLUMN (columns={{{field!r}: <name>}} "
                      "in Python)")


def read_sumstats(path, *, n: float | None = None, columns: dict | None = None) -> pd.DataFrame:
    """Read GWAS summary statistics (LDSC ``.sumstats[.gz]`` or a raw GWAS table).

    Parameters
    ----------
    path : str or Path
        Plain, gzip or bzip2 text; tab-, comma- or whitespace-separated with a header line; or Parquet.
    n : float, optional
        Sample size of every SNP. Required when the file has neither an N column nor case and
        control counts; when given, it replaces the file's N.
    columns : dict, optional
        Field -> column name for columns that detection misses or gets wrong; fields are the keys
        of :data:`SYNONYMS` (SNP, A1, A2, N, N_CASES, N_CONTROLS, Z, BETA, LOG_ODDS, OR, SE, P, CHR, BP).

    Returns
    -------
    DataFrame
        ``SNP`` (str), ``A1``, ``A2`` (str, upper case; A1 is the allele Z refers to), ``N`` (float64,
        individuals), ``Z`` (float64, finite), then ``CHR`` (str, normalized) and ``BP`` (Int64, 1-based
        bp) when the file has them; one row per kept SNP, in file order, index 0..n-1.
        ``df.attrs["sumstats"]`` records the path, the column mapping, how Z and N were made and the
        exclusion counts.

    Raises
    ------
    ValueError
        Naming the file: a required column missing (SNP, A1, A2, a signed statistic, N without
        ``n=``); two columns for one field; and, with the line and column, a value that is not a
        number, P outside [0, 1], SE < 0, OR <= 0, or a non-integer BP.
    """
    path = Path(path)
    names = header_names(path)
    cols = detect_columns(names, columns=columns, path=path)
    for field in ("SNP", "A1", "A2"):
        if field not in cols:
            raise _missing_columns_error(path, field, names)
    z_fields, z_from = _z_recipe(cols, path=path, names=names)
    n_fields, n_from = _n_recipe(cols, n, path=path, names=names)

    used = ["SNP", "A1", "A2"] + z_fields + n_fields + [f for f in ("CHR", "BP") if f in cols]
    raw = read_text_table(path, usecols=[cols[f] for f in used])
    _log_columns(cols, used, z_fields + n_fields, path=path, z_from=z_from, n_from=n_from)
    num = {f: parse_numbers(raw[cols[f]], path=path, col=cols[f]) for f in z_fields + n_fields + ["BP"] if f in cols}
    _check_statistics(num, raw, cols, path=path)
    z = _z_values(num, z_fields)
    if n_fields == ["N"]:
        nn = num["N"]
    elif n_fields:
        nn = num["N_CASES"] + num["N_CONTROLS"]
    else:
        nn = np.full(len(raw), float(n))
    out = _sumstats_frame(raw, cols, z, nn, bp=num.get("BP"), path=path)
    out, counts = _exclude_rows(out, path=path, z_from=z_from)
    out.attrs["sumstats"] = {"path": str(path), "columns": dict(cols), "z_from": z_from, "n_from": n_from,
                             "counts": counts}
    return out


def _z_recipe(cols: dict, *, path, names) -> tuple[list[str], str]:
    """How Z will be made: the fields it needs and a description for the log.

    Parameters
    ----------
    cols : dict
        Field -> column name, from :func:`detect_columns`.
    path, names
        The file and its column names, for the error message.

    Returns
    -------
    z_fields : list of str
        ``["Z"]``, ``[sign field, "SE"]`` or ``[sign field, "P"]``; the sign field is the first of
        BETA, LOG_ODDS, OR present.
    z_from : str

    Raises
    ------
    ValueError
        When the file has no signed statistic.
    """
    sign_col = next((f for f in ("BETA", "LOG_ODDS", "OR") if f in cols), None)
    if "Z" in cols:
        return ["Z"], f"column {cols['Z']!r}"
    how = "log(OR)" if sign_col == "OR" else sign_col
    if sign_col and "SE" in cols:
        return [sign_col, "SE"], f"{how} / SE from columns {cols[sign_col]!r} / {cols['SE']!r}"
    if sign_col and "P" in cols:
        return [sign_col, "P"], f"sign({how}) * Phi^-1(1 - P/2) from columns {cols[sign_col]!r} and {cols['P']!r}"
    have = [f for f in ("BETA", "LOG_ODDS", "OR", "SE", "P") if f in cols]
    raise ValueError(f"{path}: no signed statistic: need a Z column, or BETA / OR / LOG_ODDS with SE, "
                     f"or P with BETA / OR / LOG_ODDS (found {have or 'none of these'}; columns: {names})")


def _n_recipe(cols: dict, n: float | None, *, path, names) -> tuple[list[str], str]:
    """How N will be made: the fields it needs (none when ``n`` is given) and a description for the log.

    Raises
    ------
    ValueError
        For an ``n`` that is not a positive number, or when there is neither ``n`` nor an N column
        nor case and control counts.
    """
    if n is not None:
        if not np.isfinite(n) or n <= 0:
            raise ValueError(f"n must be a positive number, got {n!r}")
        return [], f"n={n:g} (given)" + (f"; column {cols['N']!r} ignored" if "N" in cols else "")
    if "N" in cols:
        return ["N"], f"column {cols['N']!r}"
    if "N_CASES" in cols and "N_CONTROLS" in cols:
        return ["N_CASES", "N_CONTROLS"], f"cases + controls from columns {cols['N_CASES']!r} + {cols['N_CONTROLS']!r}"
    raise ValueError(f"{path}: no sample size: the file has no N column (or case and control counts); "
                     f"pass n=<number of individuals>; columns: {names}")


def _log_columns(cols: dict, used: list, derived: list, *, path: Path, z_from: str, n_from: str) -> None:
    """Log which column each field comes from, the recognised columns left unused, and how Z and N are made."""
    for f in used:
        if f not in derived:
            logger.info("%s: %s <- column %r", path.name, f, cols[f])
    unused = [f"{cols[f]!r} ({f})" for f in cols if f not in used]
    if unused:
        logger.info("%s: recognised but not used: %s", path.name, ", ".join(unused))
    logger.info("%s: Z <- %s", path.name, z_from)
    logger.info("%s: N <- %s", path.name, n_from)


def _check_statistics(num: dict, raw: pd.DataFrame, cols: dict, *, path) -> None:
    """Raise, naming the line, for P outside [0, 1], a negative SE or an odds ratio <= 0.

    Parameters
    ----------
    num : dict of field -> ndarray, float64, shape (n_rows,)
        The parsed numeric fields.
    raw : DataFrame of str
        The table as read (for the offending cell's text).
    cols : dict
        Field -> column name.
    """
    idx = raw.index
    if "P" in num:
        p = num["P"]
        _first_bad((p < 0) | (p > 1), idx, raw[cols["P"]].to_numpy(), path=path, col=cols["P"],
                   why="P must lie in [0, 1]")
    if "SE" in num:
        _first_bad(num["SE"] < 0, idx, raw[cols["SE"]].to_numpy(), path=path, col=cols["SE"],
                   why="SE must not be negative")
    if "OR" in num:
        _first_bad(num["OR"] <= 0, idx, raw[cols["OR"]].to_numpy(), path=path, col=cols["OR"],
                   why="an odds ratio must be positive")


def _z_values(num: dict, z_fields: list) -> np.ndarray:
    """Z of every row from the fields of :func:`_z_recipe`; ndarray, float64, shape (n_rows,).

    Missing inputs, P = 0 and SE = 0 give NaN or infinite values, dropped later.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if z_fields == ["Z"]:
            return num["Z"]
        sign_col = z_fields[0]
        eff = np.log(num["OR"]) if sign_col == "OR" else num[sign_col]
        if "SE" in z_fields:
            return eff / num["SE"]
        from scipy.special import ndtri  # here: 0.08 s to import, and most tables carry Z

        return np.sign(eff) * -ndtri(num["P"] / 2)  # norm.isf(q) is -ndtri(q); scipy.stats costs 0.4 s to import


def _sumstats_frame(raw: pd.DataFrame, cols: dict, z: np.ndarray, nn: np.ndarray, *, bp, path) -> pd.DataFrame:
    """The output columns of every row read, before rows are excluded.

    Parameters
    ----------
    raw : DataFrame of str, shape (n_rows, n_used)
    cols : dict
        Field -> column name.
    z, nn : ndarray, float64, shape (n_rows,)
    bp : ndarray, float64, shape (n_rows,), or None
        Parsed positions, when the file has BP.

    Returns
    -------
    DataFrame
        SNP, A1, A2, N, Z (and CHR, BP), index as ``raw``.

    Raises
    ------
    ValueError
        For a chromosome name that cannot be normalized or a non-integer position.
    """
    idx = raw.index
    out = pd.DataFrame({
        "SNP": raw[cols["SNP"]].str.strip().to_numpy(),
        "A1": raw[cols["A1"]].str.strip().str.upper().to_numpy(),
        "A2": raw[cols["A2"]].str.strip().str.upper().to_numpy(),
        "N": nn, "Z": z}, index=idx)
    out = out.astype({"SNP": "str", "A1": "str", "A2": "str"})
    if "CHR" in cols:
        chrom = raw[cols["CHR"]].str.strip()
        ok = ~chrom.str.lower().isin(_NA_STRINGS)
        out["CHR"] = pd.Series(pd.NA, index=idx, dtype="str")
        if ok.any():
            try:
                out.loc[ok, "CHR"] = normalize_chrom(chrom[ok])
            except ValueError as e:
                raise ValueError(f"{path}, column {cols['CHR']!r}: {e}") from None
    if "BP" in cols:
        _first_bad(np.isfinite(bp) & (bp != np.round(bp)), idx, raw[cols["BP"]].to_numpy(), path=path,
                   col=cols["BP"], why="positions must be whole numbers")
        out["BP"] = pd.array(np.where(np.isfinite(bp), bp, 0).astype(np.int64), dtype="Int64")
        out.loc[~np.isfinite(bp), "BP"] = pd.NA
    return out


def _exclude_rows(out: pd.DataFrame, *, path: Path, z_from: str) -> tuple[pd.DataFrame, dict]:
    """Drop, count and log the rows without a SNP ID, with a duplicated ID, a bad Z or a bad N.

    Parameters
    ----------
    out : DataFrame from :func:`_sumstats_frame`
    path : Path
        For the log.
    z_from : str
        How Z was made, for the log.

    Returns
    -------
    DataFrame
        The kept rows, index 0..n_kept-1.
    dict
        Counts: ``rows``, ``missing_snp_id``, ``duplicated_snp_id``, ``nonfinite_z``, ``bad_n``, ``kept``,
        ``non_snp_alleles``.
    """
    n_read = len(out)
    counts = {"rows": n_read}
    # 1. missing SNP IDs
    bad = out["SNP"].str.lower().isin(_NA_STRINGS).to_numpy()
    counts["missing_snp_id"] = int(bad.sum())
    out = out[~bad]
    # 2. duplicated IDs: all copies
    dup = out["SNP"].duplicated(keep=False).to_numpy()
    counts["duplicated_snp_id"] = int(dup.sum())
    if dup.any():
        ex = ", ".join(pd.unique(out["SNP"][dup])[:5])
        logger.warning("%s: dropped all %d rows of %d duplicated SNP IDs (e.g. %s)", path.name, int(dup.sum()),
                       out["SNP"][dup].nunique(), ex)
    out = out[~dup]
    # 3. Z
    bad = ~np.isfinite(out["Z"].to_numpy())
    counts["nonfinite_z"] = int(bad.sum())
    if bad.any():
        logger.warning("%s: dropped %d rows with a missing or infinite Z (%s)", path.name, int(bad.sum()), z_from)
    out = out[~bad]
    # 4. N
    nv = out["N"].to_numpy()
    bad = ~(np.isfinite(nv) & (nv > 0))
    counts["bad_n"] = int(bad.sum())
    if bad.any():
        logger.warning("%s: dropped %d rows with a missing or non-positive N", path.name, int(bad.sum()))
    out = out[~bad].reset_index(drop=True)
    if counts["missing_snp_id"]:
        logger.warning("%s: dropped %d rows without a SNP ID", path.name, counts["missing_snp_id"])
    counts["kept"] = len(out)
    n_not_snp = int((~is_snp(out["A1"], out["A2"])).sum()) if len(out) else 0
    counts["non_snp_alleles"] = n_not_snp
    if n_not_snp:
        logger.info("%s: %d kept rows have alleles that are not two different A/C/G/T bases (indels or coded "
                    "alleles); they will not align to a panel", path.name, n_not_snp)
    logger.info("%s: read %d of %d rows (excluded: %d without ID, %d duplicated, %d bad Z, %d bad N)",
                path.name, counts["kept"], n_read, counts["missing_snp_id"], counts["duplicated_snp_id"],
                counts["nonfinite_z"], counts["bad_n"])
    return out, counts


def write_sumstats(path, sumstats: pd.DataFrame, *, float_format: str | None = None) -> Path:
    """Write the LDSC munged layout ``SNP A1 A2 N Z`` (tab-separated; gzipped for ``.gz``), atomically.

    Parameters
    ----------
    path : str or Path
    sumstats : DataFrame with at least SNP, A1, A2, N, Z
    float_format : str, optional
        E.g. ``"%.6g"``; default writes floats exactly.

    Returns
    -------
    Path
    """
    missing = [c for c in SUMSTATS_COLUMNS if c not in sumstats.columns]
    if missing:
        raise ValueError(f"sumstats table lacks columns {missing}")
    return write_table(path, sumstats.loc[:, list(SUMSTATS_COLUMNS)], float_format=float_format)
