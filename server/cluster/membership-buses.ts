/**
 * Where each piece of the cluster's membership state lives, and how its scripts are run there.
 * A user's connections and presence are in the user's partition, a room's members, holds and
 * typing in the room's (cluster/membership-prelude). With one Redis every partition is the one
 * bus; on a Redis Cluster each is a partition of the ClusterBus (bus/cluster-partitions).
 */
import { errorCodes, type ErrorCode } from '../../shared/codes.js';
import { channels } from '../bus/channels.js';
import type { ClusterBus } from '../bus/cluster-bus.js';
import type { RedisBus } from '../bus/redis-bus.js';
import { RealtimeError } from '../errors.js';
import * as partitionScripts from './partition-scripts.js';
import * as roomScripts from './room-scripts.js';
import * as userScripts from './user-scripts.js';

export interface MembershipBuses {
  /** The bus of the user's partition. */
  forUser(userId: string): RedisBus;
  /** The bus of the room's partition. */
  forRoom(roomId: string): RedisBus;
  /** Every partition's bus, once each, in partition order. */
  all(): readonly RedisBus[];
}

/** One Redis: one partition. */
export function oneBus(bus: RedisBus): MembershipBuses {
  return { forUser: () => bus, forRoom: () => bus, all: () => [bus] };
}

/** A Redis Cluster: the partition of `user:<id>` and of `room:<id>` (read once the bus has started). */
export function clusterBuses(bus: ClusterBus): MembershipBuses {
  const of = (channel: string) => bus.partitionBuses[bus.partitions.partitionOf(channel)]!;
  return { forUser: (userId) => of(channels.user(userId)), forRoom: (roomId) => of(channels.room(roomId)), all: () => bus.partitionBuses };
}

const scriptSources = {
  clusterConnect: userScripts.connectScript,
  clusterDisconnect: userScripts.disconnectScript,
  clusterPresence: userScripts.presenceScript,
  clusterActivity: userScripts.activityScript,
  clusterSession: userScripts.sessionScript,
  clusterHold: roomScripts.holdScript,
  clusterRelease: roomScripts.releaseScript,
  clusterLeaveOffline: roomScripts.leaveOfflineScript,
  clusterTyping: roomScripts.typingScript,
  clusterSweepTyping: roomScripts.sweepTypingScript,
  clusterHeartbeat: partitionScripts.heartbeatScript,
  clusterReap: partitionScripts.reapScript,
  clusterSnapshot: partitionScripts.snapshotScript,
} as const;

export type ScriptName = keyof typeof scriptSources;

/** Runs a membership script in a partition; refusals and failures become RealtimeErrors. */
export async function runScript(bus: RedisBus, name: ScriptName, ...args: Array<string | number>): Promise<unknown> {
  try {
    return await bus.runScript(name, scriptSources[name], args);
  } catch (error) {
    throw toRealtimeError(error);
  }
}

/** Runs a mutation of a room's state and waits until this process's replica holds its result. */
export async function runChange(bus: RedisBus, name: ScriptName, ...args: Array<string | number>): Promise<void> {
  const sequence = Number(await runScript(bus, name, ...args));
  if (sequence > 0) await bus.delivered(sequence);
}

/** What a script of a user's state answers (cluster/user-scripts). */
export interface UserChange {
  /** Of its last change; 0 for none. */
  sequence: number;
  /** The user's session (see sessionGen in membership-prelude). */
  gen: number;
  /** The presence or idle change it published, whole; '' for none. */
  presenceMessage: string;
}

export async function runUserChange(bus: RedisBus, name: ScriptName, ...args: Array<string | number>): Promise<UserChange> {
  const [sequence, gen, presenceMessage] = (await runScript(bus, name, ...args)) as [number, number, string];
  return { sequence: Number(sequence), gen: Number(gen), presenceMessage };
}

/** Scripts answer `CODE message` for refusals; anything else means Redis is unavailable. */
function toRealtimeError(error: unknown): RealtimeError {
  const message = error instanceof Error ? error.message : String(error);
  const [code, ...rest] = message.split(' ');
  if ((errorCodes as readonly string[]).includes(code ?? '')) return new RealtimeError(code as ErrorCode, rest.join(' '));
  return new RealtimeError('SERVICE_UNAVAILABLE', 'The cluster state (Redis) is unavailable', { cause: error });
}
