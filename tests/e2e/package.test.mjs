// The published package: what `npm pack` puts in the tarball, and that the
// tarball works as an npm dependency bundled by webpack 5 (Vite is covered by
// the demo tests, the no-bundler page by the contract tests) and in Node with
// no window.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createRequire } from "node:module";
import { startServer } from "../../server/reference.mjs";
import { launchBrowser } from "./harness.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(import.meta.url);

let tmp;
let tarball;
let files;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "oncefetch-pack-"));
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", tmp], { cwd: ROOT, encoding: "utf8" });
  const [info] = JSON.parse(out);
  tarball = path.join(tmp, info.filename);
  files = info.files.map((f) => f.path).sort();
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("npm pack ships dist/ (ESM, types, wasm, react entry) and nothing else", () => {
  for (const f of ["dist/index.js", "dist/index.d.ts", "dist/react.js", "dist/react.d.ts", "dist/tabs.js", "dist/engine.js", "dist/wasm/oncefetch_bg.wasm", "package.json", "README.md"]) {
    assert.ok(files.includes(f), `${f} is in the tarball: ${files.join(", ")}`);
  }
  for (const f of files) assert.ok(f.startsWith("dist/") || ["package.json", "README.md", "LICENSE", "SECURITY.md"].includes(f), `unexpected ${f}`);
});

test("installed from the tarball, it imports in Node with no window and exposes both entries", async () => {
  const app = path.join(tmp, "node-app");
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "node-app", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--offline", "--loglevel=error", tarball], { cwd: app });
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", `
    import { createClient } from "oncefetch";
    const c = createClient({ scope: "ssr" });
    let unknown = "";
    try { createClient({ nope: 1 }); } catch (e) { unknown = e.name; }
    console.log(JSON.stringify({ fetch: typeof c.fetch, window: typeof window, unknown }));
  `], { cwd: app, encoding: "utf8" });
  assert.deepEqual(JSON.parse(out), { fetch: "function", window: "undefined", unknown: "TypeError" });
});

test("bundled by webpack 5 as an npm dependency, it runs in Chromium: POST gets a key, identical calls coalesce", async (t) => {
  const app = path.join(tmp, "webpack-app");
  fs.mkdirSync(path.join(app, "src"), { recursive: true });
  fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "webpack-app", private: true }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--offline", "--loglevel=error", tarball], { cwd: app });
  fs.writeFileSync(path.join(app, "src/index.js"), `
    import { createClient } from "oncefetch";
    const client = createClient();
    window.run = async () => {
      const rs = await Promise.all([1, 2, 3].map(() => client.fetch("/api/echo", { method: "POST", body: "webpack" })));
      return Promise.all(rs.map(async (r) => ({ body: await r.json(), info: client.info(r) })));
    };
    window.ready = true;
  `);
  fs.writeFileSync(path.join(app, "index.html"), `<!doctype html><script src="/main.js"></script>`);
  const webpack = require("webpack");
  const stats = await new Promise((resolve, reject) =>
    webpack({ mode: "production", context: app, entry: "./src/index.js", output: { path: path.join(app, "dist"), publicPath: "/" }, resolve: { modules: [path.join(app, "node_modules")] } },
      (err, s) => (err ? reject(err) : resolve(s))));
  assert.equal(stats.hasErrors(), false, stats.toString("errors-only"));
  fs.copyFileSync(path.join(app, "index.html"), path.join(app, "dist/index.html"));
  assert.ok(fs.readdirSync(path.join(app, "dist")).some((f) => f.endsWith(".wasm")), "webpack emitted the wasm as an asset");

  const server = await startServer({ staticRoots: [{ prefix: "/", dir: path.join(app, "dist") }] });
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.close(); });
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(server.url);
  await page.waitForFunction("window.ready === true");
  const out = await page.evaluate(() => window.run());
  assert.deepEqual(errors, []);
  const log = await (await fetch(`${server.url}__control/log`)).json();
  const reqs = log.requests.filter((r) => r.path === "/api/echo");
  assert.equal(reqs.length, 1, "three identical calls, one request");
  assert.match(reqs[0].key, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(out.map((o) => o.body.body), ["webpack", "webpack", "webpack"]);
  assert.equal(out.filter((o) => o.info.coalesced).length, 2);
});
