#!/usr/bin/env node
// oncefetch soak test: `node bench/soak.mjs` (after `bash scripts/build.sh`).
// Not part of `npm test`; takes a few minutes. Options:
//   --calls N        total calls (default 100000)
//   --real N         of which N go to the real loopback server (default calls / 5)
//   --seed N         PRNG seed (default 1)
//   --max-entries N  the client's maxEntries (default 500, so the bound is hit)
//   --quick          10,000 calls, for editing this file
//
// One headless Chromium page, one client, a long mixed workload: distinct
// actions, duplicates in bursts (coalesced) and later (replayed), aborts before
// and during a request, and injected faults (503, dropped connections, 422,
// replays, answers lost after the work was done). Most calls go to an in-page
// stub server (the `fetch` option) that behaves like server/reference.mjs's
// idempotent endpoint, so 100k calls fit in minutes; the rest go over HTTP to
// the real reference server on 127.0.0.1 (x-fault headers and queued faults).
//
// Asserted at the end (exit code 1 and a FAIL line otherwise):
//   - no call left pending: each one is raced against a 20 s sentinel;
//   - client.inflight is 0;
//   - localStorage holds at most maxEntries `oncefetch:` entries;
//   - no duplicate effect: every action was done at most once by the stub
//     server and by /api/idem/tasks, exactly once when a call of it succeeded,
//     and every success of an action carries the same task id;
//   - keyFor returns one key per action until release.
// Reported: JS heap (after forced GC) and wasm memory growth, outcome counts,
// throughput. The last result is written to bench/SOAK.md.
import fs from "node:fs";
import path from "node:path";
import os from "node:os";
import { execSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { launchBrowser, startPageServer, waitReady } from "../tests/e2e/harness.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const T0 = Date.now();
const log = (...a) => console.log(`[soak ${((Date.now() - T0) / 1000).toFixed(0).padStart(4)}s]`, ...a);

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} wants a whole number, got ${process.argv[i + 1]}`);
  return v;
}
const QUICK = process.argv.includes("--quick");
const CALLS = option("calls", QUICK ? 10_000 : 100_000);
const REAL = option("real", Math.round(CALLS / 5));
const SEED = option("seed", 1);
const MAX_ENTRIES = option("max-entries", 500);
const CONFIG = {
  seed: SEED,
  maxEntries: MAX_ENTRIES,
  sentinelMs: 20_000,
  concurrency: 64,
  retry: { attempts: 3, baseMs: 2, maxMs: 20, maxRetryAfterMs: 50 },
};

if (!fs.existsSync(path.join(ROOT, "dist/index.js"))) {
  console.error("soak: dist/ is missing: run `bash scripts/build.sh` first");
  process.exit(2);
}

// ---------------------------------------------------------------- in the page

/**
 * Installed in the page: builds the workload, runs it, and returns counts.
 * Runs in Chromium, so it may use nothing from this file's scope.
 */
function installSoak() {
  const { createClient } = window.oncefetch;
  let rand;
  const seedRandom = (seed) => {
    let a = seed >>> 0;
    rand = () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  };
  const pick = (weights) => {
    let r = rand() * weights.reduce((s, [, w]) => s + w, 0);
    for (const [v, w] of weights) if ((r -= w) < 0) return v;
    return weights[weights.length - 1][0];
  };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const tick = () => (rand() < 0.7 ? Promise.resolve() : sleep(0));

  // ------------------------------------------------------------ the stub server
  // The idempotent endpoint of server/reference.mjs, in memory: a key is claimed
  // before the work; a duplicate meanwhile gets 409 + Retry-After; a finished
  // key replays its answer; another payload under a key gets 422.
  const stub = {
    records: new Map(), // key -> { body, done, status, payload }
    effects: new Map(), // action -> number of times the work was done
    taskSeq: 0,
    requests: 0,
    faultsUsed: new Map(), // key + fault -> times applied
  };
  const json = (status, payload, headers = {}) =>
    new Response(JSON.stringify(payload), { status, headers: { "content-type": "application/json", ...headers } });
  const abortError = (signal) => signal.reason ?? new DOMException("aborted", "AbortError");

  async function stubFetch(input, init = {}) {
    stub.requests++;
    const signal = init.signal;
    const headers = new Headers(init.headers);
    const key = headers.get("Idempotency-Key");
    const body = typeof init.body === "string" ? init.body : "";
    const method = (init.method ?? "GET").toUpperCase();
    // x-fault: "<kind>" or "<kind>;once" (applied to the first attempt of the key only).
    const [fault, once] = (headers.get("x-fault") ?? "").split(";");
    const faultId = `${key}|${fault}`;
    const applies = fault && (!once || !stub.faultsUsed.has(faultId));
    if (applies) stub.faultsUsed.set(faultId, (stub.faultsUsed.get(faultId) ?? 0) + 1);
    await tick();
    if (signal?.aborted) throw abortError(signal);
    if (method === "GET") return json(200, { ok: true, url: String(input) });
    if (applies && fault === "503") return json(503, { error: "injected" }, { "retry-after": "0" });
    if (applies && fault === "drop") throw new TypeError("Failed to fetch (injected drop)");
    // A server answers 422 or replays a failure only for a key it has not done the work for.
    const fresh = key === null || !stub.records.has(key);
    if (applies && fresh && fault === "422") return json(422, { error: "injected" });
    if (applies && fresh && fault === "replayed500") return json(500, { error: "stored failure" }, { "idempotent-replayed": "true" });
    if (applies && fault === "replayed201") return json(201, { replayed: true }, { "idempotent-replayed": "true" });
    if (key === null) return json(400, { error: "no key" });
    const prior = stub.records.get(key);
    if (prior) {
      if (prior.body !== body) return json(422, { error: "key reused with a different payload" });
      if (!prior.done) return json(409, { error: "in progress" }, { "retry-after": "0" });
      return json(prior.status, prior.payload, { "idempotent-replayed": "true" });
    }
    const rec = { body, done: false };
    stub.records.set(key, rec);
    await tick(); // the work
    const action = JSON.parse(body).a;
    stub.effects.set(action, (stub.effects.get(action) ?? 0) + 1);
    Object.assign(rec, { done: true, status: 201, payload: { id: `t${++stub.taskSeq}`, a: action } });
    // The effect happened even if the caller left or the answer is lost.
    if (applies && fault === "lost") throw new TypeError("Failed to fetch (answer lost after the work)");
    if (signal?.aborted) throw abortError(signal);
    return json(201, rec.payload);
  }

  // ------------------------------------------------------------ the workload
  // Calls come in clusters per action so that duplicates run concurrently
  // (coalesced) or soon after (replayed from the settled key), and an action's
  // key is still among the newest `maxEntries` when it is called again.
  const KINDS = [
    ["plain", 50], ["abortLate", 6], ["abortEarly", 2], ["preAborted", 1],
    ["503once", 5], ["503", 3], ["dropOnce", 4], ["drop", 2], ["lost", 3],
    ["422", 3], ["replayed500", 2], ["replayed", 2], ["get", 3],
  ];
  // Final refusals (422, a replayed failure) come only before any work was done
  // for the key: the reference server injects them whatever its state, so in
  // the real phase they go on an action's first call only.
  const FIRST_ONLY = new Set(["422", "replayed500"]);
  const kindsOf = new Map(); // action -> kinds of its calls, to explain a failed check
  function workload(n, real, prefix) {
    const specs = [];
    let actionSeq = 0;
    const later = []; // [dueIndex, spec]
    while (specs.length < n) {
      const a = `${prefix}${actionSeq++}`;
      const copies = pick([[1, 45], [2, 25], [3, 15], [5, 10], [8, 5]]);
      for (let c = 0; c < copies && specs.length < n; c++) {
        let kind = pick(KINDS);
        while (real && c > 0 && FIRST_ONLY.has(kind)) kind = pick(KINDS);
        const spec = { a, kind };
        kindsOf.set(a, [...(kindsOf.get(a) ?? []), kind]);
        if (c > 0 && rand() < 0.3) later.push([specs.length + 50 + Math.floor(rand() * 150), spec]);
        else specs.push(spec);
      }
      for (let i = later.length - 1; i >= 0; i--) {
        if (later[i][0] <= specs.length) { specs.push(later[i][1]); later.splice(i, 1); }
      }
    }
    for (const [, s] of later) if (specs.length < n) specs.push(s);
    return specs.slice(0, n);
  }

  // ------------------------------------------------------------ one call
  const tally = {};
  const count = (k) => { tally[k] = (tally[k] ?? 0) + 1; };
  const successes = new Map(); // action -> Set of task ids in 2xx answers that did the work or replayed it
  const pending = [];

  function withSentinel(p, ms, what) {
    let timer;
    return Promise.race([
      p.then((v) => ({ ok: true, v }), (e) => ({ ok: false, e })),
      new Promise((r) => { timer = setTimeout(() => r({ pending: true }), ms); }),
    ]).then((out) => {
      clearTimeout(timer);
      if (out.pending) pending.push(what);
      return out;
    });
  }

  async function call(client, spec, cfg, real) {
    // Every call of an action sends the same URL and body (they are its fingerprint;
    // another payload would rightly be another key). The trailing "&" keeps a
    // queued fault for ?a=r1& off ?a=r10&.
    const url = real ? `/api/idem/tasks?a=${spec.a}&` : `/stub/tasks?a=${spec.a}`;
    const headers = {};
    const init = { method: "POST", body: JSON.stringify({ a: spec.a }), action: `soak:${spec.a}`, headers };
    let ac;
    switch (spec.kind) {
      case "get": {
        const out = await withSentinel(client.fetch(real ? `/api/echo?g=${spec.a}` : `/stub/echo?g=${spec.a}`), cfg.sentinelMs, spec);
        count(out.pending ? "pending" : out.ok ? `get ${out.v.status}` : `get rejected ${out.e?.name}`);
        if (out.ok) await out.v.arrayBuffer();
        return;
      }
      case "abortLate": // aborted while the server works: the work is done all the same
        ac = new AbortController(); setTimeout(() => ac.abort(), real ? 5 : 0);
        if (real) headers["x-fault"] = "delay=15";
        break;
      case "abortEarly": ac = new AbortController(); queueMicrotask(() => ac.abort()); break;
      case "preAborted": ac = new AbortController(); ac.abort(); break;
      case "503once": if (real) { /* queued at the server */ } else headers["x-fault"] = "503;once"; break;
      case "503": headers["x-fault"] = real ? "status=503" : "503"; break;
      case "dropOnce": if (!real) headers["x-fault"] = "drop;once"; break;
      case "drop": headers["x-fault"] = "drop"; break;
      case "lost": if (!real) headers["x-fault"] = "lost;once"; break;
      case "422": headers["x-fault"] = real ? "status=422" : "422"; break;
      case "replayed500": headers["x-fault"] = real ? "status=500; replayed" : "replayed500"; break;
      case "replayed": headers["x-fault"] = real ? "status=201; replayed" : "replayed201"; break;
    }
    if (ac) init.signal = ac.signal;
    const out = await withSentinel(client.fetch(url, init), cfg.sentinelMs, spec);
    if (out.pending) return count("pending");
    if (!out.ok) {
      const e = out.e;
      const isError = e instanceof Error || e instanceof DOMException;
      count(isError ? `rejected ${e.name}` : "rejected with a non-Error");
      return;
    }
    const res = out.v;
    const info = client.info(res);
    count(`${res.status}${info?.replayed ? " replayed" : ""}${info?.coalesced ? " coalesced" : ""}`);
    if (info?.attempts > 1) count("retried");
    let text;
    try {
      text = await res.text();
    } catch (e) {
      // Aborted after its answer arrived: as with fetch, the caller's abort
      // stops the body it is reading (SPEC B4). Anything else is counted too.
      count(ac?.signal.aborted && e?.name === "AbortError" ? "body read aborted" : `body read failed ${e?.name}`);
      return;
    }
    if (res.status >= 200 && res.status < 300) {
      let payload = null;
      try { payload = JSON.parse(text); } catch { /* an injected answer */ }
      if (payload?.id) {
        if (!successes.has(spec.a)) successes.set(spec.a, new Set());
        successes.get(spec.a).add(payload.id);
      }
    }
  }

  async function runPhase(client, specs, cfg, real, progress) {
    let next = 0;
    let done = 0;
    const step = Math.max(1, Math.floor(specs.length / 10));
    const worker = async () => {
      while (next < specs.length) {
        const spec = specs[next++];
        // A burst: the next copies of the same action start in the same tick.
        const burst = [spec];
        while (next < specs.length && specs[next].a === spec.a && burst.length < 8) burst.push(specs[next++]);
        await Promise.all(burst.map((s) => call(client, s, cfg, real)));
        for (let i = 0; i < burst.length; i++) if (++done % step === 0) progress(done);
      }
    };
    await Promise.all(Array.from({ length: cfg.concurrency }, worker));
  }

  /** keyFor: one key per action until release, then a new one. */
  async function keyForCheck(client, n) {
    let bad = 0;
    for (let i = 0; i < n; i++) {
      const a = `wf-${i}`;
      const [k1, k2] = await Promise.all([client.keyFor(a), client.keyFor(a)]);
      const k3 = await client.keyFor(a);
      await client.release(a);
      const k4 = await client.keyFor(a);
      await client.release(a);
      if (k1 !== k2 || k1 !== k3 || k4 === k1) bad++;
    }
    return bad;
  }

  window.soak = {
    async run(cfg, phase, n, prefix) {
      seedRandom(cfg.seed + (phase === "real" ? 7919 : 0));
      const real = phase === "real";
      const client = (window.soakClient ??= createClient({
        scope: "soak",
        maxEntries: cfg.maxEntries,
        retry: cfg.retry,
        crossTab: false,
        fetch: (input, init) => (String(input).startsWith("/stub/") ? stubFetch(input, init) : fetch(input, init)),
      }));
      const specs = workload(n, real, prefix);
      const t = performance.now();
      await runPhase(client, specs, cfg, real, (d) => console.log(`soak-progress ${phase} ${d}/${n}`));
      const ms = performance.now() - t;
      // Every call has settled (or been counted pending); give stray timers a moment.
      await sleep(50);
      return { ms, calls: specs.length, distinctActions: new Set(specs.map((s) => s.a)).size };
    },
    /** The real phase's faults that hit only an action's first request (the server's queue does those). */
    faultPlan(cfg, n) {
      seedRandom(cfg.seed + 7919);
      return workload(n, true, "r").filter((s) => ["503once", "dropOnce"].includes(s.kind)).map((s) => [s.a, s.kind]);
    },
    async keyFor(n) { return keyForCheck(window.soakClient, n); },
    report() {
      const stored = Object.keys(localStorage).filter((k) => k.startsWith("oncefetch:")).length;
      const dupStub = [...stub.effects].filter(([, n]) => n > 1);
      const splitIds = [...successes].filter(([, ids]) => ids.size > 1).map(([a, ids]) => [a, [...ids]]);
      return {
        inflight: window.soakClient.inflight,
        stored,
        pending: pending.length,
        pendingSample: pending.slice(0, 5),
        tally,
        stub: { requests: stub.requests, actionsDone: stub.effects.size, duplicates: dupStub.length, duplicateSample: dupStub.slice(0, 5).map(([a, n]) => [a, n, kindsOf.get(a)]) },
        splitIds: splitIds.length,
        splitSample: splitIds.slice(0, 5).map(([a, ids]) => [a, ids, kindsOf.get(a)]),
        kindsOf: Object.fromEntries([...kindsOf].filter(([a]) => a.startsWith("r"))),
        realSuccesses: Object.fromEntries([...successes].filter(([a]) => a.startsWith("r")).map(([a, ids]) => [a, [...ids]])),
      };
    },
    /** Drops the bookkeeping of this file (not the library's state), so heap numbers show the library. */
    forget() {
      successes.clear();
      kindsOf.clear();
      pending.length = 0;
      stub.records.clear();
      stub.effects.clear();
      stub.faultsUsed.clear();
    },
    async wasmBytes() {
      const mod = await import("/node_modules/oncefetch/dist/engine.js"); // the instance the client loaded
      return mod.memoryBytes();
    },
  };
}

// ---------------------------------------------------------------- driver

const server = await startPageServer();
const browser = await launchBrowser();
let exitCode = 1;
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  const pageLogs = [];
  page.on("console", (m) => {
    const t = m.text();
    if (t.startsWith("soak-progress ")) log(t.slice(14));
    else if (m.type() === "error" && !/Failed to load resource/.test(t)) pageLogs.push(t);
  });
  page.on("pageerror", (e) => pageLogs.push(`pageerror: ${e.message}`));
  await page.goto(new URL("nobundler.html", server.url).href);
  await waitReady(page);
  await page.evaluate(installSoak);
  const cdp = await context.newCDPSession(page);
  const heap = async () => {
    await cdp.send("HeapProfiler.collectGarbage");
    await cdp.send("HeapProfiler.collectGarbage");
    return (await cdp.send("Runtime.getHeapUsage")).usedSize;
  };

  const stubCalls = CALLS - REAL;
  log(`${CALLS} calls: ${stubCalls} against the in-page stub server, ${REAL} against ${server.url} (seed ${SEED}, maxEntries ${MAX_ENTRIES})`);

  // Each phase is checked, then this file's bookkeeping is dropped before the heap is measured.
  const reports = [];
  const check = async () => {
    const r = await page.evaluate(() => { const out = window.soak.report(); window.soak.forget(); return out; });
    reports.push(r);
    return r;
  };

  // Warm-up (loads the engine, fills the store to its bound), then the baseline.
  const warm = Math.min(2_000, stubCalls);
  await page.evaluate(([cfg, n]) => window.soak.run({ ...cfg, seed: cfg.seed + 1_000_003 }, "stub", n, "w"), [CONFIG, warm]);
  await check();
  const heap0 = await heap();
  const wasm0 = await page.evaluate(() => window.soak.wasmBytes());

  const stub = await page.evaluate(([cfg, n]) => window.soak.run(cfg, "stub", n, "s"), [CONFIG, stubCalls - warm]);
  log(`stub phase: ${stub.calls} calls over ${stub.distinctActions} actions in ${(stub.ms / 1000).toFixed(1)} s`);
  await check();
  const heap1 = await heap();

  // Faults that hit only the first request of an action need the server's queue.
  const plan = await page.evaluate(([cfg, n]) => window.soak.faultPlan(cfg, n), [CONFIG, REAL]);
  const queue = plan.map(([a, kind]) => (kind === "dropOnce"
    ? { path: `/api/idem/tasks?a=${a}&`, drop: true }
    : { path: `/api/idem/tasks?a=${a}&`, status: 503, retryAfter: "0" }));
  const q = await fetch(new URL("__control/faults", server.url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(queue) });
  if (!q.ok) throw new Error(`could not queue faults: ${q.status} ${await q.text()}`);

  const real = await page.evaluate(([cfg, n]) => window.soak.run(cfg, "real", n, "r"), [CONFIG, REAL]);
  log(`real phase: ${real.calls} calls over ${real.distinctActions} actions in ${(real.ms / 1000).toFixed(1)} s`);
  const keyForBad = await page.evaluate(() => window.soak.keyFor(200));
  const last = await check();
  const heap2 = await heap();
  const wasm2 = await page.evaluate(() => window.soak.wasmBytes());
  const sum = (f) => reports.reduce((n, r) => n + f(r), 0);
  const report = {
    ...last,
    pending: sum((r) => r.pending),
    pendingSample: reports.flatMap((r) => r.pendingSample).slice(0, 5),
    stub: {
      requests: last.stub.requests,
      duplicates: sum((r) => r.stub.duplicates),
      duplicateSample: reports.flatMap((r) => r.stub.duplicateSample).slice(0, 5),
    },
    splitIds: sum((r) => r.splitIds),
    splitSample: reports.flatMap((r) => r.splitSample).slice(0, 5),
  };

  // The server's side: one task per action, and the ids the client saw are those tasks.
  const tasks = await (await fetch(new URL("api/idem/tasks", server.url))).json();
  const log2 = await (await fetch(new URL("__control/log", server.url))).json();
  const realRequests = log2.requests.filter((r) => r.path === "/api/idem/tasks" && r.method === "POST").length;
  const byAction = new Map();
  for (const t of tasks) {
    let a;
    try { a = JSON.parse(t.body).a; } catch { a = `?${t.id}`; }
    if (!byAction.has(a)) byAction.set(a, []);
    byAction.get(a).push(t.id);
  }
  const serverDuplicates = [...byAction].filter(([, ids]) => ids.length > 1).map(([a, ids]) => [a, ids, report.kindsOf[a]]);
  const missing = Object.entries(report.realSuccesses).filter(([a, ids]) => !(byAction.get(a)?.length === 1 && ids.every((id) => id === byAction.get(a)[0])));

  const checks = [
    ["no call left pending", report.pending === 0, `${report.pending} pending ${JSON.stringify(report.pendingSample)}`],
    ["client.inflight is 0", report.inflight === 0, `inflight ${report.inflight}`],
    [`stored entries <= maxEntries (${MAX_ENTRIES})`, report.stored <= MAX_ENTRIES, `${report.stored} stored`],
    ["stub server: each action done at most once", report.stub.duplicates === 0, JSON.stringify(report.stub.duplicateSample)],
    ["reference server: at most one task per action", serverDuplicates.length === 0, JSON.stringify(serverDuplicates.slice(0, 5))],
    ["every success of an action carries the same task id", report.splitIds === 0, JSON.stringify(report.splitSample)],
    ["every real success is the one task the server made", missing.length === 0, JSON.stringify(missing.slice(0, 5))],
    ["keyFor: one key per action until release", keyForBad === 0, `${keyForBad} actions with inconsistent keys`],
    ["no uncaught page error", pageLogs.length === 0, pageLogs.slice(0, 5).join(" | ")],
  ];
  const failed = checks.filter(([, ok]) => !ok);
  for (const [what, ok, detail] of checks) log(`${ok ? "ok  " : "FAIL"} ${what}${ok ? "" : `: ${detail}`}`);

  const mb = (n) => `${(n / 2 ** 20).toFixed(2)} MB`;
  const signed = (n) => `${n >= 0 ? "+" : "-"}${mb(Math.abs(n))}`;
  const totalMs = stub.ms + real.ms;
  const summary = `soak: ${failed.length ? "FAIL" : "PASS"} ${CALLS.toLocaleString("en-US")} calls (${stubCalls.toLocaleString("en-US")} stub + ${REAL.toLocaleString("en-US")} real) in ${((Date.now() - T0) / 1000).toFixed(0)} s; pending ${report.pending}; inflight ${report.inflight}; stored ${report.stored}/${MAX_ENTRIES}; duplicate effects ${report.stub.duplicates + serverDuplicates.length}; JS heap ${signed(heap2 - heap0)} (${mb(heap0)} -> ${mb(heap2)}); wasm memory ${mb(wasm0)} -> ${mb(wasm2)}`;

  const sh = (c) => { try { return execSync(c, { cwd: ROOT, stdio: ["ignore", "pipe", "ignore"] }).toString().trim(); } catch { return "?"; } };
  const tallyRows = Object.entries(report.tally).sort((a, b) => b[1] - a[1]).map(([k, n]) => `| ${k} | ${n.toLocaleString("en-US")} |`);
  const md = `# Soak result

