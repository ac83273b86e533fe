"""The "pydicom limit" anchor (docs/benchmarks.md, "Anchors"): pydicom read + write of each file, no network, no database.

Generates N (default 1,000) synthetic PET slices, 192x192 16-bit (~75 KB each), into a temporary folder,
then times dcmread + dcmwrite of every file (the practical ceiling for a Python ingest path).

    .venv/bin/python bench/dicom_raw.py [--n 1000] [--runs 3] [--keep DIR]

`measure_raw(paths)` is importable so the ingest benchmark can print this figure beside its own:

    from bench.dicom_raw import generate, measure_raw
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pydicom

try:
    from imaging.synthetic import pet_slice_bytes
except ModuleNotFoundError:  # run as a script without the project installed: add the project root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from imaging.synthetic import pet_slice_bytes

ANCHOR = "857-890 instances/s (ANCHORS.md, measured 2026-11-28 on this machine kind)"


def generate(folder: str | Path, *, n: int = 1000, rows: int = 192, cols: int = 192, seed: int = 2026) -> list[Path]:
    """Write `n` synthetic PET slices into `folder`; the same seed gives the same files."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, raw in enumerate(pet_slice_bytes(seed=seed, n=n, rows=rows, cols=cols)):
        path = target / f"pet-{i:05d}.dcm"
        path.write_bytes(raw)
        paths.append(path)
    return paths


def measure_raw(paths: Sequence[str | Path]) -> dict[str, float]:
    """Time pydicom read + write (Part 10, to a file in a scratch folder) of each file, sequentially.

    Returns instances, bytes, seconds, instances_per_s and mb_per_s (MB = 10^6 bytes read).
    """
    files = [Path(p) for p in paths]
    if not files:
        raise ValueError("no files to measure")
    size = sum(p.stat().st_size for p in files)
    with tempfile.TemporaryDirectory(prefix="nbnm-raw-") as scratch:
        out = Path(scratch)
        start = time.perf_counter()
        for i, path in enumerate(files):
            ds = pydicom.dcmread(path)
            pydicom.dcmwrite(out / f"{i}.dcm", ds, enforce_file_format=True)
        seconds = time.perf_counter() - start
    return {"instances": len(files), "bytes": size, "seconds": seconds,
            "instances_per_s": len(files) / seconds, "mb_per_s": size / 1e6 / seconds}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of slices (default 1000)")
    parser.add_argument("--rows", type=int, default=192)
    parser.add_argument("--cols", type=int, default=192)
    parser.add_argument("--runs", type=int, default=3, help="timed passes over the same files (default 3)")
    parser.add_argument("--keep", type=Path, help="write the slices here and keep them (default: a temporary folder)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="nbnm-bench-") as tmp:
        folder = args.keep or Path(tmp)
        t0 = time.perf_counter()
        paths = generate(folder, n=args.n, rows=args.rows, cols=args.cols)
        size = sum(p.stat().st_size for p in paths)
        print(f"generated {len(paths)} PET slices {args.rows}x{args.cols} 16-bit, {size / len(paths) / 1e3:.1f} KB each, "
              f"{size / 1e6:.1f} MB, in {time.perf_counter() - t0:.1f} s -> {folder}")
        results = []
        for run in range(1, args.runs + 1):
            r = measure_raw(paths)
            results.append(r)
            print(f"run {run}: pydicom read+write {r['instances_per_s']:7.1f} instances/s  {r['mb_per_s']:6.1f} MB/s  "
                  f"({r['seconds']:.2f} s)")
        rates = sorted(r["instances_per_s"] for r in results)
        print(f"pydicom limit: median {statistics.median(rates):.1f} instances/s (range {rates[0]:.1f}-{rates[-1]:.1f}), "
              f"{statistics.median(r['mb_per_s'] for r in results):.1f} MB/s   anchor: {ANCHOR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
