"""Shuffled SED annotations: the shuffled controls and the permutation null of |SED-LD|.

A SED table matched to the panel (:func:`stats.eqtl.sed_ld.match_sed_to_panel`) is first spread over a
tissue's tested pairs (per-pair SED) or tested SNPs (per-SNP SED), zeros included (:func:`sed_on_tested`);
its values are then permuted over all of them (``shuffled``) or among each gene's tested pairs
(``shuffled_in_gene``). Values are permuted as the SED table gave them (alt minus ref) and each lands with
the orientation of the variant it lands on (``allele_sign``), so a shuffle does not depend on which allele
the panel happens to count. The permutation null repeats the ``shuffled`` permutation many times
(:func:`shuffled_seds`), takes each shuffle's |SED-LD| t statistic (:func:`stats.eqtl.regression.shuffle_t`)
and compares the annotation's own with them (:func:`shuffle_test`). A shuffled control is exchangeable
with the shuffles, so its ``p_shuffle`` is uniform on ``{1, ..., n_shuffles + 1} / (n_shuffles + 1)`` under
the null whatever the miscalibration of the analytic p.
"""
from __future__ import annotations

import logging
from typing import Iterator

import numpy as np
import pandas as pd

from stats.eqtl.regression import CovregResult, p_positive, p_shuffle, shuffle_t
from stats.eqtl.sed_ld import sed_ld_many
from stats.eqtl.tables import RegressionTables

logger = logging.getLogger(__name__)

#: Shuffled controls of the SED annotation.
CONTROLS = ("shuffled", "shuffled_in_gene")


def sed_on_tested(sed: pd.DataFrame, tested: pd.DataFrame, panel) -> pd.DataFrame:
    """The SED table spread over the tested pairs (per-pair SED) or SNPs (per-SNP SED), 0 where it has none.

    Parameters
    ----------
    sed : DataFrame
        SED table matched to the panel (:func:`stats.eqtl.sed_ld.match_sed_to_panel`):
        ``SNP, [gene_id,] A1, A2, SED, allele_sign``.
    tested : DataFrame
        The tissue's tested pairs ``SNP, gene_id`` (:func:`stats.eqtl.pairs.pruned_eqtl_pairs`).
    panel : ReferencePanel or DataFrame
        The panel, or its allele table ``snp, a1, a2`` (:func:`stats.eqtl.pairs.panel_alleles`): the
        alleles of every row.

    Returns
    -------
    DataFrame
        ``SNP, [gene_id,] SED, allele_sign, A1, A2`` (the panel's alleles; ``SED`` for the panel's A1;
        ``allele_sign`` the SNP's in the SED table, +1 for SNPs it lacks), one row per tested pair (per SNP:
        tested SNP), in ``tested``'s order.
    """
    from stats.eqtl.pairs import panel_alleles

    per_gene = "gene_id" in sed.columns
    keys = ["SNP", "gene_id"] if per_gene else ["SNP"]
    full = tested[keys].drop_duplicates() if not per_gene else tested[keys]
    full = full.merge(sed[keys + ["SED"]], on=keys, how="left")
    full["SED"] = full["SED"].fillna(0.0)
    sign = sed.drop_duplicates("SNP").set_index("SNP")["allele_sign"]
    full["allele_sign"] = sign.reindex(full["SNP"].to_numpy()).fillna(1).to_numpy(np.int8)
    bim = panel_alleles(panel)
    al = (bim.assign(SNP=bim["snp"].astype(str)).drop_duplicates("SNP").set_index("SNP")[["a1", "a2"]]
          .set_axis(["A1", "A2"], axis=1))
    return full.merge(al, left_on="SNP", right_index=True, how="left")


def _permuted(full: pd.DataFrame, values: np.ndarray) -> pd.DataFrame:
    """``full`` with SED values given as alt minus ref (``values``, one per row) oriented to each row's SNP."""
    return full.assign(SED=values * full["allele_sign"].to_numpy())


