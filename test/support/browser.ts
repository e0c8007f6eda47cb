import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The names a Chromium is installed under (Debian's `chromium`, Ubuntu's, Google's). */
const NAMES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'];
const PATHS = ['/usr/bin/chromium', '/usr/lib/chromium/chromium', '/snap/bin/chromium'];

/** Where {@link findChromium} looks, for the message that says none was found. */
export const CHROMIUM_LOOKED_FOR = `$SQSPIPES_CHROMIUM, ${NAMES.join(', ')} on PATH, ${PATHS.join(', ')}`;

/** The system's Chromium (or Chrome) executable, or undefined when there is none. */
export function findChromium(): string | undefined {
  const given = process.env['SQSPIPES_CHROMIUM'];
  const dirs = (process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '');
  const candidates = [
    ...(given === undefined || given === '' ? [] : [given]),
    ...NAMES.flatMap((name) => dirs.map((dir) => join(dir, name))),
    ...PATHS,
  ];
  return candidates.find(executable);
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
