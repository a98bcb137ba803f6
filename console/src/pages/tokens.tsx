/** Your own API tokens: create (the token is shown this once), list, revoke. */
import { useState } from "preact/hooks";
import { api, type Session } from "../api.js";
import {
  CopyButton,
  ErrorNotice,
  Field,
  Notice,
  PageTitle,
  Time,
  useAction,
  useLoad,
} from "../components.js";

interface Created {
  name: string;
  token: string;
  expiresAt: number | undefined;
}

export function TokensPage({ session }: { session: Session }) {
  const me = session.user.username;
  const tokens = useLoad(() => api.listTokens(me), [me]);
  const [name, setName] = useState("");
  const [created, setCreated] = useState<Created | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const action = useAction();
  const list = tokens.data?.tokens ?? [];
  const withExpiry = created?.expiresAt !== undefined || list.some((t) => t.expires_at);

  const create = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const answer = await api.createToken(name.trim());
      setCreated({ name: name.trim(), token: answer.token, expiresAt: answer.expires_at });
      setNotice(undefined);
      setName("");
      tokens.reload();
    });
  };

  return (
    <section>
      <PageTitle title="Tokens">API tokens</PageTitle>
      <p class="hint">
        Services send a token as <code>Authorization: Bearer …</code>. It acts as you, with your
        permissions.
      </p>
      <Notice>{notice}</Notice>
      <ErrorNotice error={action.error ?? tokens.error} />
      {created && (
        <section class="card created" aria-labelledby="created-title">
          <h2 id="created-title">Token “{created.name}” created</h2>
          <p>
            <strong>Copy it now: it is shown this once.</strong>
            {created.expiresAt !== undefined && (
              <>
                {" "}
                It expires <Time ms={created.expiresAt} />.
              </>
            )}
          </p>
          <p class="token-row">
            <code class="secret-value">{created.token}</code>
            <CopyButton text={created.token} label="Copy the new token" />
          </p>
          <button type="button" class="secondary" onClick={() => setCreated(undefined)}>
            Done
          </button>
        </section>
      )}
      <form class="card inline-form" onSubmit={create} autocomplete="off" aria-label="New token">
        <h2 class="full">New token</h2>
        <Field
          label="Token name"
          name="token-name"
          hint="What uses it, e.g. gateway-prod."
          required
          value={name}
          onValue={setName}
        />
        <button type="submit" disabled={action.busy}>
          Create token
        </button>
      </form>
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Your tokens</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Created</th>
              {withExpiry && <th scope="col">Expires</th>}
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((token) => (
              <tr key={token.token_id}>
                <td>{token.name}</td>
                <td>
                  <Time ms={token.created_at} />
                </td>
                {withExpiry && (
                  <td>{token.expires_at ? <Time ms={token.expires_at} /> : "Never"}</td>
                )}
                <td>
                  <button
                    type="button"
                    class="secondary danger-text"
                    disabled={action.busy}
                    aria-label={`Revoke ${token.name}`}
                    onClick={() =>
                      void action.run(async () => {
                        await api.revokeToken(token.token_id);
                        setNotice(`Token ${token.name} was revoked.`);
                        tokens.reload();
                      })
                    }
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {!tokens.loading && list.length === 0 && <p class="empty">You have no tokens.</p>}
      </div>
    </section>
  );
}
