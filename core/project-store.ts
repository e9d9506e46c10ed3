import { createHash, randomBytes } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { createIndexesOneByOne } from './store-compat.js';

/** write: send events; read: figures, live, exports; admin: the project's settings (alert rules). */
export type KeyKind = 'write' | 'read' | 'admin';

export interface Project {
  id: string;
  name: string;
  /** Origins allowed to send events from a browser; ["*"] allows any. */
  allowedOrigins: string[];
}

interface ProjectDoc {
  _id: string;
  name: string;
  writeKeyHash: string;
  readKeyHash: string;
  /** Absent on projects created before admin keys existed. */
  adminKeyHash?: string;
  allowedOrigins: string[];
  createdAt: Date;
}

export interface CreatedProject extends Project {
  writeKey: string;
  readKey: string;
  adminKey: string;
}

const KEY_PREFIX: Record<KeyKind, string> = { write: 'sbw_', read: 'sbr_', admin: 'sba_' };
const HASH_FIELD = { write: 'writeKeyHash', read: 'readKeyHash', admin: 'adminKeyHash' } as const;
/** Key checks sit on the request path: a stalled MongoDB must become a 503, not a hung request. */
const LOOKUP_TIMEOUT_MS = 3000;

/** Keys carry 256 random bits, so a plain SHA-256 is a safe at-rest hash (nothing to brute-force). */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The kind a key claims by its prefix (sbw_ write, sbr_ read, sba_ admin), or undefined. */
export function keyKindOf(key: string): KeyKind | undefined {
  return (Object.keys(KEY_PREFIX) as KeyKind[]).find((kind) => key.startsWith(KEY_PREFIX[kind]));
}

function newKey(kind: KeyKind): string {
  return KEY_PREFIX[kind] + randomBytes(32).toString('base64url');
}

/** 72 random bits, never starting with "-" or "_": an id like "-x2…" reads as an option on command lines. */
export function newProjectId(): string {
  for (;;) {
    const id = randomBytes(9).toString('base64url');
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}

function toProject(doc: ProjectDoc): Project {
  return { id: doc._id, name: doc.name, allowedOrigins: doc.allowedOrigins };
}

/** Projects and their keys in MongoDB's `projects` collection; keys are stored only as hashes. */
export class ProjectStore {
  private readonly projects: Collection<ProjectDoc>;

  constructor(db: Db) {
    this.projects = db.collection<ProjectDoc>('projects');
  }

  async ensureIndexes(): Promise<void> {
    await createIndexesOneByOne(this.projects, [
      { key: { writeKeyHash: 1 }, name: 'writeKeyHash', unique: true },
      { key: { readKeyHash: 1 }, name: 'readKeyHash', unique: true },
      // Not unique: older projects have none, and 256-bit keys do not collide.
      { key: { adminKeyHash: 1 }, name: 'adminKeyHash' },
    ]);
  }

  async create(name: string, allowedOrigins: string[]): Promise<CreatedProject> {
    const writeKey = newKey('write');
    const readKey = newKey('read');
    const adminKey = newKey('admin');
    const doc: ProjectDoc = {
      _id: newProjectId(),
      name,
      writeKeyHash: hashKey(writeKey),
      readKeyHash: hashKey(readKey),
      adminKeyHash: hashKey(adminKey),
      allowedOrigins,
      createdAt: new Date(),
    };
    await this.projects.insertOne(doc);
    return { ...toProject(doc), writeKey, readKey, adminKey };
  }

  async findById(id: string, timeoutMs = LOOKUP_TIMEOUT_MS): Promise<Project | undefined> {
    const doc = await this.projects.findOne({ _id: id }, { timeoutMS: timeoutMs });
    return doc === null ? undefined : toProject(doc);
  }

  async findByKey(key: string): Promise<{ project: Project; kind: KeyKind } | undefined> {
    const kind = keyKindOf(key);
    if (kind === undefined) return undefined;
    const doc = await this.projects.findOne({ [HASH_FIELD[kind]]: hashKey(key) }, { timeoutMS: LOOKUP_TIMEOUT_MS });
    return doc === null ? undefined : { project: toProject(doc), kind };
  }
}
