import type { TestProject } from 'vitest/node';
import { startBackend } from './backend.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    sqsEndpoint: string;
    sqsRegion: string;
    sqsBackend: string;
  }
}

/** Starts the SQS backend once for the whole integration tier and hands its endpoint to every test. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const backend = await startBackend();
  process.stderr.write(
    `\nsqspipes integration tests: SQS backend = ${backend.name} at ${backend.endpoint}\n\n`,
  );
  project.provide('sqsEndpoint', backend.endpoint);
  project.provide('sqsRegion', backend.region);
  project.provide('sqsBackend', backend.name);
  return () => backend.stop();
}
