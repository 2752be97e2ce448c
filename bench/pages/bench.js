// The in-page half of the benchmark: every measured loop runs here, in the
// page, and only numbers cross back to Node (bench/run.mjs drives the rounds).
//
// `?variant=prof` loads bench/build/prof/dist/ instead of the package's dist/:
// the same build with the wasm name section kept, for readable CPU profiles.
import { wretch, dedupe, idmp } from "/build/libs.js";

const params = new URL(import.meta.url).searchParams;
const variant = params.get("variant");
/** Which single oncefetch client this page holds: "memory" | "local" (stub fetch), "net" (real fetch), "none".
 * One per page: two clients in one page hear each other's BroadcastChannel hello and
 * take a Web Lock on every call as if another tab were open (see RESULTS.md). */
const OF = params.get("of") ?? "memory";
const BASE = variant === "prof" ? "/build/prof/dist/" : "/node_modules/oncefetch/dist/";
const { createClient } = await import(`${BASE}index.js`);
const engineModule = await import(`${BASE}engine.js`);

const URL_ECHO = new URL("/api/echo", location.href).href;
const RESPONSE_BODY = '{"ok":true,"id":1}';
const HEADERS = { "content-type": "application/json" };
const gc = () => globalThis.gc?.();
const now = () => performance.now();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ------------------------------------------------------------------ bodies

let serial = 0;
/** A JSON body of exactly `size` bytes, unique across the page's life, as a flat string. */
export function makeBody(size = 1024, tag = "") {
  const head = `{"n":${serial++},"t":"${tag}","p":"`;
  const tail = '"}';
  const s = head + "x".repeat(Math.max(0, size - head.length - tail.length)) + tail;
  return decoder.decode(encoder.encode(s)); // flat, like JSON.stringify's output
}
const bodies = (n, size = 1024, tag = "") => Array.from({ length: n }, () => makeBody(size, tag));

// ------------------------------------------------------------------ the contenders

/** The stub fetch: no network, counts its invocations, answers a fresh 200 Response at once. */
export const stub = Object.assign((_url, _init) => {
  stub.calls++;
  return Promise.resolve(new Response(RESPONSE_BODY));
}, { calls: 0 });

/**
 * The hand-written `Map<string, Promise>` dedupe: identical calls in flight
 * share one request; a lone caller gets the original Response, joiners each
 * get their own copy of the bytes (the same contract as oncefetch's B3).
 */
export function mapDedupe(fetchFn) {
  const inflight = new Map();
  return (url, init = {}) => {
    const k = `${init.method ?? "GET"} ${url} ${init.body ?? ""}`;
    let f = inflight.get(k);
    if (f === undefined) {
      const flight = { callers: 0 };
      flight.p = fetchFn(url, init).then(
        async (res) => {
          inflight.delete(k);
          return flight.callers > 1 ? { res, buf: await res.arrayBuffer() } : { res };
        },
        (e) => { inflight.delete(k); throw e; },
      );
      inflight.set(k, (f = flight));
    }
    f.callers++;
    return f.p.then(({ res, buf }) => (buf === undefined ? res : new Response(buf, res)));
  };
}

/** Wraps a fetch-shaped function into `(url, body) => Promise<text>`: POST, then read the body. */
const viaFetch = (f) => async (url, body) => (await f(url, { method: "POST", headers: HEADERS, body })).text();

export let client;
/** The contenders over the stub fetch (the page's single oncefetch client among them). */
function stubContenders() {
  const w = wretch()
    .fetchPolyfill(stub)
    .headers(HEADERS)
    // dedupe skips non-GET and keys on method + url by default: POSTs with their body here.
    .middlewares([dedupe({ skip: () => false, key: (url, o) => `${o.method}@${url}@${o.body}` })]);
  const out = {
    raw: viaFetch(stub),
    "wretch-dedupe": (url, body) => w.url(url).post(body).text(),
    idmp: (url, body) => idmp(`POST ${url} ${body}`, () => stub(url, { method: "POST", headers: HEADERS, body }).then((r) => r.text())),
    "map-dedupe": viaFetch(mapDedupe(stub)),
  };
  if (OF === "memory" || OF === "local") {
    client = createClient({ fetch: stub, storage: OF, scope: `bench-${OF}` });
    out[`oncefetch-${OF}`] = viaFetch(client.fetch);
  }
  return out;
}

