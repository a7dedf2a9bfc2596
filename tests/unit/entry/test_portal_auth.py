"""The portal's sign-in and change checks: OIDC ID tokens against a test issuer on loopback (keys
made here), claim mapping as kube-apiserver's --oidc-* flags, system: refusal, form tokens,
cross-site changes, and the local mode's loopback-only rule."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from microapp_operator.entry import cli
from microapp_operator.entry.portal import auth, oidc
from tests.oidc_issuer import AUDIENCE, Issuer


@pytest.fixture
async def issuer() -> AsyncIterator[Issuer]:
    found = Issuer()
    await found.start_here()
    yield found
    await found.stop_here()


@pytest.fixture
async def verifier(issuer: Issuer) -> AsyncIterator[oidc.Verifier]:
    async with aiohttp.ClientSession() as session:
        yield oidc.Verifier(oidc.Settings(issuer=issuer.url, client_id=AUDIENCE), session)


async def test_a_valid_rs256_or_es256_token_names_the_user_and_groups(issuer: Issuer, verifier: oidc.Verifier) -> None:
    who = await verifier.identity(issuer.token("alice@example.com", ["finance-devs"]))
    assert who == auth.Identity("alice@example.com", ("finance-devs",))
    assert (await verifier.identity(issuer.token("bob@example.com", kid="ec-1"))).user == "bob@example.com"
    assert issuer.jwks_fetches == 1  # keys fetched once, then kept


@pytest.mark.parametrize(
    ("forge", "words"),
    [
        pytest.param(lambda i: i.token(audience="someone-else"), "Audience doesn.t match", id="wrong-audience"),
        pytest.param(lambda i: i.token(lifetime=-120), "expired", id="expired"),
        pytest.param(lambda i: i.token(issuer="https://evil.example.com"), "issuer", id="wrong-issuer"),
        pytest.param(lambda i: i.token(nbf=int(__import__("time").time()) + 600), "not yet valid", id="nbf-future"),
        pytest.param(lambda i: i.unsigned(), "algorithm 'none'", id="unsigned"),
        pytest.param(lambda i: i.token(key=i.other), "Signature verification failed", id="wrong-key"),
        pytest.param(lambda i: i.token(kid="nobody"), "not one of the issuer's keys", id="unknown-kid"),
        pytest.param(lambda i: i.token(email_verified=False), "not verified", id="email-unverified"),
        pytest.param(lambda i: i.token(groups=["system:masters"]), "system:masters", id="system-group"),
        pytest.param(lambda i: i.token("system:admin"), "system:admin", id="system-user"),
        pytest.param(lambda i: "not-a-jwt", "not a JWT", id="garbage"),
    ],
)
async def test_refused_tokens(issuer: Issuer, verifier: oidc.Verifier, forge, words: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(auth.Refused, match=words):
        await verifier.identity(forge(issuer))


async def test_an_unknown_kid_refetches_the_keys_once_per_interval(issuer: Issuer, verifier: oidc.Verifier) -> None:
    await verifier.identity(issuer.token())
    for _ in range(5):
        with pytest.raises(auth.Refused):
            await verifier.identity(issuer.token(kid="rotated"))
    assert issuer.jwks_fetches == 1  # within REFETCH_EVERY of the first fetch: no hammering
    verifier.fetched_at -= oidc.REFETCH_EVERY
    with pytest.raises(auth.Refused):
        await verifier.identity(issuer.token(kid="rotated"))
    assert issuer.jwks_fetches == 2


@pytest.mark.parametrize(
    ("settings", "claims", "expected"),
    [
        pytest.param({}, {"email": "a@x", "groups": ["g"]}, auth.Identity("a@x", ("g",)), id="email-no-prefix"),
        pytest.param(
            {"username_claim": "sub"}, {"sub": "123"}, auth.Identity("https://i.example#123"), id="sub-issuer-prefix"
        ),
        pytest.param({"username_claim": "sub", "username_prefix": "-"}, {"sub": "1"}, auth.Identity("1"), id="dash"),
        pytest.param(
            {"username_prefix": "oidc:", "groups_prefix": "oidc:"},
            {"email": "a@x", "groups": "one"},
            auth.Identity("oidc:a@x", ("oidc:one",)),
            id="prefixes-and-a-single-group",
        ),
    ],
)
def test_claims_map_as_kube_apiserver_maps_them(settings: dict, claims: dict, expected: auth.Identity) -> None:
    s = oidc.Settings(issuer="https://i.example", client_id="c", **settings)
    assert oidc.identity_of(claims, s) == expected


def test_a_prefix_does_not_hide_a_system_group_and_one_that_adds_it_is_refused() -> None:
    s = oidc.Settings(issuer="https://i.example", client_id="c", groups_prefix="system:")
    with pytest.raises(auth.Refused, match="system:devs"):
        oidc.identity_of({"email": "a@x", "groups": ["devs"]}, s)


def test_form_tokens_are_for_one_user_until_they_expire() -> None:
    tokens = auth.FormTokens(b"k" * 32)
    token = tokens.issue("alice", now=1000)
    assert tokens.valid(token, "alice", now=1000)
    assert not tokens.valid(token, "mallory", now=1000)
    assert not tokens.valid(token, "alice", now=1000 + auth.TOKEN_LIFETIME + 1)
    assert not auth.FormTokens(b"x" * 32).valid(token, "alice", now=1000)
    assert not tokens.valid("", "alice") and not tokens.valid("123.", "alice") and not tokens.valid("x.y", "alice")


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({}, False),
        ({"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1:8080"}, False),
        ({"Origin": "https://127.0.0.1:8080"}, False),  # behind a TLS proxy
        ({"Sec-Fetch-Site": "cross-site"}, True),
        ({"Sec-Fetch-Site": "same-site"}, True),
        ({"Origin": "http://evil.example"}, True),
        ({"Origin": "null"}, True),
    ],
)
def test_cross_site_changes(headers: dict[str, str], refused: bool) -> None:
    assert bool(auth.cross_site(headers, host="127.0.0.1:8080")) is refused


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--dev-user", "a", "--listen", "0.0.0.0:8080"], "loopback only"),
        (["--dev-user", "a", "--listen", "10.1.2.3:8080"], "loopback only"),
        (["--dev-user", "a", "--dev-group", "system:masters"], "system:masters"),
        (["--dev-user", "a", "--oidc-issuer", "https://i"], "exclude each other"),
        ([], "--oidc-issuer and --oidc-client-id"),
        (["--oidc-issuer", "http://idp.example.com", "--oidc-client-id", "c"], "https://"),
        (["--dev-user", "a", "--listen", "8080"], "ADDR:PORT"),
    ],
)
def test_portal_flags_refused_with_a_message(args: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["portal", *args]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"])
def test_loopback_addresses(host: str) -> None:
    assert auth.loopback(host)
