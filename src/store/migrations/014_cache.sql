-- The response cache (docs/cache.md). usage.cache says how the cache took part in a request: 'hit' (answered from the
-- cache, no backend), 'miss' (went to a backend and may have been stored), 'bypass' (a cacheable route, but not this
-- request), NULL (the cache took no part: off, or a route it does not serve).
ALTER TABLE usage ADD COLUMN cache TEXT CHECK (cache IN ('hit', 'miss', 'bypass'));

-- The persistent tier (cache.persist): a stored reply per key, the upstream's bytes as they came, with the places of
-- the OpenAI id and created values that a replay makes fresh (holes, JSON). Bounded by cache.persist_max_bytes (the
-- oldest go) and swept of expired rows by the server.
CREATE TABLE cache_entries (
  key          TEXT    PRIMARY KEY,
  route        TEXT    NOT NULL,
  model        TEXT    NOT NULL,
  user_id      INTEGER,
  content_type TEXT    NOT NULL,
  body         BLOB    NOT NULL,
  holes        TEXT    NOT NULL,
  stored_at    INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX cache_entries_stored ON cache_entries (stored_at);
CREATE INDEX cache_entries_expires ON cache_entries (expires_at);