const stubbed = stubContenders();
/**
 * Loopback: the real fetch, and oncefetch with its defaults (global fetch, localStorage).
 * On these pages `globalThis.fetch` is wrapped with two timestamps (when it is
 * called, when it resolves) so each call splits into before-send / fetch /
 * after / body read; raw calls go through the same wrapper.
 */
const stamps = { send: 0, resolved: 0 };
if (OF.startsWith("net")) {
  const realFetch = globalThis.fetch;
  globalThis.fetch = function fetch(u, i) {
    stamps.send = now();
    return realFetch.call(globalThis, u, i).then((r) => { stamps.resolved = now(); return r; });
  };
}
const network = { raw: (u, i) => fetch(u, i) };
if (OF === "net" || OF === "net-memory") {
  client = createClient(OF === "net" ? { scope: "bench-net" } : { scope: "bench-net", storage: "memory" });
  network.oncefetch = client.fetch;
}

/** One untimed call through each contender, so nothing is measured cold (the wasm loads here). */
export async function warm() {
  for (const run of Object.values(stubbed)) await run(URL_ECHO, makeBody());
  if (OF.startsWith("net")) for (const f of Object.values(network)) await (await f(URL_ECHO, { method: "POST", headers: HEADERS, body: makeBody() })).text();
  return Object.keys(stubbed);
}

// ------------------------------------------------------------------ 1. per call

/** The page's oncefetch store in a known state: "empty" (`client.clear()`), or "full": maxEntries (1000) live entries. */
async function storeState(lib, store) {
  if (!lib.startsWith("oncefetch")) return;
  await client.clear();
  if (store === "full") for (const b of bodies(1000, 1024, "prefill")) await stubbed[lib](URL_ECHO, b);
}

/**
 * `n` sequential calls through `lib`, each awaited and its body read.
 * mode "distinct": a new 1 KB body (a new action) each call;
 * mode "repeated": the same 1 KB body every call.
 * store (oncefetch only): "empty" — cleared first, and n stays under maxEntries;
 * "full" — maxEntries live (settled) entries first, so every call enforces the bound.
 * Returns µs per call and how many requests reached the stub.
 */
export async function perCall({ lib, mode, n, size = 1024, store = "empty" }) {
  const run = stubbed[lib];
  await storeState(lib, store);
  const list = mode === "distinct" ? bodies(n, size, lib) : Array(n).fill(makeBody(size, `rep-${lib}`));
  gc();
  const calls0 = stub.calls;
  const t0 = now();
  for (let i = 0; i < n; i++) await run(URL_ECHO, list[i]);
  // One task turn inside the timing, for every contender: work a library
  // defers to the next task counts.
  await new Promise((r) => setTimeout(r, 0));
  const us = ((now() - t0) * 1000) / n;
  return { us, requests: stub.calls - calls0 };
}

// ------------------------------------------------------------------ 2. burst

/** `n` identical calls started at once; every caller reads its own body. */
export async function burst({ lib, n }) {
  const run = stubbed[lib];
  const body = makeBody(1024, `burst-${lib}`);
  await storeState(lib, "empty");
  gc();
  const calls0 = stub.calls;
  const t0 = now();
  const texts = await Promise.all(Array.from({ length: n }, () => run(URL_ECHO, body)));
  const ms = now() - t0;
  return { ms, requests: stub.calls - calls0, allRead: texts.length === n && texts.every((t) => t === RESPONSE_BODY) };
}

// ------------------------------------------------------------------ 3. loopback network

/**
 * `n` sequential 1 KB POSTs to the reference server's /api/echo through raw
 * fetch and `n` through oncefetch, interleaved call by call (the order flips
 * every pair) so both see the same machine load; each body is read.
 * Returns the mean µs per POST of each.
 */
export async function net({ n }) {
  const list = bodies(2 * n, 1024, "net");
  if (client) await client.clear(); // n ≤ maxEntries: the bound is never enforced here
  gc();
  const zero = () => ({ total: 0, before: 0, fetch: 0, after: 0, read: 0 });
  const sum = { raw: zero(), oncefetch: zero() };
  let ok = 0;
  for (let i = 0; i < n; i++) {
    for (const lib of i % 2 ? ["raw", "oncefetch"] : ["oncefetch", "raw"]) {
      const body = list[2 * i + (lib === "raw" ? 0 : 1)];
      const t0 = now();
      const res = await network[lib](URL_ECHO, { method: "POST", headers: HEADERS, body });
      const t1 = now();
      const text = await res.text();
      const t2 = now();
      const s = sum[lib];
      s.total += t2 - t0;
      s.before += stamps.send - t0;
      s.fetch += stamps.resolved - stamps.send;
      s.after += t1 - stamps.resolved;
      s.read += t2 - t1;
      if (text.length > 0) ok++;
    }
  }
  const per = (s) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, (v * 1000) / n]));
  return { raw: per(sum.raw), oncefetch: per(sum.oncefetch), ok };
}

