"""A corpus of malformed and hostile inputs through every entry point (docs/RELIABILITY.md).

Each input goes in alone next to a record that is valid but asks for nothing, in one SQS batch, the way
the event source mapping delivers it:

- TriggerFunction / TrainingCallbackFunction: the invocation never fails as a whole; the bad record is
  either poison - reported in batchItemFailures (SQS redelivers it, then dead-letters it) with a
  "rejected ..." log line carrying its message id and reason - or a valid event that asks for nothing,
  logged with its reason and dropped. No execution starts. A handler crash (any other exception) fails
  the corpus even though it would be logged and redelivered.
- The workflow's state handlers with malformed state documents: the handler raises a named error (the
  document's schema violation or a Seam error) - never a TypeError/KeyError/AssertionError-style crash -
  and writes nothing.

Hand-written cases name what they probe; hypothesis adds generated ones (derandomized, bounded). One
test delivers the whole corpus on one stack and reports what it delivered (its `make reliability` row).
"""

from __future__ import annotations

import copy
import io
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seam import errors as seam_errors
from seam.domain.reconciliation import SweepReport
from seam.models.views import StateView
from seam.models.views.evaluate import EvaluateState
from seam.models.views.finalize import FinalizeState
from seam.models.views.register import RegisterState
from seam.models.views.serving import ServingState
from seam.models.views.validate import ValidateState

from tests.reliability.conftest import Figure
from tests.workflow.harness import Harness, model_config, sqs_event

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

MODEL = "churn"  # onboarded, with no cadence (a schedule tick never starts it)
GHOST = "ghost"  # a valid name that is not onboarded
HYPOTHESIS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=50,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CONTROL_CHARS = [chr(c) for c in [*range(0x20), 0x7F, 0x85, 0x9F]]
SEAM_ERRORS = {
    name
    for name, value in vars(seam_errors).items()
    if isinstance(value, type) and issubclass(value, Exception)
}
NAMED_ERRORS = SEAM_ERRORS | {"ValidationError"}  # pydantic, from Powertools' event_parser


# -- base events (each valid, each asking for nothing) ------------------------------------------------------


def s3_event(bucket: str, key: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-22T00:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 10, "etag": "b1946ac92492d2347c6235b4d2611184", "sequencer": "00"},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "source-ip-address": "10.0.0.1",
            "reason": "PutObject",
        },
    }


def alarm_event(alarm: str, state: str = "ALARM") -> dict[str, Any]:
    return {
        "version": "0",
        "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": "2026-11-22T00:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}"],
        "detail": {
            "alarmName": alarm,
            "state": {"value": state, "reason": "r", "timestamp": "2026-11-22T00:00:00.000+0000"},
            "previousState": {"value": "OK", "reason": "r", "timestamp": "2026-11-21T00:00:00.000+0000"},
            "configuration": {"metrics": []},
        },
    }


def manual_request(model: str) -> dict[str, Any]:
    return {
        "source": "seam.manual",
        "detail-type": "Manual Retrain Requested",
        "id": "manual-1",
        "time": "2026-11-22T00:00:00Z",
        "detail": {"model": model, "requested_by": "corpus", "reason": "probe"},
    }


def schedule_tick() -> dict[str, Any]:
    return {
        "source": "seam.schedule",
        "detail-type": "Scheduled Retrain Tick",
        "time": "2026-11-22T00:00:00Z",
        "id": "t",
    }


def training_event(job: str, status: str = "Completed") -> dict[str, Any]:
    with open("events/sagemaker/training_completed.json") as sample:
        event = json.load(sample)
    event["detail"]["TrainingJobName"] = job
    event["detail"]["TrainingJobStatus"] = status
    return event


def state_document(model: str, run_id: str | None = None) -> dict[str, Any]:
    return {
        "run_id": run_id or f"seam-{model}-000000000000",
        "model": model,
        "trigger": "data",
        "dataset": {"bucket": "b", "key": f"datasets/{model}/x.csv", "etag": "e", "size": 10},
    }


# -- the corpus runner -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    poison: bool
    message: str  # the log line's message
    reason: str


