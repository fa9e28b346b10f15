"""Browser sign-in: login, logout, sessions, invitations accepted, and `GET /v1/me`."""
