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
    assert "## Signed LD profile regression" in text and (tmp_path / "sldp" / "sldp.png").exists()
    assert "## eQTL enrichment along the SED-LD profile" in text
    # table rows of both regressors (cells escape the pipes)
    assert "| \\|SED-LD\\| | Liver | true SED |" in text and "| sqrt(\\|SED-LD\\|) | Liver | shuffled |" in text
    assert (tmp_path / "covreg" / "covreg_panel_sqrt.png").exists() and "covreg/covreg_panel.png" in text
    assert "## Other methods against the planted truth" in text and (tmp_path / "methods" / "summary.json").exists()
    assert world_is_complete(tmp_path / "world", 3, world_config("tiny"))
    assert not world_is_complete(tmp_path / "world", 4, world_config("tiny"))
    # a corrupted file makes the world incomplete, so the demo rebuilds it
    (tmp_path / "world" / "gwas" / "null.sumstats.gz").write_bytes(b"junk")
    assert not world_is_complete(tmp_path / "world", 3, world_config("tiny"))
