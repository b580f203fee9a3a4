"""Dataset validation: each rule fails with its name; bounded reads; unchanged data; latest object."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import moto.s3.models
import pytest
from seam.adapters.aws import client
from seam.adapters.datasets import DatasetStore
from seam.domain.validation import check_content, check_size, snapshot_dataset, validate_dataset
from seam.errors import DatasetChangedError, DataValidationError, ForeignDatasetError, GoldenDatasetError
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


# -- the dataset's place, the per-run snapshot and the holdout -----------------------------------------------

ROWS = HEADER + "".join(f"{i},basic,{i % 2}\n" for i in range(200))


def paired_config(**evaluation: Any) -> Any:
    spec = {"metric": "validation:auc", "holdout_fraction": 0.25, **evaluation}
    return model_config(evaluation=spec)


def body(uri: str) -> bytes:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


@pytest.mark.parametrize(
    "key", ["datasets/fraud/a.csv", "datasets/churn-v2/a.csv", "models/churn/a.csv", "datasets/churna.csv"]
)
def test_a_dataset_outside_the_models_prefix_is_refused_before_it_is_read(
    datasets: DatasetStore, key: str
) -> None:
    put(datasets, key, GOOD.encode())
    with pytest.raises(ForeignDatasetError) as caught:
        validate_dataset(
            state(DatasetRef(bucket=datasets.bucket, key=key)),
            model_config(),
            datasets,
            None,
            stale_after_seconds=1,
        )
    assert caught.value.rule == "location"
    assert f"is not under s3://{datasets.bucket}/datasets/churn/" in caught.value.detail


def test_a_dataset_in_another_bucket_is_refused(datasets: DatasetStore) -> None:
    with pytest.raises(
        ForeignDatasetError, match=r"^location: s3://elsewhere/datasets/churn/a.csv is not under"
    ):
        validate_dataset(
            state(DatasetRef(bucket="elsewhere", key="datasets/churn/a.csv")),
            model_config(),
            datasets,
            None,
            stale_after_seconds=1,
        )


def test_the_snapshot_is_the_validated_version_even_after_an_overwrite(datasets: DatasetStore) -> None:
    first = put(datasets, "datasets/churn/a.csv", GOOD.encode())
    validated = datasets.head(DatasetRef(bucket=datasets.bucket, key="datasets/churn/a.csv"))
    put(datasets, "datasets/churn/a.csv", b"tenure,plan,churned\n9,evil,1\n")  # after the check
    put(datasets, "datasets/churn/a.csv.bak", b"sibling")

    snapshot = snapshot_dataset("seam-churn-0123456789ab", validated, model_config(), datasets)

    assert snapshot.source.version_id == first["VersionId"]
    assert snapshot.train_uri == f"s3://{datasets.bucket}/runs/seam-churn-0123456789ab/train/a.csv"
    assert body(snapshot.train_uri) == GOOD.encode()
    assert snapshot.train_prefix == f"s3://{datasets.bucket}/runs/seam-churn-0123456789ab/train/"
    prefix = snapshot.train_prefix.removeprefix(f"s3://{datasets.bucket}/")
    listed = client("s3").list_objects_v2(Bucket=datasets.bucket, Prefix=prefix)["Contents"]
    assert [o["Key"] for o in listed] == ["runs/seam-churn-0123456789ab/train/a.csv"]


def test_an_object_whose_etag_changed_is_not_copied(datasets: DatasetStore) -> None:
    put(datasets, "datasets/churn/a.csv", GOOD.encode())
    validated = datasets.head(DatasetRef(bucket=datasets.bucket, key="datasets/churn/a.csv"))
    stale = validated.model_copy(update={"version_id": None, "etag": "0" * 32})
    with pytest.raises(DatasetChangedError, match=r"^changed: .* is no longer the object validated"):
        list(datasets.lines(stale))


def test_the_holdout_is_chosen_from_the_run_id_and_no_row_is_in_both(datasets: DatasetStore) -> None:
    put(datasets, "datasets/churn/a.csv", ROWS.encode())
    ref = datasets.head(DatasetRef(bucket=datasets.bucket, key="datasets/churn/a.csv"))

    first = snapshot_dataset("seam-churn-aaaaaaaaaaaa", ref, paired_config(), datasets)
    again = snapshot_dataset("seam-churn-aaaaaaaaaaaa", ref, paired_config(), datasets)
    other = snapshot_dataset("seam-churn-bbbbbbbbbbbb", ref, paired_config(), datasets)

    assert first.holdout is not None and again.holdout is not None and other.holdout is not None
    held = body(first.holdout.uri).decode().splitlines()
    trained = body(first.train_uri).decode().splitlines()
    assert held[0] == trained[0] == HEADER.strip()
    assert sorted(held[1:] + trained[1:]) == sorted(ROWS.splitlines()[1:])  # every row once
    assert first.holdout.rows == len(held) - 1 == first.holdout.dataset_rows
    assert first.train_rows == len(trained) - 1
    assert 30 <= first.holdout.rows <= 70  # about a quarter of 200
    expected = [
        ROWS.splitlines()[1 + i]
        for i in range(200)
        if int.from_bytes(hashlib.sha256(f"seam-churn-aaaaaaaaaaaa:{i}".encode()).digest()[:8], "big")
        < 0.25 * 2**64
    ]
    assert held[1:] == expected
    assert body(again.holdout.uri) == body(first.holdout.uri)
    assert body(other.holdout.uri) != body(first.holdout.uri)
    assert first.holdout.rule.startswith("data row i held out when int(sha256(f'{run_id}:{i}')[:8]) < 0.25")


def test_the_holdout_stops_at_its_cap(datasets: DatasetStore) -> None:
    put(datasets, "datasets/churn/a.csv", ROWS.encode())
    ref = datasets.head(DatasetRef(bucket=datasets.bucket, key="datasets/churn/a.csv"))
    snapshot = snapshot_dataset("seam-churn-aaaaaaaaaaaa", ref, paired_config(holdout_max_rows=7), datasets)
    assert snapshot.holdout is not None and snapshot.holdout.rows == 7 and snapshot.train_rows == 193


def test_the_golden_set_joins_the_holdout(datasets: DatasetStore) -> None:
    put(datasets, "datasets/churn/a.csv", ROWS.encode())
    put(datasets, "golden/churn/g.csv", (HEADER + "50,gold,1\n51,gold,0\n52,gold,1\n").encode())
    ref = datasets.head(DatasetRef(bucket=datasets.bucket, key="datasets/churn/a.csv"))

    snapshot = snapshot_dataset(
        "seam-churn-aaaaaaaaaaaa", ref, paired_config(golden_dataset="golden/churn/g.csv"), datasets
    )

    assert snapshot.holdout is not None and snapshot.holdout.golden is not None
    assert snapshot.holdout.rows == snapshot.holdout.dataset_rows + 3
    assert body(snapshot.holdout.uri).decode().endswith("50,gold,1\n51,gold,0\n52,gold,1\n")
    assert snapshot.holdout.golden.version_id is not None and snapshot.holdout.golden.etag


@pytest.mark.parametrize(
    ("golden", "rule"),
    [
        (None, "exists"),
        (HEADER + "x,gold,1\n2,gold,0\n3,gold,1\n", "dtype"),
        ("tenure,plan\n1,a\n2,b\n3,c\n", "columns"),
        (HEADER + "1,gold,0\n", "min_rows"),
        ("tenure,plan,churned,region\n1,a,0,eu\n2,b,1,eu\n3,c,0,eu\n", "header"),
    ],
)
def test_a_golden_set_that_breaks_the_rules_fails_with_its_own_name(
    datasets: DatasetStore, golden: str | None, rule: str
) -> None:
    put(datasets, "datasets/churn/a.csv", ROWS.encode())
    if golden is not None:
        put(datasets, "golden/churn/g.csv", golden.encode())
    ref = datasets.head(DatasetRef(bucket=datasets.bucket, key="datasets/churn/a.csv"))
    with pytest.raises(GoldenDatasetError) as caught:
        snapshot_dataset(
            "seam-churn-aaaaaaaaaaaa", ref, paired_config(golden_dataset="golden/churn/g.csv"), datasets
        )
    assert caught.value.rule == rule
    assert "golden set" in caught.value.detail
