// First vertical slice, no bundler: tests/pages/nobundler.html imports
// /node_modules/oncefetch/dist/index.js with a plain module script, and each
// test drives the real package in headless Chromium against the reference
// server, then asks the server what really reached it. Names carry the SPEC
// B-number they prove.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { launchBrowser, startPageServer, openPage, waitReady, requests, log, reset, until, UUID4, ROOT } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startPageServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** A clean server and a fresh browser context on the no-bundler page. */
async function page(t) {
  await reset(server.url);
  return openPage(t, browser, server.url, "nobundler.html");
}

// ------------------------------------------------------------------ loading

test("no bundler: the page imports dist/index.js; createClient is synchronous and wasm loads on first use", async (t) => {
  const p = await page(t);
  const wasm = [];
  const onRequest = (r) => r.url().endsWith(".wasm") && wasm.push(r.url());
  p.on("request", onRequest);
  t.after(() => p.off("request", onRequest)); // the tab is shared by the file's tests
  const out = await p.evaluate(async () => {
    const c = window.oncefetch.createClient({ scope: "lazy" });
    const sync = typeof c.fetch === "function" && !(c instanceof Promise) && typeof c.then !== "function";
    await new Promise((r) => setTimeout(r, 200));
    return { sync, inflight: c.inflight };
  });
  assert.equal(out.sync, true, "createClient returns the client itself, not a promise");
  assert.equal(out.inflight, 0);
  assert.equal(wasm.length, 0, "no wasm fetched before the first call");
  const status = await p.evaluate(async () => {
    const c = window.oncefetch.createClient();
    const [a, b] = await Promise.all([c.fetch("/api/echo"), c.fetch("/api/echo?2")]);
    return [a.status, b.status];
  });
  assert.deepEqual(status, [200, 200]);
  assert.equal(wasm.length, 1, "the engine is fetched once, on first use");
  assert.match(wasm[0], /\/node_modules\/oncefetch\/dist\/.+\.wasm$/);
});

test("SSR: importing dist/index.js where there is no window does not throw", async () => {
  assert.equal(typeof globalThis.window, "undefined");
  const mod = await import(pathToFileURL(path.join(ROOT, "dist/index.js")).href);
  assert.equal(typeof mod.createClient, "function");
  const c = mod.createClient({ storage: "memory" });
  assert.equal(typeof c.fetch, "function");
});

// ------------------------------------------------------------------ B1 keys

test("B1 a keyed POST carries a UUID v4 Idempotency-Key; info(res).key is the key the server saw", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const c = window.oncefetch.createClient();
    const res = await c.fetch("/api/echo", { method: "POST", body: "x" });
    return { status: res.status, echo: await res.json(), info: c.info(res) };
  });
  const [r] = await requests(server.url);
  assert.equal(out.status, 200);
  assert.match(r.key, UUID4);
  assert.equal(out.echo.key, r.key);
  assert.equal(out.info.key, r.key);
  assert.equal(r.body, "x", "the body is sent unchanged");
});

test("B1 GET (and other methods outside keyedMethods) carry no key; PATCH does", async (t) => {
  const p = await page(t);
  const infos = await p.evaluate(async () => {
    const c = window.oncefetch.createClient();
    const out = {};
    for (const method of ["GET", "PUT", "DELETE", "PATCH"]) {
      const res = await c.fetch(`/api/echo?m=${method}`, method === "GET" || method === "DELETE" ? { method } : { method, body: "b" });
      out[method] = c.info(res).key;
    }
    return out;
  });
  const byMethod = Object.fromEntries((await requests(server.url)).map((r) => [r.method, r]));
  for (const m of ["GET", "PUT", "DELETE"]) {
    assert.equal(byMethod[m].key, null, `${m} is not keyed`);
    assert.equal(byMethod[m].headers["idempotency-key"], undefined);
    assert.equal(infos[m], null);
  }
  assert.match(byMethod.PATCH.key, UUID4);
  assert.equal(infos.PATCH, byMethod.PATCH.key);
});