@dataclass
class Corpus:
    harness: Harness
    logs: io.StringIO
    outcomes: Counter[str] = field(default_factory=Counter)
    inputs: int = 0

    def _log_lines(self, start: int) -> list[dict[str, Any]]:
        lines = []
        for text in self.logs.getvalue()[start:].splitlines():
            try:
                lines.append(json.loads(text))
            except ValueError:
                continue
        return lines

    def sqs(self, function: str, body: dict[str, Any] | str, companion: dict[str, Any]) -> Outcome:
        """Deliver `body` with a valid companion record; the bad record's fate, from result and logs."""
        self.inputs += 1
        batch = sqs_event(body, companion)
        bad, good = (r["messageId"] for r in batch["Records"])
        start = len(self.logs.getvalue())
        result = self.harness.stack.invoke(function, batch)  # raises if the invocation failed as a whole
        failed = [f["itemIdentifier"] for f in result["batchItemFailures"]]
        assert good not in failed, "the valid record next to the bad one failed"
        lines = [line for line in self._log_lines(start) if line.get("message_id") == bad]
        assert lines, f"no log line names message {bad}"
        line = lines[-1]
        assert line.get("reason"), line
        assert "record failed" not in line["message"], f"handler crash: {line['reason']}"
        outcome = Outcome(bad in failed, line["message"], line["reason"])
        if outcome.poison:
            assert outcome.message.startswith("rejected "), line
        self.outcomes[f"{function}: {'poison -> batchItemFailures' if outcome.poison else 'dropped'}"] += 1
        return outcome

    def trigger(self, body: dict[str, Any] | str) -> Outcome:
        return self.sqs("TriggerFunction", body, alarm_event(f"{MODEL}-drift", "OK"))

    def callback(self, body: dict[str, Any] | str) -> Outcome:
        return self.sqs("TrainingCallbackFunction", body, training_event("someone-elses-job"))

    def state(self, function: str, document: Any) -> str:
        """A state handler with a malformed document: the named error it raised."""
        self.inputs += 1
        with pytest.raises(RuntimeError) as failed:
            self.harness.stack.invoke(function, document)
        error_type, _, message = str(failed.value).partition(": ")[2].partition(": ")
        assert error_type in NAMED_ERRORS, f"{function} crashed with {error_type}: {message[:200]}"
        assert message.strip(), f"{function} raised {error_type} without a message"
        self.outcomes[f"{function} (state): {error_type}"] += 1
        return error_type

    def assert_nothing_started(self) -> None:
        assert self.harness.executions() == []
        assert self.harness.deps.runs.list_for_model(MODEL) == []
        assert self.harness.deps.locks.list() == []


@pytest.fixture
def corpus(harness: Harness, logs: io.StringIO) -> Iterator[Corpus]:
    harness.onboard(model_config(MODEL, retrain_every_minutes=None))
    runner = Corpus(harness, logs)
    yield runner
    runner.assert_nothing_started()


# -- hand-written: the trigger -----------------------------------------------------------------------------

DEEP = 200_000  # nesting that json.loads cannot take (RecursionError), well under 256 KB

