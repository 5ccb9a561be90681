"""Start-up time of the command line against importing its two big dependencies, measured in one run.

Each round runs, one after the other and each in a fresh process, ``python -c "import mujoco, gymnasium"``
(the floor: what any process that steps a safexp env pays) and the commands: ``safexp --help``,
``safexp list robots`` and ``safexp plugins``. Rounds are interleaved so that machine noise hits all alike; the
table gives each one's median wall time and its difference to the floor's median.

    python benchmarks/cli_startup.py                 # 9 rounds
    python benchmarks/cli_startup.py --runs 15

The processes run with bytecode caching on, as an installed package has it, even where this shell turns it off
(``PYTHONDONTWRITEBYTECODE``): their caches go to a temporary folder (``PYTHONPYCACHEPREFIX``), not into the
source tree. ``--as-is`` runs them with this shell's environment unchanged.

Target: every command within ``--max-overhead`` (0.3 s) of the floor; the ones that miss it are listed. To see
where a command's time goes: ``python -X importtime -m safexp.cli --help 2> imports.txt``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR = "import mujoco, gymnasium"
COMMANDS = (["--help"], ["list", "robots"], ["plugins"])


def safexp_command() -> list[str]:
    """The installed ``safexp`` script beside this interpreter (what users run), else ``python -m safexp.cli``."""
    script = Path(sys.executable).with_name("safexp")
    if script.exists():
        return [str(script)]
    found = shutil.which("safexp")
    return [found] if found else [sys.executable, "-m", "safexp.cli"]


def wall_time(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from start to exit of one process; a failing command stops the benchmark."""
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"`{' '.join(argv)}` failed ({done.returncode}):\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9, help="interleaved rounds (the median of each is reported)")
    parser.add_argument("--max-overhead", type=float, default=0.3, help="target: seconds over the floor")
    parser.add_argument("--as-is", action="store_true", help="keep this shell's bytecode settings")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="safexp-pycache-") as cache:
        env = dict(os.environ)
        if not args.as_is:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = cache
        times = measure(args.runs, env)
    report(times, args.max_overhead, args.as_is)


def measure(rounds: int, env: dict[str, str]) -> dict[str, list[float]]:
    """Wall times of the floor and each command over ``rounds`` interleaved rounds, after one warm-up round."""
    safexp = safexp_command()
    runs = {f'python -c "{FLOOR}"': [sys.executable, "-c", FLOOR]}
    runs.update({f"safexp {' '.join(command)}": [*safexp, *command] for command in COMMANDS})
    for argv in runs.values():  # warm the file cache and the bytecode caches
        wall_time(argv, env)
    times: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(rounds):
        for label, argv in runs.items():
            times[label].append(wall_time(argv, env))
    return times


def report(times: dict[str, list[float]], max_overhead: float, as_is: bool) -> None:
    """The table of medians, and the commands over the target."""
    medians = {label: statistics.median(values) for label, values in times.items()}
    floor = next(iter(medians.values()))
    caching = "as this shell has it" if as_is else "on"
    print(f"{len(next(iter(times.values())))} interleaved runs each, median wall time (safexp: {' '.join(safexp_command())}; "
          f"bytecode caching {caching})\n")
    print("| command | median (s) | min (s) | over the floor (s) |")
    print("|---|---|---|---|")
    for i, (label, median) in enumerate(medians.items()):
        over = f"{median - floor:+.3f}" if i else "—"
        print(f"| `{label}` | {median:.3f} | {min(times[label]):.3f} | {over} |")
    slow = [label for label, median in list(medians.items())[1:] if median - floor > max_overhead]
    print(f"\ntarget: within {max_overhead:.2f} s of the floor — "
          + (f"missed by {', '.join(slow)}" if slow else "met by every command"))


if __name__ == "__main__":
    main()
