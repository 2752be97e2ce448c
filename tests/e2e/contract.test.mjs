// The behaviour contract (../shared/SPEC.md B1-B13) in headless Chromium,
// against the loopback reference server. Each test names the behaviour it proves.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as harness from "./harness.mjs";

const { UUID4 } = harness;
let server;
let browser;

before(async () => {
  server = await harness.startPageServer();
  browser = await harness.launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** A fresh browser context (own localStorage) on the contract page, and a clean server. */
async function page(t) {
  await harness.reset(server.url);
  return harness.openPage(t, browser, server.url, "contract.html");
}

/** Server-side record of /api requests, optionally only those under `prefix`. */
const requests = (prefix) => harness.requests(server.url, prefix);
const faults = (list) => harness.faults(server.url, list);

// ------------------------------------------------------------------ B1 keys

test("B1 structured keyFormat sends the RFC 8941 quoted key in a custom header", async (t) => {
  const p = await page(t);
  const info = await p.evaluate(async () => {
    const c = createClient({ keyFormat: "structured", headerName: "X-Idem" });
    const res = await c.fetch("/api/echo", { method: "POST", body: "x" });
    return { info: c.info(res), echo: await res.json() };
  });
  const [r] = await requests();
  assert.equal(r.key, null, "the default header is not used");
  assert.equal(r.headers["x-idem"], `"${info.info.key}"`);
  assert.match(info.info.key, UUID4);
});

test("B1 header name and CR/LF in keys are validated", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const errors = [];
    try { createClient({ headerName: "Bad Header" }); } catch (e) { errors.push([e.name, e.message]); }
    const c = createClient();
    errors.push(await within(c.fetch("/api/echo", { method: "POST", body: "x", action: "a\r\nX-Evil: 1" })));
    errors.push(await within(c.keyFor("line\nbreak")));
    return errors;
  });
  assert.equal(out[0][0], "TypeError");
  assert.match(out[0][1], /headerName/);
  assert.equal(out[1].name, "TypeError");
  assert.match(out[1].message, /action/);
  assert.equal(out[2].name, "TypeError");
  assert.equal((await requests()).length, 0, "nothing was sent");
});

// ------------------------------------------------------------------ B2 identity

test("B2 every body type is identified by its exact bytes and sent unchanged", async (t) => {
  const p = await page(t);
  const results = await p.evaluate(async () => {
    const c = createClient();
    const file = new File([new Uint8Array([1, 2, 3, 250])], "clip.bin", { type: "application/octet-stream" });
    const makers = {
      string: () => "plain text body ✓",
      params: () => new URLSearchParams({ a: "1", b: "two" }),
      arraybuffer: () => new Uint8Array([9, 8, 7]).buffer,
      typed: () => new Uint16Array([1, 2, 3]),
      blob: () => new Blob(["blob-bytes"], { type: "text/plain" }),
      formdata: () => { const f = new FormData(); f.append("name", "v"); f.append("file", file); return f; },
    };
    const out = {};
    for (const [name, make] of Object.entries(makers)) {
      // Two identical calls at once: one request. A different body: its own request.
      // (Blob and FormData bodies are read before their identity is known, each
      // read its own task: the answer is held so that the first request is still
      // in flight when the second call gets there.)
      const [a, b] = await Promise.all([
        c.fetch(`/api/echo?t=${name}&delay=300`, { method: "POST", body: make() }),
        c.fetch(`/api/echo?t=${name}&delay=300`, { method: "POST", body: make() }),
      ]);
      const other = await c.fetch(`/api/echo?t=${name}`, { method: "POST", body: name === "formdata" ? new FormData() : "different" });
      out[name] = { a: await a.json(), b: await b.json(), coalesced: c.info(b).coalesced, otherKey: c.info(other).key, key: c.info(a).key };
    }
    out.expected = {
      string: await sha256(new TextEncoder().encode("plain text body ✓")),
      params: await sha256(new TextEncoder().encode("a=1&b=two")),
      arraybuffer: await sha256(new Uint8Array([9, 8, 7])),
      typed: await sha256(new Uint8Array(new Uint16Array([1, 2, 3]).buffer)),
      blob: await sha256(new TextEncoder().encode("blob-bytes")),
    };
    return out;
  });
  const reqs = await requests();
  for (const name of ["string", "params", "arraybuffer", "typed", "blob", "formdata"]) {
    const r = results[name];
    assert.equal(reqs.filter((x) => x.query.includes(`t=${name}`)).length, 2, `${name}: one shared request + one for the other body`);
    assert.equal(r.coalesced, true, `${name}: second caller joined`);
    assert.deepEqual(r.a, r.b, `${name}: both callers read the same body`);
    assert.notEqual(r.otherKey, r.key, `${name}: another body is another action`);
    if (results.expected[name]) assert.equal(r.a.bodySha256, results.expected[name], `${name}: bytes sent are the caller's bytes`);
  }
  assert.match(results.formdata.a.body, /filename="clip.bin"/);
});

test("B2 the stored fingerprint is SHA-256 of method, URL and the exact body bytes, checked against WebCrypto in the browser", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const enc = new TextEncoder();
    const url = `${location.origin}/api/echo`;
    // Lengths around SHA-256's block boundaries (55/56/64 bytes with the
    // method and URL parts around them), short texts (copied by hand), long
    // ones (encodeInto), non-ASCII, raw bytes, and bodies around and past the
    // 64 KiB piece size the engine hashes long bodies in (text and bytes, 1 MB).
    const lengths = Array.from({ length: 130 }, (_, i) => i + 2).filter((n) => n % 7 === 0 || (n >= 50 && n <= 70));
    const piece = 65_536;
    const bytesOf = (n) => new Uint8Array(n).map((_, i) => (i * 31 + 7) & 255);
    const bodies = ["", "a", ...lengths.map((n) => "y".repeat(n)),
      "é".repeat(500), "z".repeat(70_000), "é".repeat(40_000), new Uint8Array(200).map((_, i) => i),
      bytesOf(piece - 1), bytesOf(piece), bytesOf(piece + 1), bytesOf(2 * piece), bytesOf(2 * piece + 5), bytesOf(1_000_000),
      "w".repeat(piece), "w".repeat(piece + 1), "€".repeat(piece), "é".repeat(piece + 1)];
    const c = createClient({ scope: "fp" });
    const out = [];
    for (const body of bodies) {
      const before = new Set(Object.keys(localStorage));
      await (await c.fetch(url, { method: "POST", body })).text();
      const added = Object.keys(localStorage).filter((k) => !before.has(k));
      const stored = added.length === 1 ? JSON.parse(localStorage.getItem(added[0])).fingerprint : `${added.length} entries added`;
      const bytes = typeof body === "string" ? enc.encode(body) : body;
      const parts = [enc.encode("POST"), enc.encode(url), bytes];
      const all = new Uint8Array(parts.reduce((n, x) => n + x.length + 1, 0));
      let at = 0;
      for (const x of parts) { all.set(x, at); at += x.length + 1; } // each part followed by a 0 byte
      out.push({ length: bytes.length, stored, expected: (await sha256(all)).slice(0, 16) });
    }
    return out;
  });
  assert.ok(out.length > 20);
  for (const r of out) assert.equal(r.stored, r.expected, `fingerprint of a ${r.length}-byte body`);
});

