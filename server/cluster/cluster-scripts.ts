/**
 * Lua for the cluster-wide state of rooms, presence and typing: check and change only. Each
 * script changes the state and publishes the changes it made, as small tagged tables that
 * TypeScript turns into their events (bus/membership-events), in the same atomic step, so every
 * process's read model, folded from those events in sequence order, matches Redis exactly.
 *
 * Common ARGV of every script: prefix, perChannel, global, ttl, knownEpoch, nowMs, and the channel
 * names a change goes to (a room's membership channel prefix, the presence channel: bus/channels, passed in
 * so that names are spelled in one place); then the script's own arguments. Ids are joined with
 * NUL in keys, since ids may contain ':' or '|'.
 */
import { publishFunction } from '../bus/redis-scripts.js';

const prelude = `${publishFunction}
local P = ARGV[1]
local NOW = tonumber(ARGV[6])
local MEMBERS_CHANNEL = ARGV[7]
local PRESENCE_CHANNEL = ARGV[8]
local function key(name) return P .. ':' .. name end
local function holdKey(roomId, userId) return key('hold:' .. roomId .. '\\0' .. userId) end
local function encodeList(list)
  if #list == 0 then return '[]' end
  return cjson.encode(list)
end
-- The sequence of the last change this script published: mutations return it, so the caller can
-- wait until its own replica has folded the change in (read your own writes).
local lastSequence = 0
-- Publishes a membership change (a table TypeScript reads as a MembershipChange) to the given
-- channels, in the same atomic step as the change itself. storedChange (optional): what the
-- channel streams keep instead (see publishFunction).
local function emit(change, channels, storedChange)
  local stored = nil
  if storedChange then stored = cjson.encode(storedChange) end
  local message = publish(P, ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], cjson.encode(change), encodeList(channels), channels, stored, 'c')
  lastSequence = tonumber(string.match(message, '"seq":(%d+)'))
  return message
end
local function membershipChannelsOf(userId)
  local channels = {}
  for _, roomId in ipairs(redis.call('SMEMBERS', key('urooms:' .. userId))) do channels[#channels + 1] = MEMBERS_CHANNEL .. roomId end
  return channels
end
local function totalConnections(userId)
  local total = 0
  for _, count in ipairs(redis.call('HVALS', key('conn:' .. userId))) do total = total + tonumber(count) end
  return total
end
local function effectiveStatus(userId)
  if totalConnections(userId) == 0 then return 'offline' end
  local presence = key('presence:' .. userId)
  local chosen = redis.call('HGET', presence, 'status') or 'online'
  if chosen == 'online' and redis.call('HGET', presence, 'idle') == '1' then return 'away' end
  return chosen
end
local function emitPresence(userId)
  local change = { kind = 'presence', userId = userId, status = effectiveStatus(userId), lastSeen = NOW }
  local channels = membershipChannelsOf(userId)
  channels[#channels + 1] = PRESENCE_CHANNEL
  -- The metadata is kept once, in the user's presence key; room streams keep the change without it.
  local metadata = redis.call('HGET', key('presence:' .. userId), 'metadata')
  if not metadata then return emit(change, channels) end
  local stored = { kind = 'presence', userId = userId, status = change.status, lastSeen = NOW }
  change.metadata = metadata
  emit(change, channels, stored)
end
local function emitConnection(kind, userId, connectionId, reason)
  emit({ kind = kind, userId = userId, connectionId = connectionId, connections = totalConnections(userId), reason = reason }, {})
end
local function removeMembership(roomId, userId, reason)
  redis.call('DEL', holdKey(roomId, userId))
  redis.call('HDEL', key('members:' .. roomId), userId)
  redis.call('SREM', key('urooms:' .. userId), roomId)
  if redis.call('HLEN', key('members:' .. roomId)) == 0 then redis.call('HDEL', key('rooms'), roomId) end
  redis.call('ZREM', key('typing'), roomId .. '\\0' .. userId)
  emit({ kind = 'left', roomId = roomId, userId = userId, reason = reason }, { MEMBERS_CHANNEL .. roomId })
end
-- The user has no connection left anywhere: offline, out of every room.
local function goOffline(userId)
  local presence = key('presence:' .. userId)
  redis.call('HSET', presence, 'lastSeen', NOW, 'idle', '0')
  -- Metadata describes a session and goes with it; an offline user's last-seen is kept as long
  -- as history, then goes:
  -- users who come once and never again must not accumulate in Redis.
  redis.call('HDEL', presence, 'metadata')
  redis.call('EXPIRE', presence, ARGV[4])
  redis.call('SREM', key('online'), userId)
  emitPresence(userId)
  for _, roomId in ipairs(redis.call('SMEMBERS', key('urooms:' .. userId))) do removeMembership(roomId, userId, 'disconnected') end
end
local function dropConnections(processId, userId, count)
  local left = redis.call('HINCRBY', key('conn:' .. userId), processId, -count)
  if left <= 0 then
    redis.call('HDEL', key('conn:' .. userId), processId)
    redis.call('SREM', key('proc:' .. processId .. ':users'), userId)
  end
  if totalConnections(userId) == 0 then goOffline(userId) end
end
local function releaseHold(roomId, userId, field, reason)
  local hold = holdKey(roomId, userId)
  if redis.call('EXISTS', hold) == 0 then return 0 end
  if field == 'x' then redis.call('HDEL', hold, 'x')
  elseif redis.call('HINCRBY', hold, field, -1) <= 0 then
    redis.call('HDEL', hold, field)
    redis.call('SREM', key('proc:' .. field .. ':holds'), roomId .. '\\0' .. userId)
  end
  if redis.call('HLEN', hold) == 0 then
    removeMembership(roomId, userId, reason)
    return 1
  end
  return 0
end
`;

