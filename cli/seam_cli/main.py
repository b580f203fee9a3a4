"""`seam`: onboard models, inspect runs, trigger retrains — against a deployed stack or the local one."""

from __future__ import annotations

import getpass
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
import yaml
from seam.domain.onboarding import ConfigRefused, check_config, parse_config
from seam.domain.triggering import requests_for
from seam.domain.warm_pools import typical_training_seconds, warm_pool_warning
from seam.errors import ConfigError
from seam.models.events import ManualRequest
from seam.models.model_config import ModelConfig

from seam_cli import views
from seam_cli.context import configure, trigger_queue_url
from seam_cli.errors import NotFoundError, SeamGroup
from seam_cli.output import OutputFormat, OutputOption, print_json, print_lines, print_table

app = typer.Typer(
    cls=SeamGroup,
    help="Seam: event-driven retraining of ML models (SageMaker training, EKS serving).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(
    help="Onboard, list and show models (`seam models` lists them).", invoke_without_command=True
)
runs_app = typer.Typer(help="List and inspect runs (`seam runs` lists them).", invoke_without_command=True)
app.add_typer(models_app, name="models")
app.add_typer(runs_app, name="runs")

StackOption = Annotated[
    str | None, typer.Option("--stack", help="CloudFormation stack (default: env or local)")
]
TABLE = OutputFormat.TABLE


