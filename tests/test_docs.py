"""Every code block of the README, CONTRIBUTING.md and docs/*.md runs, as written.

Each fenced block is one test, run in a subprocess with the virtual environment's ``bin`` first on ``PATH``, in
a fresh temporary folder outside the repository. That folder holds a link ``safexp`` to the repository, standing
for the reader's clone: a block that needs the repository says so with ``cd safexp``.

- ```` ```python ```` runs with the environment's Python (as a script kept outside the block's folder, so the
  folder is not on ``sys.path``);
- ```` ```bash ````, ```` ```sh ```` run with ``bash -e -o pipefail``;
- ```` ```pycon ```` runs through :mod:`doctest` (``ELLIPSIS``, ``NORMALIZE_WHITESPACE``): the output shown is
  checked;
- other languages (``toml``, ``yaml``, ``text``, unlabelled listings) are not run, unless a mark says they are
  a file or a transcript.

Marks are HTML comments on the lines right above the fence, ``<!-- docs-test: MARK -->``:

- ``skip: REASON``: not run, for a long run, a cluster, or ``make run`` / ``make test`` themselves; the reason is
  required and shows in the test report;
- ``file: PATH``: the block is a file's content; it is written at ``PATH`` into the folder of every later block
  of the same page (a ``pyproject.toml`` among them makes a package that the page's blocks may ``pip install``:
  it is uninstalled after the page's last block, and again when this module ends);
- ``output``: a transcript: each line starting with ``$ `` is a command run with bash, the lines after it must
  appear in its output (stdout and stderr), in order, with ``...`` matching anything and runs of spaces
  counting as one; its exit status is not checked;
- ``continues``: run in the folder the page's previous block ran in, with the files it left there.

Blocks of a page run in page order. A ```` ```console ```` block, or any block whose lines start with ``$ ``,
must be marked ``output`` (or skipped with a reason), so every command the docs show is run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = ["README.md", "CONTRIBUTING.md", *sorted(str(p.relative_to(REPO)) for p in (REPO / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent
TIMEOUT = 600

PYTHON, SHELL, DOCTEST, TRANSCRIPT, FILE, SKIP, LISTING = (
    "python", "shell", "doctest", "transcript", "file", "skip", "listing")
SHELL_LANGUAGES = {"bash", "sh", "shell"}
KNOWN_MARKS = ("skip", "file", "output", "continues")

FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)[^`]*$")
MARK = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<body>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block of a page, with the marks above it."""

    page: str
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    marks: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    def mark(self, name: str) -> str | None:
        """The argument of mark ``name`` (``""`` for a mark without one), or ``None`` when absent."""
        for mark in self.marks:
            key, _, value = mark.partition(":")
            if key.strip() == name:
                return value.strip()
        return None

    @property
    def shows_commands(self) -> bool:
        return self.lang == "console" or (self.lang == "" and any(line.startswith("$ ") for line in self.text.splitlines()))

    @property
    def kind(self) -> str:
        if self.mark("skip") is not None:
            return SKIP
        if self.mark("file") is not None:
            return FILE
        if self.mark("output") is not None:
            return TRANSCRIPT
        if self.lang == "python":
            return PYTHON
        if self.lang in SHELL_LANGUAGES:
            return SHELL
        if self.lang == "pycon":
            return DOCTEST
        return LISTING


def read_blocks(page: str) -> list[Block]:
    """The fenced blocks of ``page`` (relative to the repository), in order."""
    lines = (REPO / page).read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        marks, above = [], i - 1
        while above >= 0 and (mark := MARK.match(lines[above])):
            marks.insert(0, mark["body"])
            above -= 1
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        body = "\n".join(line[indent:] if line[:indent].strip() == "" else line.lstrip() for line in lines[i + 1 : end])
        blocks.append(Block(page, i + 1, opening["lang"].lower(), body + "\n", tuple(marks)))
        i = end + 1
    return blocks


BLOCKS = {page: read_blocks(page) for page in PAGES}
RUNNABLE = [block for page in PAGES for block in BLOCKS[page] if block.kind in (PYTHON, SHELL, DOCTEST, TRANSCRIPT, SKIP)]


def mark_problems(block: Block) -> list[str]:
    """What is wrong with a block's marks (an empty list when nothing)."""
    problems = []
    for mark in block.marks:
        key, sep, value = mark.partition(":")
        key = key.strip()
        if key not in KNOWN_MARKS:
            problems.append(f"unknown mark '{mark}' (known: {', '.join(KNOWN_MARKS)})")
        elif key in ("skip", "file") and not value.strip():
            problems.append(f"'{key}' needs {'a reason' if key == 'skip' else 'a path'}: <!-- docs-test: {key}: ... -->")
        elif key in ("output", "continues") and sep:
            problems.append(f"'{key}' takes no argument, got '{mark}'")
    if block.mark("output") is not None and not any(line.startswith("$ ") for line in block.text.splitlines()):
        problems.append("an 'output' block needs commands: lines starting with '$ '")
    if block.shows_commands and block.kind not in (TRANSCRIPT, SKIP):
        problems.append("it shows commands ('$ ...'): mark it <!-- docs-test: output --> so they run, or skip it "
                        "with a reason")
    return problems


# -- running ----------------------------------------------------------------------------------------------------
@dataclass
class PageState:
    """What the blocks of one page share: the folder the last block ran in, and the packages its files make."""

    folder: Path | None = None
    packages: set[str] = field(default_factory=set)


STATES: dict[str, PageState] = {}


def block_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    for name in ("PYTHONPATH", "PYTEST_CURRENT_TEST", "SAFEXP_CONFIG_PATH"):
        env.pop(name, None)
    return env


