{{/*
The nftables ruleset built from .Values.firewall. Every value is checked here as well as in values.schema.json
because it ends up in nft syntax: a malformed one must fail the render, not the pod.
*/}}
{{- define "router-firewall.cidr" -}}
{{- if not (regexMatch "^[0-9]{1,3}(\\.[0-9]{1,3}){3}(/[0-9]{1,2})?$" (toString .)) }}
{{- fail (printf "firewall: %q is not an IPv4 address or CIDR" (toString .)) }}
{{- end }}
{{- toString . }}
{{- end -}}

{{- define "router-firewall.match" -}}
{{- $proto := toString .proto -}}
{{- if not (has $proto (list "tcp" "udp" "icmp")) }}
{{- fail (printf "firewall.allow: proto must be tcp, udp or icmp, not %q" $proto) }}
{{- end }}
{{- if and (ne $proto "icmp") .port }}
{{- $port := int .port }}
{{- if or (lt $port 1) (gt $port 65535) }}
{{- fail (printf "firewall.allow: port %v is not in 1-65535" .port) }}
{{- end }}
{{- printf "%s dport %d" $proto $port }}
{{- else if .port }}
{{- fail "firewall.allow: port applies to tcp and udp only" }}
{{- else }}
{{- printf "meta l4proto %s" $proto }}
{{- end }}
{{- end -}}

{{- define "router-firewall.ruleset" -}}
{{- $fw := .Values.firewall | default dict -}}
# osm-l2net router-firewall: rendered by helm from .Values.firewall; `nft -f` applies the whole file atomically.
# Forwarded traffic to a protected address is dropped unless allowed; replies to allowed flows always pass.
table inet osm_l2net
delete table inet osm_l2net
table inet osm_l2net {
  set protected {
    type ipv4_addr
    flags interval
    auto-merge
    {{- if $fw.protected }}
    elements = { {{- range $i, $p := $fw.protected }}{{ if $i }},{{ end }} {{ include "router-firewall.cidr" $p }}{{ end }} }
    {{- end }}
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    ct state established,related accept
    {{- range $a := $fw.allow }}
    ip daddr @protected{{ with $a.from }} ip saddr {{ include "router-firewall.cidr" . }}{{ end }} {{ include "router-firewall.match" $a }} counter accept
    {{- end }}
    ip daddr @protected counter drop
  }
}
{{- end -}}
