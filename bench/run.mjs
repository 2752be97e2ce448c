// oncefetch benchmark driver: `npm run bench` (after `bash scripts/build.sh`).
//
// Runs every measurement in headless Chromium on 127.0.0.1 — oncefetch beside
// wretch (+ dedupe), idmp, a hand-written Map dedupe and raw fetch — over
// repeated rounds (a warm-up round first, discarded), and writes the table to
// bench/RESULTS.md. Nothing here is a test: numbers are reported against the
// targets, never asserted. `--quick` runs fewer rounds (for editing the bench);
// `--report` only rewrites RESULTS.md from the last run's bench/build/results.json.
import path from "node:path";
import fs from "node:fs";
import os from "node:os";
import crypto from "node:crypto";
import { execSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { CHROME_ARGS, startServer } from "../tests/e2e/harness.mjs";
import { measureSizes, buildPageLibs, wasmFunctionSizes } from "./sizes.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BUILD = path.join(ROOT, "bench/build");
const QUICK = process.argv.includes("--quick");
const ROUNDS = QUICK ? 3 : 9; // measured rounds; one warm-up round more
const ROUNDS_HEAVY = QUICK ? 3 : 7; // the 10,000-call bursts and the 1 MB fingerprints
const ROUNDS_STAGES = QUICK ? 3 : 5;
const T_START = Date.now();
const log = (...a) => console.log(`[bench ${((Date.now() - T_START) / 1000).toFixed(0).padStart(3)}s]`, ...a);

// ---------------------------------------------------------------- statistics and formatting

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const stats = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length, all: xs });
const num = (x, d) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(d > 1 ? 1 : d) : x.toFixed(d));
const fmt = (s, d = 2) => `${num(s.median, d)} (${num(s.min, d)}–${num(s.max, d)})`;
const ratio = (a, b) => `${(a / b).toFixed(2)}×`;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const bytes = (n) => `${n.toLocaleString("en-US")} B`;
const table = (head, rows) => [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
/** Runs `fn(round)` for the warm-up round (0) and ROUNDS measured ones; returns the measured results. */
async function rounds(n, fn) {
  const out = [];
  for (let r = 0; r <= n; r++) {
    const v = await fn(r);
    if (r > 0) out.push(v);
  }
  return out;
}
/** The order of contenders rotates each round, so none always runs first (or right after a GC-heavy one). */
const rotate = (xs, r) => xs.map((_, i) => xs[(i + r) % xs.length]);

// ---------------------------------------------------------------- machine

function machine(browserVersion) {
  const sh = (c) => { try { return execSync(c, { cwd: ROOT, stdio: ["ignore", "pipe", "ignore"] }).toString().trim(); } catch { return "?"; } };
  const cpu = (fs.readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.+)/) ?? [])[1] ?? os.cpus()[0]?.model ?? "?";
  const ver = (p) => { try { return JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", p, "package.json"), "utf8")).version; } catch { return "?"; } };
  return {
    nproc: sh("nproc"),
    cpu,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${os.type()} ${os.release()}`,
    chromium: browserVersion,
    node: process.version,
    commit: `${sh("git rev-parse --short HEAD")}${sh("git status --porcelain -- src js") ? " + uncommitted changes in src/ or js/" : ""}`,
    versions: {
      oncefetch: JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version,
      wretch: ver("wretch"), idmp: ver("idmp"), ky: ver("ky"), swr: ver("swr"),
      "@tanstack/query-core": ver("@tanstack/query-core"), esbuild: ver("esbuild"), "playwright-core": ver("playwright-core"),
    },
  };
}

// ---------------------------------------------------------------- the profiling build

/**
 * bench/build/pkg: a snapshot of the built package (dist/ + package.json), taken
 * once, so a rebuild of dist/ during the run cannot mix two builds. The pages
 * import it as /node_modules/oncefetch/, and the sizes are measured on it.
 */
async function snapshotPackage() {
  const pkg = path.join(BUILD, "pkg");
  const complete = (dir) => ["dist/index.js", "dist/tabs.js", "dist/engine.js", "dist/wasm/oncefetch_bg.wasm"]
    .every((f) => fs.existsSync(path.join(dir, f)) && fs.statSync(path.join(dir, f)).size > 0);
  // dist/ may be in the middle of a rebuild (another build running): wait for a whole one.
  for (let tries = 0; ; tries++) {
    fs.rmSync(pkg, { recursive: true, force: true });
    fs.mkdirSync(pkg, { recursive: true });
    try {
      fs.cpSync(path.join(ROOT, "dist"), path.join(pkg, "dist"), { recursive: true });
    } catch { /* removed while copying */ }
    if (complete(pkg)) break;
    if (tries >= 30) throw new Error("dist/ is incomplete: run `bash scripts/build.sh` (bench/run.sh does)");
    await new Promise((r) => setTimeout(r, 2000));
  }
  fs.copyFileSync(path.join(ROOT, "package.json"), path.join(pkg, "package.json"));
  return pkg;
}

/**
 * bench/build/prof/dist: the snapshot with a wasm that keeps its name section
 * (cargo's output put through the same wasm-opt -Oz passes with -g), for
 * readable CPU profiles. Only when cargo's output is not newer than the snapshot.
 */
function prepareProfVariant(pkg) {
  const dst = path.join(BUILD, "prof/dist");
  const out = path.join(dst, "wasm/oncefetch_bg.wasm");
  const src = path.join(ROOT, "target/wasm32-unknown-unknown/release/oncefetch.wasm");
  fs.rmSync(dst, { recursive: true, force: true });
  fs.cpSync(path.join(pkg, "dist"), dst, { recursive: true });
  if (!fs.existsSync(src) || fs.statSync(src).mtimeMs > fs.statSync(path.join(pkg, "dist/wasm/oncefetch_bg.wasm")).mtimeMs) return null;
  const flags = "-Oz --converge --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-multivalue --low-memory-unused --zero-filled-memory";
  try {
    execSync(`"${path.join(ROOT, "node_modules/.bin/wasm-opt")}" ${flags} -g "${src}" -o "${out}"`, { stdio: "ignore" });
  } catch {
    return null;
  }
  return fs.readFileSync(out);
}

// ---------------------------------------------------------------- CPU profile aggregation

export function summariseProfile(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(id, (self.get(id) ?? 0) + dt);
    total += dt;
  });
  const category = (cf) => {
    const u = cf.url ?? "";
    if (cf.functionName === "(idle)") return "idle";
    if (cf.functionName === "(garbage collector)") return "garbage collector";
    if (cf.functionName === "(program)") return "(program): V8/Blink internals outside JS";
    if (u.startsWith("wasm://") || u.endsWith(".wasm")) return "wasm engine (Rust)";
    if (/\/dist\/engine\.js$/.test(u)) return "wasm interface js/engine.ts";
    if (/\/dist\/(index|tabs)\.js$/.test(u)) return "facade js/index.ts + tabs.ts";
    if (/\/bench\/|\/build\/libs\.js/.test(u)) return "bench loop, stub fetch";
    if (u === "") return "native (Web APIs, builtins)";
    return `other (${u})`;
  };
  const short = (name) => name.replace(/::h[0-9a-f]{16}$/, "").replace(/^<?oncefetch::/, "");
  const label = (cf) => `${short(cf.functionName || "(anonymous)")}${cf.url ? ` — ${cf.url.replace(/^.*\//, "").replace(/\?.*$/, "")}${/^wasm:|\.wasm$/.test(cf.url) ? "" : `:${cf.lineNumber + 1}`}` : ""}`;
  const cats = new Map();
  const fns = new Map();
  const incl = new Map(); // inclusive time per function label (counted once per sample even when recursive)
  for (const [id, t] of self) {
    const cf = byId.get(id).callFrame;
    const c = category(cf);
    cats.set(c, (cats.get(c) ?? 0) + t);
    const l = label(cf);
    fns.set(l, { t: (fns.get(l)?.t ?? 0) + t, cat: c });
    const seen = new Set();
    for (let p = id; p !== undefined; p = parent.get(p)) {
      const pl = label(byId.get(p).callFrame);
      if (seen.has(pl)) continue;
      seen.add(pl);
      incl.set(pl, (incl.get(pl) ?? 0) + t);
    }
  }
  const busy = total - (cats.get("idle") ?? 0);
  return {
    totalMs: total / 1000, busyMs: busy / 1000,
    categories: [...cats].filter(([c]) => c !== "idle").sort((a, b) => b[1] - a[1]).map(([c, t]) => ({ c, share: t / busy, ms: t / 1000 })),
    top: [...fns].filter(([, v]) => v.cat !== "idle").sort((a, b) => b[1].t - a[1].t).slice(0, 20).map(([l, v]) => ({ l, cat: v.cat, share: v.t / busy })),
    inclusive: [...incl].filter(([l]) => !/^\((root|program|idle|garbage collector)\)/.test(l)).sort((a, b) => b[1] - a[1]).slice(0, 25).map(([l, t]) => ({ l, share: t / busy })),
  };
}

// ---------------------------------------------------------------- main

async function main() {
  fs.mkdirSync(BUILD, { recursive: true });
  const PKG = await snapshotPackage();
  log("bundling with esbuild (sizes, page libs, profiling variant)");
  const sizes = await measureSizes(ROOT, PKG, BUILD);
  await buildPageLibs(ROOT, BUILD);
  const profWasm = prepareProfVariant(PKG);
  const wasmFns = profWasm ? wasmFunctionSizes(profWasm) : null;

  const server = await startServer({
    keepAlive: true, // realistic for 1,000 sequential POSTs; both contenders get the same connection reuse
    staticRoots: [
      { prefix: "/bench/", dir: path.join(ROOT, "bench/pages") },
      { prefix: "/build/", dir: BUILD },
      { prefix: "/node_modules/oncefetch/", dir: PKG },
    ],
  });
  const executablePath = process.env.CHROME_BIN || "/usr/bin/chromium";
  // The harness's flags, plus window.gc() between timed batches and unquantised performance.memory.
  const browser = await chromium.launch({ executablePath, args: [...CHROME_ARGS, "--js-flags=--expose-gc", "--enable-precise-memory-info"] });
  const info = machine(browser.version());
  info.wasmSha = crypto.createHash("sha256").update(fs.readFileSync(path.join(PKG, "dist/wasm/oncefetch_bg.wasm"))).digest("hex").slice(0, 12);
  info.loadStart = os.loadavg();
  const R = {};
  try {
    /** A page in its own context (own localStorage, own BroadcastChannel world) holding one oncefetch client. */
    const open = async (of, variant = "") => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const errors = [];
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") errors.push(m.text()); });
      await page.goto(`${server.url}bench/index.html?of=${of}${variant ? `&variant=${variant}` : ""}`);
      await page.waitForFunction("window.ready === true || window.loadError !== undefined", null, { timeout: 20_000 });
      const err = await page.evaluate(() => window.loadError);
      if (err) throw new Error(`bench page failed to load: ${err}`);
      await page.evaluate(() => window.B.warm());
      page.errors = errors;
      return page;
    };
    const call = (page, fn, arg) => page.evaluate(([f, a]) => window.B[f](a), [fn, arg]);
    const pages = { memory: await open("memory"), local: await open("local"), net: await open("net"), netMemory: await open("net-memory") };

    // 1. per call ------------------------------------------------------------
    // oncefetch runs on an emptied store (n < maxEntries), and separately on a
    // full one (maxEntries live entries: every write-ahead enforces the bound).
    const N_CALL = QUICK ? 500 : 1000;
    const contendersOf = (mode) => [
      { id: "raw", lib: "raw", n: N_CALL },
      { id: "oncefetch-memory", lib: "oncefetch-memory", n: 500 },
      { id: "oncefetch-local", lib: "oncefetch-local", n: 500 },
      ...(mode === "distinct" ? [
        { id: "oncefetch-memory, store full", lib: "oncefetch-memory", n: QUICK ? 50 : 100, store: "full" },
        { id: "oncefetch-local, store full", lib: "oncefetch-local", n: QUICK ? 50 : 100, store: "full" },
      ] : []),
      { id: "wretch-dedupe", lib: "wretch-dedupe", n: N_CALL },
      { id: "idmp", lib: "idmp", n: N_CALL },
      { id: "map-dedupe", lib: "map-dedupe", n: N_CALL },
    ];
    const pageOf = (lib) => (lib === "oncefetch-local" ? pages.local : pages.memory);
    R.perCall = {};
    for (const mode of ["distinct", "repeated"]) {
      const C = contendersOf(mode);
      log(`1. per call, ${mode}: ${C.length} contenders × (1 + ${ROUNDS}) rounds`);
      const res = Object.fromEntries(C.map((c) => [c.id, { us: [], requests: [] }]));
      await rounds(ROUNDS, async (r) => {
        for (const c of rotate(C, r)) {
          const v = await call(pageOf(c.lib), "perCall", { lib: c.lib, mode, n: c.n, store: c.store ?? "empty" });
          if (r > 0) { res[c.id].us.push(v.us); res[c.id].requests.push(v.requests); }
        }
      });
      R.perCall[mode] = Object.fromEntries(C.map((c) => [c.id, { us: stats(res[c.id].us), requests: median(res[c.id].requests), n: c.n }]));
    }

    // 2. burst ---------------------------------------------------------------
    const BURST_LIBS = ["oncefetch-memory", "oncefetch-local", "wretch-dedupe", "map-dedupe", "idmp"];
    R.burst = {};
    for (const n of [1000, 10000]) {
      const RB = n > 1000 ? ROUNDS_HEAVY : ROUNDS;
      log(`2. burst of ${n} identical calls × (1 + ${RB}) rounds`);
      const res = Object.fromEntries(BURST_LIBS.map((l) => [l, { ms: [], requests: [], allRead: true }]));
      await rounds(RB, async (r) => {
        for (const lib of rotate(BURST_LIBS, r)) {
          const v = await call(pageOf(lib), "burst", { lib, n });
          if (r > 0) { res[lib].ms.push(v.ms); res[lib].requests.push(v.requests); res[lib].allRead &&= v.allRead; }
        }
      });
      R.burst[n] = Object.fromEntries(BURST_LIBS.map((l) => [l, { ms: stats(res[l].ms), requests: [...new Set(res[l].requests)], allRead: res[l].allRead }]));
    }

    // 3. loopback network ----------------------------------------------------
    // Raw fetch and oncefetch interleaved call by call in one loop, so a change
    // in the machine's load hits both alike; a second page does the same with
    // storage "memory" (fewer calls), to separate localStorage's share.
    const NET_ROUNDS = QUICK ? 2 : 3;
    const NET = [["oncefetch", pages.net, QUICK ? 300 : 1000], ["oncefetch, storage memory", pages.netMemory, QUICK ? 200 : 500]];
    log(`3. loopback: ${NET.map(([id, , n]) => `${n} × 2 (${id})`).join(", ")} sequential POSTs × (1 + ${NET_ROUNDS}) rounds`);
    const net = Object.fromEntries(NET.map(([id]) => [id, { raw: [], of: [], ratio: [], parts: [] }]));
    await rounds(NET_ROUNDS, async (r) => {
      for (const [id, page, N] of NET) {
        server.reset(); // the server records every request: start each run empty
        const n = r === 0 ? 100 : N;
        const v = await call(page, "net", { n });
        if (v.ok !== 2 * n) throw new Error(`loopback ${id}: ${v.ok} answers of ${2 * n}`);
        if (r > 0) { net[id].raw.push(v.raw.total); net[id].of.push(v.oncefetch.total); net[id].ratio.push(v.oncefetch.total / v.raw.total); net[id].parts.push(v); }
      }
    });
    const partStats = (list, lib) => Object.fromEntries(Object.keys(list[0][lib]).map((k) => [k, stats(list.map((x) => x[lib][k]))]));
    R.net = Object.fromEntries(NET.map(([id, , n]) => [id, { n, raw: stats(net[id].raw), of: stats(net[id].of), ratio: stats(net[id].ratio),
      parts: { raw: partStats(net[id].parts, "raw"), oncefetch: partStats(net[id].parts, "oncefetch") } }]));

    // 3b. the cost of work right after an idle wait (what each loopback call meets)
    log("3b. work after a 5 ms idle wait vs back to back");
    {
      const list = await rounds(ROUNDS_STAGES, () => call(pages.memory, "idlePenalty", { n: 200, gapMs: 5 }));
      R.idle = Object.fromEntries(Object.keys(list[0]).map((k) => [k, { busy: stats(list.map((x) => x[k].busy)), idle: stats(list.map((x) => x[k].idle)) }]));
    }

    // 3c. localStorage writes inside an async call flow (the local-storage floor)
    log("3c. localStorage writes in an async call flow vs back to back");
    {
      const list = await rounds(ROUNDS_STAGES, () => call(pages.local, "storageFlow", { n: 500 }));
      R.storageFlow = Object.fromEntries(Object.keys(list[0]).map((k) => [k, stats(list.map((x) => x[k]))]));
    }

    // 4. fingerprint ---------------------------------------------------------
    R.fingerprint = {};
    // n < maxEntries (1000): the bound is never enforced here.
    for (const [size, n, RF] of [[1024, 500, ROUNDS], [1024 * 1024, QUICK ? 6 : 12, ROUNDS_HEAVY]]) {
      log(`4. fingerprint, ${kb(size)} bodies × ${n} × (1 + ${RF}) rounds`);
      const list = await rounds(RF, () => call(pages.memory, "fingerprint", { size, n }));
      const keys = Object.keys(list[0]);
      R.fingerprint[size] = Object.fromEntries(keys.map((k) => [k, stats(list.map((x) => x[k]))]));
      R.fingerprint[size].overhead = stats(list.map((x) => x["oncefetch-memory"] - x.raw));
      R.fingerprint[size].n = n;
    }

    // stage timers -----------------------------------------------------------
    R.stages = {};
    for (const storage of ["memory", "local"]) {
      log(`stage timers, ${storage}`);
      const list = await rounds(ROUNDS_STAGES, () => call(pages.memory, "stages", { storage, n: 500, nFull: QUICK ? 20 : 50 }));
      R.stages[storage] = {
        stages: Object.fromEntries(Object.keys(list[0].stages).map((k) => [k, stats(list.map((x) => x.stages[k]))])),
        js: Object.fromEntries(Object.keys(list[0].js).map((k) => [k, stats(list.map((x) => x.js[k]))])),
      };
    }

    // CPU profiles -----------------------------------------------------------
    R.profiles = {};
    for (const [of, store, n] of [["memory", "empty", QUICK ? 2000 : 5000], ["local", "empty", QUICK ? 2000 : 5000], ["memory", "full", QUICK ? 100 : 200], ["local", "full", QUICK ? 100 : 200]]) {
      log(`CPU profile, oncefetch-${of}, store ${store}, ${n} distinct calls`);
      const page = await open(of, profWasm ? "prof" : "");
      const lib = `oncefetch-${of}`;
      await call(page, "profileRun", { lib, store, n }); // warm / tier-up
      const cdp = await page.context().newCDPSession(page);
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
      await cdp.send("Profiler.start");
      const v = await call(page, "profileRun", { lib, store, n });
      const { profile } = await cdp.send("Profiler.stop");
      fs.writeFileSync(path.join(BUILD, `profile-${of}-${store}.cpuprofile`), JSON.stringify(profile));
      R.profiles[`${of}, store ${store}`] = { ...summariseProfile(profile), usPerCallProfiled: v.us, n, named: !!profWasm };
      await page.context().close();
    }

    {
      log("CPU profile, oncefetch-memory, burst of 10,000");
      const page = await open("memory", profWasm ? "prof" : "");
      await call(page, "burst", { lib: "oncefetch-memory", n: 10000 });
      const cdp = await page.context().newCDPSession(page);
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
      await cdp.send("Profiler.start");
      const v = await call(page, "burst", { lib: "oncefetch-memory", n: 10000 });
      const { profile } = await cdp.send("Profiler.stop");
      fs.writeFileSync(path.join(BUILD, "profile-memory-burst.cpuprofile"), JSON.stringify(profile));
      R.profiles["memory, burst of 10,000 identical calls"] = { ...summariseProfile(profile), msProfiled: v.ms, n: 10000, named: !!profWasm };
      await page.context().close();
    }

    // 6. start-up ------------------------------------------------------------
    const N_START = QUICK ? 3 : 11;
    log(`6. start-up: ${N_START} fresh pages × 2 kinds`);
    const startup = { e2e: [], split: [] };
    for (let r = 0; r < N_START; r++) {
      for (const kind of ["e2e", "split"]) {
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(`${server.url}bench/blank.html`);
        const v = await page.evaluate(kind === "e2e" ? startupEndToEnd : startupSplit);
        startup[kind].push(v);
        await context.close();
      }
    }
    R.startup = {
      e2e: Object.fromEntries(Object.keys(startup.e2e[0]).map((k) => [k, stats(startup.e2e.map((x) => x[k]))])),
      split: Object.fromEntries(Object.keys(startup.split[0]).map((k) => [k, stats(startup.split.map((x) => x[k]))])),
    };

    // 7. memory --------------------------------------------------------------
    const N_MEM = QUICK ? 20_000 : 100_000;
    log(`7. memory: ${N_MEM.toLocaleString("en-US")} distinct actions, keyTtlMs 50, maxEntries 1000`);
    {
      const page = await open("none");
      const cdp = await page.context().newCDPSession(page);
      const heap = async () => {
        await cdp.send("HeapProfiler.collectGarbage");
        await cdp.send("HeapProfiler.collectGarbage");
        return (await cdp.send("Runtime.getHeapUsage")).usedSize;
      };
      const before = { ...(await call(page, "memorySetup", { keyTtlMs: 50, maxEntries: 1000 })), heap: await heap() };
      const chunks = [];
      const CHUNK = 10_000;
      const series = [];
      for (let done = 0; done < N_MEM; done += CHUNK) {
        const v = await call(page, "memoryRun", { n: Math.min(CHUNK, N_MEM - done) });
        chunks.push(v.ms);
        const st = await call(page, "memoryState");
        series.push({ calls: done + Math.min(CHUNK, N_MEM - done), ms: v.ms, entries: st.localStorageEntries, heap: await heap(), wasm: st.wasmMemoryBytes });
      }
      await new Promise((r) => setTimeout(r, 100)); // past the TTL
      const after = { ...(await call(page, "memoryState")), heap: await heap() };
      R.memory = { n: N_MEM, before, after, series, usPerCall: (chunks.reduce((a, b) => a + b, 0) * 1000) / N_MEM };
      await page.context().close();
    }

    R.pageErrors = Object.fromEntries(Object.entries(pages).map(([k, p]) => [k, p.errors]));
  } finally {
    await browser.close();
    await server.close();
  }
  R.sizes = sizes;
  R.jsInputs = sizes.jsInputs; // an array's extra property would not survive JSON
  R.generatedAt = new Date().toISOString();
  R.wasmFns = wasmFns;
  R.info = info;
  info.loadEnd = os.loadavg();
  R.elapsedS = (Date.now() - T_START) / 1000;
  fs.writeFileSync(path.join(BUILD, "results.json"), JSON.stringify(R, null, 1));
  fs.writeFileSync(path.join(ROOT, "bench/RESULTS.md"), report(R));
  log(`wrote bench/RESULTS.md (raw numbers in bench/build/results.json) in ${R.elapsedS.toFixed(0)} s`);
}

// ---------------------------------------------------------------- start-up (run in a fresh page)

async function startupEndToEnd() {
  const stub = () => Promise.resolve(new Response("{}"));
  const t0 = performance.now();
  const m = await import("/node_modules/oncefetch/dist/index.js");
  const t1 = performance.now();
  const c = m.createClient({ fetch: stub });
  await (await c.fetch("/api/echo", { method: "POST", body: "{}" })).text();
  const t2 = performance.now();
  return { "import() → first call resolved": t2 - t0, "import() of the modules": t1 - t0, "createClient + first call (wasm fetch, compile, instantiate, engine)": t2 - t1 };
}

async function startupSplit() {
  const stub = () => Promise.resolve(new Response("{}"));
  const base = "/node_modules/oncefetch/dist/";
  const t0 = performance.now();
  const engine = await import(`${base}engine.js`);
  const m = await import(`${base}index.js`);
  const t1 = performance.now();
  const bytes = await (await fetch(`${base}wasm/oncefetch_bg.wasm`)).arrayBuffer();
  const t2 = performance.now();
  const mod = await WebAssembly.compile(bytes);
  const t3 = performance.now();
  await engine.load(mod); // instantiate
  const t4 = performance.now();
  void localStorage.length; // the first touch opens the origin's storage area
  const t4a = performance.now();
  const c = m.createClient({ fetch: stub });
  const t4b = performance.now();
  await (await c.fetch("/api/echo", { method: "POST", body: "{}" })).text();
  const t5 = performance.now();
  await (await c.fetch("/api/echo", { method: "POST", body: "{1}" })).text();
  const t6 = performance.now();
  return {
    "import() of the modules": t1 - t0,
    "fetch the wasm bytes": t2 - t1,
    "WebAssembly.compile": t3 - t2,
    "instantiate": t4 - t3,
    "compile + instantiate": t4 - t2,
    "first localStorage access": t4a - t4,
    "createClient (options, BroadcastChannel)": t4b - t4a,
    "first call (Engine::new, storage scan, first call)": t5 - t4b,
    "second call": t6 - t5,
  };
}

// ---------------------------------------------------------------- RESULTS.md

function report(R) {
  const I = R.info;
  const L = [];
  const P = (...xs) => L.push(...xs);
  const met = (ok, txt) => `${ok ? "**met**" : "**not met**"} — ${txt}`;
  const pc = R.perCall.distinct;
  const pureJs = ["wretch-dedupe", "idmp", "map-dedupe"];
  const fastestOf = (mode, libs) => libs.reduce((a, b) => (R.perCall[mode][a].us.median <= R.perCall[mode][b].us.median ? a : b));
  const fastD = fastestOf("distinct", pureJs);
  // idmp serves repeated identical calls from its cache (no request): not a like-for-like dedupe there.
  const fastR = fastestOf("repeated", ["wretch-dedupe", "map-dedupe"]);
  const of = R.sizes.find((s) => s.name === "oncefetch");
  const b10 = R.burst[10000];

  P("# oncefetch benchmark results", "");
  P(`Generated by \`npm run bench\` (bench/run.sh → bench/run.mjs) on ${(R.generatedAt ?? new Date().toISOString()).slice(0, 16).replace("T", " ")} UTC in ${R.elapsedS.toFixed(0)} s. `
    + `Every timing is the **median (min–max)** over ${ROUNDS} measured rounds after one warm-up round (10,000-call bursts and 1 MB fingerprints: ${ROUNDS_HEAVY}; loopback: ${R.net.oncefetch.ratio.n}; stage timers: ${ROUNDS_STAGES}; start-up: ${R.startup.e2e["import() → first call resolved"].n} fresh pages), `
    + "in headless Chromium on 127.0.0.1, contenders interleaved in a rotating order within each round. "
    + "Benchmarks are reported, never asserted; they are not part of `npm test`.", "");
  P("## Machine", "");
  P(table(["", ""], [
    ["CPU", `${I.cpu}, \`nproc\` = ${I.nproc}, ${I.memory} RAM`],
    ["OS", I.os],
    ["Chromium", `${I.chromium} (Debian, /usr/bin/chromium, headless, via playwright-core ${I.versions["playwright-core"]})`],
    ["Node", I.node],
    ["load average (1 min) at start / end", `${I.loadStart[0].toFixed(2)} / ${I.loadEnd[0].toFixed(2)} — other work on the machine during the run shows up as wide min–max ranges`],
    ["oncefetch", `${I.versions.oncefetch} at ${I.commit}; wasm sha256 ${I.wasmSha}…`],
    ["compared", `wretch ${I.versions.wretch}, idmp ${I.versions.idmp}, ky ${I.versions.ky}, swr ${I.versions.swr}, @tanstack/query-core ${I.versions["@tanstack/query-core"]} (bundled with esbuild ${I.versions.esbuild})`],
  ]), "");

  // Targets
  const overheadOk = pc["oncefetch-memory"].us.median <= 1.5 * pc[fastD].us.median;
  const lsOk = pc["oncefetch-local"].us.median <= 1.5 * pc[fastD].us.median;
  const abs = (lib) => pc[lib].us.median - pc.raw.us.median;
  const initMs = R.startup.split["compile + instantiate"].median;
  const netR = R.net.oncefetch.ratio;
  P("## Targets", "");
  P(table(["target", "result", "verdict"], [
    ["total package ≤ 20 KB gzipped", `${kb(of.total.gzip)} gzipped (JS ${kb(of.parts[0].gzip)} + wasm ${kb(of.parts[1].gzip)}); brotli ${kb(of.total.brotli)}`,
      met(of.total.gzip <= 20 * 1024, `${of.total.gzip <= 20 * 1024 ? "under" : "over"} by ${kb(Math.abs(of.total.gzip - 20 * 1024))}`)],
    ["per-call overhead ≤ 1.5× the fastest pure-JS dedupe (distinct 1 KB POSTs, stub fetch, store below maxEntries)",
      `storage "memory": ${pc["oncefetch-memory"].us.median.toFixed(1)} µs/call = ${ratio(pc["oncefetch-memory"].us.median, pc[fastD].us.median)} ${fastD} (${pc[fastD].us.median.toFixed(1)} µs); storage "local": ${pc["oncefetch-local"].us.median.toFixed(1)} µs = ${ratio(pc["oncefetch-local"].us.median, pc[fastD].us.median)}`,
      `memory ${met(overheadOk, `${ratio(pc["oncefetch-memory"].us.median, pc[fastD].us.median)} vs 1.50×`)}; local ${met(lsOk, `${ratio(pc["oncefetch-local"].us.median, pc[fastD].us.median)} vs 1.50×`)}`],
    ["per-call overhead ≤ 10 µs (oncefetch call − raw stub call)",
      `memory: ${abs("oncefetch-memory").toFixed(1)} µs; local: ${abs("oncefetch-local").toFixed(1)} µs (raw stub call ${pc.raw.us.median.toFixed(1)} µs). With a full store (1000 live entries): memory ${abs("oncefetch-memory, store full").toFixed(0)} µs, local ${abs("oncefetch-local, store full").toFixed(0)} µs`,
      `memory ${met(abs("oncefetch-memory") <= 10, `${(abs("oncefetch-memory") / 10).toFixed(1)}× the budget`)}; local ${met(abs("oncefetch-local") <= 10, `${(abs("oncefetch-local") / 10).toFixed(1)}× the budget`)}`],
    ["10,000-call burst: exactly one request", `memory: ${b10["oncefetch-memory"].requests.join(", ")}; local: ${b10["oncefetch-local"].requests.join(", ")} request(s) in every round`,
      met([...b10["oncefetch-memory"].requests, ...b10["oncefetch-local"].requests].every((x) => x === 1), "one stub invocation per burst, every round; every caller read its own body")],
    ["10,000-call burst no slower than wretch dedupe", `memory ${b10["oncefetch-memory"].ms.median.toFixed(1)} ms, local ${b10["oncefetch-local"].ms.median.toFixed(1)} ms vs wretch ${b10["wretch-dedupe"].ms.median.toFixed(1)} ms`,
      met(b10["oncefetch-local"].ms.median <= b10["wretch-dedupe"].ms.median && b10["oncefetch-memory"].ms.median <= b10["wretch-dedupe"].ms.median,
        `${ratio(b10["oncefetch-memory"].ms.median, b10["wretch-dedupe"].ms.median)} (memory), ${ratio(b10["oncefetch-local"].ms.median, b10["wretch-dedupe"].ms.median)} (local) of wretch's time`)],
    ["loopback network ratio ≤ 1.05", `${netR.median.toFixed(3)} (${netR.min.toFixed(3)}–${netR.max.toFixed(3)}); ${R.net.oncefetch.of.median.toFixed(0)} vs ${R.net.oncefetch.raw.median.toFixed(0)} µs per POST (storage "memory": ${R.net["oncefetch, storage memory"].ratio.median.toFixed(3)})`,
      met(netR.median <= 1.05, `${((netR.median - 1) * 100).toFixed(1)} % slower than raw fetch`)],
    ["wasm init ≤ 5 ms", `compile + instantiate ${initMs.toFixed(2)} ms (of bytes in memory); import() → first call ${R.startup.e2e["import() → first call resolved"].median.toFixed(1)} ms`,
      met(initMs <= 5, `${initMs <= 5 ? "" : "over by "}${initMs <= 5 ? `${(5 - initMs).toFixed(2)} ms to spare` : `${(initMs - 5).toFixed(2)} ms`}`)],
  ]), "");
  if (!overheadOk || !lsOk || abs("oncefetch-memory") > 10 || netR.median > 1.05 || of.total.gzip > 20 * 1024 || initMs > 5) {
    P("Where a target is not met, the distance is in its row and the cause — from the profiles and stage timers below — "
      + "under *Where the remaining time goes* at the end of this file (bench/NOTES.md): a table of each unmet target's distance and cause, then the measurements behind it.", "");
  }

  // 1
  P("## 1. Per-call overhead (stub fetch, 1 KB JSON POST, sequential, body read)", "");
  P(`Each round runs ${pc.raw.n} calls per contender, each awaited and its body read (\`text()\`); the stub \`fetch\` answers \`new Response('{"ok":true,"id":1}')\` at once and counts its invocations. `
    + "oncefetch is `createClient({ fetch: stub, storage })` with its defaults otherwise (keyed POST, write-ahead entry, retry policy, cross-tab on with no other tab); "
    + "each oncefetch client is alone in its page (its own browser context). oncefetch rows run 500 calls on a store emptied first with `client.clear()` (so under the default `maxEntries` of 1000); "
    + "the *store full* rows first make 1000 live (settled) entries, so every further call enforces the bound — what an app sees after 1000 distinct actions within `settleWindowMs` (10 s) or 1000 pending ones within `keyTtlMs`. wretch is `wretch().fetchPolyfill(stub)` with `dedupe({ skip: () => false, key: method@url@body })` (its default skips non-GET); "
    + "idmp wraps `stub(...).then(r => r.text())` under the key `POST url body` with its defaults (production build); "
    + "map-dedupe is a hand-written `Map<string, Promise>` (bench/pages/bench.js: one request per key in flight, joiners get their own copy of the bytes).", "");
  for (const mode of ["distinct", "repeated"]) {
    const m = R.perCall[mode];
    const fast = mode === "distinct" ? fastD : fastR;
    P(`**${mode === "distinct" ? "Distinct actions: a new 1 KB body every call" : "Repeated identical calls: the same 1 KB body every call"}** — ratio to the fastest pure-JS dedupe (${fast})${mode === "repeated" ? "; oncefetch reuses the settled key (a `hit`), idmp answers from its 3 s cache without a request, so it is left out of the ratio" : ""}:`, "");
    P(table(["contender", "µs per call", "− raw stub (µs)", `× ${fast}`, "requests sent"],
      Object.keys(m).map((l) => [l, fmt(m[l].us), (m[l].us.median - m.raw.us.median).toFixed(1), ratio(m[l].us.median, m[fast].us.median), `${m[l].requests} / ${m[l].n}`])), "");
  }

  // 2
  P("## 2. Burst: identical concurrent calls (stub fetch)", "");
  P("N identical 1 KB POSTs started in the same tick; the time runs until every caller has read its own body. The requests column counts stub invocations in each round (a set of the values seen). "
    + "The work per caller differs: oncefetch and map-dedupe read the body once and hand each caller a new `Response` over the bytes; wretch's dedupe gives each joiner `response.clone()` (a tee per caller); "
    + "idmp shares one resolved value (here the text, read once) and creates no `Response` per caller.", "");
  const BL = Object.keys(R.burst[1000]);
  P(table(["contender", "1,000: ms", "requests", "10,000: ms", "requests", "all bodies read", "10,000 × wretch"],
    BL.map((l) => [l, fmt(R.burst[1000][l].ms), R.burst[1000][l].requests.join(","), fmt(R.burst[10000][l].ms), R.burst[10000][l].requests.join(","),
      R.burst[1000][l].allRead && R.burst[10000][l].allRead ? "yes" : "**no**", ratio(R.burst[10000][l].ms.median, R.burst[10000]["wretch-dedupe"].ms.median)])), "");

  // 3
  P("## 3. Loopback network: sequential POSTs to server/reference.mjs /api/echo", "");
  P("Sequential 1 KB POSTs (distinct bodies, body read) through raw `fetch` and through oncefetch, **interleaved call by call** in one loop (the order flips every pair), so both see the same load; "
    + `keep-alive connections; the server runs in the bench's Node process on the same ${I.nproc} cores. ${R.net.oncefetch.ratio.n} measured rounds after a warm-up. `
    + "oncefetch is `createClient()` with every default (global fetch, localStorage), emptied with `clear()` before each run (the run stays within `maxEntries`); "
    + "the *storage memory* row is another page doing the same with `storage: \"memory\"`, to separate localStorage's share.", "");
  P(table(["oncefetch", "POSTs each", "raw fetch µs/POST", "oncefetch µs/POST", "difference µs", "ratio (per round)"], Object.entries(R.net).map(([id, v]) => [
    id, String(v.n), fmt(v.raw, 0), fmt(v.of, 0), (v.of.median - v.raw.median).toFixed(0), `${v.ratio.median.toFixed(3)} (${v.ratio.min.toFixed(3)}–${v.ratio.max.toFixed(3)})`])), "");
  P("Where each POST's time goes (µs, median of the rounds): `globalThis.fetch` is wrapped on these pages with two timestamps, so a call splits into *before send* (from the call to the underlying `fetch`), "
    + "*fetch* (underlying `fetch` called → resolved with the headers), *after* (→ the caller has the Response) and *body read* (`text()`); raw calls pass through the same wrapper.", "");
  P(table(["", "before send", "fetch", "after", "body read", "total"], Object.entries(R.net).flatMap(([id, v]) => [
    [`raw fetch (interleaved with ${id})`, ...["before", "fetch", "after", "read", "total"].map((k) => v.parts.raw[k].median.toFixed(0))],
    [id, ...["before", "fetch", "after", "read", "total"].map((k) => v.parts.oncefetch[k].median.toFixed(0))],
  ])), "");

  if (R.idle) {
    P("Why the loopback difference exceeds the stub overhead: on this machine, work that starts right after the page sat idle (as it does while each request "
      + "is on the network) runs several times slower than the same work back to back, so both oncefetch's steps before the send and after the answer pay it; "
      + "raw fetch does almost nothing in JS on either side. Mean µs over 200 samples per round, median of the rounds:", "");
    P(table(["work", "back to back µs", "after a 5 ms idle wait µs", "× slower"], Object.entries(R.idle).map(([k, v]) => [k, fmt(v.busy, 1), fmt(v.idle, 1), ratio(v.idle.median, v.busy.median)])), "");
  }

  if (R.storageFlow) {
    P("Why storage \"local\" costs so much more than \"memory\", per call and here: the same two localStorage writes oncefetch makes per keyed call (B5's "
      + "write-ahead entry, B6's settled state), without oncefetch, inside a sequential flow of awaited stub calls, against the two writes back to back. "
      + "µs per iteration (500), median of the rounds:", "");
    P(table(["flow", "µs per iteration", "− stub call + body read"], Object.entries(R.storageFlow).map(([k, v], i, all) => [k, fmt(v, 1),
      i === 0 || i === all.length - 1 ? "" : num(v.median - all[0][1].median, 1)])), "");
  }

  // 4
  P("## 4. Fingerprint cost (identity hashing of the body)", "");
  P("Per call, µs. *oncefetch − raw*: a whole oncefetch call (storage \"memory\") minus a raw stub call, distinct bodies; *engine.identify*: the wasm `Engine.identify` alone "
    + "(as the facade calls it: the body's UTF-8 — `TextEncoder.encodeInto` one reused buffer up to 64 K characters, `encode` beyond — copied into wasm memory, SHA-256 of method + URL + body, then the short identity hashes); *WebCrypto*: `crypto.subtle.digest('SHA-256')` awaited, of the bytes, and of the string including `TextEncoder.encode`.", "");
  P(table(["body", "raw stub call", "oncefetch call", "oncefetch − raw", "engine.identify", "WebCrypto (bytes)", "WebCrypto (encode + digest)", "identify ÷ WebCrypto(encode+digest)"],
    Object.entries(R.fingerprint).map(([size, f]) => [kb(Number(size)), fmt(f.raw, 1), fmt(f["oncefetch-memory"], 1), fmt(f.overhead, 1), fmt(f.identify, 1), fmt(f.digestBytes, 1), fmt(f.digestString, 1), ratio(f.identify.median, f.digestString.median)])), "");
  const fp1 = R.fingerprint[1024 * 1024];
  const mbs = (us) => (1e6 / us / 1.048576).toFixed(0);
  P(`Throughput on 1 MB, from the string: engine.identify ${mbs(fp1.identify.median)} MB/s, WebCrypto (encode + digest) ${mbs(fp1.digestString.median)} MB/s; `
    + `WebCrypto's digest of the bytes alone ${mbs(fp1.digestBytes.median)} MB/s. Both string figures include the UTF-8 encoding of the 1 MB string `
    + `(about ${num(fp1.digestString.median / 1000 - fp1.digestBytes.median / 1000, 1)} ms, the difference of the two WebCrypto columns).`, "");

  // 5
  P("## 5. Size (esbuild --bundle --minify --format=esm, same run; gzip -9 and brotli q11 via node:zlib)", "");
  P(table(["package", "what", "minified", "gzip -9", "brotli"],
    R.sizes.flatMap((s) => (s.parts.length > 1
      ? [...s.parts.map((p) => [s.name, p.what, bytes(p.raw), bytes(p.gzip), bytes(p.brotli)]), [`**${s.name} total**`, s.note, bytes(s.total.raw), `**${bytes(s.total.gzip)}**`, bytes(s.total.brotli)]]
      : [[s.name, s.note, bytes(s.total.raw), bytes(s.total.gzip), bytes(s.total.brotli)]]))), "");
  const jsInputs = R.jsInputs ?? R.sizes.jsInputs;
  if (jsInputs) {
    P("The JS part, by source file (minified bytes each contributes to the bundle, before compression): "
      + Object.entries(jsInputs).filter(([, b]) => b > 0).sort((a, b) => b[1] - a[1]).map(([f, b]) => `\`${f}\` ${bytes(b)}`).join(", ") + ".", "");
  }
  if (R.wasmFns) {
    const W = R.wasmFns;
    P(`The wasm's code by origin (function bodies, from the same -Oz build with names kept; code section ${bytes(W.codeBytes)}):`, "");
    P(table(["origin", "bytes", "share of code"], W.groups.map((g) => [g.group, bytes(g.bytes), `${((g.bytes / W.codeBytes) * 100).toFixed(1)} %`])), "");
    P(`The 15 largest functions (of ${bytes(W.total)} with the name section; the shipped file has none):`, "");
    P(table(["function", "bytes", "share of code"], W.functions.slice(0, 15).map((f) => [`\`${f.name.replace(/::h[0-9a-f]{16}$/, "").replace(/\|/g, "\\|")}\``, bytes(f.bytes), `${((f.bytes / W.codeBytes) * 100).toFixed(1)} %`])), "");
  }

  // 6
  P("## 6. Start-up (fresh browser context and page each round, nothing cached)", "");
  P("End to end: `import('/node_modules/oncefetch/dist/index.js')` → `createClient({ fetch: stub })` → first `client.fetch` resolved and its body read (the wasm is fetched from the loopback server and compiled with `instantiateStreaming`). "
    + "Split: the same steps taken apart on another fresh page — the modules imported, the wasm bytes fetched, then `WebAssembly.compile` and the instantiation timed alone.", "");
  P(table(["step", "ms"], [
    ...Object.entries(R.startup.e2e).map(([k, v]) => [`end to end: ${k}`, fmt(v)]),
    ...Object.entries(R.startup.split).map(([k, v]) => [`split: ${k}`, fmt(v)]),
  ]), "");

  // 7
  const M = R.memory;
  P(`## 7. Memory: ${M.n.toLocaleString("en-US")} distinct actions, \`keyTtlMs: 50\`, \`maxEntries: 1000\`, stub fetch, localStorage`, "");
  P(`Sequential calls, small distinct bodies, in chunks of 10,000; heap after two \`HeapProfiler.collectGarbage\` (CDP \`Runtime.getHeapUsage\`). ${(M.usPerCall).toFixed(1)} µs per call on average.`, "");
  P(table(["", "start", "end", "verdict"], [
    ["localStorage `oncefetch:` entries", String(M.before.localStorageEntries), String(M.after.localStorageEntries), M.after.localStorageEntries <= 1000 ? "≤ maxEntries ✔" : "**> maxEntries**"],
    ["`client.inflight`", String(M.before.inflight), String(M.after.inflight), M.after.inflight === 0 ? "0 ✔" : "**not 0**"],
    ["JS heap used", kb(M.before.heap), kb(M.after.heap), `${M.after.heap - M.before.heap >= 0 ? "+" : ""}${kb(M.after.heap - M.before.heap)}`],
    ["wasm linear memory", kb(M.before.wasmMemoryBytes), kb(M.after.wasmMemoryBytes), `${kb(M.after.wasmMemoryBytes - M.before.wasmMemoryBytes)} grown (linear memory never shrinks)`],
  ]), "");
  P(table(["after calls", "ms for the chunk", "µs/call", "LS entries", "JS heap", "wasm memory"],
    M.series.map((s) => [s.calls.toLocaleString("en-US"), s.ms.toFixed(0), ((s.ms * 1000) / 10_000).toFixed(1), String(s.entries), kb(s.heap), kb(s.wasm)])), "");

  // Profile
  P("## Where oncefetch's per-call time goes", "");
  P("Chromium CPU profiles (CDP `Profiler`, 100 µs sampling; the profiler slows the calls down, so read shares, not absolute times) of distinct 1 KB POSTs through the stub fetch, with the profiling build (bench/build/prof: the same -Oz wasm keeping its name section); "
    + "the raw profiles are in bench/build/profile-*.cpuprofile (open in DevTools). Shares are of busy (non-idle) time, which includes the bench loop and the stub.", "");
  for (const [k, p] of Object.entries(R.profiles)) {
    P(`### storage "${k}" — ${p.n} calls, ${p.msProfiled !== undefined ? `${p.msProfiled.toFixed(0)} ms for the burst` : `${p.usPerCallProfiled.toFixed(1)} µs per call`} while profiled`, "");
    P(table(["category (self time)", "share", "ms"], p.categories.map((c) => [c.c, `${(c.share * 100).toFixed(1)} %`, c.ms.toFixed(1)])), "");
    P("Top functions by self time:", "");
    P(table(["function", "category", "self"], p.top.slice(0, 15).map((f) => [`\`${f.l.replace(/\|/g, "\\|")}\``, f.cat, `${(f.share * 100).toFixed(1)} %`])), "");
    P("<details><summary>Top functions by inclusive time</summary>", "");
    P(table(["function", "inclusive"], p.inclusive.map((f) => [`\`${f.l.replace(/\|/g, "\\|")}\``, `${(f.share * 100).toFixed(1)} %`])), "", "</details>", "");
  }
  P("### Manual stage timers (the engine's calls alone, as the facade makes them for one keyed 1 KB POST)", "");
  const engineTotal = (st) => Object.entries(st).filter(([k]) => !k.includes("full")).reduce((a, [, s]) => a + s.median, 0).toFixed(2);
  P(`Each stage runs back to back ${"500"} times on an emptied store (the *store full* ones: 50 times over 1000 live entries), on an engine of its own.`, "");
  P(table(["stage", "storage \"memory\" µs", "storage \"local\" µs"],
    Object.keys(R.stages.memory.stages).map((k) => [k, fmt(R.stages.memory.stages[k]), fmt(R.stages.local.stages[k])])
      .concat([["**engine total, store not full** (identify + begin + outcome)", engineTotal(R.stages.memory.stages), engineTotal(R.stages.local.stages)]])), "");
  P("JS building blocks the facade uses on each call (µs each, for scale):", "");
  P(table(["operation", "µs"], Object.entries(R.stages.memory.js).map(([k, v]) => [k, fmt(v, 3)])), "");
  const notes = path.join(ROOT, "bench/NOTES.md");
  if (fs.existsSync(notes)) P(fs.readFileSync(notes, "utf8").trim(), "");
  const errs = Object.entries(R.pageErrors ?? {}).filter(([, e]) => e.length);
  if (errs.length) P("## Page errors seen", "", ...errs.map(([k, e]) => `- ${k}: ${e.slice(0, 5).join(" / ")}`), "");
  return `${L.join("\n")}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  // `--report`: rewrite RESULTS.md from the last run's bench/build/results.json (e.g. after editing NOTES.md).
  const run = process.argv.includes("--report")
    ? async () => fs.writeFileSync(path.join(ROOT, "bench/RESULTS.md"), report(JSON.parse(fs.readFileSync(path.join(BUILD, "results.json"), "utf8"))))
    : main;
  run().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
