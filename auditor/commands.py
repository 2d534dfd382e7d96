"""The subcommands of `audit`, registered on the one root parser (auditor.cli): each one's parser and what it runs,
and the scope options the audit and `audit snapshot` share."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from auditor import exitcodes
from auditor.cliparse import subcommands


def common(p: argparse.ArgumentParser) -> None:
    """What to audit: the scope flags the audit and `audit snapshot` share."""
    src = p.add_argument_group("what to audit")
    src.add_argument("--region", help="comma-separated regions, or 'all' for every region enabled in each account "
                     "(default: the AWS config/environment region)")
    src.add_argument("--profile", help="AWS named profile (default: the standard boto3 credential chain)")
    src.add_argument("--demo", action="store_true", help="audit the built-in demo account (moto, no AWS needed)")
    src.add_argument("--accounts", metavar="ID,...|org",
                     help="audit these accounts, or 'org' for every active account of the AWS Organization "
                     "(default: the credentials' own account)")
    src.add_argument("--role-name", help="role assumed in each account of --accounts other than the caller's own")
    src.add_argument("--external-id", help="ExternalId passed to AssumeRole, when the role's trust policy asks")
    src.add_argument("--shard", metavar="I/N",
                     help="audit only shard I (0-based) of N: a deterministic slice of the accounts")
    src.add_argument("--workers", type=int, default=8,
                     help="account-regions and AWS calls in flight at once (default %(default)s; 1 = sequential)")
    src.add_argument("--read-timeout", type=int, default=30, metavar="SECONDS",
                     help="per-call read timeout; slower calls are retried, then recorded as errors")
    src.add_argument("--max-attempts", type=int, default=8,
                     help="retries per call, botocore's standard mode (throttling, 5xx, resets)")


def split(text: str | None) -> list[str]:
    return [x.strip() for x in (text or "").split(",") if x.strip()]


def scope_options(args: argparse.Namespace) -> dict[str, Any]:
    """The AuditOptions fields every collecting command shares, validated."""
    from auditor.app import UsageError
    from auditor.scope import ScopeError, Shard, parse_accounts

    if not 1 <= args.workers <= 64:
        raise UsageError(f"--workers {args.workers}: allowed 1 to 64")
    try:
        accounts = parse_accounts(args.accounts)
        shard = Shard.parse(args.shard) if args.shard else None
    except ScopeError as exc:
        raise UsageError(str(exc)) from None
    if args.demo and accounts is not None:
        raise UsageError("--demo audits the single demo account: --accounts does not apply")
    if (args.role_name or args.external_id) and accounts is None:
        raise UsageError("--role-name and --external-id go with --accounts")
    regions = split(args.region)
    if "all" in regions and len(regions) > 1:
        raise UsageError("--region all cannot be combined with named regions")
    return {"regions": regions, "profile": args.profile, "demo": args.demo, "accounts": accounts,
            "role_name": args.role_name, "external_id": args.external_id, "shard": shard, "workers": args.workers,
            "read_timeout": args.read_timeout, "max_attempts": args.max_attempts}


def require_credentials(profile: str | None) -> None:
    """No credentials at all: say so in one line, before an empty report can overwrite the last good one."""
    import boto3
    from botocore.exceptions import NoCredentialsError, ProfileNotFound

    from auditor.app import UsageError

    try:
        credentials = boto3.Session(profile_name=profile).get_credentials()
    except ProfileNotFound as exc:
        raise UsageError(f"--profile: {exc}") from None
    if credentials is None:
        raise NoCredentialsError()


def register(sub: Any, epilog: str) -> None:
    """Every subcommand's parser, on the root's subparsers; each sets `handler` (what runs) and `parser`."""
    from auditor.history.command import add_parser as add_history

    def add(name: str, handler: Any, help: str, description: str = "", **kw: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=description or help, **kw)
        p.set_defaults(handler=handler, parser=p)
        return p

    p = add("snapshot", snapshot, "collect the accounts into a snapshot file",
            "Collect the accounts into a snapshot file that `audit --snapshot FILE` evaluates later with no AWS "
            "access.")
    p.add_argument("--output", type=Path, required=True, help="snapshot file to write (JSON)")
    common(p)
    p.add_argument("--config", type=Path)
    p.add_argument("-q", "--quiet", action="store_true")

    from auditor.app import FORMATS

    p = add("merge", merge, "merge the JSON reports of sharded runs into one report",
            "Merge the JSON reports of `audit --shard I/N` runs into one report. Exit code as for an audit of all the "
            "shards' accounts.")
    p.add_argument("reports", type=Path, nargs="+", metavar="DIR",
                   help="report directories (searched for report.json) or report.json files")
    p.add_argument("--output", type=Path, default=Path("audit-report"), help="directory for the merged report")
    p.add_argument("--format", default="json,html", help=f"comma-separated: {','.join(FORMATS)}")
    p.add_argument("--fail-on", default="low", help="exit 1 for a violation of at least this severity")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--history", metavar="PATH|s3://BUCKET/PREFIX", help="record the merged run here (default: "
                   "$XDG_STATE_HOME/sagemaker-auditor/history.sqlite3)")
    p.add_argument("--no-history", action="store_true", help="do not record the merged run")

    p = add("rules", rules, "inspect and validate rule files")
    rsub = subcommands(p, "cmd", required=True)
    ls = rsub.add_parser("list", help="list the rules", description="List the rules.")
    ls.add_argument("--rules-dir", type=Path, action="append", default=[])
    ls.add_argument("--policy", type=int)
    ls.add_argument("--json", action="store_true", help="print the rules as JSON (severity, policy, remediator, "
                    "compliance references)")
    show = rsub.add_parser("show", help="show one rule", description="Print one rule's file.")
    show.add_argument("rule_id")
    show.add_argument("--rules-dir", type=Path, action="append", default=[])
    val = rsub.add_parser("validate", help="validate rule files or directories; exit 2 on any problem",
                          description="Validate rule files or directories; exit 2 on any problem.")
    val.add_argument("paths", type=Path, nargs="*")
    rsub.add_parser("schema", help="print the rule JSON Schema", description="Print the rule JSON Schema.")

    p = add("permissions", permissions, "print the IAM policy the audit needs",
            "Print the IAM policy the audit needs, generated from the collectors.")
    p.add_argument("--remediate", action="store_true", help="include what the remediators need")
    p.add_argument("--format", choices=("json", "cloudformation"), default="json",
                   help="the policy (json), or the audit role's CloudFormation template (deploy/aws/audit-role.yaml)")
    p.add_argument("--security-hub", action="store_true", help="include what --security-hub needs")
    p.add_argument("--notify", action="store_true", help="include what --notify sns:TOPIC needs")
    p.add_argument("--history", metavar="s3://BUCKET/PREFIX", help="include what an S3 --history needs")
    p.add_argument("--journal", metavar="s3://BUCKET/PREFIX", help="include writing the journal there")

    p = add("schemas", schemas, "write the published JSON Schemas")
    p.add_argument("--dir", type=Path, default=Path(__file__).parent / "schemas")

    p = add("apply", apply, "apply a reviewed plan (from audit --remediate --plan-out)",
            "Apply a reviewed plan (from audit --remediate --plan-out): re-read every resource, apply the changes "
            "that still match the plan, refuse the others with the reason.",
            epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("plan", type=Path, help="the plan file")
    p.add_argument("--profile", help="AWS named profile (default: the standard boto3 credential chain)")
    p.add_argument("--rules-dir", type=Path, action="append", default=[], metavar="PATH",
                   help="the rules the plan was made with (default: the built-in rules/)")
    p.add_argument("--config", type=Path, help="the config the plan was made with (default: ./audit.yaml if present)")
    p.add_argument("--waivers", type=Path, help="waivers file (overrides the config's)")
    p.add_argument("--output", type=Path, default=Path("audit-report"), help="report directory (default %(default)s)")
    p.add_argument("--format", default="json,html", help="report formats (default %(default)s)")
    p.add_argument("--journal", type=Path, help="journal file (default OUTPUT/remediation-journal.jsonl)")
    p.add_argument("-q", "--quiet", action="store_true", help="no plan, summary or progress (errors only)")

    reverse = ("Shows the plan, asks (or --yes), then runs only the declared inverse of each journalled call, on the "
               "resource, account and region it recorded.")
    p = add("undo", undo, "reverse journalled changes (all, or --change ID), newest first", reverse)
    p.add_argument("journal", type=Path, help="the journal (a file or s3://BUCKET/KEY.jsonl)")
    p.add_argument("--change", action="append", default=[], help="only this change id (repeatable)")
    p = add("restore", restore, "recreate an endpoint stopped by stop-idle-endpoint, exactly as it was",
            "Recreate an endpoint stopped by stop-idle-endpoint (from the tags the stop left on its endpoint config, "
            "or a journal), or list the stopped endpoints. " + reverse)
    p.add_argument("endpoint", nargs="?", help="name of the endpoint stopped by stop-idle-endpoint")
    p.add_argument("--journal", type=Path, help="read the stop from this journal (default: from the tags the "
                   "stop left on the endpoint config)")
    p.add_argument("--region", help="region(s) to look in, comma-separated (default: the AWS config region)")
    p.add_argument("--list", action="store_true", help="list the endpoints the tool stopped: name, region, when, "
                   "by which audit run")
    p.add_argument("--json", action="store_true", help="with --list: print the list as JSON")
    for p in (sub.choices["undo"], sub.choices["restore"]):
        p.add_argument("--profile", help="AWS named profile (default: the standard boto3 credential chain)")
        p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        p.add_argument("--dry-run", action="store_true", help="only show the plan")
    add_history(sub)


def apply(a: argparse.Namespace, console: Any, err: Any) -> int:
    """`audit apply PLAN`: an audit of the plan's rules and regions that applies only the reviewed changes."""
    from auditor.app import AuditOptions, parse_formats, run_audit
    from auditor.remediate.flow import RemediationOptions
    from auditor.remediate.planfile import read
    from auditor.report.writers import preflight

    plan = read(a.plan)
    opts = AuditOptions(regions=plan["regions"], profile=a.profile, rules_paths=a.rules_dir, rule_ids=plan["rules"],
                        config=a.config, waivers=a.waivers, output=a.output, formats=parse_formats(a.format),
                        quiet=a.quiet, remediate=True)
    opts.remediation = RemediationOptions(yes=True, max_changes=max(1, len(plan["changes"])), journal=a.journal,
                                          plan_in=a.plan)
    require_credentials(opts.profile)
    preflight(opts.output)
    opts.err = err
    return run_audit(opts, console)


