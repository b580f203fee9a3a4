"""Paired evaluation through the real RetrainWorkflow (issue 12): the champion and the challenger scored on
the same run's holdout, the gate deciding on their paired difference, executed by moto's Step Functions
interpreter with the real handlers. What the image writes (/opt/ml/output/data -> output.tar.gz) is written
by the test, from the holdout Validate froze.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from seam.domain.evaluation import evaluate_paired
from seam.models.run import RunStatus, WorkflowState
from seam_cli.main import app
from typer.testing import CliRunner

from tests.stored import stored_versions
from tests.workflow.harness import Harness, model_config, noisy_scores, predictions_csv

HEADER = "tenure,charges,churned\n"


def dataset(seed: int, rows: int = 400) -> str:
    """A CSV of `rows` rows, half churned; `seed` makes each drop new data (another ETag)."""
    return HEADER + "".join(f"{i},{(i * 7 + seed) % 100 * 1.5},{i % 2}\n" for i in range(rows))


def paired_config(**gate: Any) -> Any:
    evaluation = {
        "metric": "validation:auc",
        "direction": "maximize",
        "min_improvement": 0.0,
        "floor": 0.6,
        "holdout_fraction": 0.5,
        **gate,
    }
    return model_config(evaluation=evaluation)


def run_of(h: Harness, seed: int, known: set[str]) -> str:
    h.drop("churn", body=dataset(seed), name=f"drop-{seed}")
    run_id = next(r.run_id for r in h.deps.runs.list_for_model("churn") if r.run_id not in known)
    known.add(run_id)
    return run_id


def train(h: Harness, run_id: str, challenger: float | None, champion: float | None, **extra: str) -> None:
    """The job as the image does it: predictions of the new model (and of the champion, when the job got
    the champion channel) with the given separations on the run's holdout, then Completed."""
    h.wait_for_training(run_id)
    labels = h.holdout_labels(run_id)
    files = dict(extra)
    if challenger is not None:
        files["challenger.csv"] = predictions_csv(labels, noisy_scores(labels, challenger, "new"))
    if champion is not None:
        files["champion.csv"] = predictions_csv(labels, noisy_scores(labels, champion, "old"))
    h.write_outputs(run_id, files)
    h.finish_training(run_id, auc=0.5)  # the logged metric: never what a paired gate decides on


def first_version(h: Harness, known: set[str], separation: float = 4.0) -> str:
    run_id = run_of(h, 1, known)
    train(h, run_id, separation, None)
    assert h.wait_execution(run_id)["status"] == "SUCCEEDED"
    run = h.run(run_id)
    assert run.status is RunStatus.DEPLOYED, run.cause
    assert run.evaluation and run.evaluation.paired and run.evaluation.paired.decided_on == "first version"
    return run_id


def channels(h: Harness, run_id: str) -> dict[str, str]:
    job = h.stack.client("sagemaker").describe_training_job(TrainingJobName=run_id)
    return {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]}


