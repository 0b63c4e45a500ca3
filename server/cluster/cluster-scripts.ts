/**
 * Lua for the cluster-wide state of rooms, presence and typing. Each script changes the state
 * and publishes the events that describe the change in the same atomic step, so every process's
 * read model, folded from those events in sequence order, matches Redis exactly.
 *
 * Common ARGV of every script: prefix, perChannel, global, ttl, newEpoch, nowMs, nowIso; then the
 * script's own arguments. Ids are joined with NUL in keys, since ids may contain ':' or '|'.
 */
import { publishFunction } from '../bus/redis-scripts.js';

const prelude = `${publishFunction}
local P = ARGV[1]
local NOW = tonumber(ARGV[6])
local NOW_ISO = ARGV[7]
local function key(name) return P .. ':' .. name end
local function holdKey(roomId, userId) return key('hold:' .. roomId .. '\\0' .. userId) end
local function encodeList(list)
  if #list == 0 then return '[]' end
  return cjson.encode(list)
end
-- The sequence of the last event this script published: mutations return it, so the caller can
-- wait until its own replica has folded the change in (read your own writes).
local lastSequence = 0
local function envelopeBody(eventType, dataJson, envelope, metaValues)
  local body = '{"json":{"type":"' .. eventType .. '","data":' .. dataJson .. envelope .. '}'
  if metaValues ~= '' then body = body .. ',"meta":{"values":{' .. metaValues .. '},"v":1}' end
  return body .. '}'
end
-- storedDataJson (optional): the data the channel streams keep instead (see publishFunction).
local function emit(eventType, dataJson, envelope, metaValues, channels, storedDataJson)
  local body = envelopeBody(eventType, dataJson, envelope, metaValues)
  local storedBody = nil
  if storedDataJson then storedBody = envelopeBody(eventType, storedDataJson, envelope, metaValues) end
  local message = publish(P, ARGV[2], ARGV[3], ARGV[4], ARGV[5], body, encodeList(channels), channels, storedBody)
  lastSequence = tonumber(string.match(message, '"seq":(%d+)'))
  return message
end
local function roomChannelsOf(userId)
  local channels = {}
  for _, roomId in ipairs(redis.call('SMEMBERS', key('urooms:' .. userId))) do channels[#channels + 1] = 'room:' .. roomId end
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
local function user(userId) return ',"userId":' .. cjson.encode(userId) .. ',"senderId":' .. cjson.encode(userId) end
local function emitPresence(userId)
  local status = effectiveStatus(userId)
  local metadata = redis.call('HGET', key('presence:' .. userId), 'metadata')
  local data = '{"userId":' .. cjson.encode(userId) .. ',"status":"' .. status .. '","lastSeen":"' .. NOW_ISO .. '"'
  local channels = roomChannelsOf(userId)
  channels[#channels + 1] = 'presence'
  -- The metadata is kept once, in the user's presence key; room streams keep the event without it.
  local stored = nil
  if metadata then stored = data .. '}'; data = data .. ',"metadata":' .. metadata end
  emit('user.presence', data .. '}', user(userId), '"data.lastSeen":["Date"]', channels, stored)
end
local function emitConnection(eventType, userId, connectionId, reason)
  local data = '{"userId":' .. cjson.encode(userId) .. ',"connectionId":' .. cjson.encode(connectionId) .. ',"connections":' .. totalConnections(userId)
  if reason then data = data .. ',"reason":' .. cjson.encode(reason) end
  emit(eventType, data .. '}', ',"userId":' .. cjson.encode(userId), '', {})
end
local function roomEnvelope(roomId, userId) return ',"roomId":' .. cjson.encode(roomId) .. ',"senderId":' .. cjson.encode(userId) end
local function removeMembership(roomId, userId, reason)
  redis.call('DEL', holdKey(roomId, userId))
  redis.call('HDEL', key('members:' .. roomId), userId)
  redis.call('SREM', key('urooms:' .. userId), roomId)
  if redis.call('HLEN', key('members:' .. roomId)) == 0 then redis.call('HDEL', key('rooms'), roomId) end
  redis.call('ZREM', key('typing'), roomId .. '\\0' .. userId)
  local data = '{"roomId":' .. cjson.encode(roomId) .. ',"userId":' .. cjson.encode(userId) .. ',"reason":"' .. reason .. '"}'
  emit('room.left', data, roomEnvelope(roomId, userId), '', { 'room:' .. roomId })
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

/** ARGV 8..: processId, userId, connectionId. */
export const connectScript = `${prelude}
local processId, userId, connectionId = ARGV[8], ARGV[9], ARGV[10]
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

/** ARGV 8..: processId, userId, connectionId, reason. */
export const disconnectScript = `${prelude}
local processId, userId, connectionId, reason = ARGV[8], ARGV[9], ARGV[10], ARGV[11]
if tonumber(redis.call('HGET', key('conn:' .. userId), processId) or '0') <= 0 then return 0 end
dropConnections(processId, userId, 1)
emitConnection('disconnected', userId, connectionId, reason)
return lastSequence
`;

