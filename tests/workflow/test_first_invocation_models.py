"""Seam's pydantic records are built at first use (defer_build), so a handler's first invocation builds the
ones it uses. `bench/cold_start.py` charges each handler for the ones FIRST_INVOCATION_MODELS names;
this test runs the real handlers through the workflow (a data drop deployed, a worse one rejected, a
rollout rolled back, a lost callback settled by the reconciler) and fails unless each handler used
exactly the deferred models named for it: the cold-start figure can't leave out work a first
invocation does, nor charge for work none does.

Seam's adapters are built, and their modules imported, at first use too (seam.dependencies): the same
run fails unless the module of every adapter a handler uses was loaded by its measured cold start
(`import app` and those builds, in a fresh interpreter), so none is imported mid-invocation."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter
from seam.dependencies import Dependencies
from seam.models.run import utc_now

from bench.cold_start import FIRST_INVOCATION_MODELS, loaded_modules
from tests.workflow.harness import (
    CRASHING_IMAGE,
    GOOD_CSV,
    Harness,
    model_config,
    noisy_scores,
    predictions_csv,
    sqs_event,
)
from tests.workflow.test_champion_scoring import IMAGE_B
from tests.workflow.test_paired_evaluation import paired_config, run_of, train

# What builds a deferred model: the BaseModel methods that reach its validator or serializer, and a
# TypeAdapter over it (Powertools' event_parser makes one).
VALIDATING = ("model_validate", "model_validate_json", "model_validate_strings")
SERVING = ("model_dump", "model_dump_json")
FUNCTION_FOLDERS = {  # logical id -> functions/<folder>
    "TriggerFunction": "trigger",
    "ValidateFunction": "validate",
    "LaunchTrainingFunction": "launch_training",
    "ScoreChampionFunction": "score_champion",
    "TrainingCallbackFunction": "training_callback",
    "ReconcilerFunction": "reconciler",
    "EvaluateFunction": "evaluate",
    "RegisterFunction": "register",
    "DeployFunction": "deploy",
    "CheckRolloutFunction": "check_rollout",
    "RollbackFunction": "rollback",
    "FinalizeFunction": "finalize",
}


class ModelUse:
    """Which deferred Seam models and which adapters (attributes of Dependencies) each handler uses, by
    the handler running in the using thread."""

    def __init__(self) -> None:
        self.by_handler: dict[str, set[str]] = defaultdict(set)
        self.adapters: dict[str, set[str]] = defaultdict(set)
        self._running = threading.local()

    def record_adapter(self, name: str) -> None:
        handler = getattr(self._running, "handler", None)
        if handler and not name.startswith("_"):  # not cached_property's look at __dict__
            self.adapters[handler].add(name)

    def record(self, cls: Any) -> None:
        handler = getattr(self._running, "handler", None)
        if not (handler and isinstance(cls, type) and issubclass(cls, BaseModel)):
            return
        if cls.__module__.startswith("seam.") and cls.model_config.get("defer_build"):
            self.by_handler[handler].add(f"{cls.__module__}.{cls.__qualname__}")

    def wrap(self, folder: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def run(event: Any, context: Any) -> Any:
            self._running.handler = folder
            try:
                return handler(event, context)
            finally:
                self._running.handler = None

        return run


@pytest.fixture
def use(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelUse]:
    use = ModelUse()
    original_init = BaseModel.__init__

    def init(self: BaseModel, /, **data: Any) -> None:
        use.record(type(self))
        original_init(self, **data)

    monkeypatch.setattr(BaseModel, "__init__", init)
    original_adapter = TypeAdapter.__init__

    def adapter(self: TypeAdapter[Any], type_: Any, *args: Any, **kwargs: Any) -> None:
        use.record(type_)
        original_adapter(self, type_, *args, **kwargs)

    monkeypatch.setattr(TypeAdapter, "__init__", adapter)
    for name in VALIDATING:
        original = getattr(BaseModel, name).__func__

        def validate(cls: type[BaseModel], *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            use.record(cls)
            return _original(cls, *args, **kwargs)

        monkeypatch.setattr(BaseModel, name, classmethod(validate))
    for name in SERVING:
        original = getattr(BaseModel, name)

        def serve(self: BaseModel, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            use.record(type(self))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(BaseModel, name, serve)

    def attribute(self: Dependencies, name: str) -> Any:
        use.record_adapter(name)
        return object.__getattribute__(self, name)

    monkeypatch.setattr(Dependencies, "__getattribute__", attribute, raising=False)
    runtime = harness.stack.runtime
    for name, (handler, memory, timeout) in list(runtime.handlers.items()):
        logical_id = next(lid for lid in FUNCTION_FOLDERS if name.endswith(harness_name(lid)))
        runtime.handlers[name] = (use.wrap(FUNCTION_FOLDERS[logical_id], handler), memory, timeout)
    yield use


def harness_name(logical_id: str) -> str:
    """TriggerFunction -> -trigger, LaunchTrainingFunction -> -launch-training (the template's names)."""
    stem = logical_id.removesuffix("Function")
    return "-" + "".join(f"-{c.lower()}" if c.isupper() else c for c in stem).lstrip("-")


def test_each_handler_builds_the_deferred_models_and_loads_the_adapters_charged_to_its_cold_start(
    harness: Harness, use: ModelUse
) -> None:
    # A data drop deployed: trigger, validate, launch, callback, evaluate, register, deploy, check, finalize.
    harness.onboard(model_config())
    harness.drop("churn")
    first = harness.only_run_id()
    harness.write_outputs(first, {})  # its model.tar.gz: the champion the last scenario scores
    harness.finish_training(first, auc=0.9)
    assert harness.wait_execution(first)["status"] == "SUCCEEDED"
    # A worse one rejected: validate and evaluate against a champion.
    harness.drop("churn", body=GOOD_CSV + "61,91.5,1\n")  # new data, so the run trains
    [second] = [r.run_id for r in harness.deps.runs.list_for_model("churn") if r.run_id != first]
    harness.finish_training(second, auc=0.5)
    assert harness.wait_execution(second)["status"] == "SUCCEEDED"
    assert harness.run(second).status.value == "REJECTED"
    # A rollout that fails: rollback.
    harness.onboard(model_config("fraud", image=CRASHING_IMAGE))
    harness.drop("fraud")
    failing = harness.only_run_id("fraud")
    harness.finish_training(failing, auc=0.9)
    assert harness.wait_execution(failing)["status"] == "FAILED"
    # A lost callback: the reconciler has the run checked, and the callback settles it.
    harness.onboard(model_config("churn2"))
    harness.drop("churn2")
    lost = harness.only_run_id("churn2")
    harness.finish_training(lost, auc=0.9, deliver=False)
    harness.stack.client("dynamodb").update_item(
        TableName=harness.deps.settings.runs_table,
        Key={"run_id": {"S": lost}},
        UpdateExpression="SET updated_at = :t",
        ExpressionAttributeValues={":t": {"S": (utc_now() - timedelta(hours=1)).isoformat()}},
    )
    assert harness.stack.invoke("ReconcilerFunction", {})["checks_sent"] == [lost]
    queue = harness.deps.callback_queue
    [check] = queue.sqs.receive_message(QueueUrl=queue.queue_url, MaxNumberOfMessages=10)["Messages"]
    assert harness.stack.invoke("TrainingCallbackFunction", sqs_event(check["Body"])) == {
        "batchItemFailures": []
    }
    assert harness.wait_execution(lost)["status"] == "SUCCEEDED"

    used = {handler: sorted(models) for handler, models in use.by_handler.items()}

    # A champion of another image digest: ScoreChampion's first invocation (what the other handlers
    # build for such a rare run is not charged to their cold start).
    use.by_handler.clear()
    paired = paired_config()
    harness.deps.models.put(
        paired.model_copy(update={"training": paired.training.model_copy(update={"image": IMAGE_B})})
    )
    scored = run_of(harness, 7, {r.run_id for r in harness.deps.runs.list_for_model("churn")})
    harness.wait_for_scoring(scored)
    labels = harness.holdout_labels(scored)
    harness.finish_scoring(scored, predictions_csv(labels, noisy_scores(labels, 0.5, "old")))
    train(harness, scored, challenger=1.5, champion=None)
    assert harness.wait_execution(scored)["status"] == "SUCCEEDED"
    used["score_champion"] = sorted(use.by_handler["score_champion"])

    charged = {handler: sorted(models) for handler, models in FIRST_INVOCATION_MODELS.items() if models}
    assert used == charged

    # The modules the real adapters come from (the harness's deps serve from an in-memory fake).
    real = Dependencies(harness.deps.settings)
    used_adapters = set().union(*use.adapters.values())
    modules = {name: type(getattr(real, name)).__module__ for name in used_adapters}
    assert set(use.adapters) == set(FUNCTION_FOLDERS.values())  # every handler ran and used some
    uncharged = {}
    for handler, names in use.adapters.items():
        loaded = {module for module, _ in loaded_modules(handler)}
        if missing := {modules[name] for name in names} - loaded:
            uncharged[handler] = sorted(missing)
    assert uncharged == {}
