"""Reference-data manifests and fetching, against a real HTTP server on 127.0.0.1."""
from __future__ import annotations

import hashlib
import http.server
import json
import threading

import pytest

from genocore import manifests as mf
from stats import cli

PAYLOAD = bytes(range(256)) * 4000  # 1 MB


class _Handler(http.server.BaseHTTPRequestHandler):
    """/good serves the payload (with Range), /bad a corrupted copy, /dead 404, /cut half of it then
    drops the connection."""

    requests: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        type(self).requests.append((self.path, self.headers.get("Range")))
        if self.path.startswith("/dead"):
            self.send_error(404)
            return
        body = PAYLOAD if not self.path.startswith("/bad") else PAYLOAD[:-1] + b"x"
        start = 0
        rng = self.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if self.path.startswith("/cut"):
            self.wfile.write(body[start:start + (len(body) - start) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)  # the transfer breaks off
            return
        self.wfile.write(body[start:])


@pytest.fixture()
def server():
    _Handler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


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
