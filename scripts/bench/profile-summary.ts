/**
 * Summarises a V8 CPU profile (node --cpu-prof; `npm run bench -- --profile` writes them to
 * bench-results/tmp/profiles/): self time by function and by package or source file.
 *   node scripts/bench/profile-summary.ts FILE.cpuprofile [--top 25]
 *   node scripts/bench/profile-summary.ts A.cpuprofile --against B.cpuprofile --messages N [--top 25]
 * (the second: both profiles' self time per message of N, side by side, largest differences first)
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '25' },
    against: { type: 'string' },
    messages: { type: 'string' },
  },
});
const top = Number(values.top);

/** Where a frame's code lives: a package name, a file of src/, or a V8/Node category. */
function area(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg !== null) return pkg[1] ?? url;
  const local = /\/(src|dist|scripts)\/(.*)$/.exec(url);
  if (local !== null) return `${local[1]}/${local[2]}`;
  if (url.startsWith('node:')) return url;
  return url;
}

/** Self time (µs) by function and by package or file of one profile, and its total. */
function selfTimes(file: string): {
  total: number;
  byFunction: Map<string, number>;
  byArea: Map<string, number>;
} {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, us] of self) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    const where = area(frame.url, frame.functionName);
    const fn = `${frame.functionName || '(anonymous)'}  ${where}:${frame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byArea.set(where, (byArea.get(where) ?? 0) + us);
  }
  return { total, byFunction, byArea };
}

if (values.against !== undefined) {
  // --against B --messages N: each profile's self time per message, B beside A, largest gaps first.
  const messages = Number(values.messages ?? 1);
  const [first] = positionals;
  if (first === undefined) throw new Error('give the profile to compare with --against');
  const a = selfTimes(first);
  const b = selfTimes(values.against);
  const perMessage = (us: number) => (us / messages).toFixed(1).padStart(7);
  const gaps = (ma: Map<string, number>, mb: Map<string, number>) =>
    [...new Set([...ma.keys(), ...mb.keys()])]
      .map((k): [string, number, number] => [k, ma.get(k) ?? 0, mb.get(k) ?? 0])
      .sort((x, y) => Math.abs(y[2] - y[1]) - Math.abs(x[2] - x[1]))
      .slice(0, top)
      .map(([k, ua, ub]) => `  ${perMessage(ua)} ${perMessage(ub)} ${perMessage(ub - ua)}  ${k}`)
      .join('\n');
  console.log(`A: ${first}\nB: ${values.against}\nself time, µs per message of ${messages}:`);
  console.log(
    `        A       B     B-A\n  ${perMessage(a.total)} ${perMessage(b.total)} ${perMessage(b.total - a.total)}  in all`,
  );
  console.log(`By package / file:\n${gaps(a.byArea, b.byArea)}`);
  console.log(`By function:\n${gaps(a.byFunction, b.byFunction)}`);
  process.exit(0);
}

for (const file of positionals) {
  const { total, byFunction, byArea } = selfTimes(file);
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
  const list = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`)
      .join('\n');
  console.log(`\n${file}: ${(total / 1000).toFixed(0)} ms sampled`);
  console.log(`By package / file (self time):\n${list(byArea)}`);
  console.log(`By function (self time):\n${list(byFunction)}`);
}
