"""The remediation journal: JSON lines, appended and fsynced before and after every call; read back for undo."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from auditor.yamlsafe import InputError


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, record: dict[str, Any]) -> None:
        record = {"ts": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"), **record}
        line = json.dumps(record, default=str, sort_keys=True)
        # One write per record, flushed to disk: an interrupted run still leaves every completed line.
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def read(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(path, None, f"cannot read journal: {exc.strerror}") from None
    out = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines):  # a torn last line from a crash: everything before it is intact
                break
            raise InputError(path, i, "not a journal record (invalid JSON)") from None
        if not isinstance(rec, dict) or "change_id" not in rec or "event" not in rec:
            raise InputError(path, i, "not a journal record (needs change_id and event)")
        out.append(rec)
    return out


def changes(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Fold the records into one state per change: plan, steps done/failed/pending, undo state."""
    state: dict[str, dict[str, Any]] = {}
    for r in records:
        c = state.setdefault(r["change_id"], {"change_id": r["change_id"], "steps": {}, "undone": {},
                                              "events": []})
        c["events"].append(r["event"])
        if r["event"] == "planned":
            if c["steps"]:  # ids are content-derived: the same change applied again (after an undo) starts afresh
                c["steps"], c["undone"] = {}, {}
            c.update(plan=r)
        elif r["event"] in ("step-pending", "step-done", "step-failed"):
            step = c["steps"].setdefault(r["step"], {"call": r["call"]})
            step["status"] = r["event"].removeprefix("step-")
            if "error" in r:
                step["error"] = r["error"]
        elif r["event"] in ("undo-done", "undo-failed"):
            c["undone"][r["step"]] = r["event"].removeprefix("undo-")
        elif r["event"] == "outcome":
            c["outcome"] = r["outcome"]
    return state
