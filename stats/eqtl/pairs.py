"""eQTL tables matched to the reference panel, and their LD pruning.

GTEx ``allpairs`` / fastQTL tables (:func:`stats.io.gtex.read_eqtl_table`) are matched to the panel by
chromosome, position and alleles (:func:`stats.alleles.match_by_position`; never by ID alone); each
matched SNP-gene pair gets ``chi2 = z^2``. The SNPs are then LD-pruned (Basenji 2018: drop one of each
pair with r^2 > 0.5), the strongest chi^2 of a SNP over its genes first.
"""
from __future__ import annotations

import logging
import re
from typing import Mapping

import numpy as np
import pandas as pd

from stats.alleles import match_by_position

logger = logging.getLogger(__name__)


def panel_alleles(panel) -> pd.DataFrame:
    """The panel's SNPs and alleles: ``panel`` itself when it is already that table, else its allele table.

    Parameters
    ----------
    panel : ReferencePanel, str, Path, mapping or DataFrame
        An open :class:`stats.io.panel.ReferencePanel` (or what it opens), or its allele table.

    Returns
    -------
    DataFrame
        ``chrom, snp, pos, a1, a2`` (:meth:`stats.io.panel.ReferencePanel.allele_table`; ``a1`` is the allele
        the genotypes count).
    """
    from stats.io.panel import as_panel

    return panel if isinstance(panel, pd.DataFrame) else as_panel(panel).allele_table()


def match_eqtl_to_panel(eqtl: pd.DataFrame, panel, *, what: str = "eQTL table") -> pd.DataFrame:
    """Attach panel SNP ids to eQTL pairs by chromosome, position and alleles.

    Parameters
    ----------
    eqtl : DataFrame
        :func:`stats.io.gtex.read_eqtl_table` output (``chrom, pos, ref, alt, z`` ...; ``z`` for ``alt``).
    panel : ReferencePanel or DataFrame
        The panel, or its allele table ``chrom, snp, pos, a1, a2`` (:func:`panel_alleles`).
    what : str
        Name of the table in messages.

    Returns
    -------
    DataFrame
        The matched rows of ``eqtl`` in their order plus ``SNP`` (panel id) and ``z_panel`` (z for the
        panel's A1) (:func:`stats.alleles.match_by_position`); strand-ambiguous, mismatched and unmatched
        variants are dropped and logged.

    Raises
    ------
    ValueError
        When no variant of the table matches the panel (naming both sides' examples).
    """
    m = match_by_position(eqtl, panel_alleles(panel), a1="alt", a2="ref", what=what)
    n_var = eqtl["variant_id"].nunique() if "variant_id" in eqtl.columns else len(eqtl)
    logger.info("%s: %d of %d pairs (%d variants) matched to the panel", what, len(m), len(eqtl), n_var)
    m["z_panel"] = m["z"] * m["allele_sign"]
    return m.drop(columns=["panel_a1", "panel_a2", "allele_sign"])


_THRESHOLD = re.compile(r"\s*(\w+)\s*<=\s*([0-9.]+(?:[eE][-+]?[0-9]+)?)\s*")


def significance(e: pd.DataFrame, significant: str, *, what: str) -> np.ndarray:
    """The significance flag of every row of an eQTL table.

    Parameters
    ----------
    e : DataFrame
        The whole table, before matching to a panel (a q-value is over every tested pair).
    significant : str
        A column of flags (bool, 0/1 or ``True``/``False`` text), or a threshold ``COLUMN<=X``
        (e.g. ``pval_nominal<=1e-5``), or ``bh_q<=Q``: Benjamini-Hochberg q-values of ``pval_nominal``
        over the table's pairs (GTEx calls eGenes by permutation q-values over genes; this is the
        pair-level analogue for tables without a flag).
    what : str
        The table's name in messages.

    Returns
    -------
    ndarray, bool, shape (len(e),)
    """
    m = _THRESHOLD.fullmatch(significant)
    if m is None:
        if significant not in e.columns:
            raise ValueError(f"{what}: no column {significant!r} flagging significant eQTLs; derive one with "
                             "--significant-p P (pval_nominal <= P) or --significant-q Q (Benjamini-Hochberg q of "
                             f"pval_nominal <= Q), or name the flag column with --significant-column (have "
                             f"{list(e.columns)[:12]})")
        sig = e[significant]
        if sig.dtype == bool:
            return sig.to_numpy()
        text = sig.astype(str).str.strip().str.lower()
        bad = ~text.isin(["true", "false", "1", "0", "1.0", "0.0"])
        if bad.any():
            raise ValueError(f"{what}: column {significant!r} holds {sig[bad].iloc[0]!r}; expected True/False or 1/0")
        return text.isin(["true", "1", "1.0"]).to_numpy()
    col, thr = m.group(1), float(m.group(2))
    src = "pval_nominal" if col == "bh_q" else col
    if src not in e.columns:
        raise ValueError(f"{what}: significance {significant!r} needs column {src!r} (have {list(e.columns)[:12]})")
    v = pd.to_numeric(e[src], errors="coerce").to_numpy(np.float64)
    if col == "bh_q":
        from scipy.stats import false_discovery_control

        ok = np.isfinite(v)
        q = np.full(len(v), np.nan)
        q[ok] = false_discovery_control(np.clip(v[ok], 0.0, 1.0), method="bh")
        v = q
    sig = np.isfinite(v) & (v <= thr)
    logger.info("%s: %d of %d pairs significant by %s", what, int(sig.sum()), len(e), significant)
    return sig


