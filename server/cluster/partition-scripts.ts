/**
 * Lua for what every partition keeps about the processes, and its snapshot. Each partition
 * records which processes are alive (a heartbeat per process and partition) and reaps, once,
 * the part of a dead process it holds: the process's room holds in this partition and its
 * connections of users in this partition.
 */
import { prelude } from './membership-prelude.js';

/**
 * ARGV 9..: processId, statsJson ('' where the stats are not kept: they are read from the first
 * partition only), staleAfterMs. Records this process as alive; returns the processes whose
 * heartbeat in this partition is older than staleAfterMs (candidates for reaping).
 */
export const heartbeatScript = `${prelude}
redis.call('ZADD', key('procs'), NOW, ARGV[9])
if ARGV[10] ~= '' then redis.call('HSET', key('procstats'), ARGV[9], ARGV[10]) end
return redis.call('ZRANGEBYSCORE', key('procs'), '-inf', NOW - tonumber(ARGV[11]))
`;

/**
 * ARGV 9..: deadProcessId, staleAfterMs, usersJson (for each user of the dead process in this
 * partition, as the caller read them: `[rooms in this partition, parts]`, see membership-prelude).
 * Removes what a process that stopped heartbeating holds in this partition: its room holds and
 * its connections, with the usual presence and leave events. Exactly once: a second reaper finds
 * nothing left to do. Answers, flat, `userId, gen, presenceMessage` of every user it took offline
 * (the caller takes them out of their rooms in other partitions).
 */
export const reapScript = `${prelude}
local dead = ARGV[9]
local beat = redis.call('ZSCORE', key('procs'), dead)
if not beat or NOW - tonumber(beat) < tonumber(ARGV[10]) then return {} end
local users = cjson.decode(ARGV[11])
redis.call('ZREM', key('procs'), dead)
redis.call('HDEL', key('procstats'), dead)
for _, member in ipairs(redis.call('SMEMBERS', key('proc:' .. dead .. ':holds'))) do
  local roomId, userId = splitMember(member)
  local hold = holdKey(roomId, userId)
  if redis.call('HEXISTS', hold, dead) == 1 then
    redis.call('HDEL', hold, dead)
    if holdCount(hold) == 0 then removeMembership(roomId, userId, 'disconnected') end
  end
end
local offline = {}
for _, userId in ipairs(redis.call('SMEMBERS', key('proc:' .. dead .. ':users'))) do
  local count = tonumber(redis.call('HGET', key('conn:' .. userId), dead) or '0')
  if count > 0 then
    local known = users[userId] or { {}, 1 }
    presenceMessage = ''
    dropConnections(dead, userId, count, known[1], known[2])
    emitConnection('disconnected', userId, dead, 'process lost')
    if presenceMessage ~= '' then
      offline[#offline + 1] = userId
      offline[#offline + 1] = integer(sessionGen(userId))
      offline[#offline + 1] = presenceMessage
    end
  end
end
redis.call('DEL', key('proc:' .. dead .. ':holds'), key('proc:' .. dead .. ':users'))
return offline
`;

/** A consistent snapshot of the partition's rooms, members, online users' presence and typing, with the sequence it reflects. */
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