def package_name(pyproject: str) -> str | None:
    """The distribution name in a ``pyproject.toml``'s ``[project]`` table."""
    table = re.search(r"^\[project\]\s*$(.*?)(?=^\[|\Z)", pyproject, re.M | re.S)
    name = re.search(r"^name\s*=\s*[\"']([^\"']+)[\"']", table.group(1), re.M) if table else None
    return name.group(1) if name else None


def uninstall(names: set[str]) -> None:
    for name in sorted(names):
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "-q", "-y", name], capture_output=True,
                       timeout=TIMEOUT, env=block_env())


def prepare_folder(block: Block, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder ``block`` runs in, with the page's earlier file blocks written into it."""
    state = STATES.setdefault(block.page, PageState())
    if block.mark("continues") is not None:
        if state.folder is None:
            pytest.fail(f"{block.id} continues the page's previous block, but none ran before it")
        folder = state.folder
    else:
        folder = tmp_path_factory.mktemp("docs")
        (folder / "safexp").symlink_to(REPO, target_is_directory=True)
    for earlier in BLOCKS[block.page]:
        if earlier.line >= block.line:
            break
        if earlier.kind == FILE:
            target = folder / earlier.mark("file")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(earlier.text, encoding="utf-8")
            if target.name == "pyproject.toml" and (name := package_name(earlier.text)):
                state.packages.add(name)
    state.folder = folder
    return folder


def run_command(argv: list[str], folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=TIMEOUT, env=block_env())


def script_file(block: Block, suffix: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("docs-scripts") / f"{Path(block.page).stem}_{block.line}{suffix}"
    path.write_text(block.text, encoding="utf-8")
    return path


DOCTEST_RUNNER = """
import doctest, sys
path, name, line = sys.argv[1], sys.argv[2], int(sys.argv[3])
test = doctest.DocTestParser().get_doctest(open(path, encoding="utf-8").read(), {"__name__": "__main__"}, name, path, line)
runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
runner.run(test)
sys.exit(1 if runner.failures else 0)
"""


def transcript(text: str) -> list[tuple[str, list[str]]]:
    """``(command, expected lines)`` for each ``$ `` line of a transcript."""
    steps: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps and line.strip():
            steps[-1][1].append(line)
    return steps


def squeeze(text: str) -> str:
    return " ".join(text.split())


def missing_lines(expected: list[str], output: str) -> list[str]:
    """The expected lines not found in ``output``, in order (``...`` matches anything)."""
    lines = [squeeze(line) for line in output.splitlines()]
    at, missing = 0, []
    for want in expected:
        if squeeze(want) == "...":
            continue
        pattern = re.compile(".*".join(re.escape(part) for part in squeeze(want).split("...")))
        found = next((i for i in range(at, len(lines)) if pattern.search(lines[i])), None)
        if found is None:
            missing.append(want)
        else:
            at = found + 1
    return missing


def report(block: Block, result: subprocess.CompletedProcess, what: str = "") -> str:
    return (f"{block.id} ({block.lang or 'transcript'}) {what or f'exited with {result.returncode}'}\n"
            f"--- block ---\n{block.text}--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}")


def run_block(block: Block, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = prepare_folder(block, tmp_path_factory)
    kind = block.kind
    if kind == PYTHON:
        result = run_command([sys.executable, str(script_file(block, ".py", tmp_path_factory))], folder)
    elif kind == SHELL:
        result = run_command(["bash", "-e", "-o", "pipefail", str(script_file(block, ".sh", tmp_path_factory))], folder)
    elif kind == DOCTEST:
        runner = tmp_path_factory.mktemp("docs-scripts") / "run_doctest.py"
        runner.write_text(DOCTEST_RUNNER, encoding="utf-8")
        text = script_file(block, ".txt", tmp_path_factory)
        result = run_command([sys.executable, str(runner), str(text), block.id, str(block.line)], folder)
    else:
        for command, expected in transcript(block.text):
            result = run_command(["bash", "-o", "pipefail", "-c", command], folder)
            missing = missing_lines(expected, result.stdout + "\n" + result.stderr)
            if missing:
                pytest.fail(report(block, result, f"`{command}` did not print: {missing}"), pytrace=False)
        return
    if result.returncode != 0:
        pytest.fail(report(block, result), pytrace=False)


# -- the tests --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def uninstall_page_packages():
    """Whatever happens, no package a page installed stays in the shared environment."""
    yield
    uninstall({name for state in STATES.values() for name in state.packages})


def test_every_mark_is_valid_and_every_skip_says_why():
    problems = [f"{block.id}: {problem}" for page in PAGES for block in BLOCKS[page] for problem in mark_problems(block)]
    assert not problems, "\n".join(problems)


def test_pages_have_runnable_blocks():
    for page in PAGES:
        assert any(b.kind in (PYTHON, SHELL, DOCTEST, TRANSCRIPT) for b in BLOCKS[page]), f"{page} runs nothing"


@pytest.mark.parametrize("block", RUNNABLE, ids=[block.id for block in RUNNABLE])
def test_block_runs(block: Block, tmp_path_factory: pytest.TempPathFactory):
    if block.kind == SKIP:
        pytest.skip(f"{block.id}: {block.mark('skip')}")
    problems = mark_problems(block)
    assert not problems, f"{block.id}: {'; '.join(problems)}"
    last_of_page = block is [b for b in RUNNABLE if b.page == block.page][-1]
    try:
        run_block(block, tmp_path_factory)
    finally:
        if last_of_page:
            state = STATES.get(block.page)
            if state and state.packages:
                uninstall(state.packages)
