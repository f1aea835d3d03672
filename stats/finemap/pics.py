"""PICS fine-mapping (Farh et al. 2015, Nature 518:337), as DESIGN.md section 4 defines it.

For a lead SNP with P = -log10(p_lead) and every SNP i with r_i^2 >= 0.5 to the lead in a reference
panel::

    mu_i    = r_i^2 P
    sigma_i = sqrt(1 - |r_i|^6.4) sqrt(P) / 2          (floored at ``sigma_floor``)
    w_i     = 2 * normal_sf(P; mu_i, sigma_i)           (relative probability)
    prob_i  = w_i / sum_j w_j

The lead SNP itself has r = 1 and sigma = 0; the floor (default 1e-4) makes its weight the limit
w = 2 * sf(0) = 1 instead of 0/0. The floor only acts where 1 - |r|^6.4 < (2 * floor)^2 / P, i.e. r^2
within ~1e-8 of 1, where (P - mu) / sigma is already ~0, so it does not change any other weight
noticeably. Credible sets take SNPs in decreasing probability until the cumulative probability reaches
the coverage.

r comes from a reference panel (a genotype or haplotype matrix, or PLINK filesets read through a
:class:`stats.io.panel.ReferencePanel`, opened once for all loci) or from a given LD table (PLINK ``--r``
style: SNP_A, SNP_B, R).
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats as sps

from genocore.genome import normalize_chrom

logger = logging.getLogger(__name__)

KC = 6.4  # exponent of |r| in sigma (Farh et al. 2015)


def _check_p(p, what: str = "p-value") -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if not np.isfinite(p).all():
        raise ValueError(f"{what} is NaN or infinite")
    if ((p <= 0) | (p > 1)).any():
        bad = p[(p <= 0) | (p > 1)].ravel()[0]
        raise ValueError(f"{what} must lie in (0, 1]; got {bad!r} (a p-value of 0 has no -log10: pass the "
                         f"smallest representable value or the -log10 p directly)")
    return p


def pics_weights(neglog10_p: float, r, *, r2_min: float = 0.5, sigma_floor: float = 1e-4, kc: float = KC
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unnormalized PICS weights of SNPs given their correlation with the lead SNP.

    Parameters
    ----------
    neglog10_p : float
        P = -log10 of the lead SNP's p-value, > 0.
    r : array_like, float, shape (n_snps,)
        Correlation (signed or not) of each SNP with the lead SNP; the lead itself has r = 1.
    r2_min : float
        SNPs with r^2 below it get weight 0.
    sigma_floor : float
        Lower bound on sigma (see the module docstring).
    kc : float
        Exponent of |r| in sigma (6.4 in Farh et al.).

    Returns
    -------
    weight, mu, sigma : ndarray, float64, shape (n_snps,)
        ``weight = 2 * norm.sf(P, mu, sigma)`` for SNPs with r^2 >= r2_min, 0 elsewhere.
    """
    big_p = float(neglog10_p)
    if not np.isfinite(big_p) or big_p <= 0:
        raise ValueError(f"-log10 p of the lead SNP must be finite and > 0 (p in (0, 1)); got {big_p!r}")
    r = np.asarray(r, dtype=np.float64)
    if not np.isfinite(r).all():
        raise ValueError("r contains NaN or infinite values")
    if (np.abs(r) > 1 + 1e-6).any():
        raise ValueError("r must lie in [-1, 1]")
    a = np.minimum(np.abs(r), 1.0)
    r2 = a * a
    mu = r2 * big_p
    sigma = np.maximum(np.sqrt(np.maximum(1.0 - a**kc, 0.0)) * np.sqrt(big_p) / 2.0, sigma_floor)
    w = 2.0 * sps.norm.sf(big_p, loc=mu, scale=sigma)
    w = np.where(r2 >= r2_min, w, 0.0)
    return w, mu, sigma


