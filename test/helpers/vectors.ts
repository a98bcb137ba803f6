/** The known-answer vectors made with MLflow's Python reference (test/fixtures/mlflow-crypto-public.json). */
import { readFileSync } from "node:fs";

interface Vectors {
  kek: { passphrase: string; kek_version: number; kek_hex: string }[];
  aesgcm: {
    key_b64: string;
    nonce_b64: string;
    plaintext_b64: string;
    aad_b64: string | null;
    ciphertext_b64: string;
  }[];
  mask: { input: unknown; masked: string }[];
  secrets: {
    passphrase: string;
    kek_version: number;
    secret_id: string;
    secret_name: string;
    encrypted_value_b64: string;
    wrapped_dek_b64: string;
    value: unknown;
    mlflow_python_decrypts_to: unknown;
  }[];
  rotation: {
    old_passphrase: string;
    old_kek_version: number;
    new_passphrase: string;
    new_kek_version: number;
    secret_id: string;
    secret_name: string;
    encrypted_value_b64: string;
    wrapped_dek_b64: string;
    value: unknown;
  }[];
}

export const vectors: Vectors = JSON.parse(
  readFileSync(new URL("../fixtures/mlflow-crypto-public.json", import.meta.url), "utf8"),
) as Vectors;

export const b64 = (text: string): Buffer => Buffer.from(text, "base64");
