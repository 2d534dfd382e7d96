"""Every collector against the seeded demo account: expected nodes, attributes and labelled edges."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from auditor.collect import collect
from auditor.graph import ResourceGraph
from auditor.session import SessionFactory
from auditor_demo.account import demo_account

ACCT = "123456789012"
EP = f"arn:aws:sagemaker:us-east-1:{ACCT}:endpoint/"


@pytest.fixture(scope="module")
def graph() -> Iterator[ResourceGraph]:
    with demo_account() as regions:
        yield collect(SessionFactory(region=regions[0]), regions)


def ep(graph: ResourceGraph, name: str) -> str:
    matches = [n for n in graph.nodes_of_type("sagemaker.endpoint") if graph.attrs(n)["name"] == name]
    assert len(matches) == 1, name
    return matches[0]


def only(graph: ResourceGraph, node: str, label: str) -> str:
    rel = graph.related(node, label)
    assert len(rel) == 1, (node, label, rel)
    return rel[0]


def test_collects_every_endpoint_of_both_regions_without_errors(graph: ResourceGraph) -> None:
    assert len(graph.nodes_of_type("sagemaker.endpoint")) == 21
    assert {graph.attrs(n)["region"] for n in graph.nodes_of_type("sagemaker.endpoint")} == {"us-east-1", "eu-west-1"}
    assert graph.errors == []


def test_endpoint_chain_and_attributes(graph: ResourceGraph) -> None:
    e = ep(graph, "fraud-detector-prod")
    assert graph.attrs(e)["tags"]["environment"] == "production"
    cfg = only(graph, e, "uses_config")
    assert graph.attrs(cfg)["data"]["data_capture_config"]["EnableCapture"] is True
    variants = graph.related(e, "has_variant")
    assert [graph.attrs(v)["data"]["variant_name"] for v in variants] == ["blue", "green"]
    v = graph.attrs(variants[0])["data"]
    assert (v["instance_type"], v["vcpus"], v["current_instance_count"], v["current_weight"]) == ("ml.m5.large", 2, 2, 0.9)
    model = only(graph, variants[0], "serves_model")
    m = graph.attrs(model)["data"]
    assert m["vpc_config"]["Subnets"] and m["vpc_config"]["SecurityGroupIds"] and m["enable_network_isolation"] is True
    container = only(graph, model, "has_container")
    c = graph.attrs(container)["data"]
    assert c["image_registry_account"] == "763104351884" and c["model_package_name"]
    pkg = only(graph, container, "from_package")
    assert graph.attrs(pkg)["data"]["approval_status"] == "Approved"
    assert graph.attrs(pkg)["data"]["older_approved_versions"] == 1
    obj = only(graph, container, "artifact")
    assert graph.attrs(obj)["data"]["sse"] == "aws:kms"
    bucket = only(graph, obj, "stored_in")
    assert graph.attrs(bucket)["data"]["versioning_status"] == "Enabled"
    key = only(graph, obj, "encrypted_by")
    assert graph.attrs(key)["data"]["rotation_enabled"] is True and not graph.attrs(key)["dangling"]
    # the EU endpoint's artifact uses the us-east-1 key: it is described in its own region, not "missing"
    eu = graph.related(ep(graph, "fraud-detector-prod-eu"), "has_variant")[0]
    eu_obj = only(graph, only(graph, only(graph, eu, "serves_model"), "has_container"), "artifact")
    assert only(graph, eu_obj, "encrypted_by") == key
    assert only(graph, bucket, "encrypted_by") == key  # alias/ml-artifacts resolved to the same key ARN


def test_model_without_vpc_config_is_not_configured(graph: ResourceGraph) -> None:
    v = only(graph, ep(graph, "recommender-prod"), "has_variant")
    model = graph.attrs(only(graph, v, "serves_model"))["data"]
    assert not (model["vpc_config"] or {}).get("Subnets")  # moto answers VpcConfig: {} for none
    assert graph.attrs(v)["data"]["is_gpu"] is True and graph.attrs(v)["data"]["instance_type"] == "ml.g5.xlarge"


def test_vpc_subnets_security_groups_and_endpoints(graph: ResourceGraph) -> None:
    v = graph.related(ep(graph, "search-ranker-prod"), "has_variant")[0]
    model = only(graph, v, "serves_model")
    azs = {graph.attrs(s)["data"]["availability_zone"] for s in graph.related(model, "in_subnet")}
    assert azs == {"us-east-1a"}
    sg = only(graph, model, "has_security_group")
    assert graph.attrs(sg)["data"]["open_ingress_rules"], "the demo's open group admits the internet"
    vpc = only(graph, graph.related(model, "in_subnet")[0], "in_vpc")
    services = [graph.attrs(x)["data"]["service_name"] for x in graph.related(vpc, "has_vpc_endpoint")]
    assert services == ["com.amazonaws.us-east-1.sagemaker.runtime"]


def test_execution_roles_judged_for_wildcards(graph: ResourceGraph) -> None:
    admin = graph.attrs(f"arn:aws:iam::{ACCT}:role/sagemaker-exec-admin")["data"]
    least = graph.attrs(f"arn:aws:iam::{ACCT}:role/sagemaker-exec-fraud")["data"]
    assert admin["wildcard_grants"] == ["inline inference: Allow * on Resource *"]
    assert least["wildcard_grants"] == []


def test_autoscaling_targets_and_normalised_policies(graph: ResourceGraph) -> None:
    blue = graph.related(ep(graph, "fraud-detector-prod"), "has_variant")[0]
    target = only(graph, blue, "scaled_by")
    assert (graph.attrs(target)["data"]["min_capacity"], graph.attrs(target)["data"]["max_capacity"]) == (2, 4)
    policy = graph.attrs(only(graph, target, "has_policy"))["data"]
    assert policy["target_per_unit"] == 70.0 and policy["metric_name"] == policy["expected_metric"]
    ranker = graph.related(ep(graph, "search-ranker-prod"), "has_variant")[0]
    rp = graph.attrs(only(graph, only(graph, ranker, "scaled_by"), "has_policy"))["data"]
    assert rp["expected_metric"] == "GPUUtilization" and rp["metric_name"] != "GPUUtilization"
    assert rp["target_per_unit"] == round(70 / 48, 2)  # 48 vCPUs on ml.g5.12xlarge


def test_monitoring_schedules_and_definitions(graph: ResourceGraph) -> None:
    schedules = graph.related(ep(graph, "fraud-detector-prod"), "monitored_by")
    kinds = sorted(graph.attrs(s)["data"]["monitoring_type"] for s in schedules)
    assert kinds == ["DataQuality", "ModelBias", "ModelExplainability", "ModelQuality"]
    mq = next(s for s in schedules if graph.attrs(s)["data"]["monitoring_type"] == "ModelQuality")
    jd = graph.attrs(only(graph, mq, "uses_job_definition"))["data"]
    assert jd["ground_truth_uri"].startswith("s3://") and jd["baseline_constraints_uri"].endswith("constraints.json")


def test_alarms_dashboards_logs_and_rollback_links(graph: ResourceGraph) -> None:
    e = ep(graph, "fraud-detector-prod")
    metrics = {m for a in graph.related(e, "alarmed_by") for m in graph.attrs(a)["data"]["metric_names"]}
    # the drift alarm uses the Model Monitor dimension "Endpoint", not "EndpointName"
    assert {"ModelLatency", "Invocation5XXErrors", "Invocation4XXErrors", "feature_baseline_drift_total"} <= metrics
    assert graph.attrs(e)["data"]["dashboard_metrics"]["ModelLatency"] == ["p50", "p95", "p99"]
    assert graph.attrs(only(graph, e, "logs_to"))["data"]["retention_in_days"] == 90
    assert len(graph.related(e, "rollback_alarm")) == 4
    churn = ep(graph, "churn-model-prod")
    assert all(graph.attrs(a)["dangling"] for a in graph.related(churn, "rollback_alarm"))


def test_metrics_idle_busy_and_utilisation(graph: ResourceGraph) -> None:
    assert graph.attrs(ep(graph, "nlp-playground-dev"))["data"]["invocations_window"] == 0.0
    assert graph.attrs(ep(graph, "fraud-detector-prod"))["data"]["invocations_window"] == 2 * 24 * 1200
    nightly = graph.related(ep(graph, "nightly-scoring-prod"), "has_variant")[0]
    assert graph.attrs(nightly)["data"]["metrics"]["invocations_top4h_share"] == 1.0
    rec = graph.related(ep(graph, "recommender-prod"), "has_variant")[0]
    assert graph.attrs(rec)["data"]["metrics"]["gpu_avg_per_gpu"] < 5


def test_dangling_model_is_visible_not_a_crash(graph: ResourceGraph) -> None:
    v = graph.related(ep(graph, "legacy-scoring-dev"), "has_variant")[0]
    model = only(graph, v, "serves_model")
    assert graph.attrs(model)["dangling"] is True


def test_trail_and_event_rule_per_region(graph: ResourceGraph) -> None:
    east, west = f"aws:{ACCT}:us-east-1", f"aws:{ACCT}:eu-west-1"
    trail = graph.attrs(only(graph, east, "has_trail"))["data"]
    assert trail["is_logging"] is True and trail["captures_endpoint_data_events"] is True
    assert graph.related(west, "has_trail") == graph.related(east, "has_trail")  # multi-region trail
    assert len(graph.related(east, "has_event_rule")) == 1 and graph.related(west, "has_event_rule") == []


def test_snapshot_round_trip_is_exact(graph: ResourceGraph, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "snap.json"
    graph.save(path)
    again = ResourceGraph.load(path)
    assert again.to_dict() == graph.to_dict()


def test_rollback_target_first_version_passes_rejected_predecessor_fails(graph: ResourceGraph) -> None:
    from auditor.engine.evaluator import evaluate_rules
    from auditor.engine.loader import load_rules

    rule = [r for r in load_rules() if r.id == "SM-03-rollback-target"]
    got = {f.resource.name: f for f in evaluate_rules(graph, rule).findings}
    assert got["fraud-detector-prod"].status.value == "pass"
    assert got["recommender-prod"].status.value == "pass"  # version 1 of its group: nothing to roll back to
    assert any(c.get("check") == "version" and c.get("actual") == 1 for c in got["recommender-prod"].evidence["checks"])
    assert got["search-ranker-prod"].status.value == "fail"  # version 2; version 1 was rejected


def test_model_deployed_by_image_and_artifact_is_matched_to_its_registered_version(graph: ResourceGraph) -> None:
    model = only(graph, only(graph, ep(graph, "fraud-detector-staging"), "has_variant"), "serves_model")
    container = only(graph, model, "has_container")
    data = graph.attrs(container)["data"]
    assert data["model_package_name"] is None and data["package_basis"] == "inferred"
    package = only(graph, container, "from_package")
    assert graph.attrs(package)["data"]["group_name"] == "fraud-detector"
    assert data["package_match"]["artifact_uri"] == data["artifact_uri"]


def _endpoint(graph: ResourceGraph, name: str) -> str:
    return next(n for n in graph.nodes_of_type("sagemaker.endpoint") if graph.attrs(n)["name"] == name)


def test_shadow_variants_are_collected_with_their_model_chain(graph: ResourceGraph) -> None:
    ep = _endpoint(graph, "ranker-shadow-prod")
    variants = {graph.attrs(v)["data"]["variant_name"]: graph.attrs(v)["data"] for v in graph.related(ep, "has_variant")}
    assert variants["candidate"]["shadow"] is True and variants["main"]["shadow"] is False
    shadow = next(v for v in graph.related(ep, "has_variant") if graph.attrs(v)["data"]["shadow"])
    container = only(graph, only(graph, shadow, "serves_model"), "has_container")
    assert graph.attrs(container)["data"]["image"] == "quay.io/acme-labs/ranker-candidate:0.9"
    assert "shadow" in graph.attrs(ep)["data"]["hosting_shapes"]


def test_async_endpoint_is_flagged_and_counted_on_invocations_processed(graph: ResourceGraph) -> None:
    ep = graph.attrs(_endpoint(graph, "doc-summariser-async-prod"))
    assert ep["data"]["async_inference"] is True and ep["data"]["hosting_shapes"] == ["asynchronous"]
    assert ep["data"]["invocations_window"] > 0  # InvocationsProcessed: async endpoints publish no Invocations


def test_multi_model_and_model_data_source_artifacts_are_prefixes_read_in_full(graph: ResourceGraph) -> None:
    for name, objects in (("catalog-mme-prod", 3), ("llm-assist-prod", 3)):
        ep = _endpoint(graph, name)
        variant = only(graph, ep, "has_variant")
        obj = graph.attrs(only(graph, only(graph, only(graph, variant, "serves_model"), "has_container"), "artifact"))
        assert obj["data"]["is_prefix"] is True and obj["data"]["objects_checked"] == objects, name
        assert "bound 200" in obj["data"]["explain"]["sse"]
    assert graph.attrs(_endpoint(graph, "catalog-mme-prod"))["data"]["unsupported"]["model_monitor"].startswith(
        "AWS does not support Model Monitor on multi-model endpoints")


def test_serverless_limits_are_recorded_on_endpoint_and_model(graph: ResourceGraph) -> None:
    ep = _endpoint(graph, "quote-serverless-prod")
    assert set(graph.attrs(ep)["data"]["unsupported"]) == {"data_capture", "model_monitor"}
    model = only(graph, only(graph, ep, "has_variant"), "serves_model")
    assert set(graph.attrs(model)["data"]["unsupported"]) == {"vpc", "network_isolation"}


def test_every_container_of_an_inference_pipeline_is_a_node(graph: ResourceGraph) -> None:
    model = only(graph, only(graph, _endpoint(graph, "claims-pipeline-prod"), "has_variant"), "serves_model")
    images = [graph.attrs(c)["data"]["image_repository"] for c in graph.related(model, "has_container")]
    assert images == ["sagemaker-scikit-learn", "pytorch-inference"]


def test_a_marketplace_package_leaves_image_and_artifact_unknown_not_absent(graph: ResourceGraph) -> None:
    model = only(graph, only(graph, _endpoint(graph, "vendor-sentiment-prod"), "has_variant"), "serves_model")
    container = graph.attrs(only(graph, model, "has_container"))
    assert container["data"]["image_registry_account"] == "865070037744"  # the seller's image, as subscribers see it
    assert "does not disclose its model artifact" in container["errors"]["has_artifact"]
    assert "rel:artifact" in container["errors"]
