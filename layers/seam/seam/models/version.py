"""A model version: what Register records, with the lineage that explains it."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from seam.models.run import DatasetRef, Evaluation, utc_now


# Both built at first use (seam.models.run._Record says why): only Validate, Evaluate, Register and
# Finalize read or write versions.
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


class Champion(BaseModel):
    """The version that serves today: what challengers are compared against."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    model: str
    version: str
    metric: str
    value: float
    dataset_fingerprint: str | None = None
    run_id: str
    previous_version: str | None = None  # what served before it: `seam rollback`'s default target
    updated_at: datetime = Field(default_factory=utc_now)


def version_label(package_version: int) -> str:
    return f"{package_version:06d}"
