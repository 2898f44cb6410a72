DROP TABLE login_failed_addresses;
