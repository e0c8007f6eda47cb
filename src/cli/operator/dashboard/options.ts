/** The command line of `sqspipes dashboard`: its yargs options and help, and their checked values. */
import type { Argv } from 'yargs';
import { UsageError } from '../errors.ts';
import { duration, integer, optionalString, type Parsed } from '../flag-values.ts';
import { payloadBucketOptions } from '../payload-args.ts';
import { isLoopback, TOKEN_PATTERN } from './access.ts';
import type { DashboardArgs } from './command.ts';

const HELP = `Serves a live page of the domain's pipeline: its stages left to right, each level's visible, in flight and delayed counts, each dead-letter queue's count, with rates (visible messages per second, over the last 5 intervals), small charts of each stage's backlog and of its rates in and out over the last 10 minutes (estimated from the counts, so at least these), and the dead-letter messages with their reasons (a sample of up to 10 per stage, read as \`peek --dlq\` reads them: a body stored in S3 shows as where it is, or, with --payload-bucket, is read at each refresh, never deleted). With --payload-bucket, a join stage also shows its items waiting for branches and how long ago the oldest was last folded, listed as \`status --payload-bucket\` lists them, every 10 s at most (s3:ListBucket). The server reads the counts every --interval, whatever the number of open pages. Prints "dashboard: <url>" on stdout once it listens; SIGINT or SIGTERM stops it (exit 0). The page needs no network but the dashboard's own (no CDN).

Without --actions the page is read-only: POST /api/redrive/<stage> and /api/purge/<stage> answer 403. With --actions the page shows Redrive and Purge buttons for each stage's dead-letter queue (Purge deletes the dead-letter queue's messages only), and every action must carry the token in the header "Authorization: Bearer <token>" (401 without it). The token never goes in a URL: the page asks for it once per browser tab and keeps it in that tab (sessionStorage). Without --token a random one is generated and printed on stderr.

It binds to 127.0.0.1 by default, where reading needs no token and requests must name loopback (Host header localhost, 127.x.x.x or [::1]). --host with any other address requires --token, chosen by you, and then every request but the page itself needs it, reads included (it warns: plain HTTP, use a network you trust or TLS in front).

JSON endpoints: GET /api/pipeline, GET /api/dlq/<stage>, POST /api/redrive/<stage>, POST /api/purge/<stage>.`;

/** The dashboard's options, for the command's yargs builder. */
export function dashboardOptions(c: Argv): Argv {
  return c
    .option('port', { type: 'string', describe: 'TCP port, 0 to 65535; 0 picks a free one (default 8080)' })
    .option('host', {
      type: 'string',
      describe: 'address to listen on (default 127.0.0.1); not loopback needs --token, for reads too',
    })
    .option('interval', {
      type: 'string',
      describe: 'time between reads of the counts, 500ms to 1h, e.g. 1s, 2s, 1500ms (default 2s)',
    })
    .option('actions', {
      type: 'boolean',
      default: false,
      describe: 'enable redrive and purge of dead-letter queues from the page (they need the token)',
    })
    .option('token', {
      type: 'string',
      describe:
        'the token actions (and, off loopback, reads) need, 16 to 256 of A-Z a-z 0-9 . _ ~ - (default with --actions: random)',
    })
    .options(
      payloadBucketOptions(
        "show the stored bodies of dead letters (read, never deleted) instead of where they are, and each join stage's items waiting",
      ),
    )
    .epilogue(HELP);
}

/** The checked values of the dashboard's flags. */
export function dashboardArgs(parsed: Parsed): DashboardArgs {
  const actions = parsed['actions'] === true;
  const host = optionalString(parsed, 'host') ?? '127.0.0.1';
  const token = optionalString(parsed, 'token');
  if (token !== undefined && !actions && isLoopback(host)) {
    throw new UsageError('--token applies only with --actions or a --host that is not loopback');
  }
  if (token !== undefined && !TOKEN_PATTERN.test(token)) {
    throw new UsageError('--token must be 16 to 256 characters, each a letter, digit, ., _, ~ or -');
  }
  return {
    host,
    port: integer(parsed, 'port', 0, 65_535) ?? 8080,
    interval: duration(parsed, 'interval', 500, 3_600_000) ?? 2000,
    actions,
    token,
  };
}
