// Measurement statistics computed from the frames' rescaled values (not from the rendered texture).
import { framePixels } from './data.js';

// Radius of a 1 cm3 sphere: (3 / (4 pi))^(1/3) cm = 6.20 mm.
export const PEAK_RADIUS_MM = 10 * Math.cbrt(3 / (4 * Math.PI));

/** Pixels [column,row] inside an ellipse or rectangle given by its image-space bounding box corners. */
export function roiPixels(rec, shape, corners) {
  const xs = corners.map((p) => p[0]);
  const ys = corners.map((p) => p[1]);
  const x0 = Math.min(...xs); const x1 = Math.max(...xs);
  const y0 = Math.min(...ys); const y1 = Math.max(...ys);
  const cx = (x0 + x1) / 2; const cy = (y0 + y1) / 2;
  const rx = (x1 - x0) / 2; const ry = (y1 - y0) / 2;
  const out = [];
  for (let row = Math.max(0, Math.floor(y0)); row <= Math.min(rec.rows - 1, Math.ceil(y1)); row += 1) {
    for (let col = Math.max(0, Math.floor(x0)); col <= Math.min(rec.columns - 1, Math.ceil(x1)); col += 1) {
      // pixel centres are at integer coordinates + 0.5 in Cornerstone's image space
      const px = col + 0.5; const py = row + 0.5;
      const inside = shape === 'ellipse'
        ? (rx > 0 && ry > 0 && ((px - cx) / rx) ** 2 + ((py - cy) / ry) ** 2 <= 1)
        : (px >= x0 && px <= x1 && py >= y0 && py <= y1);
      if (inside) out.push([col, row]);
    }
  }
  return out;
}

/** mean, max, area (mm2), pixel count; with an SUV factor also SUVmax, SUVmean and SUVpeak. */
export async function roiStatistics(stack, rec, pixels) {
  const values = rec.rescaled;
  let sum = 0; let max = -Infinity; let at = null;
  for (const [col, row] of pixels) {
    const v = values[row * rec.columns + col];
    sum += v;
    if (v > max) { max = v; at = [col, row]; }
  }
  const n = pixels.length;
  const stats = {
    pixels: n, mean: n ? sum / n : null, max: n ? max : null,
    area_mm2: n * rec.pixelSpacing[0] * rec.pixelSpacing[1],
  };
  if (rec.suvFactor && n) {
    stats.suv_max = rec.suvFactor * stats.max;
    stats.suv_mean = rec.suvFactor * stats.mean;
    stats.suv_peak = rec.suvFactor * await sphereMean(stack, rec, at);
  }
  return stats;
}

/** Mean rescaled value of the voxels whose centres lie within a 1 cm3 sphere centred on voxel `at` of `rec`
 * (neighbouring slices of the same stack included; their pixels are fetched if not yet loaded). */
export async function sphereMean(stack, rec, at) {
  const centre = worldOf(rec, at[0], at[1]);
  const r = PEAK_RADIUS_MM;
  const near = stack.filter((s) => Math.abs(s.key - rec.key) <= r + 1e-6 && s.rows === rec.rows && s.columns === rec.columns);
  await Promise.all(near.map(framePixels));
  let sum = 0; let n = 0;
  const dr = Math.ceil(r / rec.pixelSpacing[0]); const dc = Math.ceil(r / rec.pixelSpacing[1]);
  for (const s of near) {
    for (let row = Math.max(0, at[1] - dr); row <= Math.min(s.rows - 1, at[1] + dr); row += 1) {
      for (let col = Math.max(0, at[0] - dc); col <= Math.min(s.columns - 1, at[0] + dc); col += 1) {
        const p = worldOf(s, col, row);
        const d2 = (p[0] - centre[0]) ** 2 + (p[1] - centre[1]) ** 2 + (p[2] - centre[2]) ** 2;
        if (d2 <= r * r + 1e-9) { sum += s.rescaled[row * s.columns + col]; n += 1; }
      }
    }
  }
  return n ? sum / n : null;
}

/** Patient coordinates (mm) of a pixel centre (DICOM PS3.3 C.7.6.2.1.1). */
export function worldOf(rec, col, row) {
  const [r0, r1, r2, c0, c1, c2] = rec.iop;
  const [dy, dx] = rec.pixelSpacing;
  return [
    rec.ipp[0] + r0 * dx * col + c0 * dy * row,
    rec.ipp[1] + r1 * dx * col + c1 * dy * row,
    rec.ipp[2] + r2 * dx * col + c2 * dy * row,
  ];
}
