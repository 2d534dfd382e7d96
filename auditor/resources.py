"""Where the built-in rules and HTML templates live: inside the installed package, or at the top of a checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

# Where the wheel puts the checkout's top-level folders (pyproject.toml, wheel force-include).
PACKAGED = {"rules": "rules", "reports/templates": "report/templates"}


def _locate(checkout_relative: str) -> Path:
    # The installed copy first: a checkout has none, and an installed package must never pick up an unrelated
    # top-level "rules" folder that happens to sit beside it in site-packages.
    packaged = Path(str(resources.files("auditor"))) / PACKAGED[checkout_relative]
    if packaged.is_dir():
        return packaged
    root = Path(str(resources.files("auditor"))).parent
    checkout = root / checkout_relative
    if (root / "pyproject.toml").is_file() and checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"{checkout_relative}/ is neither installed in the auditor package ({packaged}) nor in "
                            f"a checkout at {root}; reinstall sagemaker-auditor")


def rules_dir() -> Path:
    """The built-in rule files (one YAML file per rule, grouped by policy)."""
    return _locate("rules")


def templates_dir() -> Path:
    """The jinja2 templates of the HTML report."""
    return _locate("reports/templates")
