// The platform's diagnostic viewer: Cornerstone3D fed by the platform's own DICOMweb (see README.md).
import {
  init as coreInit, RenderingEngine, Enums, imageLoader, metaData, volumeLoader, setVolumesForViewports,
  utilities as csUtils, cache, eventTarget,
} from '@cornerstonejs/core';
import {
  init as toolsInit, addTool, ToolGroupManager, WindowLevelTool, PanTool, ZoomTool, StackScrollTool, LengthTool,
  EllipticalROITool, RectangleROITool, Enums as ToolEnums, annotation as annotationApi,
} from '@cornerstonejs/tools';
import { translator } from './i18n.js';
import { loadSeries, loadImage, provideMetadata, framePixels, pixelValue, records, inflight } from './data.js';
import { roiPixels, roiStatistics } from './stats.js';
import { SuvWindowLevelTool, volumeFactors } from './windowLevel.js';

const { MouseBindings, Events: ToolEvents } = ToolEnums;
const STACK_TOOLS = { windowLevel: SuvWindowLevelTool, length: LengthTool, ellipse: EllipticalROITool, rectangle: RectangleROITool };
const ENGINE_ID = 'nb-engine';
const STACK_GROUP = 'nb-stack-tools';
const VOLUME_GROUP = 'nb-volume-tools';
const PREFETCH_CONCURRENCY = 4;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

const fmt = (v, digits = 3) => (v === null || v === undefined || Number.isNaN(v) ? '–'
  : Math.abs(v) >= 1000 ? String(Math.round(v))
    : (Math.abs(v) < 0.01 && v !== 0) ? Number(v).toPrecision(digits + 1) : Number(v).toFixed(digits));

function csrfToken() {
  const match = document.cookie.split(';').map((c) => c.trim()).find((c) => c.startsWith('csrftoken='));
  return match ? decodeURIComponent(match.slice('csrftoken='.length)) : '';
}

class Viewer {
  constructor(root, config, stacks) {
    this.root = root;
    this.config = config;
    this.t = translator(config.lang);
    this.stacks = stacks; // seriesInstanceUID -> sorted frame records (or the promise of them)
    this.current = null; // series info
    this.mode = 'stack';
    this.measurements = [];
    this.firstImageMs = null;
    this.ready = new Promise((resolve, reject) => { this.resolveReady = resolve; this.rejectReady = reject; });
    this.ready.catch(() => {}); // shown on the page; a test awaiting `ready` still sees the rejection
    this.tool = 'windowLevel';
  }

  // ---- layout -------------------------------------------------------------------------------
  build() {
    const t = this.t;
    this.seriesList = el('ul', { class: 'nbv-series', 'aria-label': t('series') });
    for (const s of this.config.series) {
      const button = el('button', {
        type: 'button', 'data-series': s.seriesInstanceUID, 'data-testid': 'viewer-series',
        onclick: () => this.showSeries(s),
      }, el('span', { class: 'nbv-modality', text: s.modality }), el('span', { text: ` ${s.label || ''}` }));
      this.seriesList.append(el('li', {}, button));
    }
    this.toolButtons = {};
    const toolbar = el('div', { class: 'nbv-toolbar', role: 'toolbar', 'aria-label': t('tools') });
    for (const key of ['windowLevel', 'length', 'ellipse', 'rectangle']) {
      this.toolButtons[key] = el('button', { type: 'button', 'data-tool': key, onclick: () => this.setTool(key), text: t(key) });
      toolbar.append(this.toolButtons[key]);
    }
    this.presetSelect = el('select', { 'aria-label': t('preset'), 'data-testid': 'viewer-preset', onchange: () => this.applyPreset(this.presetSelect.value) });
    toolbar.append(this.presetSelect, el('button', { type: 'button', 'data-testid': 'viewer-reset', onclick: () => this.reset(), text: t('reset') }));
    this.modeSelect = el('select', { 'aria-label': t('mode'), 'data-testid': 'viewer-mode', onchange: () => this.setMode(this.modeSelect.value) });
    toolbar.append(this.modeSelect);
    this.opacity = el('input', { type: 'range', min: '0', max: '1', step: '0.05', value: '0.5', 'aria-label': t('opacity'), 'data-testid': 'viewer-opacity', hidden: true, oninput: () => this.applyOpacity() });
    toolbar.append(this.opacity);

    this.viewports = el('div', { class: 'nbv-viewports' });
    this.slider = el('input', { type: 'range', min: '0', max: '0', value: '0', class: 'nbv-slider', 'aria-label': t('slice'), 'data-testid': 'viewer-slider', oninput: () => this.scrollTo(Number(this.slider.value)) });
    this.probeLine = el('div', { class: 'nbv-probe', 'data-testid': 'viewer-probe', 'aria-live': 'polite' });
    this.status = el('div', { class: 'nbv-status', 'data-testid': 'viewer-status', role: 'status', text: t('loading') });
    this.measureList = el('div', { class: 'nbv-measurements', 'data-testid': 'viewer-measurements' },
      el('h4', { text: t('measurements') }), el('p', { class: 'nbv-hint', text: this.config.measurements ? t('noMeasurements') : t('readOnly') }));
    const main = el('div', { class: 'nbv-main' }, toolbar, this.viewports, this.slider, this.probeLine, this.status,
      el('p', { class: 'nbv-hint', text: t('keys') }), this.measureList);
    this.root.classList.add('nbv');
    this.root.replaceChildren(el('aside', { class: 'nbv-side' }, el('h4', { text: t('series') }), this.seriesList), main);
    this.refreshModes();
  }

