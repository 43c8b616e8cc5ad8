"""The online store in Redis: the same rows and rules as the SQLite store, as a hash per
(view, entity) with fields e (event time), p (plain values), a (as-of time), w (windows), a set
of entity keys per view, and a hash per materialized view. Upserts are Lua scripts, so the time
comparisons happen inside Redis; a write is one MULTI/EXEC transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence

from seedbed.errors import Invalid
from seedbed.features.online import NONE_US, Batch, OnlineRow, ViewState

# KEYS: the value hash, the view's key set. ARGV: entity, event_us ("" for none), plain,
# as_of_us, windows. Same rule as the SQLite upsert.
REDIS_UPSERT_VALUE = f"""
local old = redis.call('HMGET', KEYS[1], 'e', 'a')
local new_e = tonumber(ARGV[2]) or {NONE_US}
local old_e = tonumber(old[1]) or {NONE_US}
if old[2] == false or new_e >= old_e then
  redis.call('HSET', KEYS[1], 'e', ARGV[2], 'p', ARGV[3])
end
if old[2] == false or tonumber(ARGV[4]) >= tonumber(old[2]) then
  redis.call('HSET', KEYS[1], 'a', ARGV[4], 'w', ARGV[5])
end
redis.call('SADD', KEYS[2], ARGV[1])
return 1
"""
# KEYS: the view's state hash, the set of view names. ARGV: view, version, spec, as_of_us.
REDIS_UPSERT_VIEW = """
local old = redis.call('HMGET', KEYS[1], 'version', 'as_of')
if old[1] == false or tonumber(ARGV[2]) >= tonumber(old[1]) then
  redis.call('HSET', KEYS[1], 'version', ARGV[2], 'spec', ARGV[3])
end
if old[2] == false or tonumber(ARGV[4]) > tonumber(old[2]) then
  redis.call('HSET', KEYS[1], 'as_of', ARGV[4])
end
redis.call('SADD', KEYS[2], ARGV[1])
return 1
"""

# KEYS: the value hash, the view's key set. ARGV: entity, as_of_us of the materialization.
REDIS_REMOVE_OLDER = """
local as_of = redis.call('HGET', KEYS[1], 'a')
if as_of == false or tonumber(as_of) < tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[1])
end
return 1
"""


class RedisOnlineStore:
    """The same rows in Redis: a hash per (view, entity) with fields e, p, a, w, a set of
    entity keys per view, and a hash per materialized view."""

    prefix = "seedbed:features:"

    def __init__(self, url: str) -> None:
        try:
            import redis
        except ImportError as exc:
            raise Invalid(
                f"The online store {url} needs the redis package: pip install redis."
            ) from exc
        self.client = redis.Redis.from_url(url, decode_responses=True)
        try:
            self.client.ping()
        except redis.RedisError as exc:
            raise Invalid(f"The online store {url} does not answer: {exc}.") from exc
        self._upsert_value = self.client.register_script(REDIS_UPSERT_VALUE)
        self._upsert_view = self.client.register_script(REDIS_UPSERT_VIEW)
        self._remove_older = self.client.register_script(REDIS_REMOVE_OLDER)

    def _value_key(self, view: str, key: str) -> str:
        return f"{self.prefix}value:{view}:{key}"

    def write(self, batches: Sequence[Batch]) -> None:
        stale = {
            batch.state.name: self.client.smembers(f"{self.prefix}keys:{batch.state.name}")
            - batch.keep
            for batch in batches
            if batch.keep is not None
        }
        pipe = self.client.pipeline(transaction=True)
        for batch in batches:
            state, rows = batch.state, batch.rows
            keys_set = f"{self.prefix}keys:{state.name}"
            for key in sorted(str(k) for k in stale.get(state.name, ())):
                self._remove_older(
                    keys=[self._value_key(state.name, key), keys_set],
                    args=[key, state.as_of_us],
                    client=pipe,
                )
            for row in rows:
                self._upsert_value(
                    keys=[self._value_key(state.name, row.key), keys_set],
                    args=[
                        row.key,
                        "" if row.event_us is None else row.event_us,
                        row.plain,
                        row.as_of_us,
                        row.windows,
                    ],
                    client=pipe,
                )
            self._upsert_view(
                keys=[f"{self.prefix}view:{state.name}", f"{self.prefix}views"],
                args=[
                    state.name,
                    state.definitions_version,
                    json.dumps(state.view, sort_keys=True),
                    state.as_of_us,
                ],
                client=pipe,
            )
        pipe.execute()

    def read(self, view: str, keys: Sequence[str]) -> list[OnlineRow | None]:
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(self._value_key(view, key), "e", "p", "a", "w")
        found: list[OnlineRow | None] = []
        for key, (event, plain, as_of, windows) in zip(keys, pipe.execute(), strict=True):
            if as_of is None:
                found.append(None)
                continue
            found.append(OnlineRow(key, int(event) if event else None, plain, int(as_of), windows))
        return found

    def rows(self, view: str) -> list[OnlineRow]:
        keys = sorted(str(k) for k in self.client.smembers(f"{self.prefix}keys:{view}"))
        return [row for row in self.read(view, keys) if row is not None]

    def views(self) -> dict[str, ViewState]:
        names = sorted(str(n) for n in self.client.smembers(f"{self.prefix}views"))
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.hmget(f"{self.prefix}view:{name}", "version", "spec", "as_of")
        states = [
            ViewState(json.loads(spec), int(version), int(as_of))
            for version, spec, as_of in pipe.execute()
            if spec is not None
        ]
        return {state.name: state for state in states}

    def close(self) -> None:
        self.client.close()
