// The viewer's data layer: series metadata (DICOM JSON) and frames (raw little-endian pixels) from the
// platform's own DICOMweb, a Cornerstone image loader ("nbweb:") and a metadata provider fed by them.
// No codecs: the server decodes; the browser only reinterprets bytes.

const TAG = {
  sop: '00080018', modality: '00080060', instanceNumber: '00200013', ipp: '00200032', iop: '00200037',
  frameOfReference: '00200052', pixelSpacing: '00280030', sliceThickness: '00180050', spacingBetween: '00180088',
  rows: '00280010', columns: '00280011', bitsAllocated: '00280100', pixelRepresentation: '00280103',
  slope: '00281053', intercept: '00281052', windowCenter: '00281050', windowWidth: '00281051',
  frames: '00280008', photometric: '00280004', samples: '00280002', detectorInfo: '00540022',
  sharedGroups: '52009229', perFrameGroups: '52009230', planePosition: '00209113', planeOrientation: '00209116',
  pixelMeasures: '00289110', pixelValueTransform: '00289145',
};

function values(ds, tag) {
  const element = ds && ds[tag];
  return element && Array.isArray(element.Value) ? element.Value : undefined;
}
function first(ds, tag, fallback) {
  const v = values(ds, tag);
  return v && v.length ? v[0] : fallback;
}
function numbers(ds, tag) {
  const v = values(ds, tag);
  return v ? v.map(Number) : undefined;
}
function item(ds, tag) {
  const v = values(ds, tag);
  return v && v.length ? v[0] : undefined;
}

const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

export const records = new Map(); // imageId -> frame record
let seriesCounter = 0;

export function frameUrl(rec) {
  const { root, study, series } = rec.where;
  return `${root}/studies/${encodeURIComponent(study)}/series/${encodeURIComponent(series)}/instances/${encodeURIComponent(rec.sop)}/frames/${rec.frame}`;
}

export class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

const RETRIES = 4;
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** GET with a few retries for transient failures: 5xx, 429 and a 400 that is not the API's JSON error (the
 * DICOMweb views answer bad requests with {"code", "message"}; anything else is the server or a proxy in the way). */
let requests = 0;
/** How many requests to the server are in flight. */
export const inflight = () => requests;

async function get(url, accept) {
  requests += 1;
  try { return await getWithRetries(url, accept); } finally { requests -= 1; }
}

async function getWithRetries(url, accept) {
  let response;
  for (let attempt = 0; ; attempt += 1) {
    try {
      response = await fetch(url, { headers: { Accept: accept }, credentials: 'same-origin' });
    } catch (error) {
      if (attempt >= RETRIES) throw error;
      await sleep(150 * 2 ** attempt);
      continue;
    }
    const json = (response.headers.get('Content-Type') || '').includes('json');
    const transient = response.status >= 500 || response.status === 429 || (response.status === 400 && !json);
    if (!transient || attempt >= RETRIES) return check(response);
    await sleep(150 * 2 ** attempt);
  }
}

async function check(response) {
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try { const body = await response.json(); message = body.message || body.detail || message; } catch (e) { /* not JSON */ }
    throw new HttpError(response.status, message);
  }
  return response;
}

/** The series' frames as records, sorted along the slice normal (superior/anterior/left first for the
 * usual orientations: descending position along row x column cosines), then instance and frame number. */
