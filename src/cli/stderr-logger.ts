import type { Logger } from '../types.ts';

/**
 * The CLI's logger: one line per record on stderr, `info` and up (what an operator should see
 * unasked, e.g. a stage stopping on its idle timeout); `debug` too when verbose.
 */
export function stderrLogger(verbose: boolean): Logger {
  const write = (level: string) => (obj: object, msg?: string) => {
    const fields = Object.entries(obj)
      .map(([k, v]) => `${k}=${v instanceof Error ? JSON.stringify(v.message) : JSON.stringify(v)}`)
      .join(' ');
    process.stderr.write(`sqspipes ${level}: ${msg ?? ''}${fields === '' ? '' : ` ${fields}`}\n`);
  };
  const none = () => {};
  return {
    debug: verbose ? write('debug') : none,
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
  };
}