/** ARGV 8..: processId, roomId, userId, kind ('explicit' | 'subscription'), maxRoomsPerUser, maxMembersPerRoom, maxRooms. */
export const holdScript = `${prelude}
local processId, roomId, userId, kind = ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local hold = holdKey(roomId, userId)
local field = kind == 'explicit' and 'x' or processId
if kind ~= 'explicit' then redis.call('SADD', key('proc:' .. processId .. ':holds'), roomId .. '\\0' .. userId) end
if redis.call('EXISTS', hold) == 1 then
  if field == 'x' then redis.call('HSET', hold, 'x', 1) else redis.call('HINCRBY', hold, field, 1) end
  return 0
end
if redis.call('SCARD', key('urooms:' .. userId)) >= tonumber(ARGV[12]) then return redis.error_reply('TOO_MANY_REQUESTS A user may be in at most ' .. ARGV[12] .. ' rooms') end
if redis.call('HLEN', key('members:' .. roomId)) >= tonumber(ARGV[13]) then return redis.error_reply('TOO_MANY_REQUESTS Room ' .. roomId .. ' is full') end
if redis.call('HEXISTS', key('rooms'), roomId) == 0 and redis.call('HLEN', key('rooms')) >= tonumber(ARGV[14]) then
  return redis.error_reply('SERVICE_UNAVAILABLE The service holds its maximum of ' .. ARGV[14] .. ' rooms')
end
redis.call('HSET', hold, field, 1)
redis.call('HSET', key('members:' .. roomId), userId, NOW)
redis.call('SADD', key('urooms:' .. userId), roomId)
redis.call('HSETNX', key('rooms'), roomId, NOW)
local data = '{"roomId":' .. cjson.encode(roomId) .. ',"userId":' .. cjson.encode(userId) .. '}'
emit('room.joined', data, roomEnvelope(roomId, userId), '', { 'room:' .. roomId })
return lastSequence
`;

/** ARGV 8..: processId, roomId, userId, kind, reason. */
export const releaseScript = `${prelude}
local processId, roomId, userId, kind, reason = ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12]
releaseHold(roomId, userId, kind == 'explicit' and 'x' or processId, reason)
return lastSequence
`;

/** ARGV 8..: roomId, userId, isTyping ('1' | '0'), expiresAtMs. */
export const typingScript = `${prelude}
local roomId, userId, isTyping = ARGV[8], ARGV[9], ARGV[10]
if redis.call('HEXISTS', key('members:' .. roomId), userId) == 0 then return redis.error_reply('FORBIDDEN Not a member of room ' .. roomId) end
local member = roomId .. '\\0' .. userId
local changed
if isTyping == '1' then changed = redis.call('ZADD', key('typing'), ARGV[11], member) == 1
else changed = redis.call('ZREM', key('typing'), member) == 1 end
if changed then
  local data = '{"userId":' .. cjson.encode(userId) .. ',"roomId":' .. cjson.encode(roomId) .. ',"isTyping":' .. (isTyping == '1' and 'true' or 'false') .. '}'
  emit('user.typing', data, roomEnvelope(roomId, userId), '', { 'room:' .. roomId })
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
  local data = '{"userId":' .. cjson.encode(userId) .. ',"roomId":' .. cjson.encode(roomId) .. ',"isTyping":false}'
  emit('user.typing', data, roomEnvelope(roomId, userId), '', { 'room:' .. roomId })
end
return #expired
`;

/** ARGV 8..: userId, status, metadataJson ('' keeps the current metadata). */
export const presenceScript = `${prelude}
local userId, status, metadata = ARGV[8], ARGV[9], ARGV[10]
if totalConnections(userId) == 0 then return redis.error_reply('PRECONDITION_FAILED Presence can be set only while connected') end
local presence = key('presence:' .. userId)
redis.call('HSET', presence, 'status', status, 'lastSeen', NOW, 'lastActivity', NOW, 'idle', '0')
if metadata ~= '' then redis.call('HSET', presence, 'metadata', metadata) end
emitPresence(userId)
return lastSequence
`;

/** ARGV 8..: userId, idleAfterMs. Marks idle once, or back to active on activity (idleAfterMs = '0'). */
export const activityScript = `${prelude}
local userId, idleAfter = ARGV[8], tonumber(ARGV[9])
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
local channels = roomChannelsOf(userId)
channels[#channels + 1] = 'presence'
local data = '{"userId":' .. cjson.encode(userId) .. ',"idleSince":"' .. NOW_ISO .. '"}'
emit('user.idle', data, user(userId), '"data.idleSince":["Date"]', channels)
return lastSequence
`;

/**
 * ARGV 8..: processId, statsJson. Records this process as alive; returns the processes whose
 * heartbeat is older than ARGV[10] ms (candidates for reaping).
 */
export const heartbeatScript = `${prelude}
redis.call('ZADD', key('procs'), NOW, ARGV[8])
redis.call('HSET', key('procstats'), ARGV[8], ARGV[9])
return redis.call('ZRANGEBYSCORE', key('procs'), '-inf', NOW - tonumber(ARGV[10]))
`;

/**
 * ARGV 8..: deadProcessId, staleAfterMs. Removes a process that stopped heartbeating: its
 * connections and room holds go, with the usual presence and leave events. Exactly once: a
 * second reaper finds nothing left to do.
 */
export const reapScript = `${prelude}
local dead = ARGV[8]
local beat = redis.call('ZSCORE', key('procs'), dead)
if not beat or NOW - tonumber(beat) < tonumber(ARGV[9]) then return 0 end
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
return cjson.encode({
  seq = tonumber(redis.call('GET', key('seq')) or '0'),
  epoch = redis.call('GET', key('epoch')) or '',
  rooms = rooms,
  members = members,
  online = online,
  typing = redis.call('ZRANGE', key('typing'), 0, -1),
})
`;
