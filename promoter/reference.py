"""Rules for what pins an artifact: names, image repositories and digests.

Each ``explain_*`` function returns ``None`` for a good value, or a sentence saying what is
wrong and how to fix it, so the same rule serves validation findings and refusals.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from promoter.errors import UsageError

NAME_PATTERN = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"  # as written in the JSON Schemas
NAME_RE = re.compile(NAME_PATTERN[:-1] + r"\Z")  # \Z: Python's $ would allow a final newline
DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}\Z")
_REPO_RE = re.compile(
    r"[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\Z"
)
_HEX = set("0123456789abcdef")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")  # the OCI tag grammar
_HEX_RE = re.compile(r"[0-9a-fA-F]+")


def is_name(value: str) -> bool:
    """True for a safe identifier (a DNS label): the only names promoter turns into paths."""
    return bool(NAME_RE.match(value))


def explain_name(value: str, what: str = "name") -> str | None:
    """Why ``value`` is not a safe identifier, or None."""
    if is_name(value):
        return None
    if "/" in value or "\\" in value or value in (".", "..") or value.startswith("."):
        problem = "is path-like"
    elif value != value.lower():
        problem = "has uppercase letters"
    elif len(value) > 63:
        problem = "is longer than 63 characters"
    else:
        problem = "is not a safe identifier"
    return (
        f"{what} {show(value, 70)} {problem}; use lowercase letters, digits and inner hyphens "
        "(at most 63 characters), e.g. 'staging' or 'web-api'"
    )


def is_digest(value: str) -> bool:
    """True for ``sha256:`` followed by 64 lowercase hex characters."""
    return bool(DIGEST_RE.match(value))


def show(value: object, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters so a huge value cannot flood a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "…" + text[-4:]


def explain_digest(value: object) -> str | None:
    """Why ``value`` is not a well-formed immutable digest, or None."""
    fix = (
        "pin the immutable digest instead, e.g. from `skopeo inspect --format "
        "'{{.Digest}}' docker://IMAGE:TAG` or `crane digest IMAGE:TAG`"
    )
    if not isinstance(value, str):
        return f"digest {show(value)} is not a string; write sha256:<64 hex characters> ({fix})"
    if is_digest(value):
        return None
    shown = show(value)
    if value != value.strip():
        return f"digest {shown} has leading or trailing whitespace; remove it"
    if "@" in value or "/" in value:
        return (
            f"digest {shown} is an image reference; put the repository in `image:` and only "
            "sha256:<64 hex characters> in `digest:`"
        )
    if ":" not in value and _HEX_RE.fullmatch(value) and len(value) >= 8:
        if len(value) == 64:
            return f"digest {shown} lacks its algorithm; write sha256:{value.lower()}"
        return (
            f"digest {shown} is a shortened digest of {len(value)} hex digits; a new build "
            "is named by its whole digest, sha256:<64 hex characters>"
        )
    if _TAG_RE.match(value) and ":" not in value:
        return f"digest {shown} is a mutable tag, not a digest: {fix}"
    algorithm, _, hexpart = value.partition(":")
    if algorithm not in ("sha256", "sha384", "sha512") and not _HEX_RE.fullmatch(hexpart):
        return f"digest {shown} looks like IMAGE:TAG, a mutable tag, not a digest: {fix}"
    if algorithm != "sha256":
        return (
            f"digest {shown} uses algorithm {show(algorithm, 20)}; promoter pins sha256 digests "
            "(sha256:<64 hex characters>)"
        )
    if hexpart != hexpart.lower() and set(hexpart.lower()) <= _HEX:
        return f"digest {shown} has uppercase hex; write it in lowercase"
    bad = sorted(set(hexpart) - _HEX)
    if bad:
        listed = ", ".join(map(repr, bad[:5])) + (", …" if len(bad) > 5 else "")
        return (
            f"digest {shown} has characters that are not hex ({listed}); a digest is sha256: "
            "followed by 64 characters 0-9 a-f"
        )
    return f"digest {shown} has {len(hexpart)} hex characters, expected 64; copy the whole digest"


def split_tag(image: str) -> tuple[str, str | None]:
    """Split ``repo:tag`` (a port in the registry host is not a tag)."""
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1 :]
    return image, None


def explain_image(value: object) -> str | None:
    """Why ``value`` is not a plain image repository (no tag, no digest), or None."""
    if not isinstance(value, str):
        return f"image {show(value)} is not a string; write the repository, e.g. registry/team/web"
    if "@" in value:
        repo, _, digest = value.partition("@")
        return (
            f"image {show(value)} embeds a digest; write `image: {repo}` and put "
            f"`digest: {digest}` in the digest field"
        )
    repo, tag = split_tag(value)
    if tag is not None:
        return (
            f"image {show(value)} carries the mutable tag {tag!r}; write `image: {repo}` and "
            "pin the artifact with `digest: sha256:...` instead"
        )
    if not _REPO_RE.match(value):
        return (
            f"image {show(value)} is not a valid repository name (lowercase, e.g. "
            "registry.example.com/team/web)"
        )
    return None


_PREFIX_RE = re.compile(r"(?:sha256:)?([0-9a-f]{12,63})\Z")


class DigestRef(NamedTuple):
    """A digest as given on the command line: in full, as ``IMAGE@sha256:…`` (what skopeo,
    crane and ``docker buildx imagetools`` print), or as a prefix of at least 12 hex
    digits to look up among the digests an environment has run."""

    digest: str | None = None  # the full digest, when given in full
    image: str | None = None  # the image repository of IMAGE@DIGEST
    prefix: str | None = None  # the hex digits given, when not in full

    def resolve(self, candidates: Iterable[str], where: str) -> str:
        """The full digest: as given, or the one of ``candidates`` this prefix names."""
        if self.digest is not None:
            return self.digest
        assert self.prefix is not None
        found = sorted({c for c in candidates if c.startswith(f"sha256:{self.prefix}")})
        if len(found) == 1:
            return found[0]
        if not found:
            raise ValueError(
                f"no digest {where} starts with sha256:{self.prefix}; give the full digest"
            )
        raise ValueError(
            f"sha256:{self.prefix} names {len(found)} digests {where} "
            f"({', '.join(d[:19] for d in found[:4])}); give more digits"
        )


def parse_digest_ref(value: str, *, prefix_ok: bool = True) -> DigestRef:
    """Read a ``--digest``-like value; raise ValueError saying why it is not one."""
    if is_digest(value):
        return DigestRef(value)
    if "@" in value:
        image, _, digest = value.partition("@")
        # IMAGE:TAG@sha256:… (what `docker buildx imagetools` and registries print): the
        # digest pins it, the tag is only a label
        image = split_tag(image)[0]
        problem = explain_image(image) or explain_digest(digest)
        if problem:
            raise ValueError(problem)
        return DigestRef(digest, image)
    match = _PREFIX_RE.match(value) if prefix_ok else None
    if match:
        return DigestRef(prefix=match.group(1))
    hexpart = value.removeprefix("sha256:")
    if prefix_ok and hexpart and _HEX_RE.fullmatch(hexpart):
        raise ValueError(
            f"{show(value)} is a shortened digest of {len(hexpart)} hex digits; name at least "
            "12 (or the whole sha256:…)"
        )
    raise ValueError(explain_digest(value) or f"{show(value)} is not a digest")


def one_edit(one: str, other: str) -> bool:
    """Whether two names differ by one insertion, deletion, substitution or swap."""
    if one == other or abs(len(one) - len(other)) > 1:
        return False
    if len(one) == len(other):
        diff = [i for i, (a, b) in enumerate(zip(one, other, strict=True)) if a != b]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and one[diff[0]] == other[diff[1]]
            and one[diff[1]] == other[diff[0]]
        )
    short, long = (one, other) if len(one) < len(other) else (other, one)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for a known name one typo from ``name``, else nothing."""
    close = sorted(other for other in known if one_edit(name, other))
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown(kind: str, name: str, known: Iterable[str], hint: str | None = None) -> UsageError:
    """The usage error for a name the repository does not know (``kind``: environment,
    app): the known ones, and "did you mean" for a name one typo away."""
    names = list(known)
    return UsageError(
        f"unknown {kind} {name!r} (known: {', '.join(names)})" + did_you_mean(name, names),
        hint=hint,
    )


def without_credentials(url: str) -> tuple[str, bool]:
    """``url`` without the credentials its user-info part may carry, and whether there
    were any: ``https://user:token@host/x`` and ``https://token@host/x`` become
    ``https://host/x`` (GitLab's ``$CI_REPOSITORY_URL`` carries the job token so). A
    user name alone in an SSH address (``git@host:org/x``, ``ssh://git@host/x``) names
    an account, not a secret, and stays."""
    from urllib.parse import urlsplit, urlunsplit

    scheme, sep, _ = url.partition("://")
    if not sep:
        userinfo, at, host = url.partition("@")
        if at and ":" in userinfo and "/" not in userinfo:  # user:token@host:path
            return host, True
        return url, False
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, False
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url, False
    if scheme.lower() in ("ssh", "git+ssh", "ssh+git") and ":" not in userinfo:
        return url, False
    return urlunsplit(parts._replace(netloc=host)), True
