/**
 * oncefetch: a drop-in `fetch` where one logical user action causes exactly one
 * server-side effect.
 *
 * This facade validates input at the JS boundary, loads the WebAssembly engine
 * lazily, and performs the I/O the engine asks for: it sends, waits, and hands
 * each caller its own `Response`. Identity, keys, storage and every retry
 * decision live in the engine (`src/`).
 */
import { load, Engine, RetryPolicy, type Sink } from "./engine.js";
import { crossTabs, type Led, type TabResult } from "./tabs.js";
import { retryAfterMs } from "./retry-after.js";

/** Retry settings; a partial object is merged over the defaults. */
export interface RetryOptions {
  /** Requests in total, the first included. @default 4 */
  attempts?: number;
  /** Backoff base: the first retry waits a random 0..baseMs (full jitter), doubling per retry. @default 300 */
  baseMs?: number;
  /** Largest backoff delay. @default 10000 */
  maxMs?: number;
  /** Largest wait a `Retry-After` header may impose (it is honoured up to this, regardless of maxMs). @default 60000 */
  maxRetryAfterMs?: number;
  /** Statuses retried with the same key (network errors always are). @default [408, 409, 425, 429, 500, 502, 503, 504] */
  statuses?: number[];
}

/** Options of {@link createClient}. Every field is optional. */
export interface ClientOptions {
  /** Namespace of keys (e.g. the user id): keys of one scope are never sent for another. @default "default" */
  scope?: string;
  /** Header carrying the key; must be an RFC 9110 token. @default "Idempotency-Key" */
  headerName?: string;
  /** "token" sends the bare UUID; "structured" sends the RFC 8941 quoted string of the IETF draft. @default "token" */
  keyFormat?: "token" | "structured";
  /** Methods that get a key. @default ["POST", "PATCH"] */
  keyedMethods?: string[];
  /** How long a pending key is kept (and re-sent after a reload). @default 86400000 (24 h) */
  keyTtlMs?: number;
  /** How long a settled key is reused by an identical action (the server replays). @default 10000 */
  settleWindowMs?: number;
  /** Most stored keys per scope; the oldest go first. @default 1000 */
  maxEntries?: number;
  /** Retry settings, or `false` for no retries. @default { attempts: 4, baseMs: 300, maxMs: 10000, maxRetryAfterMs: 60000, statuses: [408, 409, 425, 429, 500, 502, 503, 504] } */
  retry?: RetryOptions | false;
  /** Where keys persist: "local" (localStorage, falling back to memory on any fault) or "memory". @default "local" */
  storage?: "local" | "memory";
  /** The underlying fetch, called as a plain function. It gets the call's input and
   * an init of its own, the key header added to `init.headers`: a plain object or a
   * `Headers` (a caller's plain object of string headers usually stays one); read
   * them with `new Headers(init.headers)`. @default globalThis.fetch */
  fetch?: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
  /** Whether a response is a server replay; replays are final even when 5xx. @default reads `Idempotent-Replayed: true` */
  isReplayed?: (response: Response) => boolean;
  /** Log `[IDEMP] …` lines to the console. @default false */
  debug?: boolean;
  /** One request per action across the tabs of this origin (Web Locks + BroadcastChannel). @default true */
  crossTab?: boolean;
  /** While `navigator.onLine` is false, wait for the `online` event instead of spending attempts (bounded by keyTtlMs). @default true */
  waitOnline?: boolean;
}

/** `fetch`'s `RequestInit` plus the per-call fields of oncefetch. */
export interface OnceFetchInit extends RequestInit {
  /** The logical action; without it, the action is derived from method, URL and body bytes. */
  action?: string;
  /** Mint a new key, skip coalescing and replace the stored entry: the explicit "do it again". @default false */
  fresh?: boolean;
  /** Retry settings for this call, merged over the client's, or `false`. */
  retry?: RetryOptions | false;
  /** Scope for this call. @default the client's scope */
  scope?: string;
}

/** What oncefetch did for one response: `client.info(response)`. */
export interface FetchInfo {
  /** The idempotency key sent, or null for unkeyed methods. */
  key: string | null;
  /** The action: the given one, or "METHOD url" when derived. */
  action: string;
  /** Requests sent for this action (1 + retries). */
  attempts: number;
  /** This caller joined a request already in flight. */
  coalesced: boolean;
  /** The server marked the response as a replay. */
  replayed: boolean;
  /** The key came from storage (an earlier try, another tab, or before a reload). */
  fromStorage: boolean;
  /** The body was a ReadableStream: sent once, never coalesced nor retried. */
  stream: boolean;
}

/** Event types of {@link OnceFetchClient.on}. */
export type OnceFetchEventType =
  | "check" | "miss" | "hit" | "store" | "coalesced" | "retry"
  | "settled" | "released" | "conflict" | "storage-fallback"
  | "cross-tab-wait" | "cross-tab-result" | "offline-wait";

/** One event. Keys are cut to their first 8 characters. */
export interface OnceFetchEvent {
  type: OnceFetchEventType;
  action: string;
  key: string;
  attempt: number;
  status: number;
  delayMs: number;
  /** For "storage-fallback": the fault met. */
  reason?: string;
}

