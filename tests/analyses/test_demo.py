import re

import pytest

from analyses.demo import run_demo, world_is_complete
from analyses.world import world_config


@pytest.mark.integration
def test_demo_writes_report_and_reuses_world(tmp_path):
    # a budget this small trains exactly one epoch
    report = run_demo(tmp_path, seed=3, size="tiny", command="test", model_epochs=1)
    text = report.read_text()
    assert "## Sequence model" in text and "R(model, truth)" in text
    assert (tmp_path / "model" / "run" / "model" / "model.weights.h5").exists()
    for png in ("coverage_locus", "ld_decay", "ld_heatmap", "eqtl_manhattan", "model_tracks"):
        f = tmp_path / "figures" / f"{png}.png"
        assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"figures/{png}.png" in text
    assert "Planted truth" in text and '"version"' in text
    # every paper analysis ran from the model's scores, with the truth beside, and its report is in
    from analyses.run_all import MODULES

    for name in MODULES:
        assert f"## {name}" in text and (tmp_path / "analyses" / name / "provenance.json").exists()
    assert (tmp_path / "scores" / "world_sad.h5").exists() and (tmp_path / "scores" / "world_truth_sad.h5").exists()
    # no section runs on the planted truth alone any more
    assert "## Signed LD profile regression" not in text and not (tmp_path / "sldp").exists()
    # every figure the report links exists
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) > 10 and all((tmp_path / link).is_file() for link in links), links
    assert world_is_complete(tmp_path / "world", 3, world_config("tiny"))
    assert not world_is_complete(tmp_path / "world", 4, world_config("tiny"))
    # a corrupted file makes the world incomplete, so the demo rebuilds it
    (tmp_path / "world" / "gwas" / "null.sumstats.gz").write_bytes(b"junk")
    assert not world_is_complete(tmp_path / "world", 3, world_config("tiny"))
