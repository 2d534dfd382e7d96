"""The audit job end to end: obtain a graph (AWS, demo or snapshot) -> evaluate -> write reports -> exit code."""

from __future__ import annotations

import contextlib
import gc
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor import exitcodes
from auditor.graph import ResourceGraph
from auditor.model import Severity

if TYPE_CHECKING:
    from auditor.report.model import Report

log = logging.getLogger("auditor")
FORMATS = ("json", "html", "csv", "junit", "asff", "sarif", "ocsf")
DEFAULT_FORMATS = ["json", "html"]


class UsageError(ValueError):
    """A bad flag or flag combination: exit code 2, with what is allowed."""


@dataclass
class AuditOptions:
    regions: list[str] = field(default_factory=list)
    profile: str | None = None
    demo: bool = False
    snapshot: Path | None = None
    rules_paths: list[Path] = field(default_factory=list)
    rule_ids: list[str] = field(default_factory=list)
    policies: list[int] = field(default_factory=list)
    severity: Severity | None = None
    config: Path | None = None
    waivers: Path | None = None
    output: Path = Path("audit-report")
    formats: list[str] = field(default_factory=lambda: list(DEFAULT_FORMATS))
    baseline: Path | None = None
    fail_on_new: bool = False
    security_hub: bool = False
    remediate: bool = False
    remediation: Any = None  # RemediationOptions
    read_timeout: int = 30
    max_attempts: int = 8
    fail_on: Severity = Severity.LOW
    quiet: bool = False
    save_snapshot: Path | None = None
    stats: bool = False
    accounts: list[str] | str | None = None  # None: the credentials' account; "org": the whole Organization
    role_name: str | None = None
    external_id: str | None = None
    shard: Any = None  # scope.Shard
    workers: int = 8
    err: Any = None  # the stderr console: errors and the "incomplete" reason reach it even with --quiet
    history: str | None = None  # None: the default SQLite file; or a path, or s3://bucket/prefix
    no_history: bool = False
    notify: list[Any] = field(default_factory=list)  # notify.Target


def parse_formats(text: str) -> list[str]:
    out = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise UsageError(f"--format: unknown format {', '.join(bad) or '(empty)'}; allowed: {', '.join(FORMATS)}")
    return out


def parse_policies(text: str) -> list[int]:
    try:
        out = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise UsageError(f"--policy: {text!r} is not a comma-separated list of policy numbers 1-15") from None
    if not out or any(not 1 <= p <= 15 for p in out):
        raise UsageError(f"--policy: {text!r}: policy numbers run from 1 to 15")
    return out


def parse_severity(flag: str, text: str) -> Severity:
    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def load_inputs(opts: AuditOptions) -> tuple[Any, Any]:
    """Rules and config, fully validated before any AWS call is made."""
    from auditor.engine.config import load_config, load_waivers
    from auditor.engine.evaluator import check_config_parameters, select_rules
    from auditor.engine.loader import load_rules
    from auditor.remediate.registry import catalogue

    remediators = catalogue()  # the engine checks names against it; it does not import remediation itself
    config_path = opts.config
    if config_path is None and Path("audit.yaml").is_file():
        config_path = Path("audit.yaml")
    config = load_config(config_path, remediators)
    if opts.waivers:
        config.waivers = load_waivers(opts.waivers)
    rules = load_rules(opts.rules_paths or None, designations=set(config.designations), remediators=remediators)
    check_config_parameters(rules, config)
    selected = select_rules(rules, config, opts.rule_ids, opts.policies, opts.severity)
    if not selected:
        raise UsageError("the rule selection (--rules/--policy/--severity and config) matches no rule")
    return selected, config


# What remediators read of the graph beyond their rules' reads: enable-key-rotation walks the artifacts to their
# keys and reads each object's encryption.
REMEDIATION_READS = frozenset({("s3.object", "sse"), ("s3.object", "rel:encrypted_by")})


