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

  async checkMediaServer() {
    const rttMs = await this.signal()?.ping();
    if (rttMs === null || rttMs === undefined) {
      return check("media_server", "fail", "no answer to ping");
    }
    try {
      const hosts = (await gatherCandidates(this.iceServers(), "all")).host ?? 0;
      const detail = `round trip ${Math.round(rttMs)} ms, ${hosts} host candidate(s)`;
      return check("media_server", hosts ? "pass" : "fail", detail);
    } catch (error) {
      return check("media_server", "fail", `${error.name}: ${error.message}`);
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
