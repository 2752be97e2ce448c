// The control bar: one logical "create task" action (a draft), the faults to
// inject into it, and the reload-mid-flight experiment.
import { useRef, useState, useSyncExternalStore } from "react";
import { client } from "./client.js";
import { createTask, reloadMidFlight, outcomeStore, titleFor, loadDraft, saveDraft, actionOf, forgetDemoState } from "./demo.js";
import { resetServer } from "./server.js";
import { eventStore } from "./client.js";
import { KeyChip } from "./ui.jsx";

const FAULTS = [
  { id: "drop", label: "Drop the connection", hint: "the first request of each route dies without an answer", testid: "fault-drop" },
  { id: "e503", label: "503 twice", hint: "the first two requests of each route get 503", testid: "fault-503" },
  { id: "slow", label: "Slow job · 3 s", hint: "the server takes 3 seconds to create the task", testid: "fault-slow" },
];

export function Scenarios({ onReset }) {
  const [draft, setDraft] = useState(loadDraft);
  const [title, setTitle] = useState(() => titleFor(loadDraft()));
  const [armed, setArmed] = useState({});
  // Read synchronously by click handlers: a double click must not queue the faults twice.
  const armedRef = useRef(armed);
  const outcomes = useSyncExternalStore(outcomeStore.subscribe, outcomeStore.get);

  const toggle = (id) => {
    const next = { ...armedRef.current, [id]: !armedRef.current[id] };
    armedRef.current = next;
    setArmed(next);
  };

  const create = () => {
    const faults = armedRef.current;
    armedRef.current = {};
    setArmed({});
    void createTask({ draft, title, faults });
  };

  const newDraft = () => {
    const next = draft + 1;
    saveDraft(next);
    setDraft(next);
    setTitle(titleFor(next));
    return next;
  };

  const reload = () => {
    const next = newDraft();
    reloadMidFlight({ draft: next, title: titleFor(next) });
  };

  const reset = async () => {
    await Promise.all([resetServer(), client.clear()]);
    forgetDemoState();
    eventStore.clear();
    armedRef.current = {};
    setArmed({});
    setDraft(1);
    setTitle(titleFor(1));
    onReset();
  };

  const reloadOutcome = outcomes.reload;
  return (
    <section className="bar" aria-label="Try it">
      <div className="bar-main">
        <label className="field">
          <span className="field-label">
            Task <span className="draft">draft #{draft}</span>
            <code className="action" title="the oncefetch action of this draft">action: {actionOf(draft)}</code>
          </span>
          <input data-testid="title" value={title} onChange={(e) => setTitle(e.target.value)} />
        </label>
        <button className="btn btn-primary" data-testid="create" onClick={create}>
          Create task
        </button>
        <button className="btn btn-ghost" data-testid="new-task" onClick={newDraft} title="Start a new draft: a new logical action">
          New task
        </button>
      </div>
      <p className="bar-hint">
        One click sends the same POST <b>three times at once</b> on each side — what React Strict Mode's double effect plus an
        impatient double click do to real apps. Click again: plain fetch creates more, oncefetch replays the same task until you
        start a <b>New task</b>.
      </p>
      <div className="bar-faults">
        <span className="bar-faults-label">Inject into the next create:</span>
        {FAULTS.map((f) => (
          <button
            key={f.id}
            className={`chip ${armed[f.id] ? "chip-on" : ""}`}
            aria-pressed={!!armed[f.id]}
            data-testid={f.testid}
            title={f.hint}
            onClick={() => toggle(f.id)}
          >
            {f.label}
          </button>
        ))}
        <span className="bar-sep" />
        <button className="chip chip-reload" data-testid="reload-midflight" onClick={reload} title="Start a slow create, then reload the page while the server works">
          ↻ Reload mid-flight
        </button>
        <button className="chip chip-reset" data-testid="reset" onClick={reset}>
          Reset
        </button>
      </div>
      {reloadOutcome && <ReloadBanner outcome={reloadOutcome} />}
    </section>
  );
}

function ReloadBanner({ outcome }) {
  let text;
  if (outcome.reloading) text = <>Slow create sent on both sides — reloading the page while the server works…</>;
  else if (outcome.pending) text = <>Page reloaded mid-flight. Submitting draft #{outcome.draft} again on both sides…</>;
  else {
    const info = outcome.once.info;
    text = (
      <>
        Resumed after the reload: oncefetch re-sent {info?.fromStorage ? "the stored" : "a"} key <KeyChip value={info?.key} />
        {info?.fromStorage ? " from localStorage" : ""} ({info?.attempts ?? 0} attempt{info?.attempts === 1 ? "" : "s"}
        {info?.replayed ? ", the server replayed the task" : ""}); plain fetch sent a second, unkeyed POST.
      </>
    );
  }
  return (
    <div className="banner" data-testid="resume-status" data-state={outcome.once ? "done" : "pending"}>
      {text}
    </div>
  );
}
