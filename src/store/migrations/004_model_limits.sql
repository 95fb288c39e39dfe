-- Limits per model: a rule may name one model (Ollama's normal form, e.g. llama3.2:latest); '' is every model. A
-- model rule is an extra limit on requests for that model, on top of the subject's limits for all models.
-- SQLite cannot change a UNIQUE constraint in place, so the table is rebuilt.

CREATE TABLE limits_new (
  id           INTEGER PRIMARY KEY,
  subject_type TEXT    NOT NULL CHECK (subject_type IN ('key', 'user', 'role', 'default', 'ip')),
  subject      TEXT    NOT NULL,
  gateway      TEXT    NOT NULL CHECK (gateway IN ('ollama', 'openai', '*')),
  model        TEXT    NOT NULL DEFAULT '' CHECK (model = '' OR subject_type <> 'ip'),
  rpm          INTEGER CHECK (rpm > 0),
  rph          INTEGER CHECK (rph > 0),
  rpd          INTEGER CHECK (rpd > 0),
  tpm          INTEGER CHECK (tpm > 0),
  tph          INTEGER CHECK (tph > 0),
  tpd          INTEGER CHECK (tpd > 0),
  concurrency  INTEGER CHECK (concurrency > 0),
  daily_tokens   INTEGER CHECK (daily_tokens > 0),
  monthly_tokens INTEGER CHECK (monthly_tokens > 0),
  daily_requests   INTEGER CHECK (daily_requests > 0),
  monthly_requests INTEGER CHECK (monthly_requests > 0),
  updated_at   INTEGER NOT NULL,
  UNIQUE (subject_type, subject, gateway, model)
) STRICT;

INSERT INTO limits_new (id, subject_type, subject, gateway, model, rpm, rph, rpd, tpm, tph, tpd, concurrency,
  daily_tokens, monthly_tokens, daily_requests, monthly_requests, updated_at)
SELECT id, subject_type, subject, gateway, '', rpm, rph, rpd, tpm, tph, tpd, concurrency,
  daily_tokens, monthly_tokens, daily_requests, monthly_requests, updated_at FROM limits;

DROP TABLE limits;
ALTER TABLE limits_new RENAME TO limits;

-- Per-model quotas are rebuilt from the rollups by user or key and model.
CREATE INDEX usage_hourly_key ON usage_hourly (key_id, hour);
