{{/* The script of the generator init container: writes the content file and its .md5 once per pod. */}}
{{- define "content-server.generateScript" -}}
{{- $c := .Values.content -}}
set -eu
dir={{ include "l2net.sh" $c.dir }}
name={{ include "l2net.sh" $c.fileName }}
if [ -f "$dir/$name" ]; then echo "content: $dir/$name already present"; exit 0; fi
head -c {{ mul (int $c.sizeMiB) 1048576 }} /dev/urandom > "$dir/.$name.tmp"
sum=$(md5sum < "$dir/.$name.tmp" | cut -d ' ' -f 1)
printf '%s  %s\n' "$sum" "$name" > "$dir/$name.md5"
# renamed last: the file exists only once it is complete and its checksum is written
mv "$dir/.$name.tmp" "$dir/$name"
echo "content: generated $dir/$name ({{ int $c.sizeMiB }} MiB, md5 $sum)"
{{- end -}}

{{- define "content-server.nginxConf" -}}
{{- $c := .Values.content -}}
server {
    listen {{ int $c.port }};
    server_name _;
    root {{ $c.dir }};
    sendfile on;
    location / {
        autoindex on;
        {{- with $c.limitRate }}
        limit_rate {{ . }};
        {{- end }}
    }
    location = /healthz {
        access_log off;
        default_type text/plain;
        return 200 "ok\n";
    }
}
{{- end -}}
