"""What a trigger asks for (`RunRequest`), and the order in which requests of one model happened.
Apart from run.py: only the trigger, the lock's users (Finalize, the reconciler) and Register's deploy
runs read requests; the other states do not define them at cold start."""

from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal

from pydantic import Field

from seam.models.deploy_order import DeployOrder
from seam.models.run import STAGE_PATTERN, DatasetRef, TriggerKind, _Record, run_id_for, utc_now

# `RunRequest.order` within one second, as (group, rank). Group 0: a schedule slot, whose time is exact
# and whole (the slot's first instant); 1: times with a fraction (drift alarms in ms; `seam trigger`,
# rollbacks, retries in µs; approvals in ms), compared at milliseconds, then by rank; 2: a data drop,
# whose S3 event time is the floor of its second (the write happened somewhere in it), so it is placed
# at the end of its second: a drop is never superseded by a request of its own second.
TIE_GROUP = {TriggerKind.SCHEDULE: 0, TriggerKind.DATA: 2}
TIE_RANK = {TriggerKind.MANUAL: 1, TriggerKind.DRIFT: 2, TriggerKind.APPROVAL: 1, TriggerKind.ROLLBACK: 2}


class RunRequest(_Record):
    """What a trigger asks for. The run id is derived from the intent, so a redelivered event (or the
    same intent arriving twice) maps to the same run."""

    stage: str = Field(pattern=STAGE_PATTERN)  # the stack's: part of the run id
    model: str
    trigger: TriggerKind
    intent: str = Field(description="what identifies the intent, e.g. bucket/key/version or tick time")
    dataset: DatasetRef | None = None  # known for data triggers; found by Validate otherwise
    detail: dict[str, str] = Field(default_factory=dict)
    # When the intent arose, by the event's own clock (S3 event time, alarm state time, slot start,
    # manual request time): the same for every redelivery, so it orders requests as they happened.
    requested_at: datetime = Field(default_factory=utc_now)
    sequencer: str | None = Field(default=None, max_length=64)  # S3's, hex: orders writes of one key
    deploy: DeployOrder | None = None  # a deploy run's order (approval or rollback triggers)
    retry_of: str | None = None  # `seam runs retry`: the failed run this one starts again
    force: bool = False  # `seam trigger --force`: retrain even on the data the champion saw

    @property
    def run_id(self) -> str:
        return run_id_for(self.stage, self.model, self.trigger, self.intent)

    @property
    def lock_slot(self) -> Literal["retrain", "deploy"]:
        """Which of the model lock's two pending slots the request waits in: a deploy run (an approval,
        a rollback, or a retry of one) and a retrain are different intents, so neither ever
        supersedes the other; each is ordered only against requests of its own slot."""
        return "deploy" if self.deploy is not None else "retrain"

    @property
    def order(self) -> str:
        """Sorts as the intents happened (string order, so a DynamoDB condition can compare it); only
        requests of one lock slot are ever compared (`lock_slot`).

        The clocks differ in precision: an S3 event's time (EventBridge's envelope) and a schedule
        slot have whole seconds, a drift alarm's state time and an approval's LastModifiedTime
        milliseconds, `seam trigger`, `seam rollback` and `seam runs retry` microseconds. Comparing
        them as they are made a drop look older than a manual request of the same second, which then
        superseded it: its data was never trained. So the order compares only what both sides have:
        1. the whole second (UTC), which every kind has;
        2. within one second (`TIE_GROUP`): a schedule slot first (its time is exact: the slot's first
           instant), then the requests whose times have a fraction, then data drops last (S3's time is
           the floor of the write's second, so the write may be the last thing in it): a drop is never
           superseded by a request of its own second;
        3. between requests with a fraction: the milliseconds (the finest precision all of them
           have), then `TIE_RANK` (retry < `seam trigger` < drift; approval < rollback), then the
           remaining microseconds (only ever between two requests of one kind: one clock);
        4. S3's sequencer (two writes of one key in one second; compared at equal length, as S3
           documents), then the run id, so two different requests never tie.
        The older request is SUPERSEDED: it never runs and its record names the run that won. A retrain
        that reads the newest object at Validate (schedule, drift, `seam trigger` without --dataset)
        trains on the superseded drop's data or newer; one that names its object (`--dataset KEY`, a
        retry) trains only that object, so the superseded drop's data waits for the next drop or tick
        (its SUPERSEDED record says which run took its place)."""
        return _order(self.requested_at, self.trigger, self.retry_of, self.sequencer, self.run_id)


# A batch asks for each request's order about five times (its slot, what supersedes what, the records);
# formatting it costs about 4 µs, some 4 % of the trigger's own work per event in `make bench`'s storm.
@lru_cache(maxsize=8192)
def _order(
    requested_at: datetime, trigger: TriggerKind, retry_of: str | None, sequencer: str | None, run_id: str
) -> str:
    at = requested_at.replace(tzinfo=requested_at.tzinfo or UTC).astimezone(UTC)
    group = TIE_GROUP.get(trigger, 1) if retry_of is None else 1
    rank = 0 if retry_of is not None else TIE_RANK.get(trigger, 0)
    fraction = f"{at.microsecond // 1000:03d}|{rank}|{at.microsecond % 1000:03d}"
    padded = (sequencer or "").upper().rjust(64, "0")
    return f"{at:%Y-%m-%dT%H:%M:%SZ}|{group}|{fraction}|{padded}|{run_id}"


def run_id_of_order(order: str) -> str:
    """The run id a `RunRequest.order` ends with (the lock keeps orders, not requests, of past holders)."""
    return order.rsplit("|", 1)[-1]
