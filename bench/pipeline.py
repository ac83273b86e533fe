"""Series pipeline benchmark: one synthetic 300-slice 192x192 PET series through index, SUV, dose and preview.

Prints the seconds of each step next to the time numpy alone takes to load the same pixel data from the
stored files (read the bytes, view the pixel data, stack as float32): the floor any step that touches
every pixel has to pay, in wall-clock and in CPU seconds. Target (issue 19): the analysis steps within 5 times the
numpy load, in the same run.

    .venv/bin/python bench/pipeline.py [--slices 300] [--size 192] [--repeat 7] [--profile]

It makes its own throw-away SQLite database and media folder under a temporary directory. Each of `--repeat` pairs
ingests a fresh series with the pipeline held back, reads its stored files once untimed (so both sides of the pair
read warm files from the page cache), then times the numpy anchor and the analysis steps one after the other, the
order alternating from pair to pair so that neither side always goes first. A machine shared with other work moves
both sides of a pair together: the ratio of each pair, and the median of those ratios, is the figure that holds.
CPU seconds are the process's (all its threads) plus any children's; the steps run in-process, as a Celery worker
runs them. Also timed, apart and outside the ratio: the WADO-RS metadata cache that pipeline_run writes after the steps.

`--profile` then runs the steps of one more series under cProfile and prints where their time goes.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.site import bench_site, consented_child, pet_files, throwaway_environment  # noqa: E402


@dataclass(frozen=True)
class Clock:
    """Wall and CPU seconds of one measured piece of work."""
    wall: float
    cpu: float


def _cpu() -> float:
    """CPU seconds of this process (every thread) and of its waited-for children: the pipeline's steps run in-process,
    so the children's share is expected to stay 0, and is counted should a step ever spawn a helper."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _timed(work: Callable[[], Any]) -> Clock:
    started, cpu = time.perf_counter(), _cpu()
    work()
    return Clock(time.perf_counter() - started, _cpu() - cpu)


def numpy_load(paths: list[Path], rows: int, cols: int) -> np.ndarray:
    """The anchor (docs/benchmarks.md, Anchors): read every stored file and stack its pixel data (the last element of
    these files, at a known offset from the end) as one float32 volume; no header is parsed."""
    n = rows * cols
    slices = []
    for path in paths:
        data = path.read_bytes()
        slices.append(np.frombuffer(data, dtype="<i2", count=n, offset=len(data) - 2 * n))
    return np.stack(slices).reshape(len(paths), rows, cols).astype(np.float32)


def pydicom_load(paths: list[Path]) -> None:
    """pydicom parsing every file and viewing its pixel data: the floor of a step that reads DICOM with pydicom."""
    import pydicom

    for path in paths:
        ds = pydicom.dcmread(path)
        np.frombuffer(ds.PixelData, dtype="<i2")


@dataclass
class Pair:
    anchor: Clock
    pydicom: Clock
    steps: dict[str, Clock] = field(default_factory=dict)
    metadata: Clock = Clock(0.0, 0.0)  # the WADO-RS metadata cache pipeline_run writes after the steps: not a step
    anchor_first: bool = True
    outcome: str = ""  # the steps' results, for the log

    def analysis(self, clock: str) -> float:
        """Seconds of every step after index (the ingest does the index step)."""
        return sum(getattr(c, clock) for name, c in self.steps.items() if name != "index")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--repeat", type=int, default=7, help="anchor/pipeline pairs, each on a fresh series")
    parser.add_argument("--profile", action="store_true", help="then profile the steps of one more series (cProfile)")
    args = parser.parse_args()

    with throwaway_environment("nbnm-bench-pipeline-") as work:
        _run(args, work)


def _run(args: argparse.Namespace, work: Path) -> None:
    import django

    django.setup()
    from imaging.services import ingest as ingest_module

    site = bench_site()
    ingest_module._queue_pipelines = lambda ids: None  # the steps are run and timed one by one below

    pairs: list[Pair] = []
    for run in range(args.repeat):
        pairs.append(_pair(site, args, work, run))
        print(f"pair {run + 1}: " + pairs[-1].outcome, file=sys.stderr)

    print(f"\nSynthetic PET series: {args.slices} slices of {args.size}x{args.size} (int16); {args.repeat} pairs of "
          "(numpy load, pipeline steps) on warm files, order alternating")
    _report_pairs(pairs)
    for clock in ("wall", "cpu"):
        _report_steps(pairs, clock)
    if args.profile:
        series, _ = _ingested(site, args, work, args.repeat)
        _profile(series.pk)


