"""Public exposure on an app's page: the terminal's "Public exposure" section and the portal's
block draw the same ApprovalView (asked, approved by whom and when, rejected with the reason)."""

from __future__ import annotations

from microapp_operator.presentation import html
from tests.unit.presentation.test_explain import app, build, screen_of

ASKED = {
    "microapp.dev/public-requested-host": "shop.example.com",
    "microapp.dev/public-requested-at": "2026-12-07T09:00:00Z",
}
REJECTED = {
    **ASKED,
    "microapp.dev/public-rejected-by": "carol@example.com",
    "microapp.dev/public-rejected-at": "2026-12-07T09:30:00Z",
    "microapp.dev/public-rejected-reason": "put it behind SSO first",
}


def with_annotations(annotations: dict[str, str], **spec: str) -> dict:
    obj = app()
    obj["metadata"]["annotations"] = {**obj["metadata"].get("annotations", {}), **annotations}
    obj["spec"].update(spec)
    return obj


def words(obj: dict) -> str:
    """The terminal screen with its column padding and wrapping collapsed to single spaces."""
    return " ".join(screen_of(build(obj)).split())


def portal_block(obj: dict) -> str:
    return html.portal("approval_part", app=build(obj))


def test_never_asked_draws_no_section() -> None:
    assert "Public exposure" not in screen_of(build(app()))
    assert portal_block(app()).strip() == ""


def test_waiting_says_who_decides() -> None:
    out = words(with_annotations(ASKED))
    assert "Public exposure state Waiting host shop.example.com asked at 2026-12-07T09:00:00Z" in out
    assert "a public-exposure approver approves or rejects it in the portal (/approvals)" in out


def test_a_rejection_shows_who_when_and_the_reason() -> None:
    out = words(with_annotations(REJECTED))
    assert "rejected by carol@example.com at 2026-12-07T09:30:00Z reason put it behind SSO first" in out
    block = portal_block(with_annotations(REJECTED))
    assert '<dd class="rejected-reason">put it behind SSO first</dd>' in block
    assert "<dt>Rejected by</dt><dd>carol@example.com</dd>" in block


def test_an_approval_shows_who_and_when() -> None:
    approved = with_annotations(
        {
            "microapp.dev/public-approved-by": "carol@example.com",
            "microapp.dev/public-approved-at": "2026-12-07T10:00:00Z",
        },
        expose="public",
        host="shop.example.com",
    )
    out = words(approved)
    assert "state Approved host shop.example.com approved by carol@example.com at 2026-12-07T10:00:00Z" in out
    assert "rejected" not in out.split("Public exposure")[1].split("Lifecycle")[0]
    block = portal_block(approved)
    assert '<dd class="approved-by">carol@example.com</dd>' in block and "2026-12-07T10:00:00Z" in block


def test_a_reason_holding_markup_is_text() -> None:
    block = portal_block(with_annotations({**REJECTED, "microapp.dev/public-rejected-reason": "<script>x()</script>"}))
    assert "<script>" not in block and "&lt;script&gt;x()&lt;/script&gt;" in block


def test_the_standalone_html_page_has_the_part_too() -> None:
    out = html.page(build(with_annotations(REJECTED)))
    assert '<h2 id="exposure-heading">Public exposure</h2>' in out and "put it behind SSO first" in out
    assert "exposure-heading" not in html.page(build(app()))
