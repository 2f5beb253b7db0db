{{- define "cdn-server.fileName" -}}
{{- .Values.cdn.fileName | default (base (regexReplaceAll "[?#].*$" .Values.cdn.origin "")) -}}
{{- end -}}

{{/*
The fetch script: curl resumes the partial file (-C -) in a new process on every attempt (curl --retry would
restart from where that process began), until the file is complete; then it is renamed into place, so nginx
only ever serves complete files. With "--stay" the container idles afterwards instead of exiting.
*/}}
{{- define "cdn-server.fetchScript" -}}
{{- $c := .Values.cdn -}}
set -u
url={{ include "l2net.sh" $c.origin }}
dest={{ include "l2net.sh" (printf "%s/%s" (trimSuffix "/" $c.cacheDir) (include "cdn-server.fileName" .)) }}
part="$dest.part"
attempt=0
while [ ! -f "$dest" ]; do
  attempt=$((attempt + 1))
  if curl --fail --silent --show-error --location --continue-at - --connect-timeout 5 \
      --speed-limit 1 --speed-time {{ int $c.stallTimeout }}{{ with $c.limitRate }} --limit-rate {{ include "l2net.sh" . }}{{ end }} \
      --output "$part" "$url"; then
    mv "$part" "$dest"
    echo "cdn: cached $url in $dest ($(wc -c < "$dest") bytes, attempt $attempt)"
  else
    rc=$?
    # 33: the server ignored the range request; the partial file cannot be resumed, start over
    if [ "$rc" -eq 33 ]; then rm -f "$part"; fi
    echo "cdn: attempt $attempt failed (curl exit $rc), have $(wc -c 2>/dev/null < "$part" || echo 0) bytes; retrying in {{ int $c.retryInterval }}s" >&2
    sleep {{ int $c.retryInterval }}
  fi
done
if [ "${1:-}" = "--stay" ]; then
  trap 'exit 0' TERM INT
  while :; do sleep 3600 & wait $!; done
fi
{{- end -}}

{{- define "cdn-server.nginxConf" -}}
server {
    listen {{ int .Values.cdn.listenPort }};
    server_name _;
    root {{ .Values.cdn.cacheDir }};
    sendfile on;
    location / {
        autoindex on;
    }
    # the download in progress
    location ~ \.part$ {
        return 404;
    }
    location = /healthz {
        access_log off;
        default_type text/plain;
        return 200 "ok\n";
    }
}
{{- end -}}
