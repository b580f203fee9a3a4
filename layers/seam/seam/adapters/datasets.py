"""S3 datasets: object metadata, a bounded read of the head, and the latest drop under a prefix."""

from __future__ import annotations

from seam.adapters.aws import aws_call, cause_code, client
from seam.errors import DataValidationError, SeamError
from seam.models.run import DatasetRef


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
