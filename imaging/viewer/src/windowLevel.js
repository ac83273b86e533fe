// Window/level drag. Cornerstone's tool treats a pre-scaled PT image as already in SUV (its drag moves the upper
// bound by 5 units over the element's height). Our images hold rescaled values (Bq/ml), SUV being factor x value,
// so the same gesture is made in SUV units here: 5 SUV over the height, converted back with the series' factor.
// Without a factor (or for other modalities) the generic width/centre drag applies.
import { WindowLevelTool } from '@cornerstonejs/tools';
import { records } from './data.js';

export const volumeFactors = new Map(); // volumeId -> SUV factor

function factorFor(viewport) {
  const imageId = viewport.getCurrentImageId?.();
  const rec = imageId && records.get(imageId);
  if (rec && rec.suvFactor) return rec.suvFactor;
  const volumeId = viewport.getVolumeId?.();
  return (volumeId && volumeFactors.get(volumeId)) || null;
}

export class SuvWindowLevelTool extends WindowLevelTool {
  getPTScaledNewRange({ deltaPointsCanvas, lower, upper, clientHeight, viewport, volumeId }) {
    const factor = factorFor(viewport);
    if (!factor) return this.getNewRange({ viewport, deltaPointsCanvas, volumeId, lower, upper });
    const multiplier = 5 / factor / clientHeight;
    const next = upper - deltaPointsCanvas[1] * multiplier;
    return { lower, upper: Math.max(next, lower + 0.1 / factor) };
  }
}
