"""What plugins and scripts written before the reshaping still use: the old module paths (``safexp.world``,
``safexp.env:SafetyEnv``), ``safexp.train`` saying where it moved, ``safexp plugins --errors-only`` as a check."""

import importlib

import pytest

import safexp
from safexp.cli import main


@pytest.mark.parametrize("old, new", [("world", "safexp.engine.world"), ("specs", "safexp.plugin.specs"),
                                      ("errors", "safexp.plugin.errors"), ("env", "safexp.engine.env")])
def test_old_module_paths_are_the_moved_modules(old, new):
    assert importlib.import_module(f"safexp.{old}") is importlib.import_module(new)
    assert getattr(safexp, old) is importlib.import_module(new)  # `import safexp.world; safexp.world.World`


def test_the_experiment_api_says_where_it_moved():
    with pytest.raises(AttributeError, match=r"safexp.train moved to the experiment plugin: use safexp_experiments.train"):
        safexp.train  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute 'trian'"):
        safexp.trian  # noqa: B018


def test_errors_only_exits_1_on_a_load_error(testkit_registry, capsys):
    assert main(["plugins", "--errors-only"]) == 0
    testkit_registry.strict = False
    testkit_registry.register(object(), name="odd")
    testkit_registry._fail(testkit_registry.plugins["odd"], "import failed: ImportError: missing libfoo")
    assert main(["plugins", "--errors-only"]) == 1
    assert "ERROR: import failed: ImportError: missing libfoo" in capsys.readouterr().out
