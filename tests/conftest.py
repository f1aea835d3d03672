"""Shared fixtures: a tiny simulated world built once per test session, and the real-data folder."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(os.environ.get("GENOSUITE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _cache_in_tmp(tmp_path_factory):
    """Indexes of FASTA files without one go to the suite's cache: a temporary one, not the home folder."""
    old = os.environ.get("GENOSUITE_CACHE")
    os.environ["GENOSUITE_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("GENOSUITE_CACHE", None)
    else:
        os.environ["GENOSUITE_CACHE"] = old


@pytest.fixture()
def server():
    """Base URL of a real HTTP server on 127.0.0.1 (tests/_http_server.py: /good, /bad, /dead, /cut)."""
    from _http_server import serve

    yield from serve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder beside the project; tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory) -> Path:
    """A tiny world (2 x 500 kb), seed 7, built once for the session."""
    from analyses.world import build_world, world_config

    out = tmp_path_factory.mktemp("world") / "w"
    build_world(out, seed=7, cfg=world_config("tiny"))
    return out
