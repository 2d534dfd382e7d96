"""The endpoint roll-up: a finding on anything an endpoint depends on reaches that endpoint's row, shared once."""

from __future__ import annotations

from typing import Any

from auditor.engine.config import Config
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import load_rules
from auditor.report import html, matrix
from auditor.report.model import Report, ReportFinding, build_report
from tests.conftest import ACCOUNT, build_graph

EP = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint"
BUCKET = "arn:aws:s3:::shared-models"


def fleet() -> dict[str, Any]:
    """Two endpoints (one production) whose models keep artifacts in one unversioned bucket."""
    nodes: list[dict[str, Any]] = [
        {"id": BUCKET, "type": "s3.bucket", "name": "shared-models", "data": {"versioning_status": "Suspended"}},
        {"id": f"aws:{ACCOUNT}:us-east-1", "type": "aws.region", "name": "us-east-1"},
    ]
    edges = []
    for name, env in (("prod-ep", "production"), ("dev-ep", "dev")):
        ep, model, obj = f"{EP}/{name}", f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/{name}-m", \
            f"arn:aws:s3:::shared-models/{name}/model.tar.gz"
        nodes += [{"id": ep, "type": "sagemaker.endpoint", "name": name, "tags": {"environment": env}},
                  {"id": f"{ep}/variant/main", "type": "sagemaker.variant", "name": f"{name}/main",
                   "data": {"serverless": False, "current_instance_count": 1, "initial_instance_count": 1}},
                  {"id": model, "type": "sagemaker.model", "name": f"{name}-m"},
                  {"id": f"{model}/container/0", "type": "sagemaker.container", "name": f"{name}-m#0"},
                  {"id": obj, "type": "s3.object", "name": f"s3://shared-models/{name}/model.tar.gz"}]
        edges += [(ep, "has_variant", f"{ep}/variant/main"), (f"{ep}/variant/main", "serves_model", model),
                  (model, "has_container", f"{model}/container/0"), (f"{model}/container/0", "artifact", obj),
                  (obj, "stored_in", BUCKET), (ep, "in_region", f"aws:{ACCOUNT}:us-east-1")]
    return {"nodes": nodes, "edges": edges}


def report() -> dict[str, Any]:
    graph = build_graph(fleet())
    return build_report(evaluate_rules(graph, load_rules(), Config()), graph)


def test_findings_carry_the_endpoints_they_affect_and_their_environment() -> None:
    doc = report()
    bucket = [f for f in doc["findings"] if f["resource"]["arn"] == BUCKET]
    assert bucket and all(f["endpoints"] == [f"{EP}/dev-ep", f"{EP}/prod-ep"] for f in bucket)
    assert all(f["environment"] == "production" for f in bucket)  # one production dependant is enough
    variant = next(f for f in doc["findings"] if f["resource"]["arn"] == f"{EP}/dev-ep/variant/main")
    assert variant["endpoints"] == [f"{EP}/dev-ep"] and variant["environment"] == "non-production"
    region = [f for f in doc["findings"] if f["resource"]["type"] == "aws.region"]
    assert region and all("endpoints" not in f for f in region)  # region membership is not a dependency
    versioning = next(f for f in bucket if f["rule_id"] == "SM-02-bucket-versioning")
    assert versioning["references"]["policy_section"].startswith("Model Preparation")


def test_a_failing_shared_bucket_marks_every_endpoint_that_uses_it() -> None:
    m = matrix.build(Report.from_json(report()).findings)
    rows = {r.name: r for g in m.endpoints for r in g.rows}
    assert set(rows) == {"prod-ep", "dev-ep"}
    for row in rows.values():
        assert row.cells[2][0] == "fail"  # policy 2 (artifact versioning) fails through the bucket
    assert rows["prod-ep"].environment == "production"
    assert [r.arn for r in m.endpoints[0].rows][0] == f"{EP}/prod-ep"  # production first
    assert [r.arn for r in m.shared] == [BUCKET] and m.shared[0].endpoints == [f"{EP}/dev-ep", f"{EP}/prod-ep"]
    assert [r.type for g in m.account_level for r in g.rows] == ["aws.region"]


def test_cell_is_the_worst_status_with_its_count() -> None:
    def f(status: str, policy: int = 3, advisory: bool = False) -> ReportFinding:
        return ReportFinding.from_json({
            "rule_id": "SM-03-x", "policy": policy, "severity": "high", "status": status, "endpoints": [f"{EP}/e"],
            "advisory": advisory, "resource": {"arn": f"{EP}/e/variant/v", "type": "sagemaker.variant", "name": "v",
                                               "account": ACCOUNT, "region": "us-east-1"}})

    m = matrix.build([f("pass"), f("error"), f("error"), f("exempt"), f("pass", 4)])
    row = m.endpoints[0].rows[0]
    assert row.cells == {3: ["error", 2], 4: ["pass", 1]}
    assert row.name == "e" and row.region == "us-east-1"  # identity from the ARN: the endpoint had no finding
    assert matrix.build([f("pass"), f("fail", advisory=True)]).endpoints[0].rows[0].cells == {3: ["pass", 1]}


def test_payload_names_each_rule_and_resource_once() -> None:
    typed = Report.from_json(report())
    data = html.payload(typed, matrix.build(typed.findings))
    assert len(data["findings"]) == len(typed.findings)
    assert len({r[0] for r in data["resources"]}) == len(data["resources"])
    assert len({r[0] for r in data["rules"]}) == len(data["rules"])
    bucket = next(i for i, r in enumerate(data["resources"]) if r[0] == BUCKET)
    shared = data["matrix"]["shared"]
    assert shared[0][0] == bucket and shared[0][1] == "fail" and len(shared[0][2]) == 2