def pics_probabilities(p_lead: float, r, *, r2_min: float = 0.5, sigma_floor: float = 1e-4) -> np.ndarray:
    """PICS probabilities of SNPs at one locus.

    Parameters
    ----------
    p_lead : float
        p-value of the lead SNP, in (0, 1].
    r : array_like, float, shape (n_snps,)
        Correlation of each SNP with the lead SNP (1 for the lead itself).

    Returns
    -------
    ndarray, float64, shape (n_snps,): probabilities summing to 1 over SNPs with r^2 >= r2_min.

    Raises
    ------
    ValueError
        p-value of 0, above 1, or exactly 1 (no association: P = 0); or no SNP reaches r2_min.

    Examples
    --------
    >>> pics_probabilities(1e-8, [1.0, 0.0]).round(3).tolist()
    [1.0, 0.0]
    """
    p = float(_check_p(p_lead, "lead SNP p-value"))
    w, _, _ = pics_weights(-np.log10(p), r, r2_min=r2_min, sigma_floor=sigma_floor)
    total = w.sum()
    if not total > 0:
        raise ValueError(f"no SNP has r^2 >= {r2_min} with the lead SNP (is the lead SNP itself included with r = 1?)")
    return w / total


def credible_set(prob, *, coverage: float = 0.95) -> np.ndarray:
    """Smallest set of SNPs, in decreasing probability, whose cumulative probability reaches ``coverage``.

    Parameters
    ----------
    prob : array_like, float, shape (n_snps,), summing to 1
    coverage : float in (0, 1]

    Returns
    -------
    ndarray, bool, shape (n_snps,): True for members. Ties at the boundary are broken by input order.
    """
    prob = np.asarray(prob, dtype=np.float64)
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage must lie in (0, 1], got {coverage}")
    order = np.argsort(-prob, kind="stable")
    cum = np.cumsum(prob[order])
    # a tolerance so that coverage 1 (or exact sums) do not fail to floating-point error
    k = int(np.searchsorted(cum, coverage * (1 - 1e-12) * cum[-1] if len(cum) else 0, side="left")) + 1
    k = min(k, int((prob > 0).sum()) or 1)
    out = np.zeros(len(prob), bool)
    out[order[:k]] = True
    return out


# -- LD from a reference panel -------------------------------------------------------------------------

def r_with_lead(genotypes: np.ndarray, lead_index: int) -> np.ndarray:
    """Pearson r of every SNP with one SNP of a reference matrix.

    Parameters
    ----------
    genotypes : ndarray, shape (n_samples, n_snps)
        Dosages (0/1/2, NaN for missing) or haplotypes (0/1), samples in rows.
    lead_index : int
        Column of the lead SNP.

    Returns
    -------
    ndarray, float64, shape (n_snps,): r (monomorphic SNPs: 0). Missing genotypes are mean-imputed.

    Raises
    ------
    ValueError
        If the lead SNP is monomorphic in the panel.
    """
    from stats.ld.matrix import standardized

    x = standardized(genotypes)
    lead = x[:, lead_index]
    if not (lead != 0).any():
        raise ValueError("the lead SNP is monomorphic in the reference panel; its LD is undefined")
    return x.T @ lead / x.shape[0]


def _find_lead(panel, lead_snp: str, chrom=None) -> tuple:
    """The fileset holding the lead SNP, its raw .bim and the lead's row in it (first occurrence).

    Searches the fileset of ``chrom`` when given, else the panel's filesets in chromosome order.
    """
    sets = [panel.fileset(chrom)] if chrom is not None else list(dict.fromkeys(panel.filesets().values()))
    for prefix in sets:
        bim = panel.fileset_bim(prefix)
        hit = np.flatnonzero(bim.snp.to_numpy() == lead_snp)
        if len(hit):
            return prefix, bim, int(hit[0])
    raise KeyError(f"lead SNP {lead_snp!r} is not in the reference panel {panel} (.bim)")


