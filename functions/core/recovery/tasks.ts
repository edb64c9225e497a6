/**
 * The one entry the state machine's task states call: every Task state's Parameters are
 * `{FunctionName: <the recovery tasks function>, Payload: {task: '<name>', input: {…}}}`. The
 * Lambda handler and the local runner's task overrides both hand the Payload to runRecoveryTask,
 * so the definition that deploys is the definition that runs locally, down to the payloads.
 */
import * as z from 'zod';
import { ExecutionInput, HostCheck, LaunchInput, MemberTask, PreparedRecovery, ReportInput, WaveEnd, type RecoveryTasks } from './model.ts';

export const TASK_NAMES = ['prepare', 'launch', 'checkHost', 'restoreMember', 'waveEnded', 'report'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

const LaunchTask = LaunchInput.extend({ launch: z.object({ id: z.string(), version: z.string().optional() }) });

/** A task payload: which task, and its input (checked by the task's own schema). */
export const TaskPayload = z.discriminatedUnion('task', [
  z.strictObject({ task: z.literal('prepare'), input: ExecutionInput }),
  z.strictObject({ task: z.literal('launch'), input: LaunchTask }),
  z.strictObject({ task: z.literal('checkHost'), input: HostCheck }),
  z.strictObject({ task: z.literal('restoreMember'), input: MemberTask }),
  z.strictObject({ task: z.literal('waveEnded'), input: WaveEnd }),
  z.strictObject({ task: z.literal('report'), input: ReportInput }),
]);
export type TaskPayload = z.infer<typeof TaskPayload>;

/** Runs one task of the recovery state machine. A payload that does not parse is a bug in the definition: it throws. */
export async function runRecoveryTask(tasks: RecoveryTasks, payload: unknown): Promise<unknown> {
  const p = TaskPayload.parse(payload);
  switch (p.task) {
    case 'prepare':
      return PreparedRecovery.parse(await tasks.prepare(p.input));
    case 'launch':
      return tasks.launch(p.input);
    case 'checkHost':
      return tasks.checkHost(p.input);
    case 'restoreMember':
      await tasks.startMember(p.input);
      return { started: p.input.volume };
    case 'waveEnded':
      return tasks.waveEnded(p.input);
    case 'report':
      return tasks.report(p.input);
  }
}
