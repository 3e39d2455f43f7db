import asyncio
from media.client_peer import ClientPeer
from media.synthetic import SyntheticVideoTrack
from tests.media.media_harness import Call

async def test_debug(call: Call):
    peers = []
    for i in range(4):
        peer = ClientPeer(video=SyntheticVideoTrack(i+1, fps=15, width=320, height=240))
        call.signal.peers[f"p{i}"] = peer
        answer = await call.room.connect(f"p{i}", await peer.create_offer())
        await peer.accept_answer(answer)
        peers.append(peer)
    await asyncio.sleep(4)
    f0 = [dict(p.stats.video_frames) for p in peers]
    await asyncio.sleep(3)
    f1 = [dict(p.stats.video_frames) for p in peers]
    print([[round((y[k]-x.get(k,0))/3,1) for k in y] for x,y in zip(f0,f1)])