def collect_options(rules: list[Any], config: Any, remediate: bool = False) -> dict[str, Any]:
    """What collection needs from the rules: metric windows (from their possibly overridden parameters), whether
    regions without endpoints can be skipped, and which attributes they read (a read serving none is left out)."""
    from auditor.collect.base import left_out
    from auditor.collect.dynamodb import graph_reads as registry_reads
    from auditor.collect.sagemaker_bulk import DESCRIBE_ONLY
    from auditor.engine.evaluator import needs_regions_without_endpoints, read_needed, rule_params
    from auditor.engine.operators import parse_duration
    from auditor.engine.reads import resource_reads, rule_reads
    from auditor.report.context import READS as REPORT_READS

    # Most account-regions of an organisation have no endpoint; when no selected rule can judge such a region,
    # it costs its two SageMaker list calls instead of every collector's.
    # The rules' reads, the report's own (the endpoints' production tag) and the collectors' (a registry keyed by
    # model tag looks each model up by that tag), each rule's resources themselves, and, when the run remediates,
    # what the remediators read (REMEDIATION_READS; the other facets they read no collector leaves out: variant
    # settings, alarm metrics).
    reads = rule_reads(rules) | resource_reads(rules) | REPORT_READS | registry_reads(config.registry_table)
    if remediate:
        reads |= REMEDIATION_READS
    out: dict[str, Any] = {"skip_regions_without_endpoints": not needs_regions_without_endpoints(rules, config),
                           "reads": reads}
    # Which endpoints need DescribeEndpoint (its deployment configuration), told from their tags; the others are
    # read from the Search pages alone (see sagemaker_bulk.describe_needed).
    out["endpoint_describe_needed"] = read_needed(rules, config, "sagemaker.endpoint", DESCRIBE_ONLY)
    # Collectors whose findings no selected rule reads are left out whole (their calls, their read-aheads); a run
    # that remediates runs them all: remediators look beyond their rules' reads.
    out["left_out"] = frozenset() if remediate else left_out(reads)
    for r in rules:
        p = rule_params(r, config)
        if "idle_window" in p:
            out["idle_window_hours"] = max(1, int(parse_duration(p["idle_window"]).total_seconds() // 3600))
        if "utilisation_window" in p:
            out["utilisation_window_days"] = max(1, int(parse_duration(p["utilisation_window"]).days))
    if config.registry_table:
        out["registry_table"] = config.registry_table
    if config.limits:
        out["limits"] = config.limits
    return out


@contextlib.contextmanager
def progress_reporter(quiet: bool) -> Iterator[Any]:
    """A bar per account-region on a terminal, plain log lines otherwise, nothing when quiet."""
    if quiet:
        yield None
        return
    if not sys.stderr.isatty():
        def log_line(unit: str, collector: str, done: int, total: int) -> None:
            if done >= total:  # one plain line per account-region (CI logs, pipes); each collector with -v
                print(f"collected {unit}", file=sys.stderr, flush=True)
            else:
                log.info("collecting %s: %s (%d/%d)", unit, collector, done, total)

        yield log_line
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True)
    tasks: dict[str, Any] = {}

    def update(unit: str, collector: str, done: int, total: int) -> None:
        if unit not in tasks:
            tasks[unit] = bars.add_task(unit, total=total)
        bars.update(tasks[unit], completed=done, description=f"{unit} {collector}")
        if done >= total:  # finished units leave the screen: an organisation has hundreds of them
            bars.remove_task(tasks[unit])

    update.bars = bars  # type: ignore[attr-defined]  # what is on screen, for tests
    with bars:
        yield update


def obtain_graph(opts: AuditOptions, collect_opts: dict[str, Any], regions_hint: list[str]) -> ResourceGraph:
    if opts.snapshot is not None:
        graph = ResourceGraph.load(opts.snapshot)
        graph.meta.setdefault("source", f"snapshot {opts.snapshot.name}")
        return graph
    from auditor.collect import collect_scope
    from auditor.scope import resolve_accounts
    from auditor.session import SessionFactory

    if opts.demo:  # the caller keeps demo_account() open around the whole run
        from auditor_demo.fleet import REGIONS, REGISTRY_TABLE

        regions = opts.regions or list(REGIONS)
        collect_opts = {"registry_table": REGISTRY_TABLE, **collect_opts}  # the demo's own custom registry
    else:
        regions = opts.regions or regions_hint
    factory = SessionFactory(profile=opts.profile, region=next((r for r in regions if r != "all"), None),
                             read_timeout=opts.read_timeout, max_attempts=opts.max_attempts,
                             max_pool_connections=max(10, opts.workers))
    if not regions:
        regions = [r for r in [factory.region_name()] if r]
    if not regions:
        raise UsageError("no region: pass --region (e.g. --region us-east-1,eu-west-1 or all) or set AWS_REGION")
    targets = resolve_accounts(factory, opts.accounts, opts.role_name, opts.external_id, opts.shard)
    with progress_reporter(opts.quiet) as progress:
        graph = collect_scope(targets, regions, collect_opts, progress, workers=opts.workers)
    graph.meta["source"] = "demo account (moto)" if opts.demo else "aws"
    if opts.shard is not None:
        graph.meta["shard"] = str(opts.shard)
    return graph


@contextlib.contextmanager
def account(opts: AuditOptions) -> Iterator[None]:
    """The account the run talks to: real AWS, or the demo account kept up for the whole run."""
    if opts.demo:
        from auditor_demo.account import demo_account

        with demo_account():
            yield
    else:
        yield


def _settle() -> None:
    """A phase's results are long-lived from here on (see _long_lived_settled)."""
    gc.collect(1)  # young garbage need not wait for the end
    gc.freeze()


@contextlib.contextmanager
def _long_lived_settled() -> Iterator[None]:
    """Keep the cyclic garbage collector off what the run has settled (imports, rules, then the graph, then the
    findings): gc.freeze moves it out of the collector's reach, so a full collection scans only what came after.

    A run builds a few hundred thousand long-lived objects; each time the heap has grown by a quarter, a full
    collection rescans all of them: 0.7 s of an 8 s audit at 1,000 endpoints went on that, collecting almost
    nothing. Refcounting still frees what is dropped; unreachable cycles among frozen objects wait until the run
    ends and unfreezes them (the collector is back to normal for whatever comes next in this process)."""
    _settle()  # imports and rules
    young, middle, full = gc.get_threshold()
    # While collecting, the graph grows in the open: a full collection every tenth middle one (the default) rescans
    # it again and again, for the few dozen cyclic objects the audit's own collections found. A tenth as often.
    gc.set_threshold(young, middle, full * 10)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, full)
        gc.unfreeze()


