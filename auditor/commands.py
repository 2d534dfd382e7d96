"""Subcommands other than the audit itself: snapshot, rules, permissions, schemas."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from auditor import exitcodes


def dispatch(argv: list[str], console: Any, err: Any) -> int:
    name, rest = argv[0], argv[1:]
    return int({"snapshot": snapshot, "rules": rules, "permissions": permissions, "schemas": schemas,
                "undo": undo, "restore": restore, "merge": merge}[name](rest, console, err))


def _reverse(argv: list[str], console: Any, err: Any, restore_endpoint: bool) -> int:
    from auditor.remediate import undo as undo_mod
    from auditor.session import SessionFactory

    p = argparse.ArgumentParser(prog="audit restore" if restore_endpoint else "audit undo",
                                description="Shows the plan, asks (or --yes), then runs only the declared inverse of "
                                "each journalled call, on the resource, account and region it recorded.")
    if restore_endpoint:
        p.add_argument("endpoint", nargs="?", help="name of the endpoint stopped by stop-idle-endpoint")
        p.add_argument("--journal", type=Path, help="read the stop from this journal (default: from the tags the "
                       "stop left on the endpoint config)")
        p.add_argument("--region", help="region(s) to look in, comma-separated (default: the AWS config region)")
        p.add_argument("--list", action="store_true", help="list the endpoints the tool stopped")
    else:
        p.add_argument("journal", type=Path)
        p.add_argument("--change", action="append", default=[], help="only this change id (repeatable)")
    p.add_argument("--profile")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--dry-run", action="store_true", help="only show the plan")
    a = p.parse_args(argv)
    where = getattr(a, "region", None) or ""  # restore only
    factory = SessionFactory(profile=a.profile, region=where.split(",")[0] or None)

    def client_for(service: str, region: str) -> Any:
        return factory.client(service, region=region)

    def caller_account(region: str) -> str:
        return str(factory.client("sts", region=region).get_caller_identity()["Account"])

    if restore_endpoint and (a.list or a.journal is None):
        from auditor.remediate import restore as restore_mod

        regions = [r.strip() for r in (where or factory.default_region or "").split(",") if r.strip()]
        if not regions:
            p.error("no region: pass --region (or set AWS_DEFAULT_REGION)")
        if a.list:
            return restore_mod.list_stopped(regions, client_for, console, err)
        if not a.endpoint:
            p.error("the endpoint name is required (or --list)")
        opts = undo_mod.UndoOptions(endpoint=a.endpoint, yes=a.yes, dry_run=a.dry_run)
        return restore_mod.restore_from_aws(a.endpoint, regions, opts, client_for, caller_account, console, err)
    if restore_endpoint and not a.endpoint:
        p.error("the endpoint name is required (or --list)")
    opts = undo_mod.UndoOptions(changes=[] if restore_endpoint else a.change,
                                endpoint=a.endpoint if restore_endpoint else None,
                                region=a.region if restore_endpoint else None, yes=a.yes, dry_run=a.dry_run)
    return undo_mod.run(a.journal, opts, client_for, caller_account, console, err)


def undo(argv: list[str], console: Any, err: Any) -> int:
    """Reverse journalled changes (all, or --change ID), newest first; each step at most once."""
    return _reverse(argv, console, err, restore_endpoint=False)


def restore(argv: list[str], console: Any, err: Any) -> int:
    """Recreate an endpoint stopped by stop-idle-endpoint, exactly as it was."""
    return _reverse(argv, console, err, restore_endpoint=True)


def snapshot(argv: list[str], console: Any, err: Any) -> int:
    from auditor.app import AuditOptions, account, collect_options, load_inputs, obtain_graph
    from auditor.cli import _common, _require_credentials, scope_options

    p = argparse.ArgumentParser(prog="audit snapshot", description="Collect the accounts into a snapshot file "
                                "that `audit --snapshot FILE` evaluates later with no AWS access.")
    p.add_argument("--output", type=Path, required=True, help="snapshot file to write (JSON)")
    _common(p)
    p.add_argument("--config", type=Path)
    p.add_argument("-q", "--quiet", action="store_true")
    a = p.parse_args(argv)
    opts = AuditOptions(**scope_options(a), config=a.config, quiet=a.quiet)
    if not opts.demo:
        _require_credentials(opts.profile)
    rules, config = load_inputs(opts)
    with account(opts):
        graph = obtain_graph(opts, collect_options(rules, config), config.regions)
    graph.save(a.output)
    if not a.quiet:
        counts = graph.counts()
        console.print(f"wrote {a.output}: {sum(counts.values())} nodes, {sum(1 for _ in graph.edges())} edges, "
                      f"{len(graph.errors)} collection errors, {graph.meta.get('api_calls', {}).get('total', 0)} "
                      "API calls", highlight=False)
    return exitcodes.INCOMPLETE if graph.errors else exitcodes.OK


def rules(argv: list[str], console: Any, err: Any) -> int:
    from rich.table import Table

    from auditor.engine.loader import load_rules
    from auditor.engine.schema import rule_schema
    from auditor.textsafe import clean

    p = argparse.ArgumentParser(prog="audit rules", description="Inspect and validate rule files.")
    sub = p.add_subparsers(dest="cmd", required=True)
    ls = sub.add_parser("list", help="list the rules")
    ls.add_argument("--rules-dir", type=Path, action="append", default=[])
    ls.add_argument("--policy", type=int)
    ls.add_argument("--json", action="store_true", help="print the rules as JSON (severity, policy, remediator, "
                    "compliance references)")
    show = sub.add_parser("show", help="show one rule")
    show.add_argument("rule_id")
    show.add_argument("--rules-dir", type=Path, action="append", default=[])
    val = sub.add_parser("validate", help="validate rule files or directories; exit 2 on any problem")
    val.add_argument("paths", type=Path, nargs="*")
    sub.add_parser("schema", help="print the rule JSON Schema")
    a = p.parse_args(argv)
    if a.cmd == "schema":
        console.print_json(json.dumps(rule_schema()))
        return exitcodes.OK
    from auditor.remediate.registry import catalogue

    if a.cmd == "validate":
        loaded = load_rules(a.paths or None, remediators=catalogue())
        console.print(f"{len(loaded)} rule(s) valid", highlight=False)
        return exitcodes.OK
    loaded = load_rules(a.rules_dir or None, remediators=catalogue())
    if a.cmd == "list" and a.json:
        console.print_json(json.dumps([rule_summary(r) for r in loaded if not a.policy or r.policy == a.policy]))
        return exitcodes.OK
    if a.cmd == "list":
        t = Table(header_style="bold")
        t.add_column("id", no_wrap=True)
        for col in ("policy", "severity", "resource", "kind", "title"):
            t.add_column(col)
        for r in loaded:
            if a.policy and r.policy != a.policy:
                continue
            t.add_row(r.id, str(r.policy), r.severity.value, r.resource, r.kind, clean(r.title))
        console.print(t)
        return exitcodes.OK
    match = [r for r in loaded if r.id == a.rule_id]
    if not match:
        err.print(f"no rule {a.rule_id!r}; `audit rules list` shows the ids", highlight=False, markup=False)
        return exitcodes.INVALID_INPUT
    console.print(Path(match[0].source).read_text(), highlight=False, markup=False)
    return exitcodes.OK


def rule_summary(r: Any) -> dict[str, Any]:
    """What `audit rules list --json` says about a rule: data for other tools (no rich markup)."""
    return {"id": r.id, "policy": r.policy, "title": r.title, "severity": r.severity.value, "resource": r.resource,
            "kind": r.kind, "remediator": r.remediation.get("remediator"), "references": r.references,
            "source": r.source}


def merge(argv: list[str], console: Any, err: Any) -> int:
    """Combine the shards' JSON reports into one report (JSON, HTML, ...), as a single run would have written."""
    from auditor.app import FORMATS, exit_code, parse_formats, parse_severity
    from auditor.engine.loader import load_rules
    from auditor.report import terminal
    from auditor.report.merge import MergeError, find_reports, load_report, merge_reports
    from auditor.report.writers import write_all

    p = argparse.ArgumentParser(prog="audit merge", description="Merge the JSON reports of `audit --shard I/N` runs "
                                "into one report. Exit code as for an audit of all the shards' accounts.")
    p.add_argument("reports", type=Path, nargs="+", metavar="DIR",
                   help="report directories (searched for report.json) or report.json files")
    p.add_argument("--output", type=Path, default=Path("audit-report"), help="directory for the merged report")
    p.add_argument("--format", default="json,html", help=f"comma-separated: {','.join(FORMATS)}")
    p.add_argument("--fail-on", default="low", help="exit 1 for a violation of at least this severity")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--history", metavar="PATH|s3://BUCKET/PREFIX", help="record the merged run here (default: "
                   "$XDG_STATE_HOME/sagemaker-auditor/history.sqlite3)")
    p.add_argument("--no-history", action="store_true", help="do not record the merged run")
    a = p.parse_args(argv)
    formats, fail_on = parse_formats(a.format), parse_severity("--fail-on", a.fail_on)
    try:
        docs = [(path, load_report(path)) for path in find_reports(a.reports)]
        report = merge_reports(docs)
    except MergeError as exc:
        err.print(f"audit merge: error: {exc}", highlight=False, markup=False, soft_wrap=True)
        return exitcodes.INVALID_INPUT
    from auditor.history import HistoryError
    from auditor.unattended import after_reports, before_reports, history_failed, open_store

    try:  # a merged run is recorded like an audit: drift, first_seen and trends against its own scope
        report, prep = before_reports(open_store(a.history, a.no_history), report, None, "merge")
    except HistoryError as exc:
        return history_failed(exc)
    doc = report.to_json()
    rules = load_rules(None) if "sarif" in formats else []
    written = write_all(doc, rules, a.output, formats)
    if not a.quiet:
        terminal.print_summary(report, console)
        console.print(f"merged {len(docs)} report(s)", highlight=False)
        for path in written:
            console.print(f"wrote {path}", highlight=False, markup=False)
    imposed = after_reports(prep, report, doc, "merge", written, a.output, console, a.quiet)
    return imposed if imposed == exitcodes.OUTPUT_FAILED else exit_code(report, fail_on)


