/**
 * oncefetch/react: a provider and two hooks over an oncefetch client.
 *
 * The hooks hold no logic of their own worth testing apart: every action's
 * promise and result live in a store kept per client (a WeakMap keyed by the
 * client, then a Map keyed by action), read with `useSyncExternalStore`. So a
 * Strict Mode double mount, two components using the same action, or a double
 * click all see one run of the action — component state would give each mount
 * its own copy and run it twice.
 */
import { createContext, useCallback, useContext, useEffect, useLayoutEffect, useMemo, useRef, useSyncExternalStore } from "react";
import type { ReactElement, ReactNode } from "react";
import type { FetchInfo, OnceFetchClient, OnceFetchInit } from "./index.js";

/** Where a {@link useIdempotentAction} action stands. */
export type ActionStatus = "idle" | "pending" | "success" | "error";

/** The client's fetch with the action already set: what an action's `request` receives. */
export type BoundFetch = (input: RequestInfo | URL, init?: Omit<OnceFetchInit, "action">) => Promise<Response>;

/** Options of `run()`. */
export interface RunOptions {
  /** Start a new run with a new key even after success: the explicit "do it again". @default false */
  fresh?: boolean;
}

/** The settled-or-not state of one action, shared by every component using it. */
export interface ActionSnapshot<T> {
  /** "idle" before the first run, then "pending", then "success" or "error". */
  status: ActionStatus;
  /** What `request` resolved with, once successful. */
  data: T | undefined;
  /** What `request` rejected with, after an error. */
  error: unknown;
  /** `client.info` of the response: the one `request` resolved with, else the last one the bound fetch returned. */
  info: FetchInfo | undefined;
}

/** What {@link useIdempotentAction} returns. */
export interface IdempotentAction<T> extends ActionSnapshot<T> {
  /**
   * Runs the action once: while pending it joins the running request (the same
   * promise); after success it returns the settled result and sends nothing;
   * after an error it tries again. `{ fresh: true }` runs it again with a new
   * key (while pending it still joins, so a double click on "again" is one run).
   * Stable across renders.
   */
  run: (options?: RunOptions) => Promise<T>;
}

/** Props of {@link OnceFetchProvider}. */
export interface OnceFetchProviderProps {
  /** The client every hook below uses (create it once, outside render). */
  client: OnceFetchClient;
  children?: ReactNode;
}

const ClientContext = createContext<OnceFetchClient | null>(null);

/** Makes `client` available to {@link useOnceFetch} and {@link useIdempotentAction} below it. */
export function OnceFetchProvider({ client, children }: OnceFetchProviderProps): ReactElement {
  return <ClientContext.Provider value={client}>{children}</ClientContext.Provider>;
}

function useClient(hook: string): OnceFetchClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error(`oncefetch: ${hook}() must be used inside <OnceFetchProvider client={…}>`);
  return client;
}

/** The provider's `client.fetch`: the same function on every render. Throws outside an `OnceFetchProvider`. */
export function useOnceFetch(): OnceFetchClient["fetch"] {
  return useClient("useOnceFetch").fetch;
}

// ------------------------------------------------------------------ the store

type ActionRequest<T> = (fetch: BoundFetch) => Promise<T>;

const IDLE: ActionSnapshot<never> = Object.freeze({ status: "idle", data: undefined, error: undefined, info: undefined });

/** Settled actions kept per client; older ones nobody watches are forgotten first. */
const MAX_KEPT = 500;

