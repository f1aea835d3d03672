"""VCF sites for variant scoring: SNPs whose reference allele is checked against the FASTA.

Only the first five columns (CHROM POS ID REF ALT) are read; samples, INFO and FILTER are ignored,
because a sequence model scores alleles, not genotypes. Chromosome names are reconciled with the
FASTA's ('1' <-> 'chr1', 'MT' <-> 'chrM'), and the output always uses the FASTA's names so that
later sequence look-ups need no second translation.

:func:`read_vcf` runs the stages in this order, each of which can also be called on its own:
:func:`parse_vcf_records` (one row per ALT allele, every line validated), :func:`match_chromosomes`,
:func:`apply_indel_policy`, the genome-base look-up, :func:`apply_ref_policy` (REF against the genome
under ``ref_policy``) and :func:`drop_duplicate_alleles`; last come the sort and the made-up IDs.
"""
from __future__ import annotations

import gzip
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

COLUMNS = ["snp", "chrom", "pos", "ref", "alt", "flipped", "line"]
COUNT_KEYS = ("records", "alleles", "snps", "indels_skipped", "past_end_skipped", "ref_match", "ref_mismatch_skipped",
              "flipped", "unmatched_dropped", "duplicates")
REF_POLICIES = ("error", "skip", "flip")
INDEL_POLICIES = ("refuse", "skip")

# VCF 4.x: REF and plain ALT alleles are strings of A, C, G, T, N in either case
_BASES = re.compile(r"[ACGTNacgtn]+")
# symbolic (<DEL>, <*>), the spanning deletion '*', and breakends (G]17:198982]) name no sequence
_SYMBOLIC = re.compile(r"<[^<>]+>|\*|.*[\[\]].*|\.[ACGTNacgtn]+|[ACGTNacgtn]+\.")
# below this many variants on a chromosome, reading each base is cheaper than loading the whole
# span between the first and last variant (a few bases of chr1 should not cost 250 MB)
_FEW_VARIANTS = 1000
_SNIPPET = 60


def _snippet(line: str) -> str:
    return repr(line[:_SNIPPET] + ("..." if len(line) > _SNIPPET else ""))


