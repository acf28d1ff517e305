-- A call's timeline (JSON): each reply's time and where it went, each tool call's time and
-- outcome word; numbers and the agent's names only, never words said. NULL when empty.
ALTER TABLE calls ADD COLUMN timeline TEXT;
