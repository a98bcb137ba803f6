/** Create a secret: name, provider, key/value pairs (hidden) and an optional auth config. */
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { ErrorNotice, Field, PageTitle, useAction } from "../components.js";
import { href, navigate } from "../router.js";
import { PROVIDERS } from "./providers.js";
import {
  AuthConfigField,
  PairsEditor,
  newPair,
  pairsToValue,
  parseAuthConfig,
  type Pair,
} from "./values.js";

export function NewSecretPage() {
  const [name, setName] = useState("");
  const [provider, setProvider] = useState("");
  const [pairs, setPairs] = useState<Pair[]>(() => [newPair("api_key")]);
  const [authConfig, setAuthConfig] = useState("");
  const [problem, setProblem] = useState<string | undefined>();
  const action = useAction();

  const submit = (event: Event) => {
    event.preventDefault();
    const value = pairsToValue(pairs);
    const config = parseAuthConfig(authConfig);
    if (name.trim() === "") return setProblem("Give the secret a name.");
    if ("error" in value) return setProblem(value.error);
    if ("error" in config) return setProblem(`Auth config: ${config.error}`);
    setProblem(undefined);
    void action.run(async () => {
      const { secret } = await api.createSecret({
        secret_name: name.trim(),
        secret_value: value.value,
        ...(provider.trim() ? { provider: provider.trim() } : {}),
        ...(config.config ? { auth_config: config.config } : {}),
      });
      // The typed values are dropped with this page; only the new secret's id travels on.
      setPairs([newPair("api_key")]);
      navigate({ page: "secret", secretId: secret.secret_id });
    });
  };

  return (
    <section>
      <p class="crumbs">
        <a href={href({ page: "secrets" })}>Secrets</a>
      </p>
      <PageTitle title="New secret">New secret</PageTitle>
      <form class="card form" onSubmit={submit} autocomplete="off">
        {problem && (
          <p class="notice notice-error" role="alert">
            {problem}
          </p>
        )}
        <ErrorNotice error={action.error} />
        <Field label="Name" name="secret_name" required value={name} onValue={setName} />
        <Field
          label="Provider"
          name="provider"
          list="new-secret-providers"
          hint="Optional, e.g. openai or anthropic."
          value={provider}
          onValue={setProvider}
        />
        <datalist id="new-secret-providers">
          {PROVIDERS.map((p) => (
            <option key={p} value={p} />
          ))}
        </datalist>
        <PairsEditor pairs={pairs} onPairs={setPairs} />
        <AuthConfigField text={authConfig} onText={setAuthConfig} />
        <div class="actions">
          <button type="submit" disabled={action.busy}>
            {action.busy ? "Creating…" : "Create secret"}
          </button>
          <a class="button secondary" href={href({ page: "secrets" })}>
            Cancel
          </a>
        </div>
      </form>
    </section>
  );
}
