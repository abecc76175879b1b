"""The documentation: the site builds without a warning, README.md stays short, and the commands
it shows work.

- The site: ``mkdocs build --strict`` into a temporary folder (skipped where the docs tools of the
  ``dev`` extra are not installed).
- README.md: at most 250 lines; its two commands are targets of the Makefile.
- Run for real, as subprocesses in a temporary folder, each asserted to exit 0 and to print what
  it should:

  * every line of a fenced block in README.md or a page of docs/ (not the reports and logs under
    docs/reproduction/) that is ``rnnstudy --help``, ``rnnstudy COMMAND --help``,
    ``rnnstudy --version`` or ``rnnstudy plugins``;
  * every block right after a ``<!-- test: run -->`` line: its shell lines (each one of those
    cheap commands), or a Python block, run as a study file: it must define a ``Study`` named
    ``study``. The marker must be used at least ``MIN_MARKED`` times, so that losing it cannot
    make this run nothing;
  * README's first plugin: its entry points and module installed as a distribution on the path,
    ``rnnstudy plugins`` lists it and the README's own test of it passes.

- Parsed, not run: every other ``rnnstudy COMMAND ...`` line of those blocks is parsed by that
  click command, so a command or an option the docs name and the CLI no longer has fails here;
  every ``studies/NAME.py`` they name exists.

Not run: commands that train, need a dataset or a server (``rnnstudy optimize``, ``report``,
``rerun``, ``ui``, ``dashboard``, ``make demo``, pip installs, the Slurm and Kubernetes
examples); the rest of the suite tests what they do. Nothing here touches the network.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
MARKER = "<!-- test: run -->"
MIN_MARKED = 5  # README: the first study, the first commands; the study page; the CLI page; plugins
SHELL = {"", "bash", "sh", "shell", "console"}
PREFIXES = (("rnnstudy",), (".venv/bin/rnnstudy",), ("srun", "rnnstudy"))


@dataclass
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    language: str
    text: str
    marked: bool

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def documents() -> list[Path]:
    pages = [
        p
        for p in sorted((REPO / "docs").rglob("*.md"))
        if "reproduction" not in p.relative_to(REPO / "docs").parts
    ]
    return [README, *pages]


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file; ``marked`` when the line before the fence is the marker."""
    found, lines = [], path.read_text().splitlines()
    i = 0
    while i < len(lines):
        opening = re.match(r"\s*```(\w*)\s*$", lines[i])
        if not opening:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
        assert end is not None, f"{path.relative_to(REPO)}:{i + 1}: a fence that is never closed"
        marked = i > 0 and lines[i - 1].strip() == MARKER
        found.append(Block(path, i + 1, opening.group(1), "\n".join(lines[i + 1 : end]), marked))
        i = end + 1
    return found


def all_blocks() -> list[Block]:
    return [block for path in documents() for block in blocks(path)]


def commands(block: Block) -> list[list[str]]:
    """The ``rnnstudy ...`` command lines of a shell block, as the arguments after ``rnnstudy``
    (continuation lines joined, comments dropped)."""
    found = []
    for line in block.text.replace("\\\n", " ").splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue  # not a command line (a heredoc, say)
        for prefix in PREFIXES:
            if tuple(words[: len(prefix)]) == prefix:
                found.append(words[len(prefix) :])
    return found


def cheap(args: list[str]) -> bool:
    """A command that only prints: help, the version, the installed plugins."""
    return "--help" in args or args in ([], ["--version"], ["plugins"])


def expected(args: list[str]) -> list[str]:
    if "--help" in args:
        return [" ".join(["Usage: rnnstudy", *args[: args.index("--help")]])]
    if args == ["--version"]:
        return ["rnnstudy, version"]
    if args == ["plugins"]:
        return ["dataset ", "model ", "optimizer ", "fashion_mnist"]  # each kind, and the demo's dataset
    return ["Usage: rnnstudy [OPTIONS] COMMAND"]  # bare `rnnstudy`


