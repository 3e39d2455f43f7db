"""Running `ip`, `tc` and `nft`: one place that turns a failed command into a NetlabError."""

from __future__ import annotations

import asyncio

from netlab.errors import NetlabError


async def run(argv: list[str], *, stdin: str | None = None) -> str:
    """Run a command to its end; its stdout, or NetlabError with its stderr."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise NetlabError(f"cannot run {argv[0]}: {exc}") from exc
    out, err = await process.communicate(None if stdin is None else stdin.encode())
    if process.returncode != 0:
        raise NetlabError(f"{' '.join(argv)} failed ({process.returncode}): {err.decode().strip()}")
    return out.decode()
