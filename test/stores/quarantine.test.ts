import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import { InvalidPartitionError } from '../../lib/stores/offline-layout.js';
import { quarantineRecords, readQuarantine } from '../../lib/stores/quarantine.js';

let dir: string;
let store: FileSystemObjectStore;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fstore-quarantine-'));
  store = new FileSystemObjectStore({ root: dir });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const now = new Date('2024-01-31T12:00:00.000Z');
const bytes = (text: string) => Buffer.from(text).toString('base64');

describe('quarantine', () => {
  it('keeps each record with its reason under the day it was quarantined, any bytes intact', async () => {
    const hostile = '{"user_id": 1, "note": "line\\nbreak \\u0000 \' OR \'1\'=\'1"';

    const key = await quarantineRecords(
      store,
      'transactions',
      [
        {
          data: bytes(hostile),
          reason: 'not JSON: Unexpected end of JSON input',
          shardId: 'shardId-0',
          sequenceNumber: '42',
        },
        { data: bytes('{"user_id":"x"}'), reason: 'user_id is "x"; it is int64, so give an integer' },
      ],
      now,
    );

    expect(key).toMatch(/^quarantine\/transactions\/dt=2024-01-31\/1706702400000-[0-9a-f-]{36}\.jsonl$/);
    const kept = await readQuarantine(store, 'transactions', '2024-01-31');
    expect(kept).toEqual([
      {
        data: bytes(hostile),
        reason: 'not JSON: Unexpected end of JSON input',
        shardId: 'shardId-0',
        sequenceNumber: '42',
        quarantinedAt: '2024-01-31T12:00:00.000Z',
      },
      {
        data: bytes('{"user_id":"x"}'),
        reason: 'user_id is "x"; it is int64, so give an integer',
        quarantinedAt: '2024-01-31T12:00:00.000Z',
      },
    ]);
    expect(Buffer.from(kept[0]?.data ?? '', 'base64').toString()).toBe(hostile);
  });

  it('writes nothing for no records', async () => {
    expect(await quarantineRecords(store, 'transactions', [], now)).toBeUndefined();
    expect(await readQuarantine(store, 'transactions', '2024-02-01')).toEqual([]);
  });

  it('refuses a source name that cannot be part of a path', async () => {
    await expect(quarantineRecords(store, '../etc', [{ data: '', reason: 'x' }], now)).rejects.toThrow(
      InvalidPartitionError,
    );
  });
});
