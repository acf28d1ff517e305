-- A trunk's own budget of new SIP requests per second from its networks (NULL: the
-- installation's --sip-trunk-rate-limit).
ALTER TABLE trunks ADD COLUMN requests_per_second BIGINT;