// ------------------------------------------------------------------ 3b. work after an idle wait

/**
 * What the same work costs back to back and right after the page sat idle
 * for `gapMs` (as it does while a request is on the network): the engine's
 * identify of a 1 KB body, and a JS-only step of the facade's size (URL +
 * Headers + a JSON parse). Means over `n` samples (the page's clock is
 * coarsened to 100 µs; the mean of many samples is not).
 */
export async function idlePenalty({ n = 200, gapMs = 5 }) {
  const e = await engineOf("memory");
  const list = bodies(n, 1024, "idle");
  const work = {
    "engine.identify, 1 KB (wasm)": (i) => identifyAsFacade(e, list[i]),
    "new URL + new Headers + JSON.parse (JS)": (i) => { new URL(`/api/${i}`, location.href); new Headers(HEADERS); JSON.parse(RESPONSE_BODY); },
  };
  const out = {};
  for (const [name, fn] of Object.entries(work)) {
    for (let i = 0; i < 100; i++) fn(i % n); // tier-up
    const measure = async (gap) => {
      let sum = 0;
      for (let i = 0; i < n; i++) {
        if (gap > 0) await new Promise((r) => setTimeout(r, gap)); else await null;
        const t0 = now();
        fn(i);
        sum += now() - t0;
      }
      return (sum * 1000) / n;
    };
    out[name] = { busy: await measure(0), idle: await measure(gapMs) };
  }
  return out;
}

// ------------------------------------------------------------------ 3c. localStorage in a call flow

/**
 * What localStorage writes cost inside a sequential async call flow (a stub
 * call and its body read, awaited), against the same writes back to back:
 * no oncefetch involved, only the writes it makes per keyed call — the
 * write-ahead entry (SPEC B5) and its settled state (B6), each ~150
 * characters under a fresh key. µs per iteration over `n`.
 */
export async function storageFlow({ n = 500 }) {
  const entry = '{"key":"0b8f5d0e-3a43-4c57-9a7e-6d4a52b9f1c2","fingerprint":"0123456789abcdef","createdAt":1764500000000,"expiresAt":1764586400000,"state":"pending"}';
  const settled = entry.replace("pending", "settled");
  let serial = 0;
  const call = async () => { await (await stub(URL_ECHO, {})).text(); };
  const flows = {
    "stub call + body read": async () => { await call(); },
    "+ one setItem before it": async () => { localStorage.setItem(`bench:flow:${serial++}`, entry); await call(); },
    "+ one setItem before it and one after (oncefetch's two writes)": async () => {
      const k = `bench:flow:${serial++}`;
      localStorage.setItem(k, entry);
      await call();
      localStorage.setItem(k, settled);
    },
  };
  const out = {};
  for (const [name, flow] of Object.entries(flows)) {
    localStorage.clear();
    const t0 = now();
    for (let i = 0; i < n; i++) await flow();
    out[name] = ((now() - t0) * 1000) / n;
  }
  localStorage.clear();
  const t0 = now();
  for (let i = 0; i < n; i++) {
    const k = `bench:flow:${serial++}`;
    localStorage.setItem(k, entry);
    localStorage.setItem(k, settled);
  }
  out["the two setItem alone, back to back"] = ((now() - t0) * 1000) / n;
  localStorage.clear();
  return out;
}

// ------------------------------------------------------------------ 4. fingerprint

/** `engine.identify` of a text body as the facade calls it: the string is
 * encoded straight into wasm memory (`encodeInto`; `encode` first beyond 64 K characters). */
const identifyAsFacade = (e, body) => e.identify("bench", "POST", URL_ECHO, undefined, body);

/** The engine itself (the page's instance, js/engine.ts), for the stage timers. */
async function engineOf(storage) {
  await engineModule.load();
  const sink = { emit() {} };
  return new engineModule.Engine(86_400_000, 10_000, 1000, storage === "memory", sink, false, Date.now());
}

