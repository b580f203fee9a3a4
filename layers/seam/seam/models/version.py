"""A model version: what Register records, with the lineage that explains it (the version that serves
today is the champion, seam.models.champion)."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from seam.models.evaluation import Evaluation
from seam.models.run import DatasetRef, utc_now


# Built at first use (seam.models.run._Record says why): only Register writes versions.
class ModelVersion(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    model: str
    version: str  # zero-padded model package version, e.g. "000003": sorts as it counts
    model_package_arn: str
    approval: str
    run_id: str
    training_job_name: str
    image: str
    model_artifact_uri: str
    dataset: DatasetRef
    metrics: dict[str, float] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utc_now)
    # The gate's decision that registered it: its metric and value, and the champion it was compared
    # with (an approval is refused when another version serves by the time it is approved).
    evaluation: Evaluation | None = None
    served_at: datetime | None = None  # when it first became the champion (only such versions roll back)


def version_label(package_version: int) -> str:
    return f"{package_version:06d}"
