/**
 * The acceptance test of the README's user path, outside this repository: `npm pack`, a fresh
 * `npm init -y` project (CommonJS by default), `npm install` of the tarball, the Quick start saved
 * as pipeline.mjs, the local SQS the README names (fauxqs), and the README's three commands run as
 * three processes with the README's environment (its endpoint swapped for the emulator's port).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pythonExtendedClient } from '../support/python-extended-client.ts';
import { readQuickStart, readTestingExamples } from './readme-quick-start.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README_ENDPOINT = 'http://localhost:4566';

/** The environment without npm's `npm_*` variables (from `npm test`) and without AWS settings. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(([name]) => !/^(npm_|aws_)/i.test(name));
  return { ...Object.fromEntries(kept), ...extra };
}

async function npm(args: readonly string[], cwd: string): Promise<void> {
  try {
    await promisify(execFile)('npm', args, { cwd, env: cleanEnv(), maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`\`npm ${args.join(' ')}\` failed in ${cwd}:\n${stdout}\n${stderr}`, { cause: error });
  }
}

interface Stage {
  readonly args: readonly string[];
  readonly child: ChildProcess;
  /** The exit code, or the signal's name. */
  readonly exited: Promise<number | string>;
  stdout: string;
  stderr: string;
}

function startStage(project: string, args: readonly string[], env: NodeJS.ProcessEnv): Stage {
  const child = spawn(process.execPath, ['pipeline.mjs', ...args], { cwd: project, env });
  const stage: Stage = {
    args,
    child,
    exited: once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string),
    stdout: '',
    stderr: '',
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stage.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stage.stderr += chunk));
  return stage;
}

const jsonLines = (stage: Stage): unknown[] =>
  stage.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);

const vowelsOf = (word: string): string => [...word].filter((c) => 'aeiou'.includes(c)).join('');

