// The kiosk as a managed device: heartbeats to the fleet, the self-test, and the fleet's
// commands (settings.update, tablet.reload, selftest.run; docs/protocol.md, "Fleet").
// What the client sees stays in kiosk.js; this module only measures and reports.

const CONNECTION_TYPES = new Set([
  "wifi", "cellular", "ethernet", "bluetooth", "wimax", "mixed", "other", "none",
]);
const EFFECTIVE_TYPES = new Set(["slow-2g", "2g", "3g", "4g"]);
const PERMISSIONS = new Set(["granted", "denied", "prompt"]);
// Changes (screen off, network switch, battery) are reported at most this often.
const CHANGE_THROTTLE_MS = 2000;
const GATHER_TIMEOUT_MS = 8000;
const SPEAKER_TIMEOUT_MS = 1000;
// The echo test: the media server must send our picture back within this long.
const ECHO_TIMEOUT_MS = 10000;
const ECHO_FRAMES = 3;
const DETAIL_MAX = 200;

const known = (value, allowed) => (allowed.has(value) ? value : "unknown");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const short = (text) => String(text).slice(0, DETAIL_MAX);
const check = (name, outcome, detail = "") => ({ name, outcome, detail: short(detail) });

async function permissionState(name) {
  try {
    const status = await navigator.permissions.query({ name });
    return known(status.state, PERMISSIONS);
  } catch (error) {
    return "unknown"; // the browser cannot say (Firefox has no "camera" permission name)
  }
}

function candidateTypes(sdp) {
  const found = {};
  for (const line of sdp.split(/\r?\n/)) {
    const match = /^a=candidate:.* typ (\w+)/.exec(line);
    if (match) {
      found[match[1]] = (found[match[1]] ?? 0) + 1;
    }
  }
  return found;
}

// Gathering needs no answer from anyone: the local description lists what was found.
async function gatherCandidates(iceServers, iceTransportPolicy) {
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy });
  try {
    pc.createDataChannel("selftest");
    await pc.setLocalDescription(await pc.createOffer());
    const deadline = Date.now() + GATHER_TIMEOUT_MS;
    while (pc.iceGatheringState !== "complete" && Date.now() < deadline) {
      await sleep(50);
    }
    return candidateTypes(pc.localDescription?.sdp ?? "");
  } finally {
    pc.close();
  }
}

// A moving picture on a canvas: the echo test sends this, never the client's camera (which
// the camera check has already tried, and which a call may be using).
function testPattern() {
  const canvas = document.createElement("canvas");
  canvas.width = 160;
  canvas.height = 120;
  const context = canvas.getContext("2d");
  let step = 0;
  const timer = setInterval(() => {
    step += 1;
    context.fillStyle = `hsl(${(step * 7) % 360} 80% 50%)`;
    context.fillRect(0, 0, canvas.width, canvas.height);
  }, 66);
  const stream = canvas.captureStream(15);
  return {
    stream,
    stop() {
      clearInterval(timer);
      for (const track of stream.getTracks()) {
        track.stop();
      }
    },
  };
}

async function framesDecoded(pc) {
  let decoded = 0;
  (await pc.getStats()).forEach((entry) => {
    if (entry.type === "inbound-rtp" && entry.kind === "video") {
      decoded += entry.framesDecoded ?? 0;
    }
  });
  return decoded;
}

function isTurn(server) {
  return [].concat(server.urls ?? []).some((url) => /^turns?:/.test(url));
}

export class DeviceAgent {
  /**
   * signal(): the SignalConnection; iceServers(): the welcome's list; onSettings(settings),
   * onReload(): what kiosk.js does with the fleet's commands.
   */
  constructor({ signal, appVersion, iceServers, onSettings, onReload }) {
    this.signal = signal;
    this.appVersion = appVersion;
    this.iceServers = iceServers;
    this.onSettings = onSettings;
    this.onReload = onReload;
    this.timer = null;
    this.changeTimer = null;
    this.lastSentAt = 0;
    this.battery = null;
    this.heartbeats = 0;
    this.lastSelfTest = null;
    // echo.start refs waiting for their echo.answer (or error).
    this.echoes = new Map();
    this.watchChanges();
  }

