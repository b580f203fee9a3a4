"""The embedded local runtime: the whole stack on 127.0.0.1, no AWS account, no Docker.

`LocalRuntime.start()`:

1. moto's `ThreadedMotoServer` on 127.0.0.1 (the emulator; real clients use it through
   AWS_ENDPOINT_URL), reset, with the Step Functions interpreter switched on through `/moto-api/config`.
2. The template's resources (`EmulatedStack`: tables, buckets, buses, queues, functions, state machine)
   and, from the SAM-transformed template (`wiring`), the data bucket's EventBridge notifications, the
   rules with their SQS targets and the schedules. Lambda handlers run in-process with the template's
   environment and AWS_ENDPOINT_URL pointing at the emulator (moto_hooks.install_lambda_runtime).
3. Local SageMaker (`sagemaker`), local EKS (`eks`), the SQS event source pollers and schedule tickers
   (`pollers`), and a watcher that logs every state transition (`watch`).

Each start is a cold start: handler modules are imported afresh and Seam's caches are reset (`seam.reset`);
`stop()` puts the process back as it was (environment, moto hooks and config, imported modules),
stops every thread, server and process it started, and returns within a few seconds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import boto3
import seam
import yaml
from botocore.config import Config
from moto.core.config import default_user_config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from seam.dependencies import Dependencies, dependencies
from seam.models.model_config import ModelConfig

from seam_local import alerts, moto_hooks, wiring
from seam_local.console import Log, RuntimeLog, invocation_line
from seam_local.eks import LocalEks, free_port
from seam_local.images import ImageResolver
from seam_local.pollers import FunctionError, ScheduleTicker, SqsPoller, Worker
from seam_local.sagemaker import LocalSageMaker
from seam_local.stack import HANDLER_MODULE_PREFIX, EmulatedStack
from seam_local.template import REPO_ROOT, StackTemplate
from seam_local.watch import ExecutionWatcher

LOCAL_CLUSTER = "seam-local"
EXAMPLE_MODEL = REPO_ROOT / "examples" / "churn" / "model.yaml"
EXAMPLE_DATA = REPO_ROOT / "examples" / "churn" / "data" / "good.csv"
# Like a samconfig for the local stage: the local cluster may be deployed to, rollout checks every second.
LOCAL_PARAMETERS = {"AllowedClusters": LOCAL_CLUSTER, "RolloutWaitSeconds": 1, "ScheduleSpreadSeconds": 0}
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class LocalRuntime:
    port: int = 0  # 0: a free port
    speed: float = 1.0  # schedules tick this many times faster
    state_dir: Path = Path(".seam/local")
    stage: str = "local"
    parameters: dict[str, Any] = field(default_factory=lambda: dict(LOCAL_PARAMETERS))
    images: ImageResolver = field(default_factory=ImageResolver)
    log: Log = field(default_factory=RuntimeLog)
    schedules: bool = True
    instant_rollouts: bool = False  # no serving process; rollouts complete as patched (bench/overhead.py)

    def __post_init__(self) -> None:
        self.state_dir = Path(self.state_dir).resolve()
        self.template = StackTemplate(stage=self.stage, parameters=self.parameters)
        self._exit = contextlib.ExitStack()
        self._workers: list[Worker] = []
        self.server: ThreadedMotoServer | None = None
        self.stack: EmulatedStack | None = None
        self.eks: LocalEks | None = None
        self.sagemaker: LocalSageMaker | None = None
        self.watcher: ExecutionWatcher | None = None
        self.alerts: alerts.AlertSubscriber | None = None

    # -- lifecycle ----------------------------------------------------------------------------------------

    def start(self) -> LocalRuntime:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _start(self) -> None:
        moto_hooks.check_moto_compatibility()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        _check_port_free(self.port)  # ThreadedMotoServer.start() would wait forever on a taken port
        self._isolate_process_state()
        self._start_emulator()
        cfn = self._deploy()
        self._start_services(cfn)
        self.log("runtime", f"emulator at {self.endpoint_url} (stage {self.stage}, speed x{self.speed:g})")

    def _start_emulator(self) -> None:
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": self.template.region,
                "MOTO_PORT": str(self.port),  # where moto's Step Functions interpreter calls Lambda
                "NO_PROXY": "127.0.0.1,localhost",
                "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
                "POWERTOOLS_METRICS_DISABLED": "true",  # EMF lines would flood the console
            }
        )
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.pop("AWS_PROFILE", None)
        # One line per request, and a traceback-like line per error the ASL catches: the watcher says it.
        self._quieten("werkzeug", logging.ERROR)
        self._quieten("moto.stepfunctions.parser", logging.CRITICAL)
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self._moto_api("reset")
        self._moto_api("config", {"stepfunctions": {"execute_state_machine": True}})

    def _deploy(self) -> StackTemplate:
        """The stack into the emulator, with the hooks that make moto behave like the services."""
        self.sagemaker = LocalSageMaker(
            work_root=self.state_dir / "sagemaker",
            on_event=self._put_event,
            images=self.images,
            account=self.template.account,
            region=self.template.region,
            log=self.log,
        )
        self.stack = EmulatedStack(self.template)
        self.stack.runtime.listeners.append(lambda invocation: self.log(*invocation_line(invocation)))
        self._exit.enter_context(moto_hooks.install_lambda_runtime(self.stack.runtime))
        self._exit.enter_context(moto_hooks.install_training_runner(self.sagemaker))
        self._exit.enter_context(moto_hooks.install_event_sources())
        self._exit.enter_context(moto_hooks.install_transaction_backups())
        self._exit.enter_context(moto_hooks.install_local_images(self.images))
        self._exit.callback(self.sagemaker.shutdown)
        self.stack.deploy()
        self._lambda_logs_to_file()

        cfn = wiring.transformed(self.template)
        wiring.deploy(cfn)
        return cfn

    def _start_services(self, cfn: StackTemplate) -> None:
        """Local EKS, the event source pollers, the schedules and the execution watcher."""
        assert self.stack is not None
        self.eks = LocalEks(
            work_dir=self.state_dir / "serving",
            endpoint_url=self.endpoint_url,
            cluster=LOCAL_CLUSTER,
            account=self.template.account,
            region=self.template.region,
            images=self.images,
            instant_rollouts=self.instant_rollouts,
            log=self.log,
        ).start()
        self._exit.callback(self.eks.stop)
        lam = boto3.client("lambda", config=Config(read_timeout=900, retries={"max_attempts": 0}))
        sqs = boto3.client("sqs")
        for mapping in wiring.event_source_mappings(cfn):
            self._workers.append(SqsPoller(mapping, sqs, self._invoker(lam), log=self.log))
        if self.schedules:
            for schedule in wiring.schedules(cfn):
                self._workers.append(ScheduleTicker(schedule, self._deliver, speed=self.speed, log=self.log))
        self.watcher = ExecutionWatcher(
            boto3.client("stepfunctions"), self.stack.state_machine_arn, log=self.log
        )
        self._workers.append(self.watcher)
        # The alert topic's subscriber: run outcome notifications and the stack's alarms, printed.
        alarm_queue, descriptions = alerts.subscribe_alarms(
            cfn, sqs, boto3.client("events"), boto3.client("cloudwatch")
        )
        queues = alerts.subscribe(cfn, sqs, boto3.client("events"))
        self.alerts = alerts.AlertSubscriber(sqs, queues, alarm_queue, descriptions, log=self.log)
        self._workers.append(self.alerts)
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        """Stop everything started, in reverse; safe to call twice."""
        for worker in self._workers:
            worker.request_stop()  # all at once: each may be inside a one-second long poll
        for worker in self._workers:
            worker.stop()
        self._workers = []
        self._abort_executions()
        self._exit.close()
        if self.server is not None:
            with contextlib.suppress(Exception):
                self.server.stop()
            self.server = None

    # -- what the CLI, the demo and tests use ----------------------------------------------------------

    @property
    def sqs_batching_windows(self) -> list[float]:
        """MaximumBatchingWindowInSeconds of the SQS event source mappings being polled."""
        return sorted({w.mapping.batching_window_seconds for w in self._workers if isinstance(w, SqsPoller)})

    @property
    def deps(self) -> Dependencies:
        return dependencies()

    def onboard(self, path: Path = EXAMPLE_MODEL) -> ModelConfig:
        """`seam models put` for a model config, its drift alarms, and its Deployment in the local cluster."""
        from seam.domain.onboarding import ConfigRefused, check_config

        config = ModelConfig.model_validate(yaml.safe_load(Path(path).read_text()))
        problems = check_config(config, self.deps.settings, None)  # its Deployment is created below
        if problems:
            raise ConfigRefused(f"{path} was not saved", problems)
        self.deps.models.put(config, checked_for=self.deps.settings.allowed_clusters)
        cloudwatch = boto3.client("cloudwatch")
        for alarm in config.drift_alarms:
            cloudwatch.put_metric_alarm(
                AlarmName=alarm,
                AlarmDescription=f"Feature drift of model {config.name} (local: set its state to ALARM)",
                Namespace="Seam/Models",
                MetricName="FeatureDriftPSI",
                Dimensions=[{"Name": "Model", "Value": config.name}],
                Statistic="Maximum",
                Period=3600,
                EvaluationPeriods=1,
                Threshold=0.2,
                ComparisonOperator="GreaterThanThreshold",
            )
        if config.serving and self.eks is not None:
            self.eks.seed(config.serving)
        self.log("runtime", f"model {config.name} onboarded from {path}")
        return config

    def environment(self) -> dict[str, str]:
        """What a shell needs to use the runtime with real clients (aws, kubectl, seam)."""
        env = self.template.globals_environment()
        keys = ("SEAM_MODELS_TABLE", "SEAM_RUNS_TABLE", "SEAM_VERSIONS_TABLE", "SEAM_DATA_BUCKET")
        keys += ("SEAM_STATE_MACHINE_ARN", "SEAM_EVENT_BUS_NAME", "SEAM_STAGE", "SEAM_ALLOWED_CLUSTERS")
        assert self.stack is not None
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.template.region,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            **{k: env[k] for k in keys},
            "SEAM_TRIGGER_QUEUE_URL": self.stack.queue_url("TriggerQueue"),
            # Where lambda.log and sagemaker/logs/<job>.log are (`seam runs show` links to them).
            "SEAM_LOCAL_STATE_DIR": str(self.state_dir),
            "KUBECONFIG": str(self.state_dir / "kubeconfig"),
            # A model name: `aws s3 cp … s3://$SEAM_DATA_BUCKET/datasets/$SEAM_EXAMPLE_MODEL/` starts a run
            "SEAM_EXAMPLE_MODEL": yaml.safe_load(EXAMPLE_MODEL.read_text())["name"],
            "SEAM_EXAMPLE_CONFIG": str(EXAMPLE_MODEL),
            "SEAM_EXAMPLE_DATA": str(EXAMPLE_DATA),
        }

    def write_env(self) -> Path:
        """`.seam/local/env` (sourceable; the CLI reads it) and the kubeconfig it names."""
        env = self.environment()
        assert self.eks is not None
        self.eks.write_kubeconfig(Path(env["KUBECONFIG"]))
        path = self.state_dir / "env"
        lines = [
            "# written by `seam local up`; valid while it runs",
            *(f"export {k}={v}" for k, v in env.items()),
        ]
        path.write_text("\n".join(lines) + "\n")
        for written in (path, Path(env["KUBECONFIG"])):  # they point at servers that stop with the runtime
            self._exit.callback(written.unlink, missing_ok=True)
        return path

    # -- plumbing ----------------------------------------------------------------------------------------

    def _moto_api(self, action: str, body: dict[str, Any] | None = None) -> None:
        request = urllib.request.Request(
            f"{self.endpoint_url}/moto-api/{action}",
            data=json.dumps(body or {}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with _DIRECT.open(request, timeout=10) as response:
            response.read()

    def _isolate_process_state(self) -> None:
        """Remember what this process looked like, so stop() can put it back."""
        saved_env = dict(os.environ)
        saved_sfn = dict(default_user_config.get("stepfunctions", {}))
        saved_modules = {
            m: sys.modules.pop(m) for m in list(sys.modules) if m.startswith(HANDLER_MODULE_PREFIX)
        }

        def restore() -> None:
            for name in [m for m in sys.modules if m.startswith(HANDLER_MODULE_PREFIX)]:
                del sys.modules[name]
            sys.modules.update(saved_modules)
            default_user_config["stepfunctions"] = saved_sfn
            os.environ.clear()
            os.environ.update(saved_env)
            seam.reset()

        seam.reset()
        self._exit.callback(restore)

    def _quieten(self, name: str, level: int) -> None:
        logger = logging.getLogger(name)
        self._exit.callback(logger.setLevel, logger.level)
        logger.setLevel(level)

    def _lambda_logs_to_file(self) -> None:
        """Powertools writes JSON lines to stdout; in the runtime they go to lambda.log."""
        logger = logging.getLogger(os.environ.get("POWERTOOLS_SERVICE_NAME", "seam"))
        handlers = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
        if not handlers:
            return
        sink: TextIO = (self.state_dir / "lambda.log").open("a", encoding="utf-8")
        previous = [(h, h.setStream(sink)) for h in handlers]

        def restore() -> None:
            for handler, stream in previous:
                handler.setStream(stream)  # type: ignore[arg-type]
            sink.close()

        self._exit.callback(restore)

    def _invoker(self, lam: Any) -> Callable[[str, dict[str, Any]], Any]:
        def invoke(function_name: str, event: dict[str, Any]) -> Any:
            response = lam.invoke(FunctionName=function_name, Payload=json.dumps(event).encode())
            payload = json.loads(response["Payload"].read() or b"null")
            if response.get("FunctionError"):
                raise FunctionError(f"{payload.get('errorType')}: {payload.get('errorMessage')}")
            return payload

        return invoke

    def _deliver(self, target_arn: str, body: str) -> None:
        """A schedule's target: SQS SendMessage, or an asynchronous Lambda invoke."""
        if ":sqs:" in target_arn:
            sqs = boto3.client("sqs")
            url = sqs.get_queue_url(QueueName=target_arn.rsplit(":", 1)[1])["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=body)
        elif ":lambda:" in target_arn:
            boto3.client("lambda").invoke(
                FunctionName=target_arn, InvocationType="Event", Payload=body.encode()
            )

    def _put_event(self, event: dict[str, Any]) -> None:
        """Put an AWS service's event (SageMaker's state changes) on the default bus."""
        boto3.client("events").put_events(
            Entries=[
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"], default=str),
                    "Resources": event.get("resources", []),
                }
            ]
        )

    def _abort_executions(self) -> None:
        """Stop running executions so moto's interpreter threads end with the emulator."""
        if self.server is None or self.stack is None:
            return
        with contextlib.suppress(Exception):
            sfn = boto3.client("stepfunctions", config=Config(retries={"max_attempts": 0}, read_timeout=5))
            for execution in sfn.list_executions(
                stateMachineArn=self.stack.state_machine_arn, statusFilter="RUNNING"
            )["executions"]:
                sfn.stop_execution(executionArn=execution["executionArn"], cause="local runtime stopped")


class PortInUse(RuntimeError):
    pass


def _check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise PortInUse(
                f"port {port} on 127.0.0.1 is taken ({exc.strerror}): choose another with --port"
            ) from exc


def wait_for(check: Callable[[], Any], timeout: float, message: str, interval: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(message)
