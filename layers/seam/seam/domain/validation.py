"""Dataset validation: the rules of a model's config applied to the object a run points at.

Each failure raises DataValidationError naming the rule (`exists`, `min_bytes`, `max_bytes`, `format`,
`header`, `columns`, `dtype`, `min_rows`, `ragged_row`), so `seam runs show` can say what was wrong.
Only a bounded head of the object is read (`sample_bytes`); row counts beyond it are extrapolated
from the object size.

The dataset must lie under `datasets/<model>/` of Seam's bucket (`ForeignDatasetError` otherwise: a
queued request cannot name another model's data). What was checked is then copied, from its version id
and ETag, to `runs/<run>/train/<file>`, the only thing training reads (issue 14: a newer version of the
object or a sibling key is never trained on). A model with `evaluation.holdout_fraction` gets its
holdout there too: the dataset's held-out rows (seam.domain.holdout) in `runs/<run>/holdout/<file>`,
plus the golden set's rows, which passed the same rules; the train file is the rest.
"""

from __future__ import annotations

import csv
import io
import tempfile
from typing import TYPE_CHECKING

from seam.adapters.datasets import DatasetStore
from seam.adapters.dynamodb.models import ModelStore
from seam.adapters.dynamodb.runs import RunStore
from seam.adapters.dynamodb.versions import VersionStore
from seam.domain.holdout import golden_rows, rule, same_header, split_lines
from seam.domain.training_limits import limits_for, with_scoring
from seam.errors import (
    ChampionUnscorableError,
    DataValidationError,
    ForeignDatasetError,
    GoldenDatasetError,
)
from seam.models.champion import Champion
from seam.models.run import DatasetRef, RunStatus
from seam.models.snapshot import ChampionArtifact, Holdout, Snapshot
from seam.models.validation_config import ValidationConfig, ValidationRules

if TYPE_CHECKING:  # the handler parses the document with it
    from seam.models.views.validate import ValidateState

PARQUET_MAGIC = b"PAR1"
SPOOL_BYTES = 64 * 1024 * 1024  # the train file stays in memory up to this, then spills to /tmp


def check_size(ref: DatasetRef, rules: ValidationRules) -> None:
    size = ref.size or 0
    if size < rules.min_bytes:
        raise DataValidationError("min_bytes", f"{ref.uri} is {size} bytes, below {rules.min_bytes}")
    if size > rules.max_bytes:
        raise DataValidationError("max_bytes", f"{ref.uri} is {size} bytes, above {rules.max_bytes}")


def check_content(ref: DatasetRef, head: bytes, rules: ValidationRules) -> int:
    """Check format, header, columns and rows; return the (estimated) row count."""
    if rules.format == "parquet":
        return _check_parquet(ref, head)
    return _check_csv(ref, head, rules)


def _check_parquet(ref: DatasetRef, head: bytes) -> int:
    # Without a Parquet reader in the layer, the file's magic is checked; column rules apply to CSV.
    if not head.startswith(PARQUET_MAGIC):
        raise DataValidationError("format", f"{ref.uri} does not start with the Parquet magic 'PAR1'")
    return 0


def _check_csv(ref: DatasetRef, head: bytes, rules: ValidationRules) -> int:
    truncated = len(head) < (ref.size or len(head))
    if truncated:
        head = head[: head.rfind(b"\n") + 1]  # drop the partial last line of a bounded read
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataValidationError("format", f"{ref.uri} is not UTF-8 text at byte {exc.start}") from exc
    if "\x00" in text:
        raise DataValidationError("format", f"{ref.uri} contains NUL bytes: not a CSV file")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise DataValidationError("header", f"{ref.uri} has no header row")
    header = [cell.strip() for cell in rows[0]]
    if len(set(header)) != len(header):
        raise DataValidationError("header", f"{ref.uri} has duplicate column names")
    _check_columns(ref, header, rules)
    body = [row for row in rows[1:] if row]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataValidationError(
                "ragged_row", f"{ref.uri} line {number} has {len(row)} fields, header has {len(header)}"
            )
    _check_types(ref, header, body, rules)
    estimated = len(body)
    if truncated and head:
        estimated = int(len(body) * (ref.size or 0) / len(head))
    if estimated < rules.min_rows:
        raise DataValidationError("min_rows", f"{ref.uri} has {estimated} rows, below {rules.min_rows}")
    return estimated


