-- Usage accounting: one row per request (rejected ones included) and hourly rollups for reports and quotas.
-- user_id is not a foreign key: the history of a deleted user stays, with the name it had.

CREATE TABLE usage (
  id                INTEGER PRIMARY KEY,
  time              INTEGER NOT NULL,
  request_id        TEXT    NOT NULL,
  user_id           INTEGER,
  username          TEXT,
  key_id            TEXT,
  api               TEXT    NOT NULL,
  route             TEXT    NOT NULL,
  model             TEXT,
  backend           TEXT,
  status            INTEGER NOT NULL,
  error_code        TEXT,
  prompt_tokens     INTEGER,
  completion_tokens INTEGER,
  tokens            TEXT    NOT NULL CHECK (tokens IN ('exact', 'estimated', 'unknown', 'none')),
  ttfb_ms           REAL,
  duration_ms       REAL    NOT NULL,
  bytes_in          INTEGER NOT NULL,
  bytes_out         INTEGER NOT NULL,
  client_ip         TEXT,
  client_aborted    INTEGER NOT NULL CHECK (client_aborted IN (0, 1)),
  cost              REAL    NOT NULL
) STRICT;
-- Only the time index: every read of raw rows is by a window, and each more index costs every insert (~1.3 us/row).
CREATE INDEX usage_time ON usage (time);

-- One row per hour, user, key, model and API. Empty key/model are '' and an anonymous user 0, so that the primary key
-- never holds NULL.
CREATE TABLE usage_hourly (
  hour              INTEGER NOT NULL,
  user_id           INTEGER NOT NULL,
  key_id            TEXT    NOT NULL,
  model             TEXT    NOT NULL,
  api               TEXT    NOT NULL,
  requests          INTEGER NOT NULL,
  errors            INTEGER NOT NULL,
  prompt_tokens     INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cost              REAL    NOT NULL,
  PRIMARY KEY (hour, user_id, key_id, model, api)
) STRICT, WITHOUT ROWID;
CREATE INDEX usage_hourly_user ON usage_hourly (user_id, hour);
