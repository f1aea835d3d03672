"""Annotations: LDSC ``.annot.gz`` and signed SLDP ``.sannot.gz``, one file per chromosome.

``.annot[.gz]`` (LDSC): ``CHR BP SNP CM`` then one column per annotation, one row per reference-panel
SNP in the panel's (bim) order; or the "thin" form with only the annotation columns (rows still in
bim order).

``.sannot[.gz]`` (SLDP): ``SNP A1 A2`` then one column per signed annotation, whose values refer to
allele A1 (swapping A1 and A2 negates them); ``CHR``, ``BP`` and ``CM`` may also be present.

Per-chromosome sets are named by a template with ``{chrom}`` or an ldsc-style prefix
(``prefix.22.sannot.gz``), see :func:`stats.io.chromfiles.chrom_path`.

Annotation values must be finite numbers: a missing, infinite or non-numeric value is an error
naming the column and line. An annotation that is zero for every SNP of a file is allowed but
logged (it carries no signal and makes regressions singular).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from genocore.columns import LDSC_ANNOT, SLDP_SANNOT
from genocore.files import write_table
from genocore.genome import normalize_chrom
from stats.alleles import match_by_position
from stats.io.chromfiles import chrom_path, find_chrom_file, glob_chrom_files
from stats.io.sumstats import parse_numbers, read_text_table

logger = logging.getLogger(__name__)

#: Leading columns of a full ``.annot`` file.
ANNOT_META = LDSC_ANNOT.required
#: Columns every ``.sannot`` file has.
SANNOT_REQUIRED = SLDP_SANNOT.required
#: Metadata columns a ``.sannot`` file may also have.
SANNOT_OPTIONAL = tuple(SLDP_SANNOT.optional.values())
_SANNOT_ORDER = ("CHR", "BP", "SNP", "CM", "A1", "A2")


def annot_suffix(*, signed: bool) -> str:
    """``.sannot.gz`` or ``.annot.gz``."""
    return ".sannot.gz" if signed else ".annot.gz"


def _signed_from_path(path, signed):
    if signed is not None:
        return bool(signed)
    return ".sannot" in Path(path).name


def _meta_columns(columns, *, signed: bool, where) -> list[str]:
    columns = list(columns)
    if signed:
        missing = [c for c in SANNOT_REQUIRED if c not in columns]
        if missing:
            raise ValueError(f"{where}: a signed annotation (.sannot) needs columns {list(SANNOT_REQUIRED)}; "
                             f"missing {missing} (columns: {columns[:10]})")
        return [c for c in _SANNOT_ORDER if c in columns]
    present = [c for c in ANNOT_META if c in columns]
    if present and len(present) < len(ANNOT_META):
        missing = [c for c in ANNOT_META if c not in columns]
        raise ValueError(f"{where}: an .annot file has all of {list(ANNOT_META)} or none of them (thin form); "
                         f"it has {present} but lacks {missing}")
    return present


def annotation_columns(annot: pd.DataFrame, *, signed: bool) -> list[str]:
    """Names of the annotation (value) columns of an annotation table, in order."""
    meta = set(_meta_columns(annot.columns, signed=signed, where="annotation table"))
    return [c for c in annot.columns if c not in meta]


def _report_zero(values: dict, where) -> None:
    zero = [c for c, v in values.items() if len(v) and not np.any(v)]
    if zero:
        logger.warning("%s: annotation(s) %s are zero for every SNP", where, ", ".join(map(str, zero)))


def _finite_or_raise(v: np.ndarray, rows, *, where, col, row_word: str) -> None:
    bad = ~np.isfinite(v)
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(f"{where}, {row_word} {rows[i]}, column {col!r}: annotation value {v[i]!r} is not finite "
                         f"({int(bad.sum())} such rows)")


def read_annot(path, *, signed: bool | None = None) -> pd.DataFrame:
    """Read one ``.annot[.gz]`` or ``.sannot[.gz]`` file.

    Parameters
    ----------
    path : str or Path
    signed : bool, optional
        Signed (``.sannot``) layout; default: told by the file name.

    Returns
    -------
    DataFrame
        The metadata columns present (``CHR`` str normalized, ``BP`` int64 1-based bp, ``SNP`` str,
        ``CM`` float64 cM, ``A1``/``A2`` str upper case), then the annotation columns (float64), in
        file order; index 0..n_snps-1.

    Raises
    ------
    ValueError
        Naming the file: wrong metadata columns, no annotation column, duplicated column names; and
        with the line and column: a non-finite or non-numeric annotation value, a missing SNP ID,
        chromosome or position, or a non-integer position.
    """
    path = Path(path)
    signed = _signed_from_path(path, signed)
    raw = read_text_table(path)
    cols = list(raw.columns)
    meta = _meta_columns(cols, signed=signed, where=path)
    names = [c for c in cols if c not in meta]
    if not names:
        raise ValueError(f"{path}: no annotation columns (only {meta})")
    lines = raw.index.to_numpy() + 2
    out = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    for c in meta:
        s = raw[c].str.strip()
        if c in ("SNP", "A1", "A2", "CHR"):
            empty = s.str.lower().isin({"", "na", "nan", "."}).to_numpy()
            if c != "A1" and c != "A2" and empty.any():
                i = np.flatnonzero(empty)[0]
                raise ValueError(f"{path}, line {lines[i]}, column {c!r}: missing value ({int(empty.sum())} such rows)")
            v = s.to_numpy()
            if c in ("A1", "A2"):
                v = s.str.upper().to_numpy()
            elif c == "CHR":
                v = normalize_chrom(s).to_numpy()
            out[c] = pd.array(v, dtype="str")
        else:
            x = parse_numbers(s, path=path, col=c)
            if c == "BP":
                bad = ~np.isfinite(x) | (x != np.round(x))
                if bad.any():
                    i = np.flatnonzero(bad)[0]
                    raise ValueError(f"{path}, line {lines[i]}, column 'BP': positions must be whole numbers, "
                                     f"got {raw[c].iat[i]!r}")
                out[c] = x.astype(np.int64)
            else:
                out[c] = x
    values = {}
    for c in names:
        v = parse_numbers(raw[c], path=path, col=c)
        _finite_or_raise(v, lines, where=path, col=c, row_word="line")
        values[c] = v
    out = pd.concat([out, pd.DataFrame(values, index=out.index)], axis=1)
    _report_zero(values, path)
    logger.info("read %s: %d SNPs x %d %sannotations", path, len(out), len(names), "signed " if signed else "")
    return out


def write_annot(path, annot: pd.DataFrame, *, signed: bool | None = None, float_format: str | None = None) -> Path:
    """Write one ``.annot[.gz]`` / ``.sannot[.gz]`` file atomically (tab-separated; gzipped for ``.gz``).

    Parameters
    ----------
    path : str or Path
    annot : DataFrame
        Metadata columns (``CHR BP SNP CM``, none for the thin form; ``SNP A1 A2`` [``CHR BP CM``] for
        signed), then numeric annotation columns, one row per SNP.
    signed : bool, optional
        Default: told by the file name (``.sannot``).
    float_format : str, optional
        E.g. ``"%.6g"``; default writes floats exactly.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        For wrong metadata columns, no annotation column, or a non-finite / non-numeric value (naming
        the column and row); nothing is written then.
    """
    path = Path(path)
    signed = _signed_from_path(path, signed)
    meta = _meta_columns(annot.columns, signed=signed, where=path)
    names = [c for c in annot.columns if c not in meta]
    if not names:
        raise ValueError(f"{path}: no annotation columns to write (only {meta})")
    values = {}
    for c in names:
        try:
            v = pd.to_numeric(annot[c], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{path}: annotation column {c!r} is not numeric: {e}") from None
        _finite_or_raise(v, np.arange(len(v)), where=path, col=c, row_word="row")
        values[c] = v
    _report_zero(values, path)
    return write_table(path, annot.loc[:, meta + names], float_format=float_format)


def read_annot_chroms(template, chroms=None, *, signed: bool) -> pd.DataFrame:
    """Read a per-chromosome annotation set into one table.

    Parameters
    ----------
    template : str or Path
        ``{chrom}`` template or ldsc-style prefix (see :func:`stats.io.chromfiles.chrom_path`), without
        or with the ``.annot.gz`` / ``.sannot.gz`` suffix.
    chroms : sequence of str, optional
        Chromosomes to read (a missing file is an error); default: every file of the set found.
    signed : bool

    Returns
    -------
    DataFrame
        The files' tables concatenated in chromosome order, with a ``CHR`` column (normalized) first
        when the files have none (thin ``.annot``, ``.sannot`` without CHR); index 0..n-1.

    Raises
    ------
    FileNotFoundError
        For a requested chromosome without a file, or when the set has no file at all.
    ValueError
        When the files disagree on the annotation columns, or as :func:`read_annot`.
    """
    suffix = annot_suffix(signed=signed)
    if chroms is None:
        files = glob_chrom_files(template, suffix)
        if not files:
            raise FileNotFoundError(f"no {suffix} files for {template} (e.g. {chrom_path(template, '1', suffix)})")
    else:
        files = {normalize_chrom(c): find_chrom_file(template, c, suffix) for c in chroms}
    parts, names = [], None
    for c, f in files.items():
        df = read_annot(f, signed=signed)
        these = annotation_columns(df, signed=signed)
        if names is None:
            names = these
        elif these != names:
            raise ValueError(f"{f}: annotation columns {these} differ from those of the first file {names}")
        if "CHR" not in df.columns:
            df.insert(0, "CHR", pd.array([c] * len(df), dtype="str"))
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


def write_annot_chroms(template, annot: pd.DataFrame, *, signed: bool, float_format: str | None = None) -> list[Path]:
    """Write an annotation table as one file per chromosome (split on its ``CHR`` column), atomically.

    For a thin ``.annot`` table (``CHR`` plus annotations only, as :func:`read_annot_chroms` returns
    it) the ``CHR`` column is not written.

    Returns
    -------
    list of Path, in chromosome order.
    """
    if "CHR" not in annot.columns:
        raise ValueError("annotation table has no CHR column to split the chromosomes on")
    thin = not signed and not any(c in annot.columns for c in ("BP", "SNP", "CM"))
    chrom = normalize_chrom(annot["CHR"].astype("str"))
    paths = []
    for c in pd.unique(chrom):
        part = annot[(chrom == c).to_numpy()]
        if thin:
            part = part.drop(columns="CHR")
        paths.append(write_annot(chrom_path(template, c, annot_suffix(signed=signed)), part, signed=signed,
                                 float_format=float_format))
    return paths


def signed_annotation_from_scores(variants: pd.DataFrame, values, *, names, panel: pd.DataFrame,
                                  what: str = "variant scores") -> pd.DataFrame:
    """A signed annotation of panel SNPs (a ``.sannot`` table) from a model's per-variant scores.

    The scores of a ``sad.h5`` are alt-minus-ref differences; SLDP reads a signed annotation
    oriented to the panel's A1. Variants meet the panel by chromosome, position and alleles
    (:func:`stats.alleles.match_by_position`), and each value is multiplied by +1 or -1 as the
    variant's ALT is the panel's A1 or A2. Panel SNPs without a score are left out (SLDP counts them
    as 0).

    Parameters
    ----------
    variants : DataFrame
        ``chrom, pos, ref, alt`` per scored variant (1-based positions), shape (n_variants, ...).
    values : ndarray, float, shape (n_variants, n_annotations)
        One column per annotation (e.g. the SAD of each target).
    names : sequence of str, length n_annotations
        Annotation column names.
    panel : DataFrame
        Panel SNPs ``chrom, snp, pos, a1, a2`` (a bim).
    what : str
        Name of the scores in messages.

    Returns
    -------
    DataFrame
        ``CHR SNP A1 A2`` and one float64 column per name, one row per matched panel SNP in the
        order of ``variants`` (a second variant matching the same panel SNP is dropped and logged).
    """
    values = np.asarray(values, dtype=np.float64)
    names = list(names)
    if values.ndim != 2 or values.shape != (len(variants), len(names)):
        raise ValueError(f"{what}: values of shape {values.shape} do not fit {len(variants)} variants x "
                         f"{len(names)} names")
    table = variants[["chrom", "pos", "ref", "alt"]].reset_index(drop=True)
    table = pd.concat([table, pd.DataFrame(values, columns=names)], axis=1)
    m = match_by_position(table, panel, a1="alt", a2="ref", signed=names, what=what)
    dup = m.SNP.duplicated()
    if dup.any():
        logger.info("%s: %d variants matched a panel SNP already matched (kept the first)", what, int(dup.sum()))
        m = m[~dup]
    out = pd.DataFrame({"CHR": np.asarray(normalize_chrom(m["chrom"].astype(str).to_numpy()), dtype=str),
                        "SNP": m.SNP.to_numpy(),
                        "A1": m.panel_a1.to_numpy(), "A2": m.panel_a2.to_numpy()})
    for name in names:
        out[name] = m[name].to_numpy(np.float64)
    return out



def sannot_from_sad_h5(path, *, panel, stat: str = "SAD", targets=None) -> pd.DataFrame:
    """The signed annotation of a ``sad.h5`` statistic on a reference panel's SNPs, one column per target.

    Parameters
    ----------
    path : path-like
        A ``sad.h5`` (``genomodel sad``).
    panel : ReferencePanel or what it opens
        The panel SLDP will read (its bim alleles orient the annotation).
    stat : str
        The statistic (``SAD``: the sum over bins of alt minus ref).
    targets : sequence of str, optional
        Target ids to keep (default: all).

    Returns
    -------
    DataFrame as :func:`signed_annotation_from_scores` gives it (columns named by target id).
    """
    from genocore.scores import read_sad_h5
    from stats.io.panel import as_panel

    scores = read_sad_h5(path, stats=[stat], dtype=np.float64)
    ids = scores.target_ids or [f"t{j}" for j in range(scores.stats[stat].shape[1])]
    cols = list(range(len(ids)))
    if targets is not None:
        unknown = [t for t in targets if t not in ids]
        if unknown:
            raise ValueError(f"{path}: no target(s) {unknown[:5]}; its targets are {ids[:10]}")
        cols = [ids.index(t) for t in targets]
    return signed_annotation_from_scores(scores.variants, scores.stats[stat][:, cols], names=[ids[j] for j in cols],
                                         panel=as_panel(panel).allele_table(), what=str(path))
