"""Low-dose pair evaluation benchmark (issue 18): the metrics of one 300-slice 192x192 pair, beside the time the bare
scikit-image calls take for the same NRMSE, PSNR and SSIM on the same arrays in the same run.

    .venv/bin/python bench/lowdose.py [--slices 300] [--size 192] [--repeat 1] [--shift]

What is timed: nucmed.image_similarity (body mask, NRMSE, PSNR, SSIM in the mask), the whole-body SUVmax bias, three
lesion VOIs' SUV bias (PERCIST SUVpeak) and the liver SNR/CV, plus, with --shift, the resampling of a test grid offset
by half a voxel (imaging.lowdose.evaluation.on_reference_grid). Not timed: reading the two series from storage and the
database (bench/pipeline.py measures series_volume's read). Targets: within 2x of the bare metrics; under 10 s a pair.
No ONNX figure: the enhancement step is not built.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _phantom(slices: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float, float]]]:
    """A reference SUV volume (body 1, liver 2, three spheres 6-10, 4 mm voxels), its one-sixth-count version, lesion centres."""
    k, j, i = np.ogrid[:slices, :size, :size]
    body = ((j - size / 2) / (size * 0.4)) ** 2 + ((i - size / 2) / (size * 0.45)) ** 2 <= 1.0
    ref = np.where(body, 1.0, 0.0).astype(np.float32)
    ref = np.broadcast_to(ref, (slices, size, size)).copy()
    ref[slices // 3: slices // 2, size // 3: size // 2, size // 2: 2 * size // 3] = 2.0  # the liver
    centres = []
    for n, (kk, jj, ii) in enumerate(((slices // 4, size // 2, size // 3), (slices // 2, size // 2 + 10, size // 2),
                                      (3 * slices // 4, size // 2 - 10, size // 2 + 15))):
        ref[(k - kk) ** 2 + (j - jj) ** 2 + (i - ii) ** 2 <= 9] = 6.0 + 2 * n
        centres.append((ii * 4.0, jj * 4.0, kk * 4.0))
    low = ref * (1.0 + np.float32(0.3 * np.sqrt(6)) * rng.standard_normal(ref.shape, dtype=np.float32))
    return ref, np.clip(low, 0, None), centres


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--shift", action="store_true", help="also resample a test grid offset by half a voxel")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from skimage.metrics import normalized_root_mse, peak_signal_noise_ratio, structural_similarity

    from imaging.lowdose.evaluation import on_reference_grid
    from imaging.volume import Volume
    from nucmed import image_similarity as sim
    from nucmed import voi

    rng = np.random.default_rng(18)
    ref32, low32, centres = _phantom(args.slices, args.size, rng)
    ref, low = ref32.astype(float), low32.astype(float)
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    print(f"pair: {args.slices} x {args.size} x {args.size} voxels, load average {os.getloadavg()[0]:.1f}")

    def bare() -> None:
        mask = ref > 0
        r, t = ref[mask], low[mask]
        data_range = float(r.max() - r.min())
        normalized_root_mse(r, t)
        peak_signal_noise_ratio(r, t, data_range=data_range)
        structural_similarity(ref, low, win_size=7, data_range=data_range)

    def evaluation() -> None:
        test = low
        if args.shift:
            moved = affine.copy()
            moved[:3, 3] = [2.0, 2.0, 2.0]
            vol = Volume(data=ref32, affine=affine, positions_mm=[], pixel_spacing=(4.0, 4.0), slice_spacing=4.0, instance_ids=[])
            shifted = Volume(data=low32, affine=moved, positions_mm=[], pixel_spacing=(4.0, 4.0), slice_spacing=4.0, instance_ids=[])
            test, _ = on_reference_grid(vol, shifted)
        mask = sim.body_mask(ref)
        sim.image_similarity(ref, test, mask)
        sim.bias_percent(float(ref[mask].max()), float(test[mask].max()))
        for centre in centres:
            sim.voi_bias(ref, test, voi.sphere_mask(ref.shape, affine, centre, 20.0), affine)
        liver = (args.size * 0.42 * 4.0, args.size * 0.42 * 4.0, args.slices * 0.42 * 4.0)
        sim.liver_noise(ref, test, affine, liver)

    results = {}
    for name, fn in (("bare scikit-image metrics", bare), ("evaluation (nucmed + lowdose)", evaluation)):
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        results[name] = statistics.median(times)
        print(f"{name:34s} {results[name]:7.2f} s (median of {args.repeat})")
    ratio = results["evaluation (nucmed + lowdose)"] / results["bare scikit-image metrics"]
    print(f"ratio evaluation / bare: {ratio:.2f} (target <= 2); pair under 10 s: {results['evaluation (nucmed + lowdose)'] < 10}")


if __name__ == "__main__":
    main()
