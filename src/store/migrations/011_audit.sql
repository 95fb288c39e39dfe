-- The tamper-evident audit log (issue 15; src/events/auditLog.ts writes and verifies it). Append-only: each row holds
-- the SHA-256 of its own fields and the previous row's hash, so an edited, inserted, deleted or reordered row breaks
-- the chain at that row. Triggers refuse UPDATE and DELETE through plain SQL; the retention prune deletes the oldest
-- rows only while it holds the audit_prune flag, rows up to the anchor only, and first records the hash of the last row it deletes as the anchor
-- the chain continues from. The triggers stop mistakes and casual edits, not someone who can rewrite the file:
-- `parallama audit verify` and the signed checkpoints kept off the box catch those.

CREATE TABLE audit_log (
  seq        INTEGER PRIMARY KEY,
  time       INTEGER NOT NULL,
  action     TEXT    NOT NULL,
  source     TEXT    NOT NULL,
  actor_user TEXT,
  key_id     TEXT,
  client_ip  TEXT,
  os_user    TEXT,
  host       TEXT,
  target     TEXT,
  before     TEXT,
  after      TEXT,
  result     TEXT    NOT NULL,
  error      TEXT,
  request_id TEXT,
  prev_hash  TEXT    NOT NULL,
  hash       TEXT    NOT NULL
) STRICT;
CREATE INDEX audit_log_time ON audit_log (time);

-- Where the kept chain starts after a prune: the seq and hash of the last row deleted (one row, id 1).
CREATE TABLE audit_anchor (
  id   INTEGER PRIMARY KEY CHECK (id = 1),
  seq  INTEGER NOT NULL,
  hash TEXT    NOT NULL,
  time INTEGER NOT NULL
) STRICT;

-- Set (one row) only inside the prune's transaction; the delete trigger lets rows go only while it is there.
CREATE TABLE audit_prune (
  id INTEGER PRIMARY KEY CHECK (id = 1)
) STRICT;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM audit_prune) OR OLD.seq > COALESCE((SELECT seq FROM audit_anchor WHERE id = 1), 0)
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only: only the retention prune deletes its oldest rows');
END;

CREATE TRIGGER audit_anchor_no_update BEFORE UPDATE ON audit_anchor
WHEN NOT EXISTS (SELECT 1 FROM audit_prune)
BEGIN
  SELECT RAISE(ABORT, 'audit_anchor moves only with the retention prune');
END;

CREATE TRIGGER audit_anchor_no_delete BEFORE DELETE ON audit_anchor
BEGIN
  SELECT RAISE(ABORT, 'audit_anchor is never deleted');
END;
