// The reference server must be honest before any browser test can trust it:
// it counts effects, enforces idempotency like a real backend, injects exactly
// the faults asked for, and serves only what is under its static roots.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import path from "node:path";
import fs from "node:fs";
import os from "node:os";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { startServer, log, faults, reset, ROOT } from "./harness.mjs";

let server;
let base;
let tmp;

before(async () => {
  // A private static tree: a secret beside it proves traversal is refused.
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "oncefetch-static-"));
  fs.mkdirSync(path.join(tmp, "site/sub"), { recursive: true });
  fs.mkdirSync(path.join(tmp, "pkg/dist"), { recursive: true });
  fs.writeFileSync(path.join(tmp, "secret.txt"), "TOP SECRET");
  fs.writeFileSync(path.join(tmp, "site/index.html"), "<h1>root</h1>");
  fs.writeFileSync(path.join(tmp, "site/sub/index.html"), "<h1>sub</h1>");
  fs.writeFileSync(path.join(tmp, "site/app.mjs"), "export {}");
  fs.writeFileSync(path.join(tmp, "site/style.css"), "body{}");
  fs.writeFileSync(path.join(tmp, "site/types.ts"), "export type A = 1;");
  fs.writeFileSync(path.join(tmp, "pkg/dist/index.js"), "export const pkg = true;");
  fs.writeFileSync(path.join(tmp, "pkg/dist/x.wasm"), Buffer.from([0, 97, 115, 109, 1, 0, 0, 0]));
  fs.writeFileSync(path.join(tmp, "pkg/dist/x.js.map"), "{}");
  server = await startServer({
    staticRoots: [
      { prefix: "/", dir: path.join(tmp, "site") },
      { prefix: "/node_modules/oncefetch/", dir: path.join(tmp, "pkg") },
    ],
    headers: { "Content-Security-Policy": "script-src 'self' 'wasm-unsafe-eval'" },
  });
  base = server.url;
});

