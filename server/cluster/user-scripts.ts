/**
 * Lua for a user's state, run in the user's partition (the partition of `user:<id>`): their
 * connections per process, their presence, the partition's `online` set. The presence and idle
 * changes go to the operators' `presence` channel and to the user's rooms in this partition (the
 * caller passes them: ARGV `roomsJson`, `parts`, see membership-prelude); the caller publishes
 * the same event to the user's rooms in other partitions (cluster/membership-parts).
 *
 * Mutations answer `{ sequence, gen, presenceMessage }`: the sequence of their last change (0 for
 * none), the user's session (see sessionGen), and the presence or idle change they published
 * ('' for none).
 */
import { prelude } from './membership-prelude.js';

/** ARGV 9..: processId, userId, connectionId, roomsJson, parts. */
export const connectScript = `${prelude}
local processId, userId, connectionId = ARGV[9], ARGV[10], ARGV[11]
local rooms, parts = cjson.decode(ARGV[12]), tonumber(ARGV[13])
local wasOnline = totalConnections(userId) > 0
redis.call('HINCRBY', key('conn:' .. userId), processId, 1)
redis.call('SADD', key('proc:' .. processId .. ':users'), userId)
local presence = key('presence:' .. userId)
redis.call('HSET', presence, 'lastSeen', NOW, 'lastActivity', NOW)
redis.call('PERSIST', presence)
if not wasOnline then
  redis.call('HSET', presence, 'idle', '0', 'gen', integer(nextSessionGen(userId)))
  redis.call('HSETNX', presence, 'status', 'online')
  redis.call('SADD', key('online'), userId)
  emitPresence(userId, rooms, parts)
end
emitConnection('connected', userId, connectionId, nil)
return { lastSequence, sessionGen(userId), presenceMessage }
`;

/** ARGV 9..: processId, userId, connectionId, reason, roomsJson, parts. */
export const disconnectScript = `${prelude}
local processId, userId, connectionId, reason = ARGV[9], ARGV[10], ARGV[11], ARGV[12]
if tonumber(redis.call('HGET', key('conn:' .. userId), processId) or '0') <= 0 then return { 0, 0, '' } end
dropConnections(processId, userId, 1, cjson.decode(ARGV[13]), tonumber(ARGV[14]))
emitConnection('disconnected', userId, connectionId, reason)
return { lastSequence, sessionGen(userId), presenceMessage }
`;

/** ARGV 9..: userId, status, metadataJson ('' keeps the current metadata), roomsJson, parts. */
export const presenceScript = `${prelude}
local userId, status, metadata = ARGV[9], ARGV[10], ARGV[11]
if totalConnections(userId) == 0 then return redis.error_reply('PRECONDITION_FAILED Presence can be set only while connected') end
local presence = key('presence:' .. userId)
redis.call('HSET', presence, 'status', status, 'lastSeen', NOW, 'lastActivity', NOW, 'idle', '0')
if metadata ~= '' then redis.call('HSET', presence, 'metadata', metadata) end
emitPresence(userId, cjson.decode(ARGV[12]), tonumber(ARGV[13]))
return { lastSequence, sessionGen(userId), presenceMessage }
`;

/**
 * ARGV 9..: userId, idleAfterMs, roomsJson, parts. Marks idle once, or back to active on
 * activity (idleAfterMs = '0').
 */
export const activityScript = `${prelude}
local userId, idleAfter = ARGV[9], tonumber(ARGV[10])
local rooms, parts = cjson.decode(ARGV[11]), tonumber(ARGV[12])
if totalConnections(userId) == 0 then return { 0, 0, '' } end
local presence = key('presence:' .. userId)
local idle = redis.call('HGET', presence, 'idle') == '1'
if idleAfter == 0 then
  redis.call('HSET', presence, 'lastActivity', NOW, 'lastSeen', NOW)
  if idle then
    redis.call('HSET', presence, 'idle', '0')
    emitPresence(userId, rooms, parts)
  end
  return { lastSequence, sessionGen(userId), presenceMessage }
end
local lastActivity = tonumber(redis.call('HGET', presence, 'lastActivity') or NOW)
if idle or NOW - lastActivity < idleAfter then return { 0, 0, '' } end
redis.call('HSET', presence, 'idle', '1')
local change = { kind = 'idle', userId = userId, idleSince = NOW }
if parts > 1 then change.n = parts end
presenceMessage = emit(change, presenceChannels(rooms))
return { lastSequence, sessionGen(userId), presenceMessage }
`;

/**
 * ARGV 9..: userId. Reads only: `{ online (1 | 0), gen, nextGen }`. A room hold records the
 * session it is for: the current one while the user is online, else `nextGen`, which no session
 * that has already ended reaches (an offline user joined over HTTP stays until their next
 * session ends, as in one process).
 */
export const sessionScript = `${prelude}
local userId = ARGV[9]
local online = totalConnections(userId) > 0 and 1 or 0
return { online, sessionGen(userId), nextSessionGen(userId) }
`;