def run_audit(opts: AuditOptions, console: Any) -> int:
    with account(opts):
        from auditor.history import HistoryError
        from auditor.unattended import history_failed, notify_failure

        try:
            with _long_lived_settled():
                return _run_audit(opts, console)
        except HistoryError as exc:  # unreadable or unwritable history: its own exit code, before any AWS call
            notify_failure(opts.notify, exc, opts.profile)
            return history_failed(exc)
        except Exception as exc:
            notify_failure(opts.notify, exc, opts.profile)  # the run that failed is the one someone must hear of
            raise


def _run_audit(opts: AuditOptions, console: Any) -> int:
    from auditor.engine.evaluator import evaluate_rules
    from auditor.report import terminal
    from auditor.report.model import report_of
    from auditor.report.writers import write_all
    from auditor.unattended import after_reports, before_reports, explicit_baseline, open_store

    if opts.security_hub and opts.demo:
        raise UsageError("--security-hub imports into a real account's Security Hub; the demo account has none")
    if opts.fail_on_new and not opts.baseline and opts.no_history:
        raise UsageError("--fail-on-new needs the history or --baseline PREVIOUS/report.json")
    if opts.remediate and opts.snapshot:
        raise UsageError("--remediate changes a live account: it cannot run on a --snapshot")
    if opts.remediate and (opts.accounts is not None or opts.shard is not None):
        raise UsageError("--remediate changes one account at a time: run it without --accounts/--shard, "
                         "with that account's credentials (--profile)")
    rules, config = load_inputs(opts)
    store = open_store(opts.history, opts.no_history)
    baseline = explicit_baseline(opts.baseline, store)
    started = time.perf_counter()
    graph = obtain_graph(opts, collect_options(rules, config, opts.remediate), config.regions)
    _settle()
    collected = time.perf_counter()
    if opts.save_snapshot:
        graph.save(opts.save_snapshot)
    _flag_regions_not_collected(graph, rules, config)
    _flag_collectors_left_out(graph, rules)
    report = report_of(evaluate_rules(graph, rules, config), graph, designations=config.designations)
    _settle()
    report = report.with_sections(timings={"collect_seconds": round(collected - started, 3),
                                           "evaluate_seconds": round(time.perf_counter() - collected, 3),
                                           "workers": opts.workers})
    refused = False
    run_id = None
    if opts.remediate:  # the report describes the account after remediation (the state before is in it too)
        from auditor.history import new_run_id

        # one id for the run: what a stop leaves on the endpoint config names it, and the history records it
        run_id = opts.remediation.run_id = opts.remediation.run_id or new_run_id()
        report, refused = _remediate(opts, report, rules, config, graph, console)
    # drift, first_seen and trends of the written report
    report, prep = before_reports(store, report, baseline, run_id=run_id)
    # report.json: the one serialization (the history stores it as streamed, see history.Gzipped)
    written = write_all(report, rules, opts.output, opts.formats,
                        prep.written.tee if prep.written is not None else None)
    if not opts.quiet:
        terminal.print_summary(report, console)
        for p in written:
            console.print(f"wrote {p}", highlight=False, markup=False)
    imposed = after_reports(prep, report, "audit", written, opts.output, console, opts.quiet,
                            (lambda r: _security_hub(opts, r, graph, console)) if opts.security_hub else None,
                            opts.notify, opts.profile)
    if opts.stats:
        print_stats(report, graph, console)
    if opts.err is not None and not report.complete:
        opts.err.print(terminal.incomplete_reason(report), soft_wrap=True)
    code = exit_code(report, opts.fail_on, only_new=opts.fail_on_new)
    if imposed == exitcodes.OUTPUT_FAILED:
        return imposed
    if refused:
        return exitcodes.REFUSED
    return imposed if imposed is not None and code == exitcodes.OK else code


