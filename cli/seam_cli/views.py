"""What `seam` shows, as plain JSON values: the stable `--output json` shapes (documented in README,
"Output for scripts"), from which the tables are drawn too. Field names only ever get added."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from seam.models.champion import Champion
from seam.models.cost import RunCost
from seam.models.evaluation import Evaluation
from seam.models.model_config import ModelConfig
from seam.models.run import DatasetRef
from seam.models.run_record import Run
from seam.models.version import ModelVersion


def _model_fields(config: ModelConfig) -> dict[str, Any]:
    """Who the model is and how it is gated: the first fields of `seam models` and `models show`."""
    return {
        "model": config.name,
        "team": config.team,
        "metric": config.evaluation.metric,
        "direction": config.evaluation.direction,
        "approval": config.approval,
    }


def model_summary(config: ModelConfig, champion: Champion | None) -> dict[str, Any]:
    """One row of `seam models`."""
    return {
        **_model_fields(config),
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
        **_model_fields(config),
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
        "retry_of": run.retry_of,
        "superseded_by": run.superseded_by,
    }


def run_detail(run: Run) -> dict[str, Any]:
    """`seam runs show`: the summary, the dataset, each state with its duration, metrics and decision."""
    gate = run.evaluation
    states = sorted(run.timeline.items(), key=lambda item: item[1])
    return {
        **run_summary(run),
        "dataset": dataset(run.dataset) if run.dataset else None,
        "snapshot": run.snapshot.model_dump(mode="json", exclude_none=True) if run.snapshot else None,
        "training_job_name": run.training_job_name,
        "champion_scoring_job_name": run.champion_scoring_job_name,
        "states": [
            {"status": status, "entered_at": _time(at), "seconds": run.state_timings.get(status)}
            for status, at in states
        ],
        "metrics": dict(sorted(run.metrics.items())),
        "evaluation": gate.model_dump(mode="json") if gate else None,
        "error": run.error,
        "cause": run.cause,
        # A deploy run's order (approval or rollback) and who decided it; later decisions on the
        # version the run registered (a rejection, Seam marking a failed rollout).
        "deploy": run.deploy.model_dump(mode="json") if run.deploy else None,
        "decision": run.decision.model_dump(mode="json") if run.decision else None,
        "decisions": [d.model_dump(mode="json") for _, d in sorted(run.decisions.items())],
        "intent": run.intent,
        "cost": run.cost.model_dump(mode="json") if run.cost else None,
    }


DONE = {"approve": "approved", "reject": "rejected", "rollback": "rolled back"}


def decision_line(decision: dict[str, Any]) -> str:
    """One decision as `seam runs show` prints it."""
    forced = " (forced: the champion moved since its evaluation)" if decision["force"] else ""
    return (
        f"{DONE[decision['action']]} version {decision['version']} by {decision['by']} "
        f"at {decision['at']}{forced}: {decision['note'] or '-'}"
    )


# -- cost -------------------------------------------------------------------------------------------------

COST_PARTS = (
    "champion_scoring",
    "training",
    "warm_pool",
    "lambda_compute",
    "lambda_requests",
    "step_functions",
)


def run_cost_row(run: Run, team: str | None) -> dict[str, Any]:
    """One run of `seam cost`: what it cost by part (`cost` is the stored RunCost, None when the run has
    not ended or ended before Seam measured costs)."""
    return {
        "run_id": run.run_id,
        "model": run.model,
        "team": (run.cost.team if run.cost else None) or team,
        "status": str(run.status),
        "started_at": _time(run.started_at),
        "cost": run.cost.model_dump(mode="json") if run.cost else None,
    }


def cost_report(rows: list[dict[str, Any]], since: datetime, model: str | None, team: str | None) -> dict:
    """`seam cost --output json`: the runs with their costs, and the sums (known costs only; the runs
    whose cost is unknown or not measured are counted, with their known parts summed apart)."""
    known = [r for r in rows if r["cost"] and r["cost"]["total_usd"] is not None]
    by_model: dict[str, float] = {}
    by_part = dict.fromkeys(COST_PARTS, 0.0)
    for row in known:
        by_model[row["model"]] = by_model.get(row["model"], 0.0) + row["cost"]["total_usd"]
        for name, part in row["cost"]["parts"].items():
            by_part[name] += part["usd"] or 0.0
    return {
        "since": since.isoformat(),
        "model": model,
        "team": team,
        "runs": rows,
        "total_usd": round(sum(r["cost"]["total_usd"] for r in known), 8),
        "by_model_usd": {k: round(v, 8) for k, v in sorted(by_model.items())},
        "by_part_usd": {k: round(v, 8) for k, v in by_part.items()},
        "runs_costed": len(known),
        "runs_cost_unknown": [
            {"run_id": r["run_id"], "reason": r["cost"]["unknown_reason"] if r["cost"] else "not measured"}
            for r in rows
            if r not in known
        ],
    }


def usd(value: float | None) -> str | None:
    """A cost cell: USD to 4 decimals, or to 3 significant digits below a cent."""
    if value is None:
        return None
    return f"${value:.4f}" if value >= 0.01 or value == 0 else f"${value:.3g}"


def cost_cell(cost: RunCost | None) -> str:
    if cost is None:
        return "-"
    if cost.total_usd is None:
        return f"unknown (known parts {usd(cost.known_usd)})"
    return usd(cost.total_usd) or "-"


# -- links ------------------------------------------------------------------------------------------------

# Where the local runtime writes its logs (`seam local up` puts it in .seam/local/env).
LOCAL_STATE_DIR = "SEAM_LOCAL_STATE_DIR"
WORKFLOW_FUNCTIONS = (
    "validate",
    "score-champion",
    "launch-training",
    "evaluate",
    "register",
    "deploy",
    "check-rollout",
    "rollback",
    "finalize",
    "trigger",
    "training-callback",
)


def run_links(run: Run, state_machine_arn: str, stage: str, local_state_dir: str | None) -> dict[str, str]:
    """Where to follow the run: its execution, its Lambda log lines (each carries the run id as its
    correlation id) and its training job's logs. Console URLs on AWS; the local runtime's files locally."""
    execution_arn = state_machine_arn.replace(":stateMachine:", ":execution:") + f":{run.run_id}"
    job = run.training_job_name
    if local_state_dir:
        folder = Path(local_state_dir)
        links = {
            "execution": f"aws stepfunctions get-execution-history --execution-arn {execution_arn}",
            "lambda_logs": f"grep {run.run_id} {folder / 'lambda.log'}",
        }
        if job:
            links["training_logs"] = str(folder / "sagemaker" / "logs" / f"{job}.log")
        if run.champion_scoring_job_name:
            links["scoring_logs"] = str(
                folder / "sagemaker" / "logs" / f"{run.champion_scoring_job_name}.log"
            )
        return links
    region = state_machine_arn.split(":")[3]
    console = f"https://{region}.console.aws.amazon.com"
    groups = [f"/aws/lambda/seam-{stage}-{name}" for name in WORKFLOW_FUNCTIONS]
    query = "\n".join(
        [
            "fields @timestamp, @log, level, message",
            f'| filter correlation_id = "{run.run_id}"',
            "| sort @timestamp",
        ]
    )
    start = run.started_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    end = (run.finished_at or run.updated_at).strftime("%Y-%m-%dT%H:%M:59.000Z")
    detail = (
        f"~(end~'{_insights(end)}~start~'{_insights(start)}~timeType~'ABSOLUTE~tz~'UTC"
        f"~editorString~'{_insights(query)}~source~({''.join(f'~{chr(39)}{_insights(g)}' for g in groups)}))"
    )
    logs = f"{console}/cloudwatch/home?region={region}"
    links = {
        "execution": f"{console}/states/home?region={region}#/v2/executions/details/{execution_arn}",
        "lambda_logs": f"{logs}#logsV2:logs-insights$3FqueryDetail$3D{detail}",
    }
    if job:
        links["training_job"] = f"{console}/sagemaker/home?region={region}#/jobs/{quote(job)}"
        links["training_logs"] = (
            f"{logs}#logsV2:log-groups/log-group/"
            f"$252Faws$252Fsagemaker$252FTrainingJobs$3FlogStreamNameFilter$3D{quote(job)}"
        )
    if scoring := run.champion_scoring_job_name:
        links["scoring_job"] = f"{console}/sagemaker/home?region={region}#/processing-jobs/{quote(scoring)}"
        links["scoring_logs"] = (
            f"{logs}#logsV2:log-groups/log-group/"
            f"$252Faws$252Fsagemaker$252FProcessingJobs$3FlogStreamNameFilter$3D{quote(scoring)}"
        )
    return links


def _insights(text: str) -> str:
    """The console's escaping inside a Logs Insights queryDetail: `*` and the hex code of every
    character but letters, digits, `-`, `_` and `.`."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else f"*{ord(c):02x}" for c in text)


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


