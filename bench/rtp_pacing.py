"""How punctually `parley serve` sends RTP: one call, 1500 agent packets (30 s), each packet's
arrival compared with the ideal schedule (first arrival + n * 20 ms, by RTP sequence number).

Usage: bench/rtp_pacing.py SIP_PORT   (against a running `parley serve`)
"""
import socket, statistics, sys, time

sip_port = int(sys.argv[1])
srv = ("127.0.0.1", sip_port)
sig = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); sig.bind(("127.0.0.1", 0)); sig.settimeout(5)
rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); rtp.bind(("127.0.0.1", 0)); rtp.settimeout(5)
local = "127.0.0.1:%d" % sig.getsockname()[1]
sdp = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n" % rtp.getsockname()[1])

CALL_ID = "pacing-%f" % time.time()

def req(method, branch, to_tag="", cseq=1, body=""):
    ct = "Content-Type: application/sdp\r\n" if body else ""
    return (f"{method} sip:demo@127.0.0.1:{sip_port} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:bench@127.0.0.1>;tag=b1\r\nTo: <sip:demo@127.0.0.1>{to_tag}\r\n"
            f"Call-ID: {CALL_ID}\r\nCSeq: {cseq} {method}\r\nContact: <sip:bench@{local}>\r\n{ct}"
            f"Content-Length: {len(body)}\r\n\r\n{body}").encode()

sig.sendto(req("INVITE", "z9hG4bKp1", body=sdp), srv)
while True:
    msg = sig.recv(65535).decode(errors="replace")
    if msg.startswith("SIP/2.0 200"):
        break
tag = ";tag=" + [l for l in msg.split("\r\n") if l.startswith("To:")][0].split("tag=")[1]
sig.sendto(req("ACK", "z9hG4bKp2", tag), srv)

arrivals = []
while len(arrivals) < 1500:
    data = rtp.recv(2048)
    arrivals.append((time.perf_counter(), int.from_bytes(data[2:4], "big")))
sig.sendto(req("BYE", "z9hG4bKp3", tag, 2), srv)
while not sig.recv(65535).startswith(b"SIP/2.0 200"):
    pass

t0, s0 = arrivals[0]
lateness = []
for t, s in arrivals:
    n = (s - s0) % 65536
    lateness.append((t - (t0 + n * 0.020)) * 1000)
# The schedule is anchored on the first packet; re-anchor on the earliest so lateness >= 0.
base = min(lateness)
late = [x - base for x in lateness]
gaps = [(b[0] - a[0]) * 1000 for a, b in zip(arrivals, arrivals[1:])]
print(f"packets={len(arrivals)} interval median={statistics.median(gaps):.2f} ms "
      f"p99={sorted(gaps)[int(len(gaps) * 0.99)]:.2f} ms max={max(gaps):.2f} ms")
print(f"lateness vs 20 ms schedule: median={statistics.median(late):.2f} ms p99={sorted(late)[int(len(late) * 0.99)]:.2f} ms "
      f"max={max(late):.2f} ms; more than 5 ms late: {sum(1 for x in late if x > 5) / len(late):.2%}")
