"""The client kit: what every headless Hoiva client shares.

A signaling socket (`signaling.py`), the link to a deployment that reconnects across its
instances (`link.py`), and one peer session's negotiation with the media server
(`negotiation.py`). It knows the wire protocol and media's client side, nothing of the server.
"""
