"""scripts/find-python, the Makefile's choice of interpreter: run against fake interpreters (scripts that
print a version) in a temporary PATH and HOME, so the search order and the one-line refusal can't break
unnoticed whatever Pythons this machine has."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIND_PYTHON = REPO / "scripts" / "find-python"
TOOLS = ("bash", "sort", "dirname", "basename")  # what the script runs besides the interpreters


class Machine:
    """A PATH of fake commands and a HOME with pyenv's and uv's folders, nothing else."""

    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.bin = root / "bin"
        self.tools = root / "tools"
        for folder in (self.home, self.bin, self.tools):
            folder.mkdir()
        for tool in TOOLS:
            found = shutil.which(tool)
            assert found, f"{tool} is needed to run scripts/find-python"
            (self.tools / tool).symlink_to(found)
        self.env = {"PATH": f"{self.bin}:{self.tools}", "HOME": str(self.home)}

    def python(self, path: Path, version: str) -> Path:
        """A fake interpreter that answers like Python `version`, whatever it is asked."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"#!/bin/sh\necho {version}\n")
        path.chmod(0o755)
        return path

    def broken(self, name: str) -> Path:
        """A pyenv shim whose version is not selected: it fails, as `python3.13` does then."""
        path = self.bin / name
        path.write_text('#!/bin/sh\necho "pyenv: $0: command not found" >&2\nexit 127\n')
        path.chmod(0o755)
        return path

    def pyenv(self, version: str, root: Path | None = None) -> Path:
        minor = ".".join(version.split(".")[:2])
        return self.python(
            (root or self.home / ".pyenv") / "versions" / version / "bin" / f"python{minor}", version
        )

    def uv(self, version: str) -> Path:
        minor = ".".join(version.split(".")[:2])
        folder = self.home / ".local" / "share" / "uv" / "python" / f"cpython-{version}-linux-x86_64-gnu"
        return self.python(folder / "bin" / f"python{minor}", version)

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.tools / "bash"), str(FIND_PYTHON), *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=30,
        )


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


def found(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout.strip()


def refused(result: subprocess.CompletedProcess[str]) -> str:
    """The one line the Makefile shows, and nothing on stdout (where a path would be)."""
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_an_old_python3_first_on_path_and_a_failing_shim_give_way_to_pyenvs_newest_313(
    machine: Machine,
) -> None:
    machine.python(machine.bin / "python3", "3.11.7")
    machine.broken("python3.13")
    machine.pyenv("3.12.1")
    machine.pyenv("3.13.1")
    newest = machine.pyenv("3.13.10")

    assert found(machine.run()) == str(newest)


def test_313_anywhere_comes_before_312_anywhere_and_path_before_pyenv_before_uv(machine: Machine) -> None:
    machine.python(machine.bin / "python3.12", "3.12.4")
    uv_313 = machine.uv("3.13.2")
    assert found(machine.run()) == str(uv_313)

    pyenv_313 = machine.pyenv("3.13.0")
    assert found(machine.run()) == str(pyenv_313)

    on_path = machine.python(machine.bin / "python3.13", "3.13.5")
    assert found(machine.run()) == str(on_path)


def test_pyenv_root_comes_from_pyenv_itself_then_from_pyenv_root_variable(
    machine: Machine, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "pyenvs"
    in_variable = machine.pyenv("3.12.3", root=elsewhere)
    assert found(machine.run(PYENV_ROOT=str(elsewhere))) == str(in_variable)

    reported = tmp_path / "reported"
    from_pyenv = machine.pyenv("3.13.3", root=reported)
    pyenv = machine.bin / "pyenv"
    pyenv.write_text(f'#!/bin/sh\n[ "$1" = root ] && echo {reported}\n')
    pyenv.chmod(0o755)
    assert found(machine.run(PYENV_ROOT=str(elsewhere))) == str(from_pyenv)


def test_a_python3_of_312_or_newer_is_taken_when_nothing_names_its_version(machine: Machine) -> None:
    newer = machine.python(machine.bin / "python3", "3.14.0")
    assert found(machine.run()) == str(newer)


def test_with_no_312_or_newer_it_says_in_one_line_what_it_found_what_is_needed_and_how_to_get_it(
    machine: Machine,
) -> None:
    old = machine.python(machine.bin / "python3", "3.11.7")
    machine.broken("python3.13")
    machine.pyenv("3.11.7")
    machine.uv("3.10.4")

    line = refused(machine.run())
    assert f"found Python 3.11.7 ({old})" in line
    assert "needs Python 3.12 or newer" in line
    assert "'pyenv install 3.13'" in line and "'uv python install 3.13'" in line


def test_with_no_python_at_all_it_says_so(machine: Machine) -> None:
    assert "found no Python at all" in refused(machine.run())


def test_a_python_given_by_the_user_is_checked_not_replaced(machine: Machine) -> None:
    machine.pyenv("3.13.0")
    old = machine.python(machine.bin / "python3.11", "3.11.9")
    line = refused(machine.run("python3.11"))
    assert line.startswith(f"PYTHON=python3.11 is Python 3.11.9 ({old})")

    chosen = machine.python(machine.bin / "python3.12", "3.12.0")
    assert found(machine.run("python3.12")) == str(chosen)


def test_only_finds_exactly_that_version_for_sam_build(machine: Machine) -> None:
    machine.python(machine.bin / "python3", "3.13.0")  # sam looks for python3.13 by that name
    machine.pyenv("3.12.1")
    assert refused(machine.run("--only", "3.13")).startswith("no python3.13 on PATH, in pyenv or in uv")

    lambda_python = machine.uv("3.13.1")
    assert found(machine.run("--only", "3.13")) == str(lambda_python)


def make(machine: Machine, tmp_path: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    """`make -n` with this repo's Makefile, the machine's PATH and HOME, and venvs that don't exist yet."""
    executable = shutil.which("make")
    assert executable, "make is needed"
    venvs = {
        "VENV": str(tmp_path / "venv"),
        "SAM_VENV": str(tmp_path / "venv-sam"),
        "CHECKOV_VENV": str(tmp_path / "venv-checkov"),
    }
    return subprocess.run(
        [executable, "-n", *(f"{k}={v}" for k, v in venvs.items()), *targets],
        cwd=REPO,
        env={**machine.env, "MAKEFLAGS": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_make_setup_builds_every_venv_with_the_python_it_found(machine: Machine, tmp_path: Path) -> None:
    machine.python(machine.bin / "python3", "3.11.7")
    chosen = machine.pyenv("3.13.0")
    result = make(machine, tmp_path, "setup")
    assert result.returncode == 0, result.stderr
    venv_lines = [line for line in result.stdout.splitlines() if " -m venv " in line]
    assert venv_lines == [
        f"{chosen} -m venv {tmp_path / 'venv'}",
        f"{chosen} -m venv {tmp_path / 'venv-sam'}",
        f"{chosen} -m venv {tmp_path / 'venv-checkov'}",
    ]


@pytest.mark.parametrize("target", ["setup", "demo", "test"])
def test_make_stops_before_installing_anything_with_the_one_line(
    machine: Machine, tmp_path: Path, target: str
) -> None:
    machine.python(machine.bin / "python3", "3.11.7")
    result = make(machine, tmp_path, target)
    assert result.returncode != 0
    assert result.stdout == ""  # not one command of the recipe, not even printed
    [line] = result.stderr.splitlines()
    assert "*** Seam needs Python 3.12 or newer but found Python 3.11.7" in line
    assert set(os.listdir(tmp_path)) == {"home", "bin", "tools"}  # no venv begun
