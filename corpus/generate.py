#!/usr/bin/env python3
"""Writes the scenario, profile and node-config parts of the hostile-input corpus.

Each case mutates one line of a valid file; the expected error names the file, the line
the mutation is on, and the field. Run from anywhere: `python3 corpus/generate.py`.
The compare/ and report/ folders are written by hand.
"""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent

# The valid scenario every case mutates (the orchestrator's scenario tests use it too).
BASE = (ROOT / "base.toml").read_text()


def toml_str(s):
    return json.dumps(s)


class Cases:
    def __init__(self, folder):
        self.folder = ROOT / folder
        self.folder.mkdir(exist_ok=True)
        self.cases = []

    def add(self, name, args, exit_code, stderr, program=None, env=None):
        self.cases.append((name, args, exit_code, stderr, program, env))

    def write(self, header):
        out = [header]
        for name, args, exit_code, stderr, program, env in self.cases:
            out.append("[[case]]")
            out.append(f"name = {toml_str(name)}")
            if program:
                out.append(f"program = {toml_str(program)}")
            out.append("args = [" + ", ".join(toml_str(a) for a in args) + "]")
            if env:
                out.append("env = { " + ", ".join(f"{k} = {toml_str(v)}" for k, v in env.items()) + " }")
            out.append(f"exit = {exit_code}")
            out.append("stderr = [" + ", ".join(toml_str(s) for s in stderr) + "]")
            out.append("")
        (self.folder / "cases.toml").write_text("\n".join(out))


def line_of(text, needle):
    idx = text.index(needle)
    return text[:idx].count("\n") + 1


scen = Cases("scenarios")


def scenario(slug, text, field, needle=None, extra=(), line=None):
    """A scenario file whose error names `field` at the line holding `needle`."""
    fname = f"{slug}.toml"
    (scen.folder / fname).write_bytes(text if isinstance(text, bytes) else text.encode())
    want = [f"{fname}:"]
    if line is None and needle is not None:
        line = line_of(text, needle)
    if line is not None:
        want = [f"{fname}:{line}:"]
    if field:
        want.append(f"field `{field}`")
    want.extend(extra)
    scen.add(slug, ["validate", "{dir}/" + fname], 2, want)


def replace(slug, old, new, field, extra=(), needle=None):
    assert old in BASE, old
    text = BASE.replace(old, new, 1)
    scenario(slug, text, field, needle if needle is not None else new.split("\n")[0], extra)


# --- syntax ------------------------------------------------------------------------------
scenario("syntax-unclosed-table", BASE.replace("[traffic]", "[traffic"), "", line=line_of(BASE, "[traffic]"))
scenario("syntax-unterminated-string", BASE.replace('name = "corpus"', 'name = "corpus'), "", line=2)
scenario("syntax-duplicate-key", BASE.replace('seed = 1\n', 'seed = 1\nseed = 2\n'), "scenario.seed", "seed = 2", ["duplicate key `seed`"])
scenario("syntax-duplicate-table", BASE + "\n[traffic]\npublishers = 1\n", "", line=BASE.count("\n") + 2)
scenario("syntax-bare-value", BASE.replace("seed = 1", "seed = one"), "", "seed = one")
scenario("syntax-empty-file", "", "scenario", extra=["missing field `scenario`"], line=1)
scenario("topic-control-character", BASE.replace('size = "1KiB"', 'size = "1KiB"\ntopic = "a\\u0007b"'), "traffic.topic", extra=["control characters"], line=line_of(BASE, 'size = "1KiB"') + 1)
scenario("syntax-only-comment", "# nothing here\n", "scenario", extra=["missing field `scenario`"], line=1)
scenario("syntax-not-utf8", BASE.replace('name = "corpus"', 'name = "corp\udcffus"').encode("utf-8", "surrogateescape"), "", line=2, extra=["not UTF-8"])
scenario("syntax-nul-byte", BASE.replace('name = "corpus"', 'name = "corp\x00us"'), "", line=2)
scenario("syntax-binary", bytes(range(256)) * 4, "", line=2, extra=["not UTF-8"])
scenario("syntax-json", '{"scenario": {"name": "x"}}\n', "", line=1)
scenario("syntax-yaml", "scenario:\n  name: x\n", "", line=1)
scenario("syntax-key-without-value", BASE.replace("seed = 1", "seed ="), "", "seed =")
scenario("syntax-table-redefined-as-value", BASE.replace("[network]\n", "network = 1\n[network]\n"), "scenario.network", line=line_of(BASE, "[network]"))

# --- types -------------------------------------------------------------------------------
replace("type-seed-string", "seed = 1", 'seed = "1"', "scenario.seed")
replace("type-seed-negative", "seed = 1", "seed = -1", "scenario.seed")
replace("type-seed-float", "seed = 1", "seed = 1.5", "scenario.seed")
replace("type-name-int", 'name = "corpus"', "name = 7", "scenario.name")
replace("type-count-string", "count = 10", 'count = "10"', "groups[0].count")
replace("type-count-float", "count = 10", "count = 10.5", "groups[0].count")
replace("type-count-bool", "count = 10", "count = true", "groups[0].count")
scenario("type-groups-table", BASE.replace("[[groups]]\nid = \"honest\"", "[groups.x]\nid = \"honest\"", 1), "groups", extra=["duplicate key `groups`"], line=line_of(BASE, "[[groups]]\nid = \"evil\""))
replace("type-duration-int", 'duration = "40s"', "duration = 40", "scenario.duration")
replace("type-rate-int", 'rate = "6/s"', "rate = 6", "traffic.rate")
replace("type-delivery-string", "delivery = 0.99", 'delivery = "99%"', "targets.delivery")
replace("type-role-unknown", 'role = "invalid-signature"', 'role = "wormhole"', "groups[1].role")
replace("type-transport-unknown", 'transport = "quic"', 'transport = "webrtc"', "groups[1].transport")
replace("type-shaper-unknown", 'shaper = "auto"', 'shaper = "fast"', "network.shaper")
replace("type-topology-unknown", 'shaper = "auto"', 'shaper = "auto"\ntopology = "star"', "network.topology", ["unknown variant `star`"], needle='topology = "star"')
replace("type-mldsa-string", 'transport = "quic"', 'transport = "quic"\nmldsa_level = "87"', "groups[1].mldsa_level", needle='mldsa_level = "87"')
replace("type-flood-publish-int", "mesh_n = 6", "flood_publish = 1", "gossipsub.flood_publish")
replace("type-mesh-n-negative", "mesh_n = 6", "mesh_n = -6", "gossipsub.mesh_n")
replace("type-publishers-float", "publishers = 3", "publishers = 3.0", "traffic.publishers")
replace("type-link-string", 'link = { delay = "25ms", jitter = "2.5ms" }', 'link = "25ms"', "network.link")

