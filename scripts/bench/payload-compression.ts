/**
 * Whether compressing a body before deciding to offload it pays (issue 23), no SQS needed:
 *   node scripts/bench/payload-compression.ts [--runs 5]
 *
 * Bodies: real sqspipes envelopes (`encodeEnvelope`) of 100 KiB, 500 KiB and 3 MiB around three
 * kinds of value, made from a fixed seed: a batch of order records (JSON of mixed strings and
 * numbers, random ids), an image (base64 of random bytes: already compressed) and English-like
 * text (words drawn by Zipf's law). Codecs: node:zlib gzip 1 and 6, brotli 4 and 5, and zstd 1
 * and 3 where the Node running this has it (22.15+, experimental).
 *
 * Time: what sqspipes would do to carry a body inline, string to string: compress = UTF-8 bytes,
 * compress, base64; decompress = base64 to bytes, decompress, UTF-8 string. The median of
 * `--runs` runs (more for small bodies, up to 100 ms of work), after one warm-up, in µs per MiB
 * of body, on this machine.
 *
 * Cost per million messages through two hops (enqueue → stage → stage, as payload-costs.ts):
 * prices from payload-prices.ts. SQS chunks, batched (so fractional): each hop sends and receives
 * the message once, (body + 512 B of ids and attributes) / 64 KiB each, plus 1 chunk per message
 * for deletes and batch rounding; this gives 7.3 and 32.3 chunks for 100 and 500 KiB inline where
 * payload-costs.ts measured 7.0 and 32.6. In S3: 2 PUTs, 2 GETs and a pointer of 200 B; S3 bills
 * per request, so a smaller stored object changes no price (storage for minutes: < $0.02/M).
 * With compression the decision is made on the body as sent: base64 of the compressed bytes if
 * that is smaller than the body, else the body; inline up to 384 KiB, else S3. CPU: 2 compressions
 * and 2 decompressions per message (only the 2 attempts when a body is sent as is), at AWS
 * Fargate's $0.04048 per vCPU-hour (us-east-1, x86).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as zlib from 'node:zlib';
import { encodeEnvelope } from '../../src/envelope.ts';
import { enqueueId } from '../../src/ids.ts';
import { CHUNK, PRICE } from './payload-prices.ts';
import { markdownTable, percentile } from './stats.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(values.runs);
if (!Number.isInteger(RUNS) || RUNS < 1)
  throw new TypeError(`--runs: a positive integer, got ${values.runs}`);

const KiB = 1024;
const MiB = KiB * KiB;
const SIZES = [100 * KiB, 500 * KiB, 3 * MiB];
const THRESHOLD = 384 * KiB;
const HOPS = 2;
const MESSAGE_EXTRA = 512; // ids, group, attributes of each message, bytes
const POINTER = 200; // an Extended Client pointer body, bytes
const VCPU_SECOND = 0.04048 / 3600; // $, Fargate us-east-1 x86

// ---- Bodies, from a fixed seed ----

/** mulberry32: a small seeded PRNG, so that every run measures the same bodies. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(23);
const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[int(0, 15)]).join('');

/** An envelope as `enqueue()` sends it. */
const envelope = (value: unknown) => encodeEnvelope({ id: enqueueId(undefined), level: 0, value });

const FIRST = [
  'Anna',
  'Ben',
  'Chloé',
  'David',
  'Elif',
  'Farid',
  'Grace',
  'Hiro',
  'Ines',
  'Jonas',
  'Kofi',
  'Lena',
];
const LAST = ['Smith', 'Müller', 'Rossi', 'Dubois', 'Nowak', 'García', 'Jensen', 'Okafor', 'Tanaka', 'Silva'];
const PRODUCTS = [
  'USB-C cable 2m',
  'Desk lamp',
  'Notebook A5',
  'Coffee beans 1kg',
  'Running socks',
  'Phone case',
];
const STATUSES = ['paid', 'pending', 'shipped', 'refunded'];
const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64)',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4)',
  'okhttp/4.12.0',
];

