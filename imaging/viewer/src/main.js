// Entry of the platform's diagnostic viewer (docs/imaging/viewer.md). Small on purpose: it reads the page's config,
// asks for the first series' metadata and its middle frame at once, and loads Cornerstone3D (app.js, a separate
// chunk) meanwhile, so the server's answer and the library's start-up overlap.
import './viewer.css';
import { loadSeries, framePixels } from './data.js';

function boot() {
  const root = document.getElementById('nb-viewer');
  const script = document.getElementById('viewer-config');
  if (!root || !script) return;
  const config = JSON.parse(script.textContent);
  const stacks = new Map();
  const first = config.series[0];
  if (first) {
    const loading = loadSeries(config.wadoRoot, config.studyInstanceUID, first);
    loading.catch(() => stacks.delete(first.seriesInstanceUID));
    stacks.set(first.seriesInstanceUID, loading);
    loading.then((stack) => framePixels(stack[Math.floor(stack.length / 2)])).catch(() => {});
  }
  const app = import('./app.js').then(({ startViewer }) => startViewer(root, config, stacks));
  const ready = app.then((viewer) => viewer.ready);
  ready.catch(() => {}); // shown on the page; a test awaiting `ready` still sees the rejection
  window.nbViewer = {
    ready,
    get firstImageMs() { return window.nbViewer.viewer ? window.nbViewer.viewer.firstImageMs : null; },
    probe: (series, column, row, slice) => app.then((v) => v.probe(series, column, row, slice)),
    nonBlank: () => (window.nbViewer.viewer ? window.nbViewer.viewer.nonBlank() : false),
    idle: () => app.then((v) => v.idle()),
    showSeries: (uid) => app.then((v) => v.showSeries(config.series.find((s) => s.seriesInstanceUID === uid))),
    setMode: (mode) => app.then((v) => v.setMode(mode)),
    applyPreset: (key) => app.then((v) => v.applyPreset(key)),
    scrollTo: (index) => app.then((v) => v.scrollTo(index)),
    viewer: null,
  };
  app.then((viewer) => { window.nbViewer.viewer = viewer; });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot); else boot();