# --- unknown fields ----------------------------------------------------------------------
replace("unknown-top-level", "[scenario]\n", "colour = \"red\"\n[scenario]\n", "colour", needle="colour")
replace("unknown-in-scenario", "seed = 1\n", "seed = 1\nseeds = 2\n", "scenario.seeds", needle="seeds")
replace("unknown-in-network", 'shaper = "auto"', 'shaper = "auto"\nbandwidth = "1gbit"', "network.bandwidth", needle="bandwidth")
replace("unknown-in-link", 'jitter = "2.5ms" }', 'jitter = "2.5ms", corrupt = 0.1 }', "network.link.corrupt", needle="link = {")
replace("unknown-in-group", 'id = "honest"\ncount = 10', 'id = "honest"\ncount = 10\nzone = "eu"', "groups[0].zone", needle="zone")
replace("unknown-in-traffic", 'size = "1KiB"', 'size = "1KiB"\nburst = 4', "traffic.burst", needle="burst")
replace("unknown-in-gossipsub", "mesh_n = 6", "mesh_m = 6", "gossipsub.mesh_m")
replace("unknown-in-targets", "delivery = 0.99", "delivery = 0.99\np50 = \"10ms\"", "targets.p50", needle="p50")
replace("unknown-typo-warmup", 'warmup = "12s"', 'warm_up = "12s"', "scenario.warm_up")

# --- missing fields ----------------------------------------------------------------------
replace("missing-name", 'name = "corpus"\n', "", "scenario.name", extra=["missing field `name`"], needle="[scenario]")
replace("missing-seed", "seed = 1\n", "", "scenario.seed", extra=["missing field `seed`"], needle="[scenario]")
replace("missing-duration", 'duration = "40s"\n', "", "scenario.duration", extra=["missing field `duration`"], needle="[scenario]")
replace("missing-group-id", 'id = "honest"\n', "", "groups[0].id", extra=["missing field `id`"], needle="[[groups]]")
replace("missing-group-count", 'id = "honest"\ncount = 10\n', 'id = "honest"\n', "groups[0].count", extra=["missing field `count`"], needle="[[groups]]")
replace("missing-publishers", "publishers = 3\n", "", "traffic.publishers", extra=["missing field `publishers`"], needle="[traffic]")
replace("missing-rate", 'rate = "6/s"\n', "", "traffic.rate", extra=["missing field `rate`"], needle="[traffic]")
replace("missing-size", 'size = "1KiB"\n', "", "traffic.size", extra=["missing field `size`"], needle="[traffic]")
scenario("missing-traffic", BASE.replace('[traffic]\npublishers = 3\nrate = "6/s"\nsize = "1KiB"\n', ""), "traffic", extra=["missing field `traffic`"], line=1)
scenario("missing-groups", BASE.replace('[[groups]]\nid = "honest"\ncount = 10\n\n[[groups]]\nid = "evil"\ncount = 2\nrole = "invalid-signature"\ntransport = "quic"\n', ""), "groups", extra=["missing field `groups`"], line=1)
scenario("missing-scenario-table", BASE.replace('[scenario]\nname = "corpus"\nseed = 1\nduration = "40s"\nwarmup = "12s"\n', ""), "scenario", extra=["missing field `scenario`"], line=1)

