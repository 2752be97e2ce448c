/**
 * One request per action across the tabs of an origin (SPEC B14).
 *
 * The browser's Web Locks serialise an action across tabs: the tab holding the
 * lock (the leader) sends; a tab that finds it taken (a follower) announces
 * itself and waits for the lock. Before releasing the lock, a leader with
 * followers posts its final answer over BroadcastChannel, and the follower
 * answers its callers with it. A follower that gets the lock without an answer
 * (the leader's tab closed, the body was too large, a message was lost) runs
 * the action itself: the key is read from storage inside the lock, so it sends
 * the same key and the server replays.
 *
 * Locks are taken only once another tab with oncefetch has been seen on the
 * channel, so a lone tab pays nothing for this.
 */

/** Largest response body handed to other tabs; bigger ones are re-fetched there (the server replays). */
export const CROSS_TAB_MAX_BYTES = 1024 * 1024;

/** How long a tab that got the lock waits for the leader's answer still in transit. */
const RESULT_GRACE_MS = 150;

/** The final answer of an action, as posted to other tabs. */
export interface TabResult {
  status: number;
  statusText: string;
  headers: [string, string][];
  url: string;
  body: ArrayBuffer;
  key: string | null;
  replayed: boolean;
  attempts: number;
}

type Message =
  | { type: "hello" | "here" }
  | { type: "wait"; name: string }
  | { type: "result"; name: string; result: TabResult };

/** What a leader's flight needs to know: whether other tabs wait for it. */
export interface Led {
  remoteWaiters: boolean;
}

/** The page's one cross-tab channel (see {@link crossTabs}). */
export interface Tabs {
  /** Another tab running oncefetch has been seen: actions are worth a lock. */
  readonly hasPeers: boolean;
  /**
   * Runs `lead` in this tab, or waits for the tab already running `name`.
   * Resolves with this tab's own answer, or with the other tab's `TabResult`.
   */
  single(name: string, signal: AbortSignal | undefined, lead: (led: Led) => Promise<Response>, onWait: () => void): Promise<Response | TabResult>;
  /** Posts a leader's final answer to the tabs waiting for `name`. */
  publish(name: string, result: TabResult): void;
}

let shared: Tabs | null | undefined;

/**
 * The page's one instance (shared by its clients, so making clients never
 * leaks channels); `null` where Web Locks or BroadcastChannel are missing:
 * callers then run alone.
 */
export function crossTabs(): Tabs | null {
  if (shared !== undefined) return shared;
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  shared = null;
  if (!locks || typeof BroadcastChannel === "undefined") return shared;
  try {
    shared = open(new BroadcastChannel("oncefetch:1"));
  } catch {
    // e.g. an opaque origin: tabs rely on the shared key alone
  }
  return shared;
}

function open(channel: BroadcastChannel): Tabs {
  let peers = false;
  const leading = new Map<string, Led>();
  /**
   * Waits announced for actions this tab is not (yet) seen leading: the lock
   * is granted before its callback runs, so a follower's "wait" can arrive
   * first. The leader picks it up when its callback starts.
   */
  const early = new Set<string>();
  const waiting = new Map<string, (r: TabResult) => void>();

  const post = (m: Message): void => {
    try { channel.postMessage(m); } catch { /* a closed channel: other tabs fall back to the key */ }
  };

  const runLeading = async (name: string, lead: (led: Led) => Promise<Response>): Promise<Response> => {
    const led: Led = { remoteWaiters: early.delete(name) };
    leading.set(name, led);
    try {
      return await lead(led);
    } finally {
      leading.delete(name);
      early.delete(name);
    }
  };

  channel.onmessage = (ev: MessageEvent<Message>) => {
    const m = ev.data;
    if (m.type === "hello") { peers = true; post({ type: "here" }); }
    else if (m.type === "here") peers = true;
    else if (m.type === "wait") {
      peers = true;
      const led = leading.get(m.name);
      if (led) led.remoteWaiters = true;
      else {
        if (early.size >= 1000) early.clear(); // waits for actions led elsewhere: bounded
        early.add(m.name);
      }
    }
    else if (m.type === "result") waiting.get(m.name)?.(m.result);
  };
  post({ type: "hello" });

  return {
    get hasPeers() {
      return peers;
    },

    async single(name, signal, lead, onWait) {
      if (!peers) return runLeading(name, lead);
      let received: TabResult | undefined;
      let arrived: (() => void) | undefined;
      // Listen before asking for the lock: the leader may answer at any moment.
      waiting.set(name, (r) => { received = r; arrived?.(); });
      try {
        const locks = navigator.locks;
        const mine = await locks.request(name, { ifAvailable: true }, async (lock) =>
          lock ? { res: await runLeading(name, lead) } : null);
        if (mine) return mine.res;
        onWait();
        post({ type: "wait", name });
        return await locks.request(name, { signal }, async () => {
          if (!received) {
            // The leader posts its answer before releasing the lock, but the two
            // travel separately: the lock may come first. Give the answer a moment.
            await new Promise<void>((resolve) => {
              arrived = resolve;
              setTimeout(resolve, RESULT_GRACE_MS);
            });
          }
          return received ?? runLeading(name, lead);
        });
      } finally {
        waiting.delete(name);
      }
    },

    publish(name, result) {
      if (result.body.byteLength <= CROSS_TAB_MAX_BYTES) post({ type: "result", name, result });
    },
  };
}
