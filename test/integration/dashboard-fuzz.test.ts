/**
 * The dashboard's server under requests no browser sends: malformed request lines, paths, headers,
 * methods and bodies, written byte for byte on raw TCP sockets (node:net) so that no client
 * normalises them. Every request it can parse gets an answer (never a 5xx), every other one a
 * closed socket; afterwards it still answers, and nothing rejected or threw unhandled in this
 * process. Then the access rules: off loopback every read needs the token, sent as a header only.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OperatorContext } from '../../src/cli/operator/context.ts';
import { Sampler } from '../../src/cli/operator/dashboard/sampler.ts';
import { type DashboardServer, startServer } from '../../src/cli/operator/dashboard/server.ts';
import { rawClient, testDomain } from '../support/sqs.ts';

const TOKEN = 'fuzz-token-0123456789abcdef';

/** What the process reported unhandled while the tests ran. */
const unhandled: unknown[] = [];
const record = (error: unknown) => unhandled.push(error);

/** A raw exchange: `bytes` written on a new socket, which is then half-closed; what came back. */
interface Exchange {
  readonly text: string;
  /** The status of the first response, or undefined when the server closed without one. */
  readonly status: number | undefined;
}

function exchange(port: number, bytes: Buffer | string, options: { end?: boolean } = {}): Promise<Exchange> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1');
    const done = () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3}) /.exec(text)?.[1];
      resolve({ text, status: status === undefined ? undefined : Number(status) });
    };
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => socket.destroy()); // EPIPE or ECONNRESET once the server gave up
    socket.on('close', done);
    socket.write(bytes, () => {
      if (options.end !== false) socket.end();
    });
  });
}

