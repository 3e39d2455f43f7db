"""The care services: calls, rooms, check-ins, fleet, help desk, echo tests, insight."""
