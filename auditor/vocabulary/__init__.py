"""The graph's attribute vocabulary: what each node type's data holds (name, type, meaning, raw or derived)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Value types. "object" is a structure we build (its keys are exactly the declared fields); "api" is a structure
# kept as AWS returned it (other keys may be present; rules may name only the declared fields); "map" has free
# keys whose values are all declared by `of`.
STRING, INTEGER, NUMBER, BOOLEAN, TIMESTAMP = "string", "integer", "number", "boolean", "timestamp"
LIST, OBJECT, API, MAP = "list", "object", "api", "map"
TYPES = (STRING, INTEGER, NUMBER, BOOLEAN, TIMESTAMP, LIST, OBJECT, API, MAP)

# Read from the node itself rather than its data (see engine.conditions.read_attr).
PSEUDO = {"id": "the node id (ARN)", "name": "the resource name", "type": "the node type",
          "region": "its region", "account": "its account", "dangling": "referenced but does not exist",
          "exists": "not dangling"}
# Error facets that are not attributes: the whole node, its tags; `rel:<edge label>` marks a relation unreadable.
NODE_FACETS = ("describe", "tags")
# Named reads other than the node's own describe that set some of its attributes (graph.set_read): when such a
# read fails, exactly the attributes it set are unknown. An endpoint's and a variant's configuration come from
# DescribeEndpointConfig, not from DescribeEndpoint.
READS: dict[str, tuple[str, ...]] = {"sagemaker.endpoint": ("config",), "sagemaker.variant": ("config",),
                                    "sagemaker.model": ("search",),  # models come from Search pages
                                    "sagemaker.container": ("package",)}  # image and artifact from the package


@dataclass(frozen=True)
class Attr:
    name: str
    type: str
    doc: str
    derived: bool = False
    fields: tuple[Attr, ...] = ()  # object/api: the declared keys; list: the keys of each item (if any)
    of: Attr | None = None  # map: every value

    def field(self, name: str) -> Attr | None:
        return next((f for f in self.fields if f.name == name), None)


def raw(name: str, type_: str, doc: str, fields: Iterable[Attr] = (), of: Attr | None = None) -> Attr:
    """An attribute read from an AWS answer (possibly renamed or defaulted, never judged)."""
    if type_ not in TYPES:
        raise ValueError(f"attribute {name}: unknown type {type_!r}")
    return Attr(name, type_, doc, False, tuple(fields), of)


def derived(name: str, type_: str, doc: str, fields: Iterable[Attr] = (), of: Attr | None = None) -> Attr:
    """An attribute the collector computes: a verdict or a figure that no single API answer contains."""
    return Attr(name, raw(name, type_, doc).type, doc, True, tuple(fields), of)


def node_vocabulary() -> dict[str, dict[str, Attr]]:
    """Node type -> attribute name -> declaration (built once, see VOCABULARY)."""
    from auditor.vocabulary import infra, sagemaker, signals

    out: dict[str, dict[str, Attr]] = {}
    for module in (sagemaker, infra, signals):
        for type_, attrs in module.ATTRIBUTES.items():
            if type_ in out:
                raise ValueError(f"node type {type_} declared twice")
            names = [a.name for a in attrs]
            clash = {n for n in names if names.count(n) > 1} | (set(names) & {*PSEUDO, "tags"})
            if clash:  # a second declaration, or one that a rule could never read (pseudo attributes win)
                raise ValueError(f"{type_}: attributes declared twice or shadowing a pseudo attribute: {clash}")
            out[type_] = {a.name: a for a in attrs}
    return out


VOCABULARY: dict[str, dict[str, Attr]] = node_vocabulary()


def suggest(word: str, choices: Iterable[str]) -> str:
    """'; did you mean X or Y?' (difflib), or the declared names when nothing is close."""
    options = sorted(choices)
    close = difflib.get_close_matches(word, options, n=3, cutoff=0.6)
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    return f"; declared: {', '.join(options) if len(options) <= 30 else ', '.join(options[:30]) + ', ...'}"


def resolve(type_: str, path: str) -> str | None:
    """None when `path` names data a node of `type_` declares; else why not, with the closest valid names."""
    parts = path.split(".")
    head = parts[0]
    if head in PSEUDO:
        return None if len(parts) == 1 else f"{head!r} is a pseudo attribute and has no parts ({path!r})"
    if head == "tags":
        return None if len(parts) == 2 and parts[1] else f"tags takes one key: tags.KEY, not {path!r}"
    attrs = VOCABULARY.get(type_, {})
    decl = attrs.get(head)
    if decl is None:
        owners = sorted(t for t, a in VOCABULARY.items() if head in a)
        elsewhere = f" ({head!r} is an attribute of {', '.join(owners)}: reach it with related)" if owners else ""
        return f"{type_} has no attribute {head!r}{elsewhere}" + suggest(head, [*attrs, "tags", *PSEUDO])
    for i, part in enumerate(parts[1:], start=1):
        where = ".".join(parts[:i])
        if decl.type == MAP:
            if decl.of is None:
                return f"{where} is a map without declared values; it has no parts"
            decl = decl.of
        elif decl.type == LIST:
            if not part.isdigit():
                return f"{where} is a list: the next part must be an index (0, 1, ...), not {part!r}"
            if not decl.fields:
                return None if i == len(parts) - 1 else f"{where} items have no declared parts"
            decl = Attr(f"{decl.name}.{part}", OBJECT, decl.doc, decl.derived, decl.fields)
        elif decl.type in (OBJECT, API):
            sub = decl.field(part)
            if sub is None:
                return f"{where} has no field {part!r}" + suggest(part, [f.name for f in decl.fields])
            decl = sub
        else:
            return f"{where} is a {decl.type}: it has no part {part!r}"
    return None


def undeclared(type_: str, data: Mapping[str, Any]) -> list[str]:
    """The keys of `data` that `type_` does not declare (cheap: a set difference)."""
    attrs = VOCABULARY.get(type_, {})
    return [k for k in data if k not in attrs]


def bad_facet(type_: str, facet: str, edges: Iterable[str]) -> str | None:
    """Why an error facet is not something a node of `type_` has, or None."""
    if facet in NODE_FACETS or facet in VOCABULARY.get(type_, {}) or facet in READS.get(type_, ()):
        return None
    if facet.startswith("rel:"):
        return None if facet[4:] in set(edges) else f"error facet {facet!r}: no such edge label"
    return f"{type_} has no attribute {facet!r} to mark unreadable" + suggest(facet, VOCABULARY.get(type_, {}))


_PY = {STRING: (str,), TIMESTAMP: (str,), INTEGER: (int,), NUMBER: (int, float), BOOLEAN: (bool,),
       LIST: (list, tuple), OBJECT: (dict,), API: (dict,), MAP: (dict,)}


def type_problems(decl: Attr, value: Any, where: str) -> list[str]:
    """Where `value` does not have the declared type (None is always allowed: AWS omits fields)."""
    if value is None:
        return []
    ok = isinstance(value, _PY[decl.type]) and not (decl.type in (INTEGER, NUMBER) and isinstance(value, bool))
    if not ok:
        return [f"{where} is declared {decl.type}, got {type(value).__name__} {value!r:.60}"]
    out: list[str] = []
    if decl.type == OBJECT:
        for k, v in value.items():
            sub = decl.field(k)
            out += [f"{where}.{k} is not declared"] if sub is None else type_problems(sub, v, f"{where}.{k}")
    elif decl.type == API:
        for k, v in value.items():
            sub = decl.field(k)
            if sub is not None:
                out += type_problems(sub, v, f"{where}.{k}")
    elif decl.type == MAP and decl.of is not None:
        for k, v in value.items():
            out += type_problems(decl.of, v, f"{where}.{k}")
    elif decl.type == LIST and decl.fields:
        item = Attr(decl.name, OBJECT, decl.doc, decl.derived, decl.fields)
        for i, v in enumerate(value):
            out += type_problems(item, v, f"{where}.{i}")
    return out


def data_problems(type_: str, data: Mapping[str, Any]) -> list[str]:
    """Every undeclared key and every value of the wrong type in one node's data."""
    attrs = VOCABULARY.get(type_, {})
    out: list[str] = []
    for k, v in data.items():
        decl = attrs.get(k)
        if decl is None:
            out.append(f"{type_} has no attribute {k!r}" + suggest(k, attrs))
        else:
            out += type_problems(decl, v, f"{type_}.{k}")
    return out
