-- The addresses that failed to log in to an account within its window: a locked account refuses
-- only these, so an attacker who locks an account cannot keep its owner out from elsewhere.
CREATE TABLE login_failed_addresses (
    account TEXT NOT NULL,
    address TEXT NOT NULL,
    last_failed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account, address)
);
