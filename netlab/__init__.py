"""A network lab: participants in their own namespaces on links with named home profiles."""

from netlab.errors import NetlabError, NotIsolatedError, UnknownProfileError
from netlab.lab import Lab, Participant
from netlab.links import SERVER_ADDRESS, SUBNET
from netlab.profiles import PROFILE_TABLE, PROFILES, AddressChange, Blackout, LinkProfile

__all__ = [
    "PROFILES",
    "PROFILE_TABLE",
    "SERVER_ADDRESS",
    "SUBNET",
    "AddressChange",
    "Blackout",
    "Lab",
    "LinkProfile",
    "NetlabError",
    "NotIsolatedError",
    "Participant",
    "UnknownProfileError",
]
