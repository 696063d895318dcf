import os
import platform
import subprocess
import sys

import pytest

from keras_skeletonmae.host_memory import ENVIRONMENT_VARIABLE, retain_freed_memory

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc")

# Allocates and fills a 256 MB array six times; prints the page faults of the last five.
REPEATED_ALLOCATIONS = """
import resource
import numpy as np
import keras_skeletonmae
np.ones(2**26, "float32")
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    np.ones(2**26, "float32")
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults_of_repeated_allocations(retain):
    environment = {**os.environ, ENVIRONMENT_VARIABLE: "1" if retain else "0"}
    out = subprocess.run([sys.executable, "-c", REPEATED_ALLOCATIONS], env=environment,
                         capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


@glibc_only
def test_the_package_import_makes_freed_memory_reused():
    faults_by_default = _page_faults_of_repeated_allocations(retain=False)
    faults_retained = _page_faults_of_repeated_allocations(retain=True)
    assert faults_by_default > 100  # malloc's default: each 256 MB block is a fresh mmap
    assert faults_retained < faults_by_default / 10


@glibc_only
def test_retain_freed_memory_says_whether_it_applied(monkeypatch):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "0")
    assert retain_freed_memory() is False
    monkeypatch.delenv(ENVIRONMENT_VARIABLE)
    assert retain_freed_memory() is True
