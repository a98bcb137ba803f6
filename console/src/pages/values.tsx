/** Editing a secret's key/value pairs (values in hidden inputs) and its auth config as JSON. */
import { useState } from "preact/hooks";
import { Field, TextAreaField } from "../components.js";

export interface Pair {
  id: number;
  key: string;
  value: string;
}

let nextPairId = 0;
export function newPair(key = ""): Pair {
  return { id: nextPairId++, key, value: "" };
}

/** The pairs as `secret_value`, or the reason they cannot be. */
export function pairsToValue(
  pairs: readonly Pair[],
): { value: Record<string, string> } | { error: string } {
  const value: Record<string, string> = {};
  for (const pair of pairs) {
    const key = pair.key.trim();
    if (key === "") return { error: "Every value needs a key." };
    if (Object.hasOwn(value, key)) return { error: `The key '${key}' appears twice.` };
    if (pair.value === "") return { error: `The value of '${key}' is empty.` };
    Object.defineProperty(value, key, { value: pair.value, enumerable: true, writable: true });
  }
  if (Object.keys(value).length === 0) return { error: "Add at least one value." };
  return { value };
}

/** Key/value rows: keys in plain text, values hidden as they are typed. */
export function PairsEditor(props: { pairs: Pair[]; onPairs: (pairs: Pair[]) => void }) {
  const { pairs, onPairs } = props;
  const change = (id: number, patch: Partial<Pair>) =>
    onPairs(pairs.map((p) => (p.id === id ? { ...p, ...patch } : p)));
  return (
    <fieldset class="pairs">
      <legend>Values</legend>
      {pairs.map((pair, i) => (
        <div class="pair" key={pair.id}>
          <Field
            label={`Key ${i + 1}`}
            name={`key-${i + 1}`}
            autocomplete="off"
            spellcheck={false}
            required
            value={pair.key}
            onValue={(key) => change(pair.id, { key })}
          />
          <Field
            label={`Value ${i + 1}`}
            name={`value-${i + 1}`}
            type="password"
            autocomplete="off"
            required
            value={pair.value}
            onValue={(value) => change(pair.id, { value })}
          />
          {pairs.length > 1 && (
            <button
              type="button"
              class="secondary"
              aria-label={`Remove value ${i + 1}`}
              onClick={() => onPairs(pairs.filter((p) => p.id !== pair.id))}
            >
              Remove
            </button>
          )}
        </div>
      ))}
      <button type="button" class="secondary" onClick={() => onPairs([...pairs, newPair()])}>
        Add another value
      </button>
    </fieldset>
  );
}

/** The auth config text as an object (empty text = none), or the reason it is not one. */
export function parseAuthConfig(
  text: string,
): { config: Record<string, unknown> | undefined } | { error: string } {
  if (text.trim() === "") return { config: undefined };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { error: `Not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { error: 'Must be a JSON object, such as {"api_base": "https://…"}.' };
  }
  return { config: parsed as Record<string, unknown> };
}

/** A JSON text area validated as it is typed. */
export function AuthConfigField(props: {
  text: string;
  onText: (text: string) => void;
  label?: string;
}) {
  const [touched, setTouched] = useState(false);
  const parsed = parseAuthConfig(props.text);
  return (
    <TextAreaField
      label={props.label ?? "Auth config (JSON, optional)"}
      name="auth_config"
      rows={5}
      hint='Non-secret settings, e.g. {"api_base": "https://api.openai.com/v1"}.'
      value={props.text}
      onValue={(text) => {
        setTouched(true);
        props.onText(text);
      }}
      error={touched && "error" in parsed ? parsed.error : undefined}
    />
  );
}
