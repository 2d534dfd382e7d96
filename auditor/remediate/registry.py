"""Remediator registry: rules may name only remediators registered here (unknown names are load errors)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RemediatorSpec:
    name: str
    permissions: tuple[str, ...]
    doc: str


# Filled by remediator modules as they are written; until then rules carry guidance only.
REMEDIATORS: dict[str, RemediatorSpec] = {}
