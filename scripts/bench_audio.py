#!/usr/bin/env python3
"""Runs `parley lab --scene echo` and `--scene noise` (audio processing on generated
scenes) and rewrites the part of docs/benchmarks.md between the audio-bench markers.
Usage: bench_audio.py --build BUILD_DIR --testdata TESTDATA_DIR --doc docs/benchmarks.md
"""
import argparse
import json
import os
import subprocess
import sys

BEGIN, END = "<!-- audio-bench:begin -->", "<!-- audio-bench:end -->"
NEAR, FAR = "speech_en_female.wav", "conversation.wav"   # two different talkers
NOISE_SPEECH = "speech_en_male.wav"


def lab(parley, *args):
    out = subprocess.run([parley, "lab", *args, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def cell(value, fmt="{:.1f}"):
    return "—" if value is None else fmt.format(value)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", required=True)
    parser.add_argument("--testdata", required=True)
    parser.add_argument("--doc", required=True)
    args = parser.parse_args()
    parley = os.path.join(args.build, "apps", "parley", "parley")
    data = lambda name: os.path.join(args.testdata, name)

    print("bench: audio lab, echo scenes", file=sys.stderr)
    echo = lab(parley, "--scene", "echo", "--in", data(NEAR), "--far-in", data(FAR))["results"]
    print("bench: audio lab, noise scenes", file=sys.stderr)
    noise = lab(parley, "--scene", "noise", "--in", data(NOISE_SPEECH), "--far-in", data(FAR), "--seed", "1")

    lines = [BEGIN, "", "### Echo (`parley lab --scene echo`)", "",
             f"Far end: `{FAR}` played through the simulated speaker and room into the microphone; "
             f"near end: `{NEAR}` (double talk from a quarter of the way in). ERLE is the echo "
             "canceller alone in single talk after 2 s; double talk runs the whole default chain "
             "(AEC, NS, AGC, high-pass) and compares the near-end speech with its clean version.", "",
             "| scene | echo delay ms | ERLE dB (single talk) | double talk: quality raw → processed | "
             "double talk: correlation with clean near end, raw → processed (AEC alone) | AEC's delay estimate ms |",
             "|---|---|---|---|---|---|"]
    by_scene = {}
    for row in echo:
        by_scene.setdefault(row["scene"], {})["double" if row["double_talk"] else "single"] = row
    for scene, rows in by_scene.items():
        single, double = rows.get("single", {}), rows.get("double", {})
        lines.append(
            f"| {scene} | {single.get('echo_delay_ms', double.get('echo_delay_ms'))} | {cell(single.get('erle_db'))} | "
            f"{cell(double.get('near_mos_unprocessed'), '{:.2f}')} → {cell(double.get('near_mos_processed'), '{:.2f}')} | "
            f"{cell(double.get('near_correlation_unprocessed'), '{:.2f}')} → "
            f"{cell(double.get('near_correlation_processed'), '{:.2f}')} "
            f"({cell(double.get('near_correlation_aec_only'), '{:.2f}')}) | "
            f"{cell(single.get('estimated_echo_delay_ms'), '{}')} |")
    lines += ["", "### Noise (`parley lab --scene noise`)", "",
              f"`{NOISE_SPEECH}` mixed with generated noise at each SNR (speech active level over noise RMS); "
              "quality score against the clean speech without and with noise suppression (NS and the "
              "high-pass filter). Pause noise: how much quieter the noise is in speech pauses. "
              f"Clean speech through the suppressor scores {noise['clean_mos_suppressed']:.2f}.", "",
              "| noise | SNR dB | quality without NS | with NS | pause noise reduced dB |",
              "|---|---|---|---|---|"]
    for row in noise["results"]:
        lines.append(f"| {row['noise']} | {row['snr_db']:.0f} | {row['mos_noisy']:.2f} | "
                     f"{row['mos_suppressed']:.2f} | {row['noise_reduction_db']:.1f} |")
    lines += ["", END]

    with open(args.doc, encoding="utf-8") as f:
        doc = f.read()
    block = "\n".join(lines)
    if BEGIN in doc and END in doc:
        doc = doc[:doc.index(BEGIN)] + block + doc[doc.index(END) + len(END):]
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    with open(args.doc, "w", encoding="utf-8") as f:
        f.write(doc)


if __name__ == "__main__":
    main()