test("B2 a body of 8 MB is hashed in pieces: wasm memory grows by far less than the body", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const engine = await import("/node_modules/oncefetch/dist/engine.js"); // the instance the client uses
    const c = createClient({ storage: "memory", crossTab: false });
    await c.keyFor("warm-up");
    const before = engine.memoryBytes();
    const body = new Uint8Array(8 << 20).map((_, i) => i & 255);
    const res = await c.fetch("/api/echo", { method: "POST", body, headers: { "x-fault": "status=204" } });
    const text = "t".repeat(4 << 20);
    const res2 = await c.fetch("/api/echo", { method: "POST", body: text, headers: { "x-fault": "status=204" } });
    return { grew: engine.memoryBytes() - before, statuses: [res.status, res2.status] };
  });
  assert.deepEqual(out.statuses, [204, 204]);
  assert.ok(out.grew < 1 << 20, `wasm memory grew ${out.grew} bytes for an 8 MB and a 4 MB body`);
});

test("B12 page code that calls the client back from inside an engine call (a patched localStorage.getItem) is refused with an Error, and the outer call is unharmed", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient({ crossTab: false });
    await c.keyFor("warm-up"); // the engine is loaded: the next calls start synchronously
    const getItem = Storage.prototype.getItem;
    let inner;
    // While the outer call's engine reads its stored entry, the page's patched
    // getItem starts another call, with a body of non-hex bytes.
    Storage.prototype.getItem = function (k) {
      if (inner === undefined && String(k).startsWith("oncefetch:")) {
        inner = c.fetch("/api/echo", { method: "POST", body: "\u00ff".repeat(300), action: "inner" }).then(() => "sent", (e) => `${e.name}: ${e.message}`);
      }
      return getItem.call(this, k);
    };
    let first;
    try {
      first = await c.fetch("/api/echo", { method: "POST", body: "outer", action: "outer" });
    } finally {
      Storage.prototype.getItem = getItem;
    }
    const entries = Object.keys(localStorage).filter((k) => k.startsWith("oncefetch:")).map((k) => JSON.parse(localStorage.getItem(k)));
    const again = await c.fetch("/api/echo", { method: "POST", body: "outer", action: "outer" });
    return {
      inner: await inner, status: first.status, firstKey: c.info(first).key, againKey: c.info(again).key,
      againFromStorage: c.info(again).fromStorage, fingerprints: entries.map((e) => e.fingerprint),
    };
  });
  assert.match(out.inner, /^Error: oncefetch: the client was called from inside one of its own engine calls/);
  assert.equal(out.status, 200);
  for (const f of out.fingerprints) assert.match(f, /^([0-9a-f]{16})?$/, "no stored fingerprint was overwritten by the inner call's bytes");
  assert.equal(out.againKey, out.firstKey, "the same action finds its settled key: its fingerprint is intact");
  assert.equal(out.againFromStorage, true);
});

test("B2 a ReadableStream body is sent once, never coalesced or retried, and info says so", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    // Chromium streams request bodies only over HTTP/2; the loopback server is
    // HTTP/1.1, so this fetch drains the stream and sends its bytes for real.
    const drain = async (input, init) => fetch(input, { ...init, body: await new Response(init.body).arrayBuffer(), duplex: undefined });
    const c = createClient({ retry: { baseMs: 1 }, fetch: drain });
    const stream = () => new ReadableStream({ start(ctl) { ctl.enqueue(new TextEncoder().encode("streamed")); ctl.close(); } });
    const opts = () => ({ method: "POST", body: stream(), duplex: "half", headers: { "x-fault": "status=503" } });
    const [a, b] = await Promise.all([c.fetch("/api/echo", opts()), c.fetch("/api/echo", opts())]);
    // A caller's own key goes through the same check as any other.
    const bad = await c.fetch("/api/echo", { ...opts(), headers: { "Idempotency-Key": "caf\u00e9" } }).then(() => "sent", (e) => e.name);
    const stored = Object.keys(localStorage).filter((k) => k.startsWith("oncefetch:")).length;
    return { a: a.status, b: b.status, ia: c.info(a), ib: c.info(b), bad, stored };
  });
  assert.equal(out.a, 503, "not retried: the caller gets the 503");
  assert.match(out.ia.key, UUID4, "a keyed stream gets a key of its own");
  assert.equal(out.stored, 0, "a stream's key is never stored: it cannot be resent");
  assert.equal(out.bad, "TypeError", "a caller key that is not a valid header value is refused, stream or not");
  assert.equal(out.ia.stream, true);
  assert.equal(out.ia.attempts, 1);
  assert.equal(out.ib.coalesced, false);
  assert.notEqual(out.ia.key, out.ib.key);
  assert.equal((await requests()).length, 2, "two calls, two requests, no retries");
});

test("B2 the identity uses the URL fetch requests: relative, `http:path` and absolute spellings of one URL are one action", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient();
    const abs = `${location.origin}/api/echo?delay=200`;
    // `http:api/...` on an http page resolves against the page, as fetch does.
    const spellings = ["/api/echo?delay=200", "api/echo?delay=200", `http:api/echo?delay=200`, abs, abs.toUpperCase().replace("/API/ECHO?DELAY=200", "/api/echo?delay=200")];
    const res = await Promise.all(spellings.map((u) => c.fetch(u, { method: "POST", body: "same" })));
    const other = await c.fetch("http:api/echo?x=1", { method: "POST", body: "same" });
    return { keys: res.map((r) => c.info(r).key), coalesced: res.map((r) => c.info(r).coalesced), other: c.info(other).key };
  });
  assert.equal(new Set(out.keys).size, 1, "one key for every spelling");
  assert.deepEqual(out.coalesced, [false, true, true, true, true]);
  assert.notEqual(out.other, out.keys[0], "another URL is another action");
  assert.equal((await requests()).length, 2);
});

test("B2 explicit action: same action with another payload never reuses the key", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient();
    const events = [];
    c.on((e) => events.push(e.type));
    const a = await c.fetch("/api/echo", { method: "POST", body: "one", action: "edit:1", headers: { "x-fault": "status=503" }, retry: false });
    const b = await c.fetch("/api/echo", { method: "POST", body: "two", action: "edit:1" });
    return { ka: c.info(a).key, kb: c.info(b).key, events };
  });
  assert.notEqual(out.ka, out.kb);
  assert.ok(out.events.includes("conflict"));
});

// ------------------------------------------------------------------ B3 coalescing