def _check_columns(ref: DatasetRef, header: list[str], rules: ValidationRules) -> None:
    required = [c.name for c in rules.columns if c.required] + (
        [rules.label_column] if rules.label_column else []
    )
    missing = [name for name in dict.fromkeys(required) if name not in header]  # ordered, no repeats
    if missing:
        raise DataValidationError("columns", f"{ref.uri} lacks required column(s): {', '.join(missing)}")


def _check_types(ref: DatasetRef, header: list[str], body: list[list[str]], rules: ValidationRules) -> None:
    index = {name: i for i, name in enumerate(header)}
    for column in rules.columns:
        if column.dtype != "number" or column.name not in index:
            continue
        position = index[column.name]
        for number, row in enumerate(body, start=2):
            value = row[position].strip()
            if value == "":
                continue
            try:
                float(value)
            except ValueError:
                raise DataValidationError(
                    "dtype",
                    f"{ref.uri} line {number}: column {column.name!r} is {value[:40]!r}, not a number",
                ) from None


def validate_run(
    state: ValidateState,
    models: ModelStore,
    versions: VersionStore,
    datasets: DatasetStore,
    runs: RunStore,
    *,
    stale_after_seconds: int,
) -> ValidateState:
    """The Validate state: the run is VALIDATING, its dataset checked (`validate_dataset`) and, once
    resolved, recorded on the run."""
    runs.update(state.run_id, status=RunStatus.VALIDATING)
    config, champion = models.validation(state.model), versions.champion(state.model)
    validated = validate_dataset(state, config, datasets, champion, stale_after_seconds=stale_after_seconds)
    if validated.dataset and not validated.data_unchanged:
        scored = champion_artifact(config, champion, versions, datasets)
        snapshot = snapshot_dataset(state.run_id, validated.dataset, config, datasets, scored)
        validated = validated.model_copy(update={"snapshot": snapshot})
        if scored is not None and not scored.scored_in_training and validated.limits is not None:
            # Another image digest: its own image scores the champion, in a Processing job (ScoreChampion).
            limits = with_scoring(validated.limits, stale_after_seconds)
            validated = validated.model_copy(update={"score_champion": True, "limits": limits})
    if validated.dataset:
        fields = {"dataset": validated.dataset.model_dump(mode="json")}
        if validated.snapshot:
            fields["snapshot"] = validated.snapshot.model_dump(mode="json", exclude_none=True)
        runs.update(state.run_id, **fields)
    return validated


def validate_dataset(
    state: ValidateState,
    config: ValidationConfig,
    datasets: DatasetStore,
    champion: Champion | None,
    *,
    stale_after_seconds: int,
) -> ValidateState:
    """Resolve the run's dataset and apply the config's rules; flag data the champion already saw.
    A dataset to train on gets the training wait limits (`limits_for`, with the reconciler's
    `stale_after_seconds`)."""
    ref = state.dataset or datasets.latest(config.dataset_prefix)
    if ref is None:
        raise DataValidationError(
            "exists", f"no dataset under s3://{datasets.bucket}/{config.dataset_prefix}"
        )
    if ref.bucket != datasets.bucket or not ref.key.startswith(config.dataset_prefix):
        raise ForeignDatasetError(
            "location",
            f"{ref.uri} is not under s3://{datasets.bucket}/{config.dataset_prefix}: "
            f"model {config.name} trains only on its own datasets",
        )
    ref = datasets.head(ref)
    seen = champion and champion.dataset_fingerprint and champion.dataset_fingerprint == ref.fingerprint
    if seen and not state.force:  # forced: a retrain on the very data the champion was trained on
        return state.model_copy(update={"dataset": ref, "data_unchanged": True})
    check_size(ref, config.validation)
    check_content(ref, datasets.read_head(ref, config.validation.sample_bytes), config.validation)
    return state.model_copy(
        update={"dataset": ref, "limits": limits_for(config.training, stale_after_seconds)}
    )


