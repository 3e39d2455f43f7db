"""The Lua scripts behind RedisBus: each change of shared state and its event in one step.

A script runs atomically in Redis, and an event PUBLISHed from inside it reaches every
subscriber in the same order as the changes themselves, so no instance's mirror can apply an
older change after a newer one.

Value formats (instance ids never contain ':', ',' or '|'):
- `<p>:loc` hash, subject -> "instance:seq,instance:seq"
- `<p>:flags` hash, client -> "flag|instance|unix time"
"""

from __future__ import annotations

# Shared helpers, prepended to the scripts that edit the location hash.
_LOC_HELPERS = """
local function entries_without(value, instance)
  local kept, found = {}, false
  if value then
    for inst, seq in string.gmatch(value, '([^:,]+):(%d+)') do
      if inst == instance then found = true else kept[#kept + 1] = inst .. ':' .. seq end
    end
  end
  return kept, found
end

local function store(loc, subject, kept)
  if #kept == 0 then redis.call('HDEL', loc, subject)
  else redis.call('HSET', loc, subject, table.concat(kept, ',')) end
end

local function remove(loc, subject, instance, at, channel)
  local kept, found = entries_without(redis.call('HGET', loc, subject), instance)
  if not found then return 0 end
  store(loc, subject, kept)
  redis.call('PUBLISH', channel, cjson.encode(
    {k = 'loc', s = subject, i = instance, u = 0, x = 0, q = 0, t = tonumber(at)}))
  return 1
end
"""

# KEYS: loc, subjects-of-instance, seq counter
# ARGV: subject, instance, exclusive ('1'/'0'), at, events channel
CONNECTION_UP = """
local seq = redis.call('INCR', KEYS[3])
local kept = {}
if ARGV[3] ~= '1' then kept = entries_without(redis.call('HGET', KEYS[1], ARGV[1]), ARGV[2]) end
kept[#kept + 1] = ARGV[2] .. ':' .. seq
store(KEYS[1], ARGV[1], kept)
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[5], cjson.encode({k = 'loc', s = ARGV[1], i = ARGV[2], u = 1,
  x = tonumber(ARGV[3]), q = seq, t = tonumber(ARGV[4])}))
return seq
"""

# KEYS: loc, subjects-of-instance
# ARGV: subject, instance, at, events channel
CONNECTION_DOWN = """
redis.call('SREM', KEYS[2], ARGV[1])
return remove(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
"""

# A dead instance's sockets leave the registry (its tablets show offline everywhere).
# KEYS: loc, subjects-of-dead-instance
# ARGV: dead instance, at, events channel
REAP_LOCATIONS = """
local subjects = redis.call('SMEMBERS', KEYS[2])
local removed = 0
for _, subject in ipairs(subjects) do
  removed = removed + remove(KEYS[1], subject, ARGV[1], ARGV[2], ARGV[3])
end
redis.call('DEL', KEYS[2])
return removed
"""

# KEYS: flags
# ARGV: client, flag ('' clears), instance, at, events channel
SET_FLAG = """
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[3] .. '|' .. ARGV[4])
end
redis.call('PUBLISH', ARGV[5], cjson.encode({k = 'flag', c = ARGV[1], f = ARGV[2],
  i = ARGV[3], t = tonumber(ARGV[4])}))
return 1
"""

# Flags a dead instance set and nobody took over: those clients are in no call any more.
# KEYS: flags
# ARGV: dead instance, at, events channel
REAP_FLAGS = """
local all = redis.call('HGETALL', KEYS[1])
local cleared = 0
for i = 1, #all, 2 do
  local owner = string.match(all[i + 1], '^[^|]*|([^|]*)|')
  if owner == ARGV[1] then
    redis.call('HDEL', KEYS[1], all[i])
    redis.call('PUBLISH', ARGV[3], cjson.encode({k = 'flag', c = all[i], f = '',
      i = ARGV[1], t = tonumber(ARGV[2])}))
    cleared = cleared + 1
  end
end
return cleared
"""

# A subject is busy while its engaged key names a call whose snapshot still exists: a call
# that ended (or whose owner died without a successor) frees its people by itself.
# KEYS: engaged keys of the subjects
# ARGV: call id, call-snapshot key prefix
ENGAGE = """
local taken = {}
for i, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if current and current ~= ARGV[1] and redis.call('EXISTS', ARGV[2] .. current) == 1 then
    taken[#taken + 1] = i
  end
end
if #taken == 0 then
  for _, key in ipairs(KEYS) do redis.call('SET', key, ARGV[1]) end
end
return taken
"""

# KEYS: engaged keys; ARGV: call id
RELEASE = """
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 1
"""

# Room ownership: SET NX with expiry, or a takeover from a named (dead or draining) owner.
# KEYS: room key, calls-of-me, calls-of-replaced (may equal calls-of-me)
# ARGV: me, ttl ms, replaced instance ('' for a plain claim), room id
CLAIM_ROOM = """
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] and owner ~= ARGV[3] then return 0 end
if not owner and ARGV[3] ~= '' then
  -- The owner's key expired: only take the room over if the snapshot still lists it there.
  if redis.call('SISMEMBER', KEYS[3], ARGV[4]) == 0 then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if ARGV[3] ~= '' then redis.call('SREM', KEYS[3], ARGV[4]) end
redis.call('SADD', KEYS[2], ARGV[4])
return 1
"""

