-- How fast the agent answered on a call, numbers only (medians over its replies, in ms, and
-- the p90 of voice to voice); NULL when it answered nothing.
ALTER TABLE calls ADD COLUMN latency_replies BIGINT;
ALTER TABLE calls ADD COLUMN eot_ms BIGINT;
ALTER TABLE calls ADD COLUMN asr_ms BIGINT;
ALTER TABLE calls ADD COLUMN agent_ms BIGINT;
ALTER TABLE calls ADD COLUMN tts_ms BIGINT;
ALTER TABLE calls ADD COLUMN v2v_ms BIGINT;
ALTER TABLE calls ADD COLUMN v2v_p90_ms BIGINT;
