"""Generated documentation: the rule catalogue, the graph vocabulary in the rule language, the IAM policy block."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from auditor.engine.loader import Rule, load_rules
from auditor.graph import EDGE_TYPES, NODE_TYPES
from auditor.policies import POLICIES
from auditor.vocabulary import PSEUDO, VOCABULARY, Attr

README_BEGIN = "<!-- BEGIN GENERATED: audit permissions -->"
README_END = "<!-- END GENERATED: audit permissions -->"
VOCAB_BEGIN = "<!-- BEGIN GENERATED: graph vocabulary -->"
VOCAB_END = "<!-- END GENERATED: graph vocabulary -->"


def rules_markdown(rules: list[Rule] | None = None) -> str:
    rules = rules if rules is not None else load_rules()
    out = ["# Rule catalogue", "",
           "Generated from `rules/` by `python -m auditor.docs` (a test fails when it is stale).", ""]
    for n, (section, title) in POLICIES.items():
        out += [f"## Policy {n}: {title}", "", f"*{section}*", "",
                "| id | severity | resource | kind | title |", "|---|---|---|---|---|"]
        for r in rules:
            if r.policy == n:
                kind = r.kind + (" (inferred)" if r.basis == "inferred" else "")
                out.append(f"| `{r.id}` | {r.severity.value} | `{r.resource}` | {kind} | {r.title} |")
        out.append("")
        for r in rules:
            if r.policy == n and r.notes:
                out += [f"> **{r.id}**: {r.notes.strip()}", ""]
    # Hosting shapes: written by hand (auditor/data/hosting_shapes.md), kept beside the generated catalogue
    out.append(resources.files("auditor.data").joinpath("hosting_shapes.md").read_text().strip())
    return "\n".join(out).rstrip() + "\n"


def _attr_rows(attr: Attr, prefix: str = "") -> list[str]:
    path = f"{prefix}{attr.name}"
    kind = attr.type + (f" of {attr.of.type}" if attr.of is not None else "")
    rows = [f"| `{path}` | {kind} | {'derived' if attr.derived else 'raw'} | {attr.doc} |"]
    inner = f"{path}.N." if attr.type == "list" else f"{path}.KEY." if attr.type == "map" else f"{path}."
    for f in attr.fields:
        rows += _attr_rows(f, inner)
    if attr.of is not None and (attr.of.fields or attr.of.of is not None):
        rows += [r for f in attr.of.fields for r in _attr_rows(f, inner)]
    return rows


def vocabulary_markdown() -> str:
    """Per node type: its edges and its declared attributes (generated from auditor/vocabulary and graph)."""
    out = [VOCAB_BEGIN, "", "Generated from `auditor/vocabulary/` by `python -m auditor.docs` (a test fails when it is "
           "stale). *raw*: read from an AWS answer; *derived*: computed by the collector (a verdict or a figure no "
           "single answer holds). Every type also has `tags.KEY` and the pseudo attributes "
           f"{', '.join(f'`{p}`' for p in PSEUDO)}.", ""]
    for type_, doc in NODE_TYPES.items():
        out += [f"### `{type_}`", "", doc + ".", ""]
        outgoing = [f"`{e.label}` → `{e.target}`" for e in EDGE_TYPES.values() if type_ in e.sources]
        incoming = [f"`~{e.label}` → {', '.join(f'`{s}`' for s in sorted(e.sources))}"
                    for e in EDGE_TYPES.values() if e.target == type_]
        if outgoing:
            out.append(f"Edges: {'; '.join(outgoing)}.")
        if incoming:
            out.append(f"Walked back: {'; '.join(incoming)}.")
        out += ["", "| attribute | type | source | meaning |", "|---|---|---|---|"]
        for attr in VOCABULARY[type_].values():
            out += _attr_rows(attr)
        out.append("")
    return "\n".join(out + [VOCAB_END])


def replace_block(text: str, begin: str, end: str, block: str) -> str:
    start, stop = text.index(begin), text.index(end) + len(end)
    return text[:start] + block + text[stop:]


def permissions_block() -> str:
    from auditor.permissions import policy_document

    return f"{README_BEGIN}\n```json\n{json.dumps(policy_document(), indent=2)}\n```\n{README_END}"


def update_readme(path: Path) -> None:
    path.write_text(replace_block(path.read_text(), README_BEGIN, README_END, permissions_block()))


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    (root / "docs" / "rules.md").write_text(rules_markdown())
    update_readme(root / "README.md")
    lang = root / "docs" / "rule-language.md"
    lang.write_text(replace_block(lang.read_text(), VOCAB_BEGIN, VOCAB_END, vocabulary_markdown()))


if __name__ == "__main__":
    main()
