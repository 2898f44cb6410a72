-- Which claim of an Idempotency-Key is running (claim_id, a UUID v7 written by the claim) and
-- whether its handler's work committed (committed_at, set in the handler's own transaction while
-- it still holds the claim). A claim whose work never committed may be taken over safely, as the
-- old handler's commit then fails on the claim id; one whose work committed is never run again,
-- even when its response was lost.
ALTER TABLE idempotency_keys ADD COLUMN claim_id TEXT;
ALTER TABLE idempotency_keys ADD COLUMN committed_at TIMESTAMP;
