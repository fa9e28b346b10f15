"""API keys: generation, hashing, scopes and the cached authenticator both HTTP services use."""
