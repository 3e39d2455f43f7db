// A room's media: one RTCPeerConnection to Hoiva's media server carrying everyone's streams,
// sorted by the transceiver (mid) each one arrives on. Shared by the host console and the
// kiosk's meal view. The server says whose stream is on which mid (room.media_map) and what
// to publish (media.publish_hint).

import { CallMedia } from "/static/js/hoiva-call.js";

/**
 * Callbacks (besides CallMedia's): onTracks() whenever a remote track arrives or leaves.
 */
export class RoomMedia extends CallMedia {
  constructor(options) {
    super(options);
    this.byMid = new Map();
    this.hint = null;
    this.publishers = new Map(); // publisher id -> MediaStream, reused so <video> keeps playing
  }

  addRemoteTrack(track) {
    const transceiver = this.pc?.getTransceivers().find((t) => t.receiver.track === track);
    const mid = transceiver?.mid ?? track.id;
    this.byMid.set(mid, track);
    track.addEventListener("ended", () => {
      if (this.byMid.get(mid) === track) {
        this.byMid.delete(mid);
        this.callbacks.onTracks?.();
      }
    });
    this.callbacks.onTracks?.();
  }

  /**
   * The stream of one publisher from the media map (mid -> {kind, publisher_id}): the same
   * MediaStream object every time, its tracks swapped as the map changes.
   */
  streamFor(publisherId, tracksByMid) {
    let stream = this.publishers.get(publisherId);
    if (!stream) {
      stream = new MediaStream();
      this.publishers.set(publisherId, stream);
    }
    const wanted = new Set();
    for (const [mid, entry] of tracksByMid) {
      const track = this.byMid.get(mid);
      if (entry.publisher_id === publisherId && track) {
        wanted.add(track);
      }
    }
    for (const track of stream.getTracks()) {
      if (!wanted.has(track)) {
        stream.removeTrack(track);
      }
    }
    for (const track of wanted) {
      if (!stream.getTracks().includes(track)) {
        stream.addTrack(track);
      }
    }
    return stream;
  }

  /** Follow the server's publish hint: bitrate, frame rate and size of our camera. */
  async applyHint(hint) {
    this.hint = hint ?? this.hint;
    const sender = this.pc?.getSenders().find((s) => s.track?.kind === "video");
    if (!sender || !this.hint) {
      return;
    }
    const parameters = sender.getParameters();
    if (!parameters.encodings?.length) {
      return; // not negotiated yet; start() applies it afterwards
    }
    for (const encoding of parameters.encodings) {
      encoding.maxBitrate = this.hint.max_bitrate;
      encoding.maxFramerate = this.hint.max_fps;
      encoding.scaleResolutionDownBy = this.hint.scale_down;
    }
    try {
      await sender.setParameters(parameters);
    } catch (error) {
      console.warn("hoiva: could not apply the publish hint", error);
    }
  }

  start() {
    return super.start().then(() => this.applyHint(null));
  }

  /** Per-mid video counters from getStats(): what each remote tile has decoded. */
  async statsByMid() {
    const result = new Map();
    if (!this.pc) {
      return result;
    }
    const report = await this.pc.getStats();
    report.forEach((entry) => {
      if (entry.type === "inbound-rtp" && entry.kind === "video" && entry.mid !== undefined) {
        result.set(String(entry.mid), {
          framesDecoded: entry.framesDecoded ?? 0,
          frameWidth: entry.frameWidth ?? 0,
          frameHeight: entry.frameHeight ?? 0,
        });
      }
    });
    return result;
  }

  close() {
    super.close();
    this.byMid.clear();
    this.publishers.clear();
  }
}