/**
 * The cost of identifying a body of `size` bytes, four ways: a whole oncefetch
 * call minus a raw stub call (distinct bodies), the engine's `identify` alone
 * (the wasm SHA-256 plus copying the string in), and WebCrypto's SHA-256 of the
 * same bytes (already encoded, and with the UTF-8 encoding included).
 */
export async function fingerprint({ size, n }) {
  const out = {};
  const e = await engineOf("memory");
  for (const lib of ["raw", "oncefetch-memory"]) {
    const list = bodies(n, size, `fp-${lib}`);
    await storeState(lib, "empty");
    gc();
    const t0 = now();
    for (let i = 0; i < n; i++) await stubbed[lib](URL_ECHO, list[i]);
    out[lib] = ((now() - t0) * 1000) / n;
  }
  {
    const list = bodies(n, size, "fp-identify");
    gc();
    const t0 = now();
    for (let i = 0; i < n; i++) identifyAsFacade(e, list[i]);
    out.identify = ((now() - t0) * 1000) / n;
  }
  {
    const list = bodies(n, size, "fp-digest").map((s) => encoder.encode(s));
    gc();
    const t0 = now();
    for (let i = 0; i < n; i++) await crypto.subtle.digest("SHA-256", list[i]);
    out.digestBytes = ((now() - t0) * 1000) / n;
  }
  {
    const list = bodies(n, size, "fp-digest-str");
    gc();
    const t0 = now();
    for (let i = 0; i < n; i++) await crypto.subtle.digest("SHA-256", encoder.encode(list[i]));
    out.digestString = ((now() - t0) * 1000) / n;
  }
  return out;
}

// ------------------------------------------------------------------ stage timers

/**
 * Manual timers around the engine's per-call stages, called exactly as the
 * facade calls them for a keyed 1 KB POST (identify → begin → outcome; a
 * final outcome ends the flight), on a separate engine. Each stage runs `n`
 * times back to back. Plus the JS building blocks the facade uses on every call.
 */