/** ARGV 9..: processId, userId, connectionId. */
export const connectScript = `${prelude}
local processId, userId, connectionId = ARGV[9], ARGV[10], ARGV[11]
local wasOnline = totalConnections(userId) > 0
redis.call('HINCRBY', key('conn:' .. userId), processId, 1)
redis.call('SADD', key('proc:' .. processId .. ':users'), userId)
local presence = key('presence:' .. userId)
redis.call('HSET', presence, 'lastSeen', NOW, 'lastActivity', NOW)
redis.call('PERSIST', presence)
if not wasOnline then
  redis.call('HSET', presence, 'idle', '0')
  redis.call('HSETNX', presence, 'status', 'online')
  redis.call('SADD', key('online'), userId)
  emitPresence(userId)
end
emitConnection('connected', userId, connectionId, nil)
return lastSequence
`;

/** ARGV 9..: processId, userId, connectionId, reason. */
export const disconnectScript = `${prelude}
local processId, userId, connectionId, reason = ARGV[9], ARGV[10], ARGV[11], ARGV[12]
if tonumber(redis.call('HGET', key('conn:' .. userId), processId) or '0') <= 0 then return 0 end
dropConnections(processId, userId, 1)
emitConnection('disconnected', userId, connectionId, reason)
return lastSequence
`;