# --- bounds ------------------------------------------------------------------------------
replace("bound-count-zero", "count = 10", "count = 0", "groups[0].count", ["must be positive"])
replace("bound-count-negative", "count = 10", "count = -1", "groups[0].count", ["must be positive"])
replace("bound-count-65000", "count = 10", "count = 65000", "groups", ["at most 2048"], needle="[[groups]]")
replace("bound-count-1e9", "count = 10", "count = 1000000000", "groups", ["at most 2048"], needle="[[groups]]")
replace("bound-count-i64-max", "count = 10", "count = 9223372036854775807", "groups", ["at most 2048"], needle="[[groups]]")
replace("bound-count-beyond-i64", "count = 10", "count = 99999999999999999999", "", needle="count = 9999")
replace("bound-rate-zero", 'rate = "6/s"', 'rate = "0/s"', "traffic.rate")
replace("bound-rate-negative", 'rate = "6/s"', 'rate = "-1/s"', "traffic.rate")
replace("bound-rate-1e308", 'rate = "6/s"', 'rate = "1e308/s"', "traffic.rate", ["a node publishes"])
replace("bound-rate-inf", 'rate = "6/s"', 'rate = "inf/s"', "traffic.rate")
replace("bound-rate-nan", 'rate = "6/s"', 'rate = "NaN/s"', "traffic.rate")
replace("bound-rate-per-publisher", 'rate = "6/s"', 'rate = "6000/s"', "traffic.rate", ["2000 msg/s"])
replace("bound-rate-tiny", 'rate = "6/s"', 'rate = "1e-300/s"', "traffic.rate")
replace("bound-rate-period", 'rate = "6/s"', 'rate = "6/fortnight"', "traffic.rate", ["period"])
replace("bound-rate-no-period", 'rate = "6/s"', 'rate = "6"', "traffic.rate")
replace("bound-rate-text", 'rate = "6/s"', 'rate = "fast"', "traffic.rate")
replace("bound-duration-zero", 'duration = "40s"', 'duration = "0s"', "scenario.duration", ["positive"])
replace("bound-duration-31-years", 'duration = "40s"', 'duration = "271560h"', "scenario.duration", ["at most 24h"])
replace("bound-duration-overflow", 'duration = "40s"', 'duration = "1e400s"', "scenario.duration")
replace("bound-duration-no-unit", 'duration = "40s"', 'duration = "40"', "scenario.duration", ["no unit"])
replace("bound-duration-negative", 'duration = "40s"', 'duration = "-40s"', "scenario.duration")
replace("bound-duration-unit", 'duration = "40s"', 'duration = "40 fortnights"', "scenario.duration")
replace("bound-warmup-equals-duration", 'warmup = "12s"', 'warmup = "40s"', "scenario.warmup", ["shorter than duration"])
replace("bound-warmup-beyond-duration", 'warmup = "12s"', 'warmup = "1h"', "scenario.warmup")
replace("bound-size-zero", 'size = "1KiB"', 'size = "0B"', "traffic.size")
replace("bound-size-huge", 'size = "1KiB"', 'size = "1MiB"', "traffic.size", ["65536"])
replace("bound-size-fraction", 'size = "1KiB"', 'size = "0.5B"', "traffic.size", ["whole number"])
replace("bound-size-unit", 'size = "1KiB"', 'size = "1 parsec"', "traffic.size")
replace("bound-size-1e300", 'size = "1KiB"', 'size = "1e300B"', "traffic.size")
replace("bound-publishers-zero", "publishers = 3", "publishers = 0", "traffic.publishers")
replace("bound-publishers-too-many", "publishers = 3", "publishers = 11", "traffic.publishers", ["only 10 honest"])
replace("bound-publishers-huge", "publishers = 3", "publishers = 9223372036854775807", "traffic.publishers")
replace("bound-count-messages-zero", 'size = "1KiB"', 'size = "1KiB"\ncount = 0', "traffic.count", needle="count = 0")
replace("bound-count-messages-too-many", 'size = "1KiB"', 'size = "1KiB"\ncount = 100000', "traffic.count", ["longer than"], needle="count = 100000")
replace("bound-count-messages-fewer-than-publishers", 'size = "1KiB"', 'size = "1KiB"\ncount = 2', "traffic.count", ["idle"], needle="count = 2\n\n[gossipsub]")
replace("bound-mldsa-level", 'transport = "quic"', 'transport = "quic"\nmldsa_level = 12', "groups[1].mldsa_level", ["44, 65 or 87"], needle="mldsa_level")
replace("bound-p95-zero", 'p95 = "100ms"', 'p95 = "0s"', "targets.p95", ["positive"])
replace("bound-p99-zero", 'p99 = "200ms"', 'p99 = "0us"', "targets.p99")
replace("bound-p99-below-p95", 'p99 = "200ms"', 'p99 = "50ms"', "targets.p99", ["below p95"])
replace("bound-p95-a-year", 'p95 = "100ms"', 'p95 = "8760h"', "targets.p95", ["at most 1h"])
replace("bound-delivery-7.5", "delivery = 0.99", "delivery = 7.5", "targets.delivery", ["0..=1"])
replace("bound-delivery-negative", "delivery = 0.99", "delivery = -0.5", "targets.delivery")
replace("bound-delivery-nan", "delivery = 0.99", "delivery = nan", "targets.delivery")
replace("bound-delivery-inf", "delivery = 0.99", "delivery = inf", "targets.delivery")
replace("bound-link-error-negative", "link_error = 0.1", "link_error = -1.0", "targets.link_error")
replace("bound-link-error-inf", "link_error = 0.1", "link_error = inf", "targets.link_error")
replace("bound-link-error-zero", "link_error = 0.1", "link_error = 0.0", "targets.link_error")
replace("bound-bandwidth-efficiency-above-1", "link_error = 0.1", "link_error = 0.1\nbandwidth_efficiency = 1.5", "targets.bandwidth_efficiency", ["(0, 1]"], needle="bandwidth_efficiency")
replace("bound-bandwidth-efficiency-zero", "link_error = 0.1", "link_error = 0.1\nbandwidth_efficiency = 0.0", "targets.bandwidth_efficiency", needle="bandwidth_efficiency")
replace("bound-bandwidth-efficiency-nan", "link_error = 0.1", "link_error = 0.1\nbandwidth_efficiency = nan", "targets.bandwidth_efficiency", needle="bandwidth_efficiency")
replace("bound-dht-p95-zero", "link_error = 0.1", 'link_error = 0.1\ndht_p95 = "0s"', "targets.dht_p95", needle='dht_p95 = "0s"')
replace("bound-dht-success-above-one", "link_error = 0.1", "link_error = 0.1\ndht_success = 1.5", "targets.dht_success", ["0..=1"], needle="dht_success = 1.5")
replace("bound-dht-qps-nan", "link_error = 0.1", "link_error = 0.1\ndht_qps = nan", "targets.dht_qps", needle="dht_qps = nan")
replace("bound-join-p95-a-day", "link_error = 0.1", 'link_error = 0.1\njoin_p95 = "24h"', "targets.join_p95", ["at most 1h"], needle='join_p95 = "24h"')
scenario("bound-discovery-lookups-too-fast", BASE + '\n[discovery]\nlookups = "100/s"\n', "discovery.lookups", needle='lookups = "100/s"')
scenario("type-discovery-mdns-string", BASE + '\n[discovery]\nmdns = "yes"\n', "discovery.mdns", needle='mdns = "yes"')
scenario("unknown-discovery-field", BASE + '\n[discovery]\nlookup = "1/s"\n', "discovery.lookup", needle='lookup = "1/s"')

