"""Kopf's watch events, handed to the manager as they come.

Only raw event handlers (``@kopf.on.event``): Kopf then keeps no state on the objects at all, no
annotations, no finalizers, no ``status.kopf``, so the operator never writes a MicroApp's spec or
metadata and an unchanged app costs no writes. Every handler is ``async`` although none awaits:
Kopf runs plain functions in a thread pool, and the runtime's state belongs to the event loop.
"""

from __future__ import annotations

from typing import Any

import kopf

from ..api import types as api


@kopf.on.event(api.GROUP, api.VERSION, "microapps")
async def microapp_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    memo.manager.app_event(event.get("type"), event["object"])


@kopf.on.event(api.GROUP, api.VERSION, "apptemplates")
async def apptemplate_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    memo.manager.template_event(event.get("type"), event["object"])


@kopf.on.event(api.GROUP, api.VERSION, "platformpolicies")
async def policy_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    memo.manager.policy_event(event.get("type"), event["object"])


@kopf.on.event(api.GROUP, api.VERSION, "teambudgets")
async def teambudget_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    memo.manager.budget_event(event.get("type"), event["object"])
