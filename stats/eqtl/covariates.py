"""The LD-score covariates of the eQTL covariate regression, from the reference panel.

* ``L2``: the window LD score of each panel SNP (:func:`stats.ld.scores.ld_scores`, cM, kb or SNP windows);
* ``TSS_*``: the LD scores of the TSS-distance indicator annotations (<500, 500-2000, 2000-8000,
  8000-32000 bp; :mod:`stats.eqtl.tss`), per SNP (nearest TSS of any gene) or per SNP-gene pair (that
  gene's TSSs);
* ``CIS_L2``: the cis LD score of a SNP-gene pair (:func:`pair_cis_ld_scores`), an optional covariate.

Each function takes the reference panel as an open :class:`stats.io.panel.ReferencePanel`, whose .bim and
.fam files are parsed once however many stages use it (a path is accepted too, and opened anew).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def ld_window(**ld_options) -> dict:
    """Options of :func:`stats.ld.scores.ld_scores` with ldsc's default window (1 cM) when none is named.

    Parameters
    ----------
    **ld_options
        ``wind_cm``, ``wind_kb`` or ``wind_snps`` (at most one not None), ``drop_duplicate_positions``...

    Returns
    -------
    dict
    """
    out = {k: v for k, v in ld_options.items() if v is not None}
    if not {"wind_cm", "wind_kb", "wind_snps"} & set(out):
        out["wind_cm"] = 1.0
    return out


def panel_ld_scores(panel, *, tss: pd.DataFrame | None = None, **ld_options) -> pd.DataFrame:
    """Per panel SNP: ``SNP, L2`` and (with ``tss``) the per-SNP TSS-distance LD scores, all chromosomes.

    Parameters
    ----------
    panel : ReferencePanel
        An open :class:`stats.io.panel.ReferencePanel` (a path or mapping is opened here).
    tss : DataFrame, optional
        :func:`stats.eqtl.tss.read_tss` table.
    **ld_options
        The LD window and panel options (:func:`ld_window`).

    Returns
    -------
    DataFrame
        One row per panel SNP kept by :func:`stats.ld.scores.ld_scores`, chromosome by chromosome.
    """
    from stats.eqtl.tss import snp_tss_ld_scores
    from stats.io.panel import as_panel
    from stats.ld.scores import ld_scores

    panel, opts = as_panel(panel), ld_window(**ld_options)
    t = ld_scores(panel, **opts).table[["CHR", "SNP", "BP", "L2"]]
    if tss is not None:
        t = t.merge(snp_tss_ld_scores(panel, tss, **opts), on=["CHR", "SNP", "BP"], how="inner",
                    validate="one_to_one")
    return t.drop(columns=["CHR", "BP"])


def panel_pair_tss_scores(panel, pairs: pd.DataFrame, *, tss: pd.DataFrame, **ld_options) -> pd.DataFrame:
    """Per SNP-gene pair TSS-distance LD scores (``SNP, gene_id`` + 4 columns), all chromosomes.

    Parameters
    ----------
    panel : ReferencePanel
        An open :class:`stats.io.panel.ReferencePanel` (a path or mapping is opened here).
    pairs : DataFrame
        ``SNP`` (panel ids) and ``gene_id``.
    tss : DataFrame
        :func:`stats.eqtl.tss.read_tss` table.
    **ld_options
        The LD window and panel options (:func:`ld_window`).

    Returns
    -------
    DataFrame
        One row per distinct pair whose SNP is in the panel, in the order of ``pairs``.
    """
    from stats.eqtl.tss import pair_tss_ld_scores
    from stats.io.panel import as_panel

    panel = as_panel(panel)
    u = pairs[["SNP", "gene_id"]].astype(str).drop_duplicates().reset_index(drop=True)
    on = u[u["SNP"].isin(set(panel.allele_table()["snp"].astype(str)))].reset_index(drop=True)
    if not len(on):
        return u.iloc[:0]
    return pd.concat([on, pair_tss_ld_scores(panel, tss, on, **ld_window(**ld_options))], axis=1)


def ld_score_covariates(panel, tested: dict, *, tss: pd.DataFrame | None, units=("pair",), **ld_options
                        ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The LD-score covariates of every tissue's regression, computed once for all tissues.

    Parameters
    ----------
    panel : ReferencePanel
        An open :class:`stats.io.panel.ReferencePanel` (a path or mapping is opened here, once).
    tested : dict of str -> DataFrame
        Each tissue's tested pairs ``SNP, gene_id`` (:func:`stats.eqtl.pairs.pruned_eqtl_pairs`).
    tss : DataFrame or None
        :func:`stats.eqtl.tss.read_tss` table; None: no TSS covariates.
    units : sequence of {"pair", "snp"}
        The regression units: per-SNP TSS LD scores are computed for ``snp``, per-pair ones for ``pair``.
    **ld_options
        The LD window and panel options (:func:`ld_window`; default 1 cM).

    Returns
    -------
    snp_scores : DataFrame
        :func:`panel_ld_scores`: ``SNP, L2`` (+ per-SNP ``TSS_*`` with ``tss`` and unit ``snp``).
    pair_tss : DataFrame or None
        :func:`panel_pair_tss_scores` of all tissues' tested pairs (the scores depend on the pair only);
        None without ``tss`` or unit ``pair``.
    """
    from stats.io.panel import as_panel

    panel = as_panel(panel)
    snp_scores = panel_ld_scores(panel, tss=tss if "snp" in units else None, **ld_options)
    pair_tss = None
    if tss is not None and "pair" in units:
        allp = pd.concat([p[["SNP", "gene_id"]] for p in tested.values()], ignore_index=True).drop_duplicates()
        pair_tss = panel_pair_tss_scores(panel, allp, tss=tss, **ld_options)
    return snp_scores, pair_tss


