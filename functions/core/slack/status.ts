import type { RestoreRecord } from '../catalog/model.ts';
import { describe } from '../restore/completion.ts';
import { oneLineData } from '../visible-text.ts';
import { linesMd, type Mrkdwn } from './mrkdwn.ts';

/**
 * A restore's or drill's record as Slack shows it (`/lifeboat status r-…`, the result posted when
 * it ends): {@link describe}'s lines, each of the record's strings (an error, verify output, phase
 * names: a host's words) kept to its line and formatting nothing.
 */
export const restoreStatusText = (record: RestoreRecord): Mrkdwn => linesMd(describe(oneLineData(record)));
