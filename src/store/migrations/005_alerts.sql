-- Quota alerts already announced: one row per limiter counter, calendar period and threshold, so that an alert goes
-- out once per window even across restarts and several processes.

CREATE TABLE alerts_sent (
  counter      TEXT    NOT NULL,
  period_start INTEGER NOT NULL,
  threshold    INTEGER NOT NULL,
  sent_at      INTEGER NOT NULL,
  PRIMARY KEY (counter, period_start, threshold)
) STRICT, WITHOUT ROWID;
