"""The committed viewer bundle and the sources it was built from (docs/imaging/viewer.md).

`make viewer` builds imaging/viewer/ with Vite into imaging/static/imaging/viewer/ and then writes SOURCE.sha256 with
`python -m imaging.viewer_bundle --write`. The test recomputes the hash, so CI needs no Node to notice a bundle that
is older than its sources (package.json, package-lock.json, vite.config.js, src/**).
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent / "viewer"
BUNDLE_DIR = Path(__file__).resolve().parent / "static" / "imaging" / "viewer"
HASH_FILE = BUNDLE_DIR / "SOURCE.sha256"
TOP_FILES = ("package.json", "package-lock.json", "vite.config.js")


def source_files(root: Path = SOURCE_DIR) -> list[Path]:
    """The files the bundle is built from, sorted by their path relative to `root` (POSIX separators)."""
    files = [root / name for name in TOP_FILES]
    files += [p for p in (root / "src").rglob("*") if p.is_file()]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def source_hash(root: Path = SOURCE_DIR) -> str:
    """SHA-256 over each source file's relative path, a NUL, its length, a NUL and its bytes, in path order."""
    digest = hashlib.sha256()
    for path in source_files(root):
        data = path.read_bytes()
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + str(len(data)).encode() + b"\0")
        digest.update(data)
    return digest.hexdigest()


def recorded_hash() -> str | None:
    """The hash written beside the bundle by the last `make viewer`, or None when there is none."""
    return HASH_FILE.read_text().split()[0] if HASH_FILE.exists() else None


def main(argv: list[str]) -> int:
    if argv[1:] == ["--write"]:
        HASH_FILE.write_text(f"{source_hash()}  imaging/viewer (package.json, package-lock.json, vite.config.js, src/**)\n")
        return 0
    current, recorded = source_hash(), recorded_hash()
    print(current)
    return 0 if current == recorded else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
