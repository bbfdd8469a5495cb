"""Where a GitOps repository keeps its files, and the only way names become paths."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from promoter import reference
from promoter.errors import ConfigError, UsageError

DEFAULT_PIPELINE = "environments/pipeline.yaml"


@dataclass(frozen=True)
class Layout:
    """A repository root and its pipeline file; environment files sit beside the pipeline."""

    root: Path
    pipeline_file: Path

    @property
    def env_dir(self) -> Path:
        """The folder that holds ``<environment>.yaml`` files."""
        return self.pipeline_file.parent

    def display(self, path: Path) -> str:
        """``path`` relative to the repository root when inside it, for messages."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def env_file(self, name: str) -> Path:
        """The file of environment ``name``; refuses any name that is not a safe identifier."""
        problem = reference.explain_name(name, "environment name")
        if problem:
            raise ConfigError(problem, file=self.display(self.pipeline_file))
        path = self.env_dir / f"{name}.yaml"
        # Belt and braces: a safe identifier can never leave env_dir, and this proves it.
        if path.resolve().parent != self.env_dir.resolve():
            raise ConfigError(
                f"environment file {path} escapes {self.env_dir}",
                file=self.display(self.pipeline_file),
            )
        return path

    def env_files(self) -> list[Path]:
        """Every YAML entry in the environment folder except the pipeline file, sorted.

        Entries are listed by name whatever they are (a directory, a dangling symlink), so
        reading them reports what is wrong instead of pretending the file is missing.
        """
        try:
            names = [entry.name for entry in os.scandir(self.env_dir)]
        except OSError as exc:
            raise ConfigError(
                f"cannot list {self.display(self.env_dir)}: {exc.strerror or exc}",
                hint="Check that the folder exists and is readable",
            ) from None
        return sorted(
            self.env_dir / name
            for name in names
            if name.endswith((".yaml", ".yml")) and name != self.pipeline_file.name
        )


def find_layout(repo: Path | None, pipeline: str | None) -> Layout:
    """Locate the pipeline file: under ``repo`` if given, else here or in a parent folder."""
    relative = Path(pipeline or DEFAULT_PIPELINE)
    if relative.is_absolute():
        root = repo.resolve() if repo else Path.cwd().resolve()
        return _checked(Layout(root, relative), explicit=True)
    if repo is not None:
        if not repo.is_dir():
            raise UsageError(
                f"--repo {repo} is not a directory", hint="Pass the root of your GitOps repository"
            )
        root = repo.resolve()
        return _checked(Layout(root, root / relative), explicit=True)
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / relative).is_file():
            return Layout(candidate, candidate / relative)
    return _checked(Layout(here, here / relative), explicit=False)


def _checked(layout: Layout, *, explicit: bool) -> Layout:
    if layout.pipeline_file.is_file():
        return layout
    where = "under --repo" if explicit else "here or in any parent folder"
    raise ConfigError(
        f"no pipeline file {layout.display(layout.pipeline_file)} {where} ({layout.root})",
        hint="Run promoter inside your GitOps repository, pass --repo PATH, or name the file "
        "with --pipeline",
    )