test("B1 a caller-set Idempotency-Key is sent as-is and only once", async (t) => {
  const p = await page(t);
  const infos = await p.evaluate(async () => {
    const c = window.oncefetch.createClient();
    const a = await c.fetch("/api/echo?h=plain", { method: "POST", body: "x", headers: { "Idempotency-Key": "my-key-1" } });
    // Another spelling of the header name, in a Headers object.
    const b = await c.fetch("/api/echo?h=headers", { method: "POST", body: "y", headers: new Headers({ "idempotency-key": "my-key-2" }) });
    return [c.info(a).key, c.info(b).key];
  });
  const reqs = await requests(server.url);
  assert.equal(reqs.length, 2);
  // Node joins a repeated header with ", ": equality proves it was sent once.
  assert.equal(reqs[0].key, "my-key-1");
  assert.equal(reqs[1].key, "my-key-2");
  assert.deepEqual(infos, ["my-key-1", "my-key-2"]);
});

test("B1 headers in any form fetch takes: the caller's key is found in any spelling and sent once, other headers go unchanged, a header fetch refuses rejects at once and sends nothing", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    window.getterReads = { plain: 0, headers: 0 };
    const c = window.oncefetch.createClient();
    const post = async (f, headers) => c.info(await c.fetch(`/api/echo?f=${f}`, { method: "POST", body: f, headers })).key;
    const keys = {
      lower: await post("lower", { "content-type": "text/plain", "idempotency-key": "k-lower" }),
      pairs: await post("pairs", [["IDEMPOTENCY-KEY", "k-pairs"], ["x-a", "1"]]),
      padded: await post("padded", { "Idempotency-Key": " k-padded\t" }),
      twice: await post("twice", { "Idempotency-Key": "k-a", "idempotency-key": "k-b" }),
      number: await post("number", { "x-n": 1 }),
      plain: await post("plain", { "x-b": "two  words", "x-latin": "caf\u00e9" }),
      // Read once, as new Headers(object) reads it, whether the copy stays a plain object (all
      // strings) or goes through Headers (a number value).
      getter: await post("getter", { get "x-g"() { return String(++window.getterReads.plain); } }),
      getter2: await post("getter2", { get "x-g"() { return String(++window.getterReads.headers); }, "x-z": 1 }),
      request: c.info(await c.fetch(new Request("/api/echo?f=request", { method: "POST", body: "r", headers: { "Idempotency-Key": "k-req" } }))).key,
    };
    const refused = [];
    for (const headers of [{ "bad name": "v" }, { "x-c": "a\nb" }, { "x-d": "\u20ac" }, { [Symbol("s")]: "v" }, { "Idempotency-Key": "a\rb" }]) {
      // At once, as fetch's own TypeError: not a network failure retried four times.
      refused.push(await c.fetch("/api/echo?f=refused", { method: "POST", body: "x", headers }).then(() => "sent", (e) => (/network/.test(e.message) ? e.message : e.name)));
    }
    // A key header named "__proto__" (a valid token) is still an own header, sent once.
    let seen;
    const proto = window.oncefetch.createClient({ headerName: "__proto__", fetch: (input, init) => { seen = new Headers(init.headers).get("__proto__"); return fetch(input, init); } });
    const protoKeys = [];
    for (const headers of [undefined, { "x-p": "1" }]) protoKeys.push([proto.info(await proto.fetch("/api/echo?f=proto", { method: "POST", body: "p", headers })).key, seen]);
    return { keys, refused, inflight: c.inflight, getterReads: window.getterReads, protoKeys };
  });
  const reqs = await requests(server.url);
  const at = (f) => reqs.filter((r) => r.query === `f=${f}`);
  assert.deepEqual(out.refused, ["TypeError", "TypeError", "TypeError", "TypeError", "TypeError"]);
  assert.equal(at("refused").length, 0, "a refused header sends nothing");
  assert.equal(out.inflight, 0);
  assert.equal(reqs.length, 11);
  const one = (f) => {
    const r = at(f);
    assert.equal(r.length, 1, f);
    return r[0];
  };
  assert.equal(one("lower").key, "k-lower");
  assert.equal(one("lower").headers["content-type"], "text/plain");
  assert.equal(one("pairs").key, "k-pairs");
  assert.equal(one("pairs").headers["x-a"], "1");
  assert.equal(one("padded").key, "k-padded", "fetch trims the value");
  assert.equal(one("twice").key, "k-a, k-b", "both spellings: one header, as fetch joins them");
  assert.equal(one("request").key, "k-req");
  assert.equal(one("number").headers["x-n"], "1");
  assert.equal(one("plain").headers["x-b"], "two  words");
  assert.equal(one("plain").headers["x-latin"], "caf\u00e9");
  assert.match(one("plain").key, UUID4);
  assert.match(one("number").key, UUID4);
  assert.deepEqual(out.keys, {
    lower: "k-lower", pairs: "k-pairs", padded: "k-padded", twice: "k-a, k-b",
    number: one("number").key, plain: one("plain").key, request: "k-req", getter: one("getter").key, getter2: one("getter2").key,
  });
  assert.deepEqual(out.getterReads, { plain: 1, headers: 1 }, "a getter runs once");
  assert.equal(one("getter").headers["x-g"], "1");
  assert.equal(one("getter2").headers["x-g"], "1");
  assert.equal(one("getter2").headers["x-z"], "1");
  assert.equal(at("proto").length, 2);
  for (const [key, sent] of out.protoKeys) {
    assert.match(key, UUID4);
    assert.equal(sent, key, "the key is in the __proto__ header the fetch option sees");
  }
});

