-- The OpenAI Batch API (issue 16): uploaded files (their bytes live on disk under the data directory, named by id),
-- batches, and one row per input line with its state, so that a restart resumes a batch where it stopped. A line's
-- result is written with its state in one transaction: the output files are made from these rows once every line is
-- done, so a line that ran twice (in flight at a kill) still appears exactly once.
CREATE TABLE files (
  id TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose TEXT NOT NULL,
  filename TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX files_by_user ON files (user_id, created_at);

CREATE TABLE batches (
  id TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- The API key that made the batch (its model allow-list and key limits bind every line); null for a login session.
  key_id TEXT,
  input_file_id TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  completion_window TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('validating', 'failed', 'in_progress', 'finalizing', 'completed', 'expired',
    'cancelling', 'cancelled')),
  metadata TEXT,
  errors TEXT,
  output_file_id TEXT,
  error_file_id TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  in_progress_at INTEGER,
  finalizing_at INTEGER,
  completed_at INTEGER,
  failed_at INTEGER,
  expired_at INTEGER,
  cancelling_at INTEGER,
  cancelled_at INTEGER
) STRICT;
CREATE INDEX batches_by_user ON batches (user_id, created_at);
CREATE INDEX batches_active ON batches (status) WHERE status IN ('validating', 'in_progress', 'finalizing', 'cancelling');

CREATE TABLE batch_lines (
  batch_id TEXT NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
  line INTEGER NOT NULL,
  custom_id TEXT NOT NULL,
  -- Where the line's request body is in the input file (bytes), read again when it runs.
  offset INTEGER NOT NULL,
  length INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
  -- The line of the output (succeeded) or error (failed) file, as JSON, once it ran.
  result TEXT,
  PRIMARY KEY (batch_id, line)
) STRICT;
CREATE INDEX batch_lines_pending ON batch_lines (batch_id, line) WHERE state = 'pending';
