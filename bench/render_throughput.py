"""Render throughput of the pure pipeline (one core, no cluster).

Measures `plan.desired` (resolve -> validate parameters -> sandboxed render -> rendered-object
rules -> access objects) and `plan.workload` (what admission prices) over a mix of the
built-in templates, and, in the same run, rendering alone two ways: `render.render_text`
(Jinja render + YAML parse of the whole text, the cost before the skeleton cache) and
`render.render` (skeleton parsed once per control flow, values filled in). Reported as ratios,
which survive a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from microapp_operator.core import catalog, parameters, plan, render, rendered

MIX = [
    {"template": "web-service@^1", "replicas": 2},
    {
        "template": "web-service@^1",
        "expose": "public",
        "host": "a.example.com",
        "parameters": {"autoscale": {"min": 2, "max": 6}},
    },
    {"template": "worker", "parameters": {"args": ["--queue", "orders"]}},
    {"template": "scheduled-job", "parameters": {"schedule": "0 6 * * 1-5"}},
    {"template": "serverless-function", "parameters": {"maxScale": 5}},
    {"template": "webhook-handler"},
]


def apps(n: int) -> list[dict]:
    return [
        {
            "metadata": {
                "name": f"app-{i}",
                "namespace": f"team-{i % 20}",
                "uid": f"uid-{i}",
                "generation": 1,
                "annotations": {"microapp.dev/team": "finance", "microapp.dev/owner": "alice"},
            },
            "spec": {"image": "registry.internal/x:1", "env": [{"name": "MODE", "value": "prod"}], **MIX[i % len(MIX)]},
        }
        for i in range(n)
    ]


def timed(fn, items) -> float:
    start = time.perf_counter()
    for item in items:
        fn(item)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    templates = catalog.builtin()
    batch = apps(args.apps)
    plan.desired(plan.parse(batch[0]), templates)  # compile caches warm, as in a running operator

    def rendering(fn):  # noqa: ANN001, ANN202 - render.render or render.render_text
        def one(app: dict) -> None:
            res = catalog.resolve(app["spec"]["template"], templates)
            values = plan.app_values(plan.parse(app), res.template)
            params = parameters.for_template(res.template.parameters, app["spec"].get("parameters"))
            fn(
                res.template,
                render.context(
                    values, params, rendered.labels(app=values.name, team="t"), rendered.selector(values.name)
                ),
            )

        return one

    def median(fn) -> float:  # noqa: ANN001
        return statistics.median(timed(fn, batch) for _ in range(args.rounds))

    full = median(lambda a: plan.desired(plan.parse(a), templates))
    work = median(lambda a: plan.workload(plan.parse(a), templates))
    text = median(rendering(render.render_text))
    cached = median(rendering(render.render))
    result = {
        "apps": args.apps,
        "rounds": args.rounds,
        "pipeline_apps_per_s": round(args.apps / full),
        "workload_apps_per_s": round(args.apps / work),
        "full_text_render_apps_per_s": round(args.apps / text),
        "skeleton_render_apps_per_s": round(args.apps / cached),
        "pipeline_over_full_text_render": round(full / text, 2),
        "full_text_over_skeleton_render": round(text / cached, 2),
        "pipeline_ms_per_app": round(1000 * full / args.apps, 3),
    }
    print("render throughput (one core, median of rounds):")
    for k, v in result.items():
        print(f"  {k:28} {v}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
