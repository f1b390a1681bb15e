import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { formatDuration } from '@parley/protocol';
import type { Calls, CallState } from '../client/calls.js';
import { Modal } from './Modal.js';
import './call.css';

/**
 * The call of this tab, over the app: the Incoming call dialog while someone rings me, and the
 * call panel while I ring someone or talk with them.
 */
export function CallView({ calls }: { calls: Calls }) {
  const state = useSyncExternalStore(calls.subscribe, calls.getState);
  switch (state.phase) {
    case 'idle':
      return null;
    case 'incoming':
      return <IncomingCall calls={calls} state={state} />;
    case 'outgoing':
    case 'active':
      return <CallPanel calls={calls} state={state} />;
  }
}

function IncomingCall({
  calls,
  state,
}: {
  calls: Calls;
  state: Extract<CallState, { phase: 'incoming' }>;
}) {
  useRing();
  const kind = state.media === 'video' ? 'video call' : 'audio call';
  return (
    <Modal title="Incoming call" onClose={() => calls.decline()}>
      <div className="incoming-call">
        <p>
          {state.from.display_name} (@{state.from.username}) is starting a {kind}.
        </p>
        <div className="call-controls">
          <button type="button" className="danger" onClick={() => calls.decline()}>
            Decline
          </button>
          <button type="button" className="primary" onClick={() => void calls.accept()}>
            Accept
          </button>
        </div>
      </div>
    </Modal>
  );
}

function CallPanel({
  calls,
  state,
}: {
  calls: Calls;
  state: Extract<CallState, { phase: 'outgoing' | 'active' }>;
}) {
  const streams = useSyncExternalStore(calls.subscribe, calls.getStreams);
  const now = useTicker(state.phase === 'active');
  const video = state.media === 'video';
  const connected = state.phase === 'active' && state.connection === 'connected';
  let status: string;
  if (state.phase === 'outgoing') status = 'Ringing…';
  else if (connected) status = 'Connected';
  else if (state.connection === 'failed') status = 'Connection lost';
  else status = 'Connecting…';

  return (
    <section
      className="call-panel"
      aria-label={`Call with ${state.peer.name}`}
      data-connection-state={state.phase === 'active' ? state.connection : 'ringing'}
    >
      <h2 className="call-title">
        {video ? 'Video call' : 'Audio call'} with {state.peer.name}
      </h2>
      <p className="call-status">
        {/* Changes of state are announced; the clock is a timer, which is not (every second). */}
        <span role="status">{status}</span>
        {state.phase === 'active' && connected && (
          <>
            {' · '}
            <span role="timer" aria-label="Call duration">
              {formatDuration(now - state.since)}
            </span>
          </>
        )}
      </p>
      {video ? (
        <div className="call-videos">
          <MediaView className="remote" stream={streams.remote} label={state.peer.name} />
          <MediaView className="local" stream={streams.local} label="You" muted />
        </div>
      ) : (
        <MediaView stream={streams.remote} label={state.peer.name} audioOnly />
      )}
      <div className="call-controls">
        {state.phase === 'active' && (
          <>
            <button
              type="button"
              className="secondary small"
              aria-pressed={state.muted}
              onClick={() => calls.toggleMute()}
            >
              Mute
            </button>
            {video && (
              <button
                type="button"
                className="secondary small"
                aria-pressed={state.cameraOff}
                onClick={() => calls.toggleCamera()}
              >
                Turn camera off
              </button>
            )}
          </>
        )}
        <button type="button" className="danger small" onClick={() => calls.hangUp()}>
          Hang up
        </button>
      </div>
    </section>
  );
}

/** A stream in a video (or, for an audio call, an audio) element; mine muted, not to echo. */
function MediaView({
  stream,
  label,
  className,
  muted = false,
  audioOnly = false,
}: {
  stream: MediaStream | null;
  label: string;
  className?: string;
  muted?: boolean;
  audioOnly?: boolean;
}) {
  const ref = useRef<HTMLVideoElement & HTMLAudioElement>(null);
  useEffect(() => {
    if (ref.current && ref.current.srcObject !== stream) ref.current.srcObject = stream;
  }, [stream]);
  if (audioOnly) return <audio ref={ref} autoPlay aria-label={label} />;
  return (
    <video ref={ref} className={className} autoPlay playsInline muted={muted} aria-label={label} />
  );
}

/** Now, once a second while `on`: the call's clock. */
function useTicker(on: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [on]);
  return now;
}

/**
 * A ring while the dialog shows: two short tones every two seconds, made with Web Audio (no file
 * to load). It stops with the dialog: accepted, declined, answered elsewhere or ended. A browser
 * that has not been interacted with yet may keep it silent; the dialog still shows.
 */
function useRing(): void {
  useEffect(() => {
    let context: AudioContext | undefined;
    try {
      context = new AudioContext();
    } catch {
      return;
    }
    const ctx = context;
    const beep = (at: number) => {
      const oscillator = ctx.createOscillator();
      const gain = ctx.createGain();
      oscillator.frequency.value = 440;
      gain.gain.setValueAtTime(0.08, at);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.4);
      oscillator.connect(gain).connect(ctx.destination);
      oscillator.start(at);
      oscillator.stop(at + 0.4);
    };
    const ring = () => {
      beep(ctx.currentTime);
      beep(ctx.currentTime + 0.5);
    };
    ring();
    const timer = setInterval(ring, 2000);
    return () => {
      clearInterval(timer);
      void ctx.close();
    };
  }, []);
}
