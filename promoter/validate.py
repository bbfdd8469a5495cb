"""Schema and semantic checks over a GitOps repository, and loading it as a Snapshot.

Every check adds findings instead of stopping, so one run reports every problem. A
Snapshot is only built from a repository without findings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promoter import reference, schemas
from promoter.errors import ConfigError, PromoterError, UsageError
from promoter.findings import Finding, at
from promoter.layout import Layout
from promoter.model import (
    Environment,
    Pipeline,
    Snapshot,
    pipeline_from_data,
    sources_of,
    state_from_data,
)
from promoter.pipeline_rules import pipeline_semantics
from promoter.yamlio import Document, load, loads

KINDS = ("Pipeline", "Environment")


@dataclass(frozen=True)
class Inspection:
    """The result of checking files: findings, the files read, and a Snapshot when clean."""

    findings: tuple[Finding, ...]
    files: tuple[str, ...]
    snapshot: Snapshot | None = None
    documents: Mapping[str, Document] | None = None  # environment files, as loaded

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not self.findings


def load_snapshot(layout: Layout, only: Iterable[str] | None = None) -> Snapshot:
    """Load and check the repository; raise ConfigError naming the first problems if any.

    With ``only``, just those environments' files are read (with the pipeline): a command
    that changes one environment need not parse all of them.
    """
    return load_checked(layout, only)[0]


def load_checked(
    layout: Layout, only: Iterable[str] | None = None
) -> tuple[Snapshot, Mapping[str, Document]]:
    """``load_snapshot``, with the loaded environment documents (for editing one of them)."""
    result = check_repository(layout, only=None if only is None else set(only))
    if result.snapshot is not None:
        return result.snapshot, result.documents or {}
    first = result.findings[0]
    more = len(result.findings) - 1
    tail = f" (and {more} more problem{'s' * (more != 1)})" if more else ""
    raise ConfigError(
        f"{first.message}{tail}",
        file=first.file,
        line=first.line,
        column=first.column,
        hint="Run `promoter validate` for the full list",
    )


def _read(
    path: Path,
    name: str,
    findings: list[Finding],
    texts: Mapping[Path, str] | None = None,
    known: Mapping[Path, Document] | None = None,
) -> Document | None:
    try:
        if known is not None and path in known:
            return known[path]
        if texts is not None and path in texts:
            return loads(texts[path], name)
        return load(path, name)
    except PromoterError as exc:
        findings.append(
            Finding(
                exc.file or name, exc.line or 1, exc.column or 1, exc.code or "yaml", exc.detail()
            )
        )
        return None


def _add(findings: list[Finding], new: Iterable[Finding]) -> None:
    """Append findings, dropping exact repeats (a schema and a semantic rule may agree)."""
    seen = {(f.file, f.line, f.column, f.message) for f in findings}
    for finding in new:
        key = (finding.file, finding.line, finding.column, finding.message)
        if key not in seen:
            seen.add(key)
            findings.append(finding)


def check_repository(
    layout: Layout,
    only: set[str] | None = None,
    texts: Mapping[Path, str] | None = None,
    known: Mapping[Path, Document] | None = None,
) -> Inspection:
    """Check the pipeline, every environment file, and how they fit together.

    With ``only``, environment files of other environments are neither read nor checked.
    ``texts`` stand in for the files at those paths: a write is checked with the very same
    rules before anything is written. ``known`` are files parsed already (by path), as
    they are on disk or in ``texts``: they are not parsed again.
    """
    findings: list[Finding] = []
    pipe_name = layout.display(layout.pipeline_file)
    pdoc = _read(layout.pipeline_file, pipe_name, findings, texts, known)
    files = [pipe_name]
    envs: Mapping[str, Any] = {}
    envs_known = pipeline_ok = False
    if pdoc is not None:
        schema_findings = schemas.check(pdoc, "Pipeline")
        _add(findings, schema_findings)
        _add(findings, pipeline_semantics(pdoc, layout.pipeline_file.stem))
        if isinstance(pdoc.data, dict) and isinstance(pdoc.data.get("environments"), dict):
            envs = pdoc.data["environments"]
            envs_known = True
        pipeline_ok = not findings
    graph = pipeline_from_data(pdoc.data) if pipeline_ok and pdoc else _graph(envs)

    docs: dict[str, Document] = {}
    on_disk: set[str] = set()
    for path in layout.env_files():
        stem = path.stem
        if only is not None and stem not in only:
            on_disk.add(stem)
            continue
        name = layout.display(path)
        files.append(name)
        doc = _read(path, name, findings, texts, known)
        if path.suffix == ".yml":
            findings.append(
                Finding(
                    name,
                    1,
                    1,
                    "file-name",
                    f"environment files end in .yaml; rename {path.name} to {stem}.yaml",
                )
            )
            continue
        on_disk.add(stem)
        if not reference.is_name(stem):
            findings.append(
                Finding(
                    name,
                    1,
                    1,
                    "unsafe-name",
                    f"file name {path.name!r} is not a safe environment name; rename it "
                    "(lowercase letters, digits and inner hyphens) or move it out of "
                    f"{layout.display(layout.env_dir)}",
                )
            )
        elif stem not in envs and envs_known:
            findings.append(
                Finding(
                    name,
                    1,
                    1,
                    "not-in-pipeline",
                    f"{path.name} is not an environment of {pipe_name}; add "
                    f"{stem!r} under `environments:` there, or delete the file",
                )
            )
        if doc is None:
            continue
        problems = check_document(doc, "Environment")
        _add(findings, problems)
        if not problems and stem in envs:
            docs[stem] = doc
    if pdoc is not None:
        for env in envs:
            reserved = env == layout.pipeline_file.stem
            if reference.is_name(env) and env not in on_disk and not reserved:
                findings.append(
                    at(
                        pdoc,
                        ("environments", env),
                        "missing-file",
                        f"environment {env!r} has no file "
                        f"{layout.display(layout.env_dir / (env + '.yaml'))}; "
                        "create it (kind: Environment) or remove the environment",
                        key=True,
                    )
                )
    if graph is not None:
        # Rules across files run over every file that is valid on its own, with the graph
        # even when other parts of the pipeline have problems: one run reports them all.
        snapshot = Snapshot(
            pipe_name,
            graph,
            {env: state_from_data(env, doc.name, doc.data) for env, doc in docs.items()},
        )
        _add(findings, cross_file(snapshot, docs))
        if pipeline_ok and not findings:
            return Inspection((), tuple(files), snapshot, docs)
    return Inspection(tuple(sorted(findings)), tuple(files))


def _graph(envs: Mapping[str, Any]) -> Pipeline | None:
    """The promotion graph alone, when names and `from` links are sound; else None."""
    nodes: dict[str, Environment] = {}
    for name, spec in envs.items():
        if not reference.is_name(name) or not isinstance(spec, dict | None):
            return None
        raw = (spec or {}).get("from", [])
        sources = sources_of(spec)
        if not isinstance(raw, str | list) or not all(
            isinstance(s, str) and s in envs and s != name for s in sources
        ):
            return None
        nodes[name] = Environment(name, tuple(sources))
    pipeline = Pipeline(nodes)
    if any(name in pipeline.upstream(name) for name in nodes):
        return None  # a cycle
    return pipeline


def check_paths(paths: Iterable[Path], pipeline: str, root: Path) -> Inspection:
    """Check the named files and folders.

    A folder that holds the pipeline file, or is a repository root with the pipeline at
    its usual place, is checked whole, so the rules across environments apply. Any other
    YAML file is checked by its ``kind``.
    """
    findings: list[Finding] = []
    files: list[str] = []
    groups: list[Path] = []
    singles: list[Path] = []
    pipeline_name = Path(pipeline).name
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise UsageError(
                f"no such file or directory: {path}",
                hint="Name existing files or folders to validate",
            )
        folder = path if path.is_dir() else path.parent
        for candidate in (folder / pipeline_name, folder / pipeline):
            if candidate.is_file():
                if candidate.resolve() not in groups:
                    groups.append(candidate.resolve())
                break
        else:
            if path.is_dir():
                singles.extend(p for p in sorted(path.iterdir()) if p.suffix in (".yaml", ".yml"))
            else:
                singles.append(path)
    for pipeline_file in groups:
        result = check_repository(Layout(root, pipeline_file))
        findings.extend(result.findings)
        files.extend(result.files)
    seen = set()
    for path in singles:
        if path.resolve() in seen:
            continue
        seen.add(path.resolve())
        name = _display(path, root)
        files.append(name)
        doc = _read(path, name, findings)
        if doc is None:
            continue
        kind = doc.data.get("kind") if isinstance(doc.data, dict) else None
        if kind not in KINDS:
            what = f"kind {kind!r} is not a promoter file kind" if kind else "no `kind:`"
            findings.append(
                at(
                    doc,
                    ("kind",),
                    "unknown-kind",
                    f"{what}; expected kind: {' or '.join(KINDS)} (see README.md, File formats)",
                )
            )
            continue
        _add(findings, check_document(doc, kind))
        if kind == "Pipeline":
            _add(findings, pipeline_semantics(doc, path.stem))
    if not files:
        raise UsageError(
            f"no YAML files in {', '.join(str(p) for p in paths)}",
            hint="Name promoter files, or a folder that holds them",
        )
    return Inspection(tuple(sorted(set(findings))), tuple(dict.fromkeys(files)))


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def check_document(doc: Document, kind: str) -> list[Finding]:
    """Schema findings for one file, plus the per-file rules the schema cannot express."""
    findings = schemas.check(doc, kind)
    if kind == "Environment":
        _add(findings, artifact_semantics(doc))
    return findings


def artifact_semantics(doc: Document) -> list[Finding]:
    """Names, images and digests, checked exactly (schema patterns allow a final newline)."""
    findings: list[Finding] = []
    artifacts = doc.data.get("artifacts") if isinstance(doc.data, dict) else None
    if not isinstance(artifacts, dict):
        return findings
    for app, spec in artifacts.items():
        problem = reference.explain_name(app, "app name")
        if problem:
            findings.append(at(doc, ("artifacts", app), "unsafe-name", problem, key=True))
        if not isinstance(spec, dict):
            continue
        # Values of the wrong type are the schema's finding; these rules read strings.
        if isinstance(spec.get("digest"), str):
            problem = reference.explain_digest(spec["digest"])
            if problem:
                code = "mutable-tag" if "mutable tag" in problem else "bad-digest"
                findings.append(at(doc, ("artifacts", app, "digest"), code, problem))
        if isinstance(spec.get("image"), str):
            problem = reference.explain_image(spec["image"])
            if problem:
                code = "mutable-tag" if "mutable tag" in problem else "bad-image"
                findings.append(at(doc, ("artifacts", app, "image"), code, problem))
    return findings


def cross_file(snapshot: Snapshot, docs: Mapping[str, Document]) -> list[Finding]:
    """Rules across environments: apps arrive only through sources, one image per app.

    Environments missing from ``snapshot.states`` (their file is invalid) are skipped.
    """
    findings: list[Finding] = []
    pipeline = snapshot.pipeline
    order = [name for name in pipeline.order() if name in snapshot.states]
    for env_name in order:
        env = pipeline.environments[env_name]
        doc = docs[env_name]
        for app in snapshot.states[env_name].artifacts:
            for source in env.sources:
                upstream = snapshot.states.get(source)
                if upstream is not None and app not in upstream.artifacts:
                    findings.append(
                        at(
                            doc,
                            ("artifacts", app),
                            "app-not-upstream",
                            f"app {app!r} is in {env_name} but not in its source {source}: an "
                            f"app reaches {env_name} only through {source} (skipped "
                            f"environment); add it to {source} first or remove it here",
                            key=True,
                        )
                    )
    for app in snapshot.apps:
        images: dict[str, list[str]] = {}
        for env_name in order:
            artifact = snapshot.states[env_name].artifacts.get(app)
            if artifact is not None:
                images.setdefault(artifact.image, []).append(env_name)
        if len(images) < 2:
            continue
        # The image most environments use is the app's; ties go to the most upstream one.
        usual = max(images, key=lambda image: (len(images[image]), -order.index(images[image][0])))
        for image, env_names in images.items():
            if image == usual:
                continue
            for env_name in env_names:
                findings.append(
                    at(
                        docs[env_name],
                        ("artifacts", app, "image"),
                        "image-mismatch",
                        f"app {app!r} uses image {image} here but {usual} in "
                        f"{', '.join(images[usual])}: one artifact must flow through every "
                        "environment (an environment-specific build?); use the same image",
                    )
                )
    return findings