def _open_text(path: Path):
    """Text handle on a plain or gzip/bgzip file, detected by magic bytes rather than the suffix
    (bgzip output is often named .vcf.bgz, and plain files are sometimes misnamed .gz)."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    # INFO and sample columns may hold any bytes; only the first five fields are validated (ASCII)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="")
    return open(path, "rt", encoding="utf-8", errors="replace", newline="")


def _parse_line(path: Path, i: int, line: str) -> tuple[str, int, str | None, str, list]:
    """CHROM, POS, ID (None for '.' or empty), upper-case REF and ``(alt, kind)`` pairs of data line ``i``.

    ``kind`` is 0 for a single-base substitution, 1 for an indel or multi-base substitution and 2 for
    a symbolic allele; plain ALT alleles are upper-cased, symbolic ones kept as written.
    """
    def bad(what: str, todo: str = "Fix or remove this line.") -> ValueError:
        return ValueError(f"VCF {path} line {i}: {what} (line starts {_snippet(line)}). {todo}")

    f = line.split("\t", 5)
    if len(f) < 5:
        hint = (" The fields seem to be separated by spaces; VCF needs tabs."
                if len(line.split()) >= 5 else "")
        raise bad(f"expected at least 5 tab-separated fields (CHROM POS ID REF ALT), found {len(f)}",
                  "Fix or remove this line." + hint)
    c, p, vid, r, a = f[0], f[1], f[2], f[3], f[4]
    if not c or c != c.strip():
        raise bad(f"CHROM {c!r} is empty or has surrounding spaces")
    try:
        p_int = int(p)
    except ValueError:
        raise bad(f"POS {p!r} is not an integer")
    if p_int < 1:
        raise bad(f"POS {p_int} is below 1 (VCF positions are 1-based)",
                  "Fix or remove this line; a 0-based file must be converted first.")
    if not _BASES.fullmatch(r):
        raise bad(f"REF {r!r} is not a string of A, C, G, T, N")
    if a == ".":
        raise bad("ALT is '.' (no alternate allele), so there is nothing to score",
                  "Remove monomorphic sites (e.g. 'bcftools view -e ALT=\".\"').")
    alts = []
    for allele in a.split(","):
        if _BASES.fullmatch(allele):
            k = 0 if len(r) == 1 and len(allele) == 1 else 1
        elif _SYMBOLIC.fullmatch(allele):
            k = 2
        else:
            raise bad(f"ALT allele {allele!r} is not a string of A, C, G, T, N nor a symbolic allele")
        if k == 0 and allele.upper() == r.upper():
            raise bad(f"ALT {allele!r} equals REF {r!r}")
        alts.append((allele.upper() if k != 2 else allele, k))
    return c, p_int, (vid if vid not in ("", ".") else None), r.upper(), alts


def parse_vcf_records(path) -> tuple[pd.DataFrame, int]:
    """The alleles of a VCF's data lines, one row per ALT allele, in file order, validated line by line.

    Parameters
    ----------
    path : str or Path
        Plain, gzip or bgzip VCF (detected by content); only CHROM POS ID REF ALT are read.

    Returns
    -------
    alleles : DataFrame
        One row per ALT allele (n_alleles rows), with columns

        - vcf_chrom : str, the chromosome as the VCF writes it
        - pos : int64, 1-based
        - id : str or None (None for a missing ID '.')
        - ref : str, upper case
        - alt : str, upper case (symbolic alleles such as ``<DEL>`` as written)
        - kind : int8, 0 single-base substitution, 1 indel or multi-base substitution, 2 symbolic
        - line : int64, 1-based line of the record
    n_records : int
        Number of data lines (records) before multi-allelic records are split.

    Raises
    ------
    ValueError
        A BCF, a truncated or corrupt (b)gzip stream, or a malformed line; the message names the file,
        the line and its start.
    """
    path = Path(path)
    vcf_chrom, pos, ids, ref, alt, kind, lines = [], [], [], [], [], [], []
    n_records = last = 0
    with _open_text(path) as fh:
        try:
            for i, raw in enumerate(fh, start=1):
                last = i
                line = raw.rstrip("\r\n")
                if i == 1 and line.startswith("BCF"):
                    raise ValueError(f"{path} is a BCF (binary VCF), not a text VCF; convert it with "
                                     f"'bcftools view -Oz -o out.vcf.gz {path}'")
                if line.startswith("#") or not line.strip():
                    continue
                n_records += 1
                c, p, vid, r, alts = _parse_line(path, i, line)
                for allele, k in alts:
                    vcf_chrom.append(c)
                    pos.append(p)
                    ids.append(vid)
                    ref.append(r)
                    alt.append(allele)
                    kind.append(k)
                    lines.append(i)
        except (OSError, EOFError, gzip.BadGzipFile) as e:
            raise ValueError(f"VCF {path}: cannot read it past line {last} ({e}); the file is "
                             "truncated or not a (b)gzipped VCF") from None
    df = pd.DataFrame({
        "vcf_chrom": pd.Series(vcf_chrom, dtype=object),
        "pos": np.asarray(pos, dtype=np.int64),
        "id": pd.Series(ids, dtype=object),
        "ref": pd.Series(ref, dtype=object),
        "alt": pd.Series(alt, dtype=object),
        "kind": np.asarray(kind, dtype=np.int8),
        "line": np.asarray(lines, dtype=np.int64),
    })
    return df, n_records


def _name_candidates(name: str) -> list[str]:
    """FASTA names that may denote the VCF chromosome ``name``, best first (the exact name wins)."""
    base = name[3:] if name.startswith("chr") else name
    bases = [base]
    if base in ("M", "MT"):  # Ensembl/1000G 'MT' vs UCSC 'chrM'
        bases.append("MT" if base == "M" else "M")
    out = [name]
    for b in bases:
        out += [b, "chr" + b]
    return list(dict.fromkeys(out))


def match_chromosomes(names, fasta_names) -> dict:
    """Map VCF chromosome names to FASTA names, tolerating a 'chr' prefix on either side.

    Parameters
    ----------
    names : iterable of str
        Chromosome names as the VCF writes them.
    fasta_names : iterable of str
        Sequence names of the FASTA.

    Returns
    -------
    dict of str -> str or None
        VCF name -> FASTA name; None where no FASTA sequence matches.
    """
    have = set(fasta_names)
    return {n: next((c for c in _name_candidates(n) if c in have), None) for n in dict.fromkeys(names)}


def _record(row, path=None) -> str:
    where = f"VCF {path} " if path is not None else ""
    vid = f", ID {row.id}" if row.id is not None else ""
    return f"{where}line {row.line} ({row.vcf_chrom}:{row.pos} {row.ref}>{row.alt}{vid})"


def _genome_bases(fa, chrom: str, pos: np.ndarray) -> np.ndarray:
    """ASCII codes of the genome (upper-cased by pyfaidx) at 1-based ``pos`` on ``chrom`` (all within bounds).

    One pyfaidx read per chromosome (the span from the first to the last variant) keeps ~1e5
    variants fast; for a handful of variants, one read each avoids loading a whole chromosome.
    """
    if len(pos) <= _FEW_VARIANTS:
        rec = fa[chrom]
        seq = "".join(rec[int(p) - 1:int(p)] for p in pos)
        return np.frombuffer(seq.encode("ascii"), dtype=np.uint8)
    lo, hi = int(pos.min()), int(pos.max())
    span = np.frombuffer(fa[chrom][lo - 1:hi].encode("ascii"), dtype=np.uint8)
    return span[pos - lo]


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"snp": pd.Series([], dtype=object), "chrom": pd.Series([], dtype=object),
                         "pos": np.array([], np.int64), "ref": pd.Series([], dtype=object),
                         "alt": pd.Series([], dtype=object), "flipped": np.array([], bool),
                         "line": np.array([], np.int64)})


def _fasta_chromosomes(df: pd.DataFrame, sizes: dict, *, path: Path, fasta: Path) -> pd.DataFrame:
    """``df`` with a ``chrom`` column of FASTA names; raises naming the first VCF chromosome the FASTA lacks."""
    mapping = match_chromosomes(df["vcf_chrom"], sizes)
    missing = [c for c, m in mapping.items() if m is None]
    if missing:
        c = missing[0]
        first = int(df.loc[df["vcf_chrom"] == c, "line"].iloc[0])
        names = list(sizes)
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        more = f" ({len(missing)} VCF chromosomes are missing: {', '.join(missing[:5])})" if len(missing) > 1 else ""
        raise ValueError(
            f"VCF {path} line {first}: chromosome {c!r} is not in the FASTA {fasta} (tried "
            f"{', '.join(map(repr, _name_candidates(c)))}; it has {len(names)} sequences: {shown}){more}. "
            "Use the FASTA of the VCF's genome build, or remove the records on chromosomes the genome lacks.")
    return df.assign(chrom=df["vcf_chrom"].map(mapping).astype(object))


def apply_indel_policy(alleles: pd.DataFrame, *, indels: str, path) -> tuple[pd.DataFrame, int]:
    """Keep the single-base substitutions of parsed alleles, refusing or dropping all others.

    Parameters
    ----------
    alleles : DataFrame
        From :func:`parse_vcf_records` (columns ``kind``, ``line``, ``vcf_chrom``, ``pos``, ``ref``,
        ``alt``, ``id``), n_alleles rows.
    indels : {"refuse", "skip"}
        Raise on the first allele that is not a SNP, or drop them all.
    path : str or Path
        The VCF, named in the error message.

    Returns
    -------
    snps : DataFrame
        The rows with ``kind == 0``, in their order, index reset (``alleles`` itself when all are SNPs).
    n_skipped : int
        Number of alleles dropped (0 under ``"refuse"``).

    Raises
    ------
    ValueError
        Under ``indels="refuse"`` when any allele is an indel, a multi-base substitution or symbolic.
    """
    not_snp = alleles["kind"].to_numpy() != 0
    if not not_snp.any():
        return alleles, 0
    if indels == "refuse":
        row = next(alleles.loc[not_snp].itertuples(index=False))
        what = "a symbolic or structural allele" if row.kind == 2 else "an indel or multi-base substitution"
        raise ValueError(
            f"{_record(row, path)} is {what}, which is not supported: only single-base substitutions (SNPs) are "
            f"scored ({int(not_snp.sum())} of {len(alleles)} alleles are not SNPs). Pass --indels skip (indels='skip' "
            "in Python) to drop them and count them, or remove them first (e.g. 'bcftools view -v snps').")
    return alleles.loc[~not_snp].reset_index(drop=True), int(not_snp.sum())


def _reference_bases(fa, df: pd.DataFrame, sizes: dict, *, path: Path, fasta: Path,
                     ref_policy: str) -> tuple[pd.DataFrame, np.ndarray, int]:
    """The rows within their chromosome, the ASCII code (uint8) of the genome base under each, and how many
    rows past a chromosome's end were dropped (``ref_policy="skip"``; any other policy raises)."""
    size = df["chrom"].map(sizes).to_numpy(dtype=np.int64)
    past = df["pos"].to_numpy() > size
    if past.any() and ref_policy != "skip":
        row = next(df.loc[past].itertuples(index=False))
        raise ValueError(
            f"{_record(row, path)}: position {row.pos:,} is past the end of {row.chrom} ({sizes[row.chrom]:,} bp) "
            f"in the FASTA {fasta} ({int(past.sum())} alleles are): the FASTA is of another genome build or holds "
            "only part of the chromosome. Use the matching FASTA, or drop these with --ref-policy skip "
            "(ref_policy='skip' in Python).")
    if past.any():
        logger.warning("%s: %d alleles past the end of their chromosome in the FASTA %s dropped (--ref-policy skip)",
                       path, int(past.sum()), fasta)
        df = df.loc[~past].reset_index(drop=True)
    genome = np.zeros(len(df), dtype=np.uint8)
    for c, idx in df.groupby("chrom", sort=False).indices.items():
        genome[idx] = _genome_bases(fa, c, df["pos"].to_numpy()[idx])
    return df, genome, int(past.sum())


