"""`seam.reset()` forgets every process-wide cache, so a test or a local runtime start sees its own
environment."""

from __future__ import annotations

from typing import Any

import seam
from seam.adapters import aws
from seam.adapters.serving import eks
from seam.dependencies import dependencies
from seam.settings import get_settings
from seam_local.stack import EmulatedStack


def _cached() -> list[Any]:
    return [aws.client("sqs"), get_settings(), dependencies(), eks._shared_resolver(), eks._shared_tokens()]


def test_reset_forgets_clients_hooks_settings_dependencies_and_eks_caches(stack: EmulatedStack) -> None:
    hooked: list[Any] = []
    aws.add_client_hook(hooked.append)
    before = _cached()
    assert _cached() == before  # each is cached until reset

    seam.reset()
    after = _cached()

    assert [a is b for a, b in zip(after, before, strict=True)] == [False] * len(before)
    assert hooked == [before[0]]  # the hook went with the reset: the new client was not hooked
