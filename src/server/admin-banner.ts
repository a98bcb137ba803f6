/** How a generated first-admin password is shown: once, in a banner on stderr. */

/** The default announcement: a banner on stderr. */
export function announceOnStderr(username: string, password: string): void {
  process.stderr.write(adminPasswordBanner(username, password));
}

/** The one time a generated admin password is shown. */
export function adminPasswordBanner(username: string, password: string): string {
  return [
    "",
    "================================================================================",
    ` mlflow-secrets: created the first admin user '${username}' with the password`,
    `   ${password}`,
    " It is shown only this once and only its hash is stored: keep it somewhere safe,",
    " or change it with PATCH /api/2.0/mlflow/users/update-password.",
    "================================================================================",
    "",
  ].join("\n");
}
