"""Command line: parse, call, print. No logic lives here."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from pathlib import Path
from typing import Any

from auditor import __version__, exitcodes
from auditor.cliparse import Parser, subcommands
from auditor.commands import common, register, require_credentials, scope_options, split

EPILOG = "exit codes:\n" + "\n".join(f"  {k:<4} {v}" for k, v in exitcodes.DOC.items())


def build_parser() -> argparse.ArgumentParser:
    """The one `audit` parser: the audit's own options (`audit` alone runs the audit) and every subcommand."""
    from auditor.app import FORMATS

    p = Parser(
        prog="audit", description="Audit SageMaker model deployments against the deployment policies. With no "
        "COMMAND, runs the audit; `audit COMMAND --help` describes each command.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common(p)
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
                     help=f"comma-separated: {','.join(FORMATS)} (default %(default)s)")
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
    out.add_argument("--debug", action="store_true",
                     help="on an unexpected failure, print the traceback (any subcommand takes it too)")
    rem = p.add_argument_group("remediation")
    rem.add_argument("--remediate", action="store_true", help="fix failing findings that have a remediator")
    rem.add_argument("--dry-run", action="store_true", help="with --remediate: show the plan, change nothing")
    rem.add_argument("--yes", action="store_true", help="with --remediate: apply without asking (automation)")
    rem.add_argument("--max-changes", type=int, default=10,
                     help="refuse a plan with more changes than this (default %(default)s)")
    rem.add_argument("--only", help="remediate only these rule ids or patterns (comma-separated)")
    rem.add_argument("--journal", type=Path, help="journal file (default OUTPUT/remediation-journal.jsonl)")
    rem.add_argument("--plan-out", type=Path, metavar="FILE",
                     help="with --remediate: write the plan to FILE and change nothing (then: audit apply FILE)")
    rem.add_argument("--include-always-on", action="store_true",
                     help="with --remediate: also redeploy or resize always-on endpoints (they are never stopped)")
    register(subcommands(p, "command", required=False, root=True), EPILOG)
    return p


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the process's own command line: it ends when main returns
        try:
            return _main(sys.argv[1:])
        finally:
            # Exiting frees everything anyway; frozen, the interpreter's last collection does not scan the heap
            # first (0.2 s after a 1,000-endpoint audit). Only here: a caller in the same process keeps its GC.
            gc.freeze()
    return _main(argv)


def _main(argv: list[str]) -> int:
    argv = list(argv)
    debug = "--debug" in argv  # global: it applies to every subcommand, so it is taken out before parsing
    argv = [a for a in argv if a != "--debug"]
    from rich.console import Console

    # No console markup anywhere: names, tags and paths come from AWS and files, and "[/]" or "[prod]" in them
    # must print literally (styles are applied with rich Text objects, never with markup strings).
    console = Console(markup=False, highlight=False)
    err = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)  # one error, one line
    try:
        try:
            args = build_parser().parse_args(argv)
            handler = getattr(args, "handler", None)
            return int(handler(args, console, err)) if handler else _audit(args, console, err)
        except SystemExit as exc:  # --help, --version, or a usage error already said (exit 2)
            return exc.code if isinstance(exc.code, int) else exitcodes.INVALID_INPUT
    except KeyboardInterrupt:
        err.print("interrupted: no partial report or snapshot was written")
        return exitcodes.INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - every failure ends in one line and its own exit code
        code = _input_error(exc, err)
        if code is None:
            code = _failure(exc, err)
        if debug:
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
        return code


def _failure(exc: Exception, err: Any) -> int:
    """Failures that are not bad input: output that cannot be written, no credentials, or a bug."""
    from botocore.exceptions import NoCredentialsError, PartialCredentialsError

    from auditor.report.writers import OutputError

    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        err.print(f"audit: error: {exc}. Configure credentials (AWS_PROFILE / --profile, environment, or an "
                  "instance role), or try the built-in demo account with: audit --demo")
        return exitcodes.NO_CREDENTIALS
    if isinstance(exc, OutputError):
        err.print(f"audit: error: {exc}", soft_wrap=True)
        return exitcodes.OUTPUT_FAILED
    if isinstance(exc, OSError) and exc.filename is not None:
        err.print(f"audit: error: cannot write {exc.filename}: {exc.strerror or exc}", soft_wrap=True)
        return exitcodes.OUTPUT_FAILED
    text = str(exc).splitlines()[0][:300] if str(exc) else ""
    err.print(f"audit: internal error: {type(exc).__name__}{': ' + text if text else ''} "
              "(run again with --debug for the traceback)", soft_wrap=True)
    return exitcodes.INTERNAL_ERROR


def _input_error(exc: Exception, err: Any) -> int | None:
    from auditor.app import UsageError
    from auditor.engine.loader import RuleLoadError
    from auditor.graph import GraphError
    from auditor.remediate.flow import RemediationRefused
    from auditor.yamlsafe import InputError
    from auditor_demo.account import DemoUnavailable

    if isinstance(exc, RuleLoadError):
        err.print(f"invalid rules ({len(exc.errors)} problem(s)):")
        for e in exc.errors:
            err.print(f"  {e}", soft_wrap=True)
        return exitcodes.INVALID_INPUT
    if isinstance(exc, (UsageError, InputError, GraphError, DemoUnavailable, RemediationRefused)):
        err.print(f"audit: error: {exc}", soft_wrap=True)
        return exitcodes.INVALID_INPUT
    return None


def _audit(args: argparse.Namespace, console: Any, err: Any) -> int:
    from auditor.app import AuditOptions, parse_formats, parse_policies, parse_severity, run_audit

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        logging.getLogger("auditor").setLevel(logging.WARNING)
    from auditor.app import UsageError

    if args.demo and args.snapshot:
        raise UsageError("--demo and --snapshot are exclusive: audit the demo account or a saved snapshot")
    opts = AuditOptions(
        **scope_options(args), snapshot=args.snapshot, rules_paths=args.rules_dir, rule_ids=split(args.rules),
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

    if (args.dry_run or args.yes or args.only or args.journal or args.plan_out or args.include_always_on) \
            and not args.remediate:
        raise UsageError("--dry-run, --yes, --only, --journal, --plan-out and --include-always-on go with --remediate")
    if args.max_changes < 1:
        raise UsageError("--max-changes must be at least 1")
    opts.remediation = RemediationOptions(yes=args.yes, dry_run=args.dry_run, max_changes=args.max_changes,
                                          only=split(args.only), policies=opts.policies, journal=args.journal,
                                          include_always_on=args.include_always_on, plan_out=args.plan_out)
    _before_running(opts, err)
    return run_audit(opts, console)


def _before_running(opts: Any, err: Any) -> None:
    """Fail fast, before minutes of collection: no credentials, or an output that cannot take a report."""
    from auditor.report.writers import preflight

    if not (opts.demo or opts.snapshot):
        require_credentials(opts.profile)
    preflight(opts.output)
    opts.err = err


if __name__ == "__main__":
    raise SystemExit(main())
