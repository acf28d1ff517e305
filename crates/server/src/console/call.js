// "Call this agent": the browser's microphone to the agent over WebRTC (no trickle: the offer
// goes with its candidates), the agent's voice to the page's audio element.
(() => {
  const button = document.getElementById('call-button');
  const hangup = document.getElementById('hangup-button');
  const status = document.getElementById('call-status');
  const audio = document.getElementById('call-audio');
  if (!button) return;
  let pc = null;
  let id = null;
  const post = (path, body) => fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf-token': button.dataset.csrf },
    body: JSON.stringify(body),
    keepalive: true,
  });
  const end = async (why) => {
    if (id) { try { await post('/calls/browser/hangup', { id }); } catch (e) { /* the server ends it when the connection drops */ } }
    if (pc) pc.close();
    pc = null; id = null;
    button.hidden = false; hangup.hidden = true;
    status.textContent = why;
  };
  button.addEventListener('click', async () => {
    button.hidden = true;
    status.textContent = 'Calling…';
    try {
      const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
      pc = new RTCPeerConnection();
      window.parleyCall = pc; // for diagnostics (and the browser test)
      mic.getTracks().forEach((t) => pc.addTrack(t, mic));
      pc.ontrack = (e) => { audio.srcObject = e.streams[0]; audio.play().catch(() => {}); };
      pc.onconnectionstatechange = () => {
        if (pc && pc.connectionState === 'connected') { status.textContent = 'Connected: talk to the agent.'; hangup.hidden = false; }
        if (pc && (pc.connectionState === 'failed' || pc.connectionState === 'closed')) end('The call ended.');
      };
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
        setTimeout(resolve, 2000);
      });
      const res = await post('/calls/browser', { agent: button.dataset.agent, sdp: pc.localDescription.sdp });
      const body = await res.json();
      if (!res.ok) return end(`The call could not start: ${body.error}`);
      id = body.id;
      await pc.setRemoteDescription({ type: 'answer', sdp: body.sdp });
    } catch (e) {
      end(`The call could not start: ${e.message || e}`);
    }
  });
  hangup.addEventListener('click', () => end('You hung up.'));
  window.addEventListener('pagehide', () => { if (id) end(''); });
})();
