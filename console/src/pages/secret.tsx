/**
 * One secret: its metadata, Reveal (USE; hidden again after 30 s), Update value and Edit auth
 * config (EDIT), Permissions and Delete (MANAGE). What the user may do is what the server will
 * allow: an admin has MANAGE, anyone else their explicit grant or the default permission.
 */
import { useEffect, useState } from "preact/hooks";
import {
  api,
  GRANTABLE,
  permits,
  type Grant,
  type Permission,
  type SecretInfo,
  type Session,
} from "../api.js";
import {
  CopyButton,
  ErrorNotice,
  Field,
  Notice,
  PageTitle,
  SelectField,
  Time,
  useAction,
  useLoad,
} from "../components.js";
import { href, navigate } from "../router.js";
import {
  AuthConfigField,
  PairsEditor,
  newPair,
  pairsToValue,
  parseAuthConfig,
  type Pair,
} from "./values.js";

/** How long a revealed value stays on screen. */
const REVEAL_SECONDS = 30;

async function loadSecret(session: Session, secretId: string) {
  const [{ secret }, permission] = await Promise.all([
    api.getSecret(secretId),
    myPermission(session, secretId),
  ]);
  return { secret, permission };
}

async function myPermission(session: Session, secretId: string): Promise<Permission> {
  if (session.user.is_admin) return "MANAGE";
  const { user } = await api.getUser(session.user.username);
  const grant = user.secret_permissions?.find((p) => p.secret_id === secretId);
  return grant?.permission ?? session.default_permission;
}

export function SecretPage({ session, secretId }: { session: Session; secretId: string }) {
  const loaded = useLoad(() => loadSecret(session, secretId), [secretId]);
  const [notice, setNotice] = useState<string | undefined>();

  if (loaded.data === undefined) {
    return (
      <section>
        <p class="crumbs">
          <a href={href({ page: "secrets" })}>Secrets</a>
        </p>
        <PageTitle title="Secret">Secret</PageTitle>
        <ErrorNotice error={loaded.error} />
        {loaded.loading && <p aria-busy="true">Loading…</p>}
      </section>
    );
  }
  const { secret, permission } = loaded.data;
  const changed = (message: string) => {
    setNotice(message);
    loaded.reload();
  };
  return (
    <section>
      <p class="crumbs">
        <a href={href({ page: "secrets" })}>Secrets</a>
      </p>
      <PageTitle title={secret.secret_name}>{secret.secret_name}</PageTitle>
      <Notice>{notice}</Notice>
      <Metadata secret={secret} permission={permission} />
      <Reveal secret={secret} allowed={permits(permission, "USE")} />
      {permits(permission, "EDIT") && (
        <>
          <UpdateValue secret={secret} onDone={changed} />
          <EditAuthConfig secret={secret} onDone={changed} />
        </>
      )}
      {permits(permission, "MANAGE") && (
        <>
          <Permissions secret={secret} session={session} />
          <DeleteSecret secret={secret} />
        </>
      )}
    </section>
  );
}

function Metadata({ secret, permission }: { secret: SecretInfo; permission: Permission }) {
  return (
    <section class="card" aria-labelledby="metadata-title">
      <h2 id="metadata-title">Details</h2>
      <dl class="meta">
        <dt>ID</dt>
        <dd>
          <code>{secret.secret_id}</code>
        </dd>
        <dt>Provider</dt>
        <dd>{secret.provider ?? "—"}</dd>
        <dt>Masked values</dt>
        <dd>
          <ul class="masks">
            {Object.entries(secret.masked_values).map(([key, mask]) => (
              <li key={key}>
                <span class="key">{key}</span> <code>{mask}</code>
              </li>
            ))}
          </ul>
        </dd>
        <dt>Auth config</dt>
        <dd>
          {secret.auth_config && Object.keys(secret.auth_config).length > 0 ? (
            <pre>{JSON.stringify(secret.auth_config, null, 2)}</pre>
          ) : (
            "—"
          )}
        </dd>
        <dt>KEK version</dt>
        <dd>{secret.kek_version ?? "—"}</dd>
        <dt>Created</dt>
        <dd>
          <Time ms={secret.created_at} /> by {secret.created_by ?? "—"}
        </dd>
        <dt>Last updated</dt>
        <dd>
          <Time ms={secret.last_updated_at} /> by {secret.last_updated_by ?? "—"}
        </dd>
        <dt>Workspace</dt>
        <dd>{secret.workspace}</dd>
        <dt>Your permission</dt>
        <dd>{permission}</dd>
      </dl>
    </section>
  );
}

