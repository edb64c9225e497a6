/** What a per-source route lets its caller do (the unit `RestoreApi.grantSourceAccess` grants). */
export type SourceAccess = 'read' | 'restore' | 'drill' | 'cancel' | 'backup';

/**
 * Every route that reads or acts on one source's archives and restores, declared once:
 * the API construct creates exactly these (IAM-authorized), the handler routes them, and
 * the grant helper scopes `execute-api:Invoke` to them per source.
 */
export const SOURCE_ROUTES = [
  { method: 'POST', path: '/sources/{source}/restores', access: 'restore' },
  { method: 'POST', path: '/sources/{source}/drills', access: 'drill' },
  { method: 'GET', path: '/sources/{source}/restores/{id}', access: 'read' },
  { method: 'DELETE', path: '/sources/{source}/restores/{id}', access: 'cancel' },
  { method: 'GET', path: '/sources/{source}/archives', access: 'read' },
  { method: 'GET', path: '/sources/{source}/volumes', access: 'read' },
  // A backup now through SSM (the backup-volume document); {id} is the SSM command id.
  { method: 'POST', path: '/sources/{source}/backups', access: 'backup' },
  { method: 'GET', path: '/sources/{source}/backups/{id}', access: 'read' },
] as const satisfies readonly { method: string; path: string; access: SourceAccess }[];

/**
 * Whole-host recoveries of a source (every protected volume, in waves, on the recovery state
 * machine). They exist only in an API given the state machine (`RestoreApi`'s
 * `recoveryStateMachine`). A recovery is restores of the source's volumes, so whoever may
 * restore the source may recover it (access `restore`); {id} is the recovery id (rc-…).
 */
export const RECOVERY_ROUTES = [
  { method: 'POST', path: '/sources/{source}/recoveries', access: 'restore' },
  { method: 'GET', path: '/sources/{source}/recoveries/{id}', access: 'read' },
] as const satisfies readonly { method: string; path: string; access: SourceAccess }[];

/** Every source's volumes at once: for operators (it is not scoped to a source). */
export const ALL_VOLUMES_ROUTE = { method: 'GET', path: '/volumes' } as const;
