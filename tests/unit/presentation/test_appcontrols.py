"""The buttons of an app's page (pure): what the state allows (core.actions.allowed) and the API
server's answer to the user's SelfSubjectAccessReview both decide; the posted forms become the
same patches as core.actions (those the Argo CD actions write)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from microapp_operator.api import types as api
from microapp_operator.core import actions
from microapp_operator.presentation import appcontrols
from tests.factories import microapp

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BOTH = {"patch": True, "delete": True}


def app(phase: str = "Running", **meta: str) -> dict:
    body = microapp("shop", "team-finance", uid="u-1", replicas=2, status={"phase": phase})
    body["metadata"].update(meta)
    return body


@pytest.mark.parametrize(
    ("phase", "shown"),
    [
        ("Running", ("keep-alive", "snooze", "scale", "edit", "delete")),
        ("Idle", ("keep-alive", "wake", "snooze", "scale", "edit", "delete")),
        ("Retired", ("restore", "edit", "delete")),
    ],
    ids=["running", "idle", "retired"],
)
def test_the_state_decides_which_buttons(phase: str, shown: tuple[str, ...]) -> None:
    c = appcontrols.build(app(phase), may=BOTH, max_replicas=5)
    assert c.shown == shown
    assert [c.label(a) for a in c.shown][-1] == "Delete"
    assert (c.replicas, c.uid, c.edit_link) == (2, "u-1", "/apps/team-finance/shop/edit")


def test_rbac_decides_too() -> None:
    assert appcontrols.build(app(), may={"patch": False, "delete": True}, max_replicas=None).shown == ("delete",)
    assert appcontrols.build(app(), may={"patch": True, "delete": False}, max_replicas=None).shown == (
        "keep-alive", "snooze", "scale", "edit"
    )  # fmt: skip
    none = appcontrols.build(app(), may={}, max_replicas=None)
    assert none.shown == () and "You may not change MicroApps in namespace team-finance" in (none.why_none or "")


def test_an_app_managed_through_git_changes_its_spec_and_existence_by_proposals() -> None:
    c = appcontrols.build(app(), may=BOTH, max_replicas=5, gitops=True)
    assert c.shown == ("keep-alive", "snooze", "edit", "delete")  # Scale is an edit, which proposes
    assert (c.gitops, c.delete_link) == (True, "/apps/team-finance/shop/propose-delete")
    assert not appcontrols.build(app(), may=BOTH, max_replicas=5).gitops


def test_an_app_being_deleted_offers_nothing() -> None:
    c = appcontrols.build(app(deletionTimestamp="2026-03-01T00:00:00Z"), may=BOTH, max_replicas=None)
    assert c.shown == () and "being deleted" in (c.why_none or "")


def test_only_known_actions_say_they_were_done() -> None:
    assert appcontrols.build(app(), may=BOTH, max_replicas=None, done="wake").done == appcontrols.DONE["wake"]
    assert appcontrols.build(app(), may=BOTH, max_replicas=None, done="<script>").done is None


def test_the_posted_forms_are_core_actions_patches() -> None:
    assert appcontrols.patch("keep-alive", {}, now=NOW, max_replicas=None) == actions.keep_alive(now=NOW)
    assert appcontrols.patch("wake", {}, now=NOW, max_replicas=None) == actions.wake(now=NOW)
    assert appcontrols.patch("restore", {}, now=NOW, max_replicas=None) == actions.restore(now=NOW)
    snoozed = appcontrols.patch("snooze", {"period": "3d"}, now=NOW, max_replicas=None)
    assert snoozed == actions.snooze(now=NOW, period=timedelta(days=3))
    assert snoozed["metadata"]["annotations"][api.SNOOZE_UNTIL_ANNOTATION] == "2026-03-04T12:00:00Z"
    assert appcontrols.patch("scale", {"replicas": " 3 "}, now=NOW, max_replicas=5) == {"spec": {"replicas": 3}}


@pytest.mark.parametrize(
    ("action", "form", "names"),
    [
        ("snooze", {"period": "999d"}, "period"),
        ("scale", {"replicas": "-1"}, "Replicas"),
        ("scale", {"replicas": "two"}, "Replicas"),
        ("scale", {"replicas": "9"}, "maxReplicas 5"),
        ("explode", {}, "action 'explode'"),
    ],
    ids=["snooze-period", "negative", "not-a-number", "above-max", "unknown"],
)
def test_a_bad_form_is_refused_naming_the_field(action: str, form: dict[str, str], names: str) -> None:
    with pytest.raises(actions.ActionError, match=names):
        appcontrols.patch(action, form, now=NOW, max_replicas=5)
