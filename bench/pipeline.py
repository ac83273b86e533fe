"""Series pipeline benchmark: one synthetic 300-slice 192x192 PET series through index, SUV, dose and preview.

Prints the seconds of each step next to the time numpy alone takes to load the same pixel data from the
stored files (read the bytes, view the pixel data, stack as float32): the floor any step that touches
every pixel has to pay, in wall-clock and in CPU seconds. Target (issue 19): the analysis steps within 5 times the
numpy load, in the same run.

    .venv/bin/python bench/pipeline.py [--slices 300] [--size 192] [--repeat 3]

It makes its own throw-away SQLite database and media folder under a temporary directory, ingests the
series with the pipeline held back, then runs each step in-process (as a Celery worker would) and times it.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.site import bench_site, consented_child, pet_files, throwaway_environment  # noqa: E402


def _numpy_load(paths: list[Path], rows: int, cols: int) -> tuple[float, float]:
    """(Seconds, CPU seconds) to read every file and stack its pixel data (the last element of these files) as float32."""
    started, cpu = time.perf_counter(), time.process_time()
    n = rows * cols
    slices = []
    for path in paths:
        data = path.read_bytes()
        slices.append(np.frombuffer(data, dtype="<i2", count=n, offset=len(data) - 2 * n))
    np.stack(slices).reshape(len(paths), rows, cols).astype(np.float32)
    return time.perf_counter() - started, time.process_time() - cpu


def _pydicom_load(paths: list[Path]) -> tuple[float, float]:
    """(Seconds, CPU seconds) for pydicom to parse every file and view its pixel data."""
    import pydicom

    started, cpu = time.perf_counter(), time.process_time()
    for path in paths:
        ds = pydicom.dcmread(path)
        np.frombuffer(ds.PixelData, dtype="<i2")
    return time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--repeat", type=int, default=3, help="pipeline runs (fresh series each time); the median is printed")
    args = parser.parse_args()

    with throwaway_environment("nbnm-bench-pipeline-") as work:
        _run(args, work)


def _run(args: argparse.Namespace, work: Path) -> None:
    import django

    django.setup()
    from django.core.files.storage import default_storage

    from imaging.models import Series
    from imaging.pipeline import series_step_run, step_names
    from imaging.services import ingest as ingest_module
    from imaging.services.prepare import IncomingFile
    from imaging.volume import run_cache

    site = bench_site()
    ingest_module._queue_pipelines = lambda ids: None  # the steps are run and timed one by one below

    steps = step_names()
    timings: dict[str, list[float]] = {name: [] for name in steps}
    cpu_timings: dict[str, list[float]] = {name: [] for name in steps}
    anchors: list[tuple[float, float]] = []
    parsed: list[tuple[float, float]] = []
    for run in range(args.repeat):
        patient = consented_child(site)
        paths = pet_files(patient, seed=100 + run, slices=args.slices, size=args.size, folder=work / f"in-{run}")
        ingest_module.ingest(actor=site.user, patient=patient, source="command", files=[IncomingFile(p.name, p) for p in paths])
        series = Series.objects.get(study__patient=patient)
        stored = [Path(default_storage.path(k)) for k in series.instances.values_list("storage_key", flat=True)]
        anchors.append(_numpy_load(stored, args.size, args.size))
        parsed.append(_pydicom_load(stored))
        with run_cache():  # as imaging.pipeline.pipeline_run: the steps share one read of each stored file
            for name in steps:
                started, cpu = time.perf_counter(), time.process_time()
                outcome = series_step_run(series_id=series.pk, step=name)
                timings[name].append(time.perf_counter() - started)
                cpu_timings[name].append(time.process_time() - cpu)
                if outcome not in ("done", "already done"):  # the ingest itself does the index step
                    series.refresh_from_db()
                    raise SystemExit(f"step {name}: {outcome} {series.pipeline_error}")
        series.refresh_from_db()
        print(f"run {run + 1}: " + ", ".join(f"{s['name']} {s['result']}" for s in _results(series)), file=sys.stderr)

    _report(args, "wall clock", timings, [a[0] for a in anchors], [p[0] for p in parsed])
    # CPU seconds of this process: on a shared machine they move much less with the load than the wall clock.
    _report(args, "CPU time", cpu_timings, [a[1] for a in anchors], [p[1] for p in parsed])


def _report(args: argparse.Namespace, clock: str, timings: dict[str, list[float]], anchors: list[float],
            parsed: list[float]) -> None:
    anchor = statistics.median(anchors)
    total = sum(statistics.median(v) for v in timings.values())
    print(f"\nSynthetic PET series: {args.slices} slices of {args.size}x{args.size} (int16), median of {args.repeat} runs, {clock}")
    print(f"{'step':<10} {'seconds':>8} {'x numpy load':>13}")
    for name, values in timings.items():
        m = statistics.median(values)
        print(f"{name:<10} {m:8.3f} {m / anchor:13.1f}")
    print(f"{'total':<10} {total:8.3f} {total / anchor:13.1f}")
    print(f"{'numpy load':<10} {anchor:8.3f} {1.0:13.1f}   (read {args.slices} stored files, view the pixel data, stack as float32)")
    pydicom_s = statistics.median(parsed)
    print(f"{'pydicom':<10} {pydicom_s:8.3f} {pydicom_s / anchor:13.1f}   (pydicom parse of the same files, pixel data viewed)")
    analysis = total - statistics.median(timings["index"])
    print(f"analysis steps (every step after index) / numpy load: {analysis / anchor:.1f} (target <= 5); "
          f"/ pydicom parse: {analysis / pydicom_s:.1f}; per run, analysis / numpy load: "
          + ", ".join(f"{(sum(v[r] for k, v in timings.items() if k != 'index')) / anchors[r]:.1f}" for r in range(len(anchors))))


def _results(series):  # type: ignore[no-untyped-def]
    from imaging.pipeline import step_states

    return step_states(series)


if __name__ == "__main__":
    main()