def snapshot_lines(run: Run) -> list[str]:
    """What the run trained on and was scored on (`seam runs show`)."""
    if run.snapshot is None:
        return []
    rows = f", {run.snapshot.train_rows} rows" if run.snapshot.train_rows is not None else ""
    lines = [f"trained  {run.snapshot.train_uri}{rows}"]
    holdout = run.snapshot.holdout
    if holdout:
        golden = (
            f" + {holdout.rows - holdout.dataset_rows} golden ({holdout.golden.uri})"
            if holdout.golden
            else ""
        )
        lines.append(f"holdout  {holdout.uri}: {holdout.dataset_rows} rows held out{golden}; {holdout.rule}")
    return lines


def paired_lines(gate: Evaluation) -> list[str]:
    """Both models on the same rows, the difference and its interval (`seam runs show`)."""
    paired = gate.paired
    if paired is None:
        return []
    lines = [
        f"scored   {paired.metric} on the same {paired.rows} holdout rows: challenger {paired.challenger:.4f}"
    ]
    if paired.champion is not None and paired.difference is not None and paired.interval:
        low, high = paired.interval
        lines[0] += f", champion {paired.champion:.4f} (version {gate.champion_version})"
        lines.append(
            f"paired   difference {paired.difference:+.4f}, {paired.confidence:.0%} interval "
            f"[{low:+.4f}, {high:+.4f}] ({paired.resamples} resamples, seed {paired.seed}); "
            f"decided on the {paired.decided_on}"
        )
        if gate.champion_scored_by:
            lines.append(
                f"champion scored by its image in the {gate.champion_scored_by} {gate.champion_scoring_job}"
            )
    else:
        lines.append(f"paired   no champion: decided on the {paired.decided_on}")
    return lines


