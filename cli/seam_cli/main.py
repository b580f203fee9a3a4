"""`seam`: onboard models, inspect runs, trigger retrains — against a deployed stack or the local one."""

from __future__ import annotations

import getpass
import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
import yaml
from seam.adapters.identity import caller_arn
from seam.dependencies import Dependencies
from seam.domain import operations
from seam.domain.lineage import dataset_lineage, parse_s3_uri, version_lineage
from seam.domain.onboarding import ConfigRefused, check_config, parse_config
from seam.domain.triggering import requests_for
from seam.domain.warm_pools import typical_training_seconds, warm_pool_warning
from seam.errors import ConfigError, OperationRefusedError
from seam.models.events import ManualRequest, OperatorRequest
from seam.models.model_config import ModelConfig
from seam.models.run import RunStatus
from seam.models.run_request import RunRequest

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
    problems = check_config(config, deps.settings, deps.serving, deps.images)
    if problems:
        raise ConfigRefused(f"{file} was not saved", problems)
    try:
        deps.models.put(config, checked_for=deps.settings.allowed_clusters)  # the trigger trusts this check
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
    settings = deps.settings
    shown["links"] = views.run_links(
        run, settings.state_machine_arn, settings.stage, os.environ.get(views.LOCAL_STATE_DIR)
    )
    if run.superseded_by:  # it never had an execution; the trigger's log lines still carry its id
        shown["links"].pop("execution", None)
    if output is OutputFormat.JSON:
        print_json(shown)
        return
    colour = {"DEPLOYED": "green", "REGISTERED": "green", "FAILED": "red"}.get(shown["status"], "yellow")
    lines = [
        f"[bold]{run.run_id}[/]  model {run.model}  trigger {shown['trigger']}  "
        f"status [{colour}]{shown['status']}[/]"
    ]
    if run.dataset:
        version = f"version {run.dataset.version_id}, " if run.dataset.version_id else ""
        lines.append(
            f"dataset  {run.dataset.uri} ({version}etag {run.dataset.etag}, {run.dataset.size} bytes)"
        )
    lines.extend(views.snapshot_lines(run))
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
        lines.extend(views.paired_lines(run.evaluation))
        lines.append(f"decision {run.evaluation.decision}: {run.evaluation.reason}")
        if run.evaluation.warning:
            lines.append(f"[yellow]warning  {run.evaluation.warning}[/]")
    if run.model_version:
        lines.append(f"version  {run.model_version}")
    if run.retry_of:
        lines.append(f"retry of {run.retry_of}")
    if run.superseded_by:  # never started: a newer request of its kind took its place
        lines.append(f"superseded by {run.superseded_by} (`seam runs show {run.superseded_by}`)")
    if shown["decision"]:
        lines.append("decision " + views.decision_line(shown["decision"]))
    lines += ["later    " + views.decision_line(d) for d in shown["decisions"]]
    if (
        run.cause or run.error
    ) and not run.superseded_by:  # starts with the error name ("DataValidationError: …")
        lines.append(f"[red]{run.cause or run.error}[/]")
    if run.cost:
        parts = ", ".join(
            f"{name} {views.usd(part.usd) or 'unknown'}" for name, part in run.cost.parts.items()
        )
        lines.append(f"cost     {views.cost_cell(run.cost)}  ({parts})")
        if run.cost.unknown_reason:
            lines.append(f"         [yellow]unknown: {run.cost.unknown_reason}[/]")
    lines += [f"{name:<8} {target}" for name, target in shown["links"].items()]
    print_lines(lines)


@app.command()
def cost(
    model: Annotated[str | None, typer.Option(help="only this model's runs")] = None,
    team: Annotated[str | None, typer.Option(help="only the runs of this team's models")] = None,
    since: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="runs started on or after this day (default: this month)"),
    ] = None,
    stack: StackOption = None,
    output: OutputOption = TABLE,
) -> None:
    """What runs cost, from what they used (training, warm pool, Lambda, Step Functions), summed."""
    deps = configure(stack)
    start = (since or datetime.now(UTC).replace(day=1)).replace(
        hour=0, minute=0, second=0, microsecond=0, tzinfo=UTC
    )
    report = cost_report(deps, start, model, team)
    rows = report["runs"]
    if output is OutputFormat.JSON:
        print_json(report)
        return
    print_table(
        ["run", "model", "team", "status", "training", "warm pool", "lambda", "step functions", "total"],
        [
            [
                row["run_id"],
                row["model"],
                row["team"],
                row["status"],
                *_part_cells(row["cost"]),
                _total_cell(row["cost"]),
            ]
            for row in rows
        ],
        status_column="status",
    )
    unknown = len(report["runs_cost_unknown"])
    print_lines(
        [
            f"total    {views.usd(report['total_usd'])} over {report['runs_costed']} run(s) since "
            f"{start:%Y-%m-%d}"
            + (f"; {unknown} run(s) of unknown cost (see --output json)" if unknown else "")
        ]
    )


