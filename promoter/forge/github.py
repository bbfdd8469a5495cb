"""GitHub and GitHub Enterprise Server, through PyGithub."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from promoter.errors import ForgeError, UsageError
from promoter.forge import Location, PullRequest, Review, StatusState

if TYPE_CHECKING:
    from github.PullRequest import PullRequest as GhPull
    from github.Repository import Repository

TIMEOUT = 30  # seconds per request; PROMOTER_FORGE_TIMEOUT sets another
RETRIES = 3  # 5xx and rate limits: PyGithub's retry honours Retry-After and X-RateLimit-*


class GitHub:
    """A repository on GitHub (or GitHub Enterprise Server, by its API URL)."""

    def __init__(self, location: Location, token: str) -> None:
        import logging

        from github import Auth, Github
        from github.GithubRetry import GithubRetry

        # PyGithub gives its logger a stderr handler at import and logs every retry to it:
        # what went wrong reaches the user once, as promoter's own one-paragraph error.
        quiet = logging.getLogger("github")
        quiet.handlers[:] = [logging.NullHandler()]
        quiet.propagate = False

        self.location = location
        # GitHub asks integrations to pace writes on github.com (its secondary rate
        # limits); PyGithub does that by default. Enterprise servers set their own limits.
        paced = location.api == "https://api.github.com"
        self._client = Github(
            auth=Auth.Token(token),
            base_url=location.api,
            timeout=timeout(),
            retry=GithubRetry(total=RETRIES, secondary_rate_wait=60, max_rate_limit_wait=120),
            user_agent="promoter",
            seconds_between_requests=0.25 if paced else None,
            seconds_between_writes=1.0 if paced else None,
            lazy=True,
        )
        self._repo: Repository = self._client.get_repo(location.repository, lazy=True)

    def open_pulls(self, base: str, prefix: str) -> list[PullRequest]:
        """Open pull requests into ``base`` whose branch starts with ``prefix``."""
        with self._calling("list pull requests"):
            found = self._repo.get_pulls(state="open", base=base)
            return [_pull(p) for p in found if p.head.ref.startswith(prefix)]

    def open_pull(
        self, head: str, base: str, title: str, body: str, labels: Sequence[str]
    ) -> PullRequest:
        """Open a pull request of ``head`` into ``base``, labelled."""
        with self._calling(f"open a pull request from {head} into {base}"):
            pull = self._repo.create_pull(base=base, head=head, title=title, body=body)
            self._label(number=pull.number, labels=labels)
            return _pull(pull, labels)

    def update_pull(self, number: int, title: str, body: str, labels: Sequence[str]) -> PullRequest:
        """Give an open pull request a new title, body and labels (kept: others' labels)."""
        with self._calling(f"update pull request #{number}"):
            pull = self._repo.get_pull(number)
            if pull.title != title or (pull.body or "") != body:
                pull.edit(title=title, body=body)
            have = {label.name for label in pull.labels}
            self._label(number, [name for name in labels if name not in have])
            return _pull(self._repo.get_pull(number))

    def request_reviewers(self, number: int, logins: Sequence[str]) -> None:
        """Ask these people to review (a login GitHub cannot ask is left out by it)."""
        if logins:
            with self._calling(f"request reviewers on pull request #{number}"):
                self._repo.get_pull(number).create_review_request(reviewers=list(logins))

    def close_pull(self, number: int, comment: str) -> None:
        """Comment on a pull request, then close it."""
        with self._calling(f"close pull request #{number}"):
            pull = self._repo.get_pull(number)
            pull.create_issue_comment(comment)
            pull.edit(state="closed")

    def get_pull(self, number: int) -> PullRequest:
        """One pull request, as it is now."""
        with self._calling(f"read pull request #{number}"):
            return _pull(self._repo.get_pull(number))

    def reviews(self, number: int) -> list[Review]:
        """Every review of a pull request, oldest first."""
        with self._calling(f"read the reviews of pull request #{number}"):
            found = self._repo.get_pull(number).get_reviews()
            return [
                Review(
                    id=review.id,
                    login=review.user.login if review.user else "",
                    state=review.state,
                    commit=review.commit_id or "",
                    when=review.submitted_at,
                )
                for review in found
            ]

    def set_status(
        self, sha: str, state: StatusState, description: str, url: str | None, context: str
    ) -> None:
        """Set the commit status ``context`` on ``sha`` (description cut to GitHub's 140)."""
        payload = {"state": state, "description": description[:140], "context": context}
        if url:
            payload["target_url"] = url
        with self._calling(f"set the {context} status of {sha[:12]}"):
            self._client.requester.requestJsonAndCheck(
                "POST", f"/repos/{self.location.repository}/statuses/{sha}", input=payload
            )

    def _label(self, number: int, labels: Sequence[str]) -> None:
        """Add labels, in the form GitHub documents (``{"labels": [...]}``; PyGithub's
        ``add_to_labels`` sends the bare list GitHub's description does not list)."""
        if labels:
            self._client.requester.requestJsonAndCheck(
                "POST",
                f"/repos/{self.location.repository}/issues/{number}/labels",
                input={"labels": list(labels)},
            )

    @contextmanager
    def _calling(self, what: str) -> Iterator[None]:
        """Turn the client's failures into ForgeError: status, GitHub's message, the fix."""
        import requests
        from github import GithubException

        try:
            yield
        except GithubException as exc:
            raise ForgeError(
                f"GitHub refused to {what} in {self.location.repository}: "
                f"HTTP {exc.status} {_said(exc.data)}",
                hint=_hint(exc.status, self.location),
            ) from None
        except requests.exceptions.RetryError as exc:
            # urllib3 gave up retrying server errors: "too many 502 error responses"
            found = re.search(r"too many (\d{3}) error", str(exc))
            status = int(found.group(1)) if found else 500
            raise ForgeError(
                f"GitHub failed to {what} in {self.location.repository}: HTTP {status}, "
                f"{RETRIES + 1} times",
                hint=_hint(status, self.location),
            ) from None
        except requests.RequestException as exc:
            slow = isinstance(exc, requests.Timeout) or "timed out" in str(exc).lower()
            why = f"no answer within {timeout()} s" if slow else type(exc).__name__
            raise ForgeError(
                f"could not reach GitHub at {self.location.api} to {what}: {why}",
                hint="Check the network and GITHUB_API_URL"
                + (" (PROMOTER_FORGE_TIMEOUT waits longer)" if slow else "")
                + "; nothing was left behind: run the command again",
            ) from None


def timeout() -> int:
    """Seconds to wait for one answer: ``PROMOTER_FORGE_TIMEOUT``, else 30."""
    import os

    text = os.environ.get("PROMOTER_FORGE_TIMEOUT", "").strip()
    if not text:
        return TIMEOUT
    if not text.isdigit() or not 1 <= int(text) <= 600:
        raise UsageError(
            f"PROMOTER_FORGE_TIMEOUT={text!r} is not a number of seconds from 1 to 600",
            hint="Set it to e.g. 30, or unset it",
        )
    return int(text)


def _pull(pull: GhPull, labels: Sequence[str] | None = None) -> PullRequest:
    state = "merged" if pull.merged else ("open" if pull.state == "open" else "closed")
    names = tuple(labels) if labels is not None else tuple(label.name for label in pull.labels)
    return PullRequest(
        number=pull.number,
        url=pull.html_url,
        head=pull.head.ref,
        head_sha=pull.head.sha,
        base=pull.base.ref,
        title=pull.title,
        body=pull.body or "",
        state=state,  # type: ignore[arg-type]
        labels=names,
    )


def _said(data: Any) -> str:
    """GitHub's own message, one line, shortened (never the request, which has no token
    either: the token travels in a header the client keeps)."""
    if isinstance(data, dict):
        message = str(data.get("message", ""))
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            details = [
                str(e.get("message") or e.get("code", "")) if isinstance(e, dict) else str(e)
                for e in errors
            ]
            message = f"{message} ({'; '.join(d for d in details if d)})"
        return " ".join(message.split())[:300]
    return " ".join(str(data or "").split())[:300]


def _hint(status: int, location: Location) -> str:
    if status == 401:
        return "The token was refused: check GITHUB_TOKEN (expired, revoked, or for another host)"
    if status == 403:
        return (
            "The token may not do this: it needs contents: write and pull-requests: write on "
            f"{location.repository} (or GitHub's rate limit is spent: wait and run again)"
        )
    if status == 404:
        return (
            f"Check GITHUB_REPOSITORY ({location.repository}) and GITHUB_API_URL "
            f"({location.api}); a token without access to a private repository also gets 404"
        )
    if status == 422:
        return "GitHub did not take the request as valid; nothing else was changed"
    if status >= 500:
        return "GitHub failed; promoter's run may be repeated safely once it is back"
    return "Nothing else was changed; run the command again once the cause is fixed"
