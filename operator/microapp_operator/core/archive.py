"""What a retired app keeps (pure): the ConfigMap ``microapp-archive-<name>``.

Archive retirement removes the app's workload and keeps the MicroApp; this ConfigMap keeps
what bringing it back needs and what people ask afterwards: the spec, the template version it
ran, the objects it had and what it cost. It is a child of the MicroApp (deleting the app
deletes it), so it never outlives the app it describes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from . import rendered
from .app import App

PREFIX = "microapp-archive-"
ARGO_KEYS = ("argocd.argoproj.io/tracking-id", "argocd.argoproj.io/instance", "app.kubernetes.io/instance")


def name(app: str) -> str:
    return f"{PREFIX}{app}"[:253]


def configmap(
    app: App,
    *,
    template: Mapping[str, Any],
    inventory: list[dict[str, str]],
    monthly: Decimal,
    currency: str,
    retired_at: datetime,
) -> dict[str, Any]:
    data = {
        "spec.json": json.dumps(app.spec.model_dump(by_alias=True, exclude_none=True), sort_keys=True),
        "template.json": json.dumps(dict(template), sort_keys=True),
        "inventory.json": json.dumps(inventory, sort_keys=True),
        "cost": f"{monthly} {currency}/month",
        "retiredAt": retired_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name(app.name)}, "data": data}
    return rendered.stamp(obj, app=app.name, namespace=app.namespace, team=app.team, uid=app.meta.uid)


def tracked_by_argo(labels: Mapping[str, str], annotations: Mapping[str, str]) -> bool:
    """Argo CD tracks this MicroApp: deleting it would only make Git recreate it."""
    return any(key in labels or key in annotations for key in ARGO_KEYS)
