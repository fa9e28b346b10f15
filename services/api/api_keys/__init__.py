"""API keys (admin): create (the secret is shown once), list, revoke."""
