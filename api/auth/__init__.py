"""Users, roles, passwords, session cookies, API tokens, CSRF and login rate limiting."""
