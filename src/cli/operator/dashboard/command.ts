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
  /** `--token`; undefined: one is generated with `actions` on loopback (off loopback it is required). */
  readonly token: string | undefined;
}

/**
 * `sqspipes dashboard`: serves the live page until SIGINT or SIGTERM, then resolves (exit 0).
 * Prints `dashboard: <url>` on stdout once it listens. The URL never carries the token: the page
 * asks for it; a token generated here (actions on loopback) is said once on stderr.
 */
export async function dashboardCommand(ctx: OperatorContext, args: DashboardArgs): Promise<void> {
  const bind = checkBind(args.host, args.actions, args.token !== undefined);
  if (!bind.ok) throw new UsageError(bind.error);
  if (bind.warning !== undefined) ctx.note(bind.warning);
  const generated = args.actions && args.token === undefined ? generateToken() : undefined;
  const token = args.token ?? generated;
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
    const url = `http://${urlHost(args.host)}:${server.port}/`;
    if (ctx.json) await printJson({ dashboard: url });
    else await writeOut(`dashboard: ${url}\n`);
    ctx.note(
      `Serving the dashboard of domain ${ctx.domain}${args.actions ? ' (actions enabled)' : ''}; Ctrl-C stops`,
    );
    if (generated !== undefined) {
      ctx.note(
        `Redrive and purge need the token ${generated}: the page asks for it once per tab (scripts send "Authorization: Bearer <token>")`,
      );
    }
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
