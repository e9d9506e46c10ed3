import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export interface AdminCredentials {
  token: string;
  /** Where the token came from: the ADMIN_TOKEN variable, or the credentials file. */
  source: 'env' | 'file';
  path: string;
  /** True when this start generated the token. */
  generated: boolean;
}

/**
 * ADMIN_TOKEN when set; otherwise the token kept in DATA_DIR/credentials.json,
 * generated on the first start. The file is created exclusively, so processes
 * starting together agree on one token.
 */
export async function resolveAdminToken(adminToken: string | undefined, dataDir: string): Promise<AdminCredentials> {
  const path = resolve(join(dataDir, 'credentials.json'));
  if (adminToken !== undefined) return { token: adminToken, source: 'env', path, generated: false };
  await mkdir(dataDir, { recursive: true });
  const token = `sba_${randomBytes(32).toString('base64url')}`;
  try {
    await writeFile(path, `${JSON.stringify({ adminToken: token }, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
    return { token, source: 'file', path, generated: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const saved = JSON.parse(await readFile(path, 'utf8')) as { adminToken?: unknown };
  if (typeof saved.adminToken !== 'string' || saved.adminToken.length < 16) {
    throw new Error(`${path} holds no valid "adminToken"; delete it to generate a new one, or set ADMIN_TOKEN`);
  }
  return { token: saved.adminToken, source: 'file', path, generated: false };
}
