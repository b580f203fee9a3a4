"""A day of 15-minute retrains for 1,000 models: how many start inside the previous job's warm pool,
and how evenly the launches spread. Pure simulation through Seam's real `is_due`, `scheduled_request`
and `spread_delay` (and, as the baseline, the per-run spread they replaced); no AWS, no clock.

Stated assumptions (all per run, drawn from one seeded generator):
- the scheduler ticks every 15 minutes on time; the trigger delays each due model by `spread_delay`
  (window `ScheduleSpreadSeconds`, 600 s) and the job is created 1-5 s after the delayed message arrives;
- training takes 60-240 s (uniform), as in the issue's measurement; a cold start adds 120-300 s of
  provisioning (uniform), a warm start 5-15 s;
- the pool lives `keep_alive` seconds after a job ends (900 s, as in the example model); a retrain that
  starts by then reuses it;
- the per-model lock: a retrain due while the previous job runs waits for it (Finalize hands over 1-5 s
  after the job ends).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from seam.domain.triggering import is_due, scheduled_request, spread_delay
from seam.models.model_config import ModelConfig
from seam.models.run_request import RunRequest

DAY_START = datetime(2026, 11, 2, tzinfo=UTC)
TICK = timedelta(minutes=15)
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/bench@sha256:" + "b" * 64
# The tightest quota docs/SCALE.md names on the launch path: Step Functions StartExecution refills at
# 150/s outside the big three Regions (CreateTrainingJob's own rate quota is not published).
LAUNCH_QUOTA_PER_10S = 1_500

Spread = Callable[[RunRequest, int], int]


def spread_by_run(request: RunRequest, window_seconds: int) -> int:
    """The spread before issue 17: by the run id's hash, a new offset in every slot."""
    return int(request.run_id.rsplit("-", 1)[-1], 16) % (window_seconds + 1)


def config(name: str, keep_alive: int) -> ModelConfig:
    return ModelConfig.model_validate(
        {
            "name": name,
            "team": "bench",
            "training": {"image": IMAGE, "warm_pool_keep_alive_seconds": keep_alive},
            "evaluation": {"metric": "validation:auc"},
            "retrain_every_minutes": 15,
        }
    )


def simulate(
    spread: Spread, *, models: int, slots: int, window: int, keep_alive: int, seed: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    configs = [config(f"model-{i:04d}", keep_alive) for i in range(models)]
    pool_until: dict[str, float] = {}  # model -> when its last job's warm pool expires
    busy_until: dict[str, float] = {}  # model -> when its last job ends
    launches: list[float] = []
    reused = retrains = 0
    for slot in range(slots):
        at = DAY_START + slot * TICK
        for model in configs:
            if not is_due(model, at):
                continue
            request = scheduled_request(model, at, "bench")
            start = at.timestamp() + spread(request, window) + rng.uniform(1, 5)
            if model.name in busy_until:  # the lock: wait for the previous run's hand-over
                start = max(start, busy_until[model.name] + rng.uniform(1, 5))
            warm = start <= pool_until.get(model.name, float("-inf"))
            if model.name in pool_until:
                retrains += 1
                reused += warm
            provisioning = rng.uniform(5, 15) if warm else rng.uniform(120, 300)
            end = start + provisioning + rng.uniform(60, 240)
            busy_until[model.name], pool_until[model.name] = end, end + keep_alive
            launches.append(start)
    return {"reuse_rate": reused / retrains, "retrains": retrains, "peak_per_10s": peak(launches, 10)}


def peak(times: list[float], width: float) -> int:
    """The largest number of `times` inside any window of `width` seconds."""
    ordered = sorted(times)
    return max((bisect.bisect_left(ordered, t + width) - i for i, t in enumerate(ordered)), default=0)


def run(models: int = 1_000, slots: int = 96, window: int = 600, keep_alive: int = 900) -> dict[str, Any]:
    shape = {"models": models, "slots": slots, "window": window, "keep_alive": keep_alive, "seed": 17}
    before = simulate(spread_by_run, **shape)
    after = simulate(spread_delay, **shape)
    return {
        "warm_pool_reuse_rate": round(after["reuse_rate"], 4),
        "warm_pool_reuse_rate_before": round(before["reuse_rate"], 4),
        "warm_pool_retrains": after["retrains"],
        "warm_pool_peak_launches_per_10s": after["peak_per_10s"],
        "warm_pool_peak_launches_per_10s_before": before["peak_per_10s"],
        "warm_pool_launch_quota_per_10s": LAUNCH_QUOTA_PER_10S,
    }
