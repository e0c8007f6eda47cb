/** The operator CLI's commands, each with its positional arguments, as yargs declares them. */
export const COMMAND_USAGE = {
  status: 'status',
  purge: 'purge',
  destroy: 'destroy',
  enqueue: 'enqueue <stage> <value>',
  redrive: 'redrive <stage>',
  peek: 'peek <stage>',
  'iam-policy': 'iam-policy',
  scaling: 'scaling',
  lambda: 'lambda',
  replies: 'replies',
  dashboard: 'dashboard',
  payloads: 'payloads',
} as const;

export type CommandName = keyof typeof COMMAND_USAGE;

export const COMMAND_NAMES = Object.keys(COMMAND_USAGE) as CommandName[];

/** The options every command takes that are followed by a value. */
const GLOBAL_VALUED = ['--domain', '--region', '--endpoint'];

/**
 * The first argument that is not an option (nor the value of a global option): the command as
 * typed, which may not be one. Undefined when there is none.
 */
export function typedCommand(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') return argv[i + 1];
    if (GLOBAL_VALUED.includes(arg)) i++;
    else if (!arg.startsWith('-') || arg === '-') return arg;
  }
  return undefined;
}

/** The command of `argv`, if it names one. */
export function commandOf(argv: readonly string[]): CommandName | undefined {
  const typed = typedCommand(argv);
  return COMMAND_NAMES.find((name) => name === typed);
}

/** `a, b or c` (`and` with `conjunction`). */
export function listWords(words: readonly string[], conjunction = 'or'): string {
  return words.length <= 1
    ? words.join('')
    : `${words.slice(0, -1).join(', ')} ${conjunction} ${words[words.length - 1] ?? ''}`;
}
