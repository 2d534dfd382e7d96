"""Notifications: one concise message per run (SNS topic or Slack-compatible webhook) when a human is needed."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditor.model import collection_problems
from auditor.report.terminal import clean

if TYPE_CHECKING:
    from auditor.report.model import Report

WORST = 5  # new findings named in a message; the report has the rest
SNS_ARN = re.compile(r"^arn:aws[a-z-]*:sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
TIMEOUT = 10


class NotifyError(ValueError):
    """A --notify value that is not sns:TOPIC_ARN or webhook:URL."""


@dataclass(frozen=True)
class Target:
    kind: str  # "sns" | "webhook"
    address: str

    @property
    def label(self) -> str:
        """How the target is named in output: a webhook URL's path is its secret (Slack), so only its host."""
        if self.kind == "sns":
            return f"sns:{self.address}"
        u = urllib.parse.urlsplit(self.address)
        return f"webhook:{u.scheme}://{u.hostname}"


def parse_target(text: str) -> Target:
    kind, _, address = text.partition(":")
    if kind == "sns" and SNS_ARN.match(address):
        return Target("sns", address)
    if kind == "webhook":
        u = urllib.parse.urlsplit(address)
        if u.scheme in ("https", "http") and u.hostname:
            return Target("webhook", address)
    raise NotifyError(f"--notify {clean(text)!r}: allowed sns:arn:aws:sns:REGION:ACCOUNT:TOPIC or "
                      "webhook:https://HOST/PATH")


def reasons(report: Report | None, failure: str | None) -> list[str]:
    """Why this run deserves a message (none: stay quiet)."""
    if failure is not None:
        return ["failed"]
    assert report is not None
    out = []
    if any(f.drift == "new" for f in report.findings):
        out.append("new violations")
    if not report.complete:
        out.append("incomplete")
    return out


def compose(report: Report | None, failure: str | None, location: str | None) -> tuple[str, str]:
    """(subject, text): counts, the worst new findings (at most WORST), where the report is. Never every finding,
    never a credential: only counts, rule ids, severities and resource names."""
    if failure is not None or report is None:
        text = f"sagemaker-auditor: the audit FAILED ({clean(failure)}); no report was produced"
        return "sagemaker-auditor: audit FAILED", text
    s, by = report.scope, report.summary.by_status
    new = sorted((f for f in report.findings if f.drift == "new"),
                 key=lambda f: (-f.severity.rank, f.rule_id, f.arn))
    drift = report.drift or {}
    head = [f"{len(new)} new violation(s)" + (f" since {drift['since']}" if drift.get("since") else "")]
    if not report.complete:
        head.append(f"INCOMPLETE ({collection_problems(report.collection_errors)}, {by['error']} finding(s) "
                    "undecided)")
    sev = ", ".join(f"{k} {v}" for k, v in report.summary.failing_by_severity.items() if v)
    score = report.summary.score
    lines = [f"sagemaker-auditor: {'; '.join(head)}",
             clean(f"accounts {', '.join(s.accounts[:5])}{' ...' if len(s.accounts) > 5 else ''}; "
                   f"regions {', '.join(s.regions[:5])}{' ...' if len(s.regions) > 5 else ''}"),
             f"fail {by['fail']}" + (f" ({sev})" if sev else "") + f", error {by['error']}, exempt {by['exempt']}, "
             f"pass {by['pass']}, score {'-' if score is None else f'{score:.1f}%'}"]
    if new:
        lines.append(f"worst new ({min(len(new), WORST)} of {len(new)}):")
        lines += [f"- [{f.severity.value}] {f.rule_id}: {clean(f.finding.resource.name)} "
                  f"({clean(f.finding.resource.type)}, {clean(f.finding.resource.account)} "
                  f"{clean(f.finding.resource.region)})" for f in new[:WORST]]
    if location:
        lines.append(f"report: {clean(location)}")
    subject = f"sagemaker-auditor: {len(new)} new" + (", incomplete" if not report.complete else "")
    return subject, "\n".join(lines)


def slack_text(text: str) -> str:
    """Slack reads <...> as links and mentions (<!channel>) and & as an entity: escape them in names."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _post(url: str, payload: dict[str, Any]) -> None:
    # the scheme (http/https only) is checked in parse_target
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",  # noqa: S310
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:  # noqa: S310
        if not 200 <= resp.status < 300:
            raise urllib.error.HTTPError(url, resp.status, "unexpected status", resp.headers, None)


def send(targets: list[Target], subject: str, text: str, client_for: Callable[[str, str], Any]) -> list[str]:
    """Deliver to every target; one line per target that failed (the target's label and the reason)."""
    failed = []
    for t in targets:
        try:
            if t.kind == "sns":
                m = SNS_ARN.match(t.address)
                region = m.group(1) if m else "us-east-1"
                client_for("sns", region).publish(TopicArn=t.address, Subject=subject[:100], Message=text)
            else:
                _post(t.address, {"text": slack_text(text)})
        except urllib.error.HTTPError as exc:
            failed.append(f"{t.label}: HTTP {exc.code}")
        except urllib.error.URLError as exc:
            failed.append(f"{t.label}: {clean(exc.reason)}")
        except Exception as exc:  # noqa: BLE001 - one target failing must not stop the others
            code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
            failed.append(f"{t.label}: {clean(code)}")
    return failed
