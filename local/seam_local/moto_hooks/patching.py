"""The one way Seam changes moto: a `Hook` puts its replacements for named moto members in place while
a `with hook.installed(target):` block runs, and puts moto's own back when the outermost block ends.

Blocks nest (a local runtime inside a test harness): the innermost block's target is `hook.target`,
and the replacements stay until the last block ends. Installing checks first that moto is the pinned
version and still has what the hook replaces, with the signature it was written against.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import moto

PINNED_MOTO_VERSION = "5.2.5"
MISSING: Any = object()  # an attribute the owner does not have


def check_moto_version() -> None:
    if moto.__version__ != PINNED_MOTO_VERSION:
        raise RuntimeError(
            f"seam_local.moto_hooks targets moto {PINNED_MOTO_VERSION}, found {moto.__version__}: "
            "run every hook module's check (tests/workflow/test_moto_hooks.py), then update the pin"
        )


class Patch:
    """`owner.<name>` is `replacement` while installed. `params`: the parameters moto's member takes (the
    replacement is called as it is); `adds`: moto lacks the member (and must still lack it)."""

    def __init__(
        self,
        owner: Any,
        name: str,
        replacement: Any,
        *,
        params: Sequence[str] | None = None,
        adds: bool = False,
    ) -> None:
        self.owner, self.name, self.replacement = owner, name, replacement
        self.params, self.adds = params, adds
        self.original = vars(owner).get(name, MISSING)  # moto's own, as imported

    @property
    def where(self) -> str:
        return f"{getattr(self.owner, '__name__', self.owner)}.{self.name}"

    def check(self) -> None:
        if self.adds:
            current = vars(self.owner).get(self.name, MISSING)
            if current is not MISSING and current is not self.replacement:
                raise RuntimeError(f"moto now has {self.where}: drop Seam's")
            return
        if self.original is MISSING:
            raise RuntimeError(f"moto no longer has {self.where}")
        if self.params is not None:
            found = list(inspect.signature(self.original).parameters)
            if found != list(self.params):
                raise RuntimeError(f"moto {self.where} signature changed: {found}")

    def apply(self) -> None:
        setattr(self.owner, self.name, self.replacement)

    def restore(self) -> None:
        if self.original is MISSING:
            delattr(self.owner, self.name)
        else:
            setattr(self.owner, self.name, self.original)


class Hook[T]:
    """Patches installed together, for a target (what the replacements hand their work to) or None."""

    def __init__(self, patches: Sequence[Patch], check: Callable[[], None] | None = None) -> None:
        self.patches = list(patches)
        self._extra_check = check
        self._targets: list[T] = []
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise when moto no longer looks like what the hook was written against."""
        for patch in self.patches:
            patch.check()
        if self._extra_check is not None:
            self._extra_check()

    @property
    def target(self) -> T | None:
        """The innermost block's target; None when the hook is not installed."""
        return self._targets[-1] if self._targets else None

    @contextmanager
    def installed(self, target: T) -> Iterator[T]:
        with self._lock:
            if not self._targets:
                check_moto_version()
                self.check()
                for patch in self.patches:
                    patch.apply()
            self._targets.append(target)
        try:
            yield target
        finally:
            with self._lock:
                self._targets.pop()
                if not self._targets:
                    for patch in self.patches:
                        patch.restore()
