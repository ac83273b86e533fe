"""WADO-RS series metadata benchmark: the /metadata answer of a 300-slice PET built from the files (before the cache)
and from the series' metadata cache (imaging/dicomweb/metadata_cache.py), in the same run, beside numpy loading the
same files (the anchor of bench/pipeline.py). Also the cost of one /frames answer (one instance read and decoded).

    .venv/bin/python bench/wado.py [--slices 300] [--size 128] [--repeat 5]

Own throw-away SQLite database and media folder under a temporary directory; everything runs in-process (the view
adds a json.dumps of the answer, which is timed here too). Storage is the filesystem; on S3 the warm answer is one GET.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pipeline import _numpy_load  # noqa: E402
from bench.site import bench_site, consented_child, pet_files, throwaway_environment  # noqa: E402


def _median(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print where the warm answer's time goes (cProfile)")
    args = parser.parse_args()
    with throwaway_environment("nbnm-bench-wado-") as work:
        _run(args, work)


def _run(args: argparse.Namespace, work: Path) -> None:
    import django

    django.setup()
    from django.core.files.storage import default_storage

    from imaging import storage
    from imaging.dicomweb import metadata_cache, wado
    from imaging.models import Instance, Series
    from imaging.services import ingest as ingest_module
    from imaging.services.prepare import IncomingFile
    from imaging.volume import open_bytes, run_cache

    site = bench_site()
    ingest_module._queue_pipelines = lambda ids: None  # no pipeline: the cache is written (or not) by this script
    patient = consented_child(site)
    paths = pet_files(patient, seed=11, slices=args.slices, size=args.size, folder=work / "in")
    ingest_module.ingest(actor=site.user, patient=patient, source="command", files=[IncomingFile(p.name, p) for p in paths])
    series = Series.objects.get(study__patient=patient)
    qs = Instance.objects.filter(series=series).select_related("series__study")
    stored = [Path(default_storage.path(k)) for k in qs.values_list("storage_key", flat=True)]
    base = "http://bench/dicomweb"
    blob = metadata_cache.blob_key(series.pk)

    def answer(fn: Callable[..., Any]) -> bytes:
        return json.dumps(fn(qs, base)).encode()

    def cold() -> None:
        storage.delete(blob) if storage.exists(blob) else None
        answer(wado.metadata)

    anchor = _median(lambda: _numpy_load(stored, args.size, args.size), args.repeat)
    files = _median(lambda: answer(wado.metadata_from_files), args.repeat)
    cold_s = _median(cold, args.repeat)
    warm_s = _median(lambda: answer(wado.metadata), args.repeat)
    assert json.loads(answer(wado.metadata)) == json.loads(answer(wado.metadata_from_files))

    def pipeline_warm() -> None:  # the pipeline's hook: the run has the bytes already
        storage.delete(blob) if storage.exists(blob) else None
        with run_cache():
            for inst in qs:
                open_bytes(inst.storage_key)
            started = time.perf_counter()
            metadata_cache.warm(series)
            hook.append(time.perf_counter() - started)

    if args.profile:
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.runcall(answer, wado.metadata)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(18)
        storage.delete(blob)
        profile = cProfile.Profile()
        profile.runcall(answer, wado.metadata)
        pstats.Stats(profile).sort_stats("tottime").print_stats(12)
    hook: list[float] = []
    for _ in range(args.repeat):
        pipeline_warm()
    instances = list(qs.order_by("instance_number"))
    frame_s = _median(lambda: [wado.frames(inst, "1") for inst in instances[:50]], args.repeat) / 50
    size = len(storage.read(blob))

    print(f"\nWADO-RS series metadata: synthetic PET, {args.slices} slices of {args.size}x{args.size}, median of {args.repeat}")
    print(f"{'':<34} {'seconds':>8} {'x numpy load':>13}")
    rows = [("from the files (before the cache)", files), ("cache cold (files read, blob written)", cold_s),
            ("cache warm (one blob read)", warm_s), ("pipeline hook (bytes in the run)", statistics.median(hook)),
            ("numpy load (anchor)", anchor), ("one /frames answer (per frame)", frame_s)]
    for name, seconds in rows:
        print(f"{name:<38} {seconds:8.3f} {seconds / anchor:13.2f}")
    print(f"warm / files: {warm_s / files:.3f} ({files / warm_s:.0f}x faster); blob {size / 1024:.0f} KiB;"
          f" {args.slices} /frames requests one by one: {frame_s * args.slices:.2f} s of server time")


if __name__ == "__main__":
    main()