export async function stages({ storage, n, nFull = 50 }) {
  if (storage === "local") localStorage.clear();
  const e = await engineOf(storage);
  const policy = new engineModule.RetryPolicy(4, 300, 10_000, 60_000, [408, 409, 425, 429, 500, 502, 503, 504]);
  const label = `POST ${URL_ECHO}`;
  const res = {};
  const time = (name, count, fn) => {
    gc();
    const t0 = now();
    const out = fn();
    res[name] = ((now() - t0) * 1000) / count;
    return out;
  };
  const identify = (b) => identifyAsFacade(e, b);
  // begin answers the key, and sets the token, in one crossing.
  const begin = (id) => { e.begin(id, label, true, false, undefined, Date.now()); return e.token; };
  const outcome = (t) => e.outcome(t, policy, 1, 200, undefined, false, true, Date.now(), Math.random(), label);
  const oneCall = (b) => outcome(begin(identify(b)));
  // Warm the code paths first (tier-up), on other bodies, then empty the store.
  for (const b of bodies(300, 1024, "stage-warm")) oneCall(b);
  e.admin(2, "bench", "", 0); // clear the scope (OP_CLEAR)

  const list = bodies(n, 1024, `stage-${storage}`);
  const ids = time("identify (1 KB text)", n, () => list.map(identify));
  const tokens = time("begin (find/mint key, write-ahead; token + key back)", n, () => ids.map(begin));
  time("outcome 200 (settle; ends the flight)", n, () => tokens.map(outcome));

  // A full store: maxEntries (1000) live entries, so each write-ahead enforces the bound.
  e.admin(2, "bench", "", 0); // clear the scope (OP_CLEAR)
  for (const b of bodies(1000, 1024, "stage-fill")) oneCall(b);
  const fullIds = bodies(nFull, 1024, "stage-full").map(identify);
  const fullTokens = time("begin, store full (1000 live entries)", nFull, () => fullIds.map(begin));
  time("outcome 200, store full", nFull, () => fullTokens.map(outcome));
  e.admin(2, "bench", "", 0); // clear the scope (OP_CLEAR)
  if (storage === "local") localStorage.clear();

  // JS building blocks of one facade call, for scale.
  const js = {};
  const jtime = (name, fn) => {
    for (let i = 0; i < 200; i++) fn(i);
    const t0 = now();
    for (let i = 0; i < n; i++) fn(i);
    js[name] = ((now() - t0) * 1000) / n;
  };
  const buf = new Uint8Array(4096);
  jtime("new URL(url, base).href", () => new URL(URL_ECHO, location.href).href);
  jtime("new Headers(init.headers)", () => new Headers(HEADERS));
  jtime("new Headers + set(key header)", () => new Headers(HEADERS).set("Idempotency-Key", "8e03978e-1f43-4b5c-9d2e-0f1e2d3c4b5a"));
  jtime("new AbortController()", () => new AbortController());
  jtime("new Response(body)", () => new Response(RESPONSE_BODY));
  jtime("TextEncoder.encodeInto 1 KB (the string copy into wasm)", (i) => encoder.encodeInto(list[i % list.length], buf));
  jtime("localStorage.getItem (entry-sized value)", (i) => localStorage.getItem(`bench-probe-${i % 50}`));
  jtime("localStorage.setItem (entry-sized value)", (i) => localStorage.setItem(`bench-probe-${i % 50}`, '{"key":"8e03978e-1f43-4b5c-9d2e-0f1e2d3c4b5a","fingerprint":"0123456789abcdef","createdAt":1,"expiresAt":2,"state":"pending"}'));
  jtime("localStorage.removeItem", (i) => localStorage.removeItem(`bench-probe-${i % 50}`));
  for (let i = 0; i < 50; i++) localStorage.removeItem(`bench-probe-${i}`);

  // localStorage writes inside an async call flow (the stub call awaited and its body read,
  // as in section 1), against the same flow without them: what two entry writes per call
  // (write-ahead + settle) cost once the browser's storage work between tasks is counted.
  const entry = '{"key":"8e03978e-1f43-4b5c-9d2e-0f1e2d3c4b5a","fingerprint":"0123456789abcdef","createdAt":1,"expiresAt":2,"state":"pending"}';
  const flow = async (writes) => {
    const keys = Array.from({ length: n }, (_, i) => `bench-flow-${serial}-${i}`);
    serial++;
    await new Promise((r) => setTimeout(r, 100)); // let earlier storage work drain
    gc();
    const t0 = now();
    for (let i = 0; i < n; i++) {
      for (let w = 0; w < writes; w++) localStorage.setItem(keys[i], entry);
      await (await stub(URL_ECHO, { method: "POST", body: "x" })).text();
    }
    const us = ((now() - t0) * 1000) / n;
    for (const k of keys) localStorage.removeItem(k);
    return us;
  };
  await flow(0);
  await flow(2);
  js["stub call + body read (no storage)"] = await flow(0);
  js["stub call + body read + 2 × localStorage.setItem"] = await flow(2);
  return { stages: res, js };
}

// ------------------------------------------------------------------ profiling

/** Just runs calls (the CPU profile is taken from Node over CDP). */
export async function profileRun({ lib, store, n }) {
  if (store === "full") return perCall({ lib, mode: "distinct", n, store });
  let us = 0;
  for (let done = 0; done < n; done += 500) us += (await perCall({ lib, mode: "distinct", n: 500, store })).us * 500;
  return { us: us / n };
}

// ------------------------------------------------------------------ 7. memory

let memClient;
/** The memory run's client: short TTL, bounded store, stub fetch, localStorage. */
export async function memorySetup({ keyTtlMs, maxEntries }) {
  localStorage.clear();
  memClient = createClient({ fetch: stub, storage: "local", keyTtlMs, maxEntries, scope: "memory-run" });
  await (await memClient.fetch(URL_ECHO, { method: "POST", headers: HEADERS, body: makeBody(256, "mem-warm") })).text();
  return memoryState();
}

/** `n` more distinct actions, sequentially (small bodies: the point is the count of actions). */
export async function memoryRun({ n }) {
  const t0 = now();
  for (let i = 0; i < n; i++) {
    const res = await memClient.fetch(URL_ECHO, { method: "POST", headers: HEADERS, body: `{"m":${serial++}}` });
    await res.text();
  }
  return { ms: now() - t0 };
}

export async function memoryState() {
  let entries = 0;
  for (let i = 0; i < localStorage.length; i++) if (localStorage.key(i)?.startsWith("oncefetch:")) entries++;
  return {
    localStorageEntries: entries,
    inflight: memClient?.inflight ?? 0,
    wasmMemoryBytes: engineModule.memoryBytes(),
    perfMemoryUsed: performance.memory?.usedJSHeapSize ?? null,
  };
}