/** A client made by {@link createClient}. */
export interface OnceFetchClient {
  /** `fetch`, with one server-side effect per logical action. */
  fetch(input: RequestInfo | URL, init?: OnceFetchInit): Promise<Response>;
  /** What oncefetch did for a response it returned; undefined for others. */
  info(response: Response): FetchInfo | undefined;
  /** The action's key, created and persisted if absent (for body-carried ids). */
  keyFor(action: string, options?: { scope?: string }): Promise<string>;
  /** Forgets the action's key: the next call is a new action. */
  release(action: string, options?: { scope?: string }): Promise<void>;
  /** Drops every key of this client's scope (logout). */
  clear(): Promise<void>;
  /** Subscribes to events; returns the unsubscribe function. */
  on(listener: (event: OnceFetchEvent) => void): () => void;
  /** The resolved options. */
  readonly options: Readonly<ResolvedOptions>;
  /** Actions in flight right now (0 when idle: nothing is leaked). */
  readonly inflight: number;
}

/** Options with every default applied. */
export interface ResolvedOptions {
  scope: string;
  headerName: string;
  keyFormat: "token" | "structured";
  keyedMethods: string[];
  keyTtlMs: number;
  settleWindowMs: number;
  maxEntries: number;
  retry: Required<RetryOptions> | false;
  storage: "local" | "memory";
  fetch: ((input: RequestInfo | URL, init?: RequestInit) => Promise<Response>) | undefined;
  isReplayed: ((response: Response) => boolean) | undefined;
  debug: boolean;
  crossTab: boolean;
  waitOnline: boolean;
}

const RETRY_DEFAULTS: Required<RetryOptions> = Object.freeze({
  attempts: 4,
  baseMs: 300,
  maxMs: 10_000,
  maxRetryAfterMs: 60_000,
  statuses: Object.freeze([408, 409, 425, 429, 500, 502, 503, 504]) as number[],
});

const DEFAULTS: ResolvedOptions = Object.freeze({
  scope: "default",
  headerName: "Idempotency-Key",
  keyFormat: "token",
  keyedMethods: Object.freeze(["POST", "PATCH"]) as string[],
  keyTtlMs: 86_400_000, // 24 h
  settleWindowMs: 10_000,
  maxEntries: 1000,
  retry: RETRY_DEFAULTS,
  storage: "local",
  fetch: undefined,
  isReplayed: undefined,
  debug: false,
  crossTab: true,
  waitOnline: true,
} as ResolvedOptions);

/** Methods that may be resent without a key (RFC 9110 idempotent methods). */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const NETWORK_ERROR = -1;
/** `Engine.admin` operations (the `OP_*` constants of src/client.rs). */
const enum OP { keyFor, release, clear, observe, unobserve }

// ---------------------------------------------------------------- validation

function fail(field: string, what: string): never {
  throw new TypeError(`oncefetch: \`${field}\` ${what}`);
}
/** The TypeError for a value of the wrong kind: "must be `what`, got `v`". */
function mustBe(field: string, what: string, v: unknown): never {
  fail(field, `must be ${what}, got ${describe(v)}`);
}
/** `v`, if `typeof v` is `type`; a TypeError naming `field` otherwise. */
function typed<T>(field: string, v: unknown, type: "string" | "boolean" | "function"): T {
  if (typeof v !== type) mustBe(field, `a ${type}`, v);
  return v as T;
}
/** An `action`: a non-empty string. */
function checkAction(v: unknown): asserts v is string {
  if (typeof v !== "string" || v === "") mustBe("action", "a non-empty string", v);
}
function num(field: string, v: unknown, min: number, integer = false): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    mustBe(field, `a finite ${integer ? "integer" : "number"} >= ${min}`, v);
  }
  return v;
}
function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v === null || typeof v !== "object") return String(v);
  return Array.isArray(v) ? "an array" : "an object";
}
function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function resolveRetry(field: string, v: unknown, base: Required<RetryOptions>): Required<RetryOptions> | false {
  if (v === false) return false;
  if (!isPlainObject(v)) mustBe(field, "an object or false", v);
  const out: Record<string, unknown> = { ...base };
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    const name = `${field}.${k}`;
    switch (k) {
      case "attempts": out[k] = num(name, x, 1, true); break;
      case "baseMs": case "maxMs": case "maxRetryAfterMs": out[k] = num(name, x, 0); break;
      case "statuses":
        if (!Array.isArray(x) || !x.every((s) => Number.isInteger(s) && s >= 100 && s <= 599)) {
          fail(name, "must be an array of HTTP status codes (100-599)");
        }
        out[k] = [...x];
        break;
      default: fail(name, "is not a retry option (attempts, baseMs, maxMs, maxRetryAfterMs, statuses)");
    }
  }
  return out as Required<RetryOptions>;
}

