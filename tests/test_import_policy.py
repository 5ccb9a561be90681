"""Who may import what, read off the sources (``ast``, nothing imported):

- a plugin (``plugins/*/src``, ``examples/*/src``) imports ``safexp`` or ``safexp.plugin`` and no other part of
  safexp: the engine, the registry and the command line may change without breaking it;
- the core (``core/``, ``registry/``) imports the standard library, its declared dependencies and itself only,
  never a plugin nor a learning library.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_API = {"safexp", "safexp.plugin"}
PLUGIN_SOURCES = sorted(p for pattern in ("plugins/*/src/**/*.py", "examples/*/src/**/*.py") for p in ROOT.glob(pattern))
CORE_SOURCES = sorted(p for folder in ("core", "registry") for p in (ROOT / folder).rglob("*.py"))


def imported_modules(file: Path) -> Iterator[tuple[int, str]]:
    """``(line, module)`` for every absolute import in ``file`` and every ``import_module("...")`` of a literal
    name; ``from safexp import engine`` (a sub-package imported by name) counts as ``safexp.engine``."""
    tree = ast.parse(file.read_text(), filename=str(file))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            if node.module == "safexp":
                for alias in node.names:
                    if alias.name in {"engine", "registry", "cli"}:
                        yield node.lineno, f"safexp.{alias.name}"
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            yield node.lineno, node.args[0].value


def test_there_are_plugin_sources_to_check():
    packages = {p.relative_to(ROOT).parts[:2] for p in PLUGIN_SOURCES}
    assert {("plugins", "safexp-tasks"), ("plugins", "safexp-robots"), ("plugins", "safexp-hazards"),
            ("plugins", "safexp-sb3"), ("plugins", "safexp-experiments"), ("examples", "safexp-slippery-zone")} <= packages


def test_plugins_import_only_the_plugin_api():
    violations = [f"{file.relative_to(ROOT)}:{line}: imports {module} (use safexp or safexp.plugin)"
                  for file in PLUGIN_SOURCES for line, module in imported_modules(file)
                  if (module == "safexp" or module.startswith("safexp.")) and module not in PLUGIN_API]
    assert not violations, "plugins must import only safexp and safexp.plugin:\n" + "\n".join(violations)


def test_the_policy_check_catches_every_form(tmp_path):
    file = tmp_path / "plugin.py"
    file.write_text("import safexp\nimport safexp.engine.env\nfrom safexp.registry import Registry\n"
                    "from safexp.plugin import hookimpl\nfrom safexp import engine, hookimpl\n"
                    "import importlib\nimportlib.import_module('safexp.cli')\nfrom . import sibling\n")
    found = [(line, module) for line, module in imported_modules(file) if module not in PLUGIN_API]
    assert found == [(2, "safexp.engine.env"), (3, "safexp.registry"), (5, "safexp.engine"), (6, "importlib"),
                     (7, "safexp.cli")]


def declared_core_dependencies() -> set[str]:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0].lower() for dep in project["dependencies"]}


def test_the_core_depends_on_five_libraries_only():
    assert declared_core_dependencies() == {"mujoco", "gymnasium", "pluggy", "omegaconf", "numpy"}


def importable_names(distributions: set[str]) -> set[str]:
    """The top-level modules that ``distributions`` and their own requirements install."""
    names = {name.lower().replace("_", "-") for name in distributions}
    for dist in list(names):
        for requirement in importlib.metadata.requires(dist) or []:
            if "extra ==" not in requirement:
                names.add(re.split(r"[<>=!~\[; (]", requirement, maxsplit=1)[0].lower().replace("_", "-"))
    return {module for module, owners in importlib.metadata.packages_distributions().items()
            if any(owner.lower().replace("_", "-") in names for owner in owners)}


def test_the_core_imports_the_standard_library_its_dependencies_and_itself_only():
    """(What a declared dependency itself requires, PyYAML for OmegaConf say, comes with it.)"""
    allowed = importable_names(declared_core_dependencies()) | set(sys.stdlib_module_names) | {"safexp", "__future__"}
    assert {"mujoco", "numpy", "yaml"} <= allowed
    violations = [f"{file.relative_to(ROOT)}:{line}: imports {module}"
                  for file in CORE_SOURCES for line, module in imported_modules(file)
                  if module.split(".")[0] not in allowed]
    assert not violations, "the core imports an undeclared library or a plugin:\n" + "\n".join(violations)