def test_under_drift_a_challenger_better_today_is_promoted_below_the_champions_stored_metric(
    harness: Harness,
) -> None:
    harness.onboard(paired_config())
    known: set[str] = set()
    first = first_version(harness, known, separation=4.0)
    stored = harness.deps.versions.champion("churn")
    assert stored is not None and stored.value > 0.97  # the champion's AUC on its own (easy) holdout

    drifted = run_of(harness, 2, known)
    harness.wait_for_training(drifted)
    [version] = stored_versions(harness.deps.versions, "churn")
    assert channels(harness, drifted) == {
        "train": f"s3://{harness.bucket}/runs/{drifted}/train/",
        "holdout": f"s3://{harness.bucket}/runs/{drifted}/holdout/",
        "champion": version.model_artifact_uri,  # same image digest: scored inside the training job
    }
    train(harness, drifted, challenger=1.5, champion=0.6)

    assert harness.wait_execution(drifted)["status"] == "SUCCEEDED"
    run = harness.run(drifted)
    assert run.status is RunStatus.DEPLOYED, run.cause
    gate = run.evaluation
    assert gate and gate.paired and gate.champion is not None
    assert gate.challenger < stored.value  # below the champion's stored number ...
    assert gate.champion < gate.challenger  # ... but the champion is worse on today's rows
    assert gate.paired.decided_on == "point difference"
    assert gate.paired.rows == run.snapshot.holdout.rows  # type: ignore[union-attr]
    assert gate.holdout == f"s3://{harness.bucket}/runs/{drifted}/holdout/drop-2.csv"
    assert gate.champion_version == "000001"
    assert harness.deps.versions.champion("churn").version == "000002"  # type: ignore[union-attr]
    assert first != drifted

    shown = CliRunner(env={"COLUMNS": "250"}).invoke(app, ["runs", "show", drifted])
    assert shown.exit_code == 0, shown.output
    holdout = run.snapshot.holdout  # type: ignore[union-attr]
    assert f"holdout  {gate.holdout}: {holdout.rows} rows held out" in shown.output
    assert f"challenger {gate.challenger:.4f}, champion {gate.champion:.4f} (version 000001)" in shown.output
    low, high = gate.paired.interval  # type: ignore[misc]
    assert f"paired   difference {gate.paired.difference:+.4f}, 95% interval [{low:+.4f}, {high:+.4f}]" in (
        shown.output
    )
    assert f"trained  s3://{harness.bucket}/runs/{drifted}/train/drop-2.csv" in shown.output


def test_a_worse_challenger_on_easier_data_is_rejected_although_above_the_stored_metric(
    harness: Harness,
) -> None:
    harness.onboard(paired_config())
    known: set[str] = set()
    first_version(harness, known, separation=0.5)  # a hard holdout: a modest stored AUC
    stored = harness.deps.versions.champion("churn")
    assert stored is not None and stored.value < 0.85

    easier = run_of(harness, 3, known)
    train(harness, easier, challenger=1.0, champion=2.5)  # AUC about 0.92 against about 1.0

    assert harness.wait_execution(easier)["status"] == "SUCCEEDED"
    run = harness.run(easier)
    assert run.status is RunStatus.REJECTED, run.evaluation
    gate = run.evaluation
    assert gate and gate.champion is not None and gate.improvement is not None
    assert gate.challenger > stored.value  # the old unpaired gate would have promoted it
    assert gate.improvement < 0 and gate.decision == "reject"
    assert harness.deps.versions.champion("churn").version == "000001"  # type: ignore[union-attr]


def one_row_better(labels: list[float], wrong: range) -> list[float]:
    """Confident, right scores except on the rows in `wrong`."""
    return [(1 - y if i in wrong else y) * 0.8 + 0.1 for i, y in enumerate(labels)]


def test_a_difference_inside_the_interval_is_rejected_when_confidence_is_set(harness: Harness) -> None:
    harness.onboard(paired_config(metric="accuracy", confidence=0.95))
    known: set[str] = set()
    first_version(harness, known, separation=2.0)

    close = run_of(harness, 4, known)
    harness.wait_for_training(close)
    labels = harness.holdout_labels(close)
    # The challenger is wrong on 10 rows, the champion on 11 others: better by one row, by luck of the split.
    challenger, champion = one_row_better(labels, range(11, 21)), one_row_better(labels, range(11))
    harness.write_outputs(
        close,
        {
            "challenger.csv": predictions_csv(labels, challenger),
            "champion.csv": predictions_csv(labels, champion),
        },
    )
    harness.finish_training(close)

    assert harness.wait_execution(close)["status"] == "SUCCEEDED"
    run = harness.run(close)
    gate = run.evaluation
    assert gate and gate.paired and gate.paired.interval is not None and gate.improvement is not None
    assert gate.improvement == pytest.approx(1 / len(labels))  # the point difference would promote ...
    low, high = gate.paired.interval
    assert low < 0 < high  # ... but the interval holds 0
    assert gate.paired.decided_on == "interval lower bound" and gate.paired.confidence == 0.95
    assert run.status is RunStatus.REJECTED and gate.decision == "reject"
    assert "lower bound" in gate.reason and "< required 0.0" in gate.reason
    assert harness.deps.versions.champion("churn").version == "000001"  # type: ignore[union-attr]


