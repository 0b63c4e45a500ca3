/**
 * The database stopped mid-stream (issue 21): a PostgreSQL of the test's own (initdb + pg_ctl on a
 * free port) under a real server. While it is down, live delivery goes on, /readyz stays ready and
 * reports the store degraded, failed batches are counted; when it returns the queued rows catch up,
 * none lost and none twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, ofType } from '../support/collect.js';
import { createThrowawayDatabase, requirePostgres, startOwnPostgres, type OwnPostgres } from '../support/postgres.js';
import { startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const enabled = await requirePostgres();

interface Readiness {
  ready: boolean;
  store: { state: string; queued: number; reason?: string };
}

describe.skipIf(!enabled)('the database stopped mid-stream', () => {
  let postgres: OwnPostgres;
  let t: TestServer;

  beforeAll(async () => {
    postgres = await startOwnPostgres();
    const database = await createThrowawayDatabase(postgres.adminUrl);
    t = await startServer({ databaseUrl: database.url });
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    await postgres?.destroy();
  });

  const readiness = async () => (await (await fetch(`${t.url}/readyz`)).json()) as Readiness;
  const failedBatches = async () => Number(/^realtime_store_failed_batches_total (\d+)/m.exec(await (await fetch(`${t.url}/metrics`)).text())?.[1]);

  it('delivers while it is down and writes the backlog once it returns', async () => {
    const worker = t.connect(await t.token('worker-out', 'service')).api;
    const alice = t.connect(await t.token('alice-out')).api;
    const live = collect(alice.onNotification, {});
    await waitFor(() => live.started, 'subscribed');
    await worker.notifications.notify.mutate({ userId: 'alice-out', title: 'before', message: 'stored at once' });
    expect((await alice.notifications.list.query({ limit: 10 })).items).toHaveLength(1);
    expect(await readiness()).toMatchObject({ ready: true, store: { state: 'ready', queued: 0 } });

    await postgres.stop();
    for (let index = 0; index < 20; index++) await worker.notifications.notify.mutate({ userId: 'alice-out', title: `during ${index}`, message: 'queued' });
    // Delivery did not wait for the database.
    await waitFor(() => ofType(live.events, 'notification.new').length === 21, 'every notification delivered live');
    const degraded = await waitFor(async () => {
      const now = await readiness();
      return now.store.state === 'degraded' ? now : undefined;
    }, 'the store reported degraded', 15_000);
    expect(degraded).toMatchObject({ ready: true, store: { state: 'degraded', queued: 20 } });
    expect(degraded.store.reason).toBeTruthy();
    expect(await failedBatches()).toBeGreaterThan(0);
    await expect(alice.notifications.list.query({ limit: 10 })).rejects.toMatchObject({ data: { code: 'SERVICE_UNAVAILABLE' } });

    await postgres.start();
    await waitFor(async () => (await readiness()).store.state === 'ready', 'the store caught up', 30_000);
    const inbox = await alice.notifications.list.query({ limit: 50 });
    expect(inbox.items).toHaveLength(21);
    expect(new Set(inbox.items.map((item) => item.id)).size).toBe(21);
    expect(inbox.unreadCount).toBe(21);
    expect(await readiness()).toMatchObject({ ready: true, store: { state: 'ready', queued: 0 } });
    live.unsubscribe();
  }, 90_000);
});