# --- timeline ----------------------------------------------------------------------------
def timeline(slug, entries, field, needle, extra=()):
    scenario(slug, BASE + "\n" + entries, field, needle=needle, extra=extra)


timeline("timeline-at-past-window", '[[timeline]]\nat = "30s"\nkill = { group = "honest", count = 1 }\n', "timeline[0].at", 'at = "30s"', ["window's end"])
timeline("timeline-unknown-group", '[[timeline]]\nat = "1s"\nkill = { group = "nobody", count = 1 }\n', "timeline[0].kill.group", 'kill = {', ["no group `nobody`"])
timeline("timeline-fraction-above-one", '[[timeline]]\nat = "1s"\npause = { group = "honest", fraction = 1.5 }\n', "timeline[0].pause.fraction", 'pause = {', ["(0, 1]"])
timeline("timeline-fraction-zero", '[[timeline]]\nat = "1s"\nkill = { group = "honest", fraction = 0.0 }\n', "timeline[0].kill.fraction", 'kill = {', ["(0, 1]"])
timeline("timeline-count-above-group", '[[timeline]]\nat = "1s"\nkill = { group = "evil", count = 3 }\n', "timeline[0].kill.count", 'kill = {', ["1 to 2"])
timeline("timeline-heal-without-partition", '[[timeline]]\nat = "1s"\nheal = true\n', "timeline[0].heal", "heal = true", ["no partition is open"])
timeline("timeline-restart-nothing-killed", '[[timeline]]\nat = "1s"\nrestart = { group = "honest", count = 1 }\n', "timeline[0].restart", "restart = {", ["0 of its nodes are killed"])
timeline("timeline-partition-group-twice", '[[timeline]]\nat = "1s"\npartition = [["honest"], ["evil", "honest"]]\n', "timeline[0].partition[1][1]", "partition = [", ["named twice"])
timeline("timeline-partition-empty-side", '[[timeline]]\nat = "1s"\npartition = [["honest", "evil"], []]\n', "timeline[0].partition[1]", "partition = [", ["at least one group"])
timeline("timeline-partition-three-sides", '[[timeline]]\nat = "1s"\npartition = [["honest"], ["evil"], []]\n', "timeline[0].partition", "partition = [", ["two sides"])
timeline("timeline-two-actions", '[[timeline]]\nat = "1s"\nheal = true\nkill = { group = "honest", count = 1 }\n', "timeline[0]", "[[timeline]]", ["exactly one action"])
timeline("timeline-for-past-window", '[[timeline]]\nat = "20s"\npartition = [["honest"], ["evil"]]\nfor = "10s"\n', "timeline[0].for", 'for = "10s"', ["window's end"])
timeline("timeline-unknown-field", '[[timeline]]\nat = "1s"\nheal = true\nwhen = "now"\n', "timeline[0].when", 'when = "now"')
timeline("timeline-at-no-unit", '[[timeline]]\nat = "20"\nheal = true\n', "timeline[0].at", 'at = "20"')
timeline("timeline-churn-past-window", '[[timeline]]\nat = "10s"\nchurn = { group = "honest", count = 1, for = "15s" }\n', "timeline[0].churn.for", 'churn = {', ["window's end"])
timeline("timeline-churn-down-zero", '[[timeline]]\nat = "1s"\nchurn = { group = "honest", count = 1, for = "5s", down = "0s" }\n', "timeline[0].churn.down", 'churn = {', ["positive"])
timeline("timeline-churn-no-rate", '[[timeline]]\nat = "1s"\nchurn = { group = "honest", for = "5s" }\n', "timeline[0].churn", 'churn = {', ["exactly one of"])
timeline("timeline-churn-unknown-field", '[[timeline]]\nat = "1s"\nchurn = { group = "honest", count = 1, for = "5s", every = "1s" }\n', "timeline[0].churn.every", 'churn = {')
timeline("timeline-churn-none-running", '[[timeline]]\nat = "1s"\nkill = { group = "evil", count = 2 }\n[[timeline]]\nat = "2s"\nchurn = { group = "evil", count = 1, for = "5s" }\n', "timeline[1].churn", 'churn = {', ["none of its nodes is running"])
timeline("timeline-attack-honest-group", '[[timeline]]\nat = "1s"\nattack = { group = "honest", start = true }\n', "timeline[0].attack.group", "attack = {", ["only a group with a non-honest role"])
timeline("timeline-attack-start-and-stop", '[[timeline]]\nat = "1s"\nattack = { group = "evil", start = true, stop = true }\n', "timeline[0].attack", "attack = {", ["exactly one of `start = true` and `stop = true`"])
timeline("timeline-attack-stop-before-start", '[[timeline]]\nat = "1s"\nattack = { group = "evil", stop = true }\n', "timeline[0].attack", "attack = {", ["no attack of group `evil` is on"])
timeline("timeline-attack-start-during-churn", '[[timeline]]\nat = "1s"\nchurn = { group = "evil", count = 1, for = "10s" }\n[[timeline]]\nat = "5s"\nattack = { group = "evil", start = true }\n', "timeline[1].attack", "attack = {", ["while a churn of it runs", "rejoin dormant"])
timeline("timeline-link-past-window", '[[timeline]]\nat = "10s"\nlink = { group = "honest", count = 2, delay = "100ms", for = "20s" }\n', "timeline[0].link.for", 'link = { group', ["restored at 30s", "window's end"])
timeline("timeline-link-jitter-above-delay", '[[timeline]]\nat = "1s"\nlink = { group = "honest", count = 2, delay = "5ms", jitter = "10ms", for = "5s" }\n', "timeline[0].link.jitter", 'link = { group', ["must not exceed delay"])
timeline("timeline-link-loss-above-one", '[[timeline]]\nat = "1s"\nlink = { group = "honest", fraction = 0.5, loss = 1.5, for = "5s" }\n', "timeline[0].link.loss", 'link = { group', ["probability"])
timeline("timeline-link-delay-too-long", '[[timeline]]\nat = "1s"\nlink = { group = "honest", count = 1, delay = "11s", for = "5s" }\n', "timeline[0].link.delay", 'link = { group', ["at most 10s"])
timeline("timeline-link-rate", '[[timeline]]\nat = "1s"\nlink = { group = "honest", count = 1, rate = "1mbit", for = "5s" }\n', "timeline[0].link.rate", 'link = { group')
timeline("timeline-link-overlap", '[[timeline]]\nat = "1s"\nlink = { group = "honest", count = 1, loss = 0.1, for = "10s" }\n[[timeline]]\nat = "5s"\nlink = { group = "honest", count = 2, delay = "50ms", for = "5s" }\n', "timeline[1].link", 'link = { group = "honest", count = 2', ["link change in force", "one at a time"])
scenario("timeline-link-shaper-none", BASE.replace('shaper = "auto"', 'shaper = "none"') + '\n[[timeline]]\nat = "1s"\nlink = { group = "honest", count = 1, loss = 0.1, for = "5s" }\n', "timeline[0].link", needle='link = { group', extra=["shaper is `none`"])
scenario("timeline-link-shaper-kernel", BASE.replace('shaper = "auto"', 'shaper = "kernel"') + '\n[[timeline]]\nat = "1s"\nlink = { group = "honest", count = 1, loss = 0.1, for = "5s" }\n', "timeline[0].link", needle='link = { group', extra=["only the user-space shaper"])
timeline("timeline-link-delay-below-jitter", '[[timeline]]\nat = "1s"\nlink = { group = "honest", count = 1, delay = "1ms", for = "5s" }\n', "timeline[0].link.delay", 'link = { group', ["below the run's jitter (2.5ms)"])

