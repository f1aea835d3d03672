import numpy as np

from genomodel import dna


def test_encode_decode_round_trip_and_n():
    codes = dna.encode("ACGTNacgtR")
    assert codes.tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]
    assert dna.decode(codes) == "ACGTNACGTN"


def test_one_hot_lookup_matches_naive():
    seq = "ACGTTN"
    expect = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]])
    assert np.array_equal(dna.one_hot(dna.encode(seq)), expect)


def test_reverse_complement():
    assert dna.decode(dna.reverse_complement_codes(dna.encode("AACGTN"))) == "NACGTT"