function resolveOptions(options: unknown): ResolvedOptions {
  if (options === undefined || options === null) return DEFAULTS; // frozen, as every resolved set
  if (!isPlainObject(options)) mustBe("options", "an object", options);
  const o: Record<string, unknown> = { ...DEFAULTS };
  for (const [k, v] of Object.entries(options)) {
    if (!Object.hasOwn(DEFAULTS, k)) fail(k, `is not an option of createClient (${Object.keys(DEFAULTS).join(", ")})`);
    if (v !== undefined) o[k] = option(k, v);
  }
  return Object.freeze(o) as unknown as ResolvedOptions;
}

/** The value of option `k` (one of DEFAULTS' keys), validated and normalised. */
function option(k: string, v: unknown): unknown {
  switch (k) {
    case "scope": return typed(k, v, "string");
    case "headerName":
      if (typeof v !== "string" || !TOKEN.test(v)) fail(k, "must be an RFC 9110 token (letters, digits and !#$%&'*+-.^_`|~)");
      return v;
    case "keyFormat":
      if (v !== "token" && v !== "structured") mustBe(k, `"token" or "structured"`, v);
      return v;
    case "keyedMethods":
      if (!Array.isArray(v) || !v.every((m) => typeof m === "string" && TOKEN.test(m))) fail(k, "must be an array of HTTP method names");
      return v.map((m: string) => m.toUpperCase());
    case "keyTtlMs":
      // Bounded so that expiresAt stays a whole number of at most 16 digits in storage.
      if (num(k, v, 1) > 1e13) fail(k, "must be at most 1e13 ms (about 300 years)");
      return v;
    case "settleWindowMs": return num(k, v, 0);
    case "maxEntries": return num(k, v, 1, true);
    case "retry": return resolveRetry(k, v, RETRY_DEFAULTS);
    case "storage":
      if (v !== "local" && v !== "memory") mustBe(k, `"local" or "memory"`, v);
      return v;
    case "fetch": case "isReplayed": return typed(k, v, "function");
    default: return typed(k, v, "boolean"); // debug, crossTab, waitOnline
  }
}

// ---------------------------------------------------------------- wasm loading

/** What a caller is rejected with: Errors and DOMExceptions as they are, anything else wrapped. */
function asError(x: unknown): unknown {
  return x instanceof Error || x instanceof DOMException ? x : toError(x, "oncefetch");
}

function toError(e: unknown, context: string): Error {
  return e instanceof Error ? e : new Error(`${context}: ${show(e)}`, { cause: e });
}

/** `String(x)`, which never throws (it does for a null-prototype object, or a throwing `toString`). */
function show(x: unknown): string {
  try {
    return String(x);
  } catch {
    return "a value that cannot be converted to a string";
  }
}

function abortError(signal: AbortSignal): unknown {
  const r = signal.reason;
  return r instanceof DOMException && r.name === "AbortError" ? r : r ?? new DOMException("This operation was aborted", "AbortError");
}

/** The engine's policy; `false` is one attempt with the usual statuses, so an
 * answer that would have been retried still keeps its key pending (SPEC B6). */
function policyOf(r: Required<RetryOptions> | false, base: Required<RetryOptions>): RetryPolicy {
  const p = r === false ? { ...base, attempts: 1 } : r;
  return new RetryPolicy(p.attempts, p.baseMs, p.maxMs, p.maxRetryAfterMs, p.statuses);
}

// ---------------------------------------------------------------- bodies

const encoder = /* @__PURE__ */ new TextEncoder();

/** What identifies a body: its exact bytes (string bodies are hashed as UTF-8 in wasm). */
interface BodyIdentity { text?: string; bytes?: Uint8Array; stream?: boolean }

/** The identity of a body that can be read without waiting; undefined for Blob and FormData. */
function syncBodyIdentity(body: unknown): BodyIdentity | undefined {
  if (body === undefined || body === null) return {};
  if (typeof body === "string") return { text: body };
  if (body instanceof URLSearchParams) return { text: body.toString() };
  if (body instanceof ArrayBuffer) return { bytes: new Uint8Array(body) };
  if (ArrayBuffer.isView(body)) return { bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) };
  return undefined;
}

async function bodyIdentity(body: unknown): Promise<BodyIdentity> {
  if (typeof Blob !== "undefined" && body instanceof Blob) {
    return { bytes: concat([encoder.encode(`blob\0${body.type}\0`), new Uint8Array(await body.arrayBuffer())]) };
  }
  if (typeof FormData !== "undefined" && body instanceof FormData) {
    // Entries in order: names, string values, file names, types, sizes and contents.
    const parts: Uint8Array[] = [encoder.encode("form\0")];
    for (const [name, value] of body.entries()) {
      if (typeof value === "string") {
        parts.push(encoder.encode(`s\0${name}\0${value.length}\0${value}\0`));
      } else {
        parts.push(encoder.encode(`f\0${name}\0${value.name}\0${value.type}\0${value.size}\0`));
        parts.push(new Uint8Array(await value.arrayBuffer()));
      }
    }
    return { bytes: concat(parts) };
  }
  if (typeof ReadableStream !== "undefined" && body instanceof ReadableStream) return { stream: true };
  return { text: String(body) }; // what fetch itself sends for other values
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.byteLength; }
  return out;
}

