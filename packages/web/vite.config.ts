import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The server is the only backend; in development Vite forwards its two prefixes to it. The Host
// header is kept (no changeOrigin) so the server sees a same-origin request and needs no CORS.
const backend = 'http://localhost:3000';

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/api': { target: backend },
      '/socket.io': { target: backend, ws: true },
    },
  },
  build: { outDir: 'dist', emptyOutDir: true },
});