def apply_ref_policy(snps: pd.DataFrame, genome: np.ndarray, *, ref_policy: str, path, fasta
                     ) -> tuple[pd.DataFrame, dict]:
    """Check each SNP's REF against the genome base and apply ``ref_policy`` to the mismatches.

    Parameters
    ----------
    snps : DataFrame
        n_snps rows with one upper-case base in ``ref`` and in ``alt``, plus ``chrom``, ``pos``, ``line``,
        ``vcf_chrom`` and ``id`` (named in messages).
    genome : ndarray of uint8, shape (n_snps,)
        ASCII code of the upper-case genome base at each row.
    ref_policy : {"error", "skip", "flip"}
        See :func:`read_vcf`.
    path, fasta : str or Path
        The VCF and the FASTA, named in the error message and the warning.

    Returns
    -------
    kept : DataFrame
        The kept rows, in their order, with a bool column ``flipped``; flipped rows have REF and ALT
        swapped, so ``ref`` is the genome base in every row.
    counts : dict of str -> int
        ``ref_match``, ``ref_mismatch_skipped``, ``flipped`` and ``unmatched_dropped`` (see :func:`read_vcf`).

    Raises
    ------
    ValueError
        Under ``ref_policy="error"`` when any REF differs from the genome, naming the first such record.
    """
    df = snps.copy()
    counts = dict.fromkeys(("ref_match", "ref_mismatch_skipped", "flipped", "unmatched_dropped"), 0)
    # every allele is one base, so joining them gives one ASCII code per row
    ref_code = np.frombuffer("".join(df["ref"]).encode("ascii"), dtype=np.uint8)
    alt_code = np.frombuffer("".join(df["alt"]).encode("ascii"), dtype=np.uint8)
    match = ref_code == genome
    counts["ref_match"] = int(match.sum())
    flipped = np.zeros(len(df), dtype=bool)
    bad = ~match
    if not bad.any():
        df["flipped"] = flipped
        return df, counts
    i = int(np.flatnonzero(bad)[0])
    row = next(df.iloc[[i]].itertuples(index=False))
    base = chr(genome[i])
    share = f"{int(bad.sum())} of {len(df)} SNP alleles"
    if ref_policy == "error":
        raise ValueError(
            f"{_record(row, path)}: REF {row.ref} does not match the genome base {base} at {row.chrom}:{row.pos} "
            f"in the FASTA {fasta} ({share} mismatch). Check that the VCF and the FASTA are the same genome "
            "build; or drop mismatches with --ref-policy skip (ref_policy='skip' in Python), or swap REF and "
            "ALT where the ALT is the genome base with --ref-policy flip.")
    if ref_policy == "flip":
        flipped = bad & (alt_code == genome)
        counts["flipped"] = int(flipped.sum())
        counts["unmatched_dropped"] = int((bad & ~flipped).sum())
        keep = match | flipped
        # whole-column assignment: swapping through .loc with a 2-column view can read the
        # already-overwritten REF when pandas keeps both columns in one block
        ref, alt = df["ref"].to_numpy(dtype=object), df["alt"].to_numpy(dtype=object)
        df["ref"], df["alt"] = np.where(flipped, alt, ref), np.where(flipped, ref, alt)
    else:
        counts["ref_mismatch_skipped"] = int(bad.sum())
        keep = match
    # a large share of mismatches usually means the wrong genome build, not bad records
    logger.warning("VCF %s: %s do not match the FASTA %s (e.g. %s, genome base %s); policy %r", path, share,
                   fasta, _record(row), base, ref_policy)
    df["flipped"] = flipped
    return df.loc[keep].reset_index(drop=True), counts


