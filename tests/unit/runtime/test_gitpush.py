"""The Git credential: read from a Secret's data, never printed, scrubbed from git's messages."""

from __future__ import annotations

import base64

import pytest

from microapp_operator.runtime import gitpush


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_credential_from_a_token_or_basic_auth() -> None:
    token = gitpush.credential_from_secret({"data": {"token": b64("glpat-123\n")}})
    assert (token.username, token.password) == ("x-access-token", "glpat-123")
    basic = gitpush.credential_from_secret({"data": {"username": b64("bot"), "password": b64("pw")}})
    assert (basic.username, basic.password) == ("bot", "pw")
    assert "pw" not in repr(basic) and "glpat" not in repr(token)
    with pytest.raises(gitpush.ProposalFailed, match="Secret team-git has neither a token key"):
        gitpush.credential_from_secret({"data": {"user": b64("x")}}, name="team-git")


def test_messages_never_carry_the_secret() -> None:
    text = "fatal: unable to access 'https://bot:hunter2@git.example.com/a/b.git/': 403 token hunter2"
    scrubbed = gitpush._scrub(text, "hunter2")
    assert "hunter2" not in scrubbed and "https://bot:<hidden>@git.example.com" in scrubbed


def test_the_credential_goes_in_the_environment_not_the_arguments() -> None:
    env = gitpush._env(gitpush.Credential(password="s3cret", username="bot"), "A", "a@x", "P", "p@x")
    header = env["GIT_CONFIG_VALUE_2"]
    assert env["GIT_CONFIG_KEY_2"] == "http.extraHeader" and header == "Authorization: Basic " + b64("bot:s3cret")
    assert env["GIT_TERMINAL_PROMPT"] == "0" and env["GIT_AUTHOR_EMAIL"] == "a@x" and env["GIT_COMMITTER_NAME"] == "P"