# --- names -------------------------------------------------------------------------------
replace("name-empty", 'name = "corpus"', 'name = ""', "scenario.name")
replace("name-slash", 'name = "corpus"', 'name = "../etc/passwd"', "scenario.name")
replace("name-long", 'name = "corpus"', 'name = "' + "x" * 100 + '"', "scenario.name")
replace("name-unicode", 'name = "corpus"', 'name = "Ωmega"', "scenario.name")
replace("group-id-uppercase", 'id = "honest"', 'id = "Honest"', "groups[0].id")
replace("group-id-long", 'id = "honest"', 'id = "' + "h" * 40 + '"', "groups[0].id")
replace("group-id-duplicate", 'id = "evil"', 'id = "honest"', "groups[1].id", ["duplicate"], needle='id = "honest"\ncount = 2')
replace("group-id-empty", 'id = "honest"', 'id = ""', "groups[0].id")
replace("topic-empty", 'size = "1KiB"', 'size = "1KiB"\ntopic = " "', "traffic.topic", needle="topic")
replace("topic-long", 'size = "1KiB"', 'size = "1KiB"\ntopic = "' + "t" * 300 + '"', "traffic.topic", needle="topic")
replace("sybil-identities-zero", 'role = "invalid-signature"', 'role = "sybil"\nsybil_identities = 0', "groups[1].sybil_identities", ["1..=32"], needle="sybil_identities")
replace("sybil-identities-too-many", 'role = "invalid-signature"', 'role = "sybil"\nsybil_identities = 1000', "groups[1].sybil_identities", ["1..=32"], needle="sybil_identities")
replace("sybil-identities-not-sybil", 'role = "invalid-signature"', 'role = "invalid-signature"\nsybil_identities = 4', "groups[1].sybil_identities", ["`sybil` groups only"], needle="sybil_identities")
replace("eclipse-victim-missing", 'role = "invalid-signature"', 'role = "eclipse"', "groups[1]", ["must name its `victim`"], needle="[[groups]]\nid = \"evil\"")
replace("eclipse-victim-unknown", 'role = "invalid-signature"', 'role = "eclipse"\nvictim = "nobody"', "groups[1].victim", ["names no group"], needle="victim")
replace("eclipse-victim-many", 'role = "invalid-signature"', 'role = "eclipse"\nvictim = "honest"', "groups[1].victim", ["one honest node"], needle="victim")
replace("eclipse-victim-not-eclipse", 'role = "invalid-signature"', 'role = "invalid-signature"\nvictim = "honest"', "groups[1].victim", ["`eclipse` groups only"], needle="victim")
scenario("groups-all-attackers", BASE.replace('id = "honest"\ncount = 10\n', 'id = "honest"\ncount = 10\nrole = "invalid-signature"\n'), "groups", extra=["at least one honest"], line=line_of(BASE, "[[groups]]"))