def drop_duplicate_alleles(snps: pd.DataFrame, *, path) -> tuple[pd.DataFrame, int]:
    """Keep the first of rows with the same chrom, pos, ref and alt, logging a warning when any repeat.

    Parameters
    ----------
    snps : DataFrame
        n_snps rows with columns ``chrom``, ``pos``, ``ref``, ``alt`` and ``line``.
    path : str or Path
        The VCF, named in the warning.

    Returns
    -------
    unique : DataFrame
        The first row of each (chrom, pos, ref, alt), in their order (``snps`` itself when none repeat).
    n_duplicates : int
        Number of rows dropped.
    """
    dup = snps.duplicated(["chrom", "pos", "ref", "alt"], keep="first").to_numpy()
    if not dup.any():
        return snps, 0
    row = next(snps.loc[dup].itertuples(index=False))
    first = snps.loc[(snps["chrom"] == row.chrom) & (snps["pos"] == row.pos) & (snps["ref"] == row.ref)
                     & (snps["alt"] == row.alt), "line"].iloc[0]
    logger.warning("VCF %s: %d duplicate SNP alleles (same chrom, pos, ref, alt) kept once, e.g. %s:%d %s>%s "
                   "on lines %d and %d", path, int(dup.sum()), row.chrom, row.pos, row.ref, row.alt,
                   first, row.line)
    return snps.loc[~dup].reset_index(drop=True), int(dup.sum())