function order(time: number) {
  const [first, last] = [pick(FIRST), pick(LAST)];
  const items = Array.from({ length: int(1, 4) }, () => ({
    sku: `SKU-${int(10000, 99999)}`,
    name: pick(PRODUCTS),
    qty: int(1, 5),
    unitPrice: int(199, 19999) / 100,
  }));
  const total = items.reduce((sum, i) => sum + i.qty * i.unitPrice, 0);
  return {
    orderId: `ord_${hex(16)}`,
    createdAt: new Date(time).toISOString(),
    customer: {
      id: `cus_${hex(12)}`,
      name: `${first} ${last}`,
      email: `${first.toLowerCase()}.${last.toLowerCase()}${int(1, 99)}@example.com`,
      country: pick(['DE', 'FR', 'GB', 'US', 'JP', 'BR']),
    },
    items,
    total: Math.round(total * 100) / 100,
    currency: pick(['EUR', 'USD', 'GBP']),
    status: pick(STATUSES),
    ip: `${int(1, 223)}.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`,
    userAgent: pick(AGENTS),
  };
}

/** A batch of orders whose envelope is at least `size` bytes (by less than one order). */
function ordersBody(size: number): string {
  const records = [];
  let time = Date.UTC(2025, 2, 1);
  let bytes = 0;
  while (bytes < size) {
    time += int(10, 5000);
    const record = order(time);
    records.push(record);
    bytes += JSON.stringify(record).length + 1;
  }
  return envelope({ batch: `b-${hex(8)}`, source: 'shop-eu', records });
}

/** An image: base64 of random bytes, `size` bytes of envelope. */
function imageBody(size: number): string {
  const meta = { file: 'IMG_0423.jpg', contentType: 'image/jpeg', data: '' };
  const room = size - Buffer.byteLength(envelope(meta));
  const bytes = Buffer.alloc(Math.floor(room / 4) * 3, 0);
  for (let i = 0; i < bytes.length; i++) bytes[i] = int(0, 255);
  return envelope({ ...meta, data: bytes.toString('base64') });
}

const COMMON = (
  'the of and to a in is it you that he was for on are with as his they be at one have this from ' +
  'or had by hot word but what some we can out other were all there when up use your how said an ' +
  'each she which do their time if will way about many then them write would like so these her ' +
  'long make thing see him two has look more day could go come did number sound no most people ' +
  'my over know water than call first who may down side been now find any new work part take get'
).split(' ');
const SYLLABLES =
  'ba be con de di en er for ga in la le li ma mo na ne pa per pre ra re ri sa se ta te ti to un ver'.split(
    ' ',
  );

/** 8000 words, the most frequent first: common English words, then made-up ones. */
const WORDS = [...COMMON];
while (WORDS.length < 8000) WORDS.push(Array.from({ length: int(2, 4) }, () => pick(SYLLABLES)).join(''));
/** Zipf's law (s = 1): cumulative weights of the ranks. */
const ZIPF: number[] = [];
WORDS.forEach((_, r) => ZIPF.push((ZIPF[r - 1] ?? 0) + 1 / (r + 1)));
function word(): string {
  const target = random() * (ZIPF.at(-1) ?? 1);
  let [lo, hi] = [0, ZIPF.length - 1];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((ZIPF[mid] ?? 0) < target) lo = mid + 1;
    else hi = mid;
  }
  return WORDS[lo] ?? 'the';
}

/** English-like text in a document record, `size` bytes of envelope. */
function textBody(size: number): string {
  const parts: string[] = [];
  let length = 0;
  while (length < size) {
    const words = Array.from({ length: int(6, 22) }, word);
    const sentence = words.join(' ');
    const end = random() < 0.15 ? '\n\n' : ' ';
    parts.push(sentence.charAt(0).toUpperCase() + sentence.slice(1) + pick(['.', '.', '.', ',', '?']) + end);
    length += sentence.length + 3;
  }
  const text = parts.join('');
  const meta = { title: 'Quarterly report', lang: 'en', text: '' };
  let body = envelope({ ...meta, text });
  // Trim to the size (ASCII: a character is a byte; a newline is two in JSON).
  for (let cut = text.length; Buffer.byteLength(body) > size;) {
    cut -= Buffer.byteLength(body) - size;
    body = envelope({ ...meta, text: text.slice(0, cut) });
  }
  return body;
}

