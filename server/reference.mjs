// oncefetch reference backend: the server the demo and the end-to-end tests
// talk to. It behaves like the backends described in SPEC.md (a naive create
// endpoint, a Stripe / IETF-draft idempotent one) and can inject faults, and it
// records every /api request so a test can count what really reached a server.
//
// Plain Node `http`, no dependencies, loopback only. Usable as a module
// (`startServer`) or directly:
//   node server/reference.mjs --port 5174 --static /=www/dist --static /node_modules/oncefetch/=.
//
// Endpoints
//   POST /api/plain/tasks[?delay=ms]        non-idempotent create: every request makes a task
//   POST|PUT|PATCH /api/idem/tasks[?delay=ms] idempotent create keyed by Idempotency-Key
//   GET  /api/idem/tasks, /api/plain/tasks  list the tasks
//   ANY  /api/echo[?delay=ms]               describes the request it got
//   ANY  /api/slow?ms=N                     answers after N ms (default 1000)
//   ANY  /api/stream?chunks=N[&ms=M][&cut=1] N chunks, M ms apart; cut=1 kills the
//                                           connection after the chunks (a body that fails mid-way)
//   POST /__control/faults                  queue faults (JSON array, see Fault below)
//   GET  /__control/log                     { requests, tasks: { plain, idem }, keys }
//   POST /__control/reset                   forget everything, fault queue included
//   GET  /__control/events                  SSE: one JSON request record per message,
//                                           `phase` "received" then "answered"; { phase: "reset" } on reset
//
// Per-request faults without state: header
//   x-fault: status=503; retry-after=2; retry-after-date=1500; replayed; drop; delay=100; body=text
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { pathToFileURL } from "node:url";

const BODY_TEXT_LIMIT = 4096;

const CONTENT_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".ts": "text/plain; charset=utf-8", // served for source maps to read, never executed
  ".tsx": "text/plain; charset=utf-8",
  ".d.ts": "text/plain; charset=utf-8",
};

const CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
  "access-control-allow-headers": "Idempotency-Key, x-fault, content-type, X-Idem, *",
  "access-control-expose-headers": "Idempotent-Replayed, Retry-After",
  "access-control-max-age": "600",
};

/**
 * A fault to inject.
 * @typedef {object} Fault
 * @property {string} [path]       prefix of the pathname it applies to (default: every /api request);
 *                                 a path with "?" is a prefix of pathname + "?" + query instead
 * @property {number} [status]     answer this status instead of doing the work
 * @property {string} [retryAfter] Retry-After header value
 * @property {number} [retryAfterDate] Retry-After as an HTTP-date this many ms after the answer,
 *                                 rounded up to the next whole second (HTTP-dates have no ms), so
 *                                 the wait a client computes is in [ms, ms + 1000)
 * @property {boolean} [replayed]  add `Idempotent-Replayed: true`
 * @property {number} [delayMs]    wait first; alone, the work is then done as usual
 * @property {boolean} [drop]      destroy the socket without any response
 * @property {string} [body]       response body of a status fault
 * @property {number} [times]      how many requests it applies to (default 1)
 */

/** Parses the stateless `x-fault` header: `status=503; retry-after=2; replayed; drop; delay=100`. */
export function parseFaultHeader(value) {
  if (!value) return null;
  const fault = {};
  for (const part of String(value).split(";")) {
    const [rawName, ...rest] = part.split("=");
    const name = rawName.trim().toLowerCase();
    const v = rest.join("=").trim();
    if (!name) continue;
    if (name === "status") fault.status = Number(v);
    else if (name === "retry-after") fault.retryAfter = v;
    else if (name === "retry-after-date") fault.retryAfterDate = Number(v);
    else if (name === "replayed") fault.replayed = true;
    else if (name === "drop") fault.drop = true;
    else if (name === "delay") fault.delayMs = Number(v);
    else if (name === "body") fault.body = v;
  }
  if (fault.status !== undefined && !(Number.isInteger(fault.status) && fault.status >= 200 && fault.status <= 599)) {
    throw new Error(`x-fault: status must be 200-599, got ${value}`);
  }
  for (const n of ["delayMs", "retryAfterDate"]) {
    if (fault[n] !== undefined && !(Number.isFinite(fault[n]) && fault[n] >= 0)) throw new Error(`x-fault: bad number in ${value}`);
  }
  return fault;
}

