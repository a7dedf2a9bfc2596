"""The HTML renderer of an app's page: the same :class:`~.views.Explanation` as the terminal's,
drawn by Jinja2 templates (``templates/app.html.j2``) with autoescaping on (pure: no clock, the
model carries ``now``).

Every value from the cluster (names, Event messages, conditions) is text to the browser, never
markup. ``fragment`` is the page's ``<article>`` for the portal's layout; ``page`` a standalone
document around it.
"""

from __future__ import annotations

from collections.abc import Sequence

from jinja2 import Environment, PackageLoader, StrictUndefined

from ..core.lifecycle import timestamp
from .explainpods import ago, worst
from .views import Explanation, NotReadable, PodView


def _ago(value: str | None, now: str) -> str:
    """``in 13d``, ``5m ago``: a date of the model against the model's ``now``."""
    return ago(timestamp(value), timestamp(now) or timestamp(value)) if value else ""


def _worst(pods: Sequence[PodView]) -> list[PodView]:
    return worst(pods)


_ENV = Environment(
    loader=PackageLoader("microapp_operator.presentation", "templates"),
    autoescape=True,  # (not select_autoescape: the templates end in .j2)
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_ENV.filters["ago"] = _ago
_ENV.filters["worst"] = _worst
_ENV.tests["not_readable"] = lambda value: isinstance(value, NotReadable)


def fragment(expl: Explanation) -> str:
    """The app's page as an ``<article>``: one ``h1``, a labelled region per part."""
    return _ENV.get_template("app.html.j2").render(app=expl, now=expl.now)


def page(expl: Explanation) -> str:
    """The app's page as a whole HTML document."""
    return _ENV.get_template("page.html.j2").render(app=expl, now=expl.now)


def portal(template: str, **context: object) -> str:
    """One of the portal's pages (``templates/<template>.html.j2`` in ``layout.html.j2``), or a
    fragment of one (``panel``): the same environment, autoescaped."""
    return _ENV.get_template(f"{template}.html.j2").render(**context)
