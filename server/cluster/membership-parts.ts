/**
 * The steps of a user's change that cross partitions. A user's presence changes in the user's
 * partition; the user's rooms may live in others. The user's script publishes the change to the
 * operators' `presence` channel and to the rooms in its own partition, atomically with the
 * change; then the same event (its one id, `parts`: core/partitioned-delivery delivers it once)
 * is published to the rooms of each other partition, and when the user went offline, they leave
 * those rooms (leaveOffline, guarded by their session). These later steps are not atomic with the
 * change: a room's members in another partition hear it a few milliseconds later, and if this
 * process dies in between, the offline sweep (cluster/offline-sweep) takes the user out.
 *
 * With one Redis every room is in the user's partition: the change, its event and the leaves are
 * one script, as before the split.
 */
import { channels } from '../bus/channels.js';
import type { RedisBus } from '../bus/redis-bus.js';
import { decodeMessage, type WireMessage } from '../bus/redis-wire.js';
import { runChange, runScript, type MembershipBuses } from './membership-buses.js';

/** A user's rooms, by partition, as seen from the user's partition. */
export interface UserRooms {
  /** The bus of the user's partition. */
  userBus: RedisBus;
  /** The rooms in the user's own partition (passed to the user's script). */
  own: string[];
  /** The rooms in each other partition. */
  others: Map<RedisBus, string[]>;
  /** How many partitions a presence change of the user goes to: the user's, and each of `others`. */
  parts: number;
}

export function userRooms(buses: MembershipBuses, userId: string, rooms: readonly string[]): UserRooms {
  const userBus = buses.forUser(userId);
  const own: string[] = [];
  const others = new Map<RedisBus, string[]>();
  for (const roomId of rooms) {
    const bus = buses.forRoom(roomId);
    if (bus === userBus) own.push(roomId);
    else {
      const group = others.get(bus);
      if (group) group.push(roomId);
      else others.set(bus, [roomId]);
    }
  }
  return { userBus, own, others, parts: 1 + others.size };
}

/** The user's script's arguments for their rooms: the rooms in its partition, and the number of parts. */
export const roomArguments = (rooms: UserRooms): [string, number] => [JSON.stringify(rooms.own), rooms.parts];

/** Publishes a presence or idle change the user's script published (`presenceMessage`) to the user's rooms in other partitions. */
export async function publishOtherParts(presenceMessage: string, rooms: UserRooms): Promise<void> {
  if (presenceMessage === '' || rooms.others.size === 0) return;
  const { event } = decodeMessage(JSON.parse(presenceMessage) as WireMessage, 0);
  for (const [bus, roomIds] of rooms.others) {
    const to = roomIds.map(channels.roomMembers);
    const part = { eventId: event.id, parts: rooms.parts };
    if (event.type === 'user.presence') {
      // The metadata is kept once, in the user's presence key: room streams keep the change without it.
      const { metadata: _metadata, ...stored } = event.data;
      await bus.publish({ type: event.type, data: event.data, channels: to, userId: event.data.userId, senderId: event.data.userId }, { ...part, storedData: stored });
    } else if (event.type === 'user.idle') {
      await bus.publish({ type: event.type, data: event.data, channels: to, userId: event.data.userId, senderId: event.data.userId }, part);
    }
  }
}

/** The user went offline at the end of session `gen`: out of their rooms in other partitions. */
export async function leaveOtherPartitions(userId: string, gen: number, rooms: UserRooms): Promise<void> {
  await Promise.all([...rooms.others].map(([bus, roomIds]) => runChange(bus, 'clusterLeaveOffline', userId, gen, ...roomIds)));
}

/** The same for all their rooms, those in the user's own partition too (the offline sweep). */
export async function leaveRooms(userId: string, gen: number, rooms: UserRooms): Promise<void> {
  if (rooms.own.length > 0) await runChange(rooms.userBus, 'clusterLeaveOffline', userId, gen, ...rooms.own);
  await leaveOtherPartitions(userId, gen, rooms);
}

/**
 * Reaps what a dead process held in one partition (partition-scripts reapScript); its users who
 * went offline hear so in, and leave, their rooms in other partitions too.
 */
export async function reapPartition(bus: RedisBus, deadProcessId: string, deadAfterMs: number, roomsOfUser: (userId: string) => UserRooms): Promise<void> {
  const users = await bus.redis.smembers(bus.key(`proc:${deadProcessId}:users`));
  const rooms = new Map(users.map((userId) => [userId, roomsOfUser(userId)]));
  const known = Object.fromEntries([...rooms].map(([userId, ofUser]) => [userId, [ofUser.own, ofUser.parts]]));
  const offline = (await runScript(bus, 'clusterReap', deadProcessId, deadAfterMs, JSON.stringify(known))) as string[];
  for (let index = 0; index + 2 < offline.length; index += 3) {
    const [userId, gen, presenceMessage] = [offline[index]!, Number(offline[index + 1]), offline[index + 2]!];
    const ofUser = rooms.get(userId) ?? roomsOfUser(userId);
    await publishOtherParts(presenceMessage, ofUser);
    await leaveOtherPartitions(userId, gen, ofUser);
  }
}
