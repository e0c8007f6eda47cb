/**
 * Turns the failures yargs reports (`Unknown argument: fooBar`, `Not enough non-option
 * arguments: got 0, need at least 1`) into the operator CLI's words: the flag or argument as
 * typed, and what the command takes. yargs runs with the `en` locale, so its messages are known.
 */
import {
  COMMAND_NAMES,
  COMMAND_USAGE,
  type CommandName,
  commandOf,
  listWords,
  typedCommand,
} from './commands.ts';
import { quote } from './flag-values.ts';

/** The message of `.demandCommand()`. */
export const NO_COMMAND = 'Give a command';

/** What to print for the yargs failure `message` on the command line `argv`. */
export function explainYargsFailure(message: string, argv: readonly string[]): string {
  const typed = typedCommand(argv) ?? '';
  const command = commandOf(argv);
  if (message === NO_COMMAND) return `${NO_COMMAND}: ${listWords(COMMAND_NAMES)}`;
  const suggestion = /^Did you mean (.+)\?$/.exec(message)?.[1];
  if (suggestion !== undefined) return `Unknown command ${quote(typed)}: did you mean ${suggestion}?`;
  const unknown = /^Unknown arguments?: (.+)$/s.exec(message)?.[1];
  if (unknown !== undefined) {
    if (command === undefined) {
      return `Unknown command ${quote(typed)}: the commands are ${listWords(COMMAND_NAMES, 'and')}`;
    }
    return unknownArguments(unknown.split(', '), argv, command);
  }
  const counts = /^Not enough non-option arguments: got (\d+), need at least (\d+)$/.exec(message);
  if (counts !== null && command !== undefined) {
    const missing = positionals(command).slice(Number(counts[1]));
    return `Missing ${listWords(missing, 'and')}: sqspipes ${COMMAND_USAGE[command]}`;
  }
  return message;
}

/** yargs names each unknown option both as typed and camel-cased: report them as typed. */
function unknownArguments(names: readonly string[], argv: readonly string[], command: CommandName): string {
  const options: string[] = [];
  const extra: string[] = [];
  const flags = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length);
  for (const name of names) {
    const long = `--${name}`;
    if (flags.some((a) => a === long || a.startsWith(`${long}=`) || a === `--no-${name}`)) {
      options.push(long);
    } else if (name.length === 1 && flags.some((a) => /^-[^-]/.test(a) && a.includes(name))) {
      options.push(`-${name}`);
    } else if (argv.includes(name)) {
      extra.push(name);
    }
  }
  if (options.length > 0) return `Unknown option${options.length > 1 ? 's' : ''} ${options.join(', ')}`;
  const takes = positionals(command);
  const what = takes.length === 0 ? 'no arguments' : takes.join(' ');
  return `Unexpected argument ${quote(extra[0] ?? names[0] ?? '')}: sqspipes ${command} takes ${what}`;
}

/** The positional arguments of `command`, as its usage names them (`<stage>`). */
function positionals(command: CommandName): string[] {
  return COMMAND_USAGE[command].split(' ').slice(1);
}