function Reveal({ secret, allowed }: { secret: SecretInfo; allowed: boolean }) {
  const [value, setValue] = useState<Record<string, string> | undefined>();
  const [left, setLeft] = useState(0);
  const action = useAction();

  // One timer for the countdown; the value leaves the page (and the state) when it reaches 0.
  useEffect(() => {
    if (value === undefined) return;
    const hideAt = Date.now() + REVEAL_SECONDS * 1000;
    setLeft(REVEAL_SECONDS);
    const timer = setInterval(() => {
      const remaining = Math.ceil((hideAt - Date.now()) / 1000);
      if (remaining <= 0) setValue(undefined);
      else setLeft(remaining);
    }, 250);
    return () => clearInterval(timer);
  }, [value]);

  const reveal = () =>
    action.run(async () => {
      const answer = await api.revealSecret(secret.secret_id);
      setValue(answer.secret_value);
    });

  return (
    <section class="card" aria-labelledby="value-title">
      <h2 id="value-title">Value</h2>
      {!allowed && <p class="hint">Revealing the value needs USE permission on this secret.</p>}
      <ErrorNotice error={action.error} />
      {value === undefined ? (
        <button
          type="button"
          onClick={() => void reveal()}
          disabled={!allowed || action.busy}
          aria-describedby="reveal-hint"
        >
          Reveal
        </button>
      ) : (
        <div class="revealed">
          <dl class="meta">
            {Object.entries(value).map(([key, text]) => (
              <div key={key} class="revealed-row">
                <dt>{key}</dt>
                <dd>
                  <code class="secret-value">{text}</code>
                  <CopyButton text={text} label={`Copy ${key}`} />
                </dd>
              </div>
            ))}
          </dl>
          <p class="hint" role="timer" aria-live="off">
            Hidden again in {left} s.
          </p>
          <button type="button" class="secondary" onClick={() => setValue(undefined)}>
            Hide
          </button>
        </div>
      )}
      <p class="hint" id="reveal-hint">
        Every reveal is recorded in the audit log. The value is hidden again after {REVEAL_SECONDS}{" "}
        seconds.
      </p>
    </section>
  );
}

function UpdateValue({ secret, onDone }: { secret: SecretInfo; onDone: (m: string) => void }) {
  const initial = () => Object.keys(secret.masked_values).map((key) => newPair(key));
  const [pairs, setPairs] = useState<Pair[]>(initial);
  const [problem, setProblem] = useState<string | undefined>();
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    const value = pairsToValue(pairs);
    if ("error" in value) return setProblem(value.error);
    setProblem(undefined);
    void action.run(async () => {
      await api.updateSecret({ secret_id: secret.secret_id, secret_value: value.value });
      setPairs(initial());
      onDone("The value was updated and re-encrypted.");
    });
  };
  return (
    <section class="card" aria-labelledby="update-title">
      <h2 id="update-title">Update value</h2>
      <form onSubmit={submit} autocomplete="off">
        {problem && (
          <p class="notice notice-error" role="alert">
            {problem}
          </p>
        )}
        <ErrorNotice error={action.error} />
        <p class="hint">The new value replaces every key of the old one.</p>
        <PairsEditor pairs={pairs} onPairs={setPairs} />
        <button type="submit" disabled={action.busy}>
          Update value
        </button>
      </form>
    </section>
  );
}

function EditAuthConfig({ secret, onDone }: { secret: SecretInfo; onDone: (m: string) => void }) {
  const [text, setText] = useState(() =>
    secret.auth_config && Object.keys(secret.auth_config).length > 0
      ? JSON.stringify(secret.auth_config, null, 2)
      : "",
  );
  const action = useAction();
  const parsed = parseAuthConfig(text);
  const submit = (event: Event) => {
    event.preventDefault();
    if ("error" in parsed) return;
    void action.run(async () => {
      await api.updateSecret({ secret_id: secret.secret_id, auth_config: parsed.config ?? {} });
      onDone(parsed.config ? "The auth config was saved." : "The auth config was cleared.");
    });
  };
  return (
    <section class="card" aria-labelledby="auth-config-title">
      <h2 id="auth-config-title">Edit auth config</h2>
      <form onSubmit={submit}>
        <ErrorNotice error={action.error} />
        <AuthConfigField label="Auth config (JSON)" text={text} onText={setText} />
        <button type="submit" disabled={action.busy || "error" in parsed}>
          Save auth config
        </button>
      </form>
    </section>
  );
}