  refreshModes() {
    const t = this.t;
    const options = [['stack', t('stack')]];
    const s = this.current;
    if (s) {
      options.push(['mpr', t('mpr')]);
      if (s.modality === 'PT' || s.modality === 'NM') options.push(['mip', t('mip')]);
    }
    if (this.fusionPair()) options.push(['fusion', t('fusion')]);
    this.modeSelect.replaceChildren(...options.map(([v, label]) => el('option', { value: v, text: label, selected: v === this.mode })));
  }

  fusionPair() {
    // a CT and a PT/NM series sharing a FrameOfReferenceUID (known once both series' metadata is read)
    const loaded = this.config.series.filter((s) => this.stacks.get(s.seriesInstanceUID)?.length);
    const forOf = (s) => this.stacks.get(s.seriesInstanceUID)[0].frameOfReferenceUID;
    for (const ct of loaded.filter((s) => s.modality === 'CT')) {
      const overlay = loaded.find((s) => (s.modality === 'PT' || s.modality === 'NM') && forOf(s) && forOf(s) === forOf(ct));
      if (overlay) return { ct, overlay };
    }
    return null;
  }

  // ---- Cornerstone set-up ---------------------------------------------------------------------
  async start() {
    this.build();
    await coreInit();
    toolsInit();
    imageLoader.registerImageLoader('nbweb', loadImage);
    metaData.addProvider(provideMetadata, 10000);
    for (const Tool of [SuvWindowLevelTool, PanTool, ZoomTool, StackScrollTool, LengthTool, EllipticalROITool, RectangleROITool]) addTool(Tool);
    this.engine = new RenderingEngine(ENGINE_ID);
    for (const type of [ToolEvents.ANNOTATION_COMPLETED, ToolEvents.ANNOTATION_MODIFIED]) {
      eventTarget.addEventListener(type, (evt) => this.onAnnotation(evt.detail.annotation, type === ToolEvents.ANNOTATION_COMPLETED));
    }
    eventTarget.addEventListener(ToolEvents.ANNOTATION_REMOVED, (evt) => this.dropMeasurement(evt.detail.annotation.annotationUID));
    if (!this.config.series.length) { this.status.textContent = this.t('failed'); this.rejectReady(new Error('no series')); return; }
    await this.showSeries(this.config.series[0]);
    // read the other series' metadata in the background so fusion can be offered
    Promise.all(this.config.series.map((s) => this.stackOf(s).catch(() => null))).then(() => this.refreshModes());
  }

  async stackOf(series) {
    if (!this.stacks.has(series.seriesInstanceUID)) {
      const loading = loadSeries(this.config.wadoRoot, this.config.studyInstanceUID, series);
      loading.catch(() => this.stacks.delete(series.seriesInstanceUID)); // a later attempt asks again
      this.stacks.set(series.seriesInstanceUID, loading);
    }
    const stack = await this.stacks.get(series.seriesInstanceUID);
    this.stacks.set(series.seriesInstanceUID, stack);
    return stack;
  }

