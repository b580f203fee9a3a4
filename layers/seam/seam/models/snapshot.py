"""Validate's sections of the workflow document: the bytes a run trains on (`Snapshot`) and the holdout
champion and challenger are scored on. Apart from run.py so that the states that never read them (the
serving functions) do not define them at cold start."""

from seam.models.run import DatasetRef, _Record


class ChampionArtifact(_Record):
    """The serving champion as a run found it at Validate: what it is scored with on the holdout."""

    version: str
    image: str
    model_artifact_uri: str
    scored_in_training: bool  # same image digest as the challenger: the training job scores it too


class Holdout(_Record):
    """The rows a run scores champion and challenger on, fixed at Validate and kept under runs/<run>/."""

    uri: str  # s3://<bucket>/runs/<run>/holdout/<file>: header + held-out rows + golden rows
    rows: int
    dataset_rows: int  # of them held out of the dataset; the rest are the golden set's
    fraction: float
    max_rows: int
    rule: str  # how the rows were chosen, in words
    golden: DatasetRef | None = None
    champion: ChampionArtifact | None = None
    # The config's validation.label_column when the holdout was cut: the labels the predictions must carry.
    label_column: str | None = None


class Snapshot(_Record):
    """Exactly the bytes Validate checked, copied per run: training reads `train_uri` and nothing else
    (a newer version of the object, or a sibling key such as a.csv.bak, is never trained on)."""

    source: DatasetRef  # the object and the version/ETag that was validated
    train_uri: str  # s3://<bucket>/runs/<run>/train/<file>
    train_rows: int | None = None  # counted when rows were held out (the copy is not read otherwise)
    holdout: Holdout | None = None

    @property
    def train_prefix(self) -> str:
        """The channel's S3Prefix: the run's train folder, which holds this one file."""
        return self.train_uri.rsplit("/", 1)[0] + "/"
