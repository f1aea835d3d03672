"""Reference-data manifests and fetching, against a real HTTP server on 127.0.0.1."""
from __future__ import annotations

import hashlib
import json

import pytest

from genocore import manifests as mf
from stats import cli
from _http_server import PAYLOAD, _Handler

def _manifests(tmp_path, urls, **kw):
    d = {"id": "ref", "urls": urls, "sha256": hashlib.sha256(PAYLOAD).hexdigest(), "bytes": len(PAYLOAD),
         "filename": "ref.bin", "build": "hg38", "license": "CC0", "citation": "test", "used_by": ["tests"], **kw}
    folder = tmp_path / "manifests"
    folder.mkdir(exist_ok=True)
    (folder / "ref.json").write_text(json.dumps(d))
    return mf.load_manifests(folder)


def test_fetch_verify_and_the_cache(server, tmp_path):
    found = _manifests(tmp_path, [f"{server}/good/ref.bin"])
    path = mf.fetch("ref", cache=tmp_path / "c", manifests=found)
    assert path.read_bytes() == PAYLOAD and path == tmp_path / "c" / "data" / "ref" / "ref.bin"
    n = len(_Handler.requests)
    assert mf.fetch("ref", cache=tmp_path / "c", manifests=found) == path and len(_Handler.requests) == n
    path.write_bytes(PAYLOAD[:-1] + b"y")
    with pytest.raises(ValueError, match="has sha256"):
        mf.verify("ref", cache=tmp_path / "c", manifests=found)


def test_corrupted_download_is_not_kept_and_a_dead_mirror_is_skipped(server, tmp_path):
    found = _manifests(tmp_path, [f"{server}/bad/ref.bin"])
    with pytest.raises(mf.FetchError, match="bad/ref.bin.*ValueError"):
        mf.fetch("ref", cache=tmp_path / "c", manifests=found)
    assert not any((tmp_path / "c" / "data" / "ref").iterdir())  # nothing that looks complete, no part
    found = _manifests(tmp_path, [f"{server}/dead/ref.bin", f"{server}/bad/ref.bin", f"{server}/good/ref.bin"])
    path = mf.fetch("ref", cache=tmp_path / "c", manifests=found)
    assert path.read_bytes() == PAYLOAD
    assert [p.split("/")[1] for p, _ in _Handler.requests[-3:]] == ["dead", "bad", "good"]


def test_an_interrupted_download_resumes_where_it_stopped(server, tmp_path):
    found = _manifests(tmp_path, [f"{server}/cut/ref.bin"])
    with pytest.raises(mf.FetchError, match="partial download is kept"):
        mf.fetch("ref", cache=tmp_path / "c", manifests=found)
    part = tmp_path / "c" / "data" / "ref" / "ref.bin.part"
    assert 0 < part.stat().st_size < len(PAYLOAD) and not (tmp_path / "c" / "data" / "ref" / "ref.bin").exists()
    half = part.stat().st_size
    found = _manifests(tmp_path, [f"{server}/good/ref.bin"])
    path = mf.fetch("ref", cache=tmp_path / "c", manifests=found)
    assert path.read_bytes() == PAYLOAD and not part.exists()
    assert _Handler.requests[-1] == ("/good/ref.bin", f"bytes={half}-")  # only the rest was asked for


def test_an_md5_only_manifest_detects_a_corrupted_copy(server, tmp_path):
    """Zenodo publishes MD5s: a manifest holding only that still refuses a corrupted download, and
    verify re-checks the cached file with it."""
    found = _manifests(tmp_path, [f"{server}/bad/ref.bin", f"{server}/good/ref.bin"], sha256="unknown",
                       bytes="unknown", md5=hashlib.md5(PAYLOAD).hexdigest())
    assert found["ref"].known_hash == f"md5:{hashlib.md5(PAYLOAD).hexdigest()}"
    path = mf.fetch("ref", cache=tmp_path / "c", manifests=found)
    assert path.read_bytes() == PAYLOAD
    assert [p.split("/")[1] for p, _ in _Handler.requests[-2:]] == ["bad", "good"]
    path.write_bytes(PAYLOAD[:-1] + b"y")  # same size: only the hash can tell
    with pytest.raises(ValueError, match="has md5 .* the manifest says"):
        mf.verify("ref", cache=tmp_path / "c", manifests=found)


def test_manifests_are_strict_and_the_command_line_fetches(server, tmp_path, monkeypatch, capsys):
    with pytest.raises(ValueError, match=r"unknown manifest key\(s\) \['mirror'\]"):
        _manifests(tmp_path, ["http://x/ref.bin"], mirror="y")
    with pytest.raises(ValueError, match="sha256 must be 64 hex digits"):
        _manifests(tmp_path, ["http://x/ref.bin"], sha256="abc")
    _manifests(tmp_path, [f"{server}/good/ref.bin"])
    monkeypatch.setenv("GENOSUITE_MANIFESTS", str(tmp_path / "manifests"))
    assert cli.main(["data", "list"]) == 0 and "ref\thg38\t1,024,000 bytes" in capsys.readouterr().out
    assert cli.main(["data", "verify", "ref", "--cache", str(tmp_path / "c")]) == 2  # not fetched yet
    assert cli.main(["data", "fetch", "ref", "--cache", str(tmp_path / "c")]) == 0
    assert cli.main(["data", "verify", "ref", "--cache", str(tmp_path / "c")]) == 0
    assert cli.main(["data", "fetch", "nope", "--cache", str(tmp_path / "c")]) == 2


def test_shipped_manifests_load_and_never_invent_a_hash():
    found = mf.load_manifests()
    assert found and all(m.urls for m in found.values())
    for m in found.values():
        assert m.sha256 == "unknown" or len(m.sha256) == 64
        assert m.md5 == "unknown" or len(m.md5) == 32


@pytest.mark.parametrize("ident, rel", [("ldblocks_hg38_decode", "ldblocks/deCODE_EUR_LD_blocks.bed"),
                                         ("ldblocks_hg38_pyrho", "ldblocks/pyrho_EUR_LD_blocks.bed"),
                                         ("farh2015_pics", "finemap_pics_farh2015/nature13835-s1.txt")])
def test_shipped_hashes_match_the_real_files(shared_data, ident, rel):
    """The real-data folder holds byte-for-byte copies of these mirrors' files."""
    m = mf.load_manifests()[ident]
    data = (shared_data / rel).read_bytes()
    assert hashlib.sha256(data).hexdigest() == m.sha256 and len(data) == m.bytes