test("B12 the fetch option may be the browser's own fetch, unbound (window.fetch, globalThis.fetch): not a failure retried", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const out = [];
    for (const f of [window.fetch, globalThis.fetch]) {
      const c = window.oncefetch.createClient({ fetch: f, retry: { baseMs: 1, maxMs: 1 } });
      const r = await c.fetch("/api/echo?f=bound", { method: "POST", body: "b" });
      out.push([r.status, c.info(r).attempts]);
    }
    return out;
  });
  assert.deepEqual(out, [[200, 1], [200, 1]]);
  assert.equal((await requests(server.url)).length, 2);
});

test("B1 different actions get different keys", async (t) => {
  const p = await page(t);
  const keys = await p.evaluate(async () => {
    const c = window.oncefetch.createClient();
    const out = [];
    // Different bodies, different URLs, and one body under two explicit actions.
    for (let i = 0; i < 10; i++) out.push(c.info(await c.fetch("/api/echo", { method: "POST", body: `body-${i}` })).key);
    out.push(c.info(await c.fetch("/api/echo?other", { method: "POST", body: "body-0" })).key);
    out.push(c.info(await c.fetch("/api/echo", { method: "POST", body: "same", action: "like:1" })).key);
    out.push(c.info(await c.fetch("/api/echo", { method: "POST", body: "same", action: "like:2" })).key);
    return out;
  });
  const seen = (await requests(server.url)).map((r) => r.key);
  assert.equal(seen.length, 13);
  assert.deepEqual(seen, keys);
  for (const k of seen) assert.match(k, UUID4);
  assert.equal(new Set(seen).size, 13, "every action has its own key");
  // Keys are minted from a pool of random bytes refilled 256 at a time (16 keys).
  const many = await p.evaluate(async () => {
    const c = window.oncefetch.createClient({ storage: "memory" });
    const out = [];
    for (let i = 0; i < 100; i++) out.push(await c.keyFor(`many:${i}`));
    return out;
  });
  for (const k of many) assert.match(k, UUID4);
  assert.equal(new Set(many).size, 100, "keys stay distinct across refills of the random pool");
});

// ------------------------------------------------------------------ B3 coalescing

const TRACK = () => ({
  method: "POST",
  body: JSON.stringify({ video: "test.mp4" }),
  headers: { "content-type": "application/json" },
});