def version_lineage_lines(traced: dict[str, Any]) -> list[str]:
    """`seam lineage MODEL` as lines: one block per version, from the event to who approved."""
    data, trigger, training = traced["dataset"], traced["trigger"], traced["training"]
    serving = "  [green]serving[/]" if traced["serving"] else ""
    lines = [f"[bold]{traced['model']} {traced['version']}[/]{serving}"]
    if trigger:
        retry = f" (retry of {trigger['retry_of']})" if trigger["retry_of"] else ""
        lines.append(
            f"  trigger   {trigger['kind']} {trigger['intent'] or '-'} -> run {trigger['run_id']}{retry}"
        )
    lines += [
        f"  dataset   s3://{data['bucket']}/{data['key']} version {data['version_id'] or '-'} "
        f"etag {data['etag'] or '-'}",
        f"  training  job {training['job_name']} image {training['image']} "
        f"digest {training['digest'] or '-'}",
        f"  package   {traced['model_package_arn']}",
    ]
    for d in traced["deployments"]:
        lines.append(
            f"  deployed  {d['cluster']}/{d['namespace']}/{d['deployment']} generation {d['generation']} "
            f"by run {d['run_id']} ({d['trigger']}, decided by {d['decided_by']}) at {d['finished_at']}"
        )
    for decision in traced["decisions"]:
        lines.append(f"  {DONE[decision['action']]} by {decision['by']}: {decision['note'] or '-'}")
    return lines


def dataset_lineage_lines(traced: dict[str, Any]) -> list[str]:
    """`seam lineage --dataset URI` as lines."""
    data = traced["dataset"]
    lines = [f"[bold]s3://{data['bucket']}/{data['key']}[/] (version {data['version_id'] or 'any'})"]
    if not traced["versions"]:
        lines.append("  no version was trained on it")
    for v in traced["versions"]:
        serving = " [green]serving[/]" if v["serving"] else ""
        lines.append(
            f"  {v['model']} {v['version']}{serving}  object version {v['dataset_version_id'] or '-'} "
            f"etag {v['etag'] or '-'} job {v['training_job_name']}"
        )
    for live in traced["live_deployments"]:
        lines.append(
            f"  live      {live['cluster']}/{live['namespace']}/{live['deployment']} "
            f"({live['model']} {live['version']})"
        )
    return lines