def _reverse(a: argparse.Namespace, console: Any, err: Any, restore_endpoint: bool) -> int:
    from auditor.remediate import undo as undo_mod
    from auditor.session import SessionFactory

    where = getattr(a, "region", None) or ""  # restore only
    factory = SessionFactory(profile=a.profile, region=where.split(",")[0] or None)

    def client_for(service: str, region: str) -> Any:
        return factory.client(service, region=region)

    def caller_account(region: str) -> str:
        return str(factory.client("sts", region=region).get_caller_identity()["Account"])

    if restore_endpoint and a.json and not a.list:
        a.parser.error("--json goes with --list")
    if restore_endpoint and (a.list or a.journal is None):
        from auditor.remediate import restore as restore_mod

        regions = [r.strip() for r in (where or factory.default_region or "").split(",") if r.strip()]
        if not regions:
            a.parser.error("no region: pass --region (or set AWS_DEFAULT_REGION)")
        if a.list:
            return restore_mod.list_stopped(regions, client_for, console, err, as_json=a.json)
        if not a.endpoint:
            a.parser.error("the endpoint name is required (or --list)")
        opts = undo_mod.UndoOptions(endpoint=a.endpoint, yes=a.yes, dry_run=a.dry_run)
        return restore_mod.restore_from_aws(a.endpoint, regions, opts, client_for, caller_account, console, err)
    if restore_endpoint and not a.endpoint:
        a.parser.error("the endpoint name is required (or --list)")
    opts = undo_mod.UndoOptions(changes=[] if restore_endpoint else a.change,
                                endpoint=a.endpoint if restore_endpoint else None,
                                region=a.region if restore_endpoint else None, yes=a.yes, dry_run=a.dry_run)
    return undo_mod.run(a.journal, opts, client_for, caller_account, console, err)


