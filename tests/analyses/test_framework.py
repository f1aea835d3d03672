"""Analysis configs may name reference files by manifest id (``"manifest:ID"``): fetched (through a real
HTTP server on 127.0.0.1) into the cache when the config loads; an unknown id fails before any work."""
from __future__ import annotations

import hashlib
import json

import pytest

from analyses import framework
from analyses import gtex_sldp as gs
from _http_server import PAYLOAD, _Handler


def _config(world, **values) -> dict:
    return {"sumstats": [str(world / "gwas" / "directional.sumstats.gz")],
            "bfile_chr": str(world / "genotypes" / "ref_panel.chr{chrom}"),
            "ld_blocks": str(world / "genotypes" / "ldblocks.bed"), "build": "simworld1",
            "scores": str(world / "genotypes" / "ldblocks.bed"), **values}


@pytest.fixture()
def manifests(server, tmp_path, monkeypatch):
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "blocks_x.json").write_text(json.dumps(
        {"id": "blocks_x", "urls": [f"{server}/dead/b.bed", f"{server}/good/b.bed"], "filename": "b.bed",
         "sha256": hashlib.sha256(PAYLOAD).hexdigest(), "bytes": len(PAYLOAD)}))
    monkeypatch.setenv("GENOSUITE_MANIFESTS", str(folder))
    monkeypatch.setenv("GENOSUITE_CACHE", str(tmp_path / "cache"))
    return folder


def test_a_manifest_id_in_a_config_is_fetched_and_verified(tiny_world, manifests, tmp_path):
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(_config(tiny_world, ld_blocks="manifest:blocks_x")))
    cfg = framework.load_config(gs.Config, path)
    assert cfg.ld_blocks == str(tmp_path / "cache" / "data" / "blocks_x" / "b.bed")
    assert open(cfg.ld_blocks, "rb").read() == PAYLOAD
    # a list-valued input key takes ids too
    path.write_text(json.dumps(_config(tiny_world, sumstats=["manifest:blocks_x"])))
    assert framework.load_config(gs.Config, path).sumstats == (cfg.ld_blocks,)


def test_an_unknown_manifest_id_fails_before_anything_is_fetched(tiny_world, manifests, tmp_path, caplog):
    _Handler.requests.clear()
    cfg = _config(tiny_world, ld_blocks="manifest:blocks_y", gtf="manifest:blocks_x")
    with pytest.raises(KeyError, match=r"ld_blocks names manifest 'blocks_y', which does not exist; known: blocks_x"):
        framework.resolve_manifests(gs.Config, cfg, where="cfg.json")
    assert _Handler.requests == []  # blocks_x, named by another key, was not fetched either
    with pytest.raises(ValueError, match="build is not an input file"):
        framework.resolve_manifests(gs.Config, _config(tiny_world, build="manifest:blocks_x"), where="cfg.json")
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    rc = framework.main(gs.ANALYSIS, ["--config", str(tmp_path / "cfg.json"), "--out", str(tmp_path / "out")])
    assert rc == 2 and not (tmp_path / "out").exists() and "blocks_y" in caplog.text
