-- Events and webhooks (issue 12). The change feed names what changed in a detail column (a limit rule's target, a
-- rotated key's successor, a new role), so that a change written by the CLI in another process becomes a typed event
-- on the server. Webhook subscriptions, and the durable outbox: one delivery row per event and subscription, written
-- in one transaction with what caused it (or on the next tick for events that happen in memory), tried until
-- delivered or dead-lettered, each attempt remembered for `parallama webhook deliveries`.

ALTER TABLE auth_changes ADD COLUMN detail TEXT;

CREATE TABLE webhooks (
  id               TEXT    PRIMARY KEY,
  url              TEXT    NOT NULL,
  -- Comma-separated event type patterns: key.revoked, key.*, *.
  events           TEXT    NOT NULL,
  -- whsec_<base64>: the server must sign with it, so it is kept as given (the file is 0600, like the keys' hashes).
  secret           TEXT    NOT NULL,
  -- 1: also send the old quota-alert header x-parallama-signature (the subscription alerts.webhook_url makes).
  legacy_signature INTEGER NOT NULL DEFAULT 0 CHECK (legacy_signature IN (0, 1)),
  -- 'cli', or 'config' for the one alerts.webhook_url keeps in step at start-up.
  source           TEXT    NOT NULL DEFAULT 'cli' CHECK (source IN ('cli', 'config')),
  created_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE webhook_deliveries (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  webhook_id      TEXT    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  event_id        TEXT    NOT NULL,
  event_type      TEXT    NOT NULL,
  body            TEXT    NOT NULL,
  created_at      INTEGER NOT NULL,
  state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_status     INTEGER,
  last_error      TEXT,
  finished_at     INTEGER,
  -- An event replayed after a crash (the feed cursor had not moved) is not queued twice.
  UNIQUE (webhook_id, event_id)
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);

CREATE TABLE webhook_attempts (
  delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt     INTEGER NOT NULL,
  at          INTEGER NOT NULL,
  status      INTEGER,
  error       TEXT,
  PRIMARY KEY (delivery_id, attempt)
) STRICT, WITHOUT ROWID;

-- How far the server has turned the change feed into events; starts at the feed's end when this migration runs.
CREATE TABLE event_cursor (
  name     TEXT    PRIMARY KEY,
  position INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO event_cursor (name, position) SELECT 'change_feed', COALESCE(MAX(id), 0) FROM auth_changes;

-- Keys whose expiry was announced (key.expired goes out once, across restarts).
CREATE TABLE key_expiry_events (
  key_id TEXT    PRIMARY KEY,
  at     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO key_expiry_events (key_id, at)
SELECT id, expires_at FROM api_keys
WHERE expires_at IS NOT NULL AND expires_at <= CAST(strftime('%s', 'now') AS INTEGER) * 1000;
