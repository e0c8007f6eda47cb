/**
 * Prices of the payload benchmarks (payload-costs.ts, payload-compression.ts): us-east-1, first
 * tier, $ per million. SQS FIFO bills each 64 KiB of a request as one request; S3 DELETE is free.
 */
export const CHUNK = 64 * 1024;
export const PRICE = { chunk: 0.5, put: 5, get: 0.4 } as const;
