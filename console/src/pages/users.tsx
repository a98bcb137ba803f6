/** Users (admins): create, make or unmake admin, reset a password, delete. */
import { useState } from "preact/hooks";
import { api, type Session, type User } from "../api.js";
import { ErrorNotice, Field, Notice, PageTitle, useAction, useLoad } from "../components.js";

const MIN_PASSWORD = 12;

export function UsersPage({ session }: { session: Session }) {
  const users = useLoad(() => api.listUsers(), []);
  const [notice, setNotice] = useState<string | undefined>();
  const action = useAction();
  const [resetting, setResetting] = useState<string | undefined>();
  const [deleting, setDeleting] = useState<string | undefined>();

  const done = (message: string) => {
    setNotice(message);
    setResetting(undefined);
    setDeleting(undefined);
    users.reload();
  };

  return (
    <section>
      <PageTitle title="Users">Users</PageTitle>
      <Notice>{notice}</Notice>
      <ErrorNotice error={action.error ?? users.error} />
      <CreateUser onCreated={(name) => done(`User ${name} was created.`)} />
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Users</caption>
          <thead>
            <tr>
              <th scope="col">Username</th>
              <th scope="col">Role</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(users.data?.users ?? []).map((user) => (
              <tr key={user.id}>
                <td>
                  {user.username}
                  {user.username === session.user.username ? " (you)" : ""}
                </td>
                <td>{user.is_admin ? "Admin" : "User"}</td>
                <td class="row-actions">
                  <button
                    type="button"
                    class="secondary"
                    disabled={action.busy}
                    onClick={() =>
                      void action.run(async () => {
                        await api.setAdmin(user.username, !user.is_admin);
                        done(
                          user.is_admin
                            ? `${user.username} is no longer an admin.`
                            : `${user.username} is now an admin.`,
                        );
                      })
                    }
                  >
                    {user.is_admin ? "Remove admin" : "Make admin"}
                    <span class="visually-hidden"> ({user.username})</span>
                  </button>
                  <button
                    type="button"
                    class="secondary"
                    aria-expanded={resetting === user.username}
                    onClick={() =>
                      setResetting(resetting === user.username ? undefined : user.username)
                    }
                  >
                    Reset password<span class="visually-hidden"> ({user.username})</span>
                  </button>
                  <button
                    type="button"
                    class="secondary danger-text"
                    aria-expanded={deleting === user.username}
                    onClick={() =>
                      setDeleting(deleting === user.username ? undefined : user.username)
                    }
                  >
                    Delete<span class="visually-hidden"> ({user.username})</span>
                  </button>
                  {resetting === user.username && (
                    <ResetPassword
                      user={user}
                      onDone={done}
                      onCancel={() => setResetting(undefined)}
                    />
                  )}
                  {deleting === user.username && (
                    <ConfirmDelete
                      user={user}
                      onDone={done}
                      onCancel={() => setDeleting(undefined)}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function CreateUser({ onCreated }: { onCreated: (username: string) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      await api.createUser(username.trim(), password);
      onCreated(username.trim());
      setUsername("");
      setPassword("");
    });
  };
  return (
    <form class="card inline-form" onSubmit={submit} autocomplete="off" aria-label="New user">
      <h2 class="full">New user</h2>
      <ErrorNotice error={action.error} />
      <Field label="Username" name="new-username" required value={username} onValue={setUsername} />
      <Field
        label="Password"
        name="new-password"
        type="password"
        autocomplete="new-password"
        minLength={MIN_PASSWORD}
        hint={`At least ${MIN_PASSWORD} characters.`}
        required
        value={password}
        onValue={setPassword}
      />
      <button type="submit" disabled={action.busy}>
        Create user
      </button>
    </form>
  );
}

function ResetPassword(props: { user: User; onDone: (m: string) => void; onCancel: () => void }) {
  const [password, setPassword] = useState("");
  const action = useAction();
  return (
    <form
      class="inline-form nested"
      autocomplete="off"
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => {
          await api.setPassword(props.user.username, password);
          setPassword("");
          props.onDone(`${props.user.username}'s password was reset.`);
        });
      }}
    >
      <ErrorNotice error={action.error} />
      <Field
        label={`New password for ${props.user.username}`}
        type="password"
        autocomplete="new-password"
        minLength={MIN_PASSWORD}
        required
        autoFocus
        value={password}
        onValue={setPassword}
      />
      <button type="submit" disabled={action.busy}>
        Set password
      </button>
      <button type="button" class="secondary" onClick={props.onCancel}>
        Cancel
      </button>
    </form>
  );
}

function ConfirmDelete(props: { user: User; onDone: (m: string) => void; onCancel: () => void }) {
  const action = useAction();
  return (
    <div class="nested confirm" role="group" aria-label={`Delete ${props.user.username}`}>
      <ErrorNotice error={action.error} />
      <p>
        Delete <strong>{props.user.username}</strong>, with their grants and tokens?
      </p>
      <button
        type="button"
        class="danger"
        autoFocus
        disabled={action.busy}
        onClick={() =>
          void action.run(async () => {
            await api.deleteUser(props.user.username);
            props.onDone(`User ${props.user.username} was deleted.`);
          })
        }
      >
        Delete {props.user.username}
      </button>
      <button type="button" class="secondary" onClick={props.onCancel}>
        Cancel
      </button>
    </div>
  );
}
