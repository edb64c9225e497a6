/**
 * Engine profiles: postgres, mysql (MySQL and MariaDB), redis, mongodb, custom,
 * running and none. Declared once in profiles.ts; validated (validate.ts), detected
 * from an archive (detect.ts) and carried to the host as bash (bash.ts).
 */
export * from './bash.ts';
export * from './checks.ts';
export * from './detect.ts';
export * from './profiles.ts';
export * from './validate.ts';
