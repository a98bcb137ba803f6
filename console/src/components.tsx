/** Small building blocks shared by the pages: labelled fields, notices, paging, loading. */
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useId, useLayoutEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api.js";

/** A message for any failure, with the wait for 429. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 429) {
      const wait = error.retryAfter ?? 60;
      return `Too many failed attempts. Try again in ${wait} second${wait === 1 ? "" : "s"}.`;
    }
    return error.message;
  }
  if (error instanceof TypeError) return "The server could not be reached.";
  return error instanceof Error ? error.message : String(error);
}

/** An error, announced to screen readers as it appears. */
export function ErrorNotice({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  return (
    <p class="notice notice-error" role="alert">
      {describeError(error)}
    </p>
  );
}

/** A success or information message. */
export function Notice({ children }: { children: ComponentChildren }) {
  if (children === undefined || children === null || children === "") return null;
  return (
    <p class="notice notice-info" role="status">
      {children}
    </p>
  );
}

/** The input attributes the pages use. */
interface InputProps {
  type?: "text" | "password" | "search" | "datetime-local";
  name?: string;
  autocomplete?: string;
  autocapitalize?: "none" | "off";
  spellcheck?: boolean;
  required?: boolean;
  minLength?: number;
  list?: string;
  autoFocus?: boolean;
}

/** A text input with a visible label (and an optional hint or error tied to it). */
export function Field(
  props: {
    label: string;
    value: string;
    onValue: (value: string) => void;
    hint?: string;
    error?: string | undefined;
  } & InputProps,
) {
  const { label, value, onValue, hint, error, ...input } = props;
  const id = useId();
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].join(" ").trim();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        value={value}
        onInput={(e) => onValue(e.currentTarget.value)}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={described || undefined}
        // Preact's per-type input unions reject a `type` chosen at run time; these are all valid.
        {...(input as object)}
      />
      {hint && (
        <span class="hint" id={`${id}-hint`}>
          {hint}
        </span>
      )}
      {error && (
        <span class="field-error" id={`${id}-error`}>
          {error}
        </span>
      )}
    </div>
  );
}

/** A select with a visible label. */
export function SelectField(props: {
  label: string;
  value: string;
  onValue: (value: string) => void;
  options: readonly (string | readonly [value: string, label: string])[];
  name?: string;
}) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select
        id={id}
        name={props.name}
        value={props.value}
        onChange={(e) => props.onValue(e.currentTarget.value)}
      >
        {props.options.map((option) => {
          const [value, text] = typeof option === "string" ? [option, option] : option;
          return (
            <option key={value} value={value}>
              {text}
            </option>
          );
        })}
      </select>
    </div>
  );
}

/** A multi-line input with a visible label. */
export function TextAreaField(props: {
  label: string;
  value: string;
  onValue: (value: string) => void;
  hint?: string;
  error?: string | undefined;
  rows?: number;
  name?: string;
}) {
  const id = useId();
  const described = [props.hint ? `${id}-hint` : "", props.error ? `${id}-error` : ""]
    .join(" ")
    .trim();
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <textarea
        id={id}
        name={props.name}
        rows={props.rows ?? 4}
        value={props.value}
        spellcheck={false}
        onInput={(e) => props.onValue(e.currentTarget.value)}
        aria-invalid={props.error ? "true" : undefined}
        aria-describedby={described || undefined}
      />
      {props.hint && (
        <span class="hint" id={`${id}-hint`}>
          {props.hint}
        </span>
      )}
      {props.error && (
        <span class="field-error" id={`${id}-error`}>
          {props.error}
        </span>
      )}
    </div>
  );
}

/** The page heading, focused when the page opens so keyboard and screen-reader users start there. */
export function PageTitle({ children, title }: { children: ComponentChildren; title: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  // Before the browser paints, so that keys typed right away already start from the heading.
  useLayoutEffect(() => {
    document.title = `${title} · mlflow-secrets`;
    ref.current?.focus();
  }, [title]);
  return (
    <h1 tabIndex={-1} ref={ref}>
      {children}
    </h1>
  );
}

interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Loads with `load` whenever `deps` change; `reload` runs it again. Late answers are dropped. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({
    loading: true,
  });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => current && setState({ data, loading: false }),
      (error: unknown) => current && setState({ error, loading: false }),
    );
    return () => {
      current = false;
    };
    // The caller names the inputs in `deps`; `load` itself is a new closure every render.
  }, [...deps, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** Runs an action, remembering whether it is running and how it failed. */
export function useAction(): {
  busy: boolean;
  error: unknown;
  run: (action: () => Promise<void>) => Promise<void>;
  clear: () => void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const run = useCallback(async (action: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: () => setError(undefined) };
}

/**
 * Previous / next over an API's page tokens. A new `key` (the filters) starts again at page 1 in
 * the same render, so no request goes out with a token of other filters.
 */
export function usePages(key: string): {
  token: string | undefined;
  page: number;
  next: (token: string) => void;
  previous: () => void;
} {
  const [state, setState] = useState<{ key: string; stack: (string | undefined)[] }>({
    key,
    stack: [undefined],
  });
  const stack = state.key === key ? state.stack : [undefined];
  return {
    token: stack[stack.length - 1],
    page: stack.length,
    next: (token) => setState({ key, stack: [...stack, token] }),
    previous: () => setState({ key, stack: stack.length > 1 ? stack.slice(0, -1) : stack }),
  };
}

export function Pager(props: {
  label: string;
  page: number;
  hasNext: boolean;
  onPrevious: () => void;
  onNext: () => void;
}) {
  return (
    <nav class="pager" aria-label={props.label}>
      <button type="button" disabled={props.page <= 1} onClick={props.onPrevious}>
        Previous page
      </button>
      <span aria-live="polite">Page {props.page}</span>
      <button type="button" disabled={!props.hasNext} onClick={props.onNext}>
        Next page
      </button>
    </nav>
  );
}

/** Epoch ms as a local date and time. */
function formatTime(ms: number | undefined): string {
  if (ms === undefined) return "—";
  return new Date(ms).toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** A `<time>` element for an epoch-ms instant. */
export function Time({ ms }: { ms: number | undefined }) {
  if (ms === undefined) return <span>—</span>;
  return <time dateTime={new Date(ms).toISOString()}>{formatTime(ms)}</time>;
}

/** A button that copies text to the clipboard and says so. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (state === "idle") return;
    const timer = setTimeout(() => setState("idle"), 2000);
    return () => clearTimeout(timer);
  }, [state]);
  return (
    <button
      type="button"
      class="secondary"
      aria-label={label}
      onClick={() => {
        navigator.clipboard.writeText(text).then(
          () => setState("copied"),
          () => setState("failed"),
        );
      }}
    >
      {state === "copied" ? "Copied" : state === "failed" ? "Copy failed" : "Copy"}
    </button>
  );
}

/**
 * Marks (once per page load, with the User Timing API) the moment a page became usable, so the
 * load time can be measured in the browser: `performance.getEntriesByName(name)`.
 */
export function useReadyMark(name: string, ready: boolean): void {
  useEffect(() => {
    if (ready && performance.getEntriesByName(name, "mark").length === 0) performance.mark(name);
  }, [name, ready]);
}
