import * as z from 'zod';

/** One parameter of an SSM Command document (the subset Lifeboat uses). */
export const DocumentParameter = z.strictObject({
  type: z.enum(['String', 'StringList']),
  description: z.string().optional(),
  default: z.string().optional(),
  allowedPattern: z.string().min(2),
  allowedValues: z.array(z.string()).optional(),
  /** SSM refuses longer values (the host script checks the same limit). */
  maxChars: z.number().int().positive().optional(),
  interpolationType: z.literal('ENV_VAR').optional(),
});
export type DocumentParameter = z.infer<typeof DocumentParameter>;

const RunShellScriptStep = z.strictObject({
  action: z.literal('aws:runShellScript'),
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/),
  precondition: z.unknown().optional(),
  inputs: z.strictObject({
    runCommand: z.array(z.string()).min(1),
    timeoutSeconds: z
      .string()
      .regex(/^[0-9]+$/)
      .optional(),
    workingDirectory: z.string().optional(),
  }),
});

/** An SSM Command document, schema 2.2, running shell scripts on Linux. */
export const CommandDocument = z.strictObject({
  schemaVersion: z.literal('2.2'),
  description: z.string(),
  parameters: z.record(z.string().regex(/^[A-Za-z0-9]+$/), DocumentParameter),
  mainSteps: z.array(RunShellScriptStep).min(1),
});
export type CommandDocument = z.infer<typeof CommandDocument>;