def shuffled_controls(sed: pd.DataFrame, tested: pd.DataFrame, panel, *, controls, rng
                      ) -> dict[str, pd.DataFrame]:
    """Shuffled copies of ``sed`` over the tested pairs (per-pair SED) or SNPs (per-SNP SED).

    Parameters
    ----------
    sed, tested, panel
        As :func:`sed_on_tested`.
    controls : sequence of {"shuffled", "shuffled_in_gene"}
        ``shuffled`` permutes the SED (alt minus ref) over all tested pairs (SNPs), zeros included;
        ``shuffled_in_gene`` among each gene's tested pairs (per-pair SED only; genes in sorted order).
    rng : numpy.random.Generator
        Used by the controls in the order given (unused without controls).

    Returns
    -------
    dict of str -> DataFrame
        Label -> SED table (:func:`sed_on_tested` layout).
    """
    full = sed_on_tested(sed, tested, panel)
    raw = full["SED"].to_numpy() * full["allele_sign"].to_numpy()  # back to alt minus ref
    out = {}
    for label in controls:
        if label == "shuffled":
            out[label] = _permuted(full, rng.permutation(raw))
        elif label == "shuffled_in_gene":
            if "gene_id" not in sed.columns:
                raise ValueError("control 'shuffled_in_gene' needs a per-pair SED table (with gene_id)")
            v = raw.copy()
            for idx in full.groupby("gene_id", sort=True).indices.values():
                v[idx] = rng.permutation(v[idx])
            out[label] = _permuted(full, v)
        else:
            raise ValueError(f"unknown control {label!r}; known: {CONTROLS}")
    return out


def shuffled_seds(sed: pd.DataFrame, tested: pd.DataFrame, panel, *, n_shuffles: int, batch: int,
                  rng: np.random.Generator) -> Iterator[list[pd.DataFrame]]:
    """Batches of SED tables shuffled like the ``shuffled`` control (:func:`shuffled_controls`).

    The ``shuffled`` control is drawn first from ``rng``, then each batch permutes its values again.

    Parameters
    ----------
    sed, tested, panel
        As :func:`sed_on_tested`.
    n_shuffles : int
        Shuffled tables in all.
    batch : int
        Tables per batch (the last may hold fewer).
    rng : numpy.random.Generator

    Yields
    ------
    list of DataFrame
        :func:`sed_on_tested` layout.
    """
    full = shuffled_controls(sed, tested, panel, controls=["shuffled"], rng=rng)["shuffled"]
    raw = full["SED"].to_numpy() * full["allele_sign"].to_numpy()
    for start in range(0, int(n_shuffles), int(batch)):
        k = min(int(batch), int(n_shuffles) - start)
        yield [_permuted(full, rng.permutation(raw)) for _ in range(k)]