# --- gossipsub: the node's own rules -----------------------------------------------------
for slug, line, field, extra in [
    ("mesh-n-above-high", "mesh_n = 20", "gossipsub.mesh_n", ["mesh_n_high"]),
    ("mesh-n-low-zero", "mesh_n_low = 0", "gossipsub.mesh_n_low", ["positive"]),
    ("mesh-n-high-huge", "mesh_n_high = 100000", "gossipsub.mesh_n_high", ["1..=1000"]),
    ("mesh-outbound-above-low", "mesh_outbound_min = 5", "gossipsub.mesh_outbound_min", []),
    ("history-gossip-above-length", "history_gossip = 9", "gossipsub.history_gossip", []),
    ("history-length-zero", "history_length = 0", "gossipsub.history_length", []),
    ("heartbeat-zero", "heartbeat_ms = 0", "gossipsub.heartbeat_ms", []),
    ("heartbeat-a-day", "heartbeat_ms = 86400000", "gossipsub.heartbeat_ms", []),
    ("duplicate-cache-zero", "duplicate_cache_ms = 0", "gossipsub.duplicate_cache_ms", []),
    ("gossip-threshold-positive", "gossip_threshold = 5.0", "gossipsub.gossip_threshold", []),
    ("publish-above-gossip", "publish_threshold = -50.0", "gossipsub.publish_threshold", ["graylist <= publish <= gossip"]),
    # A relation is reported at the first of its fields the file gives.
    ("graylist-above-publish", "graylist_threshold = -400.0", "gossipsub.graylist_threshold", ["graylist <= publish"]),
    ("graylist-nan", "graylist_threshold = nan", "gossipsub.graylist_threshold", []),
    ("accept-px-negative", "accept_px_threshold = -1.0", "gossipsub.accept_px_threshold", []),
    ("opportunistic-negative", "opportunistic_graft_threshold = -5.0", "gossipsub.opportunistic_graft_threshold", []),
    ("invalid-weight-positive", "invalid_message_deliveries_weight = 10.0", "gossipsub.invalid_message_deliveries_weight", []),
    ("colocation-weight-positive", "ip_colocation_factor_weight = 5.0", "gossipsub.ip_colocation_factor_weight", []),
    ("colocation-threshold-below-one", "ip_colocation_factor_threshold = 0.5", "gossipsub.ip_colocation_factor_threshold", []),
    ("colocation-threshold-inf", "ip_colocation_factor_threshold = inf", "gossipsub.ip_colocation_factor_threshold", []),
    ("threshold-huge", "graylist_threshold = -1e300", "gossipsub.graylist_threshold", []),
]:
    replace("gossipsub-" + slug, "mesh_n = 6", line, field, extra, needle=line.split(" =")[0] + " =")

# --- guard: when a run is distorted ------------------------------------------------------
for slug, line, field, extra in [
    ("host-busy-above-one", "host_busy = 1.5", "guard.host_busy", ["(0, 1]"]),
    ("host-busy-zero", "host_busy = 0", "guard.host_busy", ["(0, 1]"]),
    ("link-error-negative", "link_error = -0.1", "guard.link_error", ["(0, 10]"]),
    ("link-error-nan", "link_error = nan", "guard.link_error", []),
    ("hop-error-zero", "hop_error = 0", "guard.hop_error", ["(0, 10]"]),
    ("hop-error-huge", "hop_error = 1e9", "guard.hop_error", ["(0, 10]"]),
    ("unknown-field", "cpu = 0.5", "guard.cpu", ["unknown field"]),
]:
    text = BASE + "\n[guard]\n" + line + "\n"
    scenario("guard-" + slug, text, field, extra=extra, line=line_of(text, "[guard]") + 1)

# --- network and profiles ----------------------------------------------------------------
LINK = 'link = { delay = "25ms", jitter = "2.5ms" }'
replace("network-profile-and-link", LINK, LINK + '\nprofile = "fixed-25ms"', "network.link", ["not both"], needle="link =")
replace("network-profile-missing", LINK, 'profile = "mars"', "network.profile", ["mars.toml"])
replace("network-profile-traversal", LINK, 'profile = "../../etc/passwd"', "network.profile")
replace("network-profile-empty", LINK, 'profile = ""', "network.profile")
replace("network-link-delay-no-unit", LINK, 'link = { delay = "25" }', "network.link.delay")
replace("network-link-delay-huge", LINK, 'link = { delay = "1h" }', "network.link.delay")
replace("network-link-jitter-above-delay", LINK, 'link = { delay = "25ms", jitter = "30ms" }', "network.link.jitter")
replace("network-link-loss-above-one", LINK, 'link = { delay = "25ms", loss = 2.0 }', "network.link.loss")
replace("network-link-loss-nan", LINK, 'link = { delay = "25ms", loss = nan }', "network.link.loss")
replace("network-link-rate-text", LINK, 'link = { delay = "25ms", rate = "fast" }', "network.link.rate")
replace("network-link-rate-huge", LINK, 'link = { delay = "25ms", rate = "1e12gbit" }', "network.link.rate")
replace("network-link-rate-tiny", LINK, 'link = { delay = "25ms", rate = "1bit" }', "network.link.rate")

# Bad profile files, named by scenarios (profiles are looked up in ../netem of the scenario).
netem = ROOT / "netem"
netem.mkdir(exist_ok=True)
for slug, body, field in [
    ("unknown-key", 'delay = "25ms"\ncorrupt = 0.1\n', "corrupt"),
    ("delay-negative", 'delay = "-25ms"\n', "delay"),
    ("jitter-above-delay", 'delay = "1ms"\njitter = "2ms"\n', "jitter"),
    ("loss-string", 'delay = "1ms"\nloss = "1%"\n', "loss"),
    ("not-toml", "delay: 25ms\n", ""),
    ("duplicate-key", 'delay = "1ms"\ndelay = "2ms"\n', "delay"),
]:
    fname = f"bad-{slug}.toml"
    (netem / fname).write_text(body)
    text = BASE.replace(LINK, f'profile = "bad-{slug}"')
    sfile = f"profile-{slug}.toml"
    (scen.folder / sfile).write_text(text)
    line = 2 if slug == "duplicate-key" else (1 if slug in ("delay-negative", "not-toml") else 2)
    want = [f"bad-{slug}.toml:{line}:"]
    if field:
        want.append(f"field `{field}`")
    scen.add(f"profile-{slug}", ["validate", "{dir}/" + sfile], 2, want)