def undo(a: argparse.Namespace, console: Any, err: Any) -> int:
    """Reverse journalled changes (all, or --change ID), newest first; each step at most once."""
    return _reverse(a, console, err, restore_endpoint=False)


def restore(a: argparse.Namespace, console: Any, err: Any) -> int:
    """Recreate an endpoint stopped by stop-idle-endpoint, exactly as it was."""
    return _reverse(a, console, err, restore_endpoint=True)


def snapshot(a: argparse.Namespace, console: Any, err: Any) -> int:
    from auditor.app import AuditOptions, account, collect_options, load_inputs, obtain_graph

    opts = AuditOptions(**scope_options(a), config=a.config, quiet=a.quiet)
    if not opts.demo:
        require_credentials(opts.profile)
    rules, config = load_inputs(opts)
    options = collect_options(rules, config)
    # A snapshot is made to be evaluated later, perhaps with other rules: every attribute is read, not only those
    # the selected rules read (an audit's --save-snapshot marks what its rules left out as not collected).
    del options["reads"], options["endpoint_describe_needed"], options["left_out"]
    with account(opts):
        graph = obtain_graph(opts, options, config.regions)
    graph.save(a.output)
    if not a.quiet:
        counts = graph.counts()
        console.print(f"wrote {a.output}: {sum(counts.values())} nodes, {sum(1 for _ in graph.edges())} edges, "
                      f"{len(graph.errors)} collection errors, {graph.meta.get('api_calls', {}).get('total', 0)} "
                      "API calls", highlight=False)
    return exitcodes.INCOMPLETE if graph.errors else exitcodes.OK