def permissions(argv: list[str], console: Any, err: Any) -> int:
    from auditor.permissions import policy_document

    p = argparse.ArgumentParser(prog="audit permissions",
                                description="Print the IAM policy the audit needs, generated from the collectors.")
    p.add_argument("--remediate", action="store_true", help="include what the remediators need")
    p.add_argument("--format", choices=("json", "cloudformation"), default="json",
                   help="the policy (json), or the audit role's CloudFormation template (deploy/aws/audit-role.yaml)")
    p.add_argument("--security-hub", action="store_true", help="include what --security-hub needs")
    p.add_argument("--notify", action="store_true", help="include what --notify sns:TOPIC needs")
    p.add_argument("--history", metavar="s3://BUCKET/PREFIX", help="include what an S3 --history needs")
    p.add_argument("--journal", metavar="s3://BUCKET/PREFIX", help="include writing the journal there")
    a = p.parse_args(argv)
    if a.journal and not a.journal.startswith("s3://"):
        p.error("--journal: only an s3://BUCKET/PREFIX journal needs permissions")
    if a.format == "cloudformation":
        from auditor.cloudformation import audit_role_template, render

        console.print(render(audit_role_template()), end="", highlight=False, markup=False, soft_wrap=True)
        return exitcodes.OK
    console.print_json(json.dumps(policy_document(remediate=a.remediate, security_hub=a.security_hub,
                                                  notify=a.notify, history=a.history, journal=a.journal)))
    return exitcodes.OK


def schemas(argv: list[str], console: Any, err: Any) -> int:
    from auditor.permissions import write_schemas

    p = argparse.ArgumentParser(prog="audit schemas", description="Write the published JSON Schemas.")
    p.add_argument("--dir", type=Path, default=Path(__file__).parent / "schemas")
    a = p.parse_args(argv)
    for path in write_schemas(a.dir):
        console.print(f"wrote {path}", highlight=False, markup=False)
    return exitcodes.OK
