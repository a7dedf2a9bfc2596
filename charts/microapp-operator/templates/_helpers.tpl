{{/* The release's full name: every object is named after it. */}}
{{- define "microapp.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "microapp.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "microapp.labels" -}}
{{ include "microapp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: microapp-operator
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "microapp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ default (include "microapp.fullname" .) .Values.serviceAccount.name }}
{{- else -}}{{ required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}{{- end -}}
{{- end -}}

{{- define "microapp.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}

{{/* The ValidatingWebhookConfiguration's name: the webhooks' names end with it (as Kopf names them). */}}
{{- define "microapp.webhookName" -}}microapp.dev{{- end -}}

{{/* NAME for the unsharded operator, NAME-SHARD for a shard's own object: (list NAME SHARD). */}}
{{- define "microapp.forShard" -}}
{{- $name := index . 0 -}}{{- $shard := index . 1 -}}
{{- if $shard -}}{{ printf "%s-%s" $name $shard }}{{- else -}}{{ $name }}{{- end -}}
{{- end -}}

{{/* A Deployment's Pod labels and selector: (list $ SHARD); a shard's Pods carry its name, so
  that no shard's Deployment, PDB or webhook Service selects another shard's Pods. */}}
{{- define "microapp.shardSelectorLabels" -}}
{{ include "microapp.selectorLabels" (index . 0) }}
{{- with index . 1 }}
microapp.dev/shard: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* A shard's webhook namespaceSelector: (list $ SHARD); empty when it takes every namespace.
  The same rule as Shard.namespace_selector() in core/shard.py: the first shard takes every
  namespace not labelled microapp.dev/shard=<another shard> (NotIn also matches namespaces
  without the label, or with a value no shard has), each other shard the ones labelled for it.
  The expressions are ANDed with the chart's own ones ($base, none today). */}}
{{- define "microapp.namespaceSelector" -}}
{{- $root := index . 0 -}}{{- $shard := index . 1 -}}
{{- $base := list -}}
{{- $expressions := $base -}}
{{- if $shard -}}
{{- $others := without $root.Values.shards $shard -}}
{{- if ne $shard (first $root.Values.shards) -}}
{{- $expressions = append $expressions (dict "key" "microapp.dev/shard" "operator" "In" "values" (list $shard)) -}}
{{- else if $others -}}
{{- $expressions = append $expressions (dict "key" "microapp.dev/shard" "operator" "NotIn" "values" $others) -}}
{{- end -}}
{{- end -}}
{{- with $expressions -}}
{{ toYaml (dict "matchExpressions" .) }}
{{- end -}}
{{- end -}}

{{/* A sharded install's checks (the names again, as values.schema.json does: the schema can be
  skipped with --skip-schema-validation). Included by deployment.yaml; renders nothing. */}}
{{- define "microapp.checkShards" -}}
{{- with .Values.shards -}}
{{- if not $.Values.leaderElection.enabled -}}
{{- fail "shards needs leaderElection.enabled=true: each shard elects its leader on its own Lease and reads its peers' Leases to see whether they are alive" -}}
{{- end -}}
{{- if ne (len (uniq .)) (len .) -}}
{{- fail (printf "shards: a shard is listed twice (%s)" (join "," .)) -}}
{{- end -}}
{{- range . -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$" (toString .)) -}}
{{- fail (printf "shards: %q is not a valid shard name: lower-case letters, digits and '-', at most 42 characters, starting and ending with a letter or digit" (toString .)) -}}
{{- end -}}
{{- $service := printf "%s-webhook-%s" (include "microapp.fullname" $) . -}}
{{- if and $.Values.webhook.enabled (gt (len $service) 63) -}}
{{- fail (printf "shards: the webhook Service %s would be longer than 63 characters: use a shorter shard name (%s) or release name" $service .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The portal's Pods: another app.kubernetes.io/name, so no operator selector takes them. */}}
{{- define "microapp.portalSelectorLabels" -}}
app.kubernetes.io/name: microapp-portal
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
