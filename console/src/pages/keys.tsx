/**
 * Keys (admins): what `crypto status` shows — the current KEK version, the keyring, rows per
 * KEK version and whether each is readable — and, while rows are still wrapped by an older KEK
 * (an online rotation running), its progress, refreshed every few seconds.
 */
import { useEffect } from "preact/hooks";
import { api } from "../api.js";
import { ErrorNotice, PageTitle, useLoad } from "../components.js";

const REFRESH_MS = 2000;

export function KeysPage() {
  const status = useLoad(() => api.cryptoStatus(), []);
  const rotating = (status.data?.rotation.rows_remaining ?? 0) > 0;

  useEffect(() => {
    if (!rotating) return;
    const timer = setInterval(status.reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [rotating, status.reload]);

  const data = status.data;
  return (
    <section>
      <PageTitle title="Keys">Keys</PageTitle>
      <ErrorNotice error={status.error} />
      {data && (
        <>
          {data.using_default_passphrase && (
            <p class="notice notice-warning" role="alert">
              <strong>The default KEK passphrase is in use.</strong> Anyone with a copy of the
              database can decrypt every secret. Set <code>MLFLOW_CRYPTO_KEK_PASSPHRASE</code> (or{" "}
              <code>_FILE</code>) and rotate the KEK.
            </p>
          )}
          <section class="card" aria-labelledby="kek-title">
            <h2 id="kek-title">Key-encryption keys</h2>
            <dl class="meta">
              <dt>Current KEK version</dt>
              <dd>{data.current_kek_version}</dd>
              <dt>Keyring versions</dt>
              <dd>{data.keyring_versions.join(", ")}</dd>
            </dl>
            {data.kek_versions.length === 0 ? (
              <p class="empty">No secrets stored.</p>
            ) : (
              <table>
                <caption class="visually-hidden">Secrets per KEK version</caption>
                <thead>
                  <tr>
                    <th scope="col">KEK version</th>
                    <th scope="col">Secrets</th>
                    <th scope="col">In keyring</th>
                    <th scope="col">Readable</th>
                  </tr>
                </thead>
                <tbody>
                  {data.kek_versions.map((v) => (
                    <tr key={v.kek_version}>
                      <td class="num">
                        {v.kek_version}
                        {v.kek_version === data.current_kek_version ? " (current)" : ""}
                      </td>
                      <td class="num">{v.rows}</td>
                      <td>{v.in_keyring ? "Yes" : "No"}</td>
                      <td>
                        {v.readable ? (
                          "Yes"
                        ) : (
                          <span class="bad">No{v.problem ? ` (${v.problem})` : ""}</span>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <Rotation rotation={data.rotation} />
        </>
      )}
    </section>
  );
}

function Rotation({
  rotation,
}: {
  rotation: { target_kek_version: number; rows_at_target: number; rows_total: number };
}) {
  const { rows_at_target: done, rows_total: total, target_kek_version: target } = rotation;
  if (total === 0) return null;
  const percent = Math.floor((done / total) * 1000) / 10;
  return (
    <section class="card" aria-labelledby="rotation-title">
      <h2 id="rotation-title">Rotation</h2>
      {done === total ? (
        <p>
          Every secret is at the current KEK version {target}: older KEKs can be dropped from the
          keyring.
        </p>
      ) : (
        <>
          <p id="rotation-text">
            Rotation to KEK version {target}: {done} of {total} secrets ({percent}%) re-wrapped;{" "}
            {total - done} still at older versions. Keep their KEKs in the keyring until none are
            left.
          </p>
          <progress
            max={total}
            value={done}
            aria-labelledby="rotation-title"
            aria-describedby="rotation-text"
          />
        </>
      )}
    </section>
  );
}
