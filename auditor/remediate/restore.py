"""Restore from what AWS holds: find the endpoint configs an idle stop tagged, and rebuild that stop's change from
the saved state (then checked and run exactly like a journalled change)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from auditor.remediate.stopstate import STOPPED, STOPPED_AT, STOPPED_BY, decode, stop_calls

ClientFor = Callable[[str, str], Any]


@dataclass(frozen=True)
class Stopped:
    """An endpoint config tagged by an idle stop: which endpoint, where, when, and by which audit run."""

    name: str
    region: str
    account: str
    stopped_at: str
    config_name: str
    config_arn: str
    tags: dict[str, str]

    @property
    def run_id(self) -> str | None:
        """The run that stopped it; None for a stop made before runs were recorded on the config."""
        return self.tags.get(STOPPED_BY)


def find_stopped(client_for: ClientFor, regions: list[str]) -> Iterator[Stopped]:
    """Every config carrying the stop marker: one ListEndpointConfigs page walk and one ListTags per config."""
    for region in regions:
        sm = client_for("sagemaker", region)
        for page in sm.get_paginator("list_endpoint_configs").paginate():
            for cfg in page.get("EndpointConfigs", []):
                arn = cfg["EndpointConfigArn"]
                tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn, MaxResults=100).get("Tags", [])}
                if STOPPED in tags:
                    yield Stopped(tags[STOPPED], region, arn.split(":")[4], tags.get(STOPPED_AT, "?"),
                                  cfg["EndpointConfigName"], arn, tags)


def read_stopped(client_for: ClientFor, regions: list[str], err: Any) -> list[Stopped] | None:
    """find_stopped, or None after saying (one line) why the configs could not be read: never "none stopped"."""
    from botocore.exceptions import BotoCoreError, ClientError

    from auditor.textsafe import clean

    try:
        return list(find_stopped(client_for, regions))
    except (ClientError, BotoCoreError) as exc:
        err.print(clean(f"audit restore: error: cannot read the endpoint configs' tags: {exc}", None), markup=False,
                  highlight=False)
        return None


def change_from_tags(s: Stopped) -> dict[str, Any] | None:
    """The stop as a journal would hold it (plan, before-state, steps done), rebuilt from the config's tags; None
    when the tags hold no readable state. The caller validates it like any journalled change."""
    state = decode(s.tags)
    if state is None or state.get("config") != s.config_name:  # it restores the config that carries it, no other
        return None
    try:
        calls = stop_calls(s.name, s.region, s.config_arn, state, s.stopped_at, s.run_id)
    except (KeyError, TypeError, AttributeError):  # a state that is not one the stop writes
        return None
    arn = f"arn:aws:sagemaker:{s.region}:{s.account}:endpoint/{s.name.lower()}"
    plan = {"remediator": "stop-idle-endpoint", "description": f"restore {s.name} from the tags of {s.config_name}",
            "resource": {"arn": arn, "name": s.name, "type": "sagemaker.endpoint", "account": s.account,
                         "region": s.region},
            "before": {"endpoint": {"EndpointConfigName": state.get("config")}, "restore": state}}
    return {"change_id": f"stopped {s.stopped_at}", "plan": plan, "undone": {}, "events": [],
            "steps": {i: {"call": json.loads(json.dumps(c.to_dict())), "status": "done"}  # as a journal reads
                      for i, c in enumerate(calls)}}


def restore_from_aws(name: str, regions: list[str], opts: Any, client_for: ClientFor,
                     caller_account: Callable[[str], str], console: Any, err: Any) -> int:
    """`audit restore NAME` with no journal: the newest stop of NAME found in the regions' config tags."""
    from auditor import exitcodes
    from auditor.remediate.undo import MemoryJournal, reverse
    from auditor.textsafe import clean

    stopped = read_stopped(client_for, regions, err)
    if stopped is None:
        return exitcodes.INCOMPLETE
    found = sorted((s for s in stopped if s.name == name), key=lambda s: s.stopped_at)
    if len({s.region for s in found}) > 1:
        err.print(clean(f"audit restore: error: {name} was stopped in {', '.join(sorted({s.region for s in found}))}"
                        ": pass --region", None), markup=False, highlight=False)
        return exitcodes.INVALID_INPUT
    if not found:
        err.print(clean(f"audit restore: error: no endpoint config in {', '.join(regions)} carries a stop of "
                        f"{name!r} (already restored, or stopped elsewhere: try --journal)", None),
                  markup=False, highlight=False)
        return exitcodes.INVALID_INPUT
    change = change_from_tags(found[-1])
    if change is None:
        err.print(clean(f"audit restore: error: the tags of {found[-1].config_name} hold no readable restore state "
                        "(try --journal)", None), markup=False, highlight=False)
        return exitcodes.INVALID_INPUT
    return int(reverse([change], f"tags of {found[-1].config_arn}", MemoryJournal(), opts, client_for,
                       caller_account, console, err))


def list_stopped(regions: list[str], client_for: ClientFor, console: Any, err: Any, as_json: bool = False) -> int:
    """`audit restore --list [--json]`: the endpoints the tool stopped, from the config tags."""
    from rich.table import Table
    from rich.text import Text

    from auditor import exitcodes
    from auditor.textsafe import clean

    stopped = read_stopped(client_for, regions, err)
    if stopped is None:
        return exitcodes.INCOMPLETE
    rows = [{"endpoint": s.name, "region": s.region, "account": s.account, "stopped_at": s.stopped_at,
             "stopped_by_run": s.run_id, "endpoint_config": s.config_name,
             "restorable": change_from_tags(s) is not None}
            for s in sorted(stopped, key=lambda s: (s.region, s.name, s.stopped_at))]
    if as_json:  # data for other tools: the tags' values as AWS holds them (JSON escapes what needs it)
        console.print_json(json.dumps({"regions": regions, "stopped": rows}))
        return exitcodes.OK
    t = Table(title="Endpoints stopped by sagemaker-auditor", header_style="bold")
    # the run id whole on one line where the terminal allows: it is what `audit history show RUN` takes
    for col in ("endpoint (config)", "region", "stopped at", "by run", "restorable"):
        t.add_column(col, overflow="fold", min_width=23 if col == "by run" else None)
    for r in rows:
        ok = "yes" if r["restorable"] else "no (state unreadable: use --journal)"
        t.add_row(*(Text(clean(str(x), None)) for x in (
            f"{r['endpoint']}\n({r['endpoint_config']})", r["region"], r["stopped_at"], r["stopped_by_run"] or "-",
            ok)))
    console.print(t)
    return exitcodes.OK