test("B3 1,000 concurrent calls over 50 actions: 50 requests, every caller reads its own body, nothing left in flight", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient();
    const calls = [];
    for (let i = 0; i < 1000; i++) {
      const a = i % 50;
      calls.push(c.fetch(`/api/echo?delay=100&a=${a}`, { method: "POST", body: JSON.stringify({ a }), headers: { "content-type": "application/json" } }).then(async (r) => ({ a, body: await r.json(), coalesced: c.info(r).coalesced })));
    }
    const settled = await within(Promise.all(calls), 20000);
    return { settled: settled.pending ? "pending" : settled.ok, results: settled.value, inflight: c.inflight };
  });
  assert.equal(out.settled, true);
  assert.equal((await requests()).length, 50);
  assert.equal(out.results.length, 1000);
  for (const r of out.results) assert.equal(JSON.parse(r.body.body).a, r.a, "each caller got its own action's body");
  assert.equal(out.results.filter((r) => !r.coalesced).length, 50);
  assert.equal(out.inflight, 0, "in-flight map empty afterwards");
});

test("B3 different bodies of the same length in flight at once are different actions; only identical ones join", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient();
    // Short texts and long ones (over 64 characters, identified from their UTF-8
    // bytes), each pair the same length and differing in one character.
    const bodies = ["aaaa", "aaab", `${"x".repeat(100)}1`, `${"x".repeat(100)}2`, `${"é".repeat(40)}a`, `${"é".repeat(40)}b`];
    const calls = bodies.flatMap((b) => [b, b].map((body) => c.fetch("/api/echo?delay=200", { method: "POST", body })));
    const res = await Promise.all(calls);
    return Promise.all(res.map(async (r, i) => ({ sent: bodies[i >> 1], got: (await r.json()).body, key: c.info(r).key, coalesced: c.info(r).coalesced })));
  });
  const reqs = await requests();
  assert.equal(reqs.length, 6, "one request per distinct body");
  assert.equal(new Set(out.map((r) => r.key)).size, 6, "one key per distinct body");
  assert.deepEqual(out.map((r) => r.coalesced), [false, true, false, true, false, true, false, true, false, true, false, true]);
  for (let i = 0; i < out.length; i += 2) assert.equal(out[i].key, out[i + 1].key, `identical bodies share the key (${out[i].sent.slice(-4)})`);
  for (const r of out) assert.equal(r.got, r.sent, "each caller's answer is for its own body");
});

test("B3 coalescing applies to GET too, and copies keep status, headers and url", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient();
    const rs = await Promise.all([1, 2, 3].map(() => c.fetch("/api/slow?ms=200")));
    return Promise.all(rs.map(async (r) => ({ status: r.status, type: r.headers.get("content-type"), url: r.url, text: await r.text(), key: c.info(r).key })));
  });
  assert.equal((await requests("/api/slow")).length, 1);
  for (const r of out) {
    assert.equal(r.status, 200);
    assert.equal(r.key, null, "GET is not keyed");
    assert.match(r.url, /\/api\/slow\?ms=200$/);
    assert.equal(r.text, out[0].text);
  }
});

// ------------------------------------------------------------------ B4 abort

test("B4 one caller's abort rejects only that caller; the shared request goes on", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient();
    const ac = new AbortController();
    const a = c.fetch("/api/idem/tasks?delay=300", { method: "POST", body: "x", signal: ac.signal });
    const b = c.fetch("/api/idem/tasks?delay=300", { method: "POST", body: "x" });
    setTimeout(() => ac.abort(), 50);
    const [ra, rb] = await Promise.all([within(a), within(b)]);
    return { a: ra, b: rb.ok ? (await rb.value.json()) : rb };
  });
  assert.equal(out.a.ok, false);
  assert.equal(out.a.name, "AbortError");
  assert.ok(out.b.id !== undefined, "the other caller got the task");
  assert.equal((await requests()).length, 1);
});

test("B4 the request is aborted only when every caller has aborted; the key stays for the next try", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient();
    const a1 = new AbortController();
    const a2 = new AbortController();
    const started = performance.now();
    const p1 = c.fetch("/api/slow?ms=3000", { method: "POST", body: "y", signal: a1.signal });
    const p2 = c.fetch("/api/slow?ms=3000", { method: "POST", body: "y", signal: a2.signal });
    setTimeout(() => a1.abort(), 100);
    setTimeout(() => a2.abort(), 200);
    const r = await Promise.all([within(p1), within(p2)]);
    const elapsed = performance.now() - started;
    const inflight = c.inflight;
    const again = await c.fetch("/api/slow?ms=3000", { method: "POST", body: "y" });
    return { r, elapsed, inflight, again: again.status, fromStorage: c.info(again).fromStorage };
  });
  assert.deepEqual(out.r.map((x) => x.name), ["AbortError", "AbortError"]);
  assert.ok(out.elapsed < 2500, `both callers rejected at their abort, not at the response (${out.elapsed} ms)`);
  assert.equal(out.inflight, 0);
  assert.equal(out.again, 200);
  assert.equal(out.fromStorage, true, "the aborted action's key was kept for the next try");
  const reqs = await requests("/api/slow");
  assert.equal(reqs.length, 2);
  assert.equal(reqs[0].key, reqs[1].key, "the next try sent the same key");
});

test("B4 abort then the same call again (React Strict Mode's effect cleanup): the new call is not rejected with the old abort", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient();
    await c.fetch("/api/echo", { method: "POST", body: "warm-up" });
    const ac = new AbortController();
    const first = c.fetch("/api/idem/tasks?delay=200", { method: "POST", body: "mount", signal: ac.signal });
    ac.abort(); // cleanup of the first mount
    const second = c.fetch("/api/idem/tasks?delay=200", { method: "POST", body: "mount" }); // the second mount
    const [a, b] = await Promise.all([within(first), within(second)]);
    return { a: a.name, b: b.ok ? [b.value.status, c.info(b.value).key] : b };
  });
  assert.equal(out.a, "AbortError");
  assert.ok(out.b[0] === 201 || out.b[0] === 200, JSON.stringify(out.b));
  const log = await harness.log(server.url);
  assert.equal(log.tasks.idem.length, 1, "one task");
  assert.ok(log.requests.filter((r) => r.path === "/api/idem/tasks").every((r) => r.key === out.b[1]), "one key");
});

test("B4 an already-aborted signal rejects at once and sends nothing", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient();
    return within(c.fetch("/api/echo", { method: "POST", body: "x", signal: AbortSignal.abort() }), 1000);
  });
  assert.equal(out.name, "AbortError");
  assert.equal((await requests()).length, 0);
});

// ------------------------------------------------------------------ B6 outcomes

