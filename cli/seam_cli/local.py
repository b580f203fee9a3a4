"""`seam demo` and `seam local up`: the embedded local runtime (seam_local) from the command line."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

# Off a terminal (a log, a pipe) rich would draw at 80 columns and cut the demo summary's cells.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
local_app = typer.Typer(
    help="Run Seam on this machine: emulator, local SageMaker and EKS.", no_args_is_help=True
)


def demo() -> None:
    """Three retraining runs of the churn example, live: deploy v1, reject a worse model, drift -> v2."""
    from seam_local.demo import run_demo

    raise typer.Exit(run_demo(console))


def up(
    port: Annotated[int, typer.Option(help="emulator port (0: a free one)")] = 4566,
    speed: Annotated[float, typer.Option(min=0.001, help="run the schedules this many times faster")] = 1.0,
    state_dir: Annotated[Path, typer.Option(help="where env, kubeconfig and logs go")] = Path(".seam/local"),
    image_dir: Annotated[
        list[str] | None,
        typer.Option(
            metavar="REPOSITORY=PATH",
            help="the folder (with its Dockerfile) that stands for ECR repository REPOSITORY's images; "
            "repeatable. Default: examples/REPOSITORY/image",
        ),
    ] = None,
    model: Annotated[
        list[Path] | None,
        typer.Option(
            metavar="FILE.yaml",
            exists=True,
            dir_okay=False,
            help="also onboard this model config, with its Deployment in the local cluster; repeatable",
        ),
    ] = None,
) -> None:
    """Start the whole stack locally (until Ctrl-C or SIGTERM) with the churn example onboarded."""
    from seam_local.console import RuntimeLog
    from seam_local.images import ImageResolver, image_dirs
    from seam_local.runtime import LocalRuntime, PortInUse

    from seam_cli.main import load_config

    try:
        images = ImageResolver(overrides=image_dirs(image_dir or []))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--image-dir") from None
    for path in model or []:
        load_config(path)  # a config that cannot be onboarded stops here, before anything starts

    # A plain flag: a signal handler that takes a lock (Event.set) can deadlock the thread it interrupts.
    stop_requested: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, _frame: stop_requested.append(number))
    runtime = LocalRuntime(
        port=port, speed=speed, state_dir=state_dir, images=images, log=RuntimeLog(console)
    )
    try:
        runtime.start()
    except PortInUse as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    try:
        runtime.onboard()
        for path in model or []:
            runtime.onboard(path)
        env_file = runtime.write_env()
        env = runtime.environment()
        assert runtime.eks is not None
        console.print(
            f"\n[bold green]Seam is up[/] (stage {runtime.stage})\n"
            f"  AWS emulator      {runtime.endpoint_url}\n"
            f"  Kubernetes API    {runtime.eks.kube.url} (cluster {runtime.eks.cluster})\n"
            f"  data bucket       s3://{env['SEAM_DATA_BUCKET']}\n"
            f"  environment       source {env_file}\n"
            f"  logs              {runtime.state_dir / 'lambda.log'}, {runtime.state_dir / 'serving'}/\n"
            "  try               aws s3 cp $SEAM_EXAMPLE_DATA s3://$SEAM_DATA_BUCKET/datasets/churn/\n"
            "                    aws stepfunctions list-executions \\\n"
            "                      --state-machine-arn $SEAM_STATE_MACHINE_ARN\n"
            "                    kubectl get deployments -n ml-serving -o wide; seam runs\n"
            "Ctrl-C stops everything.\n"
        )
        while not stop_requested:
            time.sleep(0.1)
        console.print("[bold]stopping[/]")
    finally:
        runtime.stop()
    console.print("stopped")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
    local_app.command("up")(up)
    app.add_typer(local_app, name="local")
