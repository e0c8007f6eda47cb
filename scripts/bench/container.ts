/**
 * A memory cgroup for the benchmark's child processes, so that they run as in a container with
 * that memory limit: Node reads the limit at start (`process.constrainedMemory()`) and sizes its
 * heap, and with it V8's young generation, from it. Without a limit Node sizes them from the
 * machine's RAM: on this 24 GiB machine a 64 MiB semi-space, in a 2 GiB container 32 MiB.
 *
 * Needs a writable cgroup file system (root, or a delegated subtree): version 1 (the `memory`
 * controller's hierarchy) or version 2 (the unified one, with `memory` enabled for children).
 */
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MemoryCgroup {
  /** The cgroup's directory; a process joins it by writing its pid to `cgroup.procs` there. */
  readonly dir: string;
  /** Removes the cgroup; left in place (empty once its processes are killed) while any still runs. */
  remove(): void;
}

/**
 * Creates a child cgroup of this process's own, limited to `gib` GiB of memory. Throws an Error
 * saying why when the cgroup file system is missing or not writable here.
 */
export function createMemoryCgroup(gib: number, name: string): MemoryCgroup {
  if (!Number.isFinite(gib) || gib <= 0)
    throw new Error(`a cgroup's limit must be a number of GiB above 0, got ${gib}`);
  const limitBytes = Math.round(gib * 1024 ** 3);
  const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  const v1 = own.find((line) => line.split(':')[1]?.split(',').includes('memory'));
  const v2 = own.find((line) => line.startsWith('0::'));
  const parent =
    v1 !== undefined
      ? join('/sys/fs/cgroup/memory', v1.split(':')[2] ?? '/')
      : v2 !== undefined
        ? join('/sys/fs/cgroup', v2.slice(3))
        : undefined;
  if (parent === undefined) throw new Error('no memory cgroup found in /proc/self/cgroup');
  const dir = join(parent, name);
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, v1 !== undefined ? 'memory.limit_in_bytes' : 'memory.max'), String(limitBytes));
  } catch (error) {
    throw new Error(
      `cannot create a memory cgroup of ${gib} GiB under ${parent} (root and a writable cgroup file system are needed): ${(error as Error).message}`,
      { cause: error },
    );
  }
  return {
    dir,
    remove: () => {
      try {
        rmdirSync(dir);
      } catch {
        // A process still in it (a run that failed): the benchmark's exit kills it.
      }
    },
  };
}

/** The command that starts `command args` inside `cgroup` (a shell joins it, then execs). */
export function inCgroup(
  cgroup: string | undefined,
  command: string,
  args: readonly string[],
): { command: string; args: string[] } {
  if (cgroup === undefined) return { command, args: [...args] };
  return {
    command: '/bin/sh',
    args: ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, command, ...args],
  };
}
