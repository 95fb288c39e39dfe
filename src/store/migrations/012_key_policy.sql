-- Key policy (issue 15): signed requests and address allow-lists. A key that requires signed requests holds its
-- signing secret (the HMAC key; the gateway must have it in clear to verify, see docs/signing.md); NULL: unsigned. An
-- allow-list is a JSON array of CIDR ranges (NULL: every address), on a key and on a user (it binds all their
-- credentials).

ALTER TABLE api_keys ADD COLUMN signing_secret BLOB;
ALTER TABLE api_keys ADD COLUMN allow_ip TEXT;
ALTER TABLE users ADD COLUMN allow_ip TEXT;
