"""The evaluation gate: does the challenger beat the champion by enough, and clear the floor?

Two ways, by the model's config:
- *paired* (`evaluation.holdout_fraction` set, a metric Seam computes): both models' per-row predictions
  on the run's holdout, which the training job wrote beside the model (output.tar.gz: challenger.csv,
  and champion.csv when the champion was given as a channel), or, for a champion of another image
  digest, which a Processing job of the champion's own image wrote (seam.domain.champion_scoring: the
  ScoreChampion state's result, `runs/<run>/champion/predictions.csv`), decided by
  `seam.domain.paired_evaluation.decide_paired` (seeded by the run id: the same run decides the same);
- *logged*: the training job's metric (a metric-definition regex over its log) against the champion's
  stored value, as before; a paired config whose metric Seam cannot compute falls back to this, and the
  record says so (`warning`).
"""

from __future__ import annotations

import io
import math
import tarfile
from typing import TYPE_CHECKING

from seam.adapters.datasets import DatasetStore
from seam.adapters.dynamodb.models import ModelStore
from seam.adapters.dynamodb.runs import RunStore
from seam.adapters.dynamodb.versions import VersionStore
from seam.domain.holdout import holdout_labels
from seam.domain.metrics import find_metric
from seam.domain.paired_evaluation import decide_paired
from seam.errors import (
    ChampionImageChangedError,
    ChampionUnscorableError,
    EvaluationError,
    PredictionsError,
)
from seam.models.champion import Champion
from seam.models.evaluation import Evaluation
from seam.models.evaluation_spec import EvaluationSpec
from seam.models.predictions import Predictions, positional_ids
from seam.models.run import RunStatus
from seam.models.snapshot import ChampionArtifact, Holdout
from seam.models.training_result import ChampionScoring, TrainingResult

if TYPE_CHECKING:  # the handler parses the document with it
    from seam.models.views.evaluate import EvaluateState

CHALLENGER_FILE, CHAMPION_FILE, CHAMPION_ERROR_FILE = "challenger.csv", "champion.csv", "champion.error"
MAX_OUTPUT_MEMBER_BYTES = 256 * 1024 * 1024


def evaluate_run(
    state: EvaluateState,
    models: ModelStore,
    versions: VersionStore,
    runs: RunStore,
    datasets: DatasetStore,
) -> Evaluation:
    """The Evaluate state: the trained challenger against the serving champion, by the model's gate;
    the decision and the training metrics are recorded on the run (EVALUATING)."""
    if state.training is None:
        raise EvaluationError("no training result to evaluate")
    spec = models.evaluation(state.model)
    champion = versions.champion(state.model)
    holdout = state.snapshot.holdout if state.snapshot else None
    if holdout is None:
        result = evaluate(spec, state.training.metrics, champion)
    else:
        result = evaluate_paired(
            state.run_id, spec, holdout, state.training, champion, datasets, scoring=state.champion_scoring
        )
    runs.update(
        state.run_id,
        status=RunStatus.EVALUATING,
        evaluation=result.model_dump(mode="json"),
        metrics=state.training.metrics,
    )
    return result


def evaluate(spec: EvaluationSpec, metrics: dict[str, float], champion: Champion | None) -> Evaluation:
    """Decide promote/reject with the numbers. A missing metric is an error: it never promotes."""
    if spec.metric not in metrics:
        available = ", ".join(sorted(metrics)) or "none"
        raise EvaluationError(f"metric {spec.metric!r} missing from training results (got: {available})")
    value = metrics[spec.metric]
    maximize = spec.direction == "maximize"
    base = {"metric": spec.metric, "direction": spec.direction, "challenger": value}

    if spec.floor is not None and (value < spec.floor if maximize else value > spec.floor):
        bound = "below" if maximize else "above"
        return Evaluation(
            decision="reject",
            reason=f"{spec.metric}={value:.4f} is {bound} the floor {spec.floor}",
            **base,
            **_champion_fields(champion),
        )
    if champion is None:
        return Evaluation(
            decision="promote", reason="no champion yet: first version clears the floor", **base
        )
    if champion.metric != spec.metric:
        raise EvaluationError(
            f"champion was measured on {champion.metric!r}, config now says {spec.metric!r}"
        )

    improvement = (value - champion.value) if maximize else (champion.value - value)
    fields = {**base, **_champion_fields(champion), "improvement": improvement}
    # A tie promotes only when no improvement is required: same quality, fresher data. An improvement of
    # exactly the minimum promotes: in binary floating point 0.3 - 0.1 is 0.19999999999999998.
    meets = improvement >= spec.min_improvement or math.isclose(
        improvement, spec.min_improvement, rel_tol=1e-9, abs_tol=1e-12
    )
    if meets:
        reason = f"{spec.metric} {champion.value:.4f} -> {value:.4f} (improvement {improvement:+.4f})"
        return Evaluation(decision="promote", reason=reason, **fields)
    reason = (
        f"{spec.metric} {value:.4f} vs champion {champion.value:.4f}: improvement {improvement:+.4f} "
        f"< required {spec.min_improvement}"
    )
    return Evaluation(decision="reject", reason=reason, **fields)


def _champion_fields(champion: Champion | None) -> dict[str, object]:
    if champion is None:
        return {}
    return {"champion": champion.value, "champion_version": champion.version}