def test_the_same_run_evaluated_twice_decides_the_same_with_the_same_interval(harness: Harness) -> None:
    harness.onboard(paired_config(confidence=0.9))
    known: set[str] = set()
    first_version(harness, known, separation=2.0)
    second = run_of(harness, 5, known)
    train(harness, second, challenger=2.5, champion=2.0)
    assert harness.wait_execution(second)["status"] == "SUCCEEDED"

    history = harness.stack.client("stepfunctions").get_execution_history(
        executionArn=harness.execution_arn(second), maxResults=1000
    )["events"]
    [entered] = [
        e["stateEnteredEventDetails"]["input"]
        for e in history
        if e.get("stateEnteredEventDetails", {}).get("name") == "Evaluate"
    ]
    state = WorkflowState.model_validate(json.loads(entered))
    assert state.snapshot and state.snapshot.holdout and state.training
    config = harness.deps.models.get("churn")
    # The Evaluate state's own input, decided again twice by the code the handler calls (the run has
    # ended, so the handler itself would refuse to record a second decision).
    again = [
        evaluate_paired(
            second, config.evaluation, state.snapshot.holdout, state.training, None, harness.deps.datasets
        )
        for _ in range(2)
    ]

    recorded = harness.run(second).evaluation
    assert recorded is not None and recorded.paired is not None
    assert again[0] == again[1] == recorded
    assert recorded.paired.seed == second and recorded.paired.resamples == 1000
    assert recorded.paired.interval is not None and recorded.paired.confidence == 0.9


def drop_and_train(h: Harness, config: Any, files: dict[str, str] | None = None, **scores: Any) -> Any:
    h.onboard(config)
    known: set[str] = set()
    run_id = run_of(h, 6, known)
    if files is None:
        train(h, run_id, scores.get("challenger", 2.0), None)
    else:
        h.wait_for_training(run_id)
        h.write_outputs(run_id, {name: make(h.holdout_labels(run_id)) for name, make in files.items()})
        h.finish_training(run_id)
    assert h.wait_execution(run_id)["status"] == "FAILED"
    run = h.run(run_id)
    assert run.status is RunStatus.FAILED
    entered = h.states_entered(run_id)
    assert "Evaluate" in entered and "Register" not in entered  # failed at evaluation
    assert stored_versions(h.deps.versions, "churn") == []  # nothing registered
    assert h.deps.versions.champion("churn") is None
    return run


@pytest.mark.parametrize(
    ("make", "error", "rule"),
    [
        (
            lambda labels: predictions_csv(labels[:-1], [0.5] * (len(labels) - 1)),
            "HoldoutMismatchError",
            "row count",
        ),
        (
            lambda labels: predictions_csv(labels, ["nan"] + [0.5] * (len(labels) - 1)),
            "PredictionsError",
            "non-finite",
        ),
        (lambda labels: "row_id,label\n0,1\n", "PredictionsError", "header"),
        # Every row, every score well formed, but the labels are not the holdout file's `churned`.
        (
            lambda labels: predictions_csv([1 - y for y in labels], [0.5] * len(labels)),
            "HoldoutMismatchError",
            "labels",
        ),
    ],
    ids=["row-count", "nan", "header", "labels"],
)
def test_bad_predictions_fail_the_run_at_evaluation_and_register_nothing(
    harness: Harness, make: Any, error: str, rule: str
) -> None:
    run = drop_and_train(harness, paired_config(), files={"challenger.csv": make})
    assert run.error == error
    assert (run.cause or "").startswith(f"{error}: {rule}: ")


def test_missing_predictions_fail_the_run_naming_the_file(harness: Harness) -> None:
    run = drop_and_train(harness, paired_config(), files={"other.txt": lambda labels: "x"})
    assert run.error == "PredictionsError"
    assert (run.cause or "").startswith("PredictionsError: missing: the training job wrote no challenger.csv")