def eqtl_pairs(eqtl, panel, *, significant: str = "significant", what: str | None = None
               ) -> tuple[pd.DataFrame, int]:
    """One tissue's eQTL pairs matched to the panel: ``SNP, gene_id, chi2, significant``.

    Parameters
    ----------
    eqtl : DataFrame or path
        A GTEx ``allpairs`` / fastQTL table (path, read by :func:`stats.io.gtex.read_eqtl_table`), or its
        :func:`~stats.io.gtex.read_eqtl_table` output (``gene_id, chrom, pos, ref, alt, z`` ...).
    panel : ReferencePanel or DataFrame
        The panel, or its allele table (:func:`panel_alleles`).
    significant : str
        Column of the significance flag, or a threshold (:func:`significance`).
    what : str, optional
        Name of the table in messages (default: the path).

    Returns
    -------
    pairs : DataFrame
        ``chi2 = z^2``; in the table's order.
    n_read : int
        Pairs in the table before matching.

    Raises
    ------
    ValueError
        A missing column, a significance column that is not boolean, or no variant matching the panel.
    """
    from stats.io.gtex import read_eqtl_table

    if isinstance(eqtl, pd.DataFrame):
        e, what = eqtl, what or "eQTL table"
    else:
        e, what = read_eqtl_table(eqtl), what or str(eqtl)
    missing = [c for c in ("gene_id", "chrom", "pos", "ref", "alt", "z") if c not in e.columns]
    if missing:
        raise ValueError(f"{what}: missing columns {missing} (have {list(e.columns)[:12]})")
    e = e.assign(_significant=significance(e, significant, what=what))
    m = match_eqtl_to_panel(e, panel, what=what)
    pairs = pd.DataFrame({"SNP": m["SNP"].astype(str), "gene_id": m["gene_id"].astype(str),
                          "chi2": m["z"].to_numpy(np.float64) ** 2, "significant": m["_significant"].to_numpy(bool)})
    return pairs, len(e)


def pruned_eqtl_pairs(eqtl_tables: Mapping, panel, *, significant: str = "significant", prune_r2: float = 0.5,
                      prune_window_kb: float = 1000.0) -> tuple[dict, dict, list]:
    """Each tissue's eQTL pairs matched to the panel, and those of the SNPs kept by LD pruning (the
    strongest chi2 of a SNP over its genes first).

    Parameters
    ----------
    eqtl_tables : mapping of tissue -> path or DataFrame
        As :func:`eqtl_pairs` reads them.
    panel : ReferencePanel
        The reference panel (:class:`stats.io.panel.ReferencePanel`; a path or mapping is opened here): its
        allele table for the matching, its genotypes for the LD of the pruning.
    significant : str
        Column of the significance flag.
    prune_r2 : float
        Pruning threshold: no two kept SNPs with ``r^2 > prune_r2`` (:func:`stats.ld.prune.prune_variants`).
    prune_window_kb : float
        Pruning window (kb).

    Returns
    -------
    tested, kept : dict of tissue -> DataFrame
        All matched pairs (:func:`eqtl_pairs`), and the pairs of the kept SNPs.
    pruning : list of dict
        Per tissue: ``tissue, pairs`` (read), ``pairs_matched``, ``snps``, ``snps_kept``, ``pairs_kept``.
    """
    from stats.io.panel import as_panel
    from stats.ld.prune import prune_variants

    panel = as_panel(panel)
    bim = panel.allele_table()
    tested, kept_pairs, pruning = {}, {}, []
    for tissue, table in eqtl_tables.items():
        pairs, n_read = eqtl_pairs(table, bim, significant=significant,
                                   what=None if isinstance(table, pd.DataFrame) else str(table))
        snp_chi2 = pairs.groupby("SNP", sort=False)["chi2"].max()
        keep = prune_variants(panel, snp_chi2.index.to_numpy(), priority=snp_chi2.to_numpy(), r2_max=prune_r2,
                              window_kb=prune_window_kb)
        kept = set(snp_chi2.index[keep])
        tested[tissue] = pairs
        kept_pairs[tissue] = pairs[pairs["SNP"].isin(kept)].reset_index(drop=True)
        pruning.append({"tissue": tissue, "pairs": n_read, "pairs_matched": len(pairs), "snps": len(snp_chi2),
                        "snps_kept": len(kept), "pairs_kept": len(kept_pairs[tissue])})
        logger.info("%s: %d SNPs kept of %d after LD pruning (r^2 <= %g); %d pairs", tissue, len(kept), len(snp_chi2),
                    prune_r2, len(kept_pairs[tissue]))
    return tested, kept_pairs, pruning