test("B3 three simultaneous identical calls: one request, one task, every caller reads the same body", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async (init) => {
    const c = window.oncefetch.createClient();
    const rs = await Promise.all([1, 2, 3].map(() => c.fetch("/api/idem/tasks?delay=300", init)));
    return {
      statuses: rs.map((r) => r.status),
      bodies: await Promise.all(rs.map((r) => r.json())), // each caller reads its own
      infos: rs.map((r) => c.info(r)),
      inflight: c.inflight,
    };
  }, TRACK());
  const l = await log(server.url);
  assert.equal(l.requests.length, 1, "exactly one request reached the server");
  assert.equal(l.tasks.idem.length, 1, "one task");
  assert.deepEqual(out.statuses, [201, 201, 201]);
  assert.equal(out.bodies[0].id, l.tasks.idem[0].id);
  assert.deepEqual(out.bodies[1], out.bodies[0]);
  assert.deepEqual(out.bodies[2], out.bodies[0]);
  assert.equal(out.infos.filter((i) => i.coalesced).length, 2, "two callers joined the first");
  assert.equal(new Set(out.infos.map((i) => i.key)).size, 1);
  assert.equal(out.infos[0].key, l.requests[0].key);
  assert.equal(out.inflight, 0, "nothing left in flight");
});

test("B3 control: the same three calls with plain fetch create three tasks (the test can fail)", async (t) => {
  const p = await page(t);
  await p.evaluate(async (init) => {
    await Promise.all([1, 2, 3].map(() => fetch("/api/plain/tasks?delay=300", init)));
    await Promise.all([1, 2, 3].map(() => fetch("/api/idem/tasks?delay=300", init)));
  }, TRACK());
  const l = await log(server.url);
  assert.equal(l.requests.length, 6);
  assert.equal(l.tasks.plain.length, 3, "a naive backend makes a task per request");
  assert.equal(l.tasks.idem.length, 3, "without a key even the idempotent endpoint cannot tell");
});

// ------------------------------------------------------------------ B5 write-ahead persistence

/** localStorage as [key, value] pairs. */
const dump = () => Object.entries(localStorage);

test("B5 the key entry is in localStorage before the request is sent, pending, with nothing in clear", async (t) => {
  const p = await page(t);
  const secret = `secret-clip-${Date.now()}.mp4`;
  const action = `track:${secret}`;
  // The underlying `fetch` option runs at the moment of sending: what
  // localStorage holds then is what a crash right after the send would leave.
  await p.evaluate(({ secret, action }) => {
    const c = window.oncefetch.createClient({
      fetch: (input, init) => {
        window.atSend = { storage: Object.entries(localStorage), key: new Headers(init.headers).get("Idempotency-Key") };
        return fetch(input, init);
      },
    });
    window.pending = c.fetch("/api/idem/tasks?delay=1500", { method: "POST", body: JSON.stringify({ video: secret }), action });
    // Recorded for the report only: lazy wasm and async body hashing mean the
    // entry is written a few microtasks later, still before the send (SPEC B5).
    window.rightAfterCall = Object.entries(localStorage);
  }, { secret, action });

  const [seen] = await until(() => requests(server.url).then((r) => r.length && r), { what: "the request at the server" });
  const whileInFlight = await p.evaluate(() => Object.entries(localStorage));
  const atSend = await p.evaluate(() => window.atSend);

  assert.match(seen.key, UUID4);
  assert.equal(atSend.key, seen.key, "the key sent is the one the server saw");
  for (const [when, storage] of [["at send", atSend.storage], ["while in flight", whileInFlight]]) {
    const ours = storage.filter(([k]) => k.startsWith("oncefetch:"));
    const entries = ours.map(([, v]) => JSON.parse(v)).filter((e) => e && e.key === seen.key);
    assert.equal(entries.length, 1, `${when}: one entry holds the key (${JSON.stringify(storage)})`);
    const e = entries[0];
    assert.equal(e.state, "pending", when);
    for (const f of ["key", "fingerprint", "createdAt", "expiresAt", "state"]) assert.ok(f in e, `${when}: entry has ${f}`);
    assert.ok(e.expiresAt > e.createdAt, when);
    const all = JSON.stringify(storage);
    for (const clear of [secret, action, "idem/tasks", server.url, "video"]) {
      assert.ok(!all.includes(clear), `${when}: "${clear}" is not stored in clear`);
    }
  }
  const res = await p.evaluate(async () => (await window.pending).status);
  assert.equal(res, 201);
  t.diagnostic(`entries right after the fetch() call, synchronously: ${await p.evaluate(() => window.rightAfterCall.filter(([k]) => k.startsWith("oncefetch:")).length)}`);
});

