/** `mlflow-secrets db upgrade`: applies pending migrations of our tables. */
import { LATEST_SCHEMA_VERSION, openSecretStore } from "../../store/index.js";
import { DOMAIN_MIGRATIONS } from "../../domain/schema.js";
import type { RegisterCommands } from "../io.js";

export const registerDbCommands: RegisterCommands = (program, io) => {
  const db = program.command("db").description("database schema");
  db.command("upgrade")
    .description("create or migrate mlflow-secrets' tables (MLflow's own tables are never touched)")
    .option(
      "--backend-store-uri <uri>",
      "database URI; default MLFLOW_BACKEND_STORE_URI, else sqlite:///mlflow-secrets.db",
    )
    .addHelpText(
      "after",
      "\nExample:\n  $ mlflow-secrets db upgrade --backend-store-uri postgresql://mlflow@db/mlflow\n",
    )
    .action(async (options: { backendStoreUri?: string }) => {
      // The keyring is not needed to migrate; a wrong passphrase must not block a schema upgrade.
      const store = await openSecretStore({
        ...(options.backendStoreUri ? { uri: options.backendStoreUri } : {}),
        env: io.env,
        verifyKeyring: false,
        migrations: DOMAIN_MIGRATIONS,
      });
      try {
        const owner = store.layout.mlflowManaged
          ? "The secrets table belongs to MLflow (managed by `mlflow db upgrade`); "
          : "";
        io.stdout.write(
          `${owner}mlflow-secrets schema is at version ${LATEST_SCHEMA_VERSION} on ${store.layout.uri}\n`,
        );
      } finally {
        await store.close();
      }
    });
};
