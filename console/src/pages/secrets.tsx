/** The secrets the signed-in user can read: filter by name and provider, a page at a time. */
import { useEffect, useState } from "preact/hooks";
import { api, type Session } from "../api.js";
import {
  ErrorNotice,
  Field,
  PageTitle,
  Pager,
  Time,
  useLoad,
  usePages,
  useReadyMark,
} from "../components.js";
import { href } from "../router.js";
import { PROVIDERS } from "./providers.js";

const PAGE_SIZE = 20;

/** Typing settles for this long before the list is asked again. */
function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

export function SecretsPage({ session }: { session: Session }) {
  const [name, setName] = useState("");
  const [provider, setProvider] = useState("");
  const filter = {
    name: useDebounced(name.trim(), 250),
    provider: useDebounced(provider.trim(), 250),
  };
  const pages = usePages(JSON.stringify(filter));

  const list = useLoad(
    () =>
      api.listSecrets({
        max_results: PAGE_SIZE,
        ...(filter.name ? { name_contains: filter.name } : {}),
        ...(filter.provider ? { provider: filter.provider } : {}),
        ...(pages.token ? { page_token: pages.token } : {}),
      }),
    [filter.name, filter.provider, pages.token],
  );
  const secrets = list.data?.secrets ?? [];
  useReadyMark("mlflow-secrets:secrets-ready", list.data !== undefined);

  return (
    <section>
      <div class="page-head">
        <PageTitle title="Secrets">Secrets</PageTitle>
        {session.can_create_secrets && (
          <a class="button" href={href({ page: "new-secret" })}>
            New secret
          </a>
        )}
      </div>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <Field label="Name contains" type="search" name="name" value={name} onValue={setName} />
        <Field
          label="Provider"
          type="search"
          name="provider"
          list="providers"
          value={provider}
          onValue={setProvider}
        />
        <datalist id="providers">
          {PROVIDERS.map((p) => (
            <option key={p} value={p} />
          ))}
        </datalist>
      </form>
      <ErrorNotice error={list.error} />
      <div class="table-wrap" aria-busy={list.loading ? "true" : "false"}>
        <table>
          <caption class="visually-hidden">
            Secrets {session.user.is_admin ? "" : "you can read"}
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Provider</th>
              <th scope="col">Masked values</th>
              <th scope="col">KEK version</th>
              <th scope="col">Updated by</th>
              <th scope="col">Updated at</th>
            </tr>
          </thead>
          <tbody>
            {secrets.map((secret) => (
              <tr key={secret.secret_id}>
                <td>
                  <a href={href({ page: "secret", secretId: secret.secret_id })}>
                    {secret.secret_name}
                  </a>
                </td>
                <td>{secret.provider ?? "—"}</td>
                <td>
                  <ul class="masks">
                    {Object.entries(secret.masked_values).map(([key, mask]) => (
                      <li key={key}>
                        <span class="key">{key}</span> <code>{mask}</code>
                      </li>
                    ))}
                  </ul>
                </td>
                <td class="num">{secret.kek_version ?? "—"}</td>
                <td>{secret.last_updated_by ?? secret.created_by ?? "—"}</td>
                <td>
                  <Time ms={secret.last_updated_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {!list.loading && !list.error && secrets.length === 0 && (
          <p class="empty">
            {filter.name || filter.provider
              ? "No secret matches these filters."
              : "No secrets yet."}
          </p>
        )}
      </div>
      <Pager
        label="Secrets pages"
        page={pages.page}
        hasNext={list.data?.next_page_token !== undefined}
        onPrevious={pages.previous}
        onNext={() => list.data?.next_page_token && pages.next(list.data.next_page_token)}
      />
    </section>
  );
}
