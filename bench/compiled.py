"""What compiling the engine with mypyc would buy, measured on demand (not in CI; nothing compiled is shipped).

    python bench/compiled.py                     # 10,000 endpoints, 5 alternating rounds
    python bench/compiled.py --endpoints 3000 --rounds 3 --keep

Copies the checkout's code to a scratch directory, compiles the evaluation's modules there with mypyc (the
compiler behind mypy's and black's wheels; it needs mypy, from the dev extras, and a C compiler), checks that
both builds give the same findings (their sha256 at --check endpoints), then runs bench/evaluate.py in the
checkout and in the scratch copy alternately and prints each one's best and median evaluation time. Alternating,
and reporting the spread, because wall times on a shared machine swing by tens of percent between runs.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What one evaluation runs through: the compiled closures, the readers and walks, the operators, the judge and
# its messages, the grammar's node classes, the graph's accessors and the Finding.
MODULES = ["auditor/engine/compiled.py", "auditor/engine/conditions.py", "auditor/engine/operators.py",
           "auditor/engine/evaluator.py", "auditor/engine/messages.py", "auditor/engine/grammar.py",
           "auditor/model.py", "auditor/graph.py"]
COPIED = ["auditor", "rules", "reports", "bench"]  # and pyproject.toml: mypyc type-checks with the project's settings
_IGNORE = shutil.ignore_patterns("__pycache__", "*.so", "cache")  # bench/cache: replay recordings, not needed


def build(scratch: Path) -> None:
    """The code copied to `scratch` and MODULES compiled in place there (mypyc's extension modules sit beside the
    .py files and are imported before them)."""
    for name in COPIED:
        shutil.copytree(ROOT / name, scratch / name, ignore=_IGNORE)
    shutil.copy2(ROOT / "pyproject.toml", scratch / "pyproject.toml")
    setup = ("from setuptools import setup\nfrom mypyc.build import mypycify\n"
             f"setup(name='engine-compiled', py_modules=[], ext_modules=mypycify({MODULES!r}))\n")
    done = subprocess.run([sys.executable, "-c", setup, "build_ext", "--inplace"], cwd=scratch,  # noqa: S603
                          capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"bench/compiled.py: mypyc could not compile the engine (needs mypy and a C compiler):\n"
                 f"{(done.stdout + done.stderr)[-2000:]}")
    # the copy must import its compiled modules, not the checkout's (installed editable) pure ones
    check = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, '.'); "  # noqa: S603
                            "import auditor.engine.compiled as c; print(c.__file__)"],
                           cwd=scratch, capture_output=True, text=True, check=False)
    if not (check.returncode == 0 and check.stdout.strip().endswith(".so")
            and Path(check.stdout.strip()).is_relative_to(scratch)):
        sys.exit(f"bench/compiled.py: the scratch copy does not import its compiled engine: {check.stdout}"
                 f"{check.stderr[-2000:]}")


def run(tree: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, str(tree / "bench" / "evaluate.py"), *args], cwd=tree,  # noqa: S603
                          capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"bench/compiled.py: bench/evaluate.py failed in {tree}:\n{done.stderr[-2000:]}")
    return done.stdout


def best_of(output: str) -> float:
    found = re.search(r"evaluate best=([0-9.]+)s", output)
    if found is None:
        sys.exit(f"bench/compiled.py: no 'evaluate best=' in bench/evaluate.py's output:\n{output}")
    return float(found.group(1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoints", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=5, help="alternating runs of each build (default 5)")
    p.add_argument("--repeat", type=int, default=2, help="evaluations per run, best kept (default 2)")
    p.add_argument("--check", type=int, default=1000, help="endpoints for the same-findings check (default 1000)")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory and say where it is")
    a = p.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="engine-compiled-"))
    try:
        build(scratch)
        pure, compiled = run(ROOT, "--endpoints", str(a.check), "--digest"), \
            run(scratch, "--endpoints", str(a.check), "--digest")
        if pure != compiled:
            sys.exit(f"bench/compiled.py: the builds disagree at {a.check} endpoints: pure {pure.strip()}, "
                     f"compiled {compiled.strip()}")
        print(f"same findings at {a.check} endpoints: {pure.split()[0]} (sha256 {pure.split()[1][:16]})")
        times: dict[str, list[float]] = {"pure": [], "compiled": []}
        for _ in range(a.rounds):
            for label, tree in (("compiled", scratch), ("pure", ROOT)):
                times[label].append(best_of(run(tree, "--endpoints", str(a.endpoints), "--repeat", str(a.repeat))))
        for label, ts in times.items():
            print(f"{label:>8}: best {min(ts):.2f} s, median {statistics.median(ts):.2f} s "
                  f"(runs: {', '.join(f'{t:.2f}' for t in ts)})")
        print(f"compiled / pure: best {min(times['compiled']) / min(times['pure']):.2f}, "
              f"median {statistics.median(times['compiled']) / statistics.median(times['pure']):.2f} "
              f"at {a.endpoints:,} endpoints")
    finally:
        if a.keep:
            print(f"scratch copy kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
