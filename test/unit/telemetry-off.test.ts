import { describe, expect, it } from 'vitest';
import { loadTelemetry } from '../../src/observe/otel-telemetry.ts';

// This file registers no OpenTelemetry provider (each test file runs in its own process).
describe('telemetry with the API installed but no provider registered', () => {
  it('starts no span and injects no context: messages carry nothing extra', async () => {
    const telemetry = await loadTelemetry();
    expect(telemetry.enabled).toBe(true);
    expect(telemetry.tracing()).toBe(false);
    const send = telemetry.send('app-a-p0.fifo');
    expect(send.carrier).toBeUndefined();
    send.end();
    const call = telemetry.call('a', () => [{ queue: 'app-a-p0.fifo', messageId: 'm', carrier: undefined }]);
    expect(call.run(() => 42)).toBe(42);
    // Not recording (nor metering): the inputs of a call are never even read.
    const unread = telemetry.call('a', () => {
      throw new Error('read');
    });
    unread.end();
    call.end(new Error('x'));
  });
});
