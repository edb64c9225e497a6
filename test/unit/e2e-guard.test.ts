import { afterEach, describe, expect, it } from 'vitest';
import setup from '#root/test/e2e/support/global-setup.ts';

describe('the e2e suite without a Docker engine', () => {
  const saved = process.env.DOCKER_HOST;
  afterEach(() => {
    if (saved === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved;
  });

  it('fails with how to start one, instead of skipping', async () => {
    process.env.DOCKER_HOST = 'unix:///nonexistent/docker.sock';
    await expect(setup()).rejects.toThrow(/need a running Docker engine[\s\S]*bash \.ci\/run[\s\S]*dockerd/);
  });
});
