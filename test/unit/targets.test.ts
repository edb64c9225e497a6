/**
 * Threat: anyone who may restore puts a source's data onto any tagged host (production
 * data onto a box the caller can log into). A target declares what it may receive.
 */
import { describe, expect, it } from 'vitest';
import { ClientError } from '#core/restore/errors.ts';
import { assertTargetReceives, parseSourcesTag } from '#core/restore/targets.ts';

const host = (sources?: readonly string[]) => ({ instanceId: 'i-0123456789abcdef0', online: true, pingStatus: 'Online', ...(sources ? { sources } : {}) });
const refusal = (f: () => void): ClientError => {
  try {
    f();
  } catch (e) {
    if (e instanceof ClientError) return e;
    throw e;
  }
  throw new Error('not refused');
};

describe('a target host declares the sources it may receive (lifeboat:sources)', () => {
  it('reads the tag: comma-separated names, spaces ignored, * for any; anything that is not a source name is dropped', () => {
    expect(parseSourcesTag(undefined)).toBeUndefined();
    expect(parseSourcesTag('db1')).toEqual(['db1']);
    expect(parseSourcesTag(' db1 , billing.prod,,')).toEqual(['db1', 'billing.prod']);
    expect(parseSourcesTag('*')).toEqual(['*']);
    expect(parseSourcesTag('db*, ../x, $(id), db2')).toEqual(['db2']);
    expect(parseSourcesTag('')).toEqual([]);
  });

  it('a host listing the source, or a spare host (*), receives it', () => {
    expect(() => {
      assertTargetReceives(host(['billing', 'db1']), 'db1');
    }).not.toThrow();
    expect(() => {
      assertTargetReceives(host(['*']), 'anything');
    }).not.toThrow();
  });

  it('a host without the tag is refused with 403 naming the instance, the tag and the source', () => {
    const e = refusal(() => {
      assertTargetReceives(host(), 'db1');
    });
    expect(e.statusCode).toBe(403);
    expect(e.message).toContain('instance i-0123456789abcdef0 may not receive source db1: it has no lifeboat:sources tag');
    expect(e.message).toContain('nothing was locked or sent');
    expect(e.details).toEqual({ instanceId: 'i-0123456789abcdef0', source: 'db1', tag: 'lifeboat:sources', declaredSources: null });
  });

  it.each([
    [['db2'], 'db1'],
    [['db1'], 'db10'],
    [['db1.prod'], 'db1'],
    [[], 'db1'],
    [['DB1'], 'db1'],
  ])('a host declaring %j does not receive %s (names match exactly)', (declared, source) => {
    const e = refusal(() => {
      assertTargetReceives(host(declared), source);
    });
    expect(e.statusCode).toBe(403);
    expect(e.message).toContain(`lifeboat:sources=${JSON.stringify(declared.join(','))}, which does not list it`);
  });
});
