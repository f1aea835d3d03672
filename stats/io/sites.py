"""The variant sites of a table as a sites-only VCF: the bridge from GTEx eQTL tables (or any table with
chromosome, position, REF and ALT columns) to ``genomodel sad`` / ``genomodel sed``, which read VCFs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["variant_sites", "write_sites_vcf"]


def variant_sites(table: pd.DataFrame, *, what: str = "table") -> pd.DataFrame:
    """The distinct variant sites of ``table``, sorted by chromosome (numeric first) then position.

    Parameters
    ----------
    table : DataFrame
        A GTEx eQTL table (``variant_id`` = ``chrom_pos_ref_alt[_build]``), or columns named as chromosome,
        position, REF and ALT (:mod:`genocore.columns` aliases: ``chr``/``CHR``, ``pos``/``BP``, ``ref``,
        ``alt``) and optionally an ID column (``snp``/``SNP``/``rsid``).
    what : str
        Name in messages.

    Returns
    -------
    DataFrame, columns ``chrom, pos, snp, ref, alt``; ``snp`` the table's ID, or ``chrom:pos:ref:alt``.

    Raises
    ------
    ValueError
        No such columns (naming what was found), or a position that is not a number.
    """
    from genocore.columns import lookup
    from genocore.genome import chrom_sort_key

    if "variant_id" in table.columns:
        from stats.io.gtex import parse_variant_ids

        sites = parse_variant_ids(table["variant_id"], source=what)[["chrom", "pos", "ref", "alt"]]
        sites["snp"] = table["variant_id"].astype(str).to_numpy()
    else:
        names = {lookup(c): c for c in reversed(table.columns) if lookup(c) in ("chrom", "pos", "snp")}
        # ref / alt by their own names: A1 / A2 of summary statistics do not say which is the genome's base
        names.update({c.lower().replace("_allele", ""): c for c in table.columns
                      if c.lower() in ("ref", "alt", "ref_allele", "alt_allele")})
        missing = [k for k in ("chrom", "pos", "ref", "alt") if k not in names]
        if missing:
            raise ValueError(f"{what}: no {'/'.join(missing)} column among {list(table.columns)}: a GTEx "
                             "variant_id column, or chromosome, position, ref and alt columns are needed (A1/A2 "
                             "do not say which allele is the genome's; rename them ref/alt, and score with "
                             "--ref-policy flip to have swapped ones put right)")
        pos = pd.to_numeric(table[names["pos"]], errors="coerce")
        if pos.isna().any():
            i = int(np.flatnonzero(pos.isna().to_numpy())[0])
            raise ValueError(f"{what}: row {i + 1} has position {table[names['pos']].iloc[i]!r}, not a number")
        sites = pd.DataFrame({"chrom": table[names["chrom"]].astype(str).to_numpy(), "pos": pos.to_numpy(np.int64),
                              "ref": table[names["ref"]].astype(str).str.upper().to_numpy(),
                              "alt": table[names["alt"]].astype(str).str.upper().to_numpy()})
        ids = table[names["snp"]].astype(str).to_numpy() if "snp" in names else None
        sites["snp"] = ids if ids is not None else (sites.chrom + ":" + sites.pos.astype(str) + ":" + sites.ref
                                                    + ":" + sites.alt)
    sites = sites.drop_duplicates(["chrom", "pos", "ref", "alt"]).reset_index(drop=True)
    rank = sites["chrom"].map({c: i for i, c in enumerate(sorted(pd.unique(sites["chrom"]), key=chrom_sort_key))})
    order = np.lexsort((sites["pos"].to_numpy(), rank.to_numpy()))
    return sites.iloc[order][["chrom", "pos", "snp", "ref", "alt"]].reset_index(drop=True)


def write_sites_vcf(sites: pd.DataFrame, path) -> Path:
    """Write ``chrom, pos, snp, ref, alt`` rows (in the order given) as a sites-only VCF, atomically
    (gzipped for ``.gz``)."""
    from genocore.files import write_text

    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    lines += [f"{r.chrom}\t{r.pos}\t{r.snp}\t{r.ref}\t{r.alt}\t.\t.\t." for r in sites.itertuples()]
    return write_text(path, "\n".join(lines) + "\n")
