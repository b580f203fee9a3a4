"""S3 datasets: object metadata, a bounded read of the head, the latest drop under a prefix, and the
per-run snapshots (runs/<run>/...) read from exactly the version that was validated."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from seam.adapters.aws import aws_call, cause_code, client
from seam.errors import DatasetChangedError, DataValidationError, SeamError
from seam.models.run import DatasetRef

CHANGED_CODES = ("PreconditionFailed", "412")


class DatasetStore:
    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def head(self, ref: DatasetRef) -> DatasetRef:
        """Resolve size, ETag and version of exactly the object the run points at."""
        kwargs = {"Bucket": ref.bucket, "Key": ref.key}
        if ref.version_id:
            kwargs["VersionId"] = ref.version_id
        try:
            with aws_call(f"HeadObject {ref.uri}"):
                meta = client("s3").head_object(**kwargs)
        except SeamError as exc:
            if cause_code(exc) in ("404", "NoSuchKey", "NotFound", "NoSuchVersion"):
                raise DataValidationError("exists", f"{ref.uri} does not exist") from exc
            raise
        return ref.model_copy(
            update={
                "etag": str(meta.get("ETag", "")).strip('"') or None,
                "version_id": meta.get("VersionId") if meta.get("VersionId") not in (None, "null") else None,
                "size": int(meta.get("ContentLength", 0)),
            }
        )

    def read_head(self, ref: DatasetRef, max_bytes: int) -> bytes:
        kwargs = {"Bucket": ref.bucket, "Key": ref.key, "Range": f"bytes=0-{max_bytes - 1}"}
        if ref.version_id:
            kwargs["VersionId"] = ref.version_id
        with aws_call(f"GetObject {ref.uri}"):
            return client("s3").get_object(**kwargs)["Body"].read()

    def lines(self, ref: DatasetRef) -> Iterator[bytes]:
        """The object's lines, line ends kept, from exactly the version (and ETag) `ref` pins."""
        try:
            with aws_call(f"GetObject {ref.uri}"):
                body = client("s3").get_object(**_pinned(ref))["Body"]
        except SeamError as exc:
            _raise_if_changed(exc, ref)
            raise
        yield from body.iter_lines(keepends=True)

    def copy(self, ref: DatasetRef, key: str) -> str:
        """Copy exactly the version `ref` pins to `key` of this bucket, server-side; its s3:// URI."""
        source: dict[str, str] = {"Bucket": ref.bucket, "Key": ref.key}
        if ref.version_id:
            source["VersionId"] = ref.version_id
        extra = {"CopySourceIfMatch": f'"{ref.etag}"'} if ref.etag else {}
        try:
            with aws_call(f"CopyObject {ref.uri} -> s3://{self.bucket}/{key}"):
                client("s3").copy_object(Bucket=self.bucket, Key=key, CopySource=source, **extra)
        except SeamError as exc:
            _raise_if_changed(exc, ref)
            raise
        return f"s3://{self.bucket}/{key}"

    def put(self, key: str, body: bytes | BinaryIO) -> str:
        """Write `body` (bytes, or a seekable file streamed from its start: one PUT, up to 5 GB) to `key`
        of this bucket; its s3:// URI."""
        with aws_call(f"PutObject s3://{self.bucket}/{key}"):
            client("s3").put_object(Bucket=self.bucket, Key=key, Body=body)
        return f"s3://{self.bucket}/{key}"

    def read(self, uri: str) -> bytes | None:
        """A whole object by URI (a run's own outputs: small files); None when there is none."""
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            with aws_call(f"GetObject {uri}"):
                return client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        except SeamError as exc:
            if cause_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def latest(self, prefix: str) -> DatasetRef | None:
        """The most recently written object under `prefix` (schedule and drift runs train on it)."""
        paginator = client("s3").get_paginator("list_objects_v2")
        with aws_call(f"ListObjectsV2 s3://{self.bucket}/{prefix}"):
            objects = [
                obj
                for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
                for obj in page.get("Contents", [])
                if not obj["Key"].endswith("/")
            ]
        newest = max(objects, key=lambda obj: (obj["LastModified"], obj["Key"]), default=None)
        if newest is None:
            return None
        return DatasetRef(
            bucket=self.bucket, key=newest["Key"], etag=newest["ETag"].strip('"'), size=int(newest["Size"])
        )


def _pinned(ref: DatasetRef) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key}
    if ref.version_id:
        kwargs["VersionId"] = ref.version_id
    if ref.etag:
        kwargs["IfMatch"] = f'"{ref.etag}"'
    return kwargs


def _raise_if_changed(exc: SeamError, ref: DatasetRef) -> None:
    if cause_code(exc) in CHANGED_CODES:
        raise DatasetChangedError(
            "changed", f"{ref.uri} is no longer the object validated (ETag {ref.etag})"
        ) from exc
