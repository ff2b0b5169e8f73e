import { defineConfig } from "vitest/config";

// Vite's default output layout (dist/index.html + dist/assets/<name>-<hash>.*)
// is what the backend serves; only the test environment is configured here.
export default defineConfig({
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
  },
  test: {
    environment: "happy-dom",
    include: ["tests/**/*.test.ts"],
  },
});
