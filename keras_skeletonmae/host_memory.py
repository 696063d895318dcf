"""Host memory reuse: freed memory stays in the process, so training steps do not fault in pages.

A compiled XLA step (JAX; TensorFlow with XLA) allocates its scratch space as one block per
step: 281 MB for the paper's pre-training step. glibc's malloc serves a block that large from a
fresh `mmap` and unmaps it when freed, so every step touches new memory: about 69 000 page
faults per step on JAX, 48 000 on TensorFlow, and on this project's virtual machines more
kernel time than the step's matrix products take (`benchmarks/README.md`). With one malloc
arena, no `mmap` and no trimming, each step reuses the memory the previous one freed. The cost:
the process keeps its peak size instead of returning freed memory to the system (and, as
XLA dispatches the next step before the last one has freed its block, that peak holds two).

Nothing applies it on import: it changes the whole process, so it is a call the user makes
(`retain_freed_memory()`, as the command line, the benchmarks and the tests do). The environment
variable `SKELETONMAE_RETAIN_FREED_MEMORY=0` makes that call a no-op, to keep malloc's defaults
under the command line too.
"""

import ctypes
import os
import platform

ENVIRONMENT_VARIABLE = "SKELETONMAE_RETAIN_FREED_MEMORY"

# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8
_NEVER_TRIM_BYTES = 2**31 - 1  # mallopt takes an int


def retain_freed_memory():
    """Set glibc's malloc to reuse freed memory (one arena, no `mmap`, no trimming).

    Process-wide: call it at the start of a program, not from a library. Threads that have
    already allocated keep their own arenas; importing keras (and its backend) before the call
    makes no difference. Speed and memory effects: docs/performance.md.

    Returns:
        bool. Whether it did: only with glibc (Linux), and not when
        `SKELETONMAE_RETAIN_FREED_MEMORY=0`.

    Example:
        >>> from keras_skeletonmae.host_memory import retain_freed_memory
        >>> retain_freed_memory()  # doctest: +SKIP
        True
    """
    if os.environ.get(ENVIRONMENT_VARIABLE, "1") == "0" or platform.libc_ver()[0] != "glibc":
        return False  # another C library (musl, macOS, Windows) has other knobs
    libc = ctypes.CDLL(None)
    settings = (
        (_M_ARENA_MAX, 1),
        (_M_MMAP_MAX, 0),
        (_M_TRIM_THRESHOLD, _NEVER_TRIM_BYTES),
    )
    return all(libc.mallopt(parameter, value) == 1 for parameter, value in settings)
