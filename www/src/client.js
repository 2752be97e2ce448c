import { createClient } from "oncefetch";

/**
 * The demo's one client. A settled action keeps its key for 5 minutes (the
 * default is 10 s) so that clicking "Create task" again on the same draft is
 * visibly one task, however late the second click comes; "New task" starts a
 * new draft, i.e. a new logical action.
 */
export const client = createClient({
  scope: "demo",
  settleWindowMs: 5 * 60_000,
  retry: { attempts: 6, baseMs: 200 },
});

/** Every oncefetch event since the page loaded, newest last (a small external store). */
const events = [];
let eventsSnapshot = [];
const eventListeners = new Set();
const started = performance.now();

client.on((e) => {
  events.push({ ...e, id: events.length + 1, t: Math.round(performance.now() - started) });
  if (events.length > 200) events.splice(0, events.length - 200);
  eventsSnapshot = events.slice();
  for (const l of eventListeners) l();
});

export const eventStore = {
  subscribe(listener) {
    eventListeners.add(listener);
    return () => eventListeners.delete(listener);
  },
  get: () => eventsSnapshot,
  clear() {
    events.length = 0;
    eventsSnapshot = [];
    for (const l of eventListeners) l();
  },
};

if (typeof window !== "undefined") window.oncefetchClient = client; // for the console and the e2e tests