Last run of \`node bench/soak.mjs${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(" ")}` : ""}\` (written by the script; see its header for what it does).

\`\`\`
${summary}
\`\`\`

| | |
|---|---|
| when | ${new Date().toISOString()} |
| commit | ${sh("git rev-parse --short HEAD")}${sh("git status --porcelain -- src js") ? " + uncommitted changes in src/ or js/" : ""} |
| machine | ${os.cpus().length} × ${os.cpus()[0]?.model ?? "?"}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Chromium ${browser.version()}, Node ${process.version} |
| seed, maxEntries, retry | ${SEED}, ${MAX_ENTRIES}, \`${JSON.stringify(CONFIG.retry)}\` |
| stub phase | ${stub.calls.toLocaleString("en-US")} calls (+ ${warm.toLocaleString("en-US")} warm-up) over ${stub.distinctActions.toLocaleString("en-US")} actions, ${(stub.ms / 1000).toFixed(1)} s, ${report.stub.requests.toLocaleString("en-US")} stub requests |
| real phase | ${real.calls.toLocaleString("en-US")} calls over ${real.distinctActions.toLocaleString("en-US")} actions, ${(real.ms / 1000).toFixed(1)} s, ${realRequests.toLocaleString("en-US")} POSTs reached /api/idem/tasks, ${tasks.length.toLocaleString("en-US")} tasks made, ${queue.length} faults queued |
| throughput | ${Math.round(((stub.calls + real.calls) / totalMs) * 1000).toLocaleString("en-US")} calls/s overall |
| JS heap after GC | ${mb(heap0)} after warm-up, ${mb(heap1)} after the stub phase, ${mb(heap2)} at the end (${signed(heap2 - heap0)}) |
| wasm linear memory | ${mb(wasm0)} after warm-up, ${mb(wasm2)} at the end |

## Checks

${checks.map(([what, ok, detail]) => `- ${ok ? "✔" : "✘"} ${what}${ok ? "" : ` — ${detail}`}`).join("\n")}

## Outcomes seen by callers

| outcome | calls |
|---|---|
${tallyRows.join("\n")}
`;
  fs.writeFileSync(path.join(ROOT, "bench/SOAK.md"), md);
  console.log(summary);
  exitCode = failed.length ? 1 : 0;
} catch (err) {
  console.error(`soak: FAIL ${err.stack ?? err}`);
} finally {
  await browser.close();
  await server.close();
}
process.exit(exitCode);
