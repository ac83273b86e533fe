"""Expanding uploaded zip archives without trusting them (zip bombs, path traversal, lying headers, damaged entries).

An unsafe archive (bomb, traversal, too many or too large entries, encryption, an unreadable directory) is
refused as a whole. A damaged entry (flipped bytes, a CRC or size that does not match, a compression method
Python cannot read) is refused alone, with a code, and the archive's other entries are kept.
"""
import lzma
import shutil
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

# What reading one damaged entry can raise: zipfile's own checks (magic numbers, names, CRC, sizes), the
# decompressors' errors (zlib.error is not a BadZipFile; bz2 raises OSError), and a stream that ends early.
_ENTRY_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError)


class ZipRejected(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int
    max_total_bytes: int
    max_ratio: float


@dataclass
class Expanded:
    """The entries written (name, path), the entries refused (name, code, reason) and the bytes written to disk."""

    files: list[tuple[str, Path]] = field(default_factory=list)
    rejected: list[tuple[str, str, str]] = field(default_factory=list)
    bytes_written: int = 0


def _safe_name(name: str) -> str | None:
    """The entry's relative path, or None when it is absolute or climbs out with '..'."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        return None
    return str(path)


def expand(archive: Path, dest: Path, limits: ZipLimits) -> Expanded:
    """Check the whole archive first, then extract its files under `dest`; refuse it as a whole if unsafe.

    Declared sizes are checked before anything is written, and the bytes actually written are counted
    too, so an archive whose headers lie about sizes is still stopped at the limit (zipfile itself never
    yields more than an entry's declared size, and a CRC check at its end refuses an entry that was cut).
    """
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ZipRejected("bad_zip", "Not a readable zip archive.") from exc
    with zf:
        entries = [i for i in zf.infolist() if not i.is_dir()]
        if len(entries) > limits.max_entries:
            raise ZipRejected("zip_too_many_entries", f"The archive has {len(entries)} files; the limit is {limits.max_entries}.")
        total = 0
        for info in entries:
            if _safe_name(info.filename) is None:
                raise ZipRejected("zip_unsafe_path", "The archive contains an absolute path or a '..' entry.")
            if info.flag_bits & 0x1:
                raise ZipRejected("zip_encrypted", "The archive is encrypted.")
            total += info.file_size
            if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
                raise ZipRejected("zip_bomb", f"An entry expands more than {limits.max_ratio:g} times: refused as a zip bomb.")
        if total > limits.max_total_bytes:
            raise ZipRejected("zip_too_large", f"The archive expands to {total} bytes; the limit is {limits.max_total_bytes}.")
        result = Expanded()
        for n, info in enumerate(entries):
            name = _safe_name(info.filename) or f"entry-{n}"
            target = dest / f"{n:06d}.dcm"
            refused = _extract(zf, info, target, limits.max_total_bytes, result)
            if refused is None:
                result.files.append((name, target))
            else:
                target.unlink(missing_ok=True)
                result.rejected.append((name, *refused))
        return result


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, limit: int, result: Expanded) -> tuple[str, str] | None:
    """Write one entry to `target`, counting into `result.bytes_written`; (code, reason) when the entry cannot be read.

    Only reading the entry is guarded: an error while writing `target` (a full disk) is ours and fails the request.
    """
    with open(target, "wb") as dst:
        try:
            src = zf.open(info)
        except NotImplementedError:
            return "zip_unsupported_compression", "This archive entry uses a compression method that cannot be read; use deflate or store."
        except _ENTRY_ERRORS:
            return "zip_entry_corrupt", "This archive entry is damaged (its header does not match the archive's directory)."
        with src:
            while True:
                try:
                    chunk = src.read(1 << 20)
                except _ENTRY_ERRORS:
                    return "zip_entry_corrupt", "This archive entry is damaged (its data, size or checksum do not match)."
                if not chunk:
                    return None
                result.bytes_written += len(chunk)
                if result.bytes_written > limit:
                    raise ZipRejected("zip_too_large", "The archive expands beyond its declared sizes.")
                dst.write(chunk)


def is_zip(path: Path, name: str) -> bool:
    return name.lower().endswith(".zip") or zipfile.is_zipfile(path)


def cleanup(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
