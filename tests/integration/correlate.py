#!/usr/bin/env python3
"""Prints the peak normalised cross-correlation (0..1) between the 10 ms energy
envelopes of two WAV files (16-bit), searching lags from 0.5 s ahead to 3 s behind: a
recording that started after the far end began to send (a page that starts recording when
it shows "in call") holds the same speech slightly earlier than the sent file.
Used by call_test.sh: a recording must correlate with the far end's input.
Usage: correlate.py SENT RECEIVED [SECONDS=4] [SKIP=0]: compares SECONDS of SENT from SKIP on,
so a call whose first path took a while to come up is judged on the audio after it."""
import sys, wave, array, math

def envelope(path):
    with wave.open(path, 'rb') as w:
        rate, ch = w.getframerate(), w.getnchannels()
        data = array.array('h', w.readframes(w.getnframes()))
    if ch > 1:
        data = data[::ch]
    step = rate // 100
    env = []
    for i in range(0, len(data) - step, step):
        block = data[i:i + step]
        env.append(math.sqrt(sum(x * x for x in block) / step))
    return env

def corr(a, b):
    n = min(len(a), len(b))
    if n < 50:
        return 0.0
    a, b = a[:n], b[:n]
    ma, mb = sum(a) / n, sum(b) / n
    num = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    da = math.sqrt(sum((x - ma) ** 2 for x in a)); db = math.sqrt(sum((y - mb) ** 2 for y in b))
    return num / (da * db) if da > 0 and db > 0 else 0.0

sent, received = envelope(sys.argv[1]), envelope(sys.argv[2])
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 4.0
skip = int(float(sys.argv[4]) * 100) if len(sys.argv) > 4 else 0
sent = sent[skip:skip + int(seconds * 100)]

def at(lag):
    start = skip + lag
    if start >= 0:
        return corr(sent, received[start:start + len(sent)])
    return corr(sent[-start:], received[:len(sent) + start])

best = max(at(lag) for lag in range(-50, 300, 2))
print("%.3f" % best)
