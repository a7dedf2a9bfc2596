"""Never touch what is not ours: conflicts and missing kinds, in plain sentences."""

from __future__ import annotations

from microapp_operator.core import ownership

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ledger-otel", "namespace": "team-finance"}}
OURS = {"metadata": {"ownerReferences": [{"kind": "MicroApp", "name": "ledger", "uid": "u1", "controller": True}]}}


def conflicts(live: dict | None, **kw: object) -> list[str]:
    return ownership.conflicts([CM], lambda obj: live, app="ledger", uid="u1", **kw)  # type: ignore[arg-type]


def test_absent_or_own_objects_are_no_conflict() -> None:
    assert conflicts(None) == [] and conflicts(OURS) == []


def test_a_foreign_object_is_named_with_who_holds_it_and_the_fix() -> None:
    [msg] = conflicts({"metadata": {"managedFields": [{"manager": "kubectl-create"}]}})
    assert msg.startswith(
        "ConfigMap 'ledger-otel' (v1) in namespace team-finance already exists and is not "
        "managed by this MicroApp (created by kubectl-create)"
    )
    assert "rename the MicroApp (metadata.name)" in msg
    [msg] = conflicts(
        {"metadata": {"ownerReferences": [{"kind": "Deployment", "name": "x", "uid": "u9", "controller": True}]}}
    )
    assert "(it is controlled by Deployment 'x')" in msg
    [msg] = conflicts({"metadata": {}})
    assert "(it has no owner)" in msg


def test_the_creator_is_the_first_spec_writer_not_a_status_writer() -> None:
    fields = [
        {
            "manager": "kube-controller-manager",
            "operation": "Update",
            "subresource": "status",
            "time": "2026-01-01T00:00:01Z",
        },
        {"manager": "helm", "operation": "Update", "time": "2026-01-01T00:00:05Z"},
        {"manager": "kubectl-create", "operation": "Update", "time": "2026-01-01T00:00:00Z"},
    ]
    [msg] = conflicts({"metadata": {"managedFields": fields}})
    assert "(created by kubectl-create)" in msg


def test_an_owner_reference_that_is_not_the_controller_does_not_make_it_ours() -> None:
    ref = {"kind": "MicroApp", "name": "ledger", "uid": "u1", "controller": False}
    assert len(conflicts({"metadata": {"ownerReferences": [ref]}})) == 1


def test_a_deleted_app_of_the_same_name_is_waited_for_and_not_refused_at_admission() -> None:
    previous = {
        "metadata": {"ownerReferences": [{"kind": "MicroApp", "name": "ledger", "uid": "old", "controller": True}]}
    }
    [msg] = conflicts(previous)
    assert "still belongs to a deleted MicroApp named 'ledger'" in msg
    assert conflicts(previous, include_previous=False) == []


def test_missing_kinds_name_the_api_and_what_to_install() -> None:
    ksvc = {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": "fn"}}
    [msg] = ownership.unavailable(
        [ksvc, ksvc], {("serving.knative.dev/v1", "Service")}, template="serverless-function@1.0.0"
    )
    assert msg == (
        "template serverless-function@1.0.0 renders a serving.knative.dev/v1 Service, which this "
        "cluster does not serve: the platform team must install Knative Serving (its CRDs and "
        "controller, https://knative.dev/docs/install/); until then the app cannot run"
    )
    assert ownership.unavailable([ksvc], set(), template="x") == []
