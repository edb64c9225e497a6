import * as z from 'zod';

/** One figure: its value, what it is compared with, and the ratio to that (or null when it stands alone). */
export const BenchResult = z.strictObject({
  name: z.string(),
  value: z.number(),
  unit: z.enum(['s', 'ms', 'B', 'items']),
  baseline: z.string(),
  ratio: z.number().nullable(),
  samples: z.array(z.number()),
});
export type BenchResult = z.infer<typeof BenchResult>;

/** bench/results.json */
export const BenchResults = z.strictObject({
  lifeboat: z.literal('bench-results'),
  version: z.literal(1),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  machine: z.strictObject({ cpus: z.number(), node: z.string(), smoke: z.boolean(), scale: z.number(), runs: z.number(), catalogSize: z.number() }),
  results: z.array(BenchResult),
});
export type BenchResults = z.infer<typeof BenchResults>;