function normaliseFault(f) {
  if (typeof f !== "object" || f === null || Array.isArray(f)) throw new Error("a fault must be an object");
  const out = { path: typeof f.path === "string" ? f.path : "/api/", times: f.times === undefined ? 1 : Number(f.times) };
  if (!Number.isInteger(out.times) || out.times < 1) throw new Error("fault.times must be a positive integer");
  if (f.status !== undefined) {
    if (!Number.isInteger(f.status) || f.status < 200 || f.status > 599) throw new Error("fault.status must be 200-599");
    out.status = f.status;
  }
  if (f.retryAfter !== undefined) out.retryAfter = String(f.retryAfter);
  if (f.retryAfterDate !== undefined) {
    if (!Number.isFinite(f.retryAfterDate) || f.retryAfterDate < 0) throw new Error("fault.retryAfterDate must be a number of ms >= 0");
    out.retryAfterDate = f.retryAfterDate;
  }
  if (f.replayed) out.replayed = true;
  if (f.delayMs !== undefined) out.delayMs = Number(f.delayMs);
  if (f.drop) out.drop = true;
  if (f.body !== undefined) out.body = String(f.body);
  return out;
}

function freshState() {
  return {
    seq: 0,
    taskSeq: 0,
    requests: [],
    tasks: { plain: [], idem: [] },
    keys: {},
    /** Idempotency records of /api/idem: key -> { fingerprint, done, status, headers, body }. */
    idem: new Map(),
    faults: [],
  };
}

/**
 * Starts the reference server.
 * @param {{ port?: number, host?: string, staticRoots?: { prefix: string, dir: string }[], headers?: Record<string, string>, keepAlive?: boolean }} [options]
 *   `headers` are added to static responses (e.g. a strict Content-Security-Policy).
 *   `keepAlive` (default false): Chromium silently resends a request, even a
 *   POST, when a *reused* keep-alive connection closes before any answer. A
 *   `drop` fault on a reused connection would then never reach the caller and
 *   the server would see the request twice. So by default every response
 *   closes its connection: each request arrives on a fresh one and a drop is a
 *   network error for `fetch`, deterministically. Records say `reusedConnection`.
 * @returns {Promise<{ url: string, port: number, close(): Promise<void>, reset(): void }>}
 */
