/** Sign in with a username and password, or with an API token. */
import { useState } from "preact/hooks";
import { api, type Session } from "../api.js";
import { ErrorNotice, Field, Notice, PageTitle, useAction, useReadyMark } from "../components.js";

export function SignInPage(props: {
  message?: string | undefined;
  onSignedIn: (session: Session) => void;
}) {
  const [withToken, setWithToken] = useState(false);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [token, setToken] = useState("");
  const action = useAction();
  useReadyMark("mlflow-secrets:sign-in-ready", true);

  const submit = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const { session } = await api.signIn(withToken ? { token } : { username, password });
      // Credentials leave memory as soon as they have served.
      setPassword("");
      setToken("");
      props.onSignedIn(session);
    });
  };

  return (
    <main id="main" class="sign-in">
      <form class="card" onSubmit={submit} aria-labelledby="sign-in-title" autocomplete="on">
        <PageTitle title="Sign in">
          <span id="sign-in-title">Sign in to mlflow-secrets</span>
        </PageTitle>
        {!action.error && <Notice>{props.message}</Notice>}
        <ErrorNotice error={action.error} />
        {withToken ? (
          <Field
            label="API token"
            type="password"
            name="token"
            autocomplete="off"
            required
            value={token}
            onValue={setToken}
          />
        ) : (
          <>
            <Field
              label="Username"
              name="username"
              autocomplete="username"
              autocapitalize="none"
              spellcheck={false}
              required
              value={username}
              onValue={setUsername}
            />
            <Field
              label="Password"
              type="password"
              name="password"
              autocomplete="current-password"
              required
              value={password}
              onValue={setPassword}
            />
          </>
        )}
        <div class="actions">
          <button type="submit" disabled={action.busy}>
            {action.busy ? "Signing in…" : "Sign in"}
          </button>
          <button
            type="button"
            class="link"
            onClick={() => {
              setWithToken(!withToken);
              action.clear();
            }}
          >
            {withToken ? "Use a username and password" : "Use an API token"}
          </button>
        </div>
      </form>
    </main>
  );
}
