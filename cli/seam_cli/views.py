"""What `seam` shows, as plain JSON values: the stable `--output json` shapes (documented in README,
"Output for scripts"), from which the tables are drawn too. Field names only ever get added."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from seam.models.champion import Champion
from seam.models.model_config import ModelConfig
from seam.models.run import DatasetRef, Run
from seam.models.version import ModelVersion


def model_summary(config: ModelConfig, champion: Champion | None) -> dict[str, Any]:
    """One row of `seam models`."""
    return {
        "model": config.name,
        "team": config.team,
        "metric": config.evaluation.metric,
        "direction": config.evaluation.direction,
        "approval": config.approval,
        "champion": {"version": champion.version, "value": champion.value} if champion else None,
        "serving": config.serving.model_dump(mode="json") if config.serving else None,
        "retrain_every_minutes": config.retrain_every_minutes,
    }


def model_serving_now(
    config: ModelConfig, champion: Champion | None, version: ModelVersion | None
) -> dict[str, Any]:
    """`seam models show`: what serves now, and where it came from."""
    serving: dict[str, Any] | None = None
    if champion is not None:
        serving = {
            "version": champion.version,
            "metric": champion.metric,
            "value": champion.value,
            "since": _time(champion.updated_at),
            "run_id": champion.run_id,
            "image": version.image if version else None,
            "training_job_name": version.training_job_name if version else None,
            "model_package_arn": version.model_package_arn if version else None,
            "dataset": dataset(version.dataset) if version else None,
        }
    return {
        "model": config.name,
        "team": config.team,
        "metric": config.evaluation.metric,
        "direction": config.evaluation.direction,
        "approval": config.approval,
        "serving_target": config.serving.model_dump(mode="json") if config.serving else None,
        "champion": serving,
    }


def run_summary(run: Run) -> dict[str, Any]:
    """One row of `seam runs`. `gate` is the metric the evaluation gate decided on, with the challenger's
    value; `reason` is the whole failure cause (or the gate's reason for a rejection)."""
    gate = run.evaluation
    return {
        "run_id": run.run_id,
        "model": run.model,
        "trigger": str(run.trigger),
        "status": str(run.status),
        "started_at": _time(run.started_at),
        "finished_at": _time(run.finished_at),
        "gate": {"metric": gate.metric, "value": gate.challenger, "decision": gate.decision}
        if gate
        else None,
        "version": run.model_version,
        "reason": run.cause or run.error or (gate.reason if gate and gate.decision == "reject" else None),
    }


def run_detail(run: Run) -> dict[str, Any]:
    """`seam runs show`: the summary, the dataset, each state with its duration, metrics and decision."""
    gate = run.evaluation
    states = sorted(run.timeline.items(), key=lambda item: item[1])
    return {
        **run_summary(run),
        "dataset": dataset(run.dataset) if run.dataset else None,
        "training_job_name": run.training_job_name,
        "states": [
            {"status": status, "entered_at": _time(at), "seconds": run.state_timings.get(status)}
            for status, at in states
        ],
        "metrics": dict(sorted(run.metrics.items())),
        "evaluation": gate.model_dump(mode="json") if gate else None,
        "error": run.error,
        "cause": run.cause,
    }


def dataset(ref: DatasetRef) -> dict[str, Any]:
    return {
        "uri": ref.uri,
        "bucket": ref.bucket,
        "key": ref.key,
        "version_id": ref.version_id,
        "etag": ref.etag,
        "size": ref.size,
    }


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
