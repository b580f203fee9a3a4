"""The training sections of the workflow document: the limits Validate sets, and what the training
callback sends when a training job (`TrainingResult`) or the champion's Processing job
(`ChampionScoring`) completed."""

from typing import Literal

from pydantic import Field

from seam.models.run import _Record


class TrainingLimits(_Record):
    timeout_seconds: int
    heartbeat_seconds: int
    # The ScoreChampion state's (a run whose champion has another image digest): its Processing job's.
    scoring_timeout_seconds: int | None = None
    scoring_heartbeat_seconds: int | None = None


class TrainingResult(_Record):
    """What the training callback sends with SendTaskSuccess (from DescribeTrainingJob)."""

    job_name: str
    status: Literal["Completed"]
    metrics: dict[str, float] = Field(default_factory=dict)
    model_artifact_uri: str
    image: str
    billable_seconds: int | None = None
    training_seconds: int | None = None


class ChampionScoring(_Record):
    """What the callback sends with SendTaskSuccess when the champion's Processing job completed (from
    DescribeProcessingJob): where its per-row predictions on the run's holdout are."""

    job_name: str
    image: str  # the champion's own image, by digest
    predictions_uri: str  # s3://<bucket>/runs/<run>/champion/predictions.csv
    billable_seconds: int | None = None  # ProcessingStartTime -> ProcessingEndTime
