// One call's media: camera and microphone, the RTCPeerConnection to Hoiva's media server,
// and the offer/answer exchange over a SignalConnection. Shared by dashboard and kiosk.

const ICE_GATHERING_CAP_MS = 2000;

/** Resolve when ICE gathering completes, or after the cap: the server does not trickle. */
export function waitForIceGathering(pc, capMs = ICE_GATHERING_CAP_MS) {
  if (pc.iceGatheringState === "complete") {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") {
        done();
      }
    };
    const timer = setTimeout(done, capMs);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/**
 * Media of one call. The client offers first (media.offer -> media.answer); the server
 * may offer later to renegotiate, which onOffer() answers.
 *
 * Callbacks: onRemoteStream(stream), onConnectionState(state), onLocalMediaError(error),
 * onPlaybackBlocked().
 */
export class CallMedia {
  constructor({ signal, callId, iceServers = [], localVideo = null, remoteVideo = null, ...callbacks }) {
    this.signal = signal;
    this.callId = callId;
    this.iceServers = iceServers;
    this.localVideo = localVideo;
    this.remoteVideo = remoteVideo;
    this.callbacks = callbacks;
    this.localStream = null;
    this.remoteStream = new MediaStream();
    this.pc = null;
    this.closed = false;
    // Offer/answer steps must not interleave; every step runs after the previous one.
    this.queue = Promise.resolve();
  }

  /** Ask for camera and microphone; a call still works (receive-only) when they fail. */
  async openLocalMedia() {
    try {
      this.localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    } catch (error) {
      this.localStream = null;
      this.callbacks.onLocalMediaError?.(error);
    }
    if (this.closed) {
      this.stopLocal();
      return;
    }
    if (this.localVideo && this.localStream) {
      this.localVideo.srcObject = this.localStream;
      this.localVideo.play().catch(() => {});
    }
  }

  createPeerConnection() {
    // Never let the browser fall back to a default STUN server: pass exactly what the
    // server announced (an empty list on a LAN or loopback).
    const pc = new RTCPeerConnection({ iceServers: this.iceServers || [] });
    const kinds = new Set();
    if (this.localStream) {
      for (const track of this.localStream.getTracks()) {
        pc.addTrack(track, this.localStream);
        kinds.add(track.kind);
      }
    }
    for (const kind of ["audio", "video"]) {
      if (!kinds.has(kind)) {
        pc.addTransceiver(kind, { direction: "recvonly" });
      }
    }
    pc.addEventListener("track", (event) => this.addRemoteTrack(event.track));
    pc.addEventListener("connectionstatechange", () => {
      this.callbacks.onConnectionState?.(pc.connectionState);
    });
    this.pc = pc;
    return pc;
  }

  addRemoteTrack(track) {
    this.remoteStream.addTrack(track);
    track.addEventListener("ended", () => this.remoteStream.removeTrack(track));
    if (this.remoteVideo && this.remoteVideo.srcObject !== this.remoteStream) {
      this.remoteVideo.srcObject = this.remoteStream;
    }
    this.playRemote();
    this.callbacks.onRemoteStream?.(this.remoteStream);
  }

  playRemote() {
    if (!this.remoteVideo) {
      return;
    }
    this.remoteVideo.muted = false;
    this.remoteVideo.play().catch(() => {
      // Autoplay with sound needs a user gesture in most browsers: play muted now and
      // let the page offer a "tap for sound" button.
      this.remoteVideo.muted = true;
      this.remoteVideo.play().catch(() => {});
      this.callbacks.onPlaybackBlocked?.();
    });
  }

  /** Open local media (if not yet), create the offer and send media.offer. */
  start() {
    return this.enqueue(async () => {
      if (!this.localStream) {
        await this.openLocalMedia();
      }
      if (this.closed) {
        return;
      }
      const pc = this.pc ?? this.createPeerConnection();
      await pc.setLocalDescription(await pc.createOffer());
      await waitForIceGathering(pc);
      if (!this.closed) {
        this.signal.send({ type: "media.offer", call_id: this.callId, sdp: pc.localDescription.sdp });
      }
    });
  }