def shuffle_null_t(sed: pd.DataFrame, tested: pd.DataFrame, pairs: pd.DataFrame, *,
                   tables: RegressionTables, panel, blocks, build: str, lengths: dict | None = None,
                   n_shuffles: int, batch: int = 25, scale: str = "abs", rng: np.random.Generator,
                   parts=None, key: str = "shuffles") -> dict[str, np.ndarray]:
    """The permutation null of one tissue: the |SED-LD| t statistic of ``n_shuffles`` shuffled annotations.

    Parameters
    ----------
    sed, tested
        As :func:`sed_on_tested`.
    pairs : DataFrame
        The tissue's kept pairs, where SED-LD is wanted (as given to :meth:`RegressionTables.tables`).
    tables : RegressionTables
        Builds each shuffle's regression tables and their clusters.
    panel, blocks, build, lengths
        As :func:`stats.eqtl.sed_ld.sed_ld_many` (``batch`` shuffles per pass over the LD blocks); ``panel``,
        an open :class:`stats.io.panel.ReferencePanel`, also gives the alleles of :func:`sed_on_tested`.
    n_shuffles, batch : int
    scale : {"abs", "sqrt", "signed"}
        The regressor (:func:`stats.eqtl.regression.scale_sed_ld`).
    rng : numpy.random.Generator
        Drives the shuffles (:func:`shuffled_seds`).
    parts : genocore.resume.RunParts, optional
        Each batch's t statistics are saved there as ``<key>_<batch>.npz``; a batch a killed run finished is
        read back (its shuffles are still drawn, so the generator stays in step) instead of computed.
    key : str
        Names this call's batches in ``parts`` (one per tissue).

    Returns
    -------
    dict of unit -> ndarray, float64, shape (n_shuffles,)
        :func:`stats.eqtl.regression.shuffle_t` of each shuffle's table, cluster-robust with the clusters
        of ``tables``.
    """
    null = {u: [] for u in tables.units}
    # the pair table's merges do not depend on SED-LD: build it once with each row's position in ``pairs``
    # as its SED-LD, then fill in each shuffle's values (the per-SNP table aggregates, so it is rebuilt)
    base = tables.tables(pairs, np.arange(len(pairs), dtype=np.float64)).get("pair")
    at = None if base is None else base["SED_LD"].to_numpy().astype(np.int64)
    read_back = 0
    for b, anns in enumerate(shuffled_seds(sed, tested, panel, n_shuffles=n_shuffles, batch=batch, rng=rng)):
        name = f"{key}_{b:05d}"
        if parts is not None and parts.done(name):
            with np.load(parts.folder / f"{name}.npz") as z:
                for u in null:
                    null[u].extend(z[u].tolist())
            read_back += 1
            continue
        got = {u: [] for u in null}
        for s in sed_ld_many(panel, blocks, anns, build=build, targets=pairs, lengths=lengths, quiet=True):
            if base is not None:
                v = np.asarray(s, dtype=np.float64)[at]
                t = base.assign(SED_LD=v)[np.isfinite(v)].reset_index(drop=True)
                got["pair"].append(shuffle_t(t, tables.groups(t, "pair"), scale=scale))
            if "snp" in tables.units:
                t = tables.tables(pairs, s)["snp"]
                got["snp"].append(shuffle_t(t, tables.groups(t, "snp"), scale=scale))
        for u in null:
            null[u].extend(got[u])
        if parts is not None:
            _save_batch(parts, name, got)
    if read_back:
        logger.info("%s: %d batch(es) of shuffles read back from %s", key, read_back, parts.folder)
    return {u: np.asarray(v, dtype=np.float64) for u, v in null.items()}


def _save_batch(parts, name: str, values: dict) -> None:
    """One batch's t statistics into the parts folder (atomically), then marked done."""
    from genocore.files import atomic_path

    with atomic_path(parts.file(f"{name}.npz")) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **{u: np.asarray(v, dtype=np.float64) for u, v in values.items()})
    parts.mark_done(name)


def shuffle_test(result: CovregResult, t_obs: float, t_null) -> dict:
    """The permutation test of one regression against its shuffles.

    Parameters
    ----------
    result : CovregResult
        The annotation's regression (its last model's degrees of freedom calibrate ``shuffles_p05``).
    t_obs : float
        Its |SED-LD| t (:func:`stats.eqtl.regression.shuffle_t`).
    t_null : array_like, float, shape (n_shuffles,)
        The shuffles' (:func:`shuffle_null_t`).

    Returns
    -------
    dict
        ``t_shuffle`` (``t_obs``), ``p_shuffle`` (:func:`stats.eqtl.regression.p_shuffle`), ``n_shuffles``,
        ``shuffles_p05``: the share of shuffles whose one-sided analytic p (``p_cluster_pos``, or ``p_pos``
        without clusters) is below 0.05, this data set's own check of that p (about 0.05 when calibrated).
    """
    row = result.coefficients.loc[result.enrichment_model]
    df = result.n_clusters - 1 if result.n_clusters else result.n - int(row["n_covariates"]) - 2
    t_null = np.asarray(t_null, dtype=np.float64)
    return {"t_shuffle": t_obs, "p_shuffle": p_shuffle(t_obs, t_null), "n_shuffles": int(len(t_null)),
            "shuffles_p05": float(np.mean([p_positive(v, df) < 0.05 for v in t_null]))}
