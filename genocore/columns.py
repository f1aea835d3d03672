"""The registry of column names the suite reads and writes.

Every quantity a table of the suite holds has one canonical internal name (:data:`COLUMNS`), with its
meaning, units and dtype, and the external spellings (aliases) that readers detecting columns by name
accept. Every file format of the field the suite reads or writes (:data:`FORMATS`) names its fields
by these canonical names, so that ``BP`` of an LDSC file, ``pos`` of a sad.h5 file and ``POS`` of a raw
GWAS table are known to be one thing.

Aliases are in normalized form (:func:`normalize_name`: lower case, letters and digits only, so that
``P-value`` and ``p_value`` are both ``pvalue``). An alias names one canonical column only; a reader
finding two columns with aliases of one name reports the clash instead of choosing.

Alleles: ``a1`` is the allele a signed value refers to (GWAS effect allele, PLINK counted allele, the
allele a signed annotation is oriented to) and ``a2`` the other; ``ref`` and ``alt`` are the
genome-anchored alleles (``ref`` matches the FASTA). A GWAS table naming its alleles ``REF``/``ALT``
gives effects per copy of ALT (PLINK 2 ``.glm``, GTEx), so those spellings are aliases of ``a2``/``a1``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

__all__ = ["ALIASES", "COLUMNS", "Column", "FORMATS", "FieldFormat", "GTEX_EQTL", "GWAS_SUMSTATS", "LDSC_ANNOT",
           "LDSC_LDSCORE", "LDSC_SUMSTATS", "LD_BLOCKS_BED", "PLINK_BIM", "SAD_H5", "SLDP_SANNOT", "column",
           "lookup", "normalize_name"]


def normalize_name(name) -> str:
    """A column name in the form aliases use: lower case, letters and digits only.

    Parameters
    ----------
    name : str
        E.g. ``"P-value"``, ``"#CHROM"``.

    Returns
    -------
    str
        E.g. ``"pvalue"``, ``"chrom"``.
    """
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


@dataclass(frozen=True)
class Column:
    """One quantity a table of the suite holds.

    Attributes
    ----------
    name : str
        Canonical internal name (lower case, as DataFrames of the suite spell it).
    dtype : str
        NumPy / pandas dtype of the column in memory (``"str"``, ``"int64"``, ``"float64"``).
    doc : str
        Meaning, with units.
    aliases : tuple of str
        Normalized external spellings that readers detecting columns by name accept, most common
        first (messages quote the first few); empty for columns read only from fixed layouts.
    """

    name: str
    dtype: str
    doc: str
    aliases: tuple[str, ...] = ()


def _columns(*cols: Column) -> Mapping[str, Column]:
    out: dict[str, Column] = {}
    owner: dict[str, str] = {}
    for c in cols:
        if c.name in out:
            raise ValueError(f"column {c.name!r} registered twice")
        for a in c.aliases:
            if a != normalize_name(a):
                raise ValueError(f"alias {a!r} of {c.name!r} is not in normalized form")
            if a in owner:
                raise ValueError(f"alias {a!r} names both {owner[a]!r} and {c.name!r}")
            owner[a] = c.name
        out[c.name] = c
    return MappingProxyType(out)


#: Canonical name -> :class:`Column`, for every column the suite reads or writes.
COLUMNS: Mapping[str, Column] = _columns(
    # -- variants
    Column("chrom", "str", "chromosome, normalized by genocore.genome.normalize_chrom ('1', 'X', 'MT')",
           ("chr", "chrom", "chromosome")),
    Column("pos", "int64", "position on the chromosome, 1-based (bp)",
           ("bp", "pos", "position", "basepair", "basepairlocation")),
    Column("snp", "str", "variant identifier (rsID, or the source's own id such as GTEx chrom_pos_ref_alt_build)",
           ("snp", "snpid", "snpname", "rs", "rsid", "rsids", "rsnumber", "rsnumbers", "rsnum", "markername",
            "marker", "variantid", "variant", "id")),
    Column("a1", "str", "allele a signed value refers to (effect, counted or ALT allele), upper case",
           ("a1", "allele1", "al1", "effectallele", "ea", "alt", "altallele", "alternateallele", "incallele",
            "testedallele", "codedallele", "riskallele", "a1effect")),
    Column("a2", "str", "the other allele of a SNP (non-effect or REF allele), upper case",
           ("a2", "allele2", "al2", "otherallele", "noneffectallele", "nea", "ref", "refallele", "decallele",
            "noncodedallele", "a2other")),
    Column("ref", "str", "reference allele, matching the genome FASTA, upper case"),
    Column("alt", "str", "alternative allele, upper case; variant scores are ALT minus REF"),
    Column("build", "str", "genome build of a variant id ('b38'); empty when absent"),
    Column("cm", "float64", "genetic position (cM)"),
    Column("maf", "float64", "minor allele frequency (fraction, 0..0.5)", ("maf",)),
    Column("eaf", "float64", "frequency of allele a1 (fraction, 0..1)",
           ("frq", "freq", "eaf", "freq1", "a1freq", "frqu", "fu", "effectallelefreq", "effectallelefrequency",
            "af", "a1frq")),
    Column("info", "float64", "imputation quality (INFO or r^2, 0..1)", ("info", "impinfo", "infoscore", "rsq")),
    # -- association statistics
    Column("n", "float64", "sample size (individuals)",
           ("n", "samplesize", "nsample", "nsamples", "ntotal", "totaln", "totalsamplesize", "nobs", "obsct",
            "weight")),
    Column("n_cases", "float64", "number of cases (individuals)",
           ("ncases", "ncase", "ncas", "casesn", "numcases", "nca")),
    Column("n_controls", "float64", "number of controls (individuals)",
           ("ncontrols", "ncontrol", "ncon", "controlsn", "numcontrols", "nco")),
    Column("z", "float64", "signed z-score of allele a1 (standard normal under the null)",
           ("z", "zscore", "zstat", "zvalue", "gczscore")),
    Column("beta", "float64", "effect size per copy of allele a1 (trait units)",
           ("beta", "b", "effect", "effects", "effectsize", "est", "estimate")),
    Column("log_odds", "float64", "log odds ratio per copy of allele a1 (natural log)", ("logodds", "logor", "lnor")),
    Column("odds_ratio", "float64", "odds ratio per copy of allele a1 (> 0)", ("or", "oddsratio")),
    Column("se", "float64", "standard error of beta or log_odds (same units)",
           ("se", "stderr", "standarderror", "sebeta", "selogor", "logorse")),
    Column("p", "float64", "p-value (fraction, 0..1)", ("p", "pval", "pvalue", "gcpvalue", "pvalnominal", "pnominal")),
    # -- genes, intervals, model targets
    Column("gene_id", "str", "gene identifier (Ensembl id, version suffix as the source writes it)"),
    Column("tss_distance", "int64", "variant position minus the gene's TSS (bp), GTEx's sign convention"),
    Column("start", "int64", "interval start, 0-based (bp; BED convention)"),
    Column("end", "int64", "interval end, 0-based exclusive (bp; BED convention)"),
    Column("target_id", "str", "identifier of a model output track"),
    Column("target_label", "str", "description of a model output track"),
    Column("l2", "float64", "LD score (sum of r^2 with the variant, over annotation-weighted panel variants)"),
)

#: Normalized alias -> canonical name, over all of :data:`COLUMNS`.
ALIASES: Mapping[str, str] = MappingProxyType({a: c.name for c in COLUMNS.values() for a in c.aliases})


def column(name: str) -> Column:
    """The :class:`Column` of a canonical name.

    Raises
    ------
    KeyError
        For a name that is not registered, listing the registered ones.
    """
    try:
        return COLUMNS[name]
    except KeyError:
        raise KeyError(f"unknown column {name!r}; registered: {sorted(COLUMNS)}") from None


def lookup(spelling) -> str | None:
    """The canonical name an external column name is an alias of, or None.

    Parameters
    ----------
    spelling : str
        A column name as a file spells it (``"#CHROM"``, ``"P-value"``, ``"rsID"``).

    Returns
    -------
    str or None
    """
    return ALIASES.get(normalize_name(spelling))


@dataclass(frozen=True)
class FieldFormat:
    """The field names of one file format, by canonical column.

    Attributes
    ----------
    name : str
        Short name of the format.
    doc : str
        What the format is.
    fields : mapping of str -> str
        Canonical name -> the format's spelling, for the fields every file has, in file order.
    optional : mapping of str -> str
        Canonical name -> spelling, for fields a file may also have.
    """

    name: str
    doc: str
    fields: Mapping[str, str]
    optional: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        both = {**self.fields, **self.optional}
        unknown = [c for c in both if c not in COLUMNS]
        if unknown:
            raise ValueError(f"format {self.name!r} names unregistered columns {unknown}")
        if len(set(self.fields) & set(self.optional)) or len(set(both.values())) != len(both):
            raise ValueError(f"format {self.name!r} spells two columns alike or lists a column twice")
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        object.__setattr__(self, "optional", MappingProxyType(dict(self.optional)))

    @property
    def required(self) -> tuple[str, ...]:
        """Spellings of the fields every file has, in file order."""
        return tuple(self.fields.values())

    @property
    def all_fields(self) -> Mapping[str, str]:
        """Canonical name -> spelling, required fields then optional ones."""
        return MappingProxyType({**self.fields, **self.optional})

    def spelling(self, name: str) -> str:
        """The format's spelling of a canonical column.

        Raises
        ------
        KeyError
            For a column the format does not have.
        """
        both = self.all_fields
        if name not in both:
            raise KeyError(f"format {self.name!r} has no column {name!r}; it has {list(both)}")
        return both[name]

    def canonical(self, spelling: str) -> str:
        """The canonical name of one of the format's field spellings.

        Raises
        ------
        KeyError
            For a spelling the format does not use.
        """
        for c, s in self.all_fields.items():
            if s == spelling:
                return c
        raise KeyError(f"format {self.name!r} has no field {spelling!r}; it has {list(self.all_fields.values())}")


#: LDSC munged summary statistics (``.sumstats.gz``), Z of allele A1.
LDSC_SUMSTATS = FieldFormat("ldsc_sumstats", "LDSC munged summary statistics",
                            {"snp": "SNP", "a1": "A1", "a2": "A2", "n": "N", "z": "Z"},
                            {"chrom": "CHR", "pos": "BP"})
#: Fields of a raw GWAS table as stats.io.sumstats names them once detected by alias.
GWAS_SUMSTATS = FieldFormat("gwas_sumstats", "raw GWAS table, columns detected by their aliases",
                            {"snp": "SNP", "a1": "A1", "a2": "A2"},
                            {"n": "N", "n_cases": "N_CASES", "n_controls": "N_CONTROLS", "z": "Z", "beta": "BETA",
                             "log_odds": "LOG_ODDS", "odds_ratio": "OR", "se": "SE", "p": "P", "chrom": "CHR",
                             "pos": "BP"})
#: LDSC annotation (``.annot.gz``); the "thin" form has none of these, only annotation columns.
LDSC_ANNOT = FieldFormat("ldsc_annot", "LDSC annotation, then one column per annotation",
                         {"chrom": "CHR", "pos": "BP", "snp": "SNP", "cm": "CM"})
#: SLDP signed annotation (``.sannot.gz``), values of allele A1.
SLDP_SANNOT = FieldFormat("sldp_sannot", "SLDP signed annotation, then one column per annotation",
                          {"snp": "SNP", "a1": "A1", "a2": "A2"}, {"chrom": "CHR", "pos": "BP", "cm": "CM"})
#: LDSC LD scores (``.l2.ldscore.gz``); one ``L2`` column per annotation (``<name>L2``).
LDSC_LDSCORE = FieldFormat("ldsc_ldscore", "LDSC LD scores, then one L2 column per annotation",
                           {"chrom": "CHR", "snp": "SNP", "pos": "BP"}, {"cm": "CM", "maf": "MAF", "l2": "L2"})
#: Variant scores in basenji's ``sad.h5`` layout: per-variant datasets, then per-target ones.
SAD_H5 = FieldFormat("sad_h5", "variant scores (HDF5), one dataset per statistic (variants x targets)",
                     {"snp": "snp", "chrom": "chr", "pos": "pos", "ref": "ref_allele", "alt": "alt_allele",
                      "target_id": "target_ids", "target_label": "target_labels"})
#: GTEx cis-eQTL pairs (``allpairs`` / fastQTL nominal output); slope per copy of ALT.
GTEX_EQTL = FieldFormat("gtex_eqtl", "GTEx cis-eQTL pairs; variant_id is chrom_pos_ref_alt_build",
                        {"gene_id": "gene_id", "snp": "variant_id", "beta": "slope", "se": "slope_se"},
                        {"tss_distance": "tss_distance", "maf": "maf", "p": "pval_nominal"})
#: PLINK ``.bim`` (no header), as the suite's readers name its columns; a1 is the counted allele.
PLINK_BIM = FieldFormat("plink_bim", "PLINK variant table (headerless; suite names)",
                        {"chrom": "chrom", "snp": "snp", "cm": "cm", "pos": "pos", "a1": "a1", "a2": "a2"})
#: LD blocks (Berisa-Pickrell BED) as read by stats.io.ldblocks.
LD_BLOCKS_BED = FieldFormat("ld_blocks_bed", "LD blocks, BED intervals", {"chrom": "chrom", "start": "start",
                                                                          "end": "end"})

#: Format name -> :class:`FieldFormat`.
FORMATS: Mapping[str, FieldFormat] = MappingProxyType({f.name: f for f in (
    LDSC_SUMSTATS, GWAS_SUMSTATS, LDSC_ANNOT, SLDP_SANNOT, LDSC_LDSCORE, SAD_H5, GTEX_EQTL, PLINK_BIM,
    LD_BLOCKS_BED)})
