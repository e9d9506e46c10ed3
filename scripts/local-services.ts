/**
 * Local Redis and MongoDB-compatible servers for `npm start`, `npm test` and CI.
 * For each of REDIS_URL / MONGODB_URL that is unset: use what answers on the default
 * port, else start a server (redis-server; mongod when on PATH, else FerretDB 1.24
 * with its SQLite backend, built with Go on first use) and stop it on exit.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

export const FERRETDB_VERSION = 'v1.24.2';

type Log = (message: string) => void;

export interface LocalServices {
  redisUrl: string;
  mongoUrl: string;
  stop(): Promise<void>;
}

/** True when something accepts TCP connections on host:port. */
export function portAnswers(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ port, host });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

async function waitForPort(port: number, what: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} before it answered on port ${port}`);
    if (await portAnswers(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not answer on port ${port} within ${timeoutMs / 1000}s`);
}

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, command);
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  return undefined;
}

export interface RedisServerOptions {
  port: number;
  dir: string;
  /** AOF with fsync on every write: an acknowledged event survives a crash of Redis itself. */
  appendOnly?: boolean;
  /**
   * A Redis Cluster node (its identity in `nodes.conf` in `dir`). Without replicas here,
   * so the others keep serving their slots while one is down (no full coverage needed).
   */
  clusterNode?: boolean;
}

/** Starts redis-server in the foreground as our child. */
export async function startRedisServer({ port, dir, appendOnly = true, clusterNode = false }: RedisServerOptions): Promise<ChildProcess> {
  const binary = onPath('redis-server');
  if (binary === undefined) throw new Error('redis-server is not on PATH: install Redis 7 (apt-get install redis-server) or set REDIS_URL');
  mkdirSync(dir, { recursive: true });
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--loglevel', 'warning'];
  if (appendOnly) args.push('--appendonly', 'yes', '--appendfsync', 'always');
  else args.push('--appendonly', 'no');
  if (clusterNode) args.push('--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000', '--cluster-require-full-coverage', 'no');
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port, 'redis-server', child);
  return child;
}

function cacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'signalboard');
}

export interface GoTool {
  name: string;
  module: string;
  version: string;
  /** The main package inside the module. */
  pkg: string;
  /** Adjusts the module's source before building. */
  prepare?: (sourceDir: string) => void;
  /** Distinguishes a build with local changes in the cache. */
  build?: string;
}

/**
 * Builds a Go tool from its module into ~/.cache/signalboard/bin, once. `go install
 * module@version` is not used: it asks the module proxy for the module's version list
 * (to check deprecation), which some proxies refuse; downloading one exact version
 * and building from a copy works wherever the proxy serves that version.
 */
