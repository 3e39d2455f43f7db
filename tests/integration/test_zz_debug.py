import asyncio, logging, time, os
import pytest
from tests.integration.meal_harness import MealTable, rooms_of, frames_by_source

async def test_debug(server):
    from media.room import MediaRoom
    orig = MediaRoom.set_bitrate_policy
    MediaRoom.set_bitrate_policy = lambda self, p: None
    table = await MealTable.lay(server, 3)
    try:
        await table.host.join_room(table.room.id)
        await asyncio.sleep(3)
        s0 = [p._video.frames_sent for p in table.peers()]
        await asyncio.sleep(3)
        s1 = [p._video.frames_sent for p in table.peers()]
        print("sent fps", [(b-a)/3 for a,b in zip(s0,s1)])
        import threading; print(threading.active_count())
    finally:
        MediaRoom.set_bitrate_policy = orig
        await table.close()
