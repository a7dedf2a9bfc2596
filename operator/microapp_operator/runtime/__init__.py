"""The imperative shell: the small Kubernetes layer, the informer cache, the work queue, the
world model, the reconciler, admission, budget status, policy reports, and the manager that
composes and supervises them. Imports the API and the core; never Kopf or the entry points.

Dependencies point one way: ``kube``, ``cache``, ``queue`` -> ``world`` -> ``budgets``,
``reports`` -> ``admission`` -> ``reconciler`` -> ``manager``."""