after(async () => {
  await server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const post = (p, body, headers = {}) => fetch(new URL(p, base), { method: "POST", body, headers });
const sha = (s) => createHash("sha256").update(s).digest("hex");

/** A raw request: unlike fetch, http.request leaves `..` and odd encodings in the path as written. */
function raw(pathname, method = "GET") {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: server.port, path: pathname, method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("server: url, port and a clean reset", async () => {
  assert.match(base, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.equal(new URL(base).port, String(server.port));
  await post("api/plain/tasks", "x");
  await faults(base, [{ status: 500, times: 3 }]);
  await reset(base);
  const l = await log(base);
  assert.deepEqual(l, { requests: [], tasks: { plain: [], idem: [] }, keys: {} });
  assert.equal((await post("api/echo", "y")).status, 200, "reset emptied the fault queue");
  server.reset(); // the programmatic reset too
  assert.equal((await log(base)).requests.length, 0);
});

test("plain endpoint: three posts create three tasks, key or no key", async () => {
  await reset(base);
  const bodies = [];
  for (let i = 0; i < 3; i++) {
    const res = await post("api/plain/tasks", JSON.stringify({ video: "test.mp4" }), { "idempotency-key": "same-key", "content-type": "application/json" });
    assert.equal(res.status, 201);
    bodies.push(await res.json());
  }
  assert.equal(new Set(bodies.map((b) => b.id)).size, 3);
  assert.ok(bodies.every((b) => b.created === true));
  const l = await log(base);
  assert.equal(l.tasks.plain.length, 3);
  assert.deepEqual(l.tasks.plain.map((t) => t.n), [1, 2, 3]);
  assert.equal(l.tasks.plain[0].key, "same-key");
  assert.equal(l.tasks.plain[0].body, '{"video":"test.mp4"}');
  assert.equal(l.keys["same-key"], 3);
  assert.equal(l.requests.length, 3);
});

test("plain endpoint: ?delay holds the answer", async () => {
  await reset(base);
  const t0 = Date.now();
  assert.equal((await post("api/plain/tasks?delay=200", "d")).status, 201);
  assert.ok(Date.now() - t0 >= 190);
});

test("idem endpoint: one key creates one task; later requests replay with Idempotent-Replayed", async () => {
  await reset(base);
  const h = { "idempotency-key": "k-1", "content-type": "application/json" };
  const first = await post("api/idem/tasks", '{"a":1}', h);
  assert.equal(first.status, 201);
  assert.equal(first.headers.get("idempotent-replayed"), null);
  const firstBody = await first.json();
  for (let i = 0; i < 2; i++) {
    const again = await post("api/idem/tasks", '{"a":1}', h);
    assert.equal(again.status, 201, "the stored status is replayed");
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    assert.deepEqual(await again.json(), firstBody);
  }
  const l = await log(base);
  assert.equal(l.tasks.idem.length, 1);
  assert.equal(l.tasks.idem[0].key, "k-1");
  assert.equal(l.keys["k-1"], 3);
  assert.deepEqual(l.requests.map((r) => r.status), [201, 201, 201]);
});

test("idem endpoint: PUT and PATCH are keyed the same way; no key creates every time", async () => {
  await reset(base);
  const put1 = await fetch(new URL("api/idem/tasks", base), { method: "PUT", body: "p", headers: { "idempotency-key": "put-1" } });
  const put2 = await fetch(new URL("api/idem/tasks", base), { method: "PUT", body: "p", headers: { "idempotency-key": "put-1" } });
  const patch = await fetch(new URL("api/idem/tasks", base), { method: "PATCH", body: "p", headers: { "idempotency-key": "patch-1" } });
  assert.deepEqual([put1.status, put2.status, patch.status], [201, 201, 201]);
  assert.equal(put2.headers.get("idempotent-replayed"), "true");
  await post("api/idem/tasks", "n");
  await post("api/idem/tasks", "n");
  const l = await log(base);
  assert.equal(l.tasks.idem.length, 4, "put-1 once, patch-1 once, two unkeyed");
  const list = await (await fetch(new URL("api/idem/tasks", base))).json();
  assert.equal(list.length, 4);
  assert.equal((await fetch(new URL("api/idem/tasks", base), { method: "DELETE" })).status, 405);
});

test("idem endpoint: 409 with Retry-After while the first request is still working; the key is claimed before the work", async () => {
  await reset(base);
  const h = { "idempotency-key": "slow-1" };
  const first = post("api/idem/tasks?delay=400", "job", h);
  await new Promise((r) => setTimeout(r, 100));
  const during = await post("api/idem/tasks?delay=400", "job", h);
  assert.equal(during.status, 409);
  assert.equal(during.headers.get("retry-after"), "1");
  assert.deepEqual(await during.json(), { error: "request in progress" });
  assert.equal((await log(base)).tasks.idem.length, 0, "the work has not finished yet");
  assert.equal((await first).status, 201);
  const after = await post("api/idem/tasks", "job", h);
  assert.equal(after.headers.get("idempotent-replayed"), "true");
  assert.equal((await log(base)).tasks.idem.length, 1);
});

test("idem endpoint: 422 when a key is reused with different body bytes", async () => {
  await reset(base);
  const h = { "idempotency-key": "pay-1", "content-type": "application/json" };
  assert.equal((await post("api/idem/tasks", '{"amount":1}', h)).status, 201);
  // Same JSON value, different bytes: raw bytes decide.
  const spaced = await post("api/idem/tasks", '{ "amount": 1 }', h);
  assert.equal(spaced.status, 422);
  assert.deepEqual(await spaced.json(), { error: "key reused with a different payload" });
  // Also while in progress: the payload check comes first.
  const slow = post("api/idem/tasks?delay=300", "a", { "idempotency-key": "pay-2" });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await post("api/idem/tasks", "b", { "idempotency-key": "pay-2" })).status, 422);
  await slow;
  assert.equal((await log(base)).tasks.idem.length, 2);
});

test("echo describes the request; the log records key, headers, body hash and timing", async () => {
  await reset(base);
  const res = await post("api/echo?x=1&delay=50", "héllo", { "idempotency-key": "e-1", "content-type": "text/plain", "x-custom": "v" });
  const echo = await res.json();
  assert.deepEqual(echo, {
    method: "POST", key: "e-1", contentType: "text/plain", body: "héllo",
    bodyLength: Buffer.byteLength("héllo"), bodySha256: sha("héllo"),
  });
  const get = await (await fetch(new URL("api/echo", base))).json();
  assert.equal(get.method, "GET");
  assert.equal(get.key, null);
  const [r, g] = (await log(base)).requests;
  assert.equal(r.seq, 1);
  assert.equal(g.seq, 2);
  assert.equal(r.method, "POST");
  assert.equal(r.path, "/api/echo");
  assert.equal(r.query, "x=1&delay=50");
  assert.equal(r.key, "e-1");
  assert.equal(r.headers["x-custom"], "v");
  assert.equal(r.bodyLength, 6);
  assert.equal(r.bodySha256, sha("héllo"));
  assert.equal(r.body, "héllo");
  assert.equal(r.fault, null);
  assert.equal(r.status, 200);
  assert.ok(r.doneAt - r.at >= 45, "delay shows in the timestamps");
  assert.equal(g.key, null);
  // Large bodies are hashed but not kept as text.
  await post("api/echo", "z".repeat(5000));
  const big = (await log(base)).requests[2];
  assert.equal(big.body, null);
  assert.equal(big.bodyLength, 5000);
});

test("slow answers after ?ms", async () => {
  await reset(base);
  const t0 = Date.now();
  const res = await fetch(new URL("api/slow?ms=250", base), { method: "POST", body: "s" });
  assert.equal(res.status, 200);
  assert.ok(Date.now() - t0 >= 240);
});

test("stream sends chunks over time; cut=1 breaks the body mid-way", async () => {
  await reset(base);
  const t0 = Date.now();
  const text = await (await fetch(new URL("api/stream?chunks=3&ms=50", base))).text();
  assert.equal(text, "chunk 1/3\nchunk 2/3\nchunk 3/3\n");
  assert.ok(Date.now() - t0 >= 140);
  const cut = await fetch(new URL("api/stream?chunks=2&ms=10&cut=1", base), { method: "POST", body: "s" });
  assert.equal(cut.status, 200);
  await assert.rejects(cut.text());
});

test("fault queue: status, Retry-After, replayed and times; the faulted request does no work", async () => {
  await reset(base);
  await faults(base, [
    { path: "/api/idem/tasks", status: 503, retryAfter: "2", times: 2 },
    { path: "/api/idem/tasks", status: 500, replayed: true },
  ]);
  const h = { "idempotency-key": "f-1" };
  const a = await post("api/idem/tasks", "w", h);
  const b = await post("api/idem/tasks", "w", h);
  const c = await post("api/idem/tasks", "w", h);
  const d = await post("api/idem/tasks", "w", h);
  assert.deepEqual([a.status, b.status, c.status, d.status], [503, 503, 500, 201]);
  assert.equal(a.headers.get("retry-after"), "2");
  assert.equal(a.headers.get("idempotent-replayed"), null);
  assert.equal(c.headers.get("idempotent-replayed"), "true");
  assert.equal(c.headers.get("retry-after"), null);
  assert.deepEqual(await a.json(), { error: "injected fault", status: 503 });
  const l = await log(base);
  assert.equal(l.tasks.idem.length, 1, "only the unfaulted request created a task");
  assert.equal(l.keys["f-1"], 4, "faulted requests are still recorded");
  assert.deepEqual(l.requests.map((r) => r.fault?.status ?? null), [503, 503, 500, null]);
  assert.equal(l.requests[0].fault.retryAfter, "2");
});

test("fault queue: path prefix matching, FIFO order, custom body, default path is every /api request", async () => {
  await reset(base);
  await faults(base, [{ path: "/api/echo", status: 418, body: '{"teapot":true}' }, { status: 502 }]);
  const slow = await fetch(new URL("api/slow?ms=0", base));
  assert.equal(slow.status, 502, "the /api/echo fault does not match /api/slow; the catch-all does");
  const echo = await post("api/echo", "e");
  assert.equal(echo.status, 418);
  assert.equal(echo.headers.get("content-type"), "application/json");
  assert.deepEqual(await echo.json(), { teapot: true });
  assert.equal((await post("api/echo", "e")).status, 200, "queue is empty again");
  const bad = await fetch(new URL("__control/faults", base), { method: "POST", body: '[{"status":"nope"}]' });
  assert.equal(bad.status, 400);
});

test("fault queue: a path with ? also matches the query; retryAfterDate is an HTTP-date at least that far ahead", async () => {
  await reset(base);
  await faults(base, [{ path: "/api/echo?t=b", status: 503, retryAfterDate: 1500 }]);
  assert.equal((await post("api/echo?t=a", "x")).status, 200, "another query does not match");
  const hit = await post("api/echo?t=b&more=1", "x");
  const answered = Date.now();
  assert.equal(hit.status, 503);
  const wait = Date.parse(hit.headers.get("retry-after")) - answered;
  assert.match(hit.headers.get("retry-after"), /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
  assert.ok(wait >= 1400 && wait < 2500, `HTTP-date ${wait} ms ahead`);
  assert.equal((await post("api/echo", "x", { "x-fault": "status=429; retry-after-date=0" })).headers.get("retry-after").endsWith("GMT"), true);
});

test("fault queue: drop destroys the connection with no response, once", async () => {
  await reset(base);
  await faults(base, [{ path: "/api/echo", drop: true }]);
  await assert.rejects(post("api/echo", "gone"), TypeError);
  assert.equal((await post("api/echo", "back")).status, 200);
  const [dropped, ok] = (await log(base)).requests;
  assert.equal(dropped.fault.drop, true);
  assert.equal(dropped.status, 0, "no answer");
  assert.equal(ok.status, 200);
  assert.equal(dropped.reusedConnection, false, "connections are not reused, so browsers cannot silently resend");
});

test("fault queue: delayMs alone delays, then the work is done", async () => {
  await reset(base);
  await faults(base, [{ path: "/api/plain", delayMs: 200 }]);
  const t0 = Date.now();
  const res = await post("api/plain/tasks", "late");
  assert.equal(res.status, 201);
  assert.ok(Date.now() - t0 >= 190);
  assert.equal((await log(base)).tasks.plain.length, 1);
});

test("x-fault header: stateless status, retry-after, replayed, delay and drop", async () => {
  await reset(base);
  const f = await post("api/plain/tasks", "x", { "x-fault": "status=503; retry-after=2; replayed" });
  assert.equal(f.status, 503);
  assert.equal(f.headers.get("retry-after"), "2");
  assert.equal(f.headers.get("idempotent-replayed"), "true");
  const t0 = Date.now();
  assert.equal((await post("api/plain/tasks", "x", { "x-fault": "delay=150" })).status, 201);
  assert.ok(Date.now() - t0 >= 140);
  await assert.rejects(post("api/plain/tasks", "x", { "x-fault": "drop" }), TypeError);
  assert.equal((await post("api/echo", "x", { "x-fault": "status=abc" })).status, 400);
  const l = await log(base);
  assert.equal(l.tasks.plain.length, 1, "only the delayed request did the work");
  assert.deepEqual(l.requests[0].fault, { status: 503, retryAfter: "2", replayed: true });
  // A queued fault wins over the header.
  await faults(base, [{ path: "/api/echo", status: 504 }]);
  assert.equal((await post("api/echo", "x", { "x-fault": "status=500" })).status, 504);
});

test("CORS: every response allows any origin and exposes the replay headers; preflight is 204", async () => {
  const pre = await fetch(new URL("api/idem/tasks", base), {
    method: "OPTIONS",
    headers: { origin: "http://example.test", "access-control-request-method": "POST", "access-control-request-headers": "idempotency-key, x-fault, content-type" },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get("access-control-allow-origin"), "*");
  const allowed = pre.headers.get("access-control-allow-headers").toLowerCase();
  for (const h of ["idempotency-key", "x-fault", "content-type"]) assert.ok(allowed.includes(h), h);
  assert.match(pre.headers.get("access-control-allow-methods"), /PATCH/);
  const res = await post("api/echo", "x");
  assert.equal(res.headers.get("access-control-allow-origin"), "*");
  assert.match(res.headers.get("access-control-expose-headers"), /Idempotent-Replayed/);
  assert.match(res.headers.get("access-control-expose-headers"), /Retry-After/);
  assert.equal((await fetch(new URL("__control/log", base))).headers.get("access-control-allow-origin"), "*");
});

test("events: SSE stream of request records", async () => {
  await reset(base);
  const ac = new AbortController();
  const res = await fetch(new URL("__control/events", base), { signal: ac.signal });
  assert.equal(res.headers.get("content-type"), "text/event-stream");
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  const messages = [];
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let at;
      while ((at = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
        if (data) messages.push(JSON.parse(data));
      }
    }
  })().catch(() => {});
  await post("api/echo", "sse", { "idempotency-key": "sse-1" });
  await reset(base);
  const end = Date.now() + 2000;
  while (messages.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  ac.abort();
  await pump;
  assert.deepEqual(messages.map((m) => m.phase), ["received", "answered", "reset"]);
  assert.equal(messages[0].key, "sse-1");
  assert.equal(messages[0].status, null);
  assert.equal(messages[1].status, 200);
  assert.equal(messages[1].seq, messages[0].seq);
});

test("static: content types, index.html, longest prefix wins, extra headers", async () => {
  const cases = [
    ["", "text/html; charset=utf-8", "<h1>root</h1>"],
    ["sub/", "text/html; charset=utf-8", "<h1>sub</h1>"],
    ["app.mjs", "text/javascript; charset=utf-8"],
    ["style.css", "text/css; charset=utf-8"],
    ["types.ts", "text/plain; charset=utf-8"],
    ["node_modules/oncefetch/dist/index.js", "text/javascript; charset=utf-8", "export const pkg = true;"],
    ["node_modules/oncefetch/dist/x.wasm", "application/wasm"],
    ["node_modules/oncefetch/dist/x.js.map", "application/json; charset=utf-8"],
  ];
  for (const [p, type, text] of cases) {
    const res = await fetch(new URL(p, base));
    assert.equal(res.status, 200, p);
    assert.equal(res.headers.get("content-type"), type, p);
    assert.equal(res.headers.get("content-security-policy"), "script-src 'self' 'wasm-unsafe-eval'", p);
    const body = await res.text();
    if (text) assert.equal(body, text, p);
  }
  const redirect = await raw("/sub");
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.location, "/sub/");
  assert.equal((await fetch(new URL("missing.js", base))).status, 404);
  assert.equal((await fetch(new URL("node_modules/oncefetch/missing.js", base))).status, 404);
  assert.equal((await fetch(new URL("app.mjs", base), { method: "POST" })).status, 405);
  const head = await fetch(new URL("app.mjs", base), { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-length"), "9");
});

test("static: path traversal is refused, however it is spelled", async () => {
  for (const p of [
    "/../secret.txt",
    "/sub/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/..%2fsecret.txt",
    "/..%5csecret.txt",
    "/node_modules/oncefetch/../../secret.txt",
    "/node_modules/oncefetch/%2e%2e/%2e%2e/secret.txt",
    "/app.mjs%00.html",
  ]) {
    const res = await raw(p);
    assert.ok(res.status === 403 || res.status === 400 || res.status === 404, `${p} -> ${res.status}`);
    assert.ok(!res.body.includes("TOP SECRET"), `${p} leaked the file`);
  }
  assert.equal((await raw("/%E0%A4%A")).status, 400, "broken percent-encoding");
});

test("close() ends idle, active and streaming connections promptly", async () => {
  const s = await startServer();
  const slow = fetch(new URL("api/slow?ms=30000", s.url)).catch((e) => e);
  const events = await fetch(new URL("__control/events", s.url));
  const reading = events.text().catch((e) => e);
  await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  await s.close();
  assert.ok(Date.now() - t0 < 1000, `closed in ${Date.now() - t0} ms`);
  assert.ok((await slow) instanceof Error, "the slow request was cut");
  await reading;
});

test("CLI: node server/reference.mjs prints its url and serves --static roots", async (t) => {
  const child = spawn(process.execPath, ["server/reference.mjs", "--port", "0", "--static", "/=tests/pages", "--static", "/node_modules/oncefetch/=."], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => child.kill());
  const url = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
      const m = out.match(/^oncefetch reference server: (http:\/\/127\.0\.0\.1:\d+\/)$/m);
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`exited ${code}: ${out}`)));
    setTimeout(() => reject(new Error(`no url printed: ${out}`)), 5000).unref();
  });
  const pkg = await fetch(new URL("node_modules/oncefetch/package.json", url));
  assert.equal(pkg.status, 200);
  assert.equal((await pkg.json()).name, "oncefetch");
  const page = await fetch(new URL("nobundler.html", url));
  assert.equal(page.status, 200);
  const exited = new Promise((r) => child.on("exit", r));
  child.kill("SIGTERM");
  await exited;
});