def cost_report(deps: Dependencies, start: datetime, model: str | None, team: str | None) -> dict:
    """What `seam cost --output json` prints (the demo prints it too): the runs started since `start`,
    of `model` or `team`, with their costs and the sums. A run's team is the one recorded with its cost,
    else its model's now."""
    teams = {c.name: c.team for c in deps.models.list(fresh=True)}
    ran = [run for run in deps.runs.list_since(start, model) if run.status is not RunStatus.SUPERSEDED]
    rows = [views.run_cost_row(run, teams.get(run.model)) for run in ran]  # a superseded request never ran
    if team is not None:
        rows = [row for row in rows if row["team"] == team]
    return views.cost_report(rows, start, model, team)


def _part_cells(cost: dict | None) -> list[str | None]:
    if cost is None:
        return [None] * 4
    parts = cost["parts"]

    def usd_of(*names: str) -> str | None:
        present = [parts[n] for n in names if n in parts]
        if any(p["usd"] is None for p in present):
            return "unknown"
        return views.usd(sum(p["usd"] for p in present)) if present else None

    return [
        usd_of("champion_scoring", "training"),
        usd_of("warm_pool"),
        usd_of("lambda_compute", "lambda_requests"),
        usd_of("step_functions"),
    ]


def _total_cell(cost: dict | None) -> str | None:
    if cost is None:
        return None
    return views.usd(cost["total_usd"]) if cost["total_usd"] is not None else "unknown"


@app.command()
def trigger(
    model: str,
    reason: Annotated[str, typer.Option(help="why")] = "manual retrain",
    dataset: Annotated[
        str | None, typer.Option(help="object key to train on (default: the newest under the model's prefix)")
    ] = None,
    force: Annotated[bool, typer.Option(help="retrain even on the data the champion was trained on")] = False,
    stack: StackOption = None,
) -> None:
    """Ask for a retrain of MODEL now; prints the id of the run it starts (`seam runs show RUN_ID`), or
    of the run it waits behind when another run holds the model."""
    deps = configure(stack)
    trigger_queue_url()  # a ConfigError naming the variable when the stack has no trigger queue
    body = {
        "source": "seam.manual",
        "detail-type": "Manual Retrain Requested",
        "id": str(uuid.uuid4()),
        "time": datetime.now(UTC).isoformat(),
        "detail": {
            "model": model,
            "requested_by": getpass.getuser(),
            "reason": reason,
            "dataset_key": dataset,
            "force": force,
        },
    }
    # The run the trigger will start for this request: the same mapping, so the same run id
    # (ModelNotFoundError when the model is not onboarded, before anything is sent).
    requests = requests_for(
        ManualRequest.model_validate(body), deps.models, deps.settings.data_bucket, deps.settings.stage
    )
    assert isinstance(requests, list) and len(requests) == 1  # a manual request asks for one run
    deps.trigger_queue.send([(json.dumps(body), 0)])
    print_lines([f"retrain of {model} requested: run {requests[0].run_id}"])


VersionArgument = Annotated[str, typer.Argument(help="version number (3 or 000003) or package ARN")]


def _now() -> datetime:
    return datetime.now(UTC)


def _send(deps: Dependencies, request: RunRequest) -> None:
    """Put a rollback or retry on the trigger queue, as the run request it is (after its model's check)."""
    trigger_queue_url()  # a ConfigError naming the variable when the stack has no trigger queue
    deps.models.get(request.model)  # ModelNotFoundError names the model
    deps.trigger_queue.send([(OperatorRequest.body(request), 0)])