/** ARGV 9..: processId, roomId, userId, kind ('explicit' | 'subscription'), maxRoomsPerUser, maxMembersPerRoom, maxRooms. */
export const holdScript = `${prelude}
local processId, roomId, userId, kind = ARGV[9], ARGV[10], ARGV[11], ARGV[12]
local hold = holdKey(roomId, userId)
local field = kind == 'explicit' and 'x' or processId
if kind ~= 'explicit' then redis.call('SADD', key('proc:' .. processId .. ':holds'), roomId .. '\\0' .. userId) end
if redis.call('EXISTS', hold) == 1 then
  if field == 'x' then redis.call('HSET', hold, 'x', 1) else redis.call('HINCRBY', hold, field, 1) end
  return 0
end
if redis.call('SCARD', key('urooms:' .. userId)) >= tonumber(ARGV[13]) then return redis.error_reply('TOO_MANY_REQUESTS A user may be in at most ' .. ARGV[13] .. ' rooms') end
if redis.call('HLEN', key('members:' .. roomId)) >= tonumber(ARGV[14]) then return redis.error_reply('TOO_MANY_REQUESTS Room ' .. roomId .. ' is full') end
if redis.call('HEXISTS', key('rooms'), roomId) == 0 and redis.call('HLEN', key('rooms')) >= tonumber(ARGV[15]) then
  return redis.error_reply('SERVICE_UNAVAILABLE The service holds its maximum of ' .. ARGV[15] .. ' rooms')
end
redis.call('HSET', hold, field, 1)
redis.call('HSET', key('members:' .. roomId), userId, NOW)
redis.call('SADD', key('urooms:' .. userId), roomId)
redis.call('HSETNX', key('rooms'), roomId, NOW)
emit({ kind = 'joined', roomId = roomId, userId = userId }, { MEMBERS_CHANNEL .. roomId })
return lastSequence
`;

/** ARGV 9..: processId, roomId, userId, kind, reason. */
export const releaseScript = `${prelude}
local processId, roomId, userId, kind, reason = ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13]
releaseHold(roomId, userId, kind == 'explicit' and 'x' or processId, reason)
return lastSequence
`;

/** ARGV 9..: roomId, userId, isTyping ('1' | '0'), expiresAtMs. */
export const typingScript = `${prelude}
local roomId, userId, isTyping = ARGV[9], ARGV[10], ARGV[11]
if redis.call('HEXISTS', key('members:' .. roomId), userId) == 0 then return redis.error_reply('FORBIDDEN Not a member of room ' .. roomId) end
local member = roomId .. '\\0' .. userId
local changed
if isTyping == '1' then changed = redis.call('ZADD', key('typing'), ARGV[12], member) == 1
else changed = redis.call('ZREM', key('typing'), member) == 1 end
if changed then
  emit({ kind = 'typing', roomId = roomId, userId = userId, isTyping = isTyping == '1' }, { MEMBERS_CHANNEL .. roomId })
end
return lastSequence
`;

/** Expired typing indicators, each stopped exactly once whichever process sweeps. */
export const sweepTypingScript = `${prelude}
local expired = redis.call('ZRANGEBYSCORE', key('typing'), '-inf', NOW, 'LIMIT', 0, 200)
for _, member in ipairs(expired) do
  redis.call('ZREM', key('typing'), member)
  local separator = string.find(member, '\\0', 1, true)
  local roomId, userId = string.sub(member, 1, separator - 1), string.sub(member, separator + 1)
  emit({ kind = 'typing', roomId = roomId, userId = userId, isTyping = false }, { MEMBERS_CHANNEL .. roomId })
end
return #expired
`;

/** ARGV 9..: userId, status, metadataJson ('' keeps the current metadata). */
export const presenceScript = `${prelude}
local userId, status, metadata = ARGV[9], ARGV[10], ARGV[11]
if totalConnections(userId) == 0 then return redis.error_reply('PRECONDITION_FAILED Presence can be set only while connected') end
local presence = key('presence:' .. userId)
redis.call('HSET', presence, 'status', status, 'lastSeen', NOW, 'lastActivity', NOW, 'idle', '0')
if metadata ~= '' then redis.call('HSET', presence, 'metadata', metadata) end
emitPresence(userId)
return lastSequence
`;

