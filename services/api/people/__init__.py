"""The people directory (`/v1/people`)."""