test("B6 503 twice then success: three attempts, one key, one task", async (t) => {
  const p = await page(t);
  await faults([{ path: "/api/idem/tasks", status: 503, times: 2 }]);
  const out = await p.evaluate(async () => {
    const c = createClient({ retry: { baseMs: 5 } });
    const events = [];
    c.on((e) => events.push(e));
    const r = await c.fetch("/api/idem/tasks", { method: "POST", body: "job" });
    return { status: r.status, info: c.info(r), retries: events.filter((e) => e.type === "retry").map((e) => [e.attempt, e.status, e.key]) };
  });
  const reqs = await requests();
  assert.equal(out.status, 201);
  assert.equal(out.info.attempts, 3);
  assert.equal(reqs.length, 3);
  assert.equal(new Set(reqs.map((r) => r.key)).size, 1, "the same key on every attempt");
  assert.equal(reqs[0].key, out.info.key);
  assert.deepEqual(out.retries, [[1, 503, out.info.key.slice(0, 8)], [2, 503, out.info.key.slice(0, 8)]]);
  const log = await harness.log(server.url);
  assert.equal(log.tasks.idem.length, 1);
});

test("B6 Retry-After (seconds and HTTP-date) is honoured, capped by maxRetryAfterMs", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    // The x-fault header is stateless: this fetch option strips it after the
    // first attempt, so each call meets its fault once and then succeeds (the
    // init is the one every attempt sends; its headers are in any HeadersInit form).
    const once = async (input, init) => {
      const r = await fetch(input, init);
      const h = new Headers(init.headers);
      h.delete("x-fault");
      init.headers = h;
      return r;
    };
    const delays = [];
    const make = (maxRetryAfterMs) => {
      const c = createClient({ retry: { baseMs: 1, maxMs: 1, maxRetryAfterMs }, fetch: once });
      c.on((e) => e.type === "retry" && delays.push(e.delayMs));
      return c;
    };
    const post = (c, body, fault) => c.fetch("/api/echo", { method: "POST", body, headers: { "x-fault": fault } });
    const roomy = make(60000);
    const started = performance.now();
    const r1 = await post(roomy, "s", "status=429; retry-after=1");
    const waited = performance.now() - started;
    const r2 = await post(roomy, "d", "status=503; retry-after-date=1500");
    const r3 = await post(make(300), "c", "status=503; retry-after=3600");
    return { statuses: [r1.status, r2.status, r3.status], delays, waited };
  });
  assert.deepEqual(out.statuses, [200, 200, 200]);
  assert.equal(out.delays[0], 1000, "Retry-After: 1 -> 1000 ms");
  assert.ok(out.waited >= 950, `the retry waited the second (${out.waited} ms)`);
  assert.ok(out.delays[1] > 400 && out.delays[1] <= 2500, `HTTP-date 1.5 s ahead -> ${out.delays[1]} ms`);
  assert.equal(out.delays[2], 300, "capped by maxRetryAfterMs alone (maxMs is 1)");
});

test("B6 409 in progress is retried with the same key; the server replays instead of creating twice", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    // Two clients (two tabs' worth of state) share the stored key: the second
    // sends while the first is still running and meets 409 + Retry-After.
    const a = createClient({ retry: { baseMs: 5 } });
    const first = a.fetch("/api/idem/tasks?delay=600", { method: "POST", body: "long", action: "job" });
    await new Promise((r) => setTimeout(r, 100));
    const b = createClient({ retry: { baseMs: 5, maxRetryAfterMs: 300 } });
    const second = await b.fetch("/api/idem/tasks?delay=600", { method: "POST", body: "long", action: "job" });
    const r1 = await first;
    return { s1: r1.status, s2: second.status, i2: b.info(second), replayed: second.headers.get("idempotent-replayed") };
  });
  const reqs = await requests();
  assert.equal(out.s1, 201);
  assert.equal(new Set(reqs.map((r) => r.key)).size, 1, "one key across both clients");
  assert.ok(reqs.some((r) => r.status === 409), "the server answered 409 in progress");
  assert.equal(out.i2.replayed, true);
  assert.equal(out.i2.fromStorage, true);
  const log = await harness.log(server.url);
  assert.equal(log.tasks.idem.length, 1);
});

test("B6 a replayed 5xx is final; 422 releases the key; exhausted attempts keep it pending", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient({ retry: { baseMs: 1, attempts: 3 } });
    const fault = (f) => ({ "x-fault": f });
    const replay = await c.fetch("/api/echo", { method: "POST", body: "r", headers: fault("status=500; replayed") });
    const bad = await c.fetch("/api/echo", { method: "POST", body: "u", headers: fault("status=422") });
    const badAgain = await c.fetch("/api/echo", { method: "POST", body: "u" });
    const spent = await c.fetch("/api/echo", { method: "POST", body: "s", headers: fault("status=503") });
    const spentAgain = await c.fetch("/api/echo", { method: "POST", body: "s" });
    return {
      replay: [replay.status, c.info(replay).replayed, c.info(replay).attempts],
      bad: [bad.status, c.info(bad).key, c.info(badAgain).key],
      spent: [spent.status, c.info(spent).attempts, c.info(spent).key, c.info(spentAgain).key, c.info(spentAgain).fromStorage],
    };
  });
  assert.deepEqual(out.replay, [500, true, 1]);
  assert.equal(out.bad[0], 422);
  assert.notEqual(out.bad[1], out.bad[2], "after 422 the corrected request is a new action");
  assert.equal(out.spent[0], 503, "the caller gets the last Response");
  assert.equal(out.spent[1], 3);
  assert.equal(out.spent[2], out.spent[3], "the next try sends the same key");
  assert.equal(out.spent[4], true);
});

test("B6 dropped connections are retried with the same key; when attempts run out the caller gets a TypeError with cause", async (t) => {
  const p = await page(t);
  await faults([{ path: "/api/idem/tasks", drop: true, times: 1 }, { path: "/api/echo", drop: true, times: 5 }]);
  const out = await p.evaluate(async () => {
    const c = createClient({ retry: { baseMs: 5 } });
    const ok = await c.fetch("/api/idem/tasks", { method: "POST", body: "d" });
    const lost = await within(c.fetch("/api/echo", { method: "POST", body: "e", retry: { attempts: 2 } }));
    return { ok: [ok.status, c.info(ok).attempts], lost };
  });
  assert.deepEqual(out.ok, [201, 2]);
  assert.equal(out.lost.ok, false);
  assert.equal(out.lost.name, "TypeError");
  assert.match(out.lost.message, /2 attempts/);
  assert.ok(out.lost.cause, "the network error is the cause");
  const reqs = await requests("/api/idem");
  assert.equal(new Set(reqs.map((r) => r.key)).size, 1);
});

test("B6 unkeyed unsafe requests are never retried; idempotent methods are", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient({ keyedMethods: ["PATCH"], retry: { baseMs: 1 } });
    const post = await c.fetch("/api/echo?m=post", { method: "POST", body: "x", headers: { "x-fault": "status=503" } });
    const put = await c.fetch("/api/echo?m=put", { method: "PUT", body: "x", headers: { "x-fault": "status=503" } });
    return { post: [post.status, c.info(post).attempts, c.info(post).key], put: [put.status, c.info(put).attempts] };
  });
  assert.deepEqual(out.post, [503, 1, null]);
  assert.deepEqual(out.put, [503, 4]);
  assert.equal((await requests()).filter((r) => r.query.includes("m=post")).length, 1);
});