const KINDS = [
  { name: 'orders (JSON)', make: ordersBody },
  { name: 'image (base64)', make: imageBody },
  { name: 'text (English-like)', make: textBody },
] as const;

// ---- Codecs ----

interface Codec {
  readonly name: string;
  compress(bytes: Buffer): Buffer;
  decompress(bytes: Buffer): Buffer;
}
const { constants: C } = zlib;
const CODECS: Codec[] = [
  ...[1, 6].map((level) => ({
    name: `gzip ${level}`,
    compress: (b: Buffer) => zlib.gzipSync(b, { level }),
    decompress: (b: Buffer) => zlib.gunzipSync(b),
  })),
  ...[4, 5].map((quality) => ({
    name: `brotli ${quality}`,
    compress: (b: Buffer) =>
      zlib.brotliCompressSync(b, {
        params: { [C.BROTLI_PARAM_QUALITY]: quality, [C.BROTLI_PARAM_SIZE_HINT]: b.length },
      }),
    decompress: (b: Buffer) => zlib.brotliDecompressSync(b),
  })),
  // zstd: Node 22.15+ and 23.8+, experimental; sqspipes supports Node 22.12.
  ...(typeof zlib.zstdCompressSync === 'function'
    ? [1, 3].map((level) => ({
        name: `zstd ${level}`,
        compress: (b: Buffer) => zlib.zstdCompressSync(b, { params: { [C.ZSTD_c_compressionLevel]: level } }),
        decompress: (b: Buffer) => zlib.zstdDecompressSync(b),
      }))
    : []),
];

// ---- Measuring ----

/** The median of `fn`'s durations in ms: one warm-up, then RUNS runs, more while under 100 ms. */
function time(fn: () => void): number {
  fn();
  const durations: number[] = [];
  let spent = 0;
  while (durations.length < RUNS || (spent < 100 && durations.length < 50)) {
    const started = performance.now();
    fn();
    const took = performance.now() - started;
    durations.push(took);
    spent += took;
  }
  return percentile(durations, 50);
}

interface Result {
  readonly kind: string;
  readonly size: number;
  readonly body: number;
  readonly codec: string;
  readonly compressed: number;
  readonly wire: number;
  /** µs per MiB of body. */
  readonly compressUs: number;
  readonly decompressUs: number;
}

function measure(kind: string, size: number, body: string, codec: Codec): Result {
  const bytes = Buffer.byteLength(body);
  const packed = codec.compress(Buffer.from(body));
  const wire = packed.toString('base64');
  if (codec.decompress(Buffer.from(wire, 'base64')).toString() !== body)
    throw new Error(`${codec.name}: round trip`);
  const perMiB = (ms: number) => (ms * 1000 * MiB) / bytes;
  return {
    kind,
    size,
    body: bytes,
    codec: codec.name,
    compressed: packed.length,
    wire: wire.length,
    compressUs: perMiB(time(() => void codec.compress(Buffer.from(body)).toString('base64'))),
    decompressUs: perMiB(time(() => void codec.decompress(Buffer.from(wire, 'base64')).toString())),
  };
}

const started = performance.now();
const results: Result[] = [];
const parseUs = new Map<string, number>();
for (const kind of KINDS) {
  for (const size of SIZES) {
    const body = kind.make(size);
    process.stderr.write(`${kind.name}, ${label(size)}…\n`);
    for (const codec of CODECS) results.push(measure(kind.name, size, body, codec));
    if (size === 500 * KiB)
      parseUs.set(kind.name, (time(() => void JSON.parse(body)) * 1000 * MiB) / Buffer.byteLength(body));
  }
}

// ---- Cost ----

