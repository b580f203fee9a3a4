"""Dataset validation: the rules of a model's config applied to the object a run points at.

Each failure raises DataValidationError naming the rule (`exists`, `min_bytes`, `max_bytes`, `format`,
`header`, `columns`, `dtype`, `min_rows`, `ragged_row`), so `seam runs show` can say what was wrong.
Only a bounded head of the object is read (`sample_bytes`); row counts beyond it are extrapolated
from the object size.
"""

from __future__ import annotations

import csv
import io

from seam.adapters.datasets import DatasetStore
from seam.adapters.dynamodb.models import ModelStore
from seam.adapters.dynamodb.runs import RunStore
from seam.adapters.dynamodb.versions import VersionStore
from seam.domain.training_limits import limits_for
from seam.errors import DataValidationError
from seam.models.champion import Champion
from seam.models.model_config import ModelConfig, ValidationRules
from seam.models.run import DatasetRef, RunStatus, WorkflowState

PARQUET_MAGIC = b"PAR1"


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
    state: WorkflowState,
    models: ModelStore,
    versions: VersionStore,
    datasets: DatasetStore,
    runs: RunStore,
    *,
    stale_after_seconds: int,
) -> WorkflowState:
    """The Validate state: the run is VALIDATING, its dataset checked (`validate_dataset`) and, once
    resolved, recorded on the run."""
    runs.update(state.run_id, status=RunStatus.VALIDATING)
    validated = validate_dataset(
        state,
        models.get(state.model),
        datasets,
        versions.champion(state.model),
        stale_after_seconds=stale_after_seconds,
    )
    if validated.dataset:
        runs.update(state.run_id, dataset=validated.dataset.model_dump(mode="json"))
    return validated


def validate_dataset(
    state: WorkflowState,
    config: ModelConfig,
    datasets: DatasetStore,
    champion: Champion | None,
    *,
    stale_after_seconds: int,
) -> WorkflowState:
    """Resolve the run's dataset and apply the config's rules; flag data the champion already saw.
    A dataset to train on gets the training wait limits (`limits_for`, with the reconciler's
    `stale_after_seconds`)."""
    ref = state.dataset or datasets.latest(config.dataset_prefix)
    if ref is None:
        raise DataValidationError(
            "exists", f"no dataset under s3://{datasets.bucket}/{config.dataset_prefix}"
        )
    ref = datasets.head(ref)
    if champion and champion.dataset_fingerprint and champion.dataset_fingerprint == ref.fingerprint:
        return state.model_copy(update={"dataset": ref, "data_unchanged": True})
    check_size(ref, config.validation)
    check_content(ref, datasets.read_head(ref, config.validation.sample_bytes), config.validation)
    return state.model_copy(update={"dataset": ref, "limits": limits_for(config, stale_after_seconds)})
