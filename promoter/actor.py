"""Who is acting: an explicit identity, the CI system's user, or the git identity."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from promoter.errors import UsageError
from promoter.reference import without_credentials


class Actor(NamedTuple):
    """An identity as recorded in trailers, ``Name <id>``; ``id`` is an email or a login."""

    id: str
    name: str
    run_url: str | None = None  # the CI run that acted, when there is one

    @property
    def display(self) -> str:
        """``Name <id>``, the Promoter-Actor trailer value."""
        return f"{self.name} <{self.id}>"

    def matches(self, identity: str) -> bool:
        """True when ``identity`` (an email or login from the pipeline) names this actor."""
        return self.id.casefold() == identity.strip().casefold()


def parse_actor(text: str) -> Actor:
    """Read ``Name <id>`` (or a bare id) back into an Actor."""
    text = text.strip()
    if text.endswith(">") and "<" in text:
        cut = text.rindex("<")
        ident = text[cut + 1 : -1].strip()
        return Actor(ident, text[:cut].strip() or ident)
    return Actor(text, text)


def current_actor(
    git_name: str | None, git_email: str | None, environ: Mapping[str, str] | None = None
) -> Actor:
    """The acting identity: PROMOTER_ACTOR, a CI system's user, or the git identity."""
    env = os.environ if environ is None else environ
    if env.get("PROMOTER_ACTOR"):
        actor = parse_actor(env["PROMOTER_ACTOR"])
        control = any(ord(c) < 32 or 127 <= ord(c) < 160 for c in env["PROMOTER_ACTOR"])
        if (
            control
            or not actor.id
            or any(c.isspace() or c in "<>" or ord(c) < 32 for c in actor.id)
        ):
            raise UsageError(
                f"PROMOTER_ACTOR={env['PROMOTER_ACTOR']!r} names no identity: give "
                "`Name <email>` or a login, without spaces in the email or login and without "
                "control characters",
                hint="e.g. PROMOTER_ACTOR='Release Bot <release-bot@example.com>', or unset it",
            )
        return actor
    if env.get("GITHUB_ACTIONS") == "true" and env.get("GITHUB_ACTOR"):
        login = env.get("GITHUB_TRIGGERING_ACTOR") or env["GITHUB_ACTOR"]
        run = None
        if env.get("GITHUB_REPOSITORY") and env.get("GITHUB_RUN_ID"):
            server = env.get("GITHUB_SERVER_URL", "https://github.com")
            run = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
            run = without_credentials(run)[0]  # never into git history
        return Actor(login, login, run)
    if env.get("GITLAB_CI") == "true" and env.get("GITLAB_USER_LOGIN"):
        ident = env.get("GITLAB_USER_EMAIL") or env["GITLAB_USER_LOGIN"]
        job = env.get("CI_JOB_URL")
        return Actor(
            ident,
            env.get("GITLAB_USER_NAME") or env["GITLAB_USER_LOGIN"],
            without_credentials(job)[0] if job else None,
        )
    if git_email:
        return Actor(git_email, git_name or git_email)
    return Actor(git_name or "unknown", git_name or "unknown")
