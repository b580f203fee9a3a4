"""The limits of a run's wait for its training: TimeoutSeconds and HeartbeatSeconds of the
.waitForTaskToken state. Validate sets them; a module of its own so that Validate does not load the
rest of training (launch, settlement, orphaned jobs) at cold start."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seam.models.training_result import TrainingLimits

if TYPE_CHECKING:
    from seam.models.training_spec import TrainingSpec

# Time SageMaker may spend before the clock of MaxRuntimeInSeconds starts (provisioning, image pull).
START_MARGIN_SECONDS = 1800
# How often the reconciler sweeps: ReconcilerFunction's schedule in template.yaml (tests/template checks).
RECONCILER_PERIOD_SECONDS = 300
# Sweeps the heartbeat window leaves after a training has gone `stale_after` without news: one for the
# schedule's phase, the rest for a backlog (a sweep that reaches only part of the quiet trainings), a
# sweep that failed or a slow callback queue. With the default stale-after (1,800 s) the reconciler's
# heartbeat comes at half the window.
HEARTBEAT_SLACK_SWEEPS = 6


def limits_for(training: TrainingSpec, stale_after_seconds: int) -> TrainingLimits:
    """TimeoutSeconds/HeartbeatSeconds of the .waitForTaskToken state, from the model's max runtime.

    Without both, a task token waits up to a year. Heartbeats come from InProgress events, which
    SageMaker sends on status changes only (none during a long Training phase), and from the
    reconciler, which has a training checked once nothing has been heard of it for
    `stale_after_seconds` (a heartbeat is news: the next check comes `stale_after_seconds` later). The
    window is a quarter of the runtime but never closes before a check has had `HEARTBEAT_SLACK_SWEEPS`
    sweeps to arrive, so it only fires when both sources are gone (a shorter floor would fail healthy
    long trainings between their last event and that heartbeat). HeartbeatSeconds must stay below
    TimeoutSeconds."""
    runtime = training.max_runtime_seconds
    if training.use_spot and training.max_wait_seconds:
        runtime = training.max_wait_seconds
    timeout = runtime + START_MARGIN_SECONDS
    floor = stale_after_seconds + HEARTBEAT_SLACK_SWEEPS * RECONCILER_PERIOD_SECONDS
    heartbeat = min(timeout - 1, max(floor, runtime // 4))
    return TrainingLimits(timeout_seconds=timeout, heartbeat_seconds=heartbeat)


# An upper bound for scoring one holdout with the champion's image (a Processing job,
# seam.domain.champion_scoring); the IAM condition on CreateProcessingJob (template.yaml) allows no more.
SCORING_MAX_RUNTIME_SECONDS = 3600


def with_scoring(limits: TrainingLimits, stale_after_seconds: int) -> TrainingLimits:
    """`limits` plus the ScoreChampion state's TimeoutSeconds/HeartbeatSeconds, by the same rules as
    training's (`limits_for`) for a job of at most SCORING_MAX_RUNTIME_SECONDS."""
    timeout = SCORING_MAX_RUNTIME_SECONDS + START_MARGIN_SECONDS
    floor = stale_after_seconds + HEARTBEAT_SLACK_SWEEPS * RECONCILER_PERIOD_SECONDS
    heartbeat = min(timeout - 1, max(floor, SCORING_MAX_RUNTIME_SECONDS // 4))
    return limits.model_copy(
        update={"scoring_timeout_seconds": timeout, "scoring_heartbeat_seconds": heartbeat}
    )
