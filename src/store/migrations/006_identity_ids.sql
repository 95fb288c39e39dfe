-- Identities that never come back (issue 11, #3). SQLite reuses the highest freed rowid, so a deleted user's id went
-- to the next user created, and with it the deleted user's live access tokens. Users get AUTOINCREMENT ids, with the
-- sequence seeded above every id this database has ever named (rows of deleted users survive in usage, the change
-- feed and limits), and a random token epoch that every access token carries: changed when a password is set or the
-- user is disabled, it ends every token issued before. API keys remember the key that made them (null: a login
-- session or the CLI), so a key may revoke what it made. Logins ended early are remembered until their last access
-- token expires. A table's primary key cannot change in place: users and the two tables that reference it are
-- rebuilt, children dropped before their parent so no ON DELETE CASCADE fires, ids and references kept as they were.

CREATE TABLE users_new (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
  email         TEXT,
  display_name  TEXT,
  password_hash TEXT,
  role          TEXT    NOT NULL CHECK (role IN ('admin', 'user', 'readonly')),
  active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  last_login_at INTEGER,
  token_epoch   INTEGER NOT NULL DEFAULT ((random() & 281474976710655) + 1)
) STRICT;

INSERT INTO users_new (id, username, email, display_name, password_hash, role, active, created_at, updated_at,
  last_login_at)
SELECT id, username, email, display_name, password_hash, role, active, created_at, updated_at, last_login_at FROM users;

CREATE TABLE api_keys_new (
  id             TEXT    PRIMARY KEY,
  user_id        INTEGER NOT NULL REFERENCES users_new (id) ON DELETE CASCADE,
  hash           BLOB    NOT NULL UNIQUE,
  prefix         TEXT    NOT NULL,
  name           TEXT,
  description    TEXT,
  models         TEXT,
  created_at     INTEGER NOT NULL,
  expires_at     INTEGER,
  revoked_at     INTEGER,
  last_used_at   INTEGER,
  replaced_by    TEXT REFERENCES api_keys_new (id) ON DELETE SET NULL,
  valid_until    INTEGER,
  created_by_key TEXT
) STRICT;

INSERT INTO api_keys_new (id, user_id, hash, prefix, name, description, models, created_at, expires_at, revoked_at,
  last_used_at, replaced_by, valid_until)
SELECT id, user_id, hash, prefix, name, description, models, created_at, expires_at, revoked_at, last_used_at,
  replaced_by, valid_until FROM api_keys;

CREATE TABLE refresh_tokens_new (
  id          TEXT    PRIMARY KEY,
  family_id   TEXT    NOT NULL,
  user_id     INTEGER NOT NULL REFERENCES users_new (id) ON DELETE CASCADE,
  hash        BLOB    NOT NULL UNIQUE,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  used_at     INTEGER,
  revoked_at  INTEGER
) STRICT;

INSERT INTO refresh_tokens_new SELECT id, family_id, user_id, hash, created_at, expires_at, used_at, revoked_at
FROM refresh_tokens;

DROP TABLE refresh_tokens;
DROP TABLE api_keys;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
ALTER TABLE api_keys_new RENAME TO api_keys;
ALTER TABLE refresh_tokens_new RENAME TO refresh_tokens;
CREATE INDEX api_keys_user ON api_keys (user_id);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

DELETE FROM sqlite_sequence WHERE name IN ('users', 'users_new');
INSERT INTO sqlite_sequence (name, seq) SELECT 'users', MAX(
  (SELECT COALESCE(MAX(id), 0) FROM users),
  (SELECT COALESCE(MAX(user_id), 0) FROM usage),
  (SELECT COALESCE(MAX(user_id), 0) FROM usage_hourly),
  (SELECT COALESCE(MAX(user_id), 0) FROM auth_changes),
  (SELECT COALESCE(MAX(CAST(subject AS INTEGER)), 0) FROM limits WHERE subject_type = 'user'));

-- Logins (refresh-token families) ended before their time: their access tokens are refused until expires_at.
CREATE TABLE revoked_logins (
  family_id  TEXT    PRIMARY KEY,
  expires_at INTEGER NOT NULL
) STRICT;
