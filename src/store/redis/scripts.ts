import type { Cluster, Redis } from "ioredis";

/**
 * The store's Lua scripts, defined once per client with ioredis's defineCommand: EVALSHA, with EVAL sent the first
 * time on each connection and again after a NOSCRIPT (server restart, SCRIPT FLUSH). A script that answers NOSCRIPT
 * did not run, so the resend never applies a write twice. Each script touches one key (Cluster-safe).
 */

/**
 * GCRA, as `gcra()` in memory.ts (keep in step): integer microseconds, state = the theoretical arrival time,
 * the clock is the server's (shared by every instance, immune to skew between broker hosts). The key lives
 * until the bucket is full again. Returns {1, 0} when allowed, {0, µs until allowed} when refused.
 */
const GCRA_LUA = `
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = math.max(1, math.floor(window / limit))
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local newTat = tat + interval
local allowAt = newTat - window
if allowAt > now then
  return {0, allowAt - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', newTat), 'PX', math.ceil((newTat - now) / 1000))
return {1, 0}
`;

/**
 * The single-use marker: SET NX with the presentation's own nonce as the value. 1 when this presentation holds the
 * marker — it set it now, or an earlier attempt of the very same presentation did (its reply was lost or late and
 * the operation retried) — and 0 when another presentation holds it: a replay. Without the nonce, a retry of a
 * write that had landed would see its own marker and refuse the one legitimate presentation.
 */
const CONSUME_LUA = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EXAT', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
`;

export interface StoreScripts {
  gcraHit(key: string, limit: number, windowMicros: number): Promise<unknown>;
  consumeOnce(key: string, nonce: string, expiresAtSeconds: number): Promise<unknown>;
}

export function defineStoreScripts<C extends Redis | Cluster>(client: C): C & StoreScripts {
  client.defineCommand("gcraHit", { numberOfKeys: 1, lua: GCRA_LUA });
  client.defineCommand("consumeOnce", { numberOfKeys: 1, lua: CONSUME_LUA });
  return client as C & StoreScripts;
}
