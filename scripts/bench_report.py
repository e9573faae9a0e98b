#!/usr/bin/env python3
"""Runs the benchmarks and lab campaigns behind docs/benchmarks.md and rewrites the
generated part of that file (between the bench markers) with the figures."""
import argparse
import json
import os
import statistics
import subprocess
import sys

SEEDS = [1, 2, 3]
# Presets, then a heavier jitter than jitter30 (exponential of mean 30 ms: 99% within 138 ms).
PRESETS = ["clean", "jitter30", "loss10", "loss20", "burst5", "handover", "edge", "mobile",
           "delay=40ms,jitter=30ms"]
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def run_lab(parley, speech, network, seed, protection="auto", extra=()):
    out = subprocess.run(
        [parley, "lab", "--in", speech, "--network", network, "--seed", str(seed),
         "--protection", protection, "--json", *extra],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def spread(values):
    return (statistics.mean(values), min(values), max(values))


def fmt_spread(values, digits=2, scale=1.0):
    mean, lo, hi = spread([v * scale for v in values])
    if hi - lo < 10 ** -digits:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"


def benchmark_medians(build, testdata, name):
    """CPU time (ns) medians of each benchmark in one Google Benchmark binary."""
    bench = os.path.join(build, "bench", name)
    env = dict(os.environ, PARLEY_TESTDATA=testdata)
    out = subprocess.run([bench, "--benchmark_format=json", "--benchmark_repetitions=5",
                          "--benchmark_report_aggregates_only=true"],
                         check=True, capture_output=True, text=True, env=env).stdout
    return {b["run_name"]: b["cpu_time"] for b in json.loads(out)["benchmarks"]
            if b.get("aggregate_name") == "median"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", required=True)
    parser.add_argument("--testdata", required=True)
    parser.add_argument("--doc", required=True)
    args = parser.parse_args()
    parley = os.path.join(args.build, "apps", "parley", "parley")
    speech = os.path.join(args.testdata, "conversation.wav")

    lines = []
    checks = []

    def check(name, ok, got):
        checks.append((name, ok, got))

    print("bench: pipeline and crypto CPU", file=sys.stderr)
    media = benchmark_medians(args.build, args.testdata, "pipeline_bench")
    bare_ns, pipeline_ns = media["BM_BareOpusEncodeDecode"], media["BM_MediaPipeline"]
    ratio = pipeline_ns / bare_ns
    crypto = benchmark_medians(args.build, args.testdata, "crypto_bench")
    aead_ns, seal_ns = crypto["BM_BareAead"], crypto["BM_SealOpen"]
    lines += ["### CPU cost against its reference (median of 5 repetitions)", "",
              "| what | time | reference | ratio |", "|---|---|---|---|",
              f"| send + receive media path per 20 ms frame: encode, packetize, parse, jitter "
              f"buffer, decode | {pipeline_ns / 1000:.1f} µs | bare libopus encode + decode "
              f"{bare_ns / 1000:.1f} µs | {ratio:.2f} |",
              f"| seal + open one 100-byte packet: padding, AEAD, counter masking, replay check | "
              f"{seal_ns:.0f} ns | bare XChaCha20-Poly1305 encrypt + decrypt {aead_ns:.0f} ns | "
              f"{seal_ns / aead_ns:.2f} |", ""]
    check("media path CPU ≤ 1.3 × bare Opus", ratio <= 1.3, f"{ratio:.2f}")
    check("seal + open < 2 × bare AEAD", seal_ns / aead_ns < 2, f"{seal_ns / aead_ns:.2f}")

    print("bench: relay against coturn and the kernel floor", file=sys.stderr)
    relay = json.loads(subprocess.run(
        [os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench-relay"), "--build", args.build,
         "--calls", "1000", "--seconds", "15"],
        check=True, capture_output=True, text=True).stdout)
    lines += [f"### UDP relay: {relay['calls']} calls, 50 packets/s each way, 100-byte payloads, on loopback", "",
              "Packets relayed per CPU-second of the relay process (`scripts/bench-relay`), all three "
              "measured in the same run" + (", each relay pinned to one core and the load to another"
                                             if relay.get("pinned") else "") + "; parleyd's packets are "
              "the obfuscated framing's (sealed packets as data, binds and acks).", "",
              "| relay | packets per CPU-second | loss | relay core busy |", "|---|---|---|---|"]
    for name, label in [("parley", "parleyd's relay"), ("coturn", "coturn (reference)"),
                        ("floor", "bare recvmmsg/sendmmsg forwarder (kernel floor)")]:
        lines.append(f"| {label} | {relay[name]['pps_per_cpu_s'] / 1000:.0f}k | "
                     f"{100 * relay[name]['loss']:.1f}% | {100 * relay[name].get('cpu_share', 0):.0f}% |")
    lines.append("")
    check("relay ≥ 0.85 × kernel floor", relay["parley_vs_floor"] >= 0.85, f"{relay['parley_vs_floor']:.2f}")
    check("relay ≥ 1.3 × coturn", relay["parley_vs_coturn"] >= 1.3, f"{relay['parley_vs_coturn']:.2f}")

    results = {}
    for preset in PRESETS:
        print(f"bench: lab {preset}", file=sys.stderr)
        results[preset] = [run_lab(parley, speech, preset, seed) for seed in SEEDS]

    lines += ["### `parley lab` on the presets (protection auto, 24 kbit/s, 20 ms frames)", "",
              f"Mean over seeds {', '.join(map(str, SEEDS))} (min–max in brackets) on "
              "`conversation.wav` (49 s, six voices and languages).", "",
              "| network | added delay mean ms | p95 ms | late % | redundancy % | FEC % | concealed % | "
              "kbit/s | settle ms | MOS |", "|---|---|---|---|---|---|---|---|---|---|"]
    for preset in PRESETS:
        runs = results[preset]
        settle = [r["settle_after_change_ms"] for r in runs]
        settle_text = "—" if all(s is None for s in settle) else (
            "never" if any(s is None for s in settle) else fmt_spread(settle, 0))
        lines.append(
            f"| {preset} | {fmt_spread([r['added_delay_mean_ms'] for r in runs], 1)} "
            f"| {fmt_spread([r['added_delay_p95_ms'] for r in runs], 1)} "
            f"| {fmt_spread([r['late_loss'] for r in runs], 2, 100)} "
            f"| {fmt_spread([r['recovered_redundancy'] for r in runs], 2, 100)} "
            f"| {fmt_spread([r['recovered_fec'] for r in runs], 2, 100)} "
            f"| {fmt_spread([r['concealed'] for r in runs], 2, 100)} "
            f"| {fmt_spread([r['payload_kbps'] for r in runs], 1)} "
            f"| {settle_text} "
            f"| {fmt_spread([r['quality'].get('mos', 0) for r in runs], 2)} |")
    lines.append("")

    def mean_of(preset, key, scale=1.0):
        return statistics.mean(r[key] * scale for r in results[preset])

    def mos(runs):
        return statistics.mean(r["quality"].get("mos", 0) for r in runs)

    clean_mos = mos(results["clean"])
    check("clean: mean added delay ≤ 45 ms", mean_of("clean", "added_delay_mean_ms") <= 45,
          f"{mean_of('clean', 'added_delay_mean_ms'):.1f} ms")
    check("clean: nothing concealed", mean_of("clean", "concealed") == 0,
          f"{mean_of('clean', 'concealed', 100):.2f}%")
    check("jitter30: late loss ≤ 1%", mean_of("jitter30", "late_loss") <= 0.01,
          f"{mean_of('jitter30', 'late_loss', 100):.2f}%")
    check("jitter30: mean added delay ≤ 90 ms", mean_of("jitter30", "added_delay_mean_ms") <= 90,
          f"{mean_of('jitter30', 'added_delay_mean_ms'):.1f} ms")
    check("loss10: ≤ 1% concealed", mean_of("loss10", "concealed") <= 0.01,
          f"{mean_of('loss10', 'concealed', 100):.2f}%")
    check("loss10: MOS within 0.6 of clean", clean_mos - mos(results["loss10"]) <= 0.6,
          f"{clean_mos - mos(results['loss10']):.2f} below")
    check("loss20: ≤ 3% concealed", mean_of("loss20", "concealed") <= 0.03,
          f"{mean_of('loss20', 'concealed', 100):.2f}%")
    check("loss20: MOS within 1.0 of clean", clean_mos - mos(results["loss20"]) <= 1.0,
          f"{clean_mos - mos(results['loss20']):.2f} below")
    handover_settle = [r["settle_after_change_ms"] for r in results["handover"]]
    check("handover: back to target ≤ 2 s after the step",
          all(s is not None and s <= 2000 for s in handover_settle),
          ", ".join("never" if s is None else f"{s:.0f} ms" for s in handover_settle))

    print("bench: protection comparison", file=sys.stderr)
    lines += ["### What loss protection buys, and costs", "",
              "Same speech, fixed protection instead of receiver reports. `silence` leaves lost "
              "audio silent (no concealment): the floor the quality score must rank lowest.", "",
              "| network | protection | concealed % | kbit/s | MOS |", "|---|---|---|---|---|"]
    ranking = {}
    for network in ["clean", "loss10", "loss20"]:
        for protection in ["off", "fec", "redundancy", "auto", "silence"]:
            if network == "clean" and protection == "silence":
                continue
            runs = results[network] if protection == "auto" else [
                run_lab(parley, speech, network, seed, protection) for seed in SEEDS]
            ranking[(network, protection)] = [r["quality"].get("mos", 0) for r in runs]
            lines.append(f"| {network} | {protection} | "
                         f"{fmt_spread([r['concealed'] for r in runs], 2, 100)} | "
                         f"{fmt_spread([r['payload_kbps'] for r in runs], 1)} | "
                         f"{fmt_spread(ranking[(network, protection)], 2)} |")
    lines.append("")
    order = [("clean", "off"), ("loss10", "redundancy"), ("loss10", "off"), ("loss10", "silence")]
    ordered = all(min(ranking[a]) > max(ranking[b]) for a, b in zip(order, order[1:]))
    check("quality ranks clean > loss10 protected > loss10 PLC > loss10 silence, beyond seed spread",
          ordered, " > ".join(f"{statistics.mean(ranking[k]):.2f}" for k in order))

    lines += ["### Goals from the issues", "", "| goal | measured | met |", "|---|---|---|"]
    for name, ok, got in checks:
        lines.append(f"| {name} | {got} | {'yes' if ok else '**no**'} |")
    lines.append("")

    table = "\n".join(lines)
    print(table)
    with open(args.doc, encoding="utf-8") as f:
        doc = f.read()
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        with open(args.doc, "w", encoding="utf-8") as f:
            f.write(f"{head}{BEGIN}\n{table}\n{END}{tail}")
        print(f"bench: updated {args.doc}", file=sys.stderr)
    failed = [name for name, ok, _ in checks if not ok]
    if failed:
        print("bench: goals not met: " + "; ".join(failed), file=sys.stderr)


if __name__ == "__main__":
    main()
