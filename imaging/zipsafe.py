"""Expanding uploaded zip archives without trusting them (zip bombs, path traversal, lying headers)."""
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


class ZipRejected(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int
    max_total_bytes: int
    max_ratio: float


def _safe_name(name: str) -> str | None:
    """The entry's relative path, or None when it is absolute or climbs out with '..'."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        return None
    return str(path)


def expand(archive: Path, dest: Path, limits: ZipLimits) -> list[tuple[str, Path]]:
    """Check the whole archive first, then extract its files under `dest`; refuse it as a whole if unsafe.

    Declared sizes are checked before anything is written, and the bytes actually written are counted
    too, so an archive whose headers lie about sizes is still stopped at the limit.
    """
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
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
        written, out = 0, []
        for n, info in enumerate(entries):
            target = dest / f"{n:06d}.dcm"
            with zf.open(info) as src, open(target, "wb") as dst:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > limits.max_total_bytes:
                        raise ZipRejected("zip_too_large", "The archive expands beyond its declared sizes.")
                    dst.write(chunk)
            out.append((_safe_name(info.filename) or f"entry-{n}", target))
        return out


def is_zip(path: Path, name: str) -> bool:
    return name.lower().endswith(".zip") or zipfile.is_zipfile(path)


def cleanup(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
