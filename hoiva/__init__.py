"""hoiva package."""
