// One signaling WebSocket to /ws, shared by the nurse dashboard and the kiosk tablet:
// hello, heartbeat, dead-link detection and reconnecting with backoff. Wire format:
// signaling/protocol.py (docs/protocol.md).

export const PROTOCOL_VERSION = 1;
export const CLOSE_REPLACED = 4000;
export const CLOSE_BAD_TOKEN = 4001;
export const CLOSE_REVOKED = 4003;

const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const HELLO_TIMEOUT_MS = 10000;
// Our own code for a socket we gave up on (no welcome, heartbeat lost); never sent by servers.
export const CLOSE_ABANDONED = 4900;

/** Delay before reconnect attempt `attempt` (0-based): 1 s doubling to 30 s, with jitter. */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  // Half fixed, half random: after a server restart a whole ward of tablets spreads out,
  // yet none waits much longer than the schedule promises.
  return ceiling / 2 + (random() * ceiling) / 2;
}

export function signalingUrl(location = window.location) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

/**
 * A signaling connection that keeps itself open until stop().
 *
 * Callbacks: onWelcome(welcome), onMessage(message), onState("connecting" | "open" |
 * "down" | "stopped", detail), onClose(code, reason) returning false to stop reconnecting.
 */
export class SignalConnection {
  constructor({ url = signalingUrl(), token = null, agent = "web/0.1", ...callbacks } = {}) {
    this.url = url;
    this.token = token;
    this.agent = agent;
    this.callbacks = callbacks;
    this.ws = null;
    this.welcome = null;
    this.attempt = 0;
    this.stopped = true;
    this.nextRef = 1;
    this.timers = { retry: null, heartbeat: null, hello: null };
    this.lastHeardAt = 0;
    // From the last welcome: the next socket (on any instance) presents it to resume.
    this.resumeToken = null;
    // Application pings waiting for their pong (ref -> {sentAt, answered}); the last round trip.
    this.pings = new Map();
    this.lastRttMs = null;
    this.onlineListener = () => this.reconnectNow();
  }

  get open() {
    return this.welcome !== null && this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  start() {
    this.stopped = false;
    window.addEventListener("online", this.onlineListener);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onlineListener);
    this.clearTimers();
    if (this.ws) {
      this.ws.close(1000, "bye");
      this.ws = null;
    }
    this.welcome = null;
    this.emitState("stopped");
  }

  /** Send a message; returns its ref (for matching an error reply) or null when down. */
  send(message) {
    if (!this.open) {
      return null;
    }
    const ref = message.ref ?? `r${this.nextRef++}`;
    this.ws.send(JSON.stringify({ v: PROTOCOL_VERSION, ...message, ref }));
    return ref;
  }

  /** Ping over the socket; resolves with the round trip in ms, or null (down, no pong). */
  ping(timeoutMs = 5000) {
    const ref = this.send({ type: "ping" });
    if (!ref) {
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pings.delete(ref);
        resolve(null);
      }, timeoutMs);
      const answered = (rttMs) => {
        clearTimeout(timer);
        resolve(rttMs);
      };
      this.pings.set(ref, { sentAt: performance.now(), answered });
    });
  }

  /** Skip the remaining backoff wait, e.g. when the network comes back. */
  reconnectNow() {
    if (!this.stopped && this.ws === null) {
      clearTimeout(this.timers.retry);
      this.connect();
    }
  }

  connect() {
    this.clearTimers();
    this.welcome = null;
    this.emitState("connecting", { attempt: this.attempt });
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (error) {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => {
      const hello = { type: "hello", v: PROTOCOL_VERSION, agent: this.agent };
      if (this.token) {
        hello.token = this.token;
      }
      if (this.resumeToken) {
        hello.resume_token = this.resumeToken;
      }
      ws.send(JSON.stringify(hello));
      this.timers.hello = setTimeout(() => this.abandon(ws, "no welcome"), HELLO_TIMEOUT_MS);
    });
    ws.addEventListener("message", (event) => this.receive(ws, event.data));
    ws.addEventListener("close", (event) => this.closed(ws, event.code, event.reason));
  }

  receive(ws, data) {
    if (ws !== this.ws) {
      return;
    }
    this.lastHeardAt = Date.now();
    let message;
    try {
      message = JSON.parse(data);
    } catch (error) {
      console.warn("hoiva: ignoring a frame that is not JSON");
      return;
    }
    if (message.type === "welcome") {
      clearTimeout(this.timers.hello);
      this.welcome = message;
      this.resumeToken = message.resume_token ?? null;
      this.attempt = 0;
      this.startHeartbeat(message.heartbeat_s || 20);
      this.emitState("open", message);
      this.callbacks.onWelcome?.(message);
      return;
    }
    if (message.type === "pong") {
      const waiting = this.pings.get(message.ref);
      if (waiting) {
        this.pings.delete(message.ref);
        this.lastRttMs = performance.now() - waiting.sentAt;
        waiting.answered(this.lastRttMs);
      }
      return;
    }
    this.callbacks.onMessage?.(message);
  }

  closed(ws, code, reason) {
    if (ws !== this.ws) {
      return;
    }
    this.ws = null;
    this.welcome = null;
    this.clearTimers();
    const keepGoing = this.callbacks.onClose?.(code, reason);
    if (this.stopped || keepGoing === false) {
      this.stopped = true;
      window.removeEventListener("online", this.onlineListener);
      this.emitState("stopped", { code, reason });
      return;
    }
    this.emitState("down", { code, reason });
    this.scheduleRetry();
  }

  // On a dead link the closing handshake may never finish; go on without waiting for it.
  abandon(ws, reason) {
    this.closed(ws, CLOSE_ABANDONED, reason);
    try {
      ws.close(CLOSE_ABANDONED, reason);
    } catch (error) {
      // already closing
    }
  }

  scheduleRetry() {
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.timers.retry = setTimeout(() => this.connect(), delay);
  }

  startHeartbeat(heartbeatS) {
    const periodMs = heartbeatS * 1000;
    this.lastHeardAt = Date.now();
    this.timers.heartbeat = setInterval(() => {
      if (!this.ws) {
        return;
      }
      // A Wi-Fi drop often sends no FIN: without this the kiosk would look connected
      // forever while no call can reach it.
      if (Date.now() - this.lastHeardAt > periodMs * 2.5) {
        this.abandon(this.ws, "heartbeat lost");
        return;
      }
      this.ping();
    }, periodMs);
  }

  clearTimers() {
    clearTimeout(this.timers.retry);
    clearTimeout(this.timers.hello);
    clearInterval(this.timers.heartbeat);
  }

  emitState(state, detail = {}) {
    this.callbacks.onState?.(state, detail);
  }
}
