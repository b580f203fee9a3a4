"""Container images as local folders: what the local SageMaker and the local EKS run instead of Docker.

An ECR image (`<account>.dkr.ecr.<region>.amazonaws.com/churn@sha256:...`) maps to a folder by its
repository name: the one given for it with `seam local up --image-dir REPOSITORY=PATH`, else
`examples/<repository>/image/`. The folder's Dockerfile says what to run: its ENTRYPOINT (exec form)
is the command, CMD the default arguments, and `python` becomes this interpreter with the folder on
PYTHONPATH (the image's WORKDIR holding its code).
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from seam_local.template import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"


class ImageNotFound(LookupError):
    pass


@dataclass(frozen=True)
class LocalImage:
    reference: str
    folder: Path
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]

    def command(
        self, args: Sequence[str] | None = None, entrypoint: Sequence[str] | None = None
    ) -> list[str]:
        """`docker run IMAGE args...` (Kubernetes: `command` replaces ENTRYPOINT, `args` replaces CMD)."""
        argv = [*(entrypoint or self.entrypoint), *(self.cmd if args is None else args)]
        if argv and argv[0] in ("python", "python3", f"python3.{sys.version_info.minor}"):
            argv[0] = sys.executable
        return argv


def repository(image: str) -> str:
    """`123.dkr.ecr.us-east-1.amazonaws.com/team/churn@sha256:..` -> `churn` (the last path segment)."""
    path = image.split("/", 1)[1] if "/" in image and "." in image.split("/", 1)[0] else image
    name = path.split("@", 1)[0].rsplit("/", 1)[-1]
    return name.split(":", 1)[0]


def dockerfile_instructions(text: str) -> dict[str, tuple[str, ...]]:
    """The last ENTRYPOINT and CMD of a Dockerfile (line continuations joined)."""
    found: dict[str, tuple[str, ...]] = {}
    for line in text.replace("\\\n", " ").splitlines():
        keyword, _, rest = line.strip().partition(" ")
        keyword = keyword.upper()
        if keyword not in ("ENTRYPOINT", "CMD"):
            continue
        rest = rest.strip()
        if rest.startswith("["):
            found[keyword] = tuple(json.loads(rest))
        else:  # shell form: what Docker runs is /bin/sh -c
            found[keyword] = ("/bin/sh", "-c", rest) if rest else ()
    return found


class ImageResolver:
    """Finds `<root>/<repository>/image/` for an image; `overrides` maps repository names to folders."""

    def __init__(
        self, roots: Sequence[Path] = (EXAMPLES,), overrides: Mapping[str, Path] | None = None
    ) -> None:
        self.roots = [Path(r) for r in roots]
        self.overrides = {k: Path(v) for k, v in (overrides or {}).items()}

    def resolve(self, image: str) -> LocalImage:
        name = repository(image)
        candidates = [self.overrides[name]] if name in self.overrides else []
        candidates += [root / name / "image" for root in self.roots]
        for folder in candidates:
            dockerfile = folder / "Dockerfile"
            if dockerfile.is_file():
                found = dockerfile_instructions(dockerfile.read_text())
                if not found.get("ENTRYPOINT") and not found.get("CMD"):
                    raise ImageNotFound(f"{dockerfile} has neither ENTRYPOINT nor CMD")
                return LocalImage(image, folder, found.get("ENTRYPOINT", ()), found.get("CMD", ()))
        looked = ", ".join(shlex.quote(str(c)) for c in candidates)
        raise ImageNotFound(
            f"no local image folder for repository {name!r} (looked in {looked}); "
            f"give one with `seam local up --image-dir {name}=PATH` (a folder with its Dockerfile)"
        )


def image_dirs(pairs: Sequence[str]) -> dict[str, Path]:
    """`REPOSITORY=PATH` pairs (the --image-dir option) -> overrides; ValueError names a bad one."""
    found: dict[str, Path] = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not (sep and name and path) or "/" in name:
            raise ValueError(f"{pair!r} is not REPOSITORY=PATH (e.g. fraud=./fraud/image)")
        folder = Path(path).expanduser().resolve()
        if not (folder / "Dockerfile").is_file():
            raise ValueError(f"{pair!r}: {folder} has no Dockerfile")
        found[name] = folder
    return found