def r_from_bfile(panel, lead_snp: str, *, window_bp: int | None = 1_000_000, chrom=None) -> pd.Series:
    """r of the panel's SNPs with a lead SNP, reading only the SNPs within ``window_bp`` of it.

    Parameters
    ----------
    panel : ReferencePanel, or str or Path
        An open :class:`stats.io.panel.ReferencePanel`, or what it opens: a PLINK fileset prefix
        (.bed/.bim/.fam), a per-chromosome template (``{chrom}``) or ldsc-style prefix.
    lead_snp : str
        SNP id as in the .bim.
    window_bp : int or None
        Half-width of the window around the lead (same chromosome); None reads the whole chromosome.
    chrom : str, optional
        The lead's chromosome, so that only its fileset is searched; default: every fileset, in
        chromosome order, until the lead is found.

    Returns
    -------
    Series, float64, indexed by SNP id: r with the lead SNP (the lead has 1).

    Raises
    ------
    KeyError
        If the lead SNP is not in the .bim.
    """
    from stats.io.panel import as_panel

    panel = as_panel(panel)
    prefix, bim, i = _find_lead(panel, lead_snp, chrom)
    sel = bim.chrom.to_numpy() == bim.chrom.iloc[i]
    if window_bp is not None:
        sel &= np.abs(bim.pos.to_numpy() - bim.pos.iloc[i]) <= window_bp
    cols = np.flatnonzero(sel)
    with panel.open_bed(prefix) as bed:
        g = bed.read(index=np.s_[:, cols], dtype="float64")
    r = r_with_lead(g, int(np.flatnonzero(cols == i)[0]))
    return pd.Series(r, index=pd.Index(bim.snp.to_numpy()[cols], name="SNP"), name="r")


def r_from_table(ld: pd.DataFrame, lead_snp: str) -> pd.Series:
    """r with a lead SNP from an LD table.

    Parameters
    ----------
    ld : DataFrame
        Pairs in PLINK ``--r``/``--r2`` style: columns SNP_A, SNP_B and R (or R2, taken as r = sqrt(R2),
        fine for PICS, which uses |r| only). Pairs may be listed in either direction.
    lead_snp : str

    Returns
    -------
    Series, float64, indexed by SNP: r with the lead (the lead itself gets 1).

    Raises
    ------
    KeyError
        If the lead SNP appears in no pair of the table.
    """
    for c in ("SNP_A", "SNP_B"):
        if c not in ld.columns:
            raise ValueError(f"LD table lacks column {c} (need SNP_A, SNP_B and R or R2)")
    if "R" in ld.columns:
        val = ld["R"].to_numpy(dtype=np.float64)
    elif "R2" in ld.columns:
        val = np.sqrt(np.clip(ld["R2"].to_numpy(dtype=np.float64), 0, 1))
    else:
        raise ValueError("LD table lacks column R or R2")
    a, b = ld.SNP_A.astype(str).to_numpy(), ld.SNP_B.astype(str).to_numpy()
    m1, m2 = a == lead_snp, b == lead_snp
    if not (m1.any() or m2.any()):
        raise KeyError(f"lead SNP {lead_snp!r} is not in the LD table")
    s = pd.concat([pd.Series(val[m1], index=b[m1]), pd.Series(val[m2], index=a[m2])])
    s = s[~s.index.duplicated()]
    s = s.drop(lead_snp, errors="ignore")
    s = pd.concat([pd.Series([1.0], index=[lead_snp]), s])
    s.index.name, s.name = "SNP", "r"
    return s


# -- one or several loci ---------------------------------------------------------------------------------