HAND_TRIGGER: dict[str, tuple[Callable[[str], dict[str, Any] | str], bool]] = {
    # name: (body from the data bucket's name, is poison)
    "empty body": (lambda b: "", True),
    "whitespace": (lambda b: "   \n", True),
    "not json": (lambda b: "not json at all", True),
    "truncated json": (lambda b: '{"source": "aws.s3", "detail": {', True),
    "json null": (lambda b: "null", True),
    "json number": (lambda b: "42", True),
    "json string": (lambda b: '"aws.s3"', True),
    "json array": (lambda b: "[1, 2, 3]", True),
    "nested too deep (array)": (lambda b: "[" * DEEP + "]" * DEEP, True),
    "nested too deep (object)": (lambda b: '{"a":' * (DEEP // 6) + "1" + "}" * (DEEP // 6), True),
    "over 256 KB": (lambda b: json.dumps({**manual_request(GHOST), "pad": "x" * (256 * 1024)}), True),
    "NaN literal": (lambda b: '{"source": NaN}', True),
    "empty object": (lambda b: {}, True),
    "source missing": (
        lambda b: {k: v for k, v in s3_event(b, "datasets/churn/x.csv").items() if k != "source"},
        True,
    ),
    "source is a number": (lambda b: {**s3_event(b, "datasets/churn/x.csv"), "source": 7}, True),
    "source is a list": (lambda b: {**s3_event(b, "datasets/churn/x.csv"), "source": ["aws.s3"]}, True),
    "foreign source": (
        lambda b: {"source": "aws.ec2", "detail-type": "EC2 Instance State-change", "detail": {}},
        True,
    ),
    "s3: detail missing": (lambda b: {k: v for k, v in s3_event(b, "k").items() if k != "detail"}, True),
    "s3: detail is a string": (lambda b: {**s3_event(b, "k"), "detail": "datasets/churn/x.csv"}, True),
    "s3: key missing": (lambda b: _drop(s3_event(b, "k"), "detail", "object", "key"), True),
    "s3: key is a number": (lambda b: s3_event(b, 12345), True),  # type: ignore[arg-type]
    "s3: size is text": (
        lambda b: _set(s3_event(b, "datasets/churn/x.csv"), "big", "detail", "object", "size"),
        True,
    ),
    "s3: bucket not Seam's": (lambda b: s3_event("someone-elses-bucket", "datasets/churn/x.csv"), True),
    "s3: key outside datasets/": (lambda b: s3_event(b, "models/churn/x.csv"), True),
    "s3: key at the top": (lambda b: s3_event(b, "x.csv"), True),
    "s3: datasets/ only": (lambda b: s3_event(b, "datasets/"), True),
    "s3: model folder only": (lambda b: s3_event(b, "datasets/churn/"), True),
    "s3: ../ escape": (lambda b: s3_event(b, "datasets/churn/../../etc/passwd"), True),
    "s3: ./ segment": (lambda b: s3_event(b, "datasets/churn/./x.csv"), True),
    "s3: empty segment": (lambda b: s3_event(b, "datasets/churn//x.csv"), True),
    "s3: ../ into another model": (lambda b: s3_event(b, "datasets/ghost/../churn/x.csv"), True),
    "s3: NUL in key": (lambda b: s3_event(b, "datasets/churn/x\x00.csv"), True),
    "s3: newline in key": (lambda b: s3_event(b, 'datasets/churn/x\n{"forged": 1}.csv'), True),
    "s3: NEL in key": (lambda b: s3_event(b, "datasets/churn/x\x85.csv"), True),
    "s3: DEL in key": (lambda b: s3_event(b, "datasets/churn/x\x7f.csv"), True),
    "s3: invalid model name": (lambda b: s3_event(b, "datasets/Not_A_Model/x.csv"), True),
    "s3: model name too long": (lambda b: s3_event(b, f"datasets/{'a' * 41}/x.csv"), True),
    "s3: unknown model": (lambda b: s3_event(b, f"datasets/{GHOST}/x.csv"), False),
    "alarm: mapped to no model": (lambda b: alarm_event("someone-elses-alarm"), False),
    "alarm: back to OK": (lambda b: alarm_event(f"{MODEL}-feature-drift", "OK"), False),
    "alarm: INSUFFICIENT_DATA": (lambda b: alarm_event(f"{MODEL}-feature-drift", "INSUFFICIENT_DATA"), False),
    "alarm: unknown state": (lambda b: alarm_event(f"{MODEL}-feature-drift", "ON_FIRE"), True),
    "alarm: empty name": (lambda b: alarm_event(""), True),
    "alarm: name over 255": (lambda b: alarm_event("a" * 256), True),
    "alarm: timestamp not a time": (
        lambda b: _set(alarm_event("x"), "yesterday", "detail", "state", "timestamp"),
        True,
    ),
    "alarm: state missing": (lambda b: _drop(alarm_event("x"), "detail", "state"), True),
    "manual: unknown model": (lambda b: manual_request(GHOST), False),
    "manual: invalid model name": (lambda b: manual_request("Not A Model!"), True),
    "manual: path in model name": (lambda b: manual_request("../churn"), True),
    "manual: model missing": (lambda b: _drop(manual_request(MODEL), "detail", "model"), True),
    "manual: extra field": (lambda b: _set(manual_request(GHOST), True, "detail", "admin"), True),
    "manual: reason over 1 KB": (lambda b: _set(manual_request(GHOST), "x" * 1025, "detail", "reason"), True),
    "manual: id missing": (lambda b: {k: v for k, v in manual_request(GHOST).items() if k != "id"}, True),
    "manual: id empty": (lambda b: {**manual_request(GHOST), "id": ""}, True),
    "schedule: nothing due": (lambda b: schedule_tick(), False),
    "schedule: time not a time": (lambda b: {**schedule_tick(), "time": "soon"}, True),
    "schedule: wrong detail-type": (lambda b: {**schedule_tick(), "detail-type": "Tick"}, True),
    "sagemaker event on the trigger queue": (lambda b: training_event("seam-churn-000000000000"), True),
}


def _set(event: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    node = event
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return event


def _drop(event: dict[str, Any], *path: str) -> dict[str, Any]:
    node = event
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return event


def run_cases(
    cases: dict[str, tuple[Callable[..., Any], bool]], deliver: Callable[..., Outcome], *args: Any
) -> None:
    """Every case on one stack (a stack per case would cost ~1 s each); failures listed by name."""
    wrong = []
    for name, (build, poison) in cases.items():
        try:
            outcome = deliver(build(*args))
            if outcome.poison is not poison:
                wrong.append(f"{name}: {'poison' if outcome.poison else 'dropped'} ({outcome.reason[:80]})")
        except AssertionError as exc:
            wrong.append(f"{name}: {str(exc).splitlines()[0]}")
    assert wrong == []


def hand_written_sqs_inputs(corpus: Corpus) -> None:
    run_cases(HAND_TRIGGER, corpus.trigger, corpus.harness.bucket)
    run_cases(HAND_CALLBACK, corpus.callback)


# -- hand-written: the training callback -------------------------------------------------------------------

HAND_CALLBACK: dict[str, tuple[Callable[[], dict[str, Any] | str], bool]] = {
    "not json": (lambda: "{", True),
    "json array": (lambda: "[]", True),
    "nested too deep": (lambda: "[" * DEEP + "]" * DEEP, True),
    "over 256 KB": (lambda: json.dumps({**training_event("x"), "pad": "x" * (256 * 1024)}), True),
    "empty object": (lambda: {}, True),
    "wrong source": (lambda: {**training_event("seam-churn-0"), "source": "aws.s3"}, True),
    "wrong detail-type": (lambda: {**training_event("seam-churn-0"), "detail-type": "Other"}, True),
    "status unknown": (lambda: training_event("seam-churn-0", "Exploded"), True),
    "status missing": (lambda: _drop(training_event("seam-churn-0"), "detail", "TrainingJobStatus"), True),
    "job name missing": (lambda: _drop(training_event("x"), "detail", "TrainingJobName"), True),
    "job name empty": (lambda: training_event(""), True),
    "job name over 63": (lambda: training_event("seam-" + "a" * 60), True),
    "job name a number": (lambda: training_event(7), True),  # type: ignore[arg-type]
    "detail a list": (lambda: {**training_event("x"), "detail": []}, True),
    "job Seam did not start": (lambda: training_event("someone-elses-job"), False),
    "job Seam did not start, Failed": (lambda: training_event("someone-elses-job", "Failed"), False),
    "job with Seam's prefix but no token": (lambda: training_event("seam-churn-ffffffffffff"), False),
    "job name with ../": (lambda: training_event("seam-../../x"), False),
    "job name with a newline": (lambda: training_event("seam-x\n{}"), False),
    # The reconciler's check of a quiet training (seam.models.training_check).
    "check without a job name": (lambda: {**training_check("x"), "detail": {}}, True),
    "check with a field it does not have": (lambda: {**training_check("seam-churn-0"), "run": "x"}, True),
    "check of a job name with ../": (lambda: training_check("seam-../../x"), True),
    "check of a job name over 63": (lambda: training_check("seam-" + "a" * 60), True),
    "check with another detail-type": (lambda: {**training_check("seam-churn-0"), "detail-type": "x"}, True),
    "check of a job with no token": (lambda: training_check("seam-churn-ffffffffffff"), False),
}


def training_check(job: str) -> dict[str, Any]:
    return {
        "source": "seam.reconciler",
        "detail-type": "Training Check Requested",
        "detail": {"TrainingJobName": job},
    }


# -- hand-written: the workflow's state handlers -------------------------------------------------------------

# Each state function and the view it parses the workflow document with (seam.models.views).
STATE_VIEWS: dict[str, type[StateView]] = {
    "ValidateFunction": ValidateState,
    "EvaluateFunction": EvaluateState,
    "RegisterFunction": RegisterState,
    "DeployFunction": ServingState,
    "CheckRolloutFunction": ServingState,
    "RollbackFunction": ServingState,
    "FinalizeFunction": FinalizeState,
}
STATE_FUNCTIONS = list(STATE_VIEWS)

HAND_STATES: dict[str, Any] = {
    "null": None,
    "a list": [state_document(MODEL)],
    "a string": "seam-churn-000000000000",
    "empty object": {},
    "run_id missing": {k: v for k, v in state_document(MODEL).items() if k != "run_id"},
    "model a number": {**state_document(MODEL), "model": 42},
    "trigger unknown": {**state_document(MODEL), "trigger": "bogus"},
    "extra field": {**state_document(MODEL), "admin": True},
    "dataset a string": {**state_document(MODEL), "dataset": "s3://b/k"},
    "training without metrics type": {**state_document(MODEL), "training": {"metrics": "high"}},
    "error not an object": {**state_document(MODEL), "error": "boom"},
    "deployment checks negative text": {**state_document(MODEL), "deployment": {"generation": "two"}},
}
# The hand-written documents whose only fault is in one section: a state that reads the section refuses
# the document; one that passes it through unread must still end with a named error (here the run does
# not exist), and the state that reads it refuses it.
BROKEN_SECTION = {
    "dataset a string": "dataset",
    "training without metrics type": "training",
    "error not an object": "error",
    "deployment checks negative text": "deployment",
}


def hand_written_state_documents(corpus: Corpus) -> None:
    for function, view in STATE_VIEWS.items():
        for name, document in HAND_STATES.items():
            error = corpus.state(function, copy.deepcopy(document))
            if BROKEN_SECTION.get(name, "run_id") in view.model_fields:
                assert error == "ValidationError", (function, name)
    for section in BROKEN_SECTION.values():  # every broken section is read, so refused, by some state
        assert any(section in view.model_fields for view in STATE_VIEWS.values()), section
        if function == "FinalizeFunction":
            continue  # Finalize accepts any well-formed document: it only ends what exists (below)
        # Well-formed documents that fit no run: named Seam errors, nothing written.
        for document in (state_document(GHOST), state_document(MODEL, run_id="seam-churn-../../etc")):
            assert corpus.state(function, document) in SEAM_ERRORS
    # LaunchTraining's input wraps the state with the task token.
    token = "AAAAKgAAAAIAAAAAAAAAA"
    for event in (
        None,
        {},
        {"state": state_document(MODEL)},  # no task token
        {"task_token": token},  # no state
        {"state": "x", "task_token": token},
        {"state": state_document(GHOST), "task_token": token},  # not onboarded
        {"state": {**state_document(MODEL), "dataset": None}, "task_token": token},  # Validate skipped
    ):
        corpus.state("LaunchTrainingFunction", event)
    assert corpus.harness.stack.client("sagemaker").list_training_jobs()["TrainingJobSummaries"] == []
    # The reconciler's schedule sends it nothing it reads: any input, the same idle sweep.
    for event in (None, "x", [1], {"detail": {"run_id": "seam-churn-../x"}}):
        corpus.inputs += 1
        assert (
            corpus.harness.stack.invoke("ReconcilerFunction", event)
            == SweepReport(oldest_lock_age_seconds=0.0).as_dict()
        )
    # Finalize ends what exists: for a run that does not, it writes nothing.
    corpus.inputs += 1
    result = corpus.harness.stack.invoke("FinalizeFunction", state_document(GHOST))
    assert result["status"] == "FAILED" and corpus.harness.deps.runs.get(result["run_id"]) is None


# -- generated ----------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def paths(event: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if not isinstance(event, dict):
        return []
    found = []
    for key, value in event.items():
        found.append((*prefix, key))
        found.extend(paths(value, (*prefix, key)))
    return found


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """`base` with one field replaced by an arbitrary JSON value, or removed."""
    event = copy.deepcopy(base)
    path = draw(st.sampled_from(paths(event)))
    node = event
    for key in path[:-1]:
        node = node[key]
    if draw(st.booleans()):
        del node[path[-1]]
    else:
        node[path[-1]] = draw(json_values)
    return event


hostile_keys = st.one_of(
    st.builds(lambda a, b: f"datasets/{MODEL}/{a}/../{b}", st.text(max_size=10), st.text(max_size=10)),
    st.builds(
        lambda a, c, b: f"datasets/{MODEL}/{a}{c}{b}.csv",
        st.text(max_size=10),
        st.sampled_from(CONTROL_CHARS),
        st.text(max_size=10),
    ),
    st.text(max_size=60).filter(lambda k: not k.startswith("datasets/")),
    st.builds(lambda m: f"datasets/{m}/x.csv", st.text(max_size=12).filter(lambda m: m != MODEL)),
)


raw_bodies = st.one_of(st.text(max_size=200), st.binary(max_size=50).map(lambda b: b.decode("latin-1")))


def generated_sqs_inputs(corpus: Corpus) -> None:
    """Hostile object keys, raw bodies, and one-field mutations of every event either queue takes."""
    bucket = corpus.harness.bucket

    @settings(HYPOTHESIS, max_examples=150)
    @given(data=st.data())
    def deliver(data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from(["object key", "raw body", "trigger event", "training event"]))
        if kind == "object key":
            corpus.trigger(s3_event(bucket, data.draw(hostile_keys)))
        elif kind == "raw body":
            body = data.draw(raw_bodies)
            corpus.trigger(body)
            corpus.callback(body)
        elif kind == "trigger event":
            bases = [
                s3_event(bucket, f"datasets/{GHOST}/x.csv"),
                alarm_event("someone-elses-alarm"),
                manual_request(GHOST),
                schedule_tick(),
            ]
            corpus.trigger(data.draw(mutated(data.draw(st.sampled_from(bases)))))
        else:
            corpus.callback(data.draw(mutated(training_event("someone-elses-job"))))

    deliver()


def generated_state_documents(corpus: Corpus) -> None:
    @settings(HYPOTHESIS, max_examples=40)
    @given(
        function=st.sampled_from([*STATE_FUNCTIONS, "LaunchTrainingFunction"]),
        document=st.one_of(json_values, mutated(state_document(GHOST))),
    )
    def deliver(function: str, document: Any) -> None:
        if function == "LaunchTrainingFunction":
            document = {"state": document, "task_token": "AAAAKgAAAAIAAAAAAAAAA"}
        if function == "FinalizeFunction" and isinstance(document, dict):
            try:  # a well-formed ghost document is Finalize's to end (nothing to write): see above
                from seam.models.run import WorkflowState

                WorkflowState.model_validate(document)
                return
            except ValueError:
                pass
        corpus.state(function, document)

    deliver()


# -- the corpus, and its figure ----------------------------------------------------------------------------


def test_bad_input_corpus(corpus: Corpus, figure: Figure) -> None:
    """Every part of the corpus on one stack, in turn; the figure counts what this test delivered."""
    hand_written_sqs_inputs(corpus)
    hand_written_state_documents(corpus)
    generated_sqs_inputs(corpus)
    generated_state_documents(corpus)

    assert corpus.inputs >= 200, corpus.inputs
    outcomes = corpus.outcomes
    poison = sum(v for k, v in outcomes.items() if "poison" in k)
    dropped = sum(v for k, v in outcomes.items() if k.endswith("dropped"))
    states = sum(v for k, v in outcomes.items() if "(state)" in k)
    figure.scenario = "bad-input corpus (all entry points)"
    figure.injected = (
        f"{corpus.inputs} malformed/hostile inputs: {len(HAND_TRIGGER)} + {len(HAND_CALLBACK)} "
        "hand-written "
        "SQS bodies, hand-written state documents, hypothesis-generated keys, bodies and mutations"
    )
    figure.expected = (
        "0 executions, 0 crashes; poison -> batchItemFailures; every rejection logged with its reason"
    )
    figure.observed = (
        f"{poison} poison -> batchItemFailures, {dropped} valid-but-unmapped dropped, "
        f"{states} state documents "
        f"refused with a named error; 0 executions, 0 crashes, all logged with a reason"
    )