def evaluate_paired(
    run_id: str,
    spec: EvaluationSpec,
    holdout: Holdout,
    training: TrainingResult,
    champion: Champion | None,
    datasets: DatasetStore,
    *,
    scoring: ChampionScoring | None = None,
) -> Evaluation:
    """Decide on both models' predictions on the run's holdout (see the module's docstring). `scoring`:
    the Processing job that scored a champion of another image digest. With the holdout's label column
    (the config's validation.label_column, recorded at Validate) the predictions' labels must be the
    holdout file's (a mismatch is a HoldoutMismatchError naming the first row); without one, they are
    checked against each other only."""
    if find_metric(spec.metric) is None:
        logged = evaluate(spec, training.metrics, champion)
        warning = (
            f"Seam cannot compute {spec.metric!r} from per-row predictions: compared unpaired, the training "
            "log's value against the champion's stored one"
        )
        return logged.model_copy(update={"warning": warning, "holdout": holdout.uri})
    scored = holdout.champion
    processing = _processing_scoring(scored, scoring, training)
    files = prediction_files(datasets, output_uri(training.model_artifact_uri))
    if CHALLENGER_FILE not in files:
        raise PredictionsError(
            "missing",
            f"the training job wrote no {CHALLENGER_FILE} (found: {', '.join(sorted(files)) or 'none'})",
        )
    challenger = Predictions.from_csv(files[CHALLENGER_FILE], source="challenger predictions")
    current, scored_by, scoring_job = None, None, None
    if processing is not None:
        current = processing_predictions(datasets, processing)
        scored_by, scoring_job = "processing job", processing.job_name
    elif scored is not None:
        if CHAMPION_ERROR_FILE in files:
            reason = files[CHAMPION_ERROR_FILE].decode("utf-8", errors="replace").strip()[:1024]
            raise ChampionUnscorableError(
                f"champion {scored.version} ({scored.model_artifact_uri}): {reason}"
            )
        if CHAMPION_FILE not in files:
            raise ChampionUnscorableError(
                f"champion {scored.version} was given to the training job but it wrote no {CHAMPION_FILE}"
            )
        current = Predictions.from_csv(files[CHAMPION_FILE], source="champion predictions")
        scored_by, scoring_job = "training job", training.job_name
    truth = None
    if holdout.label_column is not None:
        content = datasets.read(holdout.uri)
        if content is None:
            raise PredictionsError(
                "missing", f"the run's holdout {holdout.uri} is gone: its labels cannot be checked"
            )
        truth = holdout_labels(content, holdout.label_column)
    paired = decide_paired(
        spec,
        challenger,
        current,
        positional_ids(holdout.rows),
        seed=run_id,
        confidence=spec.confidence,
        holdout_labels=truth,
    )
    return Evaluation(
        decision=paired.decision,
        metric=spec.metric,
        direction=spec.direction,
        challenger=paired.challenger,
        champion=paired.champion,
        champion_version=scored.version if scored else None,
        improvement=paired.improvement,
        reason=paired.reason,
        paired=paired,
        holdout=holdout.uri,
        champion_scored_by=scored_by,
        champion_scoring_job=scoring_job,
    )


def _processing_scoring(
    scored: ChampionArtifact | None, scoring: ChampionScoring | None, training: TrainingResult
) -> ChampionScoring | None:
    """The Processing job that scored a champion of another image digest (None: the champion is scored
    in the training job, or there is none). Its result must come from the champion's own image."""
    if scored is None or scored.scored_in_training:
        return None
    if scoring is None or scoring.image != scored.image:
        ran = f" (the scoring job ran {scoring.image})" if scoring is not None else ""
        raise ChampionImageChangedError(
            f"champion {scored.version} was trained by {scored.image}, the challenger by {training.image}, "
            f"and no Processing job of the champion's image scored it on the holdout{ran}"
        )
    return scoring


def processing_predictions(datasets: DatasetStore, scoring: ChampionScoring) -> Predictions:
    """The champion's per-row predictions its own image's Processing job wrote."""
    content = datasets.read(scoring.predictions_uri)
    if content is None:
        raise ChampionUnscorableError(
            f"processing job {scoring.job_name} completed but wrote no {scoring.predictions_uri}"
        )
    return Predictions.from_csv(content, source="champion predictions")


def output_uri(model_artifact_uri: str) -> str:
    """SageMaker uploads /opt/ml/output/data as output.tar.gz beside model.tar.gz
    (<S3OutputPath>/<job>/output/)."""
    return model_artifact_uri.rsplit("/", 1)[0] + "/output.tar.gz"


def prediction_files(datasets: DatasetStore, uri: str) -> dict[str, bytes]:
    """The regular files of the job's output.tar.gz by name (a leading './' dropped)."""
    archive = datasets.read(uri)
    if archive is None:
        raise PredictionsError("missing", f"no per-row predictions: {uri} does not exist")
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
            for member in tar:
                if not member.isfile() or member.size > MAX_OUTPUT_MEMBER_BYTES:
                    continue
                extracted = tar.extractfile(member)
                if extracted is not None:
                    files[member.name.removeprefix("./")] = extracted.read()
    except tarfile.TarError as exc:
        raise PredictionsError("unreadable", f"{uri} is not a readable archive: {exc}") from exc
    return files
