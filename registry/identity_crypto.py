"""Encryption of personal identifiers at rest, and the keyed hash used to find duplicates.

Keys come from the environment: PATIENT_IDENTITY_KEYS is a comma-separated list of Fernet keys, the
first encrypting and all decrypting (MultiFernet), so a key is rotated by putting a new one first,
running `manage.py rotate_identity_keys`, then dropping the old one. PATIENT_HASH_KEY keys the HMAC of
the hospital record number, so duplicates are found without a plaintext column.
"""
import base64
import hashlib
import hmac
import json
import os
import unicodedata
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class IdentityKeyError(RuntimeError):
    """The stored identity cannot be decrypted with the configured keys (wrong or missing key)."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("PATIENT_IDENTITY_KEYS is empty: identities cannot be encrypted")
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured("PATIENT_IDENTITY_KEYS holds a value that is not a Fernet key") from exc


def _keys() -> tuple[str, ...]:
    return tuple(settings.PATIENT_IDENTITY_KEYS)


def encrypt(data: dict[str, Any]) -> str:
    return _fernet(_keys()).encrypt(json.dumps(data, ensure_ascii=False).encode()).decode()


def decrypt(token: str) -> dict[str, Any]:
    try:
        return json.loads(_fernet(_keys()).decrypt(token.encode()))
    except InvalidToken as exc:
        # No detail from the token: the message may be logged.
        raise IdentityKeyError("Patient identity could not be decrypted with the configured keys") from exc


# Bytes (a received DICOM file before de-identification, for its short stay in the spool): AES-256-GCM under a key
# derived from each identity key (HKDF-SHA256), the first encrypting, all decrypting, as for identities. Not Fernet:
# its base64 and separate HMAC cost a 75 KB file about a millisecond each way, GCM a tenth of that.
_BYTES_MAGIC = b"NBB1"


@lru_cache(maxsize=4)
def _aeads(keys: tuple[str, ...]) -> tuple[AESGCM, ...]:
    if not keys:
        raise ImproperlyConfigured("PATIENT_IDENTITY_KEYS is empty: identities cannot be encrypted")
    return tuple(AESGCM(HKDF(algorithm=SHA256(), length=32, salt=None, info=b"nbnm bytes at rest")
                        .derive(base64.urlsafe_b64decode(k))) for k in keys)


def encrypt_bytes(data: bytes) -> bytes:
    nonce = os.urandom(12)
    return _BYTES_MAGIC + nonce + _aeads(_keys())[0].encrypt(nonce, data, _BYTES_MAGIC)


def decrypt_bytes(token: bytes) -> bytes:
    if token[:4] == _BYTES_MAGIC:
        nonce, sealed = token[4:16], token[16:]
        for aead in _aeads(_keys()):
            try:
                return aead.decrypt(nonce, sealed, _BYTES_MAGIC)
            except InvalidTag:
                continue
    raise IdentityKeyError("Stored bytes could not be decrypted with the configured keys")


def rotate(token: str) -> str:
    try:
        return _fernet(_keys()).rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise IdentityKeyError("Patient identity could not be decrypted with the configured keys") from exc


def normalise_record_number(value: str) -> str:
    # Full-width digits and stray spaces are common when numbers are typed on Chinese keyboards.
    return "".join(unicodedata.normalize("NFKC", value).split()).upper()


def record_number_hash(hospital_code: str, record_number: str) -> str:
    key = settings.PATIENT_HASH_KEY.encode()
    message = f"{hospital_code}:{normalise_record_number(record_number)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
