/**
 * The console: asks the server whether a session is open (the cookie is HttpOnly, so only the
 * server knows), then shows the sign-in page or the page the fragment names.
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, setCsrfToken, whenSessionLost, type Session } from "./api.js";
import { describeError } from "./components.js";
import { AuditPage } from "./pages/audit.js";
import { KeysPage } from "./pages/keys.js";
import { NewSecretPage } from "./pages/new-secret.js";
import { SecretPage } from "./pages/secret.js";
import { SecretsPage } from "./pages/secrets.js";
import { SignInPage } from "./pages/sign-in.js";
import { TokensPage } from "./pages/tokens.js";
import { UsersPage } from "./pages/users.js";
import { href, useRoute, type Route } from "./router.js";

type State =
  | { kind: "loading" }
  | { kind: "signed-out"; message?: string }
  | { kind: "signed-in"; session: Session }
  | { kind: "unreachable"; error: unknown };

const NAV: readonly { route: Route; label: string; admin: boolean }[] = [
  { route: { page: "secrets" }, label: "Secrets", admin: false },
  { route: { page: "tokens" }, label: "Tokens", admin: false },
  { route: { page: "users" }, label: "Users", admin: true },
  { route: { page: "audit" }, label: "Audit log", admin: true },
  { route: { page: "keys" }, label: "Keys", admin: true },
];

function current(route: Route, item: Route): boolean {
  if (item.page === "secrets") return ["secrets", "secret", "new-secret"].includes(route.page);
  return route.page === item.page;
}

function Page({ route, session }: { route: Route; session: Session }) {
  const admin = session.user.is_admin;
  switch (route.page) {
    case "secrets":
      return <SecretsPage session={session} />;
    case "new-secret":
      return <NewSecretPage />;
    case "secret":
      return <SecretPage session={session} secretId={route.secretId} />;
    case "tokens":
      return <TokensPage session={session} />;
    case "users":
      return admin ? <UsersPage session={session} /> : <AdminsOnly />;
    case "audit":
      return admin ? <AuditPage /> : <AdminsOnly />;
    case "keys":
      return admin ? <KeysPage /> : <AdminsOnly />;
  }
}

function AdminsOnly() {
  return (
    <section>
      <h1>Not available</h1>
      <p>Only administrators can open this page.</p>
    </section>
  );
}

function App() {
  const [state, setState] = useState<State>({ kind: "loading" });
  const route = useRoute();

  const signedIn = (session: Session) => {
    setCsrfToken(session.csrf_token);
    setState({ kind: "signed-in", session });
  };
  const signedOut = (message?: string) => {
    setCsrfToken(undefined);
    setState(message === undefined ? { kind: "signed-out" } : { kind: "signed-out", message });
  };

  useEffect(() => {
    whenSessionLost(() => signedOut("Your session has ended. Sign in again."));
    api.session().then(
      (answer) => (answer.session ? signedIn(answer.session) : signedOut()),
      (error: unknown) => {
        if (error instanceof ApiError && error.status === 401) signedOut();
        else setState({ kind: "unreachable", error });
      },
    );
  }, []);

  if (state.kind === "loading") {
    return (
      <main id="main" class="loading" aria-busy="true">
        <p>Loading…</p>
      </main>
    );
  }
  if (state.kind === "unreachable") {
    return (
      <main id="main">
        <h1>mlflow-secrets</h1>
        <p class="notice notice-error" role="alert">
          {describeError(state.error)}
        </p>
      </main>
    );
  }
  if (state.kind === "signed-out") {
    return <SignInPage message={state.message} onSignedIn={signedIn} />;
  }

  const { session } = state;
  const signOut = () => {
    api.signOut().then(
      () => signedOut("You have signed out."),
      () => signedOut("You have signed out."),
    );
  };
  return (
    <>
      <a class="skip-link" href="#main" onClick={skipToMain}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href({ page: "secrets" })}>
          mlflow-secrets
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((item) => !item.admin || session.user.is_admin).map((item) => (
              <li key={item.label}>
                <a
                  href={href(item.route)}
                  aria-current={current(route, item.route) ? "page" : undefined}
                >
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            Signed in as <strong>{session.user.username}</strong>
            {session.user.is_admin ? " (admin)" : ""}
          </span>
          <button type="button" class="secondary" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} session={session} />
      </main>
    </>
  );
}

/** The skip link moves focus without changing the fragment (which holds the route). */
function skipToMain(event: MouseEvent): void {
  event.preventDefault();
  document.getElementById("main")?.focus();
}

render(<App />, document.getElementById("app")!);