@app.command()
def approve(
    model: str,
    version: VersionArgument,
    note: Annotated[str, typer.Option(help="why (kept in the run's decision record)")] = "",
    force: Annotated[
        bool, typer.Option(help="deploy even though another version serves than it was evaluated against")
    ] = False,
    stack: StackOption = None,
) -> None:
    """Approve VERSION of MODEL in the Model Registry; its approval deploys it (a deploy run through the
    verified Deploy path). Prints the deploy run's id. Refused, with nothing changed, for a version that
    does not exist, already serves, was rejected, or was evaluated against a champion that no longer
    serves (--force overrides that last one, recorded)."""
    deps = configure(stack)
    deps.models.get(model)
    request = operations.approve(
        model, version, note, force, caller_arn(), deps.versions, deps.registry, _now(), deps.settings.stage
    )
    assert request.deploy is not None
    print_lines([f"version {request.deploy.version} of {model} approved: deploy run {request.run_id}"])


@app.command()
def reject(
    model: str,
    version: VersionArgument,
    reason: Annotated[str, typer.Option(help="why (kept on the run that registered the version)")],
    stack: StackOption = None,
) -> None:
    """Reject VERSION of MODEL in the Model Registry (it will not deploy; the decision is recorded)."""
    deps = configure(stack)
    deps.models.get(model)
    rejected = operations.reject(model, version, reason, caller_arn(), deps.versions, deps.registry)
    print_lines([f"version {rejected.version} of {model} rejected (run {rejected.run_id} records it)"])


@app.command()
def rollback(
    model: str,
    reason: Annotated[str, typer.Option(help="why (kept in the run's decision record)")],
    to: Annotated[
        str | None, typer.Option(help="version to bring back (default: what served before the champion)")
    ] = None,
    stack: StackOption = None,
) -> None:
    """Deploy an earlier version of MODEL again, as a deploy run through the verified Deploy path (its
    rollout checked, rolled back if it fails); the champion moves back with it. Prints the run id."""
    deps = configure(stack)
    request = operations.rollback_request(
        model, to, reason, caller_arn(), str(uuid.uuid4()), deps.versions, _now(), deps.settings.stage
    )
    _send(deps, request)
    assert request.deploy is not None
    print_lines([f"rollback of {model} to version {request.deploy.version} requested: run {request.run_id}"])


@runs_app.command("retry")
def runs_retry(run_id: str, stack: StackOption = None) -> None:
    """Start a failed run's request again as a new run (same dataset object version, same deploy order);
    the new run records `retry_of`. A run still running is not retried."""
    deps = configure(stack)
    request = operations.retry_request(run_id, deps.runs, _now(), deps.settings.stage)
    _send(deps, request)
    print_lines([f"run {run_id} retried: run {request.run_id}"])


@app.command()
def lineage(
    model: Annotated[str | None, typer.Argument(help="the model whose versions to trace")] = None,
    version: Annotated[str | None, typer.Option(help="only this version (default: every version)")] = None,
    dataset: Annotated[
        str | None, typer.Option(help="s3://bucket/key[?versionId=...]: what was trained on this object")
    ] = None,
    stack: StackOption = None,
    output: OutputOption = TABLE,
) -> None:
    """Trace a model's versions (trigger -> dataset -> training job and image -> package -> Deployment
    revisions -> who approved), or with --dataset the other way: the versions and live Deployments
    trained on that object."""
    if (model is None) == (dataset is None):
        raise OperationRefusedError("give a MODEL, or --dataset s3://bucket/key (one of the two)")
    deps = configure(stack)
    if dataset is not None:
        bucket, key, version_id = parse_s3_uri(dataset)
        configs = {c.name: c for c in deps.models.list(fresh=True)}
        traced = dataset_lineage(bucket, key, version_id, deps.versions, configs)
        if output is OutputFormat.JSON:
            print_json(traced)
        else:
            print_lines(views.dataset_lineage_lines(traced))
        return
    assert model is not None
    config = deps.models.get(model)
    champion = deps.versions.champion(model)
    chosen = [operations.find_version(model, version, deps.versions)] if version else None
    found = chosen or deps.versions.list_versions(model)
    serving = champion.version if champion else None
    traced_versions = [version_lineage(v, config, deps.runs, serving) for v in found]
    if output is OutputFormat.JSON:
        print_json(traced_versions)
        return
    print_lines([line for traced in traced_versions for line in views.version_lineage_lines(traced)])


def _register_local_commands() -> None:
    """`seam local up` and `seam demo` live with the local runtime (seam_cli.local)."""
    try:
        from seam_cli import local
    except ImportError:
        return
    local.register(app)


_register_local_commands()
