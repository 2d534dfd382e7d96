"""Evaluation benchmark, run on demand (not in CI): load + compile the rules, evaluate a synthetic graph.

    python bench/evaluate.py                       # 10,000 endpoints, best of 3
    python bench/evaluate.py --endpoints 1000 --repeat 5
    python bench/evaluate.py --endpoints 3000 --digest   # the findings' sha256 only (to compare two builds)

Reports rule loading time, evaluation time (best and median of the repeats; best CPU time, which a busy shared
machine disturbs less), findings per second and the process's peak RSS, and apart from evaluation the time to
free the findings (an audit keeps them until its reports are written). The graph is the one bench/run.py
builds (the full endpoint chain, ~12 nodes per endpoint).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.engine.config import Config  # noqa: E402
from auditor.engine.evaluator import evaluate_rules  # noqa: E402
from auditor.engine.loader import load_rules  # noqa: E402
from bench.run import synthetic_graph  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--endpoints", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--digest", action="store_true", help="print the number of findings and their sha256, no timing")
    a = p.parse_args()
    if a.digest:
        print(digest(a.endpoints))
        return
    t0 = time.perf_counter()
    rules = load_rules()
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    graph = synthetic_graph(a.endpoints)
    build = time.perf_counter() - t0
    times, cpu, frees, findings = [], [], [], 0
    for _ in range(a.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        evaluation = evaluate_rules(graph, rules, Config())
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)  # less disturbed than wall time on a shared machine
        findings = len(evaluation.findings)
        # Freeing the findings is not evaluation (an audit keeps them to write its reports): timed apart. Before
        # 2026-12-01 it was inside the timed call (0.26 to 0.3 s of the "evaluation" at 10,000 endpoints).
        t0 = time.perf_counter()
        del evaluation
        frees.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    best, median = min(times), statistics.median(times)
    print(f"endpoints={a.endpoints} nodes={graph.g.number_of_nodes()} rules={len(rules)} findings={findings}")
    print(f"load+compile rules={load:.3f}s build graph={build:.2f}s")
    print(f"evaluate best={best:.2f}s median={median:.2f}s ({findings / best:,.0f} findings/s, "
          f"{best / a.endpoints * 1000:.3f} ms/endpoint) cpu best={min(cpu):.2f}s peak RSS={peak:.0f} MiB")
    print(f"freeing the findings afterwards (not timed above) best={min(frees):.2f}s")


def digest(endpoints: int) -> str:
    """'<findings> <sha256>' of one evaluation's findings, each hashed as its to_dict() with sorted keys (what the
    JSON report's rows start from, before a report adds its own annotations)."""
    evaluation = evaluate_rules(synthetic_graph(endpoints), load_rules(), Config())
    h = hashlib.sha256()
    for f in evaluation.findings:
        h.update(json.dumps(f.to_dict(), sort_keys=True, default=str).encode())
    return f"{len(evaluation.findings)} {h.hexdigest()}"


if __name__ == "__main__":
    main()
