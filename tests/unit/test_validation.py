"""Dataset validation: each rule fails with its name; bounded reads; unchanged data; latest object."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import moto.s3.models
import pytest
from seam.adapters.aws import client
from seam.adapters.datasets import DatasetStore
from seam.domain.validation import check_content, check_size, validate_dataset
from seam.errors import DataValidationError
from seam.models.champion import Champion
from seam.models.model_config import ValidationRules
from seam.models.run import DatasetRef, TriggerKind, WorkflowState

from tests.unit.conftest import model_config

STALE_AFTER = 1800  # the reconciler's default SEAM_TRAINING_STALE_AFTER_SECONDS

HEADER = "tenure,plan,churned\n"
GOOD = HEADER + "1,basic,0\n2,premium,1\n3,basic,0\n"


def rules(**overrides: Any) -> ValidationRules:
    base: dict[str, Any] = {
        "min_rows": 3,
        "label_column": "churned",
        "columns": [
            {"name": "tenure", "dtype": "number"},
            {"name": "plan", "dtype": "string"},
            {"name": "region", "required": False},
        ],
    }
    return ValidationRules.model_validate({**base, **overrides})


def ref(data: bytes | None = None, size: int | None = None, key: str = "datasets/churn/d.csv") -> DatasetRef:
    return DatasetRef(bucket="b", key=key, size=size if size is not None else len(data or b""))


def broken(data: bytes | str, **overrides: Any) -> DataValidationError:
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(DataValidationError) as caught:
        check_content(ref(raw), raw, rules(**overrides))
    return caught.value


# -- rules, one by one ---------------------------------------------------------------------------------------


def test_a_valid_csv_passes_with_its_row_count() -> None:
    assert check_content(ref(GOOD.encode()), GOOD.encode(), rules()) == 3


@pytest.mark.parametrize(
    ("size", "rule"),
    [(0, "min_bytes"), (99, "min_bytes"), (1001, "max_bytes")],
)
def test_sizes_outside_the_byte_limits_fail_their_rule(size: int, rule: str) -> None:
    with pytest.raises(DataValidationError) as caught:
        check_size(ref(size=size), rules(min_bytes=100, max_bytes=1000))
    assert caught.value.rule == rule
    assert str(size) in caught.value.detail


@pytest.mark.parametrize("size", [100, 1000])
def test_sizes_at_the_byte_limits_pass(size: int) -> None:
    check_size(ref(size=size), rules(min_bytes=100, max_bytes=1000))


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (HEADER.encode() + b"1,\xff\xfe,0\n", "is not UTF-8 text at byte 22"),
        (HEADER.encode() + b"1,basic\x00,0\n", "contains NUL bytes: not a CSV file"),
        (b"PAR1\x15\x04\x15\x80\x01\x15\x80\x01", "is not UTF-8 text"),  # Parquet sent as CSV
    ],
)
def test_bytes_that_are_not_csv_text_fail_the_format_rule(data: bytes, detail: str) -> None:
    error = broken(data)
    assert error.rule == "format"
    assert detail in error.detail


def test_parquet_without_its_magic_fails_the_format_rule() -> None:
    error = broken(GOOD, format="parquet")
    assert (error.rule, error.detail) == (
        "format",
        "s3://b/datasets/churn/d.csv does not start with the Parquet magic 'PAR1'",
    )


def test_parquet_with_its_magic_passes() -> None:
    data = b"PAR1" + b"\x00" * 64
    assert check_content(ref(data), data, rules(format="parquet")) == 0


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_column() -> None:
    data = b"\xef\xbb\xbf" + GOOD.encode()
    assert check_content(ref(data), data, rules()) == 3


@pytest.mark.parametrize("data", ["", "\n", " , ,\n1,2,3\n"])
def test_a_missing_or_blank_header_fails_the_header_rule(data: str) -> None:
    error = broken(data, min_rows=0, columns=[], label_column=None)
    assert (error.rule, error.detail) == ("header", "s3://b/datasets/churn/d.csv has no header row")


def test_duplicate_column_names_fail_the_header_rule() -> None:
    error = broken("tenure,plan,churned, plan\n1,a,0,b\n", min_rows=0)
    assert (error.rule, error.detail) == ("header", "s3://b/datasets/churn/d.csv has duplicate column names")


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("plan,churned", "tenure"),
        ("tenure,plan", "churned"),  # the label column
        ("x", "tenure, plan, churned"),
    ],
)
def test_missing_required_columns_fail_the_columns_rule_naming_them(header: str, missing: str) -> None:
    error = broken(f"{header}\n", min_rows=0)
    assert error.rule == "columns"
    assert error.detail.endswith(f"lacks required column(s): {missing}")


def test_an_optional_column_may_be_missing_and_extra_columns_are_allowed() -> None:
    data = b"extra,tenure,plan,churned\nx,1,a,0\n"
    assert check_content(ref(data), data, rules(min_rows=1)) == 1


def test_a_row_with_the_wrong_number_of_fields_fails_the_ragged_row_rule() -> None:
    error = broken(HEADER + "1,basic,0\n2,premium\n3,basic,0\n")
    assert (error.rule, error.detail) == (
        "ragged_row",
        "s3://b/datasets/churn/d.csv line 3 has 2 fields, header has 3",
    )


def test_a_non_number_in_a_number_column_fails_the_dtype_rule() -> None:
    error = broken(HEADER + "1,basic,0\ntwelve,premium,1\n3,basic,0\n")
    assert (error.rule, error.detail) == (
        "dtype",
        "s3://b/datasets/churn/d.csv line 3: column 'tenure' is 'twelve', not a number",
    )


def test_number_columns_accept_blanks_decimals_and_exponents() -> None:
    data = (HEADER + "1.5,basic,0\n,premium,1\n-2e3, basic,0\n").encode()
    assert check_content(ref(data), data, rules()) == 3


def test_too_few_rows_fail_the_min_rows_rule() -> None:
    error = broken(HEADER + "1,basic,0\n\n2,basic,1\n")
    assert (error.rule, error.detail) == ("min_rows", "s3://b/datasets/churn/d.csv has 2 rows, below 3")


# -- bounded reads -------------------------------------------------------------------------------------------


def big_csv(rows: int) -> bytes:
    return (HEADER + "".join(f"{i:06d},basic,{i % 2}\n" for i in range(rows))).encode()


def test_a_bounded_read_extrapolates_the_row_count_from_the_object_size() -> None:
    data = big_csv(20_000)
    head = data[:4096]

    estimated = check_content(ref(size=len(data)), head, rules(min_rows=0))

    assert head.count(b"\n") < 300 < 19_000 < estimated <= 20_000


def test_a_bounded_read_drops_the_partial_last_line_even_inside_a_multibyte_character() -> None:
    data = (HEADER + "1,basic,0\n2,prémium,1\n").encode()
    cut = data.index("é".encode()) + 1  # the head ends inside "é"
    estimated = check_content(ref(size=len(data) + 1000), data[:cut], rules(min_rows=0))
    assert estimated > 0


# -- validate_dataset against S3 (moto) ---------------------------------------------------------------------


@pytest.fixture
def datasets(bucket: str) -> DatasetStore:
    return DatasetStore(bucket)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[datetime]]:
    """moto's S3 clock (LastModified has one-second resolution): tests move it explicitly."""
    now = [datetime(2026, 11, 22, 9, 0, tzinfo=UTC)]
    monkeypatch.setattr(moto.s3.models, "utcnow", lambda: now[0])
    yield now


