/** The audit log (admins): filter by action, user, secret, outcome and time; newest first. */
import { useState } from "preact/hooks";
import { api, type AuditEvent } from "../api.js";
import {
  ErrorNotice,
  Field,
  PageTitle,
  Pager,
  SelectField,
  Time,
  useLoad,
  usePages,
} from "../components.js";

const PAGE_SIZE = 50;

const AUDIT_ACTIONS = [
  "secret.create",
  "secret.update",
  "secret.delete",
  "secret.value",
  "permission.create",
  "permission.update",
  "permission.delete",
  "user.create",
  "user.update_password",
  "user.update_admin",
  "user.delete",
  "token.create",
  "token.revoke",
  "session.create",
  "session.delete",
  "login.failed",
] as const;

interface Filters {
  action: string;
  username: string;
  secret: string;
  outcome: string;
  from: string;
  to: string;
}

const NO_FILTERS: Filters = { action: "", username: "", secret: "", outcome: "", from: "", to: "" };

/** A `datetime-local` value as epoch ms (local time), or undefined. */
function localTime(value: string): number | undefined {
  if (value === "") return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

function details(event: AuditEvent): string {
  return Object.entries(event.details ?? {})
    .map(([key, value]) => `${key}: ${String(value)}`)
    .join(", ");
}

export function AuditPage() {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const pages = usePages(JSON.stringify(filters));
  const events = useLoad(() => {
    const since = localTime(filters.from);
    const until = localTime(filters.to);
    return api.listAudit({
      max_results: PAGE_SIZE,
      action: filters.action || undefined,
      username: filters.username.trim() || undefined,
      secret: filters.secret.trim() || undefined,
      outcome: filters.outcome || undefined,
      since,
      // The end of the chosen minute is included.
      until: until === undefined ? undefined : until + 59_999,
      page_token: pages.token,
    });
  }, [filters, pages.token]);
  const set = (key: keyof Filters) => (value: string) => setDraft({ ...draft, [key]: value });
  const list = events.data?.events ?? [];

  return (
    <section>
      <PageTitle title="Audit log">Audit log</PageTitle>
      <form
        class="filters card"
        role="search"
        aria-label="Filter the audit log"
        onSubmit={(event) => {
          event.preventDefault();
          setFilters(draft);
        }}
      >
        <SelectField
          label="Action"
          name="action"
          value={draft.action}
          onValue={set("action")}
          options={[["", "Any action"], ...AUDIT_ACTIONS.map((a) => [a, a] as const)]}
        />
        <Field label="User" name="username" value={draft.username} onValue={set("username")} />
        <Field
          label="Secret (name or id)"
          name="secret"
          value={draft.secret}
          onValue={set("secret")}
        />
        <SelectField
          label="Outcome"
          name="outcome"
          value={draft.outcome}
          onValue={set("outcome")}
          options={[
            ["", "Any outcome"],
            ["success", "success"],
            ["denied", "denied"],
            ["failure", "failure"],
          ]}
        />
        <Field
          label="From"
          name="from"
          type="datetime-local"
          value={draft.from}
          onValue={set("from")}
        />
        <Field label="To" name="to" type="datetime-local" value={draft.to} onValue={set("to")} />
        <div class="actions">
          <button type="submit">Apply filters</button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setDraft(NO_FILTERS);
              setFilters(NO_FILTERS);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <ErrorNotice error={events.error} />
      <div class="table-wrap" aria-busy={events.loading ? "true" : "false"}>
        <table class="audit">
          <caption class="visually-hidden">Audit events, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">User</th>
              <th scope="col">Action</th>
              <th scope="col">Outcome</th>
              <th scope="col">Secret</th>
              <th scope="col">Address</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {list.map((event) => (
              <tr key={event.event_id}>
                <td>
                  <Time ms={event.timestamp} />
                </td>
                <td>{event.username ?? "—"}</td>
                <td>
                  <code>{event.action}</code>
                </td>
                <td>
                  <span class={`outcome outcome-${event.outcome}`}>{event.outcome}</span>
                </td>
                <td>{event.secret_name ?? event.secret_id ?? "—"}</td>
                <td>{event.remote_address ?? "—"}</td>
                <td>{details(event)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {!events.loading && !events.error && list.length === 0 && (
          <p class="empty">No events match these filters.</p>
        )}
      </div>
      <Pager
        label="Audit log pages"
        page={pages.page}
        hasNext={events.data?.next_page_token !== undefined}
        onPrevious={pages.previous}
        onNext={() => events.data?.next_page_token && pages.next(events.data.next_page_token)}
      />
    </section>
  );
}