def environment(*paths: Path) -> dict[str, str]:
    """This process's environment, with the repository under test (and ``paths``) first on the path."""
    path = os.pathsep.join([*map(str, paths), str(REPO), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path.rstrip(os.pathsep), "MLFLOW_DISABLE_TELEMETRY": "true"}


_ran: dict[tuple[str, ...], subprocess.CompletedProcess] = {}


def run(
    argv: list[str], cwd: Path, env: dict | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """``argv`` to its end, stdout and stderr together; with this process's environment
    (``env`` None) a command runs once, however many pages show it."""
    if env is None and tuple(argv) in _ran:
        return _ran[tuple(argv)]
    result = subprocess.run(
        argv,
        cwd=cwd,
        env=env or environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    if env is None:
        _ran[tuple(argv)] = result
    return result


def run_rnnstudy(args: list[str], cwd: Path, where: str) -> None:
    result = run([sys.executable, "-m", "rnnstudy", *args], cwd)
    shown = shlex.join(["rnnstudy", *args])
    assert result.returncode == 0, f"{where}: `{shown}` exited {result.returncode}:\n{result.stdout}"
    for text in expected(args):
        assert text in result.stdout, f"{where}: `{shown}` printed no {text!r}:\n{result.stdout}"


def run_study_block(block: Block, folder: Path) -> None:
    """A Python block as a study file: it runs, and its ``study`` is a Study."""
    script = folder / f"block_{block.path.stem}_{block.line}.py"
    script.write_text(block.text + "\n")
    check = (
        "import runpy, sys\n"
        "from rnnstudy import Study\n"
        "study = runpy.run_path(sys.argv[1]).get('study')\n"
        "assert isinstance(study, Study), f'defines no Study named study: {study!r}'\n"
        "print('study:', study.dataset, study.model)\n"
    )
    result = run([sys.executable, "-c", check, str(script)], folder)
    assert result.returncode == 0 and "study:" in result.stdout, f"{block.where}:\n{result.stdout}"


def test_the_site_builds_without_a_warning(tmp_path):
    reason = "the docs tools are in the dev extra: pip install -e '.[dev]'"
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "mkdocs_click"):
        pytest.importorskip(module, reason=reason)
    pytest.importorskip("mkdocs_include_markdown_plugin", reason=reason)
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        env={**environment(), "NO_MKDOCS_2_WARNING": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout
    assert "WARNING" not in result.stdout, result.stdout
    site = tmp_path / "site"
    # the generated references are there: every command, and the public Python names
    cli_page = (site / "reference" / "cli" / "index.html").read_text()
    for command in ("optimize", "report", "rerun", "plugins", "ui", "dashboard"):
        assert f"rnnstudy {command}" in cli_page
    python_page = (site / "reference" / "python" / "index.html").read_text()
    for name in ("rnnstudy.Study", "rnnstudy.optimize", "rnnstudy.load", "rnnstudy.data", "rnnstudy.testing"):
        assert f'id="{name}"' in python_page
    # a link to a study file outside docs/ reaches a copy of it
    assert (site / "source" / "studies" / "demo.py").read_text() == (REPO / "studies" / "demo.py").read_text()


def test_readme_is_short_and_its_two_commands_are_make_targets():
    lines = README.read_text().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; at most 250 (the rest belongs in docs/)"
    section = "\n".join(lines[lines.index("## Two commands") :])
    first = next(b for b in blocks(README) if b.text.startswith("make demo"))
    assert first.text.splitlines()[0].startswith("make demo") and first.text in section
    assert [line.split()[:2] for line in first.text.splitlines()] == [["make", "demo"], ["make", "test"]]
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


def test_marked_blocks_run(tmp_path):
    marked = [b for b in all_blocks() if b.marked]
    assert len(marked) >= MIN_MARKED, (
        f"only {len(marked)} blocks carry {MARKER!r}: {[b.where for b in marked]}"
    )
    assert any(b.path == README for b in marked)
    for block in marked:
        if block.language == "python":
            run_study_block(block, tmp_path)
            continue
        assert block.language in SHELL, f"{block.where}: a marked {block.language} block cannot be run"
        lines = [line for line in block.text.splitlines() if line.strip()]
        found = commands(block)
        assert len(found) == len(lines), (
            f"{block.where}: every line of a marked block must be an rnnstudy command"
        )
        for args in found:
            assert cheap(args), (
                f"{block.where}: `rnnstudy {shlex.join(args)}` is not cheap enough to run here"
            )
            run_rnnstudy(args, tmp_path, block.where)


def test_every_cheap_command_in_the_docs_runs(tmp_path):
    found = [(b, args) for b in all_blocks() if b.language in SHELL for args in commands(b) if cheap(args)]
    shown = {shlex.join(args) for _, args in found}
    assert {"--help", "optimize --help", "report --help", "plugins"} <= shown, shown
    for block, args in found:
        run_rnnstudy(args, tmp_path, block.where)


def test_every_other_command_in_the_docs_parses(monkeypatch):
    from rnnstudy.cli import cli

    monkeypatch.chdir(REPO)  # the study files they name, as from the project's folder
    parsed = 0
    for block in all_blocks():
        if block.language not in SHELL:
            continue
        for args in commands(block):
            if cheap(args):
                continue
            shown = f"{block.where}: `rnnstudy {shlex.join(args)}`"
            assert args[0] in cli.commands, f"{shown}: no such command; there are {sorted(cli.commands)}"
            try:
                cli.commands[args[0]].make_context(f"rnnstudy {args[0]}", args[1:])
            except click.ClickException as exc:
                pytest.fail(f"{shown}: {exc.format_message()}")
            parsed += 1
    assert parsed >= 20, parsed  # the guide's, the studies', the machines' and the reports' commands


def test_every_study_file_the_docs_name_exists():
    named = set()
    for path in documents():
        named |= set(re.findall(r"(?<![\w/.])studies/\w+\.py", path.read_text()))
    assert "studies/demo.py" in named
    missing = sorted(n for n in named if not (REPO / n).is_file())
    assert not missing, f"named in the docs, not in the repository: {missing}"


def test_readme_first_plugin_is_listed_and_passes_its_test(tmp_path):
    text = README.read_text()
    section = text[text.index("## A first plugin") : text.index("\n## ", text.index("## A first plugin") + 1)]
    fenced = [b for b in blocks(README) if b.text in section]
    toml = next(b for b in fenced if b.language == "toml")
    module = next(b for b in fenced if b.language == "python" and b.text.startswith("# "))
    own_test = next(b for b in fenced if b.language == "python" and "def test_" in b.text)
    project = tomllib.loads(toml.text)["project"]

    # installed as pip would: a .dist-info with the entry points, the module beside it
    site = tmp_path / "site"
    dist = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    groups = project["entry-points"]
    (dist / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in points.items())
            for group, points in groups.items()
        )
    )
    (site / module.text.splitlines()[0].removeprefix("# ")).write_text(module.text + "\n")
    env = environment(site)

    listed = run([sys.executable, "-m", "rnnstudy", "plugins"], tmp_path, env=env)
    assert listed.returncode == 0, listed.stdout
    for group, points in groups.items():
        kind = group.removeprefix("rnnstudy.").removesuffix("s")
        for name in points:
            line = next((ln for ln in listed.stdout.splitlines() if ln.split()[:2] == [kind, name]), None)
            assert line and project["name"] in line, (
                f"{kind} {name} of {project['name']} not listed:\n{listed.stdout}"
            )

    (tmp_path / "test_block.py").write_text(own_test.text + "\n")
    call = "import runpy\nfor name, f in runpy.run_path('test_block.py').items():\n    if name.startswith('test_'):\n        f()\n        print('passed', name)\n"
    passed = run([sys.executable, "-c", call], tmp_path, env=env)
    assert passed.returncode == 0 and "passed test_" in passed.stdout, passed.stdout