# --- NATs -------------------------------------------------------------------------------
replace("nat-type-unknown", 'id = "honest"\ncount = 10', 'id = "honest"\ncount = 10\nnat = "cone"', "groups[0].nat", ["unknown variant `cone`"], needle='nat = "cone"')
replace("nat-group-without-nat", 'id = "honest"\ncount = 10', 'id = "honest"\ncount = 10\nnat_group = "cg"', "groups[0].nat_group", ["nat` type"], needle='nat_group = "cg"')
replace("nat-group-bad-name", 'id = "honest"\ncount = 10', 'id = "honest"\ncount = 10\nnat = "symmetric"\nnat_group = "CG 1"', "groups[0].nat_group", ["lowercase"], needle='nat_group = "CG 1"')
replace("nat-without-a-public-relay", 'id = "honest"\ncount = 10', 'id = "honest"\ncount = 10\nnat = "full-cone"', "groups[0].nat", ["honest group with nat = \"none\""], needle='nat = "full-cone"')
replace("nat-group-of-two-types", "[traffic]", '[[groups]]\nid = "a"\ncount = 2\nnat = "full-cone"\nnat_group = "cg"\n[[groups]]\nid = "b"\ncount = 2\nnat = "symmetric"\nnat_group = "cg"\n[traffic]', "groups[3].nat", ["one shared NAT has one type"], needle='nat = "symmetric"')
replace("nat-group-too-large", "[traffic]", '[[groups]]\nid = "a"\ncount = 251\nnat = "port-restricted"\nnat_group = "cg"\n[traffic]', "groups[2].nat_group", ["at most 250"], needle='nat_group = "cg"')
replace("nat-too-many-routers", "[traffic]", '[[groups]]\nid = "a"\ncount = 251\nnat = "port-restricted"\n[traffic]', "groups[2].nat", ["at most 250"], needle='nat = "port-restricted"')

# Files that are not there or not files.
scen.add("file-missing", ["validate", "{dir}/no-such-scenario.toml"], 2, ["no-such-scenario.toml", "no such file"])
scen.add("file-is-a-directory", ["validate", "{dir}"], 2, ["scenarios:1:1:", "is a directory"])
scen.add("file-dev-zero", ["validate", "/dev/zero"], 2, ["/dev/zero:1:1:", "larger than the 1 MiB"])
scen.add("file-dev-urandom", ["validate", "/dev/urandom"], 2, ["/dev/urandom:"])
scen.add("plan-of-an-invalid-scenario", ["plan", "{dir}/bound-count-65000.toml"], 2, ["bound-count-65000.toml:", "at most 2048"])
# Binaries that do not exist: should validation ever let this through, the run fails on
# them (exit 3) before it builds or starts anything.
scen.add("run-of-an-invalid-scenario", ["run", "{dir}/bound-rate-1e308.toml", "--node-binary", "/nonexistent/meshnode", "--shaper-binary", "/nonexistent/labshaper"], 2, ["bound-rate-1e308.toml:", "field `traffic.rate`"])
scen.add("doctor-of-an-invalid-scenario", ["doctor", "{dir}/gossipsub-colocation-weight-positive.toml"], 2, ["field `gossipsub.ip_colocation_factor_weight`"])
scen.add("run-bad-ready-timeout", ["run", "{dir}/x.toml", "--ready-timeout=-1"], 2, ["--ready-timeout"])
scen.add("run-huge-ready-timeout", ["run", "{dir}/x.toml", "--ready-timeout", "99999999999"], 2, ["--ready-timeout"])
scen.add("run-zero-trials", ["run", "{dir}/x.toml", "--trials", "0"], 2, ["--trials"])
scen.add("run-many-trials", ["run", "{dir}/x.toml", "--trials", "1000"], 2, ["--trials"])
scen.add("export-bad-subnet", ["export", "compose", "{dir}/x.toml", "--subnet", "300.1.0.0/16"], 2, ["--subnet"])
scen.add("unknown-command", ["explode"], 2, ["explode"])
scen.write("# Hostile scenarios (generated by corpus/generate.py; edit it, not these files): each\n"
           "# case runs the orchestrator with `args` ({dir} = this folder) and expects exit code\n"
           "# `exit` and every `stderr` substring (file:line:, field) in standard error, no panic,\n"
           "# within 10 s.\n")

# --- the node: config files, the environment, flags ------------------------------------
node = Cases("node")


def node_config(slug, body, field, line, extra=()):
    fname = f"{slug}.toml"
    (node.folder / fname).write_text(body)
    want = [f"{fname}:{line}:"] + ([f"field `{field}`"] if field else []) + list(extra)
    node.add("config-" + slug, ["--config", "{dir}/" + fname, "--metrics-port", "0"], 2, want, program="meshnode")


