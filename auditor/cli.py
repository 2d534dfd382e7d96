"""Command line: parse, call, print. No logic lives here."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from auditor import __version__, exitcodes

SUBCOMMANDS = ("snapshot", "rules", "permissions", "schemas", "undo", "restore", "merge")
EPILOG = "exit codes:\n" + "\n".join(f"  {k:<4} {v}" for k, v in exitcodes.DOC.items())


def _common(p: argparse.ArgumentParser) -> None:
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
                     help="attempts per call, adaptive retry mode (throttling, 5xx, resets)")


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
    regions = _split(args.region)
    if "all" in regions and len(regions) > 1:
        raise UsageError("--region all cannot be combined with named regions")
    return {"regions": regions, "profile": args.profile, "demo": args.demo, "accounts": accounts,
            "role_name": args.role_name, "external_id": args.external_id, "shard": shard, "workers": args.workers,
            "read_timeout": args.read_timeout, "max_attempts": args.max_attempts}


def audit_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="audit", description="Audit SageMaker model deployments against the deployment policies.",
        epilog=EPILOG + "\n\nsubcommands: audit snapshot | merge | rules list|show|validate|schema | permissions | "
        "schemas | undo | restore | history [show RUN | prune --keep-days N]",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _common(p)
    p.add_argument("--snapshot", type=Path, help="evaluate a saved snapshot file instead of calling AWS")
    p.add_argument("--save-snapshot", type=Path, metavar="FILE", help="also save the collected graph to FILE")
    sel = p.add_argument_group("rules")
    sel.add_argument("--rules-dir", type=Path, action="append", default=[], metavar="PATH",
                     help="rule file or directory (repeatable; default: the built-in rules/)")
    sel.add_argument("--rules", help="comma-separated rule ids or patterns, e.g. SM-04-*,SM-14-idle-endpoint")
    sel.add_argument("--policy", help="comma-separated policy numbers, e.g. 4,5")
    sel.add_argument("--severity", help="evaluate only rules of at least this severity")
    sel.add_argument("--config", type=Path, help="config file (default: ./audit.yaml if present)")
    sel.add_argument("--waivers", type=Path, help="waivers file (overrides the config's)")
    out = p.add_argument_group("output")
    out.add_argument("--output", type=Path, default=Path("audit-report"), help="report directory (default %(default)s)")
    out.add_argument("--format", default="json,html",
                     help="comma-separated: json,html,csv,junit,asff,sarif (default %(default)s)")
    out.add_argument("--baseline", type=Path, metavar="REPORT|RUN",
                     help="a previous report.json or a run id from `audit history` (default: the history's last "
                     "complete run of the same scope): mark violations new / still failing / resolved")
    out.add_argument("--fail-on-new", action="store_true",
                     help="exit 1 only for violations new since the baseline (history or --baseline)")
    out.add_argument("--history", metavar="PATH|s3://BUCKET/PREFIX",
                     help="run history: a SQLite file or an S3 location (default: "
                     "$XDG_STATE_HOME/sagemaker-auditor/history.sqlite3); drift is against its last complete run")
    out.add_argument("--no-history", action="store_true", help="neither read nor record the run history")
    out.add_argument("--notify", action="append", default=[], metavar="sns:TOPIC_ARN|webhook:URL",
                     help="send one message when there are new violations or the audit is incomplete or failed "
                     "(repeatable)")
    out.add_argument("--security-hub", action="store_true",
                     help="send the findings' lifecycle to AWS Security Hub: FAILED, PASSED once resolved, ARCHIVED "
                     "when the resource is gone, exempt as SUPPRESSED, undecided as NOT_AVAILABLE")
    out.add_argument("--fail-on", default="low",
                     help="exit 1 when a violation of at least this severity exists (default %(default)s)")
    out.add_argument("-q", "--quiet", action="store_true", help="no summary or progress: for cron (errors only)")
    out.add_argument("--stats", action="store_true", help="print the number of AWS API calls")
    out.add_argument("-v", "--verbose", action="store_true", help="log progress and AWS retries to stderr")
    rem = p.add_argument_group("remediation")
    rem.add_argument("--remediate", action="store_true", help="fix failing findings that have a remediator")
    rem.add_argument("--dry-run", action="store_true", help="with --remediate: show the plan, change nothing")
    rem.add_argument("--yes", action="store_true", help="with --remediate: apply without asking (automation)")
    rem.add_argument("--max-changes", type=int, default=10,
                     help="refuse a plan with more changes than this (default %(default)s)")
    rem.add_argument("--only", help="remediate only these rule ids or patterns (comma-separated)")
    rem.add_argument("--journal", type=Path, help="journal file (default OUTPUT/remediation-journal.jsonl)")
    return p


def _split(text: str | None) -> list[str]:
    return [x.strip() for x in (text or "").split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from rich.console import Console

    console = Console()
    err = Console(stderr=True)
    try:
        if argv and argv[0] == "history":
            from auditor.history.command import run as history_command

            return int(history_command(argv[1:], console, err))
        if argv and argv[0] in SUBCOMMANDS:
            from auditor import commands

            return int(commands.dispatch(argv, console, err))
        return _audit(argv, console)
    except KeyboardInterrupt:
        err.print("interrupted: no partial report or snapshot was written", highlight=False)
        return exitcodes.INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - translate known input errors; re-raise bugs
        code = _input_error(exc, err)
        if code is None:
            raise
        return code


def _input_error(exc: Exception, err: Any) -> int | None:
    from auditor.app import UsageError
    from auditor.engine.loader import RuleLoadError
    from auditor.graph import GraphError
    from auditor.remediate.flow import RemediationRefused
    from auditor.yamlsafe import InputError
    from auditor_demo.account import DemoUnavailable

    if isinstance(exc, RuleLoadError):
        err.print(f"invalid rules ({len(exc.errors)} problem(s)):", highlight=False)
        for e in exc.errors:
            err.print(f"  {e}", highlight=False, markup=False, soft_wrap=True)
        return exitcodes.INVALID_INPUT
    if isinstance(exc, (UsageError, InputError, GraphError, DemoUnavailable, RemediationRefused)):
        err.print(f"audit: error: {exc}", highlight=False, markup=False, soft_wrap=True)
        return exitcodes.INVALID_INPUT
    return None


def _audit(argv: list[str], console: Any) -> int:
    from auditor.app import AuditOptions, parse_formats, parse_policies, parse_severity, run_audit

    args = audit_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        logging.getLogger("auditor").setLevel(logging.WARNING)
    from auditor.app import UsageError

    if args.demo and args.snapshot:
        raise UsageError("--demo and --snapshot are exclusive: audit the demo account or a saved snapshot")
    opts = AuditOptions(
        **scope_options(args), snapshot=args.snapshot, rules_paths=args.rules_dir, rule_ids=_split(args.rules),
        policies=parse_policies(args.policy) if args.policy else [],
        severity=parse_severity("--severity", args.severity) if args.severity else None,
        config=args.config, waivers=args.waivers, output=args.output, formats=parse_formats(args.format),
        fail_on=parse_severity("--fail-on", args.fail_on), quiet=args.quiet, save_snapshot=args.save_snapshot,
        stats=args.stats, baseline=args.baseline, fail_on_new=args.fail_on_new, security_hub=args.security_hub,
        remediate=args.remediate,
    )
    from auditor.notify import NotifyError, parse_target

    if args.history and args.no_history:
        raise UsageError("--history and --no-history are exclusive")
    try:
        opts.notify = [parse_target(t) for t in args.notify]
    except NotifyError as exc:
        raise UsageError(str(exc)) from None
    opts.history, opts.no_history = args.history, args.no_history
    from auditor.remediate.flow import RemediationOptions

    if (args.dry_run or args.yes or args.only or args.journal) and not args.remediate:
        raise UsageError("--dry-run, --yes, --only and --journal go with --remediate")
    if args.max_changes < 1:
        raise UsageError("--max-changes must be at least 1")
    opts.remediation = RemediationOptions(yes=args.yes, dry_run=args.dry_run, max_changes=args.max_changes,
                                          only=_split(args.only), policies=opts.policies, journal=args.journal)
    return run_audit(opts, console)


if __name__ == "__main__":
    raise SystemExit(main())