export function buildGoTool(tool: GoTool, log: Log): string {
  const target = join(cacheDir(), 'bin', `${tool.name}-${tool.version}${tool.build === undefined ? '' : `-${tool.build}`}`);
  if (existsSync(target)) return target;
  if (onPath('go') === undefined) throw new Error(`${tool.name} is missing and Go is not on PATH to build it`);
  log(`Installing ${tool.name} ${tool.version} with Go (first run only; a few minutes)...`);
  const env = { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' };
  const download = spawnSync('go', ['mod', 'download', '-json', `${tool.module}@${tool.version}`], { cwd: tmpdir(), env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (download.status !== 0) throw new Error(`go mod download ${tool.module}@${tool.version} failed (exit ${download.status})`);
  const source = (JSON.parse(download.stdout) as { Dir: string }).Dir;
  const work = join(cacheDir(), `${tool.name}-src-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  cpSync(source, work, { recursive: true });
  spawnSync('chmod', ['-R', 'u+w', work]);
  tool.prepare?.(work);
  mkdirSync(join(cacheDir(), 'bin'), { recursive: true });
  log(`Compiling ${tool.name} (package names show progress)...`);
  const build = spawnSync('go', ['build', '-v', '-trimpath', '-o', `${target}.tmp`, tool.pkg], { cwd: work, env, stdio: ['ignore', 'inherit', 'inherit'] });
  rmSync(work, { recursive: true, force: true });
  if (build.status !== 0) throw new Error(`building ${tool.name} failed (exit ${build.status})`);
  chmodSync(`${target}.tmp`, 0o755);
  renameSync(`${target}.tmp`, target);
  log(`${tool.name} installed at ${target}`);
  return target;
}

/**
 * Documents per SQLite transaction of an insert (FerretDB's default: 100). Each
 * transaction is an fsync, so a cycle's 5,000 eventIds were 50 of them: at 2,500, id
 * documents insert at about 60,000/s instead of 33,000-42,000 (docs/operations.md).
 */
export const FERRETDB_INSERT_BATCH = 2500;

/**
 * Changes to FerretDB's source before building, each documented in docs/operations.md.
 * The version file is generated at release time and missing from the module zip;
 * without it the binary refuses to start. The patches below only change how the
 * SQLite backend finds a document by `_id`, never which documents match: FerretDB's
 * handlers filter every document the backend returns again (find, update and
 * findAndModify through FilterIterator, delete through FilterDocument, aggregate in
 * its $match stage), which is why pushdown can be switched off with a flag.
 */
const FERRETDB_PATCHES = [
  {
    // Lookups used `_ferretdb_sjson->'$._id'` while the unique `_id` index is on
    // `_ferretdb_sjson->"_id"`: the same value, but SQLite uses an expression index only
    // for the identical expression, so every update by `_id` scanned the collection
    // (50 updates on 10,000 documents: 1,250 ms; spelled like the index: 47 ms).
    file: 'internal/backends/sqlite/metadata/metadata.go',
    from: `IDColumn = DefaultColumn + "->'$._id'"`,
    to: 'IDColumn = DefaultColumn + `->"_id"`',
  },
  {
    // `_id` equality was pushed down only when it was the whole filter; an update
    // guarded by another condition ({_id, "wm.p3": {$not: {$gte: 7}}}) scanned.
    file: 'internal/backends/sqlite/collection.go',
    from: 'if params.Filter.Len() == 1 {',
    to: 'if params.Filter.Has("_id") {',
  },
  {
    // `_id: {$in: [...]}` was not pushed down at all: reading 300 users (or a batch's
    // rollup watermarks) by id scanned the whole collection (bench:pipeline: 280 ms
    // a batch for the users alone).
    file: 'internal/backends/sqlite/collection.go',
    from: `		case string, types.ObjectID:
			whereClause = fmt.Sprintf(\` WHERE %s = ?\`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		}`,
    to: `		case string, types.ObjectID:
			whereClause = fmt.Sprintf(\` WHERE %s = ?\`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		case *types.Document:
			if cond := v.(*types.Document); cond.Len() == 1 && cond.Has("$in") {
				in, _ := cond.Get("$in")
				if ids, ok := in.(*types.Array); ok && ids.Len() > 0 {
					marks := make([]string, 0, ids.Len())
					for i := 0; i < ids.Len(); i++ {
						id := must.NotFail(ids.Get(i))
						if _, ok := id.(string); !ok {
							marks, args = nil, nil
							break
						}
						marks = append(marks, "?")
						args = append(args, string(must.NotFail(sjson.MarshalSingleValue(id))))
					}
					if marks != nil {
						whereClause = fmt.Sprintf(\` WHERE %s IN (%s)\`, metadata.IDColumn, strings.Join(marks, ", "))
					}
				}
			}
		}`,
  },
  {
    // Nothing but `_id` equality is pushed down, so reading one day's raw buckets (or a
    // report's) scanned every bucket of every project: 7 s for one day of 10,000 20 KB
    // buckets. `{_id: {$gte: S, $lt: S'}}`, S' being S with its last byte plus one, is
    // "the _ids starting with S"; when S holds only characters JSON writes as
    // themselves, those are exactly the documents whose stored `_id` text starts with
    // `"S`, a range of the unique `_id` index (model/raw-events readRawEvents).
    file: 'internal/backends/sqlite/collection.go',
    from: `		case *types.Document:
			if cond := v.(*types.Document); cond.Len() == 1 && cond.Has("$in") {`,
    to: `		case *types.Document:
			if from, to, ok := idPrefixBounds(v.(*types.Document)); ok {
				whereClause = fmt.Sprintf(\` WHERE %s >= ? AND %s < ?\`, metadata.IDColumn, metadata.IDColumn)
				args = []any{from, to}
			}
			if cond := v.(*types.Document); cond.Len() == 1 && cond.Has("$in") {`,
  },
  {
    file: 'internal/backends/sqlite/collection.go',
    from: `// check interfaces
var (
	_ backends.Collection = (*collection)(nil)
)`,
    to: `// idPrefixBounds returns the stored-text bounds of {$gte: S, $lt: S'} when it selects the _ids starting with S.
func idPrefixBounds(cond *types.Document) (string, string, bool) {
	if cond.Len() != 2 || !cond.Has("$gte") || !cond.Has("$lt") {
		return "", "", false
	}
	lo, _ := cond.Get("$gte")
	hi, _ := cond.Get("$lt")
	s, ok := lo.(string)
	t, ok2 := hi.(string)
	n := len(s)
	if !ok || !ok2 || n == 0 || len(t) != n || s[:n-1] != t[:n-1] || t[n-1] != s[n-1]+1 {
		return "", "", false
	}
	for i := 0; i < n; i++ {
		if c := s[i]; c < 0x23 || c > 0x7e || c == '\\\\' || c == '<' || c == '>' || c == '&' {
			return "", "", false
		}
	}
	return \`"\` + s, \`"\` + t, true
}

// check interfaces
var (
	_ backends.Collection = (*collection)(nil)
)`,
  },
  {
    // An insert whose batch meets a duplicate `_id` was retried one document at a
    // time, each its own transaction and fsync: one retried eventId among 1,000 new
    // ones cost about a second. Halving the batch until each duplicate stands alone
    // (below 8 documents, one at a time again) inserts the rest in about 2·log2(n)
    // transactions, with the same write errors. An ordered insert now stops at its first
    // error, as MongoDB's does (stock FerretDB went on with its next batch).
    file: 'internal/handler/msg_insert.go',
    from: `		// insert doc one by one upon failing on batch insertion
		for j, doc := range docs {
			if _, err = c.InsertAll(connCtx, &backends.InsertAllParams{
				Docs: []*types.Document{doc},
			}); err == nil {
				inserted++

				continue
			}

			if !backends.ErrorCodeIs(err, backends.ErrorCodeInsertDuplicateID) {
				return nil, lazyerrors.Error(err)
			}

			writeErrors = append(writeErrors, &mongo.WriteError{
				Index:   docsIndexes[j],
				Code:    int(handlererrors.ErrDuplicateKeyInsert),
				Message: fmt.Sprintf(\`E11000 duplicate key error collection: %s.%s\`, params.DB, params.Collection),
			})

			if params.Ordered {
				break
			}
		}`,
    to: `		// Halves a range known to hold a duplicate; returns whether the range held one.
		stopped := false
		var split func(lo, hi int, failed bool) (bool, error)
		split = func(lo, hi int, failed bool) (bool, error) {
			if stopped {
				return false, nil
			}
			if !failed {
				_, err := c.InsertAll(connCtx, &backends.InsertAllParams{Docs: docs[lo:hi]})
				if err == nil {
					inserted += int32(hi - lo)
					return false, nil
				}
				if !backends.ErrorCodeIs(err, backends.ErrorCodeInsertDuplicateID) {
					return false, err
				}
			}
			if hi-lo == 1 {
				writeErrors = append(writeErrors, &mongo.WriteError{
					Index:   docsIndexes[lo],
					Code:    int(handlererrors.ErrDuplicateKeyInsert),
					Message: fmt.Sprintf(\`E11000 duplicate key error collection: %s.%s\`, params.DB, params.Collection),
				})
				stopped = params.Ordered
				return true, nil
			}
			if hi-lo <= 8 {
				for i := lo; i < hi; i++ {
					if _, err := split(i, i+1, false); err != nil {
						return true, err
					}
				}
				return true, nil
			}
			mid := (lo + hi) / 2
			leftHeld, err := split(lo, mid, false)
			if err != nil {
				return true, err
			}
			// A left half stored whole leaves the duplicate to the right: no need to try it whole.
			_, err = split(mid, hi, !leftHeld)
			return true, err
		}
		if _, err = split(0, len(docs), backends.ErrorCodeIs(err, backends.ErrorCodeInsertDuplicateID)); err != nil {
			return nil, lazyerrors.Error(err)
		}
		if stopped || (params.Ordered && len(writeErrors) > 0) {
			break
		}`,
  },
  {
    // Duplicates without the retries: an unordered insert asks the backend to skip the
    // documents whose `_id` is taken and say which, instead of failing the whole
    // transaction and halving (2·log2(n) transactions, each an fsync, per duplicate).
    // A retried event whose eventId the aggregator no longer remembers then costs what a
    // new one costs (docs/aggregation.md, "Late retries").
    file: 'internal/backends/collection.go',
    from: `type InsertAllParams struct {
	Docs []*types.Document
}

// InsertAllResult represents the results of Collection.InsertAll method.
type InsertAllResult struct{}`,
    to: `type InsertAllParams struct {
	Docs []*types.Document
	// SkipDuplicates: insert the others, and report the documents whose _id is taken (backends that can).
	SkipDuplicates bool
}

// InsertAllResult represents the results of Collection.InsertAll method.
type InsertAllResult struct {
	// Duplicates: indexes into Docs not inserted because their _id is taken (with SkipDuplicates).
	Duplicates []int
}`,
  },
  {
    file: 'internal/backends/sqlite/collection.go',
    from: `	err := db.InTransaction(ctx, func(tx *fsql.Tx) error {
		batchSize := c.r.BatchSize`,
    to: `	var duplicates []int
	err := db.InTransaction(ctx, func(tx *fsql.Tx) error {
		duplicates = nil
		offset := 0
		batchSize := c.r.BatchSize`,
  },
  {
    file: 'internal/backends/sqlite/collection.go',
    from: `			q, args, err := prepareInsertStatement(meta.TableName, meta.Capped(), batch)
			if err != nil {
				return lazyerrors.Error(err)
			}

			if _, err = tx.ExecContext(ctx, q, args...); err != nil {`,
    to: `			q, args, err := prepareInsertStatement(meta.TableName, meta.Capped(), batch)
			if err != nil {
				return lazyerrors.Error(err)
			}

			if params.SkipDuplicates && !meta.Capped() && stringIDs(batch) {
				skipped, err := insertSkipping(ctx, tx, q, args, batch)
				if err != nil {
					return err
				}
				for _, j := range skipped {
					duplicates = append(duplicates, offset+j)
				}
				offset += len(batch)
				continue
			}
			offset += len(batch)

			if _, err = tx.ExecContext(ctx, q, args...); err != nil {`,
  },
  {
    file: 'internal/backends/sqlite/collection.go',
    from: `	return new(backends.InsertAllResult), nil
}

// UpdateAll implements backends.Collection interface.`,
    to: `	return &backends.InsertAllResult{Duplicates: duplicates}, nil
}

// UpdateAll implements backends.Collection interface.`,
  },
  {
    file: 'internal/backends/sqlite/collection.go',
    from: `// idPrefixBounds returns the stored-text bounds`,
    to: `// stringIDs tells whether every document's _id is a string (stored as the JSON text sjson writes).
func stringIDs(docs []*types.Document) bool {
	for _, doc := range docs {
		id, _ := doc.Get("_id")
		if _, ok := id.(string); !ok {
			return false
		}
	}
	return true
}

// insertSkipping runs an INSERT of docs that skips taken _ids, and returns the indexes of the docs it skipped
// (of two with the same _id, the second).
func insertSkipping(ctx context.Context, tx *fsql.Tx, q string, args []any, docs []*types.Document) ([]int, error) {
	rows, err := tx.QueryContext(ctx, q+\` ON CONFLICT DO NOTHING RETURNING \`+metadata.IDColumn, args...)
	if err != nil {
		return nil, lazyerrors.Error(err)
	}
	defer rows.Close()
	inserted := make(map[string]int, len(docs))
	for rows.Next() {
		var id string
		if err = rows.Scan(&id); err != nil {
			return nil, lazyerrors.Error(err)
		}
		inserted[id]++
	}
	if err = rows.Err(); err != nil {
		return nil, lazyerrors.Error(err)
	}
	var skipped []int
	for i, doc := range docs {
		id := string(must.NotFail(sjson.MarshalSingleValue(must.NotFail(doc.Get("_id")))))
		if inserted[id] > 0 {
			inserted[id]--
			continue
		}
		skipped = append(skipped, i)
	}
	return skipped, nil
}

// idPrefixBounds returns the stored-text bounds`,
  },
  {
    file: 'internal/handler/msg_insert.go',
    from: `		if _, err = c.InsertAll(connCtx, &backends.InsertAllParams{Docs: docs}); err == nil {
			inserted += int32(len(docs))
`,
    to: `		var res *backends.InsertAllResult
		if res, err = c.InsertAll(connCtx, &backends.InsertAllParams{Docs: docs, SkipDuplicates: !params.Ordered}); err == nil {
			inserted += int32(len(docs) - len(res.Duplicates))
			for _, j := range res.Duplicates {
				writeErrors = append(writeErrors, &mongo.WriteError{
					Index:   docsIndexes[j],
					Code:    int(handlererrors.ErrDuplicateKeyInsert),
					Message: fmt.Sprintf(\`E11000 duplicate key error collection: %s.%s\`, params.DB, params.Collection),
				})
			}
`,
  },
  {
    // `$in` over strings compared each document's value with every string of the list:
    // reading or deleting 1,000 documents by `_id $in` made a million comparisons
    // (find 15,000 ids/s, delete 24,000/s: the expiry sweep's eventId deletes). A string
    // among strings is now one map lookup.
    file: 'internal/handler/common/filter.go',
    from: `					"$in needs an array",
					exprKey,
				)
			}

			var found bool
`,
    to: `					"$in needs an array",
					exprKey,
				)
			}

			var found bool
			if s, ok := fieldValue.(string); ok {
				if set := stringSet(arr); set != nil {
					if _, found = set[s]; !found {
						return false, nil
					}
					continue
				}
			}
`,
  },
  {
    file: 'internal/handler/common/filter.go',
    from: `func filterFieldExpr(doc *types.Document, filterKey, filterSuffix string, expr *types.Document) (bool, error) {`,
    to: `// stringSets holds, for the $in lists of recent queries, their strings as a set (nil: not only strings).
// An entry keeps its array, so the address it is found by cannot be reused meanwhile.
var stringSets struct {
	sync.Mutex
	entries []stringSetEntry
}

type stringSetEntry struct {
	arr *types.Array
	set map[string]struct{}
}

// stringSet returns arr's values as a set when they are all strings and at least 16 of them, else nil.
func stringSet(arr *types.Array) map[string]struct{} {
	if arr.Len() < 16 {
		return nil
	}
	stringSets.Lock()
	defer stringSets.Unlock()
	for _, e := range stringSets.entries {
		if e.arr == arr {
			return e.set
		}
	}
	set := make(map[string]struct{}, arr.Len())
	for i := 0; i < arr.Len(); i++ {
		s, ok := must.NotFail(arr.Get(i)).(string)
		if !ok {
			set = nil
			break
		}
		set[s] = struct{}{}
	}
	stringSets.entries = append(stringSets.entries, stringSetEntry{arr, set})
	if len(stringSets.entries) > 16 {
		stringSets.entries = stringSets.entries[1:]
	}
	return set
}

func filterFieldExpr(doc *types.Document, filterKey, filterSuffix string, expr *types.Document) (bool, error) {`,
  },
  {
    file: 'internal/handler/common/filter.go',
    from: `	"strings"
	"time"
`,
    to: `	"strings"
	"sync"
	"time"
`,
  },
];

const FERRETDB: GoTool = {
  name: 'ferretdb',
  module: 'github.com/FerretDB/FerretDB',
  version: FERRETDB_VERSION,
  // Names the patched build apart from any stock one in the cache.
  build: 'idx8',
  pkg: './cmd/ferretdb',
  prepare: (dir) => {
    writeFileSync(join(dir, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
    for (const patch of FERRETDB_PATCHES) {
      const file = join(dir, patch.file);
      const source = readFileSync(file, 'utf8');
      if (!source.includes(patch.from)) throw new Error(`FerretDB ${FERRETDB_VERSION}: ${patch.file} no longer holds ${JSON.stringify(patch.from)}`);
      writeFileSync(file, source.replaceAll(patch.from, patch.to));
    }
  },
};

/** The k6 load generator, for the benchmarks. */
export function findK6(log: Log): string {
  return onPath('k6') ?? buildGoTool({ name: 'k6', module: 'go.k6.io/k6/v2', version: 'v2.2.0', pkg: '.' }, log);
}

export interface MongoServerOptions {
  port: number;
  dir: string;
  log: Log;
}

/** Starts mongod when on PATH, else FerretDB on SQLite, as our child. */
export async function startMongoServer({ port, dir, log }: MongoServerOptions): Promise<ChildProcess> {
  mkdirSync(dir, { recursive: true });
  const mongod = onPath('mongod');
  let child: ChildProcess;
  if (mongod !== undefined) {
    child = spawn(mongod, ['--dbpath', dir, '--port', String(port), '--bind_ip', '127.0.0.1', '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
  } else {
    const installed = onPath('ferretdb');
    // Larger insert transactions only with the patched build: a stock one retries a refused batch a document (a transaction) at a time.
    const batchSize = installed === undefined ? [`--test-batch-size=${FERRETDB_INSERT_BATCH}`] : [];
    child = spawn(
      installed ?? buildGoTool(FERRETDB, log),
      ['--handler=sqlite', `--sqlite-url=file:${dir}/`, `--state-dir=${dir}`, `--listen-addr=127.0.0.1:${port}`, '--debug-addr=-', '--telemetry=disable', '--log-level=error', ...batchSize],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  await waitForPort(port, mongod === undefined ? 'FerretDB' : 'mongod', child);
  return child;
}

export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    child.once('exit', () => done());
    child.kill(signal);
  });
}

/** Resolves REDIS_URL / MONGODB_URL, starting local servers for the ones unset and not already running. */
export async function ensureLocalServices(env: { REDIS_URL?: string; MONGODB_URL?: string }, dataDir: string, log: Log): Promise<LocalServices> {
  const started: ChildProcess[] = [];
  // A crash of this process must not leave the servers behind: the next run would use them,
  // whatever build and settings they were started with.
  const killStarted = () => {
    for (const child of started) if (child.exitCode === null) child.kill();
  };
  process.once('exit', killStarted);
  // A bench starts and stops the services once per scenario: each stop takes its listener
  // back, or the process collects one 'exit' listener per run.
  const stop = async () => {
    process.off('exit', killStarted);
    await Promise.all(started.map((child) => stopChild(child)));
  };
  try {
    let redisUrl = env.REDIS_URL;
    if (redisUrl === undefined) {
      if (!(await portAnswers(6379))) {
        log(`Starting redis-server on 127.0.0.1:6379 (data in ${resolve(dataDir, 'redis')})`);
        started.push(await startRedisServer({ port: 6379, dir: resolve(dataDir, 'redis') }));
      }
      redisUrl = 'redis://127.0.0.1:6379';
    }
    let mongoUrl = env.MONGODB_URL;
    if (mongoUrl === undefined) {
      if (!(await portAnswers(27017))) {
        log(`Starting a MongoDB-compatible server on 127.0.0.1:27017 (data in ${resolve(dataDir, 'mongodb')})`);
        started.push(await startMongoServer({ port: 27017, dir: resolve(dataDir, 'mongodb'), log }));
      }
      mongoUrl = 'mongodb://127.0.0.1:27017/signalboard';
    }
    return { redisUrl, mongoUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
