import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// oncefetch is a `file:..` dependency: a symlink to the repository, whose own
// node_modules holds a second React (a dev dependency of the package).
// `dedupe` makes every import of react resolve to this app's copy, or
// oncefetch/react's hooks would run against another React than the renderer.
export default defineConfig({
  plugins: [react()],
  resolve: { dedupe: ["react", "react-dom"] },
  build: {
    rolldownOptions: {
      input: { index: "index.html", hooks: "hooks.html" },
    },
  },
  server: {
    // `npm run dev` (vite) talks to a reference server started separately on 5174.
    proxy: { "/api": "http://127.0.0.1:5174", "/__control": "http://127.0.0.1:5174" },
  },
});