  teardown() {
    for (const id of [STACK_GROUP, VOLUME_GROUP]) if (ToolGroupManager.getToolGroup(id)) ToolGroupManager.destroyToolGroup(id);
    for (const vp of this.engine.getViewports()) this.engine.disableElement(vp.id);
    this.viewports.replaceChildren();
    this.probeLine.textContent = '';
  }

  viewportElement(id, caption) {
    const element = el('div', { class: 'nbv-viewport', 'data-viewport': id, tabindex: '0', oncontextmenu: (e) => e.preventDefault() });
    const overlay = el('div', { class: 'nbv-overlay', 'data-testid': `viewer-overlay-${id}` });
    const box = el('div', { class: 'nbv-cell' }, element, overlay, caption ? el('div', { class: 'nbv-caption', text: caption }) : null);
    this.viewports.append(box);
    return { element, overlay };
  }

  async showSeries(series) {
    this.current = series;
    for (const b of this.seriesList.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.series === series.seriesInstanceUID));
    this.status.textContent = this.t('loading');
    let stack;
    try {
      stack = await this.stackOf(series);
    } catch (error) {
      this.status.textContent = `${this.t('failed')}: ${error.message}`;
      this.rejectReady(error);
      return;
    }
    this.stack = stack;
    this.mode = 'stack';
    this.refreshModes();
    await this.showStack();
  }

  async showStack() {
    this.teardown();
    this.opacity.hidden = true;
    const { element, overlay } = this.viewportElement('stack');
    this.stackElement = element;
    this.overlay = overlay;
    this.engine.enableElement({ viewportId: 'stack', type: Enums.ViewportType.STACK, element });
    const viewport = this.engine.getViewport('stack');
    this.viewport = viewport;
    const group = ToolGroupManager.createToolGroup(STACK_GROUP);
    for (const name of [WindowLevelTool.toolName, PanTool.toolName, ZoomTool.toolName, StackScrollTool.toolName,
      LengthTool.toolName, EllipticalROITool.toolName, RectangleROITool.toolName]) group.addTool(name);
    group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
    group.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
    group.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
    group.addViewport('stack', ENGINE_ID);
    this.group = group;
    this.setTool(this.tool);

    const ids = this.stack.map((r) => r.imageId);
    const start = Math.floor(ids.length / 2);
    this.slider.max = String(ids.length - 1);
    this.slider.value = String(start);
    this.slider.hidden = ids.length < 2;
    element.addEventListener(Enums.Events.STACK_NEW_IMAGE, () => this.onSlice());
    element.addEventListener(Enums.Events.VOI_MODIFIED, () => this.updateOverlay());
    element.addEventListener(Enums.Events.IMAGE_RENDERED, () => this.onRendered());
    element.addEventListener('mousemove', (e) => this.onMove(e));
    element.addEventListener('keydown', (e) => this.onKey(e));
    try {
      await viewport.setStack(ids, start);
    } catch (error) {
      this.status.textContent = `${this.t('failed')}: ${error.message || error}`;
      this.rejectReady(error);
      return;
    }
    this.fillPresets();
    this.applyPreset(this.defaultPreset());
    this.status.textContent = '';
    this.prefetch(start);
  }

  onRendered() {
    if (this.firstImageMs === null && this.viewport?.getImageData?.()) {
      this.firstImageMs = performance.now();
      requestAnimationFrame(() => this.resolveReady(true));
    }
    this.updateOverlay();
  }

  prefetch(from) {
    // load outwards from the displayed slice, a few requests at a time, so scrolling meets loaded frames
    const order = [...this.stack.keys()].sort((a, b) => Math.abs(a - from) - Math.abs(b - from));
    const stack = this.stack;
    const next = async () => {
      while (order.length && stack === this.stack) {
        const i = order.shift();
        try { await imageLoader.loadAndCacheImage(stack[i].imageId); } catch (e) { /* shown when that slice is viewed */ }
      }
    };
    this.prefetching = Promise.all(Array.from({ length: PREFETCH_CONCURRENCY }, next));
  }

  setTool(key) {
    this.tool = key;
    for (const [k, b] of Object.entries(this.toolButtons)) b.setAttribute('aria-pressed', String(k === key));
    const group = ToolGroupManager.getToolGroup(STACK_GROUP);
    if (!group) return;
    for (const Tool of Object.values(STACK_TOOLS)) {
      if (Tool === STACK_TOOLS[key]) continue;
      // annotations stay visible when their tool is not the active one
      if (Tool === SuvWindowLevelTool) group.setToolDisabled(Tool.toolName); else group.setToolPassive(Tool.toolName);
    }
    group.setToolActive(STACK_TOOLS[key].toolName, { bindings: [{ mouseButton: MouseBindings.Primary }] });
  }

  // ---- window/level ----------------------------------------------------------------------------
  presets() {
    const s = this.current;
    const f = s?.suv?.factor ? Number(s.suv.factor) : null;
    const list = [];
    if (s?.modality === 'CT') {
      list.push(['softTissue', { lower: 40 - 200, upper: 40 + 200 }], ['bone', { lower: 500 - 1000, upper: 500 + 1000 }],
        ['lung', { lower: -600 - 750, upper: -600 + 750 }]);
    }
    if ((s?.modality === 'PT' || s?.modality === 'NM') && f) {
      list.push(['suv5', { lower: 0, upper: 5 / f }], ['suv10', { lower: 0, upper: 10 / f }],
        ['invertedGrey', { lower: 0, upper: 5 / f, invert: true }]);
    } else if (s?.modality === 'PT' || s?.modality === 'NM') {
      list.push(['invertedGrey', { lower: 0, upper: this.seriesMax() * 0.6, invert: true }]);
    }
    list.push(['fullRange', { lower: this.seriesMin(), upper: this.seriesMax() }]);
    return list;
  }

  seriesMax() { const r = this.stack.filter((x) => x.rescaled); return r.length ? Math.max(...r.map((x) => x.max)) : 1; }
  seriesMin() { const r = this.stack.filter((x) => x.rescaled); return r.length ? Math.min(...r.map((x) => x.min)) : 0; }

  fillPresets() {
    this.presetSelect.replaceChildren(...this.presets().map(([key]) => el('option', { value: key, text: this.t(key) })));
  }

  defaultPreset() {
    const s = this.current;
    if (s.modality === 'CT') return 'softTissue';
    if ((s.modality === 'PT' || s.modality === 'NM') && s.suv?.factor) return 'suv5';
    if (s.modality === 'NM' || s.modality === 'PT') return 'invertedGrey';
    return 'fullRange';
  }

  applyPreset(key) {
    const found = this.presets().find(([k]) => k === key);
    if (!found || !this.viewport) return;
    const [, range] = found;
    this.presetSelect.value = key;
    const upper = range.upper > range.lower ? range.upper : range.lower + 1;
    if (this.mode === 'stack' || this.mode === 'mip' || this.mode === 'mpr') {
      for (const vp of this.engine.getViewports()) {
        vp.setProperties({ voiRange: { lower: range.lower, upper }, invert: Boolean(range.invert) });
        vp.render();
      }
    }
    this.updateOverlay();
  }

  reset() {
    for (const vp of this.engine.getViewports()) {
      vp.resetCamera();
      if (vp.resetProperties) vp.resetProperties();
    }
    if (this.mode === 'fusion') this.setMode('fusion');
    else this.applyPreset(this.defaultPreset());
  }

  // ---- stack navigation, overlay and probe -------------------------------------------------------
  scrollTo(index) {
    if (this.mode !== 'stack' || !this.viewport) return;
    const i = Math.max(0, Math.min(this.stack.length - 1, index));
    this.viewport.setImageIdIndex(i);
  }

  onKey(e) {
    const step = { ArrowUp: -1, ArrowLeft: -1, PageUp: -10, ArrowDown: 1, ArrowRight: 1, PageDown: 10 }[e.key];
    if (step === undefined || this.mode !== 'stack') return;
    e.preventDefault();
    this.scrollTo(this.viewport.getCurrentImageIdIndex() + step);
  }

  onSlice() {
    this.slider.value = String(this.viewport.getCurrentImageIdIndex());
    this.updateOverlay();
  }

  updateOverlay() {
    if (!this.overlay || this.mode !== 'stack' || !this.viewport) return;
    const index = this.viewport.getCurrentImageIdIndex();
    const { voiRange } = this.viewport.getProperties();
    let text = `${this.t('slice')} ${index + 1}/${this.stack.length}`;
    if (voiRange) {
      const w = voiRange.upper - voiRange.lower;
      const l = (voiRange.upper + voiRange.lower) / 2;
      text += `  W ${fmt(w, 1)} L ${fmt(l, 1)}`;
      const f = this.current?.suv?.factor;
      if (f) text += `  (${this.t('suv')} ${fmt(voiRange.lower * f, 2)}–${fmt(voiRange.upper * f, 2)})`;
    }
    this.overlay.textContent = text;
    this.overlay.dataset.slice = String(index);
    if (voiRange) { this.overlay.dataset.lower = String(voiRange.lower); this.overlay.dataset.upper = String(voiRange.upper); }
  }

  onMove(event) {
    const vp = this.viewport;
    if (!vp || this.mode !== 'stack') return;
    const rect = this.stackElement.getBoundingClientRect();
    const world = vp.canvasToWorld([event.clientX - rect.left, event.clientY - rect.top]);
    const rec = records.get(vp.getCurrentImageId());
    if (!rec || !rec.raw) return;
    const [x, y] = csUtils.worldToImageCoords(rec.imageId, world);
    const col = Math.floor(x); const row = Math.floor(y);
    if (col < 0 || row < 0 || col >= rec.columns || row >= rec.rows) { this.probeLine.textContent = ''; return; }
    this.probeLine.textContent = this.probeText(rec, col, row);
  }

  probeText(rec, col, row) {
    const { raw, rescaled, suv } = pixelValue(rec, col, row);
    const s = this.current;
    const suvText = suv !== null ? `${this.t('suv')} ${fmt(suv, 3)}` : `${this.t('noSuv')}: ${s?.suvReason || '–'}`;
    return `(${col}, ${row}) ${this.t('raw')} ${raw} · ${this.t('rescaled')} ${fmt(rescaled, 3)} · ${suvText}`;
  }

  async probe(seriesInstanceUID, column, row, sliceIndex) {
    const series = this.config.series.find((s) => s.seriesInstanceUID === seriesInstanceUID);
    if (!series) throw new Error('unknown series');
    const stack = await this.stackOf(series);
    const rec = stack[sliceIndex];
    await framePixels(rec);
    return pixelValue(rec, column, row);
  }

  /** Resolves when no request of the viewer is in flight (tests wait for it before the server goes away). */
  async idle() {
    for (let quiet = 0; quiet < 3;) {
      await (this.prefetching || Promise.resolve()).catch(() => {});
      await new Promise((resolve) => { setTimeout(resolve, 100); });
      quiet = inflight() === 0 ? quiet + 1 : 0;
    }
  }

  nonBlank() {
    const canvases = this.viewports.querySelectorAll('canvas');
    for (const canvas of canvases) {
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      if (!ctx || !canvas.width || !canvas.height) continue;
      const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 4; i < data.length; i += 4) {
        if (data[i] !== data[0] || data[i + 1] !== data[1] || data[i + 2] !== data[2]) return true;
      }
    }
    return false;
  }

  // ---- volumes: MPR, MIP, fusion ------------------------------------------------------------------
  async volumeOf(series) {
    const stack = await this.stackOf(series);
    if (stack.length < 2) throw new Error(this.t('noVolume'));
    const volumeId = `cornerstoneStreamingImageVolume:nb-${series.seriesInstanceUID}`;
    let volume = cache.getVolume(volumeId);
    if (!volume) {
      await Promise.all(stack.map((r) => imageLoader.loadAndCacheImage(r.imageId)));
      volume = await volumeLoader.createAndCacheVolume(volumeId, { imageIds: stack.map((r) => r.imageId) });
      if (series.suv?.factor) volumeFactors.set(volumeId, Number(series.suv.factor));
      volume.load(); // frames already cached are copied at once; the viewports re-render as the rest arrive
    }
    return volumeId;
  }

  async setMode(mode) {
    if (mode === 'stack') { this.mode = 'stack'; await this.showStack(); return; }
    this.status.textContent = this.t('loading');
    try {
      this.teardown();
      this.mode = mode;
      this.slider.hidden = true;
      const O = Enums.OrientationAxis;
      const views = mode === 'mip' ? [['mip', O.CORONAL, this.t('mip')]]
        : [['axial', O.AXIAL, 'Axial'], ['coronal', O.CORONAL, 'Coronal'], ['sagittal', O.SAGITTAL, 'Sagittal']];
      const inputs = views.map(([id, orientation, caption]) => ({
        viewportId: id, type: Enums.ViewportType.ORTHOGRAPHIC, element: this.viewportElement(id, caption).element,
        defaultOptions: { orientation, background: [0, 0, 0] },
      }));
      this.engine.setViewports(inputs);
      const ids = views.map(([id]) => id);
      const group = ToolGroupManager.createToolGroup(VOLUME_GROUP);
      for (const name of [WindowLevelTool.toolName, PanTool.toolName, ZoomTool.toolName, StackScrollTool.toolName]) group.addTool(name);
      group.setToolActive(WindowLevelTool.toolName, { bindings: [{ mouseButton: MouseBindings.Primary }] });
      group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
      group.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
      group.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
      for (const id of ids) group.addViewport(id, ENGINE_ID);
      if (mode === 'fusion') {
        const pair = this.fusionPair();
        if (!pair) throw new Error(this.t('noFusion'));
        const ctId = await this.volumeOf(pair.ct);
        const ovId = await this.volumeOf(pair.overlay);
        this.fusion = { ctId, ovId, pair };
        await setVolumesForViewports(this.engine, [{ volumeId: ctId }, { volumeId: ovId }], ids);
        const f = pair.overlay.suv?.factor ? Number(pair.overlay.suv.factor) : null;
        const ovStack = await this.stackOf(pair.overlay);
        const upper = f ? 5 / f : Math.max(...ovStack.map((r) => r.max ?? 1)) * 0.6;
        for (const id of ids) {
          const vp = this.engine.getViewport(id);
          vp.setProperties({ voiRange: { lower: -160, upper: 240 } }, ctId);
          vp.setProperties({ voiRange: { lower: 0, upper }, colormap: { name: 'hsv', opacity: Number(this.opacity.value) } }, ovId);
        }
        this.opacity.hidden = false;
      } else {
        const volumeId = await this.volumeOf(this.current);
        await setVolumesForViewports(this.engine, [{ volumeId }], ids);
        if (mode === 'mip') {
          const vp = this.engine.getViewport('mip');
          vp.setBlendMode(Enums.BlendModes.MAXIMUM_INTENSITY_BLEND);
          const stack = this.stack;
          const extent = Math.hypot(...[0, 1, 2].map((k) => stack[0].ipp[k] - stack[stack.length - 1].ipp[k]))
            + stack[0].rows * stack[0].pixelSpacing[0] + stack[0].columns * stack[0].pixelSpacing[1];
          vp.setSlabThickness(extent);
        }
        this.applyPreset(this.presetSelect.value || this.defaultPreset());
      }
      this.engine.renderViewports(ids);
      this.status.textContent = '';
    } catch (error) {
      this.status.textContent = error.message || String(error);
    }
    this.refreshModes();
  }

  applyOpacity() {
    if (this.mode !== 'fusion' || !this.fusion) return;
    for (const vp of this.engine.getViewports()) {
      vp.setProperties({ colormap: { name: 'hsv', opacity: Number(this.opacity.value) } }, this.fusion.ovId);
      vp.render();
    }
  }

  // ---- measurements ----------------------------------------------------------------------------
  async onAnnotation(annotation, completed) {
    const name = annotation?.metadata?.toolName;
    const shape = { [LengthTool.toolName]: 'length', [EllipticalROITool.toolName]: 'ellipse', [RectangleROITool.toolName]: 'rectangle' }[name];
    if (!shape) return;
    const imageId = annotation.metadata.referencedImageId;
    const rec = records.get(imageId);
    if (!rec) return;
    const points = annotation.data.handles.points.map((p) => [p[0], p[1], p[2]]);
    let values;
    if (shape === 'length') {
      const [a, b] = points;
      values = { length_mm: Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]) };
    } else {
      await framePixels(rec);
      const corners = points.map((p) => csUtils.worldToImageCoords(imageId, p));
      values = await roiStatistics(this.stack, rec, roiPixels(rec, shape, corners));
    }
    let m = this.measurements.find((x) => x.uid === annotation.annotationUID);
    if (!m) {
      if (!completed) return; // still being drawn
      m = { uid: annotation.annotationUID };
      this.measurements.push(m);
    }
    Object.assign(m, { shape, tool: shape === 'length' ? 'length' : 'roi', rec, points, values });
    this.renderMeasurements();
  }

  dropMeasurement(uid) {
    this.measurements = this.measurements.filter((m) => m.uid !== uid);
    this.renderMeasurements();
  }

  describe(m) {
    const t = this.t; const v = m.values;
    if (m.tool === 'length') return `${t('length')} ${fmt(v.length_mm, 1)} mm`;
    let text = `${t(m.shape)}: ${t('mean')} ${fmt(v.mean)} · ${t('max')} ${fmt(v.max)} · ${t('area')} ${fmt(v.area_mm2, 1)} mm² (${v.pixels} ${t('pixels')})`;
    if (v.suv_max !== undefined) text += ` · ${t('suvMax')} ${fmt(v.suv_max, 2)} · ${t('suvMean')} ${fmt(v.suv_mean, 2)} · ${t('suvPeak')} ${fmt(v.suv_peak, 2)}`;
    else if ((m.rec.modality === 'PT' || m.rec.modality === 'NM')) text += ` · ${t('noSuv')}: ${this.current?.suvReason || '–'}`;
    return text;
  }

  renderMeasurements() {
    const t = this.t;
    const items = this.measurements.map((m) => {
      const li = el('li', { 'data-testid': 'viewer-measurement', 'data-tool': m.tool }, el('span', { class: 'nbv-values', text: this.describe(m) }));
      li.dataset.values = JSON.stringify(m.values);
      if (this.config.measurements) {
        const label = el('input', { type: 'text', 'aria-label': t('label'), placeholder: t('label'), maxlength: '64', value: m.label || '', oninput: () => { m.label = label.value; } });
        const target = el('select', { 'aria-label': t('saveTo') }, ...this.config.measurements.targets.map((x) => el('option', { value: x.value, text: x.label, selected: x.value === m.target })));
        target.addEventListener('change', () => { m.target = target.value; });
        m.target = m.target || target.value;
        const message = el('span', { class: 'nbv-message', 'data-testid': 'viewer-save-message', role: 'status', text: m.message || '' });
        if (m.error) message.classList.add('nbv-error');
        li.append(label, target, el('button', { type: 'button', 'data-testid': 'viewer-save', onclick: () => this.save(m), text: t('save') }), message);
      }
      return li;
    });
    const hint = el('p', { class: 'nbv-hint', text: this.config.measurements ? (items.length ? '' : t('noMeasurements')) : t('readOnly') });
    this.measureList.replaceChildren(el('h4', { text: t('measurements') }), hint, el('ul', {}, ...items));
  }

  async save(m) {
    const cfg = this.config.measurements;
    const body = {
      context: cfg.context, target: m.target, seriesInstanceUID: m.rec.where.series, sopInstanceUID: m.rec.sop,
      tool: m.tool, label: m.label || '', values: m.values, points: m.points,
    };
    try {
      const response = await fetch(cfg.url, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrfToken() },
        body: JSON.stringify(body),
      });
      let data = {};
      try { data = await response.json(); } catch (e) { /* no body */ }
      m.error = !response.ok;
      m.message = data.message || data.detail || (response.ok ? this.t('saved') : `HTTP ${response.status}`);
      if (response.ok) m.savedId = data.id;
    } catch (error) {
      m.error = true;
      m.message = error.message || String(error);
    }
    this.renderMeasurements();
  }
}

/** Builds the viewer in `root`; `stacks` may already hold the first series' metadata request. */
export function startViewer(root, config, stacks) {
  const viewer = new Viewer(root, config, stacks);
  viewer.start().catch((error) => {
    viewer.status.textContent = `${viewer.t('failed')}: ${error.message || error}`;
    viewer.rejectReady(error);
  });
  return viewer;
}
