-- Users, their API keys and login sessions, and the change feed that tells a running server what to forget.

CREATE TABLE users (
  id            INTEGER PRIMARY KEY,
  username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
  email         TEXT,
  display_name  TEXT,
  password_hash TEXT,
  role          TEXT    NOT NULL CHECK (role IN ('admin', 'user', 'readonly')),
  active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  last_login_at INTEGER
) STRICT;

CREATE TABLE api_keys (
  id           TEXT    PRIMARY KEY,
  user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  hash         BLOB    NOT NULL UNIQUE,
  prefix       TEXT    NOT NULL,
  name         TEXT,
  description  TEXT,
  models       TEXT,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  revoked_at   INTEGER,
  last_used_at INTEGER,
  replaced_by  TEXT REFERENCES api_keys (id) ON DELETE SET NULL,
  valid_until  INTEGER
) STRICT;
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE refresh_tokens (
  id          TEXT    PRIMARY KEY,
  family_id   TEXT    NOT NULL,
  user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  hash        BLOB    NOT NULL UNIQUE,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  used_at     INTEGER,
  revoked_at  INTEGER
) STRICT;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE revoked_tokens (
  jti        TEXT    PRIMARY KEY,
  expires_at INTEGER NOT NULL
) STRICT;

CREATE TABLE auth_changes (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  at         INTEGER NOT NULL,
  kind       TEXT    NOT NULL,
  key_id     TEXT,
  user_id    INTEGER,
  token_id   TEXT
) STRICT;
