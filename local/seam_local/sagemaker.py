"""Local SageMaker: a training job, or a processing job, runs its image's entry point on this machine.

moto keeps the job record (DescribeTrainingJob); `moto_hooks.install_training_runner` hands every new job
to `LocalSageMaker.start`, which runs it on a worker thread under the SageMaker container contract, with
a work folder in place of /opt/ml (passed as SM_BASE_DIR):

    input/config/hyperparameters.json     HyperParameters (strings)
    input/config/inputdataconfig.json     the channels; resourceconfig.json: one host, algo-1
    input/data/<channel>/                 the channel's S3Prefix objects, from the emulator's S3
    model/                                on exit 0: model.tar.gz, uploaded to ModelArtifacts.S3ModelArtifacts
    output/data/                          on exit 0: output.tar.gz beside model.tar.gz (when not empty):
                                          Seam's paired evaluation reads the per-row predictions there
    output/failure                        on a non-zero exit: FailureReason (first 1024 characters)

The command is the image's ENTRYPOINT plus `train` (`docker run IMAGE train`). stdout and stderr form
the job's log; the MetricDefinitions regexes read it and the last value of each metric wins.
MaxRuntimeInSeconds kills the process (Stopped, MaxRuntimeExceeded); StopTrainingJob too (Stopped).
A "SageMaker Training Job State Change" event goes to `on_event` for InProgress and the terminal status.

Processing jobs (a champion scored by its own image: seam.domain.champion_scoring) run the same way,
handed over by `moto_hooks.processing_runner`: the container's /opt/ml is the job's work folder (passed
as SM_BASE_DIR, and every ContainerArguments value under /opt/ml/ is rewritten to it), each
ProcessingInputs S3Input is downloaded to its LocalPath, the command is the image's ENTRYPOINT (or the
job's ContainerEntrypoint) plus ContainerArguments, and on exit 0 each ProcessingOutputConfig output's
LocalPath is uploaded under its S3Uri. A non-zero exit fails the job with /opt/ml/output/message as its
ExitMessage; MaxRuntimeInSeconds and StopProcessingJob stop it. "SageMaker Processing Job State Change"
goes to `on_event` for InProgress and the terminal status, with ProcessingStartTime/EndTime set.

Warm pools (ResourceConfig.KeepAlivePeriodInSeconds): after a job the work folder stays "Available" for
the keep-alive period; the next job with the same image, instance type, count and volume reuses it
(WarmPoolStatus Reused/InUse/Available/Terminated as DescribeTrainingJob reports it). Reused: the folder,
with SageMaker's persistent cache `sagemaker/warmpoolcache/` (what a job leaves there, the next one
finds); input/, model/ and output/ are fresh for every job, as on SageMaker. No process is kept warm.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import shutil
import signal
import subprocess
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from moto.sagemaker.models import FakeProcessingJob, FakeTrainingJob

from seam_local.console import Log, silent
from seam_local.images import ImageNotFound, ImageResolver
from seam_local.moto_hooks import (
    processing_state_change_event,
    set_processing_job,
    set_training_job,
    training_state_change_event,
)

FAILURE_LIMIT = 1024  # characters of output/failure that SageMaker reports as FailureReason
STOP_GRACE_SECONDS = 2.0  # SageMaker waits 120 s after SIGTERM; locally there is nothing to save for long


CONTAINER_ROOT = "/opt/ml/"  # what SM_BASE_DIR stands for


@dataclass
class _Running:
    job: FakeTrainingJob | FakeProcessingJob
    thread: threading.Thread
    process: subprocess.Popen[str] | None = None
    stop_reason: str | None = None  # "Stopped" (StopTrainingJob) or "MaxRuntimeExceeded"


@dataclass
class WarmPool:
    """A retained work folder, matched by image and resources, alive until `expires_at`."""

    key: tuple[str, str, int, int]
    folder: Path
    keep_alive: int
    job: FakeTrainingJob
    available_at: float = 0.0
    in_use: bool = True

    @property
    def expires_at(self) -> float:
        return self.available_at + self.keep_alive


@dataclass
class LocalSageMaker:
    """Runs training jobs locally; the `TrainingRunner` of moto_hooks.install_training_runner."""

    work_root: Path
    on_event: Callable[[dict[str, Any]], None]
    images: ImageResolver = field(default_factory=ImageResolver)
    account: str = "123456789012"
    region: str = "us-east-1"
    log: Log = silent
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.work_root = Path(self.work_root)
        self._running: dict[str, _Running] = {}
        self._pools: list[WarmPool] = []
        self._lock = threading.Lock()
        self._closed = False

    # -- the TrainingRunner protocol (called on moto's request thread: return at once) ---------------

    def start(self, job: FakeTrainingJob) -> None:
        thread = threading.Thread(target=self._run, args=(job,), name=f"training-{job.training_job_name}")
        with self._lock:
            if self._closed:
                raise RuntimeError("the local SageMaker is shut down")
            self._running[job.training_job_name] = _Running(job, thread)
        thread.start()

    def stop(self, job: FakeTrainingJob) -> None:
        with self._lock:
            running = self._running.get(job.training_job_name)
        if running is None or job.training_job_status != "InProgress":
            return  # stopping a job that ended is a no-op
        job.training_job_status, job.secondary_status = "Stopping", "Stopping"
        self._kill(running, "Stopped")

    # -- the ProcessingRunner protocol (moto_hooks.processing_runner) ------------------------------------

    def start_processing(self, job: FakeProcessingJob) -> None:
        name = job.processing_job_name
        thread = threading.Thread(target=self._run_processing, args=(job,), name=f"processing-{name}")
        with self._lock:
            if self._closed:
                raise RuntimeError("the local SageMaker is shut down")
            self._running[name] = _Running(job, thread)
        thread.start()

    def stop_processing(self, job: FakeProcessingJob) -> None:
        with self._lock:
            running = self._running.get(job.processing_job_name)
        if running is None or job.processing_job_status != "InProgress":
            return
        job.processing_job_status = "Stopping"
        self._kill(running, "Stopped")

    # -- lifecycle --------------------------------------------------------------------------------------

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """True once no job is running (tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._running:
                    return True
            time.sleep(0.02)
        return False

    def shutdown(self) -> None:
        """Kill running jobs (they end Stopped), wait for their threads, terminate warm pools."""
        with self._lock:
            self._closed = True
            running = list(self._running.values())
        for item in running:
            self._kill(item, "Stopped")
        for item in running:
            item.thread.join(timeout=STOP_GRACE_SECONDS + 5)
        with self._lock:
            pools, self._pools = self._pools, []
        for pool in pools:
            self._terminate(pool)

    # -- one job ----------------------------------------------------------------------------------------

    def _run(self, job: FakeTrainingJob) -> None:
        name = job.training_job_name
        started = self.clock()
        job.training_start_time = datetime.now(UTC)
        self._emit(job)
        pool: WarmPool | None = None
        try:
            image = self.images.resolve(job.algorithm_specification["TrainingImage"])
            pool = self._claim_pool(job)
            base = pool.folder if pool else self.work_root / name
            self._transition(job, "Downloading", "Downloading input data")
            self._prepare(base, job)
            self._transition(job, "Training", "Training image download completed. Training in progress.")
            metrics, code, lines = self._train(job, image.command(["train"]), image.folder, base)
            running = self._running[name]
            if running.stop_reason is None and code == 0:
                self._transition(job, "Uploading", "Uploading generated training model")
                artifact = job.model_artifacts["S3ModelArtifacts"]
                self._upload_model(base / "model", artifact)
                if any((base / "output" / "data").iterdir()):
                    self._upload_model(
                        base / "output" / "data", artifact.rsplit("/", 1)[0] + "/output.tar.gz"
                    )
                self._finish(job, "Completed", started, metrics=metrics)
            elif running.stop_reason is not None:
                self._finish(job, "Stopped", started, metrics=metrics, secondary=running.stop_reason)
            else:
                self._finish(
                    job, "Failed", started, metrics=metrics, reason=_failure_reason(base, code, lines)
                )
        except ImageNotFound as exc:
            self._finish(job, "Failed", started, reason=f"ClientError: {exc}")
        except Exception as exc:  # the platform's own failure: still a terminal job, never a hung one
            self.log("error", f"training job {name} failed in the local runtime: {exc!r}")
            self._finish(job, "Failed", started, reason=f"InternalServerError: {type(exc).__name__}: {exc}")
        finally:
            if pool is not None:
                self._release_pool(pool)
            elif (self.work_root / name).exists():
                shutil.rmtree(self.work_root / name, ignore_errors=True)
            with self._lock:
                self._running.pop(name, None)

    def _run_processing(self, job: FakeProcessingJob) -> None:
        name, base = job.processing_job_name, self.work_root / job.processing_job_name
        started = datetime.now(UTC)
        job.processing_start_time = started
        self._emit_processing(job)
        status, message, reason = "Failed", None, None
        try:
            spec = job.app_specification
            image = self.images.resolve(spec["ImageUri"])
            for item in job.processing_inputs or []:
                source = item["S3Input"]
                self._download(
                    boto3.client("s3", region_name=self.region),
                    source["S3Uri"],
                    _local(base, source["LocalPath"]),
                )
            outputs = (job.processing_output_config or {}).get("Outputs", [])
            for item in outputs:
                _local(base, item["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)
            arguments = [
                _local(base, a).as_posix() if a.startswith(CONTAINER_ROOT) else a
                for a in spec.get("ContainerArguments") or []
            ]
            argv = image.command(arguments, entrypoint=spec.get("ContainerEntrypoint"))
            env = {**(job.environment or {}), "PROCESSING_JOB_NAME": name}
            limit = (job.stopping_condition or {}).get("MaxRuntimeInSeconds")
            code, lines = self._run_container(
                name,
                argv,
                image.folder,
                base,
                env,
                limit,
                lambda line: self.log("processing", f"{name} | {line}"),
            )
            stopped = self._running[name].stop_reason
            if stopped is None and code == 0:
                for item in outputs:
                    self._upload_folder(
                        _local(base, item["S3Output"]["LocalPath"]), item["S3Output"]["S3Uri"]
                    )
                status = "Completed"
            elif stopped is not None:
                status, reason = "Stopped", stopped
            else:
                message = _message(base)
                tail = lines[-1] if lines else ""
                reason = (
                    f"AlgorithmError: the processing container exited with code {code}; last line: {tail}"
                )
                reason = reason[:FAILURE_LIMIT]
        except ImageNotFound as exc:
            reason = f"ClientError: {exc}"
        except Exception as exc:  # the platform's own failure: still a terminal job, never a hung one
            self.log("error", f"processing job {name} failed in the local runtime: {exc!r}")
            reason = f"InternalServerError: {type(exc).__name__}: {exc}"
        finally:
            shutil.rmtree(base, ignore_errors=True)
            with self._lock:
                self._running.pop(name, None)
        set_processing_job(
            name,
            status,
            account=self.account,
            region=self.region,
            started=started,
            exit_message=message,
            failure_reason=reason,
        )
        self.log("sagemaker", f"processing job {name} {status} {message or reason or ''}".rstrip())
        self._emit_processing(job)

    def _emit_processing(self, job: FakeProcessingJob) -> None:
        try:
            self.on_event(processing_state_change_event(job, self.account, self.region))
        except Exception as exc:  # EventBridge is best effort; the reconciler covers lost events
            self.log("error", f"state change of {job.processing_job_name} not delivered: {exc!r}")

    def _prepare(self, base: Path, job: FakeTrainingJob) -> None:
        for part in ("input", "model", "output"):
            shutil.rmtree(base / part, ignore_errors=True)
        config = base / "input" / "config"
        config.mkdir(parents=True)
        (base / "model").mkdir()
        (base / "output" / "data").mkdir(parents=True)
        (base / "sagemaker" / "warmpoolcache").mkdir(parents=True, exist_ok=True)
        (config / "hyperparameters.json").write_text(json.dumps(job.hyper_parameters or {}))
        channels = job.input_data_config or []
        (config / "inputdataconfig.json").write_text(
            json.dumps({c["ChannelName"]: {"TrainingInputMode": "File"} for c in channels})
        )
        (config / "resourceconfig.json").write_text(
            json.dumps({"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"})
        )
        s3 = boto3.client("s3", region_name=self.region)
        for channel in channels:
            source = channel["DataSource"].get("S3DataSource") or {}
            if source.get("S3DataType", "S3Prefix") != "S3Prefix":
                raise ValueError(f"channel {channel['ChannelName']}: only S3Prefix data sources run locally")
            self._download(s3, source["S3Uri"], base / "input" / "data" / channel["ChannelName"])

    @staticmethod
    def _download(s3: Any, uri: str, target: Path) -> None:
        bucket, prefix = _split_s3(uri)
        parent = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
        target.mkdir(parents=True, exist_ok=True)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if item["Key"].endswith("/"):
                    continue
                local = target / item["Key"][len(parent) :]
                local.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, item["Key"], str(local))

    def _train(
        self, job: FakeTrainingJob, argv: list[str], image_folder: Path, base: Path
    ) -> tuple[dict[str, float], int, list[str]]:
        name = job.training_job_name
        definitions = [
            (d["Name"], re.compile(d["Regex"]))
            for d in job.algorithm_specification.get("MetricDefinitions", [])
        ]
        metrics: dict[str, float] = {}

        def parse(line: str) -> None:
            self.log("training", f"{name} | {line}")
            for metric, regex in definitions:
                match = regex.search(line)
                if match:
                    with contextlib.suppress(ValueError, IndexError):
                        metrics[metric] = float(match.group(1))

        env = {"TRAINING_JOB_NAME": name, "TRAINING_JOB_ARN": job.arn}
        limit = (job.stopping_condition or {}).get("MaxRuntimeInSeconds")
        code, lines = self._run_container(name, argv, image_folder, base, env, limit, parse)
        return metrics, code, lines

    def _run_container(
        self,
        name: str,
        argv: list[str],
        image_folder: Path,
        base: Path,
        extra_env: dict[str, str],
        limit: int | None,
        on_line: Callable[[str], None],
    ) -> tuple[int, list[str]]:
        """The image's process with SM_BASE_DIR in place of /opt/ml, killed at `limit` seconds; its
        output is the job's log (`logs/<job>.log`, as CloudWatch keeps it: `seam runs show` links to it)
        and goes line by line to `on_line`. Returns the exit code and the last 20 lines."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(base),
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(image_folder),
            "PYTHONUNBUFFERED": "1",
            "SM_BASE_DIR": str(base),
            **extra_env,
        }
        process = subprocess.Popen(
            argv,
            cwd=image_folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: a kill reaches its children too
        )
        running = self._running[name]
        running.process = process
        if running.stop_reason:  # stopped while the input was downloading
            self._kill(running, running.stop_reason)
        timer = threading.Timer(float(limit), self._kill, (running, "MaxRuntimeExceeded")) if limit else None
        if timer:
            timer.daemon = True
            timer.start()
        lines: list[str] = []
        log_file = self.work_root / "logs" / f"{name}.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            assert process.stdout is not None
            with log_file.open("a", encoding="utf-8") as job_log:
                for line in process.stdout:
                    line = line.rstrip("\n")
                    lines = [*lines[-19:], line]
                    job_log.write(line + "\n")
                    on_line(line)
            code = process.wait()
        finally:
            if timer:
                timer.cancel()
        return code, lines

    def _kill(self, running: _Running, reason: str) -> None:
        running.stop_reason = running.stop_reason or reason
        process = running.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    def _upload_folder(self, folder: Path, uri: str) -> None:
        """A processing output: every file under `folder` to `uri`/<its path below the folder>."""
        bucket, prefix = _split_s3(uri.rstrip("/") + "/")
        s3 = boto3.client("s3", region_name=self.region)
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            s3.upload_file(str(path), bucket, prefix + path.relative_to(folder).as_posix())

    def _upload_model(self, model_dir: Path, uri: str) -> None:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for path in sorted(model_dir.rglob("*")):
                archive.add(path, arcname=str(path.relative_to(model_dir)), recursive=False)
        bucket, key = _split_s3(uri)
        boto3.client("s3", region_name=self.region).put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())

    # -- status -----------------------------------------------------------------------------------------

    def _transition(self, job: FakeTrainingJob, secondary: str, message: str) -> None:
        now = datetime.now(UTC)
        transitions = job.secondary_status_transitions
        if transitions and "EndTime" not in transitions[-1]:
            transitions[-1]["EndTime"] = now
        transitions.append({"Status": secondary, "StartTime": now, "StatusMessage": message})
        if job.training_job_status == "InProgress":
            job.secondary_status = secondary
        job.last_modified_time = now

    def _finish(
        self,
        job: FakeTrainingJob,
        status: str,
        started: float,
        *,
        metrics: dict[str, float] | None = None,
        reason: str | None = None,
        secondary: str | None = None,
    ) -> None:
        seconds = max(1, math.ceil(self.clock() - started))
        self._transition(job, secondary or status, reason or f"Training job {status.lower()}")
        job.secondary_status_transitions[-1]["EndTime"] = datetime.now(UTC)
        job.training_end_time = datetime.now(UTC)
        set_training_job(
            job.training_job_name,
            status,
            account=self.account,
            region=self.region,
            secondary_status=secondary or status,
            metrics=metrics,
            failure_reason=reason,
            billable_seconds=seconds,
        )
        shown = ", ".join(f"{k}={v:g}" for k, v in sorted((metrics or {}).items()))
        self.log(
            "sagemaker",
            f"training job {job.training_job_name} {status} in {seconds}s {shown or reason or ''}",
        )
        self._emit(job)

    def _emit(self, job: FakeTrainingJob) -> None:
        if job.training_job_status == "InProgress":
            self.log("sagemaker", f"training job {job.training_job_name} InProgress")
        try:
            self.on_event(training_state_change_event(job, self.account, self.region))
        except Exception as exc:  # EventBridge is best effort; the reconciler covers lost events
            self.log("error", f"state change of {job.training_job_name} not delivered: {exc!r}")

    # -- warm pools -------------------------------------------------------------------------------------

    @staticmethod
    def _pool_key(job: FakeTrainingJob) -> tuple[str, str, int, int]:
        resources = job.resource_config or {}
        return (
            job.algorithm_specification["TrainingImage"],
            resources.get("InstanceType", ""),
            int(resources.get("InstanceCount", 1)),
            int(resources.get("VolumeSizeInGB", 0)),
        )

    def _claim_pool(self, job: FakeTrainingJob) -> WarmPool | None:
        keep_alive = int((job.resource_config or {}).get("KeepAlivePeriodInSeconds") or 0)
        if not keep_alive:
            return None
        key, now = self._pool_key(job), self.clock()
        with self._lock:
            expired = [p for p in self._pools if not p.in_use and p.expires_at <= now]
            self._pools = [p for p in self._pools if p not in expired]
            reusable = next((p for p in self._pools if not p.in_use and p.key == key), None)
            if reusable:
                reusable.in_use = True
        for pool in expired:
            self._terminate(pool)
        if reusable:
            reusable.job.warm_pool_status = {
                "Status": "Reused",
                "ResourceRetainedBillableTimeInSeconds": math.ceil(now - reusable.available_at),
                "ReusedByJob": job.training_job_name,
            }
            self.log(
                "sagemaker",
                f"{job.training_job_name} reuses the warm pool of {reusable.job.training_job_name}",
            )
            reusable.job, reusable.keep_alive = job, keep_alive
            pool = reusable
        else:
            pool = WarmPool(key, self.work_root / f"warm-{job.training_job_name}", keep_alive, job)
            with self._lock:
                self._pools.append(pool)
        job.warm_pool_status = {"Status": "InUse"}
        return pool

    def _release_pool(self, pool: WarmPool) -> None:
        pool.available_at, pool.in_use = self.clock(), False
        pool.job.warm_pool_status = {"Status": "Available", "ResourceRetainedBillableTimeInSeconds": 0}
        if self._closed:
            with self._lock:
                self._pools = [p for p in self._pools if p is not pool]
            self._terminate(pool)

    def _terminate(self, pool: WarmPool) -> None:
        retained = math.ceil(max(0.0, min(self.clock(), pool.expires_at) - pool.available_at))
        pool.job.warm_pool_status = {
            "Status": "Terminated",
            "ResourceRetainedBillableTimeInSeconds": retained,
        }
        shutil.rmtree(pool.folder, ignore_errors=True)


def _split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def _local(base: Path, container_path: str) -> Path:
    """A container path under /opt/ml/ in the job's work folder."""
    if not container_path.startswith(CONTAINER_ROOT):
        raise ValueError(f"{container_path}: only paths under {CONTAINER_ROOT} run locally")
    return base / container_path[len(CONTAINER_ROOT) :]


def _message(base: Path) -> str | None:
    """/opt/ml/output/message: what the container said when it exited (a Processing job's ExitMessage)."""
    message = base / "output" / "message"
    if message.is_file():
        return message.read_text(encoding="utf-8", errors="replace").strip()[:FAILURE_LIMIT] or None
    return None


def _failure_reason(base: Path, code: int, lines: list[str]) -> str:
    failure = base / "output" / "failure"
    if failure.is_file():
        text = failure.read_text(encoding="utf-8", errors="replace").strip()
        if text:
            return text[:FAILURE_LIMIT]
    tail = lines[-1] if lines else ""
    return f"AlgorithmError: training exited with code {code} and no output/failure; last line: {tail}"[
        :FAILURE_LIMIT
    ]