/** ARGV 9..: userId, idleAfterMs. Marks idle once, or back to active on activity (idleAfterMs = '0'). */
export const activityScript = `${prelude}
local userId, idleAfter = ARGV[9], tonumber(ARGV[10])
if totalConnections(userId) == 0 then return 0 end
local presence = key('presence:' .. userId)
local idle = redis.call('HGET', presence, 'idle') == '1'
if idleAfter == 0 then
  redis.call('HSET', presence, 'lastActivity', NOW, 'lastSeen', NOW)
  if idle then
    redis.call('HSET', presence, 'idle', '0')
    emitPresence(userId)
  end
  return lastSequence
end
local lastActivity = tonumber(redis.call('HGET', presence, 'lastActivity') or NOW)
if idle or NOW - lastActivity < idleAfter then return 0 end
redis.call('HSET', presence, 'idle', '1')
local channels = membershipChannelsOf(userId)
channels[#channels + 1] = PRESENCE_CHANNEL
emit({ kind = 'idle', userId = userId, idleSince = NOW }, channels)
return lastSequence
`;

/**
 * ARGV 9..: processId, statsJson. Records this process as alive; returns the processes whose
 * heartbeat is older than ARGV[11] ms (candidates for reaping).
 */
export const heartbeatScript = `${prelude}
redis.call('ZADD', key('procs'), NOW, ARGV[9])
redis.call('HSET', key('procstats'), ARGV[9], ARGV[10])
return redis.call('ZRANGEBYSCORE', key('procs'), '-inf', NOW - tonumber(ARGV[11]))
`;

/**
 * ARGV 9..: deadProcessId, staleAfterMs. Removes a process that stopped heartbeating: its
 * connections and room holds go, with the usual presence and leave events. Exactly once: a
 * second reaper finds nothing left to do.
 */
export const reapScript = `${prelude}
local dead = ARGV[9]
local beat = redis.call('ZSCORE', key('procs'), dead)
if not beat or NOW - tonumber(beat) < tonumber(ARGV[10]) then return 0 end
redis.call('ZREM', key('procs'), dead)
redis.call('HDEL', key('procstats'), dead)
for _, member in ipairs(redis.call('SMEMBERS', key('proc:' .. dead .. ':holds'))) do
  local separator = string.find(member, '\\0', 1, true)
  local roomId, userId = string.sub(member, 1, separator - 1), string.sub(member, separator + 1)
  local hold = holdKey(roomId, userId)
  if redis.call('HEXISTS', hold, dead) == 1 then
    redis.call('HDEL', hold, dead)
    if redis.call('HLEN', hold) == 0 then removeMembership(roomId, userId, 'disconnected') end
  end
end
for _, userId in ipairs(redis.call('SMEMBERS', key('proc:' .. dead .. ':users'))) do
  local count = tonumber(redis.call('HGET', key('conn:' .. userId), dead) or '0')
  if count > 0 then
    dropConnections(dead, userId, count)
    emitConnection('disconnected', userId, dead, 'process lost')
  end
end
redis.call('DEL', key('proc:' .. dead .. ':holds'), key('proc:' .. dead .. ':users'))
return 1
`;

/** A consistent snapshot of rooms, members, online users' presence and typing, with the sequence it reflects. */
export const snapshotScript = `${prelude}
local rooms = redis.call('HGETALL', key('rooms'))
local members = {}
for index = 1, #rooms, 2 do members[#members + 1] = { rooms[index], redis.call('HGETALL', key('members:' .. rooms[index])) } end
local online = {}
for _, userId in ipairs(redis.call('SMEMBERS', key('online'))) do
  online[#online + 1] = { userId, redis.call('HGETALL', key('presence:' .. userId)), totalConnections(userId) }
end
local epoch = redis.call('GET', key('epoch')) or ''
-- The newest sequence, as text: cjson writes numbers with 14 digits, and sequences have 16.
local newest = redis.call('XREVRANGE', key('all:' .. epoch), '+', '-', 'COUNT', 1)[1]
local seq = '0'
if newest then
  local ms, n = string.match(newest[1], '^(%d+)-(%d+)$')
  seq = ms .. string.format('%03d', tonumber(n))
end
return cjson.encode({
  seq = seq,
  epoch = epoch,
  rooms = rooms,
  members = members,
  online = online,
  typing = redis.call('ZRANGE', key('typing'), 0, -1),
})
`;