test("B5 a reload while the request is in flight: the same action sends the same key, and the server does it once", async (t) => {
  const p = await page(t);
  const body = JSON.stringify({ video: `reload-${Date.now()}.mp4` });
  // No explicit action: identity is derived from method, URL and body bytes,
  // and must come out the same after a reload.
  await p.evaluate((body) => {
    const c = window.oncefetch.createClient();
    window.first = c.fetch("/api/idem/tasks?delay=1500", { method: "POST", body, headers: { "content-type": "application/json" } });
    window.first.catch(() => {}); // the reload cuts it
  }, body);
  const [first] = await until(() => requests(server.url).then((r) => r.length && r), { what: "the first request at the server" });
  assert.match(first.key, UUID4);

  await p.reload();
  await waitReady(p);
  const stored = await p.evaluate(() => Object.entries(localStorage).filter(([k]) => k.startsWith("oncefetch:")).map(([, v]) => JSON.parse(v)));
  assert.ok(stored.some((e) => e.key === first.key && e.state === "pending"), "the pending entry survived the reload");

  const out = await p.evaluate(async (body) => {
    const c = window.oncefetch.createClient();
    const res = await c.fetch("/api/idem/tasks?delay=1500", { method: "POST", body, headers: { "content-type": "application/json" } });
    return { status: res.status, body: await res.json(), info: c.info(res), replayed: res.headers.get("idempotent-replayed") };
  }, body);

  const l = await log(server.url);
  assert.ok(l.requests.length >= 2);
  for (const r of l.requests) assert.equal(r.key, first.key, `request ${r.seq} (${r.status}) sent the same key`);
  assert.equal(l.tasks.idem.length, 1, "one task for one action");
  assert.equal(out.status, 201);
  assert.equal(out.body.id, l.tasks.idem[0].id);
  assert.equal(out.info.key, first.key);
  assert.equal(out.info.fromStorage, true, "the key came from storage");
  t.diagnostic(`after reload: ${l.requests.map((r) => r.status).join(" -> ")}, replayed=${out.replayed}`);
});

// ------------------------------------------------------------------ validation

test("invalid input: a bad `action` rejects with a TypeError naming it; an unknown option throws one naming it", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(async () => {
    const { createClient } = window.oncefetch;
    const c = createClient();
    const settled = await c.fetch("/api/echo", { method: "POST", body: "x", action: 42 }).then(
      () => ({ resolved: true }),
      (e) => ({ name: e.name, message: e.message, isTypeError: e instanceof TypeError }),
    );
    let thrown;
    try {
      createClient({ nope: 1 });
    } catch (e) {
      thrown = { name: e.name, message: e.message, isTypeError: e instanceof TypeError };
    }
    return { settled, thrown };
  });
  assert.equal(out.settled.isTypeError, true, JSON.stringify(out.settled));
  assert.match(out.settled.message, /action/);
  assert.ok(out.thrown, "createClient({ nope: 1 }) threw");
  assert.equal(out.thrown.isTypeError, true);
  assert.match(out.thrown.message, /nope/);
  assert.equal((await requests(server.url)).length, 0, "nothing was sent");
});

test("client.options: every default applied, and read-only whether options were given or not", async (t) => {
  const p = await page(t);
  const out = await p.evaluate(() => {
    const { createClient } = window.oncefetch;
    return [createClient(), createClient(null), createClient({}), createClient({ scope: "u1" })].map((c) => {
      const o = c.options;
      const frozen = Object.isFrozen(o);
      try { o.scope = "changed"; } catch { /* strict mode would throw; module code is strict */ }
      return { frozen, scope: o.scope, headerName: o.headerName, keyTtlMs: o.keyTtlMs, attempts: o.retry.attempts };
    });
  });
  for (const [i, o] of out.entries()) {
    assert.equal(o.frozen, true, `client ${i}: options frozen`);
    assert.equal(o.scope, i === 3 ? "u1" : "default", `client ${i}: options unchanged`);
    assert.equal(o.headerName, "Idempotency-Key");
    assert.equal(o.keyTtlMs, 86_400_000);
    assert.equal(o.attempts, 4);
  }
});
