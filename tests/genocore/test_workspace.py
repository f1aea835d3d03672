"""Per-thread work arrays: reused, grown, separate between threads, released."""
import threading

import numpy as np

from genocore import workspace


def test_thread_array_is_reused_grown_and_released():
    workspace.release()
    a = workspace.thread_array("t", (3, 4))
    assert a.shape == (3, 4) and a.dtype == np.float64 and a.flags.c_contiguous
    a[:] = 1.0
    b = workspace.thread_array("t", (2, 5))                    # fits: the same memory
    assert np.shares_memory(a, b)
    c = workspace.thread_array("t", (10, 10), order="F")        # grows: new memory
    assert c.flags.f_contiguous and not np.shares_memory(a, c)
    d = workspace.thread_array("other", 4, dtype=np.int32)
    assert d.shape == (4,) and d.dtype == np.int32 and not np.shares_memory(c, d)
    seen = []
    t = threading.Thread(target=lambda: seen.append(workspace.thread_array("t", (10, 10))))
    t.start()
    t.join()
    assert not np.shares_memory(seen[0], c)                     # each thread its own
    workspace.release("t")
    assert not np.shares_memory(workspace.thread_array("t", (10, 10)), c)
    workspace.release()
    assert not workspace._local.buffers


def test_kept_arrays_are_separate_aligned_and_outlive_their_chunk():
    import pickle

    workspace.release()
    arrays = [workspace.kept_array((100, 7), order="F"), workspace.kept_array(33, dtype=np.int8),
              workspace.kept_array((5, 3)), workspace.kept_array(workspace.KEPT_CHUNK_BYTES // 2, dtype=np.uint8)]
    assert arrays[0].flags.f_contiguous and arrays[2].flags.c_contiguous
    assert arrays[1].dtype == np.int8 and arrays[3].nbytes == workspace.KEPT_CHUNK_BYTES // 2
    for i, a in enumerate(arrays):
        assert a.ctypes.data % 64 == 0 and a.flags.writeable
        a[...] = i + 1
        for b in arrays[:i]:
            assert not np.shares_memory(a, b)
    fills = [workspace.kept_array(workspace.KEPT_CHUNK_BYTES // 8, dtype=np.uint8) for _ in range(12)]  # new chunks
    for i, a in enumerate(fills):
        a[...] = i
    workspace.release()                                        # the thread lets go; the arrays keep the memory
    assert all(np.all(a == i + 1) for i, a in enumerate(arrays)) and all(np.all(a == i) for i, a in enumerate(fills))
    assert np.array_equal(pickle.loads(pickle.dumps(arrays[0])), arrays[0])
    assert workspace.kept_array((0, 4)).shape == (0, 4)
