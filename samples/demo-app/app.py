"""A small demo app for MicroApp: serves HTTP and reports its requests with the OpenTelemetry SDK.

Its WSGI application is wrapped in OpenTelemetry's standard HTTP server instrumentation
(opentelemetry-instrumentation-wsgi), which records ``http.server.request.duration`` (with the
stable HTTP semantic conventions the operator asks for: OTEL_SEMCONV_STABILITY_OPT_IN=http) for
every request. Nothing is configured in code: run it under ``opentelemetry-instrument`` and the
SDK takes its exporter, protocol, endpoint, service name and resource attributes from the
``OTEL_*`` environment the operator renders into the app container (and its own defaults).

    opentelemetry-instrument python app.py      # listens on $PORT (default 8080)

Paths: ``/`` answers 200 with a greeting, ``/healthz`` 200, ``/fail`` 500 (for the error ratio
panel); anything else 404.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, make_server

from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware

Start = Callable[[str, list[tuple[str, str]]], object]
ROUTES = {"/": ("200 OK", b"hello from a MicroApp\n"), "/healthz": ("200 OK", b"ok\n"), "/fail": ("500 Error", b"")}


def application(environ: dict[str, object], start_response: Start) -> Iterable[bytes]:
    status, body = ROUTES.get(str(environ.get("PATH_INFO") or "/"), ("404 Not Found", b"not found\n"))
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *_: object) -> None:  # one line per request is noise in a container log
        pass


def main() -> None:
    host, port = os.environ.get("HOST", "0.0.0.0"), int(os.environ.get("PORT", "8080"))
    server = make_server(host, port, OpenTelemetryMiddleware(application), handler_class=QuietHandler)
    # As a container's PID 1 the process has no default action for SIGTERM: without a handler, a
    # Pod's deletion would wait out its whole grace period and end in SIGKILL.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"demo app listening on {host}:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
