"""Prove that the learner tests bite: break the learners one way at a time and list the tests that fail.

Each sabotage (:data:`sabotage_patches.SABOTAGES`: λ frozen at its initial value, λ frozen at 1, CPO's line search
accepting every step, the cost term's sign flipped, the cost-advantage centring removed, the 1/(1+λ) removed)
is applied by a pytest plugin in a fresh pytest process running the learner tests; a clean run comes first.
Prints, per sabotage, the tests that failed, and exits 1 if a sabotage was caught by none.

    python benchmarks/sabotage.py                      # the tests of TEST_FILES
    python benchmarks/sabotage.py -k penalised         # only tests matching a pytest -k expression
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

from sabotage_patches import SABOTAGES

ROOT = Path(__file__).resolve().parent.parent
TEST_FILES = ("plugins/safexp-sb3/tests/test_learner_updates.py", "plugins/safexp-sb3/tests/test_ppo_lag_rnn.py")


def failed_tests(sabotage: str | None, keyword: str | None) -> tuple[list[str], int]:
    """Run the tests with ``sabotage`` applied (``None``: none); return the failed test ids and the pass count."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH", "")])}
    if sabotage:
        env["SAFEXP_SABOTAGE"] = sabotage
    command = [sys.executable, "-m", "pytest", "-q", "-p", "sabotage_patches", "-p", "no:cacheprovider", *TEST_FILES]
    if keyword:
        command += ["-k", keyword]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    failed = re.findall(r"^FAILED (\S+)", result.stdout, flags=re.MULTILINE)
    passed = re.search(r"(\d+) passed", result.stdout)
    return [f.split("::", 1)[1] for f in failed], int(passed.group(1)) if passed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", dest="keyword", help="pytest -k expression selecting the tests")
    args = parser.parse_args()
    clean, passed = failed_tests(None, args.keyword)
    print(f"no sabotage: {passed} passed, {len(clean)} failed {clean or ''}", flush=True)
    if clean:
        print("the tests fail without sabotage: fix them first")
        return 1
    missed = []
    print("\n| sabotage | tests that fail |\n|---|---|")
    for name in SABOTAGES:
        failed, _ = failed_tests(name, args.keyword)
        print(f"| {name} | {', '.join(failed) if failed else 'NONE: not caught'} |", flush=True)
        if not failed:
            missed.append(name)
    print(f"\n{len(SABOTAGES) - len(missed)} of {len(SABOTAGES)} sabotages caught")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
