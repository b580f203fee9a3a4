"""Lineage both ways, from the records Seam already keeps: a version -> the event that asked for its
run, the dataset object (bucket, key, version id, ETag), the training job and image, the registry
package, and every Deployment revision that served it with who approved it; and a dataset object ->
the versions trained on it and the Deployments that serve one of them now. Plain JSON values: the CLI
prints them as they are (`--output json`) or as lines."""

from __future__ import annotations

from typing import Any

from seam.adapters.dynamodb.runs import RunStore
from seam.adapters.dynamodb.versions import VersionStore
from seam.errors import OperationRefusedError
from seam.models.model_config import ModelConfig
from seam.models.run import DEPLOY_TRIGGERS, RunStatus
from seam.models.run_record import Run
from seam.models.version import ModelVersion

RUNS_READ = 500  # a model's most recent runs searched for the deploys of a version


def version_lineage(
    version: ModelVersion, config: ModelConfig | None, runs: RunStore, serving_version: str | None
) -> dict[str, Any]:
    """Where `version` came from and where it went."""
    made_by = runs.get(version.run_id)
    history = runs.list_for_model(version.model, limit=RUNS_READ)
    deploys = [r for r in history if r.model_version == version.version and r.status is RunStatus.DEPLOYED]
    image, _, digest = version.image.partition("@")
    return {
        "model": version.model,
        "version": version.version,
        "serving": serving_version == version.version,
        "trigger": _trigger(made_by) if made_by else None,
        "dataset": version.dataset.model_dump(mode="json"),
        "training": {"job_name": version.training_job_name, "image": image, "digest": digest or None},
        "model_package_arn": version.model_package_arn,
        "evaluation": version.evaluation.model_dump(mode="json") if version.evaluation else None,
        "deployments": [_deployment(r, config) for r in sorted(deploys, key=lambda r: r.started_at)],
        "decisions": [d.model_dump(mode="json") for d in (made_by.decisions.values() if made_by else [])],
    }


def _trigger(run: Run) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "kind": str(run.trigger),
        "intent": run.intent,
        "started_at": run.started_at.isoformat(),
        "retry_of": run.retry_of,
    }


def _deployment(run: Run, config: ModelConfig | None) -> dict[str, Any]:
    target = config.serving if config else None
    approved = run.decision if run.trigger in DEPLOY_TRIGGERS else None
    return {
        "run_id": run.run_id,
        "trigger": str(run.trigger),
        "cluster": target.cluster if target else None,
        "namespace": target.namespace if target else None,
        "deployment": target.deployment if target else None,
        "generation": (run.rollout or {}).get("generation"),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        # A retrain deploys on its gate's decision (auto approval); a deploy run on a person's.
        "decided_by": approved.by if approved else "evaluation gate (auto approval)",
        "decision": approved.model_dump(mode="json") if approved else None,
    }


def dataset_lineage(
    bucket: str,
    key: str,
    version_id: str | None,
    versions: VersionStore,
    configs: dict[str, ModelConfig],
) -> dict[str, Any]:
    """Which versions were trained on s3://bucket/key (that object version, when given), and which live
    Deployments serve one of them now."""
    trained = versions.trained_on(bucket, key, version_id)
    serving: dict[str, str | None] = {}
    for model in {v.model for v in trained}:
        champion = versions.champion(model)
        serving[model] = champion.version if champion else None
    live = []
    for v in trained:
        target = configs[v.model].serving if v.model in configs else None
        if serving.get(v.model) == v.version and target is not None:
            live.append({"model": v.model, "version": v.version, **target.model_dump(mode="json")})
    return {
        "dataset": {"bucket": bucket, "key": key, "version_id": version_id},
        "versions": [
            {
                "model": v.model,
                "version": v.version,
                "dataset_version_id": v.dataset.version_id,
                "etag": v.dataset.etag,
                "training_job_name": v.training_job_name,
                "serving": serving.get(v.model) == v.version,
            }
            for v in trained
        ],
        "live_deployments": live,
    }


def parse_s3_uri(uri: str) -> tuple[str, str, str | None]:
    """`s3://bucket/key` or `s3://bucket/key?versionId=...` -> (bucket, key, version id)."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise OperationRefusedError(f"{uri!r} is not an s3://bucket/key URI (?versionId=... optional)")
    path, _, query = uri[5:].partition("?versionId=")
    bucket, key = path.split("/", 1)
    return bucket, key, query or None
