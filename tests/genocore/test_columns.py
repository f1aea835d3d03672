from collections import Counter

import pytest

from genocore import columns as C
from genocore.columns import (ALIASES, COLUMNS, FORMATS, GTEX_EQTL, LDSC_SUMSTATS, SAD_H5, Column, FieldFormat, column,
                              lookup, normalize_name)


def test_every_alias_maps_to_exactly_one_name():
    counts = Counter(a for c in COLUMNS.values() for a in c.aliases)
    assert [a for a, k in counts.items() if k > 1] == []
    assert len(ALIASES) == sum(counts.values())
    for c in COLUMNS.values():
        for a in c.aliases:
            assert a == normalize_name(a)
            assert ALIASES[a] == c.name


def test_canonical_names_and_dtypes():
    for name, c in COLUMNS.items():
        assert c.name == name and name == name.lower()
        assert c.dtype in ("str", "int64", "float64") and c.doc
    # a column detected by name accepts its own spelling
    for c in COLUMNS.values():
        if c.aliases:
            assert lookup(c.name) == c.name or normalize_name(c.name) in c.aliases


def test_lookup_external_spellings():
    assert lookup("SNP") == lookup("snp") == lookup("rsID") == lookup("MarkerName") == "snp"
    assert lookup("CHR") == lookup("#CHROM") == lookup("chr") == "chrom"
    assert lookup("BP") == lookup("POS") == lookup("base_pair_location") == "pos"
    assert lookup("P-value") == lookup("p_value") == lookup("pval_nominal") == "p"
    assert lookup("ALT") == lookup("effect_allele") == "a1" and lookup("REF") == lookup("NEA") == "a2"
    assert lookup("OR") == "odds_ratio" and lookup("N_CASES") == "n_cases"
    assert lookup("gene_id") is None and lookup("nothing") is None
    assert column("z").dtype == "float64"
    with pytest.raises(KeyError, match="unknown column 'zz'"):
        column("zz")


def test_registry_refuses_clashes():
    with pytest.raises(ValueError, match="alias 'x' names both 'a' and 'b'"):
        C._columns(Column("a", "str", "a", ("x",)), Column("b", "str", "b", ("x",)))
    with pytest.raises(ValueError, match="registered twice"):
        C._columns(Column("a", "str", "a"), Column("a", "str", "a"))
    with pytest.raises(ValueError, match="not in normalized form"):
        C._columns(Column("a", "str", "a", ("X_1",)))
    with pytest.raises(ValueError, match="unregistered columns"):
        FieldFormat("f", "f", {"nope": "NOPE"})
    with pytest.raises(ValueError, match="spells two columns alike"):
        FieldFormat("f", "f", {"snp": "ID", "gene_id": "ID"})


def test_formats():
    assert LDSC_SUMSTATS.required == ("SNP", "A1", "A2", "N", "Z")
    assert dict(LDSC_SUMSTATS.optional) == {"chrom": "CHR", "pos": "BP"}
    assert SAD_H5.required == ("snp", "chr", "pos", "ref_allele", "alt_allele", "target_ids", "target_labels")
    assert GTEX_EQTL.required == ("gene_id", "variant_id", "slope", "slope_se")
    assert GTEX_EQTL.spelling("p") == "pval_nominal" and GTEX_EQTL.canonical("slope") == "beta"
    with pytest.raises(KeyError, match="has no column 'z'"):
        GTEX_EQTL.spelling("z")
    with pytest.raises(KeyError, match="has no field 'Z'"):
        GTEX_EQTL.canonical("Z")
    for name, fmt in FORMATS.items():
        assert fmt.name == name
        for canon, spelling in fmt.all_fields.items():
            assert canon in COLUMNS and fmt.canonical(spelling) == canon

