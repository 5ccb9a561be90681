"""Shared fixtures: fake plugin distributions on sys.path, for the registry's error paths."""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
import textwrap
from pathlib import Path

import pytest


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
        module = dist_name.replace("-", "_")
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(module_source))
        info = tmp_path / f"{module}-1.2.3.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 1.2.3\n")
        (info / "entry_points.txt").write_text(f"[safexp]\n{entry_name or module} = {module}\n")
        importlib.invalidate_caches()
        monkeypatch.delitem(sys.modules, module, raising=False)
        return module

    return make