export async function startServer({ port = 0, host = "127.0.0.1", staticRoots = [], headers = {}, keepAlive = false } = {}) {
  let state = freshState();
  const timers = new Set();
  const sseClients = new Set();
  let closed = false;
  // Longest prefix first, so `/node_modules/oncefetch/` wins over `/`.
  const roots = staticRoots
    .map(({ prefix, dir }) => ({ prefix: prefix.endsWith("/") ? prefix : `${prefix}/`, dir: path.resolve(dir) }))
    .sort((a, b) => b.prefix.length - a.prefix.length);

  /** A timer the server can cancel on close, so a closed server never keeps a process alive. */
  function sleep(ms) {
    return new Promise((resolve) => {
      const t = setTimeout(() => { timers.delete(t); resolve(); }, Math.max(0, ms));
      timers.add(t);
    });
  }

  function broadcast(record) {
    const line = `data: ${JSON.stringify(record)}\n\n`;
    for (const res of sseClients) if (!res.destroyed && !res.writableEnded) res.write(line);
  }

  function reset() {
    state = freshState();
    broadcast({ phase: "reset" });
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      // A bug here must show as a 500, never as a hung request.
      if (!res.headersSent && !res.destroyed) send(res, 500, { error: String(err?.message ?? err) });
      else res.destroy();
    });
  });

  async function handle(req, res) {
    const rawPath = req.url.split("?")[0];
    const url = new URL(req.url, "http://localhost");
    req.socket.requestCount = (req.socket.requestCount ?? 0) + 1;
    if (!keepAlive) res.setHeader("connection", "close");
    for (const [k, v] of Object.entries(CORS)) res.setHeader(k, v);
    if (req.method === "OPTIONS") {
      res.writeHead(204).end();
      return;
    }
    if (url.pathname.startsWith("/api/")) return api(req, res, url);
    if (url.pathname.startsWith("/__control/")) return control(req, res, url);
    return serveStatic(req, res, rawPath);
  }

  // ------------------------------------------------------------- /__control

  async function control(req, res, url) {
    const route = `${req.method} ${url.pathname}`;
    if (route === "GET /__control/log") {
      const { requests, tasks, keys } = state;
      return send(res, 200, { requests, tasks, keys });
    }
    if (route === "POST /__control/reset") {
      reset();
      return send(res, 200, { ok: true });
    }
    if (route === "POST /__control/faults") {
      let list;
      try {
        list = JSON.parse((await readBody(req)).toString("utf8") || "[]");
        if (!Array.isArray(list)) list = [list];
        list = list.map(normaliseFault);
      } catch (err) {
        return send(res, 400, { error: String(err.message) });
      }
      state.faults.push(...list);
      return send(res, 200, { queued: state.faults.length });
    }
    if (route === "GET /__control/faults") return send(res, 200, { faults: state.faults });
    if (route === "GET /__control/events") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
      res.write(": oncefetch reference server events\n\n");
      sseClients.add(res);
      res.on("close", () => sseClients.delete(res));
      return;
    }
    return send(res, 404, { error: `no control route ${route}` });
  }

  // ------------------------------------------------------------- /api

  async function api(req, res, url) {
    const st = state; // a reset during this request must not mix old and new state
    const received = Date.now();
    const body = await readBody(req).catch(() => null);
    if (body === null) return; // the client went away mid-upload
    const key = headerValue(req.headers["idempotency-key"]);
    const record = {
      seq: ++st.seq,
      method: req.method,
      path: url.pathname,
      query: url.search.slice(1),
      key,
      headers: { ...req.headers },
      bodyLength: body.length,
      bodySha256: sha256(body),
      body: body.length <= BODY_TEXT_LIMIT ? body.toString("utf8") : null,
      fault: null,
      reusedConnection: req.socket.requestCount > 1,
      status: null,
      at: received,
      doneAt: null,
    };
    st.requests.push(record);
    if (key !== null) st.keys[key] = (st.keys[key] ?? 0) + 1;

    // The fault queue first (FIFO, first matching entry), then the stateless header.
    let fault = null;
    const i = st.faults.findIndex((f) => (f.path.includes("?") ? `${url.pathname}${url.search || "?"}` : url.pathname).startsWith(f.path));
    if (i >= 0) {
      const f = st.faults[i];
      if (--f.times <= 0) st.faults.splice(i, 1);
      const { times, ...applied } = f;
      fault = applied;
    } else {
      try {
        fault = parseFaultHeader(headerValue(req.headers["x-fault"]));
      } catch (err) {
        return answer(st, record, res, 400, { error: err.message });
      }
    }
    record.fault = fault;
    broadcast({ ...record, phase: "received" });

    if (fault?.delayMs) await sleep(fault.delayMs);
    if (fault?.drop) {
      record.status = 0; // no answer at all
      record.doneAt = Date.now();
      broadcast({ ...record, phase: "answered" });
      req.socket.destroy();
      return;
    }
    if (fault?.status !== undefined) {
      const h = {};
      if (fault.retryAfter !== undefined) h["retry-after"] = fault.retryAfter;
      if (fault.retryAfterDate !== undefined) h["retry-after"] = new Date(Math.ceil((Date.now() + fault.retryAfterDate) / 1000) * 1000).toUTCString();
      if (fault.replayed) h["idempotent-replayed"] = "true";
      if (fault.body !== undefined) {
        h["content-type"] = looksLikeJson(fault.body) ? "application/json" : "text/plain; charset=utf-8";
        return answer(st, record, res, fault.status, fault.body, h);
      }
      return answer(st, record, res, fault.status, { error: "injected fault", status: fault.status }, h);
    }

    const delay = (name, fallback = 0) => {
      const n = Number(url.searchParams.get(name) ?? fallback);
      return Number.isFinite(n) && n > 0 ? Math.min(n, 120_000) : 0;
    };

    switch (url.pathname) {
      case "/api/plain/tasks": {
        if (req.method === "GET") return answer(st, record, res, 200, st.tasks.plain);
        if (req.method !== "POST") return answer(st, record, res, 405, { error: "method not allowed" }, { allow: "GET, POST" });
        await sleep(delay("delay"));
        const task = createTask(st, "plain", key, body);
        return answer(st, record, res, 201, { id: task.id, created: true });
      }
      case "/api/idem/tasks":
        return idempotentCreate(st, record, req, res, key, body, delay("delay"));
      case "/api/echo":
        await sleep(delay("delay"));
        return answer(st, record, res, 200, {
          method: req.method,
          key,
          contentType: req.headers["content-type"] ?? null,
          body: body.toString("utf8"),
          bodyLength: body.length,
          bodySha256: record.bodySha256,
        });
      case "/api/slow": {
        const ms = delay("ms", 1000);
        await sleep(ms);
        return answer(st, record, res, 200, { slow: true, ms });
      }
      case "/api/stream":
        return stream(st, record, res, url);
      default:
        return answer(st, record, res, 404, { error: `no route ${url.pathname}` });
    }
  }

  /**
   * Stripe / IETF-draft semantics: the key is claimed before the work starts,
   * so a duplicate arriving while the work runs is told 409 instead of doing
   * it twice; the finished answer is stored and replayed for that key.
   */
  async function idempotentCreate(st, record, req, res, key, body, delayMs) {
    if (req.method === "GET") return answer(st, record, res, 200, st.tasks.idem);
    if (!["POST", "PUT", "PATCH"].includes(req.method)) {
      return answer(st, record, res, 405, { error: "method not allowed" }, { allow: "GET, POST, PUT, PATCH" });
    }
    if (key === null) {
      await sleep(delayMs);
      const task = createTask(st, "idem", null, body);
      return answer(st, record, res, 201, { id: task.id, created: true });
    }
    // The raw bytes decide, as on servers that hash the body as received.
    const fingerprint = `${req.method} ${record.path} ${record.bodySha256}`;
    const prior = st.idem.get(key);
    if (prior) {
      if (prior.fingerprint !== fingerprint) return answer(st, record, res, 422, { error: "key reused with a different payload" });
      if (!prior.done) return answer(st, record, res, 409, { error: "request in progress" }, { "retry-after": "1" });
      return answer(st, record, res, prior.status, prior.body, { ...prior.headers, "idempotent-replayed": "true" });
    }
    const claim = { fingerprint, done: false };
    st.idem.set(key, claim);
    await sleep(delayMs);
    const task = createTask(st, "idem", key, body);
    Object.assign(claim, {
      done: true,
      status: 201,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: task.id, created: true }),
    });
    // The effect happened even if the client is gone; the stored answer is what a retry gets.
    return answer(st, record, res, claim.status, claim.body, claim.headers);
  }

  async function stream(st, record, res, url) {
    const chunks = Math.min(Math.max(Number(url.searchParams.get("chunks") ?? 5) || 0, 0), 1000);
    const every = Math.min(Math.max(Number(url.searchParams.get("ms") ?? 200) || 0, 0), 10_000);
    const cut = url.searchParams.get("cut") === "1";
    record.status = 200;
    const parts = Array.from({ length: chunks }, (_, i) => `chunk ${i + 1}/${chunks}\n`);
    const h = { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" };
    // A cut body promises more bytes than it sends: every client must see a
    // truncated body (with `connection: close`, some take a cut chunked body
    // for a normal end delimited by the close).
    if (cut) h["content-length"] = Buffer.byteLength(parts.join("") + "never sent\n");
    res.writeHead(200, h);
    for (const part of parts) {
      if (res.destroyed || closed) return;
      res.write(part);
      await sleep(every);
    }
    record.doneAt = Date.now();
    broadcast({ ...record, phase: "answered" });
    // Killing the socket before the terminating chunk makes the body fail mid-way.
    if (cut) res.destroy();
    else res.end();
  }

  function createTask(st, kind, key, body) {
    const n = st.tasks[kind].length + 1;
    const task = { id: `task_${++st.taskSeq}`, n, key, body: body.toString("utf8") };
    st.tasks[kind].push(task);
    return task;
  }

  function answer(st, record, res, status, payload, extraHeaders = {}) {
    record.status = status;
    record.doneAt = Date.now();
    broadcast({ ...record, phase: "answered" });
    if (res.destroyed) return; // the client left; the record still says what it would have got
    send(res, status, payload, extraHeaders);
  }

  // ------------------------------------------------------------- static files

  function serveStatic(req, res, rawPath) {
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, { error: "method not allowed" }, { allow: "GET, HEAD" });
    let decoded;
    try {
      decoded = decodeURIComponent(rawPath);
    } catch {
      return send(res, 400, { error: "bad path encoding" });
    }
    // Refuse anything that could climb out of a root, before any normalisation hides it.
    if (decoded.includes("\0") || decoded.split(/[\\/]/).includes("..")) return send(res, 403, { error: "path traversal refused" });
    const root = roots.find((r) => decoded.startsWith(r.prefix) || `${decoded}/` === r.prefix);
    if (!root) return send(res, 404, { error: "not found" });
    let file = path.join(root.dir, decoded.slice(root.prefix.length));
    if (file !== root.dir && !file.startsWith(root.dir + path.sep)) return send(res, 403, { error: "path traversal refused" });
    let stat;
    try {
      stat = fs.statSync(file);
      if (stat.isDirectory()) {
        if (!decoded.endsWith("/")) {
          res.writeHead(301, { location: `${rawPath}/` }).end();
          return;
        }
        file = path.join(file, "index.html");
        stat = fs.statSync(file);
      }
    } catch {
      return send(res, 404, { error: "not found" }, headers);
    }
    if (!stat.isFile()) return send(res, 404, { error: "not found" }, headers);
    const type = CONTENT_TYPES[file.endsWith(".d.ts") ? ".d.ts" : path.extname(file).toLowerCase()] ?? "application/octet-stream";
    res.writeHead(200, {
      "content-type": type,
      "content-length": stat.size,
      "cache-control": "no-store", // a rebuilt dist/ is what the next page load gets
      ...headers,
    });
    if (req.method === "HEAD") return res.end();
    fs.createReadStream(file).on("error", () => res.destroy()).pipe(res);
  }

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const actualPort = server.address().port;
  const shownHost = host.includes(":") ? `[${host}]` : host;

  return {
    url: `http://${shownHost}:${actualPort}/`,
    port: actualPort,
    reset,
    close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets, SSE streams and requests still waiting on a delay.
        server.closeAllConnections();
      });
    },
  };
}

