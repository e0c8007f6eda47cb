/**
 * Signal handling for the CLIs (the library never installs handlers): the first SIGINT or
 * SIGTERM aborts `controller` (graceful stop), a second one exits at once. Exiting at once loses
 * nothing: SQS delivers what was in hand again after its visibility timeout.
 */
export function onStopSignals(controller: AbortController, notice: (text: string) => void): () => void {
  let received = 0;
  const handler = (signal: NodeJS.Signals) => {
    received++;
    if (received === 1) {
      notice(`${signal}: stopping gracefully (send it again to exit at once)`);
      controller.abort(new Error(`received ${signal}`));
    } else {
      notice(`${signal}: exiting now`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
