import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { QUOTA_SUBSCRIPTION } from '../../dashboard/src/connection';

describe("the dashboard's subscription", () => {
  it('is a registered persisted operation, byte for byte, so tenants that require them can open the page', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../sdk/persisted-operations.json', import.meta.url), 'utf8')) as {
      operations: Array<{ id: string; body: string }>;
    };
    const id = createHash('sha256').update(QUOTA_SUBSCRIPTION).digest('hex');
    expect(manifest.operations.find((op) => op.id === id)?.body).toBe(QUOTA_SUBSCRIPTION);
  });
});