/** $ per million messages carried two hops with a body of `wire` bytes as sent. */
function transport(wire: number): { carrier: 'SQS' | 'S3'; dollars: number } {
  const chunks = (bytes: number) => (HOPS * 2 * (bytes + MESSAGE_EXTRA)) / CHUNK + 1;
  if (wire <= THRESHOLD) return { carrier: 'SQS', dollars: chunks(wire) * PRICE.chunk };
  return { carrier: 'S3', dollars: chunks(POINTER) * PRICE.chunk + HOPS * (PRICE.put + PRICE.get) };
}

/** With `codec`: the body as sent (compressed and base64'd only if smaller), its cost, its CPU. */
function withCodec(r: Result) {
  const compressed = r.wire < r.body;
  const moved = transport(compressed ? r.wire : r.body);
  // Each hop's sender tries; its receiver decompresses what was sent compressed. In S3 the
  // object would be the compressed bytes: no price changes, only bytes moved.
  const us = compressed ? r.compressUs + r.decompressUs : r.compressUs;
  // µs per message × $ per vCPU-second = $ per million messages.
  return { ...moved, compressed, cpu: HOPS * us * (r.body / MiB) * VCPU_SECOND };
}

function label(bytes: number): string {
  const round = (n: number) => String(Math.round(n * 100) / 100);
  return bytes >= MiB ? `${round(bytes / MiB)} MiB` : `${round(bytes / KiB)} KiB`;
}
const dollars = (n: number) => `$${n.toFixed(2)}`;
const thousands = (n: number) => Math.round(n).toLocaleString('en-US');

// ---- Output ----

console.log(
  `Node ${process.version}; ${RUNS}+ runs per figure (median); ${CODECS.map((c) => c.name).join(', ')}\n`,
);
console.log('Compression of sqspipes envelope bodies (string in, base64 string out, and back):\n');
console.log(
  markdownTable(
    ['body', 'size', 'codec', 'compressed / body', 'base64 / body', 'compress µs/MiB', 'decompress µs/MiB'],
    results.map((r) => [
      r.kind,
      label(r.size),
      r.codec,
      (r.compressed / r.body).toFixed(3),
      (r.wire / r.body).toFixed(3),
      thousands(r.compressUs),
      thousands(r.decompressUs),
    ]),
  ),
);
console.log(
  `\nFor scale, JSON.parse of a 500 KiB body (which every receive does already), µs/MiB: ${KINDS.map((k) => `${k.name} ${thousands(parseUs.get(k.name) ?? 0)}`).join(', ')}.\n`,
);

console.log('$ per million messages through two hops: carrier, transport (SQS + S3) + CPU of compression:\n');
const costRows = KINDS.flatMap((kind) =>
  SIZES.map((size) => {
    const rows = results.filter((r) => r.kind === kind.name && r.size === size);
    const body = rows[0]?.body ?? size;
    const plain = transport(body);
    const cells = rows.map((r) => {
      const c = withCodec(r);
      return `${c.carrier} ${dollars(c.dollars)} + ${dollars(c.cpu)}${c.compressed ? '' : ' (sent as is)'}`;
    });
    return [kind.name, label(size), `${plain.carrier} ${dollars(plain.dollars)}`, ...cells];
  }),
);
console.log(markdownTable(['body', 'size', 'no compression', ...CODECS.map((c) => c.name)], costRows));

console.log(
  `\nThe 384 KiB threshold, applied to the body as sent, in body size before compression (ratio at 3 MiB):\n`,
);
console.log(
  markdownTable(
    ['body', ...CODECS.map((c) => c.name)],
    KINDS.map((kind) => [
      kind.name,
      ...CODECS.map((codec) => {
        const r = results.find((x) => x.kind === kind.name && x.size === 3 * MiB && x.codec === codec.name);
        if (r === undefined || r.wire >= r.body) return '384 KiB (no gain)';
        return label(Math.round((THRESHOLD * r.body) / r.wire / KiB) * KiB);
      }),
    ]),
  ),
);
console.log(`\n${((performance.now() - started) / 1000).toFixed(1)} s`);