def _remediate(opts: AuditOptions, report: Report, rules: list[Any], config: Any, graph: ResourceGraph,
               console: Any) -> tuple[Report, bool]:
    """Plan, then apply and verify unless dry run or refused. Returns the report to write (after a real run: a fresh
    audit, with the state before and every change's outcome in its remediation section) and whether anything was
    refused."""
    from rich.console import Console

    from auditor.engine.evaluator import evaluate_rules
    from auditor.remediate.flow import REFUSED, annotate, remediate, verify
    from auditor.report.model import report_of
    from auditor.session import SessionFactory

    ropts = opts.remediation
    if ropts.journal is None:
        ropts.journal = opts.output / "remediation-journal.jsonl"
    regions = list(graph.meta.get("regions") or opts.regions)
    factory = SessionFactory(profile=opts.profile, region=regions[0] if regions else None)
    result = remediate(report, rules, config, graph, ropts, lambda s, r: factory.client(s, region=r), console,
                       quiet=opts.quiet)
    out = report
    if any(c.outcome == "applied" for c in result.changes):
        fresh_graph = obtain_graph(opts, collect_options(rules, config, remediate=True), regions)
        fresh = report_of(evaluate_rules(fresh_graph, rules, config), fresh_graph, designations=config.designations)
        out = fresh.with_sections(timings=report.timings or {})
        verify(result.changes, out)
    refreshed = out is not report
    out = annotate(out, result, before=report if refreshed else None)
    if result.refused:
        Console(stderr=True).print(f"audit: remediation refused: {result.refused}; nothing was changed, the audit "
                                   "report is written", highlight=False, markup=False, soft_wrap=True)
    _print_outcomes(result.changes, ropts.journal, console, opts.quiet)
    if refreshed and not opts.quiet:
        was, now = report.summary.by_status, out.summary.by_status
        console.print(f"before remediation: {was['fail']} fail, {was['error']} error; after (fresh audit, in the "
                      f"report): {now['fail']} fail, {now['error']} error, {now['pass']} pass", highlight=False)
    refused = result.refused is not None or any(c.outcome == REFUSED for c in result.changes) or result.unmatched
    return out, bool(refused)


def _print_outcomes(changes: list[Any], journal: Path, console: Any, quiet: bool) -> None:
    from rich.table import Table
    from rich.text import Text

    from auditor.report.terminal import clean

    if quiet or not changes:
        return
    t = Table(title="Remediation outcome", header_style="bold")
    for col in ("change", "remediator", "resource", "outcome"):
        t.add_column(col, overflow="fold")
    for c in changes:
        style = {"applied and verified": "green", "failed": "bold red", "applied but still failing": "yellow"}.get(
            c.outcome, "dim")
        name = c.findings[0].finding.resource.name
        t.add_row(c.plan.change_id if c.plan else "-", c.spec.name, Text(clean(name)),
                  Text(clean(c.outcome + (f": {c.detail}" if c.detail else "")), style=style))
    console.print(t)
    if any(c.outcome not in ("skipped", "planned (dry run)", "refused") for c in changes):
        console.print(f"journal: {journal} (undo with: audit undo {journal})", highlight=False, markup=False)


def _security_hub(opts: AuditOptions, report: Report, graph: ResourceGraph, console: Any) -> bool:
    """Send this run's Security Hub lifecycle; False (and say why) when a batch or finding was rejected."""
    from auditor.collect.errors import classify
    from auditor.report.securityhub import deliver
    from auditor.session import SessionFactory

    region = (opts.regions or graph.meta.get("regions") or [None])[0]
    factory = SessionFactory(profile=opts.profile, region=region)
    try:
        result = deliver(factory, report, region or factory.region_name() or "us-east-1")
    except Exception as exc:  # noqa: BLE001 - reported, the reports on disk are already written
        err = classify("securityhub", "GetFindings", exc)
        console.print(f"Security Hub import failed: {err.code}: {err.message}", highlight=False, markup=False)
        return False
    states = ", ".join(f"{k} {v}" for k, v in sorted(result["by_state"].items()))
    console.print(f"Security Hub: imported {result['imported']} of {result['submitted']} findings "
                  f"in {result['calls']} call(s) ({states or 'nothing to send'})", highlight=False, markup=False)
    for b in result["failed_batches"]:
        console.print(f"  batch of {b['count']} in {b['region']} failed ({b['first_id']} .. {b['last_id']}): "
                      f"{b['error']}", highlight=False, markup=False)
    for f in result["failed"][:10]:
        console.print(f"  rejected {f.get('Id')}: {f.get('ErrorCode')} {f.get('ErrorMessage')}", highlight=False,
                      markup=False)
    return not result["failed"] and not result["failed_batches"]


