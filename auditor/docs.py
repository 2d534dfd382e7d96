"""Generated documentation: the rule catalogue (docs/rules.md) and the README's IAM policy block."""

from __future__ import annotations

import json
from pathlib import Path

from auditor.engine.loader import Rule, load_rules
from auditor.policies import POLICIES

README_BEGIN = "<!-- BEGIN GENERATED: audit permissions -->"
README_END = "<!-- END GENERATED: audit permissions -->"


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
    return "\n".join(out).rstrip() + "\n"


def permissions_block() -> str:
    from auditor.permissions import policy_document

    return f"{README_BEGIN}\n```json\n{json.dumps(policy_document(), indent=2)}\n```\n{README_END}"


def update_readme(path: Path) -> None:
    text = path.read_text()
    start, end = text.index(README_BEGIN), text.index(README_END) + len(README_END)
    path.write_text(text[:start] + permissions_block() + text[end:])


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    (root / "docs" / "rules.md").write_text(rules_markdown())
    update_readme(root / "README.md")


if __name__ == "__main__":
    main()