# KEYS: room key, calls-of-me; ARGV: me, room id
RELEASE_ROOM = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('SREM', KEYS[2], ARGV[2])
return 1
"""

# Renew the rooms this instance still owns; returns the ones somebody else owns now.
# KEYS: room keys; ARGV: me, ttl ms
RENEW_ROOMS = """
local lost = {}
for i, key in ipairs(KEYS) do
  local owner = redis.call('GET', key)
  if owner == ARGV[1] then redis.call('PEXPIRE', key, ARGV[2])
  elseif owner then lost[#lost + 1] = i
  else redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
end
return lost
"""

# The reap lock of one dead life. A lock is only as good as its holder: a reaper that died
# half way (its own alive key lapsed) loses it at once to the next survivor, so no takeover
# waits out a fixed lock time. The expiry only collects locks nobody released.
# KEYS: reap lock; ARGV: me, alive-key prefix, expiry ms
REAP_LOCK = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] and redis.call('EXISTS', ARGV[2] .. holder) == 1 then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
"""

# KEYS: reap lock; ARGV: me
UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""

# A starting life retires the earlier lives of its instance name: they are dead (one name
# runs once), so their alive keys go now and every instance reaps them at its next beat.
# KEYS: lives-of-name, instances; ARGV: me, alive-key prefix
RETIRE_LIVES = """
local earlier = {}
for _, life in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if life ~= ARGV[1] then
    redis.call('DEL', ARGV[2] .. life)
    redis.call('SADD', KEYS[2], life)
    earlier[#earlier + 1] = life
  end
end
redis.call('SADD', KEYS[1], ARGV[1])
return earlier
"""

# Own a room that nobody owns or will adopt (the sweep closes its call). Not while a live
# instance owns it, nor while its owner, or any instance listing it, is still to be reaped:
# that reaper adopts the call. No SADD to calls-of-me: if the sweeper dies, its claim lapses.
# Nor while Redis is fresh (restarted, empty): the live instances may not all have announced
# their rooms yet, so nothing is claimed until `settle` ms after the first one did.
# KEYS: room key, instances, since; ARGV: me, ttl ms, room id, alive-key prefix,
# calls-key prefix, settle ms
CLAIM_ORPHAN = """
local since = redis.call('GET', KEYS[3])
local now = redis.call('TIME')
if not since or (tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000))
    - tonumber(since) < tonumber(ARGV[6]) then
  return 0
end
local owner = redis.call('GET', KEYS[1])
if owner then
  if owner == ARGV[1] then return 0 end
  if redis.call('EXISTS', ARGV[4] .. owner) == 1 then return 0 end
  if redis.call('SISMEMBER', KEYS[2], owner) == 1 then return 0 end
end
for _, instance in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('SISMEMBER', ARGV[5] .. instance, ARGV[3]) == 1 then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

# The scripts by the name RedisBus calls them; those that edit the location hash get the
# shared Lua helpers in front.
SCRIPTS = {
    "up": _LOC_HELPERS + CONNECTION_UP,
    "down": _LOC_HELPERS + CONNECTION_DOWN,
    "reap_loc": _LOC_HELPERS + REAP_LOCATIONS,
    "flag": SET_FLAG,
    "reap_flags": REAP_FLAGS,
    "engage": ENGAGE,
    "release": RELEASE,
    "claim": CLAIM_ROOM,
    "release_room": RELEASE_ROOM,
    "renew": RENEW_ROOMS,
    "reap_lock": REAP_LOCK,
    "unlock": UNLOCK,
    "retire": RETIRE_LIVES,
    "claim_orphan": CLAIM_ORPHAN,
}


class RedisKeys:
    """Every key and channel name RedisBus uses, under one prefix (one deployment)."""

    def __init__(self, prefix: str) -> None:
        self._p = prefix
        self.loc = f"{prefix}:loc"
        self.seq = f"{prefix}:seq"
        self.flags = f"{prefix}:flags"
        self.instances = f"{prefix}:instances"
        self.draining = f"{prefix}:draining"
        # When (ms, Redis's clock) the first instance announced itself to this Redis's data.
        self.since = f"{prefix}:since"
        self.events = f"{prefix}:ev"  # location, flag and staff events, to everyone

    def inbox(self, instance_id: str) -> str:
        """Deliveries, requests and replies for one instance."""
        return f"{self._p}:i:{instance_id}"

    def alive(self, instance_id: str) -> str:
        return f"{self._p}:alive:{instance_id}"

    def lives(self, name: str) -> str:
        """The lives (instance ids) started under one configured instance name."""
        return f"{self._p}:lives:{name}"

    def reap(self, instance_id: str) -> str:
        return f"{self._p}:reap:{instance_id}"

    def subjects(self, instance_id: str) -> str:
        return f"{self._p}:subjects:{instance_id}"

    def calls(self, instance_id: str) -> str:
        return f"{self._p}:calls:{instance_id}"

    def engaged(self, subject_id: str) -> str:
        return f"{self._p}:engaged:{subject_id}"

    def room(self, room_id: str) -> str:
        return f"{self._p}:room:{room_id}"

    def call(self, call_id: str) -> str:
        return f"{self._p}:call:{call_id}"

    def resume(self, token: str) -> str:
        return f"{self._p}:resume:{token}"
