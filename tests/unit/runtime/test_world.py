"""The world model: each event updates the model and returns the apps to reconcile again."""

from __future__ import annotations

from microapp_operator.api.kinds import KNATIVE_SERVICE, PODMONITOR
from microapp_operator.core import catalog
from microapp_operator.runtime.world import World
from tests.factories import microapp


def app(name: str, template: str = "web-service@^1", team: str | None = "finance") -> dict:
    return microapp(name, owner=None, team=team, typed=False, template=template, image="registry.internal/a:1")


def world_with(*apps: dict) -> World:
    world = World()
    for body in apps:
        world.app_event("ADDED", body)
    return world


def test_app_events_enqueue_the_app_and_deletion_forgets_it() -> None:
    world = World()
    assert world.app_event("ADDED", app("a")) == [("ns", "a")]
    assert ("ns", "a") in world.apps
    assert world.app_event("DELETED", app("a")) == []
    assert world.apps == {}


def test_a_template_event_enqueues_only_apps_of_that_template() -> None:
    world = world_with(app("web"), app("job", "scheduled-job"), app("web2", "web-service"))
    web = next(o for o in catalog.builtin_objects() if o["spec"]["templateName"] == "web-service")
    assert sorted(world.template_event("ADDED", web)) == [("ns", "web"), ("ns", "web2")]
    assert ("web-service", web["spec"]["version"]) in world.templates
    version = world.catalog_version
    world.template_event("DELETED", web)
    assert world.templates == {} and world.catalog_version == version + 1


def test_an_invalid_template_is_ignored() -> None:
    world = world_with(app("web"))
    assert world.template_event("ADDED", {"metadata": {"name": "x"}, "spec": {"templateName": "BAD"}}) == []
    assert world.templates == {}


def test_only_the_default_policy_counts_and_it_enqueues_every_app() -> None:
    world = world_with(app("a"), app("b"))
    assert world.policy_event("ADDED", {"metadata": {"name": "other"}, "spec": {"teams": []}}) == []
    keys = world.policy_event("ADDED", {"metadata": {"name": "default"}, "spec": {"pricing": {"currency": "EUR"}}})
    assert sorted(keys) == [("ns", "a"), ("ns", "b")]
    assert world.prices.currency == "EUR"
    assert world.policy_event("ADDED", {"metadata": {"name": "default"}, "spec": {"pricing": {"currency": "x"}}}) == []
    assert world.prices.currency == "EUR"  # an invalid policy leaves the last good one


def test_budget_events_track_the_team_and_move_with_it() -> None:
    world = world_with(app("a"), app("none", team=None))
    body = {"metadata": {"name": "b1", "generation": 3}, "spec": {"team": "finance", "monthlyLimit": "100"}}
    assert world.budget_event("ADDED", body) == [("ns", "a")]
    assert world.budget_of("finance").limit == 100 and world.budgets["finance"].generation == 3
    moved = {**body, "spec": {"team": "hr", "monthlyLimit": "50"}}
    world.budget_event("MODIFIED", moved)
    assert world.budget_of("finance") is None and world.budget_of("hr").limit == 50
    world.budget_event("DELETED", moved)
    assert world.budgets == {}


def test_a_budget_status_update_re_checks_nothing_and_a_moved_budget_both_teams() -> None:
    """The operator writes TeamBudget status whenever a team's total moves: that must not
    re-queue the team's apps (at thousands of apps, every second during a rollout)."""
    world = world_with(app("a"), app("h", team="hr"), app("s", team="sales"))
    body = {"metadata": {"name": "b1", "generation": 1}, "spec": {"team": "finance", "monthlyLimit": "100"}}
    assert world.budget_event("ADDED", body) == [("ns", "a")]
    assert world.budget_event("MODIFIED", {**body, "status": {"committed": "12.00"}}) == []
    assert world.budgets["finance"].status == {"committed": "12.00"}
    moved = {**body, "spec": {"team": "hr", "monthlyLimit": "100"}}
    assert world.budget_event("MODIFIED", moved) == [("ns", "a"), ("ns", "h")]
    assert world.budget_event("DELETED", moved) == [("ns", "h")]