  /** After every welcome: report at once, then every `heartbeatS` seconds. */
  start(heartbeatS) {
    this.stop();
    if (!heartbeatS) {
      return; // this server runs no fleet
    }
    this.heartbeat();
    this.timer = setInterval(() => this.heartbeat(), heartbeatS * 1000);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  /** Messages for the device rather than the person: true when handled here. */
  handle(message) {
    switch (message.type) {
      case "settings.update":
        this.onSettings(message.settings);
        return true;
      case "tablet.reload":
        this.onReload();
        return true;
      case "selftest.run":
        this.runSelfTest(message.run_id);
        return true;
      case "echo.answer":
      case "error": {
        const waiter = this.echoes.get(message.ref);
        if (!waiter) {
          return false;
        }
        this.echoes.delete(message.ref);
        waiter(message);
        return true;
      }
      case "echo.stopped":
        return true;
      default:
        return false;
    }
  }

  watchChanges() {
    const changed = () => this.changed();
    document.addEventListener("visibilitychange", changed);
    navigator.connection?.addEventListener?.("change", changed);
    for (const name of ["camera", "microphone"]) {
      navigator.permissions
        ?.query({ name })
        .then((status) => status.addEventListener("change", changed))
        .catch(() => {});
    }
    navigator
      .getBattery?.()
      .then((battery) => {
        this.battery = battery;
        battery.addEventListener("levelchange", changed);
        battery.addEventListener("chargingchange", changed);
      })
      .catch(() => {});
  }

  /** Something the fleet shows changed: tell it soon, without flooding the socket. */
  changed() {
    if (this.changeTimer || !this.timer) {
      return;
    }
    const wait = Math.max(0, this.lastSentAt + CHANGE_THROTTLE_MS - Date.now());
    this.changeTimer = setTimeout(() => {
      this.changeTimer = null;
      this.heartbeat();
    }, wait);
  }

  async heartbeat() {
    const signal = this.signal();
    if (!signal?.open) {
      return;
    }
    this.lastSentAt = Date.now();
    const rttMs = await signal.ping();
    const connection = navigator.connection;
    const message = {
      type: "tablet.heartbeat",
      app_version: this.appVersion,
      connection_type: known(connection?.type, CONNECTION_TYPES),
      effective_type: known(connection?.effectiveType, EFFECTIVE_TYPES),
      camera: await permissionState("camera"),
      microphone: await permissionState("microphone"),
      screen: document.visibilityState === "visible" ? "on" : "off",
    };
    if (typeof connection?.downlink === "number") {
      message.downlink_mbps = Math.min(connection.downlink, 10000);
    }
    if (rttMs !== null) {
      message.rtt_ms = Math.min(Math.round(rttMs * 10) / 10, 120000);
    }
    if (this.battery && Number.isFinite(this.battery.level)) {
      message.battery_pct = Math.round(this.battery.level * 100);
      message.charging = Boolean(this.battery.charging);
    }
    if (signal.send(message)) {
      this.heartbeats += 1;
    }
  }

  // ---- self-test ---------------------------------------------------------------------------

  async runSelfTest(runId) {
    // One check at a time: each says its own result even when another hangs or throws.
    const checks = [
      await this.checkCapture("camera", "video"),
      await this.checkCapture("microphone", "audio"),
      await this.checkSpeaker(),
      await this.checkMediaServer(),
      await this.checkTurn(),
    ];
    this.lastSelfTest = { runId, checks };
    this.signal()?.send({ type: "selftest.result", run_id: runId, checks });
  }

  async checkCapture(name, kind) {
    if (!navigator.mediaDevices?.getUserMedia) {
      return check(name, "fail", "this page cannot use media devices");
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ [kind]: true });
      const tracks = stream.getTracks();
      const live = tracks.filter((track) => track.readyState === "live");
      const label = live[0]?.label || kind;
      for (const track of tracks) {
        track.stop();
      }
      return live.length ? check(name, "pass", label) : check(name, "fail", "no live track");
    } catch (error) {
      return check(name, "fail", `${error.name}: ${error.message}`);
    }
  }

  async checkSpeaker() {
    let outputs = 0;
    try {
      const devices = await navigator.mediaDevices.enumerateDevices();
      outputs = devices.filter((device) => device.kind === "audiooutput").length;
    } catch (error) {
      // counted as none
    }
    let running = false;
    try {
      const context = new AudioContext();
      await Promise.race([context.resume(), sleep(SPEAKER_TIMEOUT_MS)]);
      running = context.state === "running";
      await context.close();
    } catch (error) {
      // no audio at all
    }
    const detail = `audio ${running ? "plays" : "waits for a touch"}, ${outputs} output device(s)`;
    return check("speaker", running || outputs ? "pass" : "fail", detail);
  }

  /**
   * The whole media path, both ways: a test picture goes to the media server (echo.start)
   * and must come back decoded, over the same ICE, DTLS and SRTP a call would use.
   */
  async checkMediaServer() {
    const signal = this.signal();
    const rttMs = await signal?.ping();
    if (rttMs === null || rttMs === undefined) {
      return check("media_server", "fail", "no answer to ping");
    }
    const pattern = testPattern();
    const pc = new RTCPeerConnection({ iceServers: this.iceServers() });
    const ref = `echo-${Date.now()}`;
    const started = performance.now();
    try {
      for (const track of pattern.stream.getTracks()) {
        pc.addTrack(track, pattern.stream);
      }
      await pc.setLocalDescription(await pc.createOffer());
      while (pc.iceGatheringState !== "complete" && performance.now() - started < GATHER_TIMEOUT_MS) {
        await sleep(50);
      }
      const reply = new Promise((resolve) => this.echoes.set(ref, resolve));
      if (!signal.send({ type: "echo.start", ref, sdp: pc.localDescription.sdp })) {
        return check("media_server", "fail", "the socket closed");
      }
      const answer = await Promise.race([reply, sleep(ECHO_TIMEOUT_MS).then(() => null)]);
      if (!answer) {
        return check("media_server", "fail", "no echo answer");
      }
      if (answer.type === "error") {
        return check("media_server", "fail", `${answer.code}: ${answer.message}`);
      }
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      let decoded = 0;
      while (decoded < ECHO_FRAMES && performance.now() - started < ECHO_TIMEOUT_MS) {
        await sleep(100);
        decoded = await framesDecoded(pc);
      }
      signal.send({ type: "echo.stop", echo_id: answer.echo_id });
      const took = Math.round(performance.now() - started);
      return decoded >= ECHO_FRAMES
        ? check("media_server", "pass", `echo in ${took} ms, round trip ${Math.round(rttMs)} ms`)
        : check("media_server", "fail", `no picture came back (${decoded} frames)`);
    } catch (error) {
      return check("media_server", "fail", `${error.name}: ${error.message}`);
    } finally {
      this.echoes.delete(ref);
      pc.close();
      pattern.stop();
    }
  }

  async checkTurn() {
    const turn = this.iceServers().filter(isTurn);
    if (!turn.length) {
      return check("turn", "skipped", "not configured");
    }
    try {
      const relays = (await gatherCandidates(turn, "relay")).relay ?? 0;
      return relays
        ? check("turn", "pass", `${relays} relay candidate(s)`)
        : check("turn", "fail", "no relay candidate");
    } catch (error) {
      return check("turn", "fail", `${error.name}: ${error.message}`);
    }
  }
}