// ------------------------------------------------------------- helpers

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on("data", (c) => parts.push(c));
    req.on("end", () => resolve(Buffer.concat(parts)));
    req.on("error", reject);
    req.on("aborted", () => reject(new Error("aborted")));
  });
}

function headerValue(v) {
  if (v === undefined) return null;
  return Array.isArray(v) ? v.join(", ") : v;
}

function sha256(buf) {
  return crypto.createHash("sha256").update(buf).digest("hex");
}

function looksLikeJson(s) {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

function send(res, status, payload, extraHeaders = {}) {
  if (res.destroyed) return;
  const isText = typeof payload === "string" || Buffer.isBuffer(payload);
  const body = isText ? payload : JSON.stringify(payload);
  const h = { "cache-control": "no-store", ...extraHeaders };
  if (!Object.keys(h).some((k) => k.toLowerCase() === "content-type")) {
    h["content-type"] = isText ? "text/plain; charset=utf-8" : "application/json";
  }
  // 204/304 must not carry a body.
  if (status === 204 || status === 304) return res.writeHead(status, h).end();
  h["content-length"] = Buffer.byteLength(body);
  res.writeHead(status, h).end(body);
}

// ------------------------------------------------------------- CLI

function parseArgs(argv) {
  const opts = { port: 5174, host: "127.0.0.1", staticRoots: [], headers: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === "--port") opts.port = Number(next());
    else if (arg === "--keep-alive") opts.keepAlive = true;
    else if (arg === "--host") opts.host = next();
    else if (arg === "--static") {
      // PREFIX=DIR, e.g. /node_modules/oncefetch/=.
      const v = next();
      const at = v.indexOf("=");
      if (at < 1) throw new Error(`--static wants PREFIX=DIR, got ${v}`);
      opts.staticRoots.push({ prefix: v.slice(0, at), dir: v.slice(at + 1) || "." });
    } else if (arg === "--header") {
      const v = next();
      const at = v.indexOf(":");
      if (at < 1) throw new Error(`--header wants "Name: value", got ${v}`);
      opts.headers[v.slice(0, at).trim()] = v.slice(at + 1).trim();
    } else if (arg === "--help" || arg === "-h") {
      console.log("usage: node server/reference.mjs [--port 5174] [--host 127.0.0.1] [--static PREFIX=DIR]... [--header 'Name: value']... [--keep-alive]");
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  return opts;
}

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`reference server: ${err.message}`);
    process.exit(2);
  }
  const s = await startServer(opts);
  console.log(`oncefetch reference server: ${s.url}`);
  const stop = () => s.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