def _pair(site: Any, args: argparse.Namespace, work: Path, run: int) -> Pair:
    """One fresh series: the numpy anchor and its analysis steps on its warm files, the anchor first in even pairs.

    The steps run inside one run_cache, as imaging.pipeline.pipeline_run runs them. Each side is timed with the other's
    arrays freed: an anchor timed inside the run_cache, beside the run's 44 MB volume and 23 MB of bytes, took up to ten
    times its usual CPU (kernel time of its page faults), and once did right after the metadata cache below.
    pipeline_run then writes the series' WADO-RS metadata cache from the bytes the steps read: that is timed last, in a
    run_cache of its own (one more read of the files, about the anchor's time, against its second or so of parsing)."""
    from imaging.dicomweb import metadata_cache
    from imaging.volume import run_cache

    series, stored = _ingested(site, args, work, run)

    def anchor() -> Clock:
        gc.collect()  # before each side: neither pays for the other's (or the ingest's) garbage
        return _timed(lambda: numpy_load(stored, args.size, args.size))

    numpy_load(stored, args.size, args.size)  # untimed: every file warm in the page cache for both sides
    anchor_first = run % 2 == 0
    first = anchor() if anchor_first else None
    gc.collect()
    with run_cache():  # the steps share one read of each stored file
        steps = _steps_timed(series.pk)
    second = anchor() if first is None else first
    gc.collect()
    with run_cache():
        metadata = _timed(lambda: metadata_cache.warm(series))
    parsed = _timed(lambda: pydicom_load(stored))
    series.refresh_from_db()
    outcome = ", ".join(f"{s['name']} {s['result']}" for s in _results(series))
    return Pair(anchor=second, pydicom=parsed, steps=steps, metadata=metadata, anchor_first=anchor_first, outcome=outcome)


def _ingested(site: Any, args: argparse.Namespace, work: Path, run: int) -> tuple[Any, list[Path]]:
    """A fresh series of `args.slices` slices filed by the ingest (its index step done), and its stored files."""
    from django.core.files.storage import default_storage

    from imaging.models import Series
    from imaging.services import ingest as ingest_module
    from imaging.services.prepare import IncomingFile

    patient = consented_child(site)
    paths = pet_files(patient, seed=100 + run, slices=args.slices, size=args.size, folder=work / f"in-{run}")
    ingest_module.ingest(actor=site.user, patient=patient, source="command", files=[IncomingFile(p.name, p) for p in paths])
    series = Series.objects.get(study__patient=patient)
    stored = [Path(default_storage.path(k)) for k in series.instances.values_list("storage_key", flat=True)]
    return series, stored


def _steps_timed(series_id: int) -> dict[str, Clock]:
    """Each step of one series' pipeline, timed (inside the caller's run_cache)."""
    from imaging.pipeline import series_step_run, step_names

    steps: dict[str, Clock] = {}
    for name in step_names():
        started, cpu = time.perf_counter(), _cpu()
        outcome = series_step_run(series_id=series_id, step=name)
        steps[name] = Clock(time.perf_counter() - started, _cpu() - cpu)
        if outcome not in ("done", "already done"):  # the ingest itself does the index step
            raise SystemExit(f"step {name}: {outcome}")
    return steps


def _report_pairs(pairs: list[Pair]) -> None:
    print(f"\n{'pair':<5} {'first':<7} {'anchor wall':>11} {'steps wall':>10} {'ratio':>6} {'anchor CPU':>10} {'steps CPU':>9} {'ratio':>6}")
    for n, p in enumerate(pairs, 1):
        print(f"{n:<5} {'numpy' if p.anchor_first else 'steps':<7} {p.anchor.wall:11.4f} {p.analysis('wall'):10.4f} "
              f"{p.analysis('wall') / p.anchor.wall:6.2f} {p.anchor.cpu:10.4f} {p.analysis('cpu'):9.4f} {p.analysis('cpu') / p.anchor.cpu:6.2f}")
    for clock in ("wall", "cpu"):
        ratios = [p.analysis(clock) / getattr(p.anchor, clock) for p in pairs]
        anchor = statistics.median(getattr(p.anchor, clock) for p in pairs)
        analysis = statistics.median(p.analysis(clock) for p in pairs)
        print(f"{clock:>4}: analysis steps {analysis:.4f} s, numpy load {anchor:.4f} s (medians); median of the pairs' "
              f"ratios {statistics.median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f}; target <= 5)")


def _report_steps(pairs: list[Pair], clock: str) -> None:
    """Median seconds of each step (and of the two anchors) across the pairs, and each as a ratio to the numpy load."""
    anchor = statistics.median(getattr(p.anchor, clock) for p in pairs)
    print(f"\n{'wall clock' if clock == 'wall' else 'CPU time'}, medians of {len(pairs)} pairs")
    print(f"{'step':<10} {'seconds':>8} {'x numpy load':>13}")
    for name in pairs[0].steps:
        m = statistics.median(getattr(p.steps[name], clock) for p in pairs)
        print(f"{name:<10} {m:8.4f} {m / anchor:13.2f}")
    print(f"{'numpy load':<10} {anchor:8.4f} {1.0:13.2f}   (read the stored files, view the pixel data, stack as float32)")
    parsed = statistics.median(getattr(p.pydicom, clock) for p in pairs)
    print(f"{'pydicom':<10} {parsed:8.4f} {parsed / anchor:13.2f}   (pydicom parse of the same files, pixel data viewed)")
    warm = statistics.median(getattr(p.metadata, clock) for p in pairs)
    print(f"{'metadata':<10} {warm:8.4f} {warm / anchor:13.2f}   (after the steps, not one: pipeline_run writes the series' "
          "WADO-RS metadata cache: a walk of every header, each distinct element converted once)")


def _profile(series_id: int) -> None:
    """cProfile of the steps of one series: the functions with the most time of their own, then by cumulative time."""
    from imaging.volume import run_cache

    profiler = cProfile.Profile()
    with run_cache():
        profiler.enable()
        _steps_timed(series_id)
        profiler.disable()
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(25)
        print(f"\nProfile of one series' steps, by {order}:\n" + out.getvalue())


def _results(series):  # type: ignore[no-untyped-def]
    from imaging.pipeline import step_states

    return step_states(series)


if __name__ == "__main__":
    main()
