"""tablet_client package."""
