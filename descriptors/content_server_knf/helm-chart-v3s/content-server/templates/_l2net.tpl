{{/*
The pod side of osm-l2net's attachment contract. This file is identical in every chart of the repository
(tests/charts checks it), so the three KNFs configure their secondary interfaces the same way.

Injected by osm-l2net (never set by hand):
  podLabels, podAnnotations          provider attachment metadata (e.g. l2sm: "true", l2sm/networks)
  l2net.interfaces[]{name, ip}       ip with prefix length, or empty for a pure L2 / provider-addressed interface
  l2net.routes[]{to, via, dev}
  l2net.forwarding                   true on routers
Chart knobs: l2netInit.{image, imagePullPolicy, gratuitousArp, resources}
*/}}

{{/* POSIX shell single quoting: the only safe way to put a value into a script (quote/squote do not escape). */}}
{{- define "l2net.sh" -}}
'{{ replace "'" "'\\''" (toString .) }}'
{{- end -}}

{{/* True (non-empty) when the pod needs the l2net init container at all. */}}
{{- define "l2net.enabled" -}}
{{- $l := .Values.l2net | default dict -}}
{{- if or $l.interfaces $l.routes $l.forwarding }}true{{ end -}}
{{- end -}}

{{/*
The init script. Addresses and routes use "replace" so a restarted init container (same pod sandbox, interfaces
kept) or a provider that already set the address (L2S-M with "ips") does not fail on "File exists".
*/}}
{{- define "l2net.script" -}}
{{- $l := .Values.l2net | default dict -}}
set -eu
need() { ip link show dev "$1" >/dev/null 2>&1 || { echo "l2net: interface $1 is missing: the network provider did not attach this pod to its network" >&2; exit 1; }; }
garp() { if command -v arping >/dev/null 2>&1; then { arping -U -c 2 -I "$1" "$2" >/dev/null 2>&1 || echo "l2net: gratuitous ARP for $2 on $1 failed (ignored)" >&2; } & fi; }
{{- range $i := $l.interfaces | default list }}
need {{ include "l2net.sh" $i.name }}
{{- if $i.ip }}
ip addr replace {{ include "l2net.sh" $i.ip }} dev {{ include "l2net.sh" $i.name }}
{{- end }}
ip link set {{ include "l2net.sh" $i.name }} up
{{- end }}
{{- range $r := $l.routes | default list }}
ip route replace {{ include "l2net.sh" $r.to }} via {{ include "l2net.sh" $r.via }} dev {{ include "l2net.sh" $r.dev }}
{{- end }}
{{- if $l.forwarding }}
sysctl -w net.ipv4.ip_forward=1
{{- $v6 := dict }}
{{- range $i := $l.interfaces | default list }}
{{- if and $i.ip (contains ":" (toString $i.ip)) }}
{{- $_ := set $v6 "any" true }}
{{- end }}
{{- end }}
{{- if $v6.any }}
sysctl -w net.ipv6.conf.all.forwarding=1
{{- end }}
{{- end }}
{{- if (.Values.l2netInit | default dict).gratuitousArp }}
{{- range $i := $l.interfaces | default list }}
{{- if and $i.ip (not (contains ":" (toString $i.ip))) }}
{{- /* After a pod is recreated its MAC changes; neighbours' stale ARP entries would stall traffic for minutes. */}}
garp {{ include "l2net.sh" $i.name }} {{ include "l2net.sh" (regexReplaceAll "/.*$" (toString $i.ip) "") }}
{{- end }}
{{- end }}
{{- end }}
wait
echo "l2net: interfaces, routes and forwarding configured"
{{- end -}}

{{/* One-replica guard: two pods holding the same static address on one L2 network would fight over it. */}}
{{- define "l2net.checkReplicas" -}}
{{- $l := .Values.l2net | default dict -}}
{{- range $i := $l.interfaces | default list }}
{{- if and $i.ip (gt (int $.Values.replicaCount) 1) }}
{{- fail (printf "replicaCount is %d but interface %s has the static address %s: only one pod may hold it" (int $.Values.replicaCount) $i.name $i.ip) }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod template labels: the injected podLabels, with the selector labels always winning. Arg: (list $ selectorLabelsYaml) */}}
{{- define "l2net.podLabels" -}}
{{- $root := index . 0 -}}
{{- $labels := merge (index . 1 | fromYaml) (deepCopy ($root.Values.podLabels | default dict)) -}}
{{- toYaml $labels -}}
{{- end -}}

{{/* The init container; render only when "l2net.enabled". */}}
{{- define "l2net.initContainer" -}}
{{- $init := .Values.l2netInit -}}
{{- $forwarding := (.Values.l2net | default dict).forwarding -}}
- name: l2net
  image: {{ printf "%s:%s" $init.image.repository $init.image.tag | quote }}
  imagePullPolicy: {{ $init.imagePullPolicy | default "IfNotPresent" }}
  command:
    - /bin/sh
    - -c
    - |
      {{- include "l2net.script" . | nindent 6 }}
  securityContext:
    runAsUser: 0
    runAsNonRoot: false
    readOnlyRootFilesystem: true
    {{- if $forwarding }}
    # writing net.ipv4.ip_forward needs a writable /proc/sys, which only a privileged container gets
    privileged: true
    {{- else }}
    privileged: false
    allowPrivilegeEscalation: false
    {{- end }}
    capabilities:
      drop: ["ALL"]
      add: ["NET_ADMIN", "NET_RAW"]
  {{- with $init.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
