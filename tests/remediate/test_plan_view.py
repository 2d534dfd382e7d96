"""The plan on a real terminal: every call whole, disruptive calls explained, a prompt naming account and counts."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from auditor import exitcodes
from auditor.remediate.plan_view import DESTRUCTIVE, impact, params_text
from auditor.remediate.registry import Call
from auditor.report.model import ReportFinding

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def run_in_pty(args: list[str], answer: str, columns: int = 120) -> tuple[int, str]:
    """Run `audit ARGS` on a pseudo-terminal of `columns`, answer the prompt, return (exit code, screen text)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "auditor", *args], stdin=slave, stdout=slave, stderr=slave,
                            env=env, close_fds=True)
    os.close(slave)
    out, answered, deadline = b"", False, time.monotonic() + 150
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
            if not answered and b"Type'yes'toproceed" in re.sub(rb"\s", b"", out):  # the prompt may wrap
                os.write(master, answer.encode() + b"\n")
                answered = True
        elif proc.poll() is not None:
            break
    if proc.poll() is None:
        proc.kill()
    code = proc.wait(timeout=30)
    os.close(master)
    return code, ANSI.sub("", out.decode("utf-8", "replace"))


def cell_rows(screen: str, needle: str) -> list[list[str]]:
    """The cells of the first table row that contains `needle`: one list of line pieces per column."""
    return all_rows(screen, needle)[0]


def all_rows(screen: str, needle: str) -> list[list[list[str]]]:
    """Every table row that contains `needle` (within one column), as cells of line pieces per column."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in screen.splitlines():
        if line.startswith("│"):
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    found = []
    for row in blocks:
        cols: list[list[str]] = [[] for _ in row[0].strip("│").split("│")]
        for line in row:
            for i, piece in enumerate(line.strip("│").split("│")):
                cols[i].append(piece.strip())
        if any(needle in "".join(c) for c in cols):
            found.append(cols)
    assert found, f"no table row shows {needle}"
    return found


def test_a_delete_endpoint_call_is_shown_whole_and_explained_at_120_columns(tmp_path: Path) -> None:
    code, screen = run_in_pty(["--demo", "--remediate", "--only", "SM-14-idle-endpoint", "--format", "json",
                               "--output", str(tmp_path)], answer="no")
    assert code == exitcodes.REFUSED, screen[-2000:]
    table = [line for line in screen.splitlines() if line[:1] in set("┏┃┡│├└")]
    assert table and max(len(line) for line in table) <= 120
    rows = all_rows(screen, "sagemaker:DeleteEndpoint")
    # every parameter, nothing cut: the two idle demo endpoints
    assert sorted("".join(r[5]) for r in rows) == ['{"EndpointName":"forecast-dev"}',
                                                   '{"EndpointName":"nlp-playground-dev"}']
    for change, account, region, resource, call, _ in rows:
        name = "".join(resource)
        assert account[0] == "123456789012" and region[0] == "us-east-1"
        assert f"DESTRUCTIVE: endpoint {name} deleted; config, model and tags kept; `audit restore {name}` brings " \
               "it back" in " ".join(" ".join(call).split())
        assert "stop-idle-endpoint" in "".join(change)
    prompt = " ".join(screen.split())
    assert re.search(r"Apply 2 change\(s\) \(\d+ API calls, 2 destructive[^)]*\) to account 123456789012 in "
                     r"us-east-1 \(stop-idle-endpoint 2\)\? Type 'yes' to proceed", prompt), prompt[-1500:]
    assert "remediation refused: not confirmed" in prompt


def test_long_parameters_are_folded_never_cut() -> None:
    from io import StringIO

    from rich.console import Console

    from auditor.remediate.plan_view import print_plan

    body = "x" * 3000  # a dashboard body is thousands of characters: all of it is what gets applied

    class Spec:
        name = "create-endpoint-dashboard"

    class Ch:
        findings = [ReportFinding.from_json({
            "rule_id": "SM-07-dashboard", "policy": 7, "severity": "medium", "status": "fail",
            "resource": {"arn": "arn:ep", "type": "sagemaker.endpoint", "name": "ep", "account": "1", "region": "r"}})]
        spec, rules, detail = Spec(), ["SM-07-dashboard"], ""

        class plan:  # noqa: N801 - a stand-in for Plan
            change_id, skip_reason, notes = "abc", None, []
            calls = [Call("cloudwatch", "put_dashboard", {"DashboardBody": body}, "r", "dashboard")]

    out = StringIO()
    print_plan([Ch()], [], Console(file=out, width=100))
    assert "".join(cell_rows(out.getvalue(), "PutDashboard")[5]).count("x") == 3000


def test_impact_names_what_happens_and_the_prompt_counts_it() -> None:
    delete = Call("sagemaker", "delete_endpoint", {"EndpointName": "ep"}, "us-east-1", "delete")
    alarm = Call("cloudwatch", "put_metric_alarm", {"AlarmName": "a"}, "us-east-1", "alarm")
    assert impact(delete) == (DESTRUCTIVE, "endpoint ep deleted; config, model and tags kept; "
                                           "`audit restore ep` brings it back")
    assert impact(alarm) is None and params_text({"b": 1, "a": [1]}) == '{"a":[1],"b":1}'


def test_plan_flags_need_remediate(capsys: object) -> None:
    from auditor.cli import main

    for flag in (["--plan-out", "plan.json"], ["--include-always-on"]):
        assert main(["--region", "us-east-1", *flag]) == exitcodes.INVALID_INPUT