def pics_locus(lead_snp: str, p_lead: float, r: pd.Series, *, coverage: float = 0.95, r2_min: float = 0.5,
               sigma_floor: float = 1e-4, locus: str | None = None) -> pd.DataFrame:
    """PICS at one locus.

    Parameters
    ----------
    lead_snp : str
    p_lead : float
        The lead SNP's p-value, in (0, 1).
    r : Series, float, indexed by SNP id
        Correlation with the lead SNP, e.g. from :func:`r_from_bfile` or :func:`r_from_table`; must
        contain the lead.
    coverage : float
        Credible-set coverage.

    Returns
    -------
    DataFrame, one row per SNP with r^2 >= r2_min, sorted by decreasing probability: locus, lead_snp,
    SNP, r, r2, mu, sigma, prob, cum_prob, in_credible_set (bool).

    Raises
    ------
    KeyError
        Lead SNP absent from ``r``.
    ValueError
        Bad p-value.
    """
    if lead_snp not in r.index:
        raise KeyError(f"lead SNP {lead_snp!r} is not in the reference panel / LD input")
    p = float(_check_p(p_lead, f"p-value of lead SNP {lead_snp}"))
    big_p = -np.log10(p)
    if big_p <= 0:
        raise ValueError(f"lead SNP {lead_snp} has p = 1: no association to fine-map")
    rv = r.to_numpy(dtype=np.float64).copy()
    rv[np.flatnonzero(r.index == lead_snp)] = 1.0
    w, mu, sigma = pics_weights(big_p, rv, r2_min=r2_min, sigma_floor=sigma_floor)
    keep = (rv * rv) >= r2_min
    df = pd.DataFrame({"locus": locus or lead_snp, "lead_snp": lead_snp, "SNP": r.index.to_numpy()[keep],
                       "r": rv[keep], "r2": rv[keep] ** 2, "mu": mu[keep], "sigma": sigma[keep], "weight": w[keep]})
    df["prob"] = df.weight / df.weight.sum()
    df = df.sort_values("prob", ascending=False, kind="stable").reset_index(drop=True)
    df["cum_prob"] = df.prob.cumsum()
    df["in_credible_set"] = credible_set(df.prob.to_numpy(), coverage=coverage)
    logger.info("PICS %s: %d SNPs with r2 >= %g, %d in the %g credible set, top %s (%.3f)", lead_snp, len(df),
                r2_min, int(df.in_credible_set.sum()), coverage, df.SNP.iloc[0], df.prob.iloc[0])
    return df.drop(columns="weight")


def _lead_chrom(panel, ss: pd.DataFrame, lead: str):
    """The lead's chromosome for searching the panel (None: search every fileset).

    From a ``CHR`` column: required for a mapping panel, used when present for a per-chromosome
    template (so that only one .bim is parsed), ignored for a single fileset.
    """
    if panel.kind == "single":
        return None
    if panel.kind == "template":
        return ss.loc[lead, "CHR"] if "CHR" in ss.columns else None
    if "CHR" not in ss.columns:
        raise ValueError("a per-chromosome panel needs a CHR column in sumstats")
    chrom = str(ss.loc[lead, "CHR"])
    if normalize_chrom(chrom) not in panel.filesets():
        raise KeyError(f"no reference panel for chromosome {chrom} of lead SNP {lead}")
    return chrom


def _lead_r(lead: str, ss: pd.DataFrame, *, panel, ld, genotypes, window_bp: int) -> pd.Series:
    """r with the lead SNP from whichever LD source was given."""
    if ld is not None:
        return r_from_table(ld, lead)
    if genotypes is not None:
        g, ids = genotypes
        ids = np.asarray(ids).astype(str)
        hit = np.flatnonzero(ids == lead)
        if len(hit) == 0:
            raise KeyError(f"lead SNP {lead!r} is not in the reference panel")
        return pd.Series(r_with_lead(g, int(hit[0])), index=pd.Index(ids, name="SNP"), name="r")
    return r_from_bfile(panel, lead, window_bp=window_bp, chrom=_lead_chrom(panel, ss, lead))