def champion_artifact(
    config: ValidationConfig, champion: Champion | None, versions: VersionStore, datasets: DatasetStore
) -> ChampionArtifact | None:
    """What the holdout scores the champion with: its version's artifact and image. None when nothing is
    paired (no holdout, or no champion yet: the floor decides). An artifact that is gone ends the run
    here, before a training job is paid for (SageMaker would fail the job downloading the channel)."""
    if config.evaluation.holdout_fraction is None or champion is None:
        return None
    version = versions.get_version(config.name, champion.version)
    if version is None:
        raise ChampionUnscorableError(
            f"champion {config.name} {champion.version} has no version record: its artifact cannot be scored"
        )
    bucket, _, key = version.model_artifact_uri.removeprefix("s3://").partition("/")
    try:
        datasets.head(DatasetRef(bucket=bucket, key=key))
    except DataValidationError as exc:
        raise ChampionUnscorableError(
            f"champion {config.name} {champion.version}: its artifact {version.model_artifact_uri} is gone"
        ) from exc
    return ChampionArtifact(
        version=version.version,
        image=version.image,
        model_artifact_uri=version.model_artifact_uri,
        scored_in_training=version.image == config.training.image,
    )


def snapshot_dataset(
    run_id: str,
    ref: DatasetRef,
    config: ValidationConfig,
    datasets: DatasetStore,
    champion: ChampionArtifact | None = None,
) -> Snapshot:
    """Copy exactly the validated version to runs/<run>/train/; with a holdout, split it there and write
    the holdout (plus the golden set) to runs/<run>/holdout/."""
    name = ref.key.rsplit("/", 1)[-1]
    train_key, holdout_key = f"runs/{run_id}/train/{name}", f"runs/{run_id}/holdout/{name}"
    spec = config.evaluation
    if spec.holdout_fraction is None:
        return Snapshot(source=ref, train_uri=datasets.copy(ref, train_key))
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as train:
        split = split_lines(
            datasets.lines(ref),
            train,
            run_id=run_id,
            fraction=spec.holdout_fraction,
            max_rows=spec.holdout_max_rows,
        )
        if not split.holdout_rows or not split.train_rows:
            raise DataValidationError(
                "holdout",
                f"{ref.uri}: holding out {spec.holdout_fraction:g} of its rows leaves {split.holdout_rows} "
                f"to score and {split.train_rows} to train on; both need rows",
            )
        train.seek(0)
        train_uri = datasets.put(train_key, train)
    golden, golden_lines = _golden(config, datasets, split.header)
    holdout = Holdout(
        uri=datasets.put(holdout_key, split.header + b"".join(split.holdout) + b"".join(golden_lines)),
        rows=split.holdout_rows + len(golden_lines),
        dataset_rows=split.holdout_rows,
        fraction=spec.holdout_fraction,
        max_rows=spec.holdout_max_rows,
        rule=rule(spec.holdout_fraction, spec.holdout_max_rows),
        golden=golden,
        champion=champion,
        label_column=config.validation.label_column,
    )
    return Snapshot(source=ref, train_uri=train_uri, train_rows=split.train_rows, holdout=holdout)


def _golden(
    config: ValidationConfig, datasets: DatasetStore, header: bytes
) -> tuple[DatasetRef | None, list[bytes]]:
    """The golden set, checked by the same rules as the dataset, and its rows."""
    key = config.evaluation.golden_dataset
    if not key:
        return None, []
    try:
        ref = datasets.head(DatasetRef(bucket=datasets.bucket, key=key))
        check_size(ref, config.validation)
        check_content(ref, datasets.read_head(ref, config.validation.sample_bytes), config.validation)
        golden_header, rows = golden_rows(datasets.lines(ref))
    except DataValidationError as exc:
        raise GoldenDatasetError(exc.rule, f"golden set: {exc.detail}") from exc
    if not same_header(golden_header, header):
        raise GoldenDatasetError(
            "header", f"golden set {ref.uri} has other columns than the dataset: the holdout is one table"
        )
    return ref, rows
