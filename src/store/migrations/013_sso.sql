-- Single sign-on (issue 15): a user signed in through an OpenID provider is linked to that provider's identity, the
-- issuer and subject of its ID token (the one pair the OpenID spec makes stable and unique; names and emails can be
-- reassigned). A username that collides with an unlinked user is refused, never merged, so the link is the only way an
-- IdP identity reaches an account. One identity links at most one user.
ALTER TABLE users ADD COLUMN sso_issuer TEXT;
ALTER TABLE users ADD COLUMN sso_subject TEXT;
CREATE UNIQUE INDEX users_sso_identity ON users (sso_issuer, sso_subject) WHERE sso_issuer IS NOT NULL;