def _flag_regions_not_collected(graph: ResourceGraph, rules: list[Any], config: Any) -> None:
    """A snapshot whose empty regions were only listed cannot answer rules that judge such regions: say so, as a
    collection error over those account-regions, rather than let their resources look absent."""
    from auditor.engine.evaluator import needs_regions_without_endpoints
    from auditor.model import NOT_COLLECTED_CODE, CollectionError

    lean = [graph.attrs(r) for r in graph.nodes_of_type("aws.region") if "not_collected" in graph.attrs(r)["data"]]
    if not lean or not needs_regions_without_endpoints(rules, config):
        return
    for r in lean:
        graph.record(CollectionError(
            "auditor", "collect", NOT_COLLECTED_CODE,
            f"this region had no endpoint, so {', '.join(r['data']['not_collected'])} were not read; the selected "
            "rules judge such regions too: collect again with them", r["account"], r["region"], affects=("*",)))


def _flag_collectors_left_out(graph: ResourceGraph, rules: list[Any]) -> None:
    """A snapshot collected for narrower rules has whole collectors left out (collectors_left_out on its regions,
    their reads on other collectors' nodes marked not collected). When the rules now evaluated read what one of
    them collects, say so: a collection error over its account-region and the types it finds (which may have no
    node at all to carry a mark), rather than let them look absent."""
    from auditor.collect.base import COLLECTORS
    from auditor.engine.reads import resource_reads, rule_reads
    from auditor.model import NOT_COLLECTED_CODE, CollectionError

    regions = [r for r in graph.nodes_of_type("aws.region") if graph.attrs(r)["data"].get("collectors_left_out")]
    if not regions:
        return
    reads = rule_reads(rules) | resource_reads(rules)
    by_name = {c.name: c for c in COLLECTORS}
    for region in regions:
        node = graph.attrs(region)
        for name in node["data"]["collectors_left_out"]:
            spec = by_name.get(name)
            served = spec.serves(reads) if spec is not None else []
            affects: tuple[str, ...]
            if spec is None:  # a collector this version does not know (renamed since): anything may be missing
                what, affects = "what it collects is unknown to this version", ("*",)
            elif served:
                what = f"the selected rules read {', '.join(f'{t} {a}' for t, a in served)}"
                affects = tuple(sorted(spec.finds or ()))
            else:
                continue
            graph.record(CollectionError(
                "auditor", "collect", NOT_COLLECTED_CODE,
                f"the {name} collector was left out (no rule of the audit that collected this snapshot reads what it "
                f"collects); {what}: collect again with them", node["account"], node["region"], affects=affects))


def print_stats(report: Report, graph: ResourceGraph, console: Any) -> None:
    """API calls (total, per endpoint, the costliest operations) and where the time went."""
    calls = report.api_calls or {}
    total = calls.get("total", 0)
    endpoints = len(graph.nodes_of_type("sagemaker.endpoint"))
    per = f", {total / endpoints:.2f} per endpoint" if endpoints else ""
    console.print(f"API calls: {total} ({calls.get('http_attempts', 0)} HTTP attempts) for {endpoints} "
                  f"endpoint(s){per}", highlight=False)
    top = sorted((calls.get("by_operation") or {}).items(), key=lambda kv: (-kv[1], kv[0]))[:8]
    if top:
        console.print("  " + ", ".join(f"{op} {n}" for op, n in top), highlight=False)
    t = report.timings or {}
    if t:
        console.print(f"time: collect {t['collect_seconds']:.2f} s ({t['workers']} workers), "
                      f"evaluate+report {t['evaluate_seconds']:.2f} s", highlight=False)


def exit_code(report: Report, fail_on: Severity, only_new: bool = False) -> int:
    if not report.complete:
        return exitcodes.INCOMPLETE
    failing = any(f.violation and f.severity.rank >= fail_on.rank and (not only_new or f.drift == "new")
                  for f in report.findings)
    return exitcodes.VIOLATIONS if failing else exitcodes.OK
