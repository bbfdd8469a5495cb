"""A loopback GitHub for the tests: the REST endpoints promoter uses, over real HTTP,
backed by a real bare git repository, every request and response validated against
GitHub's official OpenAPI description (``../shared/contracts/github-rest-subset.json``).

Responses are built from the description's own examples with the fields that matter
filled in from the server's state (pull requests, labels, comments) and from git (branch
heads). A request or response the description rejects is answered with HTTP 599 and
recorded in ``violations``, which the fixture asserts is empty: a client that sends
something GitHub would not take, or a server that answers what GitHub would not, fails
the test. ``fail(...)`` injects forge errors (401, 403, 404, 422, 5xx).
"""

from __future__ import annotations

import copy
import functools
import json
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "contracts" / "github-rest-subset.json"
STAMP = "2026-12-01T10:00:00Z"
MESSAGES = {
    401: "Bad credentials",
    403: "Resource not accessible by integration",
    404: "Not Found",
    422: "Validation Failed",
    429: "You have exceeded a secondary rate limit",
}


@functools.cache
def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(CONTRACT.read_text(encoding="utf-8"))
    # The description's server is api.github.com; this one listens on loopback.
    spec["servers"] = [{"url": "http://127.0.0.1:{port}", "variables": {"port": {"default": "80"}}}]
    return spec


@functools.cache
def _openapi() -> Any:
    from openapi_core import OpenAPI

    return OpenAPI.from_dict(_spec())


def _example(name: str) -> Any:
    return copy.deepcopy(_spec()["components"]["examples"][name]["value"])


def _relocated(doc: Any, api: str, repository: str, number: int | None = None) -> Any:
    """An example with its URLs pointing at this server and repository (PyGithub follows
    them, and refuses a host other than the one it was given)."""
    text = json.dumps(doc).replace("https://api.github.com", api)
    text = text.replace("octocat/Hello-World", repository)
    if number is not None:
        text = text.replace("/1347", f"/{number}")
    return json.loads(text)


@dataclass
class Pull:
    number: int
    head: str
    base: str
    title: str
    body: str
    state: str = "open"
    labels: list[str] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    reviews: list[dict[str, str]] = field(default_factory=list)  # login, state, commit_id


@dataclass
class Stall:
    """A request held until the test releases it, then dropped unanswered (its client was
    killed meanwhile): nothing it asked for happens."""

    method: str
    pattern: str
    times: int = 1  # how many requests it holds
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@dataclass
class Fault:
    method: str
    pattern: str  # a regular expression the path must match
    status: int
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)


