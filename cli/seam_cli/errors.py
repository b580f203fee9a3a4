"""The CLI's one error handler: a failed command is one line on stderr and exit code 1, never a traceback.

`SeamGroup` is the app's root click group; every command and sub-command runs inside its `invoke`, so
one `except` turns Seam's errors (and AWS SDK errors the adapters did not translate, such as missing
credentials) into `error: <message>`. A refused model config prints one line per problem. An error
that is none of these is a bug: still one line, with the exception's type, and SEAM_DEBUG=1 re-raises
it for the traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from botocore.exceptions import BotoCoreError, ClientError
from seam.errors import SeamError
from typer.core import TyperGroup
from typer.exceptions import TyperException


class NotFoundError(SeamError):
    """The CLI was asked for a record that does not exist (e.g. `seam runs show no-such-run`)."""


class SeamGroup(TyperGroup):
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):
            raise  # --help, usage errors and typer.Exit: typer's own handling
        except Exception as exc:
            if os.environ.get("SEAM_DEBUG"):
                raise
            sys.stdout.flush()
            for line in error_lines(exc):
                typer.echo(f"error: {line}", err=True)
            raise typer.Exit(1) from None


def error_lines(exc: Exception) -> list[str]:
    problems = getattr(exc, "problems", None)
    if isinstance(exc, SeamError) and problems:
        return [_one_line(p) for p in problems]
    if isinstance(exc, SeamError | BotoCoreError | ClientError):
        return [_one_line(str(exc) or type(exc).__name__)]
    return [_one_line(f"unexpected {type(exc).__name__}: {exc} (SEAM_DEBUG=1 shows the traceback)")]


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines())
