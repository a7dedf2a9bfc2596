"""What a person sees: view models built from what the caller read, and the renderers that draw them.

Pure, as the core is (no I/O, ``now`` is an argument), and above it: it reads the core's verdicts
(health, lifecycle, budget) and never the reverse. ``views`` holds the typed models (words and
numbers, no ANSI codes, wrapping or shell quoting); ``explain`` builds an app's page; ``explaintext``
over ``screen`` draws it for a terminal and ``html`` (with ``templates/``) for a browser. The other
screens of the command line live here too: ``diff``, ``search`` and ``examples`` (the catalog),
``templatelint`` (``microapp template lint|test``)."""
