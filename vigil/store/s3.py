"""Evidence store on S3 (MinIO, SeaweedFS, AWS) through the minio client, with object lock where offered."""
from __future__ import annotations

import io
import logging
from datetime import timedelta

from minio import Minio
from minio.error import S3Error
from minio.retention import COMPLIANCE, Retention
from urllib3 import PoolManager, Retry, Timeout

from vigil.errors import NotFoundError, ObjectExistsError, StoreError
from vigil.redact import redact_text
from vigil.store.base import StoredObject, safe_key, sha256_hex
from vigil.types import utcnow

log = logging.getLogger(__name__)
SHA_META = "sha256"


class S3Store:
    """Objects in one bucket; write-once (checked before each put; object lock enforces it where offered)."""

    def __init__(self, endpoint: str, bucket: str, access_key: str, secret_key: str, *, secure: bool = True,
                 region: str | None = None, object_lock_days: int = 0):
        self.endpoint, self.bucket = endpoint, bucket
        self._secrets = (access_key, secret_key)
        self._options = {"secure": secure, "region": region, "object_lock_days": object_lock_days}
        http = PoolManager(timeout=Timeout(connect=5, read=30), retries=Retry(total=2, backoff_factor=0.3))
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure,
                            region=region, http_client=http)
        self.retention_days = 0
        self.retention_note = ""
        self._open_bucket(object_lock_days)

    def __reduce__(self):
        """Pickled (to a dataset build's worker process) as what opens it again: the client holds sockets."""
        return _reopen, (self.endpoint, self.bucket, *self._secrets, self._options)

    def _fail(self, what: str, err: Exception) -> StoreError:
        return StoreError(redact_text(f"S3 {self.endpoint}/{self.bucket}: {what}: {err}", self._secrets))

    def _open_bucket(self, lock_days: int) -> None:
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket, object_lock=lock_days > 0)
        except Exception as e:  # boundary: any transport or auth error becomes one clear StoreError
            raise self._fail("expected a reachable bucket (check endpoint and credentials)", e) from None
        if lock_days <= 0:
            return
        try:
            config = self.client.get_object_lock_config(self.bucket)
            enabled = config is not None
        except Exception as e:
            enabled = False
            self.retention_note = f"object lock not supported on this bucket ({type(e).__name__})"
        if enabled:
            self.retention_days = lock_days
            self.retention_note = f"object lock on: evidence retained {lock_days} days (COMPLIANCE)"
        elif not self.retention_note:
            self.retention_note = "object lock not enabled on this bucket"
        log.info("evidence store %s: %s", self.describe(), self.retention_note)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> StoredObject:
        safe_key(key)
        digest = sha256_hex(data)
        existing = self._stat(key)
        if existing is not None:
            if existing == digest:
                return StoredObject(key, digest, len(data), content_type)
            raise ObjectExistsError(f"evidence object {key!r} already exists with different content; "
                                    f"evidence is write-once")
        retention = None
        if self.retention_days:
            retention = Retention(COMPLIANCE, utcnow() + timedelta(days=self.retention_days))
        try:
            self.client.put_object(self.bucket, key, io.BytesIO(data), len(data), content_type=content_type,
                                   metadata={SHA_META: digest}, retention=retention)
        except Exception as e:
            raise self._fail(f"could not write {key!r}", e) from None
        return StoredObject(key, digest, len(data), content_type)

    def delete(self, key: str) -> None:
        """Remove one object (retention only); object-locked buckets are never asked (see api.service.retention)."""
        if self.retention_days:
            raise StoreError(f"S3 {self.endpoint}/{self.bucket}: objects are under object lock; not deleting {key!r}")
        try:
            self.client.remove_object(self.bucket, safe_key(key))
        except Exception as e:  # noqa: BLE001 - any transport or S3 error becomes one clear StoreError
            raise self._fail(f"could not delete {key!r}", e) from None

    def _stat(self, key: str) -> str | None:
        """The recorded sha256 of an existing object, '' if it has none, None if absent."""
        try:
            st = self.client.stat_object(self.bucket, key)
        except S3Error as e:
            if e.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return None
            raise self._fail(f"could not check {key!r}", e) from None
        except Exception as e:
            raise self._fail(f"could not check {key!r}", e) from None
        meta = {k.lower(): v for k, v in (st.metadata or {}).items()}
        return meta.get(f"x-amz-meta-{SHA_META}", "")

    def get(self, key: str) -> bytes:
        safe_key(key)
        try:
            resp = self.client.get_object(self.bucket, key)
        except S3Error as e:
            if e.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                raise NotFoundError(f"evidence object {key!r} not found in {self.describe()}") from None
            raise self._fail(f"could not read {key!r}", e) from None
        except Exception as e:
            raise self._fail(f"could not read {key!r}", e) from None
        try:
            return resp.read()
        finally:
            resp.close()
            resp.release_conn()

    def exists(self, key: str) -> bool:
        safe_key(key)
        return self._stat(key) is not None

    def list(self, prefix: str) -> list[str]:
        safe_key(prefix)
        try:
            return sorted(o.object_name for o in self.client.list_objects(self.bucket, prefix=prefix + "/",
                                                                           recursive=True))
        except Exception as e:
            raise self._fail(f"could not list {prefix!r}", e) from None

    def describe(self) -> str:
        return f"s3 {self.endpoint}/{self.bucket}"


def _reopen(endpoint: str, bucket: str, access_key: str, secret_key: str, options: dict) -> S3Store:
    return S3Store(endpoint, bucket, access_key, secret_key, **options)
