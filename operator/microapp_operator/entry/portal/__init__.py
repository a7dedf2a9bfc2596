"""``microapp portal``: the web front end for citizen developers (DESIGN.md, "Portal").

``cmd`` parses the flags, ``server`` holds the aiohttp application (identity, CSRF, browser
hardening, static files), ``pages`` the handlers, ``edit`` (with ``sending``) an app's edit,
``propose`` changes proposed through Git, ``oidc`` and ``auth`` who is asking, ``source``
the portal's own cached reads (templates, policy, budgets). Pages are drawn by
``presentation.html`` from ``presentation.forms``, ``presentation.preview`` and
``presentation.explain``.
"""
