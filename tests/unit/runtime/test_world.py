"""The world model: each event updates the model and returns the apps to reconcile again."""

from __future__ import annotations

from microapp_operator.api.kinds import KNATIVE_SERVICE, PODMONITOR
from microapp_operator.core import catalog
from microapp_operator.runtime.world import World


def app(name: str, template: str = "web-service@^1", team: str | None = "finance") -> dict:
    ann = {"microapp.dev/team": team} if team else {}
    return {"metadata": {"name": name, "namespace": "ns", "annotations": ann},
            "spec": {"template": template, "image": "registry.internal/a:1"}}


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
    keys = world.policy_event("ADDED", {"metadata": {"name": "default"},
                                        "spec": {"pricing": {"currency": "EUR"}}})
    assert sorted(keys) == [("ns", "a"), ("ns", "b")]
    assert world.prices.currency == "EUR"
    assert world.policy_event("ADDED", {"metadata": {"name": "default"}, "spec": {"pricing": {"currency": "x"}}}) == []
    assert world.prices.currency == "EUR"   # an invalid policy leaves the last good one


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


def test_a_crd_appearing_or_going_re_checks_every_app() -> None:
    world = world_with(app("a"), app("b"))
    assert sorted(world.kind_changed(KNATIVE_SERVICE, True)) == [("ns", "a"), ("ns", "b")]
    assert world.podmonitor is False
    assert sorted(world.kind_changed(PODMONITOR, True)) == [("ns", "a"), ("ns", "b")]
    assert world.podmonitor is True
    world.kind_changed(PODMONITOR, False)
    assert world.podmonitor is False
