/**
 * Concurrent write transactions: on SQLite they share commits (group commit); on every dialect
 * each one still succeeds or fails alone, and a success is reported only once it is committed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SqliteDialect } from "../../src/store/dialects/sqlite.js";
import type { WalSync } from "../../src/store/group-commit.js";
import { STORE_MIGRATIONS, migrate } from "../../src/store/migrations.js";
import { SecretStore } from "../../src/store/secret-store.js";
import { DIALECTS } from "../helpers/databases.js";
import { testKeyring, withStore } from "../helpers/store.js";

for (const dialect of DIALECTS) {
  describe(`concurrent transactions on ${dialect.name}`, () => {
    it("keep failures apart and report success only after the commit", () =>
      withStore(dialect, async (store, db) => {
        const outcomes = await Promise.allSettled(
          Array.from({ length: 60 }, (_, i) =>
            store.transaction(async (tx) => {
              const info = await tx.createSecret({
                secretName: `group-${i}`,
                secretValue: { api_key: `sk-group-${i}-0123456789` },
              });
              if (i % 6 === 5) throw new Error(`member ${i} fails after writing`);
              // Visible from another connection as soon as this resolves.
              return info.secretName;
            }),
          ),
        );
        const committed: string[] = [];
        for (const [i, outcome] of outcomes.entries()) {
          if (i % 6 === 5) {
            assert.equal(outcome.status, "rejected");
            assert.match(String(outcome.reason), /fails after writing/);
          } else {
            assert.equal(outcome.status, "fulfilled");
            committed.push(outcome.value);
          }
        }
        const rows = await db.query<{ secret_name: string }>("SELECT secret_name FROM secrets");
        assert.deepEqual(rows.map((r) => r.secret_name).sort(), committed.sort());
        assert.equal(committed.length, 50);

        // A unique violation inside one member rolls back that member only.
        const clash = await Promise.allSettled([
          store.createSecret({ secretName: "clash", secretValue: { k: "v1234567" } }),
          store.createSecret({ secretName: "clash", secretValue: { k: "v1234567" } }),
          store.createSecret({ secretName: "no-clash", secretValue: { k: "v1234567" } }),
        ]);
        assert.deepEqual(
          clash
            .slice(0, 2)
            .map((c) => c.status)
            .sort(),
          ["fulfilled", "rejected"],
        );
        assert.equal(clash[2].status, "fulfilled");
        const resolved = await store.createSecret({
          secretName: "seen",
          secretValue: { k: "v1234567" },
        });
        assert.equal(
          (await db.query("SELECT 1 FROM secrets WHERE secret_id = ?", [resolved.secretId])).length,
          1,
        );
      }));
  });
}

/** A WAL fsync the test releases by hand, recording what happened when. */
function scriptedSync(events: string[]) {
  const pending: (() => void)[] = [];
  return {
    pending,
    walSync: {
      sync: () =>
        new Promise<void>((resolve) => {
          events.push("sync-start");
          pending.push(() => {
            events.push("sync-end");
            resolve();
          });
        }),
      syncNow: () => {
        events.push("inline-sync");
      },
    },
    /** Ends every fsync in flight. */
    release() {
      for (const end of pending.splice(0)) end();
    },
  };
}

/** A store on its own SQLite file whose WAL fsync is `walSync`. */
async function storeWithSync(
  walSync: WalSync,
): Promise<{ store: SecretStore; done: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "group-commit-"));
  const dialect = SqliteDialect.open(
    { dialect: "sqlite", path: join(dir, "store.db") },
    { walSync },
  );
  await migrate(dialect, { mlflowManaged: false, migrations: STORE_MIGRATIONS });
  const store = new SecretStore(dialect, await testKeyring(), {
    mlflowManaged: false,
    hasWorkspaceColumn: true,
    uri: "sqlite:///test",
  });
  return {
    store,
    done: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

describe("durability of SQLite writes and reads", () => {
  it("settles grouped writes only after one fsync covering their commit; a lone write syncs inline", async () => {
    const events: string[] = [];
    const sync = scriptedSync(events);
    const { store, done } = await storeWithSync(sync.walSync);
    events.length = 0; // the migrations' commits
    try {
      const writes = Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          store
            .createSecret({ secretName: `durable-${i}`, secretValue: { api_key: "k" } })
            .then(() => events.push(`done-${i}`)),
        ),
      );
      await tick();
      assert.deepEqual(events, ["sync-start"], "nothing settles before the fsync ends");
      sync.release();
      await writes;
      assert.deepEqual(events.slice(0, 2), ["sync-start", "sync-end"]);
      assert.equal(events.filter((e) => e === "sync-start").length, 1, events.join(","));
      // A lone write with nothing else in flight is synced inline, before it settles.
      const { secrets } = await store.listSecretInfos();
      await store.updateSecret({ secretId: secrets[0]!.secretId, authConfig: {} });
      assert.equal(events.at(-1), "inline-sync");
    } finally {
      sync.release();
      await done();
    }
  });

  it("answers no read from a commit whose fsync has not ended", async () => {
    const events: string[] = [];
    const sync = scriptedSync(events);
    const { store, done } = await storeWithSync(sync.walSync);
    try {
      const first = await store.createSecret({ secretName: "first", secretValue: { k: "v" } });
      // Two writes in flight make a group: its fsync runs on the "thread pool" (held here).
      const writes = Promise.all([
        store.createSecret({ secretName: "a", secretValue: { k: "v" } }),
        store.createSecret({ secretName: "b", secretValue: { k: "v" } }),
      ]);
      await tick();
      assert.ok(events.includes("sync-start"));
      // The rows are committed (visible to SQLite) but not on disk: reads wait.
      let listed: string[] | undefined;
      const read = store.listSecretInfos().then((page) => {
        listed = page.secrets.map((s) => s.secretName);
      });
      let got = false;
      const get = store.getSecretInfo({ secretId: first.secretId }).then(() => (got = true));
      await tick();
      assert.equal(listed, undefined, "a list answered before the fsync ended");
      assert.equal(got, false, "a get answered before the fsync ended");
      sync.release();
      await Promise.all([writes, read, get]);
      assert.deepEqual(listed, ["a", "b", "first"]);
      // With nothing in flight, reads answer at once.
      await store.getSecretInfo({ secretId: first.secretId });
    } finally {
      sync.release();
      await done();
    }
  });

  it("fails the writes whose commit could not be synced, with NOT_DURABLE", async () => {
    let failing = false;
    const eio = () => Object.assign(new Error("EIO"), { code: "EIO" });
    const { store, done } = await storeWithSync({
      sync: () => (failing ? Promise.reject(eio()) : Promise.resolve()),
      syncNow: () => {
        if (failing) throw eio();
      },
    });
    failing = true;
    try {
      await assert.rejects(store.createSecret({ secretName: "lost", secretValue: { k: "v" } }), {
        reason: "NOT_DURABLE",
      });
      // SQLite syncs every commit itself from then on: later writes succeed.
      await store.createSecret({ secretName: "later", secretValue: { k: "v" } });
    } finally {
      await done();
    }
  });
});