/** One action of one client: its current run and who is watching it. */
class ActionEntry<T> {
  snapshot: ActionSnapshot<T> = IDLE;
  promise: Promise<T> | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly client: OnceFetchClient, readonly action: string) {}

  get watched(): boolean {
    return this.listeners.size > 0;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  getSnapshot = (): ActionSnapshot<T> => this.snapshot;

  /** Joins, returns or starts a run; `request` is the caller's, used only when a run starts. Runs never overlap. */
  run(request: ActionRequest<T>, options?: RunOptions): Promise<T> {
    const { status } = this.snapshot;
    if (status === "pending" && this.promise) return this.promise;
    if (status === "success" && this.promise && !options?.fresh) return this.promise;
    return this.start(request, options?.fresh === true);
  }

  private start(request: ActionRequest<T>, fresh: boolean): Promise<T> {
    const { client, action } = this;
    let last: Response | undefined;
    let calls = 0;
    const bound: BoundFetch = (input, init) => {
      // A request may send several requests (create, then pay): each is its own
      // logical action, numbered in order, so a run after an error resends each
      // one with its own stored key instead of one overwriting the other's.
      const n = calls++;
      const extra: OnceFetchInit = { action: n === 0 ? action : `${action}#${n}` };
      if (fresh) extra.fresh = true;
      return client.fetch(input, { ...init, ...extra }).then((res) => {
        last = res;
        return res;
      });
    };
    const infoOf = (value: unknown): FetchInfo | undefined =>
      (value instanceof Response ? client.info(value) : undefined) ?? (last ? client.info(last) : undefined);

    let promise: Promise<T>;
    try {
      promise = Promise.resolve(request(bound));
    } catch (e) {
      promise = Promise.reject(e);
    }
    // Callers get the request's own outcome; the store records it on the side.
    const settled = promise.then(
      (data) => {
        this.set({ status: "success", data, error: undefined, info: infoOf(data) });
        return data;
      },
      (error: unknown) => {
        this.set({ status: "error", data: undefined, error, info: infoOf(undefined) });
        throw error;
      },
    );
    // A run nobody awaits (a click handler ignoring the promise) must not report an unhandled rejection: the hook shows it.
    settled.catch(() => {});
    this.promise = settled;
    this.set({ status: "pending", data: undefined, error: undefined, info: undefined });
    return settled;
  }

  private set(snapshot: ActionSnapshot<T>): void {
    this.snapshot = snapshot;
    for (const l of [...this.listeners]) l();
  }
}

const stores = new WeakMap<OnceFetchClient, Map<string, ActionEntry<unknown>>>();

function entryFor<T>(client: OnceFetchClient, action: string): ActionEntry<T> {
  let actions = stores.get(client);
  if (!actions) stores.set(client, (actions = new Map()));
  let entry = actions.get(action);
  if (entry) {
    // Map order doubles as recency for the bound below.
    actions.delete(action);
  } else {
    entry = new ActionEntry<unknown>(client, action);
    if (actions.size >= MAX_KEPT) {
      for (const [name, old] of actions) {
        if (actions.size < MAX_KEPT) break;
        if (!old.watched && old.snapshot.status !== "pending") actions.delete(name);
      }
    }
  }
  actions.set(action, entry);
  return entry as ActionEntry<T>;
}

const useIsomorphicLayoutEffect = typeof window === "undefined" ? useEffect : useLayoutEffect;

/**
 * One logical action, run at most once: `run()` starts it (it never runs on
 * its own), `request` receives the client's fetch already bound to `action`.
 * The state is shared by every component of the same client and action, and
 * survives Strict Mode's double mount.
 */
export function useIdempotentAction<T>(action: string, request: (fetch: BoundFetch) => Promise<T>): IdempotentAction<T> {
  const client = useClient("useIdempotentAction");
  if (typeof action !== "string" || action === "") throw new TypeError("oncefetch: useIdempotentAction `action` must be a non-empty string");
  const entry = useMemo(() => entryFor<T>(client, action), [client, action]);
  // `run` stays stable while still using the latest `request` closure.
  const latest = useRef(request);
  useIsomorphicLayoutEffect(() => {
    latest.current = request;
  });
  const snapshot = useSyncExternalStore(entry.subscribe, entry.getSnapshot, entry.getSnapshot);
  const run = useCallback((options?: RunOptions) => entry.run((f) => latest.current(f), options), [entry]);
  return useMemo(() => ({ ...snapshot, run }), [snapshot, run]);
}
