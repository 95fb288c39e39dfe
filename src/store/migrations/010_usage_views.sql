-- The dashboard's views at ten million rows (issue 14). usage_series: requests, errors, tokens and a latency
-- histogram per time step — hourly for all history, per minute for the last day (the writer thread prunes older
-- minutes) — for everyone (user_id -1) and per user (0: anonymous), so that the overview reads a few hundred rows
-- whatever the traffic. `latency` is the histogram of duration_ms of the requests that reached a backend (refusals
-- answer in microseconds and would hide the backends' latency): 40 little-endian uint32 counts, bucket 0 below
-- 2^0.5 ms, bucket i from 2^(i/2) to 2^((i+1)/2) ms, bucket 39 from 2^19.5 ms (12 min) up (src/usage/latencyBuckets.ts).

CREATE TABLE usage_series (
  step              INTEGER NOT NULL CHECK (step IN (60000, 3600000)),
  user_id           INTEGER NOT NULL,
  start             INTEGER NOT NULL,
  requests          INTEGER NOT NULL,
  errors            INTEGER NOT NULL,
  prompt_tokens     INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  latency           BLOB    NOT NULL CHECK (length(latency) = 160),
  PRIMARY KEY (step, user_id, start)
) STRICT, WITHOUT ROWID;

-- The hourly series of the history the rollups already hold (latency unknown before this version: all zero).
INSERT INTO usage_series (step, user_id, start, requests, errors, prompt_tokens, completion_tokens, latency)
SELECT 3600000, user_id, hour, SUM(requests), SUM(errors), SUM(prompt_tokens), SUM(completion_tokens), zeroblob(160)
FROM usage_hourly GROUP BY hour, user_id;
INSERT INTO usage_series (step, user_id, start, requests, errors, prompt_tokens, completion_tokens, latency)
SELECT 3600000, -1, hour, SUM(requests), SUM(errors), SUM(prompt_tokens), SUM(completion_tokens), zeroblob(160)
FROM usage_hourly GROUP BY hour;

-- usage_hourly by day: a report over a month reads a thirtieth of the rows (hourly rollups of a busy gateway hold
-- nearly a row per request: thousands of user/key/model combinations an hour). Reports read whole days here and the
-- partial days at a window's ends from usage_hourly.
CREATE TABLE usage_daily (
  day               INTEGER NOT NULL,
  user_id           INTEGER NOT NULL,
  key_id            TEXT    NOT NULL,
  model             TEXT    NOT NULL,
  api               TEXT    NOT NULL,
  requests          INTEGER NOT NULL,
  errors            INTEGER NOT NULL,
  prompt_tokens     INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cost              REAL    NOT NULL,
  PRIMARY KEY (day, user_id, key_id, model, api)
) STRICT, WITHOUT ROWID;
CREATE INDEX usage_daily_user ON usage_daily (user_id, day);
CREATE INDEX usage_daily_key ON usage_daily (key_id, day);
INSERT INTO usage_daily (day, user_id, key_id, model, api, requests, errors, prompt_tokens, completion_tokens, cost)
SELECT hour - hour % 86400000, user_id, key_id, model, api, SUM(requests), SUM(errors), SUM(prompt_tokens),
  SUM(completion_tokens), SUM(cost)
FROM usage_hourly GROUP BY hour - hour % 86400000, user_id, key_id, model, api;

-- Recent requests by user or by model, newest first, read from an index in its order. Both grow at a few hundred
-- insertion points (one per user, per model), so their pages stay cached; request_id has no index (random ids would
-- touch a random page per row): its search reads a bounded stretch of the time index (docs/usage.md).
CREATE INDEX usage_user_time ON usage (user_id, time);
CREATE INDEX usage_model_time ON usage (model, time);