test("B6 a 2xx settles: an identical action inside settleWindowMs reuses the key, after it gets a new one", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient({ settleWindowMs: 300 });
    const a = await c.fetch("/api/idem/tasks", { method: "POST", body: "s" });
    const b = await c.fetch("/api/idem/tasks", { method: "POST", body: "s" });
    await new Promise((r) => setTimeout(r, 400));
    const d = await c.fetch("/api/idem/tasks", { method: "POST", body: "s" });
    return { ka: c.info(a).key, kb: c.info(b).key, kd: c.info(d).key, replayed: c.info(b).replayed };
  });
  assert.equal(out.ka, out.kb);
  assert.equal(out.replayed, true, "the server replayed the settled key");
  assert.notEqual(out.kd, out.ka);
});

// ------------------------------------------------------------------ B7 bounds

test("B7 at most maxEntries per scope, and expired entries are pruned at start-up", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient({ maxEntries: 5, scope: "bounded" });
    for (let i = 0; i < 20; i++) await c.fetch("/api/echo", { method: "POST", body: String(i), headers: { "x-fault": "status=503" }, retry: false });
    const afterBound = Object.keys(localStorage).filter((k) => k.startsWith("oncefetch:")).length;
    const short = createClient({ keyTtlMs: 50, scope: "short" });
    await short.keyFor("a");
    await short.keyFor("b");
    const beforeExpiry = Object.keys(localStorage).length;
    await new Promise((r) => setTimeout(r, 100));
    await createClient({ scope: "other" }).keyFor("start-up"); // a new engine prunes at start-up
    return { afterBound, beforeExpiry, afterExpiry: Object.keys(localStorage).length };
  });
  assert.equal(out.afterBound, 5);
  assert.equal(out.beforeExpiry, 7);
  assert.equal(out.afterExpiry, 6, "the two expired keys are gone, the new one is there");
});

test("B7 an engine is freed with its client: the wasm memory of garbage-collected clients is reused", async (t) => {
  const p = await page(t);
  const cdp = await p.context().newCDPSession(p);
  // Clients made and dropped, each holding 200 keys in its engine (memory storage, no cross-tab
  // channel keeping it alive); returns the wasm memory's growth in bytes.
  const round = () => p.evaluate(async () => {
    const engine = await import("/node_modules/oncefetch/dist/engine.js"); // the instance the clients use
    await createClient({ storage: "memory", crossTab: false }).keyFor("load"); // the wasm is loaded
    const before = engine.memoryBytes();
    for (let c = 0; c < 60; c++) {
      const client = createClient({ storage: "memory", crossTab: false, scope: `gc-${c}` });
      for (let i = 0; i < 200; i++) await client.keyFor(`item-${i}-${"x".repeat(200)}`);
    }
    return engine.memoryBytes() - before;
  });
  const collect = async () => {
    for (let i = 0; i < 5; i++) {
      await cdp.send("HeapProfiler.collectGarbage");
      await p.evaluate(() => new Promise((r) => setTimeout(r, 50))); // finalizers run in a later task
    }
  };
  const first = await round();
  await collect();
  const second = await round();
  assert.ok(first > 1_000_000, `the first round grew the wasm memory (${first} bytes)`);
  assert.ok(second < first / 2, `the second round reused the freed engines' memory: grew ${second} bytes after ${first}`);
});

// ------------------------------------------------------------------ B8 fresh / B9 keyFor

test("B8 fresh mints a new key, skips coalescing and replaces the stored entry", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient();
    const [a, b] = await Promise.all([
      c.fetch("/api/echo?delay=100", { method: "POST", body: "f", action: "again" }),
      c.fetch("/api/echo?delay=100", { method: "POST", body: "f", action: "again", fresh: true }),
    ]);
    const next = await c.fetch("/api/echo?delay=100", { method: "POST", body: "f", action: "again" });
    return { ka: c.info(a).key, kb: c.info(b).key, kn: c.info(next).key, coalesced: c.info(b).coalesced };
  });
  assert.notEqual(out.ka, out.kb);
  assert.equal(out.coalesced, false);
  assert.equal(out.kn, out.kb, "the fresh key replaced the stored one");
  assert.equal((await requests()).length, 3);
});

test("B9 keyFor is stable, persisted across reloads, one per bulk item", async (t) => {
  const p = await page(t);
  const first = await p.evaluate(async () => {
    const c = createClient({ scope: "wf" });
    return Promise.all([c.keyFor("wf-123:step:0"), c.keyFor("wf-123:step:0"), c.keyFor("wf-123:step:1")]);
  });
  assert.equal(first[0], first[1]);
  assert.notEqual(first[0], first[2]);
  assert.match(first[0], UUID4);
  await p.reload();
  await harness.waitReady(p);
  const again = await p.evaluate(() => createClient({ scope: "wf" }).keyFor("wf-123:step:0"));
  assert.equal(again, first[0]);
  const released = await p.evaluate(async () => {
    const c = createClient({ scope: "wf" });
    await c.release("wf-123:step:0");
    return c.keyFor("wf-123:step:0");
  });
  assert.notEqual(released, first[0], "release forgets the key");
});

test("B9 a keyFor key is bound to the first payload sent with it: another payload gets another key", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient();
    const k = await c.keyFor("order:1");
    const a = await c.fetch("/api/idem/tasks", { method: "POST", body: "qty=1", action: "order:1" });
    const again = await c.fetch("/api/idem/tasks", { method: "POST", body: "qty=1", action: "order:1" });
    const b = await c.fetch("/api/idem/tasks", { method: "POST", body: "qty=2", action: "order:1" });
    return { k, ka: c.info(a).key, kAgain: c.info(again).key, kb: c.info(b).key, statuses: [a.status, again.status, b.status] };
  });
  assert.equal(out.ka, out.k, "the first request uses the keyFor key");
  assert.equal(out.kAgain, out.k);
  assert.notEqual(out.kb, out.k, "never the same key with a different payload");
  assert.deepEqual(out.statuses, [201, 201, 201], "no 422 from the server");
});

// ------------------------------------------------------------------ B10 storage faults

