/**
 * The Lua every membership script begins with (user-scripts, room-scripts, partition-scripts):
 * check and change only. Each script changes the state of ONE partition (one hash tag, so one
 * slot of a Redis Cluster; on one Redis, the one namespace) and publishes the changes it made, as
 * small tagged tables that TypeScript turns into their events (bus/membership-events), in the
 * same atomic step, so every process's read model, folded from those events in each partition's
 * order, matches Redis.
 *
 * State is split by its natural key: a user's connections and presence in the user's partition,
 * a room's members, holds and typing in the room's. A user's rooms are not kept in Redis: they
 * come from the local replica (cluster/cluster-replica), and TypeScript passes the ones a script
 * needs (the rooms in its own partition); see cluster/redis-membership for the steps across
 * partitions.
 *
 * Common ARGV of every script: prefix, perChannel, global, ttl, knownEpoch, nowMs, and the channel
 * names a change goes to (a room's membership channel prefix, the presence channel: bus/channels,
 * passed in so that names are spelled in one place); then the script's own arguments. Ids are
 * joined with NUL in keys, since ids may contain ':' or '|'.
 */
import { publishFunction } from '../bus/redis-scripts.js';

export const prelude = `${publishFunction}
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
local function splitMember(member)
  local separator = string.find(member, '\\0', 1, true)
  return string.sub(member, 1, separator - 1), string.sub(member, separator + 1)
end
-- Integers as text: Lua writes numbers past 14 digits in exponent form.
local function integer(number) return string.format('%.0f', number) end
-- The sequence of the last change this script published: mutations return it, so the caller can
-- wait until its own replica has folded the change in (read your own writes).
local lastSequence = 0
-- The last presence or idle change published, whole: the caller publishes it again, with its
-- id, to the user's rooms in other partitions.
local presenceMessage = ''
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

-- Rooms (the room's partition) ------------------------------------------------------------------
-- A hold hash: 'x' (an explicit join), a field per process holding it by subscriptions (their
-- count), and 'g', the newest session of the user (see sessionGen) it was made for.
local function holdCount(hold) return redis.call('HLEN', hold) - redis.call('HEXISTS', hold, 'g') end
local function removeMembership(roomId, userId, reason)
  local hold = holdKey(roomId, userId)
  for _, field in ipairs(redis.call('HKEYS', hold)) do
    if field ~= 'x' and field ~= 'g' then redis.call('SREM', key('proc:' .. field .. ':holds'), roomId .. '\\0' .. userId) end
  end
  redis.call('DEL', hold)
  redis.call('HDEL', key('members:' .. roomId), userId)
  if redis.call('HLEN', key('members:' .. roomId)) == 0 then redis.call('HDEL', key('rooms'), roomId) end
  redis.call('ZREM', key('typing'), roomId .. '\\0' .. userId)
  emit({ kind = 'left', roomId = roomId, userId = userId, reason = reason }, { MEMBERS_CHANNEL .. roomId })
end
-- The user went offline at the end of session gen: out of the room, unless a hold made for a
-- later session keeps them in (they came back, on another process, before this cleanup ran).
local function leaveOffline(roomId, userId, gen)
  local hold = holdKey(roomId, userId)
  if redis.call('EXISTS', hold) == 0 then return end
  if tonumber(redis.call('HGET', hold, 'g') or '0') > gen then return end
  removeMembership(roomId, userId, 'disconnected')
end

-- Users (the user's partition) ------------------------------------------------------------------
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
-- A user's session: a number that grows each time they go from offline to online, from this
-- node's clock (ms), so it keeps growing after their presence key expired.
local function sessionGen(userId) return tonumber(redis.call('HGET', key('presence:' .. userId), 'gen') or '0') end
local function nextSessionGen(userId)
  local time = redis.call('TIME')
  return math.max(sessionGen(userId) + 1, tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000))
end
-- rooms: the user's rooms in this partition; parts: how many partitions the change goes to (it
-- is the first part when more than one: the caller publishes the others, see redis-wire).
local function presenceChannels(rooms)
  local channels = {}
  for _, roomId in ipairs(rooms) do channels[#channels + 1] = MEMBERS_CHANNEL .. roomId end
  channels[#channels + 1] = PRESENCE_CHANNEL
  return channels
end
local function emitPresence(userId, rooms, parts)
  local change = { kind = 'presence', userId = userId, status = effectiveStatus(userId), lastSeen = NOW }
  if parts > 1 then change.n = parts end
  local channels = presenceChannels(rooms)
  -- The metadata is kept once, in the user's presence key; room streams keep the change without it.
  local metadata = redis.call('HGET', key('presence:' .. userId), 'metadata')
  if not metadata then
    presenceMessage = emit(change, channels)
    return
  end
  local stored = { kind = 'presence', userId = userId, status = change.status, lastSeen = NOW, n = change.n }
  change.metadata = metadata
  presenceMessage = emit(change, channels, stored)
end
local function emitConnection(kind, userId, connectionId, reason)
  emit({ kind = kind, userId = userId, connectionId = connectionId, connections = totalConnections(userId), reason = reason }, {})
end
-- The user has no connection left anywhere: offline, and out of their rooms in this partition
-- (the caller takes them out of the others').
local function goOffline(userId, rooms, parts)
  local presence = key('presence:' .. userId)
  redis.call('HSET', presence, 'lastSeen', NOW, 'idle', '0')
  -- Metadata describes a session and goes with it; an offline user's last-seen is kept as long
  -- as history, then goes:
  -- users who come once and never again must not accumulate in Redis.
  redis.call('HDEL', presence, 'metadata')
  redis.call('EXPIRE', presence, ARGV[4])
  redis.call('SREM', key('online'), userId)
  emitPresence(userId, rooms, parts)
  local gen = sessionGen(userId)
  for _, roomId in ipairs(rooms) do leaveOffline(roomId, userId, gen) end
end
local function dropConnections(processId, userId, count, rooms, parts)
  local left = redis.call('HINCRBY', key('conn:' .. userId), processId, -count)
  if left <= 0 then
    redis.call('HDEL', key('conn:' .. userId), processId)
    redis.call('SREM', key('proc:' .. processId .. ':users'), userId)
  end
  if totalConnections(userId) == 0 then goOffline(userId, rooms, parts) end
end
`;