def test_a_single_class_holdout_fails_auc_with_its_name(harness: Harness) -> None:
    harness.onboard(paired_config())
    ones = HEADER + "".join(f"{i},{i * 1.5},1\n" for i in range(400))  # every customer churned
    harness.drop("churn", body=ones, name="ones")
    run_id = harness.only_run_id()
    harness.wait_for_training(run_id)
    labels = harness.holdout_labels(run_id)
    harness.write_outputs(run_id, {"challenger.csv": predictions_csv(labels, [0.7] * len(labels))})
    harness.finish_training(run_id)
    assert harness.wait_execution(run_id)["status"] == "FAILED"
    run = harness.run(run_id)
    assert run.error == "SingleClassError"
    assert "auc needs both classes" in (run.cause or "")
    assert stored_versions(harness.deps.versions, "churn") == []


def test_predictions_whose_labels_are_not_the_holdouts_fail_naming_the_row(harness: Harness) -> None:
    """The labels in the predictions are checked against the holdout file's label column (the config's
    validation.label_column): predictions written in another order fail, though every id is there."""

    def shifted(labels: list[float]) -> str:  # each row carries the next row's label
        rows = "".join(f"{i},{labels[(i + 1) % len(labels)]:g},0.5\n" for i in range(len(labels)))
        return "row_id,label,score\n" + rows

    run = drop_and_train(harness, paired_config(), files={"challenger.csv": shifted})
    assert run.error == "HoldoutMismatchError"
    assert (run.cause or "").startswith("HoldoutMismatchError: labels: the predictions give ")
    assert re.search(
        r"another label than the holdout file, e\.g\. row \d+: [01], the holdout's [01]$", run.cause or ""
    )


def test_a_golden_set_that_breaks_the_rules_fails_the_run_before_training(harness: Harness) -> None:
    harness.stack.client("s3").put_object(
        Bucket=harness.bucket, Key="golden/churn/g.csv", Body=b"tenure,charges,churned\nx,1,0\n"
    )
    harness.onboard(paired_config(golden_dataset="golden/churn/g.csv"))
    harness.drop("churn", body=dataset(7), name="drop-7")
    run_id = harness.only_run_id()
    assert harness.wait_execution(run_id)["status"] == "FAILED"
    run = harness.run(run_id)
    assert run.status is RunStatus.FAILED and run.error == "GoldenDatasetError"
    assert (run.cause or "").startswith("GoldenDatasetError: dtype: golden set: ")
    assert run.training_job_name is None  # nothing was paid for
    assert stored_versions(harness.deps.versions, "churn") == []


def test_a_champion_whose_artifact_cannot_be_scored_ends_the_run_by_name(harness: Harness) -> None:
    harness.onboard(paired_config())
    known: set[str] = set()
    first_version(harness, known)
    second = run_of(harness, 8, known)
    train(harness, second, challenger=3.0, champion=None, **{"champion.error": "ClientError: no model at /x"})

    assert harness.wait_execution(second)["status"] == "FAILED"
    run = harness.run(second)
    assert run.status is RunStatus.FAILED and run.error == "ChampionUnscorableError"
    assert (run.cause or "").startswith("ChampionUnscorableError: champion 000001 (s3://")
    assert "ClientError: no model at /x" in (run.cause or "")
    assert [v.version for v in stored_versions(harness.deps.versions, "churn")] == ["000001"]  # not promoted
    assert harness.deps.versions.champion("churn").version == "000001"  # type: ignore[union-attr]


def test_a_champion_whose_artifact_is_gone_ends_the_run_before_training(harness: Harness) -> None:
    harness.onboard(paired_config())
    known: set[str] = set()
    first_version(harness, known)
    [version] = stored_versions(harness.deps.versions, "churn")
    bucket, _, key = version.model_artifact_uri.removeprefix("s3://").partition("/")
    harness.stack.client("s3").delete_object(Bucket=bucket, Key=key)

    second = run_of(harness, 9, known)
    assert harness.wait_execution(second)["status"] == "FAILED"
    run = harness.run(second)
    assert run.error == "ChampionUnscorableError" and "is gone" in (run.cause or "")
    assert run.training_job_name is None  # nothing was paid for
    assert harness.deps.versions.champion("churn").version == "000001"  # type: ignore[union-attr]
