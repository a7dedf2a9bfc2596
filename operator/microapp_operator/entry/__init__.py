"""Entry points: the Kopf handlers, the webhook server, the ``microapp`` CLI, certificates,
log formatting and the metrics/readiness endpoint. Everything above the runtime."""