def load_config(path: Path) -> ModelConfig:
    """The config in a YAML file; ConfigRefused names every field that is wrong and what would be right."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {' '.join(str(exc).split())}") from exc
    return parse_config(data, subject=str(path))


@models_app.command("put")
def models_put(file: Path, stack: StackOption = None) -> None:
    """Add or update a model from a YAML config (no redeploy needed). Refused, and nothing saved, when
    the config would fail a run after training (each problem on its own line, naming the field)."""
    config = load_config(file)
    deps = configure(stack)
    problems = check_config(config, deps.settings, deps.serving)
    if problems:
        raise ConfigRefused(f"{file} was not saved", problems)
    try:
        deps.models.put(config)
    except ConfigError as exc:  # e.g. its serving Deployment belongs to another model
        raise ConfigError(f"{file} was not saved: {exc}") from exc
    print_lines(
        [f"[green]model {config.name} saved[/] (team {config.team}, metric {config.evaluation.metric})"]
    )
    if config.retrain_every_minutes and config.training.warm_pool_keep_alive_seconds:
        # A warning, not a refusal: the config is valid, the pool just costs more than it saves.
        warning = warm_pool_warning(config, typical_training_seconds(deps.runs.list_for_model(config.name)))
        if warning:
            typer.echo(f"warning: {warning}", err=True)


@models_app.callback()
def models_default(ctx: typer.Context, stack: StackOption = None, output: OutputOption = TABLE) -> None:
    """List onboarded models when no subcommand is given."""
    if ctx.invoked_subcommand is None:
        models_list(stack, output)


@models_app.command("list")
def models_list(stack: StackOption = None, output: OutputOption = TABLE) -> None:
    """List onboarded models with their champion."""
    deps = configure(stack)
    rows = [
        views.model_summary(config, deps.versions.champion(config.name))
        for config in sorted(deps.models.list(fresh=True), key=lambda c: c.name)
    ]
    if output is OutputFormat.JSON:
        print_json(rows)
        return
    print_table(
        ["model", "team", "metric", "champion", "value", "serving", "cadence"],
        [
            [
                row["model"],
                row["team"],
                row["metric"],
                row["champion"] and row["champion"]["version"],
                row["champion"] and f"{row['champion']['value']:.4f}",
                row["serving"] and "{cluster}/{namespace}/{deployment}".format(**row["serving"]),
                row["retrain_every_minutes"] and f"{row['retrain_every_minutes']} min",
            ]
            for row in rows
        ],
    )


@models_app.command("show")
def models_show(model: str, stack: StackOption = None, output: OutputOption = TABLE) -> None:
    """What serves now: the champion version, its metric value, image, dataset, and since when."""
    deps = configure(stack)
    config = deps.models.get(model)  # ModelNotFoundError names the model
    champion = deps.versions.champion(model)
    version = deps.versions.get_version(model, champion.version) if champion else None
    shown = views.model_serving_now(config, champion, version)
    if output is OutputFormat.JSON:
        print_json(shown)
        return
    target = shown["serving_target"]
    lines = [
        f"[bold]{model}[/]  team {config.team}  approval {config.approval}",
        f"gate     {config.evaluation.metric} ({config.evaluation.direction})",
        "serving  "
        + ("{cluster}/{namespace}/{deployment} container {container}".format(**target) if target else "-"),
    ]
    now = shown["champion"]
    if now is None:
        lines.append("champion -  (no version has been promoted yet)")
    else:
        lines += [
            f"champion {now['version']}  {now['metric']}={now['value']:.4f}  since {now['since']}",
            f"run      {now['run_id']}",
            f"image    {now['image'] or '-'}",
            f"job      {now['training_job_name'] or '-'}",
        ]
        data = now["dataset"]
        if data:
            lines.append(
                f"dataset  {data['uri']} (version {data['version_id'] or '-'}, etag {data['etag'] or '-'})"
            )
    print_lines(lines)


@runs_app.callback()
def runs_list(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option(help="only this model")] = None,
    stack: StackOption = None,
    output: OutputOption = TABLE,
) -> None:
    """List recent runs (newest first), each with the metric its evaluation gate decided on."""
    if ctx.invoked_subcommand:
        return
    deps = configure(stack)
    runs = deps.runs.list_for_model(model) if model else deps.runs.list_recent()
    rows = [views.run_summary(run) for run in runs]
    if output is OutputFormat.JSON:
        print_json(rows)
        return
    print_table(
        ["run", "model", "trigger", "status", "started", "metric", "version", "reason"],
        [
            [
                row["run_id"],
                row["model"],
                row["trigger"],
                row["status"],
                f"{run.started_at:%Y-%m-%d %H:%M:%S}",
                row["gate"] and f"{row['gate']['metric']}={row['gate']['value']:.4f}",
                row["version"],
                row["reason"],
            ]
            for run, row in zip(runs, rows, strict=True)
        ],
        status_column="status",
    )


@runs_app.command("show")
def runs_show(run_id: str, stack: StackOption = None, output: OutputOption = TABLE) -> None:
    """States with durations, metrics, decision, and the failing rule or error."""
    deps = configure(stack)
    run = deps.runs.get(run_id)
    if run is None:
        raise NotFoundError(f"no run {run_id!r} (`seam runs` lists the recent ones)")
    shown = views.run_detail(run)
    if output is OutputFormat.JSON:
        print_json(shown)
        return
    colour = {"DEPLOYED": "green", "REGISTERED": "green", "FAILED": "red"}.get(shown["status"], "yellow")
    lines = [
        f"[bold]{run.run_id}[/]  model {run.model}  trigger {shown['trigger']}  "
        f"status [{colour}]{shown['status']}[/]"
    ]
    if run.dataset:
        lines.append(f"dataset  {run.dataset.uri} (etag {run.dataset.etag}, {run.dataset.size} bytes)")
    print_lines(lines)
    print_table(
        ["status", "entered", "seconds"],
        [
            [
                s["status"],
                f"{datetime.fromisoformat(s['entered_at']):%H:%M:%S.%f}"[:-3],
                f"{s['seconds'] or 0:.2f}",
            ]
            for s in shown["states"]
        ],
    )
    lines = []
    if run.metrics:
        lines.append("metrics  " + ", ".join(f"{k}={v:.4f}" for k, v in shown["metrics"].items()))
    if run.evaluation:
        lines.append(f"decision {run.evaluation.decision}: {run.evaluation.reason}")
    if run.model_version:
        lines.append(f"version  {run.model_version}")
    if run.cause or run.error:  # the cause starts with the error name ("DataValidationError: columns: ...")
        lines.append(f"[red]{run.cause or run.error}[/]")
    print_lines(lines)


@app.command()
def trigger(
    model: str, reason: Annotated[str, typer.Option(help="why")] = "manual retrain", stack: StackOption = None
) -> None:
    """Ask for a retrain of MODEL now; prints the id of the run it starts (`seam runs show RUN_ID`)."""
    deps = configure(stack)
    trigger_queue_url()  # a ConfigError naming the variable when the stack has no trigger queue
    body = {
        "source": "seam.manual",
        "detail-type": "Manual Retrain Requested",
        "id": str(uuid.uuid4()),
        "time": datetime.now(UTC).isoformat(),
        "detail": {"model": model, "requested_by": getpass.getuser(), "reason": reason},
    }
    # The run the trigger will start for this request: the same mapping, so the same run id
    # (ModelNotFoundError when the model is not onboarded, before anything is sent).
    requests = requests_for(
        ManualRequest.model_validate(body), deps.models, deps.settings.data_bucket, deps.settings.stage
    )
    assert isinstance(requests, list) and len(requests) == 1  # a manual request asks for one run
    deps.trigger_queue.send([(json.dumps(body), 0)])
    print_lines([f"retrain of {model} requested: run {requests[0].run_id}"])


def _register_local_commands() -> None:
    """`seam local up` and `seam demo` live with the local runtime (seam_cli.local)."""
    try:
        from seam_cli import local
    except ImportError:
        return
    local.register(app)


_register_local_commands()
