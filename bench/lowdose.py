"""Low-dose pair evaluation benchmark (issue 18): the metrics of one 300-slice 192x192 pair, beside the time the bare
scikit-image calls take for the same NRMSE, PSNR and SSIM on the same arrays in the same run.

    .venv/bin/python bench/lowdose.py [--slices 300] [--size 192] [--repeat 1] [--shift]

What is timed: nucmed.image_similarity (body mask, NRMSE, PSNR, SSIM in the mask), the whole-body SUVmax bias, three
lesion VOIs' SUV bias (PERCIST SUVpeak) and the liver SNR/CV, plus, with --shift, the resampling of a test grid offset
by half a voxel (imaging.lowdose.evaluation.on_reference_grid), and with --register, the rigid registration of the
low-dose volume filed in another frame of reference (turned 2 degrees about z and 1 about x, moved (13.6, -8.8, 6.8) mm:
nucmed.registration, SimpleITK) alone and as part of the whole evaluation of that pair. Not timed: reading the two series from storage and the
database (bench/pipeline.py measures series_volume's read). Targets: within 2x of the bare metrics; under 10 s a pair.
With --onnx, the demonstration model (imaging.enhancement.demo_model, a 3x3x3 mean) run by ONNX Runtime on the CPU on the
low-dose volume through imaging.enhancement.runtime.run (session, normalisation and its inverse), beside scipy's
uniform_filter (the same filter) on the same volume in the same run.
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
    parser.add_argument("--register", action="store_true", help="also time the rigid registration of the pair in another frame")
    parser.add_argument("--onnx", action="store_true", help="also time the demonstration model on ONNX Runtime (CPU) beside scipy")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from skimage.metrics import normalized_root_mse, peak_signal_noise_ratio, structural_similarity

    from imaging.lowdose.evaluation import on_reference_grid
    from imaging.volume import Volume
    from nucmed import image_similarity as sim
    from nucmed import registration, voi

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

    # The other frame: a point at x (reference mm) is at motion @ x in the test's frame; the test's pixels are the low-dose
    # volume's, so its affine is motion @ affine and the registration should find `motion` itself.
    motion = np.eye(4)
    a, b = np.radians(2.0), np.radians(1.0)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    motion[:3, :3], motion[:3, 3] = rz @ rx, [13.6, -8.8, 6.8]  # (3.4, -2.2, 1.7) voxels
    found: list[registration.RigidTransform] = []

    def register() -> None:
        found.append(registration.register_rigid(ref32, affine, low32, motion @ affine))

    def evaluation_registered() -> None:
        transform = registration.register_rigid(ref32, affine, low32, motion @ affine)
        vol = Volume(data=ref32, affine=affine, positions_mm=[], pixel_spacing=(4.0, 4.0), slice_spacing=4.0, instance_ids=[])
        other = Volume(data=low32, affine=motion @ affine, positions_mm=[], pixel_spacing=(4.0, 4.0), slice_spacing=4.0, instance_ids=[])
        test, _ = on_reference_grid(vol, other, transform.matrix)
        mask = sim.body_mask(ref)
        sim.image_similarity(ref, test, mask)
        sim.bias_percent(float(ref[mask].max()), float(test[mask].max()))
        for centre in centres:
            sim.voi_bias(ref, test, voi.sphere_mask(ref.shape, affine, centre, 20.0), affine)

    steps = [("bare scikit-image metrics", bare), ("evaluation (nucmed + lowdose)", evaluation)]
    if args.register:
        steps += [("registration (nucmed.registration)", register), ("evaluation, registered pair", evaluation_registered)]
    if args.onnx:
        from scipy.ndimage import uniform_filter

        from imaging.enhancement import demo_model, runtime

        graph = demo_model.mean_filter_onnx()
        steps += [("ONNX Runtime, demo model, one series", lambda: runtime.run(graph, low32, normalisation="body_mean", mask_fraction=0.05,
                                                                               suv_factor=None)),
                  ("scipy uniform_filter (same filter)", lambda: uniform_filter(low32, size=3, mode="constant"))]
    results = {}
    for name, fn in steps:
        times, cpu = [], []
        for _ in range(args.repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            fn()
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        results[name] = statistics.median(times)
        print(f"{name:36s} {results[name]:7.2f} s (median of {args.repeat}; CPU {statistics.median(cpu):.2f} s, all threads)")
    ratio = results["evaluation (nucmed + lowdose)"] / results["bare scikit-image metrics"]
    print(f"ratio evaluation / bare: {ratio:.2f} (target <= 2); pair under 10 s: {results['evaluation (nucmed + lowdose)'] < 10}")
    if args.onnx:
        print(f"ratio ONNX Runtime / scipy: {results['ONNX Runtime, demo model, one series'] / results['scipy uniform_filter (same filter)']:.2f} "
              f"(provider {runtime.providers()[0]})")
    if args.register:
        # How far the found transform is from the motion built in, over the body's extent (the reference grid's corners).
        shape_ijk = np.array([args.size - 1, args.size - 1, args.slices - 1], dtype=float)
        corners = np.array([[*(affine @ np.array([*(shape_ijk * np.array(c)), 1.0]))[:3], 1.0]
                            for c in np.ndindex(2, 2, 2)])
        error = np.abs(corners @ found[-1].matrix.T - corners @ motion.T)[:, :3].max()
        registered = results["evaluation, registered pair"]
        print(f"ratio registration / bare: {results['registration (nucmed.registration)'] / results['bare scikit-image metrics']:.2f}; "
              f"registered pair / bare: {registered / results['bare scikit-image metrics']:.2f}")
        print(f"registration error: {error:.2f} mm at the field of view's corners (voxel 4 mm); rotation found "
              f"{[round(v, 2) for v in found[-1].rotation_deg]} degrees (built in: 1, 0, 2); registered pair under 10 s: {registered < 10}")


if __name__ == "__main__":
    main()
