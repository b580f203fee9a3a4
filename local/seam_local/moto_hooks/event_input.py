"""The event envelope keeps its account. EventBridge gives a target without an InputTransformer the
event as it is; moto renders it through a default input template that leaves out `account`. While
installed, the default template has it.

moto member: `moto.events.utils.EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE` (replaced). An
InputTransformer on each target would carry the account too, but the targets are template.yaml's
and stay as AWS gets them.
"""

from __future__ import annotations

from moto.events.utils import EventTemplateParser

from seam_local.moto_hooks.patching import Hook, Patch

_MOTO_TEMPLATE: str = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE


def _moto_still_drops_the_account() -> None:
    if '"account"' in _MOTO_TEMPLATE:
        raise RuntimeError(
            "moto's default event input now has the account: drop seam_local.moto_hooks.event_input"
        )
    if '"version": "0",' not in _MOTO_TEMPLATE:
        raise RuntimeError(f"moto's default event input changed: {_MOTO_TEMPLATE}")


TEMPLATE = Patch(
    EventTemplateParser,
    "DEFAULT_EVENT_INPUT_TEMPLATE",
    _MOTO_TEMPLATE.replace('"version": "0",', '"version": "0", "account": "<account>",'),
)
HOOK: Hook[None] = Hook([TEMPLATE], check=_moto_still_drops_the_account)
check = HOOK.check
