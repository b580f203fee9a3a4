"""The evaluation gate: promote or reject with the numbers; never promote what cannot be compared."""

from __future__ import annotations

import io
import tarfile
from typing import Any

import pytest
from seam.domain.evaluation import evaluate, evaluate_paired
from seam.errors import ChampionImageChangedError, ChampionUnscorableError, EvaluationError, PredictionsError
from seam.models.champion import Champion
from seam.models.evaluation_spec import EvaluationSpec
from seam.models.run import ChampionArtifact, Evaluation, Holdout, TrainingResult


def spec(**overrides: Any) -> EvaluationSpec:
    return EvaluationSpec.model_validate({"metric": "auc", "direction": "maximize", **overrides})


def champion(value: float, metric: str = "auc", version: str = "000003") -> Champion:
    return Champion(model="churn", version=version, metric=metric, value=value, run_id="seam-churn-old")


@pytest.mark.parametrize(
    ("rules", "challenger", "current", "decision"),
    [
        # first version: only the floor applies
        ({}, 0.5, None, "promote"),
        ({"floor": 0.7}, 0.7, None, "promote"),
        ({"floor": 0.7}, 0.69, None, "reject"),
        ({"direction": "minimize", "floor": 0.3}, 0.3, None, "promote"),
        ({"direction": "minimize", "floor": 0.3}, 0.31, None, "reject"),
        # against a champion, maximize
        ({"min_improvement": 0.0}, 0.80, 0.80, "promote"),  # a tie: same quality, fresher data
        ({"min_improvement": 0.0}, 0.79, 0.80, "reject"),
        ({"min_improvement": 0.01}, 0.82, 0.80, "promote"),
        ({"min_improvement": 0.01}, 0.805, 0.80, "reject"),
        # against a champion, minimize (lower is better)
        ({"direction": "minimize", "min_improvement": 0.01}, 0.18, 0.20, "promote"),
        ({"direction": "minimize", "min_improvement": 0.01}, 0.22, 0.20, "reject"),
        ({"direction": "minimize", "min_improvement": 0.0}, 0.20, 0.20, "promote"),
        # the floor rejects even a challenger that beats the champion
        ({"floor": 0.7, "min_improvement": 0.0}, 0.65, 0.60, "reject"),
        ({"direction": "minimize", "floor": 0.3, "min_improvement": 0.0}, 0.35, 0.40, "reject"),
    ],
)
def test_the_gate_decides_by_floor_direction_and_min_improvement(
    rules: dict[str, Any], challenger: float, current: float | None, decision: str
) -> None:
    result = evaluate(spec(**rules), {"auc": challenger}, champion(current) if current is not None else None)

    assert result.decision == decision
    assert result.challenger == challenger
    assert result.direction == rules.get("direction", "maximize")


@pytest.mark.parametrize(
    ("direction", "challenger", "current", "min_improvement"),
    [
        ("maximize", 0.81, 0.80, 0.01),
        ("maximize", 0.57, 0.56, 0.01),
        ("maximize", 0.3, 0.1, 0.2),
        ("maximize", 0.753, 0.748, 0.005),
        ("minimize", 0.56, 0.57, 0.01),
        ("minimize", 0.1, 0.3, 0.2),
        ("minimize", 0.31, 0.33, 0.02),
    ],
)
def test_an_improvement_of_exactly_the_minimum_promotes(
    direction: str, challenger: float, current: float, min_improvement: float
) -> None:
    result = evaluate(
        spec(direction=direction, min_improvement=min_improvement), {"auc": challenger}, champion(current)
    )

    assert result.decision == "promote", result.reason
    assert result.improvement == pytest.approx(min_improvement)


def test_a_promotion_over_a_champion_records_both_values_and_the_improvement() -> None:
    result = evaluate(spec(min_improvement=0.01), {"auc": 0.85, "loss": 0.2}, champion(0.80))

    assert result.model_dump(exclude_none=True) == {
        "decision": "promote",
        "metric": "auc",
        "direction": "maximize",
        "challenger": 0.85,
        "champion": 0.80,
        "champion_version": "000003",
        "improvement": pytest.approx(0.05),
        "reason": "auc 0.8000 -> 0.8500 (improvement +0.0500)",
    }


def test_a_rejection_below_the_required_improvement_says_why_with_the_numbers() -> None:
    result = evaluate(spec(min_improvement=0.01), {"auc": 0.8050}, champion(0.80))

    assert result.decision == "reject"
    assert result.reason == "auc 0.8050 vs champion 0.8000: improvement +0.0050 < required 0.01"
    assert (result.champion, result.champion_version) == (0.80, "000003")


def test_a_rejection_by_the_floor_says_which_bound_with_the_numbers() -> None:
    high = evaluate(spec(floor=0.7), {"auc": 0.65}, None)
    low = evaluate(spec(direction="minimize", floor=0.3), {"auc": 0.35}, champion(0.4))

    assert high.reason == "auc=0.6500 is below the floor 0.7"
    assert low.reason == "auc=0.3500 is above the floor 0.3"
    assert (low.champion, low.champion_version) == (0.4, "000003")  # the champion it was compared with


def test_the_first_version_says_there_was_no_champion() -> None:
    result = evaluate(spec(), {"auc": 0.5}, None)

    assert result.reason == "no champion yet: first version clears the floor"
    assert (result.champion, result.champion_version, result.improvement) == (None, None, None)


