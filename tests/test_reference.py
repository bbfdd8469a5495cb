"""Names, images and digests: what pins an artifact, and the messages for what does not."""

from __future__ import annotations

import pytest

from promoter.reference import (
    explain_digest,
    explain_image,
    explain_name,
    is_digest,
    is_name,
    split_tag,
    without_credentials,
)

GOOD = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize("name", ["web", "web-api", "a", "x1", "a" * 63, "9lives"])
def test_safe_names(name: str) -> None:
    assert is_name(name) and explain_name(name) is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../prod", "path-like"),
        ("a/b", "path-like"),
        (".", "path-like"),
        ("..", "path-like"),
        (".hidden", "path-like"),
        ("a\\b", "path-like"),
        ("Prod", "uppercase"),
        ("a" * 64, "longer than 63"),
        ("-web", "not a safe identifier"),
        ("web-", "not a safe identifier"),
        ("web_api", "not a safe identifier"),
        ("", "not a safe identifier"),
        ("web\n", "not a safe identifier"),
    ],
)
def test_unsafe_names_are_explained(name: str, problem: str) -> None:
    assert not is_name(name)
    message = explain_name(name, "app name")
    assert message is not None and problem in message and message.startswith("app name")


def test_good_digest() -> None:
    assert is_digest(GOOD) and explain_digest(GOOD) is None
    assert not is_digest(GOOD + "\n")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("latest", "mutable tag"),
        ("1.2", "mutable tag"),
        ("v1.2.3", "mutable tag"),
        ("sha256:abc", "has 3 hex characters, expected 64"),
        (GOOD[:-1], "has 63 hex characters"),
        (GOOD + "0", "has 65 hex characters"),
        ("sha256:" + "A" * 64, "uppercase hex"),
        ("sha256:" + "g" * 64, "not hex ('g')"),
        ("sha512:" + "a" * 128, "algorithm 'sha512'"),
        ("web:1.11.0", "looks like IMAGE:TAG, a mutable tag"),
        ("sha1:" + "a" * 40, "algorithm 'sha1'"),
        (12, "not a string"),
    ],
)
def test_bad_digests_are_explained(value: object, fragment: str) -> None:
    message = explain_digest(value)
    assert message is not None and fragment in message


def test_split_tag_ignores_registry_port() -> None:
    assert split_tag("localhost:5000/web") == ("localhost:5000/web", None)
    assert split_tag("localhost:5000/web:1.2") == ("localhost:5000/web", "1.2")
    assert split_tag("web:latest") == ("web", "latest")


@pytest.mark.parametrize(
    "image", ["web", "registry.example.com/team/web", "localhost:5000/a/b-c", "ghcr.io/org/img__x"]
)
def test_good_images(image: str) -> None:
    assert explain_image(image) is None


@pytest.mark.parametrize(
    ("image", "fragment"),
    [
        ("web:latest", "mutable tag 'latest'"),
        ("localhost:5000/web:1.2", "mutable tag '1.2'"),
        ("web@" + GOOD, "embeds a digest"),
        ("Web", "not a valid repository"),
        ("web/", "not a valid repository"),
    ],
)
def test_bad_images(image: str, fragment: str) -> None:
    message = explain_image(image)
    assert message is not None and fragment in message


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        (
            "https://gitlab-ci-token:glcbt-SECRET@gitlab.example.com/g/p.git",
            "https://gitlab.example.com/g/p.git",
        ),
        ("https://ghp_SECRET@github.com/o/r", "https://github.com/o/r"),
        ("http://user:pw@ci.example.com:8080/run/1?x=1", "http://ci.example.com:8080/run/1?x=1"),
        ("oauth2:SECRET@gitlab.com:group/repo.git", "gitlab.com:group/repo.git"),
        ("ssh://git:SECRET@host/x.git", "ssh://host/x.git"),
    ],
)
def test_credentials_are_taken_out_of_urls(url: str, clean: str) -> None:
    assert without_credentials(url) == (clean, True)


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/o/r",
        "git@github.com:o/r.git",  # an account name, not a secret
        "ssh://git@github.com/o/r.git",
        "https://ci.example.com/run/42",
        "not a url",
    ],
)
def test_urls_without_credentials_stay_as_they_are(url: str) -> None:
    assert without_credentials(url) == (url, False)