describe('dashboard server under malformed requests', () => {
  const domain = testDomain('dfuzz');
  const sqs = rawClient();
  const ctx: OperatorContext = { sqs, domain, json: false, note: () => undefined };
  const servers: DashboardServer[] = [];

  beforeAll(() => {
    process.on('unhandledRejection', record);
    process.on('uncaughtException', record);
  });
  afterAll(async () => {
    process.off('unhandledRejection', record);
    process.off('uncaughtException', record);
    await Promise.all(servers.map((s) => s.close()));
    sqs.destroy();
  });

  async function serve(host: string, actions: boolean, token: string | undefined): Promise<number> {
    const sampler = new Sampler(ctx, 500, actions);
    await sampler.sample();
    const server = await startServer({ ctx, sampler, actions, token, tags: new Map() }, host, 0);
    servers.push(server);
    return server.port;
  }

  it('answers what it can parse, closes on what it cannot, and keeps serving', async () => {
    const port = await serve('127.0.0.1', true, TOKEN);
    const host = `Host: 127.0.0.1:${port}\r\n`;
    const get = (target: string, headers = host) => `GET ${target} HTTP/1.1\r\n${headers}\r\n`;
    const big = 'a'.repeat(100_000);
    const cases: Record<string, Buffer | string> = {
      'double slash': get('//'),
      'double slash with a host': get('//evil.example/api/pipeline'),
      'lone percent': get('%'),
      'bad escape': get('/%zz'),
      'bad escape in a stage': get('/api/dlq/%zz'),
      'cut UTF-8 escape': get('/api/dlq/%E0%A4%A'),
      'very long path': get(`/${big}`),
      'non-UTF-8 bytes': Buffer.concat([
        Buffer.from('GET /\xff\xfe\x80'),
        Buffer.from(` HTTP/1.1\r\n${host}\r\n`),
      ]),
      'absolute form, other host': get('http://x/'),
      'absolute form, this host': get(`http://127.0.0.1:${port}/api/pipeline`),
      'absolute form, cut': get('http://[::1'),
      'asterisk form': `OPTIONS * HTTP/1.1\r\n${host}\r\n`,
      'query only': get('?token=x'),
      'no Host (HTTP/1.1)': get('/', ''),
      'no Host (HTTP/1.0)': 'GET / HTTP/1.0\r\n\r\n',
      'two Hosts': get('/', `${host}Host: evil.example\r\n`),
      'empty Host': get('/', 'Host: \r\n'),
      'Host with junk': get('/', 'Host: 127.0.0.1:99999999999999999999\r\n'),
      'huge header': get('/', `${host}X-Big: ${big}\r\n`),
      'many headers': get('/', host + Array.from({ length: 3000 }, (_, i) => `X-${i}: ${i}\r\n`).join('')),
      'header without colon': get('/', `${host}Broken header\r\n`),
      'NUL in a header': get('/', `${host}X-Nul: a\0b\r\n`),
      'unknown method': `FOO / HTTP/1.1\r\n${host}\r\n`,
      'lower-case method': `get / HTTP/1.1\r\n${host}\r\n`,
      'DELETE the pipeline': `DELETE /api/pipeline HTTP/1.1\r\n${host}\r\n`,
      PATCH: `PATCH / HTTP/1.1\r\n${host}\r\n`,
      TRACE: `TRACE / HTTP/1.1\r\n${host}\r\n`,
      CONNECT: `CONNECT 127.0.0.1:80 HTTP/1.1\r\n${host}\r\n`,
      'HTTP/9.9': 'GET / HTTP/9.9\r\n' + host + '\r\n',
      'no version': 'GET /\r\n\r\n',
      garbage: 'GARBAGE\r\n\r\n',
      'binary junk': Buffer.from([0, 1, 2, 3, 255, 254, 13, 10, 13, 10]),
      'bare LF': `GET / HTTP/1.1\n${host.replace('\r', '')}\n`,
      'cut request': `GET /api/pipeline HTTP/1.1\r\n${host}`,
      'upgrade to websocket': get('/', `${host}Connection: Upgrade\r\nUpgrade: websocket\r\n`),
      'negative length': `POST /api/redrive/square HTTP/1.1\r\n${host}Content-Length: -1\r\n\r\n`,
      'length not a number': `POST /api/redrive/square HTTP/1.1\r\n${host}Content-Length: abc\r\n\r\n`,
      'length and chunked': `POST /api/redrive/square HTTP/1.1\r\n${host}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      'bad chunk': `POST /api/redrive/square HTTP/1.1\r\n${host}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`,
      'text body': `POST /api/redrive/square HTTP/1.1\r\n${host}Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello`,
      'invalid JSON body': `POST /api/purge/square HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: 1\r\n\r\n{`,
      'huge announced body': `POST /api/redrive/square HTTP/1.1\r\n${host}Content-Length: 50000000\r\n\r\n${big}`,
      'huge chunked body': `POST /api/redrive/square HTTP/1.1\r\n${host}Transfer-Encoding: chunked\r\n\r\n${`186a0\r\n${big}\r\n`.repeat(20)}0\r\n\r\n`,
      'body on a GET': `GET /api/pipeline HTTP/1.1\r\n${host}Content-Length: 5\r\n\r\nhello`,
      'stage with a slash': get('/api/dlq/a%2Fb'),
      'token in the query': `POST /api/redrive/square?token=${TOKEN} HTTP/1.1\r\n${host}\r\n`,
      'two requests in one write': get('//') + get('/api/pipeline'),
    };
    const results: Record<string, number | undefined> = {};
    const texts: Record<string, string> = {};
    for (const [name, bytes] of Object.entries(cases)) {
      const { status, text } = await exchange(port, bytes);
      results[name] = status;
      texts[name] = text;
      if (status !== undefined) expect(status, `${name}: ${status}`).toBeLessThan(500);
    }
    expect(results).toMatchObject({
      'double slash': 404,
      'double slash with a host': 404,
      'bad escape': 404,
      'bad escape in a stage': 400,
      'cut UTF-8 escape': 400,
      'absolute form, other host': 403,
      'absolute form, this host': 200,
      'no Host (HTTP/1.0)': 403,
      'two Hosts': 400,
      'DELETE the pipeline': 405,
      'text body': 401,
      'invalid JSON body': 401,
      'huge announced body': 413,
      'huge chunked body': 413,
      'body on a GET': 200,
      'stage with a slash': 400,
      'token in the query': 401,
      'two requests in one write': 404,
    });
    expect(texts['two requests in one write']?.match(/^HTTP\/1\.1 \d{3} /gm)).toEqual([
      'HTTP/1.1 404 ',
      'HTTP/1.1 200 ',
    ]);
    // A client that opens a request and never finishes it holds nothing else up.
    const stalled = connect(port, '127.0.0.1');
    stalled.on('error', () => undefined);
    stalled.write(`GET / HTTP/1.1\r\n${host}X-Half: `);
    const after = await fetch(`http://127.0.0.1:${port}/api/pipeline`);
    expect(after.status).toBe(200);
    expect(((await after.json()) as { domain: string }).domain).toBe(domain);
    stalled.destroy();
    expect(unhandled).toEqual([]);
  });

  it('off loopback, needs the token for reads too, only as a header', async () => {
    const port = await serve('0.0.0.0', false, TOKEN);
    const url = `http://127.0.0.1:${port}`;
    expect((await fetch(`${url}/api/pipeline`)).status).toBe(401);
    expect((await fetch(`${url}/api/pipeline?token=${TOKEN}`)).status).toBe(401);
    expect((await fetch(`${url}/api/dlq/square`)).status).toBe(401);
    const wrong = await fetch(`${url}/api/pipeline`, {
      headers: { authorization: 'Bearer wrong-token-0123456789' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const read = await fetch(`${url}/api/pipeline`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(read.status).toBe(200);
    // The page holds no data: it is served, and asks for the token.
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('id="login"');
    // Actions stay disabled without --actions, token or not.
    const action = await fetch(`${url}/api/redrive/square`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(action.status).toBe(403);
    expect(unhandled).toEqual([]);
  });
});