def pics(sumstats: pd.DataFrame, leads=None, *, panel=None, ld: pd.DataFrame | None = None,
         genotypes: tuple | None = None, coverage: float = 0.95, r2_min: float = 0.5, window_bp: int = 1_000_000,
         sigma_floor: float = 1e-4) -> pd.DataFrame:
    """PICS at several loci.

    Parameters
    ----------
    sumstats : DataFrame
        Columns SNP and P (p-values of at least the lead SNPs); optionally CHR.
    leads : sequence of str, optional
        Lead SNPs (one locus each); default: the SNP with the smallest p-value.
    panel : ReferencePanel, str, Path or dict, optional
        An open :class:`stats.io.panel.ReferencePanel`, or what it opens: a reference PLINK fileset
        prefix, a per-chromosome template / ldsc-style prefix (the lead's chromosome from a ``CHR``
        column when present, else searched), or a dict chromosome -> prefix (needs ``CHR``). Opened
        once for all loci.
    ld : DataFrame, optional
        LD table (see :func:`r_from_table`), instead of a panel.
    genotypes : (ndarray (n_samples, n_snps), sequence of SNP ids), optional
        An in-memory reference matrix, instead of a panel.
    coverage, r2_min, window_bp, sigma_floor
        As :func:`pics_locus` / :func:`r_from_bfile`.

    Returns
    -------
    DataFrame: the rows of :func:`pics_locus` for every locus, plus ``P`` (the SNP's own p-value in
    ``sumstats`` when present, else NaN).

    Raises
    ------
    ValueError
        No or several LD sources, bad p-values; KeyError: a lead absent from sumstats or panel.
    """
    from stats.io.panel import as_panel

    if sum(x is not None for x in (panel, ld, genotypes)) != 1:
        raise ValueError("give exactly one LD source: panel, ld or genotypes")
    for c in ("SNP", "P"):
        if c not in sumstats.columns:
            raise ValueError(f"sumstats lack column {c}")
    ref = as_panel(panel) if panel is not None else None
    ss = sumstats.drop_duplicates("SNP").set_index("SNP")
    if leads is None:
        leads = [str(ss.P.astype(float).idxmin())]
    elif isinstance(leads, str):
        leads = [leads]
    parts = []
    for lead in leads:
        if lead not in ss.index:
            raise KeyError(f"lead SNP {lead!r} is not in the summary statistics")
        r = _lead_r(lead, ss, panel=ref, ld=ld, genotypes=genotypes, window_bp=window_bp)
        parts.append(pics_locus(lead, float(ss.loc[lead, "P"]), r, coverage=coverage, r2_min=r2_min,
                                sigma_floor=sigma_floor))
    out = pd.concat(parts, ignore_index=True)
    out["P"] = ss.P.reindex(out.SNP).to_numpy(dtype=float)
    return out


# -- files in, an output folder out -----------------------------------------------------------------

def read_pics_sumstats(path, *, what: str = "sumstats") -> pd.DataFrame:
    """A table with ``SNP, P[, CHR]`` (tab-, comma- or whitespace-separated); every p-value must be in (0, 1].

    Raises
    ------
    ValueError
        Naming the file, line and SNP of the first p-value out of range (or not a number).
    """
    from stats.io.tables import read_numeric_tsv

    ss = read_numeric_tsv(path, what, columns=["P"], required=("SNP",), dtype={"SNP": str, "CHR": str})
    if not len(ss):
        raise ValueError(f"{what} {path}: the table has no rows (a header only); nothing to fine-map")
    bad = ~((ss.P > 0) & (ss.P <= 1))
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise ValueError(f"{what} {path}, line {i + 2}: SNP {ss.SNP.iloc[i]!r} has P = {float(ss.P.iloc[i]):g}; "
                         "p-values must be in (0, 1]")
    return ss


def read_leads(path, *, what: str = "leads") -> list[str]:
    """Lead SNP ids, whitespace-separated in a file."""
    from stats.io.tables import existing

    leads = [t for t in existing(path, what).read_text().split() if t]
    if not leads:
        raise ValueError(f"{what} {path}: no SNP ids")
    return leads


def credible_sets(res: pd.DataFrame, *, coverage: float) -> pd.DataFrame:
    """One row per locus of a :func:`pics` table: lead, sizes, top SNP and the credible set.

    Returns
    -------
    DataFrame with ``locus, lead_snp, lead_P, coverage, n_snps, n_credible, credible_prob, top_snp,
    top_prob, credible_set`` (comma-separated SNP ids).
    """
    rows = []
    for locus, df in res.groupby("locus", sort=False):
        cs = df[df.in_credible_set]
        lead = df.lead_snp.iloc[0]
        rows.append({"locus": locus, "lead_snp": lead, "lead_P": float(df.loc[df.SNP == lead, "P"].iloc[0]),
                     "coverage": coverage, "n_snps": len(df), "n_credible": len(cs),
                     "credible_prob": float(cs.prob.sum()), "top_snp": df.SNP.iloc[0],
                     "top_prob": float(df.prob.iloc[0]), "credible_set": ",".join(cs.SNP)})
    return pd.DataFrame(rows)


def pics_outputs(res: pd.DataFrame, *, coverage: float):
    """The output folder of :func:`pics`: ``pics.tsv`` (every SNP) and ``credible_sets.tsv``."""
    from genocore.outputs import OutputFolder

    return OutputFolder(tables={"pics.tsv": res, "credible_sets.tsv": credible_sets(res, coverage=coverage)})