export async function loadSeries(root, study, seriesInfo) {
  const url = `${root}/studies/${encodeURIComponent(study)}/series/${encodeURIComponent(seriesInfo.seriesInstanceUID)}/metadata`;
  const response = await get(url, 'application/dicom+json');
  const instances = await response.json();
  const n = ++seriesCounter;
  const out = [];
  for (const ds of instances) {
    const shared = item(ds, TAG.sharedGroups);
    const perFrame = values(ds, TAG.perFrameGroups) || [];
    const detector = item(ds, TAG.detectorInfo);
    const count = Number(first(ds, TAG.frames, 1)) || 1;
    const sharedMeasures = shared && item(shared, TAG.pixelMeasures);
    const sharedOrientation = shared && item(shared, TAG.planeOrientation);
    const sharedTransform = shared && item(shared, TAG.pixelValueTransform);
    const iop = numbers(ds, TAG.iop) || (sharedOrientation && numbers(sharedOrientation, TAG.iop))
      || (detector && numbers(detector, TAG.iop)) || [1, 0, 0, 0, 1, 0];
    const ipp0 = numbers(ds, TAG.ipp) || (detector && numbers(detector, TAG.ipp)) || [0, 0, 0];
    const spacing = numbers(ds, TAG.pixelSpacing) || (sharedMeasures && numbers(sharedMeasures, TAG.pixelSpacing)) || [1, 1];
    const thickness = Number(first(ds, TAG.sliceThickness, undefined) ?? (sharedMeasures && first(sharedMeasures, TAG.sliceThickness)) ?? 1);
    const between = Number(first(ds, TAG.spacingBetween, undefined) ?? (sharedMeasures && first(sharedMeasures, TAG.spacingBetween)) ?? thickness);
    const slope = Number(first(ds, TAG.slope, undefined) ?? (sharedTransform && first(sharedTransform, TAG.slope)) ?? 1);
    const intercept = Number(first(ds, TAG.intercept, undefined) ?? (sharedTransform && first(sharedTransform, TAG.intercept)) ?? 0);
    const normal = cross(iop.slice(0, 3), iop.slice(3, 6));
    for (let f = 1; f <= count; f += 1) {
      const fg = perFrame[f - 1];
      const pos = fg && item(fg, TAG.planePosition);
      const ipp = (pos && numbers(pos, TAG.ipp)) || (count > 1
        ? ipp0.map((v, k) => v + (f - 1) * between * normal[k]) : ipp0);
      out.push({
        where: { root, study, series: seriesInfo.seriesInstanceUID },
        sop: first(ds, TAG.sop), frame: f, instanceNumber: Number(first(ds, TAG.instanceNumber, 0)),
        modality: first(ds, TAG.modality, seriesInfo.modality || 'OT'), frameOfReferenceUID: first(ds, TAG.frameOfReference, ''),
        rows: Number(first(ds, TAG.rows)), columns: Number(first(ds, TAG.columns)),
        bitsAllocated: Number(first(ds, TAG.bitsAllocated, 16)), signed: Number(first(ds, TAG.pixelRepresentation, 0)) === 1,
        samples: Number(first(ds, TAG.samples, 1)), photometric: first(ds, TAG.photometric, 'MONOCHROME2'),
        slope: Number.isFinite(slope) ? slope : 1, intercept: Number.isFinite(intercept) ? intercept : 0,
        windowCenter: numbers(ds, TAG.windowCenter), windowWidth: numbers(ds, TAG.windowWidth),
        ipp, iop, pixelSpacing: spacing, sliceThickness: thickness, normal, key: dot(ipp, normal),
        suvFactor: seriesInfo.suv ? Number(seriesInfo.suv.factor) : null,
      });
    }
  }
  out.sort((a, b) => (b.key - a.key) || (a.instanceNumber - b.instanceNumber) || (a.frame - b.frame));
  return out.map((rec, index) => {
    rec.index = index;
    rec.imageId = `nbweb:${n}/${index}`;
    records.set(rec.imageId, rec);
    return rec;
  });
}

function boundaryOf(contentType) {
  const match = /boundary="?([^";]+)"?/i.exec(contentType || '');
  return match ? match[1] : null;
}

function indexOf(bytes, pattern, from) {
  outer: for (let i = from; i <= bytes.length - pattern.length; i += 1) {
    for (let j = 0; j < pattern.length; j += 1) if (bytes[i + j] !== pattern[j]) continue outer;
    return i;
  }
  return -1;
}

/** The first part of a multipart/related body (or the whole body when it is not multipart). */
export function firstPart(buffer, contentType) {
  const bytes = new Uint8Array(buffer);
  const boundary = boundaryOf(contentType);
  if (!boundary) return bytes;
  const enc = new TextEncoder();
  const start = indexOf(bytes, enc.encode(`--${boundary}`), 0);
  const headersEnd = indexOf(bytes, enc.encode('\r\n\r\n'), start);
  const end = indexOf(bytes, enc.encode(`\r\n--${boundary}`), headersEnd + 4);
  return bytes.subarray(headersEnd + 4, end < 0 ? bytes.length : end);
}

function typedPixels(rec, bytes) {
  const copy = bytes.slice().buffer; // aligned copy
  const bits = rec.bitsAllocated;
  if (rec.samples > 1 || bits === 8) return rec.signed ? new Int8Array(copy) : new Uint8Array(copy);
  if (bits === 32) return rec.signed ? new Int32Array(copy) : new Uint32Array(copy);
  return rec.signed ? new Int16Array(copy) : new Uint16Array(copy);
}

