import { defineConfig } from "vitest/config";

// Vite's default output layout (dist/index.html + dist/assets/<name>-<hash>.*)
// is what the backend serves.
export default defineConfig({
  server: {
    // `npm run dev` forwards API calls to a backend on its default port.
    proxy: { "/api": "http://127.0.0.1:8000" },
  },
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    // The Content-Security-Policy allows scripts from the app's own origin only. The one
    // bundle has no preloaded chunks, and browsers without native modulepreload are
    // long gone: no polyfill is needed in it (tests/csp.test.ts checks the output).
    modulePreload: { polyfill: false },
  },
  test: {
    environment: "happy-dom",
    include: ["tests/**/*.test.ts"],
  },
});