def rules(a: argparse.Namespace, console: Any, err: Any) -> int:
    from rich.table import Table

    from auditor.engine.loader import load_rules
    from auditor.engine.schema import rule_schema
    from auditor.textsafe import clean

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


def merge(a: argparse.Namespace, console: Any, err: Any) -> int:
    """Combine the shards' JSON reports into one report (JSON, HTML, ...), as a single run would have written."""
    from auditor.app import exit_code, parse_formats, parse_severity
    from auditor.engine.loader import load_rules
    from auditor.report import terminal
    from auditor.report.merge import MergeError, find_reports, load_report, merge_reports
    from auditor.report.writers import write_all

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
    rules = load_rules(None) if "sarif" in formats else []
    written = write_all(report, rules, a.output, formats)
    if not a.quiet:
        terminal.print_summary(report, console)
        console.print(f"merged {len(docs)} report(s)", highlight=False)
        for path in written:
            console.print(f"wrote {path}", highlight=False, markup=False)
    imposed = after_reports(prep, report, "merge", written, a.output, console, a.quiet)
    return imposed if imposed == exitcodes.OUTPUT_FAILED else exit_code(report, fail_on)


def permissions(a: argparse.Namespace, console: Any, err: Any) -> int:
    from auditor.permissions import policy_document

    if a.journal and not a.journal.startswith("s3://"):
        a.parser.error("--journal: only an s3://BUCKET/PREFIX journal needs permissions")
    if a.format == "cloudformation":
        from auditor.cloudformation import audit_role_template, render

        console.print(render(audit_role_template()), end="", highlight=False, markup=False, soft_wrap=True)
        return exitcodes.OK
    console.print_json(json.dumps(policy_document(remediate=a.remediate, security_hub=a.security_hub,
                                                  notify=a.notify, history=a.history, journal=a.journal)))
    return exitcodes.OK


def schemas(a: argparse.Namespace, console: Any, err: Any) -> int:
    from auditor.permissions import write_schemas

    for path in write_schemas(a.dir):
        console.print(f"wrote {path}", highlight=False, markup=False)
    return exitcodes.OK