def _output(df: pd.DataFrame, chrom_order) -> pd.DataFrame:
    """The :data:`COLUMNS` of ``df`` sorted by ``chrom_order`` then position, with missing IDs made up."""
    rank = {c: i for i, c in enumerate(chrom_order)}
    # np.lexsort is stable, and rows are in file order, so ties keep the file's order
    order = np.lexsort((df["pos"].to_numpy(), df["chrom"].map(rank).to_numpy(dtype=np.int64)))
    df = df.iloc[order].reset_index(drop=True)
    if not len(df):
        return _empty()
    made = df["chrom"] + ":" + df["pos"].astype(str) + ":" + df["ref"] + ":" + df["alt"]
    df["snp"] = df["id"].where(df["id"].notna(), made).astype(object)
    return df[COLUMNS].astype({"pos": np.int64, "flipped": bool, "line": np.int64})


def _checked_inputs(path, fasta, *, ref_policy: str, indels: str) -> tuple[Path, Path]:
    """``path`` and ``fasta`` as Paths, after checking the policies and that both files exist."""
    if ref_policy not in REF_POLICIES:
        raise ValueError(f"ref_policy must be one of {REF_POLICIES}, got {ref_policy!r}")
    if indels not in INDEL_POLICIES:
        raise ValueError(f"indels must be one of {INDEL_POLICIES}, got {indels!r}")
    path, fasta = Path(path), Path(fasta)
    if not path.is_file():
        raise FileNotFoundError(f"VCF {path} does not exist")
    if not fasta.is_file():
        raise FileNotFoundError(f"FASTA {fasta} does not exist")
    return path, fasta