// Each with the reason the event must carry: the thrown error's message, as
// the page's code threw it, or what the engine found.
for (const [name, sabotage, reason] of [
  ["localStorage undefined", "Object.defineProperty(window, 'localStorage', { configurable: true, value: undefined })", /undefined/],
  ["localStorage throwing SecurityError", "Object.defineProperty(window, 'localStorage', { configurable: true, get() { throw new DOMException('denied \u00e9\u2014\ud83d\ude00', 'SecurityError'); } })", /^denied \u00e9\u2014\ud83d\ude00$/],
  ["setItem throwing QuotaExceededError", "Storage.prototype.setItem = function () { throw new DOMException('full', 'QuotaExceededError'); }", /^full$/],
  ["a corrupt entry under our prefix", "localStorage.setItem('oncefetch:1:00000000:000000000000000000000000', '{broken')", /^corrupt or foreign entry under oncefetch:1:00000000:0{24}$/],
  ["a foreign key under our prefix", "localStorage.setItem('oncefetch:1:someone-else', 'hello')", /^corrupt or foreign entry under oncefetch:1:someone-else$/],
  // Well-formed JSON that is not an entry we can use: refused by the codec's type checks, or by the engine's check of the key.
  ["an entry whose timestamp is a string", "localStorage.setItem('oncefetch:1:00000000:000000000000000000000001', JSON.stringify({ key: 'k', fingerprint: '', createdAt: '1', expiresAt: 9e15, state: 'pending' }))", /^corrupt or foreign entry under oncefetch:1:00000000:0{23}1$/],
  ["an entry whose key would inject a header", "localStorage.setItem('oncefetch:1:00000000:000000000000000000000002', JSON.stringify({ key: 'k\\r\\nX-Evil: 1', fingerprint: '', createdAt: 1, expiresAt: 9e15, state: 'pending' }))", /^corrupt or foreign entry under oncefetch:1:00000000:0{23}2$/],
]) {
  test(`B10 ${name}: one storage-fallback event, nothing lost, coalescing and retries still work`, async (t) => {
    const p = await page(t);
    await faults([{ path: "/api/idem/tasks", status: 503, times: 1 }]);
    const out = await p.evaluate(async (sabotage) => {
      new Function(sabotage)();
      const c = createClient({ retry: { baseMs: 5 } });
      const events = [];
      c.on((e) => events.push(e));
      const rs = await within(Promise.all([1, 2, 3].map(() => c.fetch("/api/idem/tasks", { method: "POST", body: "v" }))));
      const more = await within(c.fetch("/api/echo", { method: "POST", body: "w" }));
      const key = await within(c.keyFor("k"));
      return {
        ok: rs.ok, statuses: rs.ok ? rs.value.map((r) => r.status) : rs, infos: rs.ok ? rs.value.map((r) => c.info(r)) : [],
        more: more.ok, key: key.ok,
        fallbacks: events.filter((e) => e.type === "storage-fallback").length,
        reason: events.find((e) => e.type === "storage-fallback")?.reason,
      };
    }, sabotage);
    assert.equal(out.ok, true, JSON.stringify(out.statuses));
    assert.deepEqual(out.statuses, [201, 201, 201]);
    assert.equal(out.infos[0].attempts, 2);
    assert.equal(out.more, true);
    assert.equal(out.key, true);
    assert.equal(out.fallbacks, 1, "exactly one storage-fallback event");
    assert.match(out.reason ?? "", reason, "the reason crosses from the page's error (or the engine) intact");
    const reqs = await requests("/api/idem");
    assert.equal(reqs.length, 2, "one request + one retry for three callers");
    assert.equal(reqs[0].key, reqs[1].key);
  });
}

test("B5 an entry another version wrote in another JSON spelling (order, spaces, extra fields) is read: the same key is sent, and it is stored back in the SPEC's form", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const first = createClient();
    const a = await first.fetch("/api/echo", { method: "POST", body: "pay", action: "pay:2", headers: { "x-fault": "status=503" }, retry: false });
    const [sk] = Object.keys(localStorage).filter((k) => k.startsWith("oncefetch:"));
    const e = JSON.parse(localStorage.getItem(sk));
    localStorage.setItem(sk, ` { "state" : "${e.state}", "v": 2, "meta": { "by": ["other"] }, "expiresAt": ${e.expiresAt}, "key": ${JSON.stringify(e.key)},\n "createdAt": ${e.createdAt}, "fingerprint": "${e.fingerprint}" } `);
    const c = createClient();
    const events = [];
    c.on((x) => events.push(x.type));
    const b = await c.fetch("/api/echo", { method: "POST", body: "pay", action: "pay:2" });
    return { ka: first.info(a).key, kb: c.info(b).key, fromStorage: c.info(b).fromStorage, events, stored: JSON.parse(localStorage.getItem(sk)), was: e };
  });
  assert.equal(out.kb, out.ka, "the pending key was read from the other spelling");
  assert.equal(out.fromStorage, true);
  assert.ok(!out.events.includes("storage-fallback"), out.events.join());
  assert.deepEqual(Object.keys(out.stored), ["key", "fingerprint", "createdAt", "expiresAt", "state"]);
  assert.deepEqual([out.stored.key, out.stored.fingerprint], [out.was.key, out.was.fingerprint], "settling rewrote the same entry");
  assert.equal(out.stored.state, "settled");
});

test("B10 localStorage that starts throwing mid-session: the key this page wrote ahead is still sent, with one storage-fallback", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient();
    const events = [];
    c.on((e) => events.push(e.type));
    const a = await c.fetch("/api/echo", { method: "POST", body: "pay", action: "pay:3", headers: { "x-fault": "status=503" }, retry: false });
    const gone = () => { throw new DOMException("gone", "SecurityError"); };
    for (const m of ["getItem", "setItem", "removeItem", "key"]) Storage.prototype[m] = gone;
    const b = await c.fetch("/api/echo", { method: "POST", body: "pay", action: "pay:3" });
    return { ka: c.info(a).key, kb: c.info(b).key, fromStorage: c.info(b).fromStorage, status: b.status, fallbacks: events.filter((e) => e === "storage-fallback").length };
  });
  assert.equal(out.status, 200);
  assert.equal(out.kb, out.ka, "the pending key is not lost when storage starts failing");
  assert.equal(out.fromStorage, true);
  assert.equal(out.fallbacks, 1);
});

test("B10 keyFor that meets a throwing getItem on a stored key: the key is answered from memory and the storage-fallback is emitted by that call", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient();
    const events = [];
    c.on((e) => events.push(e.type));
    const first = await c.keyFor("order:9");
    Storage.prototype.getItem = function () { throw new DOMException("denied", "SecurityError"); };
    const again = await c.keyFor("order:9");
    await new Promise((r) => setTimeout(r, 0)); // listeners run after the call
    return { first, again, fallbacks: events.filter((e) => e === "storage-fallback").length };
  });
  assert.equal(out.again, out.first);
  assert.equal(out.fallbacks, 1, "the fault met by keyFor's read is reported by keyFor");
});

test("B10 a call that fails after meeting a storage fault (an invalid caller key, a throwing getItem) reports the storage-fallback itself", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient();
    const events = [];
    c.on((e) => events.push(e.type));
    await c.keyFor("warm-up"); // the engine is loaded and storage read once
    Storage.prototype.getItem = function () { throw new DOMException("denied", "SecurityError"); };
    // "clé" passes the facade's header checks but is not a key the engine sends (not visible ASCII).
    const err = await c.fetch("/api/echo", { method: "POST", body: "x", headers: { "Idempotency-Key": "clé" } }).then(() => null, (e) => ({ name: e.name, message: e.message }));
    await new Promise((r) => setTimeout(r, 0)); // listeners run after the call
    return { err, fallbacks: events.filter((e) => e === "storage-fallback").length };
  });
  assert.equal(out.err?.name, "TypeError", JSON.stringify(out.err));
  assert.match(out.err.message, /headers/);
  assert.equal(out.fallbacks, 1, "the fault is reported by the call that met it, not by a later one");
  assert.equal((await requests(server.url)).length, 0, "nothing was sent");
});

