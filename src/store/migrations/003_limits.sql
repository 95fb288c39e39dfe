-- Rate limits and calendar quotas by subject (an API key, a user, a role's default, the global default, or a client
-- address range given as CIDR) and gateway scope (one API, or '*' shared by both). A NULL limit is "not set here": the next less specific rule decides.

CREATE TABLE limits (
  id           INTEGER PRIMARY KEY,
  subject_type TEXT    NOT NULL CHECK (subject_type IN ('key', 'user', 'role', 'default', 'ip')),
  subject      TEXT    NOT NULL,
  gateway      TEXT    NOT NULL CHECK (gateway IN ('ollama', 'openai', '*')),
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
  UNIQUE (subject_type, subject, gateway)
) STRICT;
