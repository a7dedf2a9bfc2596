"""From a MicroApp to the exact objects to apply (pure): the one pipeline that the
reconciler, the admission webhook and the CLI all call.

resolve template -> validate parameters -> render -> check rendered objects -> suspend.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..api import types as api
from ..api.conditions import Reason
from ..api.kinds import KNATIVE_SERVICE, inventory_entry
from . import catalog, guardrails, network, parameters, rbac, render, rendered, telemetry
from .app import App, AppMeta, PlanError, parse, parse_spec, spec_errors  # noqa: F401 - the pipeline's entry types


@dataclass(frozen=True)
class Plan:
    resolution: catalog.Resolution
    values: render.AppValues
    objects: tuple[dict[str, Any], ...]
    url: str | None
    telemetry: bool = False

    @property
    def runtime(self) -> str:
        return self.resolution.template.runtime

    def inventory(self) -> list[dict[str, str]]:
        return [inventory_entry(o) for o in self.objects]


def app_values(app: App, template: api.AppTemplateSpec) -> render.AppValues:
    """The app's effective settings: spec first, then the template's defaults."""
    spec = app.spec
    defaults = template.defaults or api.TemplateDefaults()
    default_res = defaults.resources or api.Resources()
    res = spec.resources or api.Resources()
    return render.AppValues(
        name=app.name,
        namespace=app.namespace,
        team=app.team,
        image=spec.image,
        replicas=spec.replicas
        if spec.replicas is not None
        else (defaults.replicas if defaults.replicas is not None else 1),
        port=spec.port or defaults.port or 8080,
        resources={"cpu": res.cpu or default_res.cpu or "100m", "memory": res.memory or default_res.memory or "128Mi"},
        env=[{"name": e.name, "value": e.value} for e in spec.env or []],
        expose=spec.expose or "internal",
        host=spec.host,
        suspend=bool(spec.suspend),
    )


def desired(
    app: App,
    templates: Iterable[api.AppTemplateSpec],
    *,
    pinned: str | None = None,
    policy: api.PlatformPolicySpec | None = None,
    podmonitor: bool = False,
    work: Plan | None = None,
) -> Plan:
    """The objects this app should consist of right now. No side effects.

    ``podmonitor``: the Prometheus Operator's PodMonitor CRD exists (scrape through it instead
    of annotations). ``work``: the app's workload if the caller has it already (priced)."""
    policy = policy or api.PlatformPolicySpec()
    work = work or workload(app, templates, pinned=pinned, policy=policy, podmonitor=podmonitor)
    values, uid = work.values, app.meta.uid
    dashboard = (
        [telemetry.dashboard(app=values.name, namespace=values.namespace, team=values.team)] if work.telemetry else []
    )
    monitor = (
        [telemetry.pod_monitor(app=values.name, namespace=values.namespace, port=values.port)]
        if work.telemetry and podmonitor and work.runtime != "serverless"
        else []
    )
    children = [
        *work.objects,
        *(
            rendered.stamp(o, app=values.name, namespace=values.namespace, team=values.team, uid=uid)
            for o in dashboard + monitor
        ),
    ]
    granted = children[: len(children) - len(monitor)]  # editors and viewers may read these (not the PodMonitor)
    objects = access(app, values, granted, work.resolution.template, policy) + children
    return Plan(work.resolution, values, tuple(objects), work.url, work.telemetry)


