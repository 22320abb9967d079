"""Evidence store on a local folder: atomic write-once files, hashes checked on every read path."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from vigil.errors import NotFoundError, ObjectExistsError, StoreError
from vigil.store.base import StoredObject, safe_key, sha256_hex


class LocalStore:
    """Objects are files under `root`; a key never resolves outside it."""

    retention_days = 0

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"evidence folder {self.root}: expected a writable folder, found {e.strerror}") from None

    def _path(self, key: str) -> Path:
        path = (self.root / safe_key(key)).resolve()
        if self.root not in path.parents:
            raise StoreError(f"key {key!r} resolves outside the evidence folder")
        return path

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> StoredObject:
        path = self._path(key)
        digest = sha256_hex(data)
        if path.exists():
            if sha256_hex(path.read_bytes()) == digest:
                return StoredObject(key, digest, len(data), content_type)
            raise ObjectExistsError(f"evidence object {key!r} already exists with different content; "
                                    f"evidence is write-once")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.link(tmp, path)  # fails if someone else created it meanwhile: never overwrite
        except FileExistsError:
            raise ObjectExistsError(f"evidence object {key!r} was created concurrently") from None
        finally:
            os.unlink(tmp)
        return StoredObject(key, digest, len(data), content_type)

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"evidence object {key!r} not found in {self.describe()}") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix)
        if not base.is_dir():
            return []
        return sorted(str(p.relative_to(self.root)) for p in base.rglob("*")
                      if p.is_file() and not p.name.startswith(".tmp-"))

    def delete(self, key: str) -> None:
        """Remove one object (retention only; evidence is otherwise write-once)."""
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            pass

    def describe(self) -> str:
        return f"local folder {self.root}"
