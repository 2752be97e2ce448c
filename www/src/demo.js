// What the demo's buttons do, outside React so that Strict Mode's double
// render and double effects cannot repeat them. Both sides send the same
// bytes; only the oncefetch side has keys, coalescing and retries.
import { client } from "./client.js";
import { IDEM_TASKS, PLAIN_TASKS, injectFaults } from "./server.js";

const JSON_HEADERS = { "content-type": "application/json" };
const SLOW = { "x-fault": "delay=3000" }; // the reference server's per-request fault: answer after 3 s
// A 3-second job on the server: the idempotent route claims the key first, so a
// duplicate arriving meanwhile is told 409 "in progress" (and retried).
const SLOW_JOB = "?delay=3000";
const DRAFT_KEY = "oncefetch-demo:draft";
const RESUME_KEY = "oncefetch-demo:resume";

const TITLES = [
  "Transcode test.mp4",
  "Publish the Q3 report",
  "Invite the design team",
  "Back up the photo library",
  "Renew the TLS certificate",
  "Send the March invoices",
];

/** The default title of draft `n`. */
export function titleFor(n) {
  return TITLES[(n - 1) % TITLES.length];
}

/** The current draft: one logical "create task" action; kept across reloads. */
export function loadDraft() {
  const n = Number(localStorage.getItem(DRAFT_KEY));
  return Number.isInteger(n) && n > 0 ? n : 1;
}

export function saveDraft(n) {
  localStorage.setItem(DRAFT_KEY, String(n));
}

/** The oncefetch action of a draft. */
export const actionOf = (draft) => `create-task:${draft}`;

/** A small external store of the latest outcomes, one entry per scenario. */
const outcomes = new Map();
let outcomesSnapshot = {};
const outcomeListeners = new Set();
function publish(name, value) {
  outcomes.set(name, value);
  outcomesSnapshot = Object.fromEntries(outcomes);
  for (const l of outcomeListeners) l();
}
export const outcomeStore = {
  subscribe(l) {
    outcomeListeners.add(l);
    return () => outcomeListeners.delete(l);
  },
  get: () => outcomesSnapshot,
  clear() {
    outcomes.clear();
    outcomesSnapshot = {};
    for (const l of outcomeListeners) l();
  },
};

/** What plain fetch gave back: a status, or the network error. */
function plainOutcome(p) {
  return p.then(
    (res) => ({ status: res.status }),
    (err) => ({ error: err.message || String(err) }),
  );
}

/** What oncefetch gave back, with `client.info` of the response. */
function onceOutcome(p) {
  return p.then(
    (res) => ({ status: res.status, info: client.info(res) }),
    (err) => ({ error: err.message || String(err) }),
  );
}

/**
 * The main button: like a Strict Mode double effect plus a double click, each
 * side sends the same POST three times at once. Faults, if armed, are queued
 * on the server first (for both routes alike).
 */
export async function createTask({ draft, title, faults = {} }) {
  const queued = [];
  if (faults.drop) queued.push({ path: PLAIN_TASKS, drop: true }, { path: IDEM_TASKS, drop: true });
  if (faults.e503) queued.push({ path: PLAIN_TASKS, status: 503, times: 2 }, { path: IDEM_TASKS, status: 503, times: 2 });
  if (queued.length) await injectFaults(queued);
  const headers = { ...JSON_HEADERS, ...(faults.slow ? SLOW : {}) };
  const body = JSON.stringify({ kind: "create", draft, title });
  publish("create", { draft, pending: true });
  const [plain, once] = await Promise.all([
    Promise.all([1, 2, 3].map(() => plainOutcome(fetch(PLAIN_TASKS, { method: "POST", headers, body })))),
    Promise.all([1, 2, 3].map(() => onceOutcome(client.fetch(IDEM_TASKS, { method: "POST", headers, body, action: actionOf(draft) })))),
  ]);
  publish("create", { draft, plain, once });
}

/**
 * Starts a slow create on both sides, notes the intent, and reloads the page
 * while the server is still working. After the reload `resumeAfterReload`
 * submits again, as a user would: oncefetch finds its key in localStorage.
 */
export function reloadMidFlight({ draft, title }) {
  const body = JSON.stringify({ kind: "create", draft, title });
  localStorage.setItem(RESUME_KEY, JSON.stringify({ draft, title, at: Date.now() }));
  publish("reload", { draft, pending: true, reloading: true });
  void fetch(PLAIN_TASKS + SLOW_JOB, { method: "POST", headers: JSON_HEADERS, body }).catch(() => {});
  void client.fetch(IDEM_TASKS + SLOW_JOB, { method: "POST", headers: JSON_HEADERS, body, action: actionOf(draft) }).catch(() => {});
  // Reload as soon as the server has both requests, well before the 3-second job ends.
  void arrived(body).then(() => location.reload());
}

/** Resolves once the server has received `body` on both routes (or after 2.5 s). */
async function arrived(body) {
  const end = Date.now() + 2500;
  while (Date.now() < end) {
    try {
      const { requests } = await (await fetch("/__control/log", { cache: "no-store" })).json();
      const seen = (route) => requests.some((r) => r.path === route && r.body === body);
      if (seen(PLAIN_TASKS) && seen(IDEM_TASKS)) return;
    } catch {
      // try again
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** After a "reload mid-flight": submit the same request again on both sides, as a user would. */
export async function resumeAfterReload() {
  let saved;
  try {
    saved = JSON.parse(localStorage.getItem(RESUME_KEY) ?? "null");
  } catch {
    saved = null;
  }
  if (!saved || typeof saved.draft !== "number") return;
  const { draft, title } = saved;
  const body = JSON.stringify({ kind: "create", draft, title });
  publish("reload", { draft, pending: true, resumed: true });
  const [plain, once] = await Promise.all([
    plainOutcome(fetch(PLAIN_TASKS + SLOW_JOB, { method: "POST", headers: JSON_HEADERS, body })),
    onceOutcome(client.fetch(IDEM_TASKS + SLOW_JOB, { method: "POST", headers: JSON_HEADERS, body, action: actionOf(draft) })),
  ]);
  // Done (or given up): a further reload must not submit it a third time.
  localStorage.removeItem(RESUME_KEY);
  publish("reload", { draft, resumed: true, plain, once });
}

/** Forgets the demo's own state (not oncefetch's: the caller clears the client). */
export function forgetDemoState() {
  localStorage.removeItem(RESUME_KEY);
  localStorage.removeItem(DRAFT_KEY);
  outcomeStore.clear();
}

export { JSON_HEADERS };