function Permissions({ secret, session }: { secret: SecretInfo; session: Session }) {
  const grants = useLoad(() => api.listGrants(secret.secret_id), [secret.secret_id]);
  const users = useLoad(
    () => (session.user.is_admin ? api.listUsers() : Promise.resolve({ users: [] })),
    [session.user.is_admin],
  );
  const [username, setUsername] = useState("");
  const [permission, setPermission] = useState<Permission>("USE");
  const [notice, setNotice] = useState<string | undefined>();
  const action = useAction();

  const done = (message: string) => {
    setNotice(message);
    grants.reload();
  };
  const grant = (event: Event) => {
    event.preventDefault();
    const target = username.trim();
    void action.run(async () => {
      await api.createGrant({ secret_id: secret.secret_id, username: target, permission });
      setUsername("");
      done(`${target} now has ${permission}.`);
    });
  };
  const change = (g: Grant, next: Permission) =>
    action.run(async () => {
      await api.updateGrant({ ...g, permission: next });
      done(`${g.username} now has ${next}.`);
    });
  const revoke = (g: Grant) =>
    action.run(async () => {
      await api.deleteGrant(g.secret_id, g.username);
      done(`${g.username}'s ${g.permission} grant was revoked.`);
    });

  const list = grants.data?.secret_permissions ?? [];
  return (
    <section class="card" aria-labelledby="permissions-title">
      <h2 id="permissions-title">Permissions</h2>
      <p class="hint">
        Users without a grant here have the default permission ({session.default_permission});
        admins may do everything.
      </p>
      <Notice>{notice}</Notice>
      <ErrorNotice error={action.error ?? grants.error} />
      {list.length > 0 && (
        <table>
          <caption class="visually-hidden">Grants on {secret.secret_name}</caption>
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Permission</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((g) => (
              <tr key={g.username}>
                <td>{g.username}</td>
                <td>
                  <label class="visually-hidden" for={`grant-${g.username}`}>
                    Permission of {g.username}
                  </label>
                  <select
                    id={`grant-${g.username}`}
                    value={g.permission}
                    disabled={action.busy}
                    onChange={(e) => void change(g, e.currentTarget.value as Permission)}
                  >
                    {GRANTABLE.map((p) => (
                      <option key={p} value={p}>
                        {p}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <button
                    type="button"
                    class="secondary"
                    disabled={action.busy}
                    aria-label={`Revoke ${g.username}'s permission`}
                    onClick={() => void revoke(g)}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form class="inline-form" onSubmit={grant}>
        <Field
          label="Username"
          name="grant-username"
          list="grant-users"
          autocomplete="off"
          required
          value={username}
          onValue={setUsername}
        />
        <datalist id="grant-users">
          {(users.data?.users ?? []).map((u) => (
            <option key={u.username} value={u.username} />
          ))}
        </datalist>
        <SelectField
          label="Permission"
          name="grant-permission"
          value={permission}
          onValue={(p) => setPermission(p as Permission)}
          options={GRANTABLE}
        />
        <button type="submit" disabled={action.busy || username.trim() === ""}>
          Grant
        </button>
      </form>
    </section>
  );
}

function DeleteSecret({ secret }: { secret: SecretInfo }) {
  const [typed, setTyped] = useState("");
  const action = useAction();
  const matches = typed === secret.secret_name;
  const submit = (event: Event) => {
    event.preventDefault();
    if (!matches) return;
    void action.run(async () => {
      await api.deleteSecret(secret.secret_id);
      navigate({ page: "secrets" });
    });
  };
  return (
    <section class="card danger" aria-labelledby="delete-title">
      <h2 id="delete-title">Delete</h2>
      <form onSubmit={submit}>
        <ErrorNotice error={action.error} />
        <p>
          Deleting removes the value and every grant on it, for good. Anything still using this
          secret stops working.
        </p>
        <Field
          label={`Type the secret's name (${secret.secret_name}) to confirm`}
          name="confirm-name"
          autocomplete="off"
          spellcheck={false}
          value={typed}
          onValue={setTyped}
        />
        <button type="submit" class="danger" disabled={!matches || action.busy}>
          Delete secret
        </button>
      </form>
    </section>
  );
}
