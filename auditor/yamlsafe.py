"""Safe YAML loading for every input file: safe_load only, no aliases, size-capped, with line numbers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

MAX_INPUT_BYTES = 1024 * 1024


class InputError(ValueError):
    """Bad user input: names the file, the line and the problem."""

    def __init__(self, file: str | Path, line: int | None, message: str) -> None:
        self.file = str(file)
        self.line = line
        self.message = message
        super().__init__(f"{self.file}:{line}: {message}" if line else f"{self.file}: {message}")


class Located:
    """A parsed YAML document plus the line of every mapping key and sequence item."""

    def __init__(self, data: Any, root: yaml.Node | None) -> None:
        self.data = data
        self._root = root

    def line(self, path: Sequence[str | int]) -> int | None:
        node = self._root
        best = node.start_mark.line + 1 if node is not None else None
        for part in path:
            if isinstance(node, yaml.MappingNode):
                found = None
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                        found = (k, v)
                        break
                if found is None:
                    return best
                best = found[0].start_mark.line + 1
                node = found[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                best = node.start_mark.line + 1
            else:
                return best
        return best


def load_yaml(path: str | Path, text: str | None = None) -> Located:
    p = Path(path)
    if text is None:
        try:
            size = p.stat().st_size
            if size > MAX_INPUT_BYTES:
                raise InputError(p, None, f"file is {size} bytes; the limit is {MAX_INPUT_BYTES}")
            raw = p.read_bytes()
        except OSError as exc:
            raise InputError(p, None, f"cannot read: {exc.strerror}") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(p, None, f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    elif len(text.encode("utf-8", "replace")) > MAX_INPUT_BYTES:
        raise InputError(p, None, f"input is over the {MAX_INPUT_BYTES} byte limit")
    try:
        root, data = _fast_load(text)
    except Exception:  # noqa: BLE001 - any problem: the pure-Python pass below names it precisely
        root, data = _checked_load(p, text)
    return Located(data, root)


_FAST = getattr(yaml, "CSafeLoader", None)  # libyaml, in PyYAML's wheels: ~10x faster than the Python parser


def _fast_load(text: str) -> tuple[yaml.Node | None, Any]:
    """libyaml parse (aliases refused) and compose; the data is constructed from the composed nodes, so the text
    is scanned twice instead of three times."""
    loader_cls = _FAST or yaml.SafeLoader
    for event in yaml.parse(text, Loader=loader_cls):
        if isinstance(event, yaml.AliasEvent):
            raise ValueError("alias")
    root = yaml.compose(text, Loader=loader_cls)
    if root is None:
        return None, None
    loader = loader_cls("")
    try:
        return root, loader.construct_document(root)
    finally:
        loader.dispose()


def _checked_load(p: Path, text: str) -> tuple[yaml.Node | None, Any]:
    """The pure-Python pass, for input the fast pass refused: it names the file, line and problem."""
    try:
        # Aliases are refused: rule and config files never need them, and they enable "billion laughs" bombs.
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark else None
                raise InputError(p, line, "YAML aliases (*name) are not allowed in auditor input files")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark and exc.problem:
            problem = f"{problem} ({exc.context} that starts at line {exc.context_mark.line + 1})"
        raise InputError(p, line, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise InputError(p, None, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise InputError(p, None, "invalid YAML: nesting too deep") from None
    return root, data


def schema_errors(located: Located, schema: dict[str, Any], file: str | Path) -> list[InputError]:
    """Validate against a JSON Schema; one clear error per problem, each with its line."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    out = []
    for err in sorted(validator.iter_errors(located.data), key=lambda e: list(map(str, e.absolute_path))):
        best = jsonschema.exceptions.best_match([err])
        where = "/".join(str(x) for x in best.absolute_path) or "(top level)"
        msg = best.message
        if len(msg) > 300:
            msg = msg[:300] + "..."
        path = list(best.absolute_path)
        if best.validator == "additionalProperties" and isinstance(best.instance, dict):
            # Point at the offending key itself, not at the mapping that holds it.
            allowed = set((best.schema or {}).get("properties", {}))
            extra = sorted(k for k in best.instance if k not in allowed)
            if extra:
                path.append(extra[0])
        out.append(InputError(file, located.line(path), f"{where}: {msg}"))
    return out
