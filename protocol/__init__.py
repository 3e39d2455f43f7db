"""The wire protocol between Hoiva and its clients: message shapes, parsing and encoding.

A leaf package: it imports nothing of Hoiva's, so clients, services and the transport can
all share it (docs/protocol.md describes it).
"""