def pair_cis_ld_scores(panel, blocks, targets: pd.DataFrame, *, cis: pd.DataFrame, build: str,
                       lengths: dict | None = None, unbiased: bool = True) -> np.ndarray:
    """Cis LD score of SNP-gene pairs: the sum of ``r^2`` of the pair's SNP with the gene's cis SNPs.

    For target (SNP j, gene g): ``sum_k r^2_jk`` over the SNPs k paired with g in ``cis`` that share j's
    LD block (the LD that :func:`stats.eqtl.sed_ld.sed_ld` uses; j itself included). ``|SED-LD|`` of pair
    (j, g) sums ``r_jk v_gk`` over the same SNPs, so its magnitude grows with this score even for an
    annotation with no relation to the eQTLs (a shuffled SED), and so does the expected chi^2 of the pair;
    the window LD score ``L2`` counts the SNPs outside the gene's cis window too and does not capture it.

    Parameters
    ----------
    panel : ReferencePanel
        An open :class:`stats.io.panel.ReferencePanel` (a path or mapping is opened here).
    blocks : DataFrame or path
        LD blocks.
    targets : DataFrame
        ``SNP, gene_id``: where the score is wanted.
    cis : DataFrame
        ``SNP, gene_id``: each gene's cis SNPs (e.g. all tested pairs of a tissue).
    build : str
    lengths : dict, optional
    unbiased : bool
        ldsc's adjustment ``r^2 - (1 - r^2) / (N - 2)`` (as in ``L2``).

    Returns
    -------
    ndarray, float64, shape (len(targets),)
        NaN where the target SNP is not in the panel (or monomorphic, or in no block); 0 for a gene with
        no cis SNP in the block.
    """
    from stats.io.panel import as_panel

    for name, d in (("targets", targets), ("cis", cis)):
        missing = [c for c in ("SNP", "gene_id") if c not in d.columns]
        if missing:
            raise ValueError(f"{name}: missing columns {missing}")
    t_snp = targets["SNP"].astype(str).to_numpy()
    t_gene = targets["gene_id"].astype(str).to_numpy()
    c = pd.DataFrame({"SNP": cis["SNP"].astype(str).to_numpy(), "gene_id": cis["gene_id"].astype(str).to_numpy()})
    c = c.drop_duplicates()
    out = np.full(len(targets), np.nan)
    wanted = set(t_snp)
    t_index = pd.Index(t_snp)
    for blk in as_panel(panel).iter_blocks(blocks, build=build, lengths=lengths):
        ids = blk.snps["snp"].astype(str).to_numpy()
        id_index = pd.Index(ids)
        rows = np.flatnonzero(id_index.isin(wanted))
        if len(rows) == 0:
            continue
        x = np.asarray(blk.x, dtype=np.float64)
        n_ref = x.shape[0]
        r2 = np.square(x[:, rows].T @ x / n_ref)  # (n_rows, m_b)
        if unbiased:
            r2 -= (1.0 - r2) / (n_ref - 2)
        sub = c[c["SNP"].isin(set(ids))]
        genes, gcol = np.unique(sub["gene_id"].to_numpy(), return_inverse=True)
        member = np.zeros((len(ids), max(len(genes), 1)))
        member[id_index.get_indexer(sub["SNP"].to_numpy()), gcol] = 1.0
        score = r2 @ member  # (n_rows, n_genes)
        tsel = np.flatnonzero(t_index.isin(set(ids[rows])))
        r_of = pd.Index(ids[rows]).get_indexer(t_snp[tsel])
        g_of = pd.Index(genes).get_indexer(t_gene[tsel]) if len(genes) else np.full(len(tsel), -1)
        out[tsel] = np.where(g_of >= 0, score[r_of, np.maximum(g_of, 0)], 0.0)
    return out


def add_cis_ld_scores(pairs: pd.DataFrame, *, panel, blocks, cis: pd.DataFrame, build: str,
                      lengths: dict | None = None) -> pd.DataFrame:
    """``pairs`` with their cis LD score as column ``CIS_L2`` (:func:`pair_cis_ld_scores`); pairs without one
    (SNP in no LD block) dropped.

    Parameters
    ----------
    pairs : DataFrame
        ``SNP, gene_id`` and more (a tissue's kept pairs).
    panel, blocks, build, lengths
        As :func:`pair_cis_ld_scores`.
    cis : DataFrame
        ``SNP, gene_id``: the genes' cis SNPs (the tissue's tested pairs).

    Returns
    -------
    DataFrame
        With a fresh index.
    """
    cis_l2 = pair_cis_ld_scores(panel, blocks, pairs, cis=cis, build=build, lengths=lengths)
    out = pairs.assign(CIS_L2=cis_l2)
    return out[np.isfinite(out["CIS_L2"])].reset_index(drop=True)
