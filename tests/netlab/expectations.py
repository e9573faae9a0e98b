"""What the censor lab expects of each policy: the one table to tighten as paths land.

Each value is either an assertion or None ("run it and report, assert nothing").
  connect          the call connects without user action and audio flows both ways
                   (recordings correlate with what the far end sent)
  time_to_audio_s  upper bound on dial -> first audio heard by the caller
  dpi_clean        nDPI and tshark name no flow STUN/RTP/RTCP/SRTP/DTLS/WireGuard/
                   Telegram/WhatsApp/Signal/VoIP, and every TLS flow is TLS with the SNI
"full" is the issue's target (`make netlab`, docs/censorship.md); "bounded" is what
`make test` asserts today.
"""

POLICIES = ["open", "no-udp", "udp-443-only", "signatures", "fully-encrypted", "allowlist", "throttle",
            "relay-dies"]

# The targets (issue #5, "The censor lab"; notes/censorship.md §5).
FULL = {
    "open":            {"connect": True, "time_to_audio_s": 2.0, "dpi_clean": True},
    "no-udp":          {"connect": True, "time_to_audio_s": 6.0, "dpi_clean": True},
    "udp-443-only":    {"connect": True, "time_to_audio_s": 2.0, "dpi_clean": True},
    "signatures":      {"connect": True, "time_to_audio_s": 2.0, "dpi_clean": True},
    "fully-encrypted": {"connect": True, "time_to_audio_s": 2.0, "dpi_clean": True},
    "allowlist":       {"connect": True, "time_to_audio_s": 2.0, "dpi_clean": True},
    "throttle":        {"connect": True, "time_to_audio_s": 6.0, "dpi_clean": True},
    "relay-dies":      {"connect": True, "time_to_audio_s": 2.0, "dpi_clean": True},
}

# What works today: the obfuscated relay UDP framing with the wire shape (no datagram
# starts like RTP/RTCP/STUN/DTLS/WireGuard/QUIC long header/MTProto, none matches nDPI
# 4.2's Skype/Viber/OpenVPN/MPEG-TS rules; docs/protocol.md "Sealed packet"), so every
# UDP policy connects and DPI names nothing; with UDP dropped the call moves to the
# relay over TLS by itself (relay-udp unacknowledged for 1.5 s) and its audio flows.
# Tighten an entry (None -> the FULL value) in the change that makes it work.
BOUNDED_POLICIES = ["open", "no-udp", "fully-encrypted", "signatures"]
BOUNDED = {
    "open":            {"connect": True, "time_to_audio_s": 4.0, "dpi_clean": True},
    "no-udp":          {"connect": True, "time_to_audio_s": 6.0, "dpi_clean": True},
    "fully-encrypted": {"connect": True, "time_to_audio_s": 4.0, "dpi_clean": True},
    "signatures":      {"connect": True, "time_to_audio_s": 4.0, "dpi_clean": True},
}

# Active prober checks: True = asserted, None = reported only. The obfuscated framing
# forwards data only from a bound source address and ignores replayed binds, so a live
# replay from another address gets nothing back.
PROBER_FULL = {"udp_silent_random": True, "udp_silent_replay": True, "tls_like_decoy": True}
PROBER_BOUNDED = {"udp_silent_random": True, "udp_silent_replay": True, "tls_like_decoy": True}

# The web client (issue #9): Chromium in cli1 calls the native client in cli2 over the
# TLS front (media over TLS is the browser's only path). Same keys as FULL; the time to
# audio counts from the dial to the first speech the page plays.
BROWSER_POLICIES = ["no-udp", "allowlist", "fully-encrypted"]
BROWSER_FULL = {
    "no-udp":          {"connect": True, "time_to_audio_s": 6.0, "dpi_clean": True},
    "allowlist":       {"connect": True, "time_to_audio_s": 6.0, "dpi_clean": True},
    "fully-encrypted": {"connect": True, "time_to_audio_s": 6.0, "dpi_clean": True},
}
# Not in make test yet: the browser calls connect every time, but on a 2-core machine
# loaded to 20 the judged audio of one in three fails (a burst at the start of the call
# grows a jitter buffer by 0.4-1 s, which then drains, so the lag drifts inside the 4 s
# correlate.py window; the native throttle and relay-dies calls fail the same way then).
BROWSER_BOUNDED_POLICIES = []
BROWSER_BOUNDED = {}
