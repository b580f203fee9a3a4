"""Package size after `sam build`: each function's code and the layer, unzipped."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAM = ROOT / ".venv-sam" / "bin" / "sam"


def lambda_python_dir() -> Path:
    """The folder of python3.13 (the functions' runtime, which sam build runs), found as make finds it."""
    find = [str(ROOT / "scripts" / "find-python"), "--only", "3.13"]
    found = subprocess.run(find, capture_output=True, text=True, check=False)
    if found.returncode != 0:
        raise RuntimeError(f"sam build needs python3.13: {found.stderr.strip()}")
    return Path(found.stdout.strip()).parent


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def run() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as build_dir:
        env = {**os.environ, "PATH": f"{lambda_python_dir()}:{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"}
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
