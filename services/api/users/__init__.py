"""People (admin): create, invite, list, change and deactivate users."""