def put(datasets: DatasetStore, key: str, body: bytes) -> dict[str, Any]:
    return client("s3").put_object(Bucket=datasets.bucket, Key=key, Body=body)


def state(dataset: DatasetRef | None = None, trigger: TriggerKind = TriggerKind.DATA) -> WorkflowState:
    return WorkflowState(run_id="seam-churn-0123456789ab", model="churn", trigger=trigger, dataset=dataset)


def champion(fingerprint: str | None) -> Champion:
    return Champion(
        model="churn",
        version="000001",
        metric="validation:auc",
        value=0.8,
        run_id="seam-churn-old",
        dataset_fingerprint=fingerprint,
    )


def test_a_valid_object_is_resolved_to_its_exact_version_and_gets_training_limits(
    datasets: DatasetStore,
) -> None:
    written = put(datasets, "datasets/churn/a.csv", GOOD.encode())

    result = validate_dataset(
        state(DatasetRef(bucket=datasets.bucket, key="datasets/churn/a.csv")),
        model_config(),
        datasets,
        None,
        stale_after_seconds=STALE_AFTER,
    )

    assert result.dataset == DatasetRef(
        bucket=datasets.bucket,
        key="datasets/churn/a.csv",
        version_id=written["VersionId"],
        etag=written["ETag"].strip('"'),
        size=len(GOOD),
    )
    assert result.data_unchanged is False
    assert result.limits is not None and result.limits.timeout_seconds == 600 + 1800


def test_a_run_pinned_to_an_older_version_validates_that_version(datasets: DatasetStore) -> None:
    old = put(datasets, "datasets/churn/a.csv", GOOD.encode())
    put(datasets, "datasets/churn/a.csv", b"not,a,valid\x00file")

    pinned = DatasetRef(bucket=datasets.bucket, key="datasets/churn/a.csv", version_id=old["VersionId"])
    result = validate_dataset(state(pinned), model_config(), datasets, None, stale_after_seconds=STALE_AFTER)

    assert result.dataset is not None and result.dataset.size == len(GOOD)


def test_an_object_that_does_not_exist_fails_the_exists_rule(datasets: DatasetStore) -> None:
    missing = DatasetRef(bucket=datasets.bucket, key="datasets/churn/gone.csv")
    with pytest.raises(DataValidationError) as caught:
        validate_dataset(state(missing), model_config(), datasets, None, stale_after_seconds=STALE_AFTER)
    assert (caught.value.rule, caught.value.detail) == (
        "exists",
        f"s3://{datasets.bucket}/datasets/churn/gone.csv does not exist",
    )


