"""Safe loading of every input file: YAML (safe_load, no aliases or duplicate keys) and JSON, size- and depth-capped."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

MAX_INPUT_BYTES = 1024 * 1024
# No rule, config or waiver file needs more; deeper input is refused before a parser recurses into it (the
# pure-Python YAML parser is quadratic in the nesting depth, and JSON/YAML construction is recursive).
MAX_DEPTH = 64


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
        root, data = _fast_load(p, text)
    except InputError:
        raise
    except Exception:  # noqa: BLE001 - any problem: the pure-Python pass below names it precisely
        root, data = _checked_load(p, text)
    _refuse_duplicate_keys(p, root)
    return Located(data, root)


_FAST = getattr(yaml, "CSafeLoader", None)  # libyaml, in PyYAML's wheels: ~10x faster than the Python parser


def _screen_events(p: Path, events: Any) -> None:
    """Refuse aliases and excessive nesting from the event stream, before anything is composed or constructed."""
    depth = 0
    for event in events:
        if isinstance(event, yaml.AliasEvent):
            line = event.start_mark.line + 1 if event.start_mark else None
            raise InputError(p, line, "YAML aliases (*name) are not allowed in auditor input files")
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else None
                raise InputError(p, line, f"nesting deeper than {MAX_DEPTH} levels")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _fast_load(p: Path, text: str) -> tuple[yaml.Node | None, Any]:
    """libyaml parse (aliases and deep nesting refused) and compose; the data is constructed from the composed
    nodes, so the text is scanned twice instead of three times."""
    loader_cls = _FAST or yaml.SafeLoader
    _screen_events(p, yaml.parse(text, Loader=loader_cls))
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
    root: yaml.Node | None = None
    try:
        # Aliases are refused: rule and config files never need them, and they enable "billion laughs" bombs.
        # The screen stops at the first refused event, so deep input costs at most MAX_DEPTH levels of parsing.
        _screen_events(p, yaml.parse(text, Loader=yaml.SafeLoader))
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
    except InputError:
        raise
    except (ValueError, OverflowError) as exc:  # a value the constructor refuses, e.g. an int of 5,000 digits
        raise InputError(p, _huge_number_line(root), f"invalid value: {_first_line(exc)}") from None
    return root, data


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def _nodes(root: yaml.Node | None) -> Any:
    """Every node of a composed tree, iteratively (no recursion on hostile depth)."""
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack += [k, v]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value


def _huge_number_line(root: yaml.Node | None) -> int | None:
    for node in _nodes(root):
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":int") and len(node.value) > 4000:
            return node.start_mark.line + 1
    return None


def _refuse_duplicate_keys(p: Path, root: yaml.Node | None) -> None:
    """YAML keeps the last of two equal keys silently; a waiver with `resource:` twice would match everything."""
    for node in _nodes(root):
        if not isinstance(node, yaml.MappingNode):
            continue
        seen: dict[str, int] = {}
        for k, _ in node.value:
            if not isinstance(k, yaml.ScalarNode):
                continue
            line = k.start_mark.line + 1
            if k.value in seen:
                raise InputError(p, line, f"duplicate key {k.value!r} (first at line {seen[k.value]})")
            seen[k.value] = line


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


MAX_JSON_DEPTH = 200  # a snapshot nests API answers (policy documents inside roles): deep, but never this deep
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def load_json(path: str | Path, what: str, max_bytes: int = MAX_INPUT_BYTES) -> Any:
    """A JSON input file (snapshot, report, baseline) parsed, or an InputError naming it: never a traceback.

    Refused: unreadable or oversized files, invalid UTF-8 or JSON, numbers Python will not convert, nesting over
    MAX_JSON_DEPTH and lone surrogates (they cannot be written back out as UTF-8)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise InputError(p, None, f"{what} is {size} bytes, over the {max_bytes} byte limit")
        text = p.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InputError(p, None, f"cannot read {what}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InputError(p, None, f"{what} is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(p, exc.lineno, f"{what} is not valid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise InputError(p, None, f"{what} nests deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise InputError(p, None, f"{what} has a value Python refuses: {_first_line(exc)}") from None
    _check_json_tree(p, what, doc, strings=bool(_SURROGATE_ESCAPE.search(text)))
    return doc


def _check_json_tree(p: Path, what: str, doc: Any, strings: bool) -> None:
    """Depth bound and, when the text had surrogate escapes, strings that encode as UTF-8; iterative."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise InputError(p, None, f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(node, dict):
            stack += [(v, depth + 1) for v in node.values()]
            if strings:
                stack += [(k, depth) for k in node]
        elif isinstance(node, list):
            stack += [(v, depth + 1) for v in node]
        elif strings and isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                raise InputError(p, None, f"{what} holds a string with a lone surrogate ({node[:40]!r})") from None