/** Statuses whose Response may not carry a body. */
const NULL_BODY = new Set([204, 205, 304]);

/** A copy of `res` with `bytes` as its body: each coalesced caller reads its own. */
function copyResponse(res: Response, bytes: ArrayBuffer | null): Response {
  if (res.status === 0) return res; // opaque: nothing to read, nothing to copy
  return Object.defineProperties(newResponse(res, bytes), { redirected: { value: res.redirected }, type: { value: res.type } });
}

/** A Response with the status, headers and URL of `r` (a Response, or another tab's answer) and `bytes` as its body. */
function newResponse(r: Pick<Response, "status" | "statusText" | "url"> & { headers: HeadersInit }, bytes: ArrayBuffer | null): Response {
  const res = new Response(NULL_BODY.has(r.status) ? null : bytes, { status: r.status, statusText: r.statusText, headers: r.headers });
  return Object.defineProperty(res, "url", { value: r.url });
}

// ---------------------------------------------------------------- headers

/** A header value fetch sends unchanged or only trimmed: no control character
 * but tab (nothing it refuses), no code unit above 0xFF. */
const PLAIN_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The headers a call sends, and the caller's own key among them (what
 * `Headers.get(name)` answers). No headers, or a plain object of header
 * names and string values that fetch takes as they are — what apps pass —
 * is copied as a plain object: making a `Headers` costs ~2 µs, more than the
 * rest of a call's bookkeeping. Anything else (a `Headers`, pairs, a value
 * fetch would refuse, a key it would trim or join with another spelling)
 * goes through `Headers`, which throws fetch's TypeError at once: a bad
 * header is never sent, nor retried as a network failure. A plain object's
 * values are read once (a getter runs once, as with `new Headers(object)`).
 * `lower` is the key header's name in lower case.
 */
function sendHeaders(given: HeadersInit | undefined, lower: string): [Headers | Record<string, string>, string | undefined] {
  let h: HeadersInit | undefined = given;
  if (given === undefined) return [{}, undefined];
  if (Object.getPrototypeOf(given) === Object.prototype && Object.getOwnPropertySymbols(given).length === 0) {
    // The object's own enumerable string keys, in order: what Headers reads of it.
    const pairs = Object.keys(given).map((name) => [name, (given as Record<string, unknown>)[name]] as [string, string]);
    h = pairs;
    plain: {
      let key: string | undefined;
      for (const [name, v] of pairs) {
        if (typeof v !== "string" || !TOKEN.test(name) || !PLAIN_VALUE.test(v)) break plain;
        if (name.toLowerCase() === lower) {
          if (key !== undefined || v.trim() !== v) break plain;
          key = v;
        }
      }
      return [Object.fromEntries(pairs), key]; // own properties, "__proto__" too
    }
  }
  const made = new Headers(h);
  return [made, made.get(lower) ?? undefined];
}

/** Adds a header to what `sendHeaders` made. On a plain object it is defined
 * as an own property: an assignment would run the `__proto__` setter for a
 * header of that name (a valid token) instead of adding it. */
function addHeader(headers: Headers | Record<string, string>, name: string, value: string): void {
  if (headers instanceof Headers) headers.set(name, value);
  else Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
}

// ---------------------------------------------------------------- flights

interface Caller {
  resolve(r: Response): void;
  reject(e: unknown): void;
  coalesced: boolean;
  done: boolean;
  /** It got the flight's original Response: its abort must still stop the body. */
  ownsBody: boolean;
  /** Removes the abort listener from the caller's signal once settled. */
  detach(): void;
}

/** One network request shared by every caller of the same action. */
interface Flight {
  token: number;
  key: string | null;
  label: string;
  fromStorage: boolean;
  stream: boolean;
  attempts: number;
  /** The final answer was marked as a replay. */
  replayed: boolean;
  /** The answer came from another tab's request (SPEC B14). */
  fromOtherTab: boolean;
  /** Aborts the shared request; only made when the first caller can abort at all. */
  controller: AbortController | null;
  callers: Set<Caller>;
  /** Its keys in the in-flight maps. */
  ident: string | null;
  textKey: string | null;
  /** The text body behind `textKey` (compared, never hashed, by joiners). */
  text: string;
}