  /**
   * The call's media moved to another server (media.restart): drop the peer connection and
   * offer again on a new one, keeping camera and microphone as they are.
   */
  restart() {
    return this.enqueue(async () => {
      if (this.pc) {
        this.pc.close();
        this.pc = null;
      }
      for (const track of this.remoteStream.getTracks()) {
        this.remoteStream.removeTrack(track);
      }
      const pc = this.createPeerConnection();
      await pc.setLocalDescription(await pc.createOffer());
      await waitForIceGathering(pc);
      if (!this.closed) {
        this.signal.send({ type: "media.offer", call_id: this.callId, sdp: pc.localDescription.sdp });
      }
    });
  }

  onAnswer(sdp) {
    return this.enqueue(async () => {
      if (this.pc && this.pc.signalingState === "have-local-offer") {
        await this.pc.setRemoteDescription({ type: "answer", sdp });
      }
    });
  }

  /** A renegotiation the server started. */
  onOffer(sdp) {
    return this.enqueue(async () => {
      const pc = this.pc ?? this.createPeerConnection();
      await pc.setRemoteDescription({ type: "offer", sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await waitForIceGathering(pc);
      if (!this.closed) {
        this.signal.send({ type: "media.answer", call_id: this.callId, sdp: pc.localDescription.sdp });
      }
    });
  }

  setMuted(muted) {
    for (const track of this.localStream?.getAudioTracks() ?? []) {
      track.enabled = !muted;
    }
  }

  setCameraOff(off) {
    for (const track of this.localStream?.getVideoTracks() ?? []) {
      track.enabled = !off;
    }
  }

  get hasAudio() {
    return (this.localStream?.getAudioTracks().length ?? 0) > 0;
  }

  get hasVideo() {
    return (this.localStream?.getVideoTracks().length ?? 0) > 0;
  }

  /** Video counters from getStats(): what arrives and what is sent. */
  async videoStats() {
    const result = { framesDecoded: 0, framesReceived: 0, frameWidth: 0, frameHeight: 0, framesSent: 0, framesEncoded: 0 };
    if (!this.pc) {
      return result;
    }
    const report = await this.pc.getStats();
    report.forEach((entry) => {
      if (entry.kind !== "video") {
        return;
      }
      if (entry.type === "inbound-rtp") {
        result.framesDecoded += entry.framesDecoded ?? 0;
        result.framesReceived += entry.framesReceived ?? 0;
        result.frameWidth = entry.frameWidth ?? result.frameWidth;
        result.frameHeight = entry.frameHeight ?? result.frameHeight;
      } else if (entry.type === "outbound-rtp") {
        result.framesSent += entry.framesSent ?? 0;
        result.framesEncoded += entry.framesEncoded ?? 0;
      }
    });
    return result;
  }

  close() {
    this.closed = true;
    if (this.pc) {
      this.pc.close();
      this.pc = null;
    }
    this.stopLocal();
    for (const track of this.remoteStream.getTracks()) {
      this.remoteStream.removeTrack(track);
    }
    if (this.remoteVideo) {
      this.remoteVideo.srcObject = null;
    }
  }

  stopLocal() {
    for (const track of this.localStream?.getTracks() ?? []) {
      track.stop();
    }
    this.localStream = null;
    if (this.localVideo) {
      this.localVideo.srcObject = null;
    }
  }

  enqueue(step) {
    const run = this.queue.then(() => (this.closed ? undefined : step()));
    this.queue = run.catch((error) => {
      if (!this.closed) {
        console.error("hoiva: media step failed", error);
        this.callbacks.onConnectionState?.("failed");
      }
    });
    return this.queue;
  }
}
