-- Calls in progress: a provisional record is written at answer (outcome 'in_progress'),
-- its ended_ms kept current by heartbeats, and `node` names the process that owns it, so a
-- restart finishes the calls a crash cut (outcome 'interrupted').
ALTER TABLE calls ADD COLUMN node TEXT;
CREATE INDEX calls_in_progress ON calls(outcome) WHERE outcome = 'in_progress';
