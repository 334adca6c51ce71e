// Camera and microphone (getUserMedia, with errors sorted into kinds the page can explain), a
// microphone level meter, and one call leg: the RTCPeerConnection that answers the gateway's
// offer (the gateway always offers, DESIGN.md §3).

export class MediaAccessError extends Error {
  // kind: blocked | notfound | nomic | inuse | insecure | unsupported | other
  constructor(kind, cause) {
    super(kind);
    this.name = 'MediaAccessError';
    this.kind = kind;
    this.cause = cause;
  }
}

export function classifyMediaError(err, wantedVideo) {
  const name = err && err.name;
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
      // Chrome also says NotAllowedError when the page is not a secure context.
      return window.isSecureContext === false ? 'insecure' : 'blocked';
    case 'SecurityError':
      return 'insecure';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return wantedVideo ? 'notfound' : 'nomic';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'inuse';
    default:
      return 'other';
  }
}

const VIDEO_CONSTRAINTS = {
  width: { ideal: 1280 },
  height: { ideal: 720 },
  frameRate: { ideal: 30, max: 30 },
  facingMode: 'user',
};
const AUDIO_CONSTRAINTS = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

// Opens camera and microphone (or microphone only). Throws MediaAccessError.
export async function openLocalMedia({ video = true } = {}) {
  if (!window.isSecureContext) throw new MediaAccessError('insecure');
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia)
    throw new MediaAccessError('unsupported');
  if (typeof window.RTCPeerConnection !== 'function') throw new MediaAccessError('unsupported');
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: AUDIO_CONSTRAINTS,
      video: video ? VIDEO_CONSTRAINTS : false,
    });
  } catch (err) {
    let kind = classifyMediaError(err, video);
    if (kind === 'notfound' && video) {
      // Tell "no camera" apart from "no microphone": try the microphone alone.
      try {
        const probe = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
        probe.getTracks().forEach((t) => t.stop());
      } catch (err2) {
        if (classifyMediaError(err2, false) === 'nomic') kind = 'nomic';
      }
    }
    throw new MediaAccessError(kind, err);
  }
}

export function stopStream(stream) {
  if (stream) stream.getTracks().forEach((t) => t.stop());
}

// Calls onLevel(0..1) about ten times a second with the microphone's loudness.
export class LevelMeter {
  constructor(stream, onLevel) {
    this.timer = null;
    this.ctx = null;
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx || !stream || stream.getAudioTracks().length === 0) return;
    this.ctx = new Ctx();
    const src = this.ctx.createMediaStreamSource(stream);
    const analyser = this.ctx.createAnalyser();
    analyser.fftSize = 1024;
    src.connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    this.timer = setInterval(() => {
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (let i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
      const rms = Math.sqrt(sum / buf.length);
      // Speech at a normal distance is about -30 dBFS; map -60..-10 dBFS to 0..1.
      const db = 20 * Math.log10(rms + 1e-9);
      onLevel(Math.max(0, Math.min(1, (db + 60) / 50)));
    }, 100);
    if (this.ctx.state === 'suspended') this.ctx.resume().catch(() => {});
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    if (this.ctx) this.ctx.close().catch(() => {});
    this.ctx = null;
  }
}

// A short two-tone chime, so a citizen who looked away knows the agent is there.
export function playChime() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return;
  try {
    const ctx = new Ctx();
    const now = ctx.currentTime;
    [660, 880].forEach((f, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = f;
      gain.gain.setValueAtTime(0.0001, now + i * 0.25);
      gain.gain.exponentialRampToValueAtTime(0.2, now + i * 0.25 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.25 + 0.4);
      osc.connect(gain).connect(ctx.destination);
      osc.start(now + i * 0.25);
      osc.stop(now + i * 0.25 + 0.45);
    });
    setTimeout(() => ctx.close().catch(() => {}), 1200);
  } catch {
    // A chime is a nicety; the page also says it in words.
  }
}

// One browser leg of a call. The gateway offers; this side answers.
// Events: "connection" {state} (RTCPeerConnection.connectionState), "remote-audio-blocked".
export class CallLeg extends EventTarget {
  constructor({ socket, iceServers, localStream, remoteVideo }) {
    super();
    this.socket = socket;
    this.iceServers = Array.isArray(iceServers) ? iceServers : [];
    this.localStream = localStream || null;
    this.remoteVideo = remoteVideo;
    this.remoteStream = new MediaStream();
    this.pc = null;
    this.chain = Promise.resolve(); // offers are handled one at a time, in order
    this.closed = false;
  }

  createPeerConnection() {
    const pc = new RTCPeerConnection({
      iceServers: this.iceServers,
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
    });
    pc.addEventListener('icecandidate', (ev) => {
      // Trickle our candidates; the ICE-lite gateway may ignore them.
      if (ev.candidate && ev.candidate.candidate)
        this.socket.send('candidate', {
          candidate: ev.candidate.candidate,
          sdpMid: ev.candidate.sdpMid,
        });
    });
    pc.addEventListener('track', (ev) => {
      // The gateway's SDP may carry no msid, so build the stream from the tracks.
      if (!this.remoteStream.getTracks().includes(ev.track)) this.remoteStream.addTrack(ev.track);
      if (this.remoteVideo && this.remoteVideo.srcObject !== this.remoteStream) {
        this.remoteVideo.srcObject = this.remoteStream;
      }
      this.playRemote();
    });
    pc.addEventListener('connectionstatechange', () => {
      this.dispatchEvent(new CustomEvent('connection', { detail: { state: pc.connectionState } }));
    });
    return pc;
  }

  playRemote() {
    if (!this.remoteVideo) return;
    const p = this.remoteVideo.play();
    if (p && p.catch)
      p.catch((err) => {
        if (err && err.name === 'NotAllowedError')
          this.dispatchEvent(new CustomEvent('remote-audio-blocked'));
      });
  }

  handleOffer(sdp) {
    const run = this.chain.catch(() => {}).then(() => this.answerOffer(sdp));
    this.chain = run;
    return run;
  }

  async answerOffer(sdp) {
    if (this.closed) return;
    const first = !this.pc;
    if (first) this.pc = this.createPeerConnection();
    const pc = this.pc;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    if (first && this.localStream) {
      // After the offer: addTrack reuses the transceivers the offer created, in its order.
      for (const track of this.localStream.getTracks()) pc.addTrack(track, this.localStream);
    }
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (this.closed) return;
    this.socket.send('answer', { sdp: pc.localDescription.sdp });
  }

  async addRemoteCandidate(msg) {
    if (!this.pc || !msg || !msg.candidate) return;
    try {
      await this.pc.addIceCandidate({ candidate: msg.candidate, sdpMid: msg.sdpMid ?? '0' });
    } catch (err) {
      console.warn('balie: remote candidate not added', err && err.message);
    }
  }

  setMuted(muted) {
    if (this.localStream) this.localStream.getAudioTracks().forEach((t) => (t.enabled = !muted));
  }

  setCameraOff(off) {
    if (this.localStream) this.localStream.getVideoTracks().forEach((t) => (t.enabled = !off));
  }

  close() {
    this.closed = true;
    if (this.pc) {
      try {
        this.pc.close();
      } catch {
        // already closed
      }
    }
    this.remoteStream.getTracks().forEach((t) => t.stop());
    if (this.remoteVideo) this.remoteVideo.srcObject = null;
  }
}
