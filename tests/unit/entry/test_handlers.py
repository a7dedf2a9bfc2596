"""The Kopf wiring: every handler runs on the event loop that owns the controller's state."""

from __future__ import annotations

import functools
import inspect
import unittest.mock

import kopf

from microapp_operator.entry import handlers


def test_every_handler_is_async() -> None:
    """Kopf runs plain functions in a thread pool; the controller (apps, catalog, ledger, work
    queue) is not thread-safe, so a sync handler would race the admission path."""
    registry = kopf.get_default_registry()  # the event handlers register on import
    webhooks = kopf.OperatorRegistry()
    with unittest.mock.patch.object(kopf.on, "validate", functools.partial(kopf.on.validate, registry=webhooks)):
        handlers.register_admission()
    # (Kopf's own fallback logins, registered when no client library is installed, yield to ours)
    found = [
        h.fn
        for part in (registry._activities, registry._watching, webhooks._webhooks)
        for h in part.get_all_handlers()
        if not getattr(h, "_fallback", False)
    ]
    names = {fn.__name__ for fn in found}
    assert {
        "login",
        "start",
        "stop",
        "microapp_event",
        "apptemplate_event",
        "policy_event",
        "teambudget_event",
        "admit_microapp",
        "admit_microapp_scale",
    } <= names
    assert [fn.__name__ for fn in found if not inspect.iscoroutinefunction(fn)] == []


def test_kopf_lists_in_chunks_and_lets_idle_workers_go_soon() -> None:
    """At a start with thousands of apps, Kopf's defaults held every app's body at once."""
    settings = kopf.OperatorSettings()
    handlers.tune(settings)
    assert settings.watching.chunk_size == 500 and settings.queueing.idle_timeout == 0.5
    assert settings.posting.enabled is False


def test_no_last_handled_state_is_built_and_nothing_would_need_it() -> None:
    """Kopf deep-copied every event's body into a diff base that only on.create/update/delete
    handlers read; there are none, and the storage now builds and stores nothing."""
    settings = kopf.OperatorSettings()
    handlers.tune(settings)
    body = kopf.Body({"metadata": {"name": "a", "annotations": {"x": "1"}}, "spec": {"image": "i"}})
    assert settings.persistence.diffbase_storage.build(body=body) == {}
    assert settings.persistence.diffbase_storage.fetch(body=body) is None
    assert kopf.get_default_registry()._changing.get_all_handlers() == []
