"""`helm template` of the three KNF charts: the injected attachment reaches the pod template, and nothing else does."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.helm

CHECKSUM = {"cdn-server": "checksum/config", "router-firewall": "checksum/firewall", "content-server": "checksum/nginx"}


def test_injected_pod_metadata_is_exactly_the_plans(chart, render, cdn_values):
    values = cdn_values[chart]
    out = render(chart, values)
    meta = out.pod_metadata
    assert meta["labels"] == {**values["podLabels"], **out.selector_labels}
    assert out.get("Deployment")["spec"]["selector"]["matchLabels"] == out.selector_labels
    annotations = dict(meta["annotations"])
    assert re.fullmatch(r"[0-9a-f]{64}", annotations.pop(CHECKSUM[chart]))
    assert annotations == values["podAnnotations"]  # the JSON string byte for byte, nothing added


def test_injected_interfaces_and_routes_become_init_commands(chart, render, cdn_values, commands_of, l2net_expected):
    values = cdn_values[chart]
    out = render(chart, values)
    init = out.init_container("l2net")
    assert init is not None
    commands = commands_of(out.script(init))
    assert commands == l2net_expected(values["l2net"])
    # the CDN addresses themselves, so a bug shared by the chart and the expectation still shows
    addresses = {c[3] for c in commands if c[:3] == ["ip", "addr", "replace"]}
    assert addresses == {"cdn-server": {"10.0.1.10/24"}, "router-firewall": {"10.0.1.1/24", "10.0.2.1/24"},
                         "content-server": {"10.0.2.10/24"}}[chart]
    caps = init["securityContext"]["capabilities"]
    assert "NET_ADMIN" in caps["add"] and caps["drop"] == ["ALL"]
    assert init["securityContext"]["privileged"] is values["l2net"]["forwarding"]


def test_cdn_routes_are_the_plans(render, cdn_values, commands_of):
    cdn = commands_of(render("cdn-server", cdn_values["cdn-server"]).script(
        render("cdn-server", cdn_values["cdn-server"]).init_container("l2net")))
    assert ["ip", "route", "replace", "10.0.2.0/24", "via", "10.0.1.1", "dev", "net1"] in cdn
    out = render("content-server", cdn_values["content-server"])
    content = commands_of(out.script(out.init_container("l2net")))
    assert ["ip", "route", "replace", "10.0.1.0/24", "via", "10.0.2.1", "dev", "net1"] in content
    assert ["sysctl", "-w", "net.ipv4.ip_forward=1"] not in cdn + content


def test_pure_l2_and_ipv6_interfaces(chart, render, cdn_values, commands_of, l2net_expected):
    """No ip (pure L2 or provider-addressed): only the link is brought up. IPv6: no gratuitous ARP."""
    values = cdn_values[chart]
    values["l2net"]["interfaces"][0]["ip"] = None
    v6 = {"name": "net9", "network": "v6", "vld": "v6", "cpd": "v6", "ip": "fd00::10/64"}
    values["l2net"]["interfaces"].append(v6)
    out = render(chart, values)
    commands = commands_of(out.script(out.init_container("l2net")))
    assert commands == l2net_expected(values["l2net"])
    first = values["l2net"]["interfaces"][0]["name"]
    assert ["ip", "link", "set", first, "up"] in commands
    assert not [c for c in commands if first in c and c[:3] == ["ip", "addr", "replace"]]
    assert ["ip", "addr", "replace", "fd00::10/64", "dev", "net9"] in commands
    assert not [c for c in commands if c[0] == "garp" and c[1] in (first, "net9")]


def test_without_injection_there_is_no_attachment(chart, render):
    out = render(chart)
    assert out.init_container("l2net") is None
    assert out.pod_metadata["labels"] == out.selector_labels
    assert set(out.pod_metadata["annotations"]) == {CHECKSUM[chart]}
    assert out.get("Deployment")["spec"]["replicas"] == 1


def test_router_deployment_is_named_as_in_the_poc(render, cdn_values):
    """examples/cdn_vod/config.yaml names it as the PoC did; by default the name follows the release."""
    poc = {**cdn_values["router-firewall"], "fullnameOverride": "router-server-knf"}
    out = render("router-firewall", poc, release="router-firewall-9876543210")
    assert out.get("Deployment")["metadata"]["name"] == "router-server-knf"
    assert out.get("ConfigMap")["metadata"]["name"] == "router-server-knf-firewall"
    out = render("router-firewall", cdn_values["router-firewall"], release="router-firewall-9876543210")
    assert out.get("Deployment")["metadata"]["name"] == "router-firewall-9876543210"


def test_other_deployments_are_named_after_the_release(render):
    assert render("cdn-server", release="cdn-server-0000000001").get("Deployment")["metadata"]["name"] == \
        "cdn-server-0000000001"
    assert render("content-server", release="vod").get("Deployment")["metadata"]["name"] == "vod-content-server"


def test_router_firewall_applies_before_forwarding(render, cdn_values):
    out = render("router-firewall", cdn_values["router-firewall"])
    names = [c["name"] for c in out.pod_spec["initContainers"]]
    assert names == ["firewall", "l2net"]
    firewall = out.init_container("firewall")
    assert firewall["command"] == ["nft", "-f", "/etc/osm-l2net/firewall.nft"]
    assert firewall["securityContext"]["capabilities"]["add"] == ["NET_ADMIN"]
    volume = next(v for v in out.pod_spec["volumes"] if v["name"] == "firewall")
    assert volume["configMap"]["name"] == out.get("ConfigMap")["metadata"]["name"]


def _forward_rules(ruleset: str) -> tuple[set[str], list[str]]:
    """(elements of set protected, rules of chain forward) of the rendered nftables file."""
    elements = re.search(r"set protected \{[^}]*elements = \{([^}]*)\}", ruleset)
    chain = re.search(r"chain forward \{\n(.*?)\n\s*\}", ruleset, re.S)
    assert chain, ruleset
    rules = [line.strip() for line in chain.group(1).splitlines()]
    return ({e.strip() for e in elements.group(1).split(",")} if elements else set()), rules[1:]  # [0] is the hook


def test_router_firewall_ruleset_is_built_from_values(render, cdn_values):
    ruleset = render("router-firewall", cdn_values["router-firewall"]).get("ConfigMap")["data"]["firewall.nft"]
    protected, rules = _forward_rules(ruleset)
    assert protected == {"10.0.2.10/32"}
    assert rules == [
        "ct state established,related accept",
        "ip daddr @protected ip saddr 10.0.1.0/24 tcp dport 80 counter accept",
        "ip daddr @protected ip saddr 10.0.1.0/24 meta l4proto icmp counter accept",
        "ip daddr @protected counter drop",
    ]


def test_router_firewall_variants(render):
    firewall = {"enabled": True, "protected": ["10.0.2.10/32", "10.0.3.0/24"],
                "allow": [{"proto": "udp", "port": 53}, {"from": "10.0.1.0/24", "proto": "tcp"}]}
    out = render("router-firewall", {"firewall": firewall})
    protected, rules = _forward_rules(out.get("ConfigMap")["data"]["firewall.nft"])
    assert protected == {"10.0.2.10/32", "10.0.3.0/24"}
    assert rules[1:] == [
        "ip daddr @protected udp dport 53 counter accept",
        "ip daddr @protected ip saddr 10.0.1.0/24 meta l4proto tcp counter accept",
        "ip daddr @protected counter drop",
    ]
    default = render("router-firewall").pod_metadata["annotations"]["checksum/firewall"]
    assert out.pod_metadata["annotations"]["checksum/firewall"] != default  # a rule change rolls the pod


def test_router_firewall_disabled(render):
    out = render("router-firewall", {"firewall": {"enabled": False}})
    assert out.find("ConfigMap") == []
    assert out.init_container("firewall") is None
    assert "checksum/firewall" not in (out.pod_metadata.get("annotations") or {})


@pytest.mark.parametrize(("allow", "message"), [
    ({"proto": "sctp"}, "proto must be tcp, udp or icmp"),
    ({"proto": "icmp", "port": 80}, "port applies to tcp and udp only"),
    ({"from": "10.0.1.0/24 accept; drop", "proto": "tcp"}, "is not an IPv4 address or CIDR"),
])
def test_router_firewall_rejects_bad_rules_even_without_the_schema(render_error, allow, message):
    values = {"firewall": {"enabled": True, "protected": ["10.0.2.10/32"], "allow": [allow]}}
    assert message in render_error("router-firewall", values, "--skip-schema-validation")


def test_static_addresses_forbid_more_than_one_replica(chart, render_error, cdn_values, render):
    assert "only one pod may hold it" in render_error(chart, {**cdn_values[chart], "replicaCount": 2})
    assert render(chart, {"replicaCount": 2}).get("Deployment")["spec"]["replicas"] == 2  # no static address: fine
    assert render(chart, {**cdn_values[chart], "replicaCount": 0}).get("Deployment")["spec"]["replicas"] == 0


@pytest.mark.parametrize("case", [
    ("l2net.interfaces[0].name", "net1;reboot", "l2net.interfaces.0.name"),
    ("l2net.interfaces[0].ip", "10.0.1.10/24 dev eth0", "l2net.interfaces.0.ip"),
    ("l2net.routes[0].via", "$(reboot)", "l2net.routes.0.via"),
    ("podLabels.l2sm", True, "podLabels.l2sm"),
])
def test_schema_rejects_malformed_injection(chart, render_error, cdn_values, case):
    path, value, field = case
    values = cdn_values[chart]
    if "routes" in path and not values["l2net"]["routes"]:
        values["l2net"]["routes"] = [{"to": "10.0.9.0/24", "via": "10.0.1.254", "dev": "net1"}]
    node = values
    keys = [int(k) if k.isdigit() else k for k in re.split(r"[.\[\]]+", path) if k]
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    assert field in render_error(chart, values)


def test_values_are_shell_quoted_even_without_the_schema(chart, render, cdn_values, commands_of):
    """A hostile name stays one argument: the quoting does not rely on the schema."""
    values = cdn_values[chart]
    hostile = "n'1;touch /tmp/pwned"
    values["l2net"]["interfaces"][0]["name"] = hostile
    out = render(chart, values, "--skip-schema-validation")
    commands = commands_of(out.script(out.init_container("l2net")))
    assert ["need", hostile] in commands
    assert ["ip", "link", "set", hostile, "up"] in commands


def test_rendered_scripts_are_valid_shell(chart, render, cdn_values, tmp_path):
    shells = [s for s in ("sh", "dash", "busybox") if shutil.which(s)]
    if not shells:
        pytest.skip("no POSIX shell to check the scripts with")
    out = render(chart, cdn_values[chart], "--set", "cdn.limitRate=200k")
    scripts = [out.script(c) for c in out.pod_spec.get("initContainers", []) if c["command"][:2] == ["/bin/sh", "-c"]]
    scripts += [v for cm in out.find("ConfigMap") for k, v in cm["data"].items() if k.endswith(".sh")]
    assert scripts
    for i, script in enumerate(scripts):
        path = tmp_path / f"script{i}.sh"
        path.write_text(script)
        for shell in shells:
            argv = [shell, "sh", "-n", str(path)] if shell == "busybox" else [shell, "-n", str(path)]
            proc = subprocess.run(argv, capture_output=True, text=True, check=False)
            assert proc.returncode == 0, f"{shell}: {proc.stderr}\n{script}"


def test_pods_are_hardened(chart, render, cdn_values):
    out = render(chart, cdn_values[chart])
    spec = out.pod_spec
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert out.get("Deployment")["spec"]["strategy"] == {"type": "Recreate"}
    for c in spec["containers"]:
        sc = c["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"] and "add" not in sc["capabilities"]
        assert c["resources"]["limits"]["memory"]
    for c in spec["initContainers"]:
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_scheduling_hooks_reach_the_pod(chart, render):
    hooks = {"nodeSelector": {"kubernetes.io/arch": "amd64"},
             "tolerations": [{"key": "knf", "operator": "Exists", "effect": "NoSchedule"}],
             "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                 {"matchExpressions": [{"key": "l2sm", "operator": "In", "values": ["yes"]}]}]}}},
             "imagePullSecrets": [{"name": "regcred"}]}
    spec = render(chart, hooks).pod_spec
    for key, value in hooks.items():
        assert spec[key] == value


def test_object_labels_carry_the_ns_id(chart, render, cdn_values):
    out = render(chart, cdn_values[chart])
    for doc in out.docs:
        assert doc["metadata"]["labels"]["osm.etsi.org/ns-id"] == cdn_values[chart]["l2net"]["nsId"]
        assert doc["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"


def test_null_blocks_mean_none(chart, render):
    """`l2net: null` (or `firewall: null`) in a values file removes the block; the chart treats it as empty."""
    out = render(chart, {"l2net": None, "firewall": None})
    assert out.init_container("l2net") is None
    assert out.init_container("firewall") is None


def test_forwarding_with_ipv6_enables_both_families(render, cdn_values, commands_of):
    plain = render("router-firewall", cdn_values["router-firewall"])
    assert [c for c in commands_of(plain.script(plain.init_container("l2net"))) if c[0] == "sysctl"] == [
        ["sysctl", "-w", "net.ipv4.ip_forward=1"]]
    values = cdn_values["router-firewall"]
    values["l2net"]["interfaces"].append({"name": "net3", "network": "v6", "vld": "v6", "cpd": "v6", "ip": "fd00::1/64"})
    out = render("router-firewall", values)
    sysctls = [c for c in commands_of(out.script(out.init_container("l2net"))) if c[0] == "sysctl"]
    assert sysctls == [["sysctl", "-w", "net.ipv4.ip_forward=1"], ["sysctl", "-w", "net.ipv6.conf.all.forwarding=1"]]