def read_vcf(path, *, fasta, ref_policy: str = "error", indels: str = "refuse") -> tuple[pd.DataFrame, dict]:
    """Read the sites of a VCF as SNP alleles checked against a reference genome.

    Plain, gzip and bgzip files are accepted (detected by content). Multi-allelic records give one
    row per ALT allele; a missing ID ('.') becomes ``chrom:pos:ref:alt`` (with the output's
    chromosome name and alleles). Alleles are compared on the forward strand and upper-cased. The
    input need not be sorted. The stages are :func:`parse_vcf_records`, :func:`match_chromosomes`,
    :func:`apply_indel_policy`, :func:`apply_ref_policy` and :func:`drop_duplicate_alleles`.

    Parameters
    ----------
    path : str or Path
        The VCF (only CHROM POS ID REF ALT are read).
    fasta : str or Path
        The reference genome (pyfaidx; its ``.fai`` is made when missing). Its sequence names are
        the output's chromosome names; a VCF name matches with or without a 'chr' prefix, and
        'MT' matches 'chrM'.
    ref_policy : {"error", "skip", "flip"}
        What to do when REF differs from the genome base: raise; drop the allele; or swap REF and
        ALT when the ALT is the genome base (``flipped`` True), dropping alleles matching neither.
    indels : {"refuse", "skip"}
        Alleles that are not single-base substitutions (indels, MNPs, symbolic alleles such as
        ``<DEL>`` or ``*``) raise, or are dropped and counted.

    Returns
    -------
    variants : DataFrame
        One row per kept SNP allele, sorted by the FASTA's chromosome order then position (stable,
        so ties keep file order), with columns

        - snp : str, the VCF ID or ``chrom:pos:ref:alt``
        - chrom : str, the FASTA's name
        - pos : int64, 1-based
        - ref, alt : str, one upper-case base each (after any flip ``ref`` is the genome base)
        - flipped : bool, REF and ALT were swapped (``ref_policy="flip"`` only)
        - line : int64, 1-based line of the record in the VCF
    counts : dict of str -> int
        ``records`` (data lines), ``alleles`` (rows after splitting multi-allelic records),
        ``snps``, ``indels_skipped``, ``ref_match``, ``ref_mismatch_skipped``, ``flipped``,
        ``unmatched_dropped`` (flip: neither allele is the genome base), ``duplicates`` (same
        chrom, pos, ref, alt as an earlier row; the first is kept).

    Raises
    ------
    FileNotFoundError
        The VCF or the FASTA does not exist.
    ValueError
        A malformed line, an unsupported allele under ``indels="refuse"``, a chromosome missing from
        the FASTA, a position past a chromosome's end, or a REF mismatch under
        ``ref_policy="error"``; each message names the file, line and record.
    """
    from genomodel.io.fasta import open_fasta

    path, fasta = _checked_inputs(path, fasta, ref_policy=ref_policy, indels=indels)
    df, n_records = parse_vcf_records(path)
    counts = dict.fromkeys(COUNT_KEYS, 0)
    counts["records"], counts["alleles"] = n_records, len(df)
    fa = open_fasta(fasta)
    try:
        sizes = {k: len(v) for k, v in fa.items()}
        # chromosome names first: a wrong build or naming is the most common cause of every later error
        df = _fasta_chromosomes(df, sizes, path=path, fasta=fasta)
        df, counts["indels_skipped"] = apply_indel_policy(df, indels=indels, path=path)
        counts["snps"] = len(df)
        df, genome, counts["past_end_skipped"] = _reference_bases(fa, df, sizes, path=path, fasta=fasta,
                                                                  ref_policy=ref_policy)
    finally:
        fa.close()
    df, ref_counts = apply_ref_policy(df, genome, ref_policy=ref_policy, path=path, fasta=fasta)
    counts.update(ref_counts)
    df, counts["duplicates"] = drop_duplicate_alleles(df, path=path)
    out = _output(df, sizes)
    logger.info("VCF %s: %s; %d SNP alleles kept", path, ", ".join(f"{k}={v}" for k, v in counts.items()), len(out))
    return out, counts


__all__ = ["read_vcf", "parse_vcf_records", "match_chromosomes", "apply_indel_policy", "apply_ref_policy",
           "drop_duplicate_alleles", "COLUMNS", "COUNT_KEYS", "REF_POLICIES", "INDEL_POLICIES"]
