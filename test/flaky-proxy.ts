import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does with the n-th request (from 0): pass it on, or answer `status` itself, before or after the server took it. */
export type ProxyMove = 'forward' | { status: number; headers?: Record<string, string>; afterForwarding: boolean };

export interface ProxiedRequest {
  method: string;
  path: string;
  body: string;
  at: number;
  /** Set when the server's answer arrived: until then the server may not have stored what the request holds. */
  upstreamStatus?: number;
}

export interface FlakyProxy {
  url: string;
  /** The requests as received, in order: method, path with query, body, when it arrived (Date.now()) and, once the server answered it, the server's status. */
  readonly requests: ReadonlyArray<ProxiedRequest>;
  close(): Promise<void>;
}

/**
 * A proxy in front of a server that fails requests as `move` says. A failure after
 * forwarding is an answer lost on the way: the server stored the batch, the client
 * retries it, and the retry must count once.
 */
export function flakyProxy(target: string, move: (n: number, body: string) => ProxyMove): Promise<FlakyProxy> {
  const requests: ProxiedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const n = requests.push({ method: req.method!, path: req.url!, body: body.toString(), at: Date.now() }) - 1;
      const next = move(n, requests[n]!.body);
      const fail = (status: number, headers: Record<string, string> = {}) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end('{"error":{"code":"PROXY","message":"failed by the test proxy"}}');
      if (next !== 'forward' && !next.afterForwarding) return fail(next.status, next.headers);
      const upstream = httpRequest(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        requests[n]!.upstreamStatus = answer.statusCode;
        if (next !== 'forward') {
          answer.resume();
          answer.on('end', () => fail(next.status, next.headers));
          return;
        }
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      });
      upstream.end(body);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        requests,
        close: () => new Promise((done) => server.close(() => done())),
      }),
    ),
  );
}
