"""The engine stands alone: it takes the remediator names from its caller and never imports remediation."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.engine.config import load_config
from auditor.remediate.registry import catalogue
from auditor.yamlsafe import InputError

ROOT = Path(__file__).resolve().parents[2]


def test_loading_rules_and_config_and_evaluating_imports_no_remediation(tmp_path: Path) -> None:
    (tmp_path / "audit.yaml").write_text("remediation: {raise-min-instances: {min: 3}}\n")
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from auditor.engine.config import load_config
        from auditor.engine.evaluator import evaluate_rules
        from auditor.engine.loader import load_rules
        from auditor.graph import ResourceGraph
        cfg = load_config(Path({str(tmp_path / "audit.yaml")!r}), {{"raise-min-instances": ("min",)}})
        rules = load_rules(remediators={sorted(catalogue())!r})
        evaluate_rules(ResourceGraph(meta={{"collected_at": "2026-11-25T00:00:00Z"}}), rules, cfg)
        leaked = sorted(m for m in sys.modules if m.startswith("auditor.remediate"))
        assert not leaked, leaked
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_config_remediation_section_is_checked_against_the_names_given(tmp_path: Path) -> None:
    path = tmp_path / "audit.yaml"
    path.write_text("remediation:\n  raise-min-instances: {minimum: 3}\n")
    with pytest.raises(InputError, match=r"audit\.yaml:2: remediation.raise-min-instances: no parameter 'minimum'"):
        load_config(path, catalogue())
    path.write_text("remediation:\n  fix-everything: {}\n")
    with pytest.raises(InputError, match="unknown remediator 'fix-everything'"):
        load_config(path, catalogue())
    assert load_config(path).remediation == {"fix-everything": {}}  # no names given: nothing to check against


def test_rules_validate_still_names_an_unknown_remediator(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["rules", "validate", str(ROOT / "tests/engine/broken/unknown-remediator.yaml")])
    assert code == 2
    assert "unknown remediator 'fix-everything'" in capsys.readouterr().err