/** The stored (raw) pixels of one frame; fetched once. */
export function framePixels(rec) {
  if (!rec.pixels) {
    rec.pixels = (async () => {
      const response = await get(frameUrl(rec), 'multipart/related; type="application/octet-stream"');
      const raw = typedPixels(rec, firstPart(await response.arrayBuffer(), response.headers.get('Content-Type')));
      const rescaled = new Float32Array(raw.length);
      let min = Infinity; let max = -Infinity;
      for (let i = 0; i < raw.length; i += 1) {
        const v = raw[i] * rec.slope + rec.intercept;
        rescaled[i] = v;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      rec.raw = raw; rec.rescaled = rescaled; rec.min = min; rec.max = max;
      return rec;
    })();
    rec.pixels.catch(() => { rec.pixels = null; });
  }
  return rec.pixels;
}

/** The value of one pixel: stored, rescaled (slope x stored + intercept, in double precision) and SUV. */
export function pixelValue(rec, column, row) {
  const raw = rec.raw[row * rec.columns + column];
  const rescaled = raw * rec.slope + rec.intercept;
  return { raw, rescaled, suv: rec.suvFactor ? rec.suvFactor * rescaled : null };
}

// Cornerstone image loader: the image holds the rescaled values (Float32), so it is "pre-scaled".
export function loadImage(imageId) {
  const rec = records.get(imageId);
  const promise = (async () => {
    if (!rec) throw new Error(`unknown image ${imageId}`);
    await framePixels(rec);
    const data = rec.rescaled;
    const center = rec.windowCenter ? rec.windowCenter[0] : (rec.max + rec.min) / 2;
    const width = rec.windowWidth ? rec.windowWidth[0] : Math.max(rec.max - rec.min, 1);
    return {
      imageId, rows: rec.rows, columns: rec.columns, height: rec.rows, width: rec.columns,
      color: false, rgba: false, numberOfComponents: 1, dataType: 'Float32Array',
      minPixelValue: rec.min, maxPixelValue: rec.max, slope: 1, intercept: 0,
      windowCenter: center, windowWidth: width, voiLUTFunction: 'LINEAR',
      getPixelData: () => data, getCanvas: undefined,
      columnPixelSpacing: rec.pixelSpacing[1], rowPixelSpacing: rec.pixelSpacing[0], sliceThickness: rec.sliceThickness,
      invert: rec.photometric === 'MONOCHROME1', photometricInterpretation: 'MONOCHROME2',
      sizeInBytes: data.byteLength, FrameOfReferenceUID: rec.frameOfReferenceUID,
      isPreScaled: true,
      preScale: { enabled: true, scaled: true, scalingParameters: { modality: rec.modality, rescaleSlope: 1, rescaleIntercept: 0 } },
    };
  })();
  return { promise, cancelFn: undefined, decache: undefined };
}

// Cornerstone metadata provider for the "nbweb:" image ids.
export function provideMetadata(type, imageId) {
  const rec = typeof imageId === 'string' ? records.get(imageId) : undefined;
  if (!rec) return undefined;
  switch (type) {
    case 'imagePlaneModule':
      return {
        frameOfReferenceUID: rec.frameOfReferenceUID, rows: rec.rows, columns: rec.columns,
        imageOrientationPatient: rec.iop, rowCosines: rec.iop.slice(0, 3), columnCosines: rec.iop.slice(3, 6),
        imagePositionPatient: rec.ipp, sliceThickness: rec.sliceThickness, sliceLocation: rec.key,
        pixelSpacing: rec.pixelSpacing, rowPixelSpacing: rec.pixelSpacing[0], columnPixelSpacing: rec.pixelSpacing[1],
        usingDefaultValues: false,
      };
    case 'imagePixelModule':
      return {
        samplesPerPixel: 1, photometricInterpretation: 'MONOCHROME2', rows: rec.rows, columns: rec.columns,
        bitsAllocated: 32, bitsStored: 32, highBit: 31, pixelRepresentation: 1,
      };
    case 'generalSeriesModule':
      return { modality: rec.modality, seriesInstanceUID: rec.where.series, studyInstanceUID: rec.where.study };
    case 'generalImageModule':
      return { instanceNumber: rec.instanceNumber, sopInstanceUID: rec.sop };
    case 'sopCommonModule':
      return { sopInstanceUID: rec.sop, sopClassUID: '' };
    case 'modalityLutModule':
      return { rescaleSlope: 1, rescaleIntercept: 0, rescaleType: '' };
    case 'voiLutModule':
      return rec.windowCenter && rec.windowWidth ? { windowCenter: rec.windowCenter, windowWidth: rec.windowWidth } : {};
    case 'generalStudyModule':
      return { studyInstanceUID: rec.where.study };
    case 'imageUrlModule':
      return { rendered: frameUrl(rec) };
    default:
      return undefined;
  }
}
