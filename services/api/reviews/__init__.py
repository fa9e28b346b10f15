"""`/v1/reviews`: performance review meetings, the goal statuses they froze, and their
decisions, action items and target changes."""
