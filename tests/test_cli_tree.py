"""One `audit` argparse tree: every README command line parses, every (sub)command has --help, bad flags exit 2 and
say what is allowed, the exit-code table of --help is the README's, and the package has no import cycle."""

from __future__ import annotations

import argparse
import ast
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor import exitcodes
from auditor.cli import build_parser, main
from auditor.cliparse import Commands

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CRON = re.compile(r"[\d*/,-]+")


def readme_command_lines() -> list[list[str]]:
    """The arguments of every `audit ...` command in the README's shell and cron blocks (after `&&`, in a cron
    line, ...)."""
    found = []
    for lang, block in re.findall(r"^```(\w*)\n(.*?)^```", README, re.S | re.M):
        if lang not in ("sh", "cron"):  # the command lines; untagged blocks are trees and listings
            continue
        for line in block.replace("\\\n", " ").splitlines():
            lex = shlex.shlex(line, posix=True, punctuation_chars=True)
            lex.whitespace_split, lex.commenters = True, "#"
            segment: list[str] = []
            for token in [*lex, ";"]:
                if not (token and set(token) <= set("&|;<>()")):
                    segment.append(token)
                    continue
                for i, word in enumerate(segment):  # the command word, after cron's five fields at most
                    if word == "audit" or word.endswith("/bin/audit"):
                        if all(CRON.fullmatch(w) for w in segment[:i]):
                            found.append(segment[i + 1:])
                        break
                segment = []
    return found


def command_parsers(p: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...],
                                                                                              argparse.ArgumentParser]]:
    yield path, p
    for action in p._actions:
        if isinstance(action, Commands):
            for name, sub in action.choices.items():
                yield from command_parsers(sub, (*path, name))


def test_the_readme_documents_command_lines_and_each_one_parses() -> None:
    lines = readme_command_lines()
    subcommands = {path[0] for path, _ in command_parsers(build_parser()) if path}
    assert len(lines) >= 20 and {line[0] for line in lines if line and line[0] in subcommands} >= {
        "merge", "apply", "undo", "restore", "history"}
    for argv in lines:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # argparse rejected it (2), or it was --version (0)
            assert (exc.code, argv) == (0, ["--version"]), argv
            continue
        assert getattr(args, "command", None) == (argv[0] if argv[0] in subcommands else None), argv


def test_every_inline_audit_command_in_the_readme_names_a_real_command_or_flag() -> None:
    parser = build_parser()
    known = {path[0] for path, _ in command_parsers(parser) if path} | set(parser._option_string_actions)
    for span in re.findall(r"`audit ([^`]+)`", README.replace("`audit COMMAND --help`", "")):
        assert span.split()[0] in known, span


def test_every_command_has_help_and_its_usage_names_it(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [path for path, _ in command_parsers(build_parser())]
    assert {("apply",), ("undo",), ("restore",), ("history", "show"), ("rules", "list"), ("snapshot",)} <= set(paths)
    for path in paths:
        assert main([*path, "--help"]) == exitcodes.OK, path
        out = capsys.readouterr().out
        assert out.startswith(f"usage: {' '.join(('audit', *path))}"), (path, out[:200])


@pytest.mark.parametrize(("argv", "says"), [
    (["--regoin", "us-east-1"], "--regoin: did you mean --region?"),
    (["undo", "j.jsonl", "--chnage", "x"], "--chnage: did you mean --change?"),
    (["restore", "--lst"], "--lst: did you mean --list?"),
    (["history", "show", "RUN", "--out", "x"], "--out: did you mean --output?"),  # no abbreviations
    (["--demo", "--rem"], "--rem: did you mean --remediate?"),
    (["rules", "lst"], "invalid choice: 'lst' (choose from 'list', 'show', 'validate', 'schema')"),
    (["frobnicate"], "invalid choice: 'frobnicate' (choose from 'snapshot', 'merge', 'rules'"),
    (["permissions", "--format", "yaml"], "invalid choice: 'yaml' (choose from 'json', 'cloudformation')"),
    (["--region", "us-east-1", "undo", "j.jsonl"], "--region before `undo`: the audit's options do not apply"),
    (["apply"], "the following arguments are required: plan"),
])
def test_bad_flags_exit_2_and_say_what_is_allowed(argv: list[str], says: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == exitcodes.INVALID_INPUT
    err = " ".join(capsys.readouterr().err.split())
    assert says in err and "--help` lists what is allowed" in err and err.startswith("usage: audit"), err


def test_the_exit_code_table_of_help_is_the_readme_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == exitcodes.OK
    text = capsys.readouterr().out
    shown = dict(re.findall(r"^  (\d+)\s+(.+)$", text.split("exit codes:")[1], re.M))
    table = README.split("| code | meaning |")[1].split("\n\n")[0]
    readme = dict(re.findall(r"^\| (\d+) \| (.+) \|$", table, re.M))
    assert shown == readme == {str(k): v for k, v in exitcodes.DOC.items()}


def imported(stmt: ast.AST, path: Path, module: str) -> set[str]:
    """The auditor modules an import statement of `module` names (or that may be modules: `from a import b`)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    if isinstance(stmt, ast.Import):
        return {a.name for a in stmt.names if a.name.startswith("auditor")}
    assert isinstance(stmt, ast.ImportFrom)
    base = stmt.module or ""
    if stmt.level:
        parts = package.split(".")[: len(package.split(".")) - stmt.level + 1]
        base = ".".join([*parts, base] if base else parts)
    return {m for m in {base} | {f"{base}.{a.name}" for a in stmt.names} if m.startswith("auditor")}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / "auditor").rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        found[name] = path
    return found


def test_no_import_cycle_through_the_command_line_and_remediation_flow_or_at_import_time() -> None:
    import networkx as nx

    mods = modules()
    every, top = nx.DiGraph(), nx.DiGraph()
    for name, path in mods.items():
        tree = ast.parse(path.read_text())
        for stmt in ast.walk(tree):
            if not isinstance(stmt, (ast.Import, ast.ImportFrom)):
                continue
            for target in imported(stmt, path, name):
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if not target or target == name:
                    continue
                if stmt in tree.body:
                    top.add_edge(name, target)
                if not target.startswith(f"{name}."):  # a package loading its own parts (a registry) is no cycle
                    every.add_edge(name, target)
    assert list(nx.simple_cycles(top)) == []  # nothing depends on import order
    layered = {"auditor.cli", "auditor.cliparse", "auditor.commands", "auditor.history.command",
               "auditor.remediate.flow", "auditor.remediate.planfile", "auditor.remediate.plan_view",
               "auditor.remediate.undo", "auditor.remediate.restore"}
    through = [c for c in nx.simple_cycles(every) if layered & set(c)]
    assert through == [], through  # not even through imports inside functions
    assert every.has_edge("auditor.cli", "auditor.commands") and every.has_edge("auditor.commands",
                                                                              "auditor.history.command")


def test_every_module_imports_on_its_own_in_a_fresh_interpreter() -> None:
    probe = (
        "import importlib, sys\n"
        "failed = []\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m == 'auditor' or m.startswith('auditor.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        failed.append(f'{name}: {type(exc).__name__}: {exc}')\n"
        "print('\\n'.join(failed))\n"
    )
    names = [m for m in modules() if not m.endswith("__main__")]
    res = subprocess.run([sys.executable, "-c", probe, *names], capture_output=True, text=True, timeout=300,
                         cwd=ROOT)
    assert res.returncode == 0 and res.stdout.strip() == "", res.stdout + res.stderr
