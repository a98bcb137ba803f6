/**
 * Reading and writing credential files safely: owner-only (0600), atomic (a temporary file in the
 * same directory, fsynced, then renamed over the target), missing parent directories created 0700.
 * A symbolic link is followed, so a dotfile kept elsewhere is updated in place rather than
 * replaced by a regular file.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, realpath, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { MlflowSecretsError } from "../errors.js";

/** The mode of every file this package writes: read and write for the owner only. */
const CREDENTIALS_FILE_MODE = 0o600;
/** The mode of directories this package creates. */
const CREDENTIALS_DIR_MODE = 0o700;

function errnoCode(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? "error";
}

/** The file's text, or `undefined` when it does not exist. */
export async function readTextFileIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw new MlflowSecretsError(`Cannot read '${path}' (${errnoCode(err)})`, "INVALID_STATE", {
      cause: err,
    });
  }
}

async function resolveTarget(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return path; // does not exist (yet): write it where asked
  }
}

/**
 * Writes `content` to `path` atomically with mode 0600: readers see the old file or the new one,
 * never a mix, and a crash leaves at worst a stray temporary file next to it.
 *
 * @example
 * ```ts
 * await writeFileAtomic(join(homedir(), ".databrickscfg"), "[DEFAULT]\nhost = https://x\n");
 * ```
 */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const target = await resolveTarget(path);
  const dir = dirname(target);
  try {
    await mkdir(dir, { recursive: true, mode: CREDENTIALS_DIR_MODE });
  } catch (err) {
    throw new MlflowSecretsError(
      `Cannot create directory '${dir}' (${errnoCode(err)})`,
      "INVALID_STATE",
      { cause: err },
    );
  }
  const temp = join(dir, `.${basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temp, "wx", CREDENTIALS_FILE_MODE);
    try {
      await handle.chmod(CREDENTIALS_FILE_MODE); // whatever the umask
      await handle.writeFile(content, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw new MlflowSecretsError(`Cannot write '${target}' (${errnoCode(err)})`, "INVALID_STATE", {
      cause: err,
    });
  }
  await syncDirectory(dir);
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes the rename durable; not every platform can open a directory, which is fine.
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* best effort */
  }
}

/** What a file held before a change, so that the change can be undone. */
interface FileSnapshot {
  readonly path: string;
  readonly content: string | undefined;
}

/** Remembers a file's content (or its absence). */
export async function snapshotFile(path: string): Promise<FileSnapshot> {
  return { path, content: await readTextFileIfExists(path) };
}

/** Puts a file back as the snapshot saw it (atomically, 0600), or removes it if it did not exist. */
export async function restoreFile(snapshot: FileSnapshot): Promise<void> {
  if (snapshot.content !== undefined) {
    await writeFileAtomic(snapshot.path, snapshot.content);
    return;
  }
  try {
    await unlink(await resolveTarget(snapshot.path));
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") {
      throw new MlflowSecretsError(
        `Cannot remove '${snapshot.path}' (${errnoCode(err)})`,
        "INVALID_STATE",
        { cause: err },
      );
    }
  }
}