def workload(
    app: App,
    templates: Iterable[api.AppTemplateSpec],
    *,
    pinned: str | None = None,
    policy: api.PlatformPolicySpec | None = None,
    podmonitor: bool = False,
) -> Plan:
    """What runs, and so what costs and what the guardrails judge: the template's objects
    with telemetry wired in, checked and completed. ``desired`` adds what the operator
    generates around them (access objects, dashboard, PodMonitor); admission needs only this."""
    policy = policy or api.PlatformPolicySpec()
    spec = app.spec
    try:
        resolution = catalog.resolve(spec.template, templates, pinned=pinned)
    except catalog.ResolutionError as exc:
        raise PlanError(Reason.TEMPLATE_NOT_FOUND, str(exc)) from None
    template = resolution.template
    problems = parameters.validate(template.parameters, spec.parameters)
    if problems:
        raise PlanError(Reason.INVALID_PARAMETERS, problems)
    values = app_values(app, template)
    params = parameters.for_template(template.parameters, spec.parameters)
    ctx = render.context(
        values, params, rendered.labels(app=values.name, team=values.team), rendered.selector(values.name)
    )
    with_telemetry = telemetry.enabled(spec)
    try:
        docs = render.render(template, ctx)
        if with_telemetry:
            docs = telemetry.inject(
                docs,
                app=values.name,
                namespace=values.namespace,
                team=values.team,
                port=values.port,
                settings=telemetry.Settings.from_policy(policy),
                podmonitor=podmonitor,
            )
        objects = rendered.complete(
            docs,
            app=values.name,
            namespace=values.namespace,
            team=values.team,
            runtime=template.runtime,
            security=template.security,
            uid=app.meta.uid,
            copy_docs=False,
            reserved=[("ConfigMap", telemetry.dashboard_name(values.name))] if with_telemetry else [],
        )
    except render.RenderError as exc:
        raise PlanError(Reason.TEMPLATE_FAILED, str(exc)) from None
    if values.suspend:
        objects = suspended(objects)
    return Plan(resolution, values, tuple(objects), url(values, template.runtime, objects), with_telemetry)


def access(
    app: App,
    values: render.AppValues,
    children: list[dict[str, Any]],
    template: api.AppTemplateSpec,
    policy: api.PlatformPolicySpec,
) -> list[dict[str, Any]]:
    """What the operator adds to every app: its ServiceAccount, least-privilege RBAC for the
    editors and viewers, and its NetworkPolicy. Invalid subjects are left out (the guardrails
    report them)."""
    ann = app.meta.annotations
    team = guardrails.team_of(policy, values.team)
    editors = rbac.parse(ann.get(api.EDITORS_ANNOTATION), key=api.EDITORS_ANNOTATION, team=team, policy=policy)[0]
    viewers = rbac.parse(ann.get(api.VIEWERS_ANNOTATION), key=api.VIEWERS_ANNOTATION, team=team, policy=policy)[0]
    rails = policy.guardrails or api.Guardrails()
    netpol = network.policy(
        app=values.name,
        namespace=values.namespace,
        public=values.expose == "public",
        sandbox=bool(team and team.sandbox),
        ingress_namespace=rails.ingress_namespace,
        telemetry_endpoint=policy.telemetry.endpoint if policy.telemetry else None,
    )
    token = bool(template.security and template.security.service_account_token)
    extra = rbac.objects(
        app=values.name,
        namespace=values.namespace,
        children=[*children, netpol],
        editors=editors,
        viewers=viewers,
        token=token,
    ) + [netpol]
    return [
        rendered.stamp(o, app=values.name, namespace=values.namespace, team=values.team, uid=app.meta.uid)
        for o in extra
    ]


def suspended(objects: list[dict[str, Any]], *, keep_knative: bool = False) -> list[dict[str, Any]]:
    """Scale to zero: Deployments to 0 replicas without HPA/PDB, CronJobs suspended, and
    Knative Services removed (Knative has no suspend and max-scale 0 is invalid; the URL is
    the same when the app resumes). An idle app keeps its Knative Service (``keep_knative``):
    without traffic Knative has scaled it to zero already, and the first request wakes it."""
    out = []
    dropped = {("autoscaling/v2", "HorizontalPodAutoscaler"), ("policy/v1", "PodDisruptionBudget")}
    if not keep_knative:
        dropped.add(KNATIVE_SERVICE.key)
    for obj in objects:
        kind = (obj["apiVersion"], obj["kind"])
        if kind in dropped:
            continue
        if kind == ("apps/v1", "Deployment"):
            obj = {**obj, "spec": {**obj["spec"], "replicas": 0}}
        if kind == ("batch/v1", "CronJob"):
            obj = {**obj, "spec": {**obj["spec"], "suspend": True}}
        out.append(obj)
    return out


def url(values: render.AppValues, runtime: str, objects: Iterable[Mapping[str, Any]]) -> str | None:
    kinds = {(o["apiVersion"], o["kind"]) for o in objects}
    if ("networking.k8s.io/v1", "Ingress") in kinds and values.host:
        return f"https://{values.host}"
    if ("v1", "Service") in kinds or (runtime == "serverless" and not values.suspend):
        return f"http://{values.name}.{values.namespace}.svc.cluster.local"
    return None
