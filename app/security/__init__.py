"""Security: the security manager, the roles as data, and the row scope."""
