// The reference server's view of the world: what /__control/log reports,
// polled while the page is open, plus the control calls the demo makes.
const EMPTY = { requests: [], tasks: { plain: [], idem: [] }, keys: {} };

let snapshot = EMPTY;
const listeners = new Set();
let timer;
let inflight = false;
let wanted = false;

async function refresh() {
  if (inflight) {
    wanted = true; // one more poll as soon as this one is back
    return;
  }
  inflight = true;
  try {
    const res = await fetch("/__control/log", { cache: "no-store" });
    if (res.ok) {
      const next = await res.json();
      if (JSON.stringify(next) !== JSON.stringify(snapshot)) {
        snapshot = next;
        for (const l of listeners) l();
      }
    }
  } catch {
    // The server is restarting or the page is unloading; the next poll retries.
  } finally {
    inflight = false;
    if (wanted) {
      wanted = false;
      void refresh();
    }
  }
}

export const serverLog = {
  subscribe(listener) {
    listeners.add(listener);
    if (listeners.size === 1) {
      void refresh();
      timer = setInterval(refresh, 250);
    }
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) clearInterval(timer);
    };
  },
  get: () => snapshot,
  refresh,
};

/** Queues faults on the server for the next matching requests. */
export async function injectFaults(list) {
  const res = await fetch("/__control/faults", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(list),
  });
  if (!res.ok) throw new Error(`could not queue faults: ${res.status}`);
}

/** Forgets every task, request and queued fault on the server. */
export async function resetServer() {
  await fetch("/__control/reset", { method: "POST" });
  await refresh();
}

export const PLAIN_TASKS = "/api/plain/tasks";
export const IDEM_TASKS = "/api/idem/tasks";
