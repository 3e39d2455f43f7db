"""A headless relative: opens their call link's socket and calls the client (tests, bench)."""

from __future__ import annotations

from tablet_client.headless_staff import HeadlessNurse


class HeadlessRelative(HeadlessNurse):
    """Calls like the family page does: no account, the link's secret says who they are."""

    def __init__(self, server_url: str, link_token: str, *, source_id: int = 200) -> None:
        super().__init__(server_url, "", "", source_id=source_id)
        self._link_token = link_token

    async def login(self) -> None:
        """Nothing to sign in to: the hello carries the link's secret."""

    @property
    def client_id(self) -> str:
        """The one client this link may call, as the welcome names it."""
        assert self.welcome is not None and self.welcome.family_of is not None
        return self.welcome.family_of.client_id