describe('from npm pack to a running pipeline, as the README tells a new user', () => {
  let work = '';
  let project = '';
  let server: Awaited<ReturnType<typeof startFauxqs>> | undefined;
  const stages: Stage[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'sqspipes-pack-'));
    project = join(work, 'project');
    await mkdir(project);
    // `npm pack` builds dist/ first (the prepack script), as `npm publish` does.
    await npm(['pack', '--pack-destination', work], ROOT);
    const tarball = (await readdir(work)).find((name) => name.endsWith('.tgz'));
    if (tarball === undefined) throw new Error(`npm pack wrote no .tgz into ${work}`);
    await npm(['init', '-y'], project);
    await npm(['install', join(work, tarball), '--prefer-offline', '--no-audit', '--no-fund'], project);
    server = await startFauxqs({ port: 0, logger: false });
  });

  afterAll(async () => {
    for (const stage of stages) if (stage.child.exitCode === null) stage.child.kill('SIGKILL');
    await server?.stop();
    if (work !== '') await rm(work, { recursive: true, force: true });
  });

  it("runs the Quick start's three stages as three processes in a fresh npm init -y project", async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    expect(readme, 'the README names the local SQS this test starts').toContain('npx --yes fauxqs');
    const quickStart = readQuickStart(readme);
    expect(quickStart.commands.map((args) => args[0])).toEqual(['generate', 'reduce', 'count']);
    expect(quickStart.env['AWS_ENDPOINT_URL_SQS']).toBe(README_ENDPOINT);
    await writeFile(join(project, 'pipeline.mjs'), quickStart.code);
    const env = cleanEnv({ ...quickStart.env, AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${server?.port}` });

    stages.push(...quickStart.commands.map((args) => startStage(project, args, env)));
    const codes = await Promise.all(stages.map((stage) => stage.exited));
    const report = stages.map((s) => `node pipeline.mjs ${s.args.join(' ')}:\n${s.stderr}`).join('\n');
    expect(codes, report).toEqual([0, 0, 0]);

    // Only the last stage prints (the others' outputs go on to the next stage's queue): each of
    // the 20 words once, with its number of vowels.
    const [words, reduced, counted] = stages.map(jsonLines) as [unknown[], unknown[], [string, number][]];
    expect([words, reduced]).toEqual([[], []]);
    expect(counted).toHaveLength(20);
    for (const [word, n] of counted) {
      expect(word).toMatch(/^[a-z]{1,10}$/);
      expect(n).toBe(vowelsOf(word).length);
    }
  });

  it('runs the vitest and node:test examples of "Testing your pipeline" as pasted in that project', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const { vitest, nodeTest } = readTestingExamples(readme);
    expect(readme).toContain('npm i -D vitest fauxqs');
    // The versions this repository tests with, from npm's cache when it has them.
    const versions = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    const dev = ['vitest', 'fauxqs'].map((name) => `${name}@${versions.devDependencies[name] ?? 'latest'}`);
    await npm(['install', '-D', ...dev, '--prefer-offline', '--no-audit', '--no-fund'], project);
    await writeFile(join(project, 'pipeline.test.mjs'), vitest);
    await writeFile(join(project, 'pipeline.node-test.mjs'), nodeTest);
    const run = async (args: readonly string[]): Promise<void> => {
      try {
        await promisify(execFile)(args[0] ?? '', args.slice(1), { cwd: project, env: cleanEnv() });
      } catch (error) {
        const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
        throw new Error(`\`${args.join(' ')}\` failed:\n${stdout}\n${stderr}`, { cause: error });
      }
    };
    await run([
      process.execPath,
      join(project, 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      'pipeline.test.mjs',
    ]);
    await run([process.execPath, '--test', 'pipeline.node-test.mjs']);
  });

  it("runs a user's own test suite of the kit, written from the README alone (test/package/outside-kit)", async () => {
    const versions = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
      dependencies: Record<string, string>;
    };
    const version = (name: string) =>
      `${name}@${versions.devDependencies[name] ?? versions.dependencies[name] ?? 'latest'}`;
    // vitest and fauxqs, as "Testing your pipeline" says (installed already by the test above).
    if (!existsSync(join(project, 'node_modules', 'vitest', 'vitest.mjs'))) {
      const dev = ['vitest', 'fauxqs'].map(version);
      await npm(['install', '-D', ...dev, '--prefer-offline', '--no-audit', '--no-fund'], project);
    }
    // For payloads.test.mjs: the S3 client, as "Large payloads through S3" says (`npm i
    // @aws-sdk/client-s3`), and AWS's Python Extended Client where there is one. For
    // lambda.test.mjs: the SQS client sqspipes uses, to find a queue of timers and send a raw body.
    const sdk = ['@aws-sdk/client-s3', '@aws-sdk/client-sqs'].map(version);
    await npm(['install', ...sdk, '--prefer-offline', '--no-audit', '--no-fund'], project);
    const python = await pythonExtendedClient();
    if ('skip' in python) console.warn(`outside-kit/payloads.test.mjs: ${python.skip}`);
    const pythonEnv: Record<string, string> =
      'client' in python ? { SQSPIPES_PYTHON_EXTENDED_CLIENT: python.client.python } : {};
    const from = join(ROOT, 'test', 'package', 'outside-kit');
    const to = join(project, 'outside-kit');
    await mkdir(to, { recursive: true });
    const files = (await readdir(from)).filter((name) => name.endsWith('.mjs'));
    expect(files.length).toBeGreaterThan(0);
    for (const name of files) await writeFile(join(to, name), await readFile(join(from, name)));
    // `npx vitest run outside-kit`, with the project's vitest on this Node (the system's may be older).
    const vitest = join(project, 'node_modules', 'vitest', 'vitest.mjs');
    const result = await promisify(execFile)(process.execPath, [vitest, 'run', 'outside-kit'], {
      cwd: project,
      env: cleanEnv(pythonEnv),
      maxBuffer: 64 * 1024 * 1024,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, output: `${stdout}\n${stderr}` }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({
        code: error.code ?? -1,
        output: `${error.stdout ?? ''}\n${error.stderr ?? ''}`,
      }),
    );
    // What a file skipped, and why: one line each, `outside-kit: … skipped.`
    for (const line of result.output.split('\n')) if (line.startsWith('outside-kit: ')) console.warn(line);
    expect(result.code, `npx vitest run outside-kit:\n${result.output}`).toBe(0);
  }, 900_000);

  it('installs without running a script, with its license and the files its user path links to', async () => {
    const installed = join(project, 'node_modules', 'sqspipes');
    const pkg = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
    };
    const installTime = ['preinstall', 'install', 'postinstall', 'prepare'];
    expect(Object.keys(pkg.scripts ?? {}).filter((name) => installTime.includes(name))).toEqual([]);
    expect(await readFile(join(installed, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    // The README's relative links (and images) point at files of the package: npm shows the
    // README, and a user reads it in node_modules.
    const readme = await readFile(join(installed, 'README.md'), 'utf8');
    const targets = [...readme.matchAll(/\]\(([^)#:]+)(?:#[^)]*)?\)/g)].map((m) => m[1] ?? '');
    expect(targets.length).toBeGreaterThan(0);
    const missing = targets.filter((target) => !existsSync(join(installed, target)));
    expect(missing, 'README links to files the npm package does not hold').toEqual([]);
  });
});