test("B10 after a quota fault, a key already pending in localStorage is still sent", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const first = createClient();
    const a = await first.fetch("/api/echo", { method: "POST", body: "pay", action: "pay:1", headers: { "x-fault": "status=503" }, retry: false });
    Storage.prototype.setItem = function () { throw new DOMException("full", "QuotaExceededError"); };
    const c = createClient();
    const events = [];
    c.on((e) => events.push(e.type));
    await c.fetch("/api/echo", { method: "POST", body: "other" }); // meets the fault
    const b = await c.fetch("/api/echo", { method: "POST", body: "pay", action: "pay:1" });
    return { ka: first.info(a).key, kb: c.info(b).key, fromStorage: c.info(b).fromStorage, fallbacks: events.filter((e) => e === "storage-fallback").length };
  });
  assert.equal(out.kb, out.ka, "the pending key survived the quota fault");
  assert.equal(out.fromStorage, true);
  assert.equal(out.fallbacks, 1);
});

// A fault met at start-up, with a pending key from before the reload in storage.
for (const [name, sabotage] of [
  ["a foreign entry found at start-up", "localStorage.setItem('oncefetch:1:00', 'someone else\\'s')"], // read before our entry
  ["a getItem that throws once at start-up", "const get = Storage.prototype.getItem; let once = true; Storage.prototype.getItem = function (k) { if (once) { once = false; throw new DOMException('busy', 'UnknownError'); } return get.call(this, k); }"],
]) {
  test(`B10 ${name}: the pending key written before it is still sent, write-ahead goes on, and clear() still empties the scope in localStorage`, async (t) => {
    const p = await page(t);
    const out = await p.evaluate(async (sabotage) => {
      const first = createClient();
      const a = await first.fetch("/api/echo", { method: "POST", body: "pay", action: "pay:4", headers: { "x-fault": "status=503" }, retry: false });
      new Function(sabotage)();
      const c = createClient(); // a reload: the store reads localStorage again
      const events = [];
      c.on((e) => events.push(e.type));
      const b = await c.fetch("/api/echo", { method: "POST", body: "pay", action: "pay:4" });
      await c.fetch("/api/echo", { method: "POST", body: "new", action: "pay:5" });
      const ours = () => Object.keys(localStorage).filter((k) => k.startsWith("oncefetch:1:") && k !== "oncefetch:1:00");
      const before = ours().length;
      await c.clear();
      return {
        ka: first.info(a).key, kb: c.info(b).key, fromStorage: c.info(b).fromStorage,
        fallbacks: events.filter((e) => e === "storage-fallback").length,
        before, after: ours().length, foreign: localStorage.getItem("oncefetch:1:00"),
      };
    }, sabotage);
    assert.equal(out.kb, out.ka, "the pending key is lost");
    assert.equal(out.fromStorage, true);
    assert.equal(out.fallbacks, 1);
    assert.equal(out.before, 2, "pay:5's entry (written after the fall-back) is in localStorage too: write-ahead stays on");
    assert.equal(out.after, 0, "clear() removed the scope's entries from localStorage");
    if (name.startsWith("a foreign")) assert.equal(out.foreign, "someone else's", "clear() left what is not ours");
  });
}

// ------------------------------------------------------------------ B11 events

test("B11 events and the debug log: types in order, keys cut to 8 characters", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient({ debug: true });
    const events = [];
    const off = c.on((e) => events.push(e));
    const [a] = await Promise.all([
      c.fetch("/api/echo", { method: "POST", body: "ev", action: "track:test.mp4" }),
      c.fetch("/api/echo", { method: "POST", body: "ev", action: "track:test.mp4" }),
    ]);
    await c.fetch("/api/echo", { method: "POST", body: "ev", action: "track:test.mp4" });
    off();
    await c.fetch("/api/echo", { method: "POST", body: "unseen" });
    return { events, key: c.info(a).key };
  });
  assert.deepEqual(out.events.map((e) => e.type), ["check", "miss", "store", "coalesced", "settled", "check", "hit", "settled"]);
  for (const e of out.events) {
    assert.equal(e.action, "track:test.mp4");
    if (e.key) assert.equal(e.key, out.key.slice(0, 8));
    assert.deepEqual(Object.keys(e).sort(), ["action", "attempt", "delayMs", "key", "status", "type"]);
  }
  const lines = p.logs.filter((l) => l.startsWith("[IDEMP]"));
  assert.ok(lines.includes(`[IDEMP] HIT action=track:test.mp4 key=${out.key.slice(0, 8)}…`), lines.join("\n"));
  assert.ok(lines.some((l) => l.startsWith("[IDEMP] MISS action=track:test.mp4")));
  assert.ok(!lines.some((l) => l.includes(out.key)), "full keys never appear in logs");
});

test("B11 a listener may unsubscribe and call the client from inside an event", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = createClient();
    const seen = [];
    let nested;
    const off = c.on((e) => {
      seen.push(e.type);
      if (e.type === "settled" && !nested) {
        off();
        nested = c.fetch("/api/echo", { method: "POST", body: "nested" });
      }
    });
    await c.fetch("/api/echo", { method: "POST", body: "outer" });
    await new Promise((r) => setTimeout(r, 50));
    const r = await within(nested);
    return { seen, nested: r.ok ? r.value.status : r };
  });
  assert.equal(out.nested, 200);
  assert.equal(out.seen.filter((e) => e === "settled").length, 1, "unsubscribed: the nested call's events are not seen");
  assert.deepEqual(p.logs.filter((l) => l.startsWith("pageerror")), []);
});

// ------------------------------------------------------------------ B12 never hang

