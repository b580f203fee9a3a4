"""`seam`: onboard models, inspect runs, trigger retrains — against a deployed stack or the local one."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.table import Column, Table
from seam.domain.warm_pools import typical_training_seconds, warm_pool_warning
from seam.errors import ConfigError
from seam.models.model_config import ModelConfig

from seam_cli.context import configure, trigger_queue_url

app = typer.Typer(
    help="Seam: event-driven retraining of ML models (SageMaker training, EKS serving).", no_args_is_help=True
)
models_app = typer.Typer(
    help="Onboard and list models (`seam models` lists them).", invoke_without_command=True
)
runs_app = typer.Typer(help="List and inspect runs.", invoke_without_command=True)
app.add_typer(models_app, name="models")
app.add_typer(runs_app, name="runs")
console = Console()
errors = Console(stderr=True)

StackOption = Annotated[
    str | None, typer.Option("--stack", help="CloudFormation stack (default: env or local)")
]


def load_config(path: Path) -> ModelConfig:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}") from exc
    try:
        return ModelConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise typer.BadParameter(f"{path} is not a valid model config: {problems}") from exc


@models_app.command("put")
def models_put(file: Path, stack: StackOption = None) -> None:
    """Add or update a model from a YAML config (no redeploy needed)."""
    config = load_config(file)
    deps = configure(stack)
    try:
        deps.models.put(config)
    except ConfigError as exc:  # e.g. its serving Deployment belongs to another model
        raise typer.BadParameter(f"{file} was not saved: {exc}") from exc
    console.print(
        f"[green]model {config.name} saved[/] (team {config.team}, metric {config.evaluation.metric})"
    )
    if config.retrain_every_minutes and config.training.warm_pool_keep_alive_seconds:
        # A warning, not a refusal: the config is valid, the pool just costs more than it saves.
        warning = warm_pool_warning(config, typical_training_seconds(deps.runs.list_for_model(config.name)))
        if warning:
            errors.print(f"[yellow]warning:[/] {warning}", soft_wrap=True, highlight=False)


@models_app.callback()
def models_default(ctx: typer.Context, stack: StackOption = None) -> None:
    """List onboarded models when no subcommand is given."""
    if ctx.invoked_subcommand is None:
        models_list(stack)


@models_app.command("list")
def models_list(stack: StackOption = None) -> None:
    """List onboarded models with their champion."""
    deps = configure(stack)
    table = Table("model", "team", "metric", "champion", "value", "serving", "cadence")
    for config in sorted(deps.models.list(fresh=True), key=lambda c: c.name):
        champion = deps.versions.champion(config.name)
        target = (
            f"{config.serving.cluster}/{config.serving.namespace}/{config.serving.deployment}"
            if config.serving
            else "-"
        )
        table.add_row(
            config.name,
            config.team,
            config.evaluation.metric,
            champion.version if champion else "-",
            f"{champion.value:.4f}" if champion else "-",
            target,
            f"{config.retrain_every_minutes} min" if config.retrain_every_minutes else "-",
        )
    console.print(table)


@runs_app.callback()
def runs_list(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option(help="only this model")] = None,
    stack: StackOption = None,
) -> None:
    """List recent runs (newest first), each with the metric its evaluation gate decided on."""
    if ctx.invoked_subcommand:
        return
    deps = configure(stack)
    runs = deps.runs.list_for_model(model) if model else deps.runs.list_recent()
    table = Table(
        Column("run", no_wrap=True), "model", "trigger", "status", "started", "metric", "version", "reason"
    )
    for run in runs:
        gate = run.evaluation  # the metric the evaluation gate decided on, with the challenger's value
        metric = f"{gate.metric}={gate.challenger:.4f}" if gate else "-"
        table.add_row(
            run.run_id,
            run.model,
            run.trigger,
            _status(run.status),
            f"{run.started_at:%Y-%m-%d %H:%M:%S}",
            metric,
            run.model_version or "-",
            (run.cause or "")[:60],
        )
    console.print(table)


@runs_app.command("show")
def runs_show(run_id: str, stack: StackOption = None) -> None:
    """States with durations, metrics, decision, and the failing rule or error."""
    deps = configure(stack)
    run = deps.runs.get(run_id)
    if run is None:
        raise typer.BadParameter(f"no run {run_id}")
    console.print(
        f"[bold]{run.run_id}[/]  model {run.model}  trigger {run.trigger}  status {_status(run.status)}"
    )
    if run.dataset:
        console.print(f"dataset  {run.dataset.uri} (etag {run.dataset.etag}, {run.dataset.size} bytes)")
    states = Table("status", "entered", "seconds")
    for status, entered in sorted(run.timeline.items(), key=lambda item: item[1]):
        states.add_row(status, f"{entered:%H:%M:%S.%f}"[:-3], f"{run.state_timings.get(status, 0):.2f}")
    console.print(states)
    if run.metrics:
        console.print("metrics  " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(run.metrics.items())))
    if run.evaluation:
        console.print(f"decision {run.evaluation.decision}: {run.evaluation.reason}")
    if run.model_version:
        console.print(f"version  {run.model_version}")
    if run.cause:  # the cause starts with the error name ("DataValidationError: columns: ...")
        console.print(f"[red]{run.cause}[/]")
    elif run.error:
        console.print(f"[red]{run.error}[/]")


@app.command()
def trigger(
    model: str, reason: Annotated[str, typer.Option(help="why")] = "manual retrain", stack: StackOption = None
) -> None:
    """Ask for a retrain of MODEL now (a manual trigger on the trigger queue)."""
    deps = configure(stack)
    deps.models.get(model)  # fails with the model's name when it is not onboarded
    import getpass

    import boto3

    body = {
        "source": "seam.manual",
        "detail-type": "Manual Retrain Requested",
        "id": str(uuid.uuid4()),
        "time": datetime.now(UTC).isoformat(),
        "detail": {"model": model, "requested_by": getpass.getuser(), "reason": reason},
    }
    boto3.client("sqs").send_message(QueueUrl=trigger_queue_url(), MessageBody=json.dumps(body))
    console.print(f"retrain of {model} requested ({body['id']})")


def _status(status: str) -> str:
    colour = {
        "DEPLOYED": "green",
        "REGISTERED": "green",
        "REJECTED": "yellow",
        "SKIPPED": "yellow",
        "FAILED": "red",
    }.get(str(status), "cyan")
    return f"[{colour}]{status}[/]"


def _register_local_commands() -> None:
    """`seam local up` and `seam demo` live with the local runtime (seam_cli.local)."""
    try:
        from seam_cli import local
    except ImportError:
        return
    local.register(app)


_register_local_commands()
