"""The pure core: from a MicroApp to the objects, cost, verdicts and status it should have.

No I/O and no clock of its own (``now`` is an argument): every module here imports only the
API and other core modules, never Kopf, a Kubernetes client or the runtime. The webhook, the
reconciler and the CLI call these same functions."""
