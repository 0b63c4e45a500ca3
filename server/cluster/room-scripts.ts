/**
 * Lua for a room's state, run in the room's partition (the partition of `room:<id>`, where its
 * membership channel lives too): its members, the holds that keep each member in (membership-
 * prelude), the partition's `rooms` and `typing` sets. A room is whole in one partition, so its
 * member bound is exact; the bounds across rooms (rooms per user, rooms in all) are checked by
 * the caller against its replica (cluster/redis-membership).
 */
import { prelude } from './membership-prelude.js';

/** ARGV 9..: processId, roomId, userId, kind ('explicit' | 'subscription'), gen (the user's session, see sessionScript), maxMembersPerRoom. */
export const holdScript = `${prelude}
local processId, roomId, userId, kind, gen = ARGV[9], ARGV[10], ARGV[11], ARGV[12], tonumber(ARGV[13])
local hold = holdKey(roomId, userId)
local field = kind == 'explicit' and 'x' or processId
local function noteProcess()
  if kind ~= 'explicit' then redis.call('SADD', key('proc:' .. processId .. ':holds'), roomId .. '\\0' .. userId) end
end
if redis.call('EXISTS', hold) == 1 then
  noteProcess()
  if field == 'x' then redis.call('HSET', hold, 'x', 1) else redis.call('HINCRBY', hold, field, 1) end
  if gen > tonumber(redis.call('HGET', hold, 'g') or '0') then redis.call('HSET', hold, 'g', integer(gen)) end
  return 0
end
if redis.call('HLEN', key('members:' .. roomId)) >= tonumber(ARGV[14]) then return redis.error_reply('TOO_MANY_REQUESTS Room ' .. roomId .. ' is full') end
noteProcess()
redis.call('HSET', hold, field, 1, 'g', integer(gen))
redis.call('HSET', key('members:' .. roomId), userId, NOW)
redis.call('HSETNX', key('rooms'), roomId, NOW)
emit({ kind = 'joined', roomId = roomId, userId = userId }, { MEMBERS_CHANNEL .. roomId })
return lastSequence
`;

/** ARGV 9..: processId, roomId, userId, kind, reason. */
export const releaseScript = `${prelude}
local processId, roomId, userId, kind, reason = ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13]
local hold = holdKey(roomId, userId)
if redis.call('EXISTS', hold) == 0 then return 0 end
local field = kind == 'explicit' and 'x' or processId
if field == 'x' then redis.call('HDEL', hold, 'x')
elseif redis.call('HINCRBY', hold, field, -1) <= 0 then
  redis.call('HDEL', hold, field)
  redis.call('SREM', key('proc:' .. field .. ':holds'), roomId .. '\\0' .. userId)
end
if holdCount(hold) == 0 then removeMembership(roomId, userId, reason) end
return lastSequence
`;

/** ARGV 9..: userId, gen (the session that ended), roomId... The user went offline: out of these rooms (see leaveOffline). */
export const leaveOfflineScript = `${prelude}
local userId, gen = ARGV[9], tonumber(ARGV[10])
for index = 11, #ARGV do leaveOffline(ARGV[index], userId, gen) end
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

/** Expired typing indicators of the partition, each stopped exactly once whichever process sweeps. */
export const sweepTypingScript = `${prelude}
local expired = redis.call('ZRANGEBYSCORE', key('typing'), '-inf', NOW, 'LIMIT', 0, 200)
for _, member in ipairs(expired) do
  redis.call('ZREM', key('typing'), member)
  local roomId, userId = splitMember(member)
  emit({ kind = 'typing', roomId = roomId, userId = userId, isTyping = false }, { MEMBERS_CHANNEL .. roomId })
end
return #expired
`;
