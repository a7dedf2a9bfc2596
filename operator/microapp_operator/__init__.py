"""Microapp Operator: citizen developers' MicroApps rendered, priced, guarded and retired.

Layers, bottom up (README "Architecture"): ``api`` (types, conditions, kinds), ``core`` (pure
decisions), ``metrics``, ``runtime`` (the imperative shell), ``entry`` (Kopf, webhook, CLI)."""
