"""Make the helpers of this folder (``tiny_env``) importable by the test modules (pytest runs with
``--import-mode=importlib``, which does not put test folders on ``sys.path``), and the ``one_torch_thread``
fixture of the learning tests."""

import sys
from pathlib import Path

import pytest
import torch as th

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


@pytest.fixture
def one_torch_thread():
    """Torch on one thread during the test (the fastest for these small networks, and the same sums every run)."""
    threads = th.get_num_threads()
    th.set_num_threads(1)
    yield
    th.set_num_threads(threads)
