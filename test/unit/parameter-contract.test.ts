/**
 * The documents' parameters are the one contract (runbooks/<name>/<name>.yaml). The
 * TypeScript patterns that check the same values before they reach a document (the
 * request schema, the archive key, the protect config, the image policy) must accept
 * exactly what the document accepts, so a value the API takes is never refused on the
 * host, and the host never accepts more than the API checked.
 */
import { describe, expect, it } from 'vitest';
import { PREFIX_PATTERN, SOURCE_PATTERN, VOLUME_PATTERN } from '#core/archive-key.ts';
import { IMAGE_PATTERN } from '#core/policy.ts';
import { CHECK_TEXT_PATTERN, CUSTOM_COMMAND_PATTERN } from '#core/engines/checks.ts';
import { CONTAINER_PATTERN, ENV_FILE_PATTERN, MOUNT_PATH_PATTERN } from '#core/restore/request.ts';
import { loadDocument } from '#core/runbooks/document.ts';
import type { DocumentName } from '#core/paths.ts';

/** [document, parameter, TypeScript pattern]; an optional parameter's pattern also takes ''. */
const CONTRACT: readonly (readonly [DocumentName, string, RegExp])[] = [
  ['restore-volume', 'VolumeName', VOLUME_PATTERN],
  ['restore-volume', 'ContainerName', CONTAINER_PATTERN],
  ['restore-volume', 'MountPath', MOUNT_PATH_PATTERN],
  ['restore-volume', 'ContainerEnvFile', ENV_FILE_PATTERN],
  ['restore-volume', 'ContainerImage', IMAGE_PATTERN],
  ['restore-volume', 'HelperImage', IMAGE_PATTERN],
  ['restore-volume', 'VerifyQuery', CHECK_TEXT_PATTERN],
  ['restore-volume', 'HealthCommand', CUSTOM_COMMAND_PATTERN],
  ['backup-volume', 'VolumeName', VOLUME_PATTERN],
  ['backup-volume', 'ContainerName', CONTAINER_PATTERN],
  ['backup-volume', 'MountPath', MOUNT_PATH_PATTERN],
  ['backup-volume', 'Source', SOURCE_PATTERN],
  ['backup-volume', 'KeyPrefix', PREFIX_PATTERN],
  ['backup-volume', 'HelperImage', IMAGE_PATTERN],
];

/** `^X$` → `X`, with JavaScript's `\/` written as the plain `/` a document's (ERE) pattern uses. */
const body = (source: string): string => source.replace(/^\^/, '').replace(/\$$/, '').replaceAll('\\/', '/');

describe('parameter contract: TypeScript patterns are the documents’ patterns', () => {
  it.each(CONTRACT)('%s %s', (name, param, pattern) => {
    const declared = loadDocument(name).parameters[param]?.allowedPattern;
    expect(declared, `${name} declares ${param}`).toBeDefined();
    // The same pattern, or the same pattern made optional: ^(X)?$.
    expect([`^${body(pattern.source)}$`, `^(${body(pattern.source)})?$`]).toContain(declared);
  });
});

describe('the check text pattern holds every engine’s checks', () => {
  it.each([
    "select count(*) from orders where state = 'paid'",
    'DBSIZE',
    'SCARD users:active',
    'db.getSiblingDB("shop").orders.countDocuments({status: "paid"})',
    'pg_isready -q -U app',
    'mysqladmin ping --silent',
  ])('%j', (text) => {
    expect(text).toMatch(CHECK_TEXT_PATTERN);
  });
});