/** Creates a client. Synchronous: the wasm engine loads on first use. */
export function createClient(options?: ClientOptions): OnceFetchClient {
  const opts = resolveOptions(options);
  const listeners = new Set<(e: OnceFetchEvent) => void>();
  const infos = new WeakMap<Response, FetchInfo>();
  const inflight = new Map<string, Flight>();
  const inflightText = new Map<string, Flight>();
  /** Registers a flight for joiners; a newer flight of the same action (fresh) replaces it. */
  const track = (f: Flight) => {
    if (f.ident !== null) inflight.set(f.ident, f);
    if (f.textKey !== null) inflightText.set(f.textKey, f);
  };
  /** Ends joining: nothing joins an abandoned or finished flight. */
  const untrack = (f: Flight) => {
    if (f.ident !== null && inflight.get(f.ident) === f) inflight.delete(f.ident);
    if (f.textKey !== null && inflightText.get(f.textKey) === f) inflightText.delete(f.textKey);
  };
  let engine: Engine | undefined;
  let defaultPolicy: RetryPolicy | undefined;
  const headerLower = opts.headerName.toLowerCase();

  // Events are queued and handed to listeners after the current engine call
  // has returned: a listener may call back into the client (unsubscribe,
  // fetch) without re-entering the wasm engine mid-call.
  const queued: OnceFetchEvent[] = [];
  const dispatch = () => {
    for (const e of queued.splice(0)) {
      if (opts.debug) {
        const extra = e.reason ? ` reason=${e.reason}` : `${e.status ? ` status=${e.status}` : ""}${e.attempt ? ` attempt=${e.attempt}` : ""}${e.delayMs ? ` delayMs=${e.delayMs}` : ""}`;
        console.debug(`[IDEMP] ${e.type.toUpperCase()} action=${e.action}${e.key ? ` key=${e.key}…` : ""}${extra}`);
      }
      for (const l of listeners) {
        try { l(e); } catch (err) { queueMicrotask(() => { throw err; }); } // a listener's bug must not break a call
      }
    }
  };
  const emit: Sink = (type, action, key, attempt, status, delayMs) => {
    queued.push(type === "storage-fallback"
      ? { type, action: "", key: "", attempt, status, delayMs, reason: key }
      : { type: type as OnceFetchEventType, action, key, attempt, status, delayMs });
    if (queued.length === 1) queueMicrotask(dispatch);
  };
  const observed = () => listeners.size > 0 || opts.debug;
  // Created now, not on the first call: tabs must know of each other before
  // the same action is started in two of them at once.
  const tabs = opts.crossTab ? crossTabs() : null;
  /** The Web Lock of an action: its identity is hashes only (scope tag, action id, fingerprint). */
  const lockName = (ident: string) => `oncefetch:${ident}`;
  const emitFor = (f: Flight, type: OnceFetchEventType, status = 0) => {
    if (observed()) emit(type, f.label, f.key?.slice(0, 8) ?? "", f.attempts, status, 0);
  };
  /** The answer another tab posted, as this tab's Response. */
  const fromOtherTab = (f: Flight, r: TabResult): Response => {
    Object.assign(f, { key: r.key, replayed: r.replayed, attempts: r.attempts, fromOtherTab: true });
    emitFor(f, "cross-tab-result", r.status);
    return newResponse(r, r.body);
  };

  /** The engine, loading the wasm first; offline, the load waits for the connection (SPEC B15). */
  async function ready(signal?: AbortSignal | null, label = ""): Promise<Engine> {
    if (engine) return engine;
    for (;;) {
      try {
        await load(); // once per page; a failed load is tried again on the next call
        break;
      } catch (err) {
        if (!opts.waitOnline || !isOffline()) throw toError(err, "oncefetch: could not load its WebAssembly module");
        if (observed()) emit("offline-wait", label, "", 0, 0, 0);
        await wait(opts.keyTtlMs, signal, true);
      }
    }
    engine ??= new Engine(opts.keyTtlMs, opts.settleWindowMs, opts.maxEntries, opts.storage === "memory", emit, observed(), Date.now());
    return engine;
  }

  function sendOnce(input: RequestInfo | URL, init: RequestInit): Promise<Response> {
    // Called fresh each time so a fetch replaced after createClient (tests, polyfills) is used.
    // The option is called as a plain function: `window.fetch` called on the
    // options object rejects with "Illegal invocation".
    const custom = opts.fetch;
    return custom ? custom(input, init) : globalThis.fetch(input, init);
  }

  /** Sends until the engine says the answer is final; resolves with it. */
  async function run(e: Engine, f: Flight, policy: RetryPolicy, resendable: boolean, send: () => Promise<Response>): Promise<Response> {
    const signal = f.controller?.signal;
    let offlineBudget = opts.keyTtlMs; // time spent offline is bounded by the key's TTL (SPEC B15)
    // The first attempt is always sent (navigator.onLine can be false while the
    // server is reachable); a retry, or a resend after a failure met offline,
    // waits for the connection instead of spending an attempt.
    let waitFirst = false;
    for (let attempt = 1; ; ) {
      if ((attempt > 1 || waitFirst) && opts.waitOnline && offlineBudget > 0 && isOffline()) {
        emitFor(f, "offline-wait");
        const started = Date.now();
        await wait(offlineBudget, signal, true);
        offlineBudget -= Date.now() - started;
      }
      f.attempts = attempt;
      let res: Response | undefined;
      let err: unknown;
      let sending: Promise<Response>;
      try {
        sending = send();
      } catch (x) {
        // fetch reports a network failure by rejecting: a function that throws
        // instead (a fetch option's bug) is surfaced at once, not retried.
        throw toError(x, "oncefetch: fetch threw");
      }
      try {
        res = await sending;
      } catch (x) {
        err = x;
      }
      if (signal?.aborted) throw abortError(signal);
      // A fetch option that answers something else is a bug to surface, not a network failure to retry.
      if (res !== undefined && !isResponse(res)) throw new TypeError(`oncefetch: the \`fetch\` option resolved with ${describe(res)}, not a Response`);
      // Only a TypeError is a network failure; anything else is a bug to surface, not to retry.
      if (!res && !(err instanceof TypeError)) throw toError(err, "oncefetch: fetch failed");
      // Offline, a failure is the connection's, not the server's: it spends no
      // attempt — for requests that may be sent again at all (SPEC B6, B15).
      if (!res && resendable && opts.waitOnline && offlineBudget > 0 && isOffline()) {
        waitFirst = true;
        continue;
      }
      const replayed = res ? isReplayed(res) : false;
      const status = res ? (res.type === "opaque" || res.type === "opaqueredirect" ? 0 : res.status) : NETWORK_ERROR;
      // Retry-After only matters to a retry, and only error statuses are retried.
      const retryAfter = status >= 400 ? res?.headers.get("retry-after") : null;
      const now = Date.now();
      const delay = e.outcome(f.token, policy, attempt, status, retryAfter == null ? -1 : retryAfterMs(retryAfter, now), replayed, resendable, now, Math.random(), f.label);
      if (delay < 0) {
        f.token = -1; // a final verdict ends the flight in the engine
        f.replayed = replayed;
        if (res) return res;
        throw new TypeError(`oncefetch: network request failed after ${attempt} attempt${attempt > 1 ? "s" : ""}`, { cause: err });
      }
      res?.body?.cancel().catch(() => {}); // free the connection of an answer we drop
      attempt++;
      await wait(delay, signal);
    }
  }

  function isReplayed(res: Response): boolean {
    return opts.isReplayed ? opts.isReplayed(res) === true : res.headers.get("idempotent-replayed")?.trim().toLowerCase() === "true";
  }

  /** Hands the final answer (or error) to every caller still waiting.
   * Promise callbacks rather than an async function: no promise of its own
   * on the per-call path. */
  function deliver(f: Flight, outcome: Promise<Response>): void {
    const settle = (error: unknown, res?: Response, bytes: ArrayBuffer | null = null) => {
      untrack(f);
      try {
        // Only a flight that got no final verdict (aborted, failed here) is still open.
        if (f.token >= 0) engine?.finish(f.token);
      } catch (x) {
        error ??= x; // a broken engine must not leave callers waiting (SPEC B12)
      }
      const shared = bytes !== null;
      for (const c of f.callers) {
        if (c.done) continue;
        c.done = true;
        c.ownsBody = !shared && error === undefined;
        if (!c.ownsBody) c.detach();
        if (error !== undefined || !res) { c.reject(error); continue; }
        try {
          const r = shared ? copyResponse(res, bytes) : res;
          infos.set(r, {
            key: f.key, action: f.label, attempts: f.attempts, coalesced: c.coalesced || f.fromOtherTab,
            replayed: f.replayed, fromStorage: f.fromStorage, stream: f.stream,
          });
          c.resolve(r);
        } catch (x) {
          c.reject(x); // e.g. a Response-like from the fetch option that cannot be copied: never left pending
        }
      }
      f.callers.clear();
    };
    outcome.then((res) => {
      // Several callers: read the body once and give each its own copy.
      // One caller: it gets the original response, streaming as fetch would.
      if (f.callers.size > 1 && res.status !== 0) {
        // (The executor turns a synchronous throw of a Response-like into a rejection.)
        new Promise<ArrayBuffer>((read) => read(res.arrayBuffer()))
          // (`?? …`: a Response-like's arrayBuffer() may give nothing; the callers still need copies.)
          .then((bytes) => settle(undefined, res, bytes ?? new ArrayBuffer(0)), settle);
      } else {
        settle(undefined, res);
      }
    }, settle);
  }

  /** Adds a caller to a flight; its own signal rejects it alone (SPEC B4). */
  function join(f: Flight, coalesced: boolean, signal: AbortSignal | null | undefined): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      const onAbort = () => {
        if (!signal) return;
        if (c.done) {
          // Aborted after its Response arrived: like fetch, stop the body it is reading.
          if (c.ownsBody) f.controller?.abort(signal.reason);
          return;
        }
        c.done = true;
        f.callers.delete(c);
        c.reject(abortError(signal));
        // The shared request stops only when nobody waits for it any more, and
        // an identical call made after that starts afresh instead of joining it.
        if ([...f.callers].every((x) => x.done)) {
          untrack(f);
          f.controller?.abort(signal.reason);
        }
      };
      const c: Caller = {
        resolve, reject: (x: unknown) => reject(asError(x)), coalesced, done: false, ownsBody: false,
        detach: () => signal?.removeEventListener("abort", onAbort),
      };
      f.callers.add(c);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** A call: validated and, once the engine is loaded and the body's identity
   * can be read at once (the usual case), started synchronously — no promise
   * but the caller's own and the send's. Throws on bad input (`fetch` turns
   * that into a rejection). */
  function fetchImpl(input: RequestInfo | URL, given?: OnceFetchInit | null): Promise<Response> {
    const init: OnceFetchInit = given ?? {}; // as fetch: undefined or null is no init
    if (!isPlainObject(init as unknown)) mustBe("init", "an object", init);
    // `rest` is what fetch itself takes: our own fields are left out.
    const { action, fresh = false, retry, scope = opts.scope, ...rest } = init;
    const req = typeof Request !== "undefined" && input instanceof Request ? input : undefined;
    // As fetch: an explicit `signal` (even null) replaces a Request's own.
    const signal = "signal" in init ? init.signal : req?.signal;
    if (action !== undefined) checkAction(action);
    typed("fresh", fresh, "boolean");
    typed("scope", scope, "string");
    if (signal !== undefined && signal !== null && !(signal instanceof AbortSignal)) fail("signal", "must be an AbortSignal");
    const retryBase = opts.retry === false ? RETRY_DEFAULTS : opts.retry;
    const retryOpts = retry === undefined ? undefined : resolveRetry("retry", retry, retryBase);
    if (signal?.aborted) throw abortError(signal); // nothing is sent

    const method = (init.method ?? req?.method ?? "GET").toUpperCase();
    let url: string;
    try {
      url = req ? req.url : absoluteUrl(String(input));
    } catch {
      fail("input", `is not a valid URL: ${describe(String(input))}`);
    }
    const [headers, callerKey] = sendHeaders(init.headers ?? req?.headers, headerLower);
    const label = action ?? `${method} ${url}`;
    /** The body sent: `init.body`, or a Request's body read once. */
    let body: unknown = init.body;
    const readNow = body !== undefined || !req?.body ? syncBodyIdentity(body) : undefined;
    if (engine && readNow) return begin(engine, readNow);
    return (async () => {
      if (body === undefined && req?.body) {
        body = await req.clone().arrayBuffer(); // made replayable once
      }
      const e = engine ?? await ready(signal, label);
      if (signal?.aborted) throw abortError(signal);
      const id = syncBodyIdentity(body) ?? await bodyIdentity(body);
      if (signal?.aborted) throw abortError(signal);
      // Nothing awaits from here to the in-flight check, so identical calls
      // made in one tick are sure to meet.
      return begin(e, id);
    })().catch((x: unknown) => { throw asError(x); });

    /** Identity, coalescing and the start of a flight (SPEC B2, B3, B5). */
    function begin(e: Engine, bodyId: BodyIdentity): Promise<Response> {
      const keyed = opts.keyedMethods.includes(method) || callerKey !== undefined;

      // Stream bodies cannot be replayed: never joined.
      // A text body (or none) is looked up by its text first: joiners of a burst
      // skip the copy into wasm and the hashing. The map key holds the text's
      // length only (hashing a long string in JS costs more than comparing it
      // with the one candidate). The scope is length-prefixed; method, URL and
      // action cannot contain a newline.
      const text = bodyId.text ?? "";
      const textKey = bodyId.bytes === undefined && !bodyId.stream
        ? `${method}\n${url}\n${action ?? ""}\n${scope.length}:${scope}\n${text.length}` : null;
      let running = fresh || textKey === null ? undefined : inflightText.get(textKey);
      if (running !== undefined && running.text !== text) running = undefined;
      let ident: string | null = null;
      if (!running && !bodyId.stream) {
        ident = e.identify(scope, method, url, action, bodyId.bytes ?? bodyId.text);
        running = fresh ? undefined : inflight.get(ident);
      }
      if (running) {
        emitFor(running, "coalesced"); // its label is this call's: the same action
        return join(running, true, signal);
      }

      // Made before the flight is tracked: nothing that can throw comes between
      // tracking it and handing it to `deliver` (a joiner never meets a dead flight).
      const policy = retryOpts === undefined ? (defaultPolicy ??= policyOf(opts.retry, RETRY_DEFAULTS)) : policyOf(retryOpts, retryBase);
      const controller = signal ? new AbortController() : null;
      const f: Flight = {
        token: -1, key: null, label, fromStorage: false, stream: !!bodyId.stream, attempts: 0,
        replayed: false, fromOtherTab: false, controller, callers: new Set(), ident, textKey, text,
      };
      // `rest` is this call's own copy of the init: completed in place, not copied again.
      const sendInit: RequestInit = rest;
      sendInit.method = init.method ?? method;
      sendInit.headers = headers;
      sendInit.signal = controller?.signal;
      if (body !== undefined) sendInit.body = body as BodyInit;
      const resendable = !bodyId.stream && (keyed || IDEMPOTENT.has(method));
      const send = () => sendOnce(input, sendInit);
      track(f);
      const caller = join(f, false, signal);

      /** Finds or mints the key, writes it ahead of the send (SPEC B1, B5, B8), and sends until the answer is final. */
      const start = (led?: Led): Promise<Response> => {
        let sent: Promise<Response>;
        // Whatever throws here rejects the flight's outcome: the flight is
        // tracked, so it must reach `deliver` (never a dead flight for joiners).
        try {
          // One crossing: the key (the caller's, stored, or new; a stream body's
          // is never stored), with the token and whether it came from storage.
          const key = e.begin(ident ?? "", label, keyed, fresh, callerKey, Date.now());
          f.token = e.token;
          f.fromStorage = e.fromStorage;
          if (keyed) {
            f.key = key;
            if (callerKey === undefined) addHeader(headers, opts.headerName, opts.keyFormat === "structured" ? `"${key.replace(/[\\"]/g, "\\$&")}"` : key);
          }
          sent = run(e, f, policy, resendable, send);
        } catch (x) {
          return Promise.reject(x);
        }
        if (!led || !tabs || ident === null) return sent;
        return sent.then(async (res) => {
          if (!led.remoteWaiters || res.status === 0) return res;
          // Other tabs wait for this action: read the body once, for them and for our callers.
          const bytes = await res.arrayBuffer();
          tabs.publish(lockName(ident), {
            status: res.status, statusText: res.statusText, headers: [...res.headers], url: res.url,
            body: bytes, key: f.key, replayed: f.replayed, attempts: f.attempts,
          });
          return copyResponse(res, bytes);
        });
      };

      // Keyed actions are serialised across tabs (SPEC B14) once another tab has
      // been seen; fresh ones are new actions by definition.
      const outcome = tabs?.hasPeers && keyed && ident !== null && !fresh
        ? tabs.single(lockName(ident), f.controller?.signal, start, () => emitFor(f, "cross-tab-wait"))
            .then((r) => (r instanceof Response ? r : fromOtherTab(f, r)))
        : start();
      deliver(f, outcome);
      return caller;
    }
  }

  const client: OnceFetchClient = {
    options: opts,
    get inflight() {
      return inflight.size;
    },
    fetch(input, init) {
      // Every failure, even a synchronous one or a wasm trap, becomes a
      // rejection with an Error (SPEC B12); callers' rejections are made
      // Errors where they are rejected (`join`).
      try {
        return fetchImpl(input, init);
      } catch (x) {
        return Promise.reject(asError(x));
      }
    },
    info(response) {
      return infos.get(response);
    },
    keyFor(action, o) {
      return onAction(OP.keyFor, action, o);
    },
    async release(action, o) {
      await onAction(OP.release, action, o);
    },
    async clear() {
      (await ready()).admin(OP.clear, opts.scope, "", 0);
    },
    on(listener) {
      typed("listener", listener, "function");
      engine?.admin(OP.observe, "", "", 0); // first: if it throws, nothing was added
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
        engine?.admin(observed() ? OP.observe : OP.unobserve, "", "", 0);
      };
    },
  };

  /** keyFor or release: the action's key, created and persisted if absent, or its release. */
  async function onAction(op: OP, action: string, o: { scope?: string } | undefined): Promise<string> {
    checkAction(action);
    let scope = opts.scope;
    if (o !== undefined) {
      if (!isPlainObject(o)) mustBe("options", "an object", o);
      if (o.scope !== undefined) scope = typed("scope", o.scope, "string");
    }
    return (await ready()).admin(op, scope, action, op === OP.keyFor ? Date.now() : 0);
  }

  return client;
}

