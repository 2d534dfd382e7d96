"""Locating the built-in rules and templates: in a checkout, and in an installed package."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor import resources

REPO = Path(__file__).resolve().parent.parent


def test_checkout_finds_the_top_level_rules_and_templates() -> None:
    assert resources.rules_dir() == REPO / "rules"
    assert resources.templates_dir() == REPO / "reports" / "templates"
    assert (resources.templates_dir() / "report.html.j2").is_file()


def _fake_site_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    package = tmp_path / "site-packages" / "auditor"
    package.mkdir(parents=True)
    monkeypatch.setattr(resources.resources, "files", lambda name: package)
    return package


def test_installed_package_uses_the_copies_inside_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = _fake_site_packages(tmp_path, monkeypatch)
    (package / "rules").mkdir()
    (package / "report" / "templates").mkdir(parents=True)
    (package.parent / "rules").mkdir()  # an unrelated top-level folder must not win
    assert resources.rules_dir() == package / "rules"
    assert resources.templates_dir() == package / "report" / "templates"


def test_a_rules_folder_beside_an_installed_package_is_not_taken_for_a_checkout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = _fake_site_packages(tmp_path, monkeypatch)
    (package.parent / "rules").mkdir()  # no pyproject.toml beside it: not a checkout
    with pytest.raises(FileNotFoundError, match="reinstall sagemaker-auditor"):
        resources.rules_dir()
