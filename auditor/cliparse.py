"""The argparse pieces of the one `audit` command tree: errors that say what is allowed, subcommands that parse
the rest of the line themselves."""

from __future__ import annotations

import argparse
import difflib
import re
from typing import Any, NoReturn


class Parser(argparse.ArgumentParser):
    """argparse with errors that point at what is allowed: the closest known flag, and where the full list is."""

    argv: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # no abbreviations: `--rem` must not silently mean --remediate, nor a later flag change what it means
        super().__init__(*args, **{"allow_abbrev": False, **kwargs})

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        self.argv = list(args or [])
        return super().parse_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        known = [o for a in self._actions for o in a.option_strings]
        choice = re.search(r"invalid choice: '(.*?)'", message)
        if choice and choice.group(1) in self.argv:  # `audit --regoin x`: the flag is the mistake, not "x"
            before = self.argv[:self.argv.index(choice.group(1))]
            typos = [a for a in before if a.startswith("-") and a.split("=")[0] not in known]
            if typos:
                message = f"unrecognized arguments: {' '.join(typos)}"
        unknown = re.match(r"unrecognized arguments: (.*)", message)
        if unknown:
            hints = [f"{flag}: did you mean {close[0]}?" for flag in unknown.group(1).split()
                     if flag.startswith("-") and (close := self._closest(flag.split("=")[0], known))]
            if hints:
                message += f" ({'; '.join(hints)})"
        super().error(f"{message}; `{self.prog} --help` lists what is allowed")

    @staticmethod
    def _closest(flag: str, known: list[str]) -> list[str]:
        """What an abbreviation would have meant (the one flag it starts), else the most similar flag."""
        prefixed = [k for k in known if k.startswith(flag) and len(flag) > 2]
        return prefixed if len(prefixed) == 1 else difflib.get_close_matches(flag, known, 1)


class Commands(argparse._SubParsersAction):
    """Subcommands whose own parser reads the rest of the line, so its errors show its usage. At the root, options
    given before the subcommand are refused: they are the audit's and would silently not apply to the subcommand."""

    root = False

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        name, rest = values[0], list(values[1:])
        if self.root:
            given = [a.option_strings[-1] for a in parser._actions
                     if a.option_strings and a.default is not argparse.SUPPRESS
                     and getattr(namespace, a.dest, a.default) != a.default]
            if given:
                parser.error(f"{', '.join(given)} before `{name}`: the audit's options do not apply to "
                             f"`audit {name}`; its own go after it (audit {name} --help)")
        setattr(namespace, self.dest, name)
        for key, value in vars(self._name_parser_map[name].parse_args(rest)).items():
            setattr(namespace, key, value)


def subcommands(p: argparse.ArgumentParser, dest: str, required: bool, root: bool = False) -> Any:
    sub: Any = p.add_subparsers(dest=dest, required=required, metavar="COMMAND", action=Commands)
    sub.root = root
    return sub