@pytest.mark.parametrize(("metrics", "available"), [({}, "none"), ({"loss": 0.1, "acc": 0.9}, "acc, loss")])
def test_a_missing_metric_is_an_error_naming_what_training_reported(
    metrics: dict[str, float], available: str
) -> None:
    with pytest.raises(EvaluationError) as caught:
        evaluate(spec(), metrics, champion(0.8))
    assert str(caught.value) == f"metric 'auc' missing from training results (got: {available})"


def test_a_champion_measured_on_another_metric_cannot_be_compared() -> None:
    with pytest.raises(EvaluationError, match="champion was measured on 'accuracy', config now says 'auc'"):
        evaluate(spec(), {"auc": 0.99}, champion(0.5, metric="accuracy"))


# -- evaluate_paired: reading what the training job wrote --------------------------------------------------

IMAGE_A = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn@sha256:" + "a" * 64
IMAGE_B = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn@sha256:" + "b" * 64
ARTIFACT = "s3://b/models/churn/seam-churn-new/output/model.tar.gz"
LABELS = [0.0, 1.0] * 10


class Outputs:
    """The one DatasetStore call evaluate_paired makes: the job's output.tar.gz by URI."""

    def __init__(self, files: dict[str, str] | None) -> None:
        self.files, self.read_uris = files, []  # type: list[str]

    def read(self, uri: str) -> bytes | None:
        self.read_uris.append(uri)
        if self.files is None:
            return None
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for name, text in self.files.items():
                info = tarfile.TarInfo(f"./{name}")
                info.size = len(text.encode())
                archive.addfile(info, io.BytesIO(text.encode()))
        return buffer.getvalue()


def csv_of(scores: list[float]) -> str:
    return "row_id,label,score\n" + "".join(
        f"{i},{y:g},{s}\n" for i, (y, s) in enumerate(zip(LABELS, scores, strict=True))
    )


def paired(
    outputs: Outputs, champion_image: str | None = IMAGE_A, metric: str = "auc", **gate: Any
) -> Evaluation:
    scored = None
    if champion_image:
        scored = ChampionArtifact(
            version="000003",
            image=champion_image,
            model_artifact_uri="s3://b/models/churn/seam-churn-old/output/model.tar.gz",
            scored_in_training=champion_image == IMAGE_A,
        )
    holdout = Holdout(
        uri="s3://b/runs/r/holdout/a.csv",
        rows=20,
        dataset_rows=20,
        fraction=0.2,
        max_rows=10,
        rule="r",
        champion=scored,
    )
    training = TrainingResult(
        job_name="seam-churn-new",
        status="Completed",
        metrics={"auc": 0.5, "pr_auc": 0.7},
        model_artifact_uri=ARTIFACT,
        image=IMAGE_A,
    )
    return evaluate_paired(
        "seam-churn-new",
        spec(metric=metric, holdout_fraction=0.2, **gate),
        holdout,
        training,
        champion(0.9, metric=metric),
        outputs,  # type: ignore[arg-type]
    )


GOOD = [0.9 if y else 0.1 for y in LABELS]
FAIR = [0.6 if y else 0.4 for y in LABELS[:-2]] + [0.6, 0.4]  # the last two rows ranked wrong


def test_both_files_are_read_from_output_tar_gz_beside_the_model() -> None:
    outputs = Outputs({"challenger.csv": csv_of(GOOD), "champion.csv": csv_of(FAIR)})
    result = paired(outputs)
    assert outputs.read_uris == ["s3://b/models/churn/seam-churn-new/output/output.tar.gz"]
    assert result.decision == "promote" and result.paired is not None
    assert (result.challenger, result.champion, result.champion_version) == (
        1.0,
        pytest.approx(0.9),
        "000003",
    )
    assert result.holdout == "s3://b/runs/r/holdout/a.csv" and result.paired.rows == 20


def test_a_champion_the_image_could_not_score_ends_the_run_by_name() -> None:
    outputs = Outputs({"challenger.csv": csv_of(GOOD), "champion.error": "ClientError: not a model archive"})
    with pytest.raises(
        ChampionUnscorableError, match=r"champion 000003 \(s3://.*\): ClientError: not a model"
    ):
        paired(outputs)
    with pytest.raises(ChampionUnscorableError, match=r"it wrote no champion\.csv"):
        paired(Outputs({"challenger.csv": csv_of(GOOD)}))


def test_a_champion_of_another_image_is_refused_by_name_without_reading_anything() -> None:
    outputs = Outputs({"challenger.csv": csv_of(GOOD)})
    with pytest.raises(ChampionImageChangedError, match=f"trained by {IMAGE_B}, the challenger by {IMAGE_A}"):
        paired(outputs, champion_image=IMAGE_B)
    assert outputs.read_uris == []


def test_no_output_archive_is_a_named_predictions_error() -> None:
    with pytest.raises(PredictionsError, match=r"^missing: no per-row predictions: s3://.*/output.tar.gz"):
        paired(Outputs(None))


def test_a_metric_seam_cannot_compute_falls_back_to_the_logged_value_with_a_warning() -> None:
    result = paired(Outputs(None), metric="pr_auc", min_improvement=0.0)
    assert (result.challenger, result.champion, result.decision) == (0.7, 0.9, "reject")
    assert result.paired is None and result.warning is not None
    assert result.warning.startswith(
        "Seam cannot compute 'pr_auc' from per-row predictions: compared unpaired"
    )


def test_no_champion_lets_the_floor_decide_on_the_holdout() -> None:
    result = paired(Outputs({"challenger.csv": csv_of(FAIR)}), champion_image=None, floor=0.95)
    assert result.decision == "reject" and result.paired and result.paired.decided_on == "floor"