/** URLs already resolved: parsing one costs more than the rest of a call's
 * bookkeeping. An input that starts with `http://` or `https://` resolves the
 * same against any base, so it is its own key; anything else (relative, or
 * another scheme: `http:foo` resolves against an http page) is keyed with the
 * page's URL. Long inputs (data: URLs) are not kept. */
const urls = new Map<string, string>();
const ABSOLUTE_HTTP = /^https?:\/\//i;

/** `input` resolved against the page's URL, as fetch resolves it; throws a TypeError if invalid. */
function absoluteUrl(input: string): string {
  // The page URL getter is not free: read only when the input needs a base.
  const base = ABSOLUTE_HTTP.test(input) ? undefined : globalThis.location?.href;
  const id = base === undefined ? input : `${base}\n${input}`;
  let href = urls.get(id);
  if (href === undefined) {
    href = new URL(input, base).href;
    if (id.length <= 2048) {
      if (urls.size >= 256) urls.clear();
      urls.set(id, href);
    }
  }
  return href;
}

/** setTimeout fires at once past 2^31-1 ms; longer waits are clamped to that (~24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Resolves after `ms` or, with `online`, on the `online` event if sooner; rejects on abort. */
function wait(ms: number, signal: AbortSignal | null | undefined, online = false): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const done = () => { cleanup(); resolve(); };
    const onAbort = () => { cleanup(); reject(abortError(signal!)); };
    const cleanup = () => {
      clearTimeout(timer);
      if (online) globalThis.removeEventListener?.("online", done);
      signal?.removeEventListener("abort", onAbort);
    };
    const timer = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
    if (online) globalThis.addEventListener?.("online", done);
    signal?.addEventListener("abort", onAbort);
  });
}

/** A Response, also from another realm or a polyfill (what the engine reads of it). */
function isResponse(r: unknown): r is Response {
  if (r instanceof Response) return true;
  const x = r as Partial<Response> | null;
  return typeof x === "object" && x !== null && typeof x.status === "number" && typeof x.headers?.get === "function" && typeof x.arrayBuffer === "function";
}

function isOffline(): boolean {
  return (globalThis.navigator as Navigator | undefined)?.onLine === false;
}
