/**
 * The documents' parameters are the one contract (runbooks/<name>/<name>.yaml). The
 * TypeScript patterns that check the same values before they reach a document (the
 * request schema, the archive key, the protect config, the image policy) must accept
 * exactly what the document accepts, so a value the API takes is never refused on the
 * host, and the host never accepts more than the API checked.
 */
import { describe, expect, it } from 'vitest';
import { PREFIX_PATTERN, SOURCE_PATTERN, VOLUME_PATTERN } from '#core/archive-key.ts';
import { ALLOWED_IMAGE_PATTERN, IMAGE_PATTERN, RestorePolicy, imageAllowed } from '#core/policy.ts';
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

describe('image references: registries with a port and ECR, and nothing looser', () => {
  const digest = `sha256:${'c'.repeat(64)}`;
  it.each([
    'local/lifeboat-helper:1',
    'postgres',
    `127.0.0.1:5000/lifeboat-helper@${digest}`,
    'localhost:5000/team/postgres:15',
    `123456789012.dkr.ecr.eu-west-1.amazonaws.com/lifeboat-helper@${digest}`,
    '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/cdk-hnb659fds-container-assets-123456789012-cn-north-1:abc123',
    'registry:5000', // repository registry, tag 5000
  ])('accepts %s', (image) => {
    expect(image).toMatch(IMAGE_PATTERN);
  });
  it.each(['Local/helper', 'registry:5000/', 'a/b:5000/c', 'registry:123456/x', 'x y', 'x;rm -rf /', `x@sha256:${'c'.repeat(63)}`])('refuses %j', (image) => {
    expect(image).not.toMatch(IMAGE_PATTERN);
  });

  it('the allowlist takes a registry with a port, as a prefix or a pinned repository, but no tag', () => {
    const registry = '127.0.0.1:5000/';
    const pinned = `127.0.0.1:5000/lifeboat-e2e/postgres@${digest}`;
    expect(RestorePolicy.parse({ allowedImages: [registry, pinned] }).allowedImages).toEqual([registry, pinned]);
    for (const bad of ['127.0.0.1:5000', '127.0.0.1:5000/postgres:15', `127.0.0.1:5000/@${digest}`, 'a/b:5000/c']) {
      expect(RestorePolicy.safeParse({ allowedImages: [bad] }).success, bad).toBe(false);
    }
    expect(ALLOWED_IMAGE_PATTERN.test('123456789012.dkr.ecr.eu-west-1.amazonaws.com/')).toBe(true);
    const policy = RestorePolicy.parse({ allowedImages: [pinned] });
    expect(imageAllowed(policy, pinned)).toBe(true);
    expect(imageAllowed(policy, `127.0.0.1:5000/lifeboat-e2e/postgres@sha256:${'d'.repeat(64)}`)).toBe(false);
    expect(imageAllowed(RestorePolicy.parse({ allowedImages: [registry] }), pinned)).toBe(true);
    expect(imageAllowed(RestorePolicy.parse({ allowedImages: [registry] }), '127.0.0.1:5001/lifeboat-e2e/postgres')).toBe(false);
  });
});
