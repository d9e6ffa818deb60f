"""Authentication (API tokens, legacy X-AUTH headers), passwords and Kimai's role permissions."""
