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
