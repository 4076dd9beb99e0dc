/**
 * A consumer's webhook receiver for tests: a real HTTP server that records every request (headers and the
 * raw body, as a verifier needs them) and answers what the test scripted per path: a status code, or 'hang'
 * (never answers until released). Unscripted requests get 200.
 */
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  path: string;
  headers: Record<string, string>;
  body: string;
  json: any;
  at: number;
  answered: number | 'hang';
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Answers for the next requests to `path`, in order (then 200). */
  script(path: string, answers: (number | 'hang')[]): void;
  on(path: string): ReceivedWebhook[];
  /** Requests held open right now by 'hang'. */
  readonly hanging: number;
  releaseHangs(): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const scripts = new Map<string, (number | 'hang')[]>();
  const hung = new Set<ServerResponse>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      const answer = scripts.get(path)?.shift() ?? 200;
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
      received.push({ path, headers, body, json, at: Date.now(), answered: answer });
      if (answer === 'hang') {
        hung.add(res);
        res.on('close', () => hung.delete(res));
        return;
      }
      res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer === 200 ? 'ok' : `answer ${answer} from the test receiver`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    script: (path, answers) => scripts.set(path, [...answers]),
    on: (path) => received.filter((r) => r.path === path),
    get hanging() {
      return hung.size;
    },
    releaseHangs() {
      for (const res of hung) res.destroy();
      hung.clear();
    },
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