def test_apps_are_kept_packed_and_each_reader_gets_a_copy() -> None:
    world = world_with(
        {
            **app("a"),
            "metadata": {**app("a")["metadata"], "resourceVersion": "5", "managedFields": [{"manager": "kubectl"}]},
        }
    )
    first = world.apps[("ns", "a")]
    first["spec"]["image"] = "changed by a reader"
    assert world.apps[("ns", "a")]["spec"]["image"] == "registry.internal/a:1"
    assert "managedFields" not in first["metadata"]
    assert world.apps.where(team="finance", template="web-service") == [("ns", "a")]
    assert world.apps.where(team="hr") == []


def test_a_written_status_is_kept_unless_a_newer_app_arrived_meanwhile() -> None:
    world = world_with({**app("a"), "metadata": {**app("a")["metadata"], "resourceVersion": "5"}})
    read = world.apps[("ns", "a")]
    world.apps.status_written(("ns", "a"), {**read, "status": {"phase": "Running"}})
    assert world.apps.phase(("ns", "a")) == "Running"
    newer = {**read, "metadata": {**read["metadata"], "resourceVersion": "6"}, "spec": {**read["spec"], "replicas": 2}}
    world.app_event("MODIFIED", newer)
    world.apps.status_written(("ns", "a"), {**read, "status": {"phase": "Failed"}})  # written from rv 5
    assert world.apps[("ns", "a")]["spec"]["replicas"] == 2 and world.apps.phase(("ns", "a")) is None


def test_a_crd_appearing_or_going_re_checks_every_app() -> None:
    world = world_with(app("a"), app("b"))
    assert sorted(world.kind_changed(KNATIVE_SERVICE, True)) == [("ns", "a"), ("ns", "b")]
    assert world.podmonitor is False
    assert sorted(world.kind_changed(PODMONITOR, True)) == [("ns", "a"), ("ns", "b")]
    assert world.podmonitor is True
    world.kind_changed(PODMONITOR, False)
    assert world.podmonitor is False


def test_of_two_budgets_for_one_team_the_oldest_is_in_force_and_the_other_takes_over() -> None:
    """Whichever arrives first, the older TeamBudget sets the team's budget; the other is listed
    as shadowed (its status says so); when the older goes, the other is in force at once."""
    world = world_with(app("a"))
    older = {
        "metadata": {"name": "z-older", "generation": 1, "creationTimestamp": "2026-11-01T00:00:00Z"},
        "spec": {"team": "finance", "monthlyLimit": "100"},
    }
    newer = {
        "metadata": {"name": "a-newer", "generation": 1, "creationTimestamp": "2026-11-02T00:00:00Z"},
        "spec": {"team": "finance", "monthlyLimit": "5"},
    }
    assert world.budget_event("ADDED", newer) == [("ns", "a")]
    assert world.budget_event("ADDED", older) == [("ns", "a")]  # the older one, seen second, wins
    assert world.budget_of("finance").limit == 100
    assert [(shadowed.name, in_force.name) for shadowed, in_force in world.shadowed()] == [("a-newer", "z-older")]
    assert world.budget_event("MODIFIED", {**newer, "spec": {"team": "finance", "monthlyLimit": "7"}}) == []
    assert world.budget_event("DELETED", older) == [("ns", "a")]
    assert world.budget_of("finance").limit == 7 and world.shadowed() == []
    assert world.budget_event("DELETED", newer) == [("ns", "a")]
    assert world.budgets == {} and world.budget_objects == {}


def test_deleting_a_budget_that_is_not_in_force_changes_nothing() -> None:
    world = world_with(app("a"))
    older = {
        "metadata": {"name": "b1", "creationTimestamp": "2026-11-01T00:00:00Z"},
        "spec": {"team": "finance", "monthlyLimit": "100"},
    }
    newer = {
        "metadata": {"name": "b2", "creationTimestamp": "2026-11-02T00:00:00Z"},
        "spec": {"team": "finance", "monthlyLimit": "5"},
    }
    world.budget_event("ADDED", older)
    assert world.budget_event("ADDED", newer) == []
    assert world.budget_event("DELETED", newer) == []
    assert world.budget_of("finance").limit == 100


def test_a_deleted_app_is_forgotten_without_being_decoded(monkeypatch: object) -> None:
    world = world_with(app("a"))
    from microapp_operator.runtime import packed

    def refuse(self: object) -> dict:
        raise AssertionError("decoded")

    monkeypatch.setattr(packed.Packed, "unpack", refuse)  # type: ignore[attr-defined]
    assert world.app_event("DELETED", app("a")) == []
    assert ("ns", "a") not in world.apps
    world.apps.discard(("ns", "never"))
