/**
 * Concurrent write transactions: on SQLite they share commits (group commit); on every dialect
 * each one still succeeds or fails alone, and a success is reported only once it is committed.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { describe, it } from "node:test";
import { DIALECTS } from "../helpers/databases.js";
import { withStore } from "../helpers/store.js";

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

describe("durability of SQLite writes", () => {
  it("settles a write only after the WAL holding its commit has been fsynced", () =>
    withStore(DIALECTS[0]!, async (store) => {
      // Spy on the WAL fsyncs: the thread-pool one (slowed down on purpose) and the inline one.
      const events: string[] = [];
      const originalAsync = fs.fdatasync;
      const originalSync = fs.fdatasyncSync;
      fs.fdatasync = ((fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => {
        events.push("sync-start");
        setTimeout(() => {
          originalAsync(fd, (err) => {
            events.push("sync-end");
            callback(err);
          });
        }, 30);
      }) as typeof fs.fdatasync;
      fs.fdatasyncSync = (fd: number) => {
        originalSync(fd);
        events.push("inline-sync");
      };
      syncBuiltinESMExports();
      try {
        await Promise.all(
          Array.from({ length: 5 }, (_, i) =>
            store
              .createSecret({ secretName: `durable-${i}`, secretValue: { api_key: "k" } })
              .then(() => events.push(`done-${i}`)),
          ),
        );
        const { secrets } = await store.listSecretInfos();
        await store.updateSecret({ secretId: secrets[0]!.secretId, authConfig: {} });
        events.push("update-done");
      } finally {
        fs.fdatasync = originalAsync;
        fs.fdatasyncSync = originalSync;
        syncBuiltinESMExports();
      }
      // The concurrent writes settled after one thread-pool sync ended; the lone update after
      // an inline sync.
      const firstEnd = events.indexOf("sync-end");
      assert.ok(firstEnd >= 0, events.join(","));
      for (let i = 0; i < 5; i++)
        assert.ok(events.indexOf(`done-${i}`) > firstEnd, events.join(","));
      assert.ok(events.filter((e) => e === "sync-start").length <= 2, events.join(","));
      const updateDone = events.indexOf("update-done");
      assert.ok(
        events.lastIndexOf("inline-sync") >= 0 && events.lastIndexOf("inline-sync") < updateDone,
        events.join(","),
      );
    }));
});
