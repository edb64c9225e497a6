import * as z from 'zod';

/** One figure: its value, what it is compared with, and the ratio to that (or null when it stands alone). */
export const BenchResult = z.strictObject({
  name: z.string(),
  value: z.number(),
  /** `ratio`: a dimensionless figure (an error, a share); `load`: the 1-minute load average. */
  unit: z.enum(['s', 'ms', 'B', 'items', 'ratio', 'load']),
  baseline: z.string(),
  ratio: z.number().nullable(),
  samples: z.array(z.number()),
  /** A target the ratio is held to, and whether this run met it (a figure, not a test that fails). */
  target: z.strictObject({ op: z.enum(['>=', '<=']), value: z.number(), pass: z.boolean() }).optional(),
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