def test_a_run_without_a_dataset_and_nothing_under_the_prefix_fails_the_exists_rule(
    datasets: DatasetStore,
) -> None:
    put(datasets, "datasets/churn-v2/a.csv", GOOD.encode())  # another model's prefix starts the same way
    with pytest.raises(DataValidationError) as caught:
        validate_dataset(
            state(trigger=TriggerKind.SCHEDULE),
            model_config(),
            datasets,
            None,
            stale_after_seconds=STALE_AFTER,
        )
    assert caught.value.rule == "exists"
    assert caught.value.detail == f"no dataset under s3://{datasets.bucket}/datasets/churn/"


def test_an_empty_object_fails_the_min_bytes_rule(datasets: DatasetStore) -> None:
    put(datasets, "datasets/churn/empty.csv", b"")
    with pytest.raises(DataValidationError, match=r"^min_bytes: "):
        validate_dataset(
            state(DatasetRef(bucket=datasets.bucket, key="datasets/churn/empty.csv")),
            model_config(),
            datasets,
            None,
            stale_after_seconds=STALE_AFTER,
        )


def test_a_run_without_a_dataset_validates_the_latest_object_under_the_prefix(
    datasets: DatasetStore, clock: list[datetime]
) -> None:
    put(datasets, "datasets/churn/b-older.csv", b"bad")
    clock[0] += timedelta(minutes=5)
    newest = put(
        datasets, "datasets/churn/a-newest.csv", GOOD.encode()
    )  # sorts first by name, newest by time
    put(datasets, "datasets/churn/folder/", b"")
    put(datasets, "datasets/other/z.csv", b"bad")

    result = validate_dataset(
        state(trigger=TriggerKind.SCHEDULE), model_config(), datasets, None, stale_after_seconds=STALE_AFTER
    )

    assert result.dataset is not None
    assert (result.dataset.key, result.dataset.etag) == (
        "datasets/churn/a-newest.csv",
        newest["ETag"].strip('"'),
    )
    assert result.dataset.version_id == newest["VersionId"]


def test_objects_written_in_the_same_second_resolve_to_the_last_key(
    datasets: DatasetStore, clock: list[datetime]
) -> None:
    put(datasets, "datasets/churn/2026-11-22T09-00.csv", GOOD.encode())
    put(datasets, "datasets/churn/2026-11-22T09-01.csv", GOOD.encode())

    result = validate_dataset(
        state(trigger=TriggerKind.DRIFT), model_config(), datasets, None, stale_after_seconds=STALE_AFTER
    )

    assert result.dataset is not None and result.dataset.key == "datasets/churn/2026-11-22T09-01.csv"


def test_data_the_champion_was_trained_on_is_flagged_unchanged_and_not_validated_again(
    datasets: DatasetStore,
) -> None:
    written = put(datasets, "datasets/churn/a.csv", b"tenure\n1\n")  # would break the columns rule

    result = validate_dataset(
        state(DatasetRef(bucket=datasets.bucket, key="datasets/churn/a.csv")),
        model_config(),
        datasets,
        champion(written["ETag"].strip('"')),
        stale_after_seconds=STALE_AFTER,
    )

    assert result.data_unchanged is True
    assert result.limits is None
    assert result.dataset is not None and result.dataset.version_id == written["VersionId"]


def test_data_other_than_the_champions_is_validated(datasets: DatasetStore) -> None:
    put(datasets, "datasets/churn/a.csv", b"tenure\n1\n")

    with pytest.raises(DataValidationError, match=r"^columns: "):
        validate_dataset(
            state(DatasetRef(bucket=datasets.bucket, key="datasets/churn/a.csv")),
            model_config(),
            datasets,
            champion("another-etag"),
            stale_after_seconds=STALE_AFTER,
        )


def test_only_the_sample_bytes_are_read_and_rows_beyond_them_are_extrapolated(datasets: DatasetStore) -> None:
    data = big_csv(20_000)
    put(datasets, "datasets/churn/big.csv", data)
    target = DatasetRef(bucket=datasets.bucket, key="datasets/churn/big.csv")

    def config(min_rows: int) -> Any:
        validation = {"min_rows": min_rows, "label_column": "churned", "sample_bytes": 4096}
        return model_config(validation=validation)

    assert len(datasets.read_head(datasets.head(target), 4096)) == 4096
    assert (
        validate_dataset(
            state(target), config(19_000), datasets, None, stale_after_seconds=STALE_AFTER
        ).dataset
        is not None
    )
    with pytest.raises(DataValidationError, match=r"^min_rows: .* has 19\d\d\d rows, below 25000$"):
        validate_dataset(state(target), config(25_000), datasets, None, stale_after_seconds=STALE_AFTER)