class GitHubServer:
    """One repository, ``owner/name``, on a loopback GitHub."""

    def __init__(self, bare: Path, owner: str = "acme", name: str = "gitops") -> None:
        self.bare = bare
        self.owner, self.name = owner, name
        self.token = "ghp_" + "T0k3n" * 7  # what a test's promoter gets as GITHUB_TOKEN
        self.pulls: dict[int, Pull] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path), in order
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self.stalls: list[Stall] = []
        self.bodies: list[str] = []  # every request body, to look for leaked secrets
        self.statuses: dict[str, list[dict[str, Any]]] = {}  # sha -> statuses, newest last
        self.latency = 0.0  # seconds added to every answer (a forge far away)
        self._lock = threading.Lock()
        self._server: Any = None
        self.url = ""

    # -- the test's side ------------------------------------------------------------

    def start(self) -> GitHubServer:
        from werkzeug.serving import make_server

        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()

    def env(self) -> dict[str, str]:
        """What promoter needs to find this forge, as GitHub Actions would set it."""
        return {
            "PROMOTER_FORGE": "github",
            "GITHUB_API_URL": self.url,
            "GITHUB_REPOSITORY": f"{self.owner}/{self.name}",
            "GITHUB_TOKEN": self.token,
        }

    def fail(self, method: str, pattern: str, status: int, times: int = 1, **headers: str) -> None:
        """Answer the next ``times`` requests ``METHOD pattern`` with ``status``."""
        self.faults.append(Fault(method, pattern, status, times, dict(headers)))

    def review(self, number: int, login: str, state: str = "APPROVED", commit: str = "") -> None:
        """``login`` reviews pull request ``number`` (on its current head by default)."""
        pull = self.pulls[number]
        sha = commit or self.branches()[pull.head]
        pull.reviews.append({"login": login, "state": state, "commit_id": sha})

    def status(self, sha: str, context: str = "promoter/gates") -> dict[str, Any] | None:
        """The newest status ``context`` of ``sha``."""
        found = [s for s in self.statuses.get(sha, []) if s["context"] == context]
        return found[-1] if found else None

    def stall(self, method: str, pattern: str, times: int = 1) -> Stall:
        """Hold the next ``times`` ``METHOD pattern`` requests until released (see Stall)."""
        held = Stall(method, pattern, times)
        self.stalls.append(held)
        return held

    def open(self) -> list[Pull]:
        return [p for p in self.pulls.values() if p.state == "open"]

    def branches(self) -> dict[str, str]:
        """Every branch of the bare repository, with its sha."""
        out = subprocess.run(
            ["git", "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads"],
            cwd=self.bare, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return dict(line.split(" ", 1) for line in out.splitlines())

    # -- HTTP ------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        from openapi_core.contrib.werkzeug import (
            WerkzeugOpenAPIRequest,
            WerkzeugOpenAPIResponse,
        )
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        if self.latency:
            time.sleep(self.latency)
        for stall in list(self.stalls):
            if stall.method == request.method and re.search(stall.pattern, request.path):
                stall.times -= 1
                if stall.times <= 0:
                    self.stalls.remove(stall)
                stall.reached.set()
                stall.release.wait(60)
                return Response("dropped", status=503)(environ, start_response)
        with self._lock:
            self.requests.append((request.method, request.path))
            self.bodies.append(request.get_data(as_text=True))
            response = self._answer(request)
            if response is None:
                try:
                    _openapi().validate_request(WerkzeugOpenAPIRequest(request))
                except Exception as exc:
                    self.violations.append(f"request {request.method} {request.path}: {exc}")
                    response = Response("request violates the contract", status=599)
                else:
                    response = self._route(request)
            if response.status_code < 599:
                try:
                    _openapi().validate_response(
                        WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(response)
                    )
                except Exception as exc:
                    if _undocumented(exc) and _is_basic_error(response):
                        return response(environ, start_response)  # see _is_basic_error
                    self.violations.append(
                        f"response {response.status_code} to {request.method} {request.path}: "
                        f"{_reason(exc)}"
                    )
                    response = Response("response violates the contract", status=599)
        return response(environ, start_response)

    def _answer(self, request: Any) -> Any:
        """An injected fault or an authentication failure, before any routing."""

        auth = request.headers.get("Authorization", "")
        if auth not in (f"token {self.token}", f"Bearer {self.token}"):
            return _error(401, "Bad credentials")
        for fault in self.faults:
            if fault.method == request.method and re.search(fault.pattern, request.path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                response = _error(fault.status, MESSAGES.get(fault.status, "Server Error"))
                response.headers.update(fault.headers)
                return response
        return None

    def _route(self, request: Any) -> Any:
        from werkzeug.wrappers import Response

        base = f"/repos/{self.owner}/{self.name}"
        path, method = request.path, request.method
        data = request.get_json(silent=True) or {}
        found_status = re.fullmatch(r"/statuses/([0-9a-f]{40})", path[len(base) :])
        if found_status and method == "POST":
            status = _relocated(_example("status"), self.url, f"{self.owner}/{self.name}")
            status.update(
                state=data["state"],
                description=data.get("description"),
                target_url=data.get("target_url"),
                context=data.get("context", "default"),
                id=sum(len(v) for v in self.statuses.values()) + 1,
            )
            self.statuses.setdefault(found_status.group(1), []).append(status)
            return _json(Response, status, 201)
        if not path.startswith(base):
            return _error(404, "Not Found")
        rest = path[len(base) :]
        if rest == "/pulls" and method == "GET":
            found = [
                self._pull_json(p, simple=True)
                for p in sorted(self.pulls.values(), key=lambda p: -p.number)
                if request.args.get("state", "open") in (p.state, "all")
                and request.args.get("base") in (None, p.base)
            ]
            return _json(Response, found, 200)
        if rest == "/pulls" and method == "POST":
            if data["head"] not in self.branches():
                invalid = {"resource": "PullRequest", "field": "head", "code": "invalid"}
                return _error(422, "Validation Failed", [invalid])
            if any(p.head == data["head"] and p.base == data["base"] for p in self.open()):
                taken = f"A pull request already exists for {data['head']}."
                duplicate = {"resource": "PullRequest", "code": "custom", "message": taken}
                return _error(422, "Validation Failed", [duplicate])
            number = max(self.pulls, default=0) + 1
            pull = Pull(number, data["head"], data["base"], data["title"], data.get("body") or "")
            self.pulls[number] = pull
            return _json(Response, self._pull_json(pull), 201)
        found = re.fullmatch(r"/(pulls|issues)/(\d+)(/.*)?", rest)
        if found is None or int(found.group(2)) not in self.pulls:
            return _error(404, "Not Found")
        pull, tail = self.pulls[int(found.group(2))], found.group(3) or ""
        if found.group(1) == "pulls" and tail == "" and method == "GET":
            return _json(Response, self._pull_json(pull), 200)
        if found.group(1) == "pulls" and tail == "" and method == "PATCH":
            pull.title = data.get("title", pull.title)
            pull.body = data.get("body", pull.body)
            pull.state = data.get("state", pull.state)
            return _json(Response, self._pull_json(pull), 200)
        if tail == "/reviews" and method == "GET":
            items = []
            for i, review in enumerate(pull.reviews, 1):
                item = _relocated(
                    _example("pull-request-review-items")[0],
                    self.url,
                    f"{self.owner}/{self.name}",
                    pull.number,
                )
                item.update(id=i, state=review["state"], commit_id=review["commit_id"])
                item["user"] = self._user(review["login"], item["user"])
                items.append(item)
            return _json(Response, items, 200)
        if tail == "/labels" and method == "POST":
            for name in data.get("labels", []):
                if name not in pull.labels:
                    pull.labels.append(name)
            return _json(Response, [self._label(n) for n in pull.labels], 200)
        if tail == "/requested_reviewers" and method == "POST":
            pull.reviewers += [r for r in data.get("reviewers", []) if r not in pull.reviewers]
            return _json(Response, self._pull_json(pull, simple=True), 201)
        if tail == "/comments" and method == "POST":
            pull.comments.append(data["body"])
            comment = _relocated(_example("issue-comment"), self.url, f"{self.owner}/{self.name}")
            comment.update(body=data["body"], id=len(pull.comments))
            return _json(Response, comment, 201)
        return _json(Response, {"message": "Not Found"}, 404)

    # -- GitHub's shapes -----------------------------------------------------------------

    def _label(self, name: str) -> dict[str, Any]:
        label: dict[str, Any] = _relocated(
            _example("label-items")[0], self.url, f"{self.owner}/{self.name}"
        )
        label.update(name=name, id=abs(hash(name)) % 10**9, default=False)
        return label

    def _user(self, login: str, template: dict[str, Any]) -> dict[str, Any]:
        user = copy.deepcopy(template)
        user.update(
            login=login, id=abs(hash(login)) % 10**8, html_url=f"https://github.example/{login}"
        )
        return user

    def _pull_json(self, pull: Pull, *, simple: bool = False) -> dict[str, Any]:
        doc: dict[str, Any] = _example("pull-request-simple-items" if simple else "pull-request")
        if simple:
            doc = doc[0]
        doc = _relocated(doc, self.url, f"{self.owner}/{self.name}", pull.number)
        heads = self.branches()
        html = f"https://github.example/{self.owner}/{self.name}/pull/{pull.number}"
        doc.update(
            number=pull.number,
            id=1000 + pull.number,
            title=pull.title,
            body=pull.body,
            state="open" if pull.state == "open" else "closed",
            html_url=html,
            url=f"{self.url}/repos/{self.owner}/{self.name}/pulls/{pull.number}",
            labels=[self._label(n) for n in pull.labels],
            created_at=STAMP,
            updated_at=STAMP,
            closed_at=None if pull.state == "open" else STAMP,
            merged_at=None,
            merge_commit_sha=None,
        )
        # the description's own example lists a team without its required `type`
        doc["requested_teams"] = []
        doc["requested_reviewers"] = [self._user(login, doc["user"]) for login in pull.reviewers]
        if not simple:
            doc.update(merged=False, merged_by=None, mergeable=None, mergeable_state="unknown")
        for side, ref in (("head", pull.head), ("base", pull.base)):
            doc[side]["ref"] = ref
            doc[side]["label"] = f"{self.owner}:{ref}"
            doc[side]["sha"] = heads.get(ref, "0" * 40)
        return doc


def _json(response_class: Any, data: Any, status: int) -> Any:
    return response_class(json.dumps(data), status=status, content_type="application/json")


def _reason(exc: Exception) -> str:
    """What the validator objected to (its schema errors), not the whole document."""
    cause = exc.__cause__ or exc
    errors = getattr(cause, "schema_errors", None)
    if errors:
        return "; ".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors)
    return str(cause)[-1500:]


def _undocumented(exc: Exception) -> bool:
    """Whether the validator only objects that the operation does not list this status."""
    return "Unknown response http status" in str(exc)


def _is_basic_error(response: Any) -> bool:
    """GitHub answers 401 (bad credentials), 403, 5xx on any endpoint, whether or not
    the description lists them there, with its ``basic-error`` body: such an answer must
    still be a valid ``basic-error``."""
    from jsonschema import Draft7Validator

    if response.status_code not in (401, 403, 404, 422, 429) and response.status_code < 500:
        return False
    schema = _spec()["components"]["schemas"]["basic-error"]
    return Draft7Validator(schema).is_valid(json.loads(response.get_data(as_text=True)))


def _error(status: int, message: str, errors: list[dict[str, str]] | None = None) -> Any:
    """GitHub's error body (``basic-error``, or ``validation-error`` with ``errors``)."""
    from werkzeug.wrappers import Response

    doc: dict[str, Any] = {"message": message, "documentation_url": "https://docs.github.com/rest"}
    if errors is not None:
        doc["errors"] = errors
    return _json(Response, doc, status)
