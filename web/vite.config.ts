/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// `npm run dev` proxies the api (NORTHSTAR_API_URL, default the api's port 8000) so the
// app and /v1 share one origin, as they do when the api serves the build.
const api = process.env.NORTHSTAR_API_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1200 },
  server: { proxy: { "/v1": api, "/docs": api, "/openapi.json": api } },
  test: { environment: "node", include: ["src/**/*.test.{ts,tsx}"] },
});
