"""Small readers and writers of genomodel.io: target subsets, attribution HDF5 layouts."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pandas as pd
import pytest

from genomodel.io.attribution_h5 import write_ism_h5, write_saliency_h5
from genomodel.io.targets import read_target_subset


def test_target_subset_in_table_order(tmp_path):
    p = tmp_path / "want.txt"
    p.write_text("index\tidentifier\tdescription\n0\tc\tC:c\n1\ta\tA:a\n")
    np.testing.assert_array_equal(read_target_subset(p, ["a", "b", "c"]), [2, 0])
    with pytest.raises(ValueError, match=r"\['c'\] are not among the model's 2 targets"):
        read_target_subset(p, ["a", "b"])


def test_attribution_layouts(tmp_path):
    windows = pd.DataFrame({"chrom": ["chr1", "chr2"], "start": [-100, 500], "end": [924, 1524]})
    values = np.arange(8, dtype=np.float32).reshape(2, 4)
    write_saliency_h5(tmp_path / "s.h5", values, windows, bin_width=256, provenance={"command": "x"})
    with h5py.File(tmp_path / "s.h5") as h5:
        np.testing.assert_array_equal(h5["saliency"][:], values)
        assert h5["chrom"][:].astype(str).tolist() == ["chr1", "chr2"] and h5["start"][:].tolist() == [-100, 500]
        assert h5.attrs["bin_width"] == 256 and json.loads(h5.attrs["provenance"]) == {"command": "x"}
    ism = np.zeros((3, 4, 2), np.float32)
    write_ism_h5(tmp_path / "i.h5", ism, np.array([0, 1, 4], np.uint8), chrom="chr1", start_1based=11, bins=[5])
    with h5py.File(tmp_path / "i.h5") as h5:
        assert h5["ism"].shape == (3, 4, 2) and h5["ref_codes"][:].tolist() == [0, 1, 4]
        assert h5.attrs["chrom"] == "chr1" and h5.attrs["start_1based"] == 11 and h5.attrs["bins"].tolist() == [5]
        assert "provenance" not in h5.attrs