test("B12 failures at the JS boundary settle every caller with an Error", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    let nonResponseCalls = 0;
    let syncTypeErrorCalls = 0;
    const cases = {
      throwsSync: () => { throw new Error("sync boom"); },
      // A wrapper's bug that throws a TypeError (as network failures reject with): surfaced, not retried.
      throwsSyncTypeError: (input, init) => { syncTypeErrorCalls++; init.headers.no(); },
      nonResponse: async () => { nonResponseCalls++; return { status: 200 }; },
      rejectsString: () => Promise.reject("a string"),
      rejectsNull: () => Promise.reject(null),
      isReplayedThrows: null,
    };
    const out = {};
    for (const [name, fetchImpl] of Object.entries(cases)) {
      const c = name === "isReplayedThrows"
        ? createClient({ isReplayed: () => { throw new Error("replay check failed"); } })
        : createClient({ fetch: fetchImpl, retry: { baseMs: 1 } });
      const rs = await Promise.all([1, 2, 3].map(() => within(c.fetch("/api/echo", { method: "POST", body: name }), 3000)));
      out[name] = rs.map((r) => (r.pending ? "pending" : r.ok ? "resolved" : r.isError ? "Error" : "non-Error"));
      out[name + "Inflight"] = c.inflight;
    }
    // A body that fails mid-way for coalesced callers (the server cuts it).
    const c = createClient();
    const cut = await Promise.all([1, 2].map(() => within(c.fetch("/api/stream?chunks=3&cut=1", { method: "POST", body: "s" }), 5000)));
    out.cutBody = cut.map((r) => (r.pending ? "pending" : r.ok ? "resolved" : r.isError ? "Error" : "non-Error"));
    // A Response-like from the fetch option whose status no Response can carry:
    // coalesced callers each need a copy, the copy throws, each is rejected.
    const odd = createClient({
      fetch: async () => ({ status: 600, statusText: "", type: "basic", url: "", headers: new Headers(), arrayBuffer: async () => new ArrayBuffer(1) }),
    });
    const copies = await Promise.all([1, 2].map(() => within(odd.fetch("/api/echo", { method: "POST", body: "odd" }), 3000)));
    out.uncopyable = copies.map((r) => (r.pending ? "pending" : r.ok ? "resolved" : r.isError ? "Error" : "non-Error"));
    out.uncopyableInflight = odd.inflight;
    // A Response-like whose arrayBuffer() gives nothing (a loose mock): coalesced
    // callers still each get a Response of their own, and info() tells them apart.
    const loose = createClient({
      fetch: async () => ({ status: 201, statusText: "", type: "basic", url: "", headers: new Headers(), arrayBuffer: async () => undefined }),
    });
    const pair = await Promise.all([1, 2].map(() => loose.fetch("/api/echo", { method: "POST", body: "loose" })));
    out.loose = { distinct: pair[0] !== pair[1], coalesced: pair.map((r) => loose.info(r)?.coalesced), status: pair.map((r) => r.status) };
    // An abort reason that String() cannot convert (a null-prototype object):
    // still a rejection with an Error, in flight and before anything is sent.
    const np = createClient();
    const ac = new AbortController();
    const inFlight = within(np.fetch("/api/slow?ms=300", { method: "POST", body: "np", signal: ac.signal }), 3000);
    await new Promise((r) => setTimeout(r, 20));
    ac.abort(Object.create(null));
    let threw = false;
    let before;
    try {
      before = within(np.fetch("/api/echo", { method: "POST", body: "np2", signal: ac.signal }), 3000);
    } catch {
      threw = true;
    }
    out.oddReason = [await inFlight, before ? await before : { threw }].map((r) => (r.threw ? "threw" : r.pending ? "pending" : r.ok ? "resolved" : r.isError ? "Error" : "non-Error"));
    out.nonResponseCalls = nonResponseCalls;
    out.syncTypeErrorCalls = syncTypeErrorCalls;
    return out;
  });
  assert.deepEqual(out.loose, { distinct: true, coalesced: [false, true], status: [201, 201] });
  for (const name of ["throwsSync", "throwsSyncTypeError", "nonResponse", "rejectsString", "rejectsNull", "isReplayedThrows"]) {
    assert.deepEqual(out[name], ["Error", "Error", "Error"], name);
    assert.equal(out[name + "Inflight"], 0, name);
  }
  assert.deepEqual(out.cutBody, ["Error", "Error"]);
  assert.deepEqual(out.uncopyable, ["Error", "Error"], "a copy that cannot be made rejects its caller, never leaves it pending");
  assert.equal(out.uncopyableInflight, 0);
  assert.deepEqual(out.oddReason, ["Error", "Error"], "an abort reason String() cannot convert still rejects with an Error (in flight, and at once)");
  assert.equal(out.nonResponseCalls, 1, "a non-Response is a bug to surface, not a network failure to retry");
  assert.equal(out.syncTypeErrorCalls, 1, "a fetch option that throws (even a TypeError) is a bug to surface: fetch rejects, it never throws");
});

// ------------------------------------------------------------------ B13 scopes

test("B13 keys of one scope are never sent for another; clear() removes one scope only", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const alice = createClient({ scope: "alice" });
    const bob = createClient({ scope: "bob" });
    const ra = await alice.fetch("/api/echo", { method: "POST", body: "same", action: "buy", headers: { "x-fault": "status=503" }, retry: false });
    const rb = await bob.fetch("/api/echo", { method: "POST", body: "same", action: "buy" });
    const perCall = await alice.fetch("/api/echo", { method: "POST", body: "same", action: "buy", scope: "bob" });
    localStorage.setItem("app:theme", "dark");
    const before = Object.keys(localStorage).length;
    await alice.clear();
    const afterClear = Object.keys(localStorage);
    const ra2 = await alice.fetch("/api/echo", { method: "POST", body: "same", action: "buy" });
    return { ka: alice.info(ra).key, kb: bob.info(rb).key, kPerCall: alice.info(perCall).key, ka2: alice.info(ra2).key, before, afterClear };
  });
  assert.notEqual(out.ka, out.kb);
  assert.equal(out.kPerCall, out.kb, "a per-call scope uses that scope's keys");
  assert.notEqual(out.ka2, out.ka, "after clear() the action is new");
  assert.equal(out.before, 3);
  assert.equal(out.afterClear.length, 2, out.afterClear.join(","));
  assert.ok(out.afterClear.includes("app:theme"));
});

// ------------------------------------------------------------------ validation

test("invalid input: TypeErrors name the field; nothing is sent", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const msgs = [];
    for (const opts of [{ nope: 1 }, { scope: 1 }, { retry: { attempts: 0 } }, { retry: { bogus: 1 } }, { keyFormat: "x" }, { storage: "disk" }, { maxEntries: 1.5 }, { fetch: "no" }, "str"]) {
      try { createClient(opts); msgs.push("no error"); } catch (e) { msgs.push(`${e.name}: ${e.message}`); }
    }
    const c = createClient();
    for (const init of [{ action: 42 }, { action: "" }, { fresh: "yes" }, { scope: 1 }, { retry: "no" }, { signal: "x" }]) {
      const r = await within(c.fetch("/api/echo", { method: "POST", body: "x", ...init }));
      msgs.push(`${r.name}: ${r.message}`);
    }
    return msgs;
  });
  const fields = ["nope", "scope", "retry.attempts", "retry.bogus", "keyFormat", "storage", "maxEntries", "fetch", "options", "action", "action", "fresh", "scope", "retry", "signal"];
  fields.forEach((f, i) => {
    assert.match(out[i], /^TypeError: /, out[i]);
    assert.ok(out[i].includes(`\`${f}\``), `${out[i]} names ${f}`);
  });
  assert.equal((await requests()).length, 0);
});
