import { onStopSignals } from '../../signals.ts';
import type { OperatorContext } from '../context.ts';
import { UsageError } from '../errors.ts';
import { printJson, writeOut } from '../output.ts';
import { checkBind, generateToken } from './access.ts';
import { Sampler } from './sampler.ts';
import { startServer } from './server.ts';

export interface DashboardArgs {
  readonly host: string;
  /** 0: a free port. */
  readonly port: number;
  /** Milliseconds between samples of the queues' counts. */
  readonly interval: number;
  /** `--actions`: redrive and purge from the page. */
  readonly actions: boolean;
  /** `--token`; undefined: one is generated (with `actions`). */
  readonly token: string | undefined;
}

/**
 * `sqspipes dashboard`: serves the live page until SIGINT or SIGTERM, then resolves (exit 0).
 * Prints `dashboard: <url>` on stdout once it listens; with actions the URL carries the token in
 * its fragment, which browsers never send to a server.
 */
export async function dashboardCommand(ctx: OperatorContext, args: DashboardArgs): Promise<void> {
  const bind = checkBind(args.host, args.actions, args.token !== undefined);
  if (!bind.ok) throw new UsageError(bind.error);
  if (bind.warning !== undefined) ctx.note(bind.warning);
  const token = args.actions ? (args.token ?? generateToken()) : undefined;
  const controller = new AbortController();
  const dispose = onStopSignals(controller, ctx.note);
  const sampler = new Sampler(ctx, args.interval, args.actions);
  try {
    await sampler.sample(); // the page has counts from its first load
    const server = await startServer(
      { ctx, sampler, actions: args.actions, token, tags: new Map() },
      args.host,
      args.port,
    );
    const url = `http://${urlHost(args.host)}:${server.port}/${token === undefined ? '' : `#token=${token}`}`;
    if (ctx.json) await printJson({ dashboard: url });
    else await writeOut(`dashboard: ${url}\n`);
    ctx.note(
      `Serving the dashboard of domain ${ctx.domain}${args.actions ? ' (actions enabled)' : ''}; Ctrl-C stops`,
    );
    await sampler.run(controller.signal);
    await server.close();
  } finally {
    dispose();
  }
}

/** `host` as a URL writes it: an IPv6 address in brackets. */
function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
