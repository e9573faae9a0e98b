"""What the censor lab expects of each policy: the one table to tighten as paths land.

Each value is either an assertion or None ("run it and report, assert nothing").
  connect          the call connects without user action and audio flows both ways
                   (recordings correlate with what the far end sent)
  time_to_audio_s  upper bound on dial -> first audio heard by the caller
  dpi_clean        nDPI and tshark name no flow STUN/RTP/RTCP/SRTP/DTLS/WireGuard/
                   Telegram/WhatsApp/Signal/VoIP, and every TLS flow is TLS with the SNI
"full" is the issue's target (`make netlab`, docs/censorship.md); "bounded" is what
`make test` asserts today, with only the plain relay-UDP path in the client.
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

# What works today (plain relay UDP framing only, no TLS media path, no path manager).
# Tighten an entry (None -> the FULL value) in the change that makes it work.
BOUNDED_POLICIES = ["open", "no-udp", "fully-encrypted", "signatures"]
BOUNDED = {
    "open":            {"connect": True, "time_to_audio_s": 4.0, "dpi_clean": None},
    "no-udp":          {"connect": None, "time_to_audio_s": None, "dpi_clean": None},
    "fully-encrypted": {"connect": True, "time_to_audio_s": 4.0, "dpi_clean": None},
    "signatures":      {"connect": None, "time_to_audio_s": None, "dpi_clean": None},
}

# Active prober checks: True = asserted, None = reported only.
PROBER_FULL = {"udp_silent_random": True, "udp_silent_replay": True, "tls_like_decoy": True}
PROBER_BOUNDED = {
    "udp_silent_random": True,
    # The plain framing lets a replayed bind take over a session (docs/protocol.md,
    # "Known limits of this framing"); the obfuscated framing of #5 must ignore replays.
    "udp_silent_replay": None,
    "tls_like_decoy": True,
}
