"""care_sessions package."""
