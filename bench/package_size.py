"""Package size after `sam build`: each function's code and the layer, unzipped."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAM = ROOT / ".venv-sam" / "bin" / "sam"
PY313_DIR = (
    Path(subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip() or "/root/.pyenv")
    / "versions"
    / "3.13.0"
    / "bin"
)


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def run() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as build_dir:
        env = {**os.environ, "PATH": f"{PY313_DIR}:{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"}
        subprocess.run(
            [str(SAM), "build", "--build-dir", build_dir, "--no-cached"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        built = Path(build_dir)
        functions = {
            p.name: folder_bytes(p) for p in built.iterdir() if p.is_dir() and p.name.endswith("Function")
        }
        layer = folder_bytes(built / "SeamLayer")
    return {
        "package_function_bytes": functions,
        "package_function_max_bytes": max(functions.values()),
        "layer_bytes": layer,
    }
