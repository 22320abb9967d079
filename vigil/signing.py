"""Ed25519 signing of evidence manifests: a key kept in the data folder, a public key anyone can check with."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vigil.errors import ConfigError


class Signer:
    """Signs bytes with one Ed25519 key; `key_id` names the key in every signature file."""

    def __init__(self, private_key: Ed25519PrivateKey):
        self._key = private_key
        raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]

    @classmethod
    def generate(cls) -> "Signer":
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: str | Path) -> "Signer":
        """Load the PEM key at `path`, or create one there (mode 0600) on first start."""
        p = Path(path)
        if p.exists():
            try:
                key = serialization.load_pem_private_key(p.read_bytes(), password=None)
            except (ValueError, TypeError) as e:
                raise ConfigError(f"{p}: expected an unencrypted Ed25519 private key in PEM, found unreadable "
                                  f"data ({type(e).__name__})") from None
            if not isinstance(key, Ed25519PrivateKey):
                raise ConfigError(f"{p}: expected an Ed25519 private key, found {type(key).__name__}")
            return cls(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        signer = cls.generate()
        pem = signer._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        return signer

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def public_key_pem(self) -> bytes:
        return self._key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def verify_signature(public_pem: bytes, data: bytes, signature: bytes) -> bool:
    """True when `signature` is a valid Ed25519 signature of `data` by the key in `public_pem`."""
    try:
        key = serialization.load_pem_public_key(public_pem)
    except ValueError:
        return False
    if not isinstance(key, Ed25519PublicKey):
        return False
    try:
        key.verify(signature, data)
        return True
    except InvalidSignature:
        return False
