// Builds the viewer into the Django static folder with stable entry names (viewer.js, viewer.css);
// Cornerstone's lazily loaded parts become chunks/ files next to it. Relative base: no CDN, same origin.
import { defineConfig } from 'vite';
import { resolve } from 'node:path';

export default defineConfig({
  base: './',
  publicDir: false,
  build: {
    outDir: resolve(__dirname, '../static/imaging/viewer'),
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2020',
    chunkSizeWarningLimit: 4096,
    rollupOptions: {
      input: resolve(__dirname, 'src/main.js'),
      output: {
        entryFileNames: 'viewer.js',
        chunkFileNames: 'chunks/[name]-[hash].js',
        assetFileNames: (info) => ((info.names?.[0] || info.name || '').endsWith('.css') ? 'viewer.css' : 'assets/[name]-[hash][extname]'),
      },
    },
  },
  worker: { format: 'es', rollupOptions: { output: { entryFileNames: 'chunks/worker-[name]-[hash].js' } } },
});
