"""Encryption of personal identifiers at rest, and the keyed hash used to find duplicates.

Keys come from the environment: PATIENT_IDENTITY_KEYS is a comma-separated list of Fernet keys, the
first encrypting and all decrypting (MultiFernet), so a key is rotated by putting a new one first,
running `manage.py rotate_identity_keys`, then dropping the old one. PATIENT_HASH_KEY keys the HMAC of
the hospital record number, so duplicates are found without a plaintext column.
"""
import hashlib
import hmac
import json
import unicodedata
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
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


def encrypt_bytes(data: bytes) -> bytes:
    """Bytes that hold identifiers (a received DICOM file before de-identification), encrypted for a short stay at rest."""
    return _fernet(_keys()).encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    try:
        return _fernet(_keys()).decrypt(token)
    except InvalidToken as exc:
        raise IdentityKeyError("Spooled bytes could not be decrypted with the configured keys") from exc


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
