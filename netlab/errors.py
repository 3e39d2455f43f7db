"""The network lab's exception root."""

from __future__ import annotations


class NetlabError(Exception):
    """Anything the lab could not set up, change or tear down."""


class NotIsolatedError(NetlabError):
    """The lab was asked to run in a network namespace it must not touch."""


class UnknownProfileError(NetlabError):
    """No link profile has that name."""