node_config("unknown-field", "role = \"honest\"\n[gossipsub]\nmesh_m = 3\n", "gossipsub.mesh_m", 3)
node_config("bad-role", "role = \"evil\"\n", "role", 1)
node_config("mldsa-level", "mldsa_level = 99\n", "mldsa_level", 1)
node_config("mesh-n", "[gossipsub]\nmesh_n = 20\n", "gossipsub.mesh_n", 2)
node_config("colocation-weight", "[gossipsub]\nip_colocation_factor_weight = 5.0\n", "gossipsub.ip_colocation_factor_weight", 2)
node_config("accept-px", "[gossipsub]\naccept_px_threshold = -1.0\n", "gossipsub.accept_px_threshold", 2)
node_config("rate-tiny", "[traffic]\nrate_per_sec = 1e-300\n", "traffic.rate_per_sec", 2)
node_config("rate-huge", "[traffic]\nrate_per_sec = 1e308\n", "traffic.rate_per_sec", 2)
node_config("delay-max", "[traffic]\nrate_per_sec = 1.0\ndelay_ms = 18446744073709551615\n", "traffic.delay_ms", 3)
node_config("start-year-584556019", "[traffic]\nrate_per_sec = 1.0\nstart_at_ms = 18446744073709551\n", "traffic.start_at_ms", 3)
node_config("size-above-payload", "max_payload = 100\n[traffic]\nrate_per_sec = 1.0\nsize = 1000\n", "traffic.size", 4)
node_config("bootstrap-no-transport", "bootstrap = [\"/ip4/127.0.0.1\"]\n", "bootstrap[0]", 1, ["names no transport"])
node_config("listen-not-multiaddr", "listen = [\"tcp://0.0.0.0:4001\"]\n", "listen[0]", 1)
node_config("listen-empty", "listen = []\n", "listen", 1)
node_config("ping-zero", "ping_interval_ms = 0\n", "ping_interval_ms", 1)
node_config("snapshot-zero", "score_snapshot_ms = 0\n", "score_snapshot_ms", 1)
node_config("topic-empty", "topic = \"\"\n", "topic", 1)
node_config("payload-zero", "max_payload = 0\n", "max_payload", 1)
node_config("payload-huge", "max_payload = 1073741824\n", "max_payload", 1)
node_config("connections-zero", "[limits]\nmax_connections = 0\n", "limits.max_connections", 2)
node_config("target-above-max", "[limits]\ntarget_peers = 500\n", "limits.target_peers", 2)
node_config("peer-bytes-zero", "[limits]\npeer_bytes_per_sec = 0\n", "limits.peer_bytes_per_sec", 2)
node_config("per-peer-huge", "[limits]\nmax_connections_per_peer = 4000000000\n", "limits.max_connections_per_peer", 2)
node_config("duplicate-key", "mdns = true\nmdns = false\n", "mdns", 2, ["duplicate key `mdns`"])
node_config("negative-port", "metrics_port = -1\n", "metrics_port", 1)
node_config("port-too-big", "metrics_port = 70000\n", "metrics_port", 1)
node_config("dht-lookups-huge", "[dht]\nlookups_per_min = 1e9\n", "dht.lookups_per_min", 2)
node_config("dht-unknown-field", "[dht]\nlookups = 1.0\n", "dht.lookups", 2)
node.add("config-missing-file", ["--config", "{dir}/no-such.toml"], 2, ["no-such.toml", "no such file"], program="meshnode")
node.add("config-dev-zero", ["--config", "/dev/zero"], 2, ["/dev/zero:1:1:", "larger than the 1 MiB"], program="meshnode")
node.add("config-env-bad", [], 2, ["MESHNODE_CONFIG_TOML:2:", "field `gossipsub.mesh_n`"], program="meshnode",
         env={"MESHNODE_CONFIG_TOML": "[gossipsub]\nmesh_n = 50\n"})
node.add("config-env-not-toml", [], 2, ["MESHNODE_CONFIG_TOML:1:"], program="meshnode", env={"MESHNODE_CONFIG_TOML": "{json: 1}"})
for slug, args, want in [
    ("publish-rate-1e-300", ["--publish-rate", "1e-300"], ["--publish-rate", "1e-300"]),
    ("publish-rate-nan", ["--publish-rate", "NaN"], ["--publish-rate"]),
    ("publish-rate-inf", ["--publish-rate", "inf"], ["--publish-rate"]),
    ("publish-rate-negative", ["--publish-rate=-5"], ["--publish-rate"]),
    ("publish-rate-text", ["--publish-rate", "fast"], ["--publish-rate"]),
    ("threads-100000", ["--threads", "100000"], ["--threads", "1..=64"]),
    ("threads-zero", ["--threads", "0"], ["--threads"]),
    ("publish-after-max", ["--publish-rate", "1", "--publish-after-ms", "18446744073709551615"], ["--publish-after-ms"]),
    ("publish-size-huge", ["--publish-rate", "1", "--publish-size", "100000000"], ["--publish-size"]),
    ("publish-size-zero", ["--publish-rate", "1", "--publish-size", "0"], ["--publish-size"]),
    ("publish-count-zero", ["--publish-rate", "1", "--publish-count", "0"], ["--publish-count"]),
    ("mldsa-level-12", ["--mldsa-level", "12"], ["--mldsa-level"]),
    ("mldsa-level-negative", ["--mldsa-level=-87"], ["--mldsa-level"]),
    ("bootstrap-no-transport", ["--bootstrap", "/ip4/127.0.0.1"], ["--bootstrap /ip4/127.0.0.1", "names no transport"]),
    ("bootstrap-garbage", ["--bootstrap", "hello"], ["--bootstrap hello"]),
    ("listen-unassignable", ["--listen", "/ip4/192.0.2.1/tcp/4001", "--metrics-port", "0"], ["listen on /ip4/192.0.2.1/tcp/4001", "Cannot assign requested address"]),
    ("listen-udp-only", ["--listen", "/ip4/127.0.0.1/udp/4001"], ["--listen"]),
    ("name-empty", ["--name", ""], ["--name"]),
    ("name-control", ["--name", "a\u0007b"], ["--name"]),
    ("role-unknown", ["--role", "sybil"], ["--role"]),
    ("metrics-port-huge", ["--metrics-port", "65536"], ["--metrics-port"]),
    ("unknown-flag", ["--colour", "red"], ["--colour"]),
]:
    # Should a case ever be accepted, the node binds only an ephemeral loopback port.
    safe = [] if any(a.startswith("--listen") for a in args) else ["--listen", "/ip4/127.0.0.1/tcp/0"]
    if not any(a.startswith("--metrics-port") for a in args):
        safe += ["--metrics-port", "0"]
    node.add("flag-" + slug, args + safe, 2, want, program="meshnode")
node.write("# Hostile node configurations (generated by corpus/generate.py): files, the\n"
           "# MESHNODE_CONFIG_TOML variable and flags; each must be refused (exit 2) with an error\n"
           "# naming the file:line: and field, or the flag.\n")
print(f"scenarios: {len(scen.cases)} cases, node: {len(node.cases)} cases")
