"""Shared fixtures of the core's tests.

- ``testkit_registry``: the process-wide registry replaced, for one test, by one that holds the testkit plugin
  (``tests/fixtures/safexp-testkit``) alone, so that the core is tested without any first-party plugin;
- ``fake_dist``: fake plugin distributions visible to this process's entry-point discovery;
- ``fake_site``: fake plugin distributions in a folder that subprocesses get on ``PYTHONPATH``, with the
  installed plugins still there, for end-to-end runs of ``import safexp`` and the command line.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from safexp.registry import Registry, get_registry, reset_registry

TESTKIT = Path(__file__).parent / "fixtures" / "safexp-testkit"


def write_dist(root: Path, dist_name: str, module_source: str, entry_name: str | None = None) -> str:
    """Write an installed-looking distribution into ``root``: a module of ``module_source`` and a ``.dist-info``
    whose ``safexp`` entry point names it. Returns the module name."""
    module = dist_name.replace("-", "_")
    (root / f"{module}.py").write_text(textwrap.dedent(module_source))
    info = root / f"{module}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[safexp]\n{entry_name or module} = {module}\n")
    return module


def testkit_plugin():
    """The testkit's hook module, imported from its source tree unless it is installed."""
    if "safexp_testkit" not in sys.modules and importlib.util.find_spec("safexp_testkit") is None:
        sys.path.insert(0, str(TESTKIT / "src"))
        try:
            importlib.import_module("safexp_testkit")
        finally:
            # Off sys.path again: the source tree may hold the egg-info of an earlier pip install, whose entry
            # point would otherwise show up in every registry that loads entry points.
            sys.path.remove(str(TESTKIT / "src"))
    return importlib.import_module("safexp_testkit.plugin")


@pytest.fixture
def testkit_registry() -> Iterator[Registry]:
    """A strict registry holding the testkit plugin alone, installed as the process-wide one for the test."""
    registry = Registry(autoload=False, strict=True)
    registry.register(testkit_plugin(), name="testkit", distribution="safexp-testkit", version="0.3.1")
    previous = get_registry()
    reset_registry(registry)
    try:
        yield registry
    finally:
        reset_registry(previous)


@pytest.fixture
def fake_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``fake_dist(dist_name, module_source, entry_name=None)`` writes an installed-looking distribution.

    It has a ``.dist-info`` with an entry point in the ``safexp`` group pointing at a module of
    ``module_source``; ``tmp_path`` goes on ``sys.path`` so ``importlib.metadata`` finds it. While the fixture
    is active, entry-point discovery sees only these distributions, so the installed plugins do not interfere.
    """
    monkeypatch.syspath_prepend(str(tmp_path))
    all_entry_points = importlib.metadata.entry_points

    def fake_only(**selection):
        return [ep for ep in all_entry_points(**selection) if ep.dist and str(tmp_path) in str(ep.dist.locate_file(""))]

    monkeypatch.setattr(importlib.metadata, "entry_points", fake_only)

    def make(dist_name: str, module_source: str, entry_name: str | None = None) -> str:
        module = write_dist(tmp_path, dist_name, module_source, entry_name)
        importlib.invalidate_caches()
        monkeypatch.delitem(sys.modules, module, raising=False)
        return module

    return make


class FakeSite:
    """A folder of fake plugin distributions and a way to run Python with it on ``PYTHONPATH``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def add(self, dist_name: str, module_source: str, entry_name: str | None = None) -> str:
        return write_dist(self.root, dist_name, module_source, entry_name)

    def python(self, *args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
        """Run ``python ARGS`` with the folder on ``PYTHONPATH`` and ``env`` added to the environment."""
        environ = {k: v for k, v in os.environ.items() if not k.startswith("SAFEXP_")}
        environ.update(PYTHONPATH=os.pathsep.join(filter(None, [str(self.root), os.environ.get("PYTHONPATH")])), **env)
        return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=environ)


@pytest.fixture(scope="session")
def make_fake_site(tmp_path_factory: pytest.TempPathFactory):
    """``make_fake_site()``: a new, empty :class:`FakeSite` (for fixtures of any scope)."""
    return lambda: FakeSite(tmp_path_factory.mktemp("site"))


@pytest.fixture
def fake_site(make_fake_site) -> FakeSite:
    """``fake_site.add(dist_name, source, entry_name)`` then ``fake_site.python("-m", "safexp.cli", ...)``."""
    return make_fake_site()
