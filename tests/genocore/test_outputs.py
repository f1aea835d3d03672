"""The one output convention: a folder of tables, texts, figures and provenance.json, written atomically."""
from __future__ import annotations

import json
import stat

import numpy as np
import pandas as pd
import pytest

from genocore.files import sha256, write_text
from genocore.outputs import PROVENANCE, OutputFolder, write_beside


def _draw(path):
    path.write_bytes(b"\x89PNG fake")


def test_folder_holds_every_item_and_hashes_them(tmp_path):
    src = write_text(tmp_path / "in.tsv", "a\n1\n")
    res = OutputFolder(tables={"t.tsv": pd.DataFrame({"x": [1.0 / 3, 2.0]})}, figures={"f.png": _draw})
    res.add_json("summary.json", {"p": np.float64(0.25), "v": np.arange(2)})
    paths = res.write(tmp_path / "out", command=["genostats", "x"], config={"k": 1}, genome_build="hg19",
                      inputs={"in": src})
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(["t.tsv", "f.png", "summary.json", PROVENANCE])
    assert (tmp_path / "out" / "t.tsv").read_text() == "x\n0.333333\n2\n"
    assert json.loads(paths["summary.json"].read_text()) == {"p": 0.25, "v": [0, 1]}
    rec = json.loads(paths[PROVENANCE].read_text())
    assert rec["genome_build"] == "hg19" and rec["config"] == {"k": 1} and rec["command"] == "genostats x"
    assert rec["inputs"]["in"]["sha256"] == sha256(src)
    assert set(rec["outputs"]) == {"t.tsv", "f.png", "summary.json"}
    assert all(rec["outputs"][n]["sha256"] == sha256(tmp_path / "out" / n) for n in rec["outputs"])
    assert rec["outputs"]["t.tsv"]["path"] == "t.tsv"  # relative: the folder can move
    assert "numpy" in rec["libraries"] and rec["version"]


def test_failure_leaves_nothing(tmp_path):
    def boom(path):
        raise RuntimeError("figure failed")

    with pytest.raises(RuntimeError):
        OutputFolder(tables={"t.tsv": pd.DataFrame({"x": [1]})}, figures={"f.png": boom}).write(tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_existing_folder_needs_overwrite(tmp_path):
    OutputFolder(texts={"a.txt": "1\n"}).write(tmp_path / "o")
    with pytest.raises(FileExistsError):
        OutputFolder(texts={"a.txt": "2\n"}).write(tmp_path / "o")
    OutputFolder(texts={"a.txt": "2\n"}).write(tmp_path / "o", overwrite=True)
    assert (tmp_path / "o" / "a.txt").read_text() == "2\n"
    assert stat.S_IMODE((tmp_path / "o" / "a.txt").stat().st_mode) & 0o044 == 0o044  # group/others can read


def test_names_are_checked(tmp_path):
    with pytest.raises(ValueError, match="unique"):
        OutputFolder(texts={PROVENANCE: "{}"}).write(tmp_path / "o")


def test_write_beside(tmp_path):
    product = write_text(tmp_path / "trait.gwresults", "pheno\tannot\n")
    p = write_beside(product, command="genostats sldp", genome_build="hg19")
    rec = json.loads(p.read_text())
    assert p.name == "trait.gwresults.provenance.json"
    assert rec["outputs"]["trait.gwresults"]["sha256"] == sha256(product)
